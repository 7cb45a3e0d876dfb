"""Reproducible runs: what a run started from, so it can be replayed bit for bit.

A :class:`RunRecord` holds the training seed (it orders the mini-batches), the split of the
data (its settings and, optionally, the index arrays), the initial weights and state, the
random generators of stochastic layers (dropout masks), the training settings and a
fingerprint of the training data. :meth:`RunRecord.replay` puts the network back where the
run started and trains again: on the same machine the loss curves are identical.

In a project file the record is plain JSON (:meth:`RunRecord.to_dict`) plus arrays
(:meth:`RunRecord.arrays`) stored next to the weights, never pickled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.engine.network import Network, NetworkSpec
from nnstudio.core.errors import ProjectError
from nnstudio.core.training.config import TrainingConfig
from nnstudio.core.training.control import TrainControl
from nnstudio.core.training.trainer import train

RECORD_VERSION = 1


def fingerprint(*arrays: np.ndarray) -> str:
    """A short SHA-256 of arrays' dtypes, shapes and bytes: equal data, equal fingerprint."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _rng_states(net: Network) -> dict[str, dict]:
    return {
        node_id: layer.rng.bit_generator.state
        for node_id, layer in net.layers.items()
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    }


@dataclass
class RunRecord:
    """Everything a run depends on besides the data itself.

    Attributes
    ----------
    seed:
        The training seed (batch order).
    training:
        ``TrainingConfig.to_dict()`` of the run.
    initial_params, initial_state:
        ``(P,)`` and ``(S,)`` copies of the network's flat buffers before the first step.
    rng_states:
        ``{node_id: bit generator state}`` of layers that draw random numbers (Dropout).
    split:
        How the data was split (e.g. ``{"seed": 0, "validation": 0.2, "test": 0.1}``).
    split_indices:
        Optional ``{"train": (n,), "validation": (m,), ...}`` int64 index arrays.
    data_fingerprint:
        :func:`fingerprint` of the training ``(x, y)``; empty when unknown.
    network:
        ``NetworkSpec.to_dict()`` of the network the weights belong to.
    """

    seed: int
    training: dict[str, Any]
    initial_params: np.ndarray
    initial_state: np.ndarray
    rng_states: dict[str, dict] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    split_indices: dict[str, np.ndarray] = field(default_factory=dict)
    data_fingerprint: str = ""
    network: dict[str, Any] = field(default_factory=dict)
    input_shape: tuple[int, ...] = ()
    dtype: str = "float32"

    @classmethod
    def capture(
        cls,
        net: Network,
        config: TrainingConfig,
        split: dict[str, Any] | None = None,
        split_indices: dict[str, np.ndarray] | None = None,
        train_data: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> RunRecord:
        """Record ``net`` as it is now, before ``train(net, config, ...)`` starts."""
        return cls(
            seed=int(config.seed),
            training=config.to_dict(),
            initial_params=net.params.copy(),
            initial_state=net.state.copy(),
            rng_states=_rng_states(net),
            split=dict(split or {}),
            split_indices={
                k: np.asarray(v, np.int64).copy() for k, v in (split_indices or {}).items()
            },
            data_fingerprint=fingerprint(*train_data) if train_data is not None else "",
            network=net.spec.to_dict(),
            input_shape=tuple(int(v) for v in net.input_shape),
            dtype=net.dtype.name,
        )

    def start_network(self) -> Network:
        """A new network of the recorded architecture, at the recorded initial weights: what
        "replay with the same initialization" trains."""
        if not self.network or not self.input_shape:
            raise ProjectError("the run record does not hold the network's architecture",
                               "replay")
        net = Network(NetworkSpec.from_dict(self.network), self.input_shape,
                      dtype=np.dtype(self.dtype), seed=None)
        self.restore(net)
        return net

    def config(self) -> TrainingConfig:
        """The recorded training settings."""
        return TrainingConfig.from_dict(dict(self.training), "replay.training")

    def restore(self, net: Network) -> None:
        """Put ``net`` back where the run started: initial weights, state and generators."""
        if (net.params.shape, net.state.shape) != (
            self.initial_params.shape, self.initial_state.shape
        ):
            raise ProjectError(
                f"the recorded run has {self.initial_params.size} weights but the network has "
                f"{net.params.size}: the network changed since the run was recorded",
                "replay",
            )
        net.params[...] = self.initial_params
        net.state[...] = self.initial_state
        for node_id, state in self.rng_states.items():
            layer = net.layers.get(node_id)
            if layer is not None and hasattr(layer, "rng"):
                layer.rng = np.random.default_rng()
                layer.rng.bit_generator.state = state

    def check_data(self, train_data: tuple[np.ndarray, np.ndarray]) -> None:
        """Raise :class:`ProjectError` when ``train_data`` is not the recorded data."""
        if self.data_fingerprint and fingerprint(*train_data) != self.data_fingerprint:
            raise ProjectError(
                "the training data differ from the recorded run's (another file, split or "
                "preparation), so a replay would not give the same curves",
                "replay",
            )

    def replay(
        self,
        net: Network,
        train_data: tuple[np.ndarray, np.ndarray],
        val_data: tuple[np.ndarray, np.ndarray] | None = None,
        control: TrainControl | None = None,
    ) -> Iterator:
        """Restore the start of the run and train again with the recorded settings.

        Returns the trainer's event generator (see :func:`nnstudio.core.training.train`).
        """
        self.check_data(train_data)
        self.restore(net)
        return train(net, self.config(), train_data, val_data, control=control)

    # -- project file ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON part (arrays go through :meth:`arrays`)."""
        return {
            "version": RECORD_VERSION,
            "seed": self.seed,
            "training": self.training,
            "rng_states": _jsonable(self.rng_states),
            "split": self.split,
            "data_fingerprint": self.data_fingerprint,
            "network": self.network,
            "input_shape": list(self.input_shape),
            "dtype": self.dtype,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The array part, under names safe for an ``.npz``."""
        out = {"initial_params": self.initial_params, "initial_state": self.initial_state}
        out.update({f"split_{k}": v for k, v in self.split_indices.items()})
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], arrays: dict[str, np.ndarray]) -> RunRecord:
        """Rebuild a record from :meth:`to_dict` and :meth:`arrays` output."""
        if not isinstance(d, dict) or "seed" not in d:
            raise ProjectError("the run record is incomplete", "replay")
        if int(d.get("version", 1)) > RECORD_VERSION:
            raise ProjectError(
                f"the run record has version {d['version']}, newer than this nnstudio reads "
                f"({RECORD_VERSION})",
                "replay",
            )
        try:
            params = np.asarray(arrays["initial_params"])
            state = np.asarray(arrays["initial_state"])
        except KeyError as e:
            raise ProjectError(f"the run record has no {e.args[0]} array", "replay") from None
        return cls(
            seed=int(d["seed"]),
            training=dict(d.get("training", {})),
            initial_params=params.copy(),
            initial_state=state.copy(),
            rng_states=_from_json(d.get("rng_states", {})),
            split=dict(d.get("split", {})),
            split_indices={
                k[len("split_"):]: np.asarray(v, np.int64)
                for k, v in arrays.items() if k.startswith("split_")
            },
            data_fingerprint=str(d.get("data_fingerprint", "")),
            network=dict(d.get("network", {})),
            input_shape=tuple(int(v) for v in d.get("input_shape", ())),
            dtype=str(d.get("dtype", "float32")),
        )


def _jsonable(value: Any) -> Any:
    """Bit-generator states hold big ints; JSON keeps them exactly as decimal strings."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"__int__": str(int(value))}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__int__"}:
            return int(value["__int__"])
        return {k: _from_json(v) for k, v in value.items()}
    return value
