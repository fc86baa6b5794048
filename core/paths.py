"""Where mnistconv's files live: the per-user folders, the MNIST folder, the checkpoint and state
files, the files shipped with the program.

Every rule about a path is here, once: which folder the data is looked for in, which file a
"save path" means, what a run's folder holds, where the bundled files are, and how a folder is
made (with a one-line reason when it cannot be).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Iterator

from .errors import CheckpointError, ConfigError

APP_NAME = "mnistconv"
CHECKPOINT_NAME = "mnist_conv.pt"
CHECKPOINT_SUFFIX = ".pt"
STATE_NAME = "state.pt"  # a run's resumable state, beside its best model in the run's folder
RESOURCES = "mnistconv.resources"  # the package of the files shipped with the program


def resource(name: str):
    """A file shipped in mnistconv/resources (an importlib.resources Traversable)."""
    return resources.files(RESOURCES) / name


@contextlib.contextmanager
def bundled_model_path() -> Iterator[Path]:
    """The path of the model shipped in mnistconv/resources; CheckpointError if this install lacks it."""
    reference = resource(CHECKPOINT_NAME)
    if not reference.is_file():
        raise CheckpointError(
            f"The bundled model ({reference}) is missing from this installation; "
            "train a model, or run scripts/make_bundled_model.py to create it"
        )
    with resources.as_file(reference) as path:
        yield Path(path)


def folder_of_its_own(parent: str | os.PathLike, kind: str) -> Path:
    """A folder for a run the store does not hold ("unrecorded", "fitted"), named by its kind, the time
    and this process, beside the others in `parent`."""
    return Path(parent) / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def state_file(run_folder: str | os.PathLike) -> Path:
    """The resumable state of the run whose folder this is."""
    return Path(run_folder) / STATE_NAME


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


def make_folder(folder: str | os.PathLike) -> Path:
    """Create `folder` and its parents where they are missing; an OSError says why it cannot be."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ensure_folder(folder: str | os.PathLike, what: str = "save folder") -> Path:
    """Create `folder` (and its parents) if needed; ConfigError with the reason when it cannot be."""
    folder = Path(folder).expanduser()
    try:
        make_folder(folder)
    except FileExistsError:
        raise ConfigError(f"the {what} {folder} is a file, not a folder") from None
    except OSError as exc:
        raise ConfigError(f"cannot create the {what} {folder}: {exc.strerror or exc}") from exc
    if not folder.is_dir():
        raise ConfigError(f"the {what} {folder} is not a folder")
    return folder
