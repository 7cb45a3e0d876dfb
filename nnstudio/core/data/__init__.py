"""GUI-free data layer: loaders, preview, column roles, preparation, split, examples.

NumPy only: nothing here imports Qt or pandas.

Public API
----------
``load_table(path, delimiter=None, header=None, encoding=None) -> Table``
    CSV/TSV/other delimited text; delimiter, header and encoding sniffed, overridable.
``load_idx(images_path, labels_path=None) -> ArrayData``
    MNIST-style IDX, gzipped or not; images stay ``(N, 28, 28)``.
``load_npz(path, x_key=None, y_key=None) -> ArrayData``; ``npz_keys(path)``
    NumPy archives, always with ``allow_pickle=False``.
``preview(path, n_rows=50) -> Preview``
    Reads only the first 256 kB: rows, kinds, missing/distinct counts on the sample.
``DatasetSpec`` / ``SplitSpec``
    The project file's ``dataset`` section (``from_dict(d, base_dir)`` / ``to_dict(base_dir)``).
``build_dataset(spec, base_dir=None) -> PreparedData``
    Load, drop/fill, split, fit the :class:`Preparation` on the train split, transform.
``Preparation``
    ``fit``, ``transform_features``, ``transform_raw_rows``, ``transform_target``,
    ``decode_target``, ``feature_info``, ``output_names``, ``steps``, ``to_dict``/``from_dict``.
``split_indices(n, fractions=(0.7, 0.15, 0.15), seed=0, stratify=None, shuffle=True)``
``EXAMPLES``
    ``{name: Example(name, title, description, task, target, make)}``, ``make(seed=0) -> Table``.

Conventions
-----------
* ``x`` is float32 ``(N, *input_shape)``; ``y`` is int64 class indices ``(N,)`` for every
  classification (binary too) and float32 ``(N, k)`` for regression, standardized with the
  train split's mean/std (``Preparation.decode_target`` undoes it). The trainer converts to
  what its loss needs.
* Matrix column order: input columns in ``features`` order (file order when not given);
  numeric and date columns give one column each, categorical columns one per train category,
  sorted (``Preparation.output_names()``).
* Dates (``2014-10-13``, ``2014/10/13 08:30``, ``20141013T000000``) are turned into numbers:
  days since 1970-01-01, then scaled like any number. List a date column under ``ignore`` to
  leave it out. Free-text columns are left out automatically (and reported).
* Errors are :class:`~nnstudio.core.errors.DataError`: one sentence naming the file, and the
  row (1-based, as counted in the file, header included) and column where it applies.
"""

from .csv_reader import load_table
from .dataset import PreparedData, build_dataset, infer_task, load_source
from .examples import EXAMPLES, Example
from .idx import load_idx
from .npz import load_npz, npz_keys
from .preparation import Preparation
from .preview import Preview, preview
from .spec import DatasetSpec, SplitSpec
from .split import split_indices
from .table import ArrayData, Column, Table

__all__ = [
    "EXAMPLES", "ArrayData", "Column", "DatasetSpec", "Example", "Preparation", "PreparedData",
    "Preview", "SplitSpec", "Table", "build_dataset", "infer_task", "load_idx", "load_npz",
    "load_source", "load_table", "npz_keys", "preview", "split_indices",
]
