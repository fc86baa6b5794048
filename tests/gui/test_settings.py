"""A damaged settings file: every unusable value falls back to its default with one log line naming
its key, and the window always starts."""

import math

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from PySide6.QtCore import QSettings

from mnistconv.core.sketchpad_device import SketchpadDevice
from mnistconv.gui.main_window import MainWindow

KEYS = ["training/preset", "training/lr", "training/epochs", "training/batch_size", "training/noise_std", "training/seed",
        "training/device", "training/savepath", "training/data_dir", "window/geometry", "window/splitter",
        "window/network_docked", "window/state", "sketchpad/device"]


def window_from_ini(qtbot, tmp_path, ini_text: str) -> MainWindow:
    path = tmp_path / "settings.ini"
    path.write_text(ini_text, encoding="utf-8")
    window = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    return window


def ignored(window, key):
    return [line for line in window.log.lines() if f"Settings: ignored {key} " in line]


@pytest.mark.parametrize("ini, key", [
    ("[window]\ngeometry=hello\n", "window/geometry"),
    ("[window]\ngeometry=1, 2, 3\n", "window/geometry"),
    ("[window]\ngeometry=42\n", "window/geometry"),
    ("[window]\nsplitter=@Invalid()\n", "window/splitter"),
])
def test_a_bad_window_geometry_is_ignored_and_the_window_starts(qtbot, tmp_path, ini, key):
    window = window_from_ini(qtbot, tmp_path, ini)
    window.show()
    assert window.width() > 0
    if "@Invalid" not in ini:  # Qt reads that one as absent: nothing to ignore
        assert len(ignored(window, key)) == 1


@pytest.mark.parametrize("key, value, field, default", [
    ("epochs", "99999999999999", "epochs_spin", 20),
    ("seed", "12345678901234567890", "seed_spin", -1),
    ("batch_size", "0", "batch_spin", 128),
    ("epochs", "1, 2", "epochs_spin", 20),  # a list, to QSettings
    ("noise_std", "nan", "noise_spin", 0.1),
    ("noise_std", "inf", "noise_spin", 0.1),
    ("noise_std", "1e400", "noise_spin", 0.1),
])
def test_a_number_out_of_range_or_not_finite_falls_back_to_its_default(qtbot, tmp_path, key, value, field, default):
    window = window_from_ini(qtbot, tmp_path, f"[training]\n{key}={value}\n")
    assert getattr(window.panel, field).value() == pytest.approx(default)
    (line,) = ignored(window, f"training/{key}")
    assert "using the default" in line


def test_a_learning_rate_that_is_not_text_is_not_shown_as_its_repr(qtbot, tmp_path):
    window = window_from_ini(qtbot, tmp_path, "[training]\nlr=0.1, 0.2\n")
    assert window.panel.lr_edit.text() == "0.003"
    assert len(ignored(window, "training/lr")) == 1


@pytest.mark.parametrize("value", ["turbo", "1", "gpu, cpu", "@Size(-1 -1)"])
def test_an_unusable_sketchpad_device_is_auto_with_one_line(qtbot, tmp_path, value):
    window = window_from_ini(qtbot, tmp_path, f"[sketchpad]\ndevice={value}\n")
    assert window.sketchpad_devices.setting is SketchpadDevice.AUTO
    assert window.device_menu.device_actions[SketchpadDevice.AUTO].isChecked()
    (line,) = ignored(window, "sketchpad/device")
    assert "not one of auto, gpu, cpu" in line and "using the default" in line


@pytest.mark.parametrize("value, device", [("cpu", SketchpadDevice.CPU), (" GPU ", SketchpadDevice.GPU),
                                           ("Auto", SketchpadDevice.AUTO)])
def test_a_stored_sketchpad_device_is_read_back(qtbot, tmp_path, value, device):
    window = window_from_ini(qtbot, tmp_path, f"[sketchpad]\ndevice={value}\n")
    assert window.sketchpad_devices.setting is device
    assert not [line for line in window.log.lines() if "Settings:" in line]


def test_good_values_are_read_and_nothing_is_reported(qtbot, tmp_path):
    window = window_from_ini(qtbot, tmp_path, "[training]\npreset=fast\nlr=0.02\nepochs=7\nbatch_size=64\nnoise_std=0.05\n"
                                              "seed=42\ndevice=cpu\nsavepath=/tmp/models\ndata_dir=/tmp/data\n")
    panel = window.panel
    assert (panel.preset_name(), panel.lr_edit.text()) == ("fast", "0.02")
    assert (panel.epochs_spin.value(), panel.batch_spin.value()) == (7, 64)
    assert (panel.noise_spin.value(), panel.seed_spin.value(), panel.device_combo.currentData()) == (0.05, 42, "cpu")
    assert (panel.savepath_edit.text(), panel.data_dir_edit.text()) == ("/tmp/models", "/tmp/data")
    assert not [line for line in window.log.lines() if "Settings:" in line]


def test_the_window_writes_settings_it_reads_back_without_complaint(qtbot, tmp_path):
    path = tmp_path / "settings.ini"
    first = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.panel.epochs_spin.setValue(9)
    first.close()
    second = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert second.panel.epochs_spin.value() == 9
    assert not [line for line in second.log.lines() if "Settings:" in line]


# What a settings file can hold where a value belongs: any text (Qt reads "a, b" as a list, "@…" as a
# typed value, "@ByteArray(…)" as bytes), numbers beyond every range, non-finite numbers.
ANY_VALUE = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=40),  # UTF-8 text
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.lists(st.text(alphabet="0123456789.e-abc", max_size=5), min_size=2, max_size=3).map(", ".join),
    st.binary(max_size=30).map(lambda raw: "@ByteArray(" + raw.decode("latin-1").replace("\n", " ") + ")"),
    st.sampled_from(["@Variant(\\0\\0\\0\\x7f)", "@Invalid()", "true", "@Rect(1 2 3 4)", "@Size(-1 -1)"]),
)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.dictionaries(st.sampled_from(KEYS), ANY_VALUE, max_size=len(KEYS)))
def test_any_value_for_any_key_and_the_window_builds(qtbot, tmp_path, values):
    groups: dict[str, list[str]] = {}
    for key, value in values.items():
        group, name = key.split("/")
        groups.setdefault(group, []).append(f"{name}={value}")
    ini = "".join(f"[{group}]\n" + "\n".join(lines) + "\n" for group, lines in groups.items())
    window = window_from_ini(qtbot, tmp_path, ini)
    panel = window.panel
    for spin in (panel.epochs_spin, panel.batch_spin, panel.seed_spin, panel.noise_spin):
        assert spin.minimum() <= spin.value() <= spin.maximum() and math.isfinite(spin.value())
    assert float(panel.lr_edit.text()) > 0
    assert window.sketchpad_devices.setting in SketchpadDevice
    window.show()
    window.close()
