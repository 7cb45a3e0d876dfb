"""What the Training panel checks before a run: its data, its memory, whether the current
model can be trained further, whether a recorded run can be replayed.

Each check returns a plain reason (or raises :class:`~nnstudio.core.errors.NNStudioError`)
that the panel shows in its banner; nothing here touches a widget.
"""

from __future__ import annotations

from nnstudio.core.engine.network import Network
from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.runs import network_fingerprint
from nnstudio.core.training.memory import check_training_fits, estimate_training_memory
from nnstudio.gui import design_data
from nnstudio.gui.session import split_data


def copy_network(net: Network) -> Network:
    """An independent network with ``net``'s weights and state (a run trains its own)."""
    copy = Network(net.spec, tuple(net.input_shape), dtype=net.dtype, seed=0,
                   input_columns=net.input_columns)
    copy.load_state_dict(net.state_dict())
    return copy


def training_fit(spec, prepared, cfg):
    """The memory estimate of a run (its Inputs' columns included); refuses a network with
    nothing to learn or too big for this machine."""
    report = design_data.shape_report(spec, prepared)
    opt = dict(cfg.optimizer or {})
    kind = str(opt.get("type", "adam")).lower()
    if kind == "sgd" and opt.get("momentum"):
        kind = "sgd_momentum"
    estimate = estimate_training_memory(report, int(cfg.batch_size), kind, spec=spec)
    check_training_fits(estimate)
    return estimate


def run_data(prepared):
    """``((X_train, y_train), (X_val, y_val))``; refuses an empty training split."""
    train_data, val_data = split_data(prepared)
    if not len(train_data[0]):
        raise NNStudioError("the training split is empty; give it a larger share")
    return train_data, val_data


def continue_problem(run, model, prepared, network_source) -> str:
    """Why the current model cannot be trained further on this design and data ("" when
    it can)."""
    if tuple(model.input_shape) != tuple(prepared.input_shape):
        return (f"the current model ({run.name}) takes inputs of shape "
                f"{tuple(model.input_shape)}, the loaded data has "
                f"{tuple(prepared.input_shape)}. Press Start to train a new model.")
    if network_source is not None:
        spec, _ = network_source()
        if network_fingerprint(spec.to_dict()) != network_fingerprint(
                model.network.spec.to_dict()):
            return (f"the network on the canvas is not the current model's ({run.name}); "
                    "make that run current again to continue it (Runs panel), or press "
                    "Start to train the changed design from new weights.")
    return ""


def replay_problem(record, prepared, train_data, val_data, data_fp,
                   network_source) -> tuple[str, str] | None:
    """``(title, message)`` saying why ``record`` cannot be replayed on this data and design
    (the curves would differ), or ``None``."""
    if record.data_changed(train_data, val_data, data_fp):
        return ("Cannot replay: the data changed",
                "The training or validation data are not the recorded run's (another file, "
                "split or preparation), so the curves would differ. Load that data again to "
                "replay, or press Start for a new run.")
    changes = []
    if network_source is not None:
        spec, _ = network_source()
        changes = record.network_changes(spec, tuple(prepared.input_shape))
    if changes:
        more = f" (and {len(changes) - 3} more)" if len(changes) > 3 else ""
        return ("Cannot replay: the network changed",
                f"The network is not the recorded run's: {'; '.join(changes[:3])}{more}. "
                "Undo the change to replay, or press Start for a new run.")
    return None
