"""The main window, driven as a person would: fields, Train / Pause / Stop, models, settings."""

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QMimeData, QObject, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from mnistconv.core import checkpoint, events
from mnistconv.core.model import build_model
from mnistconv.gui.main_window import MainWindow


def buttons(window):
    p = window.panel
    return (p.train_button.isEnabled(), p.pause_button.isEnabled(), p.stop_button.isEnabled())


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_train_runs_to_the_end_and_updates_everything(qtbot, make_window, tmp_path):
    window = make_window(epochs=3)
    assert buttons(window) == (True, False, False)
    assert window.panel.lr_edit.text() == "0.003" and window.panel.noise_spin.value() == pytest.approx(0.1)
    running_states = []
    window.trainer.batch_progressed.connect(lambda _: running_states.append((buttons(window), window.panel.lr_edit.isEnabled())))
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        click(qtbot, window.panel.train_button)
        assert buttons(window) == (False, True, True)
    assert finished.args[0].reason == "completed"
    # The learning rate stays editable while it trains: it can be steered (Set).
    assert running_states and all(state == ((False, True, True), True) for state in running_states)
    assert buttons(window) == (True, False, False) and window.panel.lr_edit.isEnabled()
    assert list(window.plots.accuracy_curve.xData) == [1, 2, 3]
    saved = tmp_path / "models" / "mnist_conv.pt"
    assert saved.is_file()
    # Switched to the new best model, which the trainer's thread loaded from the file.
    qtbot.waitUntil(lambda: window.sketchpad.predictor.name == str(saved), timeout=5_000)
    assert "test accuracy" in window.sketchpad_model.label.text()
    assert any("[3]: Test accuracy:" in line for line in window.log.lines())
    # The confusion matrix holds the last epoch's counts of the 200 test digits.
    assert window.confusion.caption.text().startswith("Epoch 3, the latest: ")
    assert sum(window.confusion.count(true, predicted) for true in range(10) for predicted in range(10)) == 200


def test_the_log_shows_each_event_in_the_words_the_command_line_prints(qtbot, make_window):
    import re

    from mnistconv.core.qt_trainer import SIGNAL_NAMES
    from mnistconv.core.wording import log_lines

    window = make_window(epochs=2)
    seen = []
    for name in SIGNAL_NAMES.values():
        getattr(window.trainer, name).connect(seen.append)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        click(qtbot, window.panel.train_button)
    logged = [re.sub(r"^\d\d:\d\d:\d\d  ", "", line) for line in window.log.lines()]
    expected = [line.text for event in seen for line in log_lines(event)]
    assert len(expected) > 6 and logged == expected


def test_a_first_start_shows_the_seed_recipe_in_the_fields(qtbot, tmp_path):
    window = MainWindow(settings=QSettings(str(tmp_path / "first-start.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    panel = window.panel
    assert panel.preset_name() == "seed"
    assert (panel.lr_edit.text(), panel.epochs_spin.value(), panel.batch_spin.value()) == ("0.003", 20, 128)
    assert panel.noise_spin.value() == pytest.approx(0.1)
    config = panel.config()
    assert (config.lr, config.epochs, config.batch_size, config.noise_std) == (3e-3, 20, 128, pytest.approx(0.1))
    assert (config.seed, config.lr_schedule, config.shuffle, config.augment) == (None, "plateau", False, False)


def test_lr_drop_adds_one_marker(qtbot, make_window):
    window = make_window()
    # The window reacts to the trainer's signals, whoever emits them: the run's history takes the
    # event, and the plots draw it.
    window.trainer.lr_dropped.emit(events.LrDropped(epoch=6, old_lr=3e-3, new_lr=3e-4))
    assert window.training.history.markers[-1].detail == "0.0003"
    assert [m.text for m in window.plots.markers("lr_drop")] == ["lr 0.0003"]
    assert "dropping learning rate to 0.0003" in window.log.lines()[-1]


def test_stop_works_and_train_can_start_again(qtbot, make_window):
    window = make_window(epochs=50)

    def stop_once(progress):
        if window.panel.stop_button.isEnabled():
            click(qtbot, window.panel.stop_button)

    window.trainer.batch_progressed.connect(stop_once)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        click(qtbot, window.panel.train_button)
    assert finished.args[0].reason == "stopped"
    assert buttons(window) == (True, False, False)
    window.trainer.batch_progressed.disconnect(stop_once)
    window.panel.epochs_spin.setValue(1)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        click(qtbot, window.panel.train_button)
    assert finished.args[0].reason == "completed"
    assert list(window.plots.accuracy_curve.xData) == [1]  # fresh plots for the new run


def test_pause_and_resume_buttons(qtbot, make_window):
    window = make_window(epochs=2)
    paused = []

    def pause_once(progress):
        if not paused:
            paused.append(True)
            click(qtbot, window.panel.pause_button)

    window.trainer.batch_progressed.connect(pause_once)
    click(qtbot, window.panel.train_button)
    qtbot.waitUntil(window.trainer.is_paused, timeout=60_000)
    assert window.panel.pause_button.text() == "Resume"
    assert buttons(window) == (False, True, True)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
        click(qtbot, window.panel.pause_button)
        assert window.panel.pause_button.text() == "Pause"
    assert finished.args[0].reason == "completed"


def test_closing_mid_training_stops_the_thread(qtbot, make_window, tmp_path):
    window = make_window(epochs=50)
    with qtbot.waitSignal(window.trainer.epoch_finished, timeout=120_000):
        click(qtbot, window.panel.train_button)
    assert window.trainer.is_running()  # the close below meets a run in progress
    window.close()
    assert not window.trainer.is_running()
    checkpoint.load_checkpoint(tmp_path / "models" / "mnist_conv.pt")  # intact
    assert not list((tmp_path / "models").glob("*.partial"))


@pytest.mark.parametrize("lr, reason", [("0", "learning rate"), ("", "learning rate")])
def test_bad_learning_rate_is_refused_in_the_window(qtbot, make_window, lr, reason):
    window = make_window(lr=lr)
    click(qtbot, window.panel.train_button)
    assert not window.trainer.is_running()
    assert reason in window.panel.error_text() and reason in window.panel.progress_detail.text()


def test_batch_size_larger_than_the_data_fails_with_a_dialog(qtbot, make_window):
    window = make_window(batch_size=1000)
    with qtbot.waitSignal(window.trainer.finished, timeout=60_000):
        click(qtbot, window.panel.train_button)
    assert window.messages.dialogs and "larger than the 512 training images" in window.messages.dialogs[-1].text()
    assert buttons(window) == (True, False, False)  # still usable


def test_missing_data_is_a_readable_dialog(qtbot, make_window, tmp_path, no_network_acquisition):
    window = make_window()
    window.panel.data_dir_edit.setText(str(tmp_path / "empty"))
    with qtbot.waitSignal(window.trainer.finished, timeout=60_000):
        click(qtbot, window.panel.train_button)
    assert window.messages.dialogs and "Could not fetch MNIST" in window.messages.dialogs[-1].text()
    assert window.messages.dialogs[-1].icon() == QMessageBox.Icon.Critical
    assert buttons(window) == (True, False, False)


def test_open_model_loads_a_checkpoint_and_a_bad_file_keeps_the_current(qtbot, make_window, tmp_path):
    window = make_window()
    good = checkpoint.save_checkpoint(tmp_path / "good.pt", build_model(), epoch=4, accuracy=0.98, lr=3e-3, hyperparameters={})
    assert window.sketchpad_model.load_model_file(good)
    assert window.sketchpad.predictor.name == str(good)
    assert "98.00" in window.sketchpad_model.label.text()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    assert not window.sketchpad_model.load_model_file(bad)
    assert window.sketchpad.predictor.name == str(good)
    assert window.messages.dialogs and "not a loadable checkpoint" in window.messages.dialogs[-1].text()


def test_dropping_a_pt_file_loads_it(qtbot, make_window, tmp_path):
    window = make_window()
    path = checkpoint.save_checkpoint(tmp_path / "dropped.pt", build_model(), epoch=1, accuracy=0.5, lr=3e-3, hyperparameters={})
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.sketchpad.predictor.name == str(path)


def test_settings_persist(qtbot, make_window, tmp_path):
    window = make_window()
    window.panel.lr_edit.setText("0.001")
    window.panel.epochs_spin.setValue(7)
    window.panel.noise_spin.setValue(0.2)
    window.resize(790, 590)  # the offscreen screen is 800×600
    size = window.size()
    window.close()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    restored = MainWindow(settings=settings)
    qtbot.addWidget(restored)
    assert restored.panel.lr_edit.text() == "0.001"
    assert restored.panel.epochs_spin.value() == 7
    assert restored.panel.noise_spin.value() == pytest.approx(0.2)
    assert restored.panel.savepath_edit.text() == str(tmp_path / "models")
    # The offscreen screen (800×600) is narrower than the window's minimum width, so only the height can round-trip exactly.
    assert settings.value("window/geometry") is not None
    assert restored.size().height() == size.height() == 590


def test_choosing_the_fast_preset_fills_the_fields_and_trains_with_it(qtbot, make_window, tmp_path):
    window = make_window()
    panel = window.panel
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("fast"))
    assert panel.lr_edit.text() == "0.015" and panel.epochs_spin.value() == 1 and panel.batch_spin.value() == 64
    assert "one-cycle" in panel.preset_summary.text()
    panel.epochs_spin.setValue(2)
    config = panel.config()
    assert config.lr_schedule == "onecycle" and config.label_smoothing == 0.1 and config.epochs == 2
    assert config.noise_std == 0.0 and config.batch_size == 64
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("seed"))
    assert panel.lr_edit.text() == "0.003" and panel.epochs_spin.value() == 20
    assert panel.config().lr_schedule == "plateau"


def test_progress_reports_leave_the_panel_layout_alone(qtbot, make_window):
    """The progress detail changes with every batch report and wraps in a narrow panel: it has its
    two lines from the start, so the fields above it neither move nor get squeezed."""
    window = make_window()
    qtbot.waitExposed(window)
    panel = window.panel
    qtbot.wait(50)
    # The first report takes the progress bar out of its idle state: a one-off layout pass.
    panel.set_progress(0.0, "Epoch 1/20 · %p%", "")
    qtbot.wait(50)
    before = panel.preset_summary.geometry(), panel.lr_edit.geometry(), panel.progress_bar.geometry()
    relayouts = []
    window.installEventFilter(filter_ := LayoutRequests(relayouts))
    for detail in ("Batch 12/469 · 10,493 images/s · 43 s left in this epoch, and some more words to wrap", "Batch 13/469", ""):
        panel.set_progress(0.5, "Epoch 1/20 · %p%", detail)
        qtbot.wait(50)
        assert (panel.preset_summary.geometry(), panel.lr_edit.geometry(), panel.progress_bar.geometry()) == before
        assert panel.progress_detail.text() == detail
    window.removeEventFilter(filter_)
    assert relayouts == []  # no layout pass of the whole window per report


class LayoutRequests(QObject):
    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.LayoutRequest:
            self.seen.append(watched)
        return False


def test_a_new_best_model_that_cannot_be_read_keeps_the_sketchpads_model(qtbot, make_window):
    window = make_window()
    before = window.sketchpad.predictor
    unreadable = events.SavedModelUnreadable(path=Path("m.pt"), message="the file is not a checkpoint")
    window.trainer.saved_model_unreadable.emit(unreadable)
    assert window.sketchpad.predictor is before
    assert any("Could not load the new model for the sketchpad: the file is not a checkpoint" in line
               for line in window.log.lines())


def test_the_sketchpads_model_comes_back_at_the_next_start_or_the_bundled_one_says_why(qtbot, make_window, tmp_path):
    window = make_window()
    assert window.sketchpad.predictor.name == "bundled model"
    opened = tmp_path / "mine.pt"
    assert window.sketchpad_model.save_model_file(opened)  # a copy of the bundled model, as a file of its own
    assert window.sketchpad_model.load_model_file(opened)
    window.close()

    def reopened():
        again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(again)
        return again

    again = reopened()
    assert again.sketchpad.predictor.name == str(opened)
    assert any("Sketchpad model, as last time" in line for line in again.log.lines())
    again.close()
    opened.write_bytes(b"not a model any more")
    third = reopened()
    assert third.sketchpad.predictor.name == "bundled model"
    assert any(f"The sketchpad's last model could not be read, so it reads with the bundled model: {opened}" in line
               for line in third.log.lines()), third.log.lines()


def test_stopping_before_any_model_was_saved_does_not_say_one_stays(qtbot, make_window):
    window = make_window(epochs=50)
    with qtbot.waitSignal(window.trainer.batch_progressed, timeout=60_000):
        qtbot.mouseClick(window.panel.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.trainer.finished, timeout=60_000):
        window.training.stop()
        said = [line for line in window.log.lines() if "Stopping after the current batch" in line]
    assert len(said) == 1 and said[0].endswith("(no model has been saved yet)…"), said


def test_file_dialogs_open_where_the_last_file_went_and_saves_are_confirmed(qtbot, make_window, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    asked = []
    answers = iter([str(tmp_path / "exports" / "plots.png"), str(tmp_path / "exports" / "copy.pt")])

    def save_dialog(parent, caption, start, *rest):
        asked.append(start)
        return next(answers), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    (tmp_path / "exports").mkdir()
    window.exports.ask_to_export_plots()
    assert window.statusBar().full_message() == f"Plots written to {tmp_path / 'exports' / 'plots.png'}"
    window.sketchpad_model.ask_to_save_model()
    assert asked[1] == str(tmp_path / "exports" / "mnist_conv-bundled.pt")  # where the plots went
    assert window.statusBar().full_message() == f"Saved the sketchpad's model to {tmp_path / 'exports' / 'copy.pt'}"
    window.close()  # the folder is kept for the next session
    again = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda parent, caption, start, *rest: (asked.append(start), ("", ""))[1])
    again.sketchpad_model.ask_to_open_model()
    assert asked[-1] == str(tmp_path / "exports")
