"""The model file (``.npz``, no pickle): a trained network with everything prediction needs.

Entries of the ``.npz`` (every one is a plain numeric array or a 0-d unicode string; nothing
needs pickle, and :func:`load_model` reads with ``allow_pickle=False``):

``"<node id>/<name>"``
    Every parameter and state array, e.g. ``h1/W`` ``(inputs, units)`` and ``h1/b``
    ``(units,)`` for a Dense layer (the other layers: ``docs/files-and-cli.md``).
``format``
    JSON ``{"format": "nnstudio.model", "version": 1, "nnstudio": "0.1.0"}``.
``architecture``
    JSON: the project file's ``network`` section (``nodes``, ``edges``) plus
    ``input_shape`` and ``dtype``.
``preparation``
    JSON: the fitted :class:`~nnstudio.core.data.Preparation` (scalers, category lists,
    class names, target scaling).
``training``
    JSON: ``task``, ``loss``, ``class_names``, ``target_names``, the training settings,
    the ``summary`` (epochs, seconds, stop reason, metrics per split) and the ``history``
    (per-epoch loss and metrics).
``reference`` (optional)
    JSON: a compact summary of the training split (per-feature quantiles, category counts,
    missing shares; the distribution of targets and predictions) that monitoring compares new
    data with (:mod:`nnstudio.core.monitor.reference`). Files without it still load.
"""

from __future__ import annotations

import copy
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.data.npyfile import check_entries
from nnstudio.core.data.target_heads import MULTI_OUTPUT, decode_outputs, decode_values
from nnstudio.core.engine import losses as engine_losses
from nnstudio.core.engine import metrics as engine_metrics
from nnstudio.core.engine.network import Network, NetworkSpec
from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.fileaccess import read_file_head
from nnstudio.core.io.atomic import atomic_open
from nnstudio.core.io.jsonfmt import JSONCheckError, loads_checked
from nnstudio.core.io.netcheck import check_network
from nnstudio.core.training.evaluate import evaluate, is_classification

MODEL_FORMAT = "nnstudio.model"
#: The model format version this nnstudio writes (and the newest it reads).
MODEL_VERSION = 1
#: The JSON entries of a model file (every other entry is a ``node/name`` array).
JSON_ENTRIES = ("format", "architecture", "preparation", "training")
#: JSON entries a model file may hold (older files lack them).
OPTIONAL_JSON_ENTRIES = ("reference",)


@dataclass
class Predictions:
    """Predictions in the user's terms.

    Attributes
    ----------
    values:
        Classification: class names, str ``(N,)``. Regression: float64 ``(N, k)`` in the
        target's own units.
    probabilities:
        Classification: float ``(N, K)``, one column per class of :attr:`class_names`
        (a sigmoid output ``p`` becomes ``[1 − p, p]``). ``None`` for regression.
    class_names, target_names:
        Column labels for the two arrays.
    outputs:
        A network with several outputs: ``{target: Predictions}`` of each, in output order;
        ``values`` is then an object array ``(N, H)`` (a class name or a number per target)
        and ``probabilities`` is None.
    """

    values: np.ndarray
    probabilities: np.ndarray | None
    class_names: list[str]
    target_names: list[str]
    outputs: dict[str, Predictions] | None = None

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class TrainedModel:
    """A trained network together with its data preparation and training record.

    Attributes
    ----------
    network:
        The built network holding the trained weights.
    preparation:
        The fitted :class:`~nnstudio.core.data.Preparation` (raw values → network inputs,
        outputs → class names or values in the user's units); ``None`` for a bare network.
    task:
        ``"classification"`` or ``"regression"``.
    class_names:
        The classes in output order (empty for regression).
    loss:
        The loss the network was trained with.
    summary:
        ``epochs``, ``seconds``, ``reason``, ``best_epoch``, ``metrics`` per split, ...
    history:
        Per-epoch lists (``loss``, ``val_loss``, ``accuracy``, ...).
    architecture:
        The project's ``network`` section (with canvas positions); the spec's own dict when
        the model was not built from a project.
    training_config:
        The training settings as a dict.
    reference:
        Summary statistics of the training split for monitoring (``None`` when unknown).
    """

    network: Network
    preparation: Any
    task: str
    class_names: list[str]
    loss: str
    summary: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)
    architecture: dict[str, Any] | None = None
    training_config: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] | None = None

    # -- building ------------------------------------------------------------------------
    @classmethod
    def from_training(
        cls, network: Network, prepared: Any, config: Any, spec: Any = None,
        summary: dict | None = None, history: dict | None = None,
        architecture: dict | None = None,
    ) -> TrainedModel:
        """Wrap a trained network and the :class:`~nnstudio.core.data.PreparedData` it was
        trained on. ``config`` is the :class:`~nnstudio.core.training.TrainingConfig`;
        ``spec`` (the DatasetSpec) is accepted for symmetry and not needed."""
        loss = getattr(config, "loss", None) or "mse"
        task = getattr(prepared, "task", None) or (
            "classification" if is_classification(loss) else "regression"
        )
        to_dict = getattr(config, "to_dict", None)
        model = cls(
            network=network,
            preparation=getattr(prepared, "preparation", None),
            task=task,
            class_names=[str(c) for c in (getattr(prepared, "class_names", None) or [])],
            loss=loss,
            summary=dict(summary or {}),
            history={k: list(v) for k, v in (history or {}).items()},
            architecture=copy.deepcopy(architecture) if architecture else None,
            training_config=to_dict() if to_dict else {},
        )
        from nnstudio.core.monitor.reference import reference_from_training

        model.reference = reference_from_training(model, prepared)
        return model

    # -- description ---------------------------------------------------------------------
    @property
    def spec(self) -> NetworkSpec:
        return self.network.spec

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-sample shape of the prepared input."""
        return tuple(self.network.input_shape)

    @property
    def target_names(self) -> list[str]:
        """The target column(s): names of the regression outputs, or the class column."""
        targets = getattr(self.preparation, "targets", None)
        return [str(t) for t in targets] if targets else ["target"]

    @property
    def feature_names(self) -> list[str]:
        """The raw input columns (or the array name) the model reads, in order."""
        names = getattr(self.preparation, "feature_names", None)
        return list(names) if names else ["x"]

    def architecture_dict(self) -> dict[str, Any]:
        """The ``network`` section: the project's (with positions) or the spec's."""
        return copy.deepcopy(self.architecture) if self.architecture else self.spec.to_dict()

    # -- predicting ----------------------------------------------------------------------
    def output(self, x: np.ndarray) -> np.ndarray:
        """Raw network outputs ``(N, *output_shape)`` for prepared inputs ``x``
        ``(N, *input_shape)``."""
        x = np.asarray(x, self.network.dtype)
        if x.ndim == len(self.input_shape):
            x = x[None]
        if tuple(x.shape[1:]) != self.input_shape:
            raise ProjectError(
                f"the inputs have shape {tuple(x.shape[1:])} per sample, the model expects "
                f"{self.input_shape}"
            )
        return self.network.predict(x)

    def predict_prepared(self, x: np.ndarray) -> Predictions:
        """Predictions for prepared inputs ``x`` ``(N, *input_shape)``."""
        out = self.output(x)
        return self._decode(out)

    @property
    def heads(self) -> Any:
        """The :class:`~nnstudio.core.training.heads.Heads` of a network with several
        targets, else None."""
        if getattr(self.preparation, "heads", None) is None:
            return None
        cached = self.__dict__.get("_heads")
        if cached is None or cached.net is not self.network:
            from nnstudio.core.training.heads import Heads

            cached = self.__dict__["_heads"] = Heads.build(self.network, self.preparation.heads)
        return cached

    def _decode_heads(self, outs: dict[str, np.ndarray]) -> Predictions:
        heads = self.heads
        n = len(next(iter(outs.values())))
        per: dict[str, Predictions] = {}
        values = np.empty((n, len(heads.heads)), object)
        for j, h in enumerate(heads.heads):
            info = self.preparation.heads[h.column]
            out2 = outs[h.node].reshape(n, -1)
            (decoded,) = decode_outputs([info], [out2])
            if h.task == "classification":
                per[h.target] = Predictions(np.asarray(decoded, str),
                                            class_probabilities(out2),
                                            list(info["class_names"]), [h.target])
            else:
                per[h.target] = Predictions(decoded[:, None], None, [], [h.target])
            values[:, j] = decoded
        return Predictions(values, None, [], [h.target for h in heads.heads], per)

    def _decode(self, out: Any) -> Predictions:
        if isinstance(out, dict):
            return self._decode_heads(out)
        if self.heads is not None:  # one Output naming its target
            return self._decode_heads(self.heads.by_node(out))
        out2 = out.reshape(len(out), -1)
        if self.task == "classification":
            probs = class_probabilities(out2)
            names = self.class_names or [str(i) for i in range(probs.shape[1])]
            if self.preparation is not None:
                values = np.asarray(self.preparation.decode_target(out2), dtype=str)
            else:
                values = np.asarray(names, dtype=str)[engine_metrics.predicted_classes(out2)]
            return Predictions(values, probs, names, self.target_names)
        if self.preparation is not None:
            values = np.asarray(self.preparation.decode_target(out2), np.float64)
        else:
            values = out2.astype(np.float64)
        return Predictions(values, None, [], self.target_names)

    def prepare(self, rows: Any) -> np.ndarray:
        """Network inputs from raw data.

        ``rows`` is a :class:`~nnstudio.core.data.Table`, a list of dicts
        ``{column: value}`` (values as typed: ``"12.5"``, ``12.5``, ``"city"``), or for
        array models an array ``(N, *sample_shape)`` of raw values (pixels 0–255).
        """
        prep = self.preparation
        if prep is None:
            return np.asarray(rows, self.network.dtype)
        if getattr(prep, "array", None) is not None:
            return prep.transform_features(np.asarray(rows))
        if isinstance(rows, dict):
            rows = [rows]
        return prep.transform_raw_rows(rows)

    def predict_raw(self, rows: Any) -> Predictions:
        """Predictions from raw feature values (see :meth:`prepare` for ``rows``).

        Used by the GUI's predict panel (one dict per row typed by the user) and by
        ``nnstudio predict`` (a loaded table).
        """
        return self.predict_prepared(self.prepare(rows))

    # -- scoring -------------------------------------------------------------------------
    def metrics(self, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Scores on prepared inputs ``x`` and prepared targets ``y``.

        Classification: ``loss`` and ``accuracy``. Regression: ``loss`` (in the scaled
        units the network was trained on) and ``mae``, ``rmse``, ``r2`` in the target's own
        units. Several outputs: ``loss`` (the weighted total) and ``<target>/<metric>`` per
        output (see :meth:`Heads.score`). An empty split gives ``{}``.
        """
        if len(x) == 0:
            return {}
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if not getattr(x, "lazy_batches", False):  # lazy sources are read by batch
                x = np.asarray(x, self.network.dtype)
            if self.heads is not None:
                heads = self.preparation.heads
                return self.heads.score(self.network.predict(x), y,
                                        lambda h, v: decode_values(heads[h.column], v))
            report = evaluate(self.network, x, y, self.loss)
            out = {"loss": float(report["loss"])}
            if self.task in ("classification", "language_model"):
                out["accuracy"] = float(report["accuracy"])
                return out
            lazy = getattr(x, "lazy_batches", False)
            pred = self.network.predict(x, 256 if lazy else 1024)
            pred = pred.reshape(len(pred), -1)
            yy = np.asarray(y, np.float64).reshape(len(y), -1)
            if self.preparation is not None:
                pred = self.preparation.decode_target(pred)
                yy = self.preparation.decode_target(yy)
            out.update(engine_metrics.regression_report(yy, pred))
        return {k: float(v) for k, v in out.items()}


def class_probabilities(out: np.ndarray) -> np.ndarray:
    """One probability column per class: ``(N, K)`` as it is, a sigmoid ``(N, 1)`` as
    ``[1 − p, p]``."""
    out = out.reshape(len(out), -1)
    if out.shape[1] == 1:
        return np.concatenate([1.0 - out, out], axis=1)
    return out


# -- saving and loading ------------------------------------------------------------------------


def _json_entry(obj: Any) -> np.ndarray:
    return np.array(json.dumps(obj, ensure_ascii=False, allow_nan=True))


def model_arrays(model: TrainedModel) -> dict[str, np.ndarray]:
    """Every entry of the model file, by key (see the module docstring)."""
    net = model.network
    arrays: dict[str, np.ndarray] = dict(net.state_dict())
    clash = sorted(set(arrays) & set(JSON_ENTRIES))
    if clash:  # impossible: parameter keys always hold a "/"
        raise AssertionError(clash)
    arch = model.architecture_dict()
    arch["input_shape"] = list(net.input_shape)
    arch["dtype"] = net.dtype.name
    prep = model.preparation.to_dict() if model.preparation is not None else None
    arrays["format"] = _json_entry(
        {"format": MODEL_FORMAT, "version": MODEL_VERSION, "nnstudio": __version__}
    )
    arrays["architecture"] = _json_entry(arch)
    arrays["preparation"] = _json_entry(prep)
    arrays["training"] = _json_entry({
        "task": model.task, "loss": model.loss, "class_names": list(model.class_names),
        "target_names": model.target_names, "config": model.training_config,
        "summary": model.summary, "history": model.history,
    })
    if model.reference is not None:
        arrays["reference"] = _json_entry(model.reference)
    return arrays


def save_model(model: TrainedModel, path: str | Path) -> None:
    """Write the model file atomically (no partial file on any error).

    The file is written exactly at ``path`` (NumPy's habit of appending ``.npz`` is not
    followed).
    """
    arrays = model_arrays(model)
    p = Path(path)
    try:
        with atomic_open(p, "wb") as f:
            np.savez(f, **arrays)
    except OSError as e:
        raise ProjectError(f"cannot be written ({e.strerror or e})", str(p)) from None


def load_model(path: str | Path) -> TrainedModel:
    """Read a model file written by :func:`save_model`.

    Never unpickles: a file holding object arrays, a missing entry, a malformed or newer
    file gives a :class:`ProjectError` naming the file, never a crash.
    """
    p = Path(path)
    where = str(p)
    _check_is_model_archive(p)
    entries = check_entries(p, ProjectError, not_zip="is damaged: not a complete .npz archive "
                            "(an nnstudio model file is one)")
    try:
        npz = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ProjectError(f"is not an nnstudio model file ({_short(e)})", where) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ProjectError("is a single .npy array, not an nnstudio model file (.npz)", where)
    with npz:
        keys = set(entries)
        if "format" not in keys:
            raise ProjectError("is not an nnstudio model file (it has no 'format' entry)", where)
        fmt = _read_json(npz, "format", where)
        if not isinstance(fmt, dict) or fmt.get("format") != MODEL_FORMAT:
            raise ProjectError("is not an nnstudio model file (wrong 'format' entry)", where)
        version = fmt.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ProjectError(f"has an invalid model format version {version!r}", where)
        if version > MODEL_VERSION:
            raise ProjectError(
                f"was written by a newer nnstudio (model format version {version}; this "
                f"version reads up to {MODEL_VERSION}): update nnstudio", where,
            )
        for key in JSON_ENTRIES:
            if key not in keys:
                raise ProjectError(f"is incomplete: the entry {key!r} is missing", where)
        arch = _read_json(npz, "architecture", where)
        prep_d = _read_json(npz, "preparation", where)
        info = _read_json(npz, "training", where)
        reference = _read_json(npz, "reference", where) if "reference" in keys else None
        arrays = {k: _read_array(npz, k, where) for k in keys
                  if k not in JSON_ENTRIES and k not in OPTIONAL_JSON_ENTRIES}
    model = _build(arch, prep_d, info, arrays, where)
    model.reference = reference if isinstance(reference, dict) else None
    return model


def _check_is_model_archive(p: Path) -> None:
    """Refuse what is not an ``.npz`` archive with what the file is instead.

    The usual mistake is giving a project file where a model is needed: say so and how to
    get a model, rather than NumPy's remark about pickled data.
    """
    where = str(p)
    head = read_file_head(p, 64, ProjectError, what="a model file", missing="no such file")
    if head.startswith(b"PK"):
        return
    if head.startswith(b"\x93NUMPY"):
        raise ProjectError("is a single .npy array, not an nnstudio model file (.npz)", where)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        if b"nnstudio.project" in p.read_bytes()[:4096] or p.suffix == ".nnsproj":
            raise ProjectError(
                "is an nnstudio project file, not a model file: this command needs a trained "
                f"model (.npz); make one with `nnstudio train {p} --out model.npz`", where)
        raise ProjectError("is a JSON file, not an nnstudio model file (.npz)", where)
    raise ProjectError("is not an nnstudio model file (a model file is the .npz archive "
                       "`nnstudio train --out` writes)", where)


def _build(arch: Any, prep_d: Any, info: Any, arrays: dict, where: str) -> TrainedModel:
    if not isinstance(arch, dict) or not isinstance(info, dict):
        raise ProjectError("has a malformed 'architecture' or 'training' entry", where)
    input_shape, dtype = _input_shape_and_dtype(arch, where)
    preparation = None
    if prep_d is not None:
        from nnstudio.core.data import Preparation

        try:
            preparation = Preparation.from_dict(prep_d)
        except NNStudioError as e:
            raise ProjectError(f"has an unusable 'preparation' entry: {e}", where) from None
    try:
        network_d = {k: v for k, v in arch.items() if k not in ("input_shape", "dtype")}
        problems = check_network(network_d, None)  # every record, before building
        columns = None
        if not problems:
            from nnstudio.core.data.binding import input_columns

            columns = input_columns(NetworkSpec.from_dict(network_d), preparation)
            problems = check_network(network_d, input_shape, columns)
        if problems:
            raise ProjectError(  # the handler below names the file
                "; ".join(f"{place}: {msg}" for place, msg in problems[:3])
                + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""))
        spec = NetworkSpec.from_dict(network_d)
        _check_declared_params(spec, input_shape, dtype, arrays, where, columns)
        net = Network(spec, input_shape, dtype=dtype, seed=0, input_columns=columns)
        net.load_state_dict(arrays)
    except NNStudioError as e:
        raise ProjectError(f"holds a network that cannot be rebuilt: {e}", where) from None
    except (KeyError, TypeError, ValueError) as e:
        raise ProjectError(f"has a malformed 'architecture' entry ({_short(e)})", where) from None
    _check_consistent(net, preparation, info, where)
    try:
        return TrainedModel(
            network=net, preparation=preparation, task=str(info["task"]),
            class_names=[str(c) for c in info.get("class_names") or []],
            loss=str(info["loss"]), summary=dict(info.get("summary") or {}),
            history=dict(info.get("history") or {}), architecture=network_d,
            training_config=dict(info.get("config") or {}),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ProjectError(f"has a malformed 'training' entry ({_short(e)})", where) from None


#: Largest per-sample input a model file may declare (values).
MAX_INPUT_VALUES = 100_000_000


def _input_shape_and_dtype(arch: dict, where: str) -> tuple[tuple[int, ...], np.dtype]:
    shape = arch.get("input_shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 4 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape):
        raise ProjectError("has a malformed 'architecture' entry (input_shape must be 1 to 4 "
                           f"whole numbers ≥ 1, got {_short_value(shape)})", where)
    if int(np.prod(shape, dtype=object)) > MAX_INPUT_VALUES:
        raise ProjectError(f"declares an input of {int(np.prod(shape, dtype=object)):,} values "
                           "per sample: the file is damaged", where)
    dtype = arch.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ProjectError("has a malformed 'architecture' entry (dtype must be float32 or "
                           f"float64, got {_short_value(dtype)})", where)
    return tuple(shape), np.dtype(dtype)


def _check_declared_params(spec: Any, input_shape: tuple[int, ...], dtype: np.dtype,
                           arrays: dict, where: str, columns: dict | None = None) -> None:
    """Refuse an architecture whose parameters would not fit in the file before allocating
    them (a 2 MB file declaring a billion-unit Dense layer)."""
    from nnstudio.core.engine.network import infer_shapes
    from nnstudio.core.memory import check_fits, format_bytes

    report = infer_shapes(spec, input_shape, columns)
    if not report.ok:
        return  # Network() reports the problem itself
    declared = report.total_params
    stored = sum(int(a.size) for a in arrays.values())
    # A small mismatch is left to load_state_dict, which names the missing array.
    if declared > stored and declared * dtype.itemsize > 64_000_000:
        raise ProjectError(
            f"declares a network of {declared:,} parameters ({format_bytes(declared * 4)}) but "
            f"holds only {stored:,} values: the file is damaged", where)
    check_fits(declared * dtype.itemsize * 2, f"the network ({declared:,} parameters)", where,
               ProjectError)


def _check_consistent(net: Network, preparation: Any, info: dict, where: str) -> None:
    """The training record, the preparation and the network must describe the same model."""
    task = info.get("task")
    if task not in ("classification", "regression", "language_model", MULTI_OUTPUT):
        raise ProjectError(f"has a malformed 'training' entry (task {_short_value(task)})", where)
    loss = info.get("loss")
    if loss not in engine_losses.LOSSES:
        raise ProjectError(f"has a malformed 'training' entry (unknown loss "
                           f"{_short_value(loss)})", where)
    names = info.get("class_names") or []
    if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
        raise ProjectError("has a malformed 'training' entry (class_names must be a list of "
                           "names)", where)
    for key in ("summary", "history", "config"):
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise ProjectError(f"has a malformed 'training' entry ({key} must be an object)",
                               where)
    _check_record(info, where)
    if task == MULTI_OUTPUT or net.multi_output:
        if preparation is None or preparation.heads is None:
            raise ProjectError("is inconsistent: a network with several outputs needs the "
                               "preparation of its targets", where)
        from nnstudio.core.training.heads import Heads

        try:
            Heads.build(net, preparation.heads)
        except NNStudioError as e:
            raise ProjectError(f"is inconsistent: {e}", where) from None
    outputs = int(np.prod(net.output_shape)) if not net.multi_output else 0
    if preparation is None:
        return
    if preparation.task != task:
        raise ProjectError(f"is inconsistent: the preparation is for {preparation.task}, the "
                           f"training record for {task}", where)
    if tuple(preparation.input_shape) != tuple(net.input_shape):
        raise ProjectError(f"is inconsistent: the preparation gives inputs of shape "
                           f"{tuple(preparation.input_shape)}, the network takes "
                           f"{tuple(net.input_shape)}", where)
    if task == "language_model":
        vocab = len(preparation.text.vocab) if preparation.text is not None else None
        if net.output_shape[-1] != vocab:
            raise ProjectError(f"is inconsistent: the network predicts {net.output_shape[-1]} "
                               f"tokens per position for a vocabulary of {vocab}", where)
    elif task == "classification":
        n = len(preparation.class_names or [])
        if outputs != n and not (outputs == 1 and n == 2):
            raise ProjectError(f"is inconsistent: the network has {outputs} output(s) for "
                               f"{n} classes", where)
    elif task == MULTI_OUTPUT:
        pass  # the heads were checked above
    elif preparation.target_stats and len(preparation.target_stats) != outputs:
        raise ProjectError(f"is inconsistent: the network has {outputs} output(s) for "
                           f"{len(preparation.target_stats)} target(s)", where)


def _is_num(v: Any) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool))


def _check_record(info: dict, where: str) -> None:
    """The training record is shown (curves, the results table): its numbers must be
    numbers. ``history``: ``{name: [value per epoch]}``; ``summary.metrics``:
    ``{split: {metric: value}}``; counts are whole numbers; texts are text."""
    def bad(what: str) -> ProjectError:
        return ProjectError(f"has a malformed 'training' entry ({what})", where)

    for name, values in (info.get("history") or {}).items():
        # NaN is written as NaN (a run without validation data); null is never written.
        if not isinstance(values, list) or not all(_is_num(v) and v is not None
                                                   for v in values):
            raise bad(f"history.{name} must be a list of numbers")
    summary = info.get("summary") or {}
    metrics = summary.get("metrics")
    if metrics is not None and (not isinstance(metrics, dict) or not all(
            isinstance(m, dict) and all(_is_num(v) and v is not None for v in m.values())
            for m in metrics.values())):
        raise bad("summary.metrics must be {split: {metric: number}}")
    for key in ("epochs", "best_epoch"):
        v = summary.get(key)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
            raise bad(f"summary.{key} must be a whole number ≥ 0")
    if not _is_num(summary.get("seconds")):
        raise bad("summary.seconds must be a number")
    for key in ("reason", "message", "trained_at", "nnstudio"):
        if summary.get(key) is not None and not isinstance(summary[key], str):
            raise bad(f"summary.{key} must be text")


def _short_value(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "…"


def _read_array(npz: Any, key: str, where: str) -> np.ndarray:
    try:
        arr = npz[key]
    except MemoryError:
        raise ProjectError(f"entry {key!r} does not fit in memory", where) from None
    except ValueError as e:
        if "pickle" in str(e) or "Object arrays" in str(e):
            raise ProjectError(
                f"holds an object array under {key!r}, which nnstudio never writes; it is not "
                "loaded because unpickling a stranger's file could run code", where,
            ) from None
        raise ProjectError(f"has an unreadable entry {key!r} ({_short(e)})", where) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as e:
        raise ProjectError(f"is damaged: entry {key!r} cannot be read ({_short(e)})", where) \
            from None
    if not isinstance(arr, np.ndarray):
        raise ProjectError(f"entry {key!r} is not a NumPy array", where)
    if arr.dtype.kind not in "fiu":
        raise ProjectError(f"entry {key!r} holds {arr.dtype} values, not numbers", where)
    return arr


def _read_json(npz: Any, key: str, where: str) -> Any:
    try:
        arr = npz[key]
    except ValueError:
        raise ProjectError(
            f"holds an object array under {key!r}, which nnstudio never writes; it is not "
            "loaded because unpickling a stranger's file could run code", where,
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise ProjectError(f"is damaged: entry {key!r} cannot be read ({_short(e)})", where) \
            from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "U" or arr.shape != ():
        raise ProjectError(f"entry {key!r} is not JSON text", where)
    try:
        return loads_checked(str(arr))
    except JSONCheckError as e:  # malformed, too deep, a 5,000-digit number, a lone surrogate
        raise ProjectError(f"entry {key!r} {e}", where) from None


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]
