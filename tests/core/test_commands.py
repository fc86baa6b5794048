"""The console scripts end the process as soon as their command is done, with its status, its
output complete and its files whole, and without Python's shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomllib

from mnistconv.core import checkpoint
from mnistconv.core.runstore import RunStore

from idx_files import write_tiny_mnist

ROOT = Path(__file__).resolve().parents[2]
# A line printed at Python's shutdown: present only where the process went through it.
SHUTDOWN_MARK = "import atexit; atexit.register(lambda: print('Python shut down', flush=True))\n"


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # Buffered output, as a user's shell gives it: what is still in a buffer at the end must be flushed.
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", SHUTDOWN_MARK + code, *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_the_status_and_the_buffered_output_survive_and_the_shutdown_is_skipped():
    code = (
        "import sys\nfrom mnistconv.core.commands import run_then_exit\n"
        "def main():\n"
        "    print('the last line, still in the buffer', end='')\n"  # stdout is a pipe: block-buffered
        "    print('and a warning', file=sys.stderr, end='')\n"
        "    return 3\n"
        "run_then_exit(main)\n"
    )
    result = run_python(code)
    assert result.returncode == 3
    assert result.stdout == "the last line, still in the buffer"
    assert result.stderr == "and a warning"
    # The control: the same main returning normally goes through Python's shutdown.
    normal = run_python(code.replace("run_then_exit(main)", "sys.exit(main())"))
    assert normal.returncode == 3 and normal.stdout.endswith("Python shut down\n")


def test_usage_errors_help_and_text_exits_keep_their_status():
    usage = run_python("from mnistconv.core.commands import train\ntrain()", "--epochs", "x")
    assert usage.returncode == 2 and "epochs must be a whole number from 1 to 100000, not x" in usage.stderr
    assert "Python shut down" not in usage.stdout
    shown = run_python("from mnistconv.core.commands import runs\nruns()", "--help")
    assert shown.returncode == 0 and "usage: " in shown.stdout and "Python shut down" not in shown.stdout
    text = run_python("from mnistconv.core.commands import run_then_exit\nimport sys\n"
                      "run_then_exit(lambda: sys.exit('cannot go on'))")
    assert text.returncode == 1 and text.stderr.strip() == "cannot go on"


def test_an_unexpected_error_is_reported_as_python_would():
    result = run_python("from mnistconv.core.commands import run_then_exit\n"
                        "def main():\n    raise RuntimeError('a bug')\n"
                        "run_then_exit(main)")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "RuntimeError: a bug" in result.stderr


def test_a_training_command_leaves_its_model_and_a_completed_run(tmp_path):
    data_dir = write_tiny_mnist(tmp_path / "data", wrong_test_labels=10)  # no early exit at 99.9 %
    runs = tmp_path / "runs"
    env = {**os.environ, "MNISTCONV_RUNS": str(runs), "XDG_DATA_HOME": str(tmp_path / "data-home")}
    result = run_python("from mnistconv.core.commands import train\ntrain()",
                        "--epochs", "2", "--batch-size", "64", "--seed", "0", "--device", "cpu",
                        "--data-dir", str(data_dir), env=env)
    assert result.returncode == 0, result.stderr
    assert "Python shut down" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("Best test accuracy")
    with RunStore(runs) as store:
        (run,) = store.runs()
        assert (run.outcome, run.epochs_done) == ("completed", 2)  # not "interrupted": its lock was let go
    saved = checkpoint.load_checkpoint(run.checkpoint)
    assert saved.epoch in (1, 2) and saved.accuracy == run.best_accuracy


def test_every_console_script_is_one_of_these_entry_points():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts and all(target.startswith("mnistconv.core.commands:") for target in scripts.values()), scripts
    from mnistconv.core import commands

    assert all(callable(getattr(commands, target.split(":")[1])) for target in scripts.values())
