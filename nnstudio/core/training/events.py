"""Progress events yielded by :func:`nnstudio.core.training.train`.

Plain frozen dataclasses: the Qt worker forwards them through queued signals, the CLI prints
them, tests assert on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BatchEnd:
    """One optimizer step is done (``epoch`` and ``batch`` are 1-based)."""

    epoch: int
    batch: int
    n_batches: int
    loss: float
    learning_rate: float
    elapsed: float


@dataclass(frozen=True)
class EpochEnd:
    """An epoch is done; validation metrics are those of the whole validation split.

    ``metrics``/``val_metrics`` hold ``accuracy`` for classification, ``r2``/``mae``/``rmse``
    for regression. ``val_loss`` is ``nan`` without validation data.
    """

    epoch: int
    epochs: int
    loss: float
    val_loss: float
    metrics: dict[str, float]
    val_metrics: dict[str, float]
    learning_rate: float
    elapsed: float
    improved: bool
    best_epoch: int


@dataclass(frozen=True)
class TrainingFinished:
    """The run ended.

    ``reason``: ``"completed"``, ``"early_stopping"``, ``"stopped"`` (by the user) or
    ``"diverged"`` (NaN/inf loss; ``message`` says where and what to try). After early stopping
    or a user stop the network holds the best weights by validation loss (training loss
    without validation data); after a divergence, those of the last finished epoch.
    """

    reason: str
    epochs_run: int
    best_epoch: int
    elapsed: float
    message: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
