"""Your own handwriting: digits you drew and labelled, kept in a folder you can share.

The set is a folder in torchvision's ImageFolder layout: subfolders `0` … `9` of PNG files, so any
folder of digit pictures in that layout can be imported, and the set can be copied elsewhere as it
is. Each drawing made on the sketchpad is kept as the raw canvas picture (`NAME.png`, white ink on
black, as drawn) beside its strokes (`NAME.json`: the points, in the canvas's 280×280 square).

Reading is forgiving: pictures of any size, mode or bit depth go through the same `picture_ink` and
`to_mnist` as any picture; a file that is not a picture, is damaged or is absurdly large is skipped
with a note, never an exception. Writes are atomic (core.atomic).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import MnistConvError, shown
from .paths import make_folder, user_data_dir
from .picture import picture_ink
from .preprocess import to_mnist

DIGITS = tuple(range(10))
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
MAX_PIXELS = 4096 * 4096  # a picture of one digit needs far fewer; beyond this it is refused, not decoded
MAX_FILE_BYTES = 32 << 20


class PersonalError(MnistConvError):
    """A personal digit cannot be written or read; the message says which and why."""


def default_personal_dir() -> Path:
    """`$MNISTCONV_PERSONAL`, else `personal/` in the per-user data folder."""
    if os.environ.get("MNISTCONV_PERSONAL"):
        return Path(os.environ["MNISTCONV_PERSONAL"]).expanduser()
    return user_data_dir() / "personal"


@dataclass(frozen=True)
class PersonalDigit:
    path: Path  # the picture
    label: int

    @property
    def strokes_path(self) -> Path:
        return self.path.with_suffix(".json")


@dataclass
class Listing:
    digits: list[PersonalDigit] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "PATH: why", for files that are not digits

    def counts(self) -> dict[int, int]:
        counts = dict.fromkeys(DIGITS, 0)
        for digit in self.digits:
            counts[digit.label] += 1
        return counts


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/stem-N.suffix` with the first N for which neither the picture nor
    its strokes file exists."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(10**6):
        path = folder / (name if n == 0 else f"{stem}-{n}{suffix}")
        if not os.path.lexists(path) and not os.path.lexists(path.with_suffix(".json")):
            return path
    raise OSError(f"no free name for {name} in {folder}")


def _move_without_replacing(source: Path, target: Path) -> None:
    """Rename `source` to `target`, failing (FileExistsError) rather than replacing a file there."""
    try:
        os.link(source, target)  # fails if target exists: no file is ever replaced
    except OSError as exc:
        if isinstance(exc, FileExistsError):
            raise
        if os.path.lexists(target):  # a file system without hard links
            raise FileExistsError(f"{target} exists") from exc
        os.rename(source, target)
        return
    source.unlink()


def read_picture(path: Path) -> np.ndarray:
    """A picture file as a 2-D float32 grey array in [0, 1] (0 black); PersonalError when it is not one.

    Any mode Pillow reads: 1-bit, 8- or 16-bit grey, palette, RGB, with or without transparency
    (transparent parts count as white paper)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise PersonalError(f"{path}: not a regular file")
        if size > MAX_FILE_BYTES:
            raise PersonalError(f"{path}: {size / 2**20:.0f} MB is far more than a picture of a digit")
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise PersonalError(f"{path}: {width}×{height} pixels is not a picture of a digit")
            image.load()
            return _grey(image, path)
    except PersonalError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PersonalError(f"{path}: not a picture this program reads ({exc})") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's words for damaged files vary
        raise PersonalError(f"{path}: a damaged or unreadable picture ({type(exc).__name__}: {exc})") from exc


def _grey(image, path: Path) -> np.ndarray:
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        finite = values[np.isfinite(values)]  # a float picture may hold inf or NaN: they take the extremes
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
        return ((values - low) / (high - low) if high > low else np.zeros_like(values)).astype(np.float32)
    if image.mode == "LAB":
        image = image.getchannel("L")  # its lightness is the grey a person sees
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    try:
        grey = image.convert("L")
    except ValueError as exc:
        raise PersonalError(f"{path}: a picture in colour mode {image.mode}, which this program cannot turn into "
                            "grey; save it as PNG") from exc
    return np.asarray(grey, dtype=np.float32) / np.float32(255)


def digit_image(path: Path) -> np.ndarray:
    """The picture as the network's (28, 28) input: ink found either way round, then to_mnist."""
    return to_mnist(picture_ink(read_picture(path)))


class PersonalDigits:
    """The personal set in `root` (made when the first digit is added)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_personal_dir()

    # -- writing ----------------------------------------------------------------------------------
    def add(self, canvas: np.ndarray, label: int, strokes: list | None = None) -> PersonalDigit:
        """Keep a drawing (the canvas picture, ink bright on dark) as an example of `label`."""
        label = _label(label)
        picture = np.asarray(canvas)
        if picture.ndim != 2 or picture.size == 0:
            raise PersonalError(f"a drawing is a 2-D picture, not an array of shape {picture.shape}")
        if not np.isfinite(picture).all() or float(np.max(picture)) <= 0:
            raise PersonalError("there is nothing drawn to keep")
        pixels = np.clip(picture * (255 if picture.dtype.kind == "f" else 1), 0, 255).astype(np.uint8)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        folder = self._folder(label)
        digit = PersonalDigit(folder / f"{name}.png", label)
        try:
            if strokes is not None:
                with atomic_write(digit.strokes_path, durable=False) as sink:
                    sink.write(json.dumps({"label": label, "canvas": list(pixels.shape[::-1]), "strokes": strokes}).encode())
            with atomic_write(digit.path, durable=False) as sink:
                _write_png(sink, pixels)
        except OSError as exc:
            raise PersonalError(f"Could not keep the drawing in {folder}: {exc.strerror or exc}") from exc
        return digit

    def delete(self, digit: PersonalDigit) -> None:
        for path in (digit.path, digit.strokes_path):
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise PersonalError(f"Could not delete {path}: {exc.strerror or exc}") from exc

    def relabel(self, digit: PersonalDigit, label: int) -> PersonalDigit:
        """Move a digit (and its strokes) to another label's folder, under a name no file there has:
        sets in the ImageFolder layout often name files 0001.png in every class."""
        label = _label(label)
        if label == digit.label:
            return digit
        folder = self._folder(label)
        try:
            moved = PersonalDigit(_free_name(folder, digit.path.name), label)
            _move_without_replacing(digit.path, moved.path)
            if digit.strokes_path.is_file():
                _move_without_replacing(digit.strokes_path, moved.strokes_path)
        except OSError as exc:
            raise PersonalError(f"Could not move {digit.path} to {folder}: {exc.strerror or exc}") from exc
        return moved

    def import_folder(self, source: str | os.PathLike) -> tuple[int, list[str]]:
        """Copy the readable digit pictures of an ImageFolder-layout folder (`0` … `9`) into the set;
        returns how many were copied, and a note for each file skipped."""
        source = Path(source)
        listing = PersonalDigits(source).list()
        if not listing.digits and not listing.skipped:
            raise PersonalError(f"{source} has no digit folders (0 … 9) with pictures in them")
        copied, skipped = 0, list(listing.skipped)
        for digit in listing.digits:
            try:
                read_picture(digit.path)  # never copy in what could not be read back
                target = self._folder(digit.label) / f"{time.strftime('%Y%m%d')}-{secrets.token_hex(3)}-{digit.path.name}"
                with open(digit.path, "rb") as picture, atomic_write(target, durable=False) as sink:
                    shutil.copyfileobj(picture, sink)
                copied += 1
            except (PersonalError, OSError) as exc:
                skipped.append(f"{digit.path}: {exc}")
        return copied, skipped

    def export_to(self, target: str | os.PathLike) -> int:
        """Copy the set (pictures and strokes) into `target`, in the same layout; returns the count."""
        target = Path(target)
        count = 0
        for digit in self.list().digits:
            folder = target / str(digit.label)
            make_folder(folder)
            picture = _free_name(folder, digit.path.name)  # never over a file already there
            for path, copy in ((digit.path, picture), (digit.strokes_path, picture.with_suffix(".json"))):
                if path.is_file():
                    with open(path, "rb") as source, atomic_write(copy, durable=False) as sink:
                        shutil.copyfileobj(source, sink)
            count += 1
        return count

    def _folder(self, label: int) -> Path:
        folder = self.root / str(label)
        try:
            make_folder(folder)
        except OSError as exc:
            raise PersonalError(f"Could not make the folder {folder}: {exc.strerror or exc}") from exc
        return folder

    # -- reading ----------------------------------------------------------------------------------
    def list(self) -> Listing:
        """Every picture in the digit folders (by name, without opening them: a large set lists at
        once), and a note for each other file there."""
        listing = Listing()
        for label in DIGITS:
            folder = self.root / str(label)
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in PICTURE_SUFFIXES and not path.name.startswith("."):
                    listing.digits.append(PersonalDigit(path, label))
                elif path.suffix.lower() != ".json" and not path.name.startswith("."):
                    listing.skipped.append(f"{path}: not a picture")
        return listing

    def load(self, digits: list[PersonalDigit] | None = None) -> tuple[np.ndarray, np.ndarray, list[PersonalDigit], list[str]]:
        """The digits as network inputs (N, 28, 28) float32 and their labels; unreadable ones are left
        out, with a note each."""
        listing = self.list() if digits is None else Listing(list(digits))
        images, labels, kept, skipped = [], [], [], list(listing.skipped)
        for digit in listing.digits:
            try:
                image = digit_image(digit.path)
            except PersonalError as exc:
                skipped.append(str(exc))
                continue
            if not image.any():
                skipped.append(f"{digit.path}: no ink in it")
                continue
            images.append(image)
            labels.append(digit.label)
            kept.append(digit)
        stacked = np.stack(images) if images else np.zeros((0, 28, 28), dtype=np.float32)
        return stacked, np.asarray(labels, dtype=np.int64), kept, skipped


def _label(label: int) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
        raise PersonalError(f"a digit's label is 0–9, not {shown(label)}")
    return int(label)


def _write_png(sink, pixels: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(pixels, mode="L").save(sink, format="PNG")
