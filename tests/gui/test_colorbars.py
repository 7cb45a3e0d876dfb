"""The fitted-function map and the loss landscape say what their colours and lines mean: a
colour bar with values, and the value written on each contour line."""

from __future__ import annotations

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.insight.common import num
from nnstudio.core.insight.dataview import InsightData
from tests.core.insight import nets
from tests.gui.test_insight_views import panel, settle  # noqa: F401 - the fixtures

pytestmark = pytest.mark.gui


def test_fitted_function_map_has_a_colour_bar_and_labelled_contours(qtbot, panel):  # noqa: F811
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(200, 2))
    y = (2 * x[:, 0] - x[:, 1]).reshape(-1, 1)
    data = InsightData.from_arrays(x[:150], y[:150], x[150:], y[150:], task="regression",
                                   feature_names=["a", "b"])
    net = nets.mlp((8,), "Tanh", None, 2, 1, np.float32, 0)
    panel.source.set_data(data)
    panel.source.set_network(net)
    panel.show_view("boundary")
    view = panel.boundary
    settle(qtbot, panel, view)
    assert view.colorbar.isVisible()
    lo, hi = view.value_range
    assert view.colorbar.ticks[0][1] and view.colorbar.ticks[-1][0] == 1.0
    texts = view.labels.texts
    assert texts, "no contour label"
    levels = np.linspace(lo, hi, 7)[1:-1]
    assert set(texts) <= {num(v) for v in levels}
    # Each label sits where the fitted function has its value.
    for item in view.labels.items:
        if item.isVisible():
            px, py = item.pos().x(), item.pos().y()
            point = np.array([[px, py]])
            point = data.to_input(point) if data.to_input is not None else point
            here = float(net.predict(point.astype(np.float32))[0, 0])
            value = float(item.textItem.toPlainText().replace("−", "-"))
            assert here == pytest.approx(value, abs=0.05 * (hi - lo))


def test_loss_landscape_has_a_colour_bar_and_labelled_contours(qtbot, panel):  # noqa: F811
    salary = build_dataset(DatasetSpec(example="salary"))
    panel.source.set_data(InsightData.from_prepared(salary))
    panel.source.set_network(nets.neuron(dtype=np.float32))
    panel.show_view("landscape")
    view = panel.landscape
    view.update_now(force=True)
    settle(qtbot, panel, view)
    s = view.last_result["slice"]
    assert view.colorbar.isVisible() and view.colorbar.title == "loss"
    ticks = [float(t.replace("−", "-")) for _, t in view.colorbar.ticks]
    assert min(ticks) >= np.nanmin(s.loss) * 0.999 and max(ticks) <= np.nanmax(s.loss) * 1.001
    assert len(view.labels.texts) >= 3
