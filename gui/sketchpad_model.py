"""The sketchpad's model and the files it reads: which model reads the drawings, opening and saving
models, reading pictures and test digits onto the canvas.

Models are read from their files on the CPU; the sketchpad's device setting (File → Sketchpad
device) then places them (core.sketchpad_device). The label above the canvas says which model reads.
The window's settings remember the model's file, so the model the sketchpad read with (opened,
fitted or trained) comes back at the next start; the bundled one, with a line saying why, when it
cannot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QLabel, QWidget

from mnistconv.core import checkpoint
from mnistconv.core.errors import CheckpointError
from mnistconv.core.paths import CHECKPOINT_SUFFIX, bundled_model_path
from mnistconv.core.predict import BUNDLED_NAME, Predictor
from mnistconv.core.wording import SAVE_FAILED_TITLE

from .drawing_canvas import LOGICAL_SIDE
from .file_places import remember, start_in
from .picture_file import PictureError, canvas_picture, image_suffixes, is_image_file, read_grey
from .settings_reader import Field, read, text

MODEL_LOAD_DEVICE = "cpu"
MODEL_KEY = "sketchpad/model"  # the file of the model the sketchpad reads with (absent: the bundled one)


class SketchpadModel(QObject):
    """`window` gives the sketchpad, the device setting, the log, the status bar, messages, the
    panel's save folder, the personal digits' view and the confusion matrix's test set."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.predictor: Predictor | None = None  # on the CPU; the sketchpad reads with its placed copy
        self.file: Path | None = None  # the checkpoint it was read from
        self.label = QLabel()
        self.label.setWordWrap(True)

    # -- which model reads ----------------------------------------------------------------------------
    def restore(self) -> None:
        """Read with the model the sketchpad read with when the window last closed, else the bundled one."""
        problems: list[str] = []
        remembered = read(self.window.settings, Field(MODEL_KEY, text), problems)
        for line in problems:
            self.window.log.add(line, "warning")
        if remembered:
            try:
                predictor = Predictor.from_checkpoint(remembered, device=MODEL_LOAD_DEVICE)
            except CheckpointError as exc:
                self.window.log.add(f"The sketchpad's last model could not be read, so it reads with the bundled "
                                    f"model: {exc}", "warning")
            else:
                self.set_predictor(predictor, Path(remembered))
                self.window.log.add(f"Sketchpad model, as last time: {predictor.describe()}")
                return
        self.use_bundled()

    def use_bundled(self) -> None:
        try:
            with bundled_model_path() as path:
                self.set_predictor(Predictor.bundled(device=MODEL_LOAD_DEVICE), path)
        except CheckpointError as exc:
            self.window.log.add(f"No bundled model: {exc}", "warning")
            self.set_predictor(None)

    def set_predictor(self, predictor: Predictor | None, source: Path | None = None) -> None:
        """Read with `predictor` from now on, on the device the sketchpad's setting chooses; `source`
        is the checkpoint file it was read from."""
        window = self.window
        self.predictor = predictor
        if predictor is not None:
            if source is not None and predictor.name != BUNDLED_NAME:
                window.settings.setValue(MODEL_KEY, str(Path(source).absolute()))
            else:
                window.settings.remove(MODEL_KEY)
        window.sketchpad.set_predictor(window.sketchpad_devices.place(predictor))
        window.personal_view.set_predictor(predictor)
        self.file = source if predictor is not None else None
        window.save_model_action.setEnabled(predictor is not None)
        if predictor is None:
            self.label.setText("<b>No model yet</b>: train one, or open an mnist_conv.pt (File → Open model…).")
            self.label.setToolTip("")
            return
        # A checkpoint's name is its path: show the file and its folder, the whole path in the tooltip.
        path = Path(predictor.name)
        short = f"{path.parent.name}/{path.name}" if path.suffix == ".pt" else predictor.name
        self.label.setText(f"<b>Model:</b> {predictor.describe().replace(predictor.name, short, 1)}")
        self.label.setToolTip(predictor.name)

    def place_again(self) -> None:
        """The same model on the device now chosen (File → Sketchpad device)."""
        self.window.sketchpad.set_predictor(self.window.sketchpad_devices.place(self.predictor))

    def on_run_deleted(self) -> None:
        if self.file is not None and not self.file.exists():
            # The sketchpad keeps reading with its copy of the weights; the label says the file is gone.
            self.label.setText(self.label.text() + " <i>(its run was deleted)</i>")

    # -- model files ----------------------------------------------------------------------------------
    def load_model_file(self, path: str | Path) -> bool:
        """Switch the sketchpad to the checkpoint at `path`; a bad file keeps the current model."""
        try:
            predictor = Predictor.from_checkpoint(path, device=MODEL_LOAD_DEVICE)
        except CheckpointError as exc:
            self.window.messages.warn("Could not open the model", f"{exc}\n\nThe current model stays in use.")
            return False
        self.set_predictor(predictor, Path(path))
        self.window.log.add(f"Sketchpad model: {predictor.describe()}")
        return True

    def save_model_file(self, path: str | Path) -> bool:
        """Write the sketchpad's current model to `path`: its weights, with what its own checkpoint
        says of it (epoch, accuracy, learning rate, settings). A dialog says why when it cannot be."""
        predictor = self.window.sketchpad.predictor
        if predictor is None:
            return False
        try:
            if self.file is None:
                raise CheckpointError("the sketchpad's model did not come from a checkpoint file")
            saved = checkpoint.load_checkpoint(self.file)
            lr = saved.lr if saved.lr is not None else float(saved.hyperparameters.get("lr", 0.0))
            written = checkpoint.save_checkpoint(Path(path), predictor.model, epoch=saved.epoch, accuracy=saved.accuracy,
                                                 lr=lr, hyperparameters=saved.hyperparameters, temperature=saved.temperature)
        except CheckpointError as exc:
            self.window.messages.warn(SAVE_FAILED_TITLE, f"{exc}\n\nNothing was saved.")
            return False
        self.window.log.add(f"Saved the sketchpad's model ({predictor.describe()}) to {written}", "success")
        return True

    def ask_to_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open model", start_in(), "mnistconv models (*.pt);;All files (*)")
        if path:
            remember(path)
            self.load_model_file(path)

    def ask_to_save_model(self) -> None:
        predictor = self.window.sketchpad.predictor
        if predictor is None:
            return
        bundled = self.file is None or predictor.name == BUNDLED_NAME
        stem = "mnist_conv-bundled" if bundled else f"{Path(predictor.name).stem}-copy"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save model as", start_in(f"{stem}.pt"),
                                              "mnistconv models (*.pt);;All files (*)")
        if path:
            remember(path)
            path = path if path.endswith(CHECKPOINT_SUFFIX) else path + CHECKPOINT_SUFFIX
            if self.save_model_file(path):
                self.window.statusBar().showMessage(f"Saved the sketchpad's model to {path}", 5000)

    # -- pictures on the canvas -----------------------------------------------------------------------
    def open_image_file(self, path: str | Path) -> bool:
        """Read the digit in a picture file with the sketchpad (it replaces the drawing); a file that
        is not a readable picture, or shows nothing, gets a dialog and the drawing stays."""
        try:
            picture = canvas_picture(read_grey(str(path)))
        except PictureError as exc:
            self.window.messages.warn("Could not read the image", f"{exc}.\n\nThe drawing stays as it was.")
            return False
        self.window.sketchpad.canvas.set_picture(picture)
        self.window.statusBar().showMessage(f"Reading {Path(path).name}; draw over it, or Clear (Esc) to draw afresh", 10_000)
        return True

    def ask_to_open_image(self) -> None:
        patterns = " ".join(f"*.{suffix}" for suffix in image_suffixes())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open image", start_in(), f"Images ({patterns});;All files (*)")
        if path:
            remember(path)
            self.open_image_file(path)

    def open_test_digit(self, index: int) -> bool:
        """Put test digit `index` on the sketchpad, as a picture (the confusion matrix's gallery asks for
        it): the network reads its 28×28 pixels as they are, so its reading, what drove it and its
        feature maps can be explored; a stroke drawn over it is read through to_mnist as any drawing."""
        confusion = self.window.confusion
        image = confusion.test_image(index)
        if image is None:
            return False
        digit = image.astype(np.float32) / 255
        scale = LOGICAL_SIDE // digit.shape[0]  # 280 / 28: each pixel a 10×10 square on the canvas
        sketchpad = self.window.sketchpad
        sketchpad.canvas.set_picture(np.kron(digit, np.ones((scale, scale), np.float32)), digit=digit)
        model = f" with {sketchpad.predictor.name}" if sketchpad.predictor is not None else ""
        self.window.statusBar().showMessage(f"Reading {confusion.describe_test_image(index)}{model}; "
                                            "draw over it, or Clear (Esc) to draw afresh", 15_000)
        return True

    # -- dropped files ----------------------------------------------------------------------------------
    @staticmethod
    def droppable(urls) -> tuple[str, str] | None:
        """("model" or "image", path) for the first dropped file the window takes, or None."""
        for url in urls:
            path = url.toLocalFile()
            if path.endswith(CHECKPOINT_SUFFIX):
                return "model", path
            if is_image_file(path):
                return "image", path
        return None

    def open_dropped(self, urls) -> bool:
        dropped = self.droppable(urls)
        if dropped is None:
            return False
        kind, path = dropped
        if kind == "model":
            self.load_model_file(path)
        else:
            self.open_image_file(path)
        return True
