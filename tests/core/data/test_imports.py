"""The data layer stays NumPy-only: no Qt, no pandas."""

from __future__ import annotations

import subprocess
import sys


def test_data_layer_imports_neither_qt_nor_pandas():
    code = ("import sys, nnstudio.core.data\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('pandas', 'PySide6', 'pyqtgraph', 'shiboken6')]\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
