"""The OpenAPI 3.1 description of a served model (built from its input schema)."""

from __future__ import annotations

from typing import Any

from nnstudio import __version__


def _row_schema(predictor: Any) -> dict[str, Any]:
    props: dict[str, Any] = {}
    required = []
    for item in predictor.schema()["inputs"]:
        name = item["name"]
        if item["type"] == "category":
            s: dict[str, Any] = {"type": "string", "enum": item["categories"]}
        elif item["type"] == "number":
            s = {"type": ["number", "string"], "description": f"training range {item['min']}"
                 f" to {item['max']}"}
        elif item["type"] == "date":
            s = {"type": "string", "format": "date"}
        elif item["type"] == "text":
            s = {"type": "string", "maxLength": item["max_length"],
                 "description": f"free text ({item['encoding']} of {item['tokens']} tokens)"}
        elif item["type"] in ("image", "sound"):
            s = {"type": "string", "contentEncoding": "base64",
                 "description": f"the {item['type']} file's bytes in base64 (or upload it as "
                 "multipart/form-data)"}
        else:
            s = {"type": "array", "description": f"nested lists of shape {item['shape']}"}
        if item.get("missing_allowed"):
            s = {"anyOf": [s, {"type": "null"}]}
        props[name] = s
        required.append(name)
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": True}


def _output_schema(predictor: Any) -> dict[str, Any]:
    if predictor.task == "classification":
        return {"type": "object", "properties": {
            "class": {"type": "string", "enum": predictor.classes},
            "probabilities": {"type": "object", "additionalProperties": {"type": "number"}}}}
    return {"type": "object", "properties": {t: {"type": "number"} for t in predictor.targets}}


def openapi_spec(predictor: Any) -> dict[str, Any]:
    """The OpenAPI document (a dict) of ``predictor``'s API."""
    error = {"description": "bad request (one-line message)", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
    errors = {str(s): error for s in (400, 404, 409, 413, 415, 422)}
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "nnstudio model server", "version": __version__,
                 "description": f"Model {predictor.fingerprint} ({predictor.task})."},
        "paths": {
            "/health": {"get": {"summary": "Liveness and counters", "responses": {
                "200": {"description": "ok"}}}},
            "/model": {"get": {"summary": "Input schema, classes, metrics, fingerprint",
                               "responses": {"200": {"description": "the schema"}}}},
            "/predict": {"post": {
                "summary": "Predict one row or a batch",
                "parameters": [{"name": "X-Request-ID", "in": "header", "required": False,
                                "schema": {"type": "string",
                                           "pattern": "^[A-Za-z0-9._:-]{1,64}$"}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"oneOf": [
                        {"$ref": "#/components/schemas/Row"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/Row"},
                         "maxItems": predictor.limits.max_rows},
                        {"type": "object", "required": ["rows"], "properties": {"rows": {
                            "type": "array", "items": {"$ref": "#/components/schemas/Row"},
                            "maxItems": predictor.limits.max_rows}}}]},
                    "example": predictor.example_row()}}},
                "responses": {"200": {"description": "predictions", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "request_id": {"type": "string"}, "model": {"type": "string"},
                        "prediction": {"$ref": "#/components/schemas/Output"},
                        "predictions": {"type": "array", "items": {
                            "$ref": "#/components/schemas/Output"}}}}}}}, **errors}}},
            "/generate": {"post": {
                "summary": "Continue a prompt (language models only)",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Generate"}}}},
                "responses": {"200": {"description": "the continuation"}, **errors}}},
            "/feedback": {"post": {
                "summary": "Record the true outcome of a served prediction",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "request_id": {"type": "string"}, "row": {"type": "integer"},
                        "outcome": {"type": ["string", "number"]},
                        "outcomes": {"type": "array"}}}}}},
                "responses": {"200": {"description": "recorded"}, **errors}}},
        },
        "components": {"schemas": {
            "Generate": {"type": "object", "required": ["prompt"], "properties": {
                "prompt": {"type": "string"}, "length": {
                    "type": "integer", "minimum": 1, "maximum": predictor.limits.max_tokens},
                "temperature": {"type": "number", "minimum": 0.01, "maximum": 10},
                "top_k": {"type": "integer", "minimum": 0}, "seed": {"type": "integer"}}},
            "Row": _row_schema(predictor),
            "Output": _output_schema(predictor),
            "Error": {"type": "object", "properties": {"error": {"type": "string"},
                                                       "request_id": {"type": "string"}}},
        }},
    }
    if predictor.media is not None:
        spec["paths"]["/predict"]["post"]["requestBody"]["content"]["multipart/form-data"] = {
            "schema": {"type": "object", "properties": {
                "file": {"type": "string", "format": "binary"}}}}
    return spec
