"""Run ``nnstudio`` commands in-process and check the robustness invariant.

The invariant (issue 14): a command either succeeds (exit 0) or exits 2 with only ``error:``
lines (and ``note:`` lines printed before the failure) on stderr — never ``internal error``,
never a Python warning, and a failed command leaves no output file (nor a temporary of ours).
Running in-process (``run_command`` with stdout/stderr captured) keeps a few hundred examples
within seconds, where a subprocess each would cost ~0.5 s.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nnstudio.cli.commands import run_command


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"exit {self.code}\n--- stderr ---\n{self.err}\n--- stdout ---\n"
                f"{self.out[-2000:]}\n--- warnings ---\n" + "\n".join(self.warnings))


def run_cli(*argv: str | Path) -> Outcome:
    """``nnstudio ARGV`` in this process: exit status, stdout, stderr, warnings raised."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_command([str(a) for a in argv])
    return Outcome(code, out.getvalue(), err.getvalue(),
                   [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                    for w in caught])


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def check_invariant(outcome: Outcome, outputs: list[Path] = (), folder: Path | None = None,
                    before: set[str] | None = None) -> None:
    """Assert the invariant; ``outputs`` must not exist after a failure and ``folder`` must
    hold no new file (``before`` = its listing before the command)."""
    assert outcome.code in (0, 2), outcome.describe()
    assert not outcome.warnings, outcome.describe()
    assert "internal error" not in outcome.err, outcome.describe()
    assert "Traceback" not in outcome.err, outcome.describe()
    if outcome.code == 2:
        lines = [ln for ln in outcome.err.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error: ")]
        assert len(errors) == 1, outcome.describe()
        # A multi-problem message continues on indented lines; notes may precede it.
        first = lines.index(errors[0])
        assert all(ln.startswith("note: ") for ln in lines[:first]), outcome.describe()
        assert all(ln.startswith("  ") for ln in lines[first + 1:]), outcome.describe()
        for p in outputs:
            assert not Path(p).exists(), f"{p} left behind\n" + outcome.describe()
        if folder is not None and before is not None:
            new = files_in(folder) - before
            assert not new, f"left behind: {sorted(new)}\n" + outcome.describe()
