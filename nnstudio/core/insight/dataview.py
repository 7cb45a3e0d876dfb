"""The data as the insight views use it: network inputs, and what to plot them as.

:class:`InsightData` holds the training and test samples twice: as the network sees them
(``x_train`` — prepared, scaled, encoded) for the statistics and the loss landscape, and as
a learner reads them (``plot_train`` — the features in their own units) for the decision
map. ``to_input`` maps plot coordinates to network inputs (the fitted preparation);
``decode_target`` maps network outputs back to target units (salary in dollars).
Without a preparation both views are the same arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnstudio.core.training.evaluate import prepare_targets


@dataclass
class InsightData:
    """Samples for the views.

    Attributes
    ----------
    x_train, x_test:
        ``(N, *input_shape)`` network inputs (``x_test`` may have 0 rows).
    y_train, y_test:
        Targets as the trainer takes them: class indices ``(N,)`` or values ``(N, K)``.
    task:
        ``"classification"`` or ``"regression"``.
    plot_train, plot_test:
        ``(N, F)`` the features in display units (the raw columns), or the inputs.
    plot_names:
        ``F`` names of the display features.
    to_input:
        ``(M, F)`` display points → ``(M, *input_shape)`` network inputs, or ``None`` when
        the display features are the inputs.
    decode_target:
        ``(M, K)`` network outputs → target units, or ``None``.
    class_names:
        Names of the classes (classification).
    target_names:
        Names of the target columns (regression).
    heads:
        Data prepared for a network's Output layers (task ``"multi_output"``): the
        preparation's ``{"target", "task", "class_names"}`` per column of the packed
        ``y (N, H)``; ``None`` otherwise.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    task: str
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    plot_train: np.ndarray | None = None
    plot_test: np.ndarray | None = None
    plot_names: list[str] = field(default_factory=list)
    to_input: Callable[[np.ndarray], np.ndarray] | None = None
    decode_target: Callable[[np.ndarray], np.ndarray] | None = None
    class_names: list[str] = field(default_factory=list)
    target_names: list[str] = field(default_factory=list)
    #: Samples are token-id sequences ``(N, T)``: two-dimensional, but not plottable
    #: features (a decision map over "token 0" and "token 1" means nothing).
    token_sequences: bool = False
    input_names: list[str] = field(default_factory=list)
    #: Categorical inputs the plots hold fixed, ``{column: most frequent training category}``
    #: (their one-hot columns are not plottable; see ``_base_input``).
    held_categories: dict[str, str] = field(default_factory=dict)
    heads: list[dict] | None = None

    def __post_init__(self) -> None:
        if self.x_test is None:
            self.x_test = self.x_train[:0]
            self.y_test = self.y_train[:0]
        if self.plot_train is None and self.x_train.ndim == 2 and not self.token_sequences:
            self.plot_train, self.plot_test = self.x_train, self.x_test
            self.to_input = None
        if self.plot_train is not None and not self.plot_names:
            self.plot_names = [f"x{i}" for i in range(self.plot_train.shape[1])]
        if not self.input_names and self.x_train.ndim == 2 and not self.token_sequences:
            same = self.plot_train is self.x_train or (
                self.to_input is None and self.plot_train is not None
                and self.plot_train.shape[1] == self.x_train.shape[1]
            )
            self.input_names = list(self.plot_names) if same else []

    # -- what the views may show -------------------------------------------------------------
    @property
    def tabular(self) -> bool:
        """True when samples are flat feature vectors that can be plotted."""
        return self.plot_train is not None and self.plot_train.ndim == 2

    @property
    def n_features(self) -> int:
        return 0 if self.plot_train is None else int(self.plot_train.shape[1])

    @property
    def n_classes(self) -> int:
        if self.task != "classification":
            return 0
        if self.class_names:
            return len(self.class_names)
        y = np.asarray(self.y_train)
        return int(y.max()) + 1 if y.ndim == 1 and y.size else 2

    def means(self) -> np.ndarray:
        """``(F,)`` training means of the display features (where the grid fixes the rest)."""
        return np.nanmean(np.asarray(self.plot_train, np.float64), axis=0)

    def classes_of(self, y: np.ndarray) -> np.ndarray:
        """Class indices ``(N,)`` from targets in any form (indices, 0/1 column, one-hot)."""
        y = np.asarray(y)
        if y.ndim == 1:
            return y.astype(np.int64)
        if y.shape[1] == 1:
            return (y[:, 0] >= 0.5).astype(np.int64)
        return y.argmax(axis=1)

    def targets_for_plot(self, y: np.ndarray) -> np.ndarray:
        """Regression targets ``(N, K)`` in target units."""
        v = np.asarray(y, np.float64).reshape(len(y), -1)
        return np.asarray(self.decode_target(v), np.float64).reshape(len(y), -1) if (
            self.decode_target is not None and len(v)
        ) else v

    def probe(self, n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """A fixed random subset of the training split, ``(x, y)`` with ``min(n, N)`` rows."""
        m = len(self.x_train)
        idx = np.sort(np.random.default_rng(seed).permutation(m)[: min(n, m)])
        return self.x_train[idx], np.asarray(self.y_train)[idx]

    def targets(self, loss: str, dtype: Any) -> np.ndarray:
        """Training targets in the form ``loss`` wants."""
        return prepare_targets(self.y_train, loss, np.dtype(dtype))

    @classmethod
    def from_arrays(
        cls,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray | None = None,
        y_test: np.ndarray | None = None,
        task: str | None = None,
        feature_names: Sequence[str] = (),
        class_names: Sequence[str] = (),
    ) -> InsightData:
        """Data whose inputs are the plotted features (no preparation)."""
        y = np.asarray(y_train)
        if task is None:
            task = "classification" if y.dtype.kind in "iub" and y.ndim == 1 else "regression"
        return cls(
            x_train=np.asarray(x_train), y_train=y, task=task,
            x_test=None if x_test is None else np.asarray(x_test),
            y_test=None if y_test is None else np.asarray(y_test),
            plot_names=list(feature_names), class_names=list(class_names),
        )

    @classmethod
    def from_prepared(cls, prepared: Any) -> InsightData:
        """From the data layer's ``PreparedData``.

        Numeric (and date) columns are plotted in their own units: the preparation scales
        each one as ``(raw − offset) / divisor``, which :attr:`to_input` applies to plot
        points; one-hot categorical columns are held at the most frequent category of the
        training split. Regression targets come back in target units with
        ``preparation.decode_target``. The test split is drawn as the held-out points (the
        validation split when there is no test split).
        """
        prep = prepared.preparation
        x_tr = _samples(prepared.x_train)
        x_te, y_te = _samples(prepared.x_test), np.asarray(prepared.y_test)
        if len(x_te) == 0:
            x_te, y_te = _samples(prepared.x_val), np.asarray(prepared.y_val)
        task = prepared.task
        decode = None
        targets: list[str] = []
        if task == "regression":
            targets = list(getattr(prep, "targets", []) or [])
            stats = getattr(prep, "target_stats", [])
            if any((t["mean"], t["std"]) != (0.0, 1.0) for t in stats):
                decode = prep.decode_target
        text = getattr(prep, "text", None)
        sequences = text is not None and (
            task == "language_model" or text.options.get("encoding") == "sequence")
        data = cls(
            x_train=x_tr, y_train=np.asarray(prepared.y_train), task=task,
            x_test=x_te, y_test=y_te, decode_target=decode,
            class_names=list(prepared.class_names or []), target_names=targets,
            token_sequences=sequences,
            heads=getattr(prep, "heads", None),
        )
        if sequences:
            return data
        columns = _affine_columns(prep, x_tr)
        if x_tr.ndim == 2:
            data.input_names = (list(prep.output_names()) if getattr(prep, "array", None) is None
                                else [f"x{i}" for i in range(x_tr.shape[1])])
        if x_tr.ndim != 2 or not columns:
            return data
        names = [c[0] for c in columns]
        idx = np.array([c[1] for c in columns])
        off = np.array([c[2] for c in columns], np.float64)
        div = np.array([c[3] for c in columns], np.float64)
        base = _base_input(prep, x_tr)
        data.held_categories = _held_categories(prep, x_tr)

        def to_input(points: np.ndarray) -> np.ndarray:
            p = np.asarray(points, np.float64)
            out = np.repeat(base[None, :], len(p), axis=0)
            out[:, idx] = (p - off) / div
            return out

        data.plot_train = x_tr[:, idx].astype(np.float64) * div + off
        data.plot_test = x_te[:, idx].astype(np.float64) * div + off
        data.plot_names = names
        data.to_input = to_input
        return data


def _samples(x: Any) -> Any:
    """Image/sound splits stay lazy (read from their cache by index); others as arrays."""
    return x if getattr(x, "lazy_batches", False) else np.asarray(x)


def _affine_columns(prep: Any, x_train: np.ndarray) -> list[tuple[str, int, float, float]]:
    """``(name, matrix column, offset, divisor)`` of every numerically scaled input column."""
    out: list[tuple[str, int, float, float]] = []
    array = getattr(prep, "array", None)
    if array is not None:
        if x_train.ndim != 2:
            return []
        f = x_train.shape[1]
        off = np.broadcast_to(np.asarray(array["offset"], np.float64), (f,))
        div = np.broadcast_to(np.asarray(array["divisor"], np.float64), (f,))
        return [(f"{array['name']}[{j}]", j, float(off[j]), float(div[j])) for j in range(f)]
    j = 0
    for feat in prep.features:
        if feat["kind"] == "categorical":
            j += len(feat.get("categories") or [])
            continue
        if isinstance(feat["offset"], list):  # a date as its parts: one column each
            from nnstudio.core.data import dates
            from nnstudio.core.data.preparation import date_parts

            names = dates.part_names(feat["name"], date_parts(feat))
            for k, name in enumerate(names):
                out.append((name, j + k, float(feat["offset"][k]), float(feat["divisor"][k])))
            j += len(names)
            continue
        name = feat["name"] + (" (days)" if feat["kind"] == "date" else "")
        out.append((name, j, float(feat["offset"]), float(feat["divisor"])))
        j += 1
    return out


def _held_categories(prep: Any, x_train: np.ndarray) -> dict[str, str]:
    """``{column: category}``: the category each categorical input is held at (its most
    frequent in the training rows), as ``_base_input`` encodes it."""
    out: dict[str, str] = {}
    j = 0
    for feat in getattr(prep, "features", []) or []:
        if feat["kind"] != "categorical":
            j += len(feat["offset"]) if isinstance(feat["offset"], list) else 1
            continue
        cats = list(feat.get("categories") or [])
        if cats:
            block = np.asarray(x_train)[:, j:j + len(cats)]
            out[feat["name"]] = str(cats[int(np.argmax(block.sum(axis=0)))])
        j += len(cats)
    return out


def fixed_inputs_text(n_numeric_others: int, held: dict[str, str]) -> str:
    """What a plot over one or two features does with the other inputs, in words."""
    parts = []
    if n_numeric_others == 1:
        parts.append("the other numeric feature stays at its training mean")
    elif n_numeric_others > 1:
        parts.append(f"the other {n_numeric_others} numeric features stay at their training "
                     "means")
    if held:
        cats = ", ".join(f"{k} = {v}" for k, v in held.items())
        parts.append(("categorical inputs stay" if len(held) > 1 else "the categorical input "
                      "stays") + f" at the most frequent training category ({cats})")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if text else ""


def _base_input(prep: Any, x_train: np.ndarray) -> np.ndarray:
    """A network input row: training means, one-hot columns at the most frequent category."""
    base = np.asarray(x_train, np.float64).mean(axis=0)
    if getattr(prep, "array", None) is not None:
        return base
    j = 0
    for feat in prep.features:
        if feat["kind"] != "categorical":
            j += len(feat["offset"]) if isinstance(feat["offset"], list) else 1
            continue
        cats = list(feat.get("categories") or [])
        block = slice(j, j + len(cats))
        if cats:
            base[block] = 0.0
            base[j + int(np.argmax(np.asarray(x_train)[:, block].sum(axis=0)))] = 1.0
        j += len(cats)
    return base

