"""The window shows without importing torchvision (about 1.5 s); the app imports it afterwards."""

import os
import subprocess
import sys

from mnistconv.core.data import import_reader_in_background


def test_the_window_module_does_not_import_torchvision():
    code = "import sys\nimport mnistconv.gui.main_window\nsys.exit(1 if 'torchvision' in sys.modules else 0)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_reader_import_runs_in_the_background():
    thread = import_reader_in_background()
    assert thread.daemon
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert "torchvision.datasets.mnist" in sys.modules
