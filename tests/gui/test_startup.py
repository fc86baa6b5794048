"""The window shows without importing torchvision (over a second), which nothing but a download needs."""

import os
import subprocess
import sys


def test_the_window_module_does_not_import_torchvision():
    code = "import sys\nimport mnistconv.gui.main_window\nsys.exit(1 if 'torchvision' in sys.modules else 0)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stdout + result.stderr
