"""A one-line progress display for long commands (`gros load --bulk`): how many done, the rate
per second and the time left, redrawn in place with a carriage return a few times per second.

It draws only on a terminal, unless told otherwise (`--progress/--no-progress`), so scripts and
CI logs stay clean.

Written here rather than taken from click.progressbar (click is our CLI library): click decides
by itself whether the stream is a terminal, with no public switch to draw anyway (which
`--progress` needs, and tests use), and its bar counts one kind of step, while loading counts
triples against a fraction of bytes read (the number of triples in a file is not known
before it is parsed).
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


def duration(seconds: float) -> str:
    """0:07, 3:25, 1:02:03."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class Progress:
    """`update(done, fraction)` as often as convenient; the line is redrawn at most every
    `interval` seconds. `fraction` (0..1) is the share of the whole work done, for the time
    left; without it, `total` (when known) gives it."""

    def __init__(self, label: str, unit: str = "triples", total: int | None = None,
                 stream: TextIO | None = None, enabled: bool | None = None, interval: float = 0.25,
                 clock=time.monotonic):
        self.label = label
        self.unit = unit
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self._is_terminal(self.stream) if enabled is None else enabled
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.last_drawn = float("-inf")
        self.done = 0
        self.fraction: float | None = None
        self.width = 0  # of the last line drawn, to blank out what a shorter line leaves
        self.closed = False

    @staticmethod
    def _is_terminal(stream) -> bool:
        try:
            return stream.isatty()
        except (AttributeError, ValueError):  # closed, or not a real stream
            return False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, done: int, fraction: float | None = None) -> None:
        self.done = done
        if fraction is not None:
            self.fraction = fraction
        if self.enabled and self.clock() - self.last_drawn >= self.interval:
            self._draw()

    def line(self) -> str:
        elapsed = self.clock() - self.started
        parts = [f"{self.label}: {self.done:,}" + (f" of {self.total:,}" if self.total else "") + f" {self.unit}"]
        if elapsed > 0:
            parts.append(f"{self.done / elapsed:,.0f} {self.unit}/s")
        fraction = self.fraction if self.fraction is not None else (self.done / self.total if self.total else None)
        if fraction:
            fraction = min(fraction, 1.0)
            parts.append(f"{fraction:.0%}")
            if 0 < fraction < 1 and elapsed > 1:
                parts.append(f"{duration(elapsed * (1 - fraction) / fraction)} left")
        return " · ".join(parts)

    def _draw(self) -> None:
        text = self.line()
        self.stream.write("\r" + text + " " * max(0, self.width - len(text)))
        self.stream.flush()
        self.width = len(text)
        self.last_drawn = self.clock()

    def close(self) -> None:
        """Draw the final state and end the line (nothing when disabled; once)."""
        if self.enabled and not self.closed:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
        self.closed = True
