"""Start-up: --help and --version without a display, a window that cannot open explained, and the
window shown without importing torchvision (about 1.5 s); the app imports it afterwards.

The torchvision checks run in a fresh interpreter: in the test process, any earlier test that trained
or fetched has imported torchvision already, so its presence there would prove nothing.
"""

import os
import subprocess
import sys
from pathlib import Path

from mnistconv.gui import startup
from mnistconv.gui.startup import EXIT_CANNOT_START, app_version


def run_fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_the_window_module_does_not_import_torchvision():
    code = "import sys\nimport mnistconv.gui.main_window\nsys.exit(1 if 'torchvision' in sys.modules else 0)\n"
    result = run_fresh(code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_reader_import_runs_in_the_background():
    code = (
        "import sys\n"
        "from mnistconv.core.data import import_reader_in_background\n"
        "assert 'torchvision.datasets.mnist' not in sys.modules, 'imported before it was asked for'\n"
        "thread = import_reader_in_background()\n"
        "assert thread.daemon, 'the import thread must not keep the app alive'\n"
        "thread.join(timeout=60)\n"
        "assert not thread.is_alive(), 'the import did not finish'\n"
        "assert 'torchvision.datasets.mnist' in sys.modules, 'the thread did not import the reader'\n"
        "print('ok')\n"
    )
    result = run_fresh(code)
    assert result.returncode == 0 and result.stdout.split() == ["ok"], result.stdout + result.stderr


# -- the start-up check: --help, --version and a window that cannot open ----------------------------
def run_gui(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`python -m mnistconv.gui ARGS` with no display at all, unless `env` gives one."""
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    environ.pop("XDG_SESSION_TYPE", None)
    return subprocess.run([sys.executable, "-m", "mnistconv.gui", *args], capture_output=True, text=True, timeout=60,
                          env={**environ, **env})


def test_help_and_version_answer_without_a_display():
    shown = run_gui("--help")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("usage: mnistconv-gui") and "--version" in shown.stdout
    version = run_gui("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"mnistconv-gui {app_version()}"


def test_without_a_display_it_says_why_in_one_paragraph_and_exits_1():
    result = run_gui(QT_QPA_PLATFORM="xcb")
    assert result.returncode == EXIT_CANNOT_START, result.stderr  # not Qt's abort (134)
    message = result.stderr.strip()
    assert message.startswith("mnistconv-gui cannot open its window.") and "\n" not in message
    assert "DISPLAY is not set" in message and "QT_QPA_PLATFORM=offscreen" in message


def test_an_unknown_platform_is_named_with_those_there_are():
    result = run_gui(QT_QPA_PLATFORM="no-such-platform")
    assert result.returncode == EXIT_CANNOT_START
    assert 'no platform plugin named "no-such-platform"' in result.stderr and "offscreen" in result.stderr


def fake_plugin(tmp_path: Path, needs: bytes) -> Path:
    """A copy of Qt's real xcb plugin that needs `needs` in place of libxcb-cursor.so.0 (the same
    length), laid out like PySide6's own so that Qt's libraries are found beside it."""
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    real = (qt / "plugins" / "platforms" / "libqxcb.so").read_bytes()
    assert len(needs) == len(b"libxcb-cursor.so.0") and real.count(b"libxcb-cursor.so.0\0") == 1
    platforms = tmp_path / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    (tmp_path / "Qt" / "lib").symlink_to(qt / "lib")  # the plugin's RUNPATH is $ORIGIN/../../lib
    (platforms / "libqxcb.so").write_bytes(real.replace(b"libxcb-cursor.so.0\0", needs + b"\0"))
    return platforms


def test_the_plugins_real_link_errors_name_the_missing_library_and_its_packages(tmp_path, monkeypatch):
    platforms = fake_plugin(tmp_path, b"libxcb-nowhere.so0")
    monkeypatch.setitem(startup.LIBRARY_PACKAGES, "libxcb-nowhere.so0", ("libxcb-nowhere0", "xcb-util-nowhere"))
    checks = startup.check_platform({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, [], [platforms])
    assert [c.name for c in checks] == ["xcb"] and checks[0].path == platforms / "libqxcb.so"
    assert "libxcb-nowhere.so0" in checks[0].load_error  # the loader's own words
    assert "libxcb-nowhere.so0" in checks[0].missing
    assert not any(name.startswith("libQt6") for name in checks[0].missing)  # Qt's own were found beside it
    message = startup.explain(checks)
    assert 'Qt\'s "xcb" platform plugin cannot load' in message and "libxcb-nowhere.so0" in message
    assert "sudo apt install libxcb-nowhere0" in message and "sudo dnf install xcb-util-nowhere" in message


def test_a_plugin_without_qts_libraries_beside_it_asks_for_a_pyside6_reinstall(tmp_path):
    import PySide6

    platforms = tmp_path / "platforms"
    platforms.mkdir()
    (platforms / "libqxcb.so").write_bytes((Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so").read_bytes())
    message = startup.explain(startup.check_platform({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, [], [platforms]))
    assert "libQt6XcbQpa.so.6" in message and "pip install --force-reinstall PySide6-Essentials" in message


def test_the_packages_of_each_known_library_are_named_for_both_systems():
    check = startup.PluginCheck("xcb", Path("libqxcb.so"), load_error="libxcb-icccm.so.4: cannot open shared object file",
                                missing=["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libfoo.so.3"])
    message = startup.explain([check])
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1;" in message
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms." in message
    assert "libfoo.so.3 is named by `apt-file search`" in message
    assert "display" not in message  # there is one


def test_a_usable_plugin_lets_qt_start(tmp_path):
    checks = startup.check_platform({"QT_QPA_PLATFORM": "offscreen"}, [])
    assert checks[0].usable and startup.explain(checks) is None
    assert startup.platform_candidates({}, ["-platform", "minimal"]) == ["minimal"]
    assert startup.platform_candidates({"QT_QPA_PLATFORM": "wayland:opt;xcb"}, []) == ["wayland", "xcb"]
    assert startup.platform_candidates({"XDG_SESSION_TYPE": "wayland"}, [], "linux") == ["wayland", "xcb"]
    assert startup.platform_candidates({}, [], "win32") == []


def test_the_readme_lists_the_system_packages_the_check_knows():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    debian, fedora = startup.system_packages()
    assert "libxcb-icccm4" in debian and "libxcb-keysyms1" in debian and "xcb-util-wm" in fedora
    assert f"sudo apt install {' '.join(debian)}" in readme
    assert f"sudo dnf install {' '.join(fedora)}" in readme


def test_the_readme_puts_the_commands_on_path_before_using_their_bare_names():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert ". .venv/bin/activate" in first_block
    command_line = readme.split("## Command line", 1)[1]
    assert command_line.index(".venv/bin/activate") < command_line.index("mnistconv-train [")
