"""Networks with several Inputs and several outputs, end to end.

A table of houses (three numbers, a category, a short description) feeds two or three
Inputs; the network predicts a price (a number) and whether the house sold fast (a class),
each with its own loss and weight. Checked: gradients of the weighted total against central
differences, learning both targets through the real pipeline, the model file, the CLI, ONNX
(onnxruntime), the standalone predict.py, the server, and one clear message for each design
that cannot work.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnstudio.core.data.binding import input_columns, output_targets
from nnstudio.core.engine.network import Network, NetworkSpec, NodeSpec
from nnstudio.core.errors import GraphError, NNStudioError
from nnstudio.core.io import load_model, save_model
from nnstudio.core.io.pipeline import build_network, load_data, run_training
from nnstudio.core.io.project import Project
from nnstudio.core.training.heads import Heads
from tests.core.engine.gradcheck import _central_differences, _compare

REPO = Path(__file__).resolve().parents[3]
WORDS = {"north": "quiet street garden", "south": "busy road shop", "center": "city view metro"}


def write_houses(path: Path, n: int = 600, seed: int = 1) -> Path:
    """A CSV whose price depends on area, rooms, age and city, and whose ``sold`` class
    depends on the price per square metre and the city."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(40, 200, n)
    rooms = rng.integers(1, 7, n)
    age = rng.uniform(0, 80, n)
    city = rng.choice(list(WORDS), n)
    price = 1000 * area * (1 + 0.4 * (city == "center")) - 800 * age + 5000 * rooms \
        + rng.normal(0, 8000, n)
    sold = np.where(price / area - 200 * (city == "south") > 950, "fast", "slow")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["area", "rooms", "age", "city", "notes", "price", "sold"])
        for row in zip(area.round(1), rooms, age.round(1), city, [WORDS[c] for c in city],
                       price.round(0), sold, strict=True):
            w.writerow(row)
    return path


def two_by_two(sold_weight: float = 0.5, sold_loss: str = "auto") -> dict:
    """Inputs ``size`` (area, rooms, age) and ``place`` (city); Outputs price and sold."""
    nodes = [
        {"id": "size", "type": "Input", "columns": ["area", "rooms", "age"]},
        {"id": "place", "type": "Input", "columns": ["city"]},
        {"id": "h1", "type": "Dense", "units": 32}, {"id": "r1", "type": "ReLU"},
        {"id": "h2", "type": "Dense", "units": 8}, {"id": "r2", "type": "ReLU"},
        {"id": "join", "type": "Concatenate"},
        {"id": "h3", "type": "Dense", "units": 32}, {"id": "r3", "type": "ReLU"},
        {"id": "p", "type": "Dense", "units": 1},
        {"id": "price", "type": "Output", "target": "price"},
        {"id": "s", "type": "Dense", "units": 2}, {"id": "sm", "type": "Softmax"},
        {"id": "sold", "type": "Output", "target": "sold", "weight": sold_weight,
         "loss": sold_loss},
    ]
    edges = [["size", "h1"], ["h1", "r1"], ["place", "h2"], ["h2", "r2"], ["r1", "join"],
             ["r2", "join"], ["join", "h3"], ["h3", "r3"], ["r3", "p"], ["p", "price"],
             ["r3", "s"], ["s", "sm"], ["sm", "sold"]]
    return {"nodes": nodes, "edges": edges}


#: A text column's token ids in one Input (Embedding → pooling), the numbers in another.
WORDS_AND_NUMBERS = {"nodes": [
    {"id": "words", "type": "Input", "columns": ["notes"]},
    {"id": "emb", "type": "Embedding", "vocab_size": 20, "dim": 8},
    {"id": "pool", "type": "GlobalAvgPool1D"},
    {"id": "nums", "type": "Input"},
    {"id": "h", "type": "Dense", "units": 16}, {"id": "r", "type": "ReLU"},
    {"id": "join", "type": "Concatenate"}, {"id": "out", "type": "Dense", "units": 1},
], "edges": [["words", "emb"], ["emb", "pool"], ["nums", "h"], ["h", "r"], ["pool", "join"],
             ["r", "join"], ["join", "out"]]}

#: One Output naming a class target ("sold"), not the dataset's target.
ONE_NAMED = {"nodes": [
    {"id": "in", "type": "Input"}, {"id": "h", "type": "Dense", "units": 16},
    {"id": "r", "type": "ReLU"}, {"id": "d", "type": "Dense", "units": 2},
    {"id": "sm", "type": "Softmax"}, {"id": "sold", "type": "Output", "target": "sold"}],
    "edges": [["in", "h"], ["h", "r"], ["r", "d"], ["d", "sm"], ["sm", "sold"]]}


def project(tmp_path: Path, network: dict, epochs: int = 80, **dataset) -> Project:
    write_houses(tmp_path / "houses.csv")
    d = {"format": "nnstudio.project", "version": 3,
         "dataset": {"source": "houses.csv", "target": "price", "ignore": ["notes"],
                     **dataset},
         "network": network,
         "training": {"epochs": epochs, "batch_size": 32, "seed": 3,
                      "optimizer": {"type": "adam", "learning_rate": 0.003}}}
    path = tmp_path / "houses.nnsproj"
    path.write_text(json.dumps(d))
    from nnstudio.core.io.project import load_project

    return load_project(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("houses")
    proj = project(tmp, two_by_two())
    prepared = load_data(proj)
    model = run_training(proj, prepared)
    return tmp, proj, prepared, model


def test_the_data_is_prepared_for_each_output(trained):
    _, proj, prepared, _ = trained
    assert output_targets(proj.network_spec()) == [("price", "auto"), ("sold", "auto")]
    assert prepared.task == "multi_output"
    heads = prepared.preparation.heads
    assert [(h["target"], h["task"]) for h in heads] == [("price", "regression"),
                                                         ("sold", "classification")]
    assert heads[1]["class_names"] == ["fast", "slow"]
    y = prepared.y_train
    assert y.shape == (prepared.counts["train"], 2) and y.dtype == np.float32
    assert set(np.unique(y[:, 1])) == {0.0, 1.0}  # class indices
    assert abs(float(y[:, 0].mean())) < 0.2 and 0.8 < float(y[:, 0].std()) < 1.2  # scaled
    cols = input_columns(proj.network_spec(), prepared.preparation)
    names = prepared.preparation.output_names()
    assert [names[j] for j in cols["size"]] == ["area", "rooms", "age"]
    assert [names[j] for j in cols["place"]] == ["city=center", "city=north", "city=south"]


def test_both_outputs_learn_their_targets(trained):
    _, _, _, model = trained
    test = model.summary["metrics"]["test"]
    assert test["price/r2"] > 0.9, test
    assert test["sold/accuracy"] > 0.85, test
    # The total is the weighted sum of the outputs' own losses.
    assert test["loss"] == pytest.approx(test["price/loss"] + 0.5 * test["sold/loss"], rel=1e-5)
    # Regression scores are in the user's units (the price's spread is tens of thousands).
    assert test["price/mae"] > 100
    assert "val_sold/accuracy" in model.history and "val_price/r2" in model.history


def test_gradients_of_the_weighted_total_match_central_differences(trained):
    _, proj, prepared, _ = trained
    spec = proj.network_spec()
    cols = input_columns(spec, prepared.preparation)
    net = Network(spec, prepared.input_shape, dtype=np.float64, seed=1, input_columns=cols)
    heads = Heads.build(net, prepared.preparation.heads)
    x = np.asarray(prepared.x_train[:7], np.float64)
    y = prepared.y_train[:7]
    heads.step(x, y)
    analytic = net.grads.copy()
    numeric = _central_differences(net.params, lambda: heads.step(x, y)[0], 1e-6)
    _compare(analytic, numeric, "d(total loss)/d params", 1e-5, 1e-7)
    # The weight matters: with the class output weighted 0, its branch gets no gradient.
    s = net.param_slices["s/W"]
    heads.heads[1].weight = 0.0
    heads.step(x, y)
    assert not net.grads[s].any() and net.grads[net.param_slices["p/W"]].any()


def test_the_model_file_keeps_the_outputs(trained, tmp_path):
    _, _, prepared, model = trained
    save_model(model, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    a, b = model.predict_prepared(prepared.x_test), back.predict_prepared(prepared.x_test)
    assert list(b.outputs) == ["price", "sold"]
    np.testing.assert_array_equal(a.outputs["price"].values, b.outputs["price"].values)
    np.testing.assert_array_equal(a.outputs["sold"].probabilities,
                                  b.outputs["sold"].probabilities)
    assert set(b.outputs["sold"].values) <= {"fast", "slow"}
    assert b.outputs["sold"].class_names == ["fast", "slow"]
    assert back.metrics(prepared.x_test, prepared.y_test) == pytest.approx(
        model.summary["metrics"]["test"])


def test_cli_predict_onnx_and_standalone_agree(trained, tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from nnstudio.core.data.csv_reader import load_table
    from nnstudio.core.io.onnx_export import onnx_feeds

    tmp, _, _, model = trained
    save_model(model, tmp_path / "m.npz")
    new = tmp_path / "new.csv"
    rows = list(csv.reader((tmp / "houses.csv").read_text().splitlines()))[:9]
    with open(new, "w", newline="") as f:
        csv.writer(f).writerows([r[:5] for r in rows])

    def run(*args):
        r = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        return r

    run("-m", "nnstudio", "predict", str(tmp_path / "m.npz"), "--data", str(new),
        "--out", str(tmp_path / "cli.csv"))
    cli = list(csv.DictReader((tmp_path / "cli.csv").read_text().splitlines()))
    assert list(cli[0]) == ["prediction_price", "prediction_sold", "p_sold_fast", "p_sold_slow"]
    run("-m", "nnstudio", "export", str(tmp_path / "m.npz"), "--format", "onnx",
        "--out", str(tmp_path / "m.onnx"))
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    outs = dict(zip([o.name for o in session.get_outputs()],
                    session.run(None, onnx_feeds(model, load_table(new))), strict=True))
    np.testing.assert_allclose(outs["prediction_price"][:, 0],
                               [float(r["prediction_price"]) for r in cli], rtol=1e-5)
    assert outs["prediction_sold"].tolist() == [r["prediction_sold"] for r in cli]
    np.testing.assert_allclose(outs["probabilities_sold"][:, 0],
                               [float(r["p_sold_fast"]) for r in cli], atol=1e-6)
    run("-m", "nnstudio", "export", str(tmp_path / "m.npz"), "--format", "numpy",
        "--out", str(tmp_path / "np"))
    alone = run(str(tmp_path / "np" / "predict.py"), str(new)).stdout
    assert list(csv.DictReader(alone.splitlines())) == cli


def test_the_server_answers_each_output(trained):
    pytest.importorskip("starlette")
    from starlette.testclient import TestClient

    from nnstudio.core.serve.app import create_app
    from nnstudio.core.serve.predictor import Predictor

    _, _, _, model = trained
    client = TestClient(create_app(Predictor(model), None))
    r = client.post("/predict", json={"area": 120, "rooms": 3, "age": 1, "city": "south"})
    assert r.status_code == 200, r.text
    pred = r.json()["prediction"]
    assert isinstance(pred["price"], float) and pred["price"] > 10_000
    assert pred["sold"]["class"] in ("fast", "slow")
    assert sum(pred["sold"]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert client.get("/model").json()["output"]["sold"]["class"] == "one of fast, slow"


def test_a_text_sequence_input_beside_table_columns(tmp_path):
    """Token ids of a text column in one Input (Embedding → pooling), numbers in another:
    the two-Input network the text issue asked for."""
    proj = project(tmp_path, WORDS_AND_NUMBERS, epochs=60, ignore=["city", "sold"],
                   text={"columns": ["notes"], "encoding": "sequence", "length": 4})
    prepared = load_data(proj)
    cols = input_columns(proj.network_spec(), prepared.preparation)
    names = prepared.preparation.output_names()
    assert [names[j] for j in cols["words"]] == [f"notes[{i}]" for i in range(4)]
    assert [names[j] for j in cols["nums"]] == ["area", "rooms", "age"]
    ids = prepared.x_train[:, cols["words"]]
    assert np.array_equal(ids, np.round(ids)) and ids.max() < 20
    model = run_training(proj, prepared)
    # The city (only in the words) moves the price by 40 %: the text branch must carry it.
    assert model.summary["metrics"]["test"]["r2"] > 0.9
    # ONNX takes the numbers and the token ids (two inputs) and agrees with the engine.
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from nnstudio.core.data.csv_reader import load_table
    from nnstudio.core.io.onnx_export import export_onnx, onnx_feeds

    info = export_onnx(model, tmp_path / "m.onnx")
    assert [i.name for i in info.inputs] == ["features", "token_ids"]
    table = load_table(tmp_path / "houses.csv")
    (onnx_price,) = ort.InferenceSession(str(tmp_path / "m.onnx")).run(
        None, onnx_feeds(model, table))
    np.testing.assert_allclose(onnx_price, model.predict_raw(table).values, rtol=1e-4)


@pytest.mark.parametrize("change, message", [
    (lambda n: n["nodes"][1].update(columns=["town"]),
     "Input 'place': takes column 'town', which is not a feature of the data"),
    (lambda n: n["nodes"][1].update(columns=["city", "area"]),
     "Input 'place': takes column 'area', which Input 'size' takes too"),
    (lambda n: [n["nodes"][0].pop("columns"), n["nodes"][1].pop("columns")],
     "both take 'the remaining columns'"),
    (lambda n: n["nodes"][13].update(target=""),
     "Output 'sold': name the target column this output predicts"),
    (lambda n: n["nodes"][13].update(target="price"),
     "Output 'sold': predicts 'price', as Output 'price' does"),
    (lambda n: n["nodes"][13].update(loss="mse"),
     "target 'sold' holds categorical values, not numbers: its Output's loss 'mse' is for "
     "numbers"),
    (lambda n: n["nodes"][11].update(units=3),
     "Output 'sold': receives (3,) but its target has 2 classes: end the branch with Dense 2"),
    (lambda n: n["nodes"][9].update(units=2),
     "Output 'price': receives (2,) but its target is one number"),
    (lambda n: n["nodes"][13].update(target="notes"),
     "Output 'sold': receives (2,) but its target has 3 classes"),
    (lambda n: n["nodes"][13].update(target="colour"), "colour"),
])
def test_a_design_that_cannot_work_gets_one_clear_message(tmp_path, change, message):
    net = two_by_two()
    change(net)
    proj = project(tmp_path, net, epochs=1, ignore=[])
    with pytest.raises(NNStudioError) as e:
        build_network(proj, load_data(proj))
    assert message in str(e.value)
    # The CLI says the same in one line, exit 2, no traceback.
    r = subprocess.run([sys.executable, "-m", "nnstudio", "train", str(proj.path), "--out",
                        str(tmp_path / "m.npz")],
                       capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr and message in r.stderr


def test_several_loose_ends_without_outputs_are_refused():
    spec = NetworkSpec([NodeSpec("in", "Input"), NodeSpec("a", "Dense", {"units": 2}),
                        NodeSpec("b", "Dense", {"units": 1})], [("in", "a"), ("in", "b")])
    with pytest.raises(GraphError, match="end each branch in an Output layer"):
        Network(spec, (3,))
    several = NetworkSpec([NodeSpec("i", "Input"), NodeSpec("j", "Input"),
                           NodeSpec("m", "Add")], [("i", "m"), ("j", "m")])
    with pytest.raises(Exception, match="each takes some columns of a table"):
        Network(several, (3,))


def test_monitoring_watches_the_inputs_of_a_several_output_model(trained, tmp_path):
    """The reference of such a model summarises its inputs; a data file and a server log of
    only big houses in the centre drift on area and city, nothing else, and no prediction
    summary is invented for several outputs."""
    from nnstudio.core.monitor import from_log, from_table, monitor
    from nnstudio.core.serve import PredictionLog, Predictor

    tmp, _, _, model = trained
    assert [f["name"] for f in model.reference["features"]] == ["area", "rooms", "age", "city"]
    assert "predictions" not in model.reference
    rows = [r for r in csv.DictReader((tmp / "houses.csv").read_text().splitlines())
            if r["city"] == "center" and float(r["area"]) > 120]
    new = tmp_path / "big.csv"
    with open(new, "w", newline="") as f:
        w = csv.DictWriter(f, ["area", "rooms", "age", "city"], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    pred = Predictor(model)
    log = PredictionLog(tmp_path / "p.db")
    for i, r in enumerate(rows):
        row = {"area": float(r["area"]), "rooms": int(r["rooms"]), "age": float(r["age"]),
               "city": r["city"]}
        outs = pred.predict_rows([row])
        log.append(f"r{i}", pred.fingerprint, [row], outs, [pred.headline(o) for o in outs],
                   0.1)
    log.close()
    for current in (from_table(model, new), from_log(model, tmp_path / "p.db",
                                                     pred.fingerprint)):
        report = monitor(model, current, fingerprint=pred.fingerprint)
        verdicts = {e["name"]: e["verdict"] for e in report["features"]}
        assert verdicts["area"] == "drifted" and verdicts["city"] == "drifted", verdicts
        assert verdicts["rooms"] != "drifted"
        assert report["drifted"] is True
        assert not report["predictions"]


@pytest.mark.parametrize("node, message", [
    ({"id": "i", "type": "Input", "columns": 5}, "Input 'columns' must be a list of column names"),
    ({"id": "i", "type": "Input", "columns": ["a", 3]}, "must be a list of column names"),
    ({"id": "i", "type": "Input", "columns": ["a", "a"]}, "Input 'columns' names 'a' twice"),
    ({"id": "o", "type": "Output", "target": 7}, "Output 'target' must be a column name"),
    ({"id": "o", "type": "Output", "weight": -1}, "Output needs 'weight' ≥ 0"),
    ({"id": "o", "type": "Output", "loss": "hinge"}, "'loss' must be one of auto, mse"),
])
def test_bad_settings_of_inputs_and_outputs_are_named(node, message):
    from nnstudio.core.io.netcheck import check_network

    problems = check_network({"nodes": [node], "edges": []})
    assert any(message in text for _, text in problems), problems


def test_columns_typed_as_text_are_a_list():
    spec = NetworkSpec([NodeSpec("i", "Input", {"columns": "area, city "})], [])
    from nnstudio.core.data.binding import several_inputs

    assert several_inputs(spec)
    net_input = Network(spec, (2,), input_columns={"i": [0, 1]}).layers["i"]
    assert net_input.config["columns"] == ["area", "city"]


def test_one_output_naming_its_target_is_exported_by_name(tmp_path):
    """A single Output naming a class target (not the dataset's target): trained, the model
    file, ONNX and predict.py all speak of that target."""
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from nnstudio.core.data.csv_reader import load_table
    from nnstudio.core.io.numpy_export import export_numpy
    from nnstudio.core.io.onnx_export import export_onnx, onnx_feeds

    proj = project(tmp_path, ONE_NAMED, epochs=30, target="city", ignore=["notes", "price"])
    model = run_training(proj, load_data(proj))
    assert model.summary["metrics"]["test"]["sold/accuracy"] > 0.7
    table = load_table(tmp_path / "houses.csv")
    pred = model.predict_raw(table)
    assert list(pred.outputs) == ["sold"]
    export_onnx(model, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert [o.name for o in session.get_outputs()] == ["prediction_sold", "probabilities_sold"]
    names, _ = session.run(None, onnx_feeds(model, table))
    assert names.tolist() == pred.outputs["sold"].values.tolist()
    export_numpy(model, tmp_path / "np")
    r = subprocess.run([sys.executable, str(tmp_path / "np" / "predict.py"),
                        str(tmp_path / "houses.csv")], capture_output=True, text=True,
                       timeout=300)
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert [row["prediction_sold"] for row in rows] == names.tolist()
