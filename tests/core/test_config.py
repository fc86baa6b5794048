"""One rule per setting (core.config.RULES): the command line, the window's fields, its settings file,
a resumed run's state and the config itself all refuse a value in the same words."""

import math
from dataclasses import replace

import pytest

from mnistconv.core.config import RULES, SEED_MAX, TrainConfig, parse_setting, validate_config
from mnistconv.core.errors import ConfigError


@pytest.mark.parametrize("name, text, value", [
    ("lr", "3e-3", 3e-3), ("lr", " 0,5 ", 0.5), ("epochs", "20", 20), ("seed", str(SEED_MAX), SEED_MAX),
    ("noise_std", "0", 0.0), ("batch_size", 128, 128),
])
def test_a_setting_is_read_from_text_or_a_number(name, text, value):
    assert parse_setting(name, text) == value


@pytest.mark.parametrize("name, text, words", [
    ("lr", "0", "learning rate must be a positive number, not 0"),
    ("lr", "1e-400", "learning rate must be a positive number, not 1e-400"),  # underflows to 0
    ("lr", "fast", "learning rate must be a positive number, not fast"),
    ("epochs", "2.5", "epochs must be a whole number from 1 to 100000, not 2.5"),
    ("epochs", "99999999999999", "epochs must be a whole number from 1 to 100000, not 99999999999999"),
    ("seed", "-1", f"seed must be a whole number from 0 to {SEED_MAX}, not -1"),
    ("noise_std", "nan", "noise std must be a number from 0 to 10, not nan"),
])
def test_a_value_it_cannot_take_is_refused_in_its_words(name, text, words):
    with pytest.raises(ConfigError) as refused:
        parse_setting(name, text)
    assert str(refused.value) == words


@pytest.mark.parametrize("name, value", [
    ("seed", 2**70), ("lr_drop_factor", 0), ("lr_drop_factor", 1.0), ("eval_batch_size", 1.5), ("epochs", True),
    ("lr", "0.003"), ("min_lr", -1e-6), ("label_smoothing", 1.0), ("converge_patience", 0), ("progress_interval_s", math.inf),
    ("shuffle", "yes"), ("device", "tpu"), ("lr_schedule", None), ("savepath", 7),
])
def test_every_field_of_a_config_is_checked(name, value):
    """A config read back from a file (a resumed run's state) is checked field by field."""
    with pytest.raises(ConfigError):
        validate_config(replace(TrainConfig(), **{name: value}))


def test_the_seeds_recipe_and_a_random_seed_pass():
    validate_config(TrainConfig())
    validate_config(TrainConfig(seed=SEED_MAX, target_accuracy=1.01))  # above 1: never stop early


def test_every_rule_states_its_requirement_in_words():
    assert {name: rule.requirement for name, rule in RULES.items() if name in ("lr", "epochs", "min_lr")} == {
        "lr": "a positive number", "epochs": "a whole number from 1 to 100000", "min_lr": "a number ≥ 0"}
