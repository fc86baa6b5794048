"""The keyboard as a person uses it: shortcuts pressed on the window, wherever the focus happens to be."""

import re

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication

from mnistconv.core import checkpoint
from mnistconv.gui.scripted_mouse import drag
from mnistconv.gui.shortcuts import ShortcutsDialog
from mnistconv.gui.training_panel import NO_SEED, PanelState

CTRL = Qt.KeyboardModifier.ControlModifier


def activate(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier):
    """A key pressed while the window is active: sent to the window, as the keyboard does."""
    qtbot.keyClick(window, key, modifier)


def start_training(qtbot, window):
    """Ctrl+Return, and wait for the first batch report."""
    with qtbot.waitSignal(window.trainer.batch_progressed, timeout=120_000):
        press(qtbot, window, Qt.Key.Key_Return, CTRL)


def stop_and_wait(qtbot, window):
    if window.trainer.is_running():
        with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
            window.trainer.stop()


def test_ctrl_p_pauses_and_resumes_again_and_again(qtbot, make_window):
    window = make_window(epochs=200)
    activate(qtbot, window)
    start_training(qtbot, window)
    try:
        for _ in range(3):
            press(qtbot, window, Qt.Key.Key_P, CTRL)
            assert window.trainer.is_paused() and window.panel.pause_button.text() == "Resume"
            press(qtbot, window, Qt.Key.Key_P, CTRL)
            assert not window.trainer.is_paused() and window.panel.pause_button.text() == "Pause"
    finally:
        stop_and_wait(qtbot, window)


def test_one_ctrl_dot_stops_after_the_training_menu_was_closed_with_esc(qtbot, make_window):
    window = make_window(epochs=200)
    activate(qtbot, window)
    start_training(qtbot, window)
    try:
        menu = window.training_menu
        window.menuBar().setActiveAction(menu.menuAction())
        qtbot.waitUntil(menu.isVisible, timeout=5_000)
        qtbot.keyClick(menu, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not menu.isVisible(), timeout=5_000)
        with qtbot.waitSignal(window.trainer.finished, timeout=120_000) as finished:
            press(qtbot, window, Qt.Key.Key_Period, CTRL)
            assert window.trainer.is_stopping() or not window.trainer.is_running()
        assert finished.args[0].reason == "stopped"
    finally:
        stop_and_wait(qtbot, window)


def test_no_key_is_bound_twice_in_the_window(make_window):
    """One binding per key: two (a button's and a menu action's) make Qt call the key ambiguous."""
    window = make_window()
    bound = [keys.toString() for action in window.findChildren(QAction) for keys in action.shortcuts()]
    bound += [b.shortcut().toString() for b in window.findChildren(QAbstractButton) if not b.shortcut().isEmpty()]
    assert {"Ctrl+Return", "Ctrl+P", "Ctrl+.", "Esc", "Del", "Ctrl+Z"} <= set(bound)
    assert sorted(keys for keys in bound if bound.count(keys) > 1) == []


def test_stop_from_the_menu_disables_pause_and_stop_there_at_once(qtbot, make_window):
    window = make_window(epochs=200)
    activate(qtbot, window)
    start_training(qtbot, window)
    menu_actions = {action.text(): action for action in window.training_menu.actions()}
    assert menu_actions["Pause"].isEnabled() and menu_actions["Stop"].isEnabled()
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        window.trainer.pause()  # the run waits between batches, so it is still running below
        menu_actions["Stop"].trigger()
        assert window.trainer.is_running()
        assert window.panel.state() is PanelState.STOPPING
        assert not menu_actions["Pause"].isEnabled() and not menu_actions["Stop"].isEnabled()
        assert not menu_actions["Train"].isEnabled()
        assert window.panel.progress_text()[0].startswith("Stopping")
    assert menu_actions["Train"].isEnabled() and not menu_actions["Stop"].isEnabled()


def test_esc_and_delete_clear_the_drawing_wherever_the_focus_is(qtbot, make_window):
    window = make_window()
    activate(qtbot, window)
    canvas = window.sketchpad.canvas
    for key, focus in ((Qt.Key.Key_Escape, window.panel.train_button), (Qt.Key.Key_Delete, window.confusion.table)):
        drag(canvas, [(60, 60), (120, 200), (200, 90)])
        assert not canvas.is_empty()
        focus.setFocus()
        qtbot.waitUntil(focus.hasFocus, timeout=5_000)
        press(qtbot, window, key)
        assert canvas.is_empty(), QKeySequence(key).toString()


def test_delete_in_a_text_field_edits_the_field_and_keeps_the_drawing(qtbot, make_window):
    window = make_window()
    activate(qtbot, window)
    drag(window.sketchpad.canvas, [(60, 60), (120, 200)])
    edit = window.panel.lr_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5_000)
    edit.setCursorPosition(0)
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    assert edit.text() == ".003" and not window.sketchpad.canvas.is_empty()


def test_the_shortcuts_dialog_lists_every_shortcut_from_the_actions(qtbot, make_window):
    window = make_window()
    activate(qtbot, window)
    # An action added now appears too: the table is made from the actions when it opens.
    extra = QAction("Zoom the plots", window)
    extra.setShortcut(QKeySequence("Ctrl+Shift+Z"))
    window.addAction(extra)
    press(qtbot, window, Qt.Key.Key_F1)
    dialog = window.findChild(ShortcutsDialog)
    rows = dialog.rows()
    assert ("Training", "Pause", "Ctrl+P") in rows and ("Training", "Stop", "Ctrl+.") in rows
    assert ("Training", "Train", "Ctrl+Return") in rows
    assert ("Sketchpad", "Clear", "Esc or Del") in rows
    assert any(row[:2] == ("Sketchpad", "Undo stroke") and row[2].startswith("Ctrl+Z") for row in rows)
    assert ("File", "Quit", "Ctrl+Q") in rows and ("Help", "Keyboard shortcuts", "F1") in rows
    assert ("Window", "Zoom the plots", "Ctrl+Shift+Z") in rows
    with_keys = {id(a) for a in window.findChildren(QAction) if a.shortcuts()}
    assert len(rows) == len(with_keys)


def test_paused_training_says_paused_and_hides_its_stale_speed(qtbot, make_window):
    window = make_window(epochs=200)
    activate(qtbot, window)
    start_training(qtbot, window)
    try:
        bar, detail = window.panel.progress_text()
        assert "images/s" in detail and not bar.startswith("Paused")
        press(qtbot, window, Qt.Key.Key_P, CTRL)
        qtbot.wait(300)  # reports already queued arrive meanwhile
        bar, detail = window.panel.progress_text()
        assert bar.startswith("Paused · Epoch 1/200") and "images/s" not in detail and "left" not in detail
        assert "Resume (Ctrl+P)" in detail
        press(qtbot, window, Qt.Key.Key_P, CTRL)
        with qtbot.waitSignal(window.trainer.batch_progressed, timeout=60_000):
            pass
        assert "images/s" in window.panel.progress_text()[1]
        assert not window.panel.progress_text()[0].startswith("Paused")
    finally:
        stop_and_wait(qtbot, window)


def test_an_invalid_learning_rate_is_said_without_moving_the_form(qtbot, make_window):
    window = make_window(lr="0")
    qtbot.waitExposed(window)
    panel = window.panel
    qtbot.wait(50)
    widgets = [panel.preset_summary, panel.lr_edit, panel.savepath_edit, panel.train_button, panel.progress_bar]
    before = [w.geometry() for w in widgets]
    press(qtbot, window, Qt.Key.Key_Return, CTRL)
    qtbot.wait(50)
    assert not window.trainer.is_running()
    assert "learning rate must be a positive number" in panel.progress_detail.text()
    assert panel.progress_detail.colour_shown().name() == "#d0342c"
    assert [w.geometry() for w in widgets] == before


def test_a_random_seed_is_shown_as_the_run_drew_it(qtbot, make_window, tmp_path):
    window = make_window(epochs=1)
    window.panel.seed_spin.setValue(NO_SEED)
    with qtbot.waitSignal(window.trainer.finished, timeout=120_000):
        window.panel.train_action.trigger()
    saved = checkpoint.load_checkpoint(tmp_path / "models" / "mnist_conv.pt").hyperparameters["seed"]
    assert isinstance(saved, int)
    assert window.seed_label.text() == f"Seed {saved} (drawn at random)"
    assert any(re.search(rf"seed {saved}\)$", line) for line in window.log.lines())


def test_by_default_each_run_saves_into_its_own_folder_and_old_defaults_are_dropped(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from mnistconv.core.session import RUN_FOLDER
    from mnistconv.gui.main_window import MainWindow

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    window = MainWindow(settings=QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert window.panel.savepath_edit.text() == "" and window.panel.config().savepath == RUN_FOLDER
    assert window.panel.savepath_edit.placeholderText() == "each run's own folder"
    # A settings file from before: the old default folder (its name doubled) was never a choice.
    old = tmp_path / "old.ini"
    old.write_text(f"[training]\nsavepath={tmp_path / 'share' / 'mnistconv' / 'mnistconv' / 'models'}\n")
    window = MainWindow(settings=QSettings(str(old), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert window.panel.savepath_edit.text() == ""
    chosen = tmp_path / "chosen.ini"
    chosen.write_text(f"[training]\nsavepath={tmp_path / 'mine'}\n")
    window = MainWindow(settings=QSettings(str(chosen), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert window.panel.savepath_edit.text() == str(tmp_path / "mine")