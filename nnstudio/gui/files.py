"""New, Open, Save, Save As, Open Recent and the unsaved-changes prompt of the main window.

Files are read and written by :mod:`nnstudio.core.io.project`; this module only adds what a
desktop editor needs around it: dialogs, recent files, the title, and a tolerant open that
still shows a design with graph problems (an unconnected layer, two outputs) so the user can
fix it on the canvas — only a file that is not a readable project is refused, with its
:class:`~nnstudio.core.errors.ProjectError` message and nothing changed. A model file
(``.npz``) opens too: its network on the canvas, its training record as the current run of
an untitled project (Save turns it into a project).

Every way of leaving the current work (New, Open, Recover, closing the window) asks first:
"training is running: stop it?" while a run goes (the partial run is kept as a stopped run),
then Save / Discard / Cancel when anything is unsaved.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from nnstudio.core.errors import NNStudioError, ProjectError
from nnstudio.core.io.project import Project, load_project, migrate, read_json, save_project
from nnstudio.resources import resource_path

if TYPE_CHECKING:
    from nnstudio.gui.main_window import MainWindow

SUFFIX = ".nnsproj"
FILE_FILTER = "nnstudio projects (*.nnsproj);;All files (*)"
OPEN_FILTER = ("Projects and models (*.nnsproj *.npz);;nnstudio projects (*.nnsproj);;"
               "Model files (*.npz);;All files (*)")
MAX_RECENT = 8


def _graph_only_problems(network) -> set[tuple[str, str]]:
    """Problems of a well-formed network section that the canvas can show and fix."""
    from nnstudio.core.io.netcheck import shape_problems

    found = {("network.nodes", "the network has no layers")}
    with contextlib.suppress(Exception):  # malformed: structural problems are reported
        found |= set(shape_problems(network, None))
    return found


def read_project(path: str | Path) -> Project:
    """Load a project for editing.

    Like :func:`~nnstudio.core.io.project.load_project`, but a network whose only problems
    are graph or shape problems opens anyway (they show as red nodes on the canvas).

    Raises
    ------
    ProjectError
        When the file is missing, not JSON, from a newer version, or malformed.
    """
    try:
        return load_project(path)
    except ProjectError as err:
        problems = getattr(err, "problems", None)
        if not problems:
            raise
        p = Path(path)
        record = migrate(read_json(p), str(p))
        network = record.get("network")
        if not isinstance(network, dict):
            raise
        tolerated = _graph_only_problems(network)
        bad = [pr for pr in problems
               if not pr[0].startswith("network") or tuple(pr) not in tolerated]
        if bad:
            raise
        record = dict(record)
        record["network"] = {"nodes": [{"id": "input", "type": "Input"}], "edges": []}
        try:
            project = Project.from_dict(record, base_dir=p.resolve().parent, where=str(p))
        except ProjectError:
            raise err from None
        project.network = copy.deepcopy(network)
        project.path = p
        return project


def examples() -> list[Path]:
    """The example projects shipped in ``resources/examples``, by name."""
    folder = resource_path("examples")
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def example_path(name: str | None) -> Path:
    """``resources/examples/<name>.nnsproj``; ``None``/``"default"`` is the house prices one."""
    if not name or name == "default":
        name = "house_price"
    if name.endswith(SUFFIX):
        name = name[: -len(SUFFIX)]
    return resource_path("examples", f"{name}{SUFFIX}")


class FilesMixin:
    """File handling of :class:`~nnstudio.gui.main_window.MainWindow`."""

    # -- state -----------------------------------------------------------------------------------
    @property
    def is_modified(self: MainWindow) -> bool:
        """Unsaved changes: design edits since the last save, or the session's (data,
        training settings, runs)."""
        return not self.undo_stack.isClean() or self.session.modified

    def mark_modified(self: MainWindow, modified: bool = True) -> None:
        """Flag changes that are not design edits (data, training settings) as unsaved."""
        self.session.set_modified(modified)
        self._update_title()

    def _update_title(self: MainWindow) -> None:
        path = self.project.path
        name = Path(path).name if path else "Untitled"
        self.setWindowTitle(f"{name}[*] — nnstudio")
        self.setWindowModified(self.is_modified)

    def current_project(self: MainWindow) -> Project:
        """``self.project`` with the canvas's network written into it."""
        self.project.network = self.document.to_network_dict()
        return self.project

    # -- new / open ------------------------------------------------------------------------------
    def new_project(self: MainWindow) -> bool:
        """Start an empty project (asks to save changes first); returns whether it did."""
        if not self.maybe_save():
            return False
        self.set_project(Project(), modified=False)
        self.show_message("New project: drag layers from the palette or pick a template.")
        return True

    def open_dialog(self: MainWindow) -> bool:
        if not self.maybe_save():
            return False
        start = str(Path(self.project.path).parent) if self.project.path else str(
            self.settings.value("last_dir", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open project or model", start, OPEN_FILTER)
        return bool(path) and self.open_path(path, ask=False)

    def open_path(self: MainWindow, path: str | Path, ask: bool = True) -> bool:
        """Open a project file or a model file; a broken file shows its message and changes
        nothing.

        ``ask`` first offers to stop a run and to save unsaved changes.
        """
        if ask and not self.maybe_save():
            return False
        if str(path).lower().endswith(".npz"):
            return self.open_model_file(path)
        try:
            project = read_project(path)
        except NNStudioError as e:
            self.show_error("Cannot open the project", str(e))
            return False
        try:
            self.set_project(project, modified=False)
        except NNStudioError as e:  # the network section is malformed for the editor
            self.show_error("Cannot open the project", f"{path}: {e}")
            return False
        self.add_recent(project.path)
        self.settings.setValue("last_dir", str(Path(path).resolve().parent))
        self.show_message(f"Opened {Path(path).name}")
        return True

    def open_model_file(self: MainWindow, path: str | Path) -> bool:
        """Open a model file as an untitled project whose current run is the model."""
        from nnstudio.core.io.model_file import load_model
        from nnstudio.gui.model_project import project_from_model

        try:
            project = project_from_model(load_model(path), path)
            self.set_project(project, modified=False)
        except NNStudioError as e:
            self.show_error("Cannot open the model", str(e))
            return False
        self.settings.setValue("last_dir", str(Path(path).resolve().parent))
        self.show_message(f"Opened the model {Path(path).name} — File ▸ Save As keeps it as a "
                          "project", 10000)
        return True

    def set_project(self: MainWindow, project: Project, modified: bool = False) -> None:
        """Make ``project`` the session's and show it (its network on the canvas, every
        panel reset to it); clears undo history.

        Raises :class:`~nnstudio.core.errors.GraphError` (and changes nothing) when its
        network cannot be edited.
        """
        self.document.replace(project.network)
        shape = getattr(project.dataset, "known_input_shape", None)
        # No data known yet: the previous project's data shape must not linger.
        self.document.set_input_shape(tuple(shape) if shape else None)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.session.replace_project(project)
        self.session.set_modified(modified)
        self._update_title()
        self.canvas.zoom_to_fit()
        # The workflow loads the project's data and the current run's weights now.
        self.project_loaded.emit(project)

    # -- save ------------------------------------------------------------------------------------
    def save(self: MainWindow) -> bool:
        """Save to the project's file (Save As when it has none); returns success."""
        if self.project.path is None or self._is_example(self.project.path):
            return self.save_as()
        return self.save_to(self.project.path)

    def save_as(self: MainWindow) -> bool:
        start = str(self.project.path) if self.project.path and not self._is_example(
            self.project.path) else str(Path(str(self.settings.value(
                "last_dir", str(Path.home())))) / f"{self.project.title}{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", start, FILE_FILTER)
        if not path:
            return False
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self.save_to(path)

    def save_to(self: MainWindow, path: str | Path) -> bool:
        """Write the project to ``path`` (atomically) and make it the current file."""
        project = self.current_project()
        self.project_about_to_save.emit(project)
        try:
            save_project(project, path)
        except (NNStudioError, OSError) as e:
            self.show_error("Cannot save the project", str(e))
            return False
        self.undo_stack.setClean()
        self.session.set_modified(False)
        self._update_title()
        self.add_recent(project.path)
        self.settings.setValue("last_dir", str(Path(path).resolve().parent))
        self.recovery.discard()
        self.show_message(f"Saved {Path(path).name}")
        self.project_saved.emit(Path(path))
        return True

    @staticmethod
    def _is_example(path: str | Path) -> bool:
        try:
            return Path(path).resolve().parent == resource_path("examples").resolve()
        except OSError:
            return False

    def maybe_save(self: MainWindow) -> bool:
        """Before the work is left (close, New, Open, Recover): offer to stop a running
        training (kept as a stopped run), then ask Save / Discard / Cancel when there are
        unsaved changes; True to go on."""
        workflow = getattr(self, "workflow", None)
        if workflow is not None and not workflow.stop_training_first():
            return False
        if not self.is_modified:
            return True
        name = Path(self.project.path).name if self.project.path else "Untitled"
        answer = QMessageBox.question(
            self, "Unsaved changes",
            f"“{name}” has changes that are not saved.\nSave them before going on?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # -- recent files ----------------------------------------------------------------------------
    def recent_files(self: MainWindow) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self: MainWindow, path: str | Path | None) -> None:
        if path is None or self._is_example(path):
            return
        p = str(Path(path).resolve())
        files = [f for f in self.recent_files() if f != p]
        self.settings.setValue("recent_files", [p, *files][:MAX_RECENT])

    def open_recent(self: MainWindow, path: str) -> None:
        if not Path(path).exists():
            self.settings.setValue("recent_files", [f for f in self.recent_files() if f != path])
            self.show_error("Cannot open the project", f"{path}: no such file (removed from "
                            "the recent files)")
            return
        self.open_path(path)


def make_settings(path: str | Path | None = None) -> QSettings:
    """The application's settings, or an INI file at ``path`` (tests)."""
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings()
