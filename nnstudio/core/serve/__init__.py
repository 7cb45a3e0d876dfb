"""Serving a trained model over HTTP and logging what it predicted (no Qt).

Public API
----------
``Predictor(model, limits)``
    Raw rows → predictions in the user's terms; ``schema()`` for ``GET /model``;
    ``fingerprint``.
``Limits(max_body_bytes, max_rows)``, ``RequestError(status, message)``
``create_app(predictor, log) -> Starlette``
    The ASGI app (``/health``, ``/model``, ``/predict``, ``/feedback``, ``/openapi.json``).
``serve(model, host, port, log_path, limits, on_ready)``
    Run it on uvicorn.
``PredictionLog(path)``, ``connect(path)``, ``read_outcomes_csv(path)``
    The SQLite prediction log (schema in :mod:`.log`).

Names are imported on first use: the GUI reads a model's fingerprint without importing
Starlette, uvicorn or sqlite3 (a frozen app may leave them out).
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "create_app": "app", "LOG_FORMAT": "log", "LOG_VERSION": "log", "PredictionLog": "log",
    "connect": "log", "read_outcomes_csv": "log", "Predictor": "predictor",
    "fingerprint": "predictor", "serve": "server", "Limits": "validate",
    "RequestError": "validate",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


def missing_modules() -> list[str]:
    """The packages serving and monitoring need that this installation lacks."""
    from importlib.util import find_spec

    return [m for m in ("starlette", "uvicorn", "scipy", "sqlite3") if find_spec(m) is None]
