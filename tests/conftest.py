"""Shared test set-up: Qt runs offscreen; the shared datasets are found beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before any QApplication exists (pytest-qt creates it lazily).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session")
def datasets() -> Path:
    """``../shared/datasets``: real data, read in place (never copied into the project)."""
    if not DATASETS.is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS}")
    return DATASETS


@pytest.fixture(autouse=True)
def _media_cache(tmp_path_factory, monkeypatch):
    """Decoded image/sound caches go to a temporary folder, never the user's ~/.cache."""
    monkeypatch.setenv("NNSTUDIO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "media-cache"))
