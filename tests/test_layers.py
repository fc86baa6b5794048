"""The layers, as rules read from the source (every import, at the top or inside a function):

- the window's code (gui) uses the core; the core never imports the window's code;
- in the core, only the trainer adapter (qt_trainer) imports Qt, and only QtCore;
- the core's modules are layered: each imports only from the layers below its own, and the lower
  core (the model, data, checkpoints, history, store, wording, …) never imports a session, the Qt
  adapter or a command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT_PACKAGES = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"}

#: The core's layers, top first; a module not named here belongs to the lower core, below them all.
CORE_LAYERS = (
    {"commands"},
    {"cli_finetune", "cli_runs"},
    {"cli"},
    {"qt_trainer"},
    {"finetune", "seed_groups"},
    {"session"},
    {"recorder", "train"},
)


def imports_of(source: str, package: str) -> set[str]:
    """Every module a source file imports, as dotted names (relative imports resolved within `package`)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import events`
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value)
    return names


def sources(folder: str, package: str) -> dict[str, tuple[str, str]]:
    """module name → (its source, the package it is in), for every module under a source folder."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = [*path.relative_to(ROOT / folder).with_suffix("").parts]
        inner = package if len(parts) == 1 else ".".join([package, *parts[:-1]])
        name = inner if parts[-1] == "__init__" else f"{inner}.{parts[-1]}"
        found[name] = (path.read_text(encoding="utf-8"), inner)
    return found


def layer_of(module: str) -> int:
    for index, layer in enumerate(CORE_LAYERS):
        if module in layer:
            return index
    return len(CORE_LAYERS)


def broken_rules(core: dict[str, tuple[str, str]], gui: dict[str, tuple[str, str]]) -> list[str]:
    """One line per rule a module breaks, naming the module it should not import."""
    broken = set()
    modules = {name.split(".")[-1] for name in core}
    for name, (source, package) in core.items():
        module = name.split(".")[-1]
        for imported in imports_of(source, package):
            parts = imported.split(".")
            if imported.startswith("mnistconv.gui"):
                broken.add(f"{name} imports the window's {'.'.join(parts[:3])}")
            elif parts[0] in QT_PACKAGES and imported != "PySide6" and not (
                    module == "qt_trainer" and imported.startswith("PySide6.QtCore")):
                broken.add(f"{name} imports {'.'.join(parts[:2])}")
            elif imported.startswith("mnistconv.core.") and (target := parts[2]) in modules and target != module:
                if layer_of(target) < len(CORE_LAYERS) and layer_of(target) <= layer_of(module):
                    broken.add(f"{name} imports mnistconv.core.{target}, a layer at or above its own")
    for name, (source, package) in gui.items():
        broken.update(f"{name} imports {imported}" for imported in imports_of(source, package)
                      if imported.split(".")[0] == "mnistconv" and not imported.startswith(("mnistconv.core", "mnistconv.gui")))
    return sorted(broken)


def test_the_code_keeps_its_layers():
    core = sources("core", "mnistconv.core")
    gui = sources("gui", "mnistconv.gui")
    assert len(core) > 30 and len(gui) > 30 and "mnistconv.gui.network_view.view" in gui
    assert all(f"mnistconv.core.{module}" in core for layer in CORE_LAYERS for module in layer)  # no stale name
    assert broken_rules(core, gui) == []


def test_the_rules_see_a_break_of_each_kind():
    core = {
        "mnistconv.core.history": ("def later():\n    from .session import load_data\n", "mnistconv.core"),
        "mnistconv.core.session": ("from mnistconv.gui.plots import TrainingPlots\n", "mnistconv.core"),
        "mnistconv.core.qt_trainer": ("from PySide6.QtWidgets import QWidget\nfrom PySide6.QtCore import QThread\n",
                                      "mnistconv.core"),
        "mnistconv.core.wording": ("import importlib\nimportlib.import_module('pyqtgraph')\nfrom . import cli\n",
                                   "mnistconv.core"),
        "mnistconv.core.cli": ("from . import events\n", "mnistconv.core"),
        "mnistconv.core.events": ("", "mnistconv.core"),
    }
    assert broken_rules(core, {}) == [
        "mnistconv.core.history imports mnistconv.core.session, a layer at or above its own",
        "mnistconv.core.qt_trainer imports PySide6.QtWidgets",
        "mnistconv.core.session imports the window's mnistconv.gui.plots",
        "mnistconv.core.wording imports mnistconv.core.cli, a layer at or above its own",
        "mnistconv.core.wording imports pyqtgraph",
    ]
