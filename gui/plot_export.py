"""The live plots as one picture: PNG through pyqtgraph's image exporter, plot by plot, stacked; SVG
drawn by Qt's SVG generator (vector curves and text)."""

from __future__ import annotations

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
        write_bytes(path, bytes(buffer.data()))
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
