"""A thin QUndoStack adapter over the core's undoable commands.

The commands themselves live in :mod:`nnstudio.core.graph.commands` (plain ``do()/undo()``);
:class:`CommandAdapter` only lets Qt's undo machinery drive them, so Edit ▸ Undo/Redo, the
clean state (the title's unsaved-changes mark) and ``QUndoView`` come for free.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand, QUndoStack

from nnstudio.core.graph.commands import Command


class CommandAdapter(QUndoCommand):
    """A ``QUndoCommand`` that runs a core :class:`Command`."""

    def __init__(self, command: Command):
        super().__init__(command.text)
        self.command = command
        self._skip_first_redo = False

    def redo(self) -> None:
        if self._skip_first_redo:  # already done by QtUndoStack.push_command
            self._skip_first_redo = False
            return
        self.command.do()

    def undo(self) -> None:
        self.command.undo()

    def id(self) -> int:
        return self.command.merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, CommandAdapter):
            return False
        merged = self.command.merge(other.command)
        if merged:
            self.setText(self.command.text)
            self.setObsolete(self.command.is_noop)
        return merged


class QtUndoStack(QUndoStack):
    """The window's undo stack: push core commands with :meth:`push_command`."""

    def push_command(self, command: Command) -> None:
        """Run ``command`` and record it; a ``do()`` that raises records nothing.

        The command runs here, before ``QUndoStack.push``, so a typed error (a refused
        connection) reaches the caller instead of being swallowed inside Qt's ``redo()``.
        """
        command.do()
        adapter = CommandAdapter(command)
        adapter._skip_first_redo = True
        self.push(adapter)
