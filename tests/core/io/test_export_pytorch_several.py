"""The PyTorch export of networks with several Inputs and several outputs.

The houses table of ``tests/core/training/test_several_outputs.py`` feeds two Inputs (numbers,
a city's one-hot block) and two Outputs (a price, a sold-fast class with weight 0.5). Checked:
the exported ``Net`` computes nnstudio's outputs per target and the gradients of the weighted
total loss in float64; one Output naming its target; a text column's token ids in one Input
beside the numbers in another; ``train.py`` trains nnstudio's run (the same losses per epoch)
and reports per-output metrics; torchrun; a model file alone with several targets is refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnstudio.cli import main as cli_main
from nnstudio.core.data.binding import input_columns
from nnstudio.core.engine.losses import get_loss
from nnstudio.core.engine.network import Network
from nnstudio.core.errors import ExportError
from nnstudio.core.io.export_pytorch import FILES, export_pytorch
from nnstudio.core.io.pipeline import load_data, run_training
from nnstudio.core.io.project import load_project
from nnstudio.core.io.run_import import read_run
from nnstudio.core.training.heads import Heads
from tests.core.training.test_several_outputs import (
    ONE_NAMED,
    WORDS_AND_NUMBERS,
    project,
    two_by_two,
)

from .pytorch_helpers import exported_modules, rel_error

torch = pytest.importorskip("torch")

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}


def _export(tmp_path, network, epochs=3, **dataset):
    proj = project(tmp_path, network, epochs=epochs, **dataset)
    prepared = load_data(proj)
    out = export_pytorch(tmp_path / "export", project=proj, prepared=prepared)
    return proj, prepared, out


def _engine_step(proj, prepared, out, x, y):
    """nnstudio in float64 from the export's initial weights: ``(total loss, {output id:
    output}, {"<node>/<name>": gradient})`` of the weighted total (or the one loss)."""
    spec = proj.network_spec()
    net = Network(spec, prepared.input_shape, dtype=np.float64, seed=0,
                  input_columns=input_columns(spec, prepared.preparation))
    with np.load(out / "init_weights.npz") as z:
        net.load_state_dict({k: z[k] for k in z.files})
    heads = Heads.build(net, prepared.preparation.heads)
    total, preds = heads.step(x, y)
    preds = {k: v.copy() for k, v in preds.items()}
    kept = net.params.copy()
    net.params[...] = net.grads
    grads = net.state_dict()
    net.params[...] = kept
    return total, preds, grads


def _torch_step(m, out, x, y, settings):
    """The exported module in float64, the same weights: loss, outputs, gradients."""
    model = m.model.Net().double().train()
    m.nnstudio_layers.load_weights(model, out / "init_weights.npz")
    model.double()
    xt = torch.as_tensor(x)
    value, _ = m.train.heads_loss(model, xt, m.train.targets(y, settings), settings)
    value.backward()
    with torch.no_grad():
        outs = m.train.head_outputs(model(xt), settings)
        for p in model.parameters():
            p.copy_(p.grad)

    def as64(t):
        return t.detach().to("cpu", torch.float64).numpy().copy()

    # the layer modules convert to nnstudio's layout through _np (float32): float64 here
    m.nnstudio_layers._np = as64
    m.nnstudio_sequence._np = as64
    grads = {f"{node}/{k}": v for node, attr in model.NODES.items()
             for k, v in getattr(model, attr).nnstudio_arrays().items()}
    return float(value.detach()), {k: as64(v) for k, v in outs.items()}, grads


def _parity(proj, prepared, out):
    x = np.asarray(prepared.x_train[:9], np.float64)
    y = prepared.y_train[:9]
    settings = json.loads((out / "training.json").read_text())
    total, preds, grads = _engine_step(proj, prepared, out, x, y)
    with exported_modules(out) as m:
        value, outs, tgrads = _torch_step(m, out, x, y, settings)
    assert value == pytest.approx(total, rel=1e-12)
    targets = {h["node"]: h["target"] for h in settings["heads"]}
    assert sorted(outs) == sorted(targets.values())
    for node, target in targets.items():
        assert rel_error(outs[target], preds[node]) <= 1e-12, target
    assert sorted(tgrads) == sorted(grads)
    for key, g in grads.items():
        assert np.abs(g).max() > 0, key  # every weight takes part
        assert rel_error(tgrads[key], g) <= 1e-10, key
    return settings


def test_two_inputs_two_outputs_compute_what_nnstudio_computes(tmp_path):
    proj, prepared, out = _export(tmp_path, two_by_two())
    settings = _parity(proj, prepared, out)
    assert [(h["target"], h["loss"], h["weight"], h["fused"]) for h in settings["heads"]] == [
        ("price", "mse", 1.0, None), ("sold", "cross_entropy", 0.5, "Softmax")]
    source = (out / "model.py").read_text()
    cols = input_columns(proj.network_spec(), prepared.preparation)
    assert f"torch.tensor({[int(c) for c in cols['size']]!r}, dtype=torch.long)" in source
    assert "size = self.size(x.index_select(1, self.size_columns))" in source
    assert "return {'price': price, 'sold': s}" in source  # logits of the fused head
    with exported_modules(out) as m:
        net = m.model.Net()
        assert m.model.OUTPUT_SHAPES == {"price": (1,), "sold": (2,)}
        assert set(net.state_dict()) == {k for k in net.state_dict() if "columns" not in k}
    assert ("`price`: mse × 1; `sold`: cross_entropy × 0.5 (from the logits before its "
            "Softmax)") in (out / "README.md").read_text()
    # the data is nnstudio's prepared arrays, the targets packed (N, 2)
    spec = json.loads((out / "data.json").read_text())
    assert spec["kind"] == "prepared" and spec["prepared"] == "targets"
    with np.load(out / "data" / "prepared.npz") as z:
        np.testing.assert_array_equal(z["y_train"], prepared.y_train)
        assert z["y_train"].shape == (prepared.counts["train"], 2)


def test_binary_cross_entropy_and_mae_outputs_compute_what_nnstudio_computes(tmp_path):
    """The other losses: a Sigmoid fused with binary cross-entropy, MAE on the number."""
    net = two_by_two(sold_weight=2.0)
    for node in net["nodes"]:
        if node["id"] == "s":
            node["units"] = 1
        elif node["id"] == "sm":
            node["type"] = "Sigmoid"
        elif node["id"] == "price":
            node["loss"] = "mae"
    proj, prepared, out = _export(tmp_path, net)
    settings = _parity(proj, prepared, out)
    assert [(h["loss"], h["weight"], h["fused"]) for h in settings["heads"]] == [
        ("mae", 1.0, None), ("binary_cross_entropy", 2.0, "Sigmoid")]


def test_one_output_naming_its_target_computes_what_nnstudio_computes(tmp_path):
    proj, prepared, out = _export(tmp_path, ONE_NAMED, target="city", ignore=["notes", "price"])
    settings = _parity(proj, prepared, out)
    assert settings["heads"] == [{"node": "sold", "target": "sold", "column": 0,
                                  "loss": "cross_entropy", "weight": 1.0,
                                  "task": "classification", "n_classes": 2, "at": "d",
                                  "fused": "Softmax"}]
    with exported_modules(out) as m:
        y = m.model.Net()(torch.zeros(3, prepared.input_shape[0]))
        assert isinstance(y, torch.Tensor) and tuple(y.shape) == (3, 2)


def test_text_token_ids_in_one_input_numbers_in_another(tmp_path):
    """A text column's token ids feed an Embedding, the numbers a Dense: the same outputs and
    gradients as nnstudio, and train.py trains it."""
    proj, prepared, out = _export(
        tmp_path, WORDS_AND_NUMBERS, ignore=["city", "sold"],
        text={"columns": ["notes"], "encoding": "sequence", "length": 4})
    spec = proj.network_spec()
    cols = input_columns(spec, prepared.preparation)
    x = np.asarray(prepared.x_train[:9], np.float64)
    y = np.asarray(prepared.y_train[:9], np.float64).reshape(9, -1)
    net = Network(spec, prepared.input_shape, dtype=np.float64, input_columns=cols)
    with np.load(out / "init_weights.npz") as z:
        net.load_state_dict({k: z[k] for k in z.files})
    want = net.forward(x, training=True).copy()
    loss = get_loss("mse")
    net.backward(loss.grad(want, y))
    kept = net.params.copy()
    net.params[...] = net.grads
    grads = net.state_dict()
    net.params[...] = kept
    with exported_modules(out) as m:
        model = m.model.Net().double()
        m.nnstudio_layers.load_weights(model, out / "init_weights.npz")
        model.double()
        pred = model(torch.as_tensor(x))
        torch.nn.functional.mse_loss(pred, torch.as_tensor(y)).backward()
        got = pred.detach().numpy()
        emb, dense = model.emb.E.grad.numpy(), model.h.weight.grad.numpy().T
    assert rel_error(got, want) <= 1e-12
    # the gradients reach each Input's branch as in nnstudio
    assert rel_error(emb, grads["emb/E"]) <= 1e-10
    assert rel_error(dense, grads["h/W"]) <= 1e-10
    assert np.abs(emb).max() > 0 and np.abs(dense).max() > 0
    assert "self.emb.padding_mask(" in (out / "model.py").read_text()
    run = subprocess.run([sys.executable, str(out / "train.py"), "--threads", "1",
                          "--epochs", "2"], capture_output=True, text=True, timeout=300,
                         env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    assert set(metrics["history"]) >= {"loss", "val_loss", "val_r2"}


def test_train_py_trains_nnstudio_s_run_with_per_output_metrics(tmp_path):
    proj, prepared, out = _export(tmp_path, two_by_two(), epochs=4)
    run = subprocess.run([sys.executable, str(out / "train.py"), "--threads", "1"],
                         capture_output=True, text=True, timeout=300, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "1·mse(price) + 0.5·cross_entropy(sold)" in run.stdout
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    history, summary = metrics["history"], metrics["summary"]
    ours = run_training(proj, prepared)
    # the same run: nnstudio's initial weights, epoch order and losses
    assert len(history["loss"]) == 4
    for key in ("loss", "val_loss", "val_price/r2", "val_sold/accuracy", "val_sold/loss",
                "val_price/mae"):
        np.testing.assert_allclose(history[key], ours.history[key], rtol=2e-3, err_msg=key)
    assert "accuracy" not in history  # nnstudio keeps no training accuracy per output
    test = summary["metrics"]["test"]
    assert test["loss"] == pytest.approx(test["price/loss"] + 0.5 * test["sold/loss"])
    assert test["price/r2"] > 0.8 and test["sold/accuracy"] > 0.65, test
    # regression scores in the price's own units, as nnstudio reports them
    want = ours.summary["metrics"]["test"]
    for key in ("price/mae", "price/rmse", "price/r2", "sold/accuracy", "loss"):
        assert test[key] == pytest.approx(want[key], rel=2e-3), key
    assert test["price/mae"] > 100
    # import-run brings it back: the model predicts each target as the PyTorch module does
    model = read_run(out / "run", prepared)
    assert model.summary["trained_with"] == "pytorch"
    assert model.summary["metrics"]["test"]["price/r2"] == pytest.approx(test["price/r2"],
                                                                          rel=1e-4)
    with exported_modules(out) as m:
        net = m.model.Net().eval()
        m.nnstudio_layers.load_weights(net, out / "run" / "weights.npz")
        with torch.no_grad():
            theirs = net(torch.as_tensor(prepared.x_test))
    mine = model.network.predict(np.asarray(prepared.x_test, np.float32))
    assert rel_error(theirs["price"].numpy(), mine["price"]) <= 1e-5
    assert rel_error(theirs["sold"].numpy(), mine["sold"]) <= 1e-5
    assert cli_main(["import-run", str(out / "run"), "--project", str(proj.path)]) == 0
    assert load_project(proj.path).runs.current.kind == "import"


@pytest.mark.slow
def test_torchrun_two_processes_train_several_outputs(tmp_path):
    """DistributedDataParallel (gloo, 2 processes) with a dict output: identical weights in
    both processes, and nnstudio's training's."""
    proj, prepared, out = _export(tmp_path, two_by_two(), epochs=2)
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
         "2", str(out / "train.py"), "--threads", "1", "--weights-per-rank"],
        capture_output=True, text=True, timeout=600, env=ENV, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    with np.load(out / "run" / "weights.rank0.npz") as a, \
            np.load(out / "run" / "weights.rank1.npz") as b:
        for k in a.files:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        final = {k: a[k] for k in a.files}
    for k, v in run_training(proj, prepared).network.state_dict().items():
        assert rel_error(final[k], v) <= 1e-3, k


def test_a_model_file_alone_with_several_targets_is_refused(tmp_path):
    proj = project(tmp_path, two_by_two(), epochs=1)
    model = run_training(proj, load_data(proj))
    with pytest.raises(ExportError, match="targets named by its Output layers"):
        export_pytorch(tmp_path / "alone", model=model)
    assert not (tmp_path / "alone").exists()


def test_a_model_file_alone_with_two_inputs_and_one_output_trains_from_data(tmp_path):
    """Without targets named by Outputs data.py prepares the row from ``--data``; the
    model's Inputs take their columns of it (recorded in the model file)."""
    net = {"nodes": [{"id": "size", "type": "Input", "columns": ["area", "rooms", "age"]},
                     {"id": "place", "type": "Input", "columns": ["city"]},
                     {"id": "h1", "type": "Dense", "units": 8},
                     {"id": "h2", "type": "Dense", "units": 4},
                     {"id": "join", "type": "Concatenate"},
                     {"id": "out", "type": "Dense", "units": 1}],
           "edges": [["size", "h1"], ["place", "h2"], ["h1", "join"], ["h2", "join"],
                     ["join", "out"]]}
    proj = project(tmp_path, net, epochs=2, ignore=["notes", "sold"])
    prepared = load_data(proj)
    model = run_training(proj, prepared)
    out = export_pytorch(tmp_path / "alone", model=model)
    with exported_modules(out) as m:
        want = {k: [int(c) for c in v] for k, v in model.network.input_columns.items()}
        assert want == m.model.INPUT_COLUMNS
        torch_net = m.model.Net().eval()
        m.nnstudio_layers.load_weights(torch_net, out / "weights.npz")
        with torch.no_grad():
            theirs = torch_net(torch.as_tensor(prepared.x_test)).numpy()
    assert rel_error(theirs, model.network.predict(prepared.x_test)) <= 1e-5
    run = subprocess.run([sys.executable, str(out / "train.py"), "--threads", "1", "--data",
                          str(tmp_path / "houses.csv")], capture_output=True, text=True,
                         timeout=300, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "epoch 2/2" in run.stdout


def test_targets_and_ids_reach_the_code_only_as_literals(tmp_path):
    """A target or node id written like code stays a string: the file compiles and the
    dict is keyed by the exact text."""
    from nnstudio.core.io.export_pytorch.model_code import render_model

    from .pytorch_helpers import spec

    odd = "a'] ; import os #\n\"\"\""
    s = spec([("in'\n", "Input", {"columns": ["x"]}), ("h", "Dense", {"units": 2}),
              ("o1", "Output", {"target": odd}), ("g", "Dense", {"units": 1}),
              ("o2", "Output", {"target": "y"})],
             [("in'\n", "h"), ("h", "o1"), ("in'\n", "g"), ("g", "o2")])
    heads = [{"node": "o1", "target": odd, "at": None, "fused": None, "loss": "mse",
              "weight": 1.0}, {"node": "o2", "target": "y", "at": None, "fused": None,
                               "loss": "mse", "weight": 1.0}]
    code = render_model(s, (3,), "mse", "t", {"in'\n": [2, 0]}, heads).source
    (tmp_path / "model.py").write_text(code)
    for f in ("nnstudio_layers.py", "nnstudio_sequence.py"):
        (tmp_path / f).write_text((FILES / f).read_text())
    with exported_modules(tmp_path) as m:
        out = m.model.Net()(torch.ones(4, 3))
    assert sorted(out) == sorted([odd, "y"])
    assert tuple(out[odd].shape) == (4, 2)
