"""Helpers for the editor GUI tests: a main window in a sandbox, drops, port drags."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from nnstudio.core.graph import AddNode, Connect


def drop_layer(window, type_name: str, pos: QPoint, mime=None) -> bool:
    """Drag ``type_name`` from the palette and drop it at viewport point ``pos``.

    Sends the enter, move and drop events a real drag would, carrying the palette's own MIME
    data; returns whether the drop was accepted.
    """
    mime = mime if mime is not None else window.palette.mime_data(type_name)
    viewport = window.canvas.viewport()
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(pos, action, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    move = QDragMoveEvent(pos, action, mime, buttons, mods)
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(QPointF(pos), action, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    return drop.isAccepted()


def port_point(window, node_id: str, kind: str) -> QPoint:
    """Where a node's ``"in"`` or ``"out"`` port is, in viewport coordinates."""
    item = window.scene.node_items[node_id]
    port = item.in_port if kind == "in" else item.out_port
    return window.canvas.mapFromScene(port.center())


def node_point(window, node_id: str) -> QPoint:
    """The middle of a node's header, in viewport coordinates."""
    item = window.scene.node_items[node_id]
    return window.canvas.mapFromScene(item.sceneBoundingRect().center() - QPointF(0, 18))


def mouse_drag(window, start: QPoint, end: QPoint, steps: int = 4) -> None:
    """Press at ``start``, move in a few steps, release at ``end`` (left button)."""
    viewport = window.canvas.viewport()
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(viewport, left, none, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        QTest.mouseMove(viewport, p)
    QTest.mouseRelease(viewport, left, none, end)


def build_chain(window, *specs) -> list[str]:
    """Add and connect layers in a row through the undo stack: ``("Dense", {"units": 8})``."""
    ids = []
    for i, (type_name, config) in enumerate(specs):
        cmd = AddNode(window.document, type_name, (i * 220.0, 0.0), config)
        window.undo_stack.push_command(cmd)
        if ids:
            window.undo_stack.push_command(Connect(window.document, ids[-1], cmd.node_id))
        ids.append(cmd.node_id)
    return ids
