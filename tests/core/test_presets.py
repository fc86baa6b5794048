import pytest

from mnistconv.core.config import TrainConfig, validate_config
from mnistconv.core.presets import PRESETS, preset_config


def test_seed_preset_is_the_seed_recipe():
    assert PRESETS["seed"].config == TrainConfig()
    config = PRESETS["seed"].config
    assert (config.lr, config.epochs, config.batch_size, config.noise_std) == (3e-3, 20, 128, 0.1)
    assert (config.lr_schedule, config.label_smoothing, config.shuffle) == ("plateau", 0.0, False)


def test_fast_preset_keeps_the_architecture_and_changes_the_schedule():
    fast = preset_config("fast", seed=1)
    validate_config(fast)
    assert fast.lr_schedule == "onecycle" and fast.label_smoothing == 0.1 and fast.shuffle
    # One epoch of batches of 64 with no training noise: ≥ 99 % after it on seeds 0–4 (benchmarks/speed.py).
    assert (fast.epochs, fast.batch_size, fast.lr, fast.noise_std) == (1, 64, 1.5e-2, 0.0)
    assert not fast.augment
    assert fast.seed == 1


def test_robust_preset_keeps_its_own_schedule():
    robust = preset_config("robust")
    assert (robust.epochs, robust.batch_size, robust.lr, robust.noise_std) == (20, 128, 1e-2, 0.1)
    assert robust.lr_schedule == "onecycle" and robust.label_smoothing == 0.1 and robust.shuffle and robust.augment


def test_unknown_preset():
    with pytest.raises(KeyError, match="unknown preset"):
        preset_config("turbo")


def test_only_robust_trains_on_synthesised_and_real_digits_and_deskews():
    for name in ("seed", "fast"):
        config = PRESETS[name].config
        assert (config.synth_share, config.real_share, config.deskew) == (0, 0, False)
    robust = preset_config("robust")
    validate_config(robust)
    assert 0 < robust.synth_share <= 0.5 and 0 < robust.real_share <= 0.5 and robust.deskew and robust.augment


@pytest.mark.parametrize("share", [-0.1, 0.6, float("nan"), True, "0.2", None])
def test_a_synthesised_share_outside_0_to_half_is_refused(share):
    from mnistconv.core.errors import ConfigError

    with pytest.raises(ConfigError, match="synthesised share of a batch must be a number from 0 to 0.5"):
        validate_config(TrainConfig(synth_share=share))
