"""Find bundled resources (example projects, icons) from a checkout or a frozen app.

In a checkout (or an editable install) ``resources/`` sits beside the ``nnstudio`` package.
In a PyInstaller bundle everything is unpacked below ``sys._MEIPASS``; the spec file copies
``resources/`` there under the same name.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resource_root() -> Path:
    """The folder that holds ``examples/``, ``icons/``, ...: ``<root>/resources``."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """The path of a bundled resource, e.g. ``resource_path("examples", "xor.nnsproj")``.

    The path is returned whether or not the file exists; callers check.
    """
    return resource_root().joinpath(*parts)
