"""Write a plot as PNG or SVG, atomically (a temporary file renamed into place).

PNG goes through pyqtgraph's ``ImageExporter`` (any resolution). SVG is drawn with Qt's own
``QSvgGenerator`` from the plot widget: pyqtgraph 0.14's ``SVGExporter`` cannot parse the
path data Qt ≥ 6.9 writes (``ValueError`` in ``correctCoordinates``, pyqtgraph issue #3485),
while Qt's generator gives a correct vector drawing of exactly what is on screen.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # registers pg.exporters
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator


def _item_of(widget):
    """The graphics item a pyqtgraph widget draws (PlotItem or the layout)."""
    if isinstance(widget, pg.PlotWidget):
        return widget.getPlotItem()
    return widget.ci


def _write_svg(widget, path: str, title: str) -> None:
    """Draw the widget (a ``QGraphicsView``) into an SVG at the screen's logical DPI.

    The DPI matters: pyqtgraph's axes replay cached ``QPicture`` drawings, which Qt scales by
    the ratio of the screen's and the device's resolution; at QSvgGenerator's default 72 dpi
    the axes would not line up with the curves.
    """
    w, h = max(1, widget.width()), max(1, widget.height())
    gen = QSvgGenerator()
    gen.setFileName(path)
    gen.setSize(QSize(w, h))
    gen.setViewBox(QRect(0, 0, w, h))
    gen.setResolution(int(widget.logicalDpiX()))
    gen.setTitle(title)
    gen.setDescription("Exported by nnstudio")
    painter = QPainter(gen)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        widget.render(painter)
    finally:
        painter.end()


def export_plot(widget, path: str | os.PathLike, title: str = "nnstudio plot",
                width: int | None = None) -> Path:
    """Write ``widget`` (a PlotWidget or a GraphicsLayoutWidget) to ``path`` as PNG or SVG
    by its suffix; nothing is left behind on error.

    Parameters
    ----------
    width:
        Pixel width of a PNG (default: twice the widget's width, at least 1000).
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError("the file name must end in .png or .svg")
    folder = dest.parent if str(dest.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        if suffix == ".png":
            exporter = pg.exporters.ImageExporter(_item_of(widget))
            w = width or max(1000, int(widget.width()) * 2)
            exporter.parameters()["width"] = w
            exporter.export(tmp)
        else:
            _write_svg(widget, tmp, title)
        if not os.path.getsize(tmp):
            raise OSError(f"nothing was written to {dest}")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return dest
