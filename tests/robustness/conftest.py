"""Fixtures of the robustness tests: seed files built once per session."""

from __future__ import annotations

import os
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
        shutil.copy(p, tmp_path / p.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- Hypothesis profiles -------------------------------------------------------------------------
# "ci" (default): a fixed number of examples, derandomized (the same inputs every run, so CI
# is reproducible) and no example database written into the checkout. "long": many more random
# examples, for a hunt by hand:
#   NNSTUDIO_HYPOTHESIS=long pytest tests/robustness      (or --hypothesis-profile=long)
from hypothesis import HealthCheck, settings  # noqa: E402

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow,
                                                        HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=100, derandomize=True, database=None, **_COMMON)
settings.register_profile("long", max_examples=1500, **_COMMON)
settings.load_profile(os.environ.get("NNSTUDIO_HYPOTHESIS", "ci"))
