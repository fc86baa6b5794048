"""Where the file dialogs open: in the folder the last file was opened from or saved to, for every
kind of file alike (as most desktop programs do), else the home folder; never the folder the program
happened to be started in. The window keeps the folder in its settings between sessions."""

from __future__ import annotations

from pathlib import Path

SETTINGS_KEY = "files/last_folder"
_last: list[Path] = []  # the folder used last, in this session (a list: set from anywhere, no global statement)


def last_folder() -> Path:
    folder = _last[0] if _last else Path.home()
    return folder if folder.is_dir() else Path.home()


def start_in(name: str = "") -> str:
    """The path a dialog starts at: the last folder, with `name` proposed when saving."""
    return str(last_folder() / name) if name else str(last_folder())


def remember(path: str | Path) -> None:
    """A file (or folder) the person chose: its folder is where the next dialog opens."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    _last[:] = [folder]


def restore(folder: str | None) -> None:
    """Start from the folder a window kept in its settings (None: none kept, the home folder)."""
    _last[:] = [Path(folder)] if folder else []
