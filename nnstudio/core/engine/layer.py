"""The layer contract and the registry of layer types.

A layer type is a :class:`Layer` subclass decorated with :func:`register`. Its class
attributes describe it for the palette and the project file (``type_name``, ``category``,
``summary``, ``n_inputs``, ``settings``); its methods do shape inference without data
(``output_shape``, ``param_shapes``) and the math with data (``forward``, ``backward``).

Shapes given to and returned by shape inference are **per sample**: no batch axis. Arrays at
run time carry the batch axis first: a Dense layer sees ``(N, F)``, a Conv2D ``(N, C, H, W)``,
a recurrent layer ``(N, T, F)``.

Parameters live in one flat buffer owned by the :class:`~nnstudio.core.engine.network.Network`;
a layer receives ``self.params`` and ``self.grads`` as dicts of views into it with the keys of
``param_shapes`` and never rebinds them. ``backward`` overwrites (does not accumulate) the
gradient views.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nnstudio.core.errors import ConfigError

Shape = tuple[int, ...]

#: type name → layer class, filled by :func:`register`, in registration order.
LAYERS: dict[str, type[Layer]] = {}

#: Palette groups in display order.
CATEGORIES = (
    "Input/Output",
    "Core",
    "Activations",
    "Normalization & regularization",
    "Convolution & pooling",
    "Recurrent",
    "Merge",
)


@dataclass(frozen=True)
class Setting:
    """The schema of one layer setting: enough to validate it and to build an editor for it.

    ``kind`` is one of ``"int"``, ``"float"``, ``"bool"``, ``"choice"``, ``"pair"`` (an int or
    a pair of ints such as a kernel size, stored as a list ``[h, w]``), ``"shape"`` (a tuple
    of positive ints, stored as a list), ``"text"`` (a data column's name: an Output's
    target) or ``"names"`` (a list of distinct column names: the columns an Input takes).
    """

    name: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    def coerce(self, value: Any, where: str) -> Any:
        """Return ``value`` converted to this setting's type, or raise :class:`ConfigError`."""
        label = f"'{self.name}'"
        if value is None and self.default is None:  # "unset" (Input shape, pool strides)
            return None
        try:
            if self.kind == "int":
                out: Any = _whole(value)
            elif self.kind == "float":
                if isinstance(value, bool):
                    raise ValueError
                out = float(value)  # text such as "0.5" comes from the property editor
                if not math.isfinite(out):
                    raise ValueError
            elif self.kind == "bool":
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError
                out = bool(value)
            elif self.kind == "choice":
                out = str(value)
                if out not in self.choices:
                    raise ConfigError(
                        f"{label} must be one of {', '.join(self.choices)} (got {value!r})", where
                    )
                return out
            elif self.kind == "pair":
                if isinstance(value, (list, tuple)):
                    if len(value) != 2:
                        raise ValueError
                    out = [_whole(v) for v in value]
                else:
                    out = [_whole(value), _whole(value)]
                for v in out:
                    self._check_range(v, label, where)
                return out
            elif self.kind == "shape":
                if not isinstance(value, (list, tuple)) or not value:
                    raise ValueError
                out = [_whole(v) for v in value]
                if any(v < 1 and v != -1 for v in out):
                    raise ConfigError(f"{label} must hold positive sizes (got {value!r})", where)
                return out
            elif self.kind == "text":
                if not isinstance(value, str) or len(value) > MAX_NAME:
                    raise ValueError
                return value.strip()
            elif self.kind == "names":
                if isinstance(value, str):  # "a, b" typed in the property editor
                    value = [v for v in value.split(",") if v.strip()]
                if not isinstance(value, (list, tuple)) or len(value) > MAX_WHOLE or any(
                        not isinstance(v, str) or len(v) > MAX_NAME for v in value):
                    raise ValueError
                out = [v.strip() for v in value]
                twice = sorted({v for v in out if out.count(v) > 1})
                if twice:
                    raise ConfigError(f"{label} names {', '.join(map(repr, twice))} twice", where)
                return out
            else:  # pragma: no cover - a programming error in a layer's schema
                raise AssertionError(f"unknown setting kind {self.kind}")
        except (TypeError, ValueError):
            raise ConfigError(
                f"{label} must be {self._kind_words()} (got {value!r})", where
            ) from None
        self._check_range(out, label, where)
        return out

    def _check_range(self, value: float, label: str, where: str) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"needs {label} ≥ {_num(self.minimum)} (got {_num(value)})", where)
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"needs {label} ≤ {_num(self.maximum)} (got {_num(value)})", where)

    def _kind_words(self) -> str:
        return {
            "int": "a whole number",
            "float": "a number",
            "bool": "true or false",
            "pair": "a whole number or a pair of whole numbers",
            "shape": "a list of sizes",
            "text": f"a column name (text of at most {MAX_NAME} characters)",
            "names": f"a list of column names (each at most {MAX_NAME} characters)",
        }.get(self.kind, self.kind)


#: Largest whole number a setting accepts when its schema sets no maximum: beyond it no size
#: is real (memory is checked separately against the machine), and NumPy's int32 paths hold it.
MAX_WHOLE = 2**31 - 1
#: Longest column name a setting holds (a CSV header is rarely past 100).
MAX_NAME = 1000


def _whole(value: Any) -> int:
    """A whole number: an int, a float with no fraction (``3.0``) or the digits of one
    (``"12"``, as the property editor gives); never a bool, ``2.5`` (not silently 2), other
    text, or a non-finite or huge value. ValueError otherwise."""
    if isinstance(value, bool | np.bool_):
        raise ValueError
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,10}\s*", value):
        value = int(value)  # "12" typed in the property editor; never "2.5" or "1e3"
    integral_float = (isinstance(value, float | np.floating) and math.isfinite(value)
                      and float(value).is_integer())
    if not (isinstance(value, int | np.integer) or integral_float):
        raise ValueError
    out = int(value)
    if abs(out) > MAX_WHOLE:
        raise ValueError
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: add a layer type to :data:`LAYERS` under its ``type_name``."""
    if cls.type_name in LAYERS:
        raise AssertionError(f"layer type {cls.type_name} registered twice")
    LAYERS[cls.type_name] = cls
    return cls


def layer_class(type_name: str, where: str | None = None) -> type[Layer]:
    """Look up a layer type by name; an unknown name is a :class:`ConfigError`."""
    try:
        return LAYERS[type_name]
    except KeyError:
        known = ", ".join(sorted(LAYERS))
        raise ConfigError(f"unknown layer type {type_name!r} (known: {known})", where) from None


class Layer:
    """Base class of every layer type.

    Subclasses set the class attributes and implement ``output_shape`` and ``_forward`` /
    ``_backward``; layers with parameters also implement ``param_shapes`` and ``init_params``.

    Parameters
    ----------
    name:
        The node id, used in messages (``Dense 'h1': ...``) and as the parameter-key prefix.
    **config:
        Settings by their schema names; missing ones take their defaults.
    """

    type_name: ClassVar[str] = "Layer"
    category: ClassVar[str] = "Core"
    summary: ClassVar[str] = ""
    #: 0 for Input, 1 for ordinary layers, None for merges (two or more inputs).
    n_inputs: ClassVar[int | None] = 1
    settings: ClassVar[tuple[Setting, ...]] = ()

    def __init__(self, name: str, **config: Any):
        self.name = name
        self.dtype: np.dtype = np.dtype(np.float32)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.config = self.validate_config(config, self.where)
        self.input_shapes: list[Shape] = []

    # -- description -------------------------------------------------------------------
    @property
    def where(self) -> str:
        """How messages name this layer: ``Dense 'h1'``."""
        return f"{self.type_name} '{self.name}'"

    @classmethod
    def validate_config(cls, config: dict[str, Any], where: str) -> dict[str, Any]:
        """Return a complete, type-checked copy of ``config``; raise :class:`ConfigError`."""
        known = {s.name: s for s in cls.settings}
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ConfigError(
                f"has no setting {', '.join(repr(u) for u in unknown)}"
                + (f" (settings: {', '.join(known)})" if known else ""),
                where,
            )
        out = {}
        for s in cls.settings:
            out[s.name] = s.coerce(config[s.name], where) if s.name in config else _copy(s.default)
        return out

    def get_config(self) -> dict[str, Any]:
        """The settings, JSON-able, by their Keras-style names."""
        return {k: _copy(v) for k, v in self.config.items()}

    @staticmethod
    def from_config(type_name: str, name: str, config: dict[str, Any]) -> Layer:
        """Build a layer of a registered type from its settings."""
        return layer_class(type_name, f"{type_name} '{name}'")(name, **config)

    def describe(self) -> str:
        """A short label for a canvas node: ``Dense 128``, ``Conv2D 16 3x3``."""
        return self.type_name

    # -- shape inference (no data) -------------------------------------------------------
    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        """Per-sample output shape for the given per-sample input shapes.

        Raises :class:`~nnstudio.core.errors.ShapeError` when the inputs cannot work.
        """
        return input_shapes[0]

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        """Trainable parameter shapes by name (``{}`` for layers without parameters)."""
        return {}

    def state_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        """Non-trained saved state (BatchNorm running statistics) by name."""
        return {}

    def param_count(self, input_shapes: list[Shape]) -> int:
        """Number of trainable scalars."""
        return sum(math.prod(s) for s in self.param_shapes(input_shapes).values())

    # -- building and running ----------------------------------------------------------
    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        """Fill ``self.params`` (views) in place with initial values; default: nothing."""

    def init_state(self, input_shapes: list[Shape]) -> None:
        """Fill ``self.state`` (views) in place with initial values; default: nothing."""

    def forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        """Compute the output ``(N, *output_shape)`` from inputs ``[(N, *input_shape), ...]``.

        May cache what :meth:`backward` needs when ``training`` is true.
        """
        return self._forward(inputs, training)

    def backward(self, grad: np.ndarray) -> list[np.ndarray]:
        """Gradients with respect to the inputs of the last ``forward(training=True)``.

        ``grad`` is ``d loss / d output`` with the output's shape. Writes ``self.grads`` in
        place and returns one array per input, shaped like that input. The returned arrays
        may be scratch buffers reused on the next call: callers consume them at once.
        """
        return self._backward(grad)

    def _forward(self, inputs: list[np.ndarray], training: bool) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, grad: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.config})"


def _copy(v: Any) -> Any:
    return list(v) if isinstance(v, (list, tuple)) else v


class Buffers:
    """Scratch arrays reused while the batch shape stays the same.

    ``get("out", shape, dtype)`` returns the same array on every call with the same shape, so
    a training epoch allocates nothing in the steady state (the last batch of an epoch, when
    smaller, gets its own set once).

    Many batch sizes would keep many sets; past :data:`LIMIT` arrays the current ones become
    the *old* generation and later calls move what they use back. An array a forward pass
    made is therefore still the same array in its backward pass however many batch sizes
    came before (dropping everything at once used to hand a backward pass fresh, unwritten
    arrays in place of the forward's), and at most two generations are held.
    """

    __slots__ = ("_arrays", "_old")
    LIMIT = 64

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}
        self._old: dict[tuple, np.ndarray] = {}

    def get(self, key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        k = (key, shape, dtype)
        a = self._arrays.get(k)
        if a is None:
            a = self._miss(k, shape, dtype, None)
        return a

    def _miss(self, k: tuple, shape: tuple[int, ...], dtype: np.dtype,
              fill: float | None) -> np.ndarray:
        """The array of key ``k`` from the old generation, or a new one (``fill`` or empty)."""
        a = self._old.pop(k, None)
        if a is None:
            a = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        if len(self._arrays) >= self.LIMIT:
            self._old, self._arrays = self._arrays, {}
        self._arrays[k] = a
        return a


class FilledBuffers(Buffers):
    """:class:`Buffers` whose new arrays start filled with ``fill`` (zeros by default).

    For buffers whose borders are written once and must keep their value (the zero padding
    around an image, the unused columns of a gradient) and for constants (the ones that sum
    a batch: ``ones @ g``).
    """

    __slots__ = ()

    def get(self, key: str, shape: tuple[int, ...], dtype: np.dtype, fill: float = 0.0):
        k = (key, shape, dtype)
        a = self._arrays.get(k)
        if a is None:
            a = self._miss(k, shape, dtype, fill)
        return a
