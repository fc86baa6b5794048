"""How the mnistconv app feels: start-up, drawing-to-bars latency, and event-loop stalls while training.

    python benchmarks/gui_timings.py --data-dir DIR [--only startup,latency,gaps,drawing]

Prints progress on stderr and ONE JSON object as the last line of stdout (benchmarks/speed.py runs
this script as a subprocess and reads that line). Qt runs on the offscreen platform throughout, so
no display is needed; the widgets still lay out and paint (raster) as they would on screen.

startup
    Start-up to a shown window, in seconds. The parent takes time.perf_counter() just before it
    spawns a fresh interpreter running this script with --startup-child, and stops the clock when
    it reads the child's "shown" line. The child does what `mnistconv-gui` does (gui/app.py: the
    organisation and application names, QApplication, display name, window icon, MainWindow with
    the bundled model for the sketchpad, show()), except that the settings go to a temporary ini
    file. It prints the line from a zero-length timer started at the window's first Paint event,
    i.e. once the first paint pass is done, then quits. Five runs: median, min, max; also each
    run's phases (imports, QApplication, MainWindow built, first paint) from the child's
    time.monotonic() stamps, which share the parent's clock on Linux (CLOCK_MONOTONIC).

canvas_latency (--only latency)
    In this process: a shown Sketchpad reading with Predictor.bundled(device="cpu"), and a "2"
    drawn with raw mouse events (press, moves, release sent with QApplication.sendEvent, as
    tests/gui/test_sketchpad.py does).
    - work_ms: the sketchpad's update path (Sketchpad.read_drawing), called directly 200 times
      (after 20 untimed calls): canvas.ink() -> to_mnist -> predict -> digit label, confidence,
      ten bars and the 28x28 preview set. parts_ms splits it (medians). Widgets repaint later, in
      the next paint pass, which is not included.
    - event_to_bars_ms: the digit drawn again, one mouse-move event at a time, each after the
      throttle's interval has passed: from just before a move is sent until `prediction_updated`
      is emitted (the first change after a pause is read at once).
    - stroke_to_bars_ms: the digit drawn again as a continuous stroke, a move every
      STROKE_STEP_MS ms from a timer (a 200 Hz mouse): for each move, the time until the next
      `prediction_updated` that read it. While moves keep coming they are read once per throttle
      interval (throttle_ms), so this is what a user sees while drawing.
    - predict_ms: Predictor.predict on one (28, 28) float32 image, 1,000 calls after 20 warm-up
      calls (the torch thread count is in meta).
    Figures are median and p99 (linear interpolation).

gaps
    A fresh interpreter (--gaps-child) builds QApplication + MainWindow (temporary settings), sets
    the seed recipe preset, the data folder, a temporary save folder, epochs 1, batch size 128,
    seed 0, device CPU, shows the window, and starts a 10 ms Qt.PreciseTimer that appends
    time.perf_counter() at each tick. A free event loop ticks every ~10 ms; a gap between two
    ticks is how long the GUI could not react (a click, a repaint, a sketchpad prediction).
    - idle: 3 s of the shown window before training (the reference).
    - training: the ticks from the trainer's `started` signal to its `epoch_finished` signal
      (extended by one tick at each end, so the gap that contains the handling of either signal
      counts): longest_gap_ms, p99_gap_ms, median_gap_ms, ticks, and epoch_seconds (started ->
      epoch_finished as the GUI saw them; epoch_seconds_reported is the loop's own figure), and
      gui_thread_cores: the GUI thread's CPU time over those seconds (time.thread_time()).
    - loading (Train clicked -> started: data loading, the test set handed to the confusion view)
      and after_epoch (epoch_finished -> finished: checkpoint save, the trainer loading the saved
      model for the sketchpad, the sketchpad switching to it) are reported the same way, outside
      the headline.
    - diagnostics: the time the window's slots for the trainer's signals spent on the GUI thread
      (count, total and longest ms, from wrappers put around MainWindow's slot methods in the
      child only), and the longest gaps of the run with the slots that ran inside each and the
      signals received just before it. A gap that no slot explains was spent painting, or waiting
      for the CPU or the GIL while the training thread ran. With --trace-events the child also
      times every Qt event delivered on the GUI thread (a QApplication whose notify() is
      overridden in Python, which slows event delivery a little) and lists the kinds of event
      that took over 5 ms: painting (UpdateRequest, Paint), queued calls (MetaCall), layout.

drawing
    The gaps child again (--draw), and from the trainer's `started` signal to `epoch_finished`
    a "2" is drawn on the window's sketchpad over and over: one continuous stroke as in
    stroke_to_bars_ms (a move every STROKE_STEP_MS ms from a timer), the canvas cleared,
    DRAW_PAUSE_MS ms of pause, the next stroke. drawing.* is stroke_to_bars_ms for every move of
    the epoch (the last moves, if the epoch ended before they were read, are left out);
    training.* are the event-loop gaps of that epoch and its seconds.
    With --network (benchmarks/network_view.py asks for it) the window's network view is the tab shown
    while it draws, and network.* says how often it refreshed while the pen moved.

meta.other_cpu_cores is the CPU time that other processes used while this script ran (all) and
during each measurement, per second of wall time (from /proc/stat): with 2 cores, a figure well
above 0.05 means the measurement shared the machine and is inflated. Torch's intra-op pool (2
threads here) makes the tails (p99, longest gap) and the epoch very sensitive to that.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from call_times import call_times_ms  # beside this script

# Every Qt in this script (this process and the children, which inherit the environment) is offscreen.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from mnistconv.gui.scripted_mouse import send_mouse  # noqa: E402

SCRIPT = Path(__file__).resolve()
MEASUREMENTS = ("startup", "latency", "gaps", "drawing")
STARTUP_RUNS = 5
SHOWN = "WINDOW-SHOWN"  # the startup child's line, followed by its JSON stamps
WORK_REPEATS = 200
WORK_WARMUP = 20
STROKE_STEP_MS = 5
PREDICT_REPEATS = 1000
PREDICT_WARMUP = 20
TICK_MS = 10
IDLE_SECONDS = 3.0
DRAW_PAUSE_MS = 300  # between two drawings of the digit while training
WORST_GAPS = 8


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_p99(values) -> dict:
    array = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(array)), "p99": float(np.percentile(array, 99)), "n": int(array.size)}


# -- start-up ---------------------------------------------------------------------------------------

def startup_child() -> None:
    """gui/app.py's main() with temporary settings; prints SHOWN once the first paint is done."""
    stamps = {"script_started": time.monotonic()}
    from PySide6.QtCore import QEvent, QObject, QSettings, QTimer

    from mnistconv.gui.app import create_application

    stamps["qt_imported"] = time.monotonic()
    app = create_application([sys.argv[0]])
    stamps["qapplication"] = time.monotonic()
    from mnistconv.gui.main_window import MainWindow  # after the QApplication, as app.py does

    folder = tempfile.TemporaryDirectory()
    window = MainWindow(settings=QSettings(str(Path(folder.name) / "settings.ini"), QSettings.Format.IniFormat))
    stamps["window_built"] = time.monotonic()

    def report() -> None:
        stamps["painted"] = time.monotonic()
        print(SHOWN, json.dumps(stamps), flush=True)
        app.quit()

    class FirstPaint(QObject):
        seen = False

        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint and not self.seen:
                self.seen = True
                QTimer.singleShot(0, report)  # runs once this paint pass has finished
            return False

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    window.show()
    QTimer.singleShot(60_000, lambda: (log("startup child: no paint within 60 s"), app.exit(1)))
    code = app.exec()
    folder.cleanup()
    sys.exit(code)


def measure_startup(runs: int = STARTUP_RUNS) -> dict:
    seconds = []
    phases = []
    for run in range(runs):
        clock_zero = time.monotonic()
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, str(SCRIPT), "--startup-child"], stdout=subprocess.PIPE, text=True)
        stamps = None
        for line in child.stdout:
            if line.startswith(SHOWN):
                elapsed = time.perf_counter() - start
                stamps = json.loads(line[len(SHOWN):])
                break
        child.stdout.close()
        code = child.wait(timeout=60)
        if stamps is None:
            raise RuntimeError(f"start-up child {run + 1} exited with status {code} before showing its window")
        seconds.append(elapsed)
        phases.append({name: round(t - clock_zero, 3) for name, t in stamps.items()})
        log(f"  start-up {run + 1}/{runs}: {elapsed:.2f} s")
    return {
        "median_s": statistics.median(seconds), "min_s": min(seconds), "max_s": max(seconds),
        "runs_s": [round(s, 3) for s in seconds],
        "phases_s": phases,  # seconds after the parent's clock started, per run
    }


# -- drawing to bars ------------------------------------------------------------------------------

def digit_two(points: int = WORK_REPEATS + 1) -> list[tuple[float, float]]:
    """A handwritten-looking "2" in the 280x280 canvas: an arc, a diagonal, a base; evenly spaced points."""
    angles = np.radians(np.linspace(160, -35, 60))
    arc = np.stack([140 + 55 * np.cos(angles), 95 - 55 * np.sin(angles)], axis=1)
    diagonal = np.linspace(arc[-1], (82.0, 222.0), 30)[1:]
    base = np.linspace((82.0, 222.0), (205.0, 218.0), 20)[1:]
    path = np.concatenate([arc, diagonal, base])
    length = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    at = np.linspace(0.0, length[-1], points)
    return list(zip(np.interp(at, length, path[:, 0]), np.interp(at, length, path[:, 1])))


class StrokeDrawer:
    """Draws `points` on a sketchpad as continuous strokes, a move every STROKE_STEP_MS ms from a
    timer (a 200 Hz mouse), and notes when each move was sent and when each reading came.

    With `pause_ms` set it clears the canvas and draws the digit again after that pause, until
    stop(); otherwise it calls `done` once the last readings of its one stroke are in.
    """

    def __init__(self, pad, points: list[tuple[float, float]], done=None, pause_ms: int | None = None):
        from PySide6.QtCore import Qt, QTimer

        self.pad, self.points, self.done, self.pause_ms = pad, points, done, pause_ms
        self.moves: list[float] = []
        self.readings: list[float] = []
        self.strokes = 0
        self.spans: list[tuple[float, float]] = []  # each stroke's (press, release) times
        self._pressed: float | None = None
        self.pending: list[tuple[float, float]] = []
        self.stopped = False
        pad.prediction_updated.connect(self._read)
        self.timer = QTimer(interval=STROKE_STEP_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._next_move)

    def _read(self, _probabilities) -> None:
        self.readings.append(time.perf_counter())

    def _mouse(self, kind, point, button, buttons) -> None:
        send_mouse(self.pad.canvas, kind, *point, button, buttons)

    def start(self) -> None:
        from PySide6.QtCore import QEvent, Qt

        if self.stopped:
            return
        self.pad.canvas.clear()
        self.pending = list(self.points[1:])
        left = Qt.MouseButton.LeftButton
        self._pressed = time.perf_counter()
        self._mouse(QEvent.Type.MouseButtonPress, self.points[0], left, left)
        self.timer.start()

    def stop(self) -> None:
        self.stopped = True
        self.timer.stop()
        if self._pressed is not None:  # a stroke cut short: its span so far
            self.spans.append((self._pressed, time.perf_counter()))
            self._pressed = None

    def _next_move(self) -> None:
        from PySide6.QtCore import QEvent, Qt, QTimer

        left, no_button = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        if self.pending and not self.stopped:
            self.moves.append(time.perf_counter())
            self._mouse(QEvent.Type.MouseMove, self.pending.pop(0), no_button, left)
            return
        self.timer.stop()
        self._mouse(QEvent.Type.MouseButtonRelease, self.points[-1], left, no_button)
        if self._pressed is not None:
            self.spans.append((self._pressed, time.perf_counter()))
            self._pressed = None
        self.strokes += 1
        if self.pause_ms is not None:
            QTimer.singleShot(self.pause_ms, self.start)
        elif self.done is not None:
            QTimer.singleShot(200, self.done)  # the last readings come within an interval

    def latencies_ms(self) -> list[float]:
        """For each move, the time until the first reading at or after it (moves never read, at
        the very end of a run that was stopped, are left out)."""
        readings = np.asarray(self.readings)
        after = np.searchsorted(readings, np.asarray(self.moves))
        return [1000 * (readings[i] - t) for i, t in zip(after, self.moves) if i < len(readings)]


def measure_canvas_latency() -> dict:
    import torch
    from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from mnistconv.core.predict import Predictor
    from mnistconv.core.preprocess import to_mnist
    from mnistconv.core.sketchpad_device import SketchpadDevice, SketchpadDevices
    from mnistconv.gui.sketchpad import Sketchpad

    app = QApplication.instance() or QApplication([sys.argv[0]])
    # The model as the window places it for the sketchpad, with the device setting on CPU.
    predictor = SketchpadDevices(SketchpadDevice.CPU).place(Predictor.bundled(device="cpu"))
    pad = Sketchpad(predictor)
    pad.show()
    deadline = time.perf_counter() + 5
    while not (pad.windowHandle() and pad.windowHandle().isExposed()) and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    canvas = pad.canvas
    left, no_button = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton

    def send(kind, x, y, button, buttons) -> None:
        send_mouse(canvas, kind, x, y, button, buttons)

    loop = QEventLoop()
    guard = QTimer(singleShot=True, interval=2000)
    guard.timeout.connect(loop.quit)
    received: list[float] = []

    def on_prediction(_) -> None:
        received.append(time.perf_counter())
        loop.quit()

    pad.prediction_updated.connect(on_prediction)

    def wait_for_prediction() -> float | None:
        received.clear()
        guard.start()
        loop.exec()
        guard.stop()
        return received[0] if received else None

    def settle() -> None:
        """Let a pending throttle timer fire, so the next change starts it afresh."""
        while pad._timer.isActive():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        app.processEvents()

    # A digit drawn in one stroke, then the timer's update path timed on its own.
    points = digit_two()
    (x, y), *rest = points
    send(QEvent.Type.MouseButtonPress, x, y, left, left)
    for x, y in rest:
        send(QEvent.Type.MouseMove, x, y, no_button, left)
    send(QEvent.Type.MouseButtonRelease, x, y, left, no_button)
    if wait_for_prediction() is None:
        raise RuntimeError("the sketchpad did not predict the drawn digit")
    settle()
    read_as = int(pad.probabilities().argmax())
    image = pad.network_input()

    work = call_times_ms(pad.read_drawing, WORK_REPEATS, WORK_WARMUP)

    def median_ms(function) -> float:
        return statistics.median(call_times_ms(function, WORK_REPEATS))

    ink = canvas.ink()
    probabilities = predictor.predict(image)[0]
    verdict = pad.verdict()  # the not-sure judge's verdict on the drawn digit, shown with the bars
    parts = {
        "ink": median_ms(canvas.ink),
        "to_mnist": median_ms(lambda: to_mnist(ink)),
        "predict": median_ms(lambda: predictor.predict(image)),
        "show_preview": median_ms(lambda: pad._show_preview(image)),
        "show_prediction": median_ms(lambda: pad._show_prediction(probabilities, verdict)),
    }

    # The same digit again, one move at a time after a pause: each move until the bars are set.
    canvas.clear()
    settle()
    send(QEvent.Type.MouseButtonPress, *points[0], left, left)
    settle()
    latency = []
    for x, y in points[1:]:
        settle()
        received.clear()
        start = time.perf_counter()
        send(QEvent.Type.MouseMove, x, y, no_button, left)
        done = received[0] if received else wait_for_prediction()  # read at once, or by the timer
        if done is None:
            raise RuntimeError("no prediction within 2 s of a mouse move")
        latency.append(1000 * (done - start))
    send(QEvent.Type.MouseButtonRelease, *points[-1], left, no_button)
    settle()

    # The same digit as one continuous stroke, a move every STROKE_STEP_MS from a timer.
    pad.prediction_updated.disconnect(on_prediction)
    canvas.clear()
    settle()
    drawer = StrokeDrawer(pad, points, done=loop.quit)
    drawer.start()
    loop.exec()
    stroke = drawer.latencies_ms()
    if len(stroke) < len(drawer.moves):
        raise RuntimeError("a move of the stroke was never read")
    moves, readings = drawer.moves, drawer.readings

    predict = call_times_ms(lambda: predictor.predict(image), PREDICT_REPEATS, PREDICT_WARMUP)

    result = {
        "throttle_ms": pad._timer.interval(),
        "work_ms": median_p99(work),
        "parts_ms": {name: round(value, 4) for name, value in parts.items()},
        "event_to_bars_ms": median_p99(latency),
        "stroke_to_bars_ms": {**median_p99(stroke), "max": float(np.max(stroke)), "moves": len(moves), "readings": len(readings)},
        "predict_ms": median_p99(predict),
        "drawn_digit": 2,
        "read_as": read_as,
        "torch_threads": torch.get_num_threads(),
    }
    pad.close()
    pad.deleteLater()
    return result


# -- the event loop while training ------------------------------------------------------------------

# The window's slots for the trainer, by the module and class of the controller that holds them.
SLOTS = {
    ("training_controller", "TrainingController"): ("train", "_on_training_started", "_on_batch_progressed",
                                                    "_on_history_event", "_on_finished"),
    ("run_results", "RunResults"): ("_on_data_loaded", "_on_epoch_finished", "_on_new_best_saved", "_on_saved_model_loaded",
                                    "_log_event"),
}
SIGNALS = ("data_loaded", "training_started", "batch_progressed", "epoch_finished", "new_best_saved", "failed", "finished")


def refresh_figures(spans: list[tuple[float, float]], refreshes: list[float]) -> dict:
    """How often the network view refreshed while the pen was down (`spans`: each stroke's press and
    release times): refreshes per second of pen-down time, and the intervals between two refreshes
    within one stroke (median, p99, longest, in ms)."""
    seconds = sum(end - begin for begin, end in spans)
    inside, intervals = 0, []
    for begin, end in spans:
        times = [t for t in refreshes if begin <= t <= end]
        inside += len(times)
        intervals += list(1000 * np.diff(times))
    figures = {"per_second": round(inside / seconds, 1) if seconds else None, "strokes": len(spans),
               "pen_down_s": round(seconds, 2), "refreshes": inside}
    if intervals:
        figures.update(interval_median_ms=round(float(np.median(intervals)), 1),
                       interval_p99_ms=round(float(np.percentile(intervals, 99)), 1), interval_max_ms=round(max(intervals), 1))
    return figures


def gap_figures(ticks: list[float]) -> dict:
    gaps = 1000 * np.diff(np.asarray(ticks))
    if gaps.size == 0:
        return {"ticks": len(ticks), "longest_gap_ms": None, "p99_gap_ms": None, "median_gap_ms": None}
    return {
        "ticks": len(ticks),
        "longest_gap_ms": round(float(gaps.max()), 2),
        "p99_gap_ms": round(float(np.percentile(gaps, 99)), 2),
        "median_gap_ms": round(float(np.median(gaps)), 2),
        "gaps_over_50ms": int((gaps > 50).sum()),
        "gaps_over_100ms": int((gaps > 100).sum()),
    }


def ticks_between(ticks: list[float], begin: float, end: float) -> list[float]:
    """The ticks in [begin, end], plus the last one before and the first one after."""
    array = np.asarray(ticks)
    first = max(int(np.searchsorted(array, begin, side="left")) - 1, 0)
    last = min(int(np.searchsorted(array, end, side="right")), len(ticks) - 1)
    return ticks[first:last + 1]


def event_name(value: int) -> str:
    from PySide6.QtCore import QEvent

    for name, member in QEvent.Type.__members__.items():
        if int(getattr(member, "value", member)) == value:
            return name
    return str(value)


def gaps_child(data_dir: Path, timeout_s: float, trace_events: bool = False, draw: bool = False, network: bool = False) -> None:
    """Train one epoch in the GUI with a 10 ms timer ticking; print the figures as one JSON line.

    With `draw`, a digit is drawn on the window's sketchpad again and again while the epoch runs; with
    `network`, the network view is the tab shown meanwhile."""
    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    slow_events: list[tuple[int, str, float]] = []  # (event type, receiver class, ms), with --trace-events

    class TracingApplication(QApplication):
        def notify(self, receiver, event):
            kind = event.type()
            start = time.perf_counter()
            try:
                return super().notify(receiver, event)
            finally:
                spent = 1000 * (time.perf_counter() - start)
                if spent > 5:  # nested events (a Paint inside an UpdateRequest) are counted in both
                    slow_events.append((int(getattr(kind, "value", kind)), type(receiver).__name__, spent))

    if trace_events:
        tracer = TracingApplication([sys.argv[0]])  # noqa: F841 - create_application below takes it up
    from mnistconv.gui.app import create_application

    app = create_application([sys.argv[0]])  # as mnistconv-gui makes it
    from mnistconv.gui.main_window import MainWindow

    # Diagnostics: how long each of the window's slots for the trainer runs on the GUI thread.
    slot_runs: list[tuple[str, float, float]] = []

    def timed(name, method):
        @functools.wraps(method)
        def wrapper(self, *args):
            start = time.perf_counter()
            try:
                return method(self, *args)
            finally:
                slot_runs.append((name, start, time.perf_counter()))
        return wrapper

    for (module, class_name), names in SLOTS.items():
        controller = getattr(importlib.import_module(f"mnistconv.gui.{module}"), class_name)
        for name in names:  # before the window connects them
            setattr(controller, name, timed(name, getattr(controller, name)))

    folder = tempfile.TemporaryDirectory()
    window = MainWindow(settings=QSettings(str(Path(folder.name) / "settings.ini"), QSettings.Format.IniFormat))
    panel = window.panel
    panel.preset_combo.setCurrentIndex(panel.preset_combo.findData("seed"))
    panel.data_dir_edit.setText(str(data_dir))
    panel.savepath_edit.setText(str(Path(folder.name) / "models"))
    panel.epochs_spin.setValue(1)
    panel.batch_spin.setValue(128)
    panel.seed_spin.setValue(0)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    window.show()
    deadline = time.perf_counter() + 5
    while not (window.windowHandle() and window.windowHandle().isExposed()) and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)

    ticks: list[float] = []
    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(TICK_MS)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))

    marks: dict[str, list[float]] = {name: [] for name in SIGNALS}  # when each signal was handled
    epoch_event = []
    failures = []
    for name in SIGNALS:
        # Connected after the window's own slots, so these run just after them.
        getattr(window.trainer, name).connect(lambda *_, name=name: marks[name].append(time.perf_counter()))
    window.trainer.epoch_finished.connect(epoch_event.append)
    # CPU time of the GUI thread (this one, where the slots run) over the epoch.
    gui_cpu: list[float] = []
    window.trainer.training_started.connect(lambda *_: gui_cpu.append(time.thread_time()))
    window.trainer.epoch_finished.connect(lambda *_: gui_cpu.append(time.thread_time()))
    window.trainer.failed.connect(lambda e: failures.append(e.message))
    window.trainer.finished.connect(lambda _: QTimer.singleShot(200, app.quit))
    drawer = StrokeDrawer(window.sketchpad, digit_two(), pause_ms=DRAW_PAUSE_MS) if draw else None
    refreshes: list[float] = []
    if network:
        window.tabs.setCurrentWidget(window.network)
        window.network.refreshed.connect(lambda: refreshes.append(time.perf_counter()))
    if drawer is not None:
        window.trainer.training_started.connect(lambda *_: drawer.start())
        window.trainer.epoch_finished.connect(lambda *_: drawer.stop())

    phase = {}

    def begin_idle() -> None:
        ticker.start()
        phase["idle_start"] = time.perf_counter()
        QTimer.singleShot(int(IDLE_SECONDS * 1000), begin_training)

    def begin_training() -> None:
        phase["idle_end"] = phase["clicked"] = time.perf_counter()
        panel.train_button.click()

    def give_up() -> None:
        failures.append(f"training did not finish within {timeout_s:.0f} s")
        window.trainer.stop_and_wait()
        app.quit()

    QTimer.singleShot(500, begin_idle)  # let the first paints and layout settle
    QTimer.singleShot(int(timeout_s * 1000), give_up)
    app.exec()
    ticker.stop()

    result: dict = {"idle": gap_figures([t for t in ticks if phase["idle_start"] <= t <= phase["idle_end"]])}
    if failures or not marks["training_started"] or not marks["epoch_finished"]:
        result["error"] = "; ".join(failures) or "training did not start or finish an epoch"
        print(json.dumps(result), flush=True)
        folder.cleanup()
        return
    started, epoch_done = marks["training_started"][0], marks["epoch_finished"][0]
    finished = marks["finished"][0] if marks["finished"] else ticks[-1]
    result["training"] = {
        **gap_figures(ticks_between(ticks, started, epoch_done)),
        "epoch_seconds": round(epoch_done - started, 3),
        "epoch_seconds_reported": round(epoch_event[0].seconds, 3),
        "test_accuracy": round(epoch_event[0].test_accuracy, 4),
        "gui_thread_cores": round((gui_cpu[1] - gui_cpu[0]) / (epoch_done - started), 3),
    }
    if drawer is not None:
        stroke = drawer.latencies_ms()
        if not stroke:
            result["error"] = "no move of the drawing was read during the epoch"
            print(json.dumps(result), flush=True)
            folder.cleanup()
            return
        result["drawing"] = {**median_p99(stroke), "max": round(float(np.max(stroke)), 2), "strokes": drawer.strokes,
                             "moves": len(drawer.moves), "moves_read": len(stroke), "readings": len(drawer.readings)}
        if network:
            result["network"] = refresh_figures(drawer.spans, refreshes)
    result["loading"] = {**gap_figures(ticks_between(ticks, phase["clicked"], started)),
                         "seconds": round(started - phase["clicked"], 3)}
    result["after_epoch"] = {**gap_figures(ticks_between(ticks, epoch_done, finished)),
                             "seconds": round(finished - epoch_done, 3)}

    # Where the time went on the GUI thread, and what surrounds the longest gaps.
    slots = {}
    for name, begin, end in slot_runs:
        entry = slots.setdefault(name.removeprefix("_on_"), {"count": 0, "total_ms": 0.0, "longest_ms": 0.0})
        entry["count"] += 1
        entry["total_ms"] += 1000 * (end - begin)
        entry["longest_ms"] = max(entry["longest_ms"], 1000 * (end - begin))
    for entry in slots.values():
        entry["total_ms"] = round(entry["total_ms"], 2)
        entry["longest_ms"] = round(entry["longest_ms"], 2)
    train_ticks = [t for t in ticks if t >= phase["clicked"]]
    gaps = np.diff(train_ticks)
    worst = []
    for index in np.argsort(gaps)[::-1][:WORST_GAPS]:
        begin, end = train_ticks[index], train_ticks[index + 1]
        inside = {}
        for name, s, e in slot_runs:
            overlap = min(e, end) - max(s, begin)
            if overlap > 0:
                inside[name.removeprefix("_on_")] = round(inside.get(name.removeprefix("_on_"), 0.0) + 1000 * overlap, 1)
        before = [(name, t) for name, times in marks.items() for t in times if t <= end]
        last_signal = max(before, key=lambda item: item[1]) if before else None
        stage = "loading" if end <= started else "epoch" if begin < epoch_done else "after_epoch"
        worst.append({
            "gap_ms": round(1000 * (end - begin), 1),
            "at_s": round(begin - started, 3),  # seconds after `started` (negative: while loading)
            "stage": stage,
            "slots_inside_ms": inside,
            "last_signal": last_signal[0] if last_signal else None,
            "last_signal_before_end_ms": round(1000 * (end - last_signal[1]), 1) if last_signal else None,
        })
    progress = marks["batch_progressed"]
    result["diagnostics"] = {
        "slots": slots,
        "batch_progress_signals": len(progress),
        "batch_progress_interval_ms_median": round(1000 * float(np.median(np.diff(progress))), 1) if len(progress) > 1 else None,
        "worst_gaps": worst,
    }
    if trace_events:
        traced = {}
        for kind, receiver, spent in slow_events:
            entry = traced.setdefault(f"{event_name(kind)} on {receiver}", {"count": 0, "total_ms": 0.0, "longest_ms": 0.0})
            entry["count"] += 1
            entry["total_ms"] = round(entry["total_ms"] + spent, 1)
            entry["longest_ms"] = round(max(entry["longest_ms"], spent), 1)
        result["diagnostics"]["events_over_5ms"] = dict(sorted(traced.items(), key=lambda item: -item[1]["total_ms"]))
    print(json.dumps(result), flush=True)
    window.close()
    folder.cleanup()


def measure_gaps(data_dir: Path, timeout_s: float, trace_events: bool = False, draw: bool = False,
                 network: bool = False) -> dict:
    command = [sys.executable, str(SCRIPT), "--gaps-child", "--data-dir", str(data_dir), "--timeout", str(timeout_s)]
    command += ["--trace-events"] if trace_events else []
    command += ["--draw"] if draw else []
    command += ["--network"] if network else []
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=timeout_s + 120)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"the gaps child failed with status {result.returncode}")
    return json.loads(lines[-1])


# -- main ---------------------------------------------------------------------------------------------

def cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds all processes have used since boot, those of this process and its waited-for
    children), or None where there is no /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK"), sum(os.times()[:4])


def other_cpu_cores(before: tuple[float, float] | None, wall: float) -> float | None:
    """Cores' worth of CPU that processes other than this one and its children used since `before`."""
    after = cpu_seconds()
    if before is None or after is None:
        return None
    others = (after[0] - before[0]) - (after[1] - before[1])
    return round(max(others, 0.0) / wall, 2)

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with the MNIST files (for gaps); default: the app's own")
    parser.add_argument("--only", default=",".join(MEASUREMENTS),
                        help=f"comma-separated subset of {', '.join(MEASUREMENTS)} (default: all)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed for the training epoch (gaps)")
    parser.add_argument("--trace-events", action="store_true",
                        help="gaps: also time every Qt event on the GUI thread and list the slow kinds (adds overhead)")
    parser.add_argument("--startup-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--gaps-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--draw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--network", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.startup_child:
        startup_child()
        return
    from mnistconv.core.paths import resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    if args.gaps_child:
        gaps_child(data_dir, args.timeout, args.trace_events, args.draw, args.network)
        return

    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(MEASUREMENTS)}")

    began = time.perf_counter()
    cpu_before = cpu_seconds()
    result: dict = {}
    others: dict = {}  # other processes' CPU use during each measurement, in cores

    def run(name: str, key: str, message: str, measure) -> None:
        if name in wanted:
            log(message)
            start, cpu_start = time.perf_counter(), cpu_seconds()
            result[key] = measure()
            others[name] = other_cpu_cores(cpu_start, time.perf_counter() - start)

    run("startup", "startup", f"start-up to a shown window, {STARTUP_RUNS} fresh processes", measure_startup)
    run("latency", "canvas_latency", "drawing to bars, in this process", measure_canvas_latency)
    run("gaps", "gaps", f"event-loop gaps: {IDLE_SECONDS:.0f} s idle, then one training epoch on {data_dir}",
        lambda: measure_gaps(data_dir, args.timeout, args.trace_events))
    run("drawing", "drawing", "drawing on the sketchpad while the window trains one epoch",
        lambda: measure_gaps(data_dir, args.timeout, args.trace_events, draw=True))

    import torch

    result["meta"] = {
        "qt_platform": os.environ["QT_QPA_PLATFORM"], "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "python": sys.version.split()[0], "torch": torch.__version__,
        "load_average_1min_at_end": round(os.getloadavg()[0], 2), "elapsed_s": round(time.perf_counter() - began, 1),
        "other_cpu_cores": {"all": other_cpu_cores(cpu_before, time.perf_counter() - began), **others},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
