"""Runs that outlive their terminal: start detached, find the process again, follow, cancel.

A detached run is the ordinary ``python -m tuidl run --resume ID --store PATH`` started in
its own session and process group (``start_new_session=True``), with stdin from
``/dev/null`` and stdout/stderr appended to a log file in the data dir
(``$XDG_DATA_HOME/tuidl/logs`` or ``~/.local/share/tuidl/logs``). A closed terminal, a
killed tmux session or a dropped SSH connection sends SIGHUP to the terminal's session;
the run is not in it, so it goes on. Its results go to the store as always, so
``tuidl attach`` (or the TUI's history) can follow it from any terminal.

Which process runs which run is kept in a table of its own, ``detached_runs``, in the
same SQLite file as the store (the store's own tables are not touched): run id, pid,
process group, host, the process's start time (so a reused pid is not mistaken for the
run), the log path and the command. The launcher writes the row when it starts the
child, and every ``tuidl run`` process writes its own row when it starts executing (see
:func:`note_process`), so runs started in a terminal or by the TUI can be cancelled too.

:func:`cancel` does what Ctrl+C does in the run's terminal: SIGINT, sent to the runner
process (the leader of a detached run's group). The runner stops cleanly: it tells its
worker processes through their cancel event, finished folds stay stored, the run is marked
``interrupted`` and ``tuidl run --resume`` completes it. The signal goes to the runner
only, not to its whole group: worker processes ignore SIGINT once started, but one still
starting (importing) would die of it and break the pool; and a run in someone's terminal
shares its group with the other programs of a pipeline.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidl.data.locations import user_data_dir
from tuidl.errors import TuidlError

TABLE = "detached_runs"
ACTIVE = ("queued", "running")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    run_id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    pgid INTEGER NOT NULL,
    host TEXT NOT NULL,
    proc_start TEXT,
    log_path TEXT NOT NULL DEFAULT '',
    command TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL
)
"""


def data_dir() -> Path:
    """``$XDG_DATA_HOME/tuidl`` or ``~/.local/share/tuidl`` (where the default store is)."""
    return user_data_dir()


def log_path_for(store_path: str | os.PathLike, run_id: int) -> Path:
    """``<data dir>/logs/run-ID.log`` for the default store; other stores get a short hash
    of their path in the name, since their run ids overlap."""
    from tuidl.experiment.store import default_store_path

    store_path = Path(store_path).expanduser().resolve()
    logs = data_dir() / "logs"
    if store_path == Path(default_store_path()).expanduser().resolve():
        return logs / f"run-{run_id}.log"
    tag = hashlib.sha1(str(store_path).encode()).hexdigest()[:8]
    return logs / f"run-{run_id}-{tag}.log"


# ---- the process table ---------------------------------------------------------------------


@dataclass
class ProcessRecord:
    run_id: int
    pid: int
    pgid: int
    host: str
    proc_start: str | None
    log_path: str
    command: str
    started: float

    @property
    def leads_group(self) -> bool:
        """A detached run leads its own process group (its pid is the group id)."""
        return self.pid == self.pgid


def _connect(store_path: str | os.PathLike) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(str(store_path), timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute(_SCHEMA)
    except sqlite3.Error as exc:
        raise TuidlError(f"run store {str(store_path)!r}: {exc}") from None
    return conn


def record(store_path: str | os.PathLike, rec: ProcessRecord) -> None:
    conn = _connect(store_path)
    try:
        conn.execute(
            f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rec.run_id,
                rec.pid,
                rec.pgid,
                rec.host,
                rec.proc_start,
                rec.log_path,
                rec.command,
                rec.started,
            ),
        )
    except sqlite3.Error as exc:
        raise TuidlError(f"run store {str(store_path)!r}: {exc}") from None
    finally:
        conn.close()


def lookup(store_path: str | os.PathLike, run_id: int) -> ProcessRecord | None:
    """The process last recorded for ``run_id`` (``None`` when none was)."""
    conn = _connect(store_path)
    try:
        row = conn.execute(
            f"SELECT run_id, pid, pgid, host, proc_start, log_path, command, started "
            f"FROM {TABLE} WHERE run_id=?",
            (run_id,),
        ).fetchone()
    except sqlite3.Error as exc:
        raise TuidlError(f"run store {str(store_path)!r}: {exc}") from None
    finally:
        conn.close()
    return ProcessRecord(*row) if row else None


def _proc_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux); ``None`` elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def hostname() -> str:
    return socket.gethostname()


def state(rec: ProcessRecord | None) -> str:
    """``"alive"``, ``"gone"`` (exited, or its pid now belongs to another process),
    ``"elsewhere"`` (recorded on another host) or ``"unknown"`` (no record)."""
    if rec is None:
        return "unknown"
    if rec.host != hostname():
        return "elsewhere"
    try:
        os.kill(rec.pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "alive"  # someone else's process; not ours to judge further
    if _proc_state(rec.pid) == "Z":  # exited, not yet reaped by its parent
        return "gone"
    now = _proc_start(rec.pid)
    if rec.proc_start is not None and now is not None and now != rec.proc_start:
        return "gone"  # the pid was reused
    return "alive"


def note_process(store_path: str | os.PathLike, run_id: int, log_path: str = "") -> None:
    """Record this process as the one running ``run_id`` (called by ``tuidl run``).

    Refuses (:class:`TuidlError`) when another live process on this host already runs it,
    so one run is never executed twice at once. Also makes sure SIGINT raises
    KeyboardInterrupt here: a process started in the background by a shell inherits SIGINT
    ignored, and Python then leaves it ignored, which would make :func:`cancel` a no-op.
    """
    rec = lookup(store_path, run_id)
    me = os.getpid()
    if rec is not None and rec.pid != me and state(rec) == "alive":
        raise TuidlError(
            f"run {run_id} is already running (pid {rec.pid} on {rec.host}); follow it with "
            f"`tuidl attach {run_id}` or stop it with `tuidl cancel {run_id}`"
        )
    if not log_path and rec is not None and rec.pid == me:
        log_path = rec.log_path
    # before the record: once it is there, `tuidl cancel` may signal this process
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    record(
        store_path,
        ProcessRecord(
            run_id,
            me,
            os.getpgrp(),
            hostname(),
            _proc_start(me),
            log_path,
            " ".join(sys.argv),
            time.time(),
        ),
    )


# ---- starting ------------------------------------------------------------------------------


def launch(
    store_path: str | os.PathLike,
    run_id: int,
    extra_args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
    log_path: str | os.PathLike | None = None,
) -> ProcessRecord:
    """Start ``python -m tuidl run --resume RUN_ID --store PATH [extra_args]`` detached
    (see the module docstring) and record it; returns at once."""
    store_path = Path(store_path).expanduser().resolve()
    rec = lookup(store_path, run_id)
    if rec is not None and state(rec) == "alive":
        raise TuidlError(
            f"run {run_id} is already running (pid {rec.pid}); `tuidl attach {run_id}` follows it"
        )
    log = Path(log_path) if log_path is not None else log_path_for(store_path, run_id)
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        fh = log.open("ab")
    except OSError as exc:
        raise TuidlError(f"cannot write the run log {str(log)!r}: {exc.strerror}") from None
    cmd = [sys.executable, "-m", "tuidl", "run", "--resume", str(run_id)]
    cmd += ["--store", str(store_path), *extra_args]
    with fh:
        fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        fh.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        )
    rec = ProcessRecord(
        run_id,
        proc.pid,
        proc.pid,  # start_new_session: the child leads its own session and group
        hostname(),
        _proc_start(proc.pid),
        str(log),
        " ".join(cmd),
        time.time(),
    )
    record(store_path, rec)
    return rec


# ---- following -----------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A run's progress as the store shows it (the shape of the runner's ``Progress``, so
    the CLI's ``progress_line`` draws it)."""

    run_id: int
    status: str
    done: int  # trial × fold pairs finished, skipped folds of closed trials included
    total: int
    elapsed: float
    eta: float | None
    phase: str  # "queued", "cv", "final" or "done"
    message: str = ""
    last: Any = None


def snapshot(store: Any, run_id: int, now: float | None = None) -> Snapshot:
    """Read a run's progress from the store. The ETA comes from the pace of the last
    (up to 20) finished folds, which counts every worker and ignores earlier sessions of a
    resumed run."""
    run = store.get_run(run_id)
    now = time.time() if now is None else now
    folds = int(run.get("num_folds") or 0)
    done = 0
    for t in run["trials"]:
        if t["status"] in ("diverged", "failed"):
            done += folds
        else:
            done += sum(1 for f in t["folds"] if f["fold"] >= 0)
    total = len(run["trials"]) * folds
    status = run["status"]
    started = run.get("started") or now
    if status == "queued" or not total:
        phase = "queued" if status in ACTIVE else "done"
    elif status == "running":
        phase = "final" if done >= total else "cv"
    else:
        phase = "done"
    eta = None
    if phase == "cv" and done:
        stamps = [
            r[0]
            for r in store.conn.execute(
                "SELECT finished FROM folds WHERE run_id=? ORDER BY finished DESC LIMIT 20",
                (run_id,),
            )
        ]
        if len(stamps) >= 2 and stamps[0] > stamps[-1]:
            per_fold = (stamps[0] - stamps[-1]) / (len(stamps) - 1)
            eta = max(0.0, per_fold * (total - done) - (now - stamps[0]))
        else:
            eta = (now - started) / done * (total - done)
    end = run.get("finished") if phase == "done" and run.get("finished") else now
    return Snapshot(
        run_id,
        status,
        done,
        total,
        max(0.0, end - started),
        eta,
        phase,
        str(run.get("message") or ""),
    )


def newest_active(store: Any) -> int | None:
    """The newest run that is running (else queued), or ``None``."""
    runs = store.list_runs()  # newest first
    for status in ("running", "queued"):
        for r in runs:
            if r["status"] == status:
                return int(r["id"])
    return None


# ---- cancelling ----------------------------------------------------------------------------


@dataclass
class CancelOutcome:
    ok: bool  # the run is stopped (or stopping) because of this call
    message: str


def cancel(store: Any, run_id: int, *, wait: float = 60.0, poll: float = 0.2) -> CancelOutcome:
    """Stop a run the way Ctrl+C does (see the module docstring) and wait up to ``wait``
    seconds for it to be marked ``interrupted``. An unknown id raises :class:`TuidlError`."""
    run = store.get_run(run_id)  # raises naming the id for an unknown one
    status = run["status"]
    if status not in ACTIVE:
        return CancelOutcome(False, f"run {run_id} is not running (status: {status})")
    rec = lookup(store.path, run_id)
    where = state(rec)
    if where == "elsewhere":
        assert rec is not None
        return CancelOutcome(
            False,
            f"run {run_id} runs on host {rec.host} (pid {rec.pid}); run "
            f"`tuidl cancel {run_id}` there",
        )
    resume = f"tuidl run --resume {run_id} --store {store.path}"
    if where in ("gone", "unknown"):
        if where == "unknown" and status == "running":
            return CancelOutcome(
                False,
                f"run {run_id} is marked running, but no process is recorded for it "
                "(started by an older tuidl?); stop it with Ctrl+C where it runs",
            )
        what = "was queued but never started" if status == "queued" else "lost its process"
        pid = f" (pid {rec.pid})" if rec is not None else ""
        message = (
            f"cancelled: run {run_id} {what}{pid}; finished folds are stored. Resume with: {resume}"
        )
        store.set_status(run_id, "interrupted", message)
        return CancelOutcome(True, message)
    assert rec is not None
    try:
        os.kill(rec.pid, signal.SIGINT)  # the runner itself; see the module docstring
    except ProcessLookupError:
        return cancel(store, run_id, wait=0)  # it just ended: report what it left
    except PermissionError:
        return CancelOutcome(
            False, f"run {run_id} runs as another user (pid {rec.pid}); cannot signal it"
        )
    deadline = time.monotonic() + max(0.0, wait)
    while True:
        status = store.get_run(run_id)["status"]
        if status not in ACTIVE:
            break
        if time.monotonic() >= deadline:
            return CancelOutcome(
                True,
                f"sent Ctrl+C to run {run_id} (pid {rec.pid}); it is still stopping (units in "
                "flight finish first); `tuidl runs` shows when it is interrupted",
            )
        if state(rec) == "gone":  # died without marking itself (killed hard?)
            status = store.get_run(run_id)["status"]
            if status in ACTIVE:
                message = f"run {run_id} stopped; finished folds are stored. Resume with: {resume}"
                store.set_status(run_id, "interrupted", message)
                return CancelOutcome(True, message)
            break
        time.sleep(poll)
    if status == "interrupted":
        return CancelOutcome(
            True, f"run {run_id} stopped; finished folds are stored. Resume with: {resume}"
        )
    return CancelOutcome(True, f"run {run_id} ended before the signal took effect ({status})")
