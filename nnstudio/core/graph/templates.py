"""Ready-made networks, as data, that one click puts on the canvas.

A :class:`Template` is a chain of layers after the Input. :func:`build_template` turns it into
the project file's ``network`` dict for a given data shape: an image network reshapes flat or
channel-less data to ``(C, H, W)``, a recurrent one to ``(T, F)``; with no data loaded yet, the
Input declares the shape the template was made for (``1×28×28`` for the digits CNN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from nnstudio.core.engine.layer import LAYERS
from nnstudio.core.graph.document import GraphDocument, Node, id_base
from nnstudio.core.graph.layout import COLUMN_GAP, NODE_HEIGHT, NODE_WIDTH, ROW_GAP

#: Stands for the number of outputs (classes) in a template's settings.
OUTPUTS = "@outputs"


@dataclass(frozen=True)
class Template:
    """A network recipe.

    Attributes
    ----------
    key, title, description:
        Identifier, menu text and one-sentence tooltip.
    layers:
        ``(type_name, settings)`` after the Input, in order; a setting equal to
        :data:`OUTPUTS` becomes the number of outputs.
    default_outputs:
        Outputs (classes) when the caller does not know them.
    input_kind:
        ``"any"``, ``"image"`` (needs ``(C, H, W)``) or ``"sequence"`` (needs ``(T, F)``).
    default_input:
        The Input's declared shape when no data is loaded.
    """

    key: str
    title: str
    description: str
    layers: tuple[tuple[str, dict[str, Any]], ...]
    default_outputs: int = 1
    input_kind: str = "any"
    default_input: tuple[int, ...] | None = None
    needs: tuple[str, ...] = field(default=())
    #: Builds the whole ``network`` dict for graphs that are not a chain (residual
    #: branches): ``builder(input_shape, n_outputs, vocab_size) -> dict``.
    builder: Any = None

    @property
    def available(self) -> bool:
        """Whether every layer type it uses is registered in this build."""
        return all(t in LAYERS for t, _ in self.layers)


def _pool() -> str:
    return next((n for n in ("MaxPool2D", "MaxPooling2D") if n in LAYERS), "MaxPool2D")


def _templates() -> tuple[Template, ...]:
    pool = _pool()
    return (
        Template(
            "linear_regression", "Linear regression",
            "ŷ = w·x + b — one Dense unit and no activation: predicts a number "
            "(a house's price from its features).",
            (("Dense", {"units": 1}),),
        ),
        Template(
            "logistic_regression", "Logistic regression",
            "ŷ = σ(w·x + b) — one Dense unit and a Sigmoid: the probability of a yes/no answer.",
            (("Dense", {"units": 1}), ("Sigmoid", {})),
        ),
        Template(
            "mlp_classifier", "MLP classifier",
            "Two hidden layers of 64 ReLU units and a Softmax over the classes.",
            (("Dense", {"units": 64}), ("ReLU", {}), ("Dense", {"units": 64}), ("ReLU", {}),
             ("Dense", {"units": OUTPUTS}), ("Softmax", {})),
            default_outputs=3,
        ),
        Template(
            "lenet", "LeNet-style CNN (28×28 digits)",
            "Two convolution + max-pooling stages, then two Dense layers and a Softmax over "
            "the ten digits.",
            (("Conv2D", {"filters": 6, "kernel_size": [5, 5], "padding": "same"}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Conv2D", {"filters": 16, "kernel_size": [5, 5]}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Flatten", {}), ("Dense", {"units": 84}), ("ReLU", {}),
             ("Dense", {"units": OUTPUTS}), ("Softmax", {})),
            default_outputs=10, input_kind="image", default_input=(1, 28, 28),
        ),
        Template(
            "image_cnn", "Small image CNN",
            "Two convolution + max-pooling stages (16 and 32 filters of 3×3), a Dense layer of "
            "64 and a Softmax over the classes: a first network for a folder of photos.",
            (("Conv2D", {"filters": 16, "kernel_size": [3, 3], "padding": "same"}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Conv2D", {"filters": 32, "kernel_size": [3, 3], "padding": "same"}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Flatten", {}), ("Dense", {"units": 64}), ("ReLU", {}),
             ("Dense", {"units": OUTPUTS}), ("Softmax", {})),
            default_outputs=2, input_kind="image", default_input=(3, 32, 32),
        ),
        Template(
            "spectrogram_cnn", "Spectrogram CNN (sounds)",
            "Three convolution + max-pooling stages over the log-mel spectrogram (time × mel "
            "bands), a Dense layer of 64, Dropout and a Softmax over the classes.",
            (("Conv2D", {"filters": 16, "kernel_size": [3, 3], "padding": "same"}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Conv2D", {"filters": 32, "kernel_size": [3, 3], "padding": "same"}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Conv2D", {"filters": 32, "kernel_size": [3, 3], "padding": "same"}), ("ReLU", {}),
             (pool, {"pool_size": [2, 2]}),
             ("Flatten", {}), ("Dense", {"units": 64}), ("ReLU", {}), ("Dropout", {"rate": 0.3}),
             ("Dense", {"units": OUTPUTS}), ("Softmax", {})),
            default_outputs=4, input_kind="image", default_input=(1, 98, 40),
        ),
        Template(
            "lstm", "LSTM over sequences",
            "An LSTM reads the sequence step by step; its last state feeds a Dense layer and a "
            "Softmax over the classes.",
            (("LSTM", {"units": 64}), ("Dense", {"units": OUTPUTS}), ("Softmax", {})),
            default_outputs=10, input_kind="sequence", default_input=(28, 28),
        ),
        *_text_templates(),
    )


def _text_templates() -> tuple[Template, ...]:
    from nnstudio.core.graph.text_templates import transformer_network

    return (
        Template(
            "transformer_classifier", "Transformer text classifier",
            "Token ids → Embedding + positions → 2 Transformer blocks (LayerNorm, 4-head "
            "attention, residual Add, Dense–ReLU–Dense) → average over the tokens → Softmax "
            "over the classes. Load a text column encoded as token sequences.",
            (("Embedding", {}), ("PositionalEmbedding", {}), ("LayerNorm", {}),
             ("MultiHeadAttention", {}), ("Add", {}), ("GlobalAvgPool1D", {}),
             ("Dense", {}), ("Softmax", {})),
            default_outputs=2, input_kind="tokens", default_input=(64,),
            builder=lambda shape, k, v: transformer_network("classifier", shape, k, v),
        ),
        Template(
            "tiny_gpt", "Tiny GPT (characters)",
            "A language model: token ids → Embedding + positions → 2 Transformer blocks with "
            "causal attention → a Softmax over the vocabulary at every position. Load a .txt "
            "corpus and watch it learn to spell.",
            (("Embedding", {}), ("PositionalEmbedding", {}), ("LayerNorm", {}),
             ("MultiHeadAttention", {}), ("Add", {}), ("Dense", {}), ("Softmax", {})),
            default_outputs=65, input_kind="tokens", default_input=(64,),
            builder=lambda shape, k, v: transformer_network("gpt", shape, k, v),
        ),
    )


def templates() -> tuple[Template, ...]:
    """Every template, in menu order (built now, so late-registered layer types count)."""
    return _templates()


def template(key: str) -> Template:
    for t in _templates():
        if t.key == key:
            return t
    raise KeyError(key)


def build_template(
    key: str, input_shape: tuple[int, ...] | None = None, n_outputs: int | None = None,
    vocab_size: int | None = None,
) -> dict[str, Any]:
    """The ``network`` dict of a template, laid out left to right (long ones wrapped).

    Parameters
    ----------
    key:
        A :class:`Template` key (``"mlp_classifier"``).
    input_shape:
        The per-sample shape of the loaded data, or ``None`` (then the Input declares the
        template's own shape, when it has one).
    n_outputs:
        Number of outputs or classes; default: the template's.
    """
    t = template(key)
    outputs = int(n_outputs or t.default_outputs)
    if t.builder is not None:  # vocab_size: the Embedding's, for token-id inputs
        return t.builder(input_shape, outputs, vocab_size)
    chain: list[tuple[str, dict[str, Any]]] = []
    input_config: dict[str, Any] = {}
    if input_shape is None:
        if t.default_input is not None:
            input_config["shape"] = list(t.default_input)
    else:
        reshape = _reshape_for(t.input_kind, tuple(input_shape))
        if reshape is not None:
            chain.append(("Reshape", {"shape": list(reshape)}))
    chain.insert(0, ("Input", input_config))
    for type_name, config in t.layers:
        chain.append((type_name, {k: (outputs if v == OUTPUTS else v) for k, v in config.items()}))
    doc = GraphDocument()
    counts: dict[str, int] = {}
    previous = None
    for type_name, config in chain:
        base = id_base(type_name)
        counts[base] = counts.get(base, 0) + 1
        node_id = f"{base}_{counts[base]}"
        doc.insert_node(Node(node_id, type_name, dict(config)))
        if previous is not None:
            doc.insert_edge(previous, node_id)
        previous = node_id
    for node_id, pos in _wrapped(doc.node_ids).items():
        doc.move_node(node_id, pos)
    return doc.to_network_dict()


def _wrapped(ids: list[str], longest: int = 8) -> dict[str, tuple[float, float]]:
    """A chain left to right, wrapped into even rows when longer than ``longest``.

    Long templates (the CNN) stay readable when zoomed to fit; Auto-arrange puts them back
    on one line.
    """
    rows = -(-len(ids) // longest)
    per_row = -(-len(ids) // rows)
    return {
        node_id: (float((i % per_row) * (NODE_WIDTH + COLUMN_GAP)),
                  float((i // per_row) * (NODE_HEIGHT + 3 * ROW_GAP)))
        for i, node_id in enumerate(ids)
    }


def _reshape_for(kind: str, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """The ``Reshape`` target that makes ``shape`` fit an image or sequence network."""
    if kind == "image":
        if len(shape) == 3:
            return None
        if len(shape) == 2:
            return (1, *shape)
        side = math.isqrt(math.prod(shape))
        return (1, side, side) if side * side == math.prod(shape) else None
    if kind == "sequence":
        if len(shape) == 2:
            return None
        if len(shape) == 3 and shape[0] == 1:
            return shape[1:]
        if len(shape) == 1:
            return (shape[0], 1)
    return None
