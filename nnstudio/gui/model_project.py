"""A model file opened in the window: an untitled project whose current run is the model.

The model file holds everything the window shows without data — the network (with its canvas
positions when it was trained in nnstudio), the fitted preparation, the training settings,
the per-epoch curves and the metrics per split — so the canvas, the Training curves, Results
(the metrics), Predict, Inside the network (what needs no data) and Export work at once;
**File ▸ Save As** turns it into a project that keeps the model as its first run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.project import Project
from nnstudio.core.io.runs import RunHistory, run_from_model
from nnstudio.core.training import TrainingConfig


def project_from_model(model: Any, path: str | Path) -> Project:
    """An unsaved :class:`Project` showing ``model`` (loaded from ``path``) as its current
    run."""
    p = Path(path)
    runs = RunHistory()
    run = run_from_model(runs, model, "model", name=p.stem)
    run.note = f"opened from {p.name}"
    runs.add(run, make_current=True)
    try:
        training = TrainingConfig.from_dict(dict(model.training_config or {}))
        training.validate()
    except (NNStudioError, TypeError, ValueError):
        training = TrainingConfig(loss=model.loss)
    return Project(network=run.network or model.architecture_dict(), training=training,
                   meta={"title": p.stem}, runs=runs)
