"""The window's memory: idle, while training, while fitting to a hand, and after the fit.

    python benchmarks/window_memory.py [--data-dir DIR] [--epochs 1] [--per-digit 3] [--no-write]

The real MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise), with the bundled model and
real MNIST: the resident set size once the window is shown and settled (idle); its peak while a
run of the seed recipe trains (--epochs, 1 by default; a second thread samples /proc/self/status
every 20 ms); its peak while the window fits the bundled model to --per-digit drawings of each
digit in an odd hand (tests/odd_hand.py, the default fit settings); and what it holds once the fit
has ended and the window has settled, next to idle. Nothing is trimmed by this script: the figures
are what the window itself gives back. Writes the "window-memory" section of benchmarks/RESULTS.md
(not with --no-write). Takes about two minutes here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from long_session import rss_mb  # noqa: E402

from results_file import machine_description, write_section  # noqa: E402


class PeakSampler:
    """The highest RSS seen while it runs, sampled every 20 ms from another thread."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def wait_for(app, signal, timeout_s: float = 600.0):
    got = []
    signal.connect(got.append)
    deadline = time.monotonic() + timeout_s
    while not got:
        app.processEvents()
        time.sleep(0.005)
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not finish")
    signal.disconnect(got.append)
    return got[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="the MNIST folder (default: $MNISTCONV_DATA, else the per-user cache)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--per-digit", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from odd_hand import drawings
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from mnistconv.core.data import missing_files
    from mnistconv.core.paths import resolve_data_dir
    from mnistconv.gui.main_window import MainWindow

    data_dir = resolve_data_dir(args.data_dir)
    if missing_files(data_dir):
        sys.exit(f"MNIST is not in {data_dir}: fetch it with mnistconv-fetch, or give --data-dir")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        os.environ["MNISTCONV_RUNS"] = str(scratch / "runs")
        os.environ["MNISTCONV_PERSONAL"] = str(scratch / "personal")
        app = QApplication.instance() or QApplication([])
        window = MainWindow(settings=QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat))
        window.resize(1280, 720)
        window.show()
        window.panel.data_dir_edit.setText(str(data_dir))
        window.panel.epochs_spin.setValue(args.epochs)
        window.panel.seed_spin.setValue(0)
        settle(app, 3.0)
        idle = rss_mb()

        print(f"idle {idle:.0f} MB; training", file=sys.stderr, flush=True)
        with PeakSampler() as training:
            window.panel.train_button.click()
            if not window.trainer.is_running():
                sys.exit(f"training did not start: {window.panel.error_text()}")
            wait_for(app, window.trainer.finished)
        settle(app, 2.0)
        after_training = rss_mb()

        for picture, label in zip(*drawings(args.per_digit, seed=1)):
            window.personal.add(picture, label)
        window.sketchpad_model.use_bundled()  # fit the bundled model, as a newcomer's first fit does
        started = time.perf_counter()
        print(f"after training {after_training:.0f} MB; fitting", file=sys.stderr, flush=True)
        with PeakSampler() as fitting:
            window.personal_view.refresh()
            if not window.training.fit_to_handwriting():
                sys.exit("the fit did not start")
            wait_for(app, window.trainer.finished)
        fit_seconds = time.perf_counter() - started
        window.messages.close_all()
        settle(app, 3.0)
        after_fit = rss_mb()
        window.close()

    import torch

    lines = [
        f"The window (offscreen, 1280×720), the bundled model, real MNIST; torch {torch.__version__}. "
        f"{machine_description()}.", "",
        "| moment | RSS, MB |", "|---|---:|",
        f"| idle, the window shown and settled | {idle:.0f} |",
        f"| peak while training {args.epochs} epoch(s) of the seed recipe | {training.peak:.0f} |",
        f"| after training, settled | {after_training:.0f} |",
        f"| peak while fitting to {10 * args.per_digit} drawings ({fit_seconds:.0f} s) | {fitting.peak:.0f} |",
        f"| after the fit, settled | {after_fit:.0f} ({after_fit - idle:+.0f} against idle) |",
    ]
    text = "\n".join(lines)
    if not args.no_write:
        write_section("window-memory", text)
    print(text)


if __name__ == "__main__":
    main()
