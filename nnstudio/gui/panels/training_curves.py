"""Which metric the Training panel's plots show, and a stored run's curves drawn again.

A run of a classifier (or a language model) plots accuracy, a regression R², a network with
several outputs each output's validation metric (``"<target>/<metric>"``, one curve each).
"""

from __future__ import annotations

import math

from nnstudio.core.training import EpochEnd
from nnstudio.gui.plots.training_plots import TrainingPlots


def task_metric(task: str | None) -> str:
    """The metric a run on data of ``task`` plots (one output)."""
    return "accuracy" if task in ("classification", "language_model") else "r2"


def idle_metric(task: str | None) -> str:
    """The plots' title before any run: per output for several targets."""
    return "outputs" if task == "multi_output" else task_metric(task)


def history_metric(history: dict) -> str:
    """The metric a stored run's curves hold (``Run.history``)."""
    return "accuracy" if ("accuracy" in history or "val_accuracy" in history) else "r2"


def show_history(plots: TrainingPlots, history: dict, metric: str, best_epoch: int = 0,
                 outputs: list[str] | None = None) -> None:
    """Draw a stored run's per-epoch curves (``Run.history``: name → one value per epoch);
    ``outputs``: the per-output validation metrics of a network with several outputs."""
    n = len(history.get("loss", []))
    outputs = list(outputs or [])
    plots.reset(metric, n or None, outputs)

    def col(name: str, i: int) -> float:
        values = history.get(name) or []
        return float(values[i]) if i < len(values) else math.nan

    for i in range(n):
        m = {metric: col(metric, i)} if metric in history else {}
        vm = {metric: col("val_" + metric, i)} if "val_" + metric in history else {}
        vm.update({key: col("val_" + key, i) for key in outputs})
        plots.add_epoch(EpochEnd(i + 1, n, col("loss", i), col("val_loss", i), m, vm,
                                 col("learning_rate", i), 0.0, False, best_epoch))
    plots.flush()
