"""Pictures of what the window shows: the plots as PNG or SVG, and the tab in front as PNG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from .file_places import remember, start_in
from .plot_export import save_png


class Exports(QObject):
    """`window` gives the tabs, the plots, the confusion matrix, the runs view, the network view,
    messages and the status bar."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window

    def ask_to_export_plots(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export plots", start_in("mnistconv-plots.png"),
                                                   "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        remember(path)
        if not Path(path).suffix:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        try:
            self.window.plots.export(path)
        except OSError as exc:
            self.window.messages.warn("Could not export the plots", f"{path}: {exc.strerror or exc}")
            return
        self.window.statusBar().showMessage(f"Plots written to {path}", 5000)

    def export_view_png(self, path: str | Path) -> bool:
        """Save the tab shown as a PNG image (the plots as Export plots writes them; the network view:
        its page shown, whole); False when it cannot be written."""
        window = self.window
        shown = window.tabs.currentWidget()
        if shown is window.network:
            return window.network.save_png(path)
        if shown is window.plots:
            try:
                window.plots.export(str(path))
            except OSError:
                return False
            return Path(path).is_file()
        try:
            save_png(shown.grab(), path)
        except OSError:
            return False
        return True

    def ask_to_export_view(self) -> None:
        window = self.window
        shown = window.tabs.currentWidget()
        name = {window.plots: "plots", window.confusion: "confusion-matrix", window.runs_view: "runs",
                window.personal_view: "my-digits"}.get(shown, f"network-{window.network.page()}")
        path, _ = QFileDialog.getSaveFileName(window, "Export view as PNG", start_in(f"{name}.png"), "PNG images (*.png)")
        if path:
            remember(path)
            path = path if path.lower().endswith(".png") else path + ".png"
            if not self.export_view_png(path):
                window.messages.warn("Could not save the image", f"{path} could not be written.")
            else:
                window.statusBar().showMessage(f"Saved {path}", 5000)
