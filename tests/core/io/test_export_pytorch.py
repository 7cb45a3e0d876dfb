"""The PyTorch export: every layer type computes what nnstudio computes, one SGD step moves
the weights as nnstudio's does, the exported data is nnstudio's, and the files are sound."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from nnstudio.core.engine.layer import LAYERS
from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.optimizers import make_optimizer
from nnstudio.core.errors import ExportError
from nnstudio.core.io.export_pytorch import CONVERTERS, FILES, NOT_EXPORTED, export_pytorch
from nnstudio.core.io.export_pytorch.model_code import identifiers, render_model
from nnstudio.core.training.trainer import fusion_point, graph_step

from .conftest import chain, make_project
from .pytorch_helpers import (
    NETWORKS,
    batch,
    exported_modules,
    network,
    rel_error,
    spec,
    write_model,
)

torch = pytest.importorskip("torch")


def test_every_layer_type_has_a_pytorch_converter():
    """A layer type added to the engine must get an entry in converters.CONVERTERS (or a
    reason in NOT_EXPORTED): the export would otherwise refuse networks using it."""
    missing = sorted(set(LAYERS) - set(CONVERTERS) - set(NOT_EXPORTED))
    assert not missing, f"layer types without a PyTorch converter: {missing}"
    assert all(reason.strip() for reason in NOT_EXPORTED.values())


def test_the_parity_networks_cover_every_converter():
    used = {n.type for s, _, _ in NETWORKS.values() for n in s.nodes}
    assert set(CONVERTERS) <= used, f"no parity test for {sorted(set(CONVERTERS) - used)}"


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_exported_module_computes_what_nnstudio_computes(name, tmp_path):
    net = network(name)
    x, _ = batch(name, n=7)
    want = net.predict(x)
    folder = write_model(tmp_path / name, name)
    np.savez(folder / "w.npz", **net.state_dict())
    with exported_modules(folder) as m:
        model = m.model.Net().eval()
        m.nnstudio_layers.load_weights(model, folder / "w.npz")
        with torch.no_grad():
            got = model(torch.as_tensor(x)).numpy()
        # and the weights go back out unchanged, in nnstudio's layout
        back = m.nnstudio_layers.weight_arrays(model)
    assert got.shape == want.shape
    assert rel_error(got, want) <= 1e-5
    for key, arr in net.state_dict().items():
        np.testing.assert_array_equal(back[key], arr, err_msg=key)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_exported_module_computes_what_nnstudio_computes_in_float64(name, tmp_path):
    """The same in double precision: the generated code follows nnstudio's arithmetic, not
    just its float32 rounding. (nnstudio's exact GELU uses a fit of Φ with relative error
    < 1.2e-7, PyTorch the exact erf: that network agrees to 1e-6.)"""
    net = network(name, dtype=np.float64)
    x, _ = batch(name, n=5, seed=3)
    want = net.predict(x.astype(np.float64))
    folder = write_model(tmp_path / name, name)
    np.savez(folder / "w.npz", **net.state_dict())
    with exported_modules(folder) as m:
        model = m.model.Net().double().eval()
        m.nnstudio_layers.load_weights(model, folder / "w.npz")
        with torch.no_grad():
            got = model(torch.as_tensor(x, dtype=torch.float64)).numpy()
    exact_gelu = any(n.type == "GELU" and not n.config.get("approximate")
                     for n in NETWORKS[name][0].nodes)
    assert got.dtype == np.float64
    assert rel_error(got, want) <= (1e-6 if exact_gelu else 1e-10)


@pytest.mark.parametrize("name", sorted(set(NETWORKS) - {"dense"}))
def test_one_full_batch_sgd_step_equals_nnstudio(name, tmp_path):
    """Same weights, same batch: the loss and the updated weights agree (float32)."""
    _, _, loss_name = NETWORKS[name]
    net = network(name)
    x, y = batch(name, n=6)
    folder = write_model(tmp_path / name, name)
    np.savez(folder / "w.npz", **net.state_dict())
    settings = {"loss": loss_name, "task": "x", "weight_decay": 0.01, "clip_norm": 5.0,
                "clip_value": None, "fused": None,
                "optimizer": {"type": "sgd", "learning_rate": 0.1, "momentum": 0.9,
                              "nesterov": False}}
    with exported_modules(folder) as m:
        settings["fused"] = m.model.FUSED_ACTIVATION
        model = m.model.Net().train()
        m.nnstudio_layers.load_weights(model, folder / "w.npz")
        optimizer = m.train.build_optimizer(model, settings)
        value, _ = m.train.compute_loss(model, torch.as_tensor(x), m.train.targets(y, settings),
                                        settings)
        value.backward()
        m.train.clip_gradients(model, settings)
        optimizer.step()
        after = m.nnstudio_layers.weight_arrays(model)

    loss = get_loss(loss_name)
    yy = y if loss_name == "cross_entropy" else y.astype(np.float32)
    ours, _ = graph_step(net, loss, fusion_point(net, loss), x, yy)
    opt = make_optimizer(dict(settings["optimizer"]), net.params, net.grads, net.n_decay,
                         weight_decay=0.01, clip_norm=5.0)
    opt.step()
    assert float(value.detach()) == pytest.approx(ours, rel=1e-5)
    for key, arr in net.state_dict().items():
        assert rel_error(after[key], arr) <= 1e-5, key


def test_fused_loss_uses_the_logits():
    s, shape, loss = NETWORKS["dense"]
    code = render_model(s, shape, loss)
    assert code.fused == "Softmax" and "if logits:" in code.source
    assert render_model(s, shape, "mse").fused is None
    # a Softmax straight after the Input is not fused (nnstudio's rule)
    bare = spec([("in", "Input", {}), ("p", "Softmax", {})])
    assert render_model(bare, (3,), "cross_entropy").fused is None


def test_node_ids_reach_the_code_only_as_literals(tmp_path):
    """Ids with quotes, spaces or code in them are repr'd data, identifiers are rebuilt."""
    evil = 'x"); import os; os.system("echo hacked'
    s = spec([("in", "Input", {}), (evil, "Dense", {"units": 2}), ("class", "ReLU", {}),
              ("2 dense", "Dense", {"units": 1})])
    code = render_model(s, (3,), "mse", title='"""; raise SystemExit  #')
    compile(code.source, "model.py", "exec")
    names = identifiers(["in", evil, "class", "2 dense", "x", "self"])
    assert all(v.isidentifier() for v in names.values())
    assert len(set(names.values())) == len(names)
    assert repr(evil) in code.source
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.py").write_text(code.source)
    for name in ("nnstudio_layers.py", "nnstudio_sequence.py"):
        shutil.copyfile(FILES / name, folder / name)
    with exported_modules(folder) as m:
        assert m.model.TITLE == '"""; raise SystemExit  #'
        assert m.model.NODES[evil] == names[evil]
        assert m.model.Net()(torch.zeros(2, 3)).shape == (2, 1)


def test_padding_masks_reach_the_layers_that_read_them_in_nnstudio():
    """Attention and sequence pooling get the mask of the nearest Embedding upstream when it
    masks padding and the sequence still has its length (a pooled one does not)."""
    s, shape, loss = NETWORKS["text_pool"]
    source = render_model(s, shape, loss).source
    assert "emb_mask = self.emb.padding_mask(in_)" in source
    assert "last = self.last(emb, mask=emb_mask)" in source
    assert "gap = self.gap(mp)\n" in source  # MaxPool1D halved the steps: no mask
    assert "gap2 = self.gap2(raw)\n" in source  # mask_padding off
    assert "raw_mask" not in source
    # a node named like the mask variable does not clash with it
    clash = spec([("in", "Input", {}), ("e", "Embedding", {"vocab_size": 5, "dim": 2}),
                  ("e_mask", "GlobalAvgPool1D", {})])
    code = render_model(clash, (4,), "mse").source
    assert "e_mask_ = self.e.padding_mask(in_)" in code
    assert "e_mask = self.e_mask(e, mask=e_mask_)" in code


@pytest.mark.parametrize("edges,message", [
    ([("a", "h"), ("b", "h"), ("h", "o")],
     "the network has 2 Inputs; the PyTorch export needs the columns of the prepared data "
     "each Input takes (they come with the project's data)"),
    ([("a", "h"), ("h", "o"), ("h", "o2")],
     "the network has 2 outputs; the PyTorch export needs each to end in an Output layer "
     "naming the target it predicts"),
])
def test_several_inputs_or_outputs_without_columns_or_targets_are_one_sentence(edges,
                                                                                message):
    """Several Inputs need their columns, several outputs their targets (see
    test_export_pytorch_several.py for the networks that have them)."""
    nodes = [("a", "Input", {}), ("b", "Input", {}), ("h", "Dense", {"units": 2}),
             ("o", "Dense", {"units": 1}), ("o2", "Dense", {"units": 1})]
    used = {n for e in edges for n in e}
    s = spec([n for n in nodes if n[0] in used], edges)
    with pytest.raises(ExportError) as e:
        render_model(s, (3,), "mse")
    assert str(e.value) == message


def test_an_input_taking_chosen_columns_needs_them():
    s = spec([("a", "Input", {"columns": ["x1", "x2"]}), ("h", "Dense", {"units": 2})])
    with pytest.raises(ExportError, match="Input 'a' takes chosen columns; the PyTorch "
                       "export needs the columns"):
        render_model(s, (2,), "mse")
    code = render_model(s, (3,), "mse", input_columns={"a": [2, 0]}).source
    assert "torch.tensor([2, 0], dtype=torch.long)" in code
    assert "a = self.a(x.index_select(1, self.a_columns))" in code


def test_a_layer_type_without_converter_is_one_clear_message(monkeypatch):
    monkeypatch.delitem(CONVERTERS, "Tanh")
    s = spec([("in", "Input", {}), ("h", "Dense", {"units": 2}), ("t", "Tanh", {})])
    with pytest.raises(ExportError, match=r"nodes\[2\] 't'.*Tanh cannot be exported"):
        render_model(s, (3,), "mse")


def _house_project(tmp_path, **training):
    return make_project(
        {"example": "house_price", "target": "price"},
        chain("Input", ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 1})),
        base_dir=tmp_path, **training)


def test_export_writes_a_complete_project(tmp_path):
    project = _house_project(tmp_path, optimizer={"type": "adamw", "learning_rate": 0.01},
                             schedule={"type": "cosine"}, early_stopping={"patience": 3},
                             clip_norm=1.0)
    out = export_pytorch(tmp_path / "export", project=project)
    names = {p.name for p in out.iterdir()}
    assert {"model.py", "nnstudio_layers.py", "data.py", "train.py", "data.json",
            "training.json", "split.npz", "init_weights.npz", "export.json",
            "requirements.txt", "README.md", "data"} <= names
    settings = json.loads((out / "training.json").read_text())
    assert settings["optimizer"] == {"type": "adamw", "learning_rate": 0.01, "beta_1": 0.9,
                                     "beta_2": 0.999, "epsilon": 1e-7}
    assert settings["weight_decay"] == 0.01  # nnstudio's AdamW default, written out
    assert settings["schedule"] == {"type": "cosine", "min_lr": 0.0}
    assert settings["early_stopping"] == {"patience": 3, "min_delta": 0.0, "restore_best": True}
    assert "torchrun --nproc_per_node" in (out / "README.md").read_text()
    assert "torch" in (out / "requirements.txt").read_text()


def test_exported_data_is_nnstudios_prepared_data(tmp_path, datasets, mnist_npz):
    """house price (example, one-hot + scaling), King County CSV (dates, categories, missing
    values filled), MNIST arrays: bit-identical splits."""
    from nnstudio.core.io.pipeline import load_data

    from .conftest import kc_dataset

    cases = {
        "house": _house_project(tmp_path),
        "kc": make_project(kc_dataset(datasets), chain("Input", ("Dense", {"units": 1})),
                           base_dir=tmp_path),
        "mnist": make_project({"source": str(mnist_npz), "x_key": "x", "y_key": "y"},
                              chain("Input", "Flatten", ("Dense", {"units": 10}), "Softmax"),
                              base_dir=tmp_path, loss="cross_entropy"),
    }
    for name, project in cases.items():
        prepared = load_data(project)
        out = export_pytorch(tmp_path / name, project=project, prepared=prepared)
        with exported_modules(out) as m:
            splits = m.data.load_splits(out)
        for split, (x, y) in (("train", (prepared.x_train, prepared.y_train)),
                              ("validation", (prepared.x_val, prepared.y_val)),
                              ("test", (prepared.x_test, prepared.y_test))):
            np.testing.assert_array_equal(splits[split][0], x, err_msg=f"{name} {split} x")
            np.testing.assert_array_equal(splits[split][1], y, err_msg=f"{name} {split} y")
            assert splits[split][0].dtype == x.dtype and splits[split][1].dtype == y.dtype


def test_exported_data_reads_decimal_commas_and_date_parts_as_nnstudio(tmp_path):
    """A European CSV: ';', decimal commas, a quoted thousands column, dates as year, day
    of year and weekday, a categorical column with gaps filled."""
    from nnstudio.core.io.pipeline import load_data

    rng = np.random.default_rng(3)
    lines = ["datum;temperatur;umsatz;laden;menge"]
    for _ in range(120):
        day = np.datetime64("2021-01-01") + int(rng.integers(0, 900))
        shop = ["", "Nord", "Süd", "West"][int(rng.integers(0, 4))]
        temp = f"{rng.normal(12, 8):.1f}".replace(".", ",")
        sales = f"{rng.uniform(500, 50_000):,.2f}"
        lines.append(f'{day};{temp};"{sales}";{shop};{int(rng.integers(1, 40))}')
    (tmp_path / "laden.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    project = make_project(
        {"source": "laden.csv", "target": "menge", "missing": "most_frequent",
         "date_features": ["year", "day_of_year", "weekday"]},
        chain("Input", ("Dense", {"units": 1})), base_dir=tmp_path)
    prepared = load_data(project)
    assert prepared.x_train.shape[1] == 1 + 2 + 2 + 1 + 1 + 3  # date parts, 2 numbers, shops
    out = export_pytorch(tmp_path / "export", project=project, prepared=prepared)
    assert json.loads((out / "data.json").read_text())["number_formats"] == {
        "temperatur": ",", "umsatz": "grouped"}
    with exported_modules(out) as m:
        splits = m.data.load_splits(out)
    np.testing.assert_array_equal(splits["train"][0], prepared.x_train)
    np.testing.assert_array_equal(splits["test"][0], prepared.x_test)
    np.testing.assert_array_equal(splits["validation"][1], prepared.y_val)


def test_export_of_a_model_file_needs_data_then_splits_like_nnstudio(tmp_path):
    from nnstudio.core.io.pipeline import load_data, run_training

    project = _house_project(tmp_path)
    prepared = load_data(project)
    model = run_training(project, prepared, epochs=1)
    out = export_pytorch(tmp_path / "from_model", model=model)
    assert json.loads((out / "data.json").read_text())["source"] is None
    with exported_modules(out) as m:
        with pytest.raises(m.data.DataError, match="--data"):
            m.data.load_splits(out)
        csv = tmp_path / "houses.csv"
        export_pytorch(tmp_path / "with_data", project=project, prepared=prepared)
        csv.write_bytes((tmp_path / "with_data" / "data" / "house_price.csv").read_bytes())
        splits = m.data.load_splits(out, data=csv)
    np.testing.assert_array_equal(splits["test"][0], prepared.x_test)
    np.testing.assert_array_equal(splits["validation"][1], prepared.y_val)
    np.testing.assert_array_equal(np.load(out / "weights.npz")["n1/W"],
                                  model.network.state_dict()["n1/W"])


def test_model_weights_that_do_not_fit_the_project_are_refused(tmp_path):
    from nnstudio.core.io.pipeline import load_data, run_training

    other = make_project({"example": "house_price", "target": "price"},
                         chain("Input", ("Dense", {"units": 3}), ("Dense", {"units": 1})),
                         base_dir=tmp_path)
    model = run_training(other, load_data(other), epochs=0)
    with pytest.raises(ExportError, match="do not fit"):
        export_pytorch(tmp_path / "x", project=_house_project(tmp_path), model=model)
    assert not (tmp_path / "x").exists()


def test_initial_weights_of_a_recorded_run(tmp_path):
    from nnstudio.core.insight.replay import RunRecord
    from nnstudio.core.io.pipeline import build_network, load_data

    project = _house_project(tmp_path)
    prepared = load_data(project)
    net = build_network(project, prepared)
    net.params[...] = np.random.default_rng(5).normal(size=net.params.shape)  # a replayed start
    record = RunRecord.capture(net, project.training)
    out = export_pytorch(tmp_path / "recorded", project=project, prepared=prepared,
                         run_record=record)
    with np.load(out / "init_weights.npz") as z:
        for key, arr in net.state_dict().items():
            np.testing.assert_array_equal(z[key], arr, err_msg=key)
    # without it: nnstudio's initialization of the seed, what a new run starts from
    out = export_pytorch(tmp_path / "seeded", project=project, prepared=prepared)
    fresh = build_network(project, prepared).state_dict()
    with np.load(out / "init_weights.npz") as z:
        for key, arr in fresh.items():
            np.testing.assert_array_equal(z[key], arr, err_msg=key)
    other = _house_project(tmp_path)
    other.network["nodes"][1]["units"] = 3
    with pytest.raises(ExportError, match="another network"):
        export_pytorch(tmp_path / "x", project=other, prepared=prepared, run_record=record)
