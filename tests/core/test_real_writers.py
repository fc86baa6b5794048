"""The bundled model on real writers it never trained on (benchmarks/real_writers.py), through the
benchmark's own code: the validation writers drawn with the sketchpad's pen and with random hands."""

import sys
from pathlib import Path

import numpy as np
import pytest

from mnistconv.core.predict import Predictor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from real_writers import measure, report, validation_set  # noqa: E402

# The bundled model read 99.1 % of them with the pen and 97.3 % with random hands when it was made
# (the model before it, trained without real handwriting: 98.8 % and 96.1 %). The floors leave room
# for a retrained model that is merely different, not for one that lost what real hands taught it.
FLOORS = {"pen_readable": 0.985, "hands_readable": 0.965}


@pytest.fixture(scope="module")
def validation():
    return validation_set()  # drawn once for this file's tests (about 15 s)


def test_the_bundled_model_reads_writers_it_never_saw(validation):
    result = measure(Predictor.bundled("cpu"), validation)
    assert (result["readable"], result["all"], result["writers"]) == (899, 920, 40)
    for key, floor in FLOORS.items():
        assert result[key] >= floor, f"{key}: {result[key]:.4f} < {floor}"
    text = report(result, "bundled")
    assert text.count("digits: pen") == 10 and "Most frequent confusions" in text


def test_the_bundled_models_percentages_are_calibrated_on_writers_it_never_saw(validation):
    from mnistconv.core.calibration import expected_calibration_error

    from calibration import fitting_writers

    held_out = ~fitting_writers(validation["writers"])  # the writers whose digits did not fit the temperature
    assert 300 < held_out.sum() < 600
    bundled = Predictor.bundled("cpu")
    labels = validation["labels"][held_out]
    pen = bundled.predict(validation["pen"][held_out])
    hands = bundled.predict(validation["hands"][:, held_out].reshape(-1, 28, 28))
    # Before calibration: 11.5 % and 12.4 % (the percentages well under how often they were right).
    assert expected_calibration_error(pen, labels) <= 0.02
    assert expected_calibration_error(hands, np.tile(labels, len(validation["hands"]))) <= 0.02
