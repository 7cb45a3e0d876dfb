"""The results panel: how good is the trained model, on train, validation and test.

A table of the scores of every split; below it, for the chosen split, the confusion matrix
and per-class precision/recall/F1 (classification) or predicted-vs-true and the residual
histogram (regression). Filled after every run, and again on demand (Evaluate): that is a
forward pass over every split, so it runs in a worker thread
(:class:`~nnstudio.gui.workers.evaluation_runner.EvaluationRunner`) while the panel shows that
it is busy; a failure is one readable line in the panel's banner.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.dialog_folders import remember, start_path
from nnstudio.gui.panels.workflow_widgets import Banner, hbox
from nnstudio.gui.plots.results_plots import (
    ConfusionMatrixPlot,
    PredictedVsTruePlot,
    ResidualHistogram,
    export_widget,
)
from nnstudio.gui.session import Session
from nnstudio.gui.workers import evaluation
from nnstudio.gui.workers.evaluation import Results
from nnstudio.gui.workers.evaluation_runner import EvaluationRunner

SPLIT_TITLES = {"train": "Training", "validation": "Validation", "test": "Test"}


class ResultsPanel(QWidget):
    """Scores table plus the charts of one split."""

    #: The panel shows new results (a :class:`~nnstudio.gui.workers.evaluation.Results`).
    results_shown = Signal(object)
    #: An evaluation on demand started (True) or ended (False).
    busy_changed = Signal(bool)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.results: Results | None = None
        self._charts_pending = False
        self.evaluator = EvaluationRunner(self)
        self.evaluator.busy_changed.connect(self._on_busy_changed)
        self.evaluator.finished.connect(self._on_evaluated)
        self.evaluator.failed.connect(self._on_evaluation_failed)

        self.hint = QLabel("Train the network to see how well it does on data it has not seen.")
        self.hint.setWordWrap(True)
        self.split = QComboBox()
        self.split.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.split.currentIndexChanged.connect(self._show_split)
        # A network with several outputs: which output's charts are shown.
        self.output = QComboBox()
        self.output.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.output.setToolTip("The output whose confusion matrix or predicted-vs-true "
                               "values are shown")
        self.output.currentIndexChanged.connect(self._show_split)
        self.output_label = QLabel("Output")
        for w in (self.output, self.output_label):
            w.setVisible(False)
        self.summary = QLabel("")
        self.summary.setStyleSheet("font-weight: 600;")
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setToolTip("Score the current model on every split again")
        self.evaluate_button.clicked.connect(self.evaluate_now)
        self.save_button = QPushButton("Save chart…")
        self.save_button.clicked.connect(self._ask_save_chart)
        self.banner = Banner()

        self.table = QTableWidget(0, 0)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMaximumHeight(150)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        # classification page
        self.confusion = ConfusionMatrixPlot()
        self.per_class = QTableWidget(0, 4)
        self.per_class.setHorizontalHeaderLabels(["Precision", "Recall", "F1", "Support"])
        self.per_class.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.per_class.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.per_class.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        cls_page = QSplitter(Qt.Orientation.Horizontal)
        cls_page.addWidget(self.confusion)
        cls_page.addWidget(self.per_class)
        cls_page.setSizes([520, 360])
        # regression page
        self.scatter = PredictedVsTruePlot()
        self.residuals = ResidualHistogram()
        reg_page = QSplitter(Qt.Orientation.Horizontal)
        reg_page.addWidget(self.scatter)
        reg_page.addWidget(self.residuals)
        reg_page.setSizes([500, 400])
        self.pages = QStackedWidget()
        self.empty_page = QWidget()
        self.pages.addWidget(self.empty_page)
        self.pages.addWidget(cls_page)
        self.pages.addWidget(reg_page)
        self.classification_page, self.regression_page = cls_page, reg_page

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(hbox(self.hint, self.summary, None, self.output_label, self.output,
                              QLabel("Split"), self.split, self.evaluate_button,
                              self.save_button))
        layout.addWidget(self.banner)
        layout.addWidget(self.table)
        layout.addWidget(self.pages, 1)

        session.results_changed.connect(self.set_results)
        session.project_replaced.connect(self.banner.clear)
        session.model_changed.connect(self._update_enabled)
        session.training_started.connect(self._update_enabled)
        session.training_finished.connect(lambda *_: self._update_enabled())
        self._update_enabled()

    # -- state -------------------------------------------------------------------------------
    def _update_enabled(self) -> None:
        has_model = self.session.network is not None and self.session.prepared is not None
        self.evaluate_button.setEnabled(has_model and not self.session.training
                                        and not self.busy)
        self.save_button.setEnabled(self.results is not None)
        if self.session.network is None and self.results is not None:
            self.clear()

    def clear(self) -> None:
        self.results = None
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        self.split.clear()
        self.output.clear()
        for w in (self.output, self.output_label):
            w.setVisible(False)
        self.pages.setCurrentWidget(self.empty_page)
        self.hint.setVisible(True)
        self.summary.setVisible(False)
        self.save_button.setEnabled(False)

    @property
    def busy(self) -> bool:
        """True while an evaluation on demand runs."""
        return self.evaluator.busy

    def evaluate_now(self) -> bool:
        """Score the session's model on every split again, in a worker thread.

        Returns False when there is nothing to score or an evaluation already runs; the
        results arrive later through the session (``results_changed``).
        """
        s = self.session
        net, prepared, cfg = s.network, s.prepared, s.training_config
        loss = getattr(s.model, "loss", None) or getattr(cfg, "loss", None)
        if net is None or prepared is None or loss is None or s.training:
            return False
        self.banner.clear()
        return self.evaluator.start(net, prepared, loss)

    def shutdown(self) -> None:
        """Wait for an evaluation that still runs (the window is closing)."""
        self.evaluator.shutdown()

    def _on_busy_changed(self, busy: bool) -> None:
        self.evaluate_button.setText("Evaluating…" if busy else "Evaluate")
        if busy:
            n = sum(evaluation.split_size(self.session.prepared, s) for s in evaluation.SPLITS)
            self.banner.show_message("info", "Evaluating…",
                                     f"Scoring the model on {n:,} samples of every split.")
        elif self.banner.kind == "info":
            self.banner.clear()
        self._update_enabled()
        self.busy_changed.emit(busy)

    def _on_evaluated(self, results: Results, network) -> None:
        # A run that started meanwhile made another model: these scores would be stale.
        if network is self.session.network and not self.session.training:
            self.session.set_results(results)

    def _on_evaluation_failed(self, message: str) -> None:
        self.banner.show_message("error", "Could not evaluate", message)

    # -- showing -----------------------------------------------------------------------------
    def set_results(self, results: Results | None) -> None:
        """Show ``results`` (``None`` clears)."""
        if results is None:
            self.clear()
            return
        self.results = results
        self.banner.clear()
        self.hint.setVisible(False)
        self.summary.setText(_summary(results))
        self.summary.setVisible(True)
        self._fill_table(results)
        self._charts_pending = True
        if not self.visibleRegion().isEmpty():  # not a hidden tab
            self._show_charts()
        self._update_enabled()
        self.results_shown.emit(results)

    def paintEvent(self, event) -> None:
        # Exposed (shown, or its tab chosen): draw the charts that waited.
        super().paintEvent(event)
        if self._charts_pending:
            self._charts_pending = False
            QTimer.singleShot(0, self._show_charts)

    def _show_charts(self) -> None:
        """Fill the split list and draw the charts (deferred while the panel is hidden:
        a confusion matrix of many classes costs the GUI thread tens of milliseconds)."""
        self._charts_pending = False
        results = self.results
        if results is None:
            return
        current = self.split.currentData()
        self.split.blockSignals(True)
        self.split.clear()
        for name, r in results.splits.items():
            self.split.addItem(f"{SPLIT_TITLES[name]} ({r.n:,})", name)
        keep = current if current in results.splits else (
            "test" if "test" in results.splits else next(iter(results.splits), None)
        )
        self.split.setCurrentIndex(max(0, self.split.findData(keep)))
        self.split.blockSignals(False)
        self._fill_outputs(results)
        self._show_split()

    def _fill_outputs(self, results: Results) -> None:
        """The output selector: shown for a network with several outputs."""
        multi = results.outputs is not None
        for w in (self.output, self.output_label):
            w.setVisible(multi)
        current = self.output.currentData()
        self.output.blockSignals(True)
        self.output.clear()
        for target, r in (results.outputs or {}).items():
            kind = (f"{len(r.class_names)} classes" if r.task == "classification"
                    else "number")
            self.output.addItem(f"{target} ({kind})", target)
        if multi:
            # The first class output (a confusion matrix says most) unless one was chosen.
            keep = current if current in results.outputs else next(
                (t for t, r in results.outputs.items() if r.task == "classification"),
                next(iter(results.outputs)))
            self.output.setCurrentIndex(max(0, self.output.findData(keep)))
        self.output.blockSignals(False)

    def _fill_table(self, res: Results) -> None:
        if res.outputs is not None:
            self._fill_outputs_table(res)
            return
        names = list(res.splits)
        if res.task == "classification":
            rows = [("Accuracy", "accuracy", "pct"), ("Loss", "loss", "num")]
        else:
            unit = f" ({res.target_names[0]})" if res.target_names else ""
            rows = [("R²", "r2", "num3"), (f"MAE{unit}", "mae", "orig"),
                    (f"RMSE{unit}", "rmse", "orig"), ("Loss (scaled)", "loss", "num")]
        self.table.setColumnCount(len(names))
        self.table.setHorizontalHeaderLabels([SPLIT_TITLES[n] for n in names])
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels([r[0] for r in rows])
        for i, (_, key, fmt) in enumerate(rows):
            for j, name in enumerate(names):
                r = res.splits[name]
                if fmt == "orig":
                    v = r.original.get(key, math.nan)
                elif key == "r2" and r.original:
                    v = r.original.get("r2", r.metrics.get("r2", math.nan))
                else:
                    v = r.metrics.get(key, math.nan)
                item = QTableWidgetItem(_format(v, fmt))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(i, j, item)
        self.table.setFixedHeight(
            self.table.horizontalHeader().height() + 4
            + sum(self.table.rowHeight(i) for i in range(len(rows)))
        )

    def _fill_outputs_table(self, res: Results) -> None:
        """Several outputs: a row per output (and the weighted total), a column per metric,
        on the split chosen above (regression metrics in the target's units)."""
        split = self.split.currentData()
        if split not in res.splits:
            split = "test" if "test" in res.splits else next(iter(res.splits), None)
        columns = [("Accuracy", "accuracy", "pct"), ("R²", "r2", "num3"),
                   ("MAE", "mae", "orig"), ("RMSE", "rmse", "orig"), ("Loss", "loss", "num")]
        outputs = list(res.outputs or {})
        self.table.setColumnCount(len(columns))
        self.table.setHorizontalHeaderLabels([c[0] for c in columns])
        self.table.setRowCount(len(outputs) + 1)
        title = SPLIT_TITLES.get(split, "")
        self.table.setVerticalHeaderLabels(outputs + [f"Total ({title.lower()})" if title
                                                       else "Total"])
        metrics = res.splits[split].metrics if split in res.splits else {}
        for i, target in enumerate(outputs + [None]):
            for j, (_, key, fmt) in enumerate(columns):
                if target is None:
                    v = metrics.get("loss", math.nan) if key == "loss" else math.nan
                else:
                    v = metrics.get(f"{target}/{key}", math.nan)
                item = QTableWidgetItem(_format(v, fmt))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if target is None:
                    item.setToolTip("The total loss: each output's loss times its weight, "
                                    "summed")
                self.table.setItem(i, j, item)
        self.table.setFixedHeight(
            self.table.horizontalHeader().height() + 4
            + sum(self.table.rowHeight(i) for i in range(len(outputs) + 1)))

    def _show_split(self) -> None:
        res = self.results
        name = self.split.currentData()
        if res is None or name not in res.splits:
            self.pages.setCurrentWidget(self.empty_page)
            return
        if res.outputs is not None:  # several outputs: the chosen output's own results
            self._fill_outputs_table(res)
            res = res.outputs.get(self.output.currentData())
            if res is None or name not in res.splits:
                self.pages.setCurrentWidget(self.empty_page)
                return
        r = res.splits[name]
        if r.confusion is None and r.y_true is None:
            # Scores a run recorded (or a language model's): no chart to draw.
            self.pages.setCurrentWidget(self.empty_page)
            return
        if res.task == "classification":
            self.pages.setCurrentWidget(self.classification_page)
            self.confusion.set_data(r.confusion, res.class_names)
            self._fill_per_class(r, res.class_names)
        else:
            self.pages.setCurrentWidget(self.regression_page)
            unit = res.target_names[0] if res.target_names else ""
            self.scatter.set_data(r.y_true, r.y_pred, unit)
            self.residuals.set_data(r.y_true, r.y_pred)

    def _fill_per_class(self, r, class_names: list[str]) -> None:
        pc = r.per_class or {}
        k = len(pc.get("precision", []))
        self.per_class.setRowCount(k + 1 if k else 0)
        self.per_class.setVerticalHeaderLabels([str(n) for n in class_names[:k]]
                                               + ["average"])
        for i in range(k):
            values = (pc["precision"][i], pc["recall"][i], pc["f1"][i])
            for j, v in enumerate(values):
                item = QTableWidgetItem(f"{v:.3f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.per_class.setItem(i, j, item)
            item = QTableWidgetItem(f"{int(pc['support'][i]):,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            self.per_class.setItem(i, 3, item)
        if k:  # the unweighted (macro) average over classes
            means = [sum(pc[key]) / k for key in ("precision", "recall", "f1")]
            cells = [f"{v:.3f}" for v in means] + [f"{int(sum(pc['support'])):,}"]
            bold = QFont()
            bold.setBold(True)
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setFont(bold)
                self.per_class.setItem(k, j, item)

    # -- export ------------------------------------------------------------------------------
    def current_chart(self):
        if self.pages.currentWidget() is self.classification_page:
            return self.confusion
        if self.pages.currentWidget() is self.regression_page:
            return self.scatter
        return None

    def _ask_save_chart(self) -> None:
        chart = self.current_chart()
        if chart is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save chart", start_path(self, "chart", "results.png"),
            "PNG image (*.png);;SVG drawing (*.svg)"
        )
        if not path:
            return
        remember(self, "chart", path)
        if not path.lower().endswith((".png", ".svg")):
            path += ".png"
        try:
            export_widget(chart, path)
        except (OSError, ValueError) as e:
            QMessageBox.warning(self, "Could not save", f"Could not write {path}: {e}")


def _summary(res: Results) -> str:
    if res.outputs is not None:
        return f"{len(res.outputs)} outputs · " + ", ".join(
            f"{t} ({len(r.class_names)} classes)" if r.task == "classification"
            else f"{t} (number)" for t, r in res.outputs.items())
    if res.task == "classification":
        return f"Classification · {len(res.class_names)} classes"
    targets = ", ".join(res.target_names)
    return f"Regression · predicting {targets}"


def _format(v: float, fmt: str) -> str:
    if not isinstance(v, int | float) or not math.isfinite(v):
        return "–"
    if fmt == "pct":
        return f"{100 * v:.1f} %"
    if fmt == "num3":
        return f"{v:.3f}"
    if fmt == "orig":
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return f"{v:.4g}"
