"""Where attention goes, and which tokens made a text classifier decide.

* :func:`attention_maps`: run one text through a model that reads token sequences (a
  Transformer classifier or a language model) and return, for every MultiHeadAttention
  layer, the weights of each head over the text's tokens — ``(heads, L, L)``, row = the token
  that looks, column = the token looked at (rows sum to 1; padding and, under the causal
  mask, later tokens get 0).
* :func:`token_influence`: for a text classifier (any encoding), how much each token raised
  the predicted class: its log-odds ``ln(p / (1 − p))`` with the text as it is minus with that
  one token left out (occlusion). Log-odds, not probabilities: a confident prediction
  (p = 0.9999) still shows which words carry it. Positive = it pushed towards the class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.io.generate import is_language_model, prompt_ids, text_preparation


@dataclass
class AttentionMaps:
    """Attention of one text: ``tokens`` (L,) and ``layers`` ``[(node id, (h, L, L))]``."""

    tokens: list[str]
    layers: list[tuple[str, np.ndarray]] = field(default_factory=list)
    truncated: bool = False


def _ids_for(model: Any, text: str) -> tuple[list[int], bool]:
    prep = text_preparation(model)
    if prep.encoding != "sequence":
        raise DataError("attention maps need a model that reads token sequences (an "
                        "Embedding and attention layers), not a bag-of-words vector")
    t = int(model.network.input_shape[0])
    ids = prompt_ids(prep, text, "text") if is_language_model(model) else prep.ids(text)
    if not ids:
        raise DataError("the text has no tokens", where="text")
    return ids[-t:] if is_language_model(model) else ids[:t], len(ids) > t


def attention_maps(model: Any, text: str) -> AttentionMaps:
    """The attention weights of every head of every attention layer for ``text``."""
    net = model.network
    layers = [n for n in net.order if net.layers[n].type_name == "MultiHeadAttention"]
    if not layers:
        raise DataError("the network has no MultiHeadAttention layer")
    ids, truncated = _ids_for(model, text)
    prep = text_preparation(model)
    x = np.zeros((1, int(net.input_shape[0])), net.dtype)
    x[0, :len(ids)] = ids
    net.forward(x)
    n = len(ids)
    out = [(node, np.array(net.layers[node].weights[0, :, :n, :n], np.float64))
           for node in layers]
    return AttentionMaps([prep.vocab.tokens[i] for i in ids], out, truncated)


def token_influence(model: Any, text: str, top: int = 10) -> tuple[str, list[tuple[str, float]]]:
    """``(predicted class, [(token, Δ log-odds)])`` for the ``top`` tokens that most raised
    it, largest first."""
    prep = text_preparation(model)
    if is_language_model(model):
        raise DataError("token influence is for text classifiers")
    tokens = prep.tokens_of(text)
    if not tokens:
        raise DataError("the text has no tokens", where="text")
    if prep.encoding == "sequence":
        tokens = tokens[: prep.options["length"]]
    sep = " " if prep.options["tokens"] == "word" else ""
    # The text as it is, then each token left out: one batch through the model.
    variants = [sep.join(tokens)] + [sep.join(tokens[:i] + tokens[i + 1:])
                                     for i in range(len(tokens))]
    pred = model.predict_raw([{prep.column: v} for v in variants])
    probs = np.asarray(pred.probabilities, np.float64)
    k = int(np.argmax(probs[0]))
    p = np.clip(probs[:, k], 1e-12, 1 - 1e-12)
    logit = np.log(p) - np.log1p(-p)
    delta = logit[0] - logit[1:]
    order = np.argsort(-delta, kind="stable")[:top]
    return pred.class_names[k], [(tokens[i], float(delta[i])) for i in order]
