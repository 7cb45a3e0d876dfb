"""A container that keeps a panel's relayouts inside the panel.

Qt's ``QLayout::activate()`` ends with ``updateGeometry()`` on the widget it laid out —
unconditionally ("ideally only if sizeHint() or sizePolicy() has changed", says its source).
So one label that gets new text relayouts every layout up to the window, and in a
``QMainWindow`` that means every dock (with a ``QPropertyAnimation`` made and deleted per dock
each time). While a run goes the training panel's status line changes ten times a second: the
cascade cost 1.5–2 ms of GUI-thread time per change on the benchmark window — time the GUI
holds the GIL and the trainer thread waits.

:class:`LayoutBarrier` holds one widget and passes a layout request on to the window only when
the widget's size hints or limits really changed.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize
from PySide6.QtWidgets import QSizePolicy, QWidget, QWidgetItem


class LayoutBarrier(QWidget):
    """Shows ``child`` over its whole area; see the module docstring.

    ``sizeHint``, ``minimumSizeHint``, the maximum size and the size policy are the child's
    (as a layout would read them), so a dock holding a barrier sizes exactly as one holding
    the child.
    """

    def __init__(self, child: QWidget, parent: QWidget | None = None):
        super().__init__(parent)
        self.child = child
        child.setParent(self)
        self.setFocusProxy(child)
        # A layout item computes min/max/hint as a layout would (size policy, explicit
        # minimum and maximum sizes included); not added to any layout.
        self._item = QWidgetItem(child)
        self._hints = self._read_hints()
        self._apply_limits()
        #: How many layout requests were passed on to the window (tests).
        self.passed_on = 0

    def _read_hints(self) -> tuple:
        item, child = self._item, self.child
        policy = child.sizePolicy()
        return (item.sizeHint(), item.minimumSize(), item.maximumSize(),
                policy.horizontalPolicy(), policy.verticalPolicy(), child.isHidden())

    def _apply_limits(self) -> None:
        self.setSizePolicy(QSizePolicy(self.child.sizePolicy()))
        self.setMaximumSize(self._item.maximumSize())

    def _check(self) -> None:
        hints = self._read_hints()
        if hints != self._hints:
            self._hints = hints
            self._apply_limits()
            self.passed_on += 1
            self.updateGeometry()

    # -- QWidget ----------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return self._item.sizeHint()

    def minimumSizeHint(self) -> QSize:
        return self._item.minimumSize()

    def hasHeightForWidth(self) -> bool:
        return self.child.hasHeightForWidth()

    def heightForWidth(self, width: int) -> int:
        return self.child.heightForWidth(width)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            # The child relaid itself out already; the window needs to know only when the
            # child's hints changed.
            self._check()
            return True
        return super().event(event)

    def showEvent(self, event) -> None:
        # Requests are not posted to a hidden parent: catch up with what changed meanwhile.
        self._check()
        self.child.setGeometry(self.rect())
        super().showEvent(event)

    def resizeEvent(self, event) -> None:
        self.child.setGeometry(self.rect())
        super().resizeEvent(event)
