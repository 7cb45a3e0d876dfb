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

* the layers' working arrays, when the network's spec is given (:func:`scratch_values`):
  a convolution's unfolded input, a recurrent layer's gates at every step, attention's score
  matrices, other layers' masks and temporaries.

Values are ``dtype_bytes`` each (float32: 4). The data set itself (already loaded) is not
counted.
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
                             dtype_bytes: int = 4, spec=None) -> MemoryEstimate:
    """Estimate from a :class:`~nnstudio.core.engine.network.ShapeReport` (nodes without a
    shape count nothing); with the network's ``spec`` the layers' working arrays count too
    (:func:`scratch_values`)."""
    params = int(report.total_params)
    kind = str(optimizer or "adam").lower()
    buffers = OPTIMIZER_BUFFERS.get(kind, 2)
    values = sum(math.prod(n.shape) for n in report.nodes.values() if n.shape is not None)
    scratch = scratch_values(spec, report) if spec is not None else 0
    training = int(batch_size) * (2 * values + scratch)
    # Validation and scoring run forward only, in batches sized by Network.inference_batch
    # (up to 1,024 samples): for a small network with large working arrays (an LSTM, a
    # convolution on small images) that pass, not the training step, sets the peak.
    inference = min(1024, max(32, (1 << 21) // max(3 * values, 1))) * (values + scratch // 2)
    return MemoryEstimate(params=params, parameters=(2 + SAVED_COPIES) * params * dtype_bytes,
                          optimizer=buffers * params * dtype_bytes,
                          activations=max(training, inference) * dtype_bytes,
                          batch_size=int(batch_size))


#: Working arrays per sample a layer keeps between its forward and backward pass, beyond its
#: output, as multiples of a size it computes from its shapes (measured with tracemalloc on
#: one epoch of the templates: see tests/core/training/test_memory.py). Convolutions keep
#: their unfolded input ("im2col") and its gradient; recurrent layers every step's gates and
#: states; attention its score matrices (scores, weights, their gradients: h·T·T each).
CONV_COLUMN_COPIES = 3
RECURRENT_GATE_COPIES = 6
ATTENTION_MATRIX_COPIES = 8
ELEMENTWISE_COPIES = 2  # other layers: masks, saved inputs, a temporary of the output


def scratch_values(spec, report) -> int:
    """Values per sample the layers of ``spec`` hold besides their outputs (see above)."""
    preds: dict[str, list[str]] = {}
    for a, b in spec.edges:
        preds.setdefault(b, []).append(a)
    total = 0
    for node in spec.nodes:
        out = report.nodes.get(node.id)
        ins = [report.nodes[p].shape for p in preds.get(node.id, []) if p in report.nodes]
        if out is None or out.shape is None or not ins or ins[0] is None:
            continue
        c, shape, inp = node.config, tuple(out.shape), tuple(ins[0])
        kind = node.type
        if kind in ("Conv2D", "DepthwiseConv2D", "Conv1D", "Conv2DTranspose"):
            size = c.get("kernel_size") or 3  # a number means a square (or 1-D) window
            k = (math.prod(size) if isinstance(size, list | tuple)
                 else int(size) ** (1 if kind == "Conv1D" else 2))
            if kind == "Conv1D":
                cols = inp[-1] * k * shape[0]
            elif kind == "Conv2DTranspose":
                cols = shape[0] * k * math.prod(inp[1:])
            else:
                cols = inp[0] * k * math.prod(shape[1:])
            total += CONV_COLUMN_COPIES * cols
        elif kind in ("LSTM", "GRU", "SimpleRNN", "Bidirectional"):
            gates = {"LSTM": 4, "GRU": 3}.get(str(c.get("cell", kind)).upper()
                                              if kind == "Bidirectional" else kind, 1)
            units = int(c.get("units") or shape[-1])
            directions = 2 if kind == "Bidirectional" else 1
            total += RECURRENT_GATE_COPIES * directions * inp[0] * units * (gates + 1)
        elif kind == "MultiHeadAttention":
            t = inp[0]
            total += ATTENTION_MATRIX_COPIES * int(c.get("heads") or 1) * t * t
        else:
            total += ELEMENTWISE_COPIES * math.prod(shape)
    return total


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
    estimate = estimate_training_memory(report, int(getattr(config, "batch_size", 32)), kind,
                                        spec=spec)
    check_training_fits(estimate)
    return estimate
