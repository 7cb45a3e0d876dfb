"""The network canvas: a QGraphicsScene that follows a GraphDocument, and its view."""

from nnstudio.gui.canvas.scene import CanvasScene
from nnstudio.gui.canvas.view import CanvasView

__all__ = ["CanvasScene", "CanvasView"]
