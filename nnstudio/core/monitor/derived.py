"""Monitoring text, image and sound inputs through their per-sample statistics.

The reference of such a model holds, next to any table columns, *derived* features (the
statistics of :mod:`.samples`), each marked ``"derived": "text" | "image" | "sound"``::

    {"name": "message: tokens", "kind": "numeric", "derived": "text", ...quantiles...}
    {"name": "message: unknown tokens", "kind": "rate", "derived": "text",
     "unknown": 31, "total": 2950, "rate": 0.0105, "source": "validation split"}
    {"name": "message: token distribution", "kind": "tokens", "derived": "text",
     "counts": {"the": 812, ..., "(other)": 4410}}
    {"name": "image: brightness", "kind": "numeric", "derived": "image", "unit": "0–255", ...}

Numeric statistics get the table machinery (PSI over the reference's deciles, the KS test).
The unknown-token rate is a share of all tokens: it drifts when it rises above the reference
by the "unseen" thresholds (the reference's own rate comes from the validation split — the
vocabulary was fitted on the training split, where nothing is unknown), tested with a χ² test
of the two proportions. The token distribution is compared like a category: PSI and the χ²
test over the training split's most frequent tokens plus one ``(other)`` bin.

Reference sizes are bounded: at most :data:`MAX_TEXTS` texts, :data:`MAX_IMAGES` images and
:data:`MAX_SOUNDS` recordings of the training split (evenly spaced) are summarised, so a big
dataset adds about a second to training and a few kB to the model file.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from .drift import Thresholds, numeric_drift, psi, verdict
from .reference import numeric_summary
from .samples import (
    OTHER,
    TOP_TOKENS,
    UNITS,
    decode_sound_with_stats,
    fold_tokens,
    image_header,
    image_stats,
    stat_columns,
    text_token_stats,
)

MAX_TEXTS = 20_000
MAX_IMAGES = 2_000
MAX_SOUNDS = 1_000


def _every(n: int, m: int) -> np.ndarray:
    if n <= m:
        return np.arange(n)
    return np.linspace(0, n - 1, m).astype(np.int64)


# -- names -------------------------------------------------------------------------------------

def text_names(column: str) -> tuple[str, str, str]:
    return f"{column}: tokens", f"{column}: unknown tokens", f"{column}: token distribution"


def media_name(kind: str, stat: str) -> str:
    return f"{kind}: {stat}"


# -- reference ---------------------------------------------------------------------------------

def text_reference(text_prep: Any, train: list[str], held_out: list[str] | None,
                   ) -> list[dict[str, Any]]:
    """The derived reference features of a text column from its training texts (and the
    validation texts for the unknown-token rate)."""
    train = [train[i] for i in _every(len(train), MAX_TEXTS)]
    lengths, _unk, _total, counts = text_token_stats(text_prep, train)
    n_tok, n_unk, n_rate = text_names(text_prep.column)
    tokens = numeric_summary(n_tok, lengths, 0.0)
    tokens.update(derived="text", column=text_prep.column, unit="tokens")
    rate_source = "validation split" if held_out else "training split"
    sample = held_out if held_out else train
    sample = [sample[i] for i in _every(len(sample), MAX_TEXTS)]
    _l, unknown, total, _c = text_token_stats(text_prep, sample)
    rate = {"name": n_unk, "kind": "rate", "derived": "text", "column": text_prep.column,
            "n": len(sample), "missing": 0.0, "unknown": int(unknown), "total": int(total),
            "rate": float(unknown / total) if total else 0.0, "source": rate_source}
    top = [t for t, _ in counts.most_common(TOP_TOKENS)]
    dist = {"name": n_rate, "kind": "tokens", "derived": "text", "column": text_prep.column,
            "n": len(train), "missing": 0.0, "counts": fold_tokens(counts, top)}
    return [tokens, rate, dist]


def media_reference(kind: str, media: dict, files: list[str], raw: Any,
                    rows: np.ndarray) -> list[dict[str, Any]]:
    """Derived reference features of an image/sound training split: ``rows`` index ``files``
    and the decoded cache ``raw``."""
    pick = rows[_every(len(rows), MAX_IMAGES if kind == "image" else MAX_SOUNDS)]
    cols: dict[str, list[float]] = {}
    if kind == "image":
        stats = image_stats(np.asarray(raw[np.sort(pick)]))
        order = np.argsort(np.argsort(pick))  # raw was read in sorted order
        for k, v in stats.items():
            cols[k] = list(np.asarray(v)[order])
        sizes = []
        for i in pick:
            try:
                w, h, _ = image_header(files[i])
            except Exception:  # the file changed since training: its size is unknown
                w = h = float("nan")
            sizes.append((w, h))
        cols["width"] = [s[0] for s in sizes]
        cols["height"] = [s[1] for s in sizes]
    else:
        from nnstudio.core.data.audio import AudioOptions
        from nnstudio.core.data.images import SkipFile

        opts = AudioOptions.from_dict({k: v for k, v in media.items()
                                       if k not in ("kind", "augment")})
        for i in pick:
            try:
                _, st = decode_sound_with_stats(files[i], opts)
            except SkipFile:
                continue
            for k, v in st.items():
                cols.setdefault(k, []).append(v)
    rgb = kind != "image" or media.get("color") == "rgb"
    out = []
    for stat in stat_columns(kind, rgb):
        if stat not in cols:
            continue
        f = numeric_summary(media_name(kind, stat), np.asarray(cols[stat], np.float64), 0.0)
        f.update(derived=kind, unit=UNITS[stat])
        out.append(f)
    return out


# -- current data ------------------------------------------------------------------------------

def text_current(text_prep: Any, texts: list[str]) -> tuple[dict[str, np.ndarray], dict]:
    """``(columns, aggregates)`` of new texts for :class:`~.sources.Current`."""
    lengths, unknown, total, counts = text_token_stats(text_prep, texts)
    n_tok, n_unk, n_dist = text_names(text_prep.column)
    return {n_tok: lengths}, {n_unk: {"unknown": unknown, "total": total, "n": len(texts)},
                              n_dist: {"counts": counts, "n": len(texts)}}


def merge_aggregates(into: dict, more: dict) -> None:
    """Add the counts of ``more`` (one chunk of a log) to ``into``."""
    for name, agg in more.items():
        if name not in into:
            into[name] = {k: (Counter(v) if isinstance(v, Counter) else v)
                          for k, v in agg.items()}
            continue
        for k, v in agg.items():
            into[name][k] = into[name][k] + v


# -- drift ---------------------------------------------------------------------------------------

def derived_entries(ref: dict[str, Any], current: Any, t: Thresholds) -> list[dict[str, Any]]:
    """Report entries (as :func:`~.analysis.monitor` makes for columns) of the reference's
    derived features."""
    out = []
    for r in ref.get("features", []):
        if not r.get("derived"):
            continue
        entry: dict[str, Any] = {"name": r["name"], "derived": r["derived"]}
        if r.get("unit"):
            entry["unit"] = r["unit"]
        kind = r.get("kind")
        if kind == "numeric":
            values = current.columns.get(r["name"])
            if values is None:
                continue
            entry["kind"] = "numeric"
            s = numeric_drift(r, values)
            entry.update(s)
            entry["reference"] = {k: r.get(k) for k in ("n", "mean", "std", "min", "max")
                                  if k in r}
            entry["verdict"], entry["reasons"] = verdict(s, 0.0, t)
        elif kind == "rate":
            agg = current.aggregates.get(r["name"])
            if agg is None:
                continue
            entry["kind"] = "rate"
            entry.update(_rate_drift(r, agg, t))
        elif kind == "tokens":
            agg = current.aggregates.get(r["name"])
            if agg is None:
                continue
            entry["kind"] = "categorical"
            top = [k for k in r["counts"] if k != OTHER]
            cur = fold_tokens(agg["counts"], top)
            s = _counts_drift(r["counts"], cur, int(r.get("n") or 0), int(agg.get("n") or 0))
            entry.update(s)
            entry["verdict"], entry["reasons"] = verdict(s, 0.0, t)
        else:
            continue
        out.append(entry)
    return out


def _rate_drift(r: dict[str, Any], agg: dict[str, Any], t: Thresholds) -> dict[str, Any]:
    """Unknown-token share now vs the reference: χ² test of the two proportions and a
    verdict on the rise (the "unseen" thresholds)."""
    from scipy import stats

    unknown, total = int(agg["unknown"]), int(agg["total"])
    rate = unknown / total if total else 0.0
    ref_rate = float(r.get("rate") or 0.0)
    s: dict[str, Any] = {"rows": int(agg.get("n", 0)), "present": int(agg.get("n", 0)),
                         "missing": 0.0, "unseen": rate, "tokens": total,
                         "reference": {"rate": ref_rate, "source": r.get("source"),
                                       "tokens": r.get("total")},
                         "psi": None, "test": "chi2"}
    table = np.array([[r.get("unknown", 0), max(r.get("total", 0) - r.get("unknown", 0), 0)],
                      [unknown, total - unknown]], np.float64)
    # Counted in texts, not tokens (see _counts_drift): each row scaled to its texts.
    for row, texts in ((0, r.get("n")), (1, agg.get("n"))):
        if texts and table[row].sum():
            table[row] *= texts / table[row].sum()
    if total and table.sum(axis=0).all() and table.sum(axis=1).all():
        chi2, p, _dof, _exp = stats.chi2_contingency(table, correction=False)
        s.update(statistic=float(chi2), p_value=float(p))
    else:
        s.update(statistic=0.0, p_value=1.0)
    verdict_, reasons = verdict({**s, "unseen": None}, 0.0, t)
    rise = rate - ref_rate
    shown = f"unknown tokens {rate:.1%} (reference {ref_rate:.1%})"
    if verdict_ != "too few rows":
        if rise >= t.unseen_drift:
            verdict_, reasons = "drifted", [shown, *reasons]
        elif rise >= t.unseen_watch:
            verdict_ = "watch"
            reasons = [shown, *reasons]
    s["verdict"], s["reasons"] = verdict_, reasons
    s["bars"] = {"labels": ["known", "unknown"], "reference": [1 - ref_rate, ref_rate],
                 "current": [1 - rate, rate]}
    return s


def _counts_drift(ref_counts: dict[str, int], cur_counts: dict[str, int], ref_texts: int,
                  cur_texts: int) -> dict[str, Any]:
    """PSI and χ² of token counts over the same bins (the top tokens and ``(other)``).

    The tokens of one text are not independent draws (a phrase brings its words together),
    so the χ² test counts texts, not tokens: each row of the table is scaled to its number
    of texts (a design-effect correction; on raw token counts an unchanged stream of
    messages is "significant" about once in ten batches at p < 0.01).
    """
    from scipy import stats

    labels = list(ref_counts)
    r = np.array([ref_counts[k] for k in labels], np.float64)
    c = np.array([cur_counts.get(k, 0) for k in labels], np.float64)
    n = int(c.sum())
    out: dict[str, Any] = {"rows": cur_texts or n, "present": cur_texts or n, "missing": 0.0,
                           "test": "chi2", "tokens": n}
    if n == 0 or r.sum() == 0:
        out.update(psi=None, statistic=None, p_value=None)
        return out
    out["psi"] = psi(r / r.sum(), c / c.sum())
    if ref_texts and cur_texts:
        r = r * (ref_texts / r.sum())
        c = c * (cur_texts / c.sum())
    table = np.stack([r, c])
    table = table[:, table.sum(axis=0) > 0]
    chi2, p, _dof, _exp = stats.chi2_contingency(table, correction=False)
    out.update(statistic=float(chi2), p_value=float(p))
    order = np.argsort(-r)[:20]
    out["bars"] = {"labels": [labels[i] for i in order],
                   "reference": (r[order] / r.sum()).tolist(),
                   "current": (c[order] / c.sum()).tolist()}
    return out
