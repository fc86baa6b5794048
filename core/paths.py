"""Where mnistconv's files live: the per-user folders, the MNIST folder and the checkpoint file.

Every rule about a path is here, once: which folder the data is looked for in, which file a
"save path" means, and how a folder to save into is made (with a one-line reason when it cannot be).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import ConfigError

APP_NAME = "mnistconv"
CHECKPOINT_NAME = "mnist_conv.pt"
CHECKPOINT_SUFFIX = ".pt"


def user_cache_dir() -> Path:
    """The per-user cache folder (for the MNIST files), following each platform's convention."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / APP_NAME / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / APP_NAME
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP_NAME


def user_data_dir() -> Path:
    """The per-user data folder (saved models): the folder Qt's AppDataLocation names for this app,
    worked out without Qt so the command line and the window agree."""
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming") / APP_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_NAME
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP_NAME


def default_models_dir() -> Path:
    """Where the window saves models unless told otherwise."""
    return user_data_dir() / "models"


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """An explicit folder, else $MNISTCONV_DATA, else the per-user cache folder."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("MNISTCONV_DATA"):
        return Path(os.environ["MNISTCONV_DATA"]).expanduser()
    return user_cache_dir()


def checkpoint_file(savepath: str | os.PathLike) -> Path:
    """The checkpoint a save path means: a path ending in `.pt` that is not a folder is the file
    itself; anything else is a folder, and the file is `mnist_conv.pt` in it."""
    path = Path(savepath).expanduser()
    if path.suffix == CHECKPOINT_SUFFIX and not path.is_dir():
        return path
    return path / CHECKPOINT_NAME


def ensure_folder(folder: str | os.PathLike, what: str = "save folder") -> Path:
    """Create `folder` (and its parents) if needed; ConfigError with the reason when it cannot be."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"the {what} {folder} is a file, not a folder") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the {what} {folder}: {exc.strerror or exc}") from exc
    if not folder.is_dir():
        raise ConfigError(f"the {what} {folder} is not a folder")
    return folder
