"""What each page of the network view shows, in words for a student: the "What am I looking at?" panel,
worded for the shape of the network shown (its blocks, maps, kernel and hidden layer)."""

from __future__ import annotations

from mnistconv.core.shape import SEED_SHAPE, NetworkShape

from .filters import deeper_blocks

COMMON = ("Maps, filters, features, rows and columns are counted from 1. Hover over anything for its value; "
          "the line at the bottom says what it is.")


def _count(number: int) -> str:
    return {9: "nine", 25: "25"}.get(number, str(number))


def _blocks(shape: NetworkShape) -> str:
    """'<b>Blocks 1–3</b>: each slides' or '<b>Block 1</b>: it slides'."""
    if shape.blocks == 1:
        return "<b>Block 1</b>: it slides"
    return f"<b>Blocks 1{' and ' if shape.blocks == 2 else '–'}{shape.blocks}</b>: each slides"


def _maps(shape: NetworkShape) -> str:
    """'16 maps of 14×14, then 32 of 7×7, then 32 of 3×3'."""
    (count, side, _), *deeper = shape.map_shapes()
    return f"{count} maps of {side}×{side}" + "".join(f", then {count} of {side}×{side}" for count, side, _ in deeper)


def _dense(shape: NetworkShape) -> str:
    count, side, _ = shape.map_shapes()[-1]
    numbers = f"{count}×{side * side} = {shape.features} numbers" if side > 1 else f"{count} numbers (one per 1×1 map)"
    features = f"block {shape.blocks}'s {numbers} are the <i>features</i>; "
    towards = "towards a digit (red pushes towards it, blue away) is its contribution. "
    if not shape.hidden:
        return f"<b>Contributions</b>: {features}each feature × its weight {towards}"
    return (f"<b>Hidden layer</b>: {features}each of its {shape.hidden} units weighs them all, adds its bias and sets "
            f"negatives to 0 (ReLU). <b>Contributions</b>: each hidden unit × its weight {towards}")


def layers_text(shape: NetworkShape) -> str:
    k = shape.kernel
    return ("<b>Left to right, what the network computes as it reads your drawing.</b> "
            "<b>Input</b>: the 28×28 image it sees (slanted digits straightened first: deskewed). "
            f"{_blocks(shape)} small learned {k}×{k} <i>filters</i> over its input (⊛: multiply the {_count(k * k)} "
            f"weights by the {_count(k * k)} pixels under them and add up), adds a <i>bias</i>, keeps the largest of "
            f"each 2×2 square (max-pool) and sets negatives to 0 (ReLU). That gives {_maps(shape)}: bright (yellow) "
            "where a map's pattern is found, dark where not. A map tinted all over has a positive bias: it is above 0 "
            f"even where there is no ink. {_dense(shape)}Their sum plus the digit's bias is its <b>logit</b>, a score; "
            "the softmax turns the ten logits into the probabilities the sketchpad shows. Click a map to see what makes it.")


def map_text(shape: NetworkShape) -> str:
    k = shape.kernel
    return ("<b>How one map is made.</b> Each input map (the image, for block 1) is filtered by its own "
            f"{k}×{k} filter (⊛, shown beside it, blue weights negative, red positive); the filtered inputs are added, "
            "with the bias, into the map <i>before pooling</i>; max-pool 2×2 and ReLU then make the map itself, at half "
            "the size. The inputs are sorted by how much they add where pooling reads the map, strongest first.")


def filters_text(shape: NetworkShape) -> str:
    k = shape.kernel
    deeper = (f"For {deeper_blocks(shape.blocks)}, one square per (input map, filter) pair shows the strength of that "
              f"{k}×{k} kernel: which maps each filter listens to. " if shape.blocks > 1 else "")
    return (f"<b>What the network learned.</b> Block 1's {shape.channels[0]} filters are its {k}×{k} weights drawn "
            "large (blue negative, red positive, white near 0): edge and stroke detectors, as in every convolutional "
            f"network. {deeper}While training, the rows below show block 1's filters at each saved model of the "
            "run, as they formed.")


PAGES = (layers_text, map_text, filters_text)  # in the order of the view's pages


def explanation(page: int, shape: NetworkShape = SEED_SHAPE) -> str:
    return f"{PAGES[page](shape)}<br><i>{COMMON}</i>"
