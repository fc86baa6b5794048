"""Adam over one flat buffer takes exactly the steps torch's per-tensor Adam takes."""

import copy

import pytest
import torch
from torch.nn import functional as F

from mnistconv.core import checkpoint
from mnistconv.core.model import build_model
from mnistconv.core.optimizer import flatten_parameters, make_optimizer


def train_steps(model, optimizer, set_to_none, steps=12):
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(32, 1, 28, 28, generator=generator).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (32,), generator=generator)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=set_to_none)
        loss.backward()
        optimizer.step()


def test_flat_adam_matches_per_tensor_adam_bit_for_bit():
    torch.manual_seed(0)
    reference = build_model().to(memory_format=torch.channels_last)
    flat = copy.deepcopy(reference)
    train_steps(reference, torch.optim.Adam(reference.parameters(), lr=3e-3, foreach=True), set_to_none=True)
    train_steps(flat, make_optimizer(flat, lr=3e-3), set_to_none=False)
    for (name, a), b in zip(reference.named_parameters(), flat.parameters()):
        assert torch.equal(a, b), name
        assert a.stride() == b.stride(), name  # channels_last weights keep their layout


def test_parameters_and_gradients_stay_views_of_one_buffer_through_training():
    model = build_model().to(memory_format=torch.channels_last)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = make_optimizer(model, lr=3e-3)
    (flat,) = optimizer.param_groups[0]["params"]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))  # values carried over
    grad_pointers = [p.grad.data_ptr() for p in model.parameters()]
    train_steps(model, optimizer, set_to_none=False, steps=3)
    storage = flat.untyped_storage().data_ptr()
    assert all(p.untyped_storage().data_ptr() == storage for p in model.parameters())
    assert [p.grad.data_ptr() for p in model.parameters()] == grad_pointers
    assert flat.grad.abs().sum() > 0
    # Changing the flat tensor is changing the model.
    with torch.no_grad():
        flat.zero_()
    assert all(float(p.detach().abs().sum()) == 0 for p in model.parameters())


def test_a_flattened_model_saves_and_loads_as_an_ordinary_one(tmp_path):
    model = build_model().to(memory_format=torch.channels_last)
    train_steps(model, make_optimizer(model, lr=3e-3), set_to_none=False, steps=2)
    path = checkpoint.save_checkpoint(tmp_path / "m.pt", model, epoch=1, accuracy=0.5, lr=3e-3, hyperparameters={})
    loaded, _ = checkpoint.load_model(path, "cpu")
    for a, b in zip(model.parameters(), loaded.parameters()):
        assert torch.equal(a.detach(), b.detach())
    # Each saved tensor holds only its own numbers, not the whole shared buffer.
    saved = checkpoint.load_checkpoint(path).model_state
    assert all(t.untyped_storage().nbytes() == t.numel() * t.element_size() for t in saved.values())


def test_overlapping_parameters_are_refused():
    model = torch.nn.Linear(3, 3)
    model.weight.data = torch.zeros(3).expand(3, 3)  # one row seen three times: no dense layout
    with pytest.raises(ValueError, match="contiguous"):
        flatten_parameters(model)
