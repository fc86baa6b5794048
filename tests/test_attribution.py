"""The real handwriting's licence (CC BY 4.0) asks for its attribution wherever it goes: with the data,
in the bundled model trained on it, and in the app."""

from pathlib import Path

from mnistconv.core.checkpoint import load_checkpoint
from mnistconv.core.handwriting import ATTRIBUTION
from mnistconv.core.paths import bundled_model_path
from mnistconv.gui.about import about_text

ROOT = Path(__file__).resolve().parents[1]


def test_the_attribution_names_the_source_and_the_licence():
    assert "UNIPEN" in ATTRIBUTION and "CC BY 4.0" in ATTRIBUTION and "10.5281/zenodo.1195803" in ATTRIBUTION
    assert "Attribution 4.0" in (ROOT / "resources" / "unipen" / "LICENSE").read_text(encoding="utf-8")


def test_the_bundled_model_and_the_about_box_carry_it():
    with bundled_model_path() as path:
        bundled = load_checkpoint(path)
    assert bundled.hyperparameters["trained_on"] == ATTRIBUTION and bundled.hyperparameters["real_share"] > 0
    assert "UNIPEN" in about_text("cpu") and "CC BY 4.0" in about_text("cpu")
    assert "UNIPEN" in (ROOT / "README.md").read_text(encoding="utf-8")
