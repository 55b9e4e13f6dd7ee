"""One run control: start, follow, summarise, cancel and resume any run in a store.

The CLI (``tuidl run --detach``, ``attach``, ``cancel``, ``run --resume``) and the workbench
call these functions and nothing else, so a run started anywhere (a terminal, a detached
process, another workbench window) can be followed, cancelled and resumed from anywhere.
The store is the one source of truth for a run's progress; the ``detached_runs`` table
(:mod:`tuidl.experiment.detach`) says which process runs it.

- :func:`start` stores a new run and :func:`launch` starts its runner detached (the
  ordinary ``python -m tuidl run --resume ID --store PATH`` in its own session, with its
  output in the log named by :func:`~tuidl.experiment.detach.log_path_for`).
- :func:`resume` launches the runner again for what a stored run is missing;
  :func:`retry` stores a fresh run with the same spec and seed and launches it.
- :func:`progress` summarises a run as the store shows it (:class:`RunProgress`: fits done
  of all, ETA, phase, the trial × fold in flight, whether its process lives); every view
  draws that one summary. :func:`follow` yields it until the run ends.
- :func:`cancel` does what Ctrl+C does in the run's terminal: SIGINT, sent to the runner
  process (the leader of a detached run's group). The runner stops cleanly: it tells its
  worker processes through their cancel event, finished folds stay stored, the run is
  marked ``interrupted`` and :func:`resume` completes it. The signal goes to the runner
  only, not to its whole group: worker processes ignore SIGINT once started, but one still
  starting (importing) would die of it and break the pool; and a run in someone's terminal
  shares its group with the other programs of a pipeline.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment import detach
from tuidl.experiment.detach import ACTIVE, ProcessRecord

__all__ = [
    "ACTIVE",
    "CancelOutcome",
    "RunProgress",
    "cancel",
    "follow",
    "launch",
    "log_path",
    "log_tail",
    "newest_active",
    "process_state",
    "progress",
    "resume",
    "retry",
    "start",
]

ETA_WINDOW = 20  # finished folds whose pace gives the ETA


# ---- starting ------------------------------------------------------------------------------


def start(
    store_path: str | os.PathLike,
    spec: Any,
    *,
    registry: Any = None,
    extra_args: Sequence[str] = (),
    seed: int | None = None,
) -> tuple[int, ProcessRecord]:
    """Validate ``spec`` (a :class:`~tuidl.experiment.spec.Spec`), store it as a queued run
    and launch its runner detached; return the run id and its process record.

    Raises :class:`TuidlError` (before anything is stored) for an invalid spec or a bad
    ``TUIDL_FOLD_MEMORY``, and when the log or the store cannot be written.
    """
    from tuidl.experiment.runner import fold_memory_budget
    from tuidl.experiment.spec_check import validate
    from tuidl.experiment.store import Store

    if registry is None:
        from tuidl.plugins.manager import get_registry

        registry = get_registry()
    validate(spec, registry)
    fold_memory_budget()  # the runner would refuse a bad TUIDL_FOLD_MEMORY: say it now
    with Store(store_path) as store:
        run_id = store.create_run(spec, seed=seed)
    return run_id, launch(store_path, run_id, extra_args)


def launch(
    store_path: str | os.PathLike,
    run_id: int,
    extra_args: Sequence[str] = (),
    *,
    env: dict[str, str] | None = None,
) -> ProcessRecord:
    """Start the runner for stored run ``run_id`` detached
    (:func:`tuidl.experiment.detach.launch`); returns at once.

    A run that is not queued or running (interrupted, failed) is marked ``queued`` first,
    so whoever follows it sees it going from now on, not only once the new process has
    started (seconds later); the old status comes back if the launch fails. Raises
    :class:`TuidlError` for an unknown id, a finished run, or one whose process runs.
    """
    from tuidl.experiment.store import Store

    with Store(store_path) as store:
        run = store.get_run(run_id)  # raises naming an unknown id
        status, message = run["status"], str(run.get("message") or "")
        if status == "finished":
            raise TuidlError(f"run {run_id} is already finished; `tuidl show {run_id}` shows it")
        rec = detach.lookup(store_path, run_id)
        if status in ACTIVE or detach.state(rec) == "alive":
            return detach.launch(store_path, run_id, extra_args, env=env)  # it refuses a live one
        store.set_status(run_id, "queued", f"resuming (was {status})")
        try:
            return detach.launch(store_path, run_id, extra_args, env=env)
        except BaseException:
            store.set_status(run_id, status, message)
            raise


def resume(
    store_path: str | os.PathLike, run_id: int, extra_args: Sequence[str] = ()
) -> ProcessRecord:
    """Launch the runner detached for what stored run ``run_id`` is missing (only the
    missing folds run); see :func:`launch` for how it fails."""
    return launch(store_path, run_id, extra_args)


def retry(
    store_path: str | os.PathLike,
    run_id: int,
    *,
    registry: Any = None,
    extra_args: Sequence[str] = (),
) -> tuple[int, ProcessRecord]:
    """Store a new run with run ``run_id``'s spec and seed and launch it (see :func:`start`)."""
    from tuidl.experiment.spec import stored_spec
    from tuidl.experiment.store import Store

    with Store(store_path) as store:
        run = store.get_run(run_id)  # raises naming an unknown id
    spec = stored_spec(run)  # from the stored TOML: an older run keeps its step numbers
    return start(store_path, spec, registry=registry, extra_args=extra_args, seed=int(run["seed"]))


# ---- following -----------------------------------------------------------------------------


@dataclass
class RunProgress:
    """A run's progress as the store shows it: the one summary every view draws (the CLI's
    progress line, ``tuidl attach``, the workbench's Run tab and status bar)."""

    run_id: int
    status: str  # the store's words: queued, running, finished, interrupted, failed
    done: int  # trial × fold pairs finished, skipped folds of closed trials included
    total: int
    elapsed: float
    eta: float | None  # seconds left, from the pace of the last finished folds
    phase: str  # "queued", "cv", "final" or "done"
    message: str = ""
    # the (trial, fold) in flight (the newest curve written), else the last one finished;
    # fold -1 is the retrain of the best. None before any.
    current: tuple[int, int] | None = None
    # of its recorded process (detach.state): alive, gone, elsewhere or unknown
    process: str = "unknown"
    log_path: str = ""

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def progress(
    store: Any, run_id: int, now: float | None = None, run: dict | None = None
) -> RunProgress:
    """Summarise run ``run_id`` from the store (``run``: its ``store.get_run`` if already
    read). The ETA comes from the pace of the last (up to 20) finished folds, which counts
    every worker and ignores earlier sessions of a resumed run. Raises
    :class:`TuidlError` for an unknown id."""
    run = store.get_run(run_id) if run is None else run
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
    stamps = _fold_stamps(store, run_id)
    eta = None
    if phase == "cv" and done:
        if len(stamps) >= 2 and stamps[0] > stamps[-1]:
            per_fold = (stamps[0] - stamps[-1]) / (len(stamps) - 1)
            eta = max(0.0, per_fold * (total - done) - (now - stamps[0]))
        else:
            eta = (now - started) / done * (total - done)
    end: float = (run.get("finished") or now) if phase == "done" else now
    rec = detach.lookup(store.path, run_id)
    return RunProgress(
        run_id,
        status,
        done,
        total,
        max(0.0, end - started),
        eta,
        phase,
        str(run.get("message") or ""),
        current=_current(store, run_id, run, phase),
        process=detach.state(rec),
        log_path=rec.log_path if rec is not None else "",
    )


def _fold_stamps(store: Any, run_id: int) -> list[float]:
    return [
        r[0]
        for r in store.conn.execute(
            "SELECT finished FROM folds WHERE run_id=? ORDER BY finished DESC LIMIT ?",
            (run_id, ETA_WINDOW),
        )
    ]


def _current(store: Any, run_id: int, run: dict, phase: str) -> tuple[int, int] | None:
    """The (trial, fold) a live view names and charts: the newest curve written (the unit
    in flight), else the newest finished fold; for an ended run, the model that was tested:
    the retrain of the best (fold -1), or with ``cv.refit`` reuse its holdout fold (0)."""
    if phase == "done" and run.get("test"):
        from tuidl.experiment.refit import stored_mode

        reused = stored_mode(run["spec"]) == "reuse"
        return int(run["test"]["best_trial"]), 0 if reused else -1
    return store.latest_curve_key(run_id)


def newest_active(store: Any) -> int | None:
    """The newest run that is running (else queued), or ``None``."""
    runs = store.list_runs()  # newest first
    for status in ("running", "queued"):
        for r in runs:
            if r["status"] == status:
                return int(r["id"])
    return None


def process_state(store_path: str | os.PathLike, run_id: int) -> str:
    """``alive``, ``gone``, ``elsewhere`` or ``unknown``: see :func:`detach.state`."""
    return detach.state(detach.lookup(store_path, run_id))


def follow(
    store: Any,
    run_id: int,
    *,
    poll: float = 0.5,
    grace: float = 3.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[RunProgress]:
    """Yield run ``run_id``'s :func:`progress` every ``poll`` seconds until it leaves
    queued/running (the last one yielded is the ended run). A run whose recorded process
    has been gone for ``grace`` seconds without marking the run raises :class:`TuidlError`
    naming its log and how to resume it."""
    gone_since = None
    while True:
        snap = progress(store, run_id)
        yield snap
        if not snap.active:
            return
        if snap.process == "gone":
            # give a process that just finished a moment to mark the run
            gone_since = gone_since or time.monotonic()
            if time.monotonic() - gone_since > grace:
                rec = detach.lookup(store.path, run_id)
                pid = f" (pid {rec.pid})" if rec is not None else ""
                raise TuidlError(
                    f"run {run_id} is marked {snap.status} but its process{pid} is gone; "
                    f"see its log {snap.log_path or '(none)'}; resume it with "
                    f"`tuidl run --resume {run_id} --store {store.path}`"
                )
        else:
            gone_since = None
        sleep(poll)


def log_path(store_path: str | os.PathLike, run_id: int) -> Path:
    """The log the run's process writes to (as recorded; else where a launch would put it)."""
    rec = detach.lookup(store_path, run_id)
    if rec is not None and rec.log_path:
        return Path(rec.log_path)
    return detach.log_path_for(store_path, run_id)


def log_tail(store_path: str | os.PathLike, run_id: int, lines: int = 3) -> str:
    """The last ``lines`` lines of the run's log (``""`` when it has none)."""
    path = log_path(store_path, run_id)
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


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
    rec = detach.lookup(store.path, run_id)
    where = detach.state(rec)
    if where == "elsewhere":
        assert rec is not None
        return CancelOutcome(
            False,
            f"run {run_id} runs on host {rec.host} (pid {rec.pid}); run "
            f"`tuidl cancel {run_id}` there",
        )
    resume_cmd = f"tuidl run --resume {run_id} --store {store.path}"
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
            f"cancelled: run {run_id} {what}{pid}; finished folds are stored. "
            f"Resume with: {resume_cmd}"
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
        if detach.state(rec) == "gone":  # died without marking itself (killed hard?)
            status = store.get_run(run_id)["status"]
            if status in ACTIVE:
                message = (
                    f"run {run_id} stopped; finished folds are stored. Resume with: {resume_cmd}"
                )
                store.set_status(run_id, "interrupted", message)
                return CancelOutcome(True, message)
            break
        time.sleep(poll)
    if status == "interrupted":
        return CancelOutcome(
            True, f"run {run_id} stopped; finished folds are stored. Resume with: {resume_cmd}"
        )
    return CancelOutcome(True, f"run {run_id} ended before the signal took effect ({status})")
