"""`mnistconv-gui` and `python -m mnistconv.gui`: build the QApplication and show the main window."""

from __future__ import annotations

import sys
from importlib.resources import files

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication


def app_icon() -> QIcon:
    return QIcon(str(files("mnistconv.resources") / "icon.svg"))


def main(argv: list[str] | None = None) -> int:
    QCoreApplication.setOrganizationName("mnistconv")
    QCoreApplication.setApplicationName("mnistconv")
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationDisplayName("mnistconv")
    app.setWindowIcon(app_icon())
    from mnistconv.core.data import import_reader_in_background

    # Imported after the QApplication exists: pyqtgraph reads the palette when it loads.
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    import_reader_in_background()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
