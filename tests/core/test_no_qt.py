"""The core, apart from its one Qt thread module, is plain Python and PyTorch."""

import pkgutil
import subprocess
import sys

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
