"""ONNX in: models built in PyTorch here, exported with torch.onnx.export, imported, and
compared with onnxruntime; unsupported operators and broken files are one clear message."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from nnstudio.cli import main as cli_main
from nnstudio.core.errors import ProjectError
from nnstudio.core.io import load_project
from nnstudio.core.io.onnx_import import import_onnx
from nnstudio.core.io.onnx_ops import OPS

from .pytorch_helpers import rel_error

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
nn = torch.nn


def export(module, x, path, **kw):
    """``torch.onnx.export`` (the TorchScript exporter, opset 17) with a dynamic batch."""
    module.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), str(path), dynamo=False, opset_version=17,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}}, **kw)
    return path


def onnxruntime_output(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]


class Affine(nn.Module):
    """``x @ W + b`` written out: MatMul + Add in ONNX."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_in, n_out))
        self.b = nn.Parameter(torch.randn(n_out))

    def forward(self, x):
        return x @ self.W + self.b


class TwoBranches(nn.Module):
    """A residual Add and a Concat."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(6, 5), nn.Linear(6, 5), nn.Linear(10, 3)

    def forward(self, x):
        a = torch.relu(self.a(x))
        s = a + self.b(x)
        return self.c(torch.cat([s, a], dim=1))


class Recurrent(nn.Module):
    def __init__(self, kind, last_state=False):
        super().__init__()
        self.rnn = kind(4, 6, batch_first=True)
        self.out = nn.Linear(6, 3)
        self.last_state = last_state

    def forward(self, x):
        y, h = self.rnn(x)
        if self.last_state:
            h = h[0] if isinstance(h, tuple) else h
            return torch.softmax(self.out(h[0]), -1)
        return torch.softmax(self.out(y[:, -1]), -1)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.c2 = nn.Conv2d(4, 6, (3, 2), stride=(2, 1))
        self.avg = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn(self.c1(x))), 2)
        x = nn.functional.leaky_relu(self.c2(x), 0.1)
        x = torch.sigmoid(self.avg(x))
        x = nn.functional.adaptive_avg_pool2d(x, 1)  # GlobalAveragePool
        return self.fc(x.view(x.size(0), -1))


def randomize_batchnorm(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            with torch.no_grad():
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


CASES = {
    "mlp": (lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                                  Affine(8, 4), nn.LeakyReLU(0.2), nn.Dropout(0.3),
                                  nn.BatchNorm1d(4), nn.Linear(4, 3), nn.Softmax(-1)),
            (5,), {"Dense", "ReLU", "Tanh", "LeakyReLU", "BatchNorm", "Softmax"}),
    "branches": (TwoBranches, (6,), {"Add", "Concatenate"}),
    "cnn": (CNN, (2, 12, 12), {"Conv2D", "BatchNorm", "MaxPool2D", "AvgPool2D", "Sigmoid",
                               "Reshape", "GlobalAvgPool2D", "LeakyReLU"}),
    "lstm": (lambda: Recurrent(nn.LSTM), (7, 4), {"LSTM", "Softmax"}),
    "gru": (lambda: Recurrent(nn.GRU, last_state=True), (7, 4), {"GRU"}),
    "rnn": (lambda: Recurrent(nn.RNN), (7, 4), {"SimpleRNN"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_imported_model_predicts_what_onnxruntime_predicts(name, tmp_path):
    make, shape, kinds = CASES[name]
    torch.manual_seed(0)
    module = make()
    randomize_batchnorm(module)
    x = torch.randn(9, *shape)
    # BatchNorm stays its own node instead of being folded into the weights before it
    path = export(module, x, tmp_path / f"{name}.onnx", do_constant_folding=False,
                  training=torch.onnx.TrainingMode.PRESERVE if name != "mlp" else
                  torch.onnx.TrainingMode.EVAL)
    want = onnxruntime_output(path, x.numpy())
    model = import_onnx(path)
    types = {n.type for n in model.spec.nodes}
    assert kinds <= types, f"{name}: {sorted(types)}"
    got = model.output(x.numpy())
    assert got.shape == want.shape
    assert rel_error(got, want) <= 1e-4
    # laid out readably: every node in its own place, edges going right (or on to the next
    # row when a long chain wraps, like a page)
    pos = {n["id"]: tuple(n["pos"]) for n in model.architecture["nodes"]}
    assert len(set(pos.values())) == len(pos)
    assert all(pos[a][0] < pos[b][0] or pos[a][1] < pos[b][1] for a, b in model.spec.edges)


def test_cli_import_writes_a_project_and_its_weights(tmp_path, capsys):
    torch.manual_seed(1)
    path = export(CASES["mlp"][0](), torch.randn(3, 5), tmp_path / "mlp.onnx")
    out = tmp_path / "imported.nnsproj"
    assert cli_main(["import", str(path), "--out", str(out)]) == 0
    project = load_project(out)
    assert project.network["nodes"][0]["type"] == "Input"
    assert project.training.loss == "cross_entropy"
    assert [r.kind for r in project.runs] == ["import"]
    model = project.trained_model()  # the weights are the project's current run
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    assert rel_error(model.output(x), onnxruntime_output(path, x)) <= 1e-4
    assert model.task == "classification" and model.class_names == ["0", "1", "2"]


def test_an_unsupported_operator_is_named_with_its_node(tmp_path, capsys):
    class WithErf(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            return torch.erf(self.fc(x))

    path = export(WithErf(), torch.randn(2, 3), tmp_path / "erf.onnx")
    with pytest.raises(ProjectError) as info:
        import_onnx(path)
    text = str(info.value)
    assert "Erf" in text and "/Erf" in text and "not supported" in text
    assert cli_main(["import", str(path), "--out", str(tmp_path / "x.nnsproj")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Erf" in err
    assert not (tmp_path / "x.nnsproj").exists()


def test_settings_a_layer_cannot_express_are_explained(tmp_path):
    # PyTorch pads 1 pixel on both sides; 'same' with stride 2 on 8 pixels pads 0 and 1
    path = export(nn.Sequential(nn.Conv2d(2, 2, 3, stride=2, padding=1), nn.Flatten()),
                  torch.randn(1, 2, 8, 8), tmp_path / "strided.onnx")
    with pytest.raises(ProjectError, match=r"Conv.*pads \[1, 1, 1, 1\]"):
        import_onnx(path)


@pytest.mark.parametrize("content", [b"", b"not an onnx file at all", b"\x08\x07\x12\x03abc"])
def test_malformed_files_are_one_message(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ProjectError, match="is not a valid ONNX model"):
        import_onnx(path)


def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        import_onnx(tmp_path / "nothing.onnx")


def test_the_issue_operators_all_have_converters():
    wanted = {"Gemm", "MatMul", "Add", "Conv", "MaxPool", "AveragePool", "GlobalAveragePool",
              "BatchNormalization", "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Softmax",
              "Flatten", "Reshape", "Concat", "LSTM", "GRU", "RNN"}
    assert wanted <= set(OPS)
