"""Fetch progress on a terminal: a one-line bar that redraws itself, or plain lines in a log file."""

from __future__ import annotations

from typing import TextIO

from .events import AcquireProgress

WIDTH = 30


class ProgressBar:
    """Call it with each AcquireProgress step; it writes to `stream` (stderr, usually)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = stream.isatty()
        self.last_message: str | None = None

    def __call__(self, step: AcquireProgress) -> None:
        fraction = step.fraction
        if self.tty and fraction is not None:
            filled = int(fraction * WIDTH)
            self.stream.write(f"\r  {step.message[:40]:<40} [{'#' * filled}{'.' * (WIDTH - filled)}] {fraction:4.0%}")
            if fraction >= 1:
                self.stream.write("\n")
            self.stream.flush()
        elif step.message != self.last_message:
            print(f"  {step.message}", file=self.stream, flush=True)
        self.last_message = step.message
