"""Three linked percentages for the train / validation / test split (always summing to 100).

Changing one share takes the difference from the others: the training share from the test
share first (then validation), the validation share from the test share (then training),
the test share from the validation share (then training). The training share never drops
below 1 %.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QSpinBox, QWidget

NAMES = ("train", "validation", "test")
#: Which other shares give (or take) the difference, in order, when one changes.
_DONORS = {"train": ("test", "validation"), "validation": ("test", "train"),
           "test": ("validation", "train")}
_MINIMUM = {"train": 1, "validation": 0, "test": 0}


class SplitControls(QWidget):
    """Train / validation / test percentage spin boxes that stay linked.

    Attributes
    ----------
    spins:
        ``{"train", "validation", "test"}`` → ``QSpinBox`` (percent).
    """

    #: The shares changed: ``(train, validation, test)`` fractions summing to 1.
    shares_changed = Signal(tuple)

    def __init__(self, parent: QWidget | None = None, shares=(70, 15, 15)):
        super().__init__(parent)
        self.spins: dict[str, QSpinBox] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        titles = {"train": "Training", "validation": "Validation", "test": "Test"}
        for name, value in zip(NAMES, shares, strict=True):
            spin = QSpinBox()
            spin.setRange(_MINIMUM[name], 100)
            spin.setSuffix(" %")
            spin.setValue(int(value))
            spin.setObjectName(f"split_{name}")
            spin.valueChanged.connect(lambda v, n=name: self._changed(n, v))
            label = QLabel(titles[name])
            layout.addWidget(label)
            layout.addWidget(spin)
            layout.addSpacing(8)
            self.spins[name] = spin
        layout.addStretch(1)
        self._busy = False

    def shares(self) -> tuple[float, float, float]:
        """The fractions ``(train, validation, test)``, summing to 1."""
        return tuple(self.spins[n].value() / 100 for n in NAMES)  # type: ignore[return-value]

    def percents(self) -> tuple[int, int, int]:
        return tuple(self.spins[n].value() for n in NAMES)  # type: ignore[return-value]

    def set_shares(self, fractions) -> None:
        """Show ``fractions`` (rounded to whole percents, the test share takes the rest)."""
        p = [round(100 * float(f)) for f in fractions]
        p[2] = 100 - p[0] - p[1]
        self._busy = True
        try:
            for name, v in zip(NAMES, p, strict=True):
                self.spins[name].setValue(v)
        finally:
            self._busy = False
        self.shares_changed.emit(self.shares())

    def _changed(self, name: str, value: int) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            excess = sum(self.spins[n].value() for n in NAMES) - 100
            for donor in _DONORS[name]:
                if excess == 0:
                    break
                spin = self.spins[donor]
                new = min(100, max(_MINIMUM[donor], spin.value() - excess))
                excess -= spin.value() - new
                spin.setValue(new)
            if excess:  # nothing left to take: undo the part of the change that overflowed
                self.spins[name].setValue(value - excess)
        finally:
            self._busy = False
        self.shares_changed.emit(self.shares())


#: Colours of the three parts in :class:`SplitBar` (training, validation, test).
BAR_COLORS = ("#0072b2", "#e69f00", "#009e73")


class SplitBar(QWidget):
    """The three shares drawn as one bar of coloured parts with their names."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.fractions = (0.7, 0.15, 0.15)
        self.setFixedHeight(28)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_shares(self, fractions) -> None:
        self.fractions = tuple(float(f) for f in fractions)
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        x = r.left()
        names = ("training", "validation", "test")
        for frac, color, name in zip(self.fractions, BAR_COLORS, names, strict=True):
            w = r.width() * frac
            if w <= 0:
                continue
            part = QRectF(x, r.top(), w, r.height())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(color))
            p.drawRect(part)
            p.setPen(QColor("#ffffff"))
            label = f"{name} {round(100 * frac)} %"
            if p.fontMetrics().horizontalAdvance(label) > w - 8:
                label = f"{round(100 * frac)} %"
            if p.fontMetrics().horizontalAdvance(label) <= w - 4:
                p.drawText(part, Qt.AlignmentFlag.AlignCenter, label)
            x += w
        p.end()
