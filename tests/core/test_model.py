import torch
from torch.nn import functional as F

from mnistconv.core.model import build_model, parameter_count


def test_seed_architecture_has_16938_parameters():
    model = build_model()
    assert parameter_count(model) == 16_938
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {
        "conv1.weight": (16, 1, 3, 3), "conv1.bias": (16,),
        "conv2.weight": (32, 16, 3, 3), "conv2.bias": (32,),
        "conv3.weight": (32, 32, 3, 3), "conv3.bias": (32,),
        "fc.weight": (10, 288), "fc.bias": (10,),
    }


def test_forward_gives_logits_per_image():
    logits = build_model()(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 10)


def test_image_size_and_class_count_are_parameters():
    model = build_model(image_size=(32, 40), num_classes=3)
    assert model.fc.in_features == (32 // 8) * (40 // 8) * 32
    assert model(torch.rand(2, 1, 32, 40)).shape == (2, 3)


def test_pool_before_relu_equals_the_seed_order():
    model = build_model()
    x = torch.randn(4, 1, 28, 28, requires_grad=True)
    relu, pool = torch.nn.functional.relu, torch.nn.functional.max_pool2d
    h = x
    for conv in (model.conv1, model.conv2, model.conv3):
        h = pool(relu(conv(h)), 2)  # the seed's order: conv → relu → maxpool
    seed_out = model.fc(h.flatten(1))
    ours = model(x)
    torch.testing.assert_close(ours, seed_out)
    (g_seed,) = torch.autograd.grad(seed_out.sum(), x)
    (g_ours,) = torch.autograd.grad(model(x).sum(), x)
    torch.testing.assert_close(g_ours, g_seed)


def test_initialisation_is_glorot_with_zero_bias():
    model = build_model()
    assert all(float(layer.bias.detach().abs().max()) == 0 for layer in (model.conv1, model.conv2, model.conv3, model.fc))
    bound = (6 / (9 * 16 + 9 * 32)) ** 0.5  # conv2: fan_in 16·9, fan_out 32·9
    assert float(model.conv2.weight.detach().abs().max()) <= bound
    assert float(model.conv2.weight.detach().abs().max()) > 0.8 * bound


def test_the_forward_pass_is_the_seeds_layers_exactly():
    """conv3x3 with padding 1 → relu → maxpool 2, three times (1→16→32→32 channels, 28→14→7→3), then dense
    288 → 10, written out with torch's functions on the model's own weights."""
    torch.manual_seed(0)
    model = build_model()
    x = torch.randn(4, 1, 28, 28)
    h = x
    for conv, channels, side in ((model.conv1, 16, 14), (model.conv2, 32, 7), (model.conv3, 32, 3)):
        h = F.max_pool2d(F.relu(F.conv2d(h, conv.weight, conv.bias, stride=1, padding=1)), 2)
        assert h.shape == (4, channels, side, side)
    expected = F.linear(h.flatten(1), model.fc.weight, model.fc.bias)
    torch.testing.assert_close(model(x), expected)


def slanted_bar(slope: float) -> torch.Tensor:
    """A 1-px vertical bar sheared so that x = 14 + slope·(y - 14): leaning right at the top for slope < 0."""
    image = torch.zeros(1, 1, 28, 28)
    for y in range(4, 24):
        image[0, 0, y, round(14 + slope * (y - 14))] = 1.0
    return image


def column_spread(image: torch.Tensor) -> float:
    """How far the ink's columns spread about their mean, weighted by ink."""
    ink = image[0, 0]
    columns = torch.arange(28, dtype=torch.float32)
    mass = ink.sum()
    mean = (ink.sum(0) * columns).sum() / mass
    return float(((ink.sum(0) * (columns - mean) ** 2).sum() / mass).sqrt())


def test_deskew_stands_a_slanted_stroke_upright_and_keeps_its_ink():
    from mnistconv.core.model import deskew

    for slope in (-0.4, 0.3):
        bar = slanted_bar(slope)
        upright = deskew(bar)
        assert column_spread(bar) > 1.2 and column_spread(upright) < 0.6, slope  # bilinear sampling: two columns at most
        assert abs(float(upright.sum()) - float(bar.sum())) < 0.05 * float(bar.sum())
    blank = torch.zeros(2, 1, 28, 28)
    assert torch.equal(deskew(blank), blank)  # no ink, nothing to straighten, no NaN
    straight = slanted_bar(0.0)
    torch.testing.assert_close(deskew(straight), straight, atol=1e-5, rtol=0)


def reference_deskew(images: torch.Tensor) -> torch.Tensor:
    """The definition, slowly: centred moments in float64, each image sheared on its own grid."""
    from torch.nn import functional as F

    from mnistconv.core.model import MAX_SLANT

    out = []
    for image in images.double():
        ink = image[0]
        y, x = torch.meshgrid(torch.arange(28.0, dtype=torch.float64), torch.arange(28.0, dtype=torch.float64), indexing="ij")
        mass = ink.sum().clamp_min(1e-6)
        cy, cx = (ink * y).sum() / mass, (ink * x).sum() / mass
        mu11, mu02 = (ink * (y - cy) * (x - cx)).sum() / mass, (ink * (y - cy) ** 2).sum() / mass
        slant = float((mu11 / mu02.clamp_min(1e-6)).clamp(-MAX_SLANT, MAX_SLANT))
        theta = torch.tensor([[[1, slant, -slant * float((2 * cy + 1) / 28 - 1)], [0, 1, 0]]], dtype=torch.float64)
        grid = F.affine_grid(theta, [1, 1, 28, 28], align_corners=False)
        out.append(F.grid_sample(image[None], grid, align_corners=False)[0])
    return torch.stack(out).float()


def test_deskew_computes_the_definition():
    from mnistconv.core.model import deskew

    generator = torch.Generator().manual_seed(0)
    images = torch.rand(16, 1, 28, 28, generator=generator) ** 6  # sparse ink, of every slant
    images[3] = 0  # and a blank one
    images[5] = slanted_bar(0.8)[0]
    torch.testing.assert_close(deskew(images), reference_deskew(images), atol=2e-4, rtol=0)


def test_a_deskewing_network_has_the_seeds_parameters_and_deskews_inside_forward():
    plain, deskewing = build_model(), build_model(deskew=True)
    assert parameter_count(deskewing) == 16_938 and deskewing.state_dict().keys() == plain.state_dict().keys()
    deskewing.load_state_dict(plain.state_dict())
    bar = slanted_bar(-0.4)
    torch.testing.assert_close(deskewing(bar), plain(deskewing.prepare(bar)))
    assert not torch.allclose(deskewing(bar), plain(bar))
