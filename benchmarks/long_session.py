"""A long session in one process: live sketchpad predictions and consecutive training runs.

    python benchmarks/long_session.py [--predictions 10000] [--runs 3] [--epochs 2] [--data-dir DIR]
                                      [--hidden] [--no-trim] [--no-write]

The real MainWindow (offscreen unless QT_QPA_PLATFORM says otherwise) is driven as a person would:
strokes drawn on the canvas with mouse events, each read by the sketchpad's own prediction path
(to_mnist, Predictor.predict, the saliency overlay for half of them); Train clicked, runs waited for.
Runs 2 and onwards keep drawing while they train. RSS is read after every phase, before and after
glibc's malloc_trim (see release_free_memory; --no-trim skips it); the promise is that the memory in
use grows by less than 50 MB after the first run, and that no QThread or QTimer is left running at
the end. Without --data-dir the runs use synthetic MNIST-format files (tests/idx_files.py)
in a temporary folder. Figures go to stdout and to the "long-session" section of RESULTS.md.

The sketchpad's 12 ms prediction throttle is set to 0 here so that 10,000 predictions take
seconds rather than minutes of waiting; the prediction path itself is unchanged.
tests/gui/test_long_session.py runs a short version of this in the test suite.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # idx_files: the synthetic data the tests use
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from mnistconv.gui.scripted_mouse import send_mouse  # noqa: E402

GROWTH_LIMIT_MB = 50.0


def rss_mb() -> float:
    """The resident set size now (Linux), else the peak so far (other POSIX)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 1024)


def release_free_memory() -> bool:
    """glibc's malloc_trim(0): hand freed heap pages back to the system (True if it could).

    Each new training thread may get its own malloc arena, and an arena keeps the pages it freed:
    RSS then rises in ~25 MB steps that stop once the arenas exist (with MALLOC_ARENA_MAX=1 they do
    not appear at all). Trimming before a reading measures the memory still in use, not those pages.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0)) or True
    except (OSError, AttributeError):
        return False


@dataclass
class Phase:
    name: str
    rss_mb: float  # after gc.collect() and malloc_trim(0): the memory in use
    seconds: float
    detail: str = ""
    untrimmed_mb: float = 0.0  # before malloc_trim: what the system saw


@dataclass
class SessionReport:
    phases: list[Phase] = field(default_factory=list)
    predictions: int = 0
    runs: list[str] = field(default_factory=list)
    running_threads: int = 0
    active_timers: list[str] = field(default_factory=list)
    timers_left_running: list[str] = field(default_factory=list)
    thread_objects: int = 0

    @property
    def baseline(self) -> Phase:
        return next(p for p in self.phases if p.name.startswith("training run 1"))

    @property
    def growth_mb(self) -> float:
        """The largest RSS (in use, after trimming) after the first run, less the RSS right after it."""
        return self._growth("rss_mb")

    @property
    def untrimmed_growth_mb(self) -> float:
        return self._growth("untrimmed_mb")

    def _growth(self, attribute: str) -> float:
        after = self.phases[self.phases.index(self.baseline) + 1 :]
        base = getattr(self.baseline, attribute)
        return max((getattr(p, attribute) for p in after), default=base) - base

    def table(self) -> str:
        rows = ["| phase | RSS in use (MB) | change (MB) | RSS before trim (MB) | time (s) | detail |",
                "|---|---:|---:|---:|---:|---|"]
        previous = None
        for p in self.phases:
            change = "" if previous is None else f"{p.rss_mb - previous:+.1f}"
            rows.append(f"| {p.name} | {p.rss_mb:.1f} | {change} | {p.untrimmed_mb:.1f} | {p.seconds:.1f} | {p.detail} |")
            previous = p.rss_mb
        return "\n".join(rows)


class LongSession:
    """Drives one MainWindow through predictions and runs, measuring as it goes."""

    def __init__(self, window, seed: int = 0, trim: bool = True):
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance()
        self.window = window
        self.pad = window.sketchpad
        self.pad._timer.setInterval(0)  # no throttle: see the module's docstring
        self.rng = random.Random(seed)
        self.predicted = 0
        self.strokes = 0
        self.pad.prediction_updated.connect(self._count)
        self.report = SessionReport()
        self.trim = trim

    def _count(self, _probabilities) -> None:
        self.predicted += 1

    # -- input ----------------------------------------------------------------------------------
    def _mouse(self, kind, x: float, y: float, button, buttons) -> None:
        send_mouse(self.pad.canvas, kind, x, y, button, buttons)

    def draw_stroke(self) -> None:
        """A short random stroke; the canvas is cleared every eight strokes, as a person would."""
        from PySide6.QtCore import QEvent, Qt

        canvas = self.pad.canvas
        if self.strokes % 8 == 0:
            canvas.clear()
        self.strokes += 1
        side = canvas.width()
        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        x, y = self.rng.uniform(0.2, 0.8) * side, self.rng.uniform(0.2, 0.8) * side
        self._mouse(QEvent.Type.MouseButtonPress, x, y, left, left)
        for _ in range(6):
            x = min(max(x + self.rng.uniform(-25, 25), 5), side - 5)
            y = min(max(y + self.rng.uniform(-25, 25), 5), side - 5)
            self._mouse(QEvent.Type.MouseMove, x, y, none, left)
        self._mouse(QEvent.Type.MouseButtonRelease, x, y, left, none)

    def predict_once(self, timeout_s: float = 10.0) -> None:
        before = self.predicted
        self.draw_stroke()
        deadline = time.monotonic() + timeout_s
        while self.predicted == before:
            self.app.processEvents()
            if time.monotonic() > deadline:
                raise TimeoutError("the sketchpad gave no prediction")

    def predictions(self, count: int, saliency_from: int | None = None, shown: bool = True) -> None:
        """`count` strokes, each read; shown=False hides the window meanwhile (no repaints: faster)."""
        if not shown:
            self.window.hide()
        try:
            for i in range(count):
                if saliency_from is not None:
                    self.pad.saliency_check.setChecked(i >= saliency_from)
                self.predict_once()
        finally:
            self.pad.saliency_check.setChecked(False)
            if not shown:
                self.window.show()

    # -- training -------------------------------------------------------------------------------
    def train_once(self, draw_while_training: bool, timeout_s: float = 1800.0) -> tuple[str, int]:
        finished = []
        self.window.trainer.finished.connect(finished.append)
        drawn = 0
        try:
            self.window.panel.train_button.click()
            if not self.window.trainer.is_running():
                raise RuntimeError(f"training did not start: {self.window.panel.error_text()}")
            deadline = time.monotonic() + timeout_s
            while not finished:
                if draw_while_training:
                    self.predict_once()
                    drawn += 1
                else:
                    self.app.processEvents()
                    time.sleep(0.005)
                if time.monotonic() > deadline:
                    raise TimeoutError("a training run did not finish")
        finally:
            self.window.trainer.finished.disconnect(finished.append)
        return finished[0].reason, drawn

    # -- measuring ------------------------------------------------------------------------------
    def measure(self, name: str, started: float, detail: str = "") -> Phase:
        seconds = time.perf_counter() - started
        gc.collect()
        self.app.processEvents()
        untrimmed = rss_mb()
        if self.trim:
            release_free_memory()
        phase = Phase(name, rss_mb(), seconds, detail, untrimmed)
        self.report.phases.append(phase)
        return phase

    def leftovers(self) -> None:
        from PySide6.QtCore import QThread, QTimer
        from shiboken6 import isValid

        self.app.processEvents()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            threads = [o for o in gc.get_objects() if isinstance(o, QThread) and isValid(o)]
        self.report.running_threads = sum(t.isRunning() for t in threads)
        self.report.thread_objects = len(self.window.trainer.findChildren(QThread))
        # A timer that ends by itself within seconds is not left running: a single-shot one, or the
        # status bar's message timer (QStatusBar deletes it when the 10-second message times out).
        active = [t for t in self.window.findChildren(QTimer) if t.isActive()]

        def describe(t) -> str:
            kind = "single-shot" if t.isSingleShot() else "repeating"
            return f"{type(t.parent()).__name__} ({kind}, {t.remainingTime()} ms left)"

        def ends_by_itself(t) -> bool:
            from PySide6.QtWidgets import QStatusBar

            # 10 s and a little: Qt's coarse timers may fire up to 5 % late.
            return (t.isSingleShot() or isinstance(t.parent(), QStatusBar)) and t.remainingTime() <= 11_000

        self.report.active_timers = [describe(t) for t in active]
        self.report.timers_left_running = [describe(t) for t in active if not ends_by_itself(t)]

    def run(self, predictions: int, runs: int, warmup: int = 200, shown: bool = True, log=print) -> SessionReport:
        """Warm-up predictions, run 1 (the baseline), `predictions` more, then runs 2… drawing meanwhile."""
        report = self.report
        self.measure("start (window shown)", time.perf_counter())
        started = time.perf_counter()
        self.predictions(warmup, shown=shown)
        log(self.measure("warm-up predictions", started, f"{warmup} predictions").__dict__)
        self._training_phase(1, log)
        started = time.perf_counter()
        self.predictions(predictions, saliency_from=predictions // 2, shown=shown)
        phase = self.measure(f"{predictions:,} predictions", started)
        phase.detail = f"{predictions / max(phase.seconds, 1e-9):,.0f} predictions/s; the second half with the saliency overlay"
        log(phase.__dict__)
        for run in range(2, runs + 1):
            self._training_phase(run, log)
        report.predictions = self.predicted
        self.leftovers()
        return report

    def _training_phase(self, run: int, log) -> None:
        started = time.perf_counter()
        reason, drawn = self.train_once(draw_while_training=run >= 2)
        self.report.runs.append(reason)
        detail = f"finished: {reason}" + (f"; {drawn} predictions drawn meanwhile" if drawn else "")
        log(self.measure(f"training run {run}", started, detail).__dict__)


def make_window(data_dir: Path, save_dir: Path, settings_file: Path, epochs: int, batch_size: int):
    from PySide6.QtCore import QSettings

    from mnistconv.gui.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    panel = window.panel
    panel.savepath_edit.setText(str(save_dir))
    panel.data_dir_edit.setText(str(data_dir))
    panel.epochs_spin.setValue(epochs)
    panel.batch_spin.setValue(batch_size)
    panel.seed_spin.setValue(0)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    window.show()
    return window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--predictions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--data-dir", type=Path, default=None, help="real MNIST (default: synthetic files)")
    parser.add_argument("--train-count", type=int, default=6000, help="synthetic training images")
    parser.add_argument("--hidden", action="store_true", help="hide the window while predicting (no repaints)")
    parser.add_argument("--no-trim", action="store_true", help="measure RSS without malloc_trim (glibc) first")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="mnistconv-long-") as tmp:
        tmp = Path(tmp)
        if args.data_dir is None:
            from idx_files import write_tiny_mnist

            data_dir = write_tiny_mnist(tmp / "data", train_count=args.train_count, test_count=1000, wrong_test_labels=20)
            data_text = f"synthetic MNIST-format files ({args.train_count:,} training, 1,000 test images)"
        else:
            data_dir = args.data_dir
            data_text = f"MNIST from {data_dir}"
        window = make_window(data_dir, tmp / "models", tmp / "settings.ini", args.epochs, args.batch_size)
        session = LongSession(window, trim=not args.no_trim)
        report = session.run(args.predictions, args.runs, shown=not args.hidden)
        window.close()
        app.processEvents()

    growth = report.growth_mb
    ok = growth < GROWTH_LIMIT_MB and report.running_threads == 0 and not report.timers_left_running
    from results_file import machine_description

    text = "\n".join([
        "## Long session (`benchmarks/long_session.py`)",
        "",
        f"One MainWindow (offscreen{', hidden while predicting' if args.hidden else ''}), "
        f"{report.predictions:,} live sketchpad predictions in all and "
        f"{args.runs} training runs of {args.epochs} epoch{'s' if args.epochs != 1 else ''} (batch {args.batch_size}) "
        f"on {data_text}; "
        "runs 2 onwards with drawing going on while they train. RSS after each phase:",
        "",
        report.table(),
        "",
        f"- RSS growth after the first run: **{growth:+.1f} MB** in use (limit {GROWTH_LIMIT_MB:.0f} MB): "
        + ("within it" if growth < GROWTH_LIMIT_MB else "OVER THE LIMIT")
        + f"; {report.untrimmed_growth_mb:+.1f} MB before malloc_trim (pages kept by the malloc arenas of "
        "the training threads: see release_free_memory in the script).",
        f"- At the end: {report.running_threads} QThread running; timers left running: "
        f"{', '.join(report.timers_left_running) or 'none'} (active: {', '.join(report.active_timers) or 'none'}); "
        f"the trainer holds {report.thread_objects} finished QThread object(s), one per run, kept as its "
        "children until the window goes.",
        f"- Runs ended: {', '.join(report.runs)}.",
        f"- Machine: {machine_description()}.",
    ])
    print(text)
    if not args.no_write:
        from results_file import write_section

        write_section("long-session", text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
