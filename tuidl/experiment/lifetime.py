"""What a run killed hard (``kill -9``, the OOM killer, a lost machine) must not leave behind.

**Worker processes.** A runner's worker processes wait for work on a pipe; if the runner dies
without shutting them down they would wait forever, re-parented to init, and keep the
multiprocessing resource tracker (which lives as long as any process holds its pipe) alive
with them. :func:`watch_parent`, called first thing in a worker, makes the worker end with
its runner: on Linux the kernel sends it SIGKILL when the parent dies
(``prctl(PR_SET_PDEATHSIG)``), and everywhere a daemon thread polls ``os.getppid()`` and
exits the process once the parent is gone. The death signal fires when the parent
*thread* that started the worker ends, so the pool must be started by a thread that lives as
long as the pool does (the executor's own ``run`` call, which shuts the pool down before it
returns).

**Run folders.** A run with worker processes keeps its split arrays and shared fold features
in a temporary folder (:func:`make_run_folder`), removed when the run ends. A killed runner
cannot remove it, so each folder names its owner: ``tuidl-run-<pid>-*`` with an ``owner``
file holding the pid, the process's start time (a reused pid is not mistaken for the
owner) and, on Linux, its pid namespace (a container sharing the temp folder has pids of
its own: its folders are left alone). Every run and resume first removes the folders of
owners that are gone (:func:`remove_stale_run_folders`): a resume or the next run cleans up
after a killed one.
A live run's folder is never removed; neither is another user's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

RUN_FOLDER_PREFIX = "tuidl-run-"
OWNER_FILE = "owner"
PARENT_POLL_SECONDS = 0.5
LEGACY_MIN_AGE_SECONDS = 60.0  # an unnamed folder this new may still be getting its first file
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


# ---- worker processes ----------------------------------------------------------------------


def watch_parent(parent_pid: int, *, poll: float = PARENT_POLL_SECONDS) -> None:
    """End this process when ``parent_pid`` (the runner that started it) dies.

    Arms the Linux parent-death signal (SIGKILL), then checks that the parent is still the
    one expected: if it died before the signal was armed, this process exits at once. A
    daemon thread polls ``os.getppid()`` every ``poll`` seconds as the portable fallback.
    The kernel sends the signal when the *thread* that started this process ends, even if
    its process lives on, so the caller's pool must be started by a thread that outlives
    the pool (see the module docstring)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)  # the runner is gone already: nobody would read our results

    def poll_parent() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=poll_parent, name="tuidl-parent-watch", daemon=True).start()


# ---- run folders ---------------------------------------------------------------------------


NICE_ENV = "TUIDL_NICE"
BACKGROUND_NICE = 10  # what detached runs (and so the workbench's) get unless TUIDL_NICE says


def lower_priority(environ: dict[str, str] | None = None) -> int:
    """Lower this process's CPU priority as ``TUIDL_NICE`` says and return the niceness
    increment applied (19 for ``idle``). Worker processes inherit it.

    ``TUIDL_NICE``: ``0``..``19`` (a nice increment; unset or 0: unchanged), or ``idle``:
    Linux's ``SCHED_IDLE`` class, which runs the process only on cycles nothing else wants
    (elsewhere it falls back to nice 19). Detached runs get :data:`BACKGROUND_NICE` from
    :func:`tuidl.experiment.detach.launch`, so on a busy machine the workbench (or the
    shell) the user is typing into keeps its latency while the run still gets every idle
    cycle. A bad value is ignored: priority is a comfort, never a reason to refuse a run."""
    raw = (os.environ if environ is None else environ).get(NICE_ENV, "").strip().lower()
    if raw == "idle":
        if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
                return 19
        raw = "19"
    try:
        step = min(max(int(raw), 0), 19)
    except ValueError:
        return 0
    if step and hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(step)
            return step
    return 0


def make_run_folder(base: str | os.PathLike | None = None) -> Path:
    """A new ``tuidl-run-<pid>-*`` folder under ``base`` (the system's temp folder), owned
    by this process. The caller removes the folder when the run ends. An OSError (a full
    disk) propagates."""
    me = os.getpid()
    folder = Path(tempfile.mkdtemp(prefix=f"{RUN_FOLDER_PREFIX}{me}-", dir=base))
    try:
        owner = f"{me} {_start_time(me) or '-'} {_pid_namespace() or '-'}\n"
        (folder / OWNER_FILE).write_text(owner)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def remove_stale_run_folders(base: str | os.PathLike | None = None) -> list[Path]:
    """Remove this user's run folders under ``base`` whose owner process is gone; returns
    them. A folder whose owner is alive (or cannot be told) stays. Folders of older tuidl
    versions (no pid in the name) are removed only where Linux's ``/proc`` shows that no
    process has a file in them open or mapped, and they are over a minute old."""
    base = Path(base) if base is not None else Path(tempfile.gettempdir())
    removed: list[Path] = []
    legacy: list[Path] = []
    try:
        folders = list(base.glob(RUN_FOLDER_PREFIX + "*"))
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for folder in folders:
        try:
            st = folder.lstat()
        except OSError:
            continue
        if not folder.is_dir() or folder.is_symlink() or (uid is not None and st.st_uid != uid):
            continue
        owner = _owner(folder)
        if owner is None:
            if time.time() - st.st_mtime >= LEGACY_MIN_AGE_SECONDS:
                legacy.append(folder)
            continue
        pid, start, namespace = owner
        if namespace is not None and namespace != _pid_namespace():
            continue  # another pid namespace's pid: nothing here can tell if it lives
        if not alive(pid, start):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    if legacy:
        used = _paths_in_use(legacy)
        if used is not None:
            for folder in legacy:
                if folder not in used:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed.append(folder)
    return removed


def _owner(folder: Path) -> tuple[int, str | None, str | None] | None:
    """(pid, start time, pid namespace) of a folder's owner, the last two None where not
    recorded; None for a folder not named by one."""
    rest = folder.name[len(RUN_FOLDER_PREFIX) :]
    head = rest.split("-", 1)[0]
    if "-" not in rest or not head.isdigit():
        return None
    pid, start, namespace = int(head), None, None
    with contextlib.suppress(OSError, ValueError):
        fields = (folder / OWNER_FILE).read_text().split()
        if fields and int(fields[0]) == pid:
            recorded = [None if f == "-" else f for f in [*fields[1:3], "-", "-"]]
            start, namespace = recorded[0], recorded[1]
    return pid, start, namespace


def _pid_namespace() -> str | None:
    """This process's pid namespace (Linux: ``pid:[inode]``), else None."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` runs (and, when ``start`` is given and the platform tells,
    is the process that started at that time rather than a later one with its pid)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, not ours to judge
    except OSError:
        return True
    stat = _stat(pid)
    if stat is None:
        return True
    if stat[0] == "Z":  # exited, not yet reaped
        return False
    return start is None or stat[19] == start


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (Linux), else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[19] if stat else None


def _paths_in_use(folders: list[Path]) -> set[Path] | None:
    """Which of ``folders`` a process has a file open or mapped in, from ``/proc``; None
    where that cannot be told (no ``/proc``), so nothing is removed on a guess."""
    proc = Path("/proc")
    if not (proc / "self" / "maps").exists():
        return None
    prefixes = {str(f.resolve()) + os.sep: f for f in folders}
    used: set[Path] = set()

    def note(path: str) -> None:
        for prefix, folder in prefixes.items():
            if path.startswith(prefix) or path + os.sep == prefix:
                used.add(folder)

    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for line in (entry / "maps").read_text().splitlines():
                parts = line.split(None, 5)
                if len(parts) == 6:
                    note(parts[5].removesuffix(" (deleted)"))
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    note(os.readlink(fd))
        with contextlib.suppress(OSError):
            note(os.readlink(entry / "cwd"))
    return used
