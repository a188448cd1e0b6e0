"""A one-line progress bar for long commands, drawn only on a terminal."""

from __future__ import annotations

import time

from django.core.management.base import OutputWrapper


class ProgressBar:
    """``label [#####.....]  42%  123,456 lines`` redrawn in place at most ten times a second.

    Silent when ``enabled`` is false (output is not a terminal), so logs and
    pipes get no control characters.
    """

    WIDTH = 30
    INTERVAL = 0.1

    def __init__(self, stream: OutputWrapper, *, total: int, label: str, enabled: bool) -> None:
        self.stream = stream
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.done = 0
        self.count = 0
        self._drawn_at = 0.0
        self._visible = False

    def advance(self, amount: int, *, count: int = 1) -> None:
        self.done += amount
        self.count += count
        if self.enabled and time.monotonic() - self._drawn_at >= self.INTERVAL:
            self.draw()

    def draw(self) -> None:
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * self.WIDTH)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {fraction:4.0%}  {self.count:,} lines", ending="")
        self.stream.flush()
        self._drawn_at = time.monotonic()
        self._visible = True

    def clear(self) -> None:
        """Wipe the bar so a message can be printed on a clean line."""
        if self._visible:
            self.stream.write("\r" + " " * (len(self.label) + self.WIDTH + 30) + "\r", ending="")
            self.stream.flush()
            self._visible = False

    def finish(self) -> None:
        if self.enabled:
            self.done = self.total
            self.draw()
            self.stream.write("")
            self.stream.flush()
            self._visible = False
