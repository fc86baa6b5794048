"""The live plots as one picture: PNG through pyqtgraph's image exporter, plot by plot, stacked; SVG
drawn by Qt's SVG generator (vector curves and text)."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget


def export_plots(widget: QWidget, plot_items: list, path: str) -> None:
    """Write `widget`'s plots, one above the other, to `path` (.svg: SVG, else PNG); OSError when the
    file cannot be written."""
    if str(path).lower().endswith(".svg"):
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(widget.size())
        generator.setViewBox(widget.rect())
        generator.setTitle("mnistconv training plots")
        painter = QPainter(generator)
        try:
            widget.render(painter, QPoint(0, 0))
        finally:
            written = painter.end()
        if not written:
            raise OSError(f"Qt could not write {path}")
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
    if not canvas.save(str(path), "PNG"):
        raise OSError(f"Qt could not write {path}")
