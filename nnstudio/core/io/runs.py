"""The run history of a project: every training run, its curves, metrics and weights.

A :class:`Run` is one training run — a Start, a replay, a step-mode run, a continued run, an
imported result — with what a person compares runs by (start time, settings, network and
data fingerprints, per-epoch curves, metrics per split, stop reason, active seconds) and,
while they are kept, its **weights** (a complete model file, so a run's model can be opened,
evaluated or exported on its own) and its **start** (the initial weights and split of
:class:`~nnstudio.core.insight.replay.RunRecord`, for Replay).

:class:`RunHistory` is the project's list of runs plus which one is *current* (the model that
Predict, Results, Export and Inside the network show). The project file keeps the JSON part
(``runs`` section); the arrays live in a folder beside the project file, one immutable file
per run and kind (``house.nnsproj`` → ``house.runs/r0003-1f2e3d.model.npz`` and
``….start.npz``). Files are never rewritten: a save writes only files that are not there yet,
then the project JSON (atomically), then removes files of its own naming that the new JSON no
longer refers to. A crash at any point therefore leaves the previous project intact: the old
JSON still names files that still exist, and what the interrupted save wrote is an orphan that
the next save removes.

Weights load lazily (:meth:`RunHistory.load_model`): opening a project with twenty runs reads
the JSON only; the GUI loads the current run's weights in a background thread.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import math
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnstudio.core.errors import NNStudioError, ProjectError

#: Kinds of run (how it started).
RUN_KINDS = ("train", "replay", "step", "continue", "import", "model")
#: Why a run ended (``recorded``: a version-1 project's record, whose end is not known).
RUN_REASONS = ("completed", "early_stopping", "stopped", "diverged", "recorded")
#: Run ends after which a new run becomes the current model.
KEEPS_MODEL = ("completed", "early_stopping", "stopped")
#: Suffix of the folder beside a project that holds its runs' arrays.
RUNS_DIR_SUFFIX = ".runs"
MODEL_SUFFIX = ".model.npz"
START_SUFFIX = ".start.npz"
_ID = re.compile(r"^r\d{4,9}-[0-9a-f]{6}$")
#: Files in a runs folder that belong to nnstudio (run files and our atomic temporaries).
_OWNED = re.compile(r"^(r\d{4,9}-[0-9a-f]{6}(\.model|\.start)\.npz|\..*\.npz\.[^.]+\.tmp)$")


def runs_dir(project_path: str | Path) -> Path:
    """The folder of a project's run arrays (``x.nnsproj`` → ``x.runs``)."""
    p = Path(project_path)
    return p.with_name(p.stem + RUNS_DIR_SUFFIX)


def now_iso() -> str:
    """The current UTC time as ``2026-12-03T09:30:00Z``."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def network_fingerprint(network: dict[str, Any] | None) -> str:
    """A short hash of a network section's layers, settings and edges (positions ignored)."""
    import json

    if not network:
        return ""
    nodes = [{k: v for k, v in n.items() if k != "pos"} for n in network.get("nodes", [])
             if isinstance(n, dict)]
    body = json.dumps({"nodes": nodes, "edges": network.get("edges", [])}, sort_keys=True,
                      default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass
class Run:
    """One training run.

    Attributes
    ----------
    id:
        ``r0007-3fa2c1``: a sequence number (the order runs were made in) and a random part
        (two projects' runs never share a file name).
    name, note:
        What the user calls the run and what they wrote about it.
    kind:
        One of :data:`RUN_KINDS`.
    parent:
        The run this one continued from (``continue``, ``step``), or ``None``.
    started:
        ISO UTC time the run started.
    seconds:
        Active training time: pauses are not counted.
    epochs, best_epoch:
        Epochs run; the epoch whose weights were kept (early stopping), 0 if none.
    reason, message:
        Why it ended (:data:`RUN_REASONS`) and the trainer's sentence about it.
    settings:
        The training settings (``TrainingConfig.to_dict()``).
    network:
        The network section it trained (with canvas positions).
    input_shape:
        Per-sample input shape, or ``None``.
    network_fp, data_fp:
        Fingerprints of the network (:func:`network_fingerprint`) and of the training and
        validation data (``core.insight.replay.data_fingerprint``).
    history:
        Per-epoch curves: ``loss``, ``val_loss``, ``accuracy``, ``val_r2``...
    metrics:
        ``{split: {metric: value}}`` of the kept weights.
    model:
        The trained :class:`~nnstudio.core.io.model_file.TrainedModel` once made or loaded;
        ``None`` while its file has not been read or when the weights were not kept.
    record:
        The :class:`~nnstudio.core.insight.replay.RunRecord` (start of the run, for Replay),
        once made or loaded.
    weights_path, start_path:
        Where the run's files are now (absolute), ``None`` when not written yet.
    has_weights, has_start:
        Whether the run keeps its weights / its start at all (False once pruned).
    problem:
        Why the run's weights could not be read (one sentence), or ``None``.
    """

    id: str
    name: str = ""
    kind: str = "train"
    parent: str | None = None
    note: str = ""
    started: str = field(default_factory=now_iso)
    seconds: float = 0.0
    epochs: int = 0
    best_epoch: int = 0
    reason: str = "completed"
    message: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    input_shape: list[int] | None = None
    network_fp: str = ""
    data_fp: str = ""
    history: dict[str, list[float]] = field(default_factory=dict)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    model: Any = None
    record: Any = None
    weights_path: Path | None = None
    start_path: Path | None = None
    has_weights: bool = False
    has_start: bool = False
    weights_sha: str = ""
    start_record: dict[str, Any] | None = None
    problem: str | None = None

    # -- what a list shows -------------------------------------------------------------------
    @property
    def diverged(self) -> bool:
        return self.reason == "diverged"

    @property
    def number(self) -> int:
        """The sequence number of the id (``r0007-…`` → 7)."""
        try:
            return int(self.id[1:].split("-")[0])
        except ValueError:
            return 0

    def metric(self, split: str, name: str) -> float:
        """``metrics[split][name]`` or ``nan``."""
        v = self.metrics.get(split, {}).get(name)
        return float(v) if isinstance(v, (int, float)) else math.nan

    def headline(self, split: str) -> tuple[str, float]:
        """The metric a person compares runs by on ``split``: accuracy, else R², else loss."""
        for name in ("accuracy", "r2", "loss"):
            v = self.metric(split, name)
            if not math.isnan(v):
                return name, v
        return "", math.nan

    def bytes_on_disk(self) -> int:
        """Size of the run's files (0 for files not written yet)."""
        total = 0
        for p in (self.weights_path, self.start_path):
            if p is not None:
                with contextlib.suppress(OSError):
                    total += p.stat().st_size
        return total

    # -- JSON --------------------------------------------------------------------------------
    def to_dict(self, base: Path) -> dict[str, Any]:
        """The run's entry in the project's ``runs`` section; file names relative to ``base``
        (the project's folder)."""
        _jsonable = _plain
        d: dict[str, Any] = {
            "id": self.id, "name": self.name, "kind": self.kind, "parent": self.parent,
            "note": self.note, "started": self.started, "seconds": round(self.seconds, 3),
            "epochs": self.epochs, "best_epoch": self.best_epoch, "reason": self.reason,
            "message": self.message, "settings": _jsonable(self.settings),
            "network": _jsonable(self.network),
            "input_shape": list(self.input_shape) if self.input_shape else None,
            "network_fp": self.network_fp, "data_fp": self.data_fp,
            "history": _jsonable(self.history), "metrics": _jsonable(self.metrics),
        }
        if self.has_weights and self.weights_path is not None:
            d["weights"] = _relative(self.weights_path, base)
            d["weights_sha256"] = self.weights_sha
        if self.has_start and self.start_path is not None and self.start_record is not None:
            d["start"] = {**self.start_record, "arrays": _relative(self.start_path, base)}
        return d

    @classmethod
    def from_dict(cls, d: Any, base: Path | None, where: str) -> Run:
        """Parse one entry of the ``runs`` section (file paths resolved against ``base``).

        Raises :class:`ProjectError` naming ``where`` (``runs.items[3].epochs``).
        """
        if not isinstance(d, dict):
            raise ProjectError(f"must be an object (got {type(d).__name__})", where)
        rid = d.get("id")
        if not isinstance(rid, str) or not _ID.match(rid):
            raise ProjectError(f"is not a run id like 'r0001-a1b2c3' (got {rid!r})",
                               f"{where}.id")
        run = cls(id=rid)
        for key in ("name", "note", "message", "started", "network_fp", "data_fp"):
            v = d.get(key, "")
            if v is None:
                v = ""
            if not isinstance(v, str) or len(v) > 100_000:
                raise ProjectError("must be text", f"{where}.{key}")
            setattr(run, key, v)
        kind = d.get("kind", "train")
        if kind not in RUN_KINDS:
            raise ProjectError(f"must be one of {', '.join(RUN_KINDS)} (got {kind!r})",
                               f"{where}.kind")
        run.kind = kind
        reason = d.get("reason", "completed")
        if reason not in RUN_REASONS:
            raise ProjectError(f"must be one of {', '.join(RUN_REASONS)} (got {reason!r})",
                               f"{where}.reason")
        run.reason = reason
        parent = d.get("parent")
        if parent is not None and (not isinstance(parent, str) or not _ID.match(parent)):
            raise ProjectError(f"must be a run id or null (got {parent!r})", f"{where}.parent")
        run.parent = parent
        run.seconds = _number(d.get("seconds", 0.0), f"{where}.seconds")
        run.epochs = int(_number(d.get("epochs", 0), f"{where}.epochs", whole=True))
        run.best_epoch = int(_number(d.get("best_epoch", 0), f"{where}.best_epoch", whole=True))
        for key in ("settings", "network", "history", "metrics"):
            v = d.get(key) or {}
            if not isinstance(v, dict):
                raise ProjectError("must be an object", f"{where}.{key}")
            setattr(run, key, v)
        run.history = _curves(run.history, f"{where}.history")
        run.metrics = _metric_table(run.metrics, f"{where}.metrics")
        shape = d.get("input_shape")
        if shape is not None:
            if not isinstance(shape, list) or not all(
                    isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**31
                    for v in shape):
                raise ProjectError("must be a list of positive whole numbers",
                                   f"{where}.input_shape")
            run.input_shape = list(shape)
        weights = d.get("weights")
        if weights is not None:
            run.weights_path = _resolve(weights, base, f"{where}.weights")
            run.has_weights = True
            sha = d.get("weights_sha256", "")
            run.weights_sha = sha if isinstance(sha, str) else ""
        start = d.get("start")
        if start is not None:
            if not isinstance(start, dict):
                raise ProjectError("must be an object", f"{where}.start")
            run.start_path = _resolve(start.get("arrays"), base, f"{where}.start.arrays")
            run.start_record = {k: v for k, v in start.items() if k != "arrays"}
            run.has_start = True
        return run


class RunHistory:
    """The runs of a project, in the order they were made, and the current one.

    Attributes
    ----------
    runs:
        Every :class:`Run`, oldest first.
    current_id:
        The id of the current run (the model shown everywhere), or ``None``.
    keep_weights:
        Keep the weights of only the last *N* runs (the current run's are always kept);
        ``None``: keep all. Curves and metrics of every run are always kept.
    """

    def __init__(self, runs: Iterable[Run] = (), current_id: str | None = None,
                 keep_weights: int | None = None):
        self.runs: list[Run] = list(runs)
        self.current_id = current_id
        self.keep_weights = keep_weights

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    def get(self, run_id: str | None) -> Run | None:
        for r in self.runs:
            if r.id == run_id:
                return r
        return None

    @property
    def current(self) -> Run | None:
        return self.get(self.current_id)

    @property
    def last(self) -> Run | None:
        return self.runs[-1] if self.runs else None

    def new_id(self) -> str:
        n = max((r.number for r in self.runs), default=0) + 1
        return f"r{n:04d}-{secrets.token_hex(3)}"

    def add(self, run: Run, make_current: bool | None = None) -> None:
        """Append ``run``; it becomes current when it ended normally (completed, early
        stopping, stopped by the user) — a diverged run is kept but never replaces the current
        model unless ``make_current`` says so. Then :meth:`prune`."""
        if not run.name:
            run.name = f"Run {run.number}"
        self.runs.append(run)
        if make_current is None:
            make_current = run.reason in KEEPS_MODEL and (run.model is not None
                                                          or run.has_weights)
        if make_current:
            self.current_id = run.id
        self.prune()

    def remove(self, run_id: str) -> Run | None:
        """Delete a run (its files go with the next save). Removing the current run leaves no
        current model."""
        run = self.get(run_id)
        if run is None:
            return None
        self.runs.remove(run)
        if self.current_id == run_id:
            self.current_id = None
        return run

    def prune(self) -> list[Run]:
        """Drop the weights and starts of runs older than the last :attr:`keep_weights`
        (never the current run's); returns the runs that lost them."""
        if self.keep_weights is None:
            return []
        keep = {r.id for r in self.runs[-self.keep_weights:]} if self.keep_weights else set()
        dropped = []
        for r in self.runs:
            if r.id in keep or r.id == self.current_id:
                continue
            if r.has_weights or r.has_start or r.model is not None:
                r.has_weights = r.has_start = False
                r.model = r.record = None
                r.weights_path = r.start_path = None
                dropped.append(r)
        return dropped

    def bytes_on_disk(self) -> int:
        return sum(r.bytes_on_disk() for r in self.runs)

    # -- reading the arrays -----------------------------------------------------------------
    def load_model(self, run: Run):
        """The run's trained model, read from its file if not in memory yet.

        Raises :class:`ProjectError` (one sentence naming the file) when the weights were not
        kept, are missing, or are not the run's; ``run.problem`` says the same afterwards.
        """
        if run.model is not None:
            return run.model
        if not run.has_weights or run.weights_path is None:
            raise ProjectError(f"the weights of {run.name or run.id} were not kept "
                               "(only its curves and metrics are)")
        from nnstudio.core.io.model_file import load_model

        path = run.weights_path
        try:
            if not path.is_file():
                raise ProjectError("is missing (the run's weights are kept there)", str(path))
            if run.weights_sha and _sha256(path) != run.weights_sha:
                raise ProjectError("holds other weights than the project's run (saved at "
                                   "another time, or copied without its project file)",
                                   str(path))
            model = load_model(path)
        except ProjectError as e:
            run.problem = str(e)
            raise e from None
        except OSError as e:
            run.problem = f"{path}: cannot be read ({e.strerror or e})"
            raise ProjectError(f"cannot be read ({e.strerror or e})", str(path)) from None
        model.architecture = dict(run.network) or model.architecture
        run.model, run.problem = model, None
        return model

    def load_record(self, run: Run):
        """The run's :class:`~nnstudio.core.insight.replay.RunRecord` (its start), read if
        needed; :class:`ProjectError` when not kept or unreadable."""
        if run.record is not None:
            return run.record
        if not run.has_start or run.start_path is None or run.start_record is None:
            raise ProjectError(f"the start of {run.name or run.id} was not kept")
        from nnstudio.core.insight.replay import RunRecord
        from nnstudio.core.io.project import _arrays_fingerprint, read_npz

        arrays = read_npz(run.start_path, "the run's initial weights")
        expected = run.start_record.get("arrays_fingerprint")
        if expected is not None and expected != _arrays_fingerprint(arrays):
            raise ProjectError(
                "holds other arrays than the project's run record (saved at another time, or "
                "copied without its project file)", str(run.start_path))
        body = {k: v for k, v in run.start_record.items() if k != "arrays_fingerprint"}
        run.record = RunRecord.from_dict(body, arrays, f"run '{run.name}'")
        return run.record

    # -- JSON --------------------------------------------------------------------------------
    def to_dict(self, base: Path) -> dict[str, Any]:
        return {"current": self.current_id, "keep_weights": self.keep_weights,
                "items": [r.to_dict(base) for r in self.runs]}

    @classmethod
    def from_dict(cls, d: Any, base: Path | None, where: str = "runs") -> RunHistory:
        if not isinstance(d, dict):
            raise ProjectError("must be an object with 'items'", where)
        items = d.get("items", [])
        if not isinstance(items, list):
            raise ProjectError("must be a list", f"{where}.items")
        runs = [Run.from_dict(item, base, f"{where}.items[{i}]") for i, item in enumerate(items)]
        ids = [r.id for r in runs]
        if len(set(ids)) != len(ids):
            raise ProjectError("holds two runs with the same id", f"{where}.items")
        current = d.get("current")
        if current is not None and current not in ids:
            raise ProjectError(f"names no run of the list (got {current!r})", f"{where}.current")
        keep = d.get("keep_weights")
        if keep is not None:
            keep = int(_number(keep, f"{where}.keep_weights", whole=True))
        return cls(runs, current, keep)


# -- writing -----------------------------------------------------------------------------------


def write_run_files(history: RunHistory, project_path: Path) -> None:
    """Write every kept run's files into the runs folder of ``project_path`` that are not
    there yet (each atomically; an existing file of the same run is never rewritten).

    Afterwards each run's ``weights_path``/``start_path`` point into that folder.
    """
    folder = runs_dir(project_path)
    needed = [r for r in history.runs if r.has_weights or r.has_start]
    if not needed:
        return
    try:
        folder.mkdir(exist_ok=True)
    except OSError as e:
        raise ProjectError(f"cannot be created ({e.strerror or e})", str(folder)) from None
    for run in needed:
        if run.has_weights:
            dest = folder / f"{run.id}{MODEL_SUFFIX}"
            run.weights_sha = _place(dest, run.weights_path, lambda p, r=run: _save_model(r, p),
                                     run.weights_sha)
            run.weights_path = dest
        if run.has_start:
            dest = folder / f"{run.id}{START_SUFFIX}"
            _place(dest, run.start_path, lambda p, r=run: _save_start(r, p), None)
            run.start_path = dest


def remove_orphans(history: RunHistory, project_path: Path) -> list[Path]:
    """Delete files of our own naming in the runs folder that no run refers to (deleted or
    pruned runs, an interrupted save's leftovers, stale temporaries); returns them. An empty
    runs folder is removed too."""
    folder = runs_dir(project_path)
    if not folder.is_dir():
        return []
    used = {p.resolve() for r in history.runs for p in (r.weights_path, r.start_path)
            if p is not None}
    removed = []
    for p in folder.iterdir():
        if _OWNED.match(p.name) and p.resolve() not in used:
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    try:
        if not any(folder.iterdir()):
            folder.rmdir()
    except OSError:
        pass
    return removed


def _place(dest: Path, source: Path | None, write, sha: str | None) -> str:
    """Make ``dest`` hold the run's file: keep it if it is there already, else copy it from
    ``source`` or write it with ``write(path)``. Returns the file's SHA-256 (``sha`` is the
    one known; ``None``: no hash wanted)."""
    from nnstudio.core.io.atomic import atomic_open

    def digest() -> str:
        return "" if sha is None else (sha or _sha256(dest))

    if source is not None and dest.exists() and _same(source, dest):
        return digest()
    if dest.exists() and source is None:
        # Another save wrote this run's file already (same id: same content).
        return digest()
    try:
        if source is not None and source.exists():
            with atomic_open(dest, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
        else:
            write(dest)
    except OSError as e:
        raise ProjectError(f"cannot be written ({e.strerror or e})", str(dest)) from None
    return "" if sha is None else _sha256(dest)


def _save_model(run: Run, path: Path) -> None:
    from nnstudio.core.io.model_file import save_model

    if run.model is None:
        raise ProjectError(f"the weights of {run.name} are neither in memory nor on disk",
                           str(path))
    save_model(run.model, path)


def _save_start(run: Run, path: Path) -> None:
    import io

    import numpy as np

    from nnstudio.core.io.atomic import atomic_write_bytes
    from nnstudio.core.io.project import _arrays_fingerprint

    if run.record is None:
        raise ProjectError(f"the start of {run.name} is neither in memory nor on disk",
                           str(path))
    arrays = run.record.arrays()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())
    run.start_record = {**run.record.to_dict(), "arrays_fingerprint": _arrays_fingerprint(arrays)}


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- parsing helpers -----------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    """JSON-able plain Python: NumPy scalars and arrays become numbers and lists."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "tolist"):  # NumPy scalar or array
        return _plain(v.tolist())
    return v


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive (Windows)
        return str(path)


def _resolve(name: Any, base: Path | None, where: str) -> Path:
    """A file named in the runs section: relative, inside the project's folder (at most one
    folder down), never ``..``."""
    if not isinstance(name, str) or not name or len(name) > 1000:
        raise ProjectError(f"must name a file beside the project (got {name!r})", where)
    p = Path(name)
    if p.is_absolute() or ".." in p.parts or len(p.parts) > 2:
        raise ProjectError(f"must be a file beside the project or in its runs folder "
                           f"(got {name!r})", where)
    return (base / p) if base is not None else p


def _number(v: Any, where: str, whole: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v < 0 or v > 1e12:
        raise ProjectError(f"must be a number ≥ 0 (got {v!r})", where)
    if whole and int(v) != v:
        raise ProjectError(f"must be a whole number (got {v!r})", where)
    return float(v)


def _curves(d: dict[str, Any], where: str) -> dict[str, list[float]]:
    out = {}
    for k, v in d.items():
        if not isinstance(v, list):
            raise ProjectError("must be a list of numbers", f"{where}.{k}")
        vals = []
        for x in v:
            if x is None:
                vals.append(math.nan)
            elif isinstance(x, (int, float)) and not isinstance(x, bool):
                vals.append(float(x))
            else:
                raise ProjectError(f"must be a list of numbers (got {x!r})", f"{where}.{k}")
        out[str(k)] = vals
    return out


def _metric_table(d: dict[str, Any], where: str) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for split, row in d.items():
        if not isinstance(row, dict):
            raise ProjectError("must be an object of metrics", f"{where}.{split}")
        out[str(split)] = {str(k): float(v) if isinstance(v, (int, float))
                           and not isinstance(v, bool) else math.nan
                           for k, v in row.items() if v is None or isinstance(v, (int, float))}
    return out


def model_metrics(model: Any) -> dict[str, dict[str, float]]:
    """``{split: {metric: value}}`` from a trained model's summary."""
    m = getattr(model, "summary", {}).get("metrics") or {}
    return {s: {k: float(v) for k, v in row.items() if isinstance(v, (int, float))}
            for s, row in m.items() if isinstance(row, dict)}


def run_from_model(history: RunHistory, model: Any, kind: str = "train", *,
                   record: Any = None, parent: str | None = None, name: str = "",
                   started: str | None = None, seconds: float | None = None,
                   data_fp: str = "", network: dict[str, Any] | None = None) -> Run:
    """A new :class:`Run` (not yet added) for a trained ``model`` (its summary and history
    give epochs, reason, metrics and curves); ``record`` is the run's start, if recorded."""
    summary = dict(getattr(model, "summary", {}) or {})
    arch = network if network is not None else model.architecture_dict()
    arch = {k: v for k, v in arch.items() if k not in ("input_shape", "dtype")}
    reason = summary.get("reason", "completed")
    run = Run(
        id=history.new_id(), name=name, kind=kind, parent=parent,
        started=started or now_iso(),
        seconds=float(seconds if seconds is not None else summary.get("seconds", 0.0) or 0.0),
        epochs=int(summary.get("epochs", 0) or 0),
        best_epoch=int(summary.get("best_epoch", 0) or 0),
        reason=reason if reason in RUN_REASONS else "completed",
        message=str(summary.get("message", "") or ""),
        settings=dict(getattr(model, "training_config", {}) or {}),
        network=arch, input_shape=list(model.input_shape),
        network_fp=network_fingerprint(arch), data_fp=data_fp,
        history={k: [float(x) for x in v] for k, v in (model.history or {}).items()},
        metrics=model_metrics(model), model=model, record=record,
        has_weights=True, has_start=record is not None,
    )
    return run


class RunError(NNStudioError):
    """A run cannot be used as asked (its weights were not kept, its network differs...)."""
