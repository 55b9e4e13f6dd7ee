"""Finding and managing stored runs: list with filters, name, note, tags, delete, size and
vacuum (a mixin of
:class:`tuidl.experiment.store.Store`, kept apart to keep each module small).

How it fails: an unknown run id, a bad tag, or a name or note that is too long raises
:class:`tuidl.TuidlError` naming it; deleting a queued or running run is refused unless
forced.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment import store_query

ACTIVE_STATUSES = ("queued", "running")
TAG_RE = re.compile(r"^[\w.:/+-]{1,64}$")


class RunManagement:
    """Needs the store's ``conn``, ``_tx``, ``_write``, ``_query``, ``_require``, ``_error``."""

    conn: sqlite3.Connection
    _tx: Any
    _write: Any
    _query: Any
    _require: Any
    _error: Any
    version: int

    def list_runs(
        self,
        filters: Iterable[str | store_query.Filter] = (),
        sort: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Runs, newest first: id, name, note, tags, status, seed, timestamps, model and
        dataset names, grid keys, trial/fold counts, folds done, best mean and test accuracy.

        ``filters`` (all must hold) and ``sort`` are in the syntax of
        :mod:`tuidl.experiment.store_query` (``"model=fc_net"``, ``"best>=0.9"``,
        ``"tag=baseline"``, ``"optimizer.lr=1e-3"``; ``"-best"``); a malformed one raises
        naming it. ``limit`` keeps the first N after sorting.
        """
        parsed = [f if isinstance(f, store_query.Filter) else store_query.parse(f) for f in filters]
        order = store_query.parse_sort(sort) if sort else None
        note = "r.note" if self.version >= 3 else "''"
        rows = self._query(
            "SELECT r.id, r.name, r.status, r.seed, r.message, r.created, r.started, r.finished, "
            f"r.num_trials, r.num_folds, r.spec_json, {note} AS note, "
            "(SELECT COUNT(*) FROM folds f WHERE f.run_id=r.id) AS folds_done, "
            "(SELECT MAX(mean) FROM trials t WHERE t.run_id=r.id AND t.status='ok') AS best_mean, "
            "(SELECT test_accuracy FROM tests s WHERE s.run_id=r.id) AS test_accuracy "
            "FROM runs r ORDER BY r.id DESC"
        )
        tags: dict[int, list[str]] = {}
        for r in self._query("SELECT run_id, tag FROM run_tags ORDER BY tag"):
            tags.setdefault(r["run_id"], []).append(r["tag"])
        for r in rows:
            spec = json.loads(r.pop("spec_json"))
            r["dataset"] = spec.get("dataset", {}).get("name", "")
            r["model"] = spec.get("model", {}).get("name", "")
            r["grid"] = list(spec.get("cv", {}).get("grid", {}))
            r["tags"] = tags.get(r["id"], [])
            r["_spec"] = spec
        return store_query.select(rows, parsed, order, limit)

    def set_name(self, run_id: int, name: str) -> None:
        """Give a run a name (one line, at most 200 characters; empty clears it)."""
        name = " ".join(str(name).split())
        if len(name) > 200:
            raise TuidlError(f"run name of {len(name)} characters is too long; use at most 200")
        self._require(run_id)
        self._write("UPDATE runs SET name=? WHERE id=?", (name, run_id))

    def set_note(self, run_id: int, note: str) -> None:
        """Attach a free-text note to a run (at most 10,000 characters; empty clears it)."""
        note = str(note).strip()
        if len(note) > 10_000:
            raise TuidlError(f"run note of {len(note)} characters is too long; use at most 10000")
        self._require(run_id)
        self._write("UPDATE runs SET note=? WHERE id=?", (note, run_id))

    def tag(self, run_id: int, tags: Iterable[str], *, remove: bool = False) -> list[str]:
        """Add (or with ``remove``, take away) tags; return the run's tags afterwards. A tag
        is 1-64 letters, digits or ``_ . : / + -``."""
        tags = list(tags)
        for t in tags:
            if not TAG_RE.match(t):
                raise TuidlError(
                    f"tag {t!r} is not allowed; use 1-64 letters, digits or _ . : / + - "
                    "(no spaces or commas)"
                )
        self._require(run_id)
        try:
            with self._tx() as c:
                if remove:
                    c.executemany(
                        "DELETE FROM run_tags WHERE run_id=? AND tag=?", [(run_id, t) for t in tags]
                    )
                else:
                    c.executemany(
                        "INSERT OR IGNORE INTO run_tags VALUES (?, ?)", [(run_id, t) for t in tags]
                    )
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return self.tags(run_id)

    def tags(self, run_id: int) -> list[str]:
        return [r["tag"] for r in self._query(
            "SELECT tag FROM run_tags WHERE run_id=? ORDER BY tag", (run_id,)
        )]  # fmt: skip

    def delete_runs(self, run_ids: Iterable[int], *, force: bool = False) -> list[int]:
        """Delete runs and everything stored for them, all in one transaction (every id is
        checked first: an unknown one deletes nothing), then give the freed pages back to
        the filesystem where the store allows it (stores created by this tuidl do; older
        ones need :meth:`vacuum`). Other runs are not touched.

        A queued or running run is refused unless ``force`` (its runner would go on
        writing into a run that no longer exists): cancel it first.
        """
        ids = list(dict.fromkeys(int(i) for i in run_ids))
        for run_id in ids:
            run = self._require(run_id)
            if run["status"] in ACTIVE_STATUSES and not force:
                raise TuidlError(
                    f"run {run_id} is {run['status']}; stop it first with `tuidl cancel "
                    f"{run_id}`, or delete it anyway with --force if its runner is gone"
                )
        try:
            with self._tx() as c:
                for run_id in ids:
                    for table in ("curve_chunks", "folds", "trials", "tests", "run_tags"):
                        c.execute(f"DELETE FROM {table} WHERE run_id=?", (run_id,))
                    c.execute("DELETE FROM runs WHERE id=?", (run_id,))
            if self.conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
                self.conn.execute("PRAGMA incremental_vacuum").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return ids

    def delete_run(self, run_id: int) -> None:
        """Delete one run whatever its status (see :meth:`delete_runs`)."""
        self.delete_runs([run_id], force=True)

    def size(self) -> dict[str, int]:
        """``{"bytes": file size in use, "free_bytes": pages a vacuum would give back}``."""
        page = self.conn.execute("PRAGMA page_size").fetchone()[0]
        count = self.conn.execute("PRAGMA page_count").fetchone()[0]
        free = self.conn.execute("PRAGMA freelist_count").fetchone()[0]
        return {"bytes": page * count, "free_bytes": page * free}

    def vacuum(self) -> tuple[int, int]:
        """Rewrite the store compactly (SQLite ``VACUUM``) and switch it to giving deleted
        runs' space back by itself; return its size in bytes before and after. It waits for
        a writing run's current transaction; readers may go on reading."""
        before = self.size()["bytes"]
        try:
            self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            self.conn.execute("VACUUM")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        return before, self.size()["bytes"]
