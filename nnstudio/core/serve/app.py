"""The HTTP API: a Starlette (ASGI) application around a :class:`Predictor` and a log.

Endpoints::

    GET  /health         {"status": "ok", "model": fingerprint, "requests": n, ...}
    GET  /model          input schema, classes or targets, metrics, fingerprint, limits
    POST /predict        one row or a batch → predictions (see :mod:`.validate`)
    POST /feedback       {"request_id": ..., "outcome": ..., "row": 0} or {"outcomes": [...]}
    POST /generate       language models: {"prompt": ..., "length": 50, ...} → {"text": ...}

Image and sound models take uploads on ``/predict`` (multipart or base64 JSON, see
:mod:`.media`); text columns are JSON strings in a row.
    GET  /openapi.json   the OpenAPI 3.1 description of this model's API

Every bad request gets a 4xx JSON ``{"error": "<one line>"}``; an unexpected fault gets a 500
with a one-line message and the request id, never a traceback. Each answered prediction is
committed to the log before the answer leaves (a killed server keeps every answered row).
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nnstudio import __version__

from .log import PredictionLog
from .openapi import openapi_spec
from .predictor import Predictor, dumps
from .validate import RequestError, check_content_type, parse_json

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(dumps(obj), status_code=status, media_type="application/json",
                    headers=headers)


def error_response(status: int, message: str, request_id: str | None = None) -> Response:
    body: dict[str, Any] = {"error": message}
    headers = None
    if request_id:
        body["request_id"] = request_id
        headers = {"X-Request-ID": request_id}
    return json_response(body, status, headers)


class ServeState:
    """What the running API holds: predictor, log, counters (touched on the loop thread)."""

    def __init__(self, predictor: Predictor, log: PredictionLog | None):
        self.predictor = predictor
        self.log = log
        self.started = time.time()
        self.requests = 0
        self.rows = 0
        self.rejected = 0
        self.feedback = 0


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) before reading more than ``limit`` bytes."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise RequestError(400, "the Content-Length header is not a number") from None
        if n > limit:
            raise RequestError(413, f"the body is {n:,} bytes; this server takes at most "
                               f"{limit:,} (set --max-body-bytes)")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise RequestError(413, f"the body is over {limit:,} bytes, the most this server "
                               "takes (set --max-body-bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(predictor: Predictor, log: PredictionLog | None) -> Starlette:
    """The ASGI application serving ``predictor``, logging to ``log`` (None: no log)."""
    state = ServeState(predictor, log)

    async def health(request: Request) -> Response:
        return json_response({
            "status": "ok", "model": predictor.fingerprint, "nnstudio": __version__,
            "uptime_s": round(time.time() - state.started, 3), "requests": state.requests,
            "predictions": state.rows, "rejected": state.rejected,
            "feedback": state.feedback, "log": str(log.path) if log else None,
        })

    async def model_info(request: Request) -> Response:
        return json_response(predictor.schema())

    async def openapi(request: Request) -> Response:
        return json_response(openapi_spec(predictor))

    async def index(request: Request) -> Response:
        work = ["POST /generate"] if predictor.language_model else ["POST /predict",
                                                                    "POST /feedback"]
        return json_response({"service": "nnstudio model server", "model": predictor.fingerprint,
                              "endpoints": ["GET /health", "GET /model", *work,
                                            "GET /openapi.json"]})

    def request_id_of(request: Request) -> str:
        given = request.headers.get("x-request-id")
        if given is None:
            return uuid.uuid4().hex
        if not _REQUEST_ID.fullmatch(given):
            raise RequestError(400, "X-Request-ID must be 1–64 letters, digits or . _ : -")
        return given

    def log_rows(rid: str, inputs: list, outputs: list, headlines: list,
                 latency: float) -> None:
        """Append a request's rows to the log (if any); a reused request id is a 409."""
        if log is None:
            return
        try:
            log.append(rid, predictor.fingerprint, inputs, outputs, headlines, latency)
        except sqlite3.IntegrityError:
            raise RequestError(409, f"request id {rid!r} was used before; send a new "
                               "X-Request-ID or none") from None

    async def predict(request: Request) -> Response:
        t0 = time.perf_counter()
        rid = None
        try:
            rid = request_id_of(request)
            content_type = request.headers.get("content-type")
            if predictor.media is None and not predictor.language_model:
                check_content_type(content_type)  # before reading a body we would refuse
            body = await read_body(request, predictor.limits.max_body_bytes)
            inputs, logged, single = predictor.read_request(content_type, body)
            outputs = predictor.predict_inputs(inputs)
            latency = (time.perf_counter() - t0) * 1e3
            log_rows(rid, logged, outputs, [predictor.headline(o) for o in outputs], latency)
        except RequestError as e:
            state.rejected += 1
            if log is not None:
                log.reject(rid, e)
            return error_response(e.status, e.message, rid)
        state.requests += 1
        state.rows += len(outputs)
        body_out: dict[str, Any] = {"request_id": rid, "model": predictor.fingerprint}
        if single:
            body_out["prediction"] = outputs[0]
        else:
            body_out["predictions"] = outputs
        return json_response(body_out, headers={"X-Request-ID": rid})

    async def generate(request: Request) -> Response:
        t0 = time.perf_counter()
        rid = None
        try:
            rid = request_id_of(request)
            check_content_type(request.headers.get("content-type"))
            body = await read_body(request, predictor.limits.max_body_bytes)
            payload = parse_json(body)
            # Generation runs on the event loop like /predict: the network's scratch buffers
            # are not shared between threads, and one request at a time keeps its latency.
            out = predictor.generate(payload)
            latency = (time.perf_counter() - t0) * 1e3
            log_rows(rid, [payload], [out], [None], latency)
        except RequestError as e:
            state.rejected += 1
            if log is not None:
                log.reject(rid, e)
            return error_response(e.status, e.message, rid)
        state.requests += 1
        state.rows += 1
        return json_response({"request_id": rid, "model": predictor.fingerprint, **out},
                             headers={"X-Request-ID": rid})

    async def feedback(request: Request) -> Response:
        try:
            check_content_type(request.headers.get("content-type"))
            body = await read_body(request, predictor.limits.max_body_bytes)
            items = feedback_items(parse_json(body), predictor, predictor.limits.max_rows)
            if log is None:
                raise RequestError(409, "this server runs without a prediction log, so "
                                   "outcomes cannot be recorded")
            recorded, unknown = log.add_outcomes(items)
            if unknown and not recorded:
                rid, row = unknown[0]
                raise RequestError(404, f"no logged prediction has request id {rid!r}"
                                   + (f" and row {row}" if row else ""))
        except RequestError as e:
            state.rejected += 1
            return error_response(e.status, e.message)
        state.feedback += recorded
        return json_response({"recorded": recorded,
                              "unknown": [{"request_id": r, "row": i} for r, i in unknown]})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        state.rejected += 1
        if exc.status_code == 404:
            return error_response(404, f"no such endpoint {request.url.path!r} (see GET /)")
        if exc.status_code == 405:
            return error_response(405, f"{request.method} is not allowed on "
                                  f"{request.url.path}")
        return error_response(exc.status_code, str(exc.detail).splitlines()[0][:200])

    async def server_error(request: Request, exc: Exception) -> Response:
        # A bug: say so in one line; the details stay out of the response.
        return error_response(500, f"internal error ({type(exc).__name__}); the request was "
                              "not served")

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/model", model_info, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/predict", predict, methods=["POST"]),
        Route("/feedback", feedback, methods=["POST"]),
        Route("/generate", generate, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error,
                                                       Exception: server_error})
    app.state.serve = state
    return app


def feedback_items(payload: Any, predictor: Predictor, max_items: int,
                   ) -> list[tuple[str, int, Any]]:
    """``(request_id, row, outcome)`` items of a feedback body (422 when malformed)."""
    if isinstance(payload, dict) and isinstance(payload.get("outcomes"), list):
        raw = payload["outcomes"]
    elif isinstance(payload, dict):
        raw = [payload]
    else:
        raise RequestError(422, "send {\"request_id\": ..., \"outcome\": ...} or "
                           "{\"outcomes\": [...]}")
    if not raw:
        raise RequestError(422, "no outcomes given")
    if len(raw) > max_items:
        raise RequestError(413, f"{len(raw):,} outcomes; at most {max_items:,} per request")
    items = []
    for i, item in enumerate(raw):
        where = f"outcome {i + 1}: " if len(raw) > 1 else ""
        if not isinstance(item, dict):
            raise RequestError(422, f"{where}not an object")
        rid = item.get("request_id")
        if not isinstance(rid, str) or not rid:
            raise RequestError(422, f"{where}'request_id' is missing (the id /predict "
                               "answered with)")
        row = item.get("row", 0)
        if not isinstance(row, int) or isinstance(row, bool) or row < 0:
            raise RequestError(422, f"{where}'row' must be a whole number ≥ 0")
        if "outcome" not in item:
            raise RequestError(422, f"{where}'outcome' is missing (the true class or value)")
        items.append((rid, row, normalize_outcome(item["outcome"], predictor, where)))
    return items


def normalize_outcome(value: Any, predictor: Predictor, where: str = "") -> Any:
    """A true outcome as stored: a known class name, or a finite number."""
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        raise RequestError(422, f"{where}'outcome' must be a class name or a number")
    if predictor.task == "multi_output":
        raise RequestError(422, f"{where}this model predicts several targets "
                           f"({', '.join(predictor.targets)}); outcomes are recorded for "
                           "models with one target")
    if predictor.task == "classification":
        from nnstudio.core.data import kinds as _kinds

        text = _kinds.format_number(float(value)) if isinstance(value, int | float) \
            else str(value).strip()
        if text not in predictor.classes:
            raise RequestError(422, f"{where}unknown class {text!r} (classes: "
                               f"{', '.join(predictor.classes[:10])})")
        return text
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RequestError(422, f"{where}'outcome' {value!r} is not a number") from None
    if not math.isfinite(number):
        raise RequestError(422, f"{where}'outcome' is not a finite number")
    return number
