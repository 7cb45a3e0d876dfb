"""A plain UTF-8 text file as next-token examples for a language model.

The text is normalised (NFKC; lowercase only when asked) and tokenised (characters or words,
see :mod:`.text`), then cut into three **contiguous blocks** — the first 90 % of the tokens
for training, the next 5 % for validation, the last 5 % for testing — so no window of one
split overlaps another (shuffled windows of one stream would leak). The vocabulary comes from
the training block; a token first seen later is ``<unk>`` (id 1).

Within each block, windows of ``window + 1`` tokens start every ``stride`` tokens: the input
is the first ``window`` ids ``x (N, T)`` (float32, what the network's Input carries) and the
target the same window shifted by one, ``y (N, T)`` int64 — one next-token target per
position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from .text import TextPreparation, Vocabulary, normalize, tokenize

CORPUS_DEFAULTS: dict[str, Any] = {"tokens": "char", "window": 64, "stride": 0,
                                   "lowercase": False, "max_size": 20_000, "min_count": 1}
SPLIT = (0.9, 0.05, 0.05)
#: Largest corpus read (bytes): far more than a CPU-trained tiny model can use.
MAX_CORPUS_BYTES = 200 * 2**20


def check_corpus_options(options: dict[str, Any] | None,
                         where: str = "dataset.corpus") -> dict[str, Any]:
    out = {**CORPUS_DEFAULTS, **(options or {})}
    unknown = sorted(set(out) - set(CORPUS_DEFAULTS))
    if unknown:
        raise DataError(f"unknown corpus option(s) {', '.join(unknown)} (options: "
                        f"{', '.join(CORPUS_DEFAULTS)})", where=where)
    if out["tokens"] not in ("char", "word"):
        raise DataError(f"tokens must be char or word (got {out['tokens']!r})", where=where)
    for key, low in (("window", 2), ("stride", 0), ("max_size", 2), ("min_count", 1)):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise DataError(f"{key} must be a whole number ≥ {low} (got {v!r})", where=where)
    if not isinstance(out["lowercase"], bool):
        raise DataError("lowercase must be true or false", where=where)
    return out


def read_text(path: str | Path) -> str:
    """The file's text; :class:`DataError` for a missing, huge, binary or non-UTF-8 file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_CORPUS_BYTES:
            raise DataError(f"the corpus is {size / 2**20:,.0f} MB; at most "
                            f"{MAX_CORPUS_BYTES // 2**20} MB is read", where=str(path))
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot be read ({e.strerror or e})", where=str(path)) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"is not valid UTF-8: byte 0x{raw[e.start]:02x} at offset {e.start:,} (line "
            f"{line}) cannot be decoded; save the file as UTF-8",
            where=str(path),
        ) from None
    if "\x00" in text:
        raise DataError("holds NUL bytes: it is a binary file, not text", where=str(path))
    return text.replace("\r\n", "\n")


def corpus_tokens(text: str, opts: dict[str, Any]) -> list[str]:
    return tokenize(normalize(text, opts["lowercase"], False), opts["tokens"])


def fit_corpus(text: str, options: dict[str, Any] | None, where: str):
    """``(TextPreparation, ids per split {"train", "validation", "test"})``."""
    opts = check_corpus_options(options)
    toks = corpus_tokens(text, opts)
    n = len(toks)
    t = opts["window"]
    cut1, cut2 = int(n * SPLIT[0]), int(n * (SPLIT[0] + SPLIT[1]))
    blocks = {"train": toks[:cut1], "validation": toks[cut1:cut2], "test": toks[cut2:]}
    for name, block in blocks.items():
        if len(block) < t + 1:
            need = int(np.ceil((t + 1) / (SPLIT[1] if name != "train" else SPLIT[0])))
            part = {"train": "first 90", "validation": "next 5",
                    "test": "last 5"}[name]
            raise DataError(
                f"the corpus has {n:,} {opts['tokens']} tokens: its {name} part (the "
                f"{part} %) has {len(block):,}, shorter than one window of {t} + 1; use a "
                f"text of at least {need:,} tokens or a shorter window",
                where=where,
            )
    vocab = Vocabulary.fit([blocks["train"]], opts["max_size"], opts["min_count"], where)
    text_opts = {"encoding": "sequence", "tokens": opts["tokens"], "lowercase": opts["lowercase"],
                 "strip_punctuation": False, "max_size": opts["max_size"],
                 "min_count": opts["min_count"], "length": t}
    prep = TextPreparation(Path(where).name or "text", text_opts, vocab.tokens[2:])
    prep.options["corpus"] = {"window": t, "stride": opts["stride"] or max(t // 2, 1)}
    ids = {k: np.asarray(vocab.encode(v), np.int64) for k, v in blocks.items()}
    return prep, ids


def windows(ids: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """``x (N, window)`` float32 and ``y (N, window)`` int64 next-token targets."""
    starts = np.arange(0, len(ids) - window, stride)
    idx = starts[:, None] + np.arange(window + 1)[None]
    w = ids[idx]
    return w[:, :-1].astype(np.float32), np.ascontiguousarray(w[:, 1:])
