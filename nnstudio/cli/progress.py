"""Training progress for a terminal: a one-line bar, or quiet per-epoch lines when piped.

On a TTY the bar is redrawn in place with a carriage return at most ten times a second::

    epoch 12/200 ██████░░░░░░ batch 34/50  loss 0.1234  val 0.2345  ETA 0:42

When the stream is not a terminal (a log file, a pipe, CI) nothing is redrawn: one plain line
per epoch, at most about one a second (the first and the last epoch always), so logs stay
short.
"""

from __future__ import annotations

import math
import shutil
import time
from typing import TextIO

from nnstudio.core.training import BatchEnd, EpochEnd, TrainingFinished


def fmt_seconds(s: float) -> str:
    """``0:42``, ``12:05``, ``1:02:03``; ``--:--`` when unknown."""
    if not math.isfinite(s) or s < 0:
        return "--:--"
    s = round(s)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_loss(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:.4g}"


class Progress:
    """Callable that renders trainer events to ``stream``.

    Parameters
    ----------
    stream:
        Where to write (the CLI uses stderr so that stdout keeps only the result).
    tty:
        Redraw a bar in place (True) or print plain epoch lines (False).
    epochs:
        The planned number of epochs (for the bar and the ETA).
    min_interval:
        Seconds between redraws (bar) or between epoch lines (plain).
    """

    def __init__(
        self, stream: TextIO, tty: bool, epochs: int | None = None,
        min_interval: float | None = None,
    ):
        self.stream = stream
        self.epochs = epochs
        self.tty = tty
        self.min_interval = min_interval if min_interval is not None else (0.1 if tty else 1.0)
        self._last = -math.inf
        self._val_loss = math.nan
        self._epoch_loss = math.nan
        self._drawn = False

    def __call__(self, event: object) -> None:
        now = time.monotonic()
        if isinstance(event, BatchEnd):
            if self.tty and now - self._last >= self.min_interval:
                self._draw_bar(event)
                self._last = now
        elif isinstance(event, EpochEnd):
            self._val_loss, self._epoch_loss = event.val_loss, event.loss
            self.epochs = event.epochs
            first_or_last = event.epoch in (1, event.epochs)
            if not self.tty and (first_or_last or now - self._last >= self.min_interval):
                self._line(self._epoch_text(event))
                self._last = now
        elif isinstance(event, TrainingFinished) and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

    # -- rendering -----------------------------------------------------------------------
    def _epoch_text(self, e: EpochEnd) -> str:
        parts = [f"epoch {e.epoch}/{e.epochs}", f"loss {fmt_loss(e.loss)}"]
        if math.isfinite(e.val_loss):
            parts.append(f"val_loss {fmt_loss(e.val_loss)}")
        for k in ("accuracy", "r2"):  # scale-free: the others are in the scaled target units
            if k in e.val_metrics:
                parts.append(f"val_{k} {e.val_metrics[k]:.4g}")
        left = e.elapsed / e.epoch * (e.epochs - e.epoch) if e.epoch else math.nan
        parts.append(f"ETA {fmt_seconds(left)}")
        return "  ".join(parts) + ("  *" if e.improved else "")

    def _draw_bar(self, b: BatchEnd) -> None:
        epochs = self.epochs
        total = (epochs or b.epoch) * b.n_batches
        done = (b.epoch - 1) * b.n_batches + b.batch
        frac = min(1.0, done / total) if total else 1.0
        eta = b.elapsed * (1 - frac) / frac if frac > 0 and epochs else math.nan
        head = f"epoch {b.epoch}/{epochs or '?'} "
        tail = (
            f" batch {b.batch}/{b.n_batches}  loss {fmt_loss(b.loss)}"
            f"  val {fmt_loss(self._val_loss)}  ETA {fmt_seconds(eta)}"
        )
        width = shutil.get_terminal_size((100, 20)).columns - 1
        bar_w = max(0, min(30, width - len(head) - len(tail) - 2))
        filled = round(frac * bar_w)
        bar = "█" * filled + "░" * (bar_w - filled)
        text = (head + bar + tail)[:width]
        self.stream.write("\r" + text.ljust(width))
        self.stream.flush()
        self._drawn = True

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
