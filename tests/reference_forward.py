"""The seed's network written out from a checkpoint's tensors with torch.nn.functional alone: the
reference the network view's numbers are checked against (tests/core/test_activations.py, tests/gui)."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F


def reference_forward(state: dict, image: np.ndarray, temperature: float = 1.0) -> dict:
    """The seed's network written out from the tensors alone: conv → ReLU → max-pool, three times, then
    dense; the probabilities with the model's temperature (core.calibration)."""
    weights = {name: tensor.to(torch.float64) for name, tensor in state.items()}
    x = torch.from_numpy(image.astype(np.float64))[None, None]
    out = {"pre_pool": [], "maps": []}
    for block in (1, 2, 3):
        conv = F.conv2d(x, weights[f"conv{block}.weight"], weights[f"conv{block}.bias"], padding=1)
        out["pre_pool"].append(conv[0].numpy())
        x = F.max_pool2d(F.relu(conv), 2)
        out["maps"].append(x[0].numpy())
    features = x.reshape(1, -1)
    logits = F.linear(features, weights["fc.weight"], weights["fc.bias"])
    probabilities = torch.softmax(logits / temperature, 1)[0].numpy()
    out.update(features=features[0].numpy(), logits=logits[0].numpy(), probabilities=probabilities,
               weight=weights["fc.weight"].numpy(), bias=weights["fc.bias"].numpy())
    return out
