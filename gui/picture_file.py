"""Image files for the sketchpad: read with Qt's image readers, made into ink the canvas shows.

`read_grey` reads any format Qt reads (PNG, JPEG, BMP, GIF, …), transparent parts as white paper.
`canvas_picture` turns the picture into ink (core.picture: either polarity, background lifted),
crops it to the digit and fits it into the canvas's square, as large as a drawn digit usually is,
so the reading goes through the same `canvas.ink()` → `to_mnist` path as a drawing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from mnistconv.core.picture import ink_box, picture_ink

from .drawing_canvas import LOGICAL_SIDE

MAX_FILE_BYTES = 64 * 2**20  # no picture of a digit is larger
MAX_SIDE = 2000  # larger pictures are scaled down first: a digit needs far fewer pixels
FILL = 0.8  # the digit's longer side in the canvas, as a share of the canvas


class PictureError(Exception):
    """The file could not be read as a picture, or shows nothing to read; the message says which."""


def image_suffixes() -> list[str]:
    """The file name endings Qt reads here, e.g. ['bmp', 'gif', 'jpeg', 'jpg', 'png', …]."""
    return sorted({bytes(f).decode() for f in QImageReader.supportedImageFormats()})


def is_image_file(name: str) -> bool:
    return "." in name and name.rsplit(".", 1)[1].lower() in image_suffixes()


def read_grey(path: str) -> np.ndarray:
    """The picture at `path` as float32 grey levels (0 black .. 1 white), transparency as white.
    Only a regular file of at most MAX_FILE_BYTES is read, whole, before Qt decodes it: a FIFO or a
    device under a picture's name would otherwise block the window for ever."""
    file = Path(path)
    try:
        if not file.is_file():
            raise PictureError(f"{path} is not a regular file" + (" (it does not exist)" if not file.exists() else ""))
        if file.stat().st_size > MAX_FILE_BYTES:
            raise PictureError(f"{path} is {file.stat().st_size / 2**20:.0f} MB, far more than a picture of a digit")
        with file.open("rb") as stream:
            content = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise PictureError(f"{path} could not be read: {exc.strerror or exc}") from exc
    buffer = QBuffer()
    buffer.setData(QByteArray(content))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, QByteArray(file.suffix.lstrip(".").lower().encode()))
    reader.setAutoTransform(True)  # a phone photo's orientation tag
    image = reader.read()
    if image.isNull():
        raise PictureError(f"{path} could not be read as an image: {reader.errorString()}")
    if max(image.width(), image.height()) > MAX_SIDE:
        image = image.scaled(MAX_SIDE, MAX_SIDE, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    paper = QImage(image.size(), QImage.Format.Format_RGB32)
    paper.fill(QColor(Qt.GlobalColor.white))
    painter = QPainter(paper)
    painter.drawImage(0, 0, image)
    painter.end()
    grey = paper.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(grey.constBits(), dtype=np.uint8, count=grey.sizeInBytes())
    pixels = pixels.reshape(grey.height(), grey.bytesPerLine())[:, : grey.width()]
    return pixels.astype(np.float32) * np.float32(1 / 255)


def canvas_picture(grey: np.ndarray, side: int = LOGICAL_SIDE) -> np.ndarray:
    """The digit in a grey picture as (side, side) float32 ink, cropped and centred at FILL of the side."""
    ink = picture_ink(grey)
    box = ink_box(ink)
    if box is None:
        raise PictureError("the image shows nothing that stands out from its background")
    top, left, bottom, right = box
    crop = np.ascontiguousarray(np.round(ink[top:bottom, left:right] * 255).astype(np.uint8))
    height, width = crop.shape
    image = QImage(crop.data, width, height, width, QImage.Format.Format_Grayscale8)
    longest = round(FILL * side)
    scaled = image.scaled(longest, longest, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    out = np.zeros((side, side), dtype=np.float32)
    pixels = np.frombuffer(scaled.constBits(), dtype=np.uint8, count=scaled.sizeInBytes())
    pixels = pixels.reshape(scaled.height(), scaled.bytesPerLine())[:, : scaled.width()]
    y, x = (side - scaled.height()) // 2, (side - scaled.width()) // 2
    out[y : y + scaled.height(), x : x + scaled.width()] = pixels * np.float32(1 / 255)
    return out
