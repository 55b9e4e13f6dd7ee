"""The run store's tables, their version, and the in-place upgrades from older versions.

Version history: 1 the first store; 2 adds per-attribute test metrics (``tests.metrics_json``);
3 keeps curves as float32 chunks (``curve_chunks``, see :mod:`store_curves`) instead of a
row per point (``curves``, about 48 bytes a point), and adds run notes (``runs.note``) and
tags (``run_tags``); 4 adds what a run's pictures need (``test_pictures``, ``live_weights``,
see :mod:`store_pictures`): the retrained best's test predictions and first-layer weights,
and a training fold's latest weights.

Each upgrade runs in one transaction, so a failure leaves the store as it was. An older
tuidl refuses an upgraded file (it reads only versions up to its own), rather than
misreading it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tuidl.errors import TuidlError
from tuidl.experiment import store_curves, store_pictures

SCHEMA_VERSION = 4

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT '',
    spec_toml TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    num_trials INTEGER,
    num_folds INTEGER,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS run_tags (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trials (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    message TEXT NOT NULL DEFAULT '',
    mean REAL, std REAL, train_acc REAL, fit_seconds REAL,
    PRIMARY KEY (run_id, trial)
);
CREATE TABLE IF NOT EXISTS folds (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    status TEXT NOT NULL,
    score REAL, train_acc REAL, fit_seconds REAL,
    message TEXT NOT NULL DEFAULT '',
    finished REAL NOT NULL,
    PRIMARY KEY (run_id, trial, fold)
);
CREATE TABLE IF NOT EXISTS tests (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    best_trial INTEGER NOT NULL,
    params_json TEXT NOT NULL,
    test_accuracy REAL,
    num_test INTEGER,
    confusion_json TEXT,
    class_names_json TEXT,
    train_acc REAL,
    fit_seconds REAL,
    finished REAL NOT NULL,
    metrics_json TEXT
);
"""
    + store_curves.TABLE
    + ";"
    + store_pictures.TABLE
)


def _to_3(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT ''")
    for stmt in SCHEMA.split(";"):
        if "run_tags" in stmt or "curve_chunks" in stmt:
            conn.execute(stmt)
    store_curves.migrate_rows(conn)


# Each step upgrades a store from the version before it (key: the version it produces).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], object]] = {  # results ignored
    2: lambda conn: conn.execute("ALTER TABLE tests ADD COLUMN metrics_json TEXT"),
    3: _to_3,
    4: store_pictures.create,
}


def create(conn: sqlite3.Connection) -> None:
    """Create every table of a new store (inside the caller's transaction)."""
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Run the upgrades from ``version`` to :data:`SCHEMA_VERSION` (inside the caller's
    transaction) and record the new version."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[target](conn)
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))


# quick_check results by (file, mtime, size): the TUI reopens the store on every refresh,
# and a file that has not changed since it was checked need not be read through again.
# Stores that passed are also remembered across processes (CHECKED_FILE), so `tuidl runs`
# does not read a large store through on every call; a changed file is checked again.
_CHECKED: dict[tuple[str, int, int], str] = {}
CHECKED_FILE = "store-checks.json"  # in the user data dir
_REMEMBERED = 50  # stores remembered there


def _remembered() -> tuple[Path, dict]:
    import json

    from tuidl.data.locations import user_data_dir

    path = user_data_dir() / CHECKED_FILE
    try:
        data = json.loads(path.read_text())
        return path, data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return path, {}


def _remember(key: tuple[str, int, int]) -> None:
    """Note a store that passed (best effort: a read-only home just checks every time)."""
    import json

    path, data = _remembered()
    data.pop(key[0], None)
    data[key[0]] = [key[1], key[2]]
    data = dict(list(data.items())[-_REMEMBERED:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass


def check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """SQLite's quick check (every page and index, without cross-checking rows), so a
    damaged store is refused on open, saying what to do, instead of failing half-way
    through a listing or silently taking a run's results. Raises :class:`TuidlError`;
    a file that is not a database at all raises :class:`sqlite3.DatabaseError`.

    It reads the whole file (about 0.07 s for 50 MB), so a file unchanged (same modification
    time and size) since it last passed, in this process or another, is not read again."""
    try:
        st = os.stat(path)
        key: tuple[str, int, int] | None = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    problem = _CHECKED.get(key) if key is not None else None
    known = key is not None and st.st_size > 0
    if (
        problem is None
        and key is not None
        and known
        and _remembered()[1].get(key[0]) == [key[1], key[2]]
    ):
        problem = _CHECKED[key] = ""
    if problem is None:
        try:
            rows = conn.execute("PRAGMA quick_check(3)").fetchall()
            problem = (
                "" if rows == [("ok",)] else " ".join("; ".join(str(r[0]) for r in rows).split())
            )
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise
            problem = str(exc)
        if key is not None:
            _CHECKED[key] = problem
            if not problem and known:
                _remember(key)
    if problem:
        where = str(path)
        raise TuidlError(
            f"run store {where!r} is damaged (SQLite integrity check: {problem[:200]}). "
            f"Recover what it still holds with `sqlite3 {where} .recover | sqlite3 "
            "recovered.sqlite` and use that file with --store PATH, or move the damaged "
            "file away to start a new store there"
        )
