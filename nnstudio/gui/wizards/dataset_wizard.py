"""The dataset wizard: source → preview → columns → preparation → split → finish.

The wizard assembles a :class:`~nnstudio.core.data.DatasetSpec` from its pages and checks it
by building the data with :func:`~nnstudio.core.data.build_dataset` when leaving a page;
a :class:`~nnstudio.core.errors.DataError` is shown on the page, next to the field it is
about (see :func:`~nnstudio.gui.wizards.dataset_source.error_place`), never as a traceback.
Its result is :attr:`DatasetWizard.result_spec` and :attr:`DatasetWizard.prepared`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget, QWizard, QWizardPage

from nnstudio.core.data import DatasetSpec, SplitSpec, build_dataset
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.wizards.dataset_source import SourceInfo, error_place
from nnstudio.gui.wizards.page_split import SplitPage
from nnstudio.gui.wizards.pages_columns import ColumnsPage, PreparePage
from nnstudio.gui.wizards.pages_source import PreviewPage, SourcePage


class DatasetWizard(QWizard):
    """Load, look at, prepare and split a dataset.

    Parameters
    ----------
    preset:
        A spec to start from (the project's current dataset), or ``None``.

    Attributes
    ----------
    result_spec:
        The accepted :class:`~nnstudio.core.data.DatasetSpec` (after ``accept``).
    prepared:
        The matching ``PreparedData``.
    """

    PAGE_SOURCE, PAGE_PREVIEW, PAGE_COLUMNS, PAGE_PREPARE, PAGE_SPLIT = range(5)

    #: The wizard finished with data: ``(DatasetSpec, PreparedData)``.
    dataset_accepted = Signal(object, object)

    def __init__(self, parent: QWidget | None = None, preset: DatasetSpec | None = None):
        super().__init__(parent)
        self.setWindowTitle("Load a dataset")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setMinimumSize(780, 600)
        self.preset = preset
        self.source_info: SourceInfo | None = None
        self.prepared = None
        self.result_spec: DatasetSpec | None = None
        self._prepared_key: dict | None = None

        self.source_page = SourcePage()
        self.preview_page = PreviewPage()
        self.columns_page = ColumnsPage()
        self.prepare_page = PreparePage()
        self.split_page = SplitPage()
        self.pages = {
            "source": self.source_page, "preview": self.preview_page,
            "columns": self.columns_page, "prepare": self.prepare_page,
            "split": self.split_page,
        }
        for pid, page in enumerate(self.pages.values()):
            self.setPage(pid, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Use this data")
        if preset is not None:
            if preset.example:
                self.source_page.set_example(preset.example)
            elif preset.source:
                self.source_page.set_file(preset.source)
                if preset.labels:
                    self.source_page.labels.setText(preset.labels)

    # -- the spec ------------------------------------------------------------------------------
    def current_spec(self) -> DatasetSpec:
        """The spec the pages describe now (not validated)."""
        info = self.source_info
        if info is None:
            raise NNStudioError("choose a data source first", where="dataset.source")
        cols, prep, split = self.columns_page, self.prepare_page, self.split_page
        fr = split.shares.shares()
        split_spec = SplitSpec(train=fr[0], validation=fr[1], test=fr[2],
                               seed=int(split.seed.value()),
                               stratify=split.stratify.isChecked() and split.stratify.isEnabled(),
                               shuffle=split.shuffle.isChecked())
        common = dict(
            task=cols.task.currentData(), scaling=prep.scaling.currentData(),
            missing=prep.missing.currentData(),
            target_scaling="standard" if prep.target_scaling.isChecked() else "none",
            split=split_spec,
        )
        if info.kind == "arrays":
            return DatasetSpec(source=info.path, labels=info.labels, x_key=info.x_key,
                               y_key=info.y_key, **common)
        target = cols.target()
        features = cols.features()
        text = prep.text_box.options()  # a free-text column as input (text_options.py)
        ignore = cols.ignored()
        if text is not None:
            features = [f for f in features if f not in text["columns"]]
            ignore = [c for c in ignore if c not in text["columns"]]
        return DatasetSpec(
            text=text,
            source=info.path, example=info.example, target=target,
            features=features, ignore=ignore, categorical=cols.categorical(),
            missing_per_column={k: v for k, v in prep.missing_per_column().items()
                                if k in features},
            date_features=prep.chosen_date_parts() or None,
            decimal=self.preview_page.decimal(),
            **common,
        )

    # -- building and errors -----------------------------------------------------------------
    def build(self, spec: DatasetSpec):
        """``build_dataset(spec)`` with a wait cursor (errors propagate)."""
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return build_dataset(spec)
        finally:
            QGuiApplication.restoreOverrideCursor()

    def adopt_build(self, key: dict, prepared) -> None:
        """Remember a successful build of the spec whose ``to_dict()`` is ``key``."""
        self._prepared_key, self.prepared = key, prepared

    def check_build(self, page: QWizardPage) -> bool:
        """Build the current spec (unless already built) on leaving ``page``.

        Errors about this page or an earlier one keep the user here with the message next
        to the field at fault; an error about a later page lets them go on and waits there.
        """
        for p in self.pages.values():
            if hasattr(p, "clear_errors"):
                p.clear_errors()
        try:
            spec = self.current_spec()
            key = spec.to_dict()
            if key != self._prepared_key or self.prepared is None:
                spec.validate()
                self.adopt_build(key, self.build(spec))
        except NNStudioError as e:
            return self.route_error(e, page)
        return True

    def route_error(self, err: NNStudioError, current: QWizardPage) -> bool:
        """Show ``err`` next to its field; return whether ``current`` may be left."""
        place = error_place(err)
        target = self.pages.get(place.page, self.source_page)
        order = list(self.pages.values())
        if order.index(target) > order.index(current):
            target.show_error(place.text, place.column)  # shown when that page opens
            return True
        if target is not current:
            current_text = f"{place.text} (go back to “{target.title()}” to change it)"
            shower = current if hasattr(current, "show_error") else target
            shower.show_error(current_text, place.column)
            target.show_error(place.text, place.column)
            return False
        current.show_error(place.text, place.column)
        return False

    # -- finishing ---------------------------------------------------------------------------
    def validateCurrentPage(self) -> bool:
        page = self.currentPage()
        if page is self.source_page:
            ok = super().validateCurrentPage()
            if ok:
                self.source_info = self.source_page.info
                self.prepared, self._prepared_key = None, None
                preset = self.preset.text if self.preset is not None else None
                self.prepare_page.text_box.offer(self.source_info, preset)
            return ok
        return super().validateCurrentPage()

    def accept(self) -> None:
        self.split_page.builder.join()
        try:
            spec = self.current_spec()
        except NNStudioError as e:
            self.route_error(e, self.currentPage())
            return
        stale = self.prepared is None or spec.to_dict() != self._prepared_key
        if stale and not self.check_build(self.currentPage()):
            return
        self.result_spec = spec
        super().accept()
        self.dataset_accepted.emit(spec, self.prepared)

    def done(self, result: int) -> None:
        self.split_page.builder.join()
        super().done(result)
