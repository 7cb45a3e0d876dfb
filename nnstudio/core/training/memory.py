"""Can this network learn, and does training it fit in this machine's memory?

:func:`estimate_training_memory` adds up what a training run holds at once, from the shape
report alone (nothing is allocated):

* parameters and their gradients: two flat buffers of ``P`` values, and the copies a run
  keeps (:data:`SAVED_COPIES`: the best weights for early stopping, the last good weights a
  diverging run goes back to, and the run record's initial weights for replay);
* optimizer state: Adam/AdamW keep two buffers of ``P`` (first and second moments),
  momentum/Nesterov SGD and RMSprop one, plain SGD none;
* activations at the batch size: every node's output ``(B, *shape)`` is kept for the
  backward pass, and the backward pass makes a gradient of the same size: ``2·B·Σ shape``.

Values are ``dtype_bytes`` each (float32: 4). The estimate leaves out NumPy temporaries and
the data set itself (already loaded), so it is a floor, not a ceiling.
:func:`check_training_fits` turns it into a refusal (no trainable parameter; more than the
machine can hold) or a warning (more than :data:`WARN_SHARE` of its memory).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from nnstudio.core.errors import ConfigError

#: Warn when training would take more than this share of the machine's memory.
WARN_SHARE = 0.5
#: Refuse when it would take more than this share of the memory available now.
REFUSE_SHARE = 0.9
#: Copies of the weights a training run keeps besides the weights themselves.
SAVED_COPIES = 3
#: Optimizer state buffers per parameter.
OPTIMIZER_BUFFERS = {"sgd": 0, "sgd_momentum": 1, "momentum": 1, "nesterov": 1,
                     "rmsprop": 1, "adam": 2, "adamw": 2}


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a training run holds at once (see the module docstring)."""

    params: int
    parameters: int  # weights, gradients and the saved copies
    optimizer: int
    activations: int
    batch_size: int

    @property
    def total(self) -> int:
        return self.parameters + self.optimizer + self.activations

    def describe(self) -> str:
        """``≈ 1.9 GB: weights and gradients 0.98 GB, optimizer 0.98 GB, activations …``."""
        return (f"≈ {format_bytes(self.total)}: weights, gradients and saved copies "
                f"{format_bytes(self.parameters)}, optimizer state "
                f"{format_bytes(self.optimizer)}, activations {format_bytes(self.activations)} "
                f"at batch size {self.batch_size}")


def format_bytes(n: float) -> str:
    """``512 B``, ``3.4 kB``, ``12 MB``, ``1.9 GB`` (powers of 1000, as people read them)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{int(n)} B"


def estimate_training_memory(report, batch_size: int, optimizer: str = "adam",
                             dtype_bytes: int = 4) -> MemoryEstimate:
    """Estimate from a :class:`~nnstudio.core.engine.network.ShapeReport` (nodes without a
    shape count nothing)."""
    params = int(report.total_params)
    kind = str(optimizer or "adam").lower()
    buffers = OPTIMIZER_BUFFERS.get(kind, 2)
    values = sum(math.prod(n.shape) for n in report.nodes.values() if n.shape is not None)
    return MemoryEstimate(params=params, parameters=(2 + SAVED_COPIES) * params * dtype_bytes,
                          optimizer=buffers * params * dtype_bytes,
                          activations=2 * int(batch_size) * values * dtype_bytes,
                          batch_size=int(batch_size))


def machine_memory() -> tuple[int, int]:
    """``(total, available)`` bytes of this machine's memory (available: what a new
    allocation can get without swapping; Linux's ``MemAvailable``)."""
    total = available = 0
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f
                    if line.split()[1:2] and line.split()[1].isdigit()}
        total, available = info.get("MemTotal", 0), info.get("MemAvailable", 0)
    except OSError:
        pass
    if not total:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = 0
    return total, available or total


def check_trainable(n_params: int) -> None:
    """ConfigError when there is nothing to learn."""
    if n_params <= 0:
        raise ConfigError("this network has no trainable parameter, so training cannot "
                          "change anything: add a layer with weights, such as Dense or Conv2D")


def check_training_fits(estimate: MemoryEstimate, memory: tuple[int, int] | None = None
                        ) -> str:
    """Refuse (ConfigError) what cannot learn or cannot fit; return a warning or ``""``.

    ``memory`` is ``(total, available)`` bytes (default: :func:`machine_memory`).
    """
    check_trainable(estimate.params)
    total, available = memory if memory is not None else machine_memory()
    if available and estimate.total > REFUSE_SHARE * available:
        raise ConfigError(
            f"training this network needs {estimate.describe()}, more than this machine "
            f"has free ({format_bytes(available)} of {format_bytes(total)}): make it "
            "smaller (fewer or narrower layers) or lower the batch size", "network")
    if total and estimate.total > WARN_SHARE * total:
        return (f"Training needs {estimate.describe()} — more than half of this machine's "
                f"{format_bytes(total)}")
    return ""


def training_fit(spec, input_shape: tuple, config) -> MemoryEstimate:
    """Estimate a run of ``config`` on the network ``spec`` and refuse what cannot learn or
    cannot fit (:func:`check_training_fits`); the estimate (with ``warning``) otherwise."""
    from nnstudio.core.engine.network import infer_shapes

    report = infer_shapes(spec, tuple(input_shape))
    opt = dict(getattr(config, "optimizer", {}) or {})
    kind = str(opt.get("type", "adam")).lower()
    if kind == "sgd" and opt.get("momentum"):
        kind = "sgd_momentum"
    estimate = estimate_training_memory(report, int(getattr(config, "batch_size", 32)), kind)
    check_training_fits(estimate)
    return estimate
