"""Light or dark, as the system is set: the window follows the colour scheme the OS reports.

Qt 6.5+ reports the system's scheme as `QStyleHints.colorScheme()` and says when it changes
(`colorSchemeChanged`). Where the platform's own theme then hands Qt a dark palette (Windows,
macOS, some Linux desktops) nothing more is needed; where it does not (Fusion on most Linux
desktops), `follow_colour_scheme` sets a dark palette of the same roles itself, and puts the
starting light palette back when the scheme turns light. Every widget repaints from the palette:
the plots and the confusion matrix recolour on the PaletteChange this sends them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

Role = QPalette.ColorRole
Group = QPalette.ColorGroup


def is_dark(palette: QPalette) -> bool:
    return palette.color(Role.Window).lightness() < 128


def dark_palette() -> QPalette:
    """A dark palette for every role the widgets here use, legible text in each group."""
    palette = QPalette()
    colours = {
        Role.Window: "#2b2b2b", Role.WindowText: "#e6e6e6", Role.Base: "#1e1e1e", Role.AlternateBase: "#2f2f2f",
        Role.ToolTipBase: "#3a3a3a", Role.ToolTipText: "#e6e6e6", Role.PlaceholderText: "#9a9a9a",
        Role.Text: "#e6e6e6", Role.Button: "#353535", Role.ButtonText: "#e6e6e6", Role.BrightText: "#ff6b6b",
        Role.Light: "#4a4a4a", Role.Midlight: "#3e3e3e", Role.Mid: "#5a5a5a", Role.Dark: "#1a1a1a", Role.Shadow: "#0d0d0d",
        Role.Highlight: "#3d7fd9", Role.HighlightedText: "#ffffff", Role.Link: "#6ea8fe", Role.LinkVisited: "#b197fc",
    }
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(Group.Disabled, role, QColor("#7a7a7a"))
    palette.setColor(Group.Disabled, Role.Highlight, QColor("#4a4a4a"))
    palette.setColor(Group.Disabled, Role.Base, QColor("#262626"))
    return palette


class ColourSchemeFollower:
    """Keeps the application's palette in step with the system's colour scheme."""

    def __init__(self, app: QApplication):
        self.app = app
        self._light = QPalette(app.palette())  # as the style and platform made it at start
        self._ours = False  # whether the palette in use is our dark one
        app.styleHints().colorSchemeChanged.connect(self.apply)
        self.apply(app.styleHints().colorScheme())

    def apply(self, scheme: Qt.ColorScheme) -> None:
        if scheme == Qt.ColorScheme.Dark and not is_dark(self.app.palette()):
            self.app.setPalette(dark_palette())
            self._ours = True
        elif scheme == Qt.ColorScheme.Light and self._ours:
            self.app.setPalette(self._light)
            self._ours = False

    def stop(self) -> None:
        self.app.styleHints().colorSchemeChanged.disconnect(self.apply)
        if self._ours:
            self.app.setPalette(self._light)
            self._ours = False


def follow_colour_scheme(app: QApplication) -> ColourSchemeFollower:
    return ColourSchemeFollower(app)
