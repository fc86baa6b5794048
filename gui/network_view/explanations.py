"""What each page of the network view shows, in words for a student: the "What am I looking at?" panel."""

from __future__ import annotations

COMMON = ("Maps, filters, features, rows and columns are counted from 1. Hover over anything for its value; "
          "the line at the bottom says what it is.")

PAGES = (
    # Layers
    "<b>Left to right, what the network computes as it reads your drawing.</b> "
    "<b>Input</b>: the 28×28 image it sees (slanted digits straightened first: deskewed). "
    "<b>Blocks 1–3</b>: each slides small learned 3×3 <i>filters</i> over its input (⊛: multiply the nine "
    "weights by the nine pixels under them and add up), adds a <i>bias</i>, keeps the largest of each 2×2 "
    "square (max-pool) and sets negatives to 0 (ReLU). That gives 16 maps of 14×14, then 32 of 7×7, then 32 "
    "of 3×3: bright (yellow) where a map's pattern is found, dark where not. A map tinted all over has a "
    "positive bias: it is above 0 even where there is no ink. "
    "<b>Contributions</b>: block 3's 32×9 = 288 numbers are the <i>features</i>; each feature × its weight "
    "towards a digit (red pushes towards it, blue away) is its contribution. Their sum plus the digit's bias is "
    "its <b>logit</b>, a score; the softmax turns the ten logits into the probabilities the sketchpad shows. "
    "Click a map to see what makes it.",
    # One map
    "<b>How one map is made.</b> Each input map (the image, for block 1) is filtered by its own 3×3 filter "
    "(⊛, shown beside it, blue weights negative, red positive); the filtered inputs are added, with the bias, "
    "into the map <i>before pooling</i>; max-pool 2×2 and ReLU then make the map itself, at half the size. "
    "The inputs are sorted by how much they add where pooling reads the map, strongest first.",
    # Filters
    "<b>What the network learned.</b> Block 1's 16 filters are its 3×3 weights drawn large (blue negative, "
    "red positive, white near 0): edge and stroke detectors, as in every convolutional network. For blocks 2 "
    "and 3, one square per (input map, filter) pair shows the strength of that 3×3 kernel: which maps each "
    "filter listens to. While training, the rows below show block 1's filters at each saved model of the "
    "run, as they formed.",
)


def explanation(page: int) -> str:
    return f"{PAGES[page]}<br><i>{COMMON}</i>"
