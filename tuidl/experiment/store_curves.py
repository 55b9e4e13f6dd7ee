"""Compact curves in the run store: each series (run × trial × fold × kind) is a few rows
of float32 chunks, appended as training goes.

A chunk row (table ``curve_chunks``) holds up to :data:`CHUNK_POINTS` points: their values
as little-endian float32 (``NaN`` for a missing value: a diverged loss), and their steps
either as an arithmetic progression (``step0 + i * dstep``: loss iterations, whole epochs),
which costs nothing per point, or, when irregular, as float64 (accuracy at fractional
epochs: a few points per fold). A loss point therefore costs 4 bytes plus its share of the
chunk's row (about 40 bytes per 1,000 points).

New points extend the series' last chunk in place while it has room, so a curve written a
few points at a time (every flush of the trainer) is still a handful of rows, and every
append is one committed transaction: a reader following a live run sees each one.

Reading returns ``(steps, values)`` lists, by default reduced to at most ``max_points`` by
bucket means (a chart needs a few hundred points, not 400,000); ``max_points=None`` returns
the full series (export). Values come back as the shortest decimal that identifies the
stored float32 (0.95 is read back as 0.95, not 0.949999988079071).

How it fails: the functions raise :class:`sqlite3.Error`; the store wraps them.
"""

from __future__ import annotations

import math
import sqlite3
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

CHUNK_POINTS = 1000  # 4,000 bytes of float32: one chunk row fits a 4 KiB page
DEFAULT_MAX_POINTS = 500  # what a curve is reduced to for drawing unless asked otherwise

TABLE = """
CREATE TABLE IF NOT EXISTS curve_chunks (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    kind TEXT NOT NULL,
    n INTEGER NOT NULL,
    step0 REAL NOT NULL,
    dstep REAL,
    steps BLOB,
    vals BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS curve_chunks_by_series
    ON curve_chunks (run_id, trial, fold, kind, id)
"""


def _f32(values: Sequence[float | None]) -> bytes:
    import numpy as np

    return np.array([math.nan if v is None else v for v in values], dtype="<f4").tobytes()


def _f64(steps: Sequence[float] | np.ndarray) -> bytes:
    import numpy as np

    return np.asarray(steps, dtype="<f8").tobytes()


def _progression(step0: float, dstep: float, start: int, count: int) -> np.ndarray:
    """Steps ``start .. start+count-1`` of ``step0 + i * dstep`` (the one formula used for
    both checking and reading, so a regular chunk reads back exactly what was written)."""
    import numpy as np

    return step0 + np.arange(start, start + count, dtype=np.float64) * dstep


def _is_progression(steps: np.ndarray, step0: float, dstep: float, start: int) -> bool:
    import numpy as np

    return bool(np.array_equal(steps, _progression(step0, dstep, start, len(steps))))


def append(
    conn: sqlite3.Connection,
    run_id: int,
    trial: int,
    fold: int,
    kind: str,
    steps: Sequence[float],
    values: Sequence[float | None],
) -> None:
    """Append points to one series inside the caller's transaction."""
    import numpy as np

    s = np.asarray(steps, dtype=np.float64)
    v = list(values)
    while len(s):
        last = conn.execute(
            "SELECT id, n, step0, dstep, steps IS NOT NULL FROM curve_chunks "
            "WHERE run_id=? AND trial=? AND fold=? AND kind=? ORDER BY id DESC LIMIT 1",
            (run_id, trial, fold, kind),
        ).fetchone()
        if last is not None and last[1] < CHUNK_POINTS:
            take = min(len(s), CHUNK_POINTS - last[1])
            _extend(conn, last, s[:take], v[:take])
        else:
            take = min(len(s), CHUNK_POINTS)
            _insert(conn, (run_id, trial, fold, kind), s[:take], v[:take])
        s, v = s[take:], v[take:]


def _insert(conn, key: tuple, steps: np.ndarray, values: list) -> None:
    step0 = float(steps[0])
    dstep: float | None = None
    blob: bytes | None = None
    if len(steps) > 1:
        dstep = float(steps[1] - steps[0])
        if not _is_progression(steps, step0, dstep, 0):
            dstep, blob = None, _f64(steps)
    conn.execute(
        "INSERT INTO curve_chunks (run_id, trial, fold, kind, n, step0, dstep, steps, vals) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*key, len(steps), step0, dstep, blob, _f32(values)),
    )


def _extend(conn, last: tuple, steps: np.ndarray, values: list) -> None:
    chunk_id, n, step0, dstep, irregular = last
    if not irregular:
        d = dstep if dstep is not None else float(steps[0] - step0)  # n == 1: any step fits
        if _is_progression(steps, step0, d, n):
            # || on blobs yields text; the cast keeps the bytes and makes it a blob again
            conn.execute(
                "UPDATE curve_chunks SET n=n+?, dstep=?, vals=CAST(vals||? AS BLOB) WHERE id=?",
                (len(steps), d, _f32(values), chunk_id),
            )
            return
        # the series stopped being regular: write out the chunk's steps so far
        old = _progression(step0, dstep if dstep is not None else 0.0, 0, n)
        conn.execute(
            "UPDATE curve_chunks SET dstep=NULL, steps=? WHERE id=?", (_f64(old), chunk_id)
        )
    conn.execute(
        "UPDATE curve_chunks SET n=n+?, steps=CAST(steps||? AS BLOB), "
        "vals=CAST(vals||? AS BLOB) WHERE id=?",
        (len(steps), _f64(steps), _f32(values), chunk_id),
    )


def read_arrays(
    conn: sqlite3.Connection, run_id: int, trial: int, fold: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{kind: (steps float64, values float32 with NaN for missing)}``, full series."""
    import numpy as np

    parts: dict[str, tuple[list, list]] = {}
    for kind, n, step0, dstep, steps, vals in conn.execute(
        "SELECT kind, n, step0, dstep, steps, vals FROM curve_chunks "
        "WHERE run_id=? AND trial=? AND fold=? ORDER BY kind, id",
        (run_id, trial, fold),
    ):
        ss, vv = parts.setdefault(kind, ([], []))
        if steps is not None:
            ss.append(np.frombuffer(steps, dtype="<f8"))
        else:
            ss.append(_progression(step0, dstep if dstep is not None else 0.0, 0, n))
        vv.append(np.frombuffer(vals, dtype="<f4"))
    return {k: (np.concatenate(s), np.concatenate(v)) for k, (s, v) in parts.items()}


def downsample(
    steps: np.ndarray, values: np.ndarray, max_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points: means of consecutive equal buckets (steps and values;
    a bucket whose values are all missing stays missing)."""
    import numpy as np

    n = len(steps)
    if max_points < 1:
        raise ValueError("max_points must be at least 1")
    if n <= max_points:
        return steps, values
    size = math.ceil(n / max_points)
    pad = (-n) % size
    s = np.concatenate([steps, np.full(pad, np.nan)]).reshape(-1, size)
    v = np.concatenate([values.astype(np.float64), np.full(pad, np.nan)]).reshape(-1, size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN bucket stays missing
        return np.nanmean(s, axis=1), np.nanmean(v, axis=1)


def to_lists(steps: np.ndarray, values: np.ndarray, exact32: bool) -> tuple[list, list]:
    """Plain lists; NaN becomes ``None``. ``exact32``: the values are stored float32s, given
    as their shortest decimal (bucket means are not, and are given as they are)."""
    import numpy as np

    out_v: list[float | None]
    if exact32:
        out_v = [None if x != x else float(str(x)) for x in values.astype(np.float32)]
    else:
        out_v = [None if x != x else x for x in values.tolist()]
    return steps.tolist(), out_v


def shape(
    arrays: dict[str, tuple[np.ndarray, np.ndarray]], max_points: int | None
) -> dict[str, tuple[list, list]]:
    """:func:`read_arrays`' series as ``{kind: (steps, values)}`` lists, each reduced to
    at most ``max_points`` (``None``: all of them)."""
    out = {}
    for kind, (s, v) in arrays.items():
        if max_points is not None and len(s) > max_points:
            out[kind] = to_lists(*downsample(s, v, max_points), exact32=False)
        else:
            out[kind] = to_lists(s, v, exact32=True)
    return out


def migrate_rows(conn: sqlite3.Connection) -> None:
    """Move the row-per-point ``curves`` table of a version-2 store into chunks, in the
    caller's transaction, keeping each series' order (its rowids), then drop it."""
    key = None
    steps: list[float] = []
    values: list[float | None] = []
    # streamed (a version-2 store may hold millions of rows); writing chunks while reading
    # another table of the same connection is safe in SQLite
    for run_id, trial, fold, kind, step, value in conn.execute(
        "SELECT run_id, trial, fold, kind, step, value FROM curves "
        "ORDER BY run_id, trial, fold, kind, rowid"
    ):
        if (run_id, trial, fold, kind) != key:
            if key is not None:
                append(conn, *key, steps, values)
            key, steps, values = (run_id, trial, fold, kind), [], []
        steps.append(step)
        values.append(value)
    if key is not None:
        append(conn, *key, steps, values)
    conn.execute("DROP TABLE curves")


def read_legacy(conn: sqlite3.Connection, run_id: int, trial: int, fold: int):
    """:func:`read_arrays` for a read-only store older than version 3 (a row per point)."""
    import numpy as np

    parts: dict[str, tuple[list, list]] = {}
    for kind, step, value in conn.execute(
        "SELECT kind, step, value FROM curves WHERE run_id=? AND trial=? AND fold=? "
        "ORDER BY kind, rowid",
        (run_id, trial, fold),
    ):
        steps, values = parts.setdefault(kind, ([], []))
        steps.append(step)
        values.append(math.nan if value is None else value)
    return {
        k: (np.array(s, dtype=np.float64), np.array(v, dtype=np.float32))
        for k, (s, v) in parts.items()
    }
