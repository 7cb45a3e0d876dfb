"""Property-based checks of several Inputs: any way of handing a table's columns to Inputs.

For random tables (numbers, categories, a date) and random assignments of their columns to
one to four Inputs (some listing columns, at most one taking "the rest", sometimes a column
twice or an unknown one):

* :func:`input_columns` either raises one :class:`GraphError` naming an Input, or gives every
  prepared-matrix column to exactly one Input, in the table's order within each Input;
* a network whose Inputs each feed a Dense and are then concatenated computes, for every
  sample, exactly what one Dense over the gathered columns computes (no column lost, mixed up
  or duplicated on the way), forward and backward.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nnstudio.core.data.binding import feature_blocks, input_columns
from nnstudio.core.engine.network import Network, NetworkSpec, NodeSpec
from nnstudio.core.errors import GraphError

from .media_seeds import examples


class FakePrep:
    """The part of a fitted table preparation the binding reads."""

    def __init__(self, features: list[dict]):
        self.features = features
        self.array = None
        self.text = None

    @staticmethod
    def output_names_of(f: dict) -> list[str]:
        return [f"{f['name']}:{i}" for i in range(f["width"])]


@st.composite
def tables_and_inputs(draw):
    n_cols = draw(st.integers(1, 6))
    names = [f"c{i}" for i in range(n_cols)]
    features = [{"name": c, "width": draw(st.integers(1, 4))} for c in names]
    n_inputs = draw(st.integers(1, 4))
    inputs = []
    for i in range(n_inputs):
        cols = draw(st.lists(st.sampled_from(names + ["unknown"]), max_size=n_cols,
                             unique=True))
        inputs.append((f"in{i}", cols))
    return features, inputs


def _spec(inputs: list[tuple[str, list[str]]], units: int = 3) -> NetworkSpec:
    nodes = [NodeSpec(i, "Input", {"columns": cols}) for i, cols in inputs]
    edges = []
    for i, _ in inputs:
        nodes.append(NodeSpec(f"d_{i}", "Dense", {"units": units}))
        edges.append((i, f"d_{i}"))
    if len(inputs) > 1:
        nodes.append(NodeSpec("join", "Add"))
        edges += [(f"d_{i}", "join") for i, _ in inputs]
    return NetworkSpec(nodes, edges)


@settings(max_examples=examples(200), deadline=None)
@given(tables_and_inputs(), st.integers(0, 2**31 - 1))
def test_every_prepared_column_reaches_exactly_one_input(case, seed):
    features, inputs = case
    prep = FakePrep(features)
    spec = _spec(inputs)
    width = sum(f["width"] for f in features)
    try:
        cols = input_columns(spec, prep)
    except GraphError as e:
        assert e.where and e.where.startswith("Input '"), e
        return
    if cols is None:  # one Input listing nothing: the whole sample
        assert len(inputs) == 1 and not inputs[0][1]
        return
    given_cols = np.concatenate([cols[i] for i, _ in inputs])
    listed_all = all(c for _, c in inputs)
    if listed_all:  # only the listed columns are used; each at most once
        assert len(set(given_cols.tolist())) == len(given_cols)
    else:
        assert sorted(given_cols.tolist()) == list(range(width))
    blocks = feature_blocks(prep)
    taken = {c for _, listed in inputs for c in listed}
    for i, listed in inputs:
        wanted = listed or [c for c in blocks if c not in taken]  # "the rest", in order
        assert cols[i].tolist() == [j for c in wanted for j in blocks[c]]

    # The network gathers exactly those columns: with the Dense of every Input set to the
    # rows of one big W, the summed branches equal x[:, all columns] @ W.
    if any(len(cols[i]) == 0 for i, _ in inputs):
        return
    rng = np.random.default_rng(seed)
    net = Network(spec, (width,), dtype=np.float64, seed=1, input_columns=cols)
    x = rng.normal(size=(5, width))
    big_w = rng.normal(size=(width, 3))
    expected = np.zeros((5, 3))
    for i, _ in inputs:
        net.param_views[f"d_{i}"]["W"][...] = big_w[cols[i]]
        net.param_views[f"d_{i}"]["b"][...] = 0.0
        expected += x[:, cols[i]] @ big_w[cols[i]]
    np.testing.assert_allclose(net.forward(x, training=True), expected, rtol=1e-12,
                               atol=1e-12)
    g = rng.normal(size=(5, 3))
    net.backward(g)
    for i, _ in inputs:
        np.testing.assert_allclose(net.layers[f"d_{i}"].grads["W"], x[:, cols[i]].T @ g,
                                   rtol=1e-12, atol=1e-12)
