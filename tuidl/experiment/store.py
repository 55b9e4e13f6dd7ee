"""The run store: one SQLite file (stdlib ``sqlite3``, WAL mode) holding every run.

Tables (see :mod:`tuidl.experiment.store_schema`): ``runs`` (full spec as TOML and JSON,
seed, status, timestamps, message, name, note), ``run_tags``, ``trials`` (grid params, mean,
std, train accuracy, fit seconds, status), ``folds`` (one score per finished trial × fold),
``curve_chunks`` (loss per iteration, train/val accuracy and learning rate per epoch, per
trial × fold, as float32 chunks: about 4 bytes a point, see
:mod:`tuidl.experiment.store_curves`; fold -1 is the final retrain) and ``tests`` (the
retrained best: test accuracy, confusion matrix, class names).

Writers commit every finished fold at once, so a killed run loses at most the folds in
flight; WAL lets readers (the TUI, ``tuidl show`` in another terminal) see progress live.
Several processes may write (runner workers append curves); a busy timeout serializes them.

The TUI starts a run by calling :meth:`Store.create_run` (status ``"queued"``) and then
``tuidl run --resume ID --store PATH`` as a subprocess, following the store while it runs.

Run statuses: ``queued``, ``running``, ``finished``, ``interrupted``, ``failed``.
Trial and fold statuses: ``pending``, ``ok``, ``diverged``, ``failed``; a trial may also be
``pruned`` (stopped early by the fold rule or its searcher: the reason is its message).

How it fails: a path that cannot be created or written, a file that is not a tuidl store,
or one that fails SQLite's integrity check on open raises :class:`tuidl.TuidlError` naming
the file and what to do; an unknown run id raises naming the id. ``Store(path,
create=False)`` (the readers: ``tuidl runs``, ``show``, ``export``) raises instead of
creating a missing store. A store on a read-only filesystem is opened read-only.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tuidl.data.locations import user_data_dir
from tuidl.errors import StorageError, TuidlError, is_storage_failure
from tuidl.experiment import store_curves, store_schema
from tuidl.experiment.store_manage import RunManagement
from tuidl.experiment.store_schema import SCHEMA_VERSION

__all__ = ["FINAL_FOLD", "RUN_STATUSES", "SCHEMA_VERSION", "Store", "best_trial"]

RUN_STATUSES = ("queued", "running", "finished", "interrupted", "failed")
FINAL_FOLD = -1  # curves of the retrain on all training rows


def default_store_path() -> Path:
    """``$XDG_DATA_HOME/tuidl/runs.sqlite``, or ``~/.local/share/tuidl/runs.sqlite``."""
    return user_data_dir() / "runs.sqlite"


def _num(v: float | None) -> float | None:
    """SQLite stores NaN as NULL; keep inf/nan out explicitly so JSON stays valid."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class Store(RunManagement):
    """A connection to one store file (created on first use unless ``create=False``).

    Open one per process; close it (or use it as a context manager) when done.
    ``read_only`` is True when the file could only be opened for reading (a read-only
    filesystem or file); writing then raises naming the file.
    """

    def __init__(
        self, path: str | os.PathLike | None = None, *, timeout: float = 30.0, create: bool = True
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.read_only = False
        self.version = SCHEMA_VERSION
        exists = self.path.exists()
        if not exists and not create:
            raise TuidlError(
                f"no run store at {str(self.path)!r} (nothing was ever run with it); check "
                "the path given with --store PATH"
            )
        if not exists:
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
            self._open(timeout, immutable=False)
        except sqlite3.Error as exc:
            if not (exists and "unable to open" in str(exc)):
                raise self._error(exc) from None
            # a read-only filesystem: WAL needs a -shm file beside the store that cannot
            # be created there; nobody can write the file, so read it as it is
            try:
                self._open(timeout, immutable=True)
            except sqlite3.Error as exc2:
                raise self._error(exc2) from None

    # -- plumbing ----------------------------------------------------------------------------

    def _open(self, timeout: float, *, immutable: bool) -> None:
        conn: sqlite3.Connection | None = None  # closed again if opening fails
        try:
            if immutable:
                uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?immutable=1"
                conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
                self.read_only = True
            else:
                conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None)
            self.conn = conn
            self.conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if not immutable and self.path.stat().st_size == 0:
                # a new store gives deleted runs' pages back to the filesystem (see
                # delete_runs); this must be said before WAL mode writes the first page
                self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            if not immutable:
                try:
                    self.conn.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError as exc:
                    if not _is_read_only(exc):
                        raise
                    self.read_only = True  # a read-only file not in WAL mode: read as is
            # NORMAL in WAL survives a killed process (only power loss can drop a commit)
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            store_schema.check_integrity(self.conn, self.path)
            self._ensure_schema()
        except BaseException:
            if conn is not None:
                conn.close()
            raise

    def _error(self, exc: sqlite3.Error) -> TuidlError:
        text = str(exc)
        where = repr(str(self.path))
        if is_storage_failure(exc):  # a full disk is not the run's fault: see StorageError
            return StorageError(
                f"cannot write the run store {where} ({text}); free space on its disk"
            )
        if isinstance(exc, sqlite3.DatabaseError) and (
            "not a database" in text or "malformed" in text or "corrupt" in text
        ):
            return TuidlError(
                f"run store {where} is corrupt or not a tuidl store ({text}); move it away "
                "to start a new store there, or choose another file with --store PATH"
            )
        if _is_read_only(exc) or "unable to open" in text:
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
                    if not _is_read_only(exc):
                        raise
                    # a store we may only read (a shared, read-only copy): read it as it
                    # is; its runs have nothing for the newer columns anyway
                    self.version, self.read_only = int(row[0]), True
                    self.conn.execute(
                        "CREATE TEMP TABLE IF NOT EXISTS run_tags (run_id INTEGER, tag TEXT)"
                    )
            return
        with self._tx():
            store_schema.create(self.conn)

    def _migrate(self, version: int) -> None:
        """Upgrade a store written by an older tuidl to :data:`SCHEMA_VERSION`, in one
        transaction (a failure leaves it as it was)."""
        with self._tx():
            # re-read under the write lock: another process may have migrated meanwhile
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            store_schema.upgrade(self.conn, int(row[0]))

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
        """Append points to a curve (``kind``: ``loss``, ``train_acc``, ``val_acc``, ``lr``,
        or any other series training records), in one transaction."""
        points = [(kind, s, v) for s, v in zip(steps, values, strict=True)]
        self.add_points(run_id, trial, fold, points)

    def add_points(
        self, run_id: int, trial: int, fold: int, points: Sequence[tuple[str, float, float | None]]
    ) -> None:
        """Append ``(kind, step, value)`` points of several curves in one transaction."""
        if not points:
            return
        series: dict[str, tuple[list, list]] = {}
        for kind, step, value in points:
            steps, values = series.setdefault(kind, ([], []))
            steps.append(float(step))
            values.append(_num(value))
        try:
            with self._tx() as c:
                for kind, (steps, values) in series.items():
                    store_curves.append(c, run_id, trial, fold, kind, steps, values)
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def clear_curves(self, run_id: int, trial: int, fold: int) -> None:
        """Drop a fold's curves (a fold rerun after a kill starts its curves afresh)."""
        self._write(
            "DELETE FROM curve_chunks WHERE run_id=? AND trial=? AND fold=?", (run_id, trial, fold)
        )

    def reset_unfinished(self, run_id: int) -> None:
        """Forget partial curves of folds that never finished (before a resume)."""
        self._write(
            "DELETE FROM curve_chunks WHERE run_id=? AND fold>=0 AND NOT EXISTS (SELECT 1 "
            "FROM folds f WHERE f.run_id=curve_chunks.run_id AND f.trial=curve_chunks.trial "
            "AND f.fold=curve_chunks.fold)",
            (run_id,),
        )
        self._write("DELETE FROM curve_chunks WHERE run_id=? AND fold=?", (run_id, FINAL_FOLD))
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

    # -- reading -----------------------------------------------------------------------------

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            cur = self.conn.execute(sql, args)
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _require(self, run_id: int) -> dict[str, Any]:
        in_range = -(2**63) <= int(run_id) < 2**63  # SQLite's integers; beyond: no such run
        rows = self._query("SELECT * FROM runs WHERE id=?", (run_id,)) if in_range else []
        if not rows:
            known = self._query("SELECT id FROM runs ORDER BY id DESC LIMIT 5")
            hint = (
                "recent runs: " + ", ".join(str(r["id"]) for r in known)
                if known
                else "the store is empty"
            )
            raise TuidlError(f"no run {run_id} in the store {str(self.path)!r}; {hint}")
        row = rows[0]
        row.setdefault("note", "")  # a read-only store of an older version has no notes
        return row

    def get_run(self, run_id: int) -> dict[str, Any]:
        """One run with everything the views draw.

        Keys: id, name, note, tags, status, message, seed, created/started/finished, spec (dict),
        spec_toml, num_trials, num_folds, ``trials`` (each: index, params, status, message,
        mean, std, train_acc, fit_seconds, ``fold_scores`` (list by fold, ``None`` where not
        finished), ``folds`` (dicts)), ``best`` (the best ok trial: trial, params, mean, std;
        ``None`` while none is ok) and ``test`` (best_trial, params, test_accuracy,
        num_test, confusion, class_names, ``metrics`` (per-attribute, multi-label runs
        only); ``None`` until the retrain is scored).
        """
        run = self._require(run_id)
        run["spec"] = json.loads(run.pop("spec_json"))
        run["tags"] = self.tags(run_id)
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

    def curves(
        self,
        run_id: int,
        trial: int,
        fold: int,
        max_points: int | None = store_curves.DEFAULT_MAX_POINTS,
    ) -> dict[str, tuple[list, list]]:
        """``{kind: (steps, values)}`` for one trial × fold (``fold=-1``: the final retrain).
        Loss steps are iterations; accuracy steps are epochs; a missing value is ``None``.

        Each series is reduced to at most ``max_points`` points by bucket means (for
        drawing); ``max_points=None`` gives every stored point (for export)."""
        try:
            arrays = (
                store_curves.read_arrays(self.conn, run_id, trial, fold)
                if self.version >= 3
                else store_curves.read_legacy(self.conn, run_id, trial, fold)
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return store_curves.shape(arrays, max_points)

    def curve_series(self, run_id: int) -> list[tuple[int, int, str]]:
        """Every stored curve of a run as ``(trial, fold, kind)``, in that order."""
        table = "curve_chunks" if self.version >= 3 else "curves"
        rows = self._query(
            f"SELECT DISTINCT trial, fold, kind FROM {table} WHERE run_id=? "
            "ORDER BY trial, fold, kind",
            (run_id,),
        )
        return [(r["trial"], r["fold"], r["kind"]) for r in rows]

    def latest_curve_key(self, run_id: int) -> tuple[int, int] | None:
        """``(trial, fold)`` of the curve written last (the fold in flight of a live run),
        else of the fold finished last (kNN writes no curves); ``None`` before either."""
        table = "curve_chunks" if self.version >= 3 else "curves"
        for sql in (
            f"SELECT trial, fold FROM {table} WHERE run_id=? ORDER BY rowid DESC LIMIT 1",
            "SELECT trial, fold FROM folds WHERE run_id=? ORDER BY finished DESC LIMIT 1",
        ):
            if rows := self._query(sql, (run_id,)):
                return int(rows[0]["trial"]), int(rows[0]["fold"])
        return None

    def run_spec_toml(self, run_id: int) -> str:
        return self._require(run_id)["spec_toml"]


def _is_read_only(exc: BaseException) -> bool:
    return any(word in str(exc) for word in ("readonly", "read-only"))


def best_trial(trials: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
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
