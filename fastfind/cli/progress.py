"""A one-line batch status on stderr, only when stderr is a terminal (never under ``-q``).

``queries 120/1000  responses 5321  8.4 q/s  ETA 1:44  retries 2  splits 3`` -- redrawn at
most five times a second with a carriage return; :meth:`StatusLine.clear` removes it before
another line is logged and at the end.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..batch.engine import BatchProgress


def wanted(quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether to show a status line: stderr is a terminal and not ``-q``."""
    stream = stream or sys.stderr
    try:
        return not quiet and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    s = int(seconds)
    h, m = s // 3600, s // 60 % 60
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def status_text(p: BatchProgress) -> str:
    total = f"/{p.total}" if p.total is not None else ""
    text = f"queries {p.done}{total}  responses {p.responses}  {p.rate:.1f} q/s"
    eta = p.eta
    if eta is not None and p.done < (p.total or 0):
        text += f"  ETA {_clock(eta)}"
    if p.retries:
        text += f"  retries {p.retries}"
    if p.splits:
        text += f"  splits {p.splits}"
    return text


class StatusLine:
    """The progress callback of a batch: draws :func:`status_text` in place."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.2):
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last = 0.0
        self._shown = False
        self._latest: BatchProgress | None = None

    def __call__(self, p: BatchProgress) -> None:
        self._latest = p
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        self._draw(p)

    def _draw(self, p: BatchProgress) -> None:
        try:
            self.stream.write("\r" + status_text(p) + "\x1b[K")
            self.stream.flush()
            self._shown = True
        except (OSError, ValueError):
            pass

    def clear(self) -> None:
        if self._shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._shown = False

    def close(self) -> None:
        """Draw the last state once more, then leave the line (the summary follows)."""
        if self._latest is not None:
            self._draw(self._latest)
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._shown = False
