"""`mnistconv-gui` and `python -m mnistconv.gui`: build the QApplication and show the main window."""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from mnistconv.core.paths import APP_NAME, resource

from .colour_scheme import follow_colour_scheme


def app_icon() -> QIcon:
    return QIcon(str(resource("icon.svg")))


def create_application(argv: list[str]) -> QApplication:
    """The QApplication as the app runs it: its names, icon and process-wide settings."""
    # No organisation: Qt's AppDataLocation is then ~/.local/share/mnistconv (not …/mnistconv/mnistconv),
    # the folder core.paths.user_data_dir() names without Qt. Settings keep their own file (main_window).
    QCoreApplication.setOrganizationName("")
    QCoreApplication.setApplicationName(APP_NAME)
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(app_icon())
    app.colour_scheme = follow_colour_scheme(app)  # light or dark as the system is set, and when it changes
    from mnistconv.core import allocator

    allocator.keep_freed_memory()  # training steps reuse their freed activation memory (core/allocator.py)
    return app


def main(argv: list[str] | None = None) -> int:
    app = create_application(sys.argv if argv is None else argv)
    # Imported after the QApplication exists: pyqtgraph reads the palette when it loads.
    from .main_window import MainWindow

    window = MainWindow()
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
