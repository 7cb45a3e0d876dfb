"""A network that cannot learn is refused; the Properties panel shows what training will
hold in memory; a large network is built off the GUI thread; closing a project lets its
arrays go."""

from __future__ import annotations

import gc
import itertools
import threading
import weakref

import numpy as np
import pytest

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.graph import ReplaceAll

pytestmark = pytest.mark.gui


@pytest.fixture
def window(workflow_window):
    return workflow_window


def _data(window, tmp_path, n_features=4):
    rng = np.random.default_rng(0)
    path = tmp_path / "d.csv"
    x = rng.normal(size=(200, n_features))
    cols = [f"x{i}" for i in range(n_features)]
    lines = [",".join([*cols, "y"])] + [",".join(f"{v:.3f}" for v in row) + f",{row.sum():.3f}"
                                        for row in x]
    path.write_text("\n".join(lines) + "\n")
    spec = DatasetSpec(source=str(path), target="y")
    window.workflow.adopt_dataset(spec, build_dataset(spec))


def _chain(*layers):
    nodes = [{"id": "in", "type": "Input"}]
    for i, (kind, cfg) in enumerate(layers):
        nodes.append({"id": f"n{i}", "type": kind, **cfg})
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [[a, b] for a, b in itertools.pairwise(ids)]}


def test_an_input_alone_is_refused_in_one_sentence(qtbot, window, tmp_path):
    _data(window, tmp_path)
    window.undo_stack.push_command(ReplaceAll(window.document, _chain()))
    panel = window.workflow.training
    assert panel.start() is False
    assert "no trainable parameter" in panel.banner.text()
    assert not panel.running and window.workflow.session.model is None


def test_properties_show_the_training_memory_and_follow_the_batch_size(qtbot, window,
                                                                       tmp_path):
    _data(window, tmp_path)
    window.undo_stack.push_command(ReplaceAll(window.document,
                                              _chain(("Dense", {"units": 64}),
                                                     ("Dense", {"units": 1}))))
    props = window.properties
    label = props.memory_label
    assert label.isVisibleTo(props)
    assert "Training memory ≈" in label.text() and "at batch size" in label.text()
    window.workflow.training.batch_size.setValue(2048)
    assert "batch size 2048" in label.text()
    assert props.memory.batch_size == 2048
    small = props.memory.activations
    window.workflow.training.batch_size.setValue(4096)  # (past the validation pass's batches)
    assert props.memory.activations == 2 * small


def test_a_network_too_big_for_memory_is_refused_before_it_is_built(qtbot, window,
                                                                    tmp_path, monkeypatch):
    from nnstudio.core.training import memory

    _data(window, tmp_path)
    window.undo_stack.push_command(ReplaceAll(window.document,
                                              _chain(("Dense", {"units": 4096}),
                                                     ("Dense", {"units": 4096}),
                                                     ("Dense", {"units": 1}))))
    # A machine with 200 MB free: the 17 M parameters and Adam's state do not fit.
    monkeypatch.setattr(memory, "machine_memory", lambda: (400 * 10**6, 200 * 10**6))
    window.properties._update_memory()
    assert "more than this machine has free" in window.properties.memory_label.text()
    panel = window.workflow.training
    assert panel.start() is False
    assert "more than this machine has free" in panel.banner.text()


def test_a_large_network_is_built_off_the_gui_thread(qtbot, window, tmp_path):
    _data(window, tmp_path, n_features=4)
    window.undo_stack.push_command(ReplaceAll(window.document,
                                              _chain(("Dense", {"units": 1500}),
                                                     ("Dense", {"units": 1500}),
                                                     ("Dense", {"units": 1}))))
    panel = window.workflow.training
    panel.epochs.setValue(1)
    assert window.document.report.total_params > 2_000_000
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=180_000):
        assert panel.start() is True
        assert panel.running and "Building the network" in panel.status.text()
    worker = panel.builder.last_worker
    assert worker.built_in is not None and worker.built_in != threading.get_ident()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)


def test_closing_a_project_lets_its_network_and_data_go(qtbot, window, tmp_path):
    _data(window, tmp_path)
    window.undo_stack.push_command(ReplaceAll(window.document,
                                              _chain(("Dense", {"units": 256}),
                                                     ("Dense", {"units": 1}))))
    window.docks["insight"].show()  # its views hold the network while they show it
    window.docks["insight"].raise_()
    panel = window.workflow.training
    panel.epochs.setValue(2)
    with qtbot.waitSignal(window.workflow.session.training_finished, timeout=120_000):
        panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10_000)
    qtbot.wait(300)
    session = window.workflow.session
    assert session.run_record is not None
    model = weakref.ref(session.model.network)
    prepared = weakref.ref(session.prepared)
    window.undo_stack.setClean()
    assert window.new_project()
    qtbot.wait(50)
    gc.collect()
    assert session.model is None and session.prepared is None
    assert session.run_record is None  # it holds a copy of the initial weights
    assert model() is None
    assert prepared() is None


def test_editing_a_huge_design_builds_no_network_on_the_gui_thread(qtbot, window, tmp_path,
                                                                    monkeypatch):
    from nnstudio.core.engine import network as engine_network

    _data(window, tmp_path)
    built = []
    original = engine_network.Network.__init__

    def counting(self, spec, input_shape, *args, **kwargs):
        built.append(threading.get_ident())
        original(self, spec, input_shape, *args, **kwargs)

    monkeypatch.setattr(engine_network.Network, "__init__", counting)
    window.undo_stack.push_command(ReplaceAll(window.document,
                                              _chain(("Dense", {"units": 2048}),
                                                     ("Dense", {"units": 2048}),
                                                     ("Dense", {"units": 1}))))
    qtbot.wait(50)
    assert window.document.report.total_params > 4_000_000
    assert threading.get_ident() not in built  # the insight views did not build it
    assert window.insight_panel.source.network is None
    # A small design is still shown before training.
    window.undo_stack.push_command(ReplaceAll(window.document,
                                              _chain(("Dense", {"units": 8}),
                                                     ("Dense", {"units": 1}))))
    qtbot.wait(50)
    assert window.insight_panel.source.network is not None
