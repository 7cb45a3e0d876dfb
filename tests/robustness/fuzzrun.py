"""Running one property-test example: a fresh folder of seed files, one command, the
invariant checked (:mod:`.harness`), the outcome counted."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from .harness import check_invariant, files_in, run_cli
from .media_seeds import copy_tree

#: Outcomes per command, printed by each module's ``test_report_*`` (``pytest -s``).
STATS: Counter = Counter()


class Workdir:
    """``with Workdir(seed_dir) as d:`` — a copy of the seed files (symbolic links kept), as
    the current folder, removed afterwards."""

    def __init__(self, seed_dir: Path):
        self.seed_dir = seed_dir

    def __enter__(self) -> Path:
        self.tmp = tempfile.TemporaryDirectory(prefix="nnsfuzz")
        self.path = Path(self.tmp.name)
        copy_tree(self.seed_dir, self.path)
        self.old = os.getcwd()
        os.chdir(self.path)
        return self.path

    def __exit__(self, *exc):
        os.chdir(self.old)
        self.tmp.cleanup()


def run_and_check(folder: Path, name: str, *argv, outputs=()):
    """Run one command, assert the invariant, remove what a success wrote; the outcome."""
    before = files_in(folder)
    outcome = run_cli(*argv)
    check_invariant(outcome, [folder / o for o in outputs], folder, before)
    STATS[f"{name}: exit {outcome.code}"] += 1
    for o in outputs:
        p = folder / o
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    return outcome


def report(title: str, prefixes: tuple[str, ...]) -> None:
    """Print how many commands ran, by outcome, for the STATS keys starting with
    ``prefixes`` (not a check: the numbers of the closing note)."""
    keys = sorted(k for k in STATS if k.startswith(prefixes))
    if keys:
        print(f"\n{title}: {sum(STATS[k] for k in keys)} commands run")
        for k in keys:
            print(f"  {k}: {STATS[k]}")
