"""The network view: what the network computes as it reads the sketchpad's drawing, and what it has learned.

Three pages, each painted by one widget (no layout pass when the data change, only a repaint):

- Layers: the 28×28 input the network sees; each block's feature maps after pooling (for the seed's
  network 16 of 14×14, 32 of 7×7 and 32 of 3×3; any network of core.shape's family has 1–4 blocks,
  down to maps of 1×1), all maps of a block on one colour scale from 0 to the block's largest value,
  written beside it; the hidden layer's units, when the network has one; what each value the logits
  layer reads (a feature of the last maps, or a hidden unit) adds to the logit of the answer and of
  the runner-up (weight × value, on one scale symmetric about 0); the ten logits and probabilities.
  Hovering shows the values under the pointer; clicking a map opens it on the next page.
- One map: a map large, before and after pooling, with the k×k filter applied to each of its
  inputs, each input map, and what each input adds (input ⊛ filter), strongest first.
- Filters: block 1's filters, how strongly each deeper filter reads each map before it, and
  block 1's filters at each model saved while training (one row per saved epoch).

The view follows a Sketchpad (`watch`): its input and model; a model of another shape lays every page
out anew. It computes (core.activations) at most every INTERVAL_MS while the pen moves, right after
one of the sketchpad's readings so the bars are never kept waiting, and only while one of its live
pages is on screen.
"""

from .view import INTERVAL_MS, QUIET_MS, NetworkView

__all__ = ["INTERVAL_MS", "QUIET_MS", "NetworkView"]
