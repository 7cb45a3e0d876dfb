"""Find bundled resources (example projects, icons, style) wherever nnstudio runs.

Three layouts, checked in this order:

* a PyInstaller bundle: everything is unpacked below ``sys._MEIPASS``; the spec file copies
  ``resources/`` there under the same name;
* an installed wheel (``pip``/``pipx install``): the build maps the top-level ``resources/``
  folder into the package as ``nnstudio/_resources`` (see ``setup.py``);
* a checkout or an editable install: ``resources/`` sits beside the ``nnstudio`` package.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_root() -> Path:
    """The folder that holds ``examples/``, ``icons/``, ``style/``."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    installed = _PACKAGE / "_resources"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "resources"


def resource_path(*parts: str) -> Path:
    """The path of a bundled resource, e.g. ``resource_path("examples", "xor.nnsproj")``.

    The path is returned whether or not the file exists; callers check.
    """
    return resource_root().joinpath(*parts)
