"""Trials on an existing Dask cluster: ``tuidl run --executor tcp://HOST:PORT``.

Needs the optional extra ``tuidl[dask]`` (``dask[distributed]``), here and on every worker
(the workers import this module to run a unit).

How a run goes (see :func:`resume_on_dask`): the ``tuidl run`` process loads and splits the
data as for any run, connects a :class:`distributed.Client` to the scheduler, and
:class:`DaskExecutor` hands the runner's units (a trial × fold each; a kNN k-group shares
one) to the cluster:

- **The data and the plan reach each worker once.** The split arrays (:class:`~.work.Data`)
  and the :class:`~.work.Context` with the run's plan (:class:`~.workplan.WorkPlan`: the
  normalized specs and folds the runner validated once) are scattered with
  ``broadcast=True`` when the executor starts; every task gets the scattered futures, which
  the worker resolves to its own local copies, so a task's message is the unit (with its
  trials' normalized specs), never the arrays nor the plan. Workers parse and validate no
  spec. Each worker thread keeps one :class:`~.work.Worker` per run session (registry,
  preprocessing cache) between tasks.
- **Lazily, a few at a time.** At most ``2 × (cluster threads)`` units are in flight, taken
  from the runner's iterator just before submitting, after ``should_run`` (so the folds of
  a diverged trial are skipped) -- the same contract as the local executors.
- **Results in the parent.** Each finished unit's results go to ``on_result`` in this
  process, which commits them to the store at once: a run that fails or is cancelled later
  keeps every fold that came back.
- **Same numbers.** A unit's generator derives from (seed, trial, fold), so the stored fold
  scores equal a serial run's with the same seed.
- **Lost workers.** The scheduler reruns the tasks of a worker that dies on the others (up
  to its ``allowed-failures``, default 3), and each task also has ``retries=2`` for errors
  raised on the way. A unit that still cannot finish raises :class:`TuidlError`; the folds
  already committed stay, and ``tuidl run --resume`` runs only the missing ones.
- **Cancel.** Ctrl+C or ``cancel()`` stops submitting, cancels the queued tasks and sets a
  Dask :class:`distributed.Event` that each running unit's trainer checks (at most once a
  second); :class:`~.trainer.Cancelled` is raised once the units in flight are done or
  after a grace period.
- **Curves.** A worker on the store's host (same host name, store file present) writes
  loss and accuracy curves into the store as local workers do; elsewhere it sends back
  scores only -- the store is a local SQLite file.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tuidl.errors import StorageError, TuidlError
from tuidl.experiment.runner import Progress, RunOutcome, _Execution, _registry
from tuidl.experiment.trainer import Cancelled
from tuidl.experiment.work import Context, Data, FoldResult, Unit, Worker

RETRIES = 2
CANCEL_GRACE_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 20.0
CANCEL_POLL_SECONDS = 1.0

OnResult = Callable[[list[FoldResult]], None]
ShouldRun = Callable[[Unit], Unit | None]


def require_distributed() -> None:
    """Raise a :class:`TuidlError` saying how to install the extra when it is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise TuidlError(
            "--executor needs dask.distributed, which is not installed; "
            "install it with: pip install 'tuidl[dask]'"
        ) from None


def _probe(address: str, timeout: float) -> None:
    """Fail fast on a TCP address nothing listens at: dask's client retries a refused
    connection until its whole timeout is spent (20 s of a user staring at nothing)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname or parts.port is None:
        return  # other transports (inproc://, ws://) are dask's to judge
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
        pass


def connect(address: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> Any:
    """A :class:`distributed.Client` for the scheduler at ``address``; a
    :class:`TuidlError` naming the address when nothing answers there (at once when the
    connection is refused, within ``timeout`` seconds otherwise)."""
    require_distributed()
    from distributed import Client

    try:
        _probe(address, timeout)
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise TuidlError(
            f"cannot reach the Dask scheduler at {address!r} ({type(exc).__name__}: {exc}); "
            "check the address (tcp://HOST:PORT) and that the scheduler runs"
        ) from None


# ---- the worker side --------------------------------------------------------------------------

_workers: dict[tuple, Worker] = {}
_lock = threading.Lock()
_seen_data: set[int] = set()  # ids of the data objects tasks received (a test reads it)


def _cancel_check(event_name: str | None) -> Callable[[], bool]:
    """A cancel callable for the trainer: the run's Dask Event, asked at most once a
    second (a round trip to the scheduler per minibatch would cost more than the batch)."""
    if event_name is None:
        return lambda: False
    next_poll, is_set = 0.0, False

    def check() -> bool:
        nonlocal next_poll, is_set
        if is_set:
            return True
        now = time.monotonic()
        if now >= next_poll:
            next_poll = now + CANCEL_POLL_SECONDS
            try:
                from distributed import Event

                is_set = bool(Event(event_name).is_set())
            except Exception:  # the scheduler is busy or gone: keep computing
                return False
        return is_set

    return check


def _local_store(context: Context, host: str) -> Any:
    """The run's store when this worker is on the store's host, else ``None``."""
    if context.store_path is None or host != socket.gethostname():
        return None
    if not Path(context.store_path).exists():
        return None
    from tuidl.experiment.store import Store

    try:
        return Store(context.store_path)
    except TuidlError:
        return None


def run_unit(
    context: Context, data: Data, unit: Unit, host: str, event_name: str | None
) -> list[FoldResult] | None:
    """The Dask task: compute ``unit`` with this worker thread's :class:`Worker` for the
    run (built from ``context.plan`` on first use); ``None`` when the run was cancelled
    meanwhile."""
    # one worker per run session and thread: the preprocessing cache is not shared between
    # threads. A session is one executor run (its cancel event's unique name); the
    # scattered context is one object per session on this worker, so its id tells
    # sessions apart when there is no event
    session = (context.run_id, context.store_path, event_name or id(context))
    key = (*session, threading.get_ident())
    with _lock:
        _seen_data.add(id(data))
        worker = _workers.get(key)
        if worker is None:
            stale = [k for k in _workers if k[:-1] != session]
            for k in stale:  # one run at a time per worker process keeps memory bounded
                del _workers[k]
    if worker is None:
        worker = Worker(
            context,
            data,
            store=_local_store(context, host),
            cancel=_cancel_check(event_name),
        )
        with _lock:
            _workers[key] = worker
    try:
        return worker.run(unit)
    except Cancelled:
        return None


def reset_worker_stats() -> None:
    """Forget the cached workers and the data ids seen (tests; ``client.run`` it)."""
    with _lock:
        _workers.clear()
        _seen_data.clear()


def worker_stats() -> dict[str, int]:
    """How many distinct data objects tasks received in this process, and how many
    workers were built (run on a Dask worker with ``client.run``)."""
    with _lock:
        return {"data_objects": len(_seen_data), "workers": len(_workers), "pid": os.getpid()}


# ---- the parent side --------------------------------------------------------------------------


class DaskExecutor:
    """Runs units on a Dask cluster (see the module docstring). Same ``run`` contract as
    :class:`~tuidl.experiment.executors.ProcessExecutor`."""

    def __init__(self, client: Any, context: Context, data: Data, *, retries: int = RETRIES):
        self.client = client
        self.context = context
        self.data = data
        self.retries = retries
        threads = sum(client.nthreads().values()) if client.nthreads() else 1
        self.workers = max(1, threads)
        self.max_inflight = 2 * self.workers

    def run(
        self,
        units: Iterable[Unit],
        on_result: OnResult,
        should_run: ShouldRun,
        cancel: Callable[[], bool],
    ) -> None:
        from distributed import Event
        from distributed import wait as dask_wait

        client = self.client
        event_name = f"tuidl-cancel-{uuid.uuid4().hex}"
        event = Event(event_name, client=client)
        data_future = client.scatter(self.data, broadcast=True, hash=False)
        # the plan too: its folds are index arrays, too big to send with every task
        context_future = client.scatter(self.context, broadcast=True, hash=False)
        host = socket.gethostname()
        queue = iter(units)
        inflight: dict[Any, Unit] = {}
        stopping = False
        deadline = float("inf")  # set when stopping: how long the units in flight may take
        try:
            while True:
                while not stopping and len(inflight) < self.max_inflight:
                    unit = next(queue, None)
                    if unit is None:
                        break
                    todo = should_run(unit)
                    if todo is None:
                        continue
                    fut = client.submit(
                        run_unit,
                        context_future,
                        data_future,
                        todo,
                        host,
                        event_name,
                        pure=False,
                        retries=self.retries,
                        key=f"tuidl-unit-{self.context.run_id}-{todo.fold}-"
                        f"{'-'.join(map(str, todo.trials))}-{uuid.uuid4().hex[:8]}",
                    )
                    inflight[fut] = todo
                if not inflight or time.monotonic() > deadline:
                    break
                try:
                    with contextlib.suppress(TimeoutError), client.as_current():
                        dask_wait(list(inflight), timeout=0.2, return_when="FIRST_COMPLETED")
                    for fut in [f for f in inflight if f.done()]:
                        todo = inflight.pop(fut)
                        results = self._result(fut, todo)
                        if results is None:  # a unit saw the cancel event
                            stopping = True
                        else:
                            on_result(results)  # folds finished in the grace are kept too
                    if not stopping and cancel():
                        stopping = True
                except KeyboardInterrupt:
                    if stopping:
                        break  # a second Ctrl+C: do not wait for the units in flight
                    stopping = True
                if stopping and deadline == float("inf"):
                    event.set()  # queued units return at once, running ones within a second
                    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
            if stopping:
                raise Cancelled
        finally:
            for fut in inflight:
                fut.cancel()
            try:
                event.set()
                client.cancel([data_future, context_future], force=True)
            except Exception:
                pass

    def _result(self, fut: Any, unit: Unit) -> list[FoldResult] | None:
        try:
            return fut.result()
        except StorageError:
            raise  # a full disk where a worker writes: the run stops as interrupted
        except Exception as exc:
            name = type(exc).__name__
            what = f"fold {unit.fold + 1} of trial(s) {', '.join(str(t) for t in unit.trials)}"
            if name == "KilledWorker":
                raise TuidlError(
                    f"Dask workers kept dying while running {what} ({exc}); finished folds "
                    "are stored; resume the run with `tuidl run --resume`"
                ) from None
            raise TuidlError(f"the Dask task for {what} failed: {name}: {exc}") from None


# ---- the runner, on Dask ---------------------------------------------------------------------


class _DaskExecution(_Execution):
    """The runner's execution with :class:`DaskExecutor` in place of the local executors
    (the rest -- planning, bookkeeping, the retrain -- is the runner's own)."""

    def __init__(self, client: Any, *args: Any) -> None:
        # one local process: the data goes to the cluster by scatter, not memory-mapped files
        super().__init__(*args)
        self.workers = 1
        self.client = client

    def _executor(self, context: Context, data: Data, worker: Worker) -> Any:
        executor = DaskExecutor(self.client, context, data)
        # a searcher is asked for as many trials as the cluster runs at once
        self.slots = max(getattr(self, "slots", 1), executor.workers)
        return executor


def resume_on_dask(
    address: str | Any,
    run_id: int,
    store: Any,
    *,
    workers: int = 1,
    registry: Any = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> RunOutcome:
    """:func:`tuidl.experiment.runner.resume` with the trials on the Dask scheduler at
    ``address`` (or an existing :class:`distributed.Client`). ``workers`` is ignored: the
    cluster's threads set the parallelism."""
    run = store.get_run(run_id)
    if run["status"] == "finished":
        raise TuidlError(f"run {run_id} is already finished; `tuidl show {run_id}` shows it")
    registry = registry or _registry()
    own = None
    try:
        # inside the try: an unreachable scheduler fails the run, naming why, rather than
        # leaving it queued for ever
        own = connect(address) if isinstance(address, str) else None  # closed when done
        client = address if own is None else own
        execution = _DaskExecution(client, run_id, run, store, 1, registry, progress, cancel)
        return execution.execute()
    except TuidlError as exc:
        store.set_status(run_id, "failed", str(exc))
        raise
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        store.set_status(run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if own is not None:
            own.close()


__all__ = [
    "DaskExecutor",
    "connect",
    "require_distributed",
    "reset_worker_stats",
    "resume_on_dask",
    "run_unit",
    "worker_stats",
]
