"""Text in, text out: a language model's continuation of a prompt, a text classifier's class
probabilities, and the prompt checks both share.

:func:`generate` samples one token at a time: the last ``T`` tokens (the model's window) go
in right-padded with the padding id — the causal mask keeps later positions from mattering —
and the distribution at the last real position is reshaped by the temperature
(``p^(1/temperature)``, renormalised) and cut to the ``top_k`` most likely tokens before one
is drawn. ``on_token`` sees every new piece of text as it is made (the GUI streams it), and
returning ``False`` from it stops early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnstudio.core.data.text import MAX_TEXT_CHARS, TextPreparation
from nnstudio.core.errors import DataError

#: Longest continuation one request may ask for (tokens).
MAX_LENGTH = 10_000


def text_preparation(model: Any) -> TextPreparation:
    """The model's fitted text preparation; :class:`DataError` when it reads no text."""
    text = getattr(getattr(model, "preparation", None), "text", None)
    if text is None:
        raise DataError("this model does not read text (it was not trained on a text column "
                        "or a corpus)")
    return text


def is_language_model(model: Any) -> bool:
    return getattr(model, "task", None) == "language_model"


def prompt_ids(text: TextPreparation, prompt: str, where: str = "prompt") -> list[int]:
    """Token ids of a prompt; unknown characters (char models) are an error naming them."""
    if len(prompt) > MAX_TEXT_CHARS:
        raise DataError(f"the prompt has {len(prompt):,} characters; at most "
                        f"{MAX_TEXT_CHARS:,}", where=where)
    toks = text.tokens_of(prompt)
    unknown = sorted({t for t in toks if t not in text.vocab.index})
    if unknown and text.options["tokens"] == "char":
        shown = ", ".join(repr(t) for t in unknown[:8]) + (" …" if len(unknown) > 8 else "")
        raise DataError(
            f"the prompt has character(s) the model never saw in training: {shown}; its "
            f"vocabulary has {len(text.vocab) - 2} characters — remove or replace them",
            where=where,
        )
    ids = text.vocab.encode(toks)
    if not ids:
        fallback = next((t for t in ("\n", " ", ".") if t in text.vocab.index), None)
        if fallback is None:
            raise DataError("the prompt is empty: type a few characters to start from",
                            where=where)
        ids = [text.vocab.index[fallback]]
    return ids


@dataclass
class Generation:
    """A finished continuation: the prompt, the new text and the new token ids."""

    prompt: str
    text: str
    ids: list[int]
    stopped: bool = False


def generate(
    model: Any, prompt: str, length: int = 200, temperature: float = 1.0, top_k: int = 0,
    seed: int | None = None, on_token: Callable[[str], bool | None] | None = None,
) -> Generation:
    """Continue ``prompt`` by ``length`` tokens with a language model (see module docstring).

    ``model`` has ``network`` and ``preparation`` (a :class:`TrainedModel`). ``top_k = 0``
    keeps every token. Raises :class:`DataError` for a bad prompt or setting.
    """
    if not is_language_model(model):
        raise DataError("only a language model (trained on a text corpus) can continue a "
                        "prompt")
    text = text_preparation(model)
    if not 1 <= int(length) <= MAX_LENGTH:
        raise DataError(f"the length must be 1 … {MAX_LENGTH:,} tokens (got {length})")
    if not 0 < temperature < float("inf"):
        raise DataError(f"the temperature must be a number above 0 (got {temperature})")
    if top_k < 0:
        raise DataError(f"top-k must be 0 (all tokens) or more (got {top_k})")
    if seed is not None and int(seed) < 0:
        raise DataError(f"the seed must be 0 or more (got {seed})")
    net = model.network
    t = int(net.input_shape[0])
    ids = prompt_ids(text, prompt)
    rng = np.random.default_rng(seed)
    sep = " " if text.options["tokens"] == "word" else ""
    x = np.zeros((1, t), net.dtype)
    new: list[int] = []
    pieces: list[str] = []
    stopped = False
    for _ in range(int(length)):
        window = (ids + new)[-t:]
        x.fill(0)
        x[0, :len(window)] = window
        p = np.asarray(net.forward(x)[0, len(window) - 1], np.float64)
        nxt = sample(p, temperature, top_k, rng)
        new.append(nxt)
        tok = text.vocab.decode([nxt])
        piece = sep + tok if sep and (pieces or prompt) else tok
        pieces.append(piece)
        if on_token is not None and on_token(piece) is False:
            stopped = True
            break
    return Generation(prompt, "".join(pieces), new, stopped)


def sample(p: np.ndarray, temperature: float, top_k: int, rng: np.random.Generator) -> int:
    """One token id drawn from probabilities ``p`` (V,), never the padding/unknown ids."""
    p = np.array(p, np.float64)
    p[:2] = 0.0  # <pad> and <unk> are not text
    if temperature != 1.0:
        # Shift before dividing: the best token stays at 0, so a temperature near 0 leaves
        # exactly the most likely token (the others overflow to -inf: probability 0).
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logp = np.log(p)
            p = np.exp((logp - np.max(logp)) / temperature)
        p[~np.isfinite(p)] = 0.0
    if 0 < top_k < len(p):
        cut = np.partition(p, -top_k)[-top_k]
        p[p < cut] = 0.0
    total = p.sum()
    if not total > 0:
        return int(np.argmax(p)) if p.any() else 2
    return int(rng.choice(len(p), p=p / total))


def classify_text(model: Any, text_in: str) -> dict[str, float]:
    """``{class: probability}`` of a text classifier for one text (other feature columns,
    if the model has any, take their training fill values or fail with a clear message)."""
    text = text_preparation(model)
    if is_language_model(model):
        raise DataError("a language model continues text; use generate for it")
    pred = model.predict_raw([{text.column: text_in}])
    return dict(zip(pred.class_names, map(float, pred.probabilities[0]), strict=True))
