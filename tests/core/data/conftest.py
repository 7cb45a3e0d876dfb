"""Fixtures for the data-layer tests: the shared real data sets and a file writer."""

from __future__ import annotations

from pathlib import Path

import pytest

#: ``../shared/datasets`` beside the repository root (read in place, never copied).
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"the shared data sets are not at {SHARED.resolve()}")
    return SHARED.resolve()


@pytest.fixture
def write(tmp_path):
    """``write(name, content)`` -> Path; str content is written as UTF-8 bytes as given."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return _write
