"""Standalone NumPy export: a folder with ``predict.py`` and ``weights.npz`` that needs only NumPy.

``python predict.py input.csv [--out predictions.csv]`` reads raw rows (the same columns as
the training file), applies the fitted preparation, runs the network and writes one row per
input row: ``prediction`` and, for classification, ``p_<class>`` per class — the format of
``nnstudio predict``. ``predict.py`` is generated from :mod:`.standalone_template` (a real,
tested module), keeping only the layer implementations the model uses.

``weights.npz`` holds every parameter under ``"<node id>/<name>"`` and ``model.json`` (0-d
text): the layers in execution order with their settings and inputs, the shapes, the
preparation and the class names. It is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio import __version__
from nnstudio.core.errors import ExportError
from nnstudio.core.io.atomic import atomic_dir

TEMPLATE = Path(__file__).with_name("standalone_template.py")
#: Template blocks each layer type needs (types not listed need only their own block).
BLOCKS = {
    "Reshape": ("Flatten",),
    "Conv2D": ("windows", "Conv2D"),
    "MaxPool2D": ("windows", "MaxPool2D"),
    "AvgPool2D": ("windows", "AvgPool2D"),
    "SimpleRNN": ("Recurrent",),
    "LSTM": ("Recurrent",),
    "GRU": ("Recurrent",),
    "DepthwiseConv2D": ("windows", "Conv2D"),
    "MaxPool1D": ("windows", "seq_windows", "MaxPool1D"),
    "AvgPool1D": ("windows", "seq_windows", "AvgPool1D"),
    "Conv1D": ("windows", "seq_windows", "Conv1D"),
    "Bidirectional": ("Recurrent", "Bidirectional"),
}
_BLOCK = re.compile(r"^# >>> layer (\S+)\n.*?^# <<< layer \1\n", re.S | re.M)
_HEADER = re.compile(r"^# >>> header\n.*?^# <<< header\n", re.S | re.M)


def model_description(model: Any) -> dict[str, Any]:
    """The ``model.json`` of ``weights.npz``."""
    net = model.network
    order = []
    for node_id in net.order:
        layer = net.layers[node_id]
        preds = [] if node_id in net.input_ids else list(net.preds[node_id])
        order.append({"id": node_id, "type": layer.type_name, "config": layer.get_config(),
                      "inputs": preds})
        if getattr(layer, "mask_from", None) is not None:  # the padding mask's Embedding
            order[-1]["mask_from"] = layer.mask_from.name
    prep = model.preparation.to_dict() if model.preparation is not None else None
    return {
        "format": "nnstudio.standalone", "version": 1, "nnstudio": __version__,
        "order": order, "output": net.output_id, "input_shape": list(net.input_shape),
        "shapes": {k: list(v) for k, v in net.shapes.items()}, "dtype": net.dtype.name,
        "task": model.task, "class_names": list(model.class_names),
        "target_names": model.target_names, "preparation": prep,
        # Several Inputs: the prepared-row columns of each; several outputs: their ids in
        # the order of the preparation's heads (one per target).
        **({"input_columns": {k: v.tolist() for k, v in net.input_columns.items()}}
           if net.input_columns is not None else {}),
        **({"outputs": [h.node for h in sorted(model.heads.heads, key=lambda h: h.column)]}
           if model.heads is not None else {}),
    }


def write_weights(model: Any, path: str | Path) -> None:
    """Write ``weights.npz`` (parameters + ``model.json``) to ``path``."""
    arrays = dict(model.network.state_dict())
    arrays["model.json"] = np.array(json.dumps(model_description(model)))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def template_text() -> str:
    """The source of :mod:`.standalone_template`."""
    try:
        return TEMPLATE.read_text(encoding="utf-8")
    except OSError:
        raise ExportError(
            f"the predict.py template ({TEMPLATE.name}) is missing from this installation"
        ) from None


def render_script(model: Any, source: str | None = None) -> str:
    """``predict.py`` for ``model``: the template with a header and only the needed layers."""
    source = source if source is not None else template_text()
    needed: set[str] = set()
    for layer in model.network.layers.values():
        needed.update(BLOCKS.get(layer.type_name, (layer.type_name,)))
    if getattr(model.preparation, "media", None) is not None:
        needed.add("media")  # reading image/sound files

    def keep(m: re.Match) -> str:
        if m.group(1) not in needed:
            return ""
        body = m.group(0).split("\n", 1)[1]
        return body[: body.rindex("# <<< layer")]

    text = _BLOCK.sub(keep, source)
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return _HEADER.sub(lambda m: _header(model), text, count=1)


def _header(model: Any) -> str:
    """The module docstring of ``predict.py``: a description that names the columns/classes.

    Names come from data files, so they are shown as ``repr`` literals and the whole text is
    emitted through :func:`docstring_literal`: nothing from a data file can end the string or
    reach the code (a class named ``\"\"\"`` + newline + code, or ``C:\\x\\N``).
    """
    prep = model.preparation
    if prep is None:
        reads = "an .npy array of prepared inputs"
    elif getattr(prep, "media", None) is not None:
        kind = prep.media["kind"]
        reads = (f"{kind} files: one file, a folder (every {kind} file in it) or a CSV with a "
                 "column of paths; " + ("needs Pillow" if kind == "image" else
                                        "needs soundfile (or wave for PCM WAV) and SciPy to "
                                        "resample"))
    elif getattr(prep, "array", None) is not None:
        shape = "x".join(str(int(s)) for s in prep.array["sample_shape"])
        reads = (f"one sample per row ({shape} values, row-major; a header row is optional), "
                 "or an .npy/.npz array")
    else:
        reads = "a CSV/TSV file with a header and the columns " + ", ".join(
            repr(str(f["name"])) for f in prep.features)
    if model.heads is not None:
        out = "per output, prediction_<target> (and p_<target>_<class> for a class) for " + \
            ", ".join(repr(str(h.target)) for h in model.heads.heads)
    elif model.task == "classification":
        out = "prediction (the class) and p_<class> for " + ", ".join(
            repr(str(c)) for c in model.class_names)
    else:
        out = "prediction (" + ", ".join(repr(str(t)) for t in model.target_names) + \
            ") in the target's own units"
    layers = sorted({layer.type_name for layer in model.network.layers.values()})
    text = (
        f"Standalone predictor exported by nnstudio {__version__} (needs only NumPy).\n\n"
        f"Usage: python predict.py INPUT.csv [--out PREDICTIONS.csv]\n\n"
        f"Reads {reads}.\nWrites {out}, one row per input row.\n"
        f"Layers: {', '.join(layers)}. Weights, preparation and names: weights.npz.\n"
    )
    return docstring_literal(text) + "\n"


def docstring_literal(text: str) -> str:
    """``text`` as a triple-quoted Python string literal whose value is exactly ``text``.

    Backslashes and quotes are escaped, and every character that is not printable (other than
    the line breaks ``\\n``) — control characters, lone surrogates, U+2028 — becomes an escape,
    so the literal is valid UTF-8 source that no content can break out of.
    """
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n" or ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    literal = '"""' + "".join(out) + '"""'
    # Belt and braces: the literal must parse back to the very text (a bug here would be code).
    if ast.literal_eval(literal) != text:  # pragma: no cover - guards the escaping above
        raise ExportError("the description of the model could not be written as Python text")
    return literal


def export_numpy(model: Any, folder: str | Path) -> Path:
    """Write the ``predict.py`` + ``weights.npz`` folder atomically (built aside, renamed in).

    An existing folder at ``folder`` is replaced only when the new one is complete.
    """
    script = render_script(model)
    dest = Path(folder)
    try:
        with atomic_dir(dest) as tmp:
            (tmp / "predict.py").write_text(script, encoding="utf-8")
            write_weights(model, tmp / "weights.npz")
    except OSError as e:
        raise ExportError(f"cannot be written ({e.strerror or e})", str(dest)) from None
    return dest
