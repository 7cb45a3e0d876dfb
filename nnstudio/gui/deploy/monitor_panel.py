"""The Monitor panel: drift of a prediction log or a new data file, per column.

The comparison (:func:`nnstudio.core.monitor.monitor`) runs in a worker thread: the panel only
shows the result — an overall verdict, one table row per column (verdict, PSI, test p-value,
missing and unseen shares, why), overlaid histograms of the selected column (training grey,
now blue), and accuracy or error where outcomes are known. While the deploy server runs and
its log is the source, the panel refreshes every few seconds. The model is always the
session's current one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.gui.dialog_folders import remember, start_path
from nnstudio.gui.panels.workflow_widgets import Banner
from nnstudio.gui.session import Session

from .drift_plot import DriftPlot
from .workers import MonitorRunner, MonitorWorker, OutcomesWorker

REFRESH_MS = 5000
VERDICT_COLORS = {"stable": "#15803d", "watch": "#b45309", "drifted": "#b91c1c"}
COLUMNS = ("Column", "Verdict", "PSI", "p-value", "Missing", "Unseen", "Why")


class MonitorPanel(QWidget):
    """Per-column drift verdicts of a log or a data file against the training split.

    Parameters
    ----------
    session:
        The window's session (``session.model`` is read at each refresh).
    server:
        The deploy :class:`~nnstudio.gui.deploy.server_process.ServerProcess` (its log is
        offered as a source and refreshed while it runs), or ``None``.
    """

    #: A report was shown (dict).
    report_shown = Signal(object)

    def __init__(self, session: Session, server: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MonitorPanel")
        self.session = session
        self.server = server
        self.source: tuple[str, str] | None = None  # (kind "log" | "data", path)
        self.report: dict[str, Any] | None = None
        self._again = False
        self._keep_selection = False
        self.runner = MonitorRunner(self)
        self.runner.finished.connect(self._on_report)
        self.runner.failed.connect(self._on_failed)

        self.source_label = QLabel("No source: open a prediction log or a new data file.")
        self.source_label.setObjectName("monitorSource")
        self.source_label.setWordWrap(True)
        self.server_button = QPushButton("Server log")
        self.server_button.setToolTip("Monitor the log of the server started with Deploy")
        self.server_button.clicked.connect(self.use_server_log)
        open_log = QPushButton("Open log…")
        open_log.clicked.connect(self._choose_log)
        open_data = QPushButton("Open data file…")
        open_data.clicked.connect(self._choose_data)
        self.import_button = QPushButton("Import outcomes…")
        self.import_button.setToolTip("Add the true outcomes of logged predictions from a CSV "
                                      "with request_id and outcome columns")
        self.import_button.clicked.connect(self._choose_outcomes)
        self.importer = MonitorRunner(self)
        self.importer.finished.connect(self._on_imported)
        self.importer.failed.connect(self._on_failed)
        self.labels = QComboBox()
        self.labels.setToolTip("The column of true outcomes in the data file (accuracy, "
                               "error)")
        self.labels.addItem("(no outcomes)")
        self.labels.setEnabled(False)
        self.labels.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("monitorRefresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.auto = QCheckBox("Refresh while the server runs")
        self.auto.setChecked(True)

        self.psi_watch = _spin(0.1, 0.0, 10.0, 0.05, "PSI from which a column is 'watch'")
        self.psi_drift = _spin(0.25, 0.0, 10.0, 0.05, "PSI from which a column is 'drifted'")
        self.p_value = _spin(0.01, 1e-6, 0.5, 0.005, "a test p-value below this asks to watch",
                             decimals=4)
        for s in (self.psi_watch, self.psi_drift, self.p_value):
            s.valueChanged.connect(lambda _v: self.refresh())

        self.banner = Banner()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("monitorTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.plot = DriftPlot()
        self.plot.setMinimumWidth(260)
        self.performance = QLabel()
        self.performance.setObjectName("monitorPerformance")
        self.performance.setWordWrap(True)
        self.thresholds_label = QLabel()
        self.thresholds_label.setWordWrap(True)

        # Three short rows rather than one long one: the bottom docks share their width, and
        # the window must fit a 1024-pixel screen (tests/gui/test_layout_fits.py).
        top = QHBoxLayout()
        for w in (self.server_button, open_log, open_data, self.import_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        outcomes = QHBoxLayout()
        outcomes.addWidget(QLabel("Outcomes:"))
        outcomes.addWidget(self.labels)
        outcomes.addStretch(1)
        outcomes.addWidget(self.auto)
        limits = QHBoxLayout()
        for text, w in (("PSI watch ≥", self.psi_watch), ("drifted ≥", self.psi_drift),
                        ("test p <", self.p_value)):
            limits.addWidget(QLabel(text))
            limits.addWidget(w)
        limits.addStretch(1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.plot)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([620, 380])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.source_label)
        lay.addLayout(outcomes)
        lay.addLayout(limits)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)
        lay.addWidget(self.performance)
        lay.addWidget(self.thresholds_label)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        if server is not None:
            server.started.connect(self._on_server_started)
            server.stopped.connect(lambda _why: self._update_buttons())
        session.model_changed.connect(self.refresh)
        self._update_buttons()

    # -- sources -------------------------------------------------------------------------------
    def set_source(self, kind: str, path: str | Path, labels: str | None = None) -> None:
        """Monitor a prediction log (``kind="log"``) or a data file (``"data"``) and refresh."""
        self.source = (kind, str(path))
        self._keep_selection = False
        self.labels.blockSignals(True)
        self.labels.clear()
        self.labels.addItem("(no outcomes)")
        if kind == "data":
            for col in _columns_of(path):
                self.labels.addItem(col)
            target = labels or (self.session.model.target_names[0]
                                if self.session.model is not None else None)
            if Path(path).is_dir():
                target = FOLDER_LABELS
            index = self.labels.findText(target) if target else -1
            self.labels.setCurrentIndex(max(index, 0))
        self.labels.setEnabled(kind == "data")
        self.labels.blockSignals(False)
        what = "Prediction log" if kind == "log" else "Data file"
        self.source_label.setText(f"{what}: {path}")
        self._update_buttons()
        self.refresh()

    def use_server_log(self) -> None:
        if self.server is not None and self.server.log_path is not None:
            self.set_source("log", self.server.log_path)

    def _choose_log(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a prediction log",
                                              start_path(self, "log"),
                                              "SQLite database (*.db *.sqlite);;All files (*)")
        if path:
            remember(self, "log", path)
            self.set_source("log", path)

    def _choose_data(self) -> None:
        model = self.session.model
        if getattr(getattr(model, "preparation", None), "media", None) is not None:
            # An image/sound model reads a folder of files (a CSV of paths also works).
            path = QFileDialog.getExistingDirectory(self, "Open a folder of new files",
                                                    start_path(self, "new-data"))
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Open new data",
                                                  start_path(self, "new-data"),
                                                  "Data (*.csv *.tsv *.txt);;All files (*)")
        if path:
            remember(self, "new-data", path)
            self.set_source("data", path)

    def import_outcomes(self, csv_path: str | Path) -> bool:
        """Import true outcomes into the log being monitored (worker thread); False when the
        source is not a log."""
        if self.source is None or self.source[0] != "log" or self.importer.busy:
            return False
        self.import_button.setEnabled(False)
        self.importer.start(OutcomesWorker(self.source[1], str(csv_path)))
        return True

    def _choose_outcomes(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import outcomes",
                                              start_path(self, "outcomes"),
                                              "CSV (*.csv *.txt);;All files (*)")
        if path:
            remember(self, "outcomes", path)
            self.import_outcomes(path)

    @Slot(object)
    def _on_imported(self, result: object) -> None:
        assert isinstance(result, dict)
        self._update_buttons()
        note = f"; {result['unknown']:,} id(s) matched no logged prediction" \
            if result["unknown"] else ""
        self.banner.show_message("info", "Outcomes imported",
                                 f"{result['recorded']:,} outcome(s) recorded{note}.")
        self.refresh()

    # -- refreshing ----------------------------------------------------------------------------
    def thresholds(self) -> Any:
        from nnstudio.core.monitor import Thresholds

        watch, drift = self.psi_watch.value(), self.psi_drift.value()
        return Thresholds(psi_watch=min(watch, drift), psi_drift=max(watch, drift),
                          p_value=self.p_value.value())

    def refresh(self) -> bool:
        """Start a comparison in the worker thread; False when there is nothing to compare."""
        model = self.session.model
        if self.source is None:
            return False
        from nnstudio.core.serve import missing_modules

        missing = missing_modules()
        if missing:
            self.banner.show_message("error", "Not available", "This build of nnstudio lacks "
                                     f"{', '.join(missing)}, which monitoring needs.")
            return False
        if model is None:
            self.banner.show_message("info", "No model", "Train the network first: the "
                                     "monitor compares new data with its training split.")
            return False
        if self.runner.busy:
            self._again = True
            return True
        kind, path = self.source
        labels = self.labels.currentText() if kind == "data" and self.labels.currentIndex() > 0 \
            else None
        self.refresh_button.setEnabled(False)
        self.refresh_button.setText("Reading…")
        self.runner.start(MonitorWorker(model, kind, path, labels, self.thresholds()))
        return True

    def _tick(self) -> None:
        if (self.auto.isChecked() and self.server is not None and self.server.running
                and self.source is not None and self.server.log_path is not None
                and self.source == ("log", str(self.server.log_path))):
            self.refresh()

    @Slot(object)
    def _on_report(self, report: object) -> None:
        self._done()
        assert isinstance(report, dict)
        self.report = report
        self._show(report)
        self.report_shown.emit(report)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._done()
        self._update_buttons()
        self.banner.show_message("error", "Cannot monitor", message)

    def _done(self) -> None:
        self.refresh_button.setEnabled(True)
        self.refresh_button.setText("Refresh")
        if self._again:
            self._again = False
            QTimer.singleShot(0, self.refresh)

    # -- showing -------------------------------------------------------------------------------
    def _show(self, r: dict[str, Any]) -> None:
        summary = ", ".join(f"{n} {k}" for k, n in sorted(r["summary"].items()))
        text = f"{r['rows']:,} rows vs the {r['reference']['source']} " \
               f"({r['reference']['rows']:,} rows). Columns: {summary}."
        if r.get("notes"):
            text += " " + " ".join(n[:1].upper() + n[1:] + ("" if n.endswith(".") else ".")
                                   for n in r["notes"])
        if r["drifted"]:
            self.banner.show_message("error", "Drifted", text)
        elif r["summary"].get("watch") or (r.get("predictions") or {}).get("verdict") == \
                "watch":
            self.banner.show_message("warning", "Watch", text)
        else:
            self.banner.show_message("success", "Stable", text)
        entries = list(r["features"])
        if r.get("predictions"):
            entries.append({"name": "(predictions)", **r["predictions"]})
        old = getattr(self, "entries", [])
        row = self.table.currentRow()
        keep = old[row]["name"] if self._keep_selection and 0 <= row < len(old) else None
        self.table.setRowCount(len(entries))
        for i, e in enumerate(entries):
            cells = [e["name"], e["verdict"], _num(e.get("psi")), _num(e.get("p_value")),
                     _pct(e.get("missing")), _pct(e.get("unseen")),
                     "; ".join(e.get("reasons", []))]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 1 and e["verdict"] in VERDICT_COLORS:
                    item.setForeground(QBrush(QColor(VERDICT_COLORS[e["verdict"]])))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if 2 <= j <= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight |
                                          Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.entries = entries
        if entries:
            # Keep the user's column across refreshes; a new source shows the worst one.
            names = [e["name"] for e in entries]
            worst = next((i for i, e in enumerate(entries) if e["verdict"] == "drifted"), 0)
            self.table.selectRow(names.index(keep) if keep in names else worst)
            self._keep_selection = True
        self._on_selection()  # the same row stays selected: redraw with the new data anyway
        perf = r.get("performance") or {}
        if perf.get("rows_with_outcome"):
            value = f"{perf['value']:.1%}" if perf["metric"] == "accuracy" else \
                f"{perf['value']:.6g}"
            trained = ", ".join(f"{k} {v:.4g}" for k, v in (perf.get("training") or {}).items())
            name = "Accuracy" if perf["metric"] == "accuracy" else "Mean absolute error"
            self.performance.setText(f"{name} on {perf['rows_with_outcome']:,} known outcomes: "
                                     f"{value}" + (f" (training: {trained})" if trained else ""))
        else:
            self.performance.setText("No true outcomes known yet.")
        t = r["thresholds"]
        self.thresholds_label.setText(
            f"Thresholds: PSI watch ≥ {t['psi_watch']:g}, drifted ≥ {t['psi_drift']:g}; test "
            f"p < {t['p_value']:g} → watch; missing share up {t['missing_watch']:.0%} / "
            f"{t['missing_drift']:.0%}; unseen categories {t['unseen_watch']:.0%} / "
            f"{t['unseen_drift']:.0%} → watch / drifted.")

    def _on_selection(self) -> None:
        row = self.table.currentRow()
        entries = getattr(self, "entries", [])
        self.plot.show_entry(entries[row] if 0 <= row < len(entries) else None)

    def _on_server_started(self, _url: str) -> None:
        self._update_buttons()
        if self.source is None:
            self.use_server_log()
        self.timer.start()

    def _update_buttons(self) -> None:
        self.server_button.setEnabled(self.server is not None and
                                      self.server.log_path is not None)
        self.import_button.setEnabled(self.source is not None and self.source[0] == "log"
                                      and not self.importer.busy)

    def shutdown(self) -> None:
        self.timer.stop()
        self.runner.shutdown()
        self.importer.shutdown()


def _spin(value: float, lo: float, hi: float, step: float, tip: str,
          decimals: int = 2) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setValue(value)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


def _num(v: Any) -> str:
    return "" if v is None else f"{v:.3g}"


def _pct(v: Any) -> str:
    return "" if v is None else f"{v:.1%}"



#: The outcomes choice for a folder of class folders (monitor/media_sources.py).
FOLDER_LABELS = "class folders"


def _columns_of(path: str | Path) -> list[str]:
    """The column names of a data file (from its first lines), [] if unreadable; for a
    folder of images or sounds with subfolders, ``class folders`` (their names are the true
    classes)."""
    p = Path(path)
    if p.is_dir():
        return [FOLDER_LABELS] if any(c.is_dir() for c in p.iterdir()) else []
    try:
        from nnstudio.core.data import preview

        return list(preview(path, n_rows=5).columns)
    except (NNStudioError, OSError, ValueError):
        return []
