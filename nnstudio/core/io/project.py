"""The project file (``.nnsproj``): a versioned JSON document of data, network and training.

Minimal form (a contract: users script these files; fields may be added, never required)::

    {"format": "nnstudio.project", "version": 2,
     "dataset": {"source": "iris.csv", "target": "species", ...},
     "network": {"nodes": [{"id": "in", "type": "Input"}, ...], "edges": [["in", "h1"], ...]},
     "training": {"loss": "cross_entropy", "optimizer": {"type": "adam"}, ...}}

Loading follows orange-canvas-core's ``readwrite``: the JSON is parsed into plain records,
migrated from older format versions (:data:`MIGRATIONS`), and validated section by section;
**every** problem is collected with its place and reported in one
:class:`~nnstudio.core.errors.ProjectError` (its ``problems`` attribute lists
``(place, message)`` pairs for a front end that wants to point at them). A file written by a
newer nnstudio is refused with a clear message. Saving is atomic.

The optional ``runs`` section (version 2) is the project's run history
(:mod:`nnstudio.core.io.runs`): every training run with its settings, curves and metrics, which
run is current, and the names of the files beside the project that hold each run's trained
weights and start (``house.nnsproj`` → ``house.runs/``, read with ``allow_pickle=False``).
A version-1 file's ``run`` section (the record of the last run, arrays in ``house.run.npz``)
becomes the first run of the history. A malformed runs section or a missing or damaged run
file never stops a project from loading: it loads without them, and
:attr:`Project.run_problem` says why in one sentence.

Extra top-level fields nnstudio keeps (in :attr:`Project.meta`): ``title``, ``description``,
``gui`` (an object the GUI may use for view state) and any field whose name starts with
``x_`` (yours). Any other unknown field is reported, so a misspelt section name is not
silently ignored.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.io.atomic import atomic_write_text
from nnstudio.core.io.jsonfmt import dumps
from nnstudio.core.io.netcheck import Problem, check_network, format_problems
from nnstudio.core.io.runs import RunHistory, remove_orphans, write_run_files
from nnstudio.core.training.config import TrainingConfig

#: The ``format`` value of every project file.
PROJECT_FORMAT = "nnstudio.project"
#: The format version this nnstudio writes (and the newest it reads).
PROJECT_VERSION = 3
#: Top-level fields kept in :attr:`Project.meta` (plus every ``x_...`` field).
META_FIELDS = ("title", "description", "gui")
_SECTIONS = ("format", "version", "dataset", "network", "training", "runs")
#: Suffix of the file beside a project that holds its run record's arrays.
RUN_ARRAYS_SUFFIX = ".run.npz"


def _migrate_0_to_1(d: dict[str, Any]) -> dict[str, Any]:
    """Version 0 was the unreleased draft format: the same sections, but ``format`` could be
    missing and the training section was called ``train``. An example of a migration step."""
    d = dict(d)
    d.setdefault("format", PROJECT_FORMAT)
    if "train" in d and "training" not in d:
        d["training"] = d.pop("train")
    d["version"] = 1
    return d


#: The id version-1 records get as the first run of the history.
V1_RUN_ID = "r0001-000000"


def _migrate_1_to_2(d: dict[str, Any]) -> dict[str, Any]:
    """Version 2 keeps every run (``runs``); version 1 kept only the record of the last run
    (``run``, arrays in ``<name>.run.npz``), which becomes the history's first run — known by
    its start and settings, with no trained weights (version 1 never saved them). Version 1
    read dates as days since 1970 and trained without early stopping unless asked: a
    version-1 project keeps both (``date_features``, ``early_stopping``)."""
    d = dict(d)
    run = d.pop("run", None)
    if run is not None and "runs" not in d:
        item: dict[str, Any] = {"id": V1_RUN_ID, "name": "Run 1 (recorded)", "kind": "train",
                                "reason": "recorded", "start": run}
        if isinstance(run, dict):
            if isinstance(run.get("training"), dict):
                item["settings"] = run["training"]
            if isinstance(run.get("architecture"), dict):
                item["network"] = run["architecture"]
            if isinstance(run.get("data_fingerprint"), str):
                item["data_fp"] = run["data_fingerprint"]
        d["runs"] = {"current": None, "items": [item]}
    training = d.get("training")
    if isinstance(training, dict) and "early_stopping" not in training:
        # Version 1 trained every epoch unless early stopping was asked for; version 2 stops
        # early by default.
        d["training"] = {**training, "early_stopping": None}
    dataset = d.get("dataset")
    if isinstance(dataset, dict) and "date_features" not in dataset:
        # Version 1 turned every date column into days since 1970; version 2's default is
        # month and weekday. An old project keeps training on what it trained on.
        d["dataset"] = {**dataset, "date_features": ["days"]}
    d["version"] = 2
    return d


def _migrate_2_to_3(d: dict[str, Any]) -> dict[str, Any]:
    """Version 3 writes ``"early_stopping": null`` when it is off, because early stopping is on
    by default from version 3 on; version 2 left the key out when it was off. A version-2
    project (and each of its runs' settings) without the key keeps training every epoch."""
    d = dict(d)
    training = d.get("training")
    if isinstance(training, dict) and "early_stopping" not in training:
        d["training"] = {**training, "early_stopping": None}
    runs = d.get("runs")
    if isinstance(runs, dict) and isinstance(runs.get("items"), list):
        items = []
        for item in runs["items"]:
            settings = item.get("settings") if isinstance(item, dict) else None
            if isinstance(settings, dict) and "early_stopping" not in settings:
                item = {**item, "settings": {**settings, "early_stopping": None}}
            items.append(item)
        d["runs"] = {**runs, "items": items}
    d["version"] = 3
    return d


#: ``MIGRATIONS[v]`` turns a version-``v`` record into a version-``v + 1`` record. To change
#: the format: bump :data:`PROJECT_VERSION`, add the step here, and add a test that loads an
#: old file.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    0: _migrate_0_to_1, 1: _migrate_1_to_2, 2: _migrate_2_to_3}


def _default_network() -> dict[str, Any]:
    return {"nodes": [{"id": "input", "type": "Input"}], "edges": []}


@dataclass
class Project:
    """A project: what data, which network, how to train it.

    Attributes
    ----------
    network:
        The file's ``network`` section as plain JSON data (``nodes`` with their settings and
        optional ``pos``, ``edges``); :meth:`network_spec` builds the engine's spec from it.
    dataset:
        A :class:`~nnstudio.core.data.DatasetSpec`, or ``None`` when the project has no data
        yet.
    training:
        The training settings.
    path:
        Where the project was loaded from or last saved to; relative data paths are relative
        to its folder.
    meta:
        ``title``, ``description``, ``gui`` and ``x_...`` fields, kept as they are.
    runs:
        The :class:`~nnstudio.core.io.runs.RunHistory`: every run and the current one.
    run_problem:
        Why the file's runs (or a run's start or weights) could not be read (the rest of the
        project loaded without them), or ``None``.
    """

    network: dict[str, Any] = field(default_factory=_default_network)
    dataset: Any = None
    training: TrainingConfig = field(default_factory=TrainingConfig)
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    runs: RunHistory = field(default_factory=RunHistory)
    run_problem: ProjectError | None = None

    @property
    def base_dir(self) -> Path | None:
        """The folder relative data paths are resolved against (``None`` if never saved)."""
        return self.path.parent if self.path is not None else None

    @property
    def title(self) -> str:
        """``meta["title"]``, else the file name without extension, else ``"untitled"``."""
        return str(self.meta.get("title") or (self.path.stem if self.path else "untitled"))

    def network_spec(self):
        """The engine's :class:`~nnstudio.core.engine.network.NetworkSpec` (no positions)."""
        from nnstudio.core.engine.network import NetworkSpec

        return NetworkSpec.from_dict(self.network)

    def replay_run(self):
        """The run Replay trains again: the current run, else the newest run with a start
        (``None`` when no run kept one)."""
        cur = self.runs.current
        if cur is not None and cur.has_start:
            return cur
        return next((r for r in reversed(self.runs.runs) if r.has_start), None)

    def replay_record(self):
        """The :class:`~nnstudio.core.insight.replay.RunRecord` of :meth:`replay_run`, read
        from its file if needed; ``None`` (and :attr:`run_problem` set) when it cannot be."""
        run = self.replay_run()
        if run is None:
            return None
        try:
            return self.runs.load_record(run)
        except ProjectError as e:
            where = e.where or ""
            if self.path is not None and not where.startswith(str(self.path.parent)):
                where = f"{self.path}: {where}" if where else str(self.path)
            self.run_problem = ProjectError(e.message, where or None)
            return None

    def trained_model(self):
        """The current run's :class:`~nnstudio.core.io.model_file.TrainedModel`.

        Raises :class:`ProjectError` (one sentence) when the project has no trained model or
        its weights cannot be read.
        """
        where = str(self.path) if self.path else None
        run = self.runs.current
        if run is None:
            raise ProjectError(
                "has no trained model yet: train it in nnstudio, or with "
                "`nnstudio train PROJECT --save`", where)
        return self.runs.load_model(run)

    def to_dict(self, base_dir: Path | None = None) -> dict[str, Any]:
        """The project as the JSON-able record of the current format version.

        ``base_dir`` is the folder of the file being written; data paths are written relative
        to it when possible (default: :attr:`base_dir`).
        The run history is not part of it: :func:`save_project` writes it (JSON and files).
        """
        base = base_dir if base_dir is not None else self.base_dir
        out: dict[str, Any] = {"format": PROJECT_FORMAT, "version": PROJECT_VERSION}
        for k in META_FIELDS:
            if k in self.meta:
                out[k] = copy.deepcopy(self.meta[k])
        if self.dataset is not None:
            out["dataset"] = _dataset_to_dict(self.dataset, base)
        out["network"] = copy.deepcopy(self.network)
        out["training"] = self.training.to_dict()
        for k, v in self.meta.items():
            if k not in META_FIELDS:
                out[k] = copy.deepcopy(v)
        return out

    @classmethod
    def from_dict(
        cls, d: Any, base_dir: str | Path | None = None, where: str | None = None
    ) -> Project:
        """Validate and migrate a parsed project record.

        Parameters
        ----------
        d:
            The parsed JSON.
        base_dir:
            The folder relative data paths are resolved against.
        where:
            How messages name the source (the file path); prefixed to the error.

        Raises
        ------
        ProjectError
            Listing every problem found, each with its place. A faulty ``run`` section is
            not one of them: it ends up in :attr:`run_problem`.
        """
        if not isinstance(d, dict):
            raise ProjectError("is not an nnstudio project (the JSON is not an object)", where)
        d = migrate(d, where)
        problems: list[Problem] = []
        unknown = [k for k in d if k not in _SECTIONS and k not in META_FIELDS
                   and not k.startswith("x_")]
        for k in unknown:
            problems.append(("", f"unknown field {k!r} (sections: dataset, network, training; "
                                 "your own fields must start with 'x_')"))
        base = Path(base_dir) if base_dir is not None else None
        dataset = None
        if d.get("dataset") is not None:
            try:
                dataset = _dataset_from_dict(d["dataset"], base)
            except NNStudioError as e:
                problems.append(_as_problem(e, "dataset"))
        network = d.get("network")
        if network is None:
            problems.append(("network", "is missing: a project needs a network section"))
        else:
            problems += check_network(network, _known_input_shape(dataset))
        training = TrainingConfig()
        if d.get("training") is not None:
            training, found = _parse_training(d["training"])
            problems += found
        if problems:
            err = ProjectError(format_problems(problems), where)
            err.problems = problems
            raise err
        meta = {k: copy.deepcopy(v) for k, v in d.items() if k not in _SECTIONS}
        runs, run_problem = RunHistory(), None
        if d.get("runs") is not None:
            try:
                runs = RunHistory.from_dict(d["runs"], base)
            except ProjectError as e:
                run_problem = ProjectError(e.message, f"{where}: {e.where}" if where else e.where)
        return cls(network=copy.deepcopy(network), dataset=dataset, training=training,
                   meta=meta, runs=runs, run_problem=run_problem)


# -- the run record --------------------------------------------------------------------------


def run_arrays_path(path: str | Path) -> Path:
    """Where the run record's arrays of the project at ``path`` go (``x.nnsproj`` →
    ``x.run.npz``)."""
    p = Path(path)
    return p.with_name(p.stem + RUN_ARRAYS_SUFFIX)


def _arrays_fingerprint(arrays: dict[str, Any]) -> str:
    from nnstudio.core.insight.replay import fingerprint

    return fingerprint(*(arrays[k] for k in sorted(arrays)))


def read_npz(path: Path, what: str) -> dict[str, Any]:
    """All arrays of an ``.npz`` (never unpickled); :class:`ProjectError` naming the file."""
    import numpy as np

    from nnstudio.core.data.npyfile import DAMAGED

    try:
        # The file is opened here so that it is closed whatever np.load makes of it (a
        # damaged zip it fails to open would stay open until collected).
        with open(path, "rb") as fh:
            # np.load takes anything that is not a zip for a pickle: say what it really is.
            if not zipfile.is_zipfile(fh):
                raise ProjectError(f"is not a readable .npz archive ({what})", str(path))
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ProjectError(f"is missing ({what} are kept there)", str(path)) from None
    except ValueError as e:  # object arrays need pickle, which could run a stranger's code
        if "pickle" in str(e).lower():
            raise ProjectError(
                f"holds Python objects, which nnstudio never loads ({what} must be plain "
                "number arrays)", str(path)) from None
        raise ProjectError(f"is damaged: not a readable .npz archive ({what})",
                           str(path)) from None
    except OSError as e:
        raise ProjectError(f"cannot be read ({e.strerror or e})", str(path)) from None
    except DAMAGED:  # a cut file, a broken deflate stream or checksum, a garbled header
        raise ProjectError(f"is damaged: not a readable .npz archive ({what})",
                           str(path)) from None


def migrate(d: dict[str, Any], where: str | None = None) -> dict[str, Any]:
    """Bring a record of any older version up to :data:`PROJECT_VERSION`.

    Raises :class:`ProjectError` for a file of another format or a newer version.
    """
    fmt = d.get("format", PROJECT_FORMAT)
    if fmt != PROJECT_FORMAT:
        raise ProjectError(
            f"is not an nnstudio project (format {fmt!r}, expected {PROJECT_FORMAT!r})", where
        )
    version = d.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ProjectError(
            f"'version' must be a whole number (got {version!r}; this nnstudio writes "
            f"{PROJECT_VERSION})", where,
        )
    if version > PROJECT_VERSION:
        raise ProjectError(
            f"was written by a newer nnstudio (format version {version}; this version reads up "
            f"to {PROJECT_VERSION}): update nnstudio",
            where,
        )
    while version < PROJECT_VERSION:
        d = MIGRATIONS[version](d)
        version += 1
        d["version"] = version
    return d


def _as_problem(e: NNStudioError, default: str) -> Problem:
    where = e.where or default
    if not where.startswith(default):
        where = f"{default}: {where}"
    return (where, e.message)


def _parse_training(d: Any) -> tuple[TrainingConfig, list[Problem]]:
    """The training settings, and every problem with them (one per faulty field)."""
    if not isinstance(d, dict):
        return TrainingConfig(), [("training", "must be an object")]
    problems: list[Problem] = []
    for k, v in d.items():  # each field alone first, so every faulty one is reported
        try:
            TrainingConfig.from_dict({k: v})
        except NNStudioError as e:
            problems.append(_as_problem(e, "training"))
        except TypeError:
            problems.append((f"training.{k}", f"has an invalid value {v!r}"))
        except ValueError as e:
            problems.append((f"training.{k}", f"has an invalid value {v!r} ({e})"))
    if problems:
        return TrainingConfig(), problems
    try:
        return TrainingConfig.from_dict(d), []
    except NNStudioError as e:  # settings that only clash together
        return TrainingConfig(), [_as_problem(e, "training")]
    except (TypeError, ValueError) as e:
        return TrainingConfig(), [("training", str(e))]


# -- the dataset section: delegated to the data layer --------------------------------------------


def _dataset_from_dict(d: Any, base_dir: Path | None):
    from nnstudio.core.data import DatasetSpec

    if not isinstance(d, dict):
        raise ProjectError("must be an object like {\"source\": \"data.csv\", ...}", "dataset")
    try:
        return DatasetSpec.from_dict(d, base_dir=base_dir, where="dataset")
    except (TypeError, ValueError, AttributeError) as e:  # a value of the wrong JSON type
        raise ProjectError(f"has a value of the wrong type ({e})", "dataset") from None


def _dataset_to_dict(spec: Any, base_dir: Path | None) -> dict[str, Any]:
    return spec.to_dict(base_dir=base_dir)


def _known_input_shape(dataset: Any) -> tuple[int, ...] | None:
    """The data's per-sample shape when it is known without reading the data (else None)."""
    shape = getattr(dataset, "known_input_shape", None)
    return tuple(shape) if shape else None


# -- files ---------------------------------------------------------------------------------------


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; missing, unreadable or malformed files raise :class:`ProjectError`
    naming the file and, for bad JSON, the line and column."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProjectError("no such file", str(p)) from None
    except IsADirectoryError:
        raise ProjectError("is a folder, not a file", str(p)) from None
    except UnicodeDecodeError:
        raise ProjectError("is not a text (UTF-8 JSON) file", str(p)) from None
    except OSError as e:
        raise ProjectError(f"cannot be read ({e.strerror})", str(p)) from None
    from nnstudio.core.io.jsonfmt import JSONCheckError, loads_checked

    try:
        return loads_checked(text)
    except JSONCheckError as e:  # malformed, too deep, a 5,000-digit number, a lone surrogate
        raise ProjectError(str(e), str(p)) from None


def load_project(path: str | Path) -> Project:
    """Read, migrate and validate a project file.

    Raises
    ------
    ProjectError
        For a missing or malformed file, a newer format version, or any invalid content
        (all problems listed, each with its place).
    """
    p = Path(path)
    project = Project.from_dict(read_json(p), base_dir=p.resolve().parent, where=str(p))
    project.path = p
    return project


def save_project(project: Project, path: str | Path, copy_only: bool = False) -> None:
    """Write ``project`` to ``path`` atomically and set ``project.path``.

    Data paths are written relative to the new file's folder when they are below it (or
    beside it), absolute otherwise. The runs' files go to the runs folder beside ``path``
    (:func:`~nnstudio.core.io.runs.runs_dir`) first — only those not there yet —, then the
    JSON (atomically), then files of ours that the JSON no longer names are removed. A crash
    at any point leaves the previous save readable.

    ``copy_only`` writes a copy (the autosave): ``project`` and its runs keep pointing at
    their own file.
    """
    p = Path(path)
    base = p.resolve().parent
    d = project.to_dict(base_dir=base)
    runs = project.runs
    if copy_only:
        runs = RunHistory([dataclasses.replace(r) for r in runs.runs], runs.current_id,
                          runs.keep_weights)
    write_run_files(runs, p)
    if len(runs) or runs.keep_weights is not None:
        d["runs"] = runs.to_dict(base)
    text = dumps(d)
    try:
        atomic_write_text(p, text)
    except OSError as e:
        raise ProjectError(f"cannot be written ({e.strerror or e})", str(p)) from None
    remove_orphans(runs, p)
    legacy = run_arrays_path(p)  # a version-1 record's arrays, now in the runs folder
    if legacy.exists() and not any(r.start_path is not None and r.start_path.resolve()
                                   == legacy.resolve() for r in runs):
        with contextlib.suppress(OSError):
            legacy.unlink()
    if not copy_only:
        project.path = p
