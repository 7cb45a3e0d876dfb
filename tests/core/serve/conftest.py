from __future__ import annotations

import pytest

from .churn import train_churn
from .server_proc import start_server, stop_server


@pytest.fixture(scope="session")
def churn(tmp_path_factory):
    """``(model, model_path, data_path)`` of the churn model (trained once a session)."""
    return train_churn(tmp_path_factory.mktemp("churn"))


@pytest.fixture(scope="module")
def server(churn, tmp_path_factory):
    """``(url, log_path)`` of a real ``nnstudio serve`` process on a free loopback port."""
    log = tmp_path_factory.mktemp("serve") / "predictions.db"
    proc, url = start_server(churn[1], log, "--max-body-bytes", "20000", "--max-rows", "50")
    yield url, log
    stop_server(proc)
