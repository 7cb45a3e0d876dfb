"""How shapes and parameter counts read on a node, in the properties and in the CLI."""

from __future__ import annotations

from collections.abc import Sequence


def format_shape(shape: Sequence[int] | None) -> str:
    """``(128,)`` for a vector, ``1×28×28`` for anything with more axes, ``?`` when unknown."""
    if shape is None:
        return "?"
    shape = tuple(int(v) for v in shape)
    if len(shape) == 1:
        return f"({shape[0]},)"
    if not shape:
        return "()"
    return "×".join(str(v) for v in shape)


def format_params(count: int) -> str:
    """``1,234 params``, ``1 param``, ``no params``."""
    if count == 0:
        return "no params"
    return f"{count:,} param" + ("" if count == 1 else "s")
