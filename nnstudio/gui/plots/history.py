"""The numbers behind the live plots: per-epoch and smoothed per-batch series.

:class:`TrainingHistory` is plain NumPy (no Qt) so it can be filled from the training events,
asserted on in tests and written to CSV. Arrays grow by doubling, so appending an epoch or a
batch sample is O(1) and the plots get views (``history.epochs``, ``history.series("loss")``)
without copying.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np

from nnstudio.core.io.atomic import atomic_write_text

#: Per-epoch columns, in CSV order. ``metric``/``val_metric`` are accuracy or R².
EPOCH_COLUMNS = ("loss", "val_loss", "metric", "val_metric", "learning_rate")


class _Growing:
    """A float64 array that grows by doubling; ``view()`` is the filled part."""

    __slots__ = ("_data", "n")

    def __init__(self, capacity: int = 64):
        self._data = np.full(capacity, np.nan)
        self.n = 0

    def append(self, value: float) -> None:
        if self.n == len(self._data):
            grown = np.full(2 * len(self._data), np.nan)
            grown[: self.n] = self._data
            self._data = grown
        self._data[self.n] = value
        self.n += 1

    def extend(self, values) -> None:
        for v in values:
            self.append(v)

    def view(self) -> np.ndarray:
        return self._data[: self.n]


class TrainingHistory:
    """Loss, metric and learning rate per epoch, plus the smoothed batch loss.

    Parameters
    ----------
    metric_name:
        ``"accuracy"`` for classification, ``"r2"`` for regression.
    """

    def __init__(self, metric_name: str = "accuracy"):
        self.metric_name = metric_name
        #: A network with several outputs: the validation metric kept per output, as the
        #: trainer names it (``"price/r2"``, ``"sold/accuracy"``); read with
        #: ``series("out:" + key)``.
        self.outputs: list[str] = []
        self.clear()

    def set_outputs(self, keys: list[str]) -> None:
        """Keep these per-output validation metrics (``[]``: one output); clears."""
        self.outputs = list(keys)
        self.clear()

    def clear(self) -> None:
        """Forget every point (a new run)."""
        self._epochs = _Growing()
        self._cols = {name: _Growing() for name in EPOCH_COLUMNS}
        for key in self.outputs:
            self._cols["out:" + key] = _Growing()
        self._bx = _Growing(256)
        self._by = _Growing(256)

    # -- filling -----------------------------------------------------------------------------
    def add_epoch(self, event) -> None:
        """Append one :class:`~nnstudio.core.training.EpochEnd`."""
        m = self.metric_name
        self._epochs.append(event.epoch)
        self._cols["loss"].append(event.loss)
        self._cols["val_loss"].append(event.val_loss)
        self._cols["metric"].append(event.metrics.get(m, math.nan))
        self._cols["val_metric"].append(event.val_metrics.get(m, math.nan))
        self._cols["learning_rate"].append(event.learning_rate)
        for key in self.outputs:
            self._cols["out:" + key].append(event.val_metrics.get(key, math.nan))

    def add_batches(self, xs, ys) -> None:
        """Append samples of the smoothed batch loss (x in epochs)."""
        self._bx.extend(xs)
        self._by.extend(ys)

    # -- reading -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._epochs.n

    @property
    def epochs(self) -> np.ndarray:
        """Epoch numbers ``(E,)``, 1-based."""
        return self._epochs.view()

    def series(self, name: str) -> np.ndarray:
        """One per-epoch column ``(E,)`` by its name in :data:`EPOCH_COLUMNS` (or
        ``"out:<key>"`` of an output's validation metric)."""
        return self._cols[name].view()

    @property
    def batch_x(self) -> np.ndarray:
        return self._bx.view()

    @property
    def batch_y(self) -> np.ndarray:
        return self._by.view()

    def has_values(self, name: str) -> bool:
        """True when the column holds at least one finite value."""
        v = self.series(name)
        return bool(len(v)) and bool(np.isfinite(v).any())

    # -- export ------------------------------------------------------------------------------
    def to_csv(self) -> str:
        """The per-epoch history as CSV text with a header row."""
        m = self.metric_name
        names = {"metric": m, "val_metric": f"val_{m}"}
        cols = [c for c in EPOCH_COLUMNS if c in ("loss", "learning_rate") or self.has_values(c)]
        cols += ["out:" + k for k in self.outputs]
        names.update({"out:" + k: "val_" + k for k in self.outputs})
        out = io.StringIO()
        out.write(",".join(["epoch"] + [names.get(c, c) for c in cols]) + "\n")
        for i, epoch in enumerate(self.epochs):
            values = [f"{int(epoch)}"] + [_fmt(self.series(c)[i]) for c in cols]
            out.write(",".join(values) + "\n")
        return out.getvalue()

    def save_csv(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_csv` to ``path`` atomically (no partial file on error)."""
        atomic_write_text(path, self.to_csv())


def _fmt(v: float) -> str:
    return "" if not math.isfinite(v) else repr(float(v))
