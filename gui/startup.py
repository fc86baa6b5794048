"""`mnistconv-gui` and `python -m mnistconv.gui`: the command line, and a start-up that explains itself.

Before anything creates a QApplication, `main` answers `--help` and `--version` (no display needed)
and checks that Qt can open a window here: that the platform plugin Qt will use loads, and that
there is a display for it. When Qt could not, it would abort the process (status 134) with a
message naming the wrong library; instead this prints one paragraph naming the libraries the
plugin's loader actually misses, the Debian/Ubuntu and Fedora packages that provide them, or the
missing display, and exits with status 1.

The plugin is loaded with the system's own loader (ctypes), which is what Qt does with it too; on
failure `ldd` lists every missing library, not only the first. Nothing here imports QtGui or
QtWidgets before the check has passed.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Mapping, Sequence

EXIT_CANNOT_START = 1

#: The system libraries Qt's window plugins and QtGui load that a desktop may lack, by file name:
#: (Debian/Ubuntu package, Fedora package).
LIBRARY_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libwayland-client.so.0": ("libwayland-client0", "libwayland-client"),
    "libwayland-cursor.so.0": ("libwayland-cursor0", "libwayland-cursor"),
    "libwayland-egl.so.1": ("libwayland-egl1", "libwayland-egl"),
}

#: What the README's set-up line installs: everything the X11 window needs beyond a base system.
SYSTEM_PACKAGE_LIBRARIES = (
    "libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-image.so.0", "libxcb-keysyms.so.1", "libxcb-render-util.so.0",
    "libxkbcommon-x11.so.0", "libEGL.so.1", "libGL.so.1", "libfontconfig.so.1", "libdbus-1.so.3",
)


def system_packages() -> tuple[list[str], list[str]]:
    """The README's packages: (Debian/Ubuntu, Fedora), each without repeats, in a fixed order."""
    debian = list(dict.fromkeys(LIBRARY_PACKAGES[name][0] for name in SYSTEM_PACKAGE_LIBRARIES))
    fedora = list(dict.fromkeys(LIBRARY_PACKAGES[name][1] for name in SYSTEM_PACKAGE_LIBRARIES))
    return debian, fedora


# -- the command line -----------------------------------------------------------------------------
def app_version() -> str:
    try:
        return version("mnistconv")
    except PackageNotFoundError:
        return "unknown"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnistconv-gui",
        description="Train the classic small MNIST ConvNet live, and draw digits for it to read.",
        epilog="Qt's own options (for example -platform offscreen, -style fusion) are passed on to Qt. "
               "Training without a window: mnistconv-train --help.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    return parser


# -- the platform check ---------------------------------------------------------------------------
@dataclass
class PluginCheck:
    """What was found for one platform plugin Qt would try."""

    name: str
    path: Path | None = None  # None: no such plugin file was found
    what: str = ""  # how to name it in a sentence; default: Qt's "NAME" platform plugin
    load_error: str = ""  # the loader's message, "" when it loaded
    missing: list[str] = field(default_factory=list)  # library file names the loader could not find
    no_display: str = ""  # why there is no display for it, "" when there is one (or it needs none)

    @property
    def label(self) -> str:
        return self.what or f'Qt\'s "{self.name}" platform plugin'

    @property
    def usable(self) -> bool:
        return self.path is not None and not self.load_error and not self.no_display


def platform_candidates(environ: Mapping[str, str], argv: Sequence[str], system: str = sys.platform) -> list[str]:
    """The platform plugins Qt will try, in order: `-platform NAME`, else $QT_QPA_PLATFORM (a
    `;`-separated list, each name perhaps with `:options`), else Qt's choice for this system."""
    requested = ""
    for i, arg in enumerate(argv):
        if arg in ("-platform", "--platform") and i + 1 < len(argv):
            requested = argv[i + 1]
        elif arg.startswith("-platform="):
            requested = arg.split("=", 1)[1]
    requested = requested or environ.get("QT_QPA_PLATFORM", "")
    if requested:
        return [name.split(":", 1)[0].strip() for name in requested.split(";") if name.strip()]
    if not system.startswith("linux") and "bsd" not in system:
        return []  # Windows and macOS have one platform plugin, always there
    wayland_session = bool(environ.get("WAYLAND_DISPLAY")) or environ.get("XDG_SESSION_TYPE") == "wayland"
    return ["wayland", "xcb"] if wayland_session else ["xcb"]


def plugin_folders(environ: Mapping[str, str]) -> list[Path]:
    """Where Qt looks for platform plugins: $QT_QPA_PLATFORM_PLUGIN_PATH, $QT_PLUGIN_PATH's
    platforms/, then Qt's own plugin folder (asked of QtCore, which loads no window system)."""
    folders = [Path(p) for p in environ.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep) if p]
    folders += [Path(p) / "platforms" for p in environ.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    try:
        from PySide6.QtCore import QLibraryInfo

        folders.append(Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms")
    except ImportError:
        pass
    return folders


def plugin_file(name: str, folders: Sequence[Path]) -> Path | None:
    # libqwayland.so serves "wayland", "wayland-egl" and "wayland-brcm".
    stem = "wayland" if name.startswith("wayland") else name
    for folder in folders:
        candidate = folder / f"libq{stem}.so"
        if candidate.is_file():
            return candidate
    return None


def missing_libraries(library: Path, load_error: str = "") -> list[str]:
    """The libraries the loader cannot find for `library`: all of them from `ldd`, else the one its
    error message names."""
    try:
        listing = subprocess.run(["ldd", str(library)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    missing = [line.split("=>")[0].strip() for line in listing.splitlines() if "=> not found" in line]
    if not missing and (named := re.match(r"\s*(\S+\.so[\d.]*): cannot open shared object file", load_error)):
        missing = [named.group(1)]
    return list(dict.fromkeys(missing))


def try_loading(library: Path) -> str:
    """Load `library` with the system's loader as Qt will; its error message, or "" when it loads."""
    try:
        ctypes.CDLL(str(library))
    except OSError as exc:
        return str(exc)
    return ""


def x11_display_problem(environ: Mapping[str, str]) -> str:
    """Why there is no X display to open ("" when one answers)."""
    display = environ.get("DISPLAY", "")
    if not display:
        return "DISPLAY is not set"
    name = ctypes.util.find_library("xcb")
    if name is None:
        return ""  # cannot ask without libxcb; the plugin check has said what is missing
    try:
        xcb = ctypes.CDLL(name)
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        connection = xcb.xcb_connect(display.encode(), None)
        failed = xcb.xcb_connection_has_error(connection)
        xcb.xcb_disconnect(connection)
    except (OSError, AttributeError):
        return ""
    return f"the X display {display} does not answer" if failed else ""


def display_problem(name: str, environ: Mapping[str, str]) -> str:
    if name == "xcb":
        return x11_display_problem(environ)
    if name.startswith("wayland") and not environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") != "wayland":
        return "WAYLAND_DISPLAY is not set"
    return ""  # offscreen, minimal, vnc, …: no display needed


def check_platform(environ: Mapping[str, str], argv: Sequence[str], folders: Sequence[Path] | None = None,
                   system: str = sys.platform) -> list[PluginCheck]:
    """Check each plugin Qt would try; an empty list or any usable one means Qt can start."""
    folders = plugin_folders(environ) if folders is None else folders
    checks = []
    for name in platform_candidates(environ, argv, system):
        check = PluginCheck(name, plugin_file(name, folders))
        if check.path is not None:
            check.load_error = try_loading(check.path)
            if check.load_error:
                check.missing = missing_libraries(check.path, check.load_error)
        check.no_display = display_problem(name, environ)
        checks.append(check)
        if check.usable:
            break
    return checks


def _words(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def available_plugins(folders: Sequence[Path]) -> list[str]:
    """The platform plugins in these folders, by the name QT_QPA_PLATFORM takes."""
    names = {path.name[len("libq"):-len(".so")] for folder in folders if folder.is_dir() for path in folder.glob("libq*.so")}
    return sorted(names)


def explain(checks: Sequence[PluginCheck], available: Sequence[str] = ()) -> str | None:
    """One paragraph on why no window can open, or None when Qt can start. A plugin that was asked
    for and is not there is named with those that are (`available`: when empty, Qt reports it)."""
    if not checks or any(c.usable for c in checks):
        return None
    unknown_plugins = [c for c in checks if c.path is None]
    if unknown_plugins:
        if not available:
            return None  # Qt's plugin folder was not found here: Qt will say what it finds
        asked = _words([f'"{c.name}"' for c in unknown_plugins])
        return (f"mnistconv-gui cannot open its window: Qt has no platform plugin named {asked} (from -platform or "
                f"QT_QPA_PLATFORM); it has {_words(sorted(available))}.")
    sentences = []
    missing = list(dict.fromkeys(name for c in checks for name in c.missing))
    qt_own = [name for name in missing if name.startswith("libQt6")]
    system = [name for name in missing if name not in qt_own]
    if len(checks) > 1 and not any(c.what for c in checks):
        labels = "Qt's " + _words([f'"{c.name}"' for c in checks]) + " platform plugins"
    else:
        labels = _words([c.label for c in checks])
    if system:
        known = [name for name in system if name in LIBRARY_PACKAGES]
        sentences.append(f"{labels} cannot load: the system {'library' if len(system) == 1 else 'libraries'} "
                         f"{_words(system)} {'is' if len(system) == 1 else 'are'} missing.")
        if known:
            debian = list(dict.fromkeys(LIBRARY_PACKAGES[name][0] for name in known))
            fedora = list(dict.fromkeys(LIBRARY_PACKAGES[name][1] for name in known))
            sentences.append(f"On Debian or Ubuntu: sudo apt install {' '.join(debian)}; "
                             f"on Fedora: sudo dnf install {' '.join(fedora)}.")
        unknown = [name for name in system if name not in LIBRARY_PACKAGES]
        if unknown:
            sentences.append(f"The package that provides {_words(unknown)} is named by `apt-file search` (Debian, Ubuntu) "
                             "or `dnf provides` (Fedora).")
    if qt_own:
        sentences.append(f"Qt's own {_words(qt_own)} cannot be found next to its plugins, so the PySide6 installation is "
                         "incomplete: pip install --force-reinstall PySide6-Essentials.")
    if not missing and any(c.load_error for c in checks):
        errors = "; ".join(f"{c.path}: {c.load_error}" for c in checks if c.load_error)
        sentences.append(f"{labels} cannot load ({errors}).")
    displays = [c for c in checks if c.no_display]
    if displays:
        reasons = _words(list(dict.fromkeys(c.no_display for c in displays)))
        also = "Nor is there a" if sentences else "There is no"
        sentences.append(f"{also} display to show the window on ({reasons}): start it from a desktop session "
                         "(or ssh -X), or set QT_QPA_PLATFORM=offscreen to run it without one.")
    sentences.append("Training needs no window: mnistconv-train --help.")
    return "mnistconv-gui cannot open its window. " + " ".join(sentences)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    _, qt_arguments = parser().parse_known_args(argv[1:])  # --help and --version exit here
    folders = plugin_folders(os.environ)
    problem = explain(check_platform(os.environ, qt_arguments, folders), available_plugins(folders))
    if problem is not None:
        print(problem, file=sys.stderr)
        return EXIT_CANNOT_START
    try:
        from .app import main as run_app
    except ImportError as exc:  # QtGui's own libraries (libEGL, libfontconfig…) are missing
        import PySide6

        qtgui = next(Path(PySide6.__file__).parent.glob("QtGui*.so"), None)
        missing = missing_libraries(qtgui, str(exc)) if qtgui is not None else []
        check = PluginCheck("QtGui", qtgui, what="PySide6's QtGui", load_error=str(exc), missing=missing)
        print(explain([check]) or f"mnistconv-gui cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    return run_app([argv[0], *qt_arguments])


if __name__ == "__main__":
    sys.exit(main())
