"""Train/validation/test split: seeded, optionally stratified, identical on every machine.

Only ``np.random.default_rng(seed)`` (PCG64) is used, whose streams NumPy keeps stable, and
counts are computed with integer arithmetic, so a seed names one split everywhere.
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.errors import DataError

DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)


def check_fractions(fractions, where: str = "split") -> tuple[float, float, float]:
    """Validate (train, validation, test) fractions: each in [0, 1], train > 0, sum 1."""
    try:
        fr = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise DataError("fractions must be three numbers", where=where) from None
    if len(fr) != 3:
        raise DataError(f"fractions must be three numbers (got {len(fr)})", where=where)
    if any(not 0.0 <= f <= 1.0 for f in fr):
        raise DataError(f"fractions must lie between 0 and 1 (got {list(fr)})", where=where)
    if abs(sum(fr) - 1.0) > 1e-6:
        raise DataError(f"fractions must sum to 1 (got {round(sum(fr), 6):g})", where=where)
    if fr[0] <= 0:
        raise DataError("the train fraction must be above 0", where=where)
    return fr  # type: ignore[return-value]


def split_counts(n: int, fractions) -> tuple[int, int, int]:
    """Rows per split for ``n`` rows: largest remainders, ties to the earlier split.

    Every split with a positive fraction gets at least one row when ``n`` allows it.
    """
    fr = np.asarray(fractions, float)
    exact = fr * n
    counts = np.floor(exact + 1e-9).astype(int)
    order = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - counts.sum()]:
        counts[i] += 1
    wanted = [i for i in range(3) if fr[i] > 0]
    if n >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                donor = max(wanted, key=lambda k: (counts[k], -k))
                counts[donor] -= 1
                counts[i] += 1
    return int(counts[0]), int(counts[1]), int(counts[2])


def split_indices(n: int, fractions=DEFAULT_FRACTIONS, seed: int = 0,
                  stratify: np.ndarray | None = None, shuffle: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``range(n)`` into train, validation and test indices.

    Parameters
    ----------
    n : int
        Number of rows.
    fractions : (float, float, float)
        Train, validation, test; must sum to 1 (a 0 gives an empty split).
    seed : int
        Seed of ``np.random.default_rng``; the same seed gives the same split everywhere.
    stratify : array (n,), optional
        Class of each row. Each class is split on its own with the same fractions, so each
        split keeps the class proportions, and a class with at least one row per non-empty
        split appears in every split.
    shuffle : bool
        When False the order is kept: the first rows train, the next validate, the last test
        (per class when stratified); no randomness is used.

    Returns
    -------
    train, val, test : int64 arrays
        Disjoint, covering ``range(n)``. With ``shuffle`` they come in random order (so
        mini-batches are not sorted by class); without, in ascending order.
    """
    fr = check_fractions(fractions)
    rng = np.random.default_rng(seed)
    if stratify is None:
        groups = [np.arange(n)]
    else:
        labels = np.asarray(stratify)
        if labels.shape[0] != n:
            raise ValueError(f"stratify has {labels.shape[0]} labels for {n} rows")
        _, inverse = np.unique(labels, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.cumsum(np.bincount(inverse))[:-1]
        groups = np.split(order, bounds)
    parts: list[list[np.ndarray]] = [[], [], []]
    for group in groups:
        if shuffle:
            group = rng.permutation(group)
        a, b, _ = split_counts(group.size, fr)
        parts[0].append(group[:a])
        parts[1].append(group[a:a + b])
        parts[2].append(group[a + b:])
    out = []
    for p in parts:
        idx = np.concatenate(p).astype(np.int64) if p else np.zeros(0, np.int64)
        out.append(rng.permutation(idx) if shuffle else np.sort(idx))
    return out[0], out[1], out[2]
