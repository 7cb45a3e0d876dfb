"""The neuron inspector as a student of the course reads it: softmax over the vector of
logits, units and inputs counted from 0 alike, one-hot inputs as statements, and the worked
example's chain ∂C/∂ŷ = −2(y − ŷ) → ∂ŷ/∂w = x → product → w ← w − α·∂C/∂w."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.insight.dataview import InsightData
from tests.core.insight import nets
from tests.gui.test_insight_views import panel, settle  # noqa: F401 - the fixtures

pytestmark = pytest.mark.gui


def _penguins(tmp_path):
    rng = np.random.default_rng(3)
    rows = ["island,bill,species"]
    for i in range(90):
        island = ["Dream", "Biscoe", "Torgersen"][i % 3]
        rows.append(f"{island},{35 + rng.random() * 15:.1f},{['A', 'B', 'C'][i % 3]}")
    path = tmp_path / "p.csv"
    path.write_text("\n".join(rows) + "\n")
    return build_dataset(DatasetSpec(source=str(path), target="species"))


def test_softmax_output_unit_and_one_hot_inputs(qtbot, panel, tmp_path):  # noqa: F811
    prepared = _penguins(tmp_path)
    data = InsightData.from_prepared(prepared)
    n_in = prepared.x_train.shape[1]
    net = nets.mlp((3,), "Tanh", "Softmax", n_in, 3, np.float32, 0)
    panel.source.set_data(data)
    panel.source.set_network(net)
    panel.show_view("neurons")
    view = panel.neurons
    settle(qtbot, panel, view)
    # First layer: inputs named as one-hot statements.
    view.select("h1", 0)
    qtbot.waitUntil(lambda: view.last_result["report"].node_id == "h1", timeout=10_000)
    settle(qtbot, panel)
    text = view.formula.text()
    assert "[island is " in text and "·island=" not in text
    # Output layer, unit 1: its share of the softmax over all three logits.
    view.select("out", 1)
    qtbot.waitUntil(lambda: view.last_result["report"].node_id == "out"
                    and view.last_result["report"].unit == 1, timeout=10_000)
    settle(qtbot, panel)
    r = view.last_result["report"]
    text = view.formula.text()
    assert "softmax(z)₁ = e^z₁ / Σₖ e^zₖ over the 3 units" in text
    z = r.logits
    assert r.activation == pytest.approx(np.exp(z[1]) / np.exp(z).sum(), rel=1e-4)
    # One convention: the heading, the unit box and the hidden inputs all count from 0.
    assert "out, unit 1 (Softmax)" in view.title.text() and view.unit_spin.value() == 1
    assert "·a₀" in text and "a₃" not in text  # three hidden units: a₀, a₁, a₂


def test_worked_example_writes_the_courses_chain(qtbot, panel):  # noqa: F811
    salary = build_dataset(DatasetSpec(example="salary"))
    data = InsightData.from_prepared(salary)
    net = nets.neuron(dtype=np.float32)
    panel.source.set_data(data)
    panel.source.set_network(net)
    panel.show_view("neurons")
    view = panel.neurons
    settle(qtbot, panel, view)
    qtbot.waitUntil(lambda: view.worked_box.isVisible(), timeout=10_000)
    lines = view.worked.text().splitlines()
    ex = view.last_result["worked"]
    assert lines[2].startswith("∂C/∂ŷ = −2(y − ŷ) = −2·(")
    assert ex.dc_dyhat == pytest.approx(-2 * (ex.y - ex.y_hat), rel=1e-9)
    assert lines[3].startswith("∂ŷ/∂w = x = ")
    assert lines[4].startswith("∂C/∂w = ∂C/∂ŷ · ∂ŷ/∂w = ")
    assert lines[-2].startswith("w ← w − α·∂C/∂w = ")
