"""The core and the CLI run without Qt: importing them must not import PySide6 or pyqtgraph."""

import subprocess
import sys


def test_core_and_cli_never_import_qt():
    code = (
        "import sys, pkgutil, importlib, nnstudio.core, nnstudio.cli\n"
        "for m in pkgutil.walk_packages(nnstudio.core.__path__, 'nnstudio.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "qt = ('PySide6', 'pyqtgraph', 'shiboken6')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt imported by the core/CLI: {out.stdout}"
