import torch

from mnistconv.core.augment import AugmentSettings, augment_batch


def digit_batch(n=64):
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 6:22, 12:16] = 1.0  # a "1"
    return x


def test_shape_range_and_repeatability():
    x = digit_batch()
    a = augment_batch(x, torch.Generator().manual_seed(3))
    b = augment_batch(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert torch.equal(a, b)
    assert not torch.equal(a, augment_batch(x, torch.Generator().manual_seed(4)))


def test_each_image_is_distorted_differently_but_keeps_its_ink():
    x = digit_batch()
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert len({tuple(img.flatten().round(decimals=3).tolist()) for img in out}) == len(out)
    mass = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert float(mass.min()) > 0.2 and float(mass.max()) < 3.0  # no digit vanishes or floods the image


def test_no_distortion_settings_leave_the_batch_unchanged():
    x = digit_batch(8)
    still = AugmentSettings(rotation_deg=0, scale=(1, 1), shear=0, shift=0, dilate_p=0, erode_p=0, elastic_p=0)
    torch.testing.assert_close(augment_batch(x, torch.Generator().manual_seed(0), still), x)


def test_empty_images_stay_empty():
    assert float(augment_batch(torch.zeros(4, 1, 28, 28), torch.Generator().manual_seed(0)).max()) == 0
