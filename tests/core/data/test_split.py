"""Seeded, stratified, machine-independent splits."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data import split_indices
from nnstudio.core.data.split import split_counts
from nnstudio.core.errors import DataError


def test_partition_and_default_counts():
    tr, va, te = split_indices(1000)
    assert (tr.size, va.size, te.size) == (700, 150, 150)
    everything = np.concatenate([tr, va, te])
    assert np.array_equal(np.sort(everything), np.arange(1000))
    assert tr.dtype == np.int64


def test_same_seed_same_split_on_every_machine():
    # Golden values: PCG64 streams are platform-independent, so these never change.
    tr, va, te = split_indices(20, seed=0)
    assert tr.tolist() == [13, 16, 11, 3, 6, 2, 0, 5, 12, 7, 19, 4, 10, 8]
    assert va.tolist() == [18, 17, 14]
    assert te.tolist() == [9, 1, 15]
    again = split_indices(20, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again, strict=True))
    other = split_indices(20, seed=1)
    assert not np.array_equal(tr, other[0])


def test_stratified_keeps_class_shares_and_every_class_everywhere():
    y = np.array(["a"] * 700 + ["b"] * 250 + ["c"] * 50)
    tr, va, te = split_indices(y.size, seed=3, stratify=y)
    sizes = {"a": 700, "b": 250, "c": 50}
    for idx, share in ((tr, 0.7), (va, 0.15), (te, 0.15)):
        for c, size in sizes.items():
            assert abs(np.sum(y[idx] == c) - share * size) <= 1


def test_stratified_counts_are_reported_exactly():
    y = np.repeat([0, 1, 2], [60, 30, 10])
    tr, va, te = split_indices(100, stratify=y)
    got = [np.bincount(y[i], minlength=3).tolist() for i in (tr, va, te)]
    assert got == [[42, 21, 7], [9, 5, 2], [9, 4, 1]]


def test_tiny_class_still_reaches_each_split():
    y = np.array([0] * 40 + [1] * 3)
    tr, va, te = split_indices(y.size, stratify=y)
    assert all(np.any(y[i] == 1) for i in (tr, va, te))


def test_no_shuffle_keeps_order():
    tr, va, te = split_indices(10, (0.6, 0.2, 0.2), shuffle=False)
    assert tr.tolist() == [0, 1, 2, 3, 4, 5] and va.tolist() == [6, 7] and te.tolist() == [8, 9]


def test_zero_fraction_gives_empty_split():
    tr, va, te = split_indices(10, (0.8, 0.2, 0.0))
    assert (tr.size, va.size, te.size) == (8, 2, 0)


def test_counts_rounding():
    assert split_counts(30, (0.7, 0.15, 0.15)) == (21, 5, 4)
    assert split_counts(3, (0.7, 0.15, 0.15)) == (1, 1, 1)
    assert split_counts(1, (0.7, 0.15, 0.15)) == (1, 0, 0)


@pytest.mark.parametrize("fractions, text", [
    ((0.7, 0.2, 0.2), "fractions must sum to 1 (got 1.1)"),
    ((0.0, 0.5, 0.5), "train fraction must be above 0"),
    ((1.2, -0.1, -0.1), "between 0 and 1"),
    ((0.5, 0.5), "three numbers"),
])
def test_bad_fractions(fractions, text):
    with pytest.raises(DataError, match=text.replace("(", r"\(").replace(")", r"\)")):
        split_indices(10, fractions)
