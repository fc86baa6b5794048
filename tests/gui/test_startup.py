"""The window shows without importing torchvision (about 1.5 s); the app imports it afterwards.

Both checks run in a fresh interpreter: in the test process, any earlier test that trained or
fetched has imported torchvision already, so its presence there would prove nothing.
"""

import os
import subprocess
import sys


def run_fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def test_the_window_module_does_not_import_torchvision():
    code = "import sys\nimport mnistconv.gui.main_window\nsys.exit(1 if 'torchvision' in sys.modules else 0)\n"
    result = run_fresh(code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_reader_import_runs_in_the_background():
    code = (
        "import sys\n"
        "from mnistconv.core.data import import_reader_in_background\n"
        "assert 'torchvision.datasets.mnist' not in sys.modules, 'imported before it was asked for'\n"
        "thread = import_reader_in_background()\n"
        "assert thread.daemon, 'the import thread must not keep the app alive'\n"
        "thread.join(timeout=60)\n"
        "assert not thread.is_alive(), 'the import did not finish'\n"
        "assert 'torchvision.datasets.mnist' in sys.modules, 'the thread did not import the reader'\n"
        "print('ok')\n"
    )
    result = run_fresh(code)
    assert result.returncode == 0 and result.stdout.split() == ["ok"], result.stdout + result.stderr
