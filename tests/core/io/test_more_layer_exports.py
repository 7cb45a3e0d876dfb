"""Every layer added with issue 15 exports: ONNX (checked, run in onnxruntime) and the
standalone NumPy ``predict.py`` reproduce the engine's outputs on random weights."""

from __future__ import annotations

import importlib.util
import itertools

import numpy as np
import pytest

from nnstudio.core.engine import Network, NetworkSpec
from nnstudio.core.io.model_file import TrainedModel
from nnstudio.core.io.numpy_export import export_numpy
from nnstudio.core.io.onnx_export import export_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

C = {"type": "Conv2D", "filters": 4, "kernel_size": 3, "padding": "same"}

#: name → (per-sample input shape, layers in a chain)
NETS = {
    "gelu": ((6,), [{"type": "Dense", "units": 5}, {"type": "GELU"}]),
    "gelu_tanh": ((6,), [{"type": "Dense", "units": 5}, {"type": "GELU", "approximate": True}]),
    "elu": ((6,), [{"type": "Dense", "units": 5}, {"type": "ELU", "alpha": 0.7}]),
    "silu": ((6,), [{"type": "Dense", "units": 5}, {"type": "SiLU"}]),
    "softplus": ((6,), [{"type": "Dense", "units": 5}, {"type": "Softplus"}]),
    "prelu_features": ((6,), [{"type": "Dense", "units": 5}, {"type": "PReLU"}]),
    "prelu_images": ((2, 5, 5), [C, {"type": "PReLU"}, {"type": "Flatten"}]),
    "prelu_sequence": ((4, 3), [{"type": "PReLU"}, {"type": "Flatten"}]),
    "prelu_shared": ((2, 5, 5), [C, {"type": "PReLU", "shared": "all"}, {"type": "Flatten"}]),
    "permute": ((2, 5, 6), [C, {"type": "Permute", "dims": [3, 1, 2]},
                            {"type": "Reshape", "shape": [6, 20]}, {"type": "LSTM", "units": 3}]),
    "global_max": ((2, 5, 6), [C, {"type": "GlobalMaxPool2D"}]),
    "maxpool1d": ((9, 3), [{"type": "MaxPool1D", "pool_size": 3, "strides": 2,
                            "padding": "same"}, {"type": "Flatten"}]),
    "avgpool1d": ((9, 3), [{"type": "AvgPool1D", "pool_size": 2, "strides": 1,
                            "padding": "same"}, {"type": "Flatten"}]),
    "conv1d": ((9, 4), [{"type": "Conv1D", "filters": 6, "kernel_size": 3, "strides": 2,
                         "padding": "same"}, {"type": "Flatten"}]),
    "conv1d_causal_dilated_grouped": ((9, 4), [
        {"type": "Conv1D", "filters": 4, "kernel_size": 2, "dilation_rate": 2, "groups": 2,
         "padding": "causal"}, {"type": "BatchNorm"}, {"type": "Flatten"}]),
    "conv2d_dilated_grouped": ((4, 9, 8), [
        {"type": "Conv2D", "filters": 6, "kernel_size": 3, "dilation_rate": [2, 1],
         "groups": 2, "padding": "same"}, {"type": "Flatten"}]),
    "depthwise_separable": ((3, 8, 8), [
        {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2, "strides": 2,
         "padding": "same"}, {"type": "Conv2D", "filters": 4, "kernel_size": 1},
        {"type": "Flatten"}]),
    "conv2d_transpose": ((2, 4, 3), [
        {"type": "Conv2DTranspose", "filters": 3, "kernel_size": 3, "strides": 2},
        {"type": "Flatten"}]),
    "conv2d_transpose_valid": ((2, 4, 3), [
        {"type": "Conv2DTranspose", "filters": 2, "kernel_size": [2, 3], "strides": [3, 1],
         "padding": "valid"}, {"type": "Flatten"}]),
    "conv2d_transpose_small_kernel": ((1, 3, 3), [
        {"type": "Conv2DTranspose", "filters": 2, "kernel_size": 2, "strides": 3},
        {"type": "Flatten"}]),
    "upsampling": ((2, 3, 4), [{"type": "UpSampling2D", "size": [2, 3]}, {"type": "Flatten"}]),
    "batchnorm_sequence": ((5, 3), [{"type": "BatchNorm"}, {"type": "Flatten"}]),
    **{f"bi_{kind}_{merge}_{'seq' if seq else 'last'}": (
        (5, 3), [{"type": "Bidirectional", "layer": kind, "units": 4, "merge_mode": merge,
                  "return_sequences": seq}, {"type": "Flatten"}])
       for kind in ("LSTM", "GRU", "SimpleRNN") for merge in ("concat", "sum")
       for seq in (False, True)},
}


def _merge_net(kind: str) -> tuple[tuple[int, ...], NetworkSpec]:
    nodes = [{"id": "in", "type": "Input"}, {"id": "a", "type": "Dense", "units": 4},
             {"id": "b", "type": "Dense", "units": 4}, {"id": "c", "type": "Tanh"},
             {"id": "m", "type": kind}]
    edges = [["in", "a"], ["in", "b"], ["in", "c"], ["a", "m"], ["b", "m"], ["c", "m"]]
    nodes[3]["type"] = "Dense"
    nodes[3]["units"] = 4
    return (5,), NetworkSpec.from_dict({"nodes": nodes, "edges": edges})


def _model(name: str) -> TrainedModel:
    if name in ("Multiply", "Average"):
        shape, spec = _merge_net(name)
    else:
        shape, layers = NETS[name]
        nodes = [{"id": "in", "type": "Input"}] + [
            {"id": f"n{i}", **layer} for i, layer in enumerate(layers)]
        edges = [[a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]
        spec = NetworkSpec.from_dict({"nodes": nodes, "edges": edges})
    net = Network(spec, shape, seed=0)
    rng = np.random.default_rng(1)
    net.params[...] = rng.normal(0, 0.5, net.params.shape)
    net.state[...] = rng.uniform(0.5, 1.5, net.state.shape)  # running mean/var ≠ 0/1
    return TrainedModel(net, None, "regression", [], "mse")


ALL = [*NETS, "Multiply", "Average"]


@pytest.mark.parametrize("name", ALL)
def test_onnx_and_numpy_exports_match_the_engine(name, tmp_path):
    model = _model(name)
    net = model.network
    x = np.random.default_rng(2).normal(size=(7, *net.input_shape)).astype(np.float32)
    ours = net.forward(x).reshape(len(x), -1).astype(np.float64)

    path = tmp_path / "m.onnx"
    export_onnx(model, path)
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(["prediction"], {"x": x})
    np.testing.assert_allclose(got, ours, rtol=1e-5, atol=1e-5)

    export_numpy(model, tmp_path / "exp")
    np.save(tmp_path / "x.npy", x)
    spec = importlib.util.spec_from_file_location(f"predict_{name}", tmp_path / "exp/predict.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    values, probs, _ = script.predict(tmp_path / "x.npy", tmp_path / "exp")
    assert probs is None
    np.testing.assert_allclose(values, ours, rtol=1e-5, atol=1e-5)
