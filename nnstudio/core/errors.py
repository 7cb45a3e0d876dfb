"""Typed, user-facing errors.

Every failure a user can cause (a bad file, an impossible network, a diverging run) raises a
subclass of :class:`NNStudioError`. ``str(error)`` is one readable sentence naming the problem
and its place; front ends (GUI dialogs, the CLI's ``error:`` line) show it as it is and never
show a traceback for these.
"""

from __future__ import annotations


class NNStudioError(Exception):
    """Base class of the errors a user can cause and fix.

    Parameters
    ----------
    message:
        What is wrong and, ideally, what to do about it.
    where:
        The place: a file path, ``"row 12, column 'price'"``, ``"network.nodes[3] 'out'"``.
        It is prefixed to the message when given.
    """

    def __init__(self, message: str, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(NNStudioError):
    """A setting of a layer, optimizer, loss or training run is invalid."""


class ShapeError(NNStudioError):
    """Shapes cannot work (a kernel larger than its input, a Dense fed an image, ...)."""


class GraphError(NNStudioError):
    """The network graph is not a valid network (cycle, no input, bad connection, ...)."""


class DataError(NNStudioError):
    """A data file or column cannot be used."""


class ProjectError(NNStudioError):
    """A project or model file is invalid, corrupt or from a newer version."""


class ExportError(NNStudioError):
    """A model cannot be exported."""


class DivergedError(NNStudioError):
    """Training produced a NaN or infinite loss."""
