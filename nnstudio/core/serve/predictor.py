"""The request → prediction path on a :class:`~nnstudio.core.io.TrainedModel`.

:class:`Predictor` turns checked raw rows into predictions in the user's terms::

    classification  {"class": "spam", "probabilities": {"ham": 0.08, "spam": 0.92}}
    regression      {"price": 351200.0}            (one key per target, in its units)

and describes the model for ``GET /model`` (:meth:`Predictor.schema`). The fingerprint
(:func:`fingerprint`) identifies the exact weights and preparation; the log stores it with
every prediction so rows from different models are never mixed up.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np

from nnstudio.core.errors import NNStudioError
from nnstudio.core.io.jsonfmt import finite_json
from nnstudio.core.io.model_file import TrainedModel, model_arrays

from .validate import (
    Limits,
    RequestError,
    RowChecker,
    check_content_type,
    parse_json,
    split_rows,
)


def fingerprint(model: TrainedModel) -> str:
    """First 16 hex digits of the SHA-256 of every entry of the model file (names, dtypes,
    shapes, bytes; sorted). The same weights and preparation give the same fingerprint
    whether the model came from a file or from the GUI's session."""
    h = hashlib.sha256()
    for key, arr in sorted(model_arrays(model).items()):
        if key == "reference":  # a summary of the data, not part of what predicts
            continue
        a = np.ascontiguousarray(arr)
        h.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


class ArrayChecker:
    """Checks rows of an array model: ``{"<name>": nested list of sample_shape numbers}``."""

    def __init__(self, name: str, sample_shape: tuple[int, ...]):
        self.name = name
        self.shape = tuple(sample_shape)

    def clean(self, rows: list[dict]) -> np.ndarray:
        out = np.empty((len(rows), *self.shape), np.float64)
        for i, row in enumerate(rows):
            where = f"row {i + 1}, column {self.name!r}" if len(rows) > 1 else \
                f"column {self.name!r}"
            if self.name not in row:
                raise RequestError(422, f"{where}: the column is missing")
            try:
                a = np.asarray(row[self.name], np.float64)
            except (TypeError, ValueError):
                raise RequestError(422, f"{where}: wrong type, expected nested lists of "
                                   f"numbers of shape {self.shape}") from None
            if a.shape != self.shape:
                raise RequestError(422, f"{where}: shape {a.shape}, the model expects "
                                   f"{self.shape}")
            if not np.isfinite(a).all():
                raise RequestError(422, f"{where}: holds a value that is not a finite number")
            out[i] = a
        return out


class Predictor:
    """Prediction for a server, the CLI and tests: checked rows in, JSON-able outputs out.

    Parameters
    ----------
    model : TrainedModel
    limits : Limits
        Request size limits (used by :meth:`rows_from_payload`).
    """

    def __init__(self, model: TrainedModel, limits: Limits | None = None):
        from .media import MEDIA_MAX_BODY, MediaInput

        self.model = model
        prep = model.preparation
        if prep is None:
            raise NNStudioError("the model has no data preparation, so raw rows cannot be "
                                "served: save it from a trained project")
        media = getattr(prep, "media", None)
        self.limits = limits or (Limits(max_body_bytes=MEDIA_MAX_BODY) if media else Limits())
        self.fingerprint = fingerprint(model)
        #: Image/sound models: reads uploads (multipart or base64 JSON), see :mod:`.media`.
        self.media: MediaInput | None = MediaInput(media, self.limits) if media else None
        #: The text column (or corpus) the model reads, if any.
        self.text = getattr(prep, "text", None)
        if prep.array is not None:
            self.checker: Any = ArrayChecker(prep.array["name"], tuple(prep.array["sample_shape"]))
        else:
            self.checker = RowChecker(prep.features,
                                      self.text.column if self.text is not None else None)
        self.task = model.task
        self.targets = model.target_names
        self.classes = list(model.class_names)

    # -- predicting ------------------------------------------------------------------------
    def rows_from_payload(self, payload: Any) -> tuple[list[dict], bool]:
        """``(rows, single)`` of a parsed JSON body (4xx :class:`RequestError` if bad)."""
        return split_rows(payload, self.limits)

    @property
    def language_model(self) -> bool:
        return self.task == "language_model"

    def read_request(self, content_type: str | None, body: bytes,
                     ) -> tuple[Any, list[dict], bool]:
        """``(inputs, logged, single)`` of a ``/predict`` body: what :meth:`predict_inputs`
        takes, what the log keeps per row, and whether one row was sent (4xx if bad)."""
        if self.language_model:
            raise RequestError(404, "this model is a language model: POST /generate with "
                               "{\"prompt\": \"...\"}")
        if self.media is not None:
            uploads, single = self.media.uploads(content_type, body)
            raw, logged = self.media.decode(uploads)
            return raw, logged, single
        check_content_type(content_type)
        rows, single = self.rows_from_payload(parse_json(body))
        return rows, rows, single

    def predict_inputs(self, inputs: Any) -> list[dict[str, Any]]:
        """Predictions for what :meth:`read_request` returned."""
        if self.media is not None:
            with np.errstate(all="ignore"):
                return self.outputs(self.model.predict_prepared(self.model.prepare(inputs)))
        return self.predict_rows(inputs)

    def predict_rows(self, rows: list[dict]) -> list[dict[str, Any]]:
        """Predictions (one dict per row, see the module docstring) for raw rows.

        Raises :class:`RequestError` (422) for a row the model cannot read.
        """
        clean = self.checker.clean(rows)
        try:
            x = self.model.prepare(clean)
            with np.errstate(all="ignore"):
                pred = self.model.predict_prepared(x)
        except NNStudioError as e:  # the preparation's own checks (should not happen)
            raise RequestError(422, str(e)) from None
        return self.outputs(pred)

    def outputs(self, pred: Any) -> list[dict[str, Any]]:
        """JSON-able outputs of a :class:`~nnstudio.core.io.model_file.Predictions`; a
        network with several outputs gives ``{target: number or {"class", "probabilities"}}``
        per row."""
        if pred.outputs is not None:
            per = {t: self.outputs(p) for t, p in pred.outputs.items()}
            return [{t: (rows[i] if "class" in rows[i] else rows[i][t])
                     for t, rows in per.items()} for i in range(len(pred))]
        if pred.probabilities is not None:
            names = pred.class_names
            probs = np.asarray(pred.probabilities, np.float64)
            return [{"class": str(v), "probabilities": {c: _num(p) for c, p in
                                                        zip(names, row, strict=True)}}
                    for v, row in zip(pred.values.tolist(), probs.tolist(), strict=True)]
        vals = np.asarray(pred.values, np.float64).reshape(len(pred.values), -1)
        return [{t: _num(v) for t, v in zip(pred.target_names, row, strict=True)}
                for row in vals.tolist()]

    @staticmethod
    def headline(output: dict[str, Any]) -> Any:
        """The single value a log row keeps for quick queries: the class, or the first
        target's value."""
        if "class" in output:
            return output["class"]
        first = next(iter(output.values()))
        return first["class"] if isinstance(first, dict) else first

    # -- generating ------------------------------------------------------------------------
    def generate(self, payload: Any) -> dict[str, Any]:
        """``POST /generate`` of a language model: ``{"prompt": str, "length": int,
        "temperature": float, "top_k": int, "seed": int}`` → ``{"text": continuation,
        "tokens": n}``; the same sampler as ``nnstudio generate``."""
        from nnstudio.core.data.text import MAX_TEXT_CHARS
        from nnstudio.core.io.generate import generate

        if not self.language_model:
            raise RequestError(404, "only a language model generates text; this model "
                               f"({self.task}) answers POST /predict")
        if not isinstance(payload, dict):
            raise RequestError(422, "send {\"prompt\": \"...\", \"length\": 50}")
        unknown = sorted(set(payload) - {"prompt", "length", "temperature", "top_k", "seed"})
        if unknown:
            raise RequestError(422, f"unknown field(s) {', '.join(unknown)} (fields: prompt, "
                               "length, temperature, top_k, seed)")
        prompt = payload.get("prompt")
        if not isinstance(prompt, str):
            raise RequestError(422, "'prompt' is missing or not a text (a JSON string)",
                               "wrong_type", "prompt")
        if len(prompt) > MAX_TEXT_CHARS:
            raise RequestError(422, f"'prompt' has {len(prompt):,} characters; at most "
                               f"{MAX_TEXT_CHARS:,}", "text_too_long", "prompt")
        length = _whole(payload.get("length", min(50, self.limits.max_tokens)), "length", 1,
                        self.limits.max_tokens)
        top_k = _whole(payload.get("top_k", 0), "top_k", 0, 1_000_000)
        seed = payload.get("seed")
        if seed is not None:
            seed = _whole(seed, "seed", 0, 2**63 - 1)
        temp = payload.get("temperature", 1.0)
        if isinstance(temp, bool) or not isinstance(temp, int | float) or \
                not (math.isfinite(temp) and 0.01 <= temp <= 10):
            raise RequestError(422, f"'temperature' must be a number from 0.01 to 10 (got "
                               f"{temp!r})")
        try:
            with np.errstate(all="ignore"):
                gen = generate(self.model, prompt, length, float(temp), top_k, seed)
        except NNStudioError as e:
            raise RequestError(422, e.message) from None
        return {"prompt": prompt, "text": gen.text, "tokens": len(gen.ids)}

    # -- describing ------------------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        """``GET /model``: inputs (types, categories, ranges seen in training), outputs,
        classes, metrics and fingerprint."""
        m = self.model
        prep = m.preparation
        inputs = []
        if self.media is not None:
            inputs.append(self.media.schema())
        infos = [] if self.media is not None or self.language_model else prep.feature_info()
        if self.language_model:
            inputs.append({"name": "prompt", **self._text_schema(), "endpoint": "/generate"})
        for info in infos:
            item: dict[str, Any] = {"name": info["name"]}
            if info["kind"] == "text":
                item.update(self._text_schema(), missing_allowed=True)
                inputs.append(item)
                continue
            if info["kind"] == "array":
                item.update(type="array", shape=list(info["shape"]))
            elif info["kind"] == "categorical":
                item.update(type="category", categories=list(info["categories"] or []))
            else:
                item.update(type="date" if info.get("date") else "number",
                            mean=info.get("mean"), min=info.get("min"), max=info.get("max"))
            fills = next((f.get("fill") is not None for f in prep.features
                          if f["name"] == info["name"]), False)
            item["missing_allowed"] = bool(fills)
            inputs.append(item)
        out: dict[str, Any] = {
            "fingerprint": self.fingerprint,
            "task": self.task,
            "inputs": inputs,
            "limits": {"max_body_bytes": self.limits.max_body_bytes,
                       "max_rows": self.limits.max_rows},
            "metrics": m.summary.get("metrics", {}),
            "trained_at": m.summary.get("trained_at"),
        }
        if self.media is not None:
            out["limits"]["max_files"] = self.limits.max_rows
        if self.task == "classification":
            out["classes"] = self.classes
            out["output"] = {"class": "one of classes", "probabilities": "class → probability"}
        elif self.language_model:
            out["limits"]["max_tokens"] = self.limits.max_tokens
            out["output"] = {"text": "the continuation", "tokens": "how many tokens"}
            out["window"] = int(m.input_shape[0])
        elif m.heads is not None:  # several outputs
            out["targets"] = self.targets
            out["output"] = {
                h["target"]: ({"class": "one of " + ", ".join(h["class_names"]),
                               "probabilities": "class → probability"}
                              if h["task"] == "classification"
                              else "number, in the target's units")
                for h in m.preparation.heads}
        else:
            out["targets"] = self.targets
            out["output"] = {t: "number, in the target's units" for t in self.targets}
        return finite_json(out)

    def curl(self, url: str) -> str:
        """A ``curl`` command that fits the model: a JSON row (with its text field), a file
        upload for an image or sound model (``-F file=@cat.png``), a prompt for a language
        model (``/generate``)."""
        if self.media is not None:
            return f"curl -s {url}/predict -F file=@{self.media.example_name()}"
        body = json.dumps(self.example_row(), ensure_ascii=False).replace("'", "'\\''")
        endpoint = "generate" if self.language_model else "predict"
        return (f"curl -s {url}/{endpoint} -H 'Content-Type: application/json' "
                f"-d '{body}'")

    def _text_schema(self) -> dict[str, Any]:
        from nnstudio.core.data.text import MAX_TEXT_CHARS

        t = self.text
        item: dict[str, Any] = {"type": "text", "kind": "text", "encoding": t.encoding,
                                "tokens": t.options["tokens"], "vocabulary": len(t.vocab) - 2,
                                "max_length": MAX_TEXT_CHARS,
                                "lowercase": t.options["lowercase"]}
        if t.encoding == "sequence":
            item["sequence_length"] = t.options["length"]
        return item

    def example_row(self) -> dict[str, Any]:
        """A valid row (training means, first categories) for docs and the curl example."""
        prep = self.model.preparation
        if self.language_model:
            return {"prompt": " ".join(self.text.vocab.tokens[2:5]) if
                    self.text.options["tokens"] == "word" else "".join(
                        self.text.vocab.tokens[2:8]), "length": 50, "temperature": 0.8}
        if self.media is not None:
            return {self.media.kind: "<base64 of the file>"}
        if prep.array is not None:
            return {prep.array["name"]: np.zeros(prep.array["sample_shape"]).tolist()}
        row: dict[str, Any] = {}
        for f in prep.features:
            if f["kind"] == "categorical":
                row[f["name"]] = (f.get("categories") or [""])[0]
            elif f["kind"] == "date":
                row[f["name"]] = "2024-01-01"
            else:
                row[f["name"]] = _round_sig(f.get("mean", 0.0))
        if self.text is not None:
            sep = " " if self.text.options["tokens"] == "word" else ""
            row[self.text.column] = sep.join(self.text.vocab.tokens[2:6])
        return row


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(422, f"'{name}' must be a whole number from {low:,} to {high:,} "
                           f"(got {value!r})")
    return value


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _round_sig(v: float, digits: int = 4) -> float:
    if not v or not math.isfinite(v):
        return 0.0
    return float(f"{v:.{digits}g}")


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON (never NaN)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
