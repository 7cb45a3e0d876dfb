"""The words of the Training panel: its status line and its banner after a run.

Pure functions of a run's outcome or a stored run (no widget): the panel puts what they
return into its status label and its :class:`~nnstudio.gui.panels.workflow_widgets.Banner`.
A network with several outputs is scored per output (``"<target>/<metric>"`` keys, said by
:func:`nnstudio.gui.design_data.outputs_summary`).
"""

from __future__ import annotations

from dataclasses import dataclass

from nnstudio.gui import design_data


@dataclass(frozen=True)
class RunReport:
    """What the panel shows when a run ends.

    ``status``: the status line; ``kind``/``title``/``message``: the banner; ``complete``:
    the run went to its end (the progress bar is filled).
    """

    status: str
    kind: str
    title: str
    message: str
    complete: bool


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def scores_summary(results) -> str:
    """``Scores: validation accuracy 97.5 %, test accuracy 96.0 %.`` ("" without results)."""
    if results is None:
        return ""
    parts = []
    for split in ("validation", "test"):
        r = results.splits.get(split)
        if r is None:
            continue
        if results.outputs is not None:
            parts.append(f"{split}: {design_data.outputs_summary(r.metrics)}")
        elif results.task == "classification":
            parts.append(f"{split} accuracy {100 * r.metrics['accuracy']:.1f} %")
        else:
            parts.append(f"{split} R² {r.metrics['r2']:.3f}")
    return ("Scores: " + ", ".join(parts) + ".") if parts else ""


def run_report(outcome, run=None, kept=None) -> RunReport:
    """The status line and banner of a run that ended (``outcome``: a
    :class:`~nnstudio.gui.workers.training_worker.TrainingOutcome`); ``run``: the stored run
    it became, ``kept``: the run that stays current when this one diverged."""
    fin = outcome.finished
    summary = scores_summary(outcome.results)
    name = f"{run.name}: " if run is not None else ""
    if fin.reason == "diverged":
        still = (f" It is kept in the run history, marked diverged; the current model is "
                 f"still {kept.name}." if kept is not None else "")
        report = RunReport(f"{name}diverged after {fin.epochs_run} epoch(s)", "error",
                           "Training diverged and was stopped",
                           f"{sentence(fin.message)}{still} Then press Start again.", False)
    elif fin.reason == "stopped":
        report = RunReport(
            f"{name}stopped after {fin.epochs_run} epoch(s)", "info", "Stopped",
            f"You stopped the run after {fin.epochs_run} complete epoch(s); the weights of "
            f"the last complete epoch were kept. {summary}", False)
    elif fin.reason == "early_stopping":
        report = RunReport(f"{name}stopped early after {fin.epochs_run} epochs", "success",
                           "Finished (early stopping)", f"{sentence(fin.message)} {summary}",
                           True)
    else:
        report = RunReport(f"{name}finished {fin.epochs_run} epochs", "success", "Finished",
                           summary, True)
    if outcome.results_error:
        report = RunReport(report.status, report.kind, report.title,
                           report.message + " " + outcome.results_error, report.complete)
    return report


def run_line(run) -> str:
    """``Current model: Run 3 · 40 epoch(s) · validation accuracy 97.5 %``."""
    label, value = run.headline("validation")
    score = ""
    outputs = design_data.outputs_summary(run.metrics.get("validation") or {})
    if outputs:
        score = f" · validation {outputs}"
    elif label == "accuracy":
        score = f" · validation accuracy {100 * value:.1f} %"
    elif label == "r2":
        score = f" · validation R² {value:.3f}"
    return f"Current model: {run.name} · {run.epochs} epoch(s){score}"


def ready_line(prepared, n_train: int) -> str:
    """``Ready · 1,234 training samples`` (and the targets the Output layers name)."""
    text = f"Ready · {n_train:,} training samples"
    if getattr(prepared.preparation, "heads", None) is not None:
        text += " · targets from the Output layers: " + design_data.targets_line(prepared)
    return text


def replay_tip(record) -> str:
    """The Replay button's tooltip for the recorded run (or ``None``)."""
    if record is None:
        return "Every run records how it started; train once to replay it"
    return (f"Train again from the recorded start ({record.training.get('epochs')} "
            f"epochs, seed {record.seed}): the same initial weights, batches and "
            "settings give the same curves")
