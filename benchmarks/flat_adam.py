"""Adam over one flat buffer: the project's optimizer until torch's fused CPU Adam matched it.

Kept here only so that benchmarks/speed.py can measure the two side by side. The parameters and
their gradients are moved into one contiguous buffer each, the module's parameters become views
into them, and torch's own Adam steps the single flat tensor (bit-identical to per-tensor Adam).
Its traps are why it went: the gradients must be zeroed with `zero_grad(set_to_none=False)`, and
moving the model afterwards copies the parameters out of the buffer.
"""

from __future__ import annotations

import torch
from torch import nn


def _views_into(buffer: torch.Tensor, params: list[nn.Parameter]) -> list[torch.Tensor]:
    views, offset = [], 0
    for p in params:
        # as_strided keeps each parameter's own layout (channels_last conv weights included).
        views.append(buffer.as_strided(p.shape, p.stride(), offset))
        offset += p.numel()
    return views


def flatten_parameters(model: nn.Module) -> tuple[nn.Parameter, torch.Tensor]:
    """Put the model's parameters and gradients into one buffer each; returns both buffers.

    Call after the model is on its device and in its memory format: moving it again would
    copy the parameters out of the buffer.
    """
    params = list(model.parameters())
    for p in params:
        if not (p.is_contiguous() or (p.dim() == 4 and p.is_contiguous(memory_format=torch.channels_last))):
            raise ValueError("parameters must be contiguous or channels_last to share one buffer")
    total = sum(p.numel() for p in params)
    first = params[0]
    flat = torch.empty(total, device=first.device, dtype=first.dtype)
    flat_grad = torch.zeros(total, device=first.device, dtype=first.dtype)
    for p, value, grad in zip(params, _views_into(flat, params), _views_into(flat_grad, params)):
        value.copy_(p.detach())
        p.data = value
        # With a gradient already present, autograd adds into it in place, so it stays a view.
        p.grad = grad
    return nn.Parameter(flat), flat_grad


class FlatAdam(torch.optim.Adam):
    """torch's Adam over the flat buffer; its gradient is always zeroed in place, since the
    parameters' gradients must stay views into it."""

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none=False)


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Adam:
    """torch's Adam over the model's parameters, flattened into one tensor (foreach on the CPU,
    fused on CUDA, as the project used it)."""
    flat, flat_grad = flatten_parameters(model)
    flat.grad = flat_grad
    on_cuda = flat.is_cuda
    return FlatAdam([flat], lr=lr, fused=on_cuda, foreach=not on_cuda)
