"""The Transformer templates: a text classifier and a tiny GPT, as project ``network`` dicts.

Both are pre-norm Transformer blocks (GPT-2's order) on token ids ``(T,)``::

    Embedding → PositionalEmbedding →
      N × [LayerNorm → MultiHeadAttention → Add(residual) →
           LayerNorm → Dense(4d) → ReLU → Dense(d) → Add(residual)]
    classifier:  → LayerNorm → GlobalAvgPool1D → Dense(classes) → Softmax
    tiny GPT:    → LayerNorm → Dense(vocabulary) → Softmax       (causal attention)

Unlike the chain templates of :mod:`.templates` these have residual branches, so they are
built node by node here. ReLU stands in the MLP where GPT-2 uses GELU.
"""

from __future__ import annotations

from typing import Any

from nnstudio.core.graph.document import GraphDocument, Node
from nnstudio.core.graph.layout import COLUMN_GAP, NODE_HEIGHT, NODE_WIDTH, ROW_GAP

#: Defaults: 2 blocks, width 64, 4 heads (the size of the issue's benchmark).
BLOCKS, WIDTH, HEADS = 2, 64, 4
DEFAULT_VOCAB = 1000


def text_vocab_size(prepared: Any) -> int | None:
    """The vocabulary size of loaded text data (token sequences or a corpus), else None."""
    text = getattr(getattr(prepared, "preparation", None), "text", None)
    return len(text.vocab) if text is not None else None


def transformer_network(
    kind: str, input_shape: tuple[int, ...] | None, n_outputs: int,
    vocab_size: int | None = None, blocks: int = BLOCKS, width: int = WIDTH,
    heads: int = HEADS, default_length: int = 64,
) -> dict[str, Any]:
    """``network`` dict of a ``"classifier"`` or a ``"gpt"``.

    ``input_shape`` is the data's ``(T,)`` (None: the Input declares ``(default_length,)``);
    ``n_outputs`` the classes (classifier) or the vocabulary (GPT); ``vocab_size`` the
    Embedding's vocabulary (default: ``n_outputs`` for a GPT, else :data:`DEFAULT_VOCAB`).
    """
    gpt = kind == "gpt"
    vocab = int(vocab_size or (n_outputs if gpt else DEFAULT_VOCAB))
    doc = GraphDocument()
    rows: list[list[str]] = [[]]
    counts: dict[str, int] = {}

    def add(type_name: str, config: dict[str, Any], after: str | None, row_break=False) -> str:
        base = {"MultiHeadAttention": "attention", "PositionalEmbedding": "positions",
                "GlobalAvgPool1D": "pool", "LayerNorm": "norm"}.get(type_name,
                                                                   type_name.lower())
        counts[base] = counts.get(base, 0) + 1
        node_id = f"{base}_{counts[base]}"
        doc.insert_node(Node(node_id, type_name, dict(config)))
        if after is not None:
            doc.insert_edge(after, node_id)
        if row_break:
            rows.append([])
        rows[-1].append(node_id)
        return node_id

    config: dict[str, Any] = {} if input_shape else {"shape": [default_length]}
    x = add("Input", config, None)
    x = add("Embedding", {"vocab_size": vocab, "dim": width}, x)
    x = add("PositionalEmbedding", {"kind": "learned"}, x)
    for _ in range(blocks):
        skip = x
        h = add("LayerNorm", {}, x, row_break=True)
        h = add("MultiHeadAttention", {"heads": heads, "causal": gpt, "dropout": 0.0}, h)
        x = add("Add", {}, h)
        doc.insert_edge(skip, x)
        skip = x
        h = add("LayerNorm", {}, x)
        h = add("Dense", {"units": 4 * width}, h)
        h = add("ReLU", {}, h)
        h = add("Dense", {"units": width}, h)
        x = add("Add", {}, h)
        doc.insert_edge(skip, x)
    x = add("LayerNorm", {}, x, row_break=True)
    if not gpt:
        x = add("GlobalAvgPool1D", {}, x)
    x = add("Dense", {"units": int(n_outputs)}, x)
    add("Softmax", {}, x)
    for r, ids in enumerate(rows):
        for c, node_id in enumerate(ids):
            doc.move_node(node_id, (float(c * (NODE_WIDTH + COLUMN_GAP)),
                                    float(r * (NODE_HEIGHT + 3 * ROW_GAP))))
    return doc.to_network_dict()
