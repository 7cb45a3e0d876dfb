"""Token embeddings and position information for sequences of token ids.

Token ids arrive as the network's input ``(N, T)`` in the network's float dtype (exact for
ids below 2**24); id 0 is the padding id of every text preparation
(:mod:`nnstudio.core.data.text`), id 1 the unknown token.

:class:`Embedding` looks ids up in a table ``E (vocab_size, dim)``: ``(N, T)`` → ``(N, T, dim)``.
With ``mask_padding`` the padding id maps to a zero vector, receives no gradient, and the
layer publishes the padding mask ``(N, T)`` (True = a real token) that the attention and the
sequence pooling layers downstream read (see :attr:`Layer.mask_from`, set by the network),
the way Keras propagates ``mask_zero``.

:class:`PositionalEmbedding` adds position information to a sequence ``(N, T, D)``: a learned
table ``P (T, D)`` or the fixed sinusoids of "Attention is all you need".
"""

from __future__ import annotations

import numpy as np

from nnstudio.core.engine.layer import Buffers, Layer, Setting, Shape, register
from nnstudio.core.errors import ShapeError

#: The padding id of every text preparation.
PAD_ID = 0


@register
class Embedding(Layer):
    """``y[n, t] = E[ids[n, t]]``: each token id becomes a learned vector.

    Input ``(N, T)`` token ids, output ``(N, T, dim)``; ``E`` is ``(vocab_size, dim)``.
    """

    type_name = "Embedding"
    category = "Core"
    summary = "y = E[token id] — each token of a sequence becomes a learned vector"
    settings = (
        Setting("vocab_size", "int", 1000, minimum=2, maximum=10_000_000,
                help="number of token ids (the vocabulary of the text preparation)"),
        Setting("dim", "int", 32, minimum=1, maximum=100_000, help="vector size per token"),
        Setting("mask_padding", "bool", True,
                help="id 0 is padding: a zero vector, ignored by attention and pooling"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        #: ``(N, T)`` bool, True at real tokens, from the last forward (None: no padding mask).
        self.mask: np.ndarray | None = None
        self.skip_input_grad = True  # ids have no gradient

    def describe(self) -> str:
        return f"Embedding {self.config['vocab_size']}→{self.config['dim']}"

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 1:
            raise ShapeError(
                f"needs a sequence of token ids (T,) but gets {shape}: use a text column "
                "encoded as token sequences, or a text corpus",
                self.where,
            )
        return (shape[0], self.config["dim"])

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        return {"E": (self.config["vocab_size"], self.config["dim"])}

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        E = self.params["E"]
        # N(0, 1) like PyTorch's nn.Embedding; the padding row starts (and stays) at zero.
        E[...] = rng.standard_normal(E.shape)
        if self.config["mask_padding"]:
            E[PAD_ID] = 0.0

    def ids(self, x: np.ndarray) -> np.ndarray:
        """``(N, T)`` int64 token ids from the float input; out-of-range ids are an error."""
        ids = x.astype(np.int64)
        if ids.size:
            lo, hi = int(ids.min()), int(ids.max())
            v = self.config["vocab_size"]
            if lo < 0 or hi >= v:
                raise ShapeError(
                    f"gets token id {hi if hi >= v else lo} but its vocabulary has {v} ids "
                    "(0 … {}): set vocab_size to the text preparation's vocabulary size".format(
                        v - 1),
                    self.where,
                )
        return ids

    def _forward(self, inputs, training):
        ids = self.ids(inputs[0])
        n, t = ids.shape
        y = self._buf.get("y", (n, t, self.config["dim"]), self.dtype)
        # mode="clip": ids() checked the range; "raise" with out= goes through a copy.
        np.take(self.params["E"], ids, axis=0, out=y, mode="clip")
        self.mask = (ids != PAD_ID) if self.config["mask_padding"] else None
        if training:
            self._ids = ids
        return y

    def _backward(self, grad):
        gE = self.grads["E"]
        d = grad.shape[-1]
        flat = self._ids.reshape(-1)
        g2 = grad.reshape(-1, d)
        v = gE.shape[0]
        # Scatter-add of every position's gradient into its token's row, as a sparse
        # product: (vocab × positions, a one per position) · (positions × dim). SciPy's
        # CSR loop is 2–6× faster than sorting and np.add.reduceat (slow with many short
        # runs), and np.add.at is slower still. Imported here: it costs the engine's
        # import time otherwise.
        try:
            from scipy.sparse import csr_matrix
        except ImportError:  # the installed app leaves SciPy out (packaging/README.md)
            gE.fill(0.0)
            np.add.at(gE, flat, g2)
        else:
            m = len(flat)
            onehot = csr_matrix((np.ones(m, g2.dtype), (flat, np.arange(m))), shape=(v, m))
            np.copyto(gE, onehot @ g2)
        if self.config["mask_padding"] and v > PAD_ID:
            gE[PAD_ID] = 0.0
        return [None]


@register
class PositionalEmbedding(Layer):
    """``y[n, t] = x[n, t] + P[t]``: tells the following layers where each token stands.

    Input and output ``(N, T, D)``. ``kind="learned"``: ``P (T, D)`` is trained (GPT-2);
    ``kind="sinusoidal"``: ``P[t, 2i] = sin(t / 10000^(2i/D))``, ``P[t, 2i+1] = cos(…)``,
    fixed (no parameters). A sequence longer than ``max_length`` cannot be given a position.
    """

    type_name = "PositionalEmbedding"
    category = "Core"
    summary = "y = x + P[position] — adds where each token stands (learned or sinusoidal)"
    settings = (
        Setting("kind", "choice", "learned", choices=("learned", "sinusoidal")),
        Setting("max_length", "int", 0, minimum=0, maximum=1_000_000,
                help="longest sequence allowed; 0 = the input's length"),
    )

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self._buf = Buffers()
        self._table: np.ndarray | None = None

    def describe(self) -> str:
        return f"Positions ({self.config['kind']})"

    def output_shape(self, input_shapes: list[Shape]) -> Shape:
        (shape,) = input_shapes
        if len(shape) != 2:
            raise ShapeError(
                f"needs a sequence of vectors (T, D), e.g. after an Embedding, not {shape}",
                self.where,
            )
        m = self.config["max_length"]
        if m and shape[0] > m:
            raise ShapeError(
                f"the sequence has {shape[0]} positions but max_length allows {m}: shorten the "
                "sequences (the text preparation's length) or raise max_length",
                self.where,
            )
        return tuple(shape)

    def _length(self, shape: Shape) -> int:
        return self.config["max_length"] or shape[0]

    def param_shapes(self, input_shapes: list[Shape]) -> dict[str, Shape]:
        if self.config["kind"] != "learned":
            return {}
        (shape,) = input_shapes
        return {"P": (self._length(shape), shape[1])}

    def init_params(self, input_shapes: list[Shape], rng: np.random.Generator) -> None:
        if "P" in self.params:
            P = self.params["P"]
            P[...] = rng.normal(0.0, 0.02, P.shape)  # GPT-2's initialization

    def table(self, t: int, d: int) -> np.ndarray:
        """``(t, d)`` position vectors."""
        if "P" in self.params:
            return self.params["P"][:t]
        if self._table is None or self._table.shape != (t, d) or self._table.dtype != self.dtype:
            self._table = sinusoids(t, d).astype(self.dtype)
        return self._table

    def _forward(self, inputs, training):
        x = inputs[0]
        _, t, d = x.shape
        y = self._buf.get("y", x.shape, self.dtype)
        np.add(x, self.table(t, d), out=y)
        return y

    def _backward(self, grad):
        if "P" in self.grads:
            gP = self.grads["P"]
            t = grad.shape[1]
            gP[t:] = 0.0
            np.sum(grad, axis=0, out=gP[:t])
        return [grad]


def sinusoids(t: int, d: int) -> np.ndarray:
    """``(t, d)`` float64 sinusoidal positions (sin on even, cos on odd features)."""
    pos = np.arange(t, dtype=np.float64)[:, None]
    i = np.arange(0, d, 2, dtype=np.float64)
    angle = pos / np.power(10000.0, i / d)
    out = np.zeros((t, d))
    out[:, 0::2] = np.sin(angle)
    out[:, 1::2] = np.cos(angle[:, : d // 2])
    return out
