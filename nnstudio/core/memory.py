"""Memory needed against memory available: refuse a too-large array with its name and size.

Readers call :func:`check_fits` with the byte count a file *declares* (an IDX header, an NPZ
entry's shape) before allocating, so a 2 MB file claiming 600 million floats is refused at
once with a sentence instead of a ``MemoryError`` (or minutes of swapping) later.
"""

from __future__ import annotations

import os

from nnstudio.core.errors import DataError, NNStudioError


def available_bytes() -> int | None:
    """Memory the system can give this process now (``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: int | float) -> str:
    """``2_400_000_000`` → ``"2.4 GB"`` (decimal units, as file managers show sizes)."""
    n = float(n)
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{int(n):,} bytes" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


def check_fits(nbytes: int, what: str, where: str | None = None,
               error: type[NNStudioError] = DataError) -> None:
    """Raise ``error`` naming ``what`` and both sizes when ``nbytes`` exceed what is free."""
    free = available_bytes()
    if free is not None and nbytes > free:
        raise error(f"{what} needs {format_bytes(nbytes)} of memory but only "
                    f"{format_bytes(free)} is available", where)


def memory_error_message(e: MemoryError) -> str:
    """A sentence for a ``MemoryError`` that escaped the checks, with the array when NumPy
    says which (its message names the size, shape and dtype)."""
    text = str(e).strip()
    if text.startswith("Unable to allocate"):
        return f"not enough memory: {text[0].lower()}{text[1:]}"
    return "not enough memory for this data or network"
