"""Divergence that never reaches infinity: a loss that explodes, or a run that ends worse
than always predicting the same value.

A NaN or infinite loss is caught batch by batch in the trainer. Adam at a learning rate of
1e6 does something else: the epoch losses grow to 1e19–1e27 and stay finite, the run
"completes", and the model predicts worse than a constant guess. :class:`DivergenceWatch`
compares, once per epoch (never per batch), the training loss with two references measured
before training:

``trivial``
    the loss of the best constant prediction on the training targets (the class frequencies
    for cross-entropy, the column means for MSE and binary cross-entropy, the medians for
    MAE) — what a network that learned nothing could score;
``initial``
    the loss of the untrained network on (up to 1,024 of) the training samples.

The run has diverged when an epoch's training loss exceeds :data:`EXPLODE_FACTOR` times the
larger reference, or when it ends with a training loss above :data:`WORSE_FACTOR` × the
trivial loss *and* :data:`WORSE_FACTOR` × the initial loss: training made the network clearly
worse than both doing nothing and guessing a constant. A short run that has merely not learned
yet (an untrained network often starts worse than a constant guess) stays near its initial
loss and is not flagged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.engine.network import Network
from nnstudio.core.training.evaluate import evaluate, prepare_targets

#: An epoch's training loss this many times the reference is an explosion.
EXPLODE_FACTOR = 1e3
#: A run that ends with a loss this many times the constant guess's and its initial loss has
#: failed.
WORSE_FACTOR = 1.5
#: Samples used to measure the untrained network's loss.
INITIAL_SAMPLES = 1024
_EPS = 1e-7


def trivial_loss(y: np.ndarray, loss_name: str) -> float:
    """Loss of the best constant prediction on targets ``y`` (as given to the trainer:
    class indices ``(N,)`` or one-hot/values ``(N, K)``), with the loss's own averaging."""
    y = prepare_targets(y, loss_name, np.float64)
    if len(y) == 0:
        return math.nan
    if loss_name == "cross_entropy":
        if y.ndim == 1:
            counts = np.bincount(y.astype(np.int64, copy=False).clip(0))
            p = counts[counts > 0] / len(y)
            return float(-(p * np.log(p)).sum())
        flat = y.reshape(-1, y.shape[-1]).astype(np.float64)
        p = np.clip(flat.mean(axis=0), _EPS, None)
        return float(-(flat * np.log(p)).sum() / len(y))
    flat = y.reshape(len(y), -1).astype(np.float64)
    if loss_name == "mse":
        return float(np.mean((flat - flat.mean(axis=0)) ** 2))
    if loss_name == "mae":
        return float(np.mean(np.abs(flat - np.median(flat, axis=0))))
    if loss_name == "binary_cross_entropy":
        p = np.clip(flat.mean(axis=0), _EPS, 1 - _EPS)
        return float(-np.mean(flat * np.log(p) + (1 - flat) * np.log1p(-p)))
    return math.nan


@dataclass
class DivergenceWatch:
    """The two references of a run and the checks against them (see the module docstring)."""

    trivial: float
    initial: float

    @classmethod
    def start(cls, net: Network, x: np.ndarray, y: np.ndarray, loss_name: str,
              heads: Any = None) -> DivergenceWatch:
        """Measure the references before the first step (``x``/``y``: the training split;
        ``heads``: the :class:`~nnstudio.core.training.heads.Heads` of a network with
        several outputs, whose weighted loss is watched instead of ``loss_name``)."""
        with np.errstate(all="ignore"):
            k = min(len(x), INITIAL_SAMPLES)
            if heads is not None:
                trivial = heads.trivial_loss(y)
                initial = float(heads.evaluate(x[:k], y[:k])["loss"]) if k else math.nan
                return cls(trivial, initial)
            trivial = trivial_loss(y, loss_name)
            initial = float(evaluate(net, x[:k], y[:k], loss_name)["loss"]) if k else math.nan
        return cls(trivial, initial)

    @property
    def reference(self) -> float:
        refs = [r for r in (self.trivial, self.initial) if math.isfinite(r) and r > 0]
        return max(refs) if refs else math.nan

    def exploded(self, epoch: int, train_loss: float, lr: float) -> str | None:
        """The message when this epoch's training loss has exploded, else None."""
        ref = self.reference
        if not (math.isfinite(ref) and train_loss > EXPLODE_FACTOR * ref):
            return None
        return (f"training diverged at epoch {epoch}: the training loss reached "
                f"{train_loss:.3g}, more than {EXPLODE_FACTOR:g} times where it started "
                f"({self.initial:.3g}) and a constant guess ({self.trivial:.3g}); try a lower "
                f"learning rate (now {lr:g}) or gradient clipping")

    def ended_worse(self, epochs: int, train_loss: float, lr: float) -> str | None:
        """The message when the run ends worse than a constant guess and than its start."""
        if not (math.isfinite(self.trivial) and self.trivial > 0 and math.isfinite(train_loss)):
            return None
        if train_loss <= WORSE_FACTOR * self.trivial:
            return None
        if math.isfinite(self.initial) and train_loss <= WORSE_FACTOR * self.initial:
            return None
        return (f"training failed: after {epochs} epoch(s) the training loss is "
                f"{train_loss:.3g}, worse than where it started ({self.initial:.3g}) and than "
                f"a constant guess ({self.trivial:.3g}); the learning rate "
                f"(now {lr:g}) is probably too high")
