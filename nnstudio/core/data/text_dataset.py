"""Text in ``build_dataset``: the free-text column of a table, and a corpus as a dataset.

* :func:`choose_text_column` / :func:`fit_text_column`: the table builder's hooks for a
  ``dataset.text`` section (one text column; its vocabulary fitted on the train rows; a
  bag/TF-IDF block after the other features, or token sequences as the only input);
* :func:`build_corpus`: a ``dataset.corpus`` section — a UTF-8 ``.txt`` file as next-token
  windows (task ``language_model``; ``y`` are token ids per position).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError

from .corpus import fit_corpus, read_text, windows
from .preparation import Preparation
from .spec import DatasetSpec
from .table import Table
from .text import TextPreparation, text_values

#: The task of a dataset of next-token windows (a language model).
LANGUAGE_MODEL = "language_model"


def choose_text_column(table: Table, spec: DatasetSpec, targets: list[str]) -> str:
    """The text column: the one named in ``dataset.text.columns``, else the first free-text
    column that is neither a target nor ignored."""
    where = table.where()
    cols = (spec.text or {}).get("columns")
    if cols:
        name = cols[0]
        if name not in table:
            raise DataError(f"text: no column named {name!r} (columns: "
                            f"{', '.join(table.columns)})", where=where)
        if name in targets:
            raise DataError(f"{name!r} cannot be both the text input and the target",
                            where="dataset.text.columns")
    else:
        found = [c for c in table.columns if table[c].kind == "text" and c not in targets
                 and c not in spec.ignore]
        if not found:
            raise DataError("no free-text column found: name the text column in the "
                            "dataset's text options", where=where)
        name = found[0]
    if table[name].kind == "empty":
        raise DataError(f"the text column {name!r} is empty: all {table.n_rows:,} values "
                        "are missing", where=where)
    return name


def fit_text_column(prep: Preparation, table: Table, name: str, spec: DatasetSpec,
                    train_rows: np.ndarray, other_features: bool) -> np.ndarray:
    """Fit ``prep.text`` on the train rows of column ``name``; return the column's values
    (a list-like of str for every table row) for encoding."""
    opts = dict(spec.text or {})
    if opts.get("encoding", "tfidf") == "sequence" and other_features:
        raise DataError(
            "token sequences feed an Embedding and cannot be mixed with other feature "
            "columns: choose the bag-of-words or TF-IDF encoding (its vector is joined to "
            "the other features), or ignore the other columns",
            where="dataset.text.encoding")
    values = np.asarray(table[name].as_strings(), dtype=object)
    texts = text_values(values[train_rows].tolist())
    prep.text = TextPreparation.fit(texts, name, opts, where=f"{table.where()}, column {name!r}")
    return values


def build_corpus(spec: DatasetSpec, base_dir=None):
    """Next-token windows of a text corpus as a :class:`~.dataset.PreparedData`."""
    from .dataset import PreparedData

    path = spec.resolve_source(base_dir)
    if path is None:
        raise DataError("a corpus needs a source .txt file", where="dataset.source")
    if not path.is_file():
        raise DataError("file not found" if not path.exists() else "is not a file",
                        where=str(path))
    text = read_text(path)
    tprep, ids = fit_corpus(text, spec.corpus, str(path))
    c = tprep.options["corpus"]
    parts = {k: windows(v, c["window"], c["stride"]) for k, v in ids.items()}
    prep = Preparation([], LANGUAGE_MODEL, ["next token"])
    prep.text = tprep
    counts = {k: len(v[0]) for k, v in
              zip(("train", "validation", "test"), parts.values(), strict=True)}
    counts["dropped"] = 0
    counts["tokens"] = {k: len(v) for k, v in ids.items()}
    (xt, yt), (xv, yv), (xs, ys) = parts["train"], parts["validation"], parts["test"]
    return PreparedData(
        xt, yt, xv, yv, xs, ys, LANGUAGE_MODEL, [], (c["window"],), len(tprep.vocab), prep,
        [Path(path).name], counts, {}, {}, {}, str(path))
