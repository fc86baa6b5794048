"""Help → Keyboard shortcuts: a table made from the window's actions themselves, so it cannot go stale."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .training_panel import shortcut_text


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersands and trailing dots: '&Open model…' → 'Open model'."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").rstrip(".")


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every action in the window that has a shortcut: those of each menu in
    the menu bar's order, then any others under "Window"."""
    rows: list[tuple[str, str, str]] = []
    listed: set[int] = set()
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        for action in menu.actions():
            if action.shortcuts() and id(action) not in listed:
                listed.add(id(action))
                rows.append((_plain(menu.title()), _plain(action.text()), shortcut_text(action)))
    for action in window.findChildren(QAction):
        if action.shortcuts() and id(action) not in listed:
            listed.add(id(action))
            rows.append(("Window", _plain(action.text()), shortcut_text(action)))
    return rows


class ShortcutsDialog(QDialog):
    """The rows grouped by menu: action, then its keys."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        groups: dict[str, QTreeWidgetItem] = {}
        for group, action, keys in rows:
            if group not in groups:
                groups[group] = QTreeWidgetItem(self.tree, [group])
                font = groups[group].font(0)
                font.setBold(True)
                groups[group].setFont(0, font)
                groups[group].setFirstColumnSpanned(True)
            QTreeWidgetItem(groups[group], [action, keys])
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.setItemsExpandable(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(420, 420)

    def rows(self) -> list[tuple[str, str, str]]:
        """What the table shows: (menu, action, keys), in order."""
        shown = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                shown.append((group.text(0), group.child(j).text(0), group.child(j).text(1)))
        return shown
