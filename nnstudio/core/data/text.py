"""Free text as network input: normalisation, tokens, a vocabulary fitted on the train split,
and the two encodings (a bag-of-words / TF-IDF vector, or token-id sequences).

A :class:`TextPreparation` is plain JSON (``to_dict``/``from_dict``) stored in the model file
inside the :class:`~.preparation.Preparation`, so prediction, the standalone export and the
sampler replay exactly the training steps:

1. **normalise**: Unicode NFKC, then lowercase (option), then punctuation removed (option:
   every character whose Unicode category starts with ``P`` or ``S`` becomes a space);
2. **tokenise**: ``word`` — runs of letters/digits (``\\w+``), and each punctuation mark as a
   token of its own when it is kept; ``char`` — every character, spaces included;
3. **vocabulary** fitted on the train rows only: tokens seen at least ``min_count`` times,
   the ``max_size`` most frequent (ties by first appearance), after the two reserved ids
   ``0 = <pad>`` and ``1 = <unk>`` (any token outside the vocabulary);
4. **encode**: ``bag`` — counts of each vocabulary token per text divided by the text's
   token count (``(N, V)``, the padding/unknown columns left out); ``tfidf`` — the same term
   frequencies times ``idf = ln((1 + n) / (1 + df)) + 1`` (train rows), each row scaled to
   unit length; ``sequence`` — token ids ``(N, length)``, cut after ``length`` tokens and
   right-padded with 0.

Bag and TF-IDF vectors are concatenated after the other (numeric/categorical) features of the
row; a token sequence is the whole input of its network (an Embedding reads it), so it is not
mixed with other columns.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

PAD, UNK = "<pad>", "<unk>"
ENCODINGS = ("bag", "tfidf", "sequence")
TOKENS = ("word", "char")
#: Longest text accepted in one cell or prompt (characters).
MAX_TEXT_CHARS = 100_000
_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)

DEFAULTS: dict[str, Any] = {
    "encoding": "tfidf", "tokens": "word", "lowercase": True, "strip_punctuation": False,
    "max_size": 20_000, "min_count": 1, "length": 64,
}


def check_options(options: dict[str, Any], where: str = "dataset.text") -> dict[str, Any]:
    """Complete ``options`` with :data:`DEFAULTS` and check them; :class:`DataError`."""
    out = {**DEFAULTS, **{k: v for k, v in options.items() if k not in ("columns", "corpus")}}
    unknown = sorted(set(out) - set(DEFAULTS))
    if unknown:
        raise DataError(f"unknown text option(s) {', '.join(unknown)} (options: "
                        f"{', '.join(DEFAULTS)}, columns)", where=where)
    if out["encoding"] not in ENCODINGS:
        raise DataError(f"encoding must be one of {', '.join(ENCODINGS)} (got "
                        f"{out['encoding']!r})", where=where)
    if out["tokens"] not in TOKENS:
        raise DataError(f"tokens must be word or char (got {out['tokens']!r})", where=where)
    for key, low in (("max_size", 1), ("min_count", 1), ("length", 1)):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise DataError(f"{key} must be a whole number ≥ {low} (got {v!r})", where=where)
    for key in ("lowercase", "strip_punctuation"):
        if not isinstance(out[key], bool):
            raise DataError(f"{key} must be true or false (got {out[key]!r})", where=where)
    if isinstance(options.get("corpus"), dict):  # a corpus' window and stride (corpus.py)
        out["corpus"] = dict(options["corpus"])
    return out


def normalize(text: str, lowercase: bool = True, strip_punctuation: bool = False) -> str:
    """NFKC, then lowercase and punctuation/symbols → spaces as asked."""
    text = unicodedata.normalize("NFKC", text)
    if lowercase:
        text = text.lower()
    if strip_punctuation:
        text = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return text


def tokenize(text: str, tokens: str) -> list[str]:
    """Word tokens (``\\w+`` runs and single punctuation marks) or characters."""
    return list(text) if tokens == "char" else _WORD.findall(text)


def check_text(text: str, where: str) -> None:
    """Refuse a text too long to be one sample (a whole file pasted into one cell)."""
    if len(text) > MAX_TEXT_CHARS:
        raise DataError(
            f"a text of {len(text):,} characters is longer than the {MAX_TEXT_CHARS:,} a "
            "sample may hold: split it into shorter texts (one per row), or use a text "
            "corpus (.txt) for long running text",
            where=where,
        )


class Vocabulary:
    """Token ↔ id; ids 0 and 1 are ``<pad>`` and ``<unk>``."""

    def __init__(self, tokens: Sequence[str]):
        self.tokens = [PAD, UNK, *tokens]
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def fit(cls, token_lists: Iterable[Sequence[str]], max_size: int, min_count: int,
            where: str) -> Vocabulary:
        counts: Counter[str] = Counter()
        for toks in token_lists:
            counts.update(toks)
        # Most frequent first; ties keep first appearance (Counter preserves insertion order).
        kept = [t for t, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_count]
        kept = kept[:max_size]
        if len(kept) < 2:
            what = f"only one distinct token ({kept[0]!r})" if kept else "no tokens at all"
            raise DataError(
                f"the training text has {what} (min count {min_count}): a vocabulary needs "
                "at least two tokens — check the text column, or lower the minimum count",
                where=where,
            )
        return cls(kept)

    def encode(self, toks: Sequence[str]) -> list[int]:
        get = self.index.get
        return [get(t, 1) for t in toks]

    def decode(self, ids: Iterable[int], sep: str = "") -> str:
        toks = self.tokens
        return sep.join(toks[i] for i in ids if 1 < i < len(toks))


class TextPreparation:
    """A fitted text column (or corpus): options, vocabulary and, for TF-IDF, the idf.

    Attributes
    ----------
    column : str
        The text column (or the corpus file's name).
    options : dict
        See :data:`DEFAULTS`.
    vocab : Vocabulary
    idf : float64 ndarray (V,) or None
    """

    def __init__(self, column: str, options: dict[str, Any], tokens: Sequence[str],
                 idf: Sequence[float] | None = None):
        self.column = column
        self.options = dict(options)
        self.vocab = Vocabulary(tokens)
        self.idf = None if idf is None else np.asarray(idf, np.float64)

    # -- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(cls, texts: Sequence[str], column: str, options: dict[str, Any],
            where: str = "") -> TextPreparation:
        """Fit on the train rows' ``texts``; :class:`DataError` when there is nothing to
        learn from."""
        opts = check_options(options)
        where = where or f"column {column!r}"
        if not any(t.strip() for t in texts):
            raise DataError("the text column is empty in every training row: nothing to "
                            "learn from", where=where)
        toks = [cls._tokens_of(opts, t) for t in texts]
        vocab = Vocabulary.fit(toks, opts["max_size"], opts["min_count"], where)
        prep = cls(column, opts, vocab.tokens[2:])
        if opts["encoding"] == "tfidf":
            ids = [set(prep.vocab.encode(t)) for t in toks]
            df = np.zeros(len(vocab))
            for s in ids:
                df[list(s)] += 1
            n = len(texts)
            prep.idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        return prep

    @staticmethod
    def _tokens_of(opts: dict[str, Any], text: str) -> list[str]:
        return tokenize(normalize(text, opts["lowercase"], opts["strip_punctuation"]),
                        opts["tokens"])

    def tokens_of(self, text: str) -> list[str]:
        return self._tokens_of(self.options, text)

    # -- encoding ------------------------------------------------------------------------
    @property
    def encoding(self) -> str:
        return self.options["encoding"]

    @property
    def n_features(self) -> int:
        """Width of the encoded block: vocabulary words (bag/TF-IDF) or sequence length."""
        if self.encoding == "sequence":
            return self.options["length"]
        return len(self.vocab) - 2

    def feature_names(self) -> list[str]:
        if self.encoding == "sequence":
            return [f"{self.column}[{i}]" for i in range(self.options["length"])]
        return [f"{self.column}:{t}" for t in self.vocab.tokens[2:]]

    def ids(self, text: str) -> list[int]:
        return self.vocab.encode(self.tokens_of(text))

    def transform(self, texts: Sequence[str], where: str = "", first_line: int = 1,
                  line_of=None) -> np.ndarray:
        """float32 ``(N, n_features)``: bag/TF-IDF vectors or padded token ids."""
        n = len(texts)
        out = np.zeros((n, self.n_features), np.float32)
        length = self.options["length"]
        for i, text in enumerate(texts):
            row = line_of(i) if line_of is not None else first_line + i
            check_text(text, f"{where or 'text'}, row {row}, column {self.column!r}")
            ids = self.ids(text)
            if self.encoding == "sequence":
                ids = ids[:length]
                out[i, :len(ids)] = ids
                continue
            counts = np.bincount(np.asarray(ids, np.int64), minlength=len(self.vocab))[2:]
            total = max(len(ids), 1)
            v = counts / total
            if self.idf is not None:
                v = v * self.idf[2:]
                norm = np.sqrt(np.dot(v, v))
                if norm > 0:
                    v = v / norm
            out[i] = v
        return out

    # -- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "options": dict(self.options),
                "tokens": self.vocab.tokens[2:],
                "idf": None if self.idf is None else self.idf.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TextPreparation:
        try:
            opts = check_options(dict(d["options"]), "preparation.text")
            tokens = [str(t) for t in d["tokens"]]
            idf = d.get("idf")
            if idf is not None and len(idf) != len(tokens) + 2:
                raise DataError("the stored idf does not match the vocabulary")
            return cls(str(d["column"]), opts, tokens, idf)
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"the stored text preparation is malformed ({e!r})") from None


def text_values(values: np.ndarray) -> list[str]:
    """A table column's values as Python strings (missing → empty text)."""
    if isinstance(values, list):
        return [str(v) for v in values]
    return [str(v) for v in np.asarray(values).tolist()]
