"""The predict panel: type a new sample, see what the trained model says.

One field per input column of the data (a number field, a date field, or a drop-down of the
categories seen in training — a location, say), prefilled with typical values; the prediction
updates as you type: a value in the target's units for regression, the class probabilities
for classification. "Predict a file…" runs the model over a whole CSV and writes the
predictions beside the original columns (atomically).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.atomic import atomic_write_text
from nnstudio.gui.dialog_folders import remember, start_path
from nnstudio.gui.panels.predict_notes import filled_fields, prediction_notes
from nnstudio.gui.panels.workflow_widgets import FieldError, hbox, section_title
from nnstudio.gui.session import Session
from nnstudio.gui.theme import current_theme


def predict_rows(session: Session, rows: list[dict[str, Any]]):
    """Run the session's model on raw rows ``[{column: text or number}]``.

    Returns the core :class:`~nnstudio.core.io.model_file.Predictions` of
    ``TrainedModel.predict_raw`` — exactly what ``nnstudio predict`` computes.
    """
    return session.model.predict_raw(rows)


class PredictPanel(QWidget):
    """A form of the model's inputs and its live prediction."""

    #: A new prediction was shown (a :class:`Prediction` of one row).
    predicted = Signal(object)
    #: A file of predictions was written (its path).
    file_written = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.fields: dict[str, QLineEdit | QComboBox] = {}
        self.field_kinds: dict[str, str] = {}
        self.last = None  # the last Predictions shown

        self.hint = QLabel("Train a model to try it on new inputs.")
        self.hint.setWordWrap(True)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form_box = QWidget()
        form_box.setLayout(self.form)
        self.form_box = form_box
        self.error = FieldError()

        t = current_theme()
        self.result_title = QLabel("Prediction")
        self.result_title.setStyleSheet(f"color: {t.muted}; font-weight: 600;")
        self.result = QLabel("–")
        self.result.setObjectName("predictionValue")
        self.result.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_detail = QLabel("")
        self.result_detail.setStyleSheet(f"color: {t.muted};")
        self.result_detail.setWordWrap(True)
        self.bars_box = QWidget()
        self.bars_layout = QFormLayout(self.bars_box)
        self.bars_layout.setContentsMargins(0, 4, 0, 0)
        self.bars: dict[str, QProgressBar] = {}
        card = QFrame()
        card.setObjectName("predictCard")
        card.setStyleSheet(f"QFrame#predictCard {{ background: {t.base}; border: 1px solid "
                           f"{t.border}; border-radius: 8px; }} QFrame#predictCard QLabel "
                           "{ border: none; background: transparent; }")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(14, 10, 14, 12)
        card_layout.addWidget(self.result_title)
        card_layout.addWidget(self.result)
        card_layout.addWidget(self.result_detail)
        card_layout.addWidget(self.bars_box)
        # A network with several outputs: a block per output (see _show_outputs).
        self.outputs_box = QWidget()
        self.outputs_layout = QVBoxLayout(self.outputs_box)
        self.outputs_layout.setContentsMargins(0, 0, 0, 0)
        self.outputs_layout.setSpacing(6)
        self.outputs_box.setVisible(False)
        #: ``{target: (value label, {class: bar})}`` of the blocks shown.
        self.output_blocks: dict[str, tuple[QLabel, dict[str, QProgressBar]]] = {}
        card_layout.addWidget(self.outputs_box)

        self.predict_button = QPushButton("Predict")
        self.predict_button.clicked.connect(self.predict)
        self.reset_button = QPushButton("Typical values")
        self.reset_button.setToolTip("Fill every field with a typical value from the training data")
        self.reset_button.clicked.connect(self._fill_defaults)
        self.file_button = QPushButton("Predict a file…")
        self.file_button.setToolTip("Run the model on every row of a CSV file and save the "
                                    "predictions as CSV")
        self.file_button.clicked.connect(self._ask_predict_file)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.hint)
        self.inputs_title = section_title("Inputs")
        layout.addWidget(self.inputs_title)
        layout.addWidget(form_box)
        layout.addWidget(self.error)
        layout.addLayout(hbox(self.predict_button, self.reset_button, None, self.file_button))
        layout.addWidget(card)
        from nnstudio.gui.text.generate_widget import GenerateBox

        self.generate_box = GenerateBox(session)  # shown instead for a language model
        layout.addWidget(self.generate_box, 1)
        layout.addStretch(1)
        self.card = card
        scroll = QScrollArea()
        scroll.setWidget(inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self.predict)
        session.model_changed.connect(self.rebuild)
        session.dataset_changed.connect(self.rebuild)
        session.training_started.connect(self._update_enabled)
        session.training_finished.connect(lambda *_: self._on_training_finished())
        self.rebuild()

    # -- form ----------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        s = self.session
        return s.model is not None and not s.training

    def rebuild(self) -> None:
        """Rebuild the form for the session's data and model."""
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields.clear()
        self.field_kinds.clear()
        self.last = None
        self._clear_result()
        self.error.set_error(None)  # another model or project: no stale message
        preparation = self._preparation()
        if preparation is None:
            self.hint.setText("Load a dataset and train a model to try it on new inputs.")
            self._update_enabled()
            return
        language_model = preparation.task == "language_model"
        for w in (self.form_box, self.card, self.predict_button, self.reset_button,
                  self.file_button, self.inputs_title):
            w.setVisible(not language_model)
        self.generate_box.setVisible(language_model)
        if language_model:
            self.hint.setText("A language model continues a prompt: type the beginning of a "
                              "text and press Generate." if self.session.model is not None
                              else "Train the language model first; then it writes here.")
            self.generate_box.setEnabled(self.ready)
            return
        info = preparation.feature_info()
        array_input = any(f["kind"] == "array" for f in info)
        for f in info:
            if f["kind"] == "array":
                continue
            name = f["name"]
            if f["kind"] == "categorical":
                w = QComboBox()
                w.addItems([str(c) for c in f["categories"] or []])
                w.currentIndexChanged.connect(self._schedule)
                kind = "categorical"
            else:
                w = QLineEdit()
                kind = "date" if f.get("date") else "numeric"
                if f["kind"] == "text":  # a text classifier: the text to classify
                    kind = "text"
                    w.setPlaceholderText("type a text to classify")
                elif kind == "date":
                    w.setPlaceholderText("YYYY-MM-DD")
                elif f.get("min") is not None and f.get("max") is not None:
                    w.setPlaceholderText(f"{_nice(f['min'])} to {_nice(f['max'])}")
                    w.setToolTip(f"In the training data: {_nice(f['min'])} to "
                                 f"{_nice(f['max'])}, mean {_nice(f.get('mean'))}")
                w.textEdited.connect(self._schedule)
            w.setObjectName(f"feature_{name}")
            self.fields[name] = w
            self.field_kinds[name] = kind
            self.form.addRow(name, w)
        self.inputs_title.setVisible(bool(self.fields))
        self.form_box.setVisible(bool(self.fields))
        if array_input:
            self.hint.setText("This model reads images or arrays: use “Predict a file…” "
                              "with a file of samples.")
        elif self.session.network is None:
            self.hint.setText("Train the network first; then type new inputs here.")
        else:
            self.hint.setText("Type a new sample; the prediction follows as you type.")
        self._fill_defaults()
        self._update_enabled()
        if self.ready and self.fields:  # a model and a filled form: its prediction at once
            self._schedule()

    def _preparation(self):
        """The model's own preparation (what it was trained with), else the loaded data's:
        the inputs the form asks for."""
        model = self.session.model
        if model is not None and getattr(model, "preparation", None) is not None:
            return model.preparation
        prepared = self.session.prepared
        return prepared.preparation if prepared is not None else None

    def _fill_defaults(self) -> None:
        preparation = self._preparation()
        info = {f["name"]: f for f in preparation.feature_info()} \
            if preparation is not None else {}
        for name, w in self.fields.items():
            f = info.get(name, {})
            if isinstance(w, QComboBox):
                w.setCurrentIndex(0)
            elif self.field_kinds[name] == "date":
                mean = f.get("mean")
                w.setText(_date_text(mean) if mean is not None else "")
            else:
                mean = f.get("mean")
                w.setText(_nice(mean) if mean is not None else "")
        self._schedule()

    def _update_enabled(self) -> None:
        ready = self.ready
        self.generate_box.setEnabled(ready)
        for w in (self.predict_button, self.reset_button, self.file_button):
            w.setEnabled(ready)
        self.form_box.setEnabled(ready)
        preparation = self._preparation()
        lm = preparation is not None and preparation.task == "language_model"
        self.card.setVisible((ready or self.last is not None) and not lm)

    def _on_training_finished(self) -> None:
        self._update_enabled()
        # The new model arrived while the run was still winding down: predict the form now.
        if self.ready and self.fields and self.last is None:
            self._schedule()

    def set_value(self, name: str, value: Any) -> None:
        """Put ``value`` in the field of column ``name`` (tests, scripting)."""
        w = self.fields[name]
        if isinstance(w, QComboBox):
            i = w.findText(str(value))
            if i < 0:
                raise KeyError(f"{value!r} is not a category of {name!r}")
            w.setCurrentIndex(i)
        else:
            w.setText(str(value))
        self._schedule()

    def row(self) -> dict[str, str]:
        """The form as one raw row ``{column: text}``."""
        return {name: (w.currentText() if isinstance(w, QComboBox) else w.text())
                for name, w in self.fields.items()}

    # -- predicting -------------------------------------------------------------------------
    def _schedule(self, *_: Any) -> None:
        if self.ready:
            self._timer.start()

    def predict(self):
        """Predict the form's row now and show it; ``None`` (and a message) on bad input."""
        self._timer.stop()
        if not self.ready or not self.fields:
            return None
        try:
            pred = predict_rows(self.session, [self.row()])
        except NNStudioError as e:
            self.error.set_error(str(e).replace("row 1, ", ""))
            self._mark_invalid(str(e))
            self.last = None  # no stale prediction under a new error
            self._clear_result()
            return None
        self.error.set_error(None)
        self._mark_invalid("")
        self.last = pred
        self._show(pred)
        prep = getattr(self.session.model, "preparation", None)  # the model's own steps
        notes = prediction_notes(prep, self.row())
        self.result_detail.setText("\n".join([self.result_detail.text(), *notes]).strip())
        for name, value in filled_fields(prep, self.row()).items():
            self.fields[name].setPlaceholderText(f"filled: {value}")
        self.predicted.emit(pred)
        return pred

    def _mark_invalid(self, message: str) -> None:
        for name, w in self.fields.items():
            bad = bool(message) and f"'{name}'" in message
            w.setProperty("invalid", "true" if bad else "false")
            w.style().unpolish(w)
            w.style().polish(w)

    def _clear_result(self) -> None:
        self.result.setText("–")
        self.result_detail.setText("")
        self._set_bars([], [])
        for value, bars in self.output_blocks.values():
            value.setText("–")
            for bar in bars.values():
                bar.setValue(0)
                bar.setFormat("–")

    def _show(self, pred) -> None:
        multi = getattr(pred, "outputs", None) is not None
        self.result.setVisible(not multi)
        self.outputs_box.setVisible(multi)
        if multi:
            self._show_outputs(pred)
        elif pred.probabilities is None:
            v = np.asarray(pred.values[0], np.float64).reshape(-1)
            names = list(pred.target_names)
            self.result_title.setText(f"Predicted {names[0] if names else 'value'}")
            self.result.setText(_value_text(v[0]))
            extra = [f"{n}: {_value_text(x)}" for n, x in zip(names[1:], v[1:], strict=False)]
            self.result_detail.setText(" · ".join(extra))
            self._set_bars([], [])
        else:
            p = pred.probabilities[0]
            best = int(np.argmax(p))
            self.result_title.setText("Predicted class")
            self.result.setText(str(pred.values[0]))
            self.result_detail.setText(f"with probability {100 * p[best]:.1f} %")
            self._set_bars(list(pred.class_names), p)

    def _show_outputs(self, pred) -> None:
        """Each output of a network with several outputs: its class with the probabilities
        of every class, or its number in the target's units."""
        outputs = pred.outputs
        self.result_title.setText("Predictions")
        self.result_detail.setText("")
        self._set_bars([], [])
        layout = [(t, list(p.class_names) if p.probabilities is not None else [])
                  for t, p in outputs.items()]
        if [(t, list(bars)) for t, (_, bars) in self.output_blocks.items()] != layout:
            self._build_output_blocks(layout)
        for target, p in outputs.items():
            value, bars = self.output_blocks[target]
            if p.probabilities is None:
                value.setText(_value_text(float(np.asarray(p.values, np.float64)
                                                .reshape(len(p.values), -1)[0, 0])))
                continue
            probs = p.probabilities[0]
            best = int(np.argmax(probs))
            value.setText(f"{p.values[0]}  ·  {100 * probs[best]:.1f} %")
            for name, q in zip(p.class_names, probs, strict=False):
                bars[name].setValue(round(1000 * float(q)))
                bars[name].setFormat(f"{100 * float(q):.1f} %")

    def _build_output_blocks(self, layout: list[tuple[str, list[str]]]) -> None:
        while self.outputs_layout.count():
            item = self.outputs_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.output_blocks = {}
        muted = current_theme().muted
        for target, classes in layout:
            block = QWidget()
            form = QFormLayout(block)
            form.setContentsMargins(0, 2, 0, 2)
            title = QLabel(target)
            title.setStyleSheet(f"color: {muted}; font-weight: 600;")
            value = QLabel("–")
            value.setObjectName(f"output_{target}")
            value.setStyleSheet("font-size: 15pt; font-weight: 600;")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(title, value)
            bars = {}
            for name in classes[:50]:
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setFixedHeight(14)
                bars[name] = bar
                form.addRow(f"  {name}", bar)
            self.outputs_layout.addWidget(block)
            self.output_blocks[target] = (value, bars)

    def output_text(self, target: str) -> str:
        """What the card shows for one output (tests)."""
        return self.output_blocks[target][0].text()

    def _set_bars(self, names: list[str], probs) -> None:
        if list(self.bars) != list(names):
            while self.bars_layout.rowCount():
                self.bars_layout.removeRow(0)
            self.bars = {}
            for n in names[:50]:
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setFormat("%p %")
                bar.setFixedHeight(16)
                self.bars[n] = bar
                self.bars_layout.addRow(str(n), bar)
        for n, p in zip(names, probs, strict=False):
            if n in self.bars:
                self.bars[n].setValue(round(1000 * float(p)))
                self.bars[n].setFormat(f"{100 * float(p):.1f} %")
        self.bars_box.setVisible(bool(self.bars))

    # -- a whole file -----------------------------------------------------------------------
    def _ask_predict_file(self) -> None:
        src, _ = QFileDialog.getOpenFileName(
            self, "Predict a file", start_path(self, "predict"),
            "Data files (*.csv *.tsv *.txt);;All files (*)"
        )
        if not src:
            return
        remember(self, "predict", src)
        default = str(Path(src).with_name(Path(src).stem + "-predictions.csv"))
        dest, _ = QFileDialog.getSaveFileName(self, "Save predictions", default,
                                              "CSV file (*.csv)")
        if not dest:
            return
        try:
            n = self.predict_file(src, dest)
        except (NNStudioError, OSError) as e:
            QMessageBox.warning(self, "Prediction failed", _error_text(e))
            return
        QMessageBox.information(self, "Predictions saved",
                                f"Predicted {n:,} rows; saved to {dest}.")

    def predict_file(self, src: str | Path, dest: str | Path) -> int:
        """Predict every row of ``src`` (a CSV/TSV with the feature columns, or for an image
        model an IDX/NPZ/CSV of samples) and write ``dest`` as CSV, atomically: the file's
        columns, ``prediction`` and, for classes, ``p_<class>``. Returns the row count.

        The same reader and writer as ``nnstudio predict``.
        """
        from nnstudio.cli.commands import predictions_csv
        from nnstudio.cli.datafiles import read_model_data

        model = self.session.model
        data = read_model_data(model, src)
        pred = model.predict_prepared(data.x)
        kept = []
        if data.table is not None:
            kept = [(c, data.table[c].as_strings()) for c in data.table.columns]
        atomic_write_text(dest, predictions_csv(pred, kept))
        self.file_written.emit(str(dest))
        return len(pred)


def _nice(v: Any) -> str:
    """A typical value as a person would type it: 3 significant digits, no exponent."""
    if v is None:
        return ""
    v = float(v)
    if not math.isfinite(v):
        return ""
    if v == 0:
        return "0"
    digits = max(0, 2 - math.floor(math.log10(abs(v))))
    text = f"{round(v, digits):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _value_text(v: float) -> str:
    if not math.isfinite(v):
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def _date_text(days: float) -> str:
    import datetime as dt

    try:
        return (dt.date(1970, 1, 1) + dt.timedelta(days=round(float(days)))).isoformat()
    except (OverflowError, ValueError):
        return ""


def _error_text(e: Exception) -> str:
    if isinstance(e, OSError):
        return f"Could not write the file: {e.strerror or e}"
    return str(e)
