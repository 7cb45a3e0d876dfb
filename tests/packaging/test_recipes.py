"""Fast checks of the packaging recipes that need no build (the slow test builds for real)."""

from __future__ import annotations

import configparser
import importlib.util
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from nnstudio.resources import resource_path

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_resources_resolve_from_the_checkout():
    for parts in (("examples", "xor.nnsproj"), ("icons", "nnstudio.svg"),
                  ("icons", "nnstudio.png"), ("style", "app.qss")):
        assert resource_path(*parts).is_file(), parts


def test_resources_resolve_from_a_frozen_app(monkeypatch, tmp_path):
    # The spec copies resources/ to <bundle>/_internal/resources, i.e. sys._MEIPASS/resources.
    (tmp_path / "resources" / "examples").mkdir(parents=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resource_path("examples", "xor.nnsproj") == (
        tmp_path / "resources" / "examples" / "xor.nnsproj")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell launcher")
def test_linux_launcher_finds_the_app_relative_to_itself(tmp_path):
    app = tmp_path / "root" / "usr" / "lib" / "nnstudio" / "nnstudio"
    app.parent.mkdir(parents=True)
    app.write_text('#!/bin/sh\necho "app $*"\n')
    app.chmod(0o755)
    launcher = tmp_path / "root" / "usr" / "bin" / "nnstudio"
    launcher.parent.mkdir(parents=True)
    launcher.write_bytes((PACKAGING / "linux" / "nnstudio").read_bytes())
    launcher.chmod(0o755)
    link = tmp_path / "elsewhere"
    link.symlink_to(launcher)
    for exe in (launcher, link):
        r = subprocess.run([str(exe), "--version", "a b"], capture_output=True, text=True,
                           cwd=tmp_path, check=True)
        assert r.stdout == "app --version a b\n"


def test_desktop_entry():
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(PACKAGING / "linux" / "nnstudio.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "nnstudio %f"
    assert entry["Icon"] == "nnstudio"
    assert entry["Categories"].endswith(";")
    mime = (PACKAGING / "linux" / "nnstudio-mime.xml").read_text(encoding="utf-8")
    assert entry["MimeType"].rstrip(";") in mime and "*.nnsproj" in mime


def test_system_library_table_is_consistent():
    build = _load("build")
    sonames = [so for libs in build.SYSTEM_LIBS.values() for so in libs.split()]
    assert len(sonames) == len(set(sonames))
    assert set(build.SYSTEM_LIBS) >= build.RECOMMENDED
    control = (PACKAGING / "linux" / "control.in").read_text(encoding="utf-8")
    for field in ("@VERSION@", "@ARCH@", "@DEPENDS@", "@INSTALLED_SIZE@"):
        assert field in control


def test_icon_containers(tmp_path):
    pytest.importorskip("PySide6.QtSvg")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    icons = _load("icons")
    png = icons.render_png(32)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (32, 32)
    ico = icons.ico_bytes({16: png, 256: png})
    assert struct.unpack("<HHH", ico[:6]) == (0, 1, 2)
    icns = icons.icns_bytes({32: png})
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    # The checked-in PNG is the SVG rendered at 256 px.
    committed = resource_path("icons", "nnstudio.png").read_bytes()
    assert struct.unpack(">II", committed[16:24]) == (256, 256)
