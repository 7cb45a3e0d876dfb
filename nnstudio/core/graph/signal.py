"""A tiny observer: the GUI-free stand-in for a Qt signal.

The graph document announces every change through these so any front end (the Qt canvas,
a test, a future web view) can follow it without the core knowing about Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Signal:
    """A list of callbacks called in connection order by :meth:`emit`.

    Examples
    --------
    >>> s = Signal()
    >>> seen = []
    >>> s.connect(seen.append)
    >>> s.emit(3)
    >>> seen
    [3]
    """

    __slots__ = ("_slots",)

    def __init__(self) -> None:
        self._slots: list[Callable[..., Any]] = []

    def connect(self, slot: Callable[..., Any]) -> None:
        """Call ``slot(*args)`` on every :meth:`emit`; connecting twice is a no-op."""
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any] | None = None) -> None:
        """Remove ``slot`` (or every slot when ``None``); an unknown slot is ignored."""
        if slot is None:
            self._slots.clear()
        elif slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        """Call every connected slot with ``args``."""
        for slot in list(self._slots):
            slot(*args)

    def __len__(self) -> int:
        return len(self._slots)
