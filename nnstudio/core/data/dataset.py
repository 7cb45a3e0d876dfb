"""``build_dataset``: load, choose columns, drop/fill, split, fit on train, transform."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError
from nnstudio.core.fileaccess import read_file_head

from . import decimals as _decimals
from . import kinds as _kinds
from .csv_reader import load_table
from .dates import DEFAULT_PARTS as DEFAULT_DATE_PARTS
from .examples import EXAMPLES
from .idx import is_idx, load_idx
from .npz import load_npz
from .preparation import Preparation, raw_feature
from .spec import DatasetSpec
from .split import split_indices
from .table import ArrayData, Table
from .target_heads import MULTI_OUTPUT, encode_heads, fit_heads

#: A numeric target with at most this many distinct whole numbers is read as class labels.
MAX_NUMERIC_CLASSES = 10
#: More classes than this is almost surely a mistake (an id or free text as the target).
MAX_CLASSES = 1000
SPLITS = ("train", "validation", "test")


@dataclass
class PreparedData:
    """Prepared splits, ready for training.

    Attributes
    ----------
    x_train, x_val, x_test : float32 (N, *input_shape)
    y_train, y_val, y_test : int64 (N,) class indices, or float32 (N, k) regression targets
        (standardized; ``preparation.decode_target`` gives the user's units back).
    task : "classification" or "regression"
    class_names : list of str (empty for regression)
    input_shape : tuple
    output_size : int
        Number of classes, or of regression targets.
    preparation : Preparation
    feature_names : list of str
        Input columns used, in matrix order (``preparation.output_names()`` for the
        one-hot-expanded matrix columns).
    counts : dict
        ``{"train": n, "validation": n, "test": n, "dropped": n, "per_class": {split:
        {class: n}}}``.
    dropped_rows : dict
        ``{reason: int64 array of 1-based file line numbers}``.
    skipped_columns : dict
        ``{column: reason}`` for columns left out automatically (free text, empty).
    indices : dict
        ``{split: int64 row indices into the loaded table/arrays}`` (for images and sounds:
        into ``media["files"]``).
    notes : list of str
        What the builder decided that a user should know: columns read as numbers written
        with a decimal comma, a mostly numeric column treated as categories because of a
        few words in it.
    media : dict or None
        Image/sound datasets (see :mod:`.media_dataset`): ``kind``, ``files``, ``skipped``
        (``Skipped(path, reason)`` list), ``raw`` (the cached raw samples) and the decoding
        options. The ``x_*`` splits are then :class:`~.batches.LazySamples`.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    class_names: list[str]
    input_shape: tuple
    output_size: int
    preparation: Preparation
    feature_names: list[str]
    counts: dict
    dropped_rows: dict = field(default_factory=dict)
    skipped_columns: dict = field(default_factory=dict)
    indices: dict = field(default_factory=dict)
    source: str = ""
    notes: list[str] = field(default_factory=list)
    media: dict | None = None
    #: A table with a text column: ``{split: object array of the raw texts}``.
    texts: dict | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> str:
        """One line such as ``train 14,000 · validation 3,000 · test 3,000 (12 rows dropped)``."""
        parts = [f"{s} {self.counts[s]:,}" for s in SPLITS]
        text = " · ".join(parts)
        n = self.counts.get("dropped")
        if n:
            noun = ("file" if self.media is not None else "row") + ("" if n == 1 else "s")
            text += f" ({n:,} {noun} {'skipped' if self.media is not None else 'dropped'})"
        return text


def load_source(spec: DatasetSpec, base_dir: str | Path | None = None) -> Table | ArrayData:
    """Load what ``spec`` points at: a built-in example, a CSV/TSV, an IDX or an NPZ file."""
    if spec.example is not None:
        if spec.example not in EXAMPLES:
            raise DataError(f"unknown example {spec.example!r} (examples: "
                            f"{', '.join(EXAMPLES)})", where="dataset.example")
        return EXAMPLES[spec.example].make(seed=0)
    path = spec.resolve_source(base_dir)
    if path is None:
        raise DataError("give a source file or an example", where="dataset")
    magic = read_file_head(path, 4, DataError, "a data file")  # missing, folder, too long...
    if path.suffix.lower() == ".npz" or magic == b"PK\x03\x04":
        return load_npz(path, spec.x_key, spec.y_key)
    if is_idx(path) or ("idx" in path.name.lower() and "ubyte" in path.name.lower()):
        return load_idx(path, spec.resolve_labels(base_dir))
    return load_table(path, spec.delimiter, spec.header, spec.encoding)


def build_dataset(spec: DatasetSpec, base_dir: str | Path | None = None,
                  outputs: list[tuple[str, str]] | None = None,
                  several_inputs: bool = False, **media_options) -> PreparedData:
    """Load the data, split it, fit the preparation on the train split, transform all splits.

    Parameters
    ----------
    spec : DatasetSpec
    base_dir : str or Path, optional
        Folder relative ``source``/``labels`` paths start from (the project file's folder).
    outputs : list of (column, loss), optional
        A network with several outputs (its ``Output`` layers, see
        :func:`.binding.output_targets`): these target columns replace ``spec.target``,
        each prepared on its own (:mod:`.target_heads`); ``y`` is then float32 ``(N, H)``.
    several_inputs : bool
        The network's Inputs take chosen columns (:mod:`.binding`): a text column's token
        ids may then sit beside other feature columns (one Input each).
    media_options
        For image/sound datasets: ``progress``, ``cancelled``, ``cache_folder`` of
        :func:`~.media_dataset.build_media_dataset`.

    Raises
    ------
    DataError
        Any problem with the data or the spec, naming the file, row and column.
    """
    spec.validate()
    if outputs and (spec.corpus is not None or spec.images is not None
                    or spec.sound is not None):
        raise DataError("a network with several outputs learns columns of a table (a CSV): "
                        "each Output layer names one of its columns", where="dataset")
    if spec.corpus is not None:  # a plain-text corpus for a language model
        from .text_dataset import build_corpus

        return build_corpus(spec, base_dir)
    from .media_dataset import build_media_dataset, media_kind

    kind = media_kind(spec, base_dir)
    if kind is not None:
        return build_media_dataset(spec, base_dir, kind, **media_options)
    data = load_source(spec, base_dir)
    if isinstance(data, ArrayData):
        if outputs:
            raise DataError("a network with several outputs learns columns of a table (a "
                            "CSV), not arrays: each Output layer names one of its columns",
                            where="dataset")
        return _build_arrays(data, spec)
    if outputs:
        spec = dataclasses.replace(spec, target=[t for t, _ in outputs], task="auto")
    elif spec.example is not None and not spec.targets:
        spec = _with_target(spec, EXAMPLES[spec.example].target)
    return _build_table(data, spec, dict(outputs) if outputs else None, several_inputs)


def check_finite_column(table: Table, name: str, where: str) -> None:
    """A numeric column may hold missing values (NaN) but no infinity (``inf``, ``1e400``):
    one would turn every weight it touches into NaN."""
    values = table[name].values
    bad = np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        more = f" ({int(bad.sum()) - 1:,} more below)" if bad.sum() > 1 else ""
        raise DataError(f"{values[i]} is not a finite number{more}",
                        where=f"{where}, row {table.line_number(i)}, column {name!r}")


def _with_target(spec: DatasetSpec, target: str) -> DatasetSpec:
    d = spec.to_dict()
    d["target"] = target
    return DatasetSpec.from_dict(d)


def _check_names(table: Table, names, field_name: str) -> None:
    for name in names:
        if name not in table:
            close = difflib.get_close_matches(name, table.columns, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else \
                f" (columns: {', '.join(table.columns)})"
            raise DataError(f"{field_name}: no column named {name!r}{hint}",
                            where=table.where())


def infer_task(values: np.ndarray) -> str:
    """``classification`` for text or few distinct whole numbers, else ``regression``."""
    if values.dtype.kind in "biu":
        return "classification" if np.unique(values).size <= MAX_CLASSES else "regression"
    if values.dtype.kind != "f":
        return "classification"
    present = values[~np.isnan(values)]
    uniq = np.unique(present)
    if uniq.size <= MAX_NUMERIC_CLASSES and np.all(uniq == np.round(uniq)):
        return "classification"
    return "regression"


def _class_names(labels: np.ndarray) -> list[str]:
    """Distinct labels, numbers sorted numerically (``2`` before ``10``)."""
    uniq = np.unique(labels[labels != ""])
    try:
        return [str(u) for u in sorted(uniq.tolist(), key=float)]
    except ValueError:
        return [str(u) for u in uniq.tolist()]


def _number_formats(table: Table, spec: DatasetSpec) -> tuple[Table, list[str]]:
    """Read decimal-comma / thousands-separated columns as numbers (see :mod:`.decimals`)."""
    found = _decimals.detect(table)
    if not found:
        return table, []
    if spec.decimal == ".":
        return table, [f"{', '.join(map(repr, found))} look like numbers written with a "
                       "decimal comma or thousands separators, but the decimal mark is set "
                       "to '.': they are read as text"]
    if spec.decimal == ",":
        found = dict.fromkeys(found, ",")
    return _decimals.apply(table, found), [_decimals.describe(found)]


def _mostly_numbers(table: Table, name: str) -> str | None:
    """A note when a categorical column is numbers but for a few words (``5, six, 0``)."""
    col = table[name]
    if col.kind not in ("categorical", "text"):
        return None
    values = col.values[~col.missing]
    if values.size == 0:
        return None
    _numbers, _, invalid = _kinds.parse_numbers(values)
    words = np.unique(values[invalid])
    if words.size > 0 and invalid.sum() <= 0.5 * values.size:
        shown = ", ".join(repr(str(w)) for w in words[:3])
        return (f"{name!r} holds numbers but also {shown}: it is treated as categories (one "
                f"input per value); correct {'that value' if words.size == 1 else 'those'} "
                "or ignore the column to use it as a number")
    return None


def _build_table(table: Table, spec: DatasetSpec, head_losses: dict[str, str] | None = None,
                 several_inputs: bool = False) -> PreparedData:
    table, notes = _number_formats(table, spec)
    where = table.where()
    targets = spec.targets
    if not targets:
        raise DataError(f"choose the target column (columns: {', '.join(table.columns)})",
                        where="dataset.target")
    _check_names(table, targets, "target")
    _check_names(table, spec.ignore, "ignore")
    _check_names(table, spec.categorical, "categorical")
    _check_names(table, spec.missing_per_column, "missing_per_column")
    skipped: dict[str, str] = {}
    if spec.features is None:
        features = []
        for name in table.columns:
            if name in targets or name in spec.ignore:
                continue
            col = table[name]
            if col.kind == "text" and name not in spec.categorical:
                skipped[name] = f"free text ({col.n_distinct:,} distinct values)"
            elif col.kind == "empty":
                skipped[name] = "empty (every value is missing)"
            else:
                features.append(name)
    else:
        _check_names(table, spec.features, "features")
        features = list(spec.features)
        for other, label in ((targets, "target"), (spec.ignore, "ignored")):
            clash = set(features) & set(other)
            if clash:
                raise DataError(f"{sorted(clash)} cannot be both feature and {label}",
                                where="dataset.features")
    text_col = None
    if spec.text is not None:  # a free-text column as input (text_dataset.py)
        from .text_dataset import choose_text_column

        text_col = choose_text_column(table, spec, targets)
        features = [f for f in features if f != text_col]
        skipped.pop(text_col, None)
    if not features and text_col is None:
        raise DataError("no feature columns are left to learn from", where=where)

    kinds: dict[str, str] = {}
    for name in features:
        col = table[name]
        if col.kind == "empty":
            raise DataError(f"column {name!r} is empty: all {table.n_rows:,} values are "
                            "missing", where=where)
        if col.kind == "text" and col.n_distinct > MAX_CLASSES:
            raise DataError(f"column {name!r} is free text ({col.n_distinct:,} distinct "
                            "values); ignore it", where=where)
        if name in spec.categorical or col.kind in ("text", "categorical"):
            kinds[name] = "categorical"
        else:
            kinds[name] = col.kind  # numeric or date
    for name in list(features) + targets:
        col = table[name]
        if col.kind == "numeric" and col.n_invalid and kinds.get(name) != "categorical":
            row = int(table.line_number(int(col.invalid_rows[0])))
            more = f" ({col.n_invalid - 1:,} more below)" if col.n_invalid > 1 else ""
            raise DataError(f"{col.invalid_values[0]!r} is not a number, but the column is "
                            f"numeric elsewhere{more}",
                            where=f"{where}, row {row}, column {name!r}")
        if col.kind == "numeric" and kinds.get(name) != "categorical":
            check_finite_column(table, name, where)

    # ---- target and task
    for name in targets:
        if table[name].kind == "empty":
            raise DataError(f"target column {name!r} is empty: all {table.n_rows:,} values "
                            "are missing", where=where)
    head_tasks: dict[str, str] = {}
    if head_losses is not None:  # several outputs: a task per target (target_heads.py)
        task = MULTI_OUTPUT
        for name in targets:
            head_tasks[name] = _head_task(table, name, head_losses[name], where)
    else:
        task = spec.task
        if task == "auto":
            task = "regression" if len(targets) > 1 else infer_task(table[targets[0]].values)
        if task == "classification" and len(targets) > 1:
            raise DataError("classification takes one target column; several targets mean "
                            "regression", where="dataset.target")
    for name in targets:
        if head_tasks.get(name) == "regression" and table[name].kind != "numeric":
            raise DataError(f"target {name!r} holds {table[name].kind} values, not numbers: "
                            f"its Output's loss {head_losses[name]!r} is for numbers (use "
                            "auto or cross_entropy)", where=where)
        if task == "regression" and table[name].kind != "numeric":
            raise DataError(f"target {name!r} holds {table[name].kind} values, not "
                            "numbers: it cannot be a regression target (choose "
                            "classification)", where=where)

    # ---- rows to drop
    keep = np.ones(table.n_rows, bool)
    dropped: dict[str, np.ndarray] = {}
    all_rows = np.arange(table.n_rows)

    def drop(mask: np.ndarray, reason: str) -> None:
        mask = mask & keep
        if mask.any():
            dropped[reason] = np.asarray(table.line_number(all_rows[mask]), np.int64)
            keep[mask] = False

    for name in targets:
        drop(table[name].missing, f"missing target {name!r}")
    for name in features:
        how = spec.missing_per_column.get(name, spec.missing)
        if how == "drop":
            drop(table[name].missing | _unparsed_dates(table, name, kinds[name]),
                 f"missing value in {name!r}")
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise DataError("no rows are left after dropping rows with missing values",
                        where=where)

    class_names: list[str] = []
    labels = None
    head_classes: dict[str, list[str]] = {}
    for name in targets:
        if task != "classification" and head_tasks.get(name) != "classification":
            continue
        values = table[name].as_strings()[rows]
        names = _class_names(values)
        if len(names) < 2:
            raise DataError(f"target {name!r} has only one class "
                            f"({names[0]!r}); classification needs at least two",
                            where=where)
        if len(names) > MAX_CLASSES:
            raise DataError(f"target {name!r} has {len(names):,} different "
                            "values: too many classes (is it an id or free text?)", where=where)
        head_classes[name] = names
        if labels is None:  # stratify by the (first) class target
            labels = values
    if task == "classification":
        class_names = head_classes[targets[0]]

    tr, va, te = split_indices(rows.size, spec.split.fractions, spec.split.seed,
                               labels if (labels is not None and spec.split.stratify) else None,
                               spec.split.shuffle)
    split_rows = {"train": rows[tr], "validation": rows[va], "test": rows[te]}
    missing = {n: spec.missing_per_column.get(n, spec.missing) for n in features}
    prep = Preparation.fit_table(table, split_rows["train"], kinds, targets, task,
                                 class_names or None, spec.scaling, missing,
                                 spec.target_scaling,
                                 spec.date_features or DEFAULT_DATE_PARTS)
    columns = {n: raw_feature(table, n, kinds[n])[rows] for n in features}
    if text_col is not None:
        from .text_dataset import fit_text_column

        columns[text_col] = fit_text_column(prep, table, text_col, spec, split_rows["train"],
                                            bool(features) and not several_inputs)[rows]
    x_all = prep._encode(columns, rows.size, where, lambda i: table.line_number(int(rows[i])))
    if task == MULTI_OUTPUT:
        prep.heads = fit_heads(table, split_rows["train"], [(t, head_tasks[t]) for t in targets],
                               head_classes, spec.target_scaling)
        y_all = encode_heads(prep.heads, {
            h["target"]: (table[h["target"]].as_strings() if h["task"] == "classification"
                          else table[h["target"]].values)[rows] for h in prep.heads}, where)
    elif task == "classification":
        y_all = prep.encode_labels(labels, where)
    else:
        y_all = prep.transform_target(np.stack([table[t].values[rows] for t in targets], 1))
    parts = {"train": tr, "validation": va, "test": te}
    counts = _counts(parts, y_all, class_names, int((~keep).sum()))
    prepared = PreparedData(
        x_all[tr], y_all[tr], x_all[va], y_all[va], x_all[te], y_all[te], task, class_names,
        prep.input_shape, prep.output_size, prep, list(features), counts, dropped, skipped,
        split_rows, where,
        notes + [n for n in (_mostly_numbers(table, f) for f in features) if n])
    if text_col is not None:  # the raw texts per split: the monitoring reference reads them
        prepared.texts = {s: columns[text_col][idx] for s, idx in parts.items()}
    return prepared


def _head_task(table: Table, name: str, loss: str, where: str) -> str:
    """An Output's task: its loss says it, else the target column's values ("auto")."""
    if loss in ("cross_entropy", "binary_cross_entropy"):
        return "classification"
    if loss in ("mse", "mae"):
        return "regression"
    return infer_task(table[name].values)


def _unparsed_dates(table: Table, name: str, kind: str) -> np.ndarray:
    if kind != "date":
        return np.zeros(table.n_rows, bool)
    return np.isnan(table[name].as_days())


def _counts(parts: dict, y: np.ndarray, class_names: list[str], dropped: int) -> dict:
    counts: dict = {s: int(idx.size) for s, idx in parts.items()}
    counts["dropped"] = dropped
    if class_names:
        counts["per_class"] = {
            s: dict(zip(class_names, np.bincount(y[idx], minlength=len(class_names)).tolist(),
                        strict=True))
            for s, idx in parts.items()}
    return counts


def _build_arrays(data: ArrayData, spec: DatasetSpec) -> PreparedData:
    where = data.where()
    if data.y is None:
        raise DataError("has no targets: give the labels file (IDX) or the y array name "
                        "(NPZ)", where=where)
    y = data.y
    task = spec.task if spec.task != "auto" else infer_task(y.reshape(len(y), -1)[:, 0]
                                                             if y.ndim > 1 else y)
    class_names: list[str] = []
    labels = None
    if task == "classification":
        if y.ndim != 1:
            raise DataError(f"targets {data.y_name!r} have shape {y.shape}: classification "
                            "needs one label per sample", where=where)
        labels = _kinds.format_numbers(y.astype(np.float64)) if y.dtype.kind in "biuf" \
            else y.astype(str)
        class_names = _class_names(labels)
        if len(class_names) < 2:
            raise DataError(f"the labels have only one class ({class_names[0]!r}); "
                            "classification needs at least two", where=where)
    elif y.dtype.kind not in "biuf":
        raise DataError(f"targets {data.y_name!r} are not numbers: choose classification",
                        where=where)
    n = data.n_samples
    tr, va, te = split_indices(n, spec.split.fractions, spec.split.seed,
                               labels if (labels is not None and spec.split.stratify) else None,
                               spec.split.shuffle)
    prep = Preparation.fit_arrays(data.x[tr], task, class_names or None, y[tr],
                                  spec.scaling, spec.target_scaling, data.x_name, data.y_name)
    x_all = prep.transform_features(data.x)
    y_all = prep.encode_labels(labels, where) if labels is not None \
        else prep.transform_target(y)
    parts = {"train": tr, "validation": va, "test": te}
    counts = _counts(parts, y_all, class_names, 0)
    return PreparedData(
        x_all[tr], y_all[tr], x_all[va], y_all[va], x_all[te], y_all[te], task, class_names,
        prep.input_shape, prep.output_size, prep, prep.feature_names, counts, {}, {}, parts,
        where)
