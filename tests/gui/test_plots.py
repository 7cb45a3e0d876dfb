"""Live training plots: throttled redraws, crosshair, log scale, PNG/SVG/CSV export."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

from nnstudio.core.training import EpochEnd
from nnstudio.gui.plots.history import TrainingHistory
from nnstudio.gui.plots.results_plots import (
    ConfusionMatrixPlot,
    PredictedVsTruePlot,
    ResidualHistogram,
)
from nnstudio.gui.plots.training_plots import REDRAW_HZ, TrainingPlots

pytestmark = pytest.mark.gui


def epoch(e: int, classify: bool = True) -> EpochEnd:
    metric = {"accuracy": 1 - math.exp(-e / 8)} if classify else {}
    val = {"accuracy": 0.9 - math.exp(-e / 8)} if classify else {"r2": 1 - math.exp(-e / 5)}
    return EpochEnd(e, 100, math.exp(-e / 10), math.exp(-e / 12) + 0.05, metric, val,
                    0.01 * 0.95 ** e, e * 0.01, True, e)


def progress(xs, ys):
    return types.SimpleNamespace(points_x=tuple(xs), points_y=tuple(ys))


@pytest.fixture
def plots(qtbot):
    p = TrainingPlots()
    qtbot.addWidget(p)
    p.resize(900, 420)
    p.show()
    p.reset("accuracy")
    return p


def test_curves_are_created_once_and_redraws_are_throttled(qtbot, plots):
    curves = dict(plots.curves)
    items_before = len(plots.loss_plot.items)
    start = plots.redraws
    for e in range(1, 501):
        plots.add_epoch(epoch(e))
        plots.add_progress(progress([e - 0.5, e], [0.5, 0.4]))
    assert plots.redraws == start  # nothing drawn yet: the timer decides
    qtbot.wait(int(3000 / REDRAW_HZ))
    assert 1 <= plots.redraws - start <= 4
    assert plots.points("loss") == 500 and plots.points("batch_loss") == 1000
    assert plots.curves == curves and len(plots.loss_plot.items) == items_before


def test_a_redraw_sets_only_the_curves_that_changed(qtbot, plots):
    changed = []
    for name, curve in plots.curves.items():
        curve.sigPlotChanged.connect(lambda *_, n=name: changed.append(n))
    plots.add_epoch(epoch(1))
    plots.add_progress(progress([0.5, 1.0], [0.6, 0.5]))
    plots.flush()
    assert set(changed) == set(plots.curves)
    changed.clear()
    # between epochs only the smoothed batch loss grows: the other plots are not repainted
    plots.add_progress(progress([1.5], [0.45]))
    plots.flush()
    assert changed == ["batch_loss"]
    changed.clear()
    plots.add_epoch(epoch(2))
    plots.flush()
    assert "batch_loss" not in changed and {"loss", "metric", "learning_rate"} <= set(changed)
    assert plots.points("loss") == 2 and plots.points("batch_loss") == 3
    # a NaN (a diverging run's last loss) is still drawn as a gap, not a broken path
    plots.add_progress(progress([2.5], [math.nan]))
    plots.flush()
    assert plots.points("batch_loss") == 4
    # a new run clears every curve
    plots.reset("accuracy")
    assert plots.points("loss") == 0 and plots.points("batch_loss") == 0


def test_costly_frames_are_spaced_to_keep_drawing_within_its_budget(qtbot, plots,
                                                                    monkeypatch):
    from nnstudio.gui.plots import training_plots as tp

    plots.add_epoch(epoch(1))
    plots.flush()
    # a frame whose repaint took 50 ms: at a 2 % budget the next waits the longest allowed
    plots.graphics.painting_cpu += 0.050
    plots.add_epoch(epoch(2))
    plots.flush()
    assert plots.frame_cpu >= 0.050
    assert plots._timer.interval() == round(1000 / tp.REDRAW_MIN_HZ)
    # cheap frames (a huge budget here) come at the most per second again
    monkeypatch.setattr(tp, "REDRAW_BUDGET", 1e6)
    plots.add_epoch(epoch(3))
    plots.flush()
    assert plots._timer.interval() == round(1000 / tp.REDRAW_HZ)
    # between the two: cost / budget
    monkeypatch.setattr(tp, "REDRAW_BUDGET", 0.02)
    plots._frame_start_paint = plots.graphics.painting_cpu
    plots._pace(0.004)  # a 4 ms redraw, no repaint since: 4 ms / 2 % = 200 ms
    assert plots._timer.interval() == 200


def test_regression_shows_validation_r2_only(qtbot, plots):
    plots.reset("r2")
    for e in range(1, 6):
        plots.add_epoch(epoch(e, classify=False))
    plots.flush()
    assert plots.points("metric") == 0 and plots.points("val_metric") == 5
    names = [label.text for _, label in plots.metric_plot.legend.items]
    assert names == ["validation"]
    assert "R²" in plots.metric_plot.titleLabel.text


def test_crosshair_reads_every_series(qtbot, plots):
    for e in range(1, 21):
        plots.add_epoch(epoch(e))
    plots.flush()
    qtbot.wait(50)
    seen = []
    plots.epoch_hovered.connect(seen.append)
    vb = plots.loss_plot.vb
    pos = vb.mapViewToScene(QPointF(7, 0.5))
    plots.graphics.scene().sigMouseMoved.emit(pos)
    assert seen == [7]
    text = plots.readout.text()
    assert "Epoch 7" in text and "loss 0.4966 / 0.608" in text and "accuracy" in text
    assert "training / validation" in text and text.count(" / ") >= 2
    assert all(line.isVisible() and line.value() == 7 for line in plots.crosshairs)


def test_log_scale_toggle(qtbot, plots):
    plots.log_scale.setChecked(True)
    assert plots.loss_plot.ctrl.logYCheck.isChecked()
    plots.set_log_scale(False)
    assert not plots.log_scale.isChecked() and not plots.loss_plot.ctrl.logYCheck.isChecked()


def test_export_png_svg_and_csv(qtbot, plots, tmp_path):
    for e in range(1, 11):
        plots.add_epoch(epoch(e))
    plots.export_image(tmp_path / "plots.png")
    plots.export_image(tmp_path / "plots.svg")
    plots.export_csv(tmp_path / "history.csv")
    img = QImage(str(tmp_path / "plots.png"))
    assert img.width() >= 1200
    assert QSvgRenderer(str(tmp_path / "plots.svg")).isValid()
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert lines[0] == "epoch,loss,val_loss,accuracy,val_accuracy,learning_rate"
    assert len(lines) == 11 and lines[3].startswith("3,")
    assert float(lines[3].split(",")[1]) == pytest.approx(math.exp(-0.3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "plots.png",
                                                          "plots.svg"]
    with pytest.raises(ValueError):
        plots.export_image(tmp_path / "plots.jpg")


def test_history_csv_leaves_out_empty_columns(tmp_path):
    h = TrainingHistory("r2")
    h.add_epoch(EpochEnd(1, 2, 1.0, math.nan, {}, {}, 0.1, 0.1, True, 1))
    assert h.to_csv().splitlines() == ["epoch,loss,learning_rate", "1,1.0,0.1"]
    h.save_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().startswith("epoch,loss")


def test_result_charts(qtbot):
    cm_plot = ConfusionMatrixPlot()
    qtbot.addWidget(cm_plot)
    cm_plot.set_data([[5, 1, 0], [0, 7, 2], [1, 0, 9]], ["a", "b", "c"])
    assert cm_plot.labels[:3] == ["5", "1", "0"] and len(cm_plot.labels) == 9
    ticks = cm_plot.plot_item.getAxis("bottom")._tickLevels
    assert [name for _, name in ticks[0]] == ["a", "b", "c"]
    scatter = PredictedVsTruePlot()
    qtbot.addWidget(scatter)
    y = np.linspace(0, 10, 50)
    scatter.set_data(y, y + 0.5, "price")
    assert scatter.n_points == 50
    x, yy = scatter.identity.getData()
    assert x[0] == yy[0] == 0 and x[1] == yy[1] == 10.5
    hist = ResidualHistogram()
    qtbot.addWidget(hist)
    hist.set_data(y, y + np.sin(y))
    assert hist.counts.sum() == 50


def legend_names(plot) -> list[str]:
    return [label.text for _, label in plot.legend.items]


def test_legends_list_curves_with_data_and_hide_where_they_do_not_fit(qtbot, plots):
    # A new plot lists nothing (no empty entries) and shows no legend box.
    assert legend_names(plots.loss_plot) == [] and not plots.loss_plot.legend.isVisible()
    plots.add_progress(progress([0.5, 1.0], [0.9, 0.7]))
    for e in range(1, 4):
        plots.add_epoch(epoch(e))
    plots.flush()
    assert legend_names(plots.loss_plot) == ["training", "validation", "per batch"]
    assert plots.loss_plot.legend.isVisible()  # 900 px wide: room for it
    # In a narrow dock the legend would cover the curves and be cut by the axis: hidden.
    plots.resize(330, 240)
    qtbot.waitUntil(lambda: not plots.loss_plot.legend.isVisible())
    assert plots.loss_plot.vb.boundingRect().width() < (
        plots.loss_plot.legend.boundingRect().width() + 16)
    plots.resize(900, 420)
    qtbot.waitUntil(plots.loss_plot.legend.isVisible)


def test_the_metric_plot_is_titled_for_the_task_before_any_run(qtbot, plots):
    plots.set_metric("r2")
    assert "R²" in plots.metric_plot.titleLabel.text
    plots.set_metric("accuracy")
    assert "Accuracy" in plots.metric_plot.titleLabel.text
