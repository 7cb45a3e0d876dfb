"""Preparation: the feature and target transforms fitted on the train split.

A :class:`Preparation` is stored inside a model file (``to_dict`` is plain JSON) so that
prediction applies exactly the steps training used.

Feature matrix columns (the order is part of the contract)
-----------------------------------------------------------
Input columns come in ``feature_names`` order (the spec's ``features`` list, else file order).
A numeric column gives one matrix column; a date column one per derived input of the date
parts chosen (:mod:`.dates`: ``date:year``, ``date:month_sin``, ``date:month_cos``, ...; a
model saved before date parts existed has the one column ``days``); a categorical column gives
one column per category seen in the train split, categories sorted as strings
(``location=city``, ``location=rural``, ...). :meth:`Preparation.output_names` lists them.

Per column, in order: dates become days since 1970-01-01; missing values are filled (mean,
median or most frequent of the train rows) unless the strategy is ``drop``; a date's day number
becomes its date parts; numbers are scaled
(``standard``: (x - mean) / std, ``minmax``: (x - min) / (max - min); a constant column uses
1 as divisor); categories are one-hot encoded, and a category never seen in training encodes
as all zeros (no crash). Array data (images) is scaled with one offset/divisor for the whole
array, or per feature when samples are 1-D vectors.

Targets
-------
Classification: class names (``"ham"``, ``"spam"``; numbers as written, sorted numerically) are
taken from all rows, so every split can be encoded; ``y`` holds int64 class indices ``(N,)``.
Regression: ``y`` is float32 ``(N, k)``, standardized with the train rows' mean and std when
``target_scaling == "standard"`` (steadier training); :meth:`decode_target` undoes it, so
predictions come back in the user's units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from . import dates as _dates
from . import kinds as _kinds
from .table import Table
from .target_heads import encode_heads, encode_table
from .text import TextPreparation, text_values

#: The largest float32: a prepared value beyond it would be infinity in the network.
F32_MAX = float(np.finfo(np.float32).max)

FORMAT_VERSION = 1


def _mode_str(values: np.ndarray) -> str | None:
    values = values[values != ""]
    if values.size == 0:
        return None
    uniq, counts = np.unique(values, return_counts=True)
    return str(uniq[np.argmax(counts)])


def _mode_num(values: np.ndarray) -> float | None:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    uniq, counts = np.unique(values, return_counts=True)
    return float(uniq[np.argmax(counts)])


def date_parts(feature: Mapping) -> list[str]:
    """The date parts of a date feature (``["days"]`` for models saved before parts)."""
    return list(feature.get("parts") or ["days"])


def _multi(feature: Mapping) -> bool:
    """True for a date feature whose parts give a matrix column each (list offsets)."""
    return feature["kind"] == "date" and isinstance(feature.get("offset"), list)


def raw_feature(table: Table, name: str, kind: str) -> np.ndarray:
    """A column's values before preparation: float64 for numeric/date, str for categorical."""
    col = table[name]
    if kind != "categorical" and col.kind == "empty":
        # Every value missing (an emptied column in new data): NaN, so the fill value or the
        # "a value is missing" error with its row applies as for any missing value.
        return np.full(table.n_rows, np.nan)
    if kind == "numeric":
        return col.values.astype(np.float64, copy=False)
    if kind == "date":
        return col.as_days()
    return col.as_strings()


class Preparation:
    """Feature/target transforms fitted on training rows (see the module docstring).

    Build one with :meth:`fit_table` or :meth:`fit_arrays`; rebuild a saved one with
    :meth:`from_dict`.
    """

    def __init__(self, features: list[dict], task: str, targets: list[str],
                 class_names: list[str] | None = None, target_stats: list[dict] | None = None,
                 array: dict | None = None, scaling: str = "standard"):
        self.features = features
        self.task = task
        self.targets = targets
        self.class_names = class_names
        self.target_stats = target_stats or []
        self.array = array
        self.scaling = scaling
        self._class_index = {c: i for i, c in enumerate(class_names or [])}
        #: Images/sounds: how files become the raw array (see media_dataset.decoder_for).
        self.media: dict | None = None
        #: A fitted text column or corpus (see text.py): a bag/TF-IDF block after the other
        #: features, or token-id sequences as the whole input.
        self.text: TextPreparation | None = None
        #: Several targets (task "multi_output"): one dict per target, see target_heads.py.
        self.heads: list[dict] | None = None

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, data: Table | np.ndarray, train_rows: np.ndarray | None = None,
            **options) -> Preparation:
        """Fit on the train rows of a table (:meth:`fit_table`) or on array samples.

        ``train_rows`` selects rows of a table (all rows when None); for arrays pass the
        train samples themselves as ``data`` and the options of :meth:`fit_arrays`.
        """
        if isinstance(data, Table):
            rows = np.arange(data.n_rows) if train_rows is None else np.asarray(train_rows)
            return cls.fit_table(data, rows, **options)
        x = np.asarray(data)
        return cls.fit_arrays(x if train_rows is None else x[train_rows], **options)

    @classmethod
    def fit_table(cls, table: Table, rows: np.ndarray, features: Mapping[str, str],
                  targets: Sequence[str], task: str, class_names: list[str] | None,
                  scaling: str = "standard", missing: Mapping[str, str] | None = None,
                  target_scaling: str = "standard",
                  date_features=_dates.DEFAULT_PARTS) -> Preparation:
        """Fit on ``table`` rows ``rows`` (the train split).

        Parameters
        ----------
        features : {name: kind}
            Input columns in matrix order; kind ``numeric``, ``date`` or ``categorical``.
        missing : {name: strategy}
            ``drop``, ``mean``, ``median`` or ``most_frequent`` per feature (default drop).
            A categorical column is filled with its most frequent category whatever the
            strategy (a mean of categories does not exist); ``fill_note`` says so.
        date_features : list of str
            The :mod:`.dates` parts every date column becomes.
        """
        date_features = _dates.check_parts(list(date_features))
        missing = dict(missing or {})
        feats = []
        for name, kind in features.items():
            raw = raw_feature(table, name, kind)[rows]
            how = missing.get(name, "drop")
            info: dict[str, Any] = {"name": name, "kind": kind, "fill": None}
            if kind == "categorical":
                present = raw[raw != ""]
                info["categories"] = sorted(set(present.tolist()))
                if how != "drop":
                    info["fill"] = _mode_str(raw)
                    if how in ("mean", "median"):
                        info["fill_note"] = (f"{how} of a category does not exist: filled "
                                             f"with the most frequent, {info['fill']!r}")
                info["most_frequent"] = _mode_str(raw)
            else:
                present = raw[~np.isnan(raw)]
                if present.size == 0:
                    raise DataError(f"column {name!r} has no values in the training rows",
                                    where=table.where())
                _check_spread(present, f"column {name!r}", table.where())
                stats = {"mean": float(present.mean()), "std": float(present.std()),
                         "min": float(present.min()), "max": float(present.max()),
                         "median": float(np.median(present))}
                info.update(stats)
                if how == "mean":
                    info["fill"] = stats["mean"]
                elif how == "median":
                    info["fill"] = stats["median"]
                elif how == "most_frequent":
                    info["fill"] = _mode_num(raw)
                if kind == "date":
                    info["parts"] = list(date_features)
                if kind == "date" and info["parts"] != ["days"]:
                    wide = _dates.expand(present, info["parts"])
                    offs, divs = zip(*(_scale(c.mean(), c.std(), c.min(), c.max(), scaling)
                                       for c in wide.T), strict=True)
                    info["offset"], info["divisor"] = list(offs), list(divs)
                else:
                    info["offset"], info["divisor"] = _scale(
                        stats["mean"], stats["std"], stats["min"], stats["max"], scaling)
            feats.append(info)
        target_stats = []
        if task == "regression":
            for name in targets:
                y = table[name].values[rows]
                y = y[~np.isnan(y)]
                _check_spread(y, f"target column {name!r}", table.where())
                mean, std = float(y.mean()), float(y.std()) or 1.0
                if target_scaling != "standard":
                    mean, std = 0.0, 1.0
                target_stats.append({"name": name, "mean": mean, "std": std})
        return cls(feats, task, list(targets), class_names, target_stats, scaling=scaling)

    @classmethod
    def fit_arrays(cls, x_train: np.ndarray, task: str, class_names: list[str] | None,
                   y_train: np.ndarray | None = None, scaling: str = "standard",
                   target_scaling: str = "standard", x_name: str = "x",
                   y_name: str = "y") -> Preparation:
        """Fit on array samples ``x_train`` (N, *sample_shape) and targets ``y_train``."""
        x = np.asarray(x_train, np.float64)
        _check_spread(x, f"the samples ({x_name})", None)
        if task == "regression" and y_train is not None:
            _check_spread(np.asarray(y_train, np.float64), f"the targets ({y_name})", None)
        axis = 0 if x.ndim == 2 else None  # per feature for vectors, one value for images
        if scaling == "standard":
            offset, divisor = x.mean(axis=axis), x.std(axis=axis)
        elif scaling == "minmax":
            offset = x.min(axis=axis)
            divisor = x.max(axis=axis) - offset
        else:
            offset, divisor = np.zeros(()), np.ones(())
        divisor = np.where(divisor == 0, 1.0, divisor)
        # "name"/"y_name": the arrays the model was trained on, so that predicting and
        # evaluating on the same NPZ file read the same arrays without being told again.
        array = {"name": x_name, "y_name": y_name, "sample_shape": list(x.shape[1:]),
                 "offset": np.asarray(offset).tolist(), "divisor": np.asarray(divisor).tolist(),
                 "mean": float(x.mean()), "min": float(x.min()), "max": float(x.max())}
        target_stats = []
        if task == "regression" and y_train is not None:
            y = np.asarray(y_train, np.float64).reshape(len(y_train), -1)
            for j in range(y.shape[1]):
                mean, std = float(y[:, j].mean()), float(y[:, j].std()) or 1.0
                if target_scaling != "standard":
                    mean, std = 0.0, 1.0
                name = y_name if y.shape[1] == 1 else f"{y_name}[{j}]"
                target_stats.append({"name": name, "mean": mean, "std": std})
        targets = [t["name"] for t in target_stats] or [y_name]
        return cls([], task, targets, class_names, target_stats, array=array, scaling=scaling)

    # ------------------------------------------------------------------ features
    @property
    def feature_names(self) -> list[str]:
        """Input columns (or the array name), in matrix order."""
        if self.array is not None:
            return [self.array["name"]]
        return [f["name"] for f in self.features] + ([self.text.column] if self.text else [])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one prepared sample."""
        if self.array is not None:
            return tuple(self.array["sample_shape"])
        if self.text is not None and self.text.encoding == "sequence" and not self.features:
            return (self.text.n_features,)
        return (len(self.output_names()),)

    def output_names(self) -> list[str]:
        """Names of the feature-matrix columns (``col`` or ``col=category``)."""
        if self.array is not None:
            return [self.array["name"]]
        names = [n for f in self.features for n in self.output_names_of(f)]
        if self.text is not None:
            names += self.text.feature_names()
        return names

    @staticmethod
    def output_names_of(f: Mapping) -> list[str]:
        """The matrix columns one feature column becomes (see :meth:`output_names`)."""
        if f["kind"] == "categorical":
            return [f"{f['name']}={c}" for c in f["categories"]]
        if _multi(f):
            return _dates.part_names(f["name"], date_parts(f))
        return [f["name"]]

    def _encode(self, columns: Mapping[str, np.ndarray], n: int, where: str,
                line_of=None) -> np.ndarray:
        """Prepared float32 (n, F) from raw columns (float64 or str arrays)."""
        out = np.zeros((n, len(self.output_names())), np.float32)
        j = 0
        for f in self.features:
            raw = columns[f["name"]]
            if f["kind"] == "categorical":
                raw = np.asarray(raw, dtype=str)
                miss = raw == ""
                if miss.any():
                    _missing_error(f, miss, where, line_of)
                    raw = np.where(miss, f["fill"], raw)
                cats = f["categories"]
                if cats:
                    pos = np.searchsorted(cats, raw)
                    pos = np.minimum(pos, len(cats) - 1)
                    hit = np.asarray(cats)[pos] == raw  # unknown categories stay all zeros
                    out[np.flatnonzero(hit), j + pos[hit]] = 1.0
                j += len(cats)
            else:
                raw = np.asarray(raw, np.float64)
                miss = np.isnan(raw)
                if miss.any():
                    _missing_error(f, miss, where, line_of)
                    raw = np.where(miss, f["fill"], raw)
                if _multi(f):
                    wide = _dates.expand(raw, date_parts(f))
                    k = wide.shape[1]
                    out[:, j:j + k] = _scaled(f, raw, wide, np.asarray(f["offset"]),
                                              np.asarray(f["divisor"]), where, line_of)
                    j += k
                    continue
                out[:, j] = _scaled(f, raw, raw, f["offset"], f["divisor"], where, line_of)
                j += 1
        if self.text is not None:
            block = self.text.transform(text_values(columns[self.text.column]), where,
                                        line_of=line_of)
            if self.text.encoding == "sequence" and not self.features:
                return block  # token ids are the whole sample
            out[:, j:] = block
        return out

    def transform_features(self, data: Table | np.ndarray) -> np.ndarray:
        """Prepare inputs.

        Parameters
        ----------
        data : Table or ndarray
            A table holding the feature columns (raw, as loaded), or for array data the
            samples ``(N, *sample_shape)``.

        Returns
        -------
        float32 (N, F) for tables (column order: :meth:`output_names`), float32
        (N, *sample_shape) for arrays.
        """
        if self.array is not None:
            x = np.asarray(data)
            if tuple(x.shape[1:]) != tuple(self.array["sample_shape"]):
                raise DataError(f"samples have shape {tuple(x.shape[1:])}, the model expects "
                                f"{tuple(self.array['sample_shape'])}")
            off, div = np.asarray(self.array["offset"]), np.asarray(self.array["divisor"])
            return _scale_rows(x, off, div)
        cols = {f["name"]: raw_feature(data, f["name"], f["kind"]) for f in self.features}
        if self.text is not None:
            if self.text.column not in data:
                raise DataError(f"has no column {self.text.column!r} (the text the model "
                                "reads)", where=data.where())
            cols[self.text.column] = data[self.text.column].values
        return self._encode(cols, data.n_rows, data.where(), data.line_number)

    def transform_raw_rows(self, rows: Table | Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Prepare new inputs typed by a user: dicts ``{column: "12.5" | 12.5 | "city"}``.

        Returns float32 (N, F). A missing or empty value is filled as in training, or is an
        error naming the row (1-based) and column when training dropped such rows.
        """
        if isinstance(rows, Table):
            return self.transform_features(rows)
        cols: dict[str, np.ndarray] = {}
        for f in self.features:
            vals = []
            for i, row in enumerate(rows):
                value = row.get(f["name"], "")
                value = "" if value is None else value
                if f["kind"] == "categorical":
                    if isinstance(value, float | int) and not isinstance(value, bool):
                        value = _kinds.format_number(float(value))
                    vals.append(str(value).strip())
                    continue
                text = str(value).strip()
                if text.lower() in _kinds.MISSING_MARKERS:
                    vals.append(np.nan)
                elif f["kind"] == "date":
                    day = _kinds.parse_date(text)
                    if np.isnan(day):
                        raise DataError(f"{text!r} is not a date (use YYYY-MM-DD)",
                                        where=f"row {i + 1}, column {f['name']!r}")
                    vals.append(day)
                else:
                    try:
                        vals.append(float(value))
                    except (TypeError, ValueError):
                        raise DataError(f"{text!r} is not a number",
                                        where=f"row {i + 1}, column {f['name']!r}") from None
            cols[f["name"]] = np.array(vals, dtype=str if f["kind"] == "categorical" else float)
        if self.text is not None:
            # A list, not a str array: NumPy would pad every text to the longest one.
            cols[self.text.column] = [str(row.get(self.text.column) or "") for row in rows]
        return self._encode(cols, len(rows), "input")

    def unknown_categories(self, data: Table) -> dict[str, list[str]]:
        """Categories in ``data`` that training never saw (they encode as all zeros)."""
        out = {}
        for f in self.features:
            if f["kind"] == "categorical" and f["name"] in data:
                seen = set(data[f["name"]].as_strings().tolist()) - {""}
                new = sorted(seen - set(f["categories"]))
                if new:
                    out[f["name"]] = new
        return out

    def dates_out_of_range(self, columns: Mapping[str, np.ndarray]) -> list[str]:
        """Warnings for dates outside the training rows' range, one per date column.

        ``columns`` maps a date column to its days since 1970 (float (N,), NaN = missing).
        A network has seen no date outside [first, last] training date: what it predicts
        there is extrapolation (a trend in ``year``/``days`` goes on, or stops, unseen).
        """
        out = []
        for f in self.features:
            if f["kind"] != "date" or f["name"] not in columns:
                continue
            days = np.asarray(columns[f["name"]], np.float64)
            days = days[~np.isnan(days)]
            outside = days[(days < f["min"]) | (days > f["max"])]
            if outside.size:
                first, last = _dates.format_date(f["min"]), _dates.format_date(f["max"])
                out.append(f"{outside.size:,} date{'s' if outside.size > 1 else ''} in "
                           f"{f['name']!r} {'are' if outside.size > 1 else 'is'} outside the "
                           f"training range {first} … {last} (e.g. "
                           f"{_dates.format_date(outside[0])}): the network never saw such "
                           "dates; treat the prediction with care")
        return out

    def fill_notes(self) -> dict[str, str]:
        """Per column, what filling a missing value really does when it differs from the
        strategy's name (a categorical column filled with its most frequent category)."""
        return {f["name"]: f["fill_note"] for f in self.features if f.get("fill_note")}

    def feature_info(self) -> list[dict]:
        """Per input column, for a predict form: name, kind, categories, mean, min, max."""
        if self.array is not None:
            a = self.array
            return [{"name": a["name"], "kind": "array", "shape": tuple(a["sample_shape"]),
                     "categories": None, "mean": a["mean"], "min": a["min"], "max": a["max"]}]
        info = [{"name": f["name"], "kind": "categorical" if f["kind"] == "categorical"
                 else "numeric", "date": f["kind"] == "date", "fill": f.get("fill"),
                 "categories": list(f.get("categories") or []) or None,
                 "mean": f.get("mean"), "min": f.get("min"), "max": f.get("max")}
                for f in self.features]
        if self.text is not None:
            info.append({"name": self.text.column, "kind": "text", "date": False,
                         "categories": None, "mean": None, "min": None, "max": None})
        return info

    # ------------------------------------------------------------------ targets
    @property
    def output_size(self) -> int:
        """Number of classes, or number of regression targets."""
        if self.task == "classification":
            return len(self.class_names or [])
        if self.task == "language_model" and self.text is not None:
            return len(self.text.vocab)
        if self.heads is not None:
            return len(self.heads)
        return len(self.target_stats)

    def encode_labels(self, labels: np.ndarray, where: str = "target") -> np.ndarray:
        """int64 (N,) class indices of label strings; DataError for an unknown label."""
        labels = np.asarray(labels, dtype=str)
        out = np.empty(labels.shape[0], np.int64)
        for i, lab in enumerate(labels.tolist()):
            try:
                out[i] = self._class_index[lab]
            except KeyError:
                raise DataError(f"unknown class {lab!r} (classes: "
                                f"{', '.join(self.class_names or [])})", where=where) from None
        return out

    def transform_target(self, y: Table | np.ndarray) -> np.ndarray:
        """Targets for training.

        Parameters
        ----------
        y : Table or ndarray
            A table holding the target column(s), or raw labels (N,) / values (N,) or (N, k).

        Returns
        -------
        int64 (N,) class indices, or float32 (N, k) (standardized) regression targets;
        for several targets (``heads``) float32 (N, H) packed as in :mod:`.target_heads`.
        """
        if self.heads is not None:
            if isinstance(y, Table):
                return encode_table(self.heads, y)
            y = np.asarray(y)
            return encode_heads(self.heads, {h["target"]: y[:, j]
                                             for j, h in enumerate(self.heads)})
        if isinstance(y, Table):
            if self.task == "classification":
                return self.encode_labels(y[self.targets[0]].as_strings(), y.where())
            y = np.stack([y[t].values for t in self.targets], axis=1)
        if self.task == "classification":
            y = np.asarray(y)
            if y.dtype.kind == "f":
                y = _kinds.format_numbers(y)
            return self.encode_labels(y)
        y = np.asarray(y, np.float64).reshape(len(y), -1)
        mean = np.array([t["mean"] for t in self.target_stats])
        std = np.array([t["std"] for t in self.target_stats])
        return ((y - mean) / std).astype(np.float32)

    def decode_target(self, y_pred: np.ndarray) -> np.ndarray:
        """Model outputs back to the user's terms.

        Classification: class indices (N,), probabilities (N, C), or a binary probability
        (N, 1) (threshold 0.5) -> str (N,) class names. Regression: (N, k) or (N,) ->
        float64 (N, k) in the original units (the target standardization undone).
        """
        y = np.asarray(y_pred)
        if self.task == "classification":
            if y.ndim == 2 and y.shape[1] == 1:
                idx = (y[:, 0] > 0.5).astype(np.int64)
            elif y.ndim == 2:
                idx = np.argmax(y, axis=1)
            else:
                idx = y.astype(np.int64)
            return np.asarray(self.class_names, dtype=str)[idx]
        y = y.astype(np.float64).reshape(len(y), -1)
        mean = np.array([t["mean"] for t in self.target_stats])
        std = np.array([t["std"] for t in self.target_stats])
        return y * std + mean

    # ------------------------------------------------------------------ description
    def steps(self) -> list[tuple]:
        """The preparation as plain steps, in application order, for exporters.

        Feature steps: ``("date_to_days", column)``, ``("fill", column, value)``,
        ``("date_parts", column, parts)`` (see :mod:`.dates`; then the scalings below take
        one value per derived input),
        ``("standardize", column, mean, std)``, ``("minmax", column, min, max)``,
        ``("onehot", column, categories)`` (unknown -> all zeros), and for arrays
        ``("affine", offset, divisor)`` meaning (x - offset) / divisor. Target steps:
        ``("decode_classes", class_names)`` or ``("destandardize", column, mean, std)``
        meaning y * std + mean.
        """
        steps: list[tuple] = []
        if self.array is not None:
            steps.append(("affine", self.array["offset"], self.array["divisor"]))
        for f in self.features:
            name = f["name"]
            if f["kind"] == "date":
                steps.append(("date_to_days", name))
            if f["fill"] is not None:
                steps.append(("fill", name, f["fill"]))
            if _multi(f):
                steps.append(("date_parts", name, date_parts(f)))
            if f["kind"] == "categorical":
                steps.append(("onehot", name, list(f["categories"])))
            elif self.scaling == "standard":
                steps.append(("standardize", name, f["offset"], f["divisor"]))
            elif self.scaling == "minmax":
                steps.append(("minmax", name, f["offset"], f["offset"] + f["divisor"]))
        if self.heads is not None:
            for h in self.heads:
                if h["task"] == "classification":
                    steps.append(("decode_classes", list(h["class_names"])))
                elif (h["mean"], h["std"]) != (0.0, 1.0):
                    steps.append(("destandardize", h["target"], h["mean"], h["std"]))
        elif self.task == "classification":
            steps.append(("decode_classes", list(self.class_names or [])))
        else:
            for t in self.target_stats:
                if (t["mean"], t["std"]) != (0.0, 1.0):
                    steps.append(("destandardize", t["name"], t["mean"], t["std"]))
        return steps

    def to_dict(self) -> dict:
        """Plain JSON-able description (goes inside model files)."""
        return {"version": FORMAT_VERSION, "task": self.task, "targets": list(self.targets),
                "class_names": self.class_names, "scaling": self.scaling,
                "features": [dict(f) for f in self.features],
                "target_stats": [dict(t) for t in self.target_stats], "array": self.array,
                **({"media": dict(self.media)} if self.media is not None else {}),
                **({"text": self.text.to_dict()} if self.text is not None else {}),
                **({"heads": [dict(h) for h in self.heads]} if self.heads is not None else {})}

    @classmethod
    def from_dict(cls, d: Mapping) -> Preparation:
        """Rebuild from :meth:`to_dict` output; DataError naming the field when malformed
        (every field is checked first: see :mod:`.prepcheck`) or too new."""
        from .prepcheck import check_preparation

        check_preparation(d, FORMAT_VERSION)
        feats = [dict(f) for f in d["features"]]
        prep = cls(feats, d["task"], list(d["targets"]), d.get("class_names"),
                   [dict(t) for t in d.get("target_stats") or []], d.get("array"),
                   d.get("scaling", "standard"))
        media = d.get("media")
        if media is not None:
            if not isinstance(media, dict) or media.get("kind") not in ("image", "sound"):
                raise DataError(f"unknown media description {media!r}")
            prep.media = dict(media)
        if d.get("text") is not None:
            prep.text = TextPreparation.from_dict(d["text"])
        if d.get("heads") is not None:
            prep.heads = [dict(h) for h in d["heads"]]
        return prep


def _scale_rows(x: np.ndarray, off: np.ndarray, div: np.ndarray) -> np.ndarray:
    """``float32((float64(x) − off) / div)`` for ``x (N, ...)``, a block of rows at a time.

    The same operations in the same precision as the one-line expression (so bit-identical),
    but through a float64 scratch block of about 1 MB instead of three full-size float64
    temporaries: for 10,000 MNIST images ≈ 190 MB less memory traffic.
    """
    out = np.empty(x.shape, np.float32)
    if len(x) == 0:
        return out
    per_row = max(1, x[0].size)
    rows = max(1, (1 << 17) // per_row)
    tmp = np.empty((min(rows, len(x)), *x.shape[1:]), np.float64)
    for lo in range(0, len(x), rows):
        block = x[lo:lo + rows]
        t = tmp[: len(block)]
        np.copyto(t, block, casting="unsafe")
        dest = out[lo:lo + rows]
        with np.errstate(over="ignore", invalid="ignore"):
            np.subtract(t, off, out=t)
            np.divide(t, div, out=t)
            np.copyto(dest, t, casting="unsafe")
        if not np.isfinite(dest).all():  # NaN/inf given stay for the callers' checks
            big = np.isinf(dest) & np.isfinite(block)
            if big.any():
                i = np.unravel_index(int(np.flatnonzero(big)[0]), big.shape)
                raise DataError(f"sample {lo + int(i[0]) + 1} holds a value "
                                f"({float(block[i]):.4g}) too large for this model: scaled, "
                                "it exceeds the range of 32-bit floats (±3.4e38)")
    return out


def _scale(mean: float, std: float, lo: float, hi: float, scaling: str) -> tuple[float, float]:
    """(offset, divisor) of one matrix column; a constant column divides by 1."""
    if scaling == "standard":
        return float(mean), float(std) or 1.0
    if scaling == "minmax":
        return float(lo), float(hi - lo) or 1.0
    return 0.0, 1.0


def _check_spread(values: np.ndarray, what: str, where: str | None) -> None:
    """Refuse finite values whose mean, spread or range overflows float64 (1e300 and
    -1e308 in one column): the scaling learnt from them would be infinite."""
    finite = values[np.isfinite(values)] if values.size else values
    if finite.size == 0:
        return
    with np.errstate(over="ignore", invalid="ignore"):
        lo, hi = float(finite.min()), float(finite.max())
        ok = np.isfinite(hi - lo) and np.isfinite(finite.mean()) and np.isfinite(finite.std())
    if not ok:
        raise DataError(f"{what}: values from {lo:.4g} to {hi:.4g} are too large to scale "
                        "(their mean or spread exceeds the range of numbers)", where=where)


def _scaled(f: dict, raw: np.ndarray, values: np.ndarray, offset: Any, divisor: Any,
            where: str, line_of) -> np.ndarray:
    """``(values − offset) / divisor``, refused (one :class:`DataError` naming the row and
    column) where a finite raw value leaves the float32 range the network computes in."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = (values - offset) / divisor
    big = ~(np.abs(scaled) <= F32_MAX)
    if big.ndim > 1:
        big = big.any(axis=1)
    big &= np.isfinite(raw)
    if big.any():
        i = int(np.flatnonzero(big)[0])
        row = int(line_of(i)) if line_of is not None else i + 1
        raise DataError(f"the value {float(raw[i]):.4g} is too large for this model: scaled, "
                        "it exceeds the range of 32-bit floats (±3.4e38)",
                        where=f"{where}, row {row}, column {f['name']!r}")
    return scaled


def _missing_error(f: dict, miss: np.ndarray, where: str, line_of) -> None:
    if f["fill"] is not None:
        return
    i = int(np.flatnonzero(miss)[0])
    row = int(line_of(i)) if line_of is not None else i + 1
    raise DataError("a value is missing and this column was trained without filling "
                    "(missing = drop)", where=f"{where}, row {row}, column {f['name']!r}")
