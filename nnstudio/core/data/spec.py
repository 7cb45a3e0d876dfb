"""``DatasetSpec``: the ``dataset`` section of a project file, as plain validated data.

Paths are stored in the project file relative to the project file's folder (forward slashes),
and held in memory as absolute paths once read with :meth:`DatasetSpec.from_dict`.
"""

from __future__ import annotations

import codecs
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnstudio.core.errors import DataError

from .split import check_fractions

TASKS = ("auto", "classification", "regression")
SCALINGS = ("none", "standard", "minmax")
MISSING = ("drop", "mean", "median", "most_frequent")
TARGET_SCALINGS = ("standard", "none")


@dataclass
class SplitSpec:
    """Train/validation/test fractions and how rows are drawn (see :func:`.split_indices`)."""

    train: float = 0.7
    validation: float = 0.15
    test: float = 0.15
    seed: int = 0
    stratify: bool = True
    shuffle: bool = True

    @property
    def fractions(self) -> tuple[float, float, float]:
        return (self.train, self.validation, self.test)

    def validate(self, where: str = "dataset.split") -> None:
        check_fractions(self.fractions, where=where)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise DataError(f"seed must be a whole number >= 0 (got {self.seed!r})", where=where)

    def to_dict(self) -> dict[str, Any]:
        return {"train": self.train, "validation": self.validation, "test": self.test,
                "seed": self.seed, "stratify": self.stratify, "shuffle": self.shuffle}

    @classmethod
    def from_dict(cls, d: dict | None, where: str = "dataset.split") -> SplitSpec:
        if d is not None and not isinstance(d, dict):
            raise DataError("must be an object", where=where)
        d = dict(d or {})
        _no_unknown(d, cls.__dataclass_fields__, where)
        fractions = {}
        for key, default in (("train", 0.7), ("validation", 0.15), ("test", 0.15)):
            value = d.get(key, default)
            # Strict: "0.7" (text) or true are mistakes to report, not values to coerce.
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not math.isfinite(value):
                raise DataError(f"must be a number between 0 and 1 (got {_show(value)})",
                                where=f"{where}.{key}")
            fractions[key] = float(value)
        flags = {key: _bool(d.get(key, True), f"{where}.{key}") for key in ("stratify", "shuffle")}
        spec = cls(**fractions, seed=d.get("seed", 0), **flags)
        spec.validate(where)
        return spec


@dataclass
class DatasetSpec:
    """What data to load and how to prepare it (mirrors the project file's ``dataset``).

    Attributes
    ----------
    source : str or None
        Path of a CSV/TSV/IDX/NPZ file (absolute once loaded from a project file).
    labels : str or None
        IDX labels file, for IDX images.
    x_key, y_key : str or None
        Array names inside an NPZ file.
    example : str or None
        Name of a built-in example (see :data:`.EXAMPLES`), instead of ``source``.
    target : str, list of str or None
        Target column(s); several columns mean multi-output regression. None for an
        example uses the example's target.
    features : list of str or None
        Feature columns in this order; None = every column that is not ignored nor a target
        (numeric, categorical and date columns; free-text and empty columns are skipped and
        reported).
    ignore : list of str
        Columns never used (an ``id``, a free-text date).
    categorical : list of str
        Numeric-looking columns to one-hot encode instead of scaling (e.g. ``zipcode``).
    task : "auto", "classification" or "regression"
    scaling : "none", "standard" or "minmax"
        For numeric (and date) features, fitted on the train split.
    missing : "drop", "mean", "median" or "most_frequent"
        Default handling of missing feature values; ``missing_per_column`` overrides it per
        column. Mean/median on a categorical column fall back to the most frequent category.
    date_features : list of str or None
        What every date column becomes (:mod:`.dates`: ``year``, ``month``,
        ``day_of_year``, ``weekday``, ``days``); None = the default, month and weekday.
    decimal : None, "," or "."
        Numbers written ``39,1`` or ``1,234.5`` (see :mod:`.decimals`): None detects and
        reads them as numbers, "," reads every such column with a decimal comma, "." keeps
        them as text (the builder says so either way).
    target_scaling : "standard" or "none"
        Regression targets are standardized for training when "standard" (undone by
        ``Preparation.decode_target``).
    split : SplitSpec
    images, sound : dict or None
        An image or sound dataset (``source`` a folder of class folders or a CSV of paths):
        the options of :class:`~.images.ImageOptions` / :class:`~.audio.AudioOptions`.
    augment : dict or None
        Training-split augmentation of images (:class:`~.augment.AugmentOptions`).
    """

    source: str | None = None
    labels: str | None = None
    x_key: str | None = None
    y_key: str | None = None
    example: str | None = None
    target: str | list[str] | None = None
    features: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    task: str = "auto"
    scaling: str = "standard"
    missing: str = "drop"
    missing_per_column: dict[str, str] = field(default_factory=dict)
    target_scaling: str = "standard"
    date_features: list[str] | None = None
    decimal: str | None = None
    delimiter: str | None = None
    header: bool | None = None
    encoding: str | None = None
    split: SplitSpec = field(default_factory=SplitSpec)
    images: dict | None = None
    sound: dict | None = None
    augment: dict | None = None
    #: Free-text column(s) as input: ``{"columns": [name], "encoding": "bag" | "tfidf" |
    #: "sequence", "tokens": "word" | "char", ...}`` (see :mod:`.text`); None = free text is
    #: left out as before.
    text: dict | None = None
    #: The source is a plain-text corpus for a language model: ``{"tokens": "char",
    #: "window": 64, "stride": 0, ...}`` (see :mod:`.corpus`).
    corpus: dict | None = None

    @property
    def targets(self) -> list[str]:
        """The target column names as a list (possibly empty)."""
        if self.target is None:
            return []
        return [self.target] if isinstance(self.target, str) else list(self.target)

    def validate(self, where: str = "dataset") -> None:
        """Check every field; DataError naming the field (``dataset.task: ...``)."""
        if (self.source is None) == (self.example is None):
            raise DataError("give either a source file or a built-in example (not both)",
                            where=where)
        _choice(self.task, TASKS, f"{where}.task")
        _choice(self.scaling, SCALINGS, f"{where}.scaling")
        _choice(self.missing, MISSING, f"{where}.missing")
        _choice(self.target_scaling, TARGET_SCALINGS, f"{where}.target_scaling")
        for col, how in self.missing_per_column.items():
            _choice(how, MISSING, f"{where}.missing_per_column.{col}")
        for name in ("ignore", "categorical"):
            _str_list(getattr(self, name), f"{where}.{name}")
        if self.features is not None:
            _str_list(self.features, f"{where}.features")
        if self.target is not None and not isinstance(self.target, str):
            _str_list(self.target, f"{where}.target")
            if not self.target:
                raise DataError("give at least one target column", where=f"{where}.target")
        if self.date_features is not None:
            from .dates import check_parts

            check_parts(self.date_features, f"{where}.date_features")
        if self.decimal not in (None, ".", ","):
            raise DataError(f"must be '.' or ',' (got {self.decimal!r})",
                            where=f"{where}.decimal")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise DataError(f"must be one character (got {self.delimiter!r})",
                            where=f"{where}.delimiter")
        both = set(self.targets) & set(self.ignore)
        if both:
            raise DataError(f"{sorted(both)} cannot be both target and ignored", where=where)
        self.split.validate(f"{where}.split")
        _validate_media(self, where)
        if self.text is not None:
            from .text import check_options

            if not isinstance(self.text, dict):
                raise DataError("must be an object", where=f"{where}.text")
            check_options(self.text, f"{where}.text")
            cols = self.text.get("columns")
            if cols is not None:
                _str_list(cols, f"{where}.text.columns")
                if len(cols) > 1:
                    raise DataError("one text column per dataset for now (got "
                                    f"{len(cols)}); ignore the others",
                                    where=f"{where}.text.columns")
        if self.corpus is not None:
            from .corpus import check_corpus_options

            if not isinstance(self.corpus, dict):
                raise DataError("must be an object", where=f"{where}.corpus")
            check_corpus_options(self.corpus, f"{where}.corpus")

    def resolve_source(self, base_dir: str | Path | None = None) -> Path | None:
        """The source as a Path, relative paths taken from ``base_dir`` (default: cwd)."""
        return _resolve(self.source, base_dir)

    def resolve_labels(self, base_dir: str | Path | None = None) -> Path | None:
        return _resolve(self.labels, base_dir)

    def to_dict(self, base_dir: str | Path | None = None) -> dict[str, Any]:
        """Plain JSON-able dict; paths relative to ``base_dir`` when given."""
        d: dict[str, Any] = {}
        if self.example is not None:
            d["example"] = self.example
        if self.source is not None:
            d["source"] = _relative(self.source, base_dir)
        if self.labels is not None:
            d["labels"] = _relative(self.labels, base_dir)
        for key in ("x_key", "y_key", "delimiter", "header", "encoding", "decimal"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        d["target"] = self.target if isinstance(self.target, str | None) else list(self.target)
        d["features"] = None if self.features is None else list(self.features)
        d["ignore"] = list(self.ignore)
        d["categorical"] = list(self.categorical)
        if self.date_features is not None:
            d["date_features"] = list(self.date_features)
        d.update(task=self.task, scaling=self.scaling, missing=self.missing,
                 missing_per_column=dict(self.missing_per_column),
                 target_scaling=self.target_scaling, split=self.split.to_dict())
        for key in ("images", "sound", "augment", "text", "corpus"):
            if getattr(self, key) is not None:
                d[key] = dict(getattr(self, key))
        return d

    @classmethod
    def from_dict(cls, d: dict, base_dir: str | Path | None = None,
                  where: str = "dataset") -> DatasetSpec:
        """Build and validate a spec from a project file's ``dataset`` section.

        Relative ``source``/``labels`` paths are resolved against ``base_dir`` (the project
        file's folder).
        """
        if not isinstance(d, dict):
            raise DataError("must be an object", where=where)
        d = dict(d)
        _no_unknown(d, cls.__dataclass_fields__, where)
        _check_types(d, where)
        split = SplitSpec.from_dict(d.pop("split", None), where=f"{where}.split")
        for key in ("source", "labels"):
            if d.get(key) is not None:
                if not isinstance(d[key], str):
                    raise DataError("must be a path string", where=f"{where}.{key}")
                d[key] = str(_resolve(d[key], base_dir, f"{where}.{key}"))
        spec = cls(**d, split=split)
        spec.ignore = list(spec.ignore or [])
        spec.categorical = list(spec.categorical or [])
        spec.missing_per_column = dict(spec.missing_per_column or {})
        spec.validate(where)
        return spec


#: Longest path or column name accepted from a project file (file systems allow 4,096 bytes
#: for a whole path; longer text is a damaged file, not a name).
MAX_TEXT = 4096


def _check_types(d: dict, where: str) -> None:
    """Strict types of the ``dataset`` fields, before anything is built from them.

    Coercing would hide mistakes: ``"ignore": "abc"`` is not the columns a, b, c, and
    ``"header": "no"`` is not true.
    """
    for key in ("source", "labels", "x_key", "y_key", "example", "delimiter", "encoding",
                "task", "scaling", "missing", "target_scaling"):
        value = d.get(key)
        if value is not None and not isinstance(value, str):
            raise DataError(f"must be text (got {_show(value)})", where=f"{where}.{key}")
        if isinstance(value, str) and (len(value) > MAX_TEXT or "\0" in value):
            raise DataError(f"is not a usable name ({len(value):,} characters"
                            f"{', with a NUL character' if chr(0) in value else ''})",
                            where=f"{where}.{key}")
    if d.get("header") is not None:
        _bool(d["header"], f"{where}.header")
    for key in ("ignore", "categorical", "features"):
        if d.get(key) is not None:
            _str_list(d[key], f"{where}.{key}")
    target = d.get("target")
    if target is not None and not isinstance(target, str):
        _str_list(target, f"{where}.target")
    per_column = d.get("missing_per_column")
    if per_column is not None:
        if not isinstance(per_column, dict):
            raise DataError("must be an object {column: how}",
                            where=f"{where}.missing_per_column")
        for col, how in per_column.items():
            if not isinstance(how, str):
                raise DataError(f"must be one of {', '.join(MISSING)} (got {_show(how)})",
                                where=f"{where}.missing_per_column.{col}")
    encoding = d.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"unknown text encoding {encoding!r}",
                            where=f"{where}.encoding") from None


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise DataError(f"must be true or false (got {_show(value)})", where=where)
    return value


def _show(value: Any) -> str:
    """A short description of a wrong value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{type(value).__name__} {text[:50]}…"


def _validate_media(spec: DatasetSpec, where: str) -> None:
    """Image/sound/augmentation options: DataError naming the field."""
    from .audio import AudioOptions
    from .augment import AugmentOptions
    from .images import ImageOptions

    for key, cls in (("images", ImageOptions), ("sound", AudioOptions),
                     ("augment", AugmentOptions)):
        value = getattr(spec, key)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise DataError("must be an object", where=f"{where}.{key}")
        cls.from_dict(value, where=f"{where}.{key}")
    if spec.images is not None and spec.sound is not None:
        raise DataError("a dataset holds images or sound, not both", where=where)


def _resolve(path: str | None, base_dir: str | Path | None,
             where: str = "dataset") -> Path | None:
    if path is None:
        return None
    p = Path(path)
    if path.startswith("~"):
        try:
            p = p.expanduser()
        except RuntimeError:  # "~nosuchuser/...": no such user's home folder
            raise DataError(f"{path!r}: {path.split('/')[0]!r} names no user's home folder",
                            where=where) from None
    if not p.is_absolute():
        p = Path(base_dir or Path.cwd()) / p
    return Path(os.path.normpath(p))


def _relative(path: str, base_dir: str | Path | None) -> str:
    if base_dir is None:
        return Path(path).as_posix()
    try:
        return Path(os.path.relpath(Path(path), Path(base_dir))).as_posix()
    except ValueError:  # another drive on Windows
        return Path(path).as_posix()


def _choice(value: str, allowed: tuple[str, ...], where: str) -> None:
    if value not in allowed:
        raise DataError(f"must be one of {', '.join(allowed)} (got {value!r})", where=where)


def _str_list(value, where: str) -> None:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DataError(f"must be a list of column names (got {_show(value)})", where=where)


def _no_unknown(d: dict, known, where: str) -> None:
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise DataError(f"unknown field(s) {', '.join(unknown)}", where=where)
