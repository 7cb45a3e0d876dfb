"""Image and sound requests: uploads → decoded samples (the training decoder), and their log.

An image or sound model takes, on ``POST /predict``, either

* ``multipart/form-data`` with one file part per sample (``curl -F file=@cat.png``); other
  (text) fields are kept in the log next to each sample; or
* JSON with the file's bytes in base64 under the media kind's name: ``{"image": "<base64>"}``
  (a ``data:image/png;base64,`` prefix is accepted), a batch ``{"rows": [{"image": ...}, ...]}``
  or a list of such objects; other keys are kept in the log.

Each file is decoded in memory (never written to disk) with the model's own decoder and
options — Pillow with the same size, colour and filter as training, or soundfile with the
same rate, duration and log-mel settings (:func:`~nnstudio.core.data.media_dataset.decoder_for`)
— so the server predicts exactly what ``nnstudio predict`` predicts for the same file.

The log keeps, per sample, a summary instead of the file (:mod:`nnstudio.core.monitor.samples`):
its SHA-256 and byte size (to find the file again in the user's own storage), the header's
format and pixel size, the decoded shape and the statistics monitoring compares (brightness,
contrast, colour; duration, loudness, spectrum). Files are not stored: a log of a busy image
service would grow by gigabytes, and the uploads may be private.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

import numpy as np

from .validate import Limits, RequestError, parse_json, split_rows

#: Default largest body for an image or sound model (a phone photo in base64 fits).
MEDIA_MAX_BODY = 20_000_000


@dataclass
class Upload:
    """One uploaded file: its bytes, the name it was sent with, and other fields."""

    data: bytes
    name: str
    extra: dict[str, Any]


def parse_multipart(body: bytes, content_type: str, max_parts: int) -> tuple[list[Upload],
                                                                            dict[str, str]]:
    """``(files, text_fields)`` of a ``multipart/form-data`` body, in memory.

    Uses python-multipart's streaming parser directly (Starlette's form parser spools large
    files to temporary files; a model server writes nowhere but its log).
    """
    try:
        from python_multipart.exceptions import MultipartParseError
        from python_multipart.multipart import MultipartParser, parse_options_header
    except ImportError:  # a trimmed installation: base64 JSON still works
        raise RequestError(415, "this server cannot read multipart uploads (python-multipart "
                           "is not installed): send JSON {\"<kind>\": \"<base64>\"}") from None

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise RequestError(400, "the multipart body has no boundary in its Content-Type")
    parts: list[dict[str, Any]] = []
    cur: dict[str, Any] = {}
    field, value = bytearray(), bytearray()

    def part_begin() -> None:
        cur.clear()
        cur.update(headers={}, data=bytearray())

    def header_field(data: bytes, start: int, end: int) -> None:
        field.extend(data[start:end])

    def header_value(data: bytes, start: int, end: int) -> None:
        value.extend(data[start:end])

    def header_end() -> None:
        cur["headers"][bytes(field).decode("latin-1").lower()] = bytes(value)
        field.clear()
        value.clear()

    def part_data(data: bytes, start: int, end: int) -> None:
        cur["data"].extend(data[start:end])

    def part_end() -> None:
        parts.append(dict(cur))
        if len(parts) > max_parts + 20:
            raise RequestError(413, f"the form has over {max_parts:,} parts; this server takes "
                               f"at most {max_parts:,} files per request")

    parser = MultipartParser(boundary, {
        "on_part_begin": part_begin, "on_header_field": header_field,
        "on_header_value": header_value, "on_header_end": header_end,
        "on_part_data": part_data, "on_part_end": part_end})
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as e:
        raise RequestError(400, f"malformed multipart body ({str(e).splitlines()[0][:120]})"
                           ) from None
    files, fields = [], {}
    for p in parts:
        _, disp = parse_options_header(p["headers"].get("content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        if filename is None and "content-type" not in p["headers"]:
            fields[name] = bytes(p["data"]).decode("utf-8", "replace")[:1000]
            continue
        shown = (filename or name.encode()).decode("utf-8", "replace") or name
        files.append(Upload(bytes(p["data"]), shown, {}))
    return files, fields


def _b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise RequestError(422, f"{where}: expected the file's bytes as base64 text")
    text = value.strip()
    if text.startswith("data:"):
        head, _, text = text.partition(",")
        if ";base64" not in head:
            raise RequestError(422, f"{where}: a data: URL must be base64 (data:...;base64,)")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(422, f"{where}: not valid base64") from None


class MediaInput:
    """Reads image/sound requests for a model whose preparation has ``media``.

    Parameters
    ----------
    media : dict
        ``Preparation.media`` (kind and decoding options).
    limits : Limits
    """

    def __init__(self, media: dict, limits: Limits):
        from nnstudio.core.data.media_dataset import decoder_for

        self.media = dict(media)
        self.kind = media["kind"]
        self.limits = limits
        _, self.shape, self.dtype = decoder_for(self.media)
        if self.kind == "sound":
            from nnstudio.core.data.audio import AudioOptions

            self.opts = AudioOptions.from_dict({k: v for k, v in media.items()
                                                if k not in ("kind", "augment")})

    # -- requests -> uploads -------------------------------------------------------------------
    def uploads(self, content_type: str | None, body: bytes) -> tuple[list[Upload], bool]:
        """``(uploads, single)`` of a request body (4xx :class:`RequestError` if bad)."""
        media = (content_type or "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            files, fields = parse_multipart(body, content_type or "", self.limits.max_rows)
            if not files:
                raise RequestError(422, f"the form holds no file: send the {self.kind} as a "
                                   f"file field (curl -F file=@{self.example_name()})")
            if len(files) > self.limits.max_rows:
                raise RequestError(413, f"{len(files):,} files; this server takes at most "
                                   f"{self.limits.max_rows:,} per request")
            for f in files:
                f.extra = dict(fields)
            return files, len(files) == 1
        if media != "application/json" and not media.endswith("+json"):
            shown = media or "none"
            raise RequestError(415, f"content type {shown!r} is not supported: send the "
                               f"{self.kind} as multipart/form-data (a file field) or JSON "
                               f"{{\"{self.kind}\": \"<base64>\"}}")
        rows, single = split_rows(parse_json(body), self.limits)
        out = []
        for i, row in enumerate(rows):
            where = f"row {i + 1}, {self.kind!r}" if len(rows) > 1 else repr(self.kind)
            if self.kind not in row:
                raise RequestError(422, f"{where}: missing; send {{\"{self.kind}\": "
                                   "\"<base64 of the file>\"}}", "missing_column", self.kind)
            extra = {k: v for k, v in row.items() if k != self.kind}
            out.append(Upload(_b64(row[self.kind], where), f"{self.kind} {i + 1}", extra))
        return out, single

    def example_name(self) -> str:
        return "cat.png" if self.kind == "image" else "clip.wav"

    # -- uploads -> samples ----------------------------------------------------------------------
    def decode(self, uploads: list[Upload]) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """``(raw (N, *sample_shape), logged inputs)``: each file decoded as in training;
        a file that cannot be used is a 4xx naming it."""
        from nnstudio.core.data.images import SkipFile

        raw = np.empty((len(uploads), *self.shape), self.dtype)
        logged = []
        for i, up in enumerate(uploads):
            where = f"file {up.name!r}" if len(uploads) == 1 else \
                f"file {i + 1} ({up.name!r})"
            if not up.data:
                raise RequestError(422, f"{where}: the file is empty (0 bytes)", "empty_file",
                                   self.kind)
            try:
                raw[i], summary = self._decode_one(up.data)
            except SkipFile as e:
                reason = str(e)
                status = 415 if reason.startswith("not ") else \
                    413 if reason.startswith("too ") else 422
                kind = {415: "not_media", 413: "too_large"}.get(status, "bad_file")
                raise RequestError(status, f"{where}: {reason}", kind, self.kind) from None
            logged.append({self.kind: summary, **up.extra})
        return raw, logged

    def _decode_one(self, data: bytes) -> tuple[np.ndarray, dict[str, Any]]:
        from nnstudio.core.data.images import SkipFile, decode_image

        from ..monitor.samples import (
            decode_sound_with_stats,
            image_header,
            image_summary,
            sound_summary,
        )

        if self.kind == "image":
            m = self.media
            arr = decode_image(io.BytesIO(data), tuple(m["size"]), m["color"], m["filter"])
            try:
                w, h, fmt = image_header(io.BytesIO(data))
            except Exception:  # decode_image read it: only a header quirk left
                raise SkipFile("the image header cannot be read") from None
            return arr, image_summary(data, arr, w, h, fmt)
        spec, stats = decode_sound_with_stats(io.BytesIO(data), self.opts)
        return spec, sound_summary(data, spec, stats)

    def schema(self) -> dict[str, Any]:
        """The ``inputs`` entry of ``GET /model``."""
        item: dict[str, Any] = {"name": self.kind, "type": self.kind,
                                "upload": ["multipart/form-data (a file field)",
                                           f"application/json {{\"{self.kind}\": \"<base64>\"}}"],
                                "decoded_shape": list(self.shape)}
        if self.kind == "image":
            from nnstudio.core.data.images import IMAGE_EXTENSIONS, MAX_PIXELS

            item.update(size=list(self.media["size"]), color=self.media["color"],
                        resize_filter=self.media["filter"], max_pixels=MAX_PIXELS,
                        formats=sorted(e.lstrip(".") for e in IMAGE_EXTENSIONS))
        else:
            from nnstudio.core.data.audio import AUDIO_EXTENSIONS

            o = self.opts
            item.update(rate=o.rate, duration_s=o.duration, max_seconds=o.max_seconds,
                        mels=o.mels, window_ms=o.window_ms, hop_ms=o.hop_ms, layout=o.layout,
                        formats=sorted(e.lstrip(".") for e in AUDIO_EXTENSIONS))
        return item
