"""Benchmark: image and sound datasets — decoding, the cache, memory while training, spectrograms.

Usage::

    .venv/bin/python benchmarks/image_data.py [--images 60000] [--rss-images 20000]
        [--clips 300] [--rounds 3] [--work DIR]

1. **First decode** of ``--images`` 28×28 PNGs (MNIST test digits written 6 times, each copy
   shifted by a pixel) into the uint8 cache, in images per second on one core; then
   **reopening** the same dataset (the cache is read, nothing decoded) — median of
   ``--rounds`` fresh processes each, and the ratio.
2. **torchvision's ImageFolder** (what a PyTorch user would otherwise write) on the same
   folder: one pass of ``Grayscale → Resize(28) → ToTensor`` over every image (its loader
   decodes every epoch: there is no cache), when torchvision is importable; and the same
   per-item work in plain Pillow + NumPy (``default_loader``'s ``convert("RGB")``, then
   grayscale, resize, float), which needs no torch.
3. **Peak RSS** of ``nnstudio train`` (one epoch, a small CNN) on ``--rss-images`` 64×64 RGB
   PNGs, in a subprocess: the whole set as float32 would be ``N·12,288·4`` bytes.
4. **Spectrogram throughput**: one-second 16 kHz clips per second on one core — the log-mel
   alone (framing, FFT, mel bank, dB), and the whole path from a 22.05 kHz WAV file (read,
   mono mix, resample, pad, log-mel); and the mel bank against librosa's when importable.

Everything is pinned to one thread (``OMP/OPENBLAS/MKL_NUM_THREADS=1``, threadpoolctl); the
machine may be shared: the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"


def write_digits(root: Path, n: int) -> None:
    """``n`` 28×28 PNG digits in class folders (MNIST test set, copies shifted by a pixel)."""
    from PIL import Image

    from tests.media_data import mnist_arrays

    x, y = mnist_arrays(DATASETS)
    for i in range(n):
        k, j = divmod(i, len(x))
        img = np.roll(x[j], k, axis=1) if k else x[j]
        folder = root / str(int(y[j]))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, "L").save(folder / f"{i:06d}.png")


def write_rgb(root: Path, n: int) -> None:
    """``n`` 64×64 RGB PNGs in 10 class folders (digits enlarged and tinted)."""
    from PIL import Image

    from tests.media_data import mnist_arrays

    x, y = mnist_arrays(DATASETS)
    rng = np.random.default_rng(0)
    for i in range(n):
        j = i % len(x)
        big = np.asarray(Image.fromarray(x[j]).resize((64, 64), Image.Resampling.BILINEAR))
        tint = rng.integers(64, 256, 3)
        rgb = (big[..., None].astype(np.uint16) * tint // 255).astype(np.uint8)
        folder = root / str(int(y[j]))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb, "RGB").save(folder / f"{i:06d}.png")


_OPEN = """
import json, sys, time
from threadpoolctl import threadpool_limits
threadpool_limits(1)
sys.path.insert(0, {root!r})
from nnstudio.core.data import DatasetSpec, build_dataset
t = time.perf_counter()
p = build_dataset(DatasetSpec(source={folder!r}, images={{"color": "gray"}}))
print(json.dumps({{"seconds": time.perf_counter() - t, "decoded": p.media["decoded_now"],
                  "n": len(p.media["files"])}}))
"""

_PILLOW = """
import json, sys, time
import numpy as np
from pathlib import Path
from PIL import Image
files = sorted(str(p) for p in Path({folder!r}).rglob("*.png"))
t = time.perf_counter()
for f in files:  # what ImageFolder's default_loader + Grayscale/Resize/ToTensor do per item
    img = Image.open(f).convert("RGB").convert("L").resize((28, 28), Image.Resampling.BILINEAR)
    np.asarray(img, np.float32) / 255.0
print(json.dumps({{"seconds": time.perf_counter() - t, "n": len(files)}}))
"""

_TORCH = """
import json, sys, time, torch
torch.set_num_threads(1)
from torchvision import datasets, transforms
tf = transforms.Compose([transforms.Grayscale(), transforms.Resize((28, 28)),
                         transforms.ToTensor()])
t = time.perf_counter()
ds = datasets.ImageFolder({folder!r}, transform=tf)
for i in range(len(ds)):
    ds[i]
print(json.dumps({{"seconds": time.perf_counter() - t, "n": len(ds)}}))
"""


def child(code: str, env: dict | None = None) -> dict:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, **(env or {})}, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_decode(work: Path, n: int, rounds: int) -> dict:
    folder = work / "digits"
    if not folder.exists():
        t = time.perf_counter()
        write_digits(folder, n)
        print(f"  wrote {n:,} PNGs in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    first, again, ratios = [], [], []
    for r in range(rounds):
        cache = work / f"cache-{r}"
        env = {"NNSTUDIO_CACHE_DIR": str(cache)}
        a = child(_OPEN.format(root=str(ROOT), folder=str(folder)), env)
        assert a["decoded"] == a["n"] == n
        b = child(_OPEN.format(root=str(ROOT), folder=str(folder)), env)
        assert b["decoded"] == 0
        first.append(a["seconds"])
        again.append(b["seconds"])
        ratios.append(a["seconds"] / b["seconds"])
        print(f"  round {r + 1}: first {a['seconds']:.1f} s, reopen {b['seconds']:.2f} s",
              file=sys.stderr)
    out = {"images": n, "first_decode_s": statistics.median(first),
           "images_per_s": n / statistics.median(first),
           "reopen_s": statistics.median(again), "reopen_speedup": statistics.median(ratios)}
    # ImageFolder decodes every image every epoch; this is its per-item work without torch.
    p = child(_PILLOW.format(folder=str(folder)))
    out["pillow_per_epoch_loader_s"] = p["seconds"]
    out["pillow_per_epoch_images_per_s"] = p["n"] / p["seconds"]
    try:
        t = child(_TORCH.format(folder=str(folder)))
        out["torchvision_imagefolder_pass_s"] = t["seconds"]
        out["torchvision_images_per_s"] = t["n"] / t["seconds"]
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        out["torchvision"] = f"not measured: {str(e).strip().splitlines()[-1][:200]}"
    return out


def bench_rss(work: Path, n: int) -> dict:
    folder = work / "rgb"
    if not folder.exists():
        t = time.perf_counter()
        write_rgb(folder, n)
        print(f"  wrote {n:,} RGB PNGs in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    net = {"nodes": [{"id": "in", "type": "Input"},
                     {"id": "c", "type": "Conv2D", "filters": 8, "kernel_size": [3, 3],
                      "strides": [2, 2]},
                     {"id": "r", "type": "ReLU"}, {"id": "g", "type": "GlobalAvgPool2D"},
                     {"id": "d", "type": "Dense", "units": 10}, {"id": "s", "type": "Softmax"}],
           "edges": [["in", "c"], ["c", "r"], ["r", "g"], ["g", "d"], ["d", "s"]]}
    proj = {"format": "nnstudio.project", "version": 1,
            "dataset": {"source": str(folder), "images": {"color": "rgb"}},
            "network": net,
            "training": {"loss": "cross_entropy", "optimizer": {"type": "adam"},
                         "batch_size": 64, "epochs": 1, "seed": 0}}
    path = work / "rgb.nnsproj"
    path.write_text(json.dumps(proj))
    env = {**os.environ, "NNSTUDIO_CACHE_DIR": str(work / "rgb-cache"),
           "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    r = subprocess.run([sys.executable, "-m", "nnstudio", "train", str(path), "--out",
                        str(work / "rgb.npz"), "--json", "--quiet"], capture_output=True,
                       text=True, env=env, timeout=7200)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return {"images": n, "peak_rss_mb": max(peak, before) / 1024,
            "float32_copy_would_be_mb": n * 64 * 64 * 3 * 4 / 2**20,
            "train_seconds_incl_first_decode": time.perf_counter() - t}


def bench_spectrogram(work: Path, clips: int, rounds: int) -> dict:
    import soundfile as sf
    from threadpoolctl import threadpool_limits

    from nnstudio.core.data.audio import AudioOptions, decode_sound
    from nnstudio.core.data.spectrogram import log_mel, mel_filterbank

    threadpool_limits(1)
    rng = np.random.default_rng(0)
    signals = rng.standard_normal((clips, 16000)) * 0.1
    folder = work / "clips"
    folder.mkdir(exist_ok=True)
    files = []
    for i in range(clips):
        p = folder / f"{i}.wav"
        if not p.exists():
            sf.write(p, rng.standard_normal(22050) * 0.1, 22050, subtype="PCM_16")
        files.append(str(p))
    opts = AudioOptions()
    alone, full = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for s in signals:
            log_mel(s, 16000, opts.window, opts.hop, opts.mels, opts.fmin)
        alone.append(clips / (time.perf_counter() - t))
        t = time.perf_counter()
        for f in files:
            decode_sound(f, opts)
        full.append(clips / (time.perf_counter() - t))
    out = {"clips": clips, "log_mel_clips_per_s": statistics.median(alone),
           "wav_to_log_mel_clips_per_s": statistics.median(full)}
    try:
        import librosa.filters

        diffs = []
        for sr, n_fft, mels, lo, hi in ((16000, 512, 40, 20.0, 8000.0),
                                        (22050, 1024, 128, 0.0, 11025.0)):
            ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=mels, fmin=lo, fmax=hi)
            diffs.append(float(np.abs(ref - mel_filterbank(sr, n_fft, mels, lo, hi).T).max()))
        out["mel_bank_max_abs_diff_vs_librosa"] = max(diffs)
    except ImportError:
        out["mel_bank_vs_librosa"] = "librosa not importable"
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=60_000)
    ap.add_argument("--rss-images", type=int, default=20_000)
    ap.add_argument("--clips", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=None,
                    help="keep the written files here (default: a temporary folder)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["decode", "rss", "spectrogram"])
    args = ap.parse_args(argv)
    ctx = tempfile.TemporaryDirectory() if args.work is None else None
    work = Path(ctx.name) if ctx else args.work
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
    try:
        if "spectrogram" not in args.skip:
            print("spectrograms…", file=sys.stderr)
            results["spectrogram"] = bench_spectrogram(work, args.clips, args.rounds)
        if "decode" not in args.skip:
            print("decode and cache…", file=sys.stderr)
            results["decode"] = bench_decode(work, args.images, args.rounds)
        if "rss" not in args.skip:
            print("peak RSS while training…", file=sys.stderr)
            results["train_rss"] = bench_rss(work, args.rss_images)
    finally:
        results["load_average_end"] = os.getloadavg()
        if ctx:
            ctx.cleanup()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
