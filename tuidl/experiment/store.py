"""The run store: one SQLite file (stdlib ``sqlite3``, WAL mode) holding every run.

Tables: ``runs`` (full spec as TOML and JSON, seed, status, timestamps, message),
``trials`` (grid params, mean, std, train accuracy, fit seconds, status), ``folds`` (one
score per finished trial × fold), ``curves`` (loss per iteration, train/val accuracy per
epoch, per trial × fold; fold -1 is the final retrain) and ``tests`` (the retrained best:
test accuracy, confusion matrix, class names).

Writers commit every finished fold at once, so a killed run loses at most the folds in
flight; WAL lets readers (the TUI, ``tuidl show`` in another terminal) see progress live.
Several processes may write (runner workers append curves); a busy timeout serializes them.

The TUI starts a run by calling :meth:`Store.create_run` (status ``"queued"``) and then
``tuidl run --resume ID --store PATH`` as a subprocess, following the store while it runs.

Run statuses: ``queued``, ``running``, ``finished``, ``interrupted``, ``failed``.
Trial and fold statuses: ``pending``, ``ok``, ``diverged``, ``failed``.

How it fails: a path that cannot be created or written, or a file that is not a tuidl
store, raises :class:`tuidl.TuidlError` naming the file and what to do; an unknown run id
raises naming the id.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tuidl.data.locations import user_data_dir
from tuidl.errors import StorageError, TuidlError, is_storage_failure

SCHEMA_VERSION = 2
RUN_STATUSES = ("queued", "running", "finished", "interrupted", "failed")
FINAL_FOLD = -1  # curves of the retrain on all training rows

_SCHEMA = """
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
    finished REAL
);
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
CREATE TABLE IF NOT EXISTS curves (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    kind TEXT NOT NULL,
    step REAL NOT NULL,
    value REAL
);
CREATE INDEX IF NOT EXISTS curves_by_trial ON curves (run_id, trial, fold, kind);
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

# Each step upgrades a store from the version before it (key: the version it produces).
# Steps only add columns, so every stored run stays readable and nothing is rewritten (an
# older tuidl then refuses the upgraded file: see _ensure_schema).
_MIGRATIONS = {
    2: ("ALTER TABLE tests ADD COLUMN metrics_json TEXT",),
}


def default_store_path() -> Path:
    """``$XDG_DATA_HOME/tuidl/runs.sqlite``, or ``~/.local/share/tuidl/runs.sqlite``."""
    return user_data_dir() / "runs.sqlite"


def _num(v: float | None) -> float | None:
    """SQLite stores NaN as NULL; keep inf/nan out explicitly so JSON stays valid."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class Store:
    """A connection to one store file (created on first use).

    Open one per process; close it (or use it as a context manager) when done.
    """

    def __init__(self, path: str | os.PathLike | None = None, *, timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TuidlError(
                f"cannot create the folder of the run store {str(self.path)!r}: "
                f"{exc.strerror}; choose another file with --store PATH"
            ) from None
        if self.path.is_dir():
            raise TuidlError(
                f"run store {str(self.path)!r} is a folder; give a file path with --store PATH"
            )
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL survives a killed process (only power loss can drop a commit)
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self._ensure_schema()
        except sqlite3.Error as exc:
            self.conn.close()
            raise self._error(exc) from None

    # -- plumbing ----------------------------------------------------------------------------

    def _error(self, exc: sqlite3.Error) -> TuidlError:
        text = str(exc)
        where = repr(str(self.path))
        if is_storage_failure(exc):  # a full disk is not the run's fault: see StorageError
            return StorageError(
                f"cannot write the run store {where} ({text}); free space on its disk, then "
                "resume the run"
            )
        if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text
        ):
            return TuidlError(
                f"run store {where} is corrupt or not a tuidl store ({text}); move it away "
                "to start a new store there, or choose another file with --store PATH"
            )
        if "readonly" in text or "unable to open" in text or "read-only" in text:
            return TuidlError(
                f"cannot write the run store {where} ({text}); check its permissions or "
                "choose another file with --store PATH"
            )
        return TuidlError(f"run store {where}: {text}")

    def _ensure_schema(self) -> None:
        tables = {
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if tables and "meta" not in tables:
            raise TuidlError(
                f"run store {str(self.path)!r} is an SQLite file but not a tuidl store "
                f"(tables: {', '.join(sorted(tables))}); choose another file with --store PATH"
            )
        if "meta" in tables:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None or int(row[0]) > SCHEMA_VERSION:
                raise TuidlError(
                    f"run store {str(self.path)!r} has schema version "
                    f"{row[0] if row else '?'}; this tuidl reads version {SCHEMA_VERSION}. "
                    "Upgrade tuidl or choose another file with --store PATH"
                )
            if int(row[0]) < SCHEMA_VERSION:
                try:
                    self._migrate(int(row[0]))
                except sqlite3.OperationalError as exc:
                    if "readonly" not in str(exc) and "read-only" not in str(exc):
                        raise
                    # a store we may only read (a shared, read-only copy): read it as it
                    # is; its runs have nothing for the newer columns anyway
            return
        with self._tx():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self.conn.execute(stmt)
            self.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    def _migrate(self, version: int) -> None:
        """Upgrade a store written by an older tuidl to :data:`SCHEMA_VERSION`, in one
        transaction (a failure leaves it as it was)."""
        with self._tx():
            # re-read under the write lock: another process may have migrated meanwhile
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            for target in range(int(row[0]) + 1, SCHEMA_VERSION + 1):
                for stmt in _MIGRATIONS.get(target, ()):
                    self.conn.execute(stmt)
            self.conn.execute(
                "UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),)
            )

    class _Tx:
        def __init__(self, store: Store) -> None:
            self.store = store

        def __enter__(self):
            self.store.conn.execute("BEGIN IMMEDIATE")
            return self.store.conn

        def __exit__(self, exc_type, exc, tb):
            conn = self.store.conn
            if exc_type is None:
                try:
                    conn.execute("COMMIT")
                    return False
                except sqlite3.Error:
                    if conn.in_transaction:  # a failed COMMIT (disk full) leaves it open
                        conn.execute("ROLLBACK")
                    raise
            if conn.in_transaction:
                # SQLite rolls back by itself on some errors (a full disk): a second
                # ROLLBACK would raise and hide the error that happened
                conn.execute("ROLLBACK")
            return False

    def _tx(self) -> Store._Tx:
        return Store._Tx(self)

    def _write(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------

    def create_run(self, spec: Any, *, seed: int | None = None, status: str = "queued") -> int:
        """Store a new run and return its id.

        ``spec`` is a :class:`tuidl.experiment.spec.Spec` (validate it first). ``seed``
        overrides ``spec.seed``. A ``"queued"`` run has no trials yet; ``tuidl run --resume
        ID`` (or :func:`tuidl.experiment.runner.resume`) runs all of it.
        """
        if status not in RUN_STATUSES:
            raise TuidlError(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
        if seed is not None:
            spec = spec.copy()
            spec.seed = int(seed)
        try:
            with self._tx() as c:
                cur = c.execute(
                    "INSERT INTO runs (name, spec_toml, spec_json, seed, status, created) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (spec.name, spec.to_toml(), spec.to_json(), spec.seed, status, time.time()),
                )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return int(cur.lastrowid)

    def start_run(self, run_id: int, trials: Iterable[tuple[int, dict[str, Any]]], num_folds: int):
        """Mark the run running and create its trial rows (kept if they already exist)."""
        trials = list(trials)
        try:
            with self._tx() as c:
                c.executemany(
                    "INSERT OR IGNORE INTO trials (run_id, trial, params_json) VALUES (?, ?, ?)",
                    [(run_id, i, json.dumps(p)) for i, p in trials],
                )
                c.execute(
                    "UPDATE runs SET status='running', message='', num_trials=?, num_folds=?, "
                    "started=COALESCE(started, ?), finished=NULL WHERE id=?",
                    (len(trials), num_folds, time.time(), run_id),
                )
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def set_status(self, run_id: int, status: str, message: str = "") -> None:
        if status not in RUN_STATUSES:
            raise TuidlError(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
        finished = time.time() if status in ("finished", "interrupted", "failed") else None
        self._write(
            "UPDATE runs SET status=?, message=?, finished=? WHERE id=?",
            (status, message, finished, run_id),
        )

    def record_fold(
        self,
        run_id: int,
        trial: int,
        fold: int,
        *,
        status: str,
        score: float | None,
        train_acc: float | None = None,
        fit_seconds: float | None = None,
        message: str = "",
    ) -> None:
        """Commit one finished fold (its own transaction, so it survives a later kill)."""
        self._write(
            "INSERT OR REPLACE INTO folds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                trial,
                fold,
                status,
                _num(score),
                _num(train_acc),
                _num(fit_seconds),
                message,
                time.time(),
            ),
        )

    def finish_trial(
        self,
        run_id: int,
        trial: int,
        *,
        status: str,
        mean: float | None,
        std: float | None,
        train_acc: float | None,
        fit_seconds: float | None,
        message: str = "",
    ) -> None:
        self._write(
            "UPDATE trials SET status=?, message=?, mean=?, std=?, train_acc=?, fit_seconds=? "
            "WHERE run_id=? AND trial=?",
            (
                status,
                message,
                _num(mean),
                _num(std),
                _num(train_acc),
                _num(fit_seconds),
                run_id,
                trial,
            ),
        )

    def add_curve(
        self,
        run_id: int,
        trial: int,
        fold: int,
        kind: str,
        steps: Sequence[float],
        values: Sequence[float | None],
    ) -> None:
        """Append points to a curve (``kind``: ``loss``, ``train_acc``, ``val_acc``)."""
        if not steps:
            return
        rows = [
            (run_id, trial, fold, kind, float(s), _num(v))
            for s, v in zip(steps, values, strict=True)
        ]
        try:
            with self._tx() as c:
                c.executemany("INSERT INTO curves VALUES (?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def add_points(
        self, run_id: int, trial: int, fold: int, points: Sequence[tuple[str, float, float | None]]
    ) -> None:
        """Append ``(kind, step, value)`` points of several curves in one transaction."""
        if not points:
            return
        rows = [(run_id, trial, fold, k, float(s), _num(v)) for k, s, v in points]
        try:
            with self._tx() as c:
                c.executemany("INSERT INTO curves VALUES (?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def clear_curves(self, run_id: int, trial: int, fold: int) -> None:
        """Drop a fold's curves (a fold rerun after a kill starts its curves afresh)."""
        self._write(
            "DELETE FROM curves WHERE run_id=? AND trial=? AND fold=?", (run_id, trial, fold)
        )

    def reset_unfinished(self, run_id: int) -> None:
        """Forget partial curves of folds that never finished (before a resume)."""
        self._write(
            "DELETE FROM curves WHERE run_id=? AND fold>=0 AND NOT EXISTS (SELECT 1 FROM folds f "
            "WHERE f.run_id=curves.run_id AND f.trial=curves.trial AND f.fold=curves.fold)",
            (run_id,),
        )
        self._write("DELETE FROM curves WHERE run_id=? AND fold=?", (run_id, FINAL_FOLD))
        self._write("DELETE FROM tests WHERE run_id=?", (run_id,))

    def record_test(
        self,
        run_id: int,
        *,
        best_trial: int,
        params: dict[str, Any],
        test_accuracy: float | None,
        num_test: int,
        confusion: list[list[int]] | None,
        class_names: list[str],
        train_acc: float | None = None,
        fit_seconds: float | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> None:
        """Store the retrained best's test result. ``metrics``: per-attribute test metrics
        of a multi-label run (``{"attributes": {name: {...}}, "mean": {...}}``), else None."""
        self._write(
            "INSERT OR REPLACE INTO tests (run_id, best_trial, params_json, test_accuracy, "
            "num_test, confusion_json, class_names_json, train_acc, fit_seconds, finished, "
            "metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                best_trial,
                json.dumps(params),
                _num(test_accuracy),
                num_test,
                json.dumps(confusion),
                json.dumps(list(class_names)),
                _num(train_acc),
                _num(fit_seconds),
                time.time(),
                json.dumps(metrics) if metrics is not None else None,
            ),
        )

    def delete_run(self, run_id: int) -> None:
        self._require(run_id)
        try:
            with self._tx() as c:
                for table in ("curves", "folds", "trials", "tests"):
                    c.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))
                c.execute("DELETE FROM runs WHERE id=?", (run_id,))
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # -- reading -----------------------------------------------------------------------------

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            cur = self.conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def _require(self, run_id: int) -> dict[str, Any]:
        rows = self._query("SELECT * FROM runs WHERE id=?", (run_id,))
        if not rows:
            known = self._query("SELECT id FROM runs ORDER BY id DESC LIMIT 5")
            hint = (
                "recent runs: " + ", ".join(str(r["id"]) for r in known)
                if known
                else "the store is empty"
            )
            raise TuidlError(f"no run {run_id} in the store {str(self.path)!r}; {hint}")
        return rows[0]

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, newest first: id, name, status, seed, timestamps, model and dataset
        names, trial/fold counts, folds done, best mean and test accuracy."""
        rows = self._query(
            "SELECT r.id, r.name, r.status, r.seed, r.message, r.created, r.started, r.finished, "
            "r.num_trials, r.num_folds, r.spec_json, "
            "(SELECT COUNT(*) FROM folds f WHERE f.run_id=r.id) AS folds_done, "
            "(SELECT MAX(mean) FROM trials t WHERE t.run_id=r.id AND t.status='ok') AS best_mean, "
            "(SELECT test_accuracy FROM tests s WHERE s.run_id=r.id) AS test_accuracy "
            "FROM runs r ORDER BY r.id DESC"
        )
        for r in rows:
            spec = json.loads(r.pop("spec_json"))
            r["dataset"] = spec.get("dataset", {}).get("name", "")
            r["model"] = spec.get("model", {}).get("name", "")
            r["grid"] = list(spec.get("cv", {}).get("grid", {}))
        return rows

    def get_run(self, run_id: int) -> dict[str, Any]:
        """One run with everything the views draw.

        Keys: id, name, status, message, seed, created/started/finished, spec (dict),
        spec_toml, num_trials, num_folds, ``trials`` (each: index, params, status, message,
        mean, std, train_acc, fit_seconds, ``fold_scores`` (list by fold, ``None`` where not
        finished), ``folds`` (dicts)), ``best`` (the best ok trial: trial, params, mean, std;
        ``None`` while none is ok) and ``test`` (best_trial, params, test_accuracy,
        num_test, confusion, class_names, ``metrics`` (per-attribute, multi-label runs
        only); ``None`` until the retrain is scored).
        """
        run = self._require(run_id)
        run["spec"] = json.loads(run.pop("spec_json"))
        num_folds = run["num_folds"] or 0
        folds = self._query(
            "SELECT trial, fold, status, score, train_acc, fit_seconds, message FROM folds "
            "WHERE run_id=? ORDER BY trial, fold",
            (run_id,),
        )
        by_trial: dict[int, list[dict[str, Any]]] = {}
        for f in folds:
            by_trial.setdefault(f["trial"], []).append(f)
        trials = []
        for t in self._query("SELECT * FROM trials WHERE run_id=? ORDER BY trial", (run_id,)):
            its = by_trial.get(t["trial"], [])
            scores: list[float | None] = [None] * num_folds
            for f in its:
                if 0 <= f["fold"] < num_folds:
                    scores[f["fold"]] = f["score"]
            trials.append(
                {
                    "index": t["trial"],
                    "params": json.loads(t["params_json"]),
                    "status": t["status"],
                    "message": t["message"],
                    "mean": t["mean"],
                    "std": t["std"],
                    "train_acc": t["train_acc"],
                    "fit_seconds": t["fit_seconds"],
                    "fold_scores": scores,
                    "folds": its,
                }
            )
        run["trials"] = trials
        run["best"] = best_trial(trials)
        tests = self._query("SELECT * FROM tests WHERE run_id=?", (run_id,))
        if tests:
            t = tests[0]
            run["test"] = {
                "best_trial": t["best_trial"],
                "params": json.loads(t["params_json"]),
                "test_accuracy": t["test_accuracy"],
                "num_test": t["num_test"],
                "confusion": json.loads(t["confusion_json"]) if t["confusion_json"] else None,
                "class_names": json.loads(t["class_names_json"] or "[]"),
                "train_acc": t["train_acc"],
                "fit_seconds": t["fit_seconds"],
                "metrics": json.loads(t["metrics_json"]) if t.get("metrics_json") else None,
            }
        else:
            run["test"] = None
        return run

    def done_folds(self, run_id: int) -> dict[tuple[int, int], dict[str, Any]]:
        """Finished (trial, fold) pairs of a run with their stored results."""
        rows = self._query(
            "SELECT trial, fold, status, score, train_acc, fit_seconds, message FROM folds "
            "WHERE run_id=?",
            (run_id,),
        )
        return {(r["trial"], r["fold"]): r for r in rows}

    def curves(self, run_id: int, trial: int, fold: int) -> dict[str, tuple[list, list]]:
        """``{kind: (steps, values)}`` for one trial × fold (``fold=-1``: the final retrain).
        Loss steps are iterations; accuracy steps are epochs."""
        out: dict[str, tuple[list, list]] = {}
        for kind, step, value in self.conn.execute(
            "SELECT kind, step, value FROM curves WHERE run_id=? AND trial=? AND fold=? "
            "ORDER BY kind, rowid",
            (run_id, trial, fold),
        ):
            steps, values = out.setdefault(kind, ([], []))
            steps.append(step)
            values.append(value)
        return out

    def run_spec_toml(self, run_id: int) -> str:
        return self._require(run_id)["spec_toml"]


def best_trial(trials: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The trial with the highest mean; ties go to the lower std, then the earlier trial.
    Only trials with status ``ok`` and a mean compete."""
    ok = [t for t in trials if t["status"] == "ok" and t["mean"] is not None]
    if not ok:
        return None
    best = min(ok, key=lambda t: (-t["mean"], t["std"] or 0.0, t["index"]))
    return {
        "trial": best["index"],
        "params": best["params"],
        "mean": best["mean"],
        "std": best["std"],
    }
