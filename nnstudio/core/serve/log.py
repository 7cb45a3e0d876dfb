"""The prediction log: an SQLite database (WAL mode) the user can query with any SQLite tool.

Tables (the format is described in ``docs/files-and-cli.md``)::

    meta(key TEXT PRIMARY KEY, value TEXT)        format, version, created
    predictions(id INTEGER PRIMARY KEY, time REAL, request_id TEXT, row INTEGER,
                model TEXT, inputs TEXT, output TEXT, prediction, latency_ms REAL,
                UNIQUE(request_id, row))
    outcomes(request_id TEXT, row INTEGER, outcome, time REAL, source TEXT,
             PRIMARY KEY(request_id, row))
    rejected(id INTEGER PRIMARY KEY, time REAL, request_id TEXT, status INTEGER,
             kind TEXT, column_name TEXT, value TEXT, message TEXT)

One ``predictions`` row per predicted row (a batch of 5 rows under one request id gives rows
0–4). ``inputs`` and ``output`` are JSON text (the row as sent, the answer as given);
``prediction`` repeats the class name (text) or the first target's value (real) for quick SQL.
``time`` is Unix seconds (UTC). ``rejected`` keeps one row per refused ``/predict``
request (status, one-line message and, for a row problem, its kind, column and value), so
monitoring can count the unseen categories the server refused.

Every request is committed before it is answered, so a crashed or killed server leaves every
answered prediction in the file (WAL keeps the file consistent; ``synchronous=NORMAL`` can
lose only the last commits on a power cut, not on a process crash).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnstudio.core.errors import DataError

LOG_FORMAT = "nnstudio.predictions"
LOG_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS predictions(
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL,
    model TEXT NOT NULL,
    inputs TEXT NOT NULL,
    output TEXT NOT NULL,
    prediction,
    latency_ms REAL NOT NULL,
    UNIQUE(request_id, row)
);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions(time);
CREATE TABLE IF NOT EXISTS outcomes(
    request_id TEXT NOT NULL,
    row INTEGER NOT NULL DEFAULT 0,
    outcome NOT NULL,
    time REAL NOT NULL,
    source TEXT,
    PRIMARY KEY(request_id, row)
);
CREATE TABLE IF NOT EXISTS rejected(
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    request_id TEXT,
    status INTEGER NOT NULL,
    kind TEXT,
    column_name TEXT,
    value TEXT,
    message TEXT NOT NULL
);
"""


def connect(path: str | Path, create: bool = False, readonly: bool = False) -> sqlite3.Connection:
    """An SQLite connection to a prediction log, its format checked.

    ``create`` makes a new log (WAL mode) when the file does not exist. A file that is not an
    nnstudio prediction log, is damaged or is from a newer version raises :class:`DataError`.
    """
    p = Path(path)
    where = str(p)
    if p.is_dir():
        raise DataError("is a folder, not a prediction log", where)
    if not create and not p.exists():
        raise DataError("no such prediction log", where)
    if create and not p.parent.is_dir():
        raise DataError(f"the folder {p.parent} does not exist", where)
    try:
        if readonly:
            con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True,
                                  check_same_thread=False)
        else:
            con = sqlite3.connect(p, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA busy_timeout=5000")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as e:
        raise DataError(f"is not a readable SQLite database ({e})", where) from None
    try:
        if not tables and create and not readonly:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.executescript(_SCHEMA)
            con.executemany("INSERT INTO meta VALUES (?, ?)", [
                ("format", LOG_FORMAT), ("version", str(LOG_VERSION)),
                ("created", str(time.time()))])
            return con
        if "meta" not in tables or "predictions" not in tables:
            raise DataError("is an SQLite database but not an nnstudio prediction log", where)
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != LOG_FORMAT:
            raise DataError("is an SQLite database but not an nnstudio prediction log", where)
        if int(meta.get("version", "0")) > LOG_VERSION:
            raise DataError(f"was written by a newer nnstudio (log version {meta['version']}; "
                            f"this version reads up to {LOG_VERSION})", where)
        if not readonly:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.executescript(_SCHEMA)  # tables a log of an older build may lack
        return con
    except sqlite3.Error as e:
        con.close()
        raise DataError(f"is damaged or not a prediction log ({e})", where) from None
    except DataError:
        con.close()
        raise


class PredictionLog:
    """Appends served predictions and records outcomes (one writer: the server's loop).

    Parameters
    ----------
    path : str or Path
        The log file; created (with its tables) if it does not exist.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.con = connect(self.path, create=True)

    def close(self) -> None:
        self.con.close()

    def append(self, request_id: str, model: str, inputs: Sequence[dict],
               outputs: Sequence[dict], headlines: Sequence[Any], latency_ms: float,
               when: float | None = None) -> None:
        """Log one request's rows in one transaction (committed when this returns).

        Raises ``sqlite3.IntegrityError`` when ``request_id`` was used before.
        """
        t = time.time() if when is None else when
        rows = [(t, request_id, i, model, json.dumps(inp, ensure_ascii=False, allow_nan=False),
                 json.dumps(out, ensure_ascii=False, allow_nan=False), head, latency_ms)
                for i, (inp, out, head) in enumerate(zip(inputs, outputs, headlines,
                                                         strict=True))]
        con = self.con
        con.execute("BEGIN")
        try:
            con.executemany(
                "INSERT INTO predictions(time, request_id, row, model, inputs, output, "
                "prediction, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def reject(self, request_id: str | None, error: Any) -> None:
        """Log a refused request (a :class:`~.validate.RequestError`), committed at once."""
        self.con.execute(
            "INSERT INTO rejected(time, request_id, status, kind, column_name, value, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), request_id, int(error.status), getattr(error, "kind", None),
             getattr(error, "column", None), getattr(error, "value", None),
             str(error.message)[:500]))

    def rows_of(self, request_id: str) -> int:
        """How many rows the request logged (0: unknown id)."""
        return int(self.con.execute("SELECT COUNT(*) FROM predictions WHERE request_id = ?",
                                    (request_id,)).fetchone()[0])

    def add_outcomes(self, items: Sequence[tuple[str, int, Any]], source: str = "feedback",
                     ) -> tuple[int, list[tuple[str, int]]]:
        """Record true outcomes ``(request_id, row, outcome)``; the latest one wins.

        Returns ``(recorded, unknown)`` where ``unknown`` lists the (id, row) pairs no logged
        prediction has (they are not recorded).
        """
        con = self.con
        t = time.time()
        known, unknown = [], []
        for rid, row, outcome in items:
            hit = con.execute("SELECT 1 FROM predictions WHERE request_id = ? AND row = ?",
                              (rid, int(row))).fetchone()
            (known if hit else unknown).append((rid, int(row), outcome, t, source))
        con.execute("BEGIN")
        try:
            con.executemany("INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?)", known)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        return len(known), [(u[0], u[1]) for u in unknown]

    def counts(self) -> dict[str, int]:
        """``{"predictions": n, "requests": n, "outcomes": n}``."""
        c = self.con
        return {
            "predictions": int(c.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]),
            "requests": int(c.execute(
                "SELECT COUNT(*) FROM predictions WHERE row = 0").fetchone()[0]),
            "outcomes": int(c.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]),
        }


def read_outcomes_csv(path: str | Path, id_column: str = "request_id",
                      outcome_column: str = "outcome") -> list[tuple[str, int, str]]:
    """``(request_id, row, outcome)`` from a CSV with an id and an outcome column (and an
    optional ``row`` column for batches, default 0). :class:`DataError` names the problem."""
    p = Path(path)
    if not p.is_file():
        raise DataError("no such file" if not p.exists() else "is not a file", str(p))
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            for col in (id_column, outcome_column):
                if col not in header:
                    raise DataError(f"no column named {col!r} (columns: {', '.join(header)})",
                                    str(p))
            out = []
            for i, rec in enumerate(reader):
                rid = (rec.get(id_column) or "").strip()
                val = (rec.get(outcome_column) or "").strip()
                if not rid or not val:
                    continue
                try:
                    row = int(rec.get("row") or 0)
                except ValueError:
                    raise DataError(f"row {i + 2}: 'row' is not a whole number", str(p)) from None
                out.append((rid, row, val))
            return out
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", str(p)) from None
    except csv.Error as e:
        raise DataError(f"is not a readable CSV file ({e})", str(p)) from None
