"""GUI-free data layer: loaders, preview, column roles, preparation, split, examples.

Public API
----------
load_table(path, delimiter=None, header=None, encoding=None) -> Table
load_idx(images_path, labels_path=None) -> ArrayData
load_npz(path, x_key=None, y_key=None) -> ArrayData;  npz_keys(path) -> list of dict
preview(path, n_rows=50) -> Preview
DatasetSpec / SplitSpec  (project file ``dataset`` section; from_dict / to_dict)
build_dataset(spec, base_dir=None) -> PreparedData
Preparation  (fit on train; transform_features, transform_raw_rows, transform_target,
              decode_target, feature_info, steps, to_dict / from_dict)
split_indices(n, fractions=(0.7, 0.15, 0.15), seed=0, stratify=None, shuffle=True)
EXAMPLES  {name: Example(name, title, description, task, target, make)}

Conventions: x is float32 (N, *input_shape); y is int64 class indices (N,) for any
classification and float32 (N, k) for regression (standardized, see Preparation). Nothing here
imports Qt or pandas.
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
