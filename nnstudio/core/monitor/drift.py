"""Drift statistics of one column against its reference, and the verdict.

Per numeric column: the population stability index (PSI) over the reference's deciles and the
two-sample Kolmogorov–Smirnov test (``scipy.stats.ks_2samp``) between the reference quantiles
and the new values. Per categorical column: PSI over the training categories plus one bin for
unseen ones, and the χ² test of homogeneity (``scipy.stats.chi2_contingency``) on the
reference and new counts. Both also report the share of missing values and, for categories,
of values training never saw.

Verdict (thresholds in :class:`Thresholds`, shown in every report)::

    drifted  PSI ≥ psi_drift, or missing share up by ≥ missing_drift, or unseen ≥ unseen_drift
    watch    PSI ≥ psi_watch, or the test's p < p_value, or missing up by ≥ missing_watch,
             or unseen ≥ unseen_watch
    stable   otherwise;  "too few rows" below min_rows present values

PSI measures how much the distribution moved (effect size) while the p-value says whether the
move is more than chance; with many rows tiny moves are significant, so a significant test
alone only asks to watch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

PSI_FLOOR = 1e-4  # empty bins would make PSI infinite
HIST_BINS = 30
MAX_SHOWN_CATEGORIES = 20


@dataclass(frozen=True)
class Thresholds:
    """Where a verdict changes (all settable from the CLI and the GUI)."""

    psi_watch: float = 0.1
    psi_drift: float = 0.25
    p_value: float = 0.01
    missing_watch: float = 0.05
    missing_drift: float = 0.20
    unseen_watch: float = 0.01
    unseen_drift: float = 0.05
    min_rows: int = 30

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float:
    """Population stability index ``Σ (c − r)·ln(c / r)`` over bins (shares floored)."""
    r = np.maximum(np.asarray(ref_share, np.float64), PSI_FLOOR)
    c = np.maximum(np.asarray(cur_share, np.float64), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def _share(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros_like(counts, dtype=np.float64)


def numeric_drift(ref: dict[str, Any], values: np.ndarray) -> dict[str, Any]:
    """Statistics of new numeric ``values`` (NaN = missing) against a reference summary."""
    from scipy import stats

    v = np.asarray(values, np.float64)
    present = v[np.isfinite(v)]
    q = np.asarray(ref.get("quantiles") or [], np.float64)
    out: dict[str, Any] = {"rows": int(v.size), "present": int(present.size),
                           "missing": float(1 - present.size / v.size) if v.size else 0.0}
    if present.size:
        out.update(mean=float(present.mean()), std=float(present.std()),
                   min=float(present.min()), max=float(present.max()))
    if q.size == 0 or present.size == 0:
        out.update(psi=None, test="ks", statistic=None, p_value=None)
        return out
    edges = np.unique(np.quantile(q, np.arange(1, 10) / 10))
    ref_bins = np.bincount(np.searchsorted(edges, q, side="right"), minlength=edges.size + 1)
    cur_bins = np.bincount(np.searchsorted(edges, present, side="right"),
                           minlength=edges.size + 1)
    out["psi"] = psi(_share(ref_bins), _share(cur_bins))
    ks = stats.ks_2samp(q, present)
    out.update(test="ks", statistic=float(ks.statistic), p_value=float(ks.pvalue))
    # Histogram for plots: common bins over both ranges (cut at the 0.5/99.5 percentiles so
    # one outlier does not squash the picture).
    lo = min(q[0], float(np.quantile(present, 0.005)))
    hi = max(q[-1], float(np.quantile(present, 0.995)))
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    hedges = np.linspace(lo, hi, HIST_BINS + 1)
    out["histogram"] = {
        "edges": hedges.tolist(),
        "reference": _share(np.histogram(np.clip(q, lo, hi), hedges)[0]).tolist(),
        "current": _share(np.histogram(np.clip(present, lo, hi), hedges)[0]).tolist(),
    }
    return out


def categorical_drift(ref: dict[str, Any], values: np.ndarray,
                      known: list[str] | None = None,
                      refused: dict[str, int] | None = None) -> dict[str, Any]:
    """Statistics of new categorical ``values`` (``""`` = missing) against a reference.

    ``refused`` counts unseen categories of requests the server refused (they are not in
    ``values``); they count as present, unseen values.
    """
    from scipy import stats

    v = np.asarray(values, dtype=str)
    present = v[v != ""]
    ref_counts: dict[str, int] = dict(ref.get("counts") or {})
    cats = sorted(set(known or []) | set(ref_counts))
    uniq, counts = np.unique(present, return_counts=True)
    cur_counts = dict(zip(uniq.tolist(), counts.tolist(), strict=True))
    for c, n in (refused or {}).items():
        cur_counts[c] = cur_counts.get(c, 0) + int(n)
    n_refused = int(sum((refused or {}).values()))
    n_present = int(present.size) + n_refused
    unseen = {c: n for c, n in cur_counts.items() if c not in set(cats)}
    n_unseen = int(sum(unseen.values()))
    out: dict[str, Any] = {
        "rows": int(v.size) + n_refused, "present": n_present,
        "missing": float(1 - n_present / (v.size + n_refused)) if v.size + n_refused else 0.0,
        "unseen": float(n_unseen / n_present) if n_present else 0.0,
        "unseen_categories": dict(sorted(unseen.items(), key=lambda kv: -kv[1])[:10]),
    }
    if n_refused:
        out["refused"] = n_refused
    if not ref_counts or n_present == 0:
        out.update(psi=None, test="chi2", statistic=None, p_value=None)
        return out
    ref_vec = np.array([ref_counts.get(c, 0) for c in cats] + [0], np.float64)
    cur_vec = np.array([cur_counts.get(c, 0) for c in cats] + [n_unseen], np.float64)
    out["psi"] = psi(_share(ref_vec), _share(cur_vec))
    table = np.stack([ref_vec, cur_vec])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] >= 2:
        chi2, p, _dof, _exp = stats.chi2_contingency(table, correction=False)
        out.update(test="chi2", statistic=float(chi2), p_value=float(p))
    else:
        out.update(test="chi2", statistic=0.0, p_value=1.0)
    shown = sorted(cats, key=lambda c: -ref_counts.get(c, 0))[:MAX_SHOWN_CATEGORIES]
    labels = shown + (["(unseen)"] if n_unseen else [])
    rshare, cshare = _share(ref_vec[:-1]), _share(cur_vec)
    idx = {c: i for i, c in enumerate(cats)}
    out["bars"] = {
        "labels": labels,
        "reference": [float(rshare[idx[c]]) for c in shown] + ([0.0] if n_unseen else []),
        "current": [float(cshare[idx[c]]) for c in shown] +
                   ([float(cshare[-1])] if n_unseen else []),
    }
    return out


def verdict(stats_: dict[str, Any], ref_missing: float | None, t: Thresholds,
            ) -> tuple[str, list[str]]:
    """``(verdict, reasons)`` of one column's statistics (see the module docstring)."""
    if stats_.get("present", 0) < t.min_rows:
        return "too few rows", [f"{stats_.get('present', 0)} values present (< {t.min_rows})"]
    drifted, watch = [], []
    p = stats_.get("psi")
    if p is not None:
        if p >= t.psi_drift:
            drifted.append(f"PSI {p:.3f} ≥ {t.psi_drift:g}")
        elif p >= t.psi_watch:
            watch.append(f"PSI {p:.3f} ≥ {t.psi_watch:g}")
    pv = stats_.get("p_value")
    if pv is not None and pv < t.p_value:
        name = "KS" if stats_.get("test") == "ks" else "χ²"
        watch.append(f"{name} p = {pv:.2g} < {t.p_value:g}")
    rise = stats_["missing"] - (ref_missing or 0.0)
    if rise >= t.missing_drift:
        drifted.append(f"missing {stats_['missing']:.1%} (training {ref_missing or 0:.1%})")
    elif rise >= t.missing_watch:
        watch.append(f"missing {stats_['missing']:.1%} (training {ref_missing or 0:.1%})")
    u = stats_.get("unseen")
    if u is not None:
        if u >= t.unseen_drift:
            drifted.append(f"unseen categories {u:.1%}")
        elif u >= t.unseen_watch:
            watch.append(f"unseen categories {u:.1%}")
    if drifted:
        return "drifted", drifted + watch
    if watch:
        return "watch", watch
    return "stable", []


def finite(x: Any) -> Any:
    """``x`` with NaN/inf floats as None (for JSON)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
