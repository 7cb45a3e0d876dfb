"""ONNX export: onnx.checker passes and onnxruntime reproduces our predictions from raw data.

Parity is checked to 1e-5 relative on real data (salary, King County with a date column and
the zipcode one-hot, MNIST through an MLP, a CNN and LSTM/GRU/SimpleRNN) and on the cases the
real files do not cover (missing values filled, a sigmoid output, two regression targets).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnstudio.core.data import EXAMPLES, Table, load_npz, load_table
from nnstudio.core.errors import ExportError
from nnstudio.core.io.onnx_export import OPSET, build_onnx, export_onnx, onnx_feeds

from .conftest import chain, make_project, trained

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: Relative tolerance of the parity checks; probabilities below ATOL count as equal.
RTOL, ATOL = 1e-5, 1e-7


def run_onnx(path, feeds: dict) -> dict:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds), strict=True))


def check_parity(model, data, tmp_path, name="model.onnx"):
    """Export, check, run in onnxruntime on raw ``data``; compare with predict_raw."""
    path = tmp_path / name
    info = export_onnx(model, path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.opset_import[0].version == OPSET >= 17
    out = run_onnx(path, onnx_feeds(model, data))
    ours = model.predict_raw(data)
    if model.task == "classification":
        np.testing.assert_allclose(out["probabilities"], ours.probabilities, rtol=RTOL, atol=ATOL)
        # Labels may differ only where two classes tie to within float rounding.
        agree = out["prediction"].astype(str) == ours.values
        assert agree.mean() > 0.999, np.flatnonzero(~agree)[:10]
    else:
        # Relative to the target's scale: a price near 0 (a 1-epoch model) would otherwise
        # be judged by its own tiny magnitude.
        np.testing.assert_allclose(out["prediction"], ours.values, rtol=RTOL,
                                   atol=RTOL * float(np.abs(ours.values).max()))
    return info, out, ours


def test_salary_parity(salary_model, datasets, tmp_path):
    model, _ = salary_model
    table = load_table(datasets / "salary" / "Salary_Data.csv")
    info, out, _ = check_parity(model, table, tmp_path)
    assert [i.name for i in info.inputs] == ["features"]
    assert info.inputs[0].columns == ["YearsExperience"]
    assert out["prediction"].dtype == np.float64 and out["prediction"].shape == (len(table), 1)
    # Predictions are in dollars: the target standardization is folded into the graph.
    assert 20_000 < float(np.median(out["prediction"])) < 200_000


def test_king_county_parity_with_date_and_zipcode(kc_model, datasets, tmp_path):
    model, _ = kc_model
    table = load_table(datasets / "house" / "kc_house_data.csv")
    info, _, _ = check_parity(model, table, tmp_path)
    by_name = {i.name: i for i in info.inputs}
    assert set(by_name) == {"features", "zipcode"}
    columns = by_name["features"].columns
    assert "date:month_sin" in columns and "date:weekday_cos" in columns
    assert "date" not in columns and "id" not in columns
    assert by_name["zipcode"].dtype == "string" and by_name["zipcode"].shape == [None, 1]


def test_unknown_zipcode_counts_as_no_category(kc_model, datasets, tmp_path):
    model, _ = kc_model
    table = load_table(datasets / "house" / "kc_house_data.csv").take(np.arange(5))
    path = tmp_path / "kc.onnx"
    export_onnx(model, path)
    feeds = onnx_feeds(model, table)
    feeds["zipcode"] = np.array([["00000"]] * 5, dtype=object)
    out = run_onnx(path, feeds)
    rows = [{c: table[c].as_strings()[i] for c in table.columns} for i in range(5)]
    for r in rows:
        r["zipcode"] = "00000"
    ours = model.predict_raw(rows)
    np.testing.assert_allclose(out["prediction"], ours.values, rtol=RTOL)


def test_metadata_describes_inputs_and_classes(mnist_mlp, tmp_path):
    model, _ = mnist_mlp
    path = tmp_path / "m.onnx"
    export_onnx(model, path)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert json.loads(props["class_names"]) == [str(i) for i in range(10)]
    assert props["task"] == "classification"
    assert json.loads(props["inputs"])[0]["name"] == "x"


def test_mnist_mlp_parity(mnist_mlp, mnist_npz, tmp_path):
    model, _ = mnist_mlp
    x = load_npz(mnist_npz).x
    info, out, _ = check_parity(model, x, tmp_path)
    assert info.inputs[0].shape == [None, 28, 28] and info.inputs[0].dtype == "float"
    assert out["probabilities"].shape == (len(x), 10)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)


def test_mnist_conv_parity(mnist_conv, mnist_npz, tmp_path):
    model, _ = mnist_conv
    types = {layer.type_name for layer in model.network.layers.values()}
    assert {"Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "BatchNorm", "Add",
            "Concatenate", "Reshape", "Flatten", "LeakyReLU"} <= types
    check_parity(model, load_npz(mnist_npz).x[:400], tmp_path)


def test_mnist_recurrent_parity(mnist_rnn, mnist_npz, tmp_path):
    model, _ = mnist_rnn
    check_parity(model, load_npz(mnist_npz).x[:400], tmp_path)


def test_sigmoid_output_gives_two_probabilities(tmp_path):
    project = make_project(
        {"example": "spam", "target": "label"},
        chain("Input", ("Dense", {"units": 8}), "ReLU", ("Dense", {"units": 1}), "Sigmoid"),
        loss="binary_cross_entropy", epochs=3,
    )
    model, _ = trained(project)
    table = EXAMPLES["spam"].make(seed=0)
    _, out, _ = check_parity(model, table, tmp_path)
    assert out["probabilities"].shape == (len(table), 2)
    assert set(out["prediction"].astype(str)) <= {"ham", "spam"}


def test_missing_values_filled_in_graph(tmp_path):
    rng = np.random.default_rng(1)
    n = 300
    a = rng.normal(10, 3, n)
    b = rng.uniform(0, 1, n)
    color = rng.choice(["red", "green", "blue"], n)
    y1 = 2 * a + 3 * (color == "red") + rng.normal(0, 0.1, n)
    y2 = b * 5 - a
    a_txt = np.where(rng.random(n) < 0.1, "", np.round(a, 3).astype(str))
    c_txt = np.where(rng.random(n) < 0.1, "NA", color)
    lines = ["a,b,color,y1,y2"] + [
        f"{a_txt[i]},{b[i]:.4f},{c_txt[i]},{y1[i]:.4f},{y2[i]:.4f}" for i in range(n)
    ]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    project = make_project(
        {"source": "d.csv", "target": ["y1", "y2"], "missing": "mean",
         "missing_per_column": {"color": "most_frequent"}, "scaling": "minmax"},
        chain("Input", ("Dense", {"units": 8}), "Sigmoid", ("Dense", {"units": 2})),
        base_dir=tmp_path, epochs=3,
    )
    model, prepared = trained(project)
    assert prepared.counts["dropped"] == 0
    table = load_table(tmp_path / "d.csv")
    _, out, _ = check_parity(model, table, tmp_path)
    assert out["prediction"].shape == (n, 2)
    assert np.isfinite(out["prediction"]).all()


def test_untrained_model_without_preparation(tmp_path):
    from nnstudio.core.engine.network import Network, NetworkSpec
    from nnstudio.core.io.model_file import TrainedModel

    spec = NetworkSpec.from_dict({"nodes": chain("Input", ("Dense", {"units": 3}), "Softmax"),
                                  "edges": [["n0", "n1"], ["n1", "n2"]]})
    model = TrainedModel(Network(spec, (4,)), None, "classification", ["a", "b", "c"],
                         "cross_entropy")
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    path = tmp_path / "bare.onnx"
    export_onnx(model, path)
    out = run_onnx(path, {"x": x})
    np.testing.assert_allclose(out["probabilities"], model.output(x), rtol=RTOL, atol=ATOL)
    assert list(out["prediction"]) == list(np.array(["a", "b", "c"])[model.output(x).argmax(1)])


def test_unsupported_layer_is_an_export_error(salary_model, monkeypatch, tmp_path):
    from nnstudio.core.io import onnx_layers

    model, _ = salary_model
    monkeypatch.delitem(onnx_layers.CONVERTERS, "Dense")
    with pytest.raises(ExportError, match="Dense"):
        export_onnx(model, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_every_engine_layer_has_a_converter():
    from nnstudio.core.engine import LAYERS
    from nnstudio.core.io.onnx_layers import CONVERTERS

    assert set(LAYERS) <= set(CONVERTERS), set(LAYERS) - set(CONVERTERS)


def test_build_onnx_is_deterministic(salary_model):
    model, _ = salary_model
    a, _ = build_onnx(model)
    b, _ = build_onnx(model)
    assert a.SerializeToString() == b.SerializeToString()


def test_table_feeds_shape(salary_model):
    model, _ = salary_model
    feeds = onnx_feeds(model, Table.from_columns({"YearsExperience": [1.0, 2.5]}))
    assert feeds["features"].dtype == np.float64 and feeds["features"].shape == (2, 1)
