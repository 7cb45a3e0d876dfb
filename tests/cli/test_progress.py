"""The progress display: a redrawn bar on a terminal, quiet epoch lines when piped."""

from __future__ import annotations

import io
import math

from nnstudio.cli.progress import Progress, fmt_seconds
from nnstudio.core.training import BatchEnd, EpochEnd, TrainingFinished


def _epoch(i, n=50, improved=True):
    return EpochEnd(i, n, 0.5 / i, 0.6 / i, {"accuracy": 0.9}, {"accuracy": 0.8}, 1e-3,
                    0.1 * i, improved, i)


def test_tty_bar_redraws_in_place():
    out = io.StringIO()
    p = Progress(out, tty=True, epochs=50, min_interval=0)
    p(BatchEnd(1, 3, 10, 0.25, 1e-3, 0.5))
    p(_epoch(1))
    p(BatchEnd(2, 5, 10, 0.2, 1e-3, 1.0))
    p(TrainingFinished("completed", 2, 2, 1.0))
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "epoch 2/50" in text and "batch 5/10" in text and "loss 0.2" in text
    assert "val 0.6" in text and "ETA" in text
    assert "\n" not in text[:-1]  # one line, redrawn


def test_piped_output_is_quiet_lines():
    out = io.StringIO()
    p = Progress(out, tty=False, min_interval=3600)
    for i in range(1, 51):
        p(BatchEnd(i, 1, 10, 0.25, 1e-3, 0.5))
        p(_epoch(i))
    p(TrainingFinished("completed", 50, 50, 5.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2  # the first and the last epoch; the rest is throttled
    assert lines[0].startswith("epoch 1/50  loss 0.5  val_loss 0.6  val_accuracy 0.8")
    assert lines[1].startswith("epoch 50/50") and "\r" not in out.getvalue()


def test_fmt_seconds():
    assert fmt_seconds(42) == "0:42"
    assert fmt_seconds(3723) == "1:02:03"
    assert fmt_seconds(math.nan) == "--:--"
