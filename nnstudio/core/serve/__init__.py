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
"""

from .app import create_app
from .log import LOG_FORMAT, LOG_VERSION, PredictionLog, connect, read_outcomes_csv
from .predictor import Predictor, fingerprint
from .server import serve
from .validate import Limits, RequestError

__all__ = [
    "LOG_FORMAT", "LOG_VERSION", "Limits", "PredictionLog", "Predictor", "RequestError",
    "connect", "create_app", "fingerprint", "read_outcomes_csv", "serve",
]
