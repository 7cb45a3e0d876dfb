"""Finding the files of an image or sound dataset: class folders, or a CSV of paths.

Two layouts are read:

* a **folder with one subfolder per class** (``pets/cat/1.png``, ``pets/dog/7.jpg``); files
  directly in the top folder are reported and skipped; nested folders inside a class folder
  belong to that class;
* a **CSV/TSV with a column of file paths** (relative to the CSV's folder, or absolute) and a
  target column (a class label, or a number for regression).

Nothing here decodes a file: problems found while listing (a missing file, a symlink loop, an
unreadable file, an empty class folder) become :class:`Skipped` entries with the file and the
reason, and only "nothing usable is left" is an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnstudio.core.errors import DataError


@dataclass(frozen=True)
class Skipped:
    """A file (or folder) left out, and why: ``Skipped("pets/cat/x.png", "zero-byte file")``."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class FileList:
    """The files of a dataset, in a fixed order (class by class, names sorted).

    Attributes
    ----------
    files : list of str
        Absolute paths.
    labels : str ndarray (N,) or None
        Class label per file (classification).
    values : float64 ndarray (N,) or None
        Numeric target per file (regression from a CSV).
    skipped : list of Skipped
    source : str
        The folder or CSV they came from.
    target_name : str
    """

    files: list[str]
    labels: np.ndarray | None
    values: np.ndarray | None
    skipped: list[Skipped] = field(default_factory=list)
    source: str = ""
    target_name: str = "class"

    def take(self, keep: np.ndarray) -> FileList:
        """Only the files where ``keep`` (bool (N,)) is true."""
        idx = np.flatnonzero(keep)
        return FileList([self.files[i] for i in idx],
                        None if self.labels is None else self.labels[idx],
                        None if self.values is None else self.values[idx],
                        list(self.skipped), self.source, self.target_name)


def _walk(folder: Path, extensions: frozenset[str], skipped: list[Skipped]) -> list[str]:
    """Files under ``folder`` with one of ``extensions``, sorted; follows symlinks once.

    A directory reached twice through symlinks (a loop) is reported once and not entered again.
    """
    out: list[str] = []
    seen: set[tuple[int, int]] = set()
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            st = d.stat()
        except OSError as e:
            skipped.append(Skipped(str(d), _os_reason(e)))
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            skipped.append(Skipped(str(d), "symlink loop (this folder was already read)"))
            continue
        seen.add(key)
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            skipped.append(Skipped(str(d), _os_reason(e)))
            continue
        subdirs = []
        for e in entries:  # plain strings: a Path per file costs more than the listing
            if e.name.startswith("."):
                continue
            try:
                is_dir = e.is_dir(follow_symlinks=True)
            except OSError as err:
                skipped.append(Skipped(e.path, _os_reason(err)))
                continue
            if is_dir:
                subdirs.append(Path(e.path))
            elif e.name[e.name.rfind("."):].lower() in extensions:
                if e.is_symlink() and not os.path.exists(e.path):
                    skipped.append(Skipped(e.path, "broken symlink"))
                else:
                    out.append(e.path)
            elif e.is_symlink() and not os.path.exists(e.path):
                skipped.append(Skipped(e.path, "broken symlink or symlink loop"))
        stack.extend(reversed(subdirs))
    return sorted(out)


def _os_reason(e: OSError) -> str:
    if e.errno == 40:  # ELOOP
        return "symlink loop"
    if isinstance(e, PermissionError):
        return "cannot be read (permission denied)"
    return f"cannot be read ({e.strerror or e})"


def scan_class_folders(root: str | Path, extensions: frozenset[str], what: str) -> FileList:
    """List ``root/<class>/**/file`` for every file with one of ``extensions``.

    Parameters
    ----------
    what : str
        ``"image"`` or ``"sound"``, for messages.

    Raises
    ------
    DataError
        The folder is missing, holds no class folder, or fewer than two classes with files.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError("folder not found" if not root.exists() else "is not a folder",
                        where=str(root))
    skipped: list[Skipped] = []
    files: list[str] = []
    labels: list[str] = []
    classes = []
    for e in sorted(os.scandir(root), key=lambda e: e.name):
        if e.name.startswith("."):
            continue
        try:
            is_dir = e.is_dir(follow_symlinks=True)
        except OSError as err:
            skipped.append(Skipped(e.path, _os_reason(err)))
            continue
        if not is_dir:
            if Path(e.name).suffix.lower() in extensions:
                skipped.append(Skipped(e.path, "not in a class folder (put each file in a "
                                       "folder named after its class)"))
            continue
        found = _walk(Path(e.path), extensions, skipped)
        if not found:
            skipped.append(Skipped(e.path, f"empty class folder (no {what} files)"))
            continue
        classes.append(e.name)
        files += found
        labels += [e.name] * len(found)
    if not classes:
        raise DataError(f"holds no class folders with {what} files: put the {what}s of each "
                        f"class in a subfolder named after the class (e.g. cat/, dog/)",
                        where=str(root))
    if len(classes) < 2:
        raise DataError(f"has only one class folder with {what} files ({classes[0]!r}); "
                        "classification needs at least two", where=str(root))
    return FileList(files, np.asarray(labels, dtype=str), None, skipped, str(root))


def read_path_csv(csv_path: str | Path, path_column: str | None, target: str | None,
                  extensions: frozenset[str], what: str, need_target: bool = True) -> FileList:
    """Files listed in a CSV/TSV column, relative to the CSV's folder, with their targets.

    ``path_column`` None picks the first column whose values end in one of ``extensions``;
    ``target`` None picks the first other column. A listed file that does not exist or
    cannot be read is skipped with its row; a numeric target column means regression values
    (``values``), anything else class labels (``labels``). With ``need_target=False`` (new
    files to predict) the target may be absent.
    """
    from .csv_reader import load_table

    csv_path = Path(csv_path)
    table = load_table(csv_path)
    where = table.where()
    if path_column is None:
        for name in table.columns:
            vals = table[name].as_strings()[:50]
            if len(vals) and np.mean([Path(v).suffix.lower() in extensions for v in vals]) > .5:
                path_column = name
                break
        if path_column is None:
            raise DataError(f"no column holds {what} file paths (columns: "
                            f"{', '.join(table.columns)})", where=where)
    if path_column not in table:
        raise DataError(f"no column named {path_column!r} (columns: "
                        f"{', '.join(table.columns)})", where=where)
    if target is None and need_target:
        others = [c for c in table.columns if c != path_column]
        if not others:
            raise DataError("has no target column besides the paths", where=where)
        target = others[0]
    if target is not None and target not in table:
        if need_target:
            raise DataError(f"no target column {target!r} (columns: "
                            f"{', '.join(table.columns)})", where=where)
        target = None
    base = csv_path.parent
    skipped: list[Skipped] = []
    keep = np.zeros(len(table), bool)
    paths = table[path_column].as_strings()
    all_files = [str(_abs(rel, base)) for rel in paths.tolist()]
    for i, rel in enumerate(paths.tolist()):
        row = f"{where}, row {table.line_number(i)}"
        if not rel:
            skipped.append(Skipped(row, "no path given"))
            continue
        p = Path(all_files[i])
        try:
            if not p.is_file():
                skipped.append(Skipped(str(p), f"{'not a file' if p.exists() else 'file not found'}"
                                       f" ({row})"))
                continue
            if not os.access(p, os.R_OK):
                skipped.append(Skipped(str(p), f"cannot be read: permission denied ({row})"))
                continue
        except OSError as e:
            skipped.append(Skipped(str(p), f"{_os_reason(e)} ({row})"))
            continue
        except ValueError:  # a NUL character in the path
            skipped.append(Skipped(repr(str(p)), f"not a valid path ({row})"))
            continue
        keep[i] = True
    labels = values = None
    if target is not None:
        col = table[target]
        miss = col.missing
        for i in np.flatnonzero(miss & keep):
            skipped.append(Skipped(all_files[int(i)],
                                   f"no target value ({where}, row {table.line_number(int(i))})"))
        keep &= ~miss
        if col.kind == "numeric" and col.n_distinct > 10:
            values = col.values.astype(np.float64)
        else:
            labels = col.as_strings()
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise DataError(f"none of its {len(table):,} rows points at a readable {what} file",
                        where=where)
    return FileList([all_files[i] for i in idx],
                    None if labels is None else labels[idx],
                    None if values is None else values[idx], skipped, str(csv_path),
                    target or "class")


def _abs(rel: str, base: Path) -> Path:
    from nnstudio.core.fileaccess import expand_user

    p = expand_user(rel)  # "~nosuchuser/a.png" stays as written: then "file not found"
    return p if p.is_absolute() else base / p


def list_files(path: str | Path, extensions: frozenset[str]) -> list[str]:
    """Files to predict: one file, every matching file under a folder, or a CSV's path column."""
    p = Path(path)
    if p.is_dir():
        return _walk(p, extensions, [])
    return [str(p)]
