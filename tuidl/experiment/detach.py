"""Runs that outlive their terminal: start one detached, and find its process again.

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

:mod:`tuidl.experiment.control` builds on this: starting, following, summarising,
cancelling and resuming a run, for the CLI and the workbench alike.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tuidl.data.locations import user_data_dir
from tuidl.errors import TuidlError
from tuidl.experiment.lifetime import BACKGROUND_NICE, NICE_ENV

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


def _background_env(env: Mapping[str, str]) -> dict[str, str]:
    # unbuffered, so the log is live; lower priority unless the user chose one (TUIDL_NICE)
    return {
        NICE_ENV: str(BACKGROUND_NICE),
        **env,
        "PYTHONUNBUFFERED": "1",
    }


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
            env=_background_env(os.environ if env is None else env),
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
