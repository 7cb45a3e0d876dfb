"""ONNX in, the layers added after the first importer: PyTorch modules exported here with
``torch.onnx.export`` (the TorchScript exporter), imported, and compared with onnxruntime —
one case per operator family; what no layer can express is one clear message."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from nnstudio.core.errors import ProjectError
from nnstudio.core.io.onnx_import import import_onnx

from .pytorch_helpers import rel_error

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
nn = torch.nn


def export(module, x, path, opset=17):
    """``torch.onnx.export`` (TorchScript exporter) with a dynamic batch; BatchNorm kept."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False, opset_version=opset,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}},
                          do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    return path


def onnxruntime_output(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]


class Gate(nn.Module):
    """``a(x) ⊙ σ(b(x))``: Mul of two computed values."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(5, 4), nn.Linear(5, 4)

    def forward(self, x):
        return self.a(x) * torch.sigmoid(self.b(x))


class Recurrent2(nn.Module):
    """A bidirectional recurrent layer read the ways people read it."""

    def __init__(self, kind, read, layers=1):
        super().__init__()
        self.rnn = kind(4, 5, batch_first=True, bidirectional=True, num_layers=layers)
        self.read = read
        self.out = nn.Linear(10 if read != "h_sum" else 5, 3)

    def forward(self, x):
        y, h = self.rnn(x)
        h = h[0] if isinstance(h, tuple) else h
        if self.read == "steps":  # a Dense on every step, then the last step
            return torch.softmax(self.out(y)[:, -1], -1)
        if self.read == "h_cat":
            return self.out(torch.cat([h[-2], h[-1]], dim=1))
        return self.out(h[0] + h[1])


class Channels(nn.Module):
    """Permute an image to channels-last, then a Dense on the flattened result."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(2, 3, 3)
        self.fc = nn.Linear(3 * 4 * 5, 2)

    def forward(self, x):
        return self.fc(self.c(x).permute(0, 2, 3, 1).reshape(x.size(0), -1))


class TextCNN(nn.Module):
    """Token ids → Embedding + learned positions → LayerNorm → Conv1d over the (transposed)
    sequence → max over time; and a mean over the steps (ReduceMean) beside it."""

    def __init__(self, vocab=20, t=9, d=6):
        super().__init__()
        self.emb = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, t, d))
        self.norm = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, 4, 3, padding=1)
        self.fc = nn.Linear(4 + d, 3)

    def forward(self, ids):
        e = self.norm(self.emb(ids) + self.pos)
        c = torch.relu(self.conv(e.transpose(1, 2)))
        pooled = nn.functional.adaptive_max_pool1d(c, 1).flatten(1)
        return self.fc(torch.cat([pooled, e.mean(dim=1)], dim=1))


def seq(*layers):
    return lambda: nn.Sequential(*layers)


#: name → (module factory, per-sample input shape, engine layers expected, opset)
CASES = {
    "gelu_erf": (seq(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 3)), (5,), {"GELU"}, 17),
    "gelu_tanh": (seq(nn.Linear(5, 6), nn.GELU(approximate="tanh"), nn.Linear(6, 3)), (5,),
                  {"GELU"}, 17),
    "gelu_op": (seq(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 6), nn.GELU(approximate="tanh")),
                (5,), {"GELU"}, 20),
    "smooth": (seq(nn.Linear(5, 6), nn.ELU(0.5), nn.Linear(6, 6), nn.Softplus(),
                   nn.Linear(6, 6), nn.SiLU(), nn.Linear(6, 6), nn.PReLU(6), nn.Linear(6, 4),
                   nn.PReLU()), (5,), {"ELU", "Softplus", "SiLU", "PReLU"}, 17),
    "gate": (Gate, (5,), {"Multiply", "Sigmoid"}, 17),
    "conv1d": (seq(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
                   nn.MaxPool1d(2), nn.Conv1d(4, 6, 3, groups=2, dilation=2), nn.PReLU(6),
                   nn.AvgPool1d(2, stride=1), nn.Flatten(), nn.Linear(6, 2)), (3, 12),
               {"Conv1D", "BatchNorm", "MaxPool1D", "AvgPool1D", "PReLU"}, 17),
    "conv2d_more": (seq(nn.Conv2d(4, 8, 3, groups=4, padding=1), nn.ELU(),
                        nn.Conv2d(8, 8, 3, groups=2, dilation=2, padding=2), nn.PReLU(8),
                        nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1),
                        nn.ConvTranspose2d(3, 2, 2, stride=2), nn.Upsample(scale_factor=2),
                        nn.Conv2d(2, 2, 3, stride=4)),
                    (4, 6, 6), {"DepthwiseConv2D", "Conv2D", "Conv2DTranspose",
                                "UpSampling2D"}, 17),
    "bi_steps": (lambda: Recurrent2(nn.LSTM, "steps"), (7, 4),
                 {"Bidirectional", "Dense", "LastPosition"}, 17),
    "bi_h_cat": (lambda: Recurrent2(nn.GRU, "h_cat", layers=2), (7, 4), {"Bidirectional"}, 17),
    "bi_h_sum": (lambda: Recurrent2(nn.RNN, "h_sum"), (7, 4), {"Bidirectional"}, 17),
    "layernorm": (seq(nn.Linear(5, 6), nn.LayerNorm(6), nn.Linear(6, 3)), (5,),
                  {"LayerNorm"}, 17),
    "layernorm_decomposed": (seq(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 3),
                                 nn.LayerNorm(3, elementwise_affine=False)), (7, 4),
                             {"LayerNorm"}, 13),
    "permute": (Channels, (2, 6, 7), {"Permute"}, 17),
}


def _check(module, x, path, kinds, opset, ids=False):
    path = export(module, x, path, opset)
    want = onnxruntime_output(path, x.numpy())
    model = import_onnx(path)
    types = {n.type for n in model.spec.nodes}
    assert kinds <= types, sorted(types)
    got = model.output(x.numpy().astype(np.float32) if ids else x.numpy())
    assert got.shape == want.shape
    assert rel_error(got, want) <= 1e-4
    return model


@pytest.mark.parametrize("name", sorted(CASES))
def test_imported_layers_predict_what_onnxruntime_predicts(name, tmp_path):
    make, shape, kinds, opset = CASES[name]
    torch.manual_seed(3)
    module = make()
    for m in module.modules():  # non-trivial statistics and slopes
        if isinstance(m, nn.BatchNorm1d):
            with torch.no_grad():
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
        if isinstance(m, nn.PReLU):
            with torch.no_grad():
                m.weight.uniform_(0.05, 0.5)
    _check(module, torch.randn(11, *shape), tmp_path / f"{name}.onnx", kinds, opset)


def test_the_patterns_become_one_layer_each(tmp_path):
    """GELU's Erf sub-graph, x·σ(x) and the decomposed LayerNorm leave no stray layers."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 6), nn.SiLU(),
                           nn.LayerNorm(6))
    model = _check(module, torch.randn(4, 5), tmp_path / "p.onnx",
                   {"GELU", "SiLU", "LayerNorm"}, 13)
    assert [n.type for n in model.spec.nodes] == ["Input", "Dense", "GELU", "Dense", "SiLU",
                                                  "LayerNorm"]


def test_token_ids_through_embedding_positions_and_a_1d_convolution(tmp_path):
    torch.manual_seed(1)
    ids = torch.randint(0, 20, (8, 9))
    ids[:, -2:] = 0  # padding, looked up like PyTorch does (its zero row)
    model = _check(TextCNN(), ids, tmp_path / "text.onnx",
                   {"Embedding", "PositionalEmbedding", "LayerNorm", "Conv1D",
                    "GlobalAvgPool1D"}, 17, ids=True)
    # the transposes around the convolution cost no layer except where the layout must change
    assert sum(n.type == "Permute" for n in model.spec.nodes) <= 1


def test_global_max_pool(tmp_path):
    """``GlobalMaxPool`` (as Keras exports it) and ``torch.amax`` over the pixels."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(3, 2, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("GlobalMaxPool", ["c"], ["g"]),
             helper.make_node("Flatten", ["g"], ["y"])]
    graph = helper.make_graph(nodes, "gmp", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [None, 2, 7, 7])], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, [None, 3])], [w])
    path = tmp_path / "gmp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    x = rng.normal(size=(5, 2, 7, 7)).astype(np.float32)
    model = import_onnx(path)
    assert "GlobalMaxPool2D" in {n.type for n in model.spec.nodes}
    assert rel_error(model.output(x), onnxruntime_output(path, x)) <= 1e-5

    class AMax(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(2, 3, 3)

        def forward(self, x):
            return torch.amax(self.c(x), dim=(2, 3))

    _check(AMax(), torch.randn(5, 2, 7, 7), tmp_path / "amax.onnx", {"GlobalMaxPool2D"}, 17)


def test_what_no_layer_expresses_is_one_message_naming_the_node(tmp_path):
    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.att = nn.MultiheadAttention(6, 2, batch_first=True)

        def forward(self, x):
            return self.att(x, x, x, need_weights=False)[0]

    path = export(Attention(), torch.randn(2, 5, 6), tmp_path / "att.onnx")
    with pytest.raises(ProjectError) as info:
        import_onnx(path)
    text = str(info.value)
    assert "node '/att/" in text and text.count("\n") == 0
    # PyTorch's usual "padding=1, output_padding=1" crop is neither valid nor same
    path = export(nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1),
                  torch.randn(1, 2, 5, 5), tmp_path / "ct.onnx")
    with pytest.raises(ProjectError, match=r"ConvTranspose.*pads \[1, 1, 1, 1\].*neither"):
        import_onnx(path)
    # one direction of a bidirectional layer alone has no engine layer

    class Backward(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 5, batch_first=True, bidirectional=True)

        def forward(self, x):
            return self.rnn(x)[1][0][1]

    path = export(Backward(), torch.randn(2, 7, 4), tmp_path / "b.onnx")
    with pytest.raises(ProjectError, match="raw Y_h of the backward direction output of the "
                       "recurrent layer 'bidirectional1'"):
        import_onnx(path)


#: Networks of the export tests whose ONNX files come back as the same layers.
ROUND_TRIP = ["gelu", "gelu_tanh", "elu", "silu", "softplus", "prelu_images", "prelu_sequence",
              "prelu_shared", "permute", "global_max", "maxpool1d", "avgpool1d", "conv1d",
              "conv1d_causal_dilated_grouped", "conv2d_dilated_grouped",
              "depthwise_separable", "conv2d_transpose", "conv2d_transpose_valid",
              "conv2d_transpose_small_kernel", "upsampling", "batchnorm_sequence",
              "bi_LSTM_concat_seq", "bi_GRU_sum_last", "bi_SimpleRNN_sum_seq",
              "bi_GRU_concat_last", "Multiply", "Average"]


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_nnstudio_onnx_exports_come_back_as_the_same_layers(name, tmp_path):
    from nnstudio.core.io.onnx_export import export_onnx

    from .test_more_layer_exports import _model

    model = _model(name)
    net = model.network
    x = np.random.default_rng(2).normal(size=(6, *net.input_shape)).astype(np.float32)
    export_onnx(model, tmp_path / "m.onnx")
    back = import_onnx(tmp_path / "m.onnx")
    layers = {n.type for n in net.spec.nodes} - {"Input"}
    assert layers <= {n.type for n in back.spec.nodes}
    want = net.forward(x).reshape(len(x), -1)
    assert rel_error(back.output(x).reshape(len(x), -1), want) <= 1e-5


@pytest.mark.parametrize("mask", [False, True])
def test_nnstudio_text_models_come_back_unless_they_mask_padding(mask, tmp_path):
    from nnstudio.core.engine import Network, NetworkSpec
    from nnstudio.core.io.model_file import TrainedModel
    from nnstudio.core.io.onnx_export import export_onnx

    layers = [{"type": "Embedding", "vocab_size": 9, "dim": 8, "mask_padding": mask},
              {"type": "PositionalEmbedding", "kind": "sinusoidal"}, {"type": "LayerNorm"},
              {"type": "LastPosition"}, {"type": "Dense", "units": 3}]
    nodes = [{"id": "in", "type": "Input"}] + [{"id": f"n{i}", **c} for i, c in
                                               enumerate(layers)]
    spec = NetworkSpec.from_dict({"nodes": nodes, "edges": [
        [a["id"], b["id"]] for a, b in itertools.pairwise(nodes)]})
    net = Network(spec, (6,), seed=0)
    export_onnx(TrainedModel(net, None, "regression", [], "mse"), tmp_path / "t.onnx")
    ids = np.random.default_rng(2).integers(1, 9, (5, 6)).astype(np.float32)
    ids[:, -1] = 0
    if mask:  # the padding mask is logic on the ids (Equal, Not, ...), not a layer
        with pytest.raises(ProjectError, match="Equal is not supported"):
            import_onnx(tmp_path / "t.onnx")
        return
    back = import_onnx(tmp_path / "t.onnx")
    assert {"Embedding", "PositionalEmbedding", "LayerNorm", "LastPosition"} <= \
        {n.type for n in back.spec.nodes}
    assert rel_error(back.output(ids), net.forward(ids)) <= 1e-5
