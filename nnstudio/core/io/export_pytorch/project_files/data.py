"""The data of the exported project, read and prepared exactly as nnstudio did.

``data.json`` beside this file says where the data is and how nnstudio read it (delimiter,
header, encoding; the IDX or NPZ arrays), holds the preparation nnstudio fitted on the train
split (per column: missing-value fill, date parts, scaling offset/divisor, categories; or one
offset/divisor for arrays) and the split; ``split.npz`` holds the row indices of the train,
validation and test splits. :func:`load_splits` returns the three splits as NumPy arrays:

* ``x`` float32 ``(N, *input_shape)``: numbers ``(value − offset) / divisor`` computed in
  float64, categories one-hot in sorted order (an unseen one is all zeros), dates as days
  since 1970-01-01, missing values filled as in training;
* ``y`` int64 class indices ``(N,)`` for classification, float32 ``(N, k)`` standardized
  targets for regression (``decode_target`` gives the user's units back).

Text, image and sound data (tokenized texts, a corpus cut into windows, decoded and
resized files) is exported already prepared: ``kind = "prepared"`` in ``data.json``, and the
source is an ``.npz`` of the six arrays ``x_train``, ``y_train``, ``x_validation``, … as
nnstudio prepared them (a language model's ``y`` are token ids ``(N, T)``, ``-1`` at
padding).

Run ``python data.py`` to see the splits' sizes; ``--data FILE`` reads another copy of the
source (same columns, same rows).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPLITS = ("train", "validation", "test")
MISSING = ("", "na", "n/a", "nan", "null", "none", "?", "-", "#n/a", "missing")
DATE_RES = (
    re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
               r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?Z?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z?"),
)
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(Exception):
    """A problem with the data files, reported in one sentence."""


def read_spec(folder: Path = HERE) -> dict:
    """``data.json``."""
    return json.loads((Path(folder) / "data.json").read_text(encoding="utf-8"))


# -- reading values as nnstudio does --------------------------------------------------------

def format_number(v: float) -> str:
    """A number as nnstudio writes a numeric category or label: ``3`` not ``3.0``."""
    if v != v:
        return ""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e16 else repr(float(v))


def parse_number(text: str, fmt: str | None = None) -> float:
    """A float, NaN when missing or not a number. ``fmt`` is how nnstudio read the column:
    ``","`` a decimal comma (``1.234,5``), ``"grouped"`` thousands separators (``1,234.5``)."""
    if text.lower() in MISSING:
        return math.nan
    if fmt == ",":
        for sep in (".", " ", "'", "\u00a0"):
            text = text.replace(sep, "")
        text = text.replace(",", ".")
    elif fmt == "grouped":
        text = text.replace(",", "")
    try:
        v = float(text)
    except ValueError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def parse_date(text: str) -> float:
    """Days since 1970-01-01 (fractional with a time of day), NaN when not a date."""
    for pattern in DATE_RES:
        m = pattern.fullmatch(text)
        if m:
            parts = [int(g) if g else 0 for g in m.groups()]
            try:
                when = datetime.datetime(*parts)
            except ValueError:
                return math.nan
            return (when - datetime.datetime(1970, 1, 1)).total_seconds() / 86400.0
    return math.nan


#: Cyclic date parts and their period: each becomes (sin, cos) of 2π·k/period.
CYCLIC = {"month": 12.0, "day_of_year": 365.25, "weekday": 7.0}


def date_parts(days: np.ndarray, parts: list[str]) -> np.ndarray:
    """float64 (N, inputs) of the chosen date parts of day numbers (no NaN): ``year``;
    ``month``, ``day_of_year``, ``weekday`` (Monday = 0) as sin and cos; ``days``."""
    whole = np.floor(days).astype(np.int64)
    day = whole.astype("datetime64[D]")
    cols = []
    for p in parts:
        if p == "days":
            cols.append(days)
            continue
        if p == "year":
            cols.append(day.astype("datetime64[Y]").astype(np.int64) + 1970.0)
            continue
        if p == "month":
            k = day.astype("datetime64[M]").astype(np.int64) % 12
        elif p == "day_of_year":
            k = (day - day.astype("datetime64[Y]")).astype(np.int64)
        else:  # weekday: 1970-01-01 was a Thursday
            k = (whole + 3) % 7
        angle = 2.0 * np.pi * k / CYCLIC[p]
        cols += [np.sin(angle), np.cos(angle)]
    return np.stack(cols, axis=1).astype(np.float64)


def width(f: dict) -> int:
    """Matrix columns of one prepared feature."""
    if f["kind"] == "categorical":
        return len(f["categories"])
    return len(f["offset"]) if isinstance(f.get("offset"), list) else 1


def as_text(text: str, column_kind: str) -> str:
    """A value as nnstudio's category text: numbers of a numeric column normalized."""
    if text.lower() in MISSING:
        return ""
    if column_kind == "numeric":
        v = parse_number(text)
        return "" if v != v else format_number(v)
    return text


def read_table(path: Path, reading: dict) -> tuple[list[str], list[list[str]]]:
    """Column names and rows (lists of stripped field texts) of a delimited text file."""
    encoding = reading.get("encoding") or "utf-8"
    if encoding.replace("-", "").lower() == "utf8":
        encoding = "utf-8-sig"  # a byte-order mark is not part of the first name
    with open(path, newline="", encoding=encoding) as f:
        rows = [[v.strip() for v in r] for r in csv.reader(f, delimiter=reading["delimiter"])
                if r and not (len(r) == 1 and not r[0].strip())]
    if reading.get("header", True):
        if not rows:
            raise DataError(f"{path}: the file is empty")
        return rows[0], rows[1:]
    width = max((len(r) for r in rows), default=0)
    return [f"column_{i + 1}" for i in range(width)], rows


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (MNIST's format), gzipped or not."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_TYPES:
        raise DataError(f"{path}: is not an IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, IDX_TYPES[raw[2]], offset=4 + 4 * ndim, count=math.prod(dims))
    return data.reshape(dims).astype(np.dtype(IDX_TYPES[raw[2]]).newbyteorder("="))


# -- preparation ---------------------------------------------------------------------------------

def prepare_table(spec: dict, header: list[str], rows: list[list[str]], where: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Prepared ``x`` (N, F) and ``y`` of the given rows of a table."""
    prep = spec["preparation"]
    kinds = spec["column_kinds"]
    index = {name: i for i, name in enumerate(header)}
    wanted = [f["name"] for f in prep["features"]] + list(prep["targets"])
    missing = [n for n in wanted if n not in index]
    if missing:
        raise DataError(f"{where}: no column(s) {', '.join(map(repr, missing))}")

    def texts(name):
        col = index[name]
        return [r[col] if col < len(r) else "" for r in rows]

    formats = spec.get("number_formats") or {}
    x = np.zeros((len(rows), sum(width(f) for f in prep["features"])), np.float32)
    j = 0
    for f in prep["features"]:
        name = f["name"]
        if f["kind"] == "categorical":
            vals = [as_text(t, kinds[name]) or _fill(f, where) for t in texts(name)]
            position = {c: k for k, c in enumerate(f["categories"])}
            for i, v in enumerate(vals):
                k = position.get(v)
                if k is not None:  # a category never seen in training stays all zeros
                    x[i, j + k] = 1.0
            j += len(f["categories"])
            continue
        if f["kind"] == "date":
            raw = np.array([parse_date(t) for t in texts(name)], np.float64)
        else:
            raw = np.array([parse_number(t, formats.get(name)) for t in texts(name)],
                           np.float64)
        gaps = np.isnan(raw)
        if gaps.any():
            raw = np.where(gaps, _fill(f, where), raw)
        if isinstance(f.get("offset"), list):  # a date as its parts (month, weekday, ...)
            k = width(f)
            wide = date_parts(raw, f.get("parts") or ["days"])
            x[:, j:j + k] = (wide - np.asarray(f["offset"])) / np.asarray(f["divisor"])
            j += k
            continue
        x[:, j] = (raw - f["offset"]) / f["divisor"]
        j += 1
    targets = prep["targets"]
    if prep["task"] == "classification":
        labels = [as_text(t, kinds[targets[0]]) for t in texts(targets[0])]
        y = encode_labels(prep, labels, where)
    else:
        values = np.array([[parse_number(t, formats.get(name)) for t in texts(name)]
                           for name in targets],
                          np.float64).T.reshape(len(rows), len(targets))
        y = standardize_targets(prep, values)
    return x, y


def _fill(f: dict, where: str):
    if f["fill"] is None:
        raise DataError(f"{where}: column {f['name']!r} has a missing value and nnstudio "
                          "trained without filling it (those rows are not in any split)")
    return f["fill"]


def encode_labels(prep: dict, labels, where: str) -> np.ndarray:
    """int64 class indices of label texts."""
    index = {c: i for i, c in enumerate(prep["class_names"])}
    try:
        return np.array([index[lab] for lab in labels], np.int64)
    except KeyError as e:
        raise DataError(f"{where}: unknown class {e.args[0]!r}") from None


def standardize_targets(prep: dict, values: np.ndarray) -> np.ndarray:
    """Regression targets as the network learns them: ``(y − mean) / std``, float32."""
    mean = np.array([t["mean"] for t in prep["target_stats"]])
    std = np.array([t["std"] for t in prep["target_stats"]])
    return ((values - mean) / std).astype(np.float32)


def decode_target(prep: dict, out: np.ndarray) -> np.ndarray:
    """Network outputs back to the target's own units (regression) or class names."""
    out = np.asarray(out).reshape(len(out), -1)
    if prep["task"] == "classification":
        idx = (out[:, 0] > 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
        return np.asarray(prep["class_names"])[idx]
    mean = np.array([t["mean"] for t in prep["target_stats"]])
    std = np.array([t["std"] for t in prep["target_stats"]])
    return out.astype(np.float64) * std + mean


def prepare_arrays(spec: dict, x: np.ndarray, y: np.ndarray, where: str):
    """Prepared ``x`` (N, *sample_shape) and ``y`` of array samples."""
    prep = spec["preparation"]
    a = prep["array"]
    if tuple(x.shape[1:]) != tuple(a["sample_shape"]):
        raise DataError(f"{where}: samples have shape {tuple(x.shape[1:])}, the model "
                          f"expects {tuple(a['sample_shape'])}")
    offset, divisor = np.asarray(a["offset"]), np.asarray(a["divisor"])
    xp = ((np.asarray(x, np.float64) - offset) / divisor).astype(np.float32)
    if prep["task"] == "classification":
        labels = [format_number(v) for v in np.asarray(y, np.float64).reshape(-1).tolist()] \
            if np.asarray(y).dtype.kind in "biuf" else [str(v) for v in y]
        return xp, encode_labels(prep, labels, where)
    return xp, standardize_targets(prep, np.asarray(y, np.float64).reshape(len(y), -1))


# -- the split ----------------------------------------------------------------------------------

def split_counts(n: int, fractions) -> tuple[int, int, int]:
    """Rows per split: largest remainders, ties to the earlier split (nnstudio's rule)."""
    fr = np.asarray(fractions, float)
    exact = fr * n
    counts = np.floor(exact + 1e-9).astype(int)
    for i in sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))[: n - counts.sum()]:
        counts[i] += 1
    wanted = [i for i in range(3) if fr[i] > 0]
    if n >= len(wanted):
        for i in wanted:
            if counts[i] == 0:
                donor = max(wanted, key=lambda k: (counts[k], -k))
                counts[donor] -= 1
                counts[i] += 1
    return int(counts[0]), int(counts[1]), int(counts[2])


def split_indices(n: int, split: dict, labels=None) -> dict[str, np.ndarray]:
    """nnstudio's seeded (optionally stratified) split of ``range(n)``, for data given with
    ``--data`` to a project exported from a model file (which keeps no split indices)."""
    rng = np.random.default_rng(split.get("seed", 0))
    shuffle = split.get("shuffle", True)
    if labels is None or not split.get("stratify", True):
        groups = [np.arange(n)]
    else:
        _, inverse = np.unique(np.asarray(labels), return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        groups = np.split(order, np.cumsum(np.bincount(inverse))[:-1])
    parts: list[list[np.ndarray]] = [[], [], []]
    for group in groups:
        if shuffle:
            group = rng.permutation(group)
        a, b, _ = split_counts(group.size, split.get("fractions", (0.7, 0.15, 0.15)))
        parts[0].append(group[:a])
        parts[1].append(group[a:a + b])
        parts[2].append(group[a + b:])
    out = {}
    for name, p in zip(SPLITS, parts, strict=True):
        idx = np.concatenate(p).astype(np.int64) if p else np.zeros(0, np.int64)
        out[name] = rng.permutation(idx) if shuffle else np.sort(idx)
    return out


# -- the three splits ---------------------------------------------------------------------------

def _resolve(folder: Path, path: str | None) -> Path | None:
    if path is None:
        return None
    p = Path(path)
    return p if p.is_absolute() else (folder / p)


def load_splits(folder: Path = HERE, data: str | Path | None = None,
                labels: str | Path | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (x, y), "validation": (x, y), "test": (x, y)}`` (see the module docstring).

    ``data``/``labels`` replace the source recorded in ``data.json`` (another copy of it).
    """
    folder = Path(folder)
    spec = read_spec(folder)
    source = Path(data) if data is not None else _resolve(folder, spec["source"])
    if source is None:
        raise DataError("this project was exported from a model file, which does not say "
                          "where its data is: give it with --data FILE")
    if not source.is_file():
        raise DataError(f"{source}: data file not found (give it with --data FILE)")
    where = str(source)
    if spec["kind"] == "prepared":
        with np.load(source, allow_pickle=False) as z:
            missing = [f"{a}_{s}" for s in SPLITS for a in "xy" if f"{a}_{s}" not in z.files]
            if missing:
                raise DataError(f"{where}: no array {missing[0]!r} (not the prepared arrays "
                                "nnstudio exported?)")
            return {s: (z[f"x_{s}"], z[f"y_{s}"]) for s in SPLITS}
    split_file = folder / "split.npz"
    stored = None
    if spec.get("split_file") and data is None and split_file.is_file():
        with np.load(split_file, allow_pickle=False) as z:
            stored = {s: z[s] for s in SPLITS}

    if spec["kind"] == "table":
        header, rows = read_table(source, spec["reading"])
        if spec.get("n_rows") is not None and stored is not None and len(rows) != spec["n_rows"]:
            raise DataError(f"{where}: has {len(rows)} rows, nnstudio read {spec['n_rows']} "
                              "(is it the same file?)")
        if stored is None:
            stored = _split_table(spec, header, rows, where)
        out = {}
        for s in SPLITS:
            out[s] = prepare_table(spec, header, [rows[i] for i in stored[s]], f"{where} ({s})")
        return out

    if source.suffix.lower() == ".npz" or spec.get("x_key"):
        with np.load(source, allow_pickle=False) as z:
            x, y = z[spec["x_key"]], z[spec["y_key"]]
    else:
        x = read_idx(source)
        label_path = Path(labels) if labels is not None else _resolve(folder, spec["labels"])
        if label_path is None:
            raise DataError(f"{where}: give the labels file with --labels FILE")
        y = read_idx(label_path)
    if stored is None:
        y_text = None
        if spec["preparation"]["task"] == "classification":
            y_text = [format_number(v) for v in np.asarray(y, np.float64).tolist()]
        stored = split_indices(len(x), spec["split"], y_text)
    return {s: prepare_arrays(spec, x[stored[s]], y[stored[s]], f"{where} ({s})")
            for s in SPLITS}


def _split_table(spec, header, rows, where) -> dict[str, np.ndarray]:
    """Drop rows without a target (or with a gap nnstudio does not fill), then split."""
    prep = spec["preparation"]
    index = {name: i for i, name in enumerate(header)}
    needed = list(prep["targets"]) + [f["name"] for f in prep["features"] if f["fill"] is None]
    for name in needed:
        if name not in index:
            raise DataError(f"{where}: no column {name!r}")

    def present(r, name):
        col = index[name]
        return col < len(r) and r[col].lower() not in MISSING

    keep = [i for i, r in enumerate(rows) if all(present(r, n) for n in needed)]
    labels = None
    if prep["task"] == "classification":
        t = prep["targets"][0]
        labels = [as_text(rows[i][index[t]], spec["column_kinds"][t]) for i in keep]
    parts = split_indices(len(keep), spec["split"], labels)
    keep_a = np.asarray(keep, np.int64)
    return {s: keep_a[p] for s, p in parts.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Show the prepared splits of the data.")
    parser.add_argument("--data", help="the data file (default: the one in data.json)")
    parser.add_argument("--labels", help="the IDX labels file, for IDX images")
    args = parser.parse_args(argv)
    try:
        splits = load_splits(HERE, args.data, args.labels)
    except (DataError, OSError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, (x, y) in splits.items():
        print(f"{name:>10}: x {tuple(x.shape)} {x.dtype}, y {tuple(y.shape)} {y.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
