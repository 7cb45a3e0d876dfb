"""Fixtures of the robustness tests: seed files built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .seeds import make_seeds


@pytest.fixture(scope="session")
def seed_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeds")
    make_seeds(folder)
    return folder


@pytest.fixture
def work(seed_dir, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the seed files to mutate, as the current folder."""
    for p in seed_dir.iterdir():
        if p.is_dir():
            shutil.copytree(p, tmp_path / p.name)
        else:
            shutil.copy(p, tmp_path / p.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path
