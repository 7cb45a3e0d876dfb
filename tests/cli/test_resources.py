"""resource_path finds resources in a checkout and below sys._MEIPASS when frozen."""

import sys

from nnstudio.resources import resource_path


def test_checkout_path_exists():
    assert resource_path("examples").is_dir()


def test_frozen_path(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    expected = tmp_path / "resources" / "examples" / "xor.nnsproj"
    assert resource_path("examples", "xor.nnsproj") == expected
