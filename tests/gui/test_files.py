"""File → Open image… (and a dropped image) read through the sketchpad; File → Save model as…."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from mnistconv.core import checkpoint
from mnistconv.core.predict import Predictor
from mnistconv.gui.scripted_mouse import drag

CHECK_SET = Path(__file__).resolve().parents[2] / "benchmarks" / "check_set.npz"


@pytest.fixture(scope="module")
def a_seven():
    """A drawn 7 from the check set (28×28, white on black) that the bundled model reads as 7."""
    with np.load(CHECK_SET) as stored:
        images, labels = stored["images"], stored["labels"]
    sevens = images[labels == 7][:40]
    read = Predictor.bundled("cpu").predict(sevens.astype(np.float32) / 255).argmax(axis=1)
    return sevens[int(np.flatnonzero(read == 7)[0])]


def save_picture(path: Path, digit: np.ndarray, dark_on_light: bool, scale: int = 9) -> Path:
    """The 28×28 digit, scaled up, with a wide margin, as a picture file (dark ink on white paper, or the reverse)."""
    big = np.pad(digit.repeat(scale, 0).repeat(scale, 1), 60)
    pixels = np.ascontiguousarray(255 - big if dark_on_light else big).astype(np.uint8)
    image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.shape[1], QImage.Format.Format_Grayscale8)
    assert image.save(str(path))
    return path


def read_by(qtbot, window):
    pad = window.sketchpad
    qtbot.waitUntil(lambda: pad.probabilities() is not None, timeout=5_000)
    return int(pad.probabilities().argmax()), pad.network_input()


def test_open_image_reads_a_picture_either_way_round(qtbot, make_window, tmp_path, a_seven):
    window = make_window()
    pad = window.sketchpad
    digits, inputs = [], []
    for name, dark_on_light in (("scan.png", True), ("inverted.jpg", False)):
        assert window.sketchpad_model.open_image_file(save_picture(tmp_path / name, a_seven, dark_on_light))
        assert pad.canvas.has_picture()
        digit, seen = read_by(qtbot, window)
        digits.append(digit)
        inputs.append(seen)
        pad.canvas.clear()
    assert digits == [7, 7]
    assert np.abs(inputs[0] - inputs[1]).mean() < 0.03  # the same digit to the network, whichever polarity
    assert np.corrcoef(inputs[0].ravel(), a_seven.ravel().astype(np.float32))[0, 1] > 0.8


def test_the_picture_is_part_of_the_drawing_until_cleared(qtbot, make_window, tmp_path, a_seven):
    window = make_window()
    canvas = window.sketchpad.canvas
    window.sketchpad_model.open_image_file(save_picture(tmp_path / "seven.png", a_seven, True))
    assert canvas.ink().max() > 0.9 and canvas.clear_action.isEnabled()
    drag(canvas, [(20, 20), (40, 40)])
    canvas.undo()
    assert canvas.has_picture()  # Undo takes the stroke first
    canvas.undo()
    assert canvas.is_empty() and not canvas.ink().any()


@pytest.mark.parametrize("content, reason", [(b"not an image", "could not be read as an image"),
                                             (None, "nothing that stands out from its background")])
def test_a_file_that_is_no_picture_of_a_digit_is_said_and_the_drawing_stays(qtbot, make_window, tmp_path, content, reason):
    window = make_window()
    path = tmp_path / "blank.png"
    if content is None:
        blank = QImage(200, 200, QImage.Format.Format_RGB32)
        blank.fill(Qt.GlobalColor.white)
        blank.save(str(path))
    else:
        path.write_bytes(content)
    drag(window.sketchpad.canvas, [(60, 60), (120, 200)])
    strokes = window.sketchpad.canvas.strokes()
    assert not window.sketchpad_model.open_image_file(path)
    assert window.messages.dialogs and reason in window.messages.dialogs[-1].text()
    assert window.sketchpad.canvas.strokes() == strokes and not window.sketchpad.canvas.has_picture()


def test_a_dropped_image_is_read(qtbot, make_window, tmp_path, a_seven):
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(save_picture(tmp_path / "dropped.png", a_seven, True)))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    assert window.sketchpad.canvas.has_picture()
    assert read_by(qtbot, window)[0] == 7


def test_save_model_as_writes_the_sketchpads_model(qtbot, make_window, tmp_path):
    window = make_window()
    predictor = window.sketchpad.predictor
    target = tmp_path / "kept" / "my-model.pt"
    assert window.sketchpad_model.save_model_file(target)
    saved = checkpoint.load_checkpoint(target)
    bundled = checkpoint.load_checkpoint(window.sketchpad_model.file)
    assert saved.epoch == bundled.epoch and saved.hyperparameters == bundled.hyperparameters
    assert saved.accuracy == pytest.approx(predictor.accuracy)
    for name, tensor in predictor.model.state_dict().items():
        assert np.array_equal(saved.model_state[name].numpy(), tensor.cpu().numpy()), name
    assert window.sketchpad_model.load_model_file(target) and window.sketchpad.predictor.name == str(target)
    assert any(f"to {target}" in line for line in window.log.lines())
    assert window.save_model_action.shortcut().toString() == "Ctrl+Shift+S"


def test_save_model_as_to_a_place_that_cannot_be_written_says_why(qtbot, make_window, tmp_path):
    window = make_window()
    (tmp_path / "a-file").write_text("")
    assert not window.sketchpad_model.save_model_file(tmp_path / "a-file" / "model.pt")
    assert window.messages.dialogs and "Could not save" in window.messages.dialogs[-1].text()


def test_a_model_without_a_checkpoint_behind_it_is_not_saved_with_made_up_details(qtbot, make_window, tmp_path):
    import torch

    from mnistconv.core.model import build_model

    window = make_window()
    torch.manual_seed(0)
    window.sketchpad_model.set_predictor(Predictor.from_model(build_model(), device="cpu"), None)
    assert not window.sketchpad_model.save_model_file(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    assert window.messages.dialogs and "did not come from a checkpoint file" in window.messages.dialogs[-1].text()
