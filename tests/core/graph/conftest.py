"""Helpers for the graph document tests (no Qt)."""

from __future__ import annotations

import pytest

from nnstudio.core.graph import AddNode, Connect, GraphDocument, UndoStack


@pytest.fixture
def doc() -> GraphDocument:
    return GraphDocument(input_shape=(13,))


@pytest.fixture
def stack() -> UndoStack:
    return UndoStack()


@pytest.fixture
def chain(doc: GraphDocument, stack: UndoStack) -> GraphDocument:
    """input_1 → dense_1 (8) → dense_2 (1), built through commands."""
    stack.push(AddNode(doc, "Input", (0, 0)))
    stack.push(AddNode(doc, "Dense", (250, 0), {"units": 8}))
    stack.push(AddNode(doc, "Dense", (500, 0), {"units": 1}))
    stack.push(Connect(doc, "input_1", "dense_1"))
    stack.push(Connect(doc, "dense_1", "dense_2"))
    stack.set_clean()
    return doc
