"""Files the user owns and what leaves the app: project files, model files, exports.

Public API
----------
project
    ``Project`` (network dict, dataset ``DatasetSpec | None``, training ``TrainingConfig``,
    path, meta), ``load_project(path)``, ``save_project(project, path)``,
    ``Project.to_dict()``, ``Project.from_dict(d, base_dir, where)``, ``PROJECT_VERSION``.
model_file
    ``TrainedModel`` (``predict_raw(rows)``, ``predict_prepared(x)``, ``metrics(x, y)``,
    ``from_training(network, prepared, config, spec)``), ``Predictions``,
    ``save_model(model, path)``, ``load_model(path)``; ``open_trained(path)`` reads a model
    file or a project's current trained run.
runs
    ``Run``, ``RunHistory`` (the project's runs, the current one, lazy weights),
    ``run_from_model``, ``runs_dir``.
pipeline
    ``load_data(project)``, ``build_network(project, prepared)``,
    ``run_training(project, prepared, control, on_event, epochs)``,
    ``training_events(...)`` (a generator returning the model), ``evaluate_splits``.
onnx_export
    ``export_onnx(model, path) -> ExportInfo`` (preparation folded into the graph).
numpy_export
    ``export_numpy(model, folder)`` (``predict.py`` + ``weights.npz``, NumPy only).
atomic
    ``atomic_open``, ``atomic_write_text``, ``atomic_write_bytes``, ``atomic_dir``.

The file formats and the CLI are described in ``docs/files-and-cli.md``.
"""

from nnstudio.core.io.model_file import Predictions, TrainedModel, load_model, save_model
from nnstudio.core.io.pipeline import build_network, load_data, run_training, training_events
from nnstudio.core.io.project import PROJECT_VERSION, Project, load_project, save_project

__all__ = [
    "PROJECT_VERSION",
    "Predictions",
    "Project",
    "TrainedModel",
    "build_network",
    "load_data",
    "load_model",
    "load_project",
    "open_trained",
    "run_training",
    "save_model",
    "save_project",
    "training_events",
]


def open_trained(path):
    """The trained model of a model file (``.npz``) or of a project's current run.

    Raises :class:`~nnstudio.core.errors.ProjectError` (one sentence) for a project without a
    trained model, unreadable weights, or a file that is neither.
    """
    from pathlib import Path

    from nnstudio.core.errors import ProjectError

    p = Path(path)
    if p.suffix.lower() == ".nnsproj" or _looks_like_json(p):
        try:
            project = load_project(p)
        except ProjectError as e:
            if p.suffix.lower() != ".nnsproj":
                raise ProjectError("is neither an nnstudio model file (.npz) nor a project "
                                   "(.nnsproj)", str(p)) from None
            raise e from None
        return project.trained_model()
    return load_model(p)


def _looks_like_json(p) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(64).lstrip()
    except OSError:
        return False
    return head.startswith((b"{", b"\xef\xbb\xbf{"))
