"""The rows of the Runs panel: a Qt table model over the session's run history.

:class:`RunsTableModel` reads ``session.runs`` (it holds references to the session's
:class:`~nnstudio.core.io.runs.Run` objects, refreshed on every change, never a copy of their
content); the view sorts it through a ``QSortFilterProxyModel`` on :data:`SORT_ROLE`, which
holds numbers for numeric columns (epochs, metrics, duration, start time). Name and note are
editable in place and go to the session (:meth:`Session.rename_run`,
:meth:`Session.set_run_note`), which marks the project modified.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from nnstudio.core.io.runs import Run
from nnstudio.gui.session import Session
from nnstudio.gui.theme import current_theme

#: Columns: key → header.
COLUMNS = {
    "current": "",
    "name": "Name",
    "started": "Started",
    "kind": "Kind",
    "epochs": "Epochs",
    "validation": "Validation",
    "test": "Test",
    "duration": "Duration",
    "reason": "Ended by",
    "weights": "Weights",
    "note": "Note",
}
KEYS = list(COLUMNS)
#: The role that sorting reads (numbers for numeric columns).
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
#: The role holding a row's run id.
ID_ROLE = Qt.ItemDataRole.UserRole + 2
#: Marks the current run.
CURRENT_MARK = "●"

KIND_NAMES = {"train": "Start", "replay": "Replay", "step": "Step", "continue": "Continue",
              "import": "Imported", "model": "Model file"}
REASON_NAMES = {"completed": "Completed", "early_stopping": "Early stopping",
                "stopped": "Stopped", "diverged": "⚠ Diverged", "recorded": "Recorded"}


def local_time(iso: str) -> _dt.datetime | None:
    """A run's ISO UTC start time in the local time zone (``None`` when unreadable)."""
    try:
        t = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone()


def format_duration(seconds: float) -> str:
    """``4.2 s``, ``3:07`` or ``1:02:03`` (active training time)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def metric_text(run: Run, split: str) -> tuple[str, float]:
    """A run's headline metric on ``split`` as shown (``95.0 %``, ``R² 0.812``,
    ``loss 0.12``) and its value (``nan`` when none)."""
    name, value = run.headline(split)
    if math.isnan(value):
        return "—", math.nan
    if name == "accuracy":
        return f"{100 * value:.1f} %", value
    if name == "r2":
        return f"R² {value:.3f}", value
    outputs = outputs_text(run.metrics.get(split) or {})
    if outputs:  # several outputs: each one's score (sorted by the total loss)
        return outputs, value
    return f"loss {value:.4g}", value


def outputs_text(metrics: dict) -> str:
    """``"price R² 0.922 · sold 89.3 %"`` of a run with several outputs (``""`` else)."""
    parts = []
    for key, v in metrics.items():
        target, _, name = key.rpartition("/")
        if target and name == "accuracy":
            parts.append(f"{target} {100 * v:.1f} %")
        elif target and name == "r2":
            parts.append(f"{target} R² {v:.3f}")
    return " · ".join(parts)


def has_model(run: Run) -> bool:
    """Whether the run's weights are kept (in memory or on disk)."""
    return run.model is not None or run.has_weights


class RunsTableModel(QAbstractTableModel):
    """The rows of the Runs table: the session's runs, oldest first (the view sorts)."""

    def __init__(self, session: Session, parent=None):
        super().__init__(parent)
        self.session = session
        self._runs: list[Run] = list(session.runs.runs)
        #: Run id → colour of its curves in the comparison (a swatch beside its name).
        self.colors: dict[str, str] = {}
        self._shown = [self._row_state(r) for r in self._runs]

    def set_colors(self, colors: dict[str, str]) -> None:
        """Show the comparison's colour of each compared run beside its name."""
        if colors != self.colors:
            self.colors = dict(colors)
            self._repaint_changed()

    # -- following the session ------------------------------------------------------------
    def refresh(self) -> None:
        """Read the session's runs again. Runs added at the end or removed become row
        insertions and removals, the same runs a repaint: the selection and an open editor
        (a note being typed while a run finishes) stay. Any other change resets the model."""
        runs = list(self.session.runs.runs)
        old = [r.id for r in self._runs]
        new = [r.id for r in runs]
        if new[:len(old)] == old and len(new) > len(old):
            self.beginInsertRows(QModelIndex(), len(old), len(new) - 1)
            self._runs = runs
            self._shown += [self._row_state(r) for r in runs[len(old):]]
            self.endInsertRows()
            old = new
        elif len(new) < len(old) and set(new) <= set(old) and \
                [i for i in old if i in set(new)] == new:
            gone = set(old) - set(new)
            for row in reversed(range(len(old))):
                if old[row] in gone:
                    self.beginRemoveRows(QModelIndex(), row, row)
                    del self._runs[row]
                    del self._shown[row]
                    self.endRemoveRows()
            old = [r.id for r in self._runs]
        if new != old:
            self.beginResetModel()
            self._runs = runs
            self._shown = [self._row_state(r) for r in runs]
            self.endResetModel()
            return
        self._runs = runs
        self._repaint_changed()

    def _row_state(self, run: Run) -> tuple:
        """Everything a row shows (to repaint only rows that changed)."""
        current = run.id == self.session.runs.current_id
        parent = self.session.runs.get(run.parent) if run.parent else None
        return (*(self._text(run, key, current, True) for key in KEYS), current,
                run.problem, parent.name if parent else None, self.colors.get(run.id))

    def _repaint_changed(self) -> None:
        # Only rows whose content changed: a view rewrites an open editor's text from the
        # model on any dataChanged that covers its cell, and would throw away what the user
        # is typing there.
        shown = [self._row_state(r) for r in self._runs]
        old = self._shown if len(self._shown) == len(shown) else [None] * len(shown)
        self._shown = shown
        for row, (before, now) in enumerate(zip(old, shown, strict=True)):
            if before != now:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(KEYS) - 1))

    def run_at(self, row: int) -> Run | None:
        return self._runs[row] if 0 <= row < len(self._runs) else None

    # -- Qt model ------------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(KEYS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(KEYS):
            return None
        key = KEYS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[key]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(key)
        return None

    def flags(self, index: QModelIndex):
        f = super().flags(index)
        if index.isValid() and KEYS[index.column()] in ("name", "note"):
            f |= Qt.ItemFlag.ItemIsEditable
        return f

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole) -> Any:
        run = self.run_at(index.row()) if index.isValid() else None
        if run is None:
            return None
        key = KEYS[index.column()]
        current = run.id == self.session.runs.current_id
        if role == ID_ROLE:
            return run.id
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._text(run, key, current, role == Qt.ItemDataRole.EditRole)
        if role == SORT_ROLE:
            return self._sort_key(run, key, current)
        if role == Qt.ItemDataRole.DecorationRole and key == "name" and run.id in self.colors:
            return QColor(self.colors[run.id])
        if role == Qt.ItemDataRole.FontRole and current:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole:
            if key == "reason" and run.diverged:
                return QBrush(QColor(current_theme().error))
            if key == "weights" and run.problem and run.model is None:
                return QBrush(QColor(current_theme().error))
            if key == "weights" and not has_model(run):
                return QBrush(QColor(current_theme().muted))
            if key == "current" and current:
                return QBrush(QColor(current_theme().accent))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(run, key, current)
        if role == Qt.ItemDataRole.TextAlignmentRole and key in (
                "epochs", "validation", "test", "duration"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.TextAlignmentRole and key == "current":
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def setData(self, index: QModelIndex, value: Any, role=Qt.ItemDataRole.EditRole) -> bool:
        run = self.run_at(index.row()) if index.isValid() else None
        if run is None or role != Qt.ItemDataRole.EditRole:
            return False
        key = KEYS[index.column()]
        text = str(value)
        if key == "name":
            if not text.strip():
                return False  # a run keeps a name
            self.session.rename_run(run.id, text.strip())
            return True
        if key == "note":
            self.session.set_run_note(run.id, text)
            return True
        return False

    # -- cells ---------------------------------------------------------------------------------
    def _text(self, run: Run, key: str, current: bool, editing: bool) -> str:
        if key == "current":
            return CURRENT_MARK if current else ""
        if key == "name":
            return run.name
        if key == "started":
            t = local_time(run.started)
            return t.strftime("%Y-%m-%d %H:%M") if t else run.started
        if key == "kind":
            return KIND_NAMES.get(run.kind, run.kind)
        if key == "epochs":
            return str(run.epochs)
        if key in ("validation", "test"):
            return metric_text(run, key)[0]
        if key == "duration":
            return format_duration(run.seconds)
        if key == "reason":
            text = REASON_NAMES.get(run.reason, run.reason)
            if run.reason == "early_stopping" and run.best_epoch:
                text += f" (best {run.best_epoch})"
            return text
        if key == "weights":
            if run.problem and run.model is None:
                return "⚠ unreadable"
            return "kept" if has_model(run) else "dropped"
        if key == "note":
            return run.note if editing else run.note.replace("\n", " ")
        return ""

    def _sort_key(self, run: Run, key: str, current: bool) -> Any:
        if key == "current":
            return 1 if current else 0
        if key == "started":
            t = local_time(run.started)
            # Same start second: the run made later (its number) sorts after.
            return (t.timestamp() if t else 0.0) + run.number * 1e-6
        if key == "epochs":
            return run.epochs
        if key in ("validation", "test"):
            v = metric_text(run, key)[1]
            return -math.inf if math.isnan(v) else v
        if key == "duration":
            return float(run.seconds)
        if key == "name":
            return run.name.casefold()
        if key == "note":
            return run.note.casefold()
        return self._text(run, key, current, False)

    def _tooltip(self, run: Run, key: str, current: bool) -> str | None:
        if key in ("current", "name"):
            lines = [f"{run.name} ({run.id})"]
            if current:
                lines.append("The current model: Predict, Results, Export and Inside the "
                             "network show it.")
            if run.parent:
                parent = self.session.runs.get(run.parent)
                lines.append(f"Continued from {parent.name}" if parent is not None
                             else f"Continued from a deleted run ({run.parent})")
            if not has_model(run):
                lines.append("Weights not kept: only its curves and metrics are.")
            if run.problem:
                lines.append(run.problem)
            return "\n".join(lines)
        if key == "kind" and run.parent:
            parent = self.session.runs.get(run.parent)
            return f"Continued from {parent.name if parent else run.parent}"
        if key == "reason":
            return run.message or REASON_NAMES.get(run.reason, run.reason)
        if key == "started":
            t = local_time(run.started)
            return t.strftime("%A %Y-%m-%d %H:%M:%S %Z") if t else run.started
        if key in ("validation", "test"):
            m = run.metrics.get(key, {})
            return ", ".join(f"{k} {v:.4g}" for k, v in m.items()) or None
        if key == "duration":
            return "Active training time (pauses not counted)"
        if key == "note" and run.note:
            return run.note
        if key == "weights" and run.problem and run.model is None:
            return run.problem
        if key == "weights" and not has_model(run):
            return "Dropped to save disk space: only the curves and metrics are kept"
        return None


_HEADER_TIPS = {
    "current": "● marks the current model",
    "validation": "Accuracy (classification) or R² (regression) on the validation split",
    "test": "Accuracy (classification) or R² (regression) on the test split",
    "duration": "Active training time (pauses not counted)",
    "note": "Double-click to write a note",
    "name": "Double-click to rename",
    "weights": "Whether the run's trained weights are kept (curves and metrics always are)",
}
