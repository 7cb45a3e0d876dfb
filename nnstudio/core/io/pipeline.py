"""The headless workflow shared by the CLI and the GUI: project → data → network → model.

::

    project = load_project("house.nnsproj")
    prepared = load_data(project)                        # DatasetSpec → PreparedData
    model = run_training(project, prepared, control, on_event=print)   # → TrainedModel
    save_model(model, "house.npz")

:func:`training_events` is the same run as a generator (it yields the trainer's
``BatchEnd``/``EpochEnd``/``TrainingFinished`` events and *returns* the model), for a worker
that wants to iterate; :func:`run_training` drives it and calls ``on_event`` for each event.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.engine.network import Network
from nnstudio.core.errors import DivergedError, GraphError, NNStudioError, ProjectError
from nnstudio.core.io.model_file import TrainedModel
from nnstudio.core.io.netcheck import check_network, format_problems, node_place
from nnstudio.core.io.project import Project
from nnstudio.core.training import (
    BatchEnd,
    EpochEnd,
    TrainControl,
    TrainingFinished,
    is_classification,
    train,
)
from nnstudio.core.training.heads import Heads

Event = BatchEnd | EpochEnd | TrainingFinished
SPLITS = ("train", "validation", "test")


def load_data(project: Project) -> Any:
    """Load and prepare the project's data (:func:`~nnstudio.core.data.build_dataset`).

    Raises :class:`ProjectError` when the project has no dataset, and the data layer's
    :class:`~nnstudio.core.errors.DataError` for a bad file.
    """
    if project.dataset is None:
        raise ProjectError(
            "has no dataset section: add one, e.g. \"dataset\": {\"source\": \"data.csv\", "
            "\"target\": \"price\"}", str(project.path) if project.path else "project",
        )
    from nnstudio.core.data import build_dataset
    from nnstudio.core.data.binding import output_targets, several_inputs

    spec = project.network_spec()
    try:
        outputs = output_targets(spec)
    except GraphError as e:
        raise ProjectError(str(e), str(project.path) if project.path else "project") from None
    return build_dataset(project.dataset, project.base_dir, outputs=outputs,
                         several_inputs=several_inputs(spec))


def split_arrays(prepared: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (x, y), "validation": (x, y), "test": (x, y)}`` of a PreparedData."""
    return {
        "train": (prepared.x_train, prepared.y_train),
        "validation": (prepared.x_val, prepared.y_val),
        "test": (prepared.x_test, prepared.y_test),
    }


def build_network(project: Project, prepared: Any = None, dtype: Any = np.float32) -> Network:
    """The project's network, built for the data's input shape, seeded from the training seed.

    Every problem (settings, connections, shapes, an output that does not fit the data) is
    reported at once, each at its node: ``network.nodes[3] 'out': Dense ...``.
    """
    where = str(project.path) if project.path else "project"
    input_shape = tuple(prepared.input_shape) if prepared is not None else None
    columns = None
    if prepared is not None:
        from nnstudio.core.data.binding import input_columns

        try:
            columns = input_columns(project.network_spec(), prepared.preparation)
        except GraphError as e:
            problems = [(e.where or "network", e.message if hasattr(e, "message") else str(e))]
            err = ProjectError(format_problems(problems), where)
            err.problems = problems
            raise err from None
    problems = check_network(project.network, input_shape, columns)
    if not problems and prepared is not None:
        problems = (_output_problems(project, prepared, columns)
                    + _vocabulary_problems(project, prepared))
    if problems:
        err = ProjectError(format_problems(problems), where)
        err.problems = problems
        raise err
    if input_shape is None:
        raise ProjectError("the network's input shape is unknown without data", where)
    _check_network_memory(project, input_shape, np.dtype(dtype), where, columns)
    net = Network(project.network_spec(), input_shape, dtype=dtype, seed=project.training.seed,
                  input_columns=columns)
    output_heads(net, prepared, where)  # an Output that cannot learn its target: say so now
    return net


def output_heads(net: Network, prepared: Any, where: str = "project") -> Heads | None:
    """The :class:`Heads` of a network trained on several targets (``prepared`` made for
    its Output layers), else None; a :class:`ProjectError` placed at the Output at fault."""
    heads = getattr(getattr(prepared, "preparation", None), "heads", None)
    if heads is None:
        if net.multi_output:
            raise ProjectError("the network has several outputs but the data was prepared "
                               "for one target: name each Output's target column", where)
        return None
    try:
        return Heads.build(net, heads)
    except NNStudioError as e:
        raise ProjectError(str(e), where) from None


def _check_network_memory(project: Project, input_shape: tuple, dtype: np.dtype,
                          where: str, columns: dict | None = None) -> None:
    """Refuse a network that cannot fit before allocating it, saying how much it needs
    (the estimate of :mod:`nnstudio.core.training.memory`: weights, gradients, saved copies,
    optimizer state and the activations of one batch)."""
    from nnstudio.core.engine.network import infer_shapes
    from nnstudio.core.memory import check_fits
    from nnstudio.core.training.memory import estimate_training_memory

    spec = project.network_spec()
    report = infer_shapes(spec, input_shape, columns)
    opt = dict(project.training.optimizer or {})
    kind = str(opt.get("type", "adam")).lower()
    if kind == "sgd" and opt.get("momentum"):
        kind = "sgd_momentum"
    estimate = estimate_training_memory(report, max(1, int(project.training.batch_size)), kind,
                                        dtype.itemsize, spec=spec)
    check_fits(estimate.total, f"the network ({estimate.params:,} parameters; "
                               f"{estimate.describe()})", where, ProjectError)


def _vocabulary_problems(project: Project, prepared: Any) -> list[tuple[str, str]]:
    """An Embedding whose table is smaller than the text's vocabulary (token ids past its
    end) is a design problem, reported before training at the Embedding."""
    text = getattr(getattr(prepared, "preparation", None), "text", None)
    if text is None:
        return []
    v = len(text.vocab)
    out = []
    for i, n in enumerate(project.network_spec().nodes):
        size = n.config.get("vocab_size", 1000) if n.type == "Embedding" else None
        if size is not None and int(size) < v:
            out.append((node_place(i, n.id), f"vocab_size is {size} but the text's vocabulary "
                        f"has {v} tokens: set vocab_size to {v}"))
    return out


def _output_problems(project: Project, prepared: Any, columns: dict | None = None
                     ) -> list[tuple[str, str]]:
    """Does the network's output fit the data's task and the loss?"""
    from nnstudio.core.engine.network import infer_shapes

    spec = project.network_spec()
    report = infer_shapes(spec, tuple(prepared.input_shape), columns)
    succ = spec.successors()
    outs = [n.id for n in spec.nodes if not succ[n.id]]
    if len(outs) != 1:
        return []
    out_id = outs[0]
    shape = report.nodes[out_id].shape
    # Point at the layer that sets the output size (the Dense before a final Softmax).
    preds = spec.predecessors()
    from nnstudio.core.engine.layer import LAYERS

    def sets_size(node_id: str) -> bool:
        cls = LAYERS.get(spec.node(node_id).type)
        return cls is not None and any(st.name == "units" for st in cls.settings)

    sizer = out_id
    while not sets_size(sizer) and len(preds[sizer]) == 1 and \
            report.nodes[preds[sizer][0]].shape == shape:
        sizer = preds[sizer][0]
    if not sets_size(sizer):
        sizer = out_id
    index = next(i for i, n in enumerate(spec.nodes) if n.id == sizer)
    place = node_place(index, sizer)
    loss = project.training.loss
    task = prepared.task
    k = int(prepared.output_size)
    if task == "language_model":  # next-token windows (core/data/text_dataset.py)
        t = int(prepared.input_shape[0])
        if loss != "cross_entropy":
            return [("training.loss", f"a language model trains with cross_entropy over "
                     f"every position, not {loss!r}")]
        if shape != (t, k):
            return [(place, f"outputs {shape} but a language model needs one distribution "
                     f"over the {k} tokens at each of the {t} positions: end the network with "
                     f"Dense {k} + Softmax on the sequence (shape ({t}, {k}))")]
        return []
    if task == "classification" and not is_classification(loss):
        return [("training.loss", f"{loss!r} is a regression loss but the data's target is "
                 f"a class ({k} classes): use cross_entropy (or binary_cross_entropy for 2)")]
    if task == "regression" and is_classification(loss):
        return [("training.loss", f"{loss!r} is a classification loss but the data's target "
                 "is a number: use mse or mae")]
    if task == "classification" and shape is not None and len(shape) == 2:
        return [(place, f"outputs one vector per position {shape} but the data has one class "
                 "per sample: add Flatten (or GlobalAvgPool1D) before the last Dense")]
    if task == "classification" and loss == "cross_entropy" and shape != (k,):
        return [(place, f"outputs {shape} but the data has {k} classes: end the network with "
                 f"Dense {k} + Softmax")]
    if task == "classification" and loss == "binary_cross_entropy":
        if k != 2:
            return [("training.loss", f"binary_cross_entropy needs 2 classes, the data has {k}: "
                     "use cross_entropy")]
        if shape != (1,):
            return [(place, f"outputs {shape}; binary cross-entropy needs one output: end the "
                     "network with Dense 1 + Sigmoid")]
    if task == "regression" and (shape is None or math.prod(shape) != k):
        return [(place, f"outputs {shape} but the data has {k} target value(s) per sample: "
                 f"end the network with {'Flatten + ' if shape and len(shape) > 1 else ''}"
                 f"Dense {k}")]
    return []


def training_events(
    project: Project,
    prepared: Any,
    control: TrainControl | None = None,
    epochs: int | None = None,
    network: Network | None = None,
) -> Generator[Event, None, TrainedModel]:
    """Train the project's network on ``prepared``; yield every event, return the model.

    Parameters
    ----------
    project:
        Its ``network`` and ``training`` sections are used.
    prepared:
        The :class:`~nnstudio.core.data.PreparedData` from :func:`load_data`.
    control:
        Stop/pause requests (another thread, or the CLI's Ctrl-C handler).
    epochs:
        Overrides ``training.epochs`` (``0`` returns the initialized model).
    network:
        A network to continue training (default: a new one from :func:`build_network`).

    Returns (as the generator's return value) the :class:`TrainedModel`. A stopped run keeps
    the best weights so far. A diverged run raises :class:`DivergedError` after yielding its
    ``TrainingFinished``.
    """
    config = project.training
    if epochs is not None:
        config = dataclasses.replace(config, epochs=int(epochs))
    config.validate()
    net = network if network is not None else build_network(project, prepared)
    splits = split_arrays(prepared)
    x_val, y_val = splits["validation"]
    val = (x_val, y_val) if len(x_val) else None
    best: tuple[np.ndarray, np.ndarray] | None = None
    finished: TrainingFinished | None = None
    heads = output_heads(net, prepared)
    for event in train(net, config, splits["train"], val, control=control, heads=heads):
        if isinstance(event, EpochEnd) and event.improved:
            best = (net.params.copy(), net.state.copy())
        if isinstance(event, TrainingFinished):
            finished = event
        yield event
    assert finished is not None
    if finished.reason == "diverged":
        raise DivergedError(finished.message)
    if finished.reason == "stopped" and best is not None:
        net.params[...], net.state[...] = best  # the best weights so far
    model = TrainedModel.from_training(
        net, prepared, config, project.dataset, history=finished.history,
        architecture=project.network,
    )
    model.summary = {
        "epochs": finished.epochs_run,
        "best_epoch": finished.best_epoch,
        "reason": finished.reason,
        "message": finished.message,
        "seconds": round(finished.elapsed, 3),
        "metrics": evaluate_splits(model, prepared),
        "samples": {s: len(splits[s][0]) for s in SPLITS},
        "trained_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "nnstudio": __version__,
    }
    return model


def run_training(
    project: Project,
    prepared: Any,
    control: TrainControl | None = None,
    on_event: Callable[[Event], None] | None = None,
    epochs: int | None = None,
    network: Network | None = None,
) -> TrainedModel:
    """Train and return the :class:`TrainedModel`, calling ``on_event`` for every event.

    See :func:`training_events` for the parameters and errors.
    """
    gen = training_events(project, prepared, control, epochs, network)
    while True:
        try:
            event = next(gen)
        except StopIteration as stop:
            return stop.value
        if on_event is not None:
            on_event(event)


def evaluate_splits(model: TrainedModel, prepared: Any) -> dict[str, dict[str, float]]:
    """``{"train": {...}, "validation": {...}, "test": {...}}`` (empty splits left out)."""
    out = {}
    for name, (x, y) in split_arrays(prepared).items():
        if len(x):
            out[name] = model.metrics(x, y)
    return out
