"""Bring back what an exported PyTorch project trained: a :class:`TrainedModel` with curves.

``train.py`` of an exported project (see :mod:`nnstudio.core.io.export_pytorch`) writes into
its output folder ``weights.npz`` (nnstudio's layout, ``"<node id>/<name>"`` arrays) and
``metrics.json`` (``history`` per epoch, ``summary``, and the ``export`` folder it came from).
The export folder's ``export.json`` holds the architecture, the preparation, the task and
the training settings. :func:`read_run` joins them into a model nnstudio inspects, evaluates
and exports like one it trained itself. Nothing here needs PyTorch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.io.export_pytorch import EXPORT_FORMAT, network_spec_of
from nnstudio.core.io.model_file import TrainedModel

RUN_FORMAT = "nnstudio.pytorch_run"


def find_run(folder: str | Path) -> tuple[Path, Path]:
    """``(run folder, export folder)`` for a run folder or an export folder (its ``run/``)."""
    p = Path(folder)
    if not p.is_dir():
        raise ProjectError("is not a folder (give the output folder of train.py)", str(p))
    run = p if (p / "metrics.json").is_file() else p / "run"
    for name in ("metrics.json", "weights.npz"):
        if not (run / name).is_file():
            raise ProjectError(f"has no {name}: is it the output folder of an exported "
                               "project's train.py (and did training finish)?", str(run))
    metrics = _json(run / "metrics.json")
    candidates = [Path(metrics["export"])] if isinstance(metrics.get("export"), str) else []
    candidates += [run.parent, p]
    for c in candidates:
        try:
            if (c / "export.json").is_file():
                return run, c
        except ValueError:  # a NUL character in metrics.json's "export"
            continue
    raise ProjectError("cannot find the export folder (export.json) it was trained from",
                       str(run))


def _json(path: Path) -> dict:
    from nnstudio.core.io.jsonfmt import JSONCheckError, loads_checked

    try:
        d = loads_checked(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, JSONCheckError) as e:
        raise ProjectError(f"cannot be read as JSON ({e})", str(path)) from None
    if not isinstance(d, dict):
        raise ProjectError("is not a JSON object", str(path))
    return d


def _history(metrics: dict, where: str) -> dict[str, list[float]]:
    """``metrics["history"]``: a list of numbers per curve (``null`` for a missing value)."""
    history = metrics.get("history") or {}
    if not isinstance(history, dict):
        raise ProjectError("'history' must be an object of curves (lists of numbers)", where)
    out = {}
    for key, values in history.items():
        if not isinstance(values, list) or not all(
                v is None or (isinstance(v, int | float) and not isinstance(v, bool))
                for v in values):
            raise ProjectError(f"history {key!r} must be a list of numbers", where)
        out[str(key)] = [float("nan") if v is None else float(v) for v in values]
    return out


def _check_summary(summary: Any, where: str) -> None:
    """``metrics["summary"]``: an object; its ``metrics`` (what the CLI and the run history
    show) an object of splits, each an object of numbers."""
    if summary is None:
        return
    if not isinstance(summary, dict):
        raise ProjectError("'summary' must be an object", where)
    splits = summary.get("metrics")
    if splits is None:
        return
    if not isinstance(splits, dict) or not all(
            isinstance(scores, dict) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values())
            for scores in splits.values()):
        raise ProjectError("'summary.metrics' must be an object of splits, each an object of "
                           "scores (numbers), like {\"test\": {\"accuracy\": 0.9}}", where)


def _export_fields(info: dict, where: str) -> None:
    """The fields of ``export.json`` read here, checked for their types."""
    for key, kind, what in (("architecture", dict, "an object"), ("task", str, "a text"),
                            ("loss", str, "a text")):
        if not isinstance(info.get(key), kind):
            raise ProjectError(f"{key!r} must be {what}", where)
    for key in ("preparation", "training"):
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise ProjectError(f"{key!r} must be an object", where)
    arch = info["architecture"]
    shape = arch.get("input_shape")
    if not isinstance(shape, list) or not shape or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 2**31 for v in shape):
        raise ProjectError("'architecture.input_shape' must be a list of sizes (whole "
                           "numbers above 0)", where)
    from nnstudio.core.io.netcheck import check_network, format_problems

    problems = check_network({k: v for k, v in arch.items() if k != "input_shape"},
                             tuple(shape))
    if problems:
        raise ProjectError(f"'architecture': {format_problems(problems)}", where)
    names = info.get("class_names")
    if names is not None and (not isinstance(names, list) or not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in names)):
        raise ProjectError("'class_names' must be a list of names", where)


def read_run(folder: str | Path, prepared: Any = None) -> TrainedModel:
    """The trained result in ``folder`` as a :class:`TrainedModel`.

    ``history`` and ``summary`` come from ``metrics.json``; with ``prepared`` (the project's
    data) the summary's per-split metrics are computed again by nnstudio, in its units.
    """
    run, export = find_run(folder)
    info = _json(export / "export.json")
    metrics = _json(run / "metrics.json")
    where = str(run)
    if info.get("format") != EXPORT_FORMAT:
        raise ProjectError("is not an nnstudio PyTorch export", str(export / "export.json"))
    if metrics.get("format") != RUN_FORMAT:
        raise ProjectError("is not the metrics file of an exported project's train.py",
                           str(run / "metrics.json"))
    _export_fields(info, str(export / "export.json"))
    history = _history(metrics, str(run / "metrics.json"))
    _check_summary(metrics.get("summary"), str(run / "metrics.json"))
    from nnstudio.core.data.npyfile import DAMAGED, check_entries

    # Every entry's header first (a damaged archive, lying sizes, object arrays): np.load of
    # a damaged zip leaves its file open.
    check_entries(run / "weights.npz", ProjectError,
                  not_zip="is damaged: not a complete .npz archive")
    try:
        spec, input_shape = network_spec_of(info)
        net = Network(spec, input_shape, seed=0, input_columns=info.get("input_columns"))
        with np.load(run / "weights.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        net.load_state_dict(arrays, str(run / "weights.npz"))
    except DAMAGED as e:  # a damaged entry body (a broken deflate stream, a bad checksum)
        raise ProjectError(f"weights.npz cannot be read ({e})", where) from None
    except (KeyError, TypeError) as e:
        raise ProjectError(f"export.json is malformed ({e!r})", str(export)) from None
    except NNStudioError as e:
        raise ProjectError(f"the weights do not fit the exported network: {e}", where) from None
    preparation = None
    if info.get("preparation"):
        from nnstudio.core.data import Preparation

        try:
            preparation = Preparation.from_dict(info["preparation"])
        except NNStudioError as e:
            raise ProjectError(f"'preparation' is unusable: {e}",
                               str(export / "export.json")) from None
    arch = {k: v for k, v in info["architecture"].items() if k != "input_shape"}
    summary = dict(metrics.get("summary") or {})
    if summary.get("metrics") is None:  # "metrics": null is no scores
        summary.pop("metrics", None)
    summary["trained_with"] = "pytorch"
    summary["imported_from"] = str(run.resolve())
    model = TrainedModel(
        network=net, preparation=preparation, task=str(info["task"]),
        class_names=[str(c) for c in info.get("class_names") or []], loss=str(info["loss"]),
        summary=summary, history=history,
        architecture=arch, training_config=dict(info.get("training") or {}),
    )
    if prepared is not None:
        from nnstudio.core.io.pipeline import evaluate_splits

        model.summary["metrics"] = evaluate_splits(model, prepared)
    return model


def import_as_run(project: Any, model: TrainedModel, data_fp: str = "",
                  name: str = "", network: dict | None = None) -> Any:
    """A new :class:`~nnstudio.core.io.runs.Run` of kind ``import`` of ``project`` for
    ``model`` (from :func:`read_run`), not added yet.

    The run must be of the project's network (the same layers, settings and edges: canvas
    positions may differ), else a :class:`ProjectError` says so. ``data_fp`` is the data
    fingerprint of the project's data (:func:`data_fingerprint_of`); ``network`` the design
    as it is now when it is not ``project.network`` (the GUI's canvas).
    """
    from nnstudio.core.io.runs import network_fingerprint, run_from_model

    network = project.network if network is None else network
    if network_fingerprint(network) != network_fingerprint(model.architecture_dict()):
        raise ProjectError("the run's network is not the project's (the project was changed "
                           "after the export): save the result as a model file instead",
                           str(project.path) if project.path else None)
    summary = model.summary
    label = name or (f"PyTorch ({summary.get('world_size', 1)}× "
                     f"{summary.get('device', 'cpu')})")
    run = run_from_model(project.runs, model, "import", name=label, data_fp=data_fp,
                         network=network)
    run.note = f"trained with PyTorch; imported from {summary.get('imported_from', '')}"
    return run


def data_fingerprint_of(prepared: Any) -> str:
    """The data fingerprint nnstudio's runs carry, of prepared data's train/validation."""
    from nnstudio.core.insight.replay import data_fingerprint

    val = (prepared.x_val, prepared.y_val) if len(prepared.x_val) else None
    return data_fingerprint((prepared.x_train, prepared.y_train), val)


def attach_run(project: Any, model: TrainedModel, prepared: Any = None, name: str = "") -> Any:
    """:func:`import_as_run` added to ``project``'s history as its current run; returns the
    run. The caller saves the project."""
    data_fp = data_fingerprint_of(prepared) if prepared is not None else ""
    run = import_as_run(project, model, data_fp, name)
    project.runs.add(run, make_current=True)
    return run


def project_of(folder: str | Path) -> Path | None:
    """The project file the export was made from, when it still exists."""
    _, export = find_run(folder)
    path = _json(export / "export.json").get("project")
    return Path(path) if isinstance(path, str) and Path(path).is_file() else None
