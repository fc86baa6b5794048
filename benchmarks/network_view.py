"""The network view's speed: how often it refreshes while someone draws, what it costs the window's thread,
and whether the bars still follow the pen as fast with it on.

    python benchmarks/network_view.py [--data-dir DIR] [--seconds 6] [--rounds 3] [--skip-training] [--no-write]

Drawing, no training (in this process; Qt offscreen, which lays out and paints as on screen): a
MainWindow at 1280×720 reading with the bundled model, and the "2" of benchmarks/gui_timings.py
drawn on its sketchpad again and again (a move every 5 ms from a timer, a 200 Hz mouse; 300 ms
between strokes). Two phases take turns, `--rounds` times each, `--seconds` each: the network view
off (the Live plots tab shown, the view hidden) and on (its Layers page shown). For each phase:
- the window's (GUI) thread's CPU time per second of wall time (time.thread_time), the whole phase;
- pen → bars: for each move, the time until the sketchpad's reading that read it (prediction_updated),
  as gui_timings.py's stroke_to_bars_ms;
- with the view on: its refreshes per second of pen-down time (a stroke: from its first move to its
  last), and the intervals between two refreshes within a stroke;
- the cost of one refresh: computing it (NetworkView._refresh_now: core.activations and the tiles'
  colours) and painting the Layers page (LayersCanvas.paintEvent), median and p99 ms.

Drawing during training (needs the MNIST files; skipped with --skip-training): gui_timings.py's
drawing child twice, the view off and then on: a fresh window trains one epoch of the seed recipe
on the CPU while the digit is drawn again and again; pen → bars, the window thread's CPU over the
epoch, and the view's refreshes.

Writes the "network-view" section of benchmarks/RESULTS.md (not with --no-write) and prints it; the
last line of stdout is the figures as JSON. Other processes' CPU use during each part is reported:
on a shared 2-core machine the figures are indicative only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

from gui_timings import (  # noqa: E402
    DRAW_PAUSE_MS,
    StrokeDrawer,
    cpu_seconds,
    digit_two,
    measure_gaps,
    median_p99,
    other_cpu_cores,
    refresh_figures,
)
from results_file import machine_description, write_section  # noqa: E402

WINDOW_SIZE = (1280, 720)
BAR_LATENCY_MS = 16.0
BAR_RATE = 20.0
BAR_CORES = 0.2


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_loop(app, milliseconds: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def drawing_phases(seconds: float, rounds: int) -> dict:
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from mnistconv.gui.app import create_application

    app = QApplication.instance() or create_application([sys.argv[0]])
    from mnistconv.gui import network_view
    from mnistconv.gui.main_window import MainWindow

    costs: dict[str, list[float]] = {"refresh": [], "paint": []}

    def timed(name, method):
        @functools.wraps(method)
        def wrapper(self, *args):
            start = time.perf_counter()
            try:
                return method(self, *args)
            finally:
                costs[name].append(1000 * (time.perf_counter() - start))
        return wrapper

    network_view.NetworkView._refresh_now = timed("refresh", network_view.NetworkView._refresh_now)
    network_view.LayersCanvas.paintEvent = timed("paint", network_view.LayersCanvas.paintEvent)

    folder = tempfile.TemporaryDirectory()
    window = MainWindow(settings=QSettings(str(Path(folder.name) / "settings.ini"), QSettings.Format.IniFormat))
    window.resize(*WINDOW_SIZE)
    window.show()
    deadline = time.perf_counter() + 5
    while not (window.windowHandle() and window.windowHandle().isExposed()) and time.perf_counter() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    pad, view = window.sketchpad, window.network
    refreshes: list[float] = []
    view.refreshed.connect(lambda: refreshes.append(time.perf_counter()))
    points = digit_two()

    phases: dict[str, list[dict]] = {"off": [], "on": []}
    for round_ in range(rounds):
        for name in ("off", "on"):
            window.tabs.setCurrentWidget(view if name == "on" else window.plots)
            run_loop(app, 300)  # the tab switch painted and settled
            costs_before = {key: len(values) for key, values in costs.items()}
            refreshes.clear()
            drawer = StrokeDrawer(pad, points, pause_ms=DRAW_PAUSE_MS)
            cpu, wall, others = time.thread_time(), time.perf_counter(), cpu_seconds()
            drawer.start()
            run_loop(app, int(1000 * seconds))
            drawer.stop()
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            other = other_cpu_cores(others, wall)
            run_loop(app, 200)  # the last readings
            pad.prediction_updated.disconnect(drawer._read)
            phases[name].append({
                "cores": cpu / wall, "latencies": drawer.latencies_ms(), "spans": list(drawer.spans),
                "refreshes": list(refreshes),
                "costs": {key: values[costs_before[key]:] for key, values in costs.items()}, "other_cores": other,
            })
            log(f"  round {round_ + 1}/{rounds}, view {name}: {phases[name][-1]['cores']:.2f} cores, "
                f"pen → bars p99 {np.percentile(drawer.latencies_ms(), 99):.1f} ms")
    window.close()
    folder.cleanup()

    result = {}
    for name, runs in phases.items():
        latencies = [value for run in runs for value in run["latencies"]]
        figures = {
            "gui_thread_cores": round(float(np.mean([run["cores"] for run in runs])), 3),
            "gui_thread_cores_each": [round(run["cores"], 3) for run in runs],
            "pen_to_bars_ms": {**median_p99(latencies), "max": round(float(np.max(latencies)), 2)},
            "other_cores": [run["other_cores"] for run in runs],
        }
        if name == "on":
            spans = [span for run in runs for span in run["spans"]]
            times = sorted(t for run in runs for t in run["refreshes"])
            figures["network"] = refresh_figures(spans, times)
            for key in ("refresh", "paint"):
                values = [v for run in runs for v in run["costs"][key]]
                figures[f"{key}_ms"] = median_p99(values) if values else None
        result[name] = figures
    result["extra_cores"] = round(result["on"]["gui_thread_cores"] - result["off"]["gui_thread_cores"], 3)
    result["seconds_per_phase"], result["rounds"] = seconds, rounds
    return result


def training_phases(data_dir: Path, timeout_s: float) -> dict:
    result = {}
    for name, network in (("off", False), ("on", True)):
        log(f"drawing during one training epoch, the network view {name}")
        start, others = time.perf_counter(), cpu_seconds()
        figures = measure_gaps(data_dir, timeout_s, draw=True, network=network)
        figures["other_cores"] = other_cpu_cores(others, time.perf_counter() - start)
        result[name] = figures
    return result


def cell(figures: dict | None, *keys, fmt="{:.1f}") -> str:
    value = figures
    for key in keys:
        if not isinstance(value, dict) or key not in value or value[key] is None:
            return "–"
        value = value[key]
    return fmt.format(value)


def latency_cell(figures: dict) -> str:
    return f"{figures['median']:.1f} / {figures['p99']:.1f} / {figures['max']:.1f}"


def rate_cell(network: dict | None) -> str:
    if not network or network.get("per_second") is None:
        return "–"
    return (f"{network['per_second']:.1f} (every {network.get('interval_median_ms', 0):.0f} ms; p99 "
            f"{network.get('interval_p99_ms', 0):.0f}, longest {network.get('interval_max_ms', 0):.0f})")


def report(drawing: dict, training: dict | None) -> str:
    off, on = drawing["off"], drawing["on"]
    lines = [
        "## Network view: refresh rate and cost",
        "",
        f"`python benchmarks/network_view.py` on {dt.date.today()}; machine: {machine_description()}; "
        f"1-minute load average at the end {os.getloadavg()[0]:.1f}.",
        "",
        f"A 1280×720 window reading with the bundled model; a \"2\" drawn again and again (a move every 5 ms, "
        f"{DRAW_PAUSE_MS} ms between strokes). Without training: {drawing['rounds']} rounds of "
        f"{drawing['seconds_per_phase']:.0f} s with the view off (Live plots shown) and on (its Layers page shown), "
        "taking turns. During training: one seed-recipe epoch on the CPU each, the view off and then on.",
        "",
        "| figure | view off | view on |",
        "|---|---:|---:|",
        f"| drawing: the window's (GUI) thread, CPU cores | {off['gui_thread_cores']:.2f} | {on['gui_thread_cores']:.2f} |",
        f"| drawing: pen → bars, ms, median / p99 / longest | {latency_cell(off['pen_to_bars_ms'])} | "
        f"{latency_cell(on['pen_to_bars_ms'])} |",
        f"| drawing: network view refreshes per second of pen-down time (interval median, p99, longest, ms) | – | "
        f"{rate_cell(on.get('network'))} |",
        f"| one refresh: computing it, ms, median / p99 | – | {cell(on, 'refresh_ms', 'median', fmt='{:.2f}')} / "
        f"{cell(on, 'refresh_ms', 'p99', fmt='{:.2f}')} |",
        f"| one refresh: painting the Layers page, ms, median / p99 | – | {cell(on, 'paint_ms', 'median', fmt='{:.2f}')} / "
        f"{cell(on, 'paint_ms', 'p99', fmt='{:.2f}')} |",
        f"| other processes' CPU meanwhile, cores (noise), per round | {', '.join(str(c) for c in off['other_cores'])} | "
        f"{', '.join(str(c) for c in on['other_cores'])} |",
    ]
    bars = [("pen → bars p99 ≤ 16 ms with the view on, drawing", on["pen_to_bars_ms"]["p99"], BAR_LATENCY_MS, "≤")]
    rates = [("the view refreshes ≥ 20 times a second of pen-down time, drawing", (on.get("network") or {}).get("per_second"),
              BAR_RATE, "≥")]
    cores = [("the view adds ≤ 0.2 of a core to the window's thread, drawing", drawing["extra_cores"], BAR_CORES, "≤")]
    if training:
        t_off, t_on = training["off"], training["on"]
        if "drawing" in t_off and "drawing" in t_on:
            lines += [
                f"| drawing during a training epoch: pen → bars, ms, median / p99 / longest | {latency_cell(t_off['drawing'])} | "
                f"{latency_cell(t_on['drawing'])} |",
                f"| drawing during a training epoch: the window's thread, CPU cores | "
                f"{t_off['training']['gui_thread_cores']:.2f} | {t_on['training']['gui_thread_cores']:.2f} |",
                f"| drawing during a training epoch: network view refreshes per second (interval median, p99, longest, ms) | – | "
                f"{rate_cell(t_on.get('network'))} |",
                f"| that epoch's seconds | {t_off['training']['epoch_seconds']:.1f} | {t_on['training']['epoch_seconds']:.1f} |",
                f"| other processes' CPU meanwhile, cores (noise) | {t_off.get('other_cores')} | {t_on.get('other_cores')} |",
            ]
            bars.append(("pen → bars p99 ≤ 16 ms with the view on, drawing during training", t_on["drawing"]["p99"],
                         BAR_LATENCY_MS, "≤"))
            rates.append(("the view refreshes ≥ 20 times a second of pen-down time, drawing during training",
                          (t_on.get("network") or {}).get("per_second"), BAR_RATE, "≥"))
            extra = t_on["training"]["gui_thread_cores"] - t_off["training"]["gui_thread_cores"]
            cores.append(("the view adds ≤ 0.2 of a core to the window's thread, drawing during training", extra, BAR_CORES, "≤"))
        else:
            lines.append(f"| drawing during a training epoch | {t_off.get('error', '–')} | {t_on.get('error', '–')} |")
    lines += ["", "| bar | measured | met |", "|---|---:|:---:|"]
    for name, value, bar, sense in bars + rates + cores:
        met = value is not None and (value <= bar if sense == "≤" else value >= bar)
        shown = "–" if value is None else f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"
        lines.append(f"| {name} | {shown} | {'yes' if met else '**no**'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="folder with the MNIST files (drawing during training); default: the app's own")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds of drawing per phase (default 6)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of view off / view on (default 3)")
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed for each training epoch")
    parser.add_argument("--skip-training", action="store_true", help="only drawing, no training epochs")
    parser.add_argument("--no-write", action="store_true", help="print, but leave benchmarks/RESULTS.md alone")
    args = parser.parse_args()

    log(f"drawing, no training: {args.rounds} rounds of {args.seconds:.0f} s with the view off and on")
    drawing = drawing_phases(args.seconds, args.rounds)
    training = None
    if not args.skip_training:
        from mnistconv.core.data import missing_files
        from mnistconv.core.paths import resolve_data_dir

        data_dir = resolve_data_dir(args.data_dir)
        if missing_files(data_dir):
            log(f"no MNIST files in {data_dir}: drawing during training left out (mnistconv-fetch gets them)")
        else:
            training = training_phases(data_dir, args.timeout)
    text = report(drawing, training)
    if not args.no_write:
        write_section("network-view", text)
    print(text)
    print(json.dumps({"drawing": drawing, "training": training}, default=float))


if __name__ == "__main__":
    main()
