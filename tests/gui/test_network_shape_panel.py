"""The training panel's network shape: channels, kernel and hidden units, what they cost, the seed's
shape in one click, presets, settings, and the fields locked while a run trains."""

from dataclasses import replace

import pytest
from PySide6.QtCore import QSettings

from mnistconv.core.errors import ConfigError
from mnistconv.core.presets import PRESETS
from mnistconv.core.shape import SEED_SHAPE, NetworkShape, count_text
from mnistconv.gui.training_panel import ERROR_COLOUR, PanelState, TrainingPanel, flops_text


@pytest.fixture
def make_panel(qtbot, tmp_path):
    def make() -> TrainingPanel:
        panel = TrainingPanel(tmp_path / "data")
        qtbot.addWidget(panel)
        return panel

    return make


def shape_fields(panel):
    return panel.channels_edit.text(), panel.kernel_combo.currentData(), panel.hidden_spin.value()


def set_shape_fields(panel, channels, kernel, hidden):
    panel.channels_edit.setText(channels)
    panel.kernel_combo.setCurrentIndex(panel.kernel_combo.findData(kernel))
    panel.hidden_spin.setValue(hidden)


def settings_at(tmp_path, ini_text=None):
    path = tmp_path / "settings.ini"
    if ini_text is not None:
        path.write_text(ini_text, encoding="utf-8")
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_the_panel_starts_with_the_seed_network_and_says_what_it_costs(make_panel):
    panel = make_panel()
    assert shape_fields(panel) == ("16,32,32", 3, 0)
    assert panel.hidden_spin.text() == "none"
    assert panel.shape_summary.text() == f"16,938 parameters · {flops_text(SEED_SHAPE.flops)} per image"
    config = panel.config()
    assert (config.channels, config.kernel, config.hidden) == ((16, 32, 32), 3, 0)


def test_the_summary_follows_each_field_and_config_takes_the_shape(make_panel):
    panel = make_panel()
    seen = [panel.shape_summary.text()]
    panel.channels_edit.setText("8,16")
    seen.append(panel.shape_summary.text())
    panel.kernel_combo.setCurrentIndex(panel.kernel_combo.findData(5))
    seen.append(panel.shape_summary.text())
    panel.hidden_spin.setValue(32)
    seen.append(panel.shape_summary.text())
    assert len(set(seen)) == 4, seen  # every change is shown before training
    shape = NetworkShape((8, 16), 5, 32)
    assert seen[-1] == f"{count_text(shape.parameters)} parameters · {flops_text(shape.flops)} per image"
    assert f"{shape.parameters:,} parameters" in seen[-1]
    config = panel.config()
    assert (config.channels, config.kernel, config.hidden) == ((8, 16), 5, 32)
    assert config.network_shape == shape


def test_flops_are_written_in_sensible_units():
    assert flops_text(2_941_056) == "2.94 MFLOPs"
    assert flops_text(54_500_000) == "54.5 MFLOPs"
    assert flops_text(72_128) == "72.1 kFLOPs"


@pytest.mark.parametrize("channels", ["2,16", "8,8,8,8,8", "16,99", "sixteen", ""])
def test_a_shape_out_of_bounds_says_why_and_train_refuses_it_in_the_same_words(make_panel, channels):
    panel = make_panel()
    panel.channels_edit.setText(channels)
    with pytest.raises(ConfigError) as refused:
        panel.config()
    reason = str(refused.value)
    assert panel.shape_summary.text().lower() == f"{reason}.".lower()
    assert ERROR_COLOUR.name() in panel.shape_summary.styleSheet()
    assert "parameters" not in panel.shape_summary.text()
    panel.channels_edit.setText("8,16")  # mended: the cost again, in its usual colour
    assert "parameters" in panel.shape_summary.text() and ERROR_COLOUR.name() not in panel.shape_summary.styleSheet()


def test_train_shows_the_shapes_reason_where_other_fields_reasons_go(qtbot, make_window):
    window = make_window()
    window.panel.channels_edit.setText("2,16")
    window.panel.train_button.click()
    reason = window.panel.error_text()
    assert reason.startswith("block 1's channels must be a whole number from 4 to 64")
    assert reason in window.panel.progress_detail.text() and reason in window.panel.shape_summary.text().lower()
    assert window.panel.state() is PanelState.IDLE


def test_a_long_reason_keeps_to_one_line_and_the_rows_around_it_keep_their_room(qtbot, make_window, shrink_to_minimum):
    """At the smallest window a wrapped reason took a second line and squeezed the preset's summary
    above it: the reason ends in "…" on its line instead, whole in its tooltip."""
    window = shrink_to_minimum(make_window())
    panel = window.panel
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("fast"))  # a three-line summary
    qtbot.wait(50)
    heights = (panel.shape_summary.height(), panel.preset_summary.height(), panel.minimumHeight())
    panel.channels_edit.setText("8,2")
    qtbot.wait(50)
    reason = panel.shape_summary.text()
    assert reason.startswith("Block 2's channels must be a whole number from 4 to 64")
    assert panel.shape_summary.shown_text().endswith("…") and panel.shape_summary.toolTip() == reason
    assert (panel.shape_summary.height(), panel.preset_summary.height(), panel.minimumHeight()) == heights
    panel.channels_edit.setText("8,16")
    assert panel.shape_summary.shown_text() == panel.shape_summary.text() and panel.shape_summary.toolTip() == ""


def test_seed_network_puts_the_seeds_shape_back_in_one_click(make_panel):
    panel = make_panel()
    button = panel.seed_network_button
    assert not button.isEnabled()  # nothing to put back
    assert "16,32,32" in button.toolTip() and "3×3" in button.toolTip() and "no hidden layer" in button.toolTip()
    set_shape_fields(panel, "8,16", 5, 32)
    assert button.isEnabled()
    button.click()
    assert shape_fields(panel) == ("16,32,32", 3, 0)
    assert panel.config().network_shape == SEED_SHAPE
    assert not button.isEnabled()
    panel.channels_edit.setText("2")  # a shape that cannot be built is put back too
    assert button.isEnabled()
    button.click()
    assert panel.network_shape() == SEED_SHAPE


def test_choosing_a_preset_sets_its_shape(make_panel, monkeypatch):
    # Today every preset trains the seed's network; one that names another shape brings it along.
    monkeypatch.setitem(PRESETS, "fast", replace(PRESETS["fast"], config=replace(PRESETS["fast"].config, channels=(8, 16),
                                                                                 kernel=5, hidden=32)))
    panel = make_panel()
    set_shape_fields(panel, "4", 3, 0)
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("fast"))
    assert shape_fields(panel) == ("8,16", 5, 32)
    config = panel.config()
    assert (config.channels, config.kernel, config.hidden, config.lr_schedule) == ((8, 16), 5, 32, "onecycle")
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("seed"))
    assert shape_fields(panel) == ("16,32,32", 3, 0)


def test_the_shape_is_saved_and_read_back_without_complaint(make_panel, tmp_path):
    first = make_panel()
    set_shape_fields(first, "8,16,24", 5, 64)
    first.save_settings(settings_at(tmp_path))
    second = make_panel()
    assert second.load_settings(settings_at(tmp_path)) == []
    assert shape_fields(second) == ("8,16,24", 5, 64)
    assert second.config().network_shape == NetworkShape((8, 16, 24), 5, 64)


def test_a_hand_written_shape_is_read(make_panel, tmp_path):
    panel = make_panel()
    # Unquoted, Qt reads 8,16 as a list of two values.
    assert panel.load_settings(settings_at(tmp_path, "[training]\nchannels=8,16\nkernel=5\nhidden=32\n")) == []
    assert shape_fields(panel) == ("8,16", 5, 32)


def test_a_stored_shape_is_read_after_the_stored_preset_sets_its_own(make_panel, tmp_path):
    panel = make_panel()
    assert panel.load_settings(settings_at(tmp_path, '[training]\npreset=fast\nchannels="8,16"\n')) == []
    assert panel.preset_name() == "fast" and shape_fields(panel) == ("8,16", 3, 0)


@pytest.mark.parametrize("key, value, words", [
    ("channels", "99999", ("block 1's channels", "64", "not 99999")),
    ("channels", '"8,8,8,8,8"', ("1 to 4 blocks", "(8, 8, 8, 8, 8)")),
    ("channels", "sixteen", ("channels", "16,32,32", "sixteen")),
    ("kernel", "4", ("kernel", "3×3", "5×5", "not 4")),
    ("kernel", "3x3", ("kernel", "not '3x3'")),
    ("hidden", "999", ("hidden layer", "256", "not 999")),
    ("hidden", "-1", ("hidden layer", "not -1")),
])
def test_a_bad_stored_shape_is_refused_in_words_and_the_seeds_kept(make_panel, tmp_path, key, value, words):
    panel = make_panel()
    problems = panel.load_settings(settings_at(tmp_path, f"[training]\n{key}={value}\n"))
    (line,) = problems
    assert line.startswith(f"Settings: ignored training/{key} = ") and line.endswith("; using the default")
    assert all(word in line for word in words), line
    assert shape_fields(panel) == ("16,32,32", 3, 0)
    assert panel.config().network_shape == SEED_SHAPE


def test_the_shape_is_locked_while_a_run_trains(make_panel):
    panel = make_panel()
    set_shape_fields(panel, "8,16", 5, 32)
    fields = (panel.channels_edit, panel.kernel_combo, panel.hidden_spin, panel.seed_network_button)
    assert all(field.isEnabled() for field in fields)
    for state in (PanelState.RUNNING, PanelState.PAUSED, PanelState.STOPPING):
        panel.set_state(state)
        assert not any(field.isEnabled() for field in fields), state
    panel.set_state(PanelState.IDLE)
    assert all(field.isEnabled() for field in fields)
