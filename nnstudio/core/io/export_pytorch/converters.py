"""One entry per engine layer type: how it is built in the exported ``model.py``.

Each :class:`Converter` names the module class in ``nnstudio_layers.py`` (the PyTorch side,
which also converts the weights) and returns the constructor's arguments as Python source:
every value goes through ``repr`` (numbers, tuples, booleans), nothing from a project file
reaches the generated code as raw text. A layer type the engine registers without an entry
here cannot be exported; ``tests/core/io/test_export_pytorch.py`` fails for it until an
entry is added (or the type is listed in :data:`NOT_EXPORTED` with the reason).

Adding a layer type: write its module (with ``load_nnstudio``/``nnstudio_arrays`` when it has
weights) in ``project_files/nnstudio_layers.py`` and add one entry below.
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
    """How one layer type becomes a module of the exported network."""

    module: str
    args: ArgsFn = lambda layer, ins, out: []


def _pads(layer: Layer, shape: Shape, window: list[int], strides: list[int]) -> str:
    """``(top, bottom, left, right)`` zero padding of a "same" layer, ``(0, 0, 0, 0)`` else."""
    if layer.config["padding"] != "same":
        return repr((0, 0, 0, 0))
    top, bottom = same_padding(shape[1], window[0], strides[0])
    left, right = same_padding(shape[2], window[1], strides[1])
    return repr((top, bottom, left, right))


def _dense(layer, ins, out):
    return [repr(ins[0][0]), repr(layer.config["units"]), f"bias={layer.config['use_bias']!r}"]


def _conv(layer, ins, out):
    c = layer.config
    k, s = list(c["kernel_size"]), list(c["strides"])
    return [repr(ins[0][0]), repr(c["filters"]), repr(tuple(k)), repr(tuple(s)),
            f"pads={_pads(layer, ins[0], k, s)}", f"bias={c['use_bias']!r}"]


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


CONVERTERS: dict[str, Converter] = {
    "Input": Converter("Input"),
    "Dense": Converter("Dense", _dense),
    "Linear": Converter("Linear"),
    "ReLU": Converter("ReLU"),
    "Sigmoid": Converter("Sigmoid"),
    "Tanh": Converter("Tanh"),
    "LeakyReLU": Converter("LeakyReLU", lambda layer, i, o: [repr(layer.config["alpha"])]),
    "Softmax": Converter("Softmax"),
    "Dropout": Converter("Dropout", lambda layer, i, o: [repr(layer.config["rate"])]),
    "BatchNorm": Converter("BatchNorm", lambda layer, i, o: [
        repr(i[0][0]), f"momentum={layer.config['momentum']!r}",
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
