"""The live plots as one picture: PNG through pyqtgraph's image exporter, plot by plot, stacked; SVG
drawn by Qt's SVG generator (vector curves and text), made portable (`portable_svg`).

Qt draws the curves with cosmetic pens, which it writes as strokes marked
`vector-effect="non-scaling-stroke"` inside transforms that scale the data by 50× or more. Browsers
honour the mark; rsvg (GNOME, Inkscape's import) and ImageMagick do not, and drew each curve as a
filled blob 50× too thick. So each such stroke gets the width it should show, divided by the scale
it sits in, and loses the mark: every renderer then draws the same. Qt names its font "Sans Serif",
which renderers without that alias replace with a serif one: a list of common sans fonts replaces it.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPoint
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from mnistconv.core.atomic import atomic_write


def export_plots(widget: QWidget, plot_items: list, path: str) -> None:
    """Write `widget`'s plots, one above the other, to `path` (.svg: SVG, else PNG); OSError when the
    file cannot be written. The picture is made in memory and written whole or not at all."""
    if str(path).lower().endswith(".svg"):
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(widget.size())
        generator.setViewBox(widget.rect())
        generator.setTitle("mnistconv training plots")
        painter = QPainter(generator)
        try:
            widget.render(painter, QPoint(0, 0))
        finally:
            written = painter.end()
        if not written:
            raise OSError(f"Qt could not draw the plots for {path}")
        write_bytes(path, portable_svg(bytes(buffer.data())))
        return
    import pyqtgraph.exporters as exporters

    images = [exporters.ImageExporter(item).export(toBytes=True) for item in plot_items]
    width = max(image.width() for image in images)
    canvas = QImage(width, sum(image.height() for image in images), QImage.Format.Format_ARGB32)
    canvas.fill(widget.palette().color(QPalette.ColorRole.Base))
    painter = QPainter(canvas)
    try:
        top = 0
        for image in images:
            painter.drawImage(0, top, image)
            top += image.height()
    finally:
        painter.end()
    save_png(canvas, path)


SVG = "http://www.w3.org/2000/svg"
SANS = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
_MATRIX = re.compile(r"matrix\(([^)]*)\)")


def portable_svg(content: bytes) -> bytes:
    """Qt's SVG with its non-scaling strokes made plain strokes of the same look, and its font named
    portably (see the module's note)."""
    ElementTree.register_namespace("", SVG)
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ElementTree.fromstring(content)
    _make_portable(root, 1.0, 1.0, None)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _make_portable(element, scale: float, width: float, dashes: list[float] | None) -> None:
    matrix = _MATRIX.search(element.get("transform", ""))
    if matrix:
        a, b, c, d = (float(value) for value in re.split(r"[ ,]+", matrix.group(1).strip())[:4])
        scale *= math.sqrt(abs(a * d - b * c)) or 1.0
    if element.get("stroke-width"):
        width = float(element.get("stroke-width"))
    if element.get("stroke-dasharray") not in (None, "", "none"):
        dashes = [float(value) for value in re.split(r"[ ,]+", element.get("stroke-dasharray").strip())]
    if element.get("vector-effect") == "non-scaling-stroke":
        del element.attrib["vector-effect"]
        element.set("stroke-width", f"{width / scale:.6g}")
        if dashes:  # dashes are in the stroke's units too
            element.set("stroke-dasharray", ",".join(f"{value / scale:.6g}" for value in dashes))
    if element.get("font-family") == "Sans Serif":
        element.set("font-family", SANS)
    for child in element:
        _make_portable(child, scale, width, dashes)


def png_bytes(image) -> bytes:
    """A QImage or QPixmap encoded as PNG, in memory."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError("Qt could not encode the picture as PNG")
    buffer.close()
    return bytes(data)


def save_png(image, path) -> None:
    """Write a QImage or QPixmap as a PNG file, whole or not at all; OSError says why not."""
    write_bytes(path, png_bytes(image))


def write_bytes(path, content: bytes) -> None:
    with atomic_write(path, durable=False) as sink:
        sink.write(content)
