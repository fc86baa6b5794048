"""The core, apart from its one Qt thread module, is plain Python and PyTorch."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import mnistconv.core


def test_importing_core_loads_no_qt():
    modules = [f"mnistconv.core.{m.name}" for m in pkgutil.iter_modules(mnistconv.core.__path__) if m.name != "qt_trainer"]
    assert "mnistconv.core.train" in modules
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + (
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'pyqtgraph'))\n"
        "print(qt)\nsys.exit(1 if qt else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


QT_PACKAGES = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"}
IMPORTERS = ("import_module", "__import__")
CORE = Path(mnistconv.core.__path__[0])


def imported_top_level_names(source: str) -> set[str]:
    """Every package a module imports, at the top or inside a function, by `import` or `from`."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in IMPORTERS:
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def test_no_core_module_but_the_qt_adapter_imports_qt_anywhere_in_its_source():
    """The static rule: read every import, including those inside functions that an import-time
    check never runs."""
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        if path.name == "qt_trainer.py":
            continue
        found = imported_top_level_names(path.read_text(encoding="utf-8")) & QT_PACKAGES
        if found:
            offenders[str(path.relative_to(CORE))] = sorted(found)
    assert len(list(CORE.rglob("*.py"))) > 15
    assert offenders == {}


def test_the_rule_sees_imports_hidden_in_functions():
    hidden = ("def later():\n    from PySide6.QtCore import QTimer\n"
              "    import importlib\n    importlib.import_module('pyqtgraph')\n")
    assert imported_top_level_names(hidden) >= {"PySide6", "pyqtgraph"}
