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


# -- Hypothesis profiles -------------------------------------------------------------------------
# "ci" (default): a fixed number of examples, derandomized (the same inputs every run, so CI
# is reproducible) and no example database written into the checkout. "long": many more random
# examples, for a hunt by hand:
#   NNSTUDIO_HYPOTHESIS=long pytest tests/robustness tests/gui/test_fuzz_*.py
# (or pytest's --hypothesis-profile=long). The GUI property tests scale their own counts.
from hypothesis import HealthCheck, settings  # noqa: E402 (the test extra installs it)

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow,
                                                        HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=100, derandomize=True, database=None, **_COMMON)
settings.register_profile("long", max_examples=1500, **_COMMON)
settings.load_profile(os.environ.get("NNSTUDIO_HYPOTHESIS", "ci"))
