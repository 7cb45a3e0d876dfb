"""Hypothesis strategies for ``nnstudio import`` (ONNX) and ``nnstudio import-run`` (a PyTorch
run folder), issue 14 point 4.

ONNX: a valid seed model (nnstudio's own export of an MLP, and a small CNN and a reshaping
network written with ``onnx.helper``) with its protobuf edited — opset changed, an
initializer dropped or given absurd dimensions, attributes out of range, an operator
swapped, inputs rewired into a cycle or to nothing, the input's shape made symbolic, zero or
2⁴⁰ — or its bytes flipped and cut. Run folders: ``metrics.json`` mutated as JSON, the
weights ``.npz`` mutated like a model file, ``export.json`` damaged, files missing.
"""

from __future__ import annotations

import contextlib
import json
import math

import numpy as np
from hypothesis import strategies as st

from .strategies import _npy, json_bytes, mutated_bytes, mutated_json, npz_bytes, odd_arrays


def cnn_model() -> bytes:
    """Conv → Relu → MaxPool → Flatten → Gemm → Softmax on (1, 1, 6, 6), opset 17."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(2, 1, 3, 3)).astype(np.float32), "W"),
             numpy_helper.from_array(np.zeros(2, np.float32), "B"),
             numpy_helper.from_array(rng.normal(size=(3, 8)).astype(np.float32), "G"),
             numpy_helper.from_array(np.zeros(3, np.float32), "C")]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3],
                              pads=[0, 0, 0, 0], strides=[1, 1], name="conv"),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2],
                              name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], axis=1, name="flat"),
             helper.make_node("Gemm", ["f", "G", "C"], ["g"], transB=1, name="gemm"),
             helper.make_node("Softmax", ["g"], ["y"], axis=-1, name="soft")]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def reshape_model() -> bytes:
    """Shape → Gather → Concat → Reshape (constant folding), MatMul + Add, Sigmoid."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
             numpy_helper.from_array(np.ones((12, 1), np.float32) * 0.1, "M"),
             numpy_helper.from_array(np.zeros(1, np.float32), "b")]
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0, name="gather"),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsq"),
             helper.make_node("Constant", [], ["axes"], name="const",
                              value=numpy_helper.from_array(np.array([0], np.int64))),
             helper.make_node("Concat", ["n1", "minus1"], ["shape2"], axis=0, name="concat"),
             helper.make_node("Reshape", ["x", "shape2"], ["flat"], name="reshape"),
             helper.make_node("MatMul", ["flat", "M"], ["mm"], name="matmul"),
             helper.make_node("Add", ["mm", "b"], ["z"], name="add"),
             helper.make_node("Sigmoid", ["z"], ["y"], name="sig")]
    nodes.insert(2, nodes.pop(3))  # the Constant before the Unsqueeze that reads it
    graph = helper.make_graph(
        nodes, "reshape", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def mlp_model() -> bytes:
    """Gemm → Relu → Gemm → Softmax on (N, 4), opset 19, with named nodes."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.normal(size=(4, 5)).astype(np.float32), "W1"),
             numpy_helper.from_array(np.zeros(5, np.float32), "b1"),
             numpy_helper.from_array(rng.normal(size=(5, 2)).astype(np.float32), "W2"),
             numpy_helper.from_array(np.zeros(2, np.float32), "b2")]
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"], name="dense1"),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Gemm", ["r", "W2", "b2"], ["z"], name="dense2"),
             helper.make_node("Softmax", ["z"], ["y"], axis=1, name="soft")]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


def lstm_model() -> bytes | None:
    """PyTorch's export of LSTM(3→4) → last step → Linear(4→2) → softmax on (N, 5, 3), or
    None without PyTorch. The exporter's own graph: Transposes, Slices, zero initial states
    built from Shape/Expand — the paths of the importer's constant folding."""
    import importlib.util
    import io
    import warnings

    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(3, 4, batch_first=True)
            self.out = torch.nn.Linear(4, 2)

        def forward(self, x):
            y, _ = self.rnn(x)
            return torch.softmax(self.out(y[:, -1]), -1)

    torch.manual_seed(0)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Net().eval(), torch.zeros(1, 5, 3), buf, dynamo=False,
                          input_names=["x"], output_names=["y"], opset_version=17,
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}})
    return buf.getvalue()


OPS = ["Conv", "Gemm", "Relu", "Softmax", "Reshape", "Flatten", "MaxPool", "LSTM", "GRU",
       "Transpose", "Concat", "Add", "MatMul", "BatchNormalization", "Gather", "Slice",
       "NoSuchOp", "Loop", "If", "Identity", "Squeeze", "Unsqueeze", "Shape", "Constant",
       "ConvTranspose", "Resize", "Pad", "Split", "ReduceMean", "LayerNormalization"]
ABSURD_INTS = [0, -1, -100, 100, 2**31 - 1, 2**40, 2**62]
ABSURD_FLOATS = [0.0, -1.0, math.inf, -math.inf, math.nan, 1e38, 1e-45]


@st.composite
def onnx_file(draw, seed: bytes) -> bytes:
    """``seed`` (a serialized ModelProto) with 1..3 edits, or its bytes damaged."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if draw(st.integers(0, 4)) == 0:
        return draw(mutated_bytes(seed))
    m = onnx.ModelProto()
    m.ParseFromString(seed)
    g = m.graph
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["opset", "drop_init", "init_dims", "init_values", "attr",
                                   "attr", "op_type", "rewire", "rewire", "input_shape",
                                   "input_type", "output", "drop_node", "domain", "ir"]))
        nodes = list(g.node)
        if op == "opset":
            m.opset_import[0].version = draw(st.sampled_from([0, 1, 6, 9, 11, 21, 99, 10**6]))
        elif op == "drop_init" and len(g.initializer):
            del g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        elif op == "init_dims" and len(g.initializer):
            init = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
            size = int(np.prod(init.dims)) if len(init.dims) else 1
            dims = draw(st.sampled_from([[2**40], [0], [], [1, 1, 1, 1, 1, 1, 1],
                                         [size + 1], [2**31, 2**31]]))
            init.ClearField("dims")
            init.dims.extend(dims)
        elif op == "init_values" and len(g.initializer):
            i = draw(st.integers(0, len(g.initializer) - 1))
            old = g.initializer[i]
            try:
                arr = numpy_helper.to_array(old)
            except ValueError:  # its dimensions were already changed
                continue
            new = draw(st.sampled_from(["nan", "int", "empty", "bigger", "float16", "string"]))
            if arr.dtype.kind not in "fiub" or arr.size == 0:  # already a string or empty
                continue
            if new == "nan":
                arr = arr.astype(np.float32)
                arr.flat[0] = np.nan
            elif new == "int":
                arr = arr.astype(np.int64)
            elif new == "empty":
                arr = np.zeros((0,) + arr.shape[1:], arr.dtype)
            elif new == "bigger":
                arr = np.zeros(tuple(d + 1 for d in arr.shape) or (2,), arr.dtype)
            elif new == "float16":
                arr = arr.astype(np.float16)
            else:
                arr = np.array(["a"] * max(arr.size, 1), dtype=object)
            g.initializer[i].CopyFrom(numpy_helper.from_array(arr, old.name))
        elif op == "attr" and nodes:
            node = draw(st.sampled_from(nodes))
            name = draw(st.sampled_from(["axis", "kernel_shape", "strides", "pads",
                                         "transA", "transB", "alpha", "beta", "perm",
                                         "dilations", "group", "epsilon", "hidden_size",
                                         "direction", "mode", "value", "to"]))
            value = draw(st.sampled_from(ABSURD_INTS) | st.sampled_from(ABSURD_FLOATS)
                         | st.lists(st.sampled_from(ABSURD_INTS), max_size=5)
                         | st.sampled_from(["forward", "bidirectional", "", "x" * 200])
                         | st.just(numpy_helper.from_array(np.zeros((2, 3), np.float32))))
            for a in list(node.attribute):
                if a.name == name:
                    node.attribute.remove(a)
            with contextlib.suppress(ValueError, TypeError):
                node.attribute.append(helper.make_attribute(name, value))
        elif op == "op_type" and nodes:
            draw(st.sampled_from(nodes)).op_type = draw(st.sampled_from(OPS))
        elif op == "rewire" and nodes:
            i = draw(st.integers(0, len(nodes) - 1))
            node = nodes[i]
            names = [o for n in nodes for o in n.output] + [v.name for v in g.input] + \
                [t.name for t in g.initializer] + ["nosuch", ""]
            if len(node.input) and draw(st.booleans()):
                node.input[draw(st.integers(0, len(node.input) - 1))] = draw(
                    st.sampled_from(names))  # maybe its own output or a later one: a cycle
            else:
                node.input.append(draw(st.sampled_from(names)))
        elif op == "input_shape" and len(g.input):
            dims = g.input[0].type.tensor_type.shape.dim
            if len(dims):
                d = dims[draw(st.integers(0, len(dims) - 1))]
                value = draw(st.sampled_from([0, 1, 2**40, 2**62, -3, None, "sym"]))
                if value is None:
                    d.Clear()
                elif value == "sym":
                    d.dim_param = "S"
                else:
                    d.dim_value = value
            elif draw(st.booleans()):
                g.input[0].type.tensor_type.ClearField("shape")
        elif op == "input_type" and len(g.input):
            g.input[0].type.tensor_type.elem_type = draw(st.sampled_from(
                [TensorProto.STRING, TensorProto.FLOAT16, TensorProto.INT64, TensorProto.BOOL,
                 TensorProto.COMPLEX64, 0]))
        elif op == "output" and len(g.output):
            g.output[0].name = draw(st.sampled_from(
                [o for n in nodes for o in n.output] + ["x", "nosuch"]))
        elif op == "drop_node" and nodes:
            g.node.remove(draw(st.sampled_from(nodes)))
        elif op == "domain" and nodes:
            draw(st.sampled_from(nodes)).domain = draw(st.sampled_from(
                ["com.microsoft", "ai.onnx.ml", "x"]))
        elif op == "ir":
            m.ir_version = draw(st.sampled_from([0, 1, 3, 99]))
    return m.SerializeToString()


# -- PyTorch run folders -----------------------------------------------------------------------


@st.composite
def run_folder(draw, metrics: dict, weights: dict[str, np.ndarray], export: dict) -> dict:
    """``{relative path: bytes or None (delete)}`` edits of an exported project's folder."""
    edits: dict[str, bytes | None] = {}
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["metrics", "metrics", "weights", "weights", "export",
                                   "csv", "delete", "bytes"]))
        if op == "metrics":
            edits["run/metrics.json"] = json_bytes(draw(mutated_json(metrics)))
        elif op == "weights":
            files = {k + ".npy": _npy(v) for k, v in weights.items()}
            key = draw(st.sampled_from(sorted(files)))
            what = draw(st.sampled_from(["odd", "drop", "rename", "extra"]))
            if what == "odd":
                files[key] = _npy(draw(odd_arrays()))
            elif what == "drop":
                del files[key]
            elif what == "rename":
                files["x/" + key] = files.pop(key)
            else:
                files["readme.txt"] = b"hello"
            edits["run/weights.npz"] = npz_bytes(files)
        elif op == "export":
            edits["export.json"] = json_bytes(draw(mutated_json(export)))
        elif op == "csv":
            edits["run/metrics.csv"] = draw(st.sampled_from(
                [b"", b"epoch,loss\n1,nan\n", b"\xff\xfe", b"epoch\n" + b"9" * 5000]))
        elif op == "delete":
            edits[draw(st.sampled_from(["run/metrics.json", "run/weights.npz",
                                        "export.json", "run/metrics.csv"]))] = None
        else:
            name = draw(st.sampled_from(["run/metrics.json", "run/weights.npz"]))
            seed = json.dumps(metrics).encode() if name.endswith("json") else \
                npz_bytes({k + ".npy": _npy(v) for k, v in weights.items()})
            edits[name] = draw(mutated_bytes(seed))
    return edits
