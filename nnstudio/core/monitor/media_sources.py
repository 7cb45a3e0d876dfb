"""New image or sound files to monitor (``nnstudio monitor MODEL --data FOLDER|paths.csv``).

The files are found like the training data (:mod:`nnstudio.core.data.media_files`): a folder
(every image/sound file under it; with one subfolder per class, ``--labels`` takes the folder
names as the true classes) or a CSV/TSV with a column of paths (``--labels COLUMN`` names its
column of true outcomes). Each file is decoded with the model's decoder, its statistics taken
(:mod:`.samples`) and its prediction made; unusable files are skipped with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from .derived import media_name
from .samples import decode_sound_with_stats, image_header, image_stats, stat_columns
from .sources import Current

CHUNK = 256


def from_media_files(model: Any, path: str | Path, labels: str | None = None) -> Current:
    from nnstudio.core.data.audio import AUDIO_EXTENSIONS, AudioOptions
    from nnstudio.core.data.images import IMAGE_EXTENSIONS, SkipFile, decode_image
    from nnstudio.core.data.media_files import list_files, read_path_csv, scan_class_folders

    prep = model.preparation
    media = prep.media
    kind = media["kind"]
    ext = IMAGE_EXTENSIONS if kind == "image" else AUDIO_EXTENSIONS
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", where=str(p))
    truth = None
    skipped: list[str] = []
    if p.is_dir():
        if labels:
            listing = scan_class_folders(p, ext, kind)
            files, truth = listing.files, listing.labels
            skipped += [str(s) for s in listing.skipped]
        else:
            files = list_files(p, ext)
    elif p.suffix.lower() in ext:
        files = [str(p)]
    else:
        listing = read_path_csv(p, None, labels, ext, kind, need_target=bool(labels))
        files = listing.files
        skipped += [str(s) for s in listing.skipped]
        truth = listing.labels if listing.labels is not None else listing.values
    if not files:
        raise DataError(f"holds no {kind} files ({', '.join(sorted(ext))})", where=str(p))
    opts = None
    if kind == "sound":
        opts = AudioOptions.from_dict({k: v for k, v in media.items()
                                       if k not in ("kind", "augment")})
    rgb = kind == "sound" or media.get("color") == "rgb"
    names = stat_columns(kind, rgb)
    cols: dict[str, list[float]] = {n: [] for n in names}
    preds: list[Any] = []
    ok: list[int] = []
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            with np.errstate(all="ignore"):
                pred = model.predict_prepared(model.prepare(np.stack(batch)))
            vals = pred.values if model.task == "classification" else pred.values[:, 0]
            preds.extend(np.asarray(vals).tolist())
            batch.clear()

    for i, f in enumerate(files):
        try:
            if kind == "image":
                arr = decode_image(f, tuple(media["size"]), media["color"], media["filter"])
                st = {k: float(v[0]) for k, v in image_stats(arr[None]).items()}
                w, h, _ = image_header(f)
                st.update(width=float(w), height=float(h))
            else:
                arr, st = decode_sound_with_stats(f, opts)
        except SkipFile as e:
            skipped.append(f"{f}: {e}")
            continue
        for n in names:
            cols[n].append(st[n])
        ok.append(i)
        batch.append(arr)
        if len(batch) >= CHUNK:
            flush()
    flush()
    if not ok:
        raise DataError(f"none of the {kind} files could be read ({skipped[0]})", where=str(p))
    notes = [f"skipped {s}" for s in skipped[:10]]
    if len(skipped) > 10:
        notes.append(f"... and {len(skipped) - 10:,} more files skipped")
    columns = {media_name(kind, n): np.asarray(v, np.float64) for n, v in cols.items()}
    if model.task == "classification":
        predictions = np.asarray([str(v) for v in preds], dtype=str)
    else:
        predictions = np.asarray(preds, np.float64)
    outcomes = None
    if truth is not None:
        t = np.asarray(truth)[ok]
        outcomes = np.asarray([str(v) for v in t], dtype=str) if model.task == \
            "classification" else t.astype(np.float64)
    return Current(str(p), len(ok), columns, predictions, outcomes, None, notes)
