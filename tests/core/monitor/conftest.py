from __future__ import annotations

import pytest

from tests.core.serve.churn import train_churn


@pytest.fixture(scope="session")
def churn_m(tmp_path_factory):
    """``(model, model_path, data_path)`` of the churn model (trained once a session)."""
    return train_churn(tmp_path_factory.mktemp("churn_m"))
