"""Benchmark: nnstudio's CSV loader against pandas.read_csv on a 1,000,000 x 20 numeric file.

Usage::

    .venv/bin/python benchmarks/csv_load.py [--rows 1000000] [--cols 20] [--rounds 5]
        [--format g6|repr] [--threads N]

``--format g6`` writes numbers as spreadsheets do (up to 6 significant digits, 168 MB);
``repr`` as ``pandas.DataFrame.to_csv`` does (17 significant digits, 393 MB). ``--threads``
sets how many threads parse blocks (default: ``csv_reader.PARSE_THREADS``, 2 on 2 cores;
pandas' C parser uses one).

Writes the file to a temporary folder, then times ``load_table`` and ``pandas.read_csv``
alternately in this process (several rounds; medians and the median of the paired ratios, as
these VMs are noisy) and measures each loader's peak RSS in a fresh subprocess that only loads
the file. pandas is used here only, as the peer (``pip install pandas``).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_file(path: Path, rows: int, cols: int, fmt: str = "g6", seed: int = 0) -> None:
    """Normal random numbers, as a spreadsheet (g6) or Python's repr (repr) writes them."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="\n") as f:
        f.write(",".join(f"c{j}" for j in range(cols)) + "\n")
        step = 100_000
        for start in range(0, rows, step):
            block = rng.normal(size=(min(step, rows - start), cols))
            if fmt == "g6":
                np.savetxt(f, block * 100, delimiter=",", fmt="%.6g")
            else:
                f.writelines(",".join(map(repr, row)) + "\n" for row in block.tolist())


_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from nnstudio.core.data import csv_reader
csv_reader.PARSE_THREADS = {threads}
import numpy

def hwm():  # VmHWM is reset by exec, unlike ru_maxrss, which a child inherits on Linux
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

if {which!r} == "nnstudio":
    from nnstudio.core.data import load_table
else:
    import pandas
base = hwm()
t = time.perf_counter()
if {which!r} == "nnstudio":
    from nnstudio.core.data import load_table
    n = load_table({path!r}).n_rows
else:
    import pandas
    n = len(pandas.read_csv({path!r}))
print(n, time.perf_counter() - t, base, hwm())
"""


def peak_rss_mb(which: str, path: Path, threads: int) -> tuple[float, float]:
    """(peak RSS MB, peak minus interpreter-and-imports baseline MB) of a process loading."""
    code = _CHILD.format(root=str(ROOT), which=which, path=str(path), threads=threads)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    base, peak = int(out[2]) / 1024, int(out[3]) / 1024
    return peak, peak - base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--cols", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--format", choices=("g6", "repr"), default="g6")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    import pandas

    from nnstudio.core.data import csv_reader, load_table

    if args.threads is not None:
        csv_reader.PARSE_THREADS = args.threads
    threads = csv_reader.PARSE_THREADS

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "numeric.csv"
        t = time.perf_counter()
        write_file(path, args.rows, args.cols, args.format)
        size = path.stat().st_size / 1e6
        print(f"file: {args.rows:,} x {args.cols} ({args.format}), {size:.0f} MB "
              f"(written in {time.perf_counter() - t:.1f} s); nnstudio parses with "
              f"{threads} thread(s)")

        ours, theirs = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            table = load_table(path)
            ours.append(time.perf_counter() - t)
            del table
            t = time.perf_counter()
            frame = pandas.read_csv(path)
            theirs.append(time.perf_counter() - t)
            del frame
        check = load_table(path)
        frame = pandas.read_csv(path)
        same = all(np.array_equal(check[c].values, frame[c].to_numpy()) for c in frame.columns)
        del check, frame
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(f"nnstudio load_table : median {statistics.median(ours):.2f} s  "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ours)})")
        print(f"pandas.read_csv     : median {statistics.median(theirs):.2f} s  "
              f"(rounds: {', '.join(f'{x:.2f}' for x in theirs)})")
        print(f"ratio (median of paired ratios): {statistics.median(ratios):.2f}x  "
              f"(limit 3x); values identical to pandas: {same}")
        for which in ("nnstudio", "pandas"):
            peak, extra = peak_rss_mb(which, path, threads)
            print(f"peak RSS {which:9s}: {peak:.0f} MB ({extra:.0f} MB above the interpreter "
                  "and imports)")
    print(f"this process's peak RSS: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
