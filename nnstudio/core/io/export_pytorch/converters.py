"""One entry per engine layer type: how it is built in the exported ``model.py``.

Each :class:`Converter` names the module class in ``nnstudio_layers.py`` (the PyTorch side,
which also converts the weights) and returns the constructor's arguments as Python source:
every value goes through ``repr`` (numbers, tuples, booleans), nothing from a project file
reaches the generated code as raw text. A layer type the engine registers without an entry
here cannot be exported; ``tests/core/io/test_export_pytorch.py`` fails for it until an
entry is added (or the type is listed in :data:`NOT_EXPORTED` with the reason).

Adding a layer type: write its module (with ``load_nnstudio``/``nnstudio_arrays`` when it has
weights) in ``project_files/nnstudio_layers.py`` (sequence and text layers in
``nnstudio_sequence.py``, named by the entry's ``file``), add one entry below and a network
using it to ``tests/core/io/pytorch_helpers.NETWORKS`` (the parity tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nnstudio.core.engine.conv import same_padding
from nnstudio.core.engine.layer import Layer, Shape
from nnstudio.core.errors import ExportError

#: ``args(layer, input_shapes, output_shape) -> list of argument source texts``
ArgsFn = Callable[[Layer, list[Shape], Shape], list[str]]


@dataclass(frozen=True)
class Converter:
    """How one layer type becomes a module of the exported network.

    ``file`` is the shipped module that defines it; ``masked``: its ``forward`` takes the
    padding mask of the Embedding upstream (``mask=``), as the engine's ``mask_from``.
    """

    module: str
    args: ArgsFn = lambda layer, ins, out: []
    file: str = "nnstudio_layers"
    masked: bool = False


def _pads(layer: Layer, shape: Shape, window: list[int], strides: list[int]) -> str:
    """``(top, bottom, left, right)`` zero padding of a "same" layer, ``(0, 0, 0, 0)`` else;
    ``window`` is the span the window covers (a dilated kernel's ``d·(k − 1) + 1``)."""
    if layer.config["padding"] != "same":
        return repr((0, 0, 0, 0))
    top, bottom = same_padding(shape[1], window[0], strides[0])
    left, right = same_padding(shape[2], window[1], strides[1])
    return repr((top, bottom, left, right))


def _dense(layer, ins, out):
    return [repr(ins[0][-1]), repr(layer.config["units"]), f"bias={layer.config['use_bias']!r}"]


def _conv(layer, ins, out):
    """Conv2D and DepthwiseConv2D (a Conv2D with ``groups = C``, set from the input)."""
    layer.output_shape(ins)  # a DepthwiseConv2D derives filters and groups from the input
    c = layer.config
    k, s = list(c["kernel_size"]), list(c["strides"])
    d = list(c.get("dilation_rate", (1, 1)))
    span = [di * (ki - 1) + 1 for di, ki in zip(d, k, strict=True)]
    args = [repr(ins[0][0]), repr(c["filters"]), repr(tuple(k)), repr(tuple(s)),
            f"pads={_pads(layer, ins[0], span, s)}", f"bias={c['use_bias']!r}"]
    if d != [1, 1]:
        args.append(f"dilation={tuple(d)!r}")
    if c.get("groups", 1) != 1:
        args.append(f"groups={c['groups']!r}")
    return args


def _conv_transpose(layer, ins, out):
    c = layer.config
    (oh, _, top, eh), (ow, _, left, ew) = layer.plans(tuple(ins[0]))
    return [repr(ins[0][0]), repr(c["filters"]), repr(tuple(c["kernel_size"])),
            repr(tuple(c["strides"])), f"out={(oh, ow)!r}", f"crop={(top, left)!r}",
            f"extra={(eh, ew)!r}", f"bias={c['use_bias']!r}"]


def _conv1d(layer, ins, out):
    c = layer.config
    _, before, after = layer.plan(tuple(ins[0]))
    return [repr(ins[0][-1]), repr(c["filters"]), repr(c["kernel_size"]), repr(c["strides"]),
            f"pads={(before, after)!r}", f"dilation={c['dilation_rate']!r}",
            f"groups={c['groups']!r}", f"bias={c['use_bias']!r}"]


def _pool1d(layer, ins, out):
    _, before, after = layer._plan(tuple(ins[0]))
    return [repr(layer.config["pool_size"]), repr(layer.stride), f"pads={(before, after)!r}"]


def _embedding(layer, ins, out):
    c = layer.config
    return [repr(c["vocab_size"]), repr(c["dim"]), f"mask_padding={c['mask_padding']!r}"]


def _positions(layer, ins, out):
    (t, d) = ins[0]
    return [repr(layer.config["max_length"] or t), repr(d),
            f"learned={layer.config['kind'] == 'learned'!r}"]


def _attention(layer, ins, out):
    c = layer.config
    d = ins[0][1]
    return [repr(d), repr(c["heads"]), repr(layer.key_size(d)), f"causal={c['causal']!r}",
            f"dropout={c['dropout']!r}", f"bias={c['use_bias']!r}"]


def _bidirectional(layer, ins, out):
    c = layer.config
    return [repr(c["layer"]), repr(ins[0][-1]), repr(c["units"]),
            f"return_sequences={c['return_sequences']!r}", f"merge_mode={c['merge_mode']!r}"]


def _prelu(layer, ins, out):
    (shape,) = ins
    channels = layer.param_shapes(ins)["alpha"][0]
    images = layer.config["shared"] != "all" and len(shape) == 3
    return [repr(channels), f"images={images!r}"]


def _pool(layer, ins, out):
    k = list(layer.config["pool_size"])
    s = list(layer.strides)
    return [repr(tuple(k)), repr(tuple(s)), f"pads={_pads(layer, ins[0], k, s)}"]


def _recurrent(layer, ins, out):
    c = layer.config
    return [repr(ins[0][-1]), repr(c["units"]),
            f"return_sequences={c['return_sequences']!r}"]


def _concat(layer, ins, out):
    ndim = len(ins[0])
    return [f"dim={layer.config['axis'] % ndim + 1!r}"]  # + 1: the batch axis comes first


_SEQ = "nnstudio_sequence"

CONVERTERS: dict[str, Converter] = {
    "Input": Converter("Input"),
    "Dense": Converter("Dense", _dense),
    "Linear": Converter("Linear"),
    "Output": Converter("Output"),
    "ReLU": Converter("ReLU"),
    "Sigmoid": Converter("Sigmoid"),
    "Tanh": Converter("Tanh"),
    "LeakyReLU": Converter("LeakyReLU", lambda layer, i, o: [repr(layer.config["alpha"])]),
    "Softmax": Converter("Softmax"),
    "Dropout": Converter("Dropout", lambda layer, i, o: [repr(layer.config["rate"])]),
    "BatchNorm": Converter("BatchNorm", lambda layer, i, o: [  # sequences: features last
        repr(i[0][-1] if len(i[0]) == 2 else i[0][0]), f"momentum={layer.config['momentum']!r}",
        f"eps={layer.config['epsilon']!r}"]),
    "Conv2D": Converter("Conv2D", _conv),
    "MaxPool2D": Converter("MaxPool2D", _pool),
    "AvgPool2D": Converter("AvgPool2D", _pool),
    "GlobalAvgPool2D": Converter("GlobalAvgPool2D"),
    "Flatten": Converter("Flatten"),
    "Reshape": Converter("Reshape", lambda layer, i, o: [repr(tuple(o))]),
    "SimpleRNN": Converter("SimpleRNN", _recurrent),
    "LSTM": Converter("LSTM", _recurrent),
    "GRU": Converter("GRU", _recurrent),
    "Add": Converter("Add"),
    "Concatenate": Converter("Concatenate", _concat),
    "Multiply": Converter("Multiply"),
    "Average": Converter("Average"),
    "GELU": Converter("GELU", lambda layer, i, o: [
        f"approximate={layer.config['approximate']!r}"]),
    "ELU": Converter("ELU", lambda layer, i, o: [f"alpha={layer.config['alpha']!r}"]),
    "SiLU": Converter("SiLU"),
    "Softplus": Converter("Softplus"),
    "PReLU": Converter("PReLU", _prelu),
    "DepthwiseConv2D": Converter("Conv2D", _conv),
    "Conv2DTranspose": Converter("Conv2DTranspose", _conv_transpose),
    "UpSampling2D": Converter("UpSampling2D",
                              lambda layer, i, o: [repr(tuple(layer.config["size"]))]),
    "GlobalMaxPool2D": Converter("GlobalMaxPool2D"),
    # sequences and text (nnstudio_sequence.py)
    "Embedding": Converter("Embedding", _embedding, _SEQ),
    "PositionalEmbedding": Converter("PositionalEmbedding", _positions, _SEQ),
    "MultiHeadAttention": Converter("MultiHeadAttention", _attention, _SEQ, masked=True),
    "LayerNorm": Converter("LayerNorm", lambda layer, i, o: [
        repr(i[0][-1]), f"eps={layer.config['epsilon']!r}"], _SEQ),
    "GlobalAvgPool1D": Converter("GlobalAvgPool1D", file=_SEQ, masked=True),
    "LastPosition": Converter("LastPosition", file=_SEQ, masked=True),
    "Conv1D": Converter("Conv1D", _conv1d, _SEQ),
    "MaxPool1D": Converter("MaxPool1D", _pool1d, _SEQ),
    "AvgPool1D": Converter("AvgPool1D", _pool1d, _SEQ),
    "Permute": Converter("Permute", lambda layer, i, o: [repr(tuple(layer.config["dims"]))],
                         _SEQ),
    "Bidirectional": Converter("Bidirectional", _bidirectional, _SEQ),
}

#: Registered layer types that deliberately have no PyTorch form: ``{type: reason}``.
NOT_EXPORTED: dict[str, str] = {}


def converter(type_name: str, where: str) -> Converter:
    """The entry of ``type_name``; a type without one is an :class:`ExportError`."""
    try:
        return CONVERTERS[type_name]
    except KeyError:
        reason = NOT_EXPORTED.get(type_name, "the PyTorch export does not know it yet")
        raise ExportError(f"{where}: layer type {type_name} cannot be exported to PyTorch "
                          f"({reason})") from None
