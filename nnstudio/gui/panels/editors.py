"""One editor widget per kind of layer setting (int, float, bool, choice, pair, shape).

Every editor validates as the user types (a red frame and a message when the value cannot
be used) and emits :attr:`SettingEditor.committed` once per finished edit with a valid value;
setting values from the document (:meth:`SettingEditor.set_value`) emits nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from nnstudio.core.engine.layer import Setting
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.theme import current_theme

INT_LIMIT = 2_000_000_000
#: ``value -> coerced value``; raises a :class:`ConfigError` when invalid.
Validator = Callable[[Any], Any]


class SettingEditor(QWidget):
    """Base class. Subclasses build their widgets and call :meth:`_commit`.

    Parameters
    ----------
    setting:
        The layer setting's schema.
    validate:
        The document's check for this setting (``GraphDocument.validate_setting``).
    """

    #: The user finished an edit with a valid value: the value (``None`` = default).
    committed = Signal(object)
    #: The text being typed is invalid: the reason ("" once valid again).
    validity_changed = Signal(str)

    def __init__(self, setting: Setting, validate: Validator, parent: QWidget | None = None):
        super().__init__(parent)
        self.setting = setting
        self.validate = validate
        self._setting_value = False
        self._value: Any = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.setToolTip(setting.help)

    def set_value(self, value: Any) -> None:
        """Show ``value`` from the document without emitting anything."""
        self._compact()
        self._setting_value = True
        try:
            self._value = value
            self._show(value)
            self._mark("")
        finally:
            self._setting_value = False

    def value(self) -> Any:
        return self._value

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _check(self, value: Any) -> tuple[Any, str]:
        """``(coerced value, "")`` or ``(None, reason)``."""
        try:
            return self.validate(value), ""
        except NNStudioError as e:
            return None, e.message

    def _commit(self, value: Any) -> None:
        if self._setting_value:
            return
        coerced, problem = self._check(value)
        self._mark(problem)
        if not problem and coerced != self._value:
            self._value = coerced
            self.committed.emit(coerced)

    def _compact(self) -> None:
        """Let the fields shrink with a narrow properties panel."""
        for w in self.findChildren(QWidget):
            if isinstance(w, (QLineEdit, QAbstractSpinBox, QComboBox)) and not isinstance(
                    w.parent(), QAbstractSpinBox):
                w.setMinimumWidth(52)

    def _mark(self, problem: str) -> None:
        """Tint the text fields red while ``problem`` is set (the palette, not a stylesheet,
        so Fusion keeps drawing the spin buttons)."""
        theme = current_theme()
        for w in self.findChildren(QWidget):
            if isinstance(w, (QLineEdit, QAbstractSpinBox)):
                palette = QPalette(QApplication.palette(w))
                if problem:
                    palette.setColor(QPalette.ColorRole.Base, QColor(theme.error_fill))
                    palette.setColor(QPalette.ColorRole.Text, QColor(theme.error))
                w.setPalette(palette)
                w.setProperty("invalid", bool(problem))
        self.validity_changed.emit(problem)


class IntEditor(SettingEditor):
    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        self.spin = QSpinBox(self)
        lo = -INT_LIMIT if setting.minimum is None else int(setting.minimum)
        hi = INT_LIMIT if setting.maximum is None else int(setting.maximum)
        self.spin.setRange(max(lo, -INT_LIMIT), min(hi, INT_LIMIT))
        self.spin.setKeyboardTracking(False)
        self.spin.setAccelerated(True)
        self.spin.valueChanged.connect(self._commit)
        self.spin.lineEdit().textEdited.connect(self._typed)
        self.layout().addWidget(self.spin)

    def _typed(self, text: str) -> None:
        try:
            self._mark(self._check(int(text))[1])
        except ValueError:
            self._mark("must be a whole number" if text.strip() else "")

    def _show(self, value: Any) -> None:
        self.spin.setValue(int(value if value is not None else self.setting.default))


class CompactDoubleSpinBox(QDoubleSpinBox):
    """Shows ``0.5``, not ``0.5000``."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.{self.decimals()}f}".rstrip("0").rstrip(".") or "0"


class FloatEditor(SettingEditor):
    """A spin box for bounded settings (dropout rate), a checked text field otherwise."""

    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        lo, hi = setting.minimum, setting.maximum
        self.spin: QDoubleSpinBox | None = None
        self.edit: QLineEdit | None = None
        if lo is not None and hi is not None and lo >= 0 and hi <= 10 and (lo == 0 or lo >= 1e-3):
            self.spin = CompactDoubleSpinBox(self)
            self.spin.setRange(lo, hi)
            self.spin.setDecimals(4)
            self.spin.setSingleStep(0.05 if hi <= 1 else 0.1)
            self.spin.setKeyboardTracking(False)
            self.spin.valueChanged.connect(self._commit)
            self.layout().addWidget(self.spin)
        else:
            self.edit = QLineEdit(self)
            self.edit.textEdited.connect(self._typed)
            self.edit.editingFinished.connect(lambda: self._commit(self.edit.text()))
            self.layout().addWidget(self.edit)

    def _typed(self, text: str) -> None:
        self._mark(self._check(text)[1] if text.strip() else "a number is needed")

    def _check(self, value: Any) -> tuple[Any, str]:
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return None, "must be a number (e.g. 0.001 or 1e-5)"
        return super()._check(value)

    def _show(self, value: Any) -> None:
        v = float(value if value is not None else self.setting.default)
        if self.spin is not None:
            self.spin.setValue(v)
        else:
            self.edit.setText(f"{v:g}")


class BoolEditor(SettingEditor):
    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        self.check = QCheckBox(setting.name.replace("_", " ").capitalize(), self)
        self.check.toggled.connect(self._commit)
        self.layout().addWidget(self.check)

    def _show(self, value: Any) -> None:
        self.check.setChecked(bool(value if value is not None else self.setting.default))


class ChoiceEditor(SettingEditor):
    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        self.combo = QComboBox(self)
        self.combo.addItems(list(setting.choices))
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        self.combo.activated.connect(lambda i: self._commit(self.combo.itemText(i)))
        self.layout().addWidget(self.combo)

    def _show(self, value: Any) -> None:
        self.combo.setCurrentText(str(value if value is not None else self.setting.default))


class PairEditor(SettingEditor):
    """Two spin boxes, ``height × width`` (kernel size, strides, pool size).

    A setting whose default is ``None`` (pooling strides: "as the pool size") shows ``auto``
    below the smallest value; choosing it in either box restores the default.
    """

    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        self.spins = []
        lo = 1 if setting.minimum is None else int(setting.minimum)
        self.auto = lo - 1 if setting.default is None else None
        for i in range(2):
            spin = QSpinBox(self)
            hi = INT_LIMIT if setting.maximum is None else int(setting.maximum)
            spin.setRange(lo if self.auto is None else self.auto, hi)
            if self.auto is not None:
                spin.setSpecialValueText("auto")
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda _v: self._commit(self._pair()))
            self.spins.append(spin)
            self.layout().addWidget(spin, 1)
            if i == 0:
                self.layout().addWidget(QLabel("×", self))

    def _pair(self) -> list[int] | None:
        values = [s.value() for s in self.spins]
        return None if self.auto is not None and self.auto in values else values

    def _show(self, value: Any) -> None:
        if value is None:
            value = self.setting.default
        if value is None:
            value = [self.auto if self.auto is not None else self.spins[0].minimum()] * 2
        if not isinstance(value, (list, tuple)):
            value = [value, value]
        for spin, v in zip(self.spins, value, strict=False):
            spin.setValue(int(v))


def parse_shape(text: str) -> list[int] | None:
    """``"1, 28, 28"``, ``"1x28x28"``, ``"(13,)"`` → a list; ``""`` → ``None``.

    Raises ``ValueError`` on anything else.
    """
    text = text.strip().strip("()[]")
    if not text:
        return None
    parts = [p for p in re.split(r"[\s,x×*]+", text) if p]
    if not parts:
        raise ValueError(text)
    return [int(p) for p in parts]


class ShapeEditor(SettingEditor):
    """A text field for a shape such as ``1, 28, 28``; empty means the default."""

    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("from the data" if setting.default is None else "")
        self.edit.textEdited.connect(self._typed)
        self.edit.editingFinished.connect(lambda: self._commit(self.edit.text()))
        self.layout().addWidget(self.edit)

    def _check(self, value: Any) -> tuple[Any, str]:
        if isinstance(value, str):
            try:
                value = parse_shape(value)
            except ValueError:
                return None, "sizes separated by commas, e.g. 1, 28, 28"
        return super()._check(value)

    def _typed(self, text: str) -> None:
        self._mark(self._check(text)[1])

    def _show(self, value: Any) -> None:
        self.edit.setText(", ".join(str(v) for v in value) if value else "")


class JsonEditor(SettingEditor):
    """Fallback for a setting kind this version does not know: JSON text."""

    def __init__(self, setting: Setting, validate: Validator, parent=None):
        super().__init__(setting, validate, parent)
        self.edit = QLineEdit(self)
        self.edit.editingFinished.connect(lambda: self._commit(self.edit.text()))
        self.layout().addWidget(self.edit)

    def _check(self, value: Any) -> tuple[Any, str]:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else None
            except ValueError:
                return None, "must be JSON"
        return super()._check(value)

    def _show(self, value: Any) -> None:
        self.edit.setText("" if value is None else json.dumps(value))


EDITORS: dict[str, type[SettingEditor]] = {
    "int": IntEditor,
    "float": FloatEditor,
    "bool": BoolEditor,
    "choice": ChoiceEditor,
    "pair": PairEditor,
    "shape": ShapeEditor,
}


def make_editor(setting: Setting, validate: Validator, parent: QWidget | None = None
                ) -> SettingEditor:
    """The right editor for ``setting.kind``."""
    return EDITORS.get(setting.kind, JsonEditor)(setting, validate, parent)

