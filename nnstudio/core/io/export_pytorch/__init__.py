"""Export a project (or a model file) as a PyTorch training project.

``export_pytorch(folder, project=..., model=...)`` writes, atomically (the folder is built
aside and renamed in)::

    model.py            the network as an nn.Module (generated, see model_code.py)
    nnstudio_layers.py  nnstudio's layer types as PyTorch modules, weight files
    nnstudio_sequence.py  the sequence and text layers (embeddings, attention, Conv1D, …)
    data.py             reads the data as nnstudio does and applies the fitted preparation
    train.py            the same training: loss, optimizer, schedule, early stopping, seed;
                        CPU, --device cuda, torchrun (DDP), --amp
    data.json           source, reading details, the fitted preparation, the split settings
    split.npz           row indices of the train/validation/test splits
    training.json       the training settings, resolved (every default written out)
    init_weights.npz    nnstudio's initial weights for the training seed
    weights.npz         the trained weights (when a trained model is exported)
    export.json         what was exported (architecture, preparation, task) for import-run
    requirements.txt, README.md

``model.py`` is generated; the other Python files are copied unchanged from
``project_files/`` and read everything project-specific from the JSON files, so no text from
a project file ever becomes code. nnstudio itself never imports PyTorch.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.engine.network import Network, NetworkSpec
from nnstudio.core.engine.optimizers import SGD, Adam, RMSprop
from nnstudio.core.engine.schedules import Schedule
from nnstudio.core.errors import ExportError, NNStudioError
from nnstudio.core.io.atomic import atomic_dir
from nnstudio.core.io.export_pytorch.converters import CONVERTERS, NOT_EXPORTED
from nnstudio.core.io.export_pytorch.model_code import check_source, render_model
from nnstudio.core.training.config import TrainingConfig

__all__ = ["CONVERTERS", "EXPORT_FORMAT", "NOT_EXPORTED", "export_pytorch", "training_settings"]

FILES = Path(__file__).with_name("project_files")
#: Files copied as they are into every exported project.
STATIC = ("nnstudio_layers.py", "nnstudio_sequence.py", "data.py", "train.py")
EXPORT_FORMAT = "nnstudio.pytorch_export"
REQUIREMENTS = "# CPU or GPU build of PyTorch, as fits the machine (https://pytorch.org)\n" \
               "torch>=2.1\nnumpy>=1.24\n"


def training_settings(config: TrainingConfig, loss_fused: str | None, task: str) -> dict:
    """``training.json``: the settings with every default nnstudio applies written out."""
    opt = dict(config.optimizer)
    kind = str(opt.pop("type", "adam")).lower()
    defaults = {"sgd": SGD.defaults, "rmsprop": RMSprop.defaults}.get(kind, Adam.defaults)
    resolved: dict[str, Any] = {"type": kind, "learning_rate": config.learning_rate}
    for key, value in defaults.items():
        resolved[key] = bool(opt.get(key, value)) if key == "nesterov" else \
            float(opt.get(key, value))
    # nnstudio's AdamW decays by 0.01 unless told otherwise; the optimizer's own
    # weight_decay and the training section's are the same setting.
    decay = config.weight_decay or opt.get("weight_decay", 0.01 if kind == "adamw" else 0.0)
    schedule = None
    if config.schedule:
        schedule = Schedule(config.schedule, config.learning_rate, config.epochs).to_dict()
        if schedule["type"] == "cosine" and "epochs" not in config.schedule:
            del schedule["epochs"]  # follows the run's epochs, as in nnstudio
    es = config.early_stopping
    return {
        "loss": config.loss, "fused": loss_fused, "task": task, "optimizer": resolved,
        "weight_decay": float(decay), "batch_size": config.batch_size, "epochs": config.epochs,
        "seed": config.seed, "shuffle": config.shuffle,
        "early_stopping": None if es is None else {
            "patience": int(es.get("patience", 10)), "min_delta": float(es.get("min_delta", 0.0)),
            "restore_best": bool(es.get("restore_best", True))},
        "schedule": schedule, "clip_norm": config.clip_norm, "clip_value": config.clip_value,
    }


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to the export folder when they share a drive, else absolute."""
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:
        return str(path.resolve())


def _write_table_csv(table: Any, path: Path) -> None:
    """A built-in example's table as CSV; numbers as ``repr`` so they read back exactly."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(table.columns)
        cols = [table[c].values for c in table.columns]
        for i in range(table.n_rows):
            w.writerow(["" if (isinstance(v, float) and math.isnan(v)) else
                        (repr(v) if isinstance(v, float) else str(v))
                        for v in (col[i].item() for col in cols)])


def _data_files(project: Any, prepared: Any, folder: Path, dest: Path, copy_data: bool) -> dict:
    """Write ``data/`` and ``split.npz`` into ``folder``; return ``data.json``."""
    from nnstudio.core.data import decimals, load_source

    spec = project.dataset
    prep = prepared.preparation
    out: dict[str, Any] = {
        "format": "nnstudio.pytorch_data", "version": 1,
        "preparation": prep.to_dict(), "split": {
            "fractions": list(spec.split.fractions), "seed": spec.split.seed,
            "stratify": spec.split.stratify, "shuffle": spec.split.shuffle},
        "split_file": "split.npz", "source": None, "labels": None,
    }
    if _prepared_by_nnstudio(spec, prep) or prep.heads is not None:
        return _prepared_arrays(spec, prepared, folder, out)
    np.savez(folder / "split.npz", **{s: np.asarray(prepared.indices[k], np.int64)
                                      for s, k in (("train", "train"),
                                                   ("validation", "validation"),
                                                   ("test", "test"))})
    source = spec.resolve_source(project.base_dir)
    labels = spec.resolve_labels(project.base_dir)
    if prep.array is not None:
        data = load_source(spec, project.base_dir)
        out.update(kind="arrays", n_rows=int(data.n_samples))
        if labels is None:  # an NPZ (IDX images come with a labels file)
            out.update(x_key=data.x_name, y_key=data.y_name)
    else:
        table = load_source(spec, project.base_dir)
        names = [f["name"] for f in prep.features] + list(prep.targets)
        # Columns nnstudio read as numbers written 39,1 or 1,234.5 (as its dataset builder).
        formats = {} if getattr(spec, "decimal", None) == "." else decimals.detect(table)
        if getattr(spec, "decimal", None) == ",":
            formats = dict.fromkeys(formats, ",")
        table = decimals.apply(table, formats)
        out["number_formats"] = {n: f for n, f in formats.items() if n in names}
        out.update(kind="table", n_rows=int(table.n_rows),
                   column_kinds={n: table[n].kind for n in names},
                   reading={"delimiter": table.delimiter or ",",
                            "header": table.has_header if table.has_header is not None
                            else True, "encoding": table.encoding or "utf-8"})
        if spec.example is not None:
            (folder / "data").mkdir(exist_ok=True)
            _write_table_csv(table, folder / "data" / f"{spec.example}.csv")
            out["source"] = f"data/{spec.example}.csv"
            out["reading"] = {"delimiter": ",", "header": True, "encoding": "utf-8"}
            return out
    for key, path in (("source", source), ("labels", labels)):
        if path is None:
            continue
        if copy_data:
            (folder / "data").mkdir(exist_ok=True)
            shutil.copy2(path, folder / "data" / path.name)
            out[key] = f"data/{path.name}"
        else:
            out[key] = _relative(path, dest)
    return out


def _prepared_by_nnstudio(spec: Any, prep: Any) -> str | None:
    """What data.py cannot prepare itself ("text", "a text corpus", "images", "sounds"), or
    None for tables, NPZ and IDX arrays."""
    media = getattr(prep, "media", None) or {}
    if getattr(spec, "corpus", None) is not None:
        return "a text corpus"
    if getattr(spec, "text", None) is not None or getattr(prep, "text", None) is not None:
        return "text"
    if getattr(spec, "images", None) is not None or media.get("kind") == "image":
        return "images"
    if getattr(spec, "sound", None) is not None or media:
        return "sounds"
    return None


def _prepared_arrays(spec: Any, prepared: Any, folder: Path, out: dict) -> dict:
    """Text, images, sounds and several targets: nnstudio's prepared splits as
    ``data/prepared.npz`` (data.py does not tokenize, decode or resize, nor pack the targets
    of several Outputs into ``y (N, H)``; these arrays are exactly what nnstudio trains on).
    Training-time image augmentation cannot be carried by fixed arrays: refused."""
    from nnstudio.core.data.augment import AugmentOptions

    if spec.augment and AugmentOptions.from_dict(spec.augment).active:
        raise ExportError("the project augments its training images (random flips, shifts, "
                          "…) while training, which the exported data.py cannot repeat as "
                          "nnstudio does: turn augmentation off to export it to PyTorch")
    (folder / "data").mkdir(exist_ok=True)
    arrays = {}
    for name, (x, y) in (("train", (prepared.x_train, prepared.y_train)),
                         ("validation", (prepared.x_val, prepared.y_val)),
                         ("test", (prepared.x_test, prepared.y_test))):
        arrays[f"x_{name}"], arrays[f"y_{name}"] = np.asarray(x), np.asarray(y)
    np.savez(folder / "data" / "prepared.npz", **arrays)
    out.update(kind="prepared", source="data/prepared.npz", split_file=None,
               prepared=_prepared_by_nnstudio(spec, prepared.preparation) or "targets",
               n_rows=int(sum(len(arrays[f"x_{s}"]) for s in ("train", "validation", "test"))))
    return out


def _model_only_data(model: Any) -> dict:
    """``data.json`` of a model file: the preparation, no source (``--data`` names it)."""
    prep = model.preparation
    if prep is None:
        raise ExportError("the model has no data preparation (it was not trained on a "
                          "dataset), so data.py could not prepare data for it")
    kind = _prepared_by_nnstudio(None, prep)
    if kind is None and prep.heads is not None:
        kind = "targets named by its Output layers"
    if kind is not None:
        raise ExportError(f"the model was trained on {kind}, which the exported data.py "
                          "cannot prepare from a file: export its project instead (the "
                          "prepared data goes with it)")
    kinds = {f["name"]: ("numeric" if f["kind"] != "categorical" else "text")
             for f in prep.features}
    kinds.update({t: "numeric" if prep.task == "regression" else "text" for t in prep.targets})
    return {"format": "nnstudio.pytorch_data", "version": 1, "kind":
            "arrays" if prep.array is not None else "table", "preparation": prep.to_dict(),
            "split": {"fractions": [0.7, 0.15, 0.15], "seed": 0, "stratify": True,
                      "shuffle": True},
            "split_file": None, "source": None, "labels": None, "n_rows": None,
            "column_kinds": kinds, "reading": {"delimiter": ",", "header": True,
                                               "encoding": "utf-8"},
            "x_key": "x" if prep.array is not None else None, "y_key": "y"}


def _loss_text(settings: dict) -> str:
    """The README's line on the loss: one, or one per Output with its weight."""
    if settings.get("heads"):
        return "- loss `Σ weight · loss` over the outputs (`forward` returns `{target: " \
            "tensor}` when there are several): " + "; ".join(
                f"`{h['target']}`: {h['loss']} × {h['weight']:g}"
                + (f" (from the logits before its {h['fused']})" if h["fused"] else "")
                for h in settings["heads"])
    return f"- loss `{settings['loss']}`" + (
        f" (computed from the logits before the final {settings['fused']}, as nnstudio does)"
        if settings["fused"] else "")


def _readme(title: str, has_weights: bool, has_source: bool, settings: dict,
            model_text: str) -> str:
    data_arg = "" if has_source else " --data YOUR_DATA.csv"
    lines = [
        f"# {title} — PyTorch training project", "",
        f"Exported by nnstudio {__version__}. It trains the network designed in nnstudio with "
        "the same data preparation, split and training settings, on one CPU, one GPU or many "
        "machines.", "",
        "## Install", "", "```bash", "pip install -r requirements.txt   # or the CUDA build "
        "of torch from pytorch.org", "```", "",
        "## Train", "", "```bash",
        f"python train.py{data_arg}                                # CPU",
        f"python train.py --device cuda{data_arg}                  # one GPU "
        "(add --amp for mixed precision)",
        f"torchrun --nproc_per_node 2 train.py{data_arg}           # 2 processes on this "
        "machine (gloo on CPU)",
        f"torchrun --nproc_per_node 8 train.py --device cuda{data_arg}   # 8 GPUs (NCCL)",
        "torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d \\",
        f"         --rdzv_endpoint HOST:29500 train.py --device cuda{data_arg}  # on each of 2 "
        "machines",
        "```", "",
        "Results go to `run/` (`--out DIR`): `metrics.csv` and `metrics.json` (per epoch: "
        "loss, validation loss, metrics, learning rate), `checkpoint.pt` after every epoch "
        "(`--resume` continues), and `weights.npz` at the end. Only rank 0 writes.",
        "", "Bring the result back into nnstudio as a run of the project:", "",
        "```bash", "nnstudio import-run run/", "```", "",
        "## Settings", "",
        _loss_text(settings),
        f"- optimizer `{json.dumps(settings['optimizer'])}`, weight decay "
        f"{settings['weight_decay']:g} on the kernels",
        f"- batch {settings['batch_size']} (the global batch: each of N processes takes "
        f"1/N of it), {settings['epochs']} epochs (`--epochs`), seed {settings['seed']}",
        "- start: `init_weights.npz`, nnstudio's initial weights for this seed (`--init torch` "
        "for PyTorch's own, `--init FILE.npz` for others"
        + ("; `--init weights.npz` continues from the exported trained weights)"
           if has_weights else ")"),
        "", "## Files", "",
        "- `model.py` — the network (`Net`), " + model_text,
        "- `nnstudio_layers.py` — nnstudio's layers as PyTorch modules; weight files",
        "- `nnstudio_sequence.py` — the sequence and text layers (embeddings, attention, "
        "Conv1D, …)",
        "- `data.py` — the data, prepared as nnstudio does (`python data.py` shows the splits)",
        "- `train.py` — the training loop",
        "- `data.json`, `split.npz`, `training.json` — the preparation, the split, the settings",
        "",
    ]
    return "\n".join(lines)


class Cancelled(Exception):  # noqa: N818 (a request, not a failure)
    """The export was cancelled: nothing was written."""


def _go_on(cancelled: Callable[[], bool] | None) -> None:
    if cancelled is not None and cancelled():
        raise Cancelled


def export_pytorch(folder: str | Path, project: Any = None, model: Any = None,
                   copy_data: bool = False, prepared: Any = None,
                   run_record: Any = None,
                   cancelled: Callable[[], bool] | None = None) -> Path:
    """Write the PyTorch project for ``project`` and/or a trained ``model``.

    Parameters
    ----------
    folder:
        The project folder to create (replaced only when the new one is complete).
    project:
        A :class:`~nnstudio.core.io.project.Project` with a dataset: data, split and
        training settings come from it.
    model:
        A :class:`~nnstudio.core.io.model_file.TrainedModel`: its weights become
        ``weights.npz``. Alone (no project) its architecture, preparation and training
        settings are used and ``data.py`` needs ``--data``.
    copy_data:
        Copy the data file(s) into ``data/`` (for a machine that does not share the disk).
    prepared:
        The project's already loaded :class:`~nnstudio.core.data.PreparedData` (saves
        loading it again).
    run_record:
        A recorded run (:class:`~nnstudio.core.insight.replay.RunRecord`, e.g.
        ``project.replay_record()``): ``init_weights.npz`` becomes that run's initial
        weights instead of the initialization of the training seed.
    cancelled:
        Asked between the steps (the data, the weights, before the folder is put in place):
        True stops with :class:`Cancelled`, and nothing is written.
    """
    if project is None and model is None:
        raise ExportError("give a project or a model to export")
    dest = Path(folder)
    where = str(dest)
    try:
        if project is not None:
            from nnstudio.core.io.pipeline import build_network, load_data
            if prepared is None:
                prepared = load_data(project)
            init_net = build_network(project, prepared)
            spec = project.network_spec()
            config = project.training
            task, class_names = prepared.task, list(prepared.class_names)
            title = project.title
            architecture = project.network
        else:
            spec = model.spec
            config = TrainingConfig.from_dict(
                {k: v for k, v in model.training_config.items()
                 if k in TrainingConfig.__dataclass_fields__}, "model training settings")
            init_net = Network(spec, model.input_shape, seed=config.seed,
                               input_columns=model.network.input_columns)
            task, class_names = model.task, list(model.class_names)
            title = Path(str(getattr(model, "path", "") or "model")).stem
            architecture = model.architecture_dict()
        if model is not None:
            _check_same_network(init_net, model.network)
        if run_record is not None:
            _recorded_start(init_net, run_record)
        heads, columns = _heads_and_columns(project, prepared, model, init_net)
        code = render_model(spec, init_net.input_shape, config.loss, title, columns, heads)
        check_source(code.source)
        settings = training_settings(config, code.fused, task)
        if heads is not None:
            settings["heads"] = heads
    except NNStudioError as e:
        if isinstance(e, ExportError):
            raise
        raise ExportError(str(e), where) from None
    info = {
        "format": EXPORT_FORMAT, "version": 1, "nnstudio": __version__, "title": title,
        "project": str(project.path.resolve()) if project is not None and project.path
        else None,
        "architecture": {**architecture, "input_shape": list(init_net.input_shape)},
        # the prepared columns each Input takes (several Inputs), for import-run
        "input_columns": columns,
        "task": task, "class_names": class_names, "loss": config.loss,
        "training": config.to_dict(),
        "preparation": (prepared.preparation.to_dict() if prepared is not None else
                        model.preparation.to_dict() if model.preparation is not None else None),
        "trained_weights": model is not None,
    }
    try:
        with atomic_dir(dest) as tmp:
            for name in STATIC:
                shutil.copyfile(FILES / name, tmp / name)
            (tmp / "model.py").write_text(code.source, encoding="utf-8")
            _go_on(cancelled)
            data_spec = _data_files(project, prepared, tmp, dest, copy_data) \
                if project is not None else _model_only_data(model)
            _go_on(cancelled)
            _write_json(tmp / "data.json", data_spec)
            _write_json(tmp / "training.json", settings)
            _write_json(tmp / "export.json", info)
            np.savez(tmp / "init_weights.npz", **init_net.state_dict())
            if model is not None:
                np.savez(tmp / "weights.npz", **model.network.state_dict())
            (tmp / "requirements.txt").write_text(REQUIREMENTS, encoding="utf-8")
            model_text = ", ".join(sorted({n.type for n in spec.nodes}))
            (tmp / "README.md").write_text(
                _readme(title, model is not None, data_spec["source"] is not None, settings,
                        f"layers: {model_text}"), encoding="utf-8")
            _go_on(cancelled)  # the last moment: after it the folder is put in place
    except OSError as e:
        raise ExportError(f"cannot be written ({e.strerror or e})", where) from None
    except NNStudioError as e:
        raise ExportError(str(e), where) from None
    return dest


def export_from_session(folder: str | Path, model: Any, dataset_spec: Any = None,
                        prepared: Any = None, run_record: Any = None,
                        project: Any = None,
                        cancelled: Callable[[], bool] | None = None) -> Path:
    """The GUI's export: the current model, with the loaded data's source and split when
    there is one (``dataset_spec``, its ``prepared`` data), starting from the recorded run's
    initial weights when ``run_record`` fits the model. ``project`` (the open one) gives the
    title and the path ``import-run`` brings the result back to."""
    if dataset_spec is None or prepared is None:
        return export_pytorch(folder, model=model, cancelled=cancelled)
    from nnstudio.core.io.project import Project

    config = TrainingConfig.from_dict(
        {k: v for k, v in model.training_config.items()
         if k in TrainingConfig.__dataclass_fields__}, "model training settings")
    open_project = project
    project = Project(network=model.architecture_dict(), dataset=dataset_spec, training=config,
                      path=getattr(open_project, "path", None),
                      meta=dict(getattr(open_project, "meta", None) or {}))
    if run_record is not None:
        try:
            _recorded_start(Network(model.spec, model.input_shape), run_record)
        except (ExportError, NNStudioError, KeyError, TypeError):
            run_record = None  # a run of another network: start from the seed's weights
    return export_pytorch(folder, project=project, model=model, prepared=prepared,
                          run_record=run_record, cancelled=cancelled)


def _heads_and_columns(project: Any, prepared: Any, model: Any, net: Network
                       ) -> tuple[list[dict] | None, dict[str, list[int]] | None]:
    """The outputs' losses (``training.json``'s ``heads``, when Outputs name their targets)
    and the columns each Input takes (when the Inputs choose columns)."""
    from nnstudio.core.io.export_pytorch.model_code import head_settings

    if project is not None:
        from nnstudio.core.io.pipeline import output_heads

        source = net
        heads = output_heads(net, prepared)
    else:
        source = model.network
        heads = getattr(model, "heads", None)
    columns = source.input_columns
    if columns is not None:
        columns = {k: [int(c) for c in v] for k, v in columns.items()}
    return (head_settings(source, heads) if heads is not None else None), columns


def _recorded_start(net: Network, record: Any) -> None:
    """Load a recorded run's initial weights into ``net`` (the same network only)."""
    if NetworkSpec.from_dict(record.network).to_dict() != net.spec.to_dict() or \
            record.initial_params.shape != net.params.shape or \
            record.initial_state.shape != net.state.shape:
        raise ExportError("the recorded run was made with another network than the "
                          "project's: its initial weights do not fit")
    net.params[...] = record.initial_params
    net.state[...] = record.initial_state


def _check_same_network(a: Network, b: Network) -> None:
    """The model's weights must fit the project's network."""
    sa = {k: v.shape for k, v in a.state_dict().items()}
    sb = {k: v.shape for k, v in b.state_dict().items()}
    if sa != sb:
        diff = sorted(set(sa.items()) ^ set(sb.items()))[:3]
        raise ExportError(f"the model's weights do not fit the project's network "
                          f"(differences: {diff})")


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False, allow_nan=True) + "\n",
                    encoding="utf-8")


def network_spec_of(export_info: dict) -> tuple[NetworkSpec, tuple[int, ...]]:
    """The network and input shape recorded in an ``export.json``."""
    arch = dict(export_info["architecture"])
    shape = tuple(int(v) for v in arch.pop("input_shape"))
    return NetworkSpec.from_dict(arch), shape
