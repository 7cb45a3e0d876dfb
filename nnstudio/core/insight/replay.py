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
from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.training.config import TrainingConfig
from nnstudio.core.training.control import TrainControl
from nnstudio.core.training.trainer import train

RECORD_VERSION = 1


def fingerprint(*arrays: np.ndarray) -> str:
    """A short SHA-256 of arrays' dtypes, shapes and bytes: equal data, equal fingerprint.

    Reads the arrays in place (no copy of a contiguous array); ``hashlib`` releases the GIL
    while it hashes, so another thread may compute this while the GUI thread runs (≈ 15 ms
    for 20 MB).
    """
    h = hashlib.sha256()
    for a in arrays:
        if getattr(a, "lazy_batches", False):  # images/sounds: hashed from their cache
            h.update(a.digest().encode())
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        if a.size:
            h.update(memoryview(a.reshape(-1)).cast("B"))
    return h.hexdigest()[:16]


def data_fingerprint(
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray] | None = None,
) -> str:
    """:func:`fingerprint` of what a run trains on: the training ``(x, y)`` and, when given,
    the validation ``(x, y)`` (it decides early stopping and the validation curve)."""
    return fingerprint(*train_data, *(val_data if val_data is not None else ()))


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
        How the data was split (e.g. ``{"train": 0.7, "validation": 0.15, "seed": 0}``).
    split_indices:
        Optional ``{"train": (n,), "validation": (m,), ...}`` int64 row indices.
    data_fingerprint:
        :func:`data_fingerprint` of the training (and validation) data; empty when unknown.
    network:
        ``NetworkSpec.to_dict()`` of the network the weights belong to.
    input_shape, dtype:
        The network's per-sample input shape and float type.
    input_columns:
        ``{Input id: [prepared-matrix columns]}`` of a network whose Inputs take chosen
        columns of a table (None otherwise).
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
    input_columns: dict[str, list[int]] | None = None

    @classmethod
    def capture(
        cls,
        net: Network,
        config: TrainingConfig,
        split: dict[str, Any] | None = None,
        split_indices: dict[str, np.ndarray] | None = None,
        train_data: tuple[np.ndarray, np.ndarray] | None = None,
        val_data: tuple[np.ndarray, np.ndarray] | None = None,
        data_fp: str | None = None,
    ) -> RunRecord:
        """Record ``net`` as it is now, before ``train(net, config, ...)`` starts.

        The data fingerprint is ``data_fp`` when given (computed ahead, e.g. in a background
        thread), else :func:`data_fingerprint` of ``train_data`` and ``val_data``.
        """
        if data_fp is None:
            data_fp = data_fingerprint(train_data, val_data) if train_data is not None else ""
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
            data_fingerprint=data_fp,
            network=_plain(net.spec.to_dict()),
            input_shape=tuple(int(v) for v in net.input_shape),
            dtype=net.dtype.name,
            input_columns=None if net.input_columns is None else {
                k: [int(j) for j in v] for k, v in net.input_columns.items()},
        )

    def start_network(self) -> Network:
        """A new network of the recorded architecture, at the recorded initial weights: what
        "replay with the same initialization" trains."""
        if not self.network or not self.input_shape:
            raise ProjectError("the run record does not hold the network's architecture",
                               "replay")
        columns = None if self.input_columns is None else {
            k: np.asarray(v, np.intp) for k, v in self.input_columns.items()}
        net = Network(NetworkSpec.from_dict(self.network), self.input_shape,
                      dtype=np.dtype(self.dtype), seed=None, input_columns=columns)
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

    def data_changed(
        self,
        train_data: tuple[np.ndarray, np.ndarray],
        val_data: tuple[np.ndarray, np.ndarray] | None = None,
        data_fp: str | None = None,
    ) -> bool:
        """True when the data are known to differ from the recorded run's."""
        if not self.data_fingerprint:
            return False
        if data_fp is None:
            data_fp = data_fingerprint(train_data, val_data)
        return data_fp != self.data_fingerprint

    def check_data(
        self,
        train_data: tuple[np.ndarray, np.ndarray],
        val_data: tuple[np.ndarray, np.ndarray] | None = None,
        data_fp: str | None = None,
    ) -> None:
        """Raise :class:`ProjectError` when the data are not the recorded run's."""
        if self.data_changed(train_data, val_data, data_fp):
            raise ProjectError(
                "the training data differ from the recorded run's (another file, split or "
                "preparation), so a replay would not give the same curves",
                "replay",
            )

    def network_changes(self, spec: NetworkSpec | dict[str, Any],
                        input_shape: tuple[int, ...] | None = None) -> list[str]:
        """How a network differs from the recorded one, one readable line per difference
        (``[]`` when it is the same architecture)."""
        current = _plain(spec.to_dict() if isinstance(spec, NetworkSpec) else spec)
        out = describe_network_changes(self.network, current)
        if input_shape is not None and tuple(input_shape) != tuple(self.input_shape):
            out.insert(0, f"the input shape is {tuple(input_shape)}, the recorded run's was "
                          f"{tuple(self.input_shape)}")
        return out

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
        self.check_data(train_data, val_data)
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
            # Only when the Inputs take chosen columns: other records stay as they were.
            **({"input_columns": self.input_columns} if self.input_columns is not None
               else {}),
        }

    def arrays(self) -> dict[str, np.ndarray]:
        """The array part, under names safe for an ``.npz``."""
        out = {"initial_params": self.initial_params, "initial_state": self.initial_state}
        out.update({f"split_{k}": v for k, v in self.split_indices.items()})
        return out

    @classmethod
    def from_dict(cls, d: Any, arrays: dict[str, np.ndarray], where: str = "run") -> RunRecord:
        """Rebuild and check a record from :meth:`to_dict` and :meth:`arrays` output.

        Raises
        ------
        ProjectError
            One readable message naming the faulty field (``where`` + ``.field``): a missing
            or mistyped field, a newer record version, arrays that do not fit the network.
        """
        if not isinstance(d, dict):
            raise ProjectError("must be an object", where)
        version = d.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ProjectError(f"must be a whole number (got {version!r})", f"{where}.version")
        if version > RECORD_VERSION:
            raise ProjectError(
                f"the run record has version {version}, newer than this nnstudio reads "
                f"({RECORD_VERSION})",
                where,
            )
        if "seed" not in d:
            raise ProjectError("the run record is incomplete: it has no seed", where)
        seed = _whole(d["seed"], f"{where}.seed")
        training = _object(d.get("training", {}), f"{where}.training")
        try:
            TrainingConfig.from_dict(dict(training), f"{where}.training")
        except NNStudioError as e:
            raise ProjectError(e.message, e.where or f"{where}.training") from None
        except (TypeError, ValueError) as e:
            raise ProjectError(f"has an invalid value ({e})", f"{where}.training") from None
        network = _object(d.get("network", {}), f"{where}.network")
        raw_shape = d.get("input_shape", [])
        if not isinstance(raw_shape, list):
            raise ProjectError(f"must be a list of sizes (got {raw_shape!r})",
                               f"{where}.input_shape")
        input_shape = tuple(_whole(v, f"{where}.input_shape", 1) for v in raw_shape)
        dtype = d.get("dtype", "float32")
        if dtype not in ("float32", "float64"):
            raise ProjectError(f"must be 'float32' or 'float64' (got {dtype!r})",
                               f"{where}.dtype")
        rng_states = _from_json(_object(d.get("rng_states", {}), f"{where}.rng_states"))
        for node_id, state in rng_states.items():
            try:
                np.random.default_rng().bit_generator.state = state
            except (TypeError, ValueError, KeyError) as e:
                raise ProjectError(f"is not a random generator state ({e})",
                                   f"{where}.rng_states.{node_id}") from None
        split = _object(d.get("split", {}), f"{where}.split")
        data_fp = d.get("data_fingerprint", "")
        if not isinstance(data_fp, str):
            raise ProjectError(f"must be text (got {data_fp!r})", f"{where}.data_fingerprint")
        params = _vector(arrays, "initial_params", where)
        state = _vector(arrays, "initial_state", where)
        split_indices = {}
        for k, v in arrays.items():
            if k.startswith("split_"):
                v = np.asarray(v)
                if v.ndim != 1 or v.dtype.kind not in "iu":
                    raise ProjectError("must be a list of whole-number row indices",
                                       f"{where}: split_{k[len('split_'):]}")
                split_indices[k[len("split_"):]] = v.astype(np.int64)
        input_columns = _input_columns(d.get("input_columns"), input_shape,
                                       f"{where}.input_columns")
        record = cls(
            seed=seed, training=dict(training), initial_params=params, initial_state=state,
            rng_states=rng_states, split=dict(split), split_indices=split_indices,
            data_fingerprint=data_fp, network=_plain(network), input_shape=input_shape,
            dtype=dtype, input_columns=input_columns,
        )
        if network:  # the weights must fit the architecture they claim to belong to
            try:
                record.start_network()
            except ProjectError as e:
                raise ProjectError(e.message, where) from None
            except NNStudioError as e:
                raise ProjectError(f"its network cannot be built: {e}",
                                   f"{where}.network") from None
            except (TypeError, ValueError, KeyError, AttributeError) as e:
                raise ProjectError(f"its network is malformed ({type(e).__name__}: {e})",
                                   f"{where}.network") from None
        return record


def describe_network_changes(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Readable differences between two ``NetworkSpec.to_dict()`` records: layers added,
    removed, retyped or with other settings, and rewired connections."""
    def nodes(d: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {str(n.get("id")): n for n in d.get("nodes", []) if isinstance(n, dict)}

    old, new = nodes(recorded), nodes(current)
    out = []
    removed = [k for k in old if k not in new]
    added = [k for k in new if k not in old]
    if removed:
        out.append("layer(s) removed: " + ", ".join(removed))
    if added:
        out.append("layer(s) added: " + ", ".join(added))
    for k in old:
        if k not in new:
            continue
        a, b = old[k], new[k]
        if a.get("type") != b.get("type"):
            out.append(f"layer {k!r} is a {b.get('type')}, it was a {a.get('type')}")
            continue
        for key in sorted((set(a) | set(b)) - {"id", "type", "pos"}):
            if a.get(key) != b.get(key):
                out.append(f"layer {k!r} has {key} {b.get(key)!r}, it was {a.get(key)!r}")
    old_edges = [list(e) for e in recorded.get("edges", [])]
    if not added and not removed and old_edges != [list(e) for e in current.get("edges", [])]:
        out.append("the layers are connected differently")
    return out


def _input_columns(value: Any, input_shape: tuple[int, ...], where: str
                   ) -> dict[str, list[int]] | None:
    """A record's ``input_columns``: ``{Input id: [column, ...]}`` of whole numbers inside
    the recorded sample (``None`` when absent)."""
    if value is None:
        return None
    width = input_shape[0] if len(input_shape) == 1 else 0
    out = {}
    for node, cols in _object(value, where).items():
        if not isinstance(cols, list) or not cols:
            raise ProjectError("must be a non-empty list of column numbers", f"{where}.{node}")
        out[str(node)] = [_whole(c, f"{where}.{node}") for c in cols]
        if any(c >= width for c in out[str(node)]):
            raise ProjectError(f"takes a column past the sample's {width}", f"{where}.{node}")
    return out


def _plain(value: Any) -> Any:
    """Tuples as lists, as JSON gives them back: records compare equal across a save."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _whole(value: Any, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ProjectError(f"must be a whole number ≥ {minimum} (got {value!r})", where)
    return int(value)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProjectError(f"must be an object (got {type(value).__name__})", where)
    return value


def _vector(arrays: dict[str, np.ndarray], key: str, where: str) -> np.ndarray:
    if key not in arrays:
        raise ProjectError(f"the run record has no {key} array", where)
    v = np.asarray(arrays[key])
    if v.ndim != 1 or v.dtype.kind != "f":
        raise ProjectError(f"must be a 1-D array of floats (got {v.dtype} of shape {v.shape})",
                           f"{where}: {key}")
    return v.copy()


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
            try:
                return int(value["__int__"])
            except (TypeError, ValueError):
                raise ProjectError(f"is not a whole number: {value['__int__']!r}",
                                   "run.rng_states") from None
        return {k: _from_json(v) for k, v in value.items()}
    return value
