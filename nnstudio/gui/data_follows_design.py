"""Keep the loaded table prepared the way the design needs it.

A network whose ``Output`` layers name target columns learns those columns; one whose Inputs
take chosen columns reads the table's features per Input (:mod:`nnstudio.core.data.binding`).
The data must then be prepared for that design — as ``nnstudio train`` does
(``pipeline.load_data``): ``build_dataset(..., outputs=..., several_inputs=...)``.
:class:`DataFollowsDesign` watches the design: when an Output's target or loss changes, or
the Inputs start or stop taking chosen columns, it prepares the loaded table again in a
background thread (:class:`~nnstudio.gui.workers.data_loader.DataLoader`) and hands the new
data to the session. It also gives the canvas the table's preparation (each Input's live
shape) and the properties panel the table's columns.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from nnstudio.gui import design_data
from nnstudio.gui.panels.column_editors import Columns
from nnstudio.gui.workers.data_loader import DataLoader

if TYPE_CHECKING:
    from nnstudio.gui.workflow import Workflow

#: Quiet time after a design edit before the data are prepared again (typing a target).
SETTLE_MS = 300


def is_table(spec: Any) -> bool:
    """A table (CSV, a built-in example): not images, sounds, a corpus or NPZ arrays."""
    if spec is None:
        return False
    if any(getattr(spec, k, None) is not None for k in ("images", "sound", "corpus")):
        return False
    source = str(getattr(spec, "source", None) or "")
    return not source.lower().endswith((".npz", ".npy", ".idx", "-ubyte", ".gz"))


def spec_for(spec: Any, options: dict) -> Any:
    """The dataset spec to prepare for ``options``: the Output layers' targets leave the
    feature and ignored columns the user chose for one target (the wizard lists every other
    column as a feature, the one an Output now predicts included)."""
    targets = [t for t, _ in options.get("outputs") or []]
    if spec is None or not targets:
        return spec
    changes = {}
    if spec.features is not None and set(targets) & set(spec.features):
        changes["features"] = [f for f in spec.features if f not in targets]
    if set(targets) & set(spec.ignore or []):
        changes["ignore"] = [c for c in spec.ignore if c not in targets]
    return dataclasses.replace(spec, **changes) if changes else spec


class DataFollowsDesign(QObject):
    """See the module docstring. ``workflow.follow``."""

    def __init__(self, workflow: Workflow):
        super().__init__(workflow)
        self.workflow = workflow
        self.window = workflow.window
        self.session = workflow.session
        self.loader = DataLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        #: ``(prepared, options)`` of the last data prepared with known options.
        self._built: tuple[Any, dict] | None = None
        self._loading: tuple[Any, dict] | None = None  # (dataset spec, options) on its way
        #: The dataset the user chose (the wizard's, the project's): specs for the design
        #: are derived from it (:func:`spec_for`), never replace it.
        self._base: Any = None
        self._derived: list[Any] = []  # specs made here (not the user's choice)
        self.problem = ""  # why the design's targets cannot be read (an Output unnamed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.check)
        self.window.document.changed.connect(self._timer.start)
        self.session.dataset_changed.connect(self._on_dataset_changed)
        self.session.project_replaced.connect(self._forget)
        self.session.training_finished.connect(lambda *_: self._timer.start())
        props = getattr(self.window, "properties", None)
        if props is not None:
            props.column_source = self.columns
            self.session.dataset_changed.connect(props.refresh_columns)

    # -- what the design needs -------------------------------------------------------------
    def options(self, dataset_spec: Any = None) -> dict[str, Any]:
        """``build_dataset`` options for the design on the canvas (plain for data that is not
        a table, or when an Output does not say its target: see :attr:`problem`)."""
        spec = dataset_spec if dataset_spec is not None else self.session.dataset_spec
        if spec is not None and not is_table(spec):
            return dict(design_data.PLAIN)
        options, self.problem = design_data.safe_load_options(self.window.document.spec())
        return options

    def note_built(self, prepared: Any, options: dict) -> None:
        """``prepared`` was built with ``options`` (the workflow's own loads)."""
        self._built = (prepared, dict(options))

    def options_of(self, prepared: Any) -> dict:
        """The options ``prepared`` was built with (plain when not known: the wizard's)."""
        if self._built is not None and self._built[0] is prepared:
            return self._built[1]
        return dict(design_data.PLAIN)

    @property
    def busy(self) -> bool:
        return self.loader.busy

    def columns(self) -> Columns | None:
        """The loaded table's feature columns and every column an Output may predict."""
        prepared = self.session.prepared
        prep = getattr(prepared, "preparation", None)
        if prep is None or not is_table(self.session.dataset_spec) or getattr(
                prep, "array", None) is not None:
            return None
        from nnstudio.core.data.binding import feature_blocks

        try:
            features = list(feature_blocks(prep))
        except (AttributeError, TypeError, KeyError):
            return None
        targets = [h["target"] for h in (getattr(prep, "heads", None) or [])] or [
            str(t) for t in (getattr(prep, "targets", None) or [])]
        table = targets + [c for c in features if c not in targets]
        return Columns(features, table)

    # -- following the design --------------------------------------------------------------
    def check(self) -> bool:
        """Prepare the data again when the design needs them otherwise; True if it started."""
        s = self.session
        if s.dataset_spec is None or s.prepared is None or s.training \
                or self.workflow.training.running or self.workflow.data_loader.busy:
            return False
        needed = self.options()
        if self.problem:  # an Output without its target (shown at it): keep the data until
            return False  # the design says what to learn
        if needed == self.options_of(s.prepared):
            return False
        if self._loading is not None and self._loading[1] == needed:
            return False  # on its way
        return self.reload(needed)

    def base_spec(self) -> Any:
        """The dataset spec the user chose for the loaded data."""
        spec = self.session.dataset_spec
        derived = any(spec is d for d in self._derived)
        return self._base if derived and self._base is not None else spec

    def spec_for(self, spec: Any, options: dict) -> Any:
        """:func:`spec_for`, remembered as derived (not the user's choice)."""
        derived = spec_for(spec, options)
        if derived is not spec:
            self._base = spec
            self._derived = [derived]
        return derived

    def reload(self, options: dict) -> bool:
        s = self.session
        spec = self.spec_for(self.base_spec(), options)
        project = s.project
        self._loading = (spec, dict(options))
        self.loader.start(spec, project.base_dir, **options)
        targets = ", ".join(t for t, _ in options["outputs"] or [])
        why = (f"for the Output layers' targets ({targets})" if targets
               else "for one target (the dataset's)")
        self.workflow.training.status.setText(f"Preparing the data {why}…")
        self.workflow._update_actions()
        return True

    def _on_loaded(self, _token: int, prepared: Any) -> None:
        loading, self._loading = self._loading, None
        current = self.session.dataset_spec
        if loading is None or not any(current is x
                                      for x in (loading[0], self._base, *self._derived)):
            return  # other data were loaded meanwhile
        self._built = (prepared, loading[1])
        self.workflow.adopt_prepared(prepared, loading[0])
        self.workflow._update_actions()
        QTimer.singleShot(0, self.check)  # the design may have moved on meanwhile

    def _on_failed(self, _token: int, message: str) -> None:
        loading, self._loading = self._loading, None
        if loading is None:
            return
        self.workflow.training.banner.show_message(
            "error", "The data could not be prepared for this design",
            f"{message}. Check the Output layers' targets (select an Output on the canvas).")
        self.workflow.training.status.setText("Data not prepared for this design")
        self.workflow._update_actions()

    def _on_dataset_changed(self) -> None:
        prepared = self.session.prepared
        prep = getattr(prepared, "preparation", None) if prepared is not None else None
        self.window.document.set_preparation(prep if is_table(self.session.dataset_spec)
                                             else None)

    def _forget(self) -> None:
        self.loader.cancel()
        self._loading = None
        self._built = None
        self._base, self._derived = None, []
        self._timer.stop()
