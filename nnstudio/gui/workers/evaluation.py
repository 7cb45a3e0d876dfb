"""Score a trained network on every split (NumPy only; runs in worker threads).

:func:`evaluate_all` is what the training worker calls after a run, and what the results
panel runs on demand through :mod:`nnstudio.gui.workers.evaluation_runner`: loss and metrics
on train, validation and test; for classification the confusion matrix and per-class
precision/recall/F1; for regression the predictions and truths in the target's own units (for
the scatter and residual plots) and MAE/RMSE in those units.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.engine import metrics
from nnstudio.core.engine.network import Network
from nnstudio.core.training import evaluate, is_classification

SPLITS = ("train", "validation", "test")
_SUFFIX = {"train": "train", "validation": "val", "test": "test"}


@dataclass
class SplitResult:
    """Scores of one split.

    ``metrics`` holds ``loss`` and ``accuracy`` (classification) or ``mae``/``rmse``/``r2``
    in the network's (scaled) units; ``original`` holds ``mae``/``rmse`` in the target's own
    units for regression. ``y_true``/``y_pred`` are ``(N, K)`` original-unit values
    (regression) or ``(N,)`` class indices (classification).
    """

    name: str
    n: int
    metrics: dict[str, float]
    original: dict[str, float] = field(default_factory=dict)
    confusion: np.ndarray | None = None
    per_class: dict[str, list[float]] | None = None
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None


@dataclass
class Results:
    """Scores of a trained network on every non-empty split."""

    task: str
    loss: str
    class_names: list[str]
    target_names: list[str]
    splits: dict[str, SplitResult]
    #: A network with several outputs (``task == "multi_output"``): ``{target: Results}``
    #: of each output (its loss, classes, confusion matrices or predicted-vs-true values);
    #: the splits' ``metrics`` then hold ``loss`` (the weighted total) and
    #: ``"<target>/<metric>"`` (regression metrics in the target's units).
    outputs: dict[str, Results] | None = None

    def get(self, split: str) -> SplitResult | None:
        return self.splits.get(split)


# -- access to the data layer's PreparedData ----------------------------------------------------
def split_arrays(prepared: Any, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(x, y)`` of ``split`` (``train``/``validation``/``test``), or ``None`` when empty."""
    suffix = _SUFFIX[split]
    x = getattr(prepared, "x_" + suffix, None)
    y = getattr(prepared, "y_" + suffix, None)
    if x is None or y is None or len(x) == 0:
        return None
    return x, y


def split_size(prepared: Any, split: str) -> int:
    arrays = split_arrays(prepared, split)
    return 0 if arrays is None else len(arrays[0])


def target_to_original(prepared: Any, y: np.ndarray) -> np.ndarray:
    """Regression targets (or predictions) from the network's units back to the data's."""
    prep = getattr(prepared, "preparation", None)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    if prep is None:
        return y
    return np.asarray(prep.decode_target(y), np.float64).reshape(len(y), -1)


def class_names(prepared: Any, n: int) -> list[str]:
    names = list(getattr(prepared, "class_names", None) or [])
    return [str(c) for c in names] if len(names) >= n else [str(i) for i in range(n)]


def target_names(prepared: Any) -> list[str]:
    prep = getattr(prepared, "preparation", None)
    targets = list(getattr(prep, "targets", None) or [])
    return [str(t) for t in targets] or ["target"]


# -- evaluation ---------------------------------------------------------------------------------
def evaluate_split(net: Network, prepared: Any, split: str, loss: str) -> SplitResult | None:
    """Scores of one split, or ``None`` when it is empty."""
    arrays = split_arrays(prepared, split)
    if arrays is None:
        return None
    x, y = arrays
    report = evaluate(net, x, y, loss, report=True)
    if is_classification(loss) and len(net.output_shape) == 2:
        # A language model: loss and per-position accuracy (no confusion over a vocabulary).
        return SplitResult(split, len(x), {"loss": float(report["loss"]),
                                           "accuracy": float(report["accuracy"])})
    if is_classification(loss):
        pred = net.predict(np.asarray(x, net.dtype))
        classes = metrics.predicted_classes(pred)
        truth = np.asarray(y)
        if truth.ndim > 1:
            truth = (truth[:, 0] >= 0.5).astype(np.int64) if truth.shape[1] == 1 \
                else truth.argmax(axis=1)
        return SplitResult(
            split, len(x),
            {"loss": float(report["loss"]), "accuracy": float(report["accuracy"])},
            confusion=np.asarray(report["confusion_matrix"], np.int64),
            per_class={k: list(report[k]) for k in ("precision", "recall", "f1", "support")},
            y_true=truth.astype(np.int64), y_pred=classes.astype(np.int64),
        )
    pred = net.predict(np.asarray(x, net.dtype))
    y_true = target_to_original(prepared, y)
    y_pred = target_to_original(prepared, pred.reshape(len(pred), -1))
    original = {"mae": metrics.mae(y_true, y_pred), "rmse": metrics.rmse(y_true, y_pred),
                "r2": metrics.r2(y_true, y_pred)}
    scores = {k: float(v) for k, v in report.items() if isinstance(v, float)}
    return SplitResult(split, len(x), scores, original, y_true=y_true, y_pred=y_pred)


def evaluate_all(net: Network, prepared: Any, loss: str) -> Results:
    """Scores of ``net`` on every non-empty split of ``prepared``."""
    if getattr(getattr(prepared, "preparation", None), "heads", None) is not None:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return evaluate_outputs(net, prepared)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        splits = {}
        for s in SPLITS:
            r = evaluate_split(net, prepared, s, loss)
            if r is not None:
                splits[s] = r
    task = "classification" if is_classification(loss) else "regression"
    k = max(2, int(np.prod(net.output_shape))) if task == "classification" else 0
    return Results(task, loss, class_names(prepared, k), target_names(prepared), splits)


def evaluate_outputs(net: Network, prepared: Any) -> Results:
    """Scores of a network with several outputs (``prepared`` made for its Output layers):
    the total and per-output metrics of every split, and each output's own
    :class:`Results` (confusion matrix, or predicted-vs-true in the target's units)."""
    from nnstudio.core.data.target_heads import MULTI_OUTPUT, decode_values
    from nnstudio.core.errors import NNStudioError, ProjectError
    from nnstudio.core.training.heads import Heads

    infos = prepared.preparation.heads
    try:
        heads = Heads.build(net, infos)
    except NNStudioError as e:
        raise ProjectError(str(e), "results") from None
    splits: dict[str, SplitResult] = {}
    per: dict[str, dict[str, SplitResult]] = {h.target: {} for h in heads.heads}
    for name in SPLITS:
        arrays = split_arrays(prepared, name)
        if arrays is None:
            continue
        x, y = arrays
        preds = heads.by_node(net.predict(np.asarray(x, net.dtype)))
        y = np.asarray(y)
        scores = heads.score(preds, y, lambda h, v: decode_values(infos[h.column], v))
        splits[name] = SplitResult(name, len(x), scores)
        for h in heads.heads:
            info = infos[h.column]
            pred = preds[h.node].reshape(len(x), -1)
            own = {k.split("/", 1)[1]: v for k, v in scores.items()
                   if k.startswith(h.target + "/")}
            if h.task == "classification":
                truth = y[:, h.column].astype(np.int64)
                k = len(info["class_names"])
                classes = metrics.predicted_classes(pred)
                report = metrics.classification_report(truth, classes, k)
                per[h.target][name] = SplitResult(
                    name, len(x), {"loss": own["loss"], "accuracy": own["accuracy"]},
                    confusion=np.asarray(report["confusion_matrix"], np.int64),
                    per_class={key: list(report[key])
                               for key in ("precision", "recall", "f1", "support")},
                    y_true=truth, y_pred=classes.astype(np.int64))
            else:
                y_true = decode_values(info, y[:, h.column])[:, None]
                y_pred = decode_values(info, pred[:, 0])[:, None]
                original = {key: own[key] for key in ("mae", "rmse", "r2") if key in own}
                per[h.target][name] = SplitResult(
                    name, len(x), {"loss": own["loss"], **original}, original,
                    y_true=y_true, y_pred=y_pred)
    outputs = {
        h.target: Results(h.task, h.loss_name, list(infos[h.column].get("class_names") or []),
                          [h.target], per[h.target])
        for h in heads.heads
    }
    return Results(MULTI_OUTPUT, "multi_output", [], [h.target for h in heads.heads], splits,
                   outputs)


def trained_model(network: Network, prepared: Any, config: Any, spec: Any,
                  outcome: Any = None) -> Any:
    """The core ``TrainedModel`` (network + preparation + record) for predict and export."""
    from nnstudio import __version__
    from nnstudio.core.io.model_file import TrainedModel

    summary: dict[str, Any] = {"nnstudio": __version__}
    history = None
    if outcome is not None:
        fin = outcome.finished
        summary.update(epochs=fin.epochs_run, best_epoch=fin.best_epoch, reason=fin.reason,
                       message=fin.message, seconds=round(fin.elapsed, 3),
                       trained_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
        history = fin.history
        res = outcome.results
        if res is not None:
            summary["metrics"] = {
                name: {**r.metrics, **r.original} for name, r in res.splits.items()
            }
            summary["samples"] = {name: r.n for name, r in res.splits.items()}
    return TrainedModel.from_training(network, prepared, config, spec, summary=summary,
                                      history=history)


def results_from_run(run: Any, model: Any = None) -> Results:
    """The scores a run recorded (``Run.metrics``), without the charts that need data: what
    Results shows for a model opened without its data."""
    if any("/" in k for m in run.metrics.values() for k in m):
        return _outputs_from_run(run, model)
    task = "classification" if any("accuracy" in m for m in run.metrics.values()) \
        else "regression"
    loss = getattr(model, "loss", None) or run.settings.get("loss") or (
        "cross_entropy" if task == "classification" else "mse")
    samples = (getattr(model, "summary", {}) or {}).get("samples") or {}
    splits = {}
    for name in SPLITS:
        m = run.metrics.get(name)
        if not m:
            continue
        scores = {k: v for k, v in m.items() if k in ("loss", "accuracy", "mae", "rmse", "r2")}
        original = {k: v for k, v in m.items() if k in ("mae", "rmse", "r2")} \
            if task == "regression" else {}
        splits[name] = SplitResult(name, int(samples.get(name, 0) or 0), scores, original)
    names = list(getattr(model, "class_names", None) or [])
    targets = list(getattr(model, "target_names", None) or ["target"])
    return Results(task, loss, names, targets, splits)


def _outputs_from_run(run: Any, model: Any = None) -> Results:
    """:func:`results_from_run` of a network with several outputs (``"<target>/<metric>"``
    keys)."""
    samples = (getattr(model, "summary", {}) or {}).get("samples") or {}
    targets: list[str] = []
    for m in run.metrics.values():
        for key in m:
            t = key.rpartition("/")[0]
            if t and t not in targets:
                targets.append(t)
    splits, per = {}, {t: {} for t in targets}
    for name in SPLITS:
        m = run.metrics.get(name)
        if not m:
            continue
        n = int(samples.get(name, 0) or 0)
        splits[name] = SplitResult(name, n, dict(m))
        for t in targets:
            own = {k.split("/", 1)[1]: v for k, v in m.items() if k.startswith(t + "/")}
            original = {k: v for k, v in own.items() if k in ("mae", "rmse", "r2")}
            per[t][name] = SplitResult(name, n, own, original)
    # The model's preparation knows each output's classes (its run only the scores).
    heads = {h.get("target"): h for h in getattr(getattr(model, "preparation", None),
                                                 "heads", None) or []}
    outputs = {}
    for t in targets:
        classify = any("accuracy" in r.metrics for r in per[t].values())
        names = list(heads.get(t, {}).get("class_names") or [])
        outputs[t] = Results("classification" if classify else "regression", "", names, [t],
                             per[t])
    return Results("multi_output", "multi_output", [], targets, splits, outputs)
