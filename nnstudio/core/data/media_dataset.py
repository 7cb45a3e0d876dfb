"""``build_media_dataset``: an image or sound dataset → :class:`PreparedData` with lazy splits.

The files are listed (:mod:`.media_files`), decoded once into a memory-mapped cache
(:mod:`.image_cache`), split (seeded, stratified), and the scaling is fitted on the training
rows. Each split's ``x`` is a :class:`~.batches.LazySamples`: a float32 array to every reader,
but converted batch by batch from the uint8 (images) or float32 (spectrogram) cache, so a large
set is never held as floats. Files that cannot be used are skipped and listed in
``prepared.media["skipped"]`` with the reason; only "nothing usable left" (or one class) is an
error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nnstudio.core.errors import DataError

from .audio import AUDIO_EXTENSIONS, AudioOptions, decode_sound
from .augment import Augmenter, AugmentOptions
from .batches import LazySamples
from .image_cache import MediaCache
from .images import (
    IMAGE_EXTENSIONS,
    ImageOptions,
    SkipFile,
    choose_color,
    decode_image,
    default_size,
    probe,
)
from .media_files import FileList, Skipped, read_path_csv, scan_class_folders
from .preparation import Preparation
from .split import split_indices

#: Files whose headers are read to choose the default size and colour (spread over the set).
PROBE_FILES = 400
_CHUNK = 4096

Progress = Callable[[str, int, int], None]


def media_kind(spec: Any, base_dir: str | Path | None = None) -> str | None:
    """``"image"``, ``"sound"`` or None (a table/array dataset) for a dataset spec.

    ``dataset.images`` / ``dataset.sound`` decide; a source folder without either is
    recognised by the extensions of the files in it.
    """
    if getattr(spec, "images", None) is not None:
        return "image"
    if getattr(spec, "sound", None) is not None:
        return "sound"
    if spec.source is None:
        return None
    path = spec.resolve_source(base_dir)
    if path is None or not path.is_dir():
        return None
    counts = Counter()
    for i, p in enumerate(path.rglob("*")):
        ext = p.suffix.lower()
        counts["image"] += ext in IMAGE_EXTENSIONS
        counts["sound"] += ext in AUDIO_EXTENSIONS
        if i > 2000:
            break
    if not counts["image"] and not counts["sound"]:
        raise DataError("holds no image (PNG, JPEG, BMP, GIF, TIFF, WebP) or sound (WAV, FLAC, "
                        "OGG) files", where=str(path))
    return "image" if counts["image"] >= counts["sound"] else "sound"


def list_dataset_files(spec: Any, kind: str, base_dir: str | Path | None = None) -> FileList:
    """The files of an image/sound dataset with their labels or values."""
    path = spec.resolve_source(base_dir)
    ext = IMAGE_EXTENSIONS if kind == "image" else AUDIO_EXTENSIONS
    what = "image" if kind == "image" else "sound"
    if path is None:
        raise DataError("give the folder or the CSV of paths", where="dataset.source")
    if path.is_dir():
        return scan_class_folders(path, ext, what)
    if not path.exists():
        raise DataError("file not found", where=str(path))
    column = (spec.images or {}).get("path_column") if kind == "image" else None
    target = spec.targets[0] if spec.targets else None
    return read_path_csv(path, column, target, ext, what)


def image_options(spec_images: dict | None, files: list[str]) -> tuple[ImageOptions, dict]:
    """Options with the size and colour chosen (default: from a sample of headers)."""
    opts = ImageOptions.from_dict(spec_images)
    if opts.size is None or opts.color == "auto":
        step = max(1, len(files) // PROBE_FILES)
        sizes, grays = _probe_sample(files[::step][:PROBE_FILES])
        if opts.size is None:
            opts.size = default_size(sizes)
        if opts.color == "auto":
            opts.color = choose_color(grays)
    media = {"kind": "image", "size": list(opts.size), "color": opts.color,
             "filter": opts.filter}
    return opts, media


def _probe_sample(files: list[str]) -> tuple[list[tuple[int, int]], list[bool]]:
    """Sizes and grayness of ``files`` from their headers, remembered in the cache folder
    (keyed by the files and their modification times) so that reopening reads no header."""
    import hashlib
    import json
    import os

    from .image_cache import cache_dir

    h = hashlib.sha256()
    for f in files:
        try:
            st = os.stat(f)
            h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "replace"))
        except OSError:
            h.update(f"{f}\0missing\0".encode("utf-8", "replace"))
    memo = cache_dir(files[0] if files else None) / f"probe-{h.hexdigest()[:32]}.json"
    try:
        d = json.loads(memo.read_text("utf-8"))
        return [tuple(s) for s in d["sizes"]], list(d["grays"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    sizes, grays = [], []
    for f in files:
        try:
            hh, ww, g = probe(f)
        except SkipFile:
            continue
        sizes.append((hh, ww))
        grays.append(g)
    try:
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"sizes": sizes, "grays": grays}), "utf-8")
        os.replace(tmp, memo)
    except OSError:
        pass  # only a speed-up
    return sizes, grays


def decoder_for(media: dict) -> tuple[Callable[[str], np.ndarray], tuple[int, ...], Any]:
    """``(decode(path), sample_shape, dtype)`` for a stored ``media`` description."""
    if media["kind"] == "image":
        size, color, filt = tuple(media["size"]), media["color"], media["filter"]
        shape = (1 if color == "gray" else 3, *size)
        return (lambda p: decode_image(p, size, color, filt)), shape, np.uint8
    opts = AudioOptions.from_dict({k: v for k, v in media.items()
                                   if k not in ("kind", "augment")})
    return (lambda p: decode_sound(p, opts)), opts.sample_shape, np.float32


def decode_files(media: dict, paths: list[str]) -> tuple[np.ndarray, list[int], list[Skipped]]:
    """Decode new files for prediction (no cache): ``(raw (n_ok, *shape), ok_positions,
    skipped)``."""
    decode, shape, dtype = decoder_for(media)
    out, ok, skipped = [], [], []
    for i, p in enumerate(paths):
        try:
            out.append(decode(p))
            ok.append(i)
        except SkipFile as e:
            skipped.append(Skipped(p, str(e)))
    raw = np.stack(out) if out else np.zeros((0, *shape), dtype)
    return raw, ok, skipped


def build_media_dataset(spec: Any, base_dir: str | Path | None = None, kind: str | None = None,
                        progress: Progress | None = None,
                        cancelled: Callable[[], bool] | None = None,
                        cache_folder: str | Path | None = None):
    """Build the :class:`~nnstudio.core.data.PreparedData` of an image or sound dataset.

    ``progress(stage, done, total)`` reports listing and decoding; ``cancelled()`` returning
    True stops with :class:`~.image_cache.DecodeCancelled`.
    """
    from .dataset import PreparedData, _class_names, _counts

    kind = kind or media_kind(spec, base_dir)
    if progress is not None:
        progress("listing files", 0, 0)
    listing = list_dataset_files(spec, kind, base_dir)
    if kind == "image":
        _, media = image_options(spec.images, listing.files)
    else:
        media = {"kind": "sound", **AudioOptions.from_dict(spec.sound).to_dict()}
    decode, shape, dtype = decoder_for(media)
    cache = MediaCache(listing.files, shape, dtype, media, decode, cache_folder)
    cache.load(None if progress is None else (lambda d, t: progress("decoding", d, t)),
               cancelled)
    skipped = list(listing.skipped) + [Skipped(listing.files[i], r)
                                       for i, r in sorted(cache.reasons.items())]
    ok = cache.ok
    where = listing.source
    if not ok.any():
        raise DataError(f"none of its {len(listing.files):,} files could be read "
                        f"(first problem: {skipped[0] if skipped else 'unknown'})", where=where)
    rows = np.flatnonzero(ok)
    task = spec.task
    if task == "auto":
        task = "regression" if listing.values is not None else "classification"
    labels = listing.labels[rows] if listing.labels is not None else None
    class_names: list[str] = []
    if task == "classification":
        if labels is None:
            labels = np.asarray([str(v) for v in listing.values[rows]])
        class_names = (sorted(set(labels.tolist())) if Path(where).is_dir()
                       else _class_names(labels))
        if len(class_names) < 2:
            raise DataError(f"only one class ({class_names[0]!r}) has usable files; "
                            "classification needs at least two", where=where)
    elif listing.values is None:
        raise DataError("regression needs a numeric target column", where=where)
    tr, va, te = split_indices(rows.size, spec.split.fractions, spec.split.seed,
                               labels if (labels is not None and spec.split.stratify) else None,
                               spec.split.shuffle)
    raw = cache.array
    offset, divisor, stats = _scaling_memo(cache, rows[tr], spec.scaling)
    augment = AugmentOptions.from_dict(spec.augment) if spec.augment else AugmentOptions()
    if augment.active:
        if kind != "image":
            raise DataError("augmentation applies to images only", where="dataset.augment")
        media["augment"] = augment.to_dict()
    name = "image" if kind == "image" else "spectrogram"
    array = {"name": name, "sample_shape": list(shape), "offset": offset, "divisor": divisor,
             **stats}
    target_stats = []
    if task == "regression":
        y_tr = listing.values[rows[tr]]
        mean, std = float(y_tr.mean()), float(y_tr.std()) or 1.0
        if spec.target_scaling != "standard":
            mean, std = 0.0, 1.0
        target_stats.append({"name": listing.target_name, "mean": mean, "std": std})
    prep = Preparation([], task, [listing.target_name], class_names or None, target_stats,
                       array=array, scaling=spec.scaling)
    prep.media = media
    if task == "classification":
        # Every label is a class name (they were taken from these labels): a vectorised
        # lookup instead of encode_labels' loop (60,000 files).
        order = np.argsort(class_names)
        sorted_names = np.asarray(class_names)[order]
        y_all = order[np.searchsorted(sorted_names, labels)].astype(np.int64)
    else:
        y_all = prep.transform_target(listing.values[rows])
    aug = Augmenter(augment, (0.0, 255.0)) if augment.active else None
    xs = {s: LazySamples(raw, rows[idx], offset, divisor, aug if s == "train" else None)
          for s, idx in (("train", tr), ("validation", va), ("test", te))}
    parts = {"train": tr, "validation": va, "test": te}
    counts = _counts(parts, y_all, class_names, len(skipped))
    prepared = PreparedData(
        xs["train"], y_all[tr], xs["validation"], y_all[va], xs["test"], y_all[te], task,
        class_names, tuple(shape), prep.output_size, prep, [name], counts, {}, {},
        {s: rows[i] for s, i in parts.items()}, where)
    prepared.media = {"kind": kind, "files": listing.files, "skipped": skipped, "raw": raw,
                      "decoded_now": cache.decoded, "cache": str(cache.bin_path), **media}
    return prepared


def _scaling_memo(cache: MediaCache, rows: np.ndarray, scaling: str):
    """:func:`_fit_scaling`, remembered beside the cache for these training rows and this
    state of the cache (its index file's modification time), so reopening reads no pixels."""
    import hashlib
    import json
    import os

    try:
        stamp = cache.json_path.stat().st_mtime_ns
    except OSError:
        return _fit_scaling(cache.array, rows, scaling)
    h = hashlib.sha256(f"{cache.key}{stamp}{scaling}".encode())
    h.update(np.ascontiguousarray(rows, np.int64).tobytes())
    memo = cache.folder / f"{cache.key}.scaling-{h.hexdigest()[:16]}.json"
    try:
        d = json.loads(memo.read_text("utf-8"))
        return d["offset"], d["divisor"], d["stats"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    offset, divisor, stats = _fit_scaling(cache.array, rows, scaling)
    try:
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"offset": offset, "divisor": divisor, "stats": stats}),
                       "utf-8")
        os.replace(tmp, memo)
    except OSError:
        pass  # only a speed-up
    return offset, divisor, stats


def _fit_scaling(raw: np.ndarray, rows: np.ndarray, scaling: str) -> tuple[float, float, dict]:
    """One offset/divisor for the whole array, from the training rows, read in chunks."""
    total = total_sq = 0.0
    count = 0
    lo, hi = np.inf, -np.inf
    # Chunks of about 4 M values: a float64 copy of 4,096 RGB 64×64 images would be 400 MB.
    step = max(1, 4_000_000 // max(1, int(np.prod(raw.shape[1:]))))
    for start in range(0, len(rows), step):
        chunk = np.asarray(raw[np.sort(rows[start:start + step])], np.float64)
        total += float(chunk.sum())
        total_sq += float(np.square(chunk).sum())
        count += chunk.size
        lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
    mean = total / max(count, 1)
    std = float(np.sqrt(max(total_sq / max(count, 1) - mean * mean, 0.0)))
    if scaling == "standard":
        offset, divisor = mean, std
    elif scaling == "minmax":
        offset, divisor = lo, hi - lo
    else:
        offset, divisor = 0.0, 1.0
    return offset, divisor or 1.0, {"mean": mean, "min": lo, "max": hi}
