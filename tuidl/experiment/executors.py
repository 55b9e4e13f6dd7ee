"""Where units run: in this process (:class:`SerialExecutor`) or in worker processes
(:class:`ProcessExecutor`, ``--workers N``).

Both take units lazily from an iterable (a ``None`` in it means "nothing to start now":
the search waits for a result of the units in flight before it asks its searcher again),
ask ``should_run(unit)`` just before starting one
(the runner drops trials that already diverged), hand each unit's results to
``on_result`` in the calling process (which commits them to the store), and stop when
``cancel()`` turns true, raising :class:`~tuidl.experiment.trainer.Cancelled` after the
units in flight have stopped.

Worker processes:

- are started with the ``spawn`` method: a fresh interpreter reads the BLAS thread limits
  from the environment at import, and forking a process whose BLAS threads are running can
  deadlock;
- get ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` (and friends) set
  to ``max(1, cores // workers)``, so workers × threads ≤ cores and they do not oversubscribe
  the cores (environment variables need no extra dependency, unlike threadpoolctl);
- get the run's :class:`~tuidl.experiment.workplan.WorkPlan` (in the
  :class:`~tuidl.experiment.work.Context`) once, when they start, and each unit's trial
  specs with the unit: they never parse or validate the spec;
- memory-map the run's split arrays from ``.npy`` files written once by the runner, so the
  data is never pickled per task and its pages are shared;
- share each fold's features through files too (see :mod:`tuidl.experiment.work`): a
  worker lets go of its mapping after each unit, the executor deletes a fold's files once
  its last unit is done, and with ``max_folds`` it has units of at most that many distinct
  folds (``fold_of(unit)``) in flight, holding back the next fold's units meanwhile, so
  the workers never hold more folds' features than that at once;
- load their own registry from the environment, which includes ``--plugin`` paths
  (``TUIDL_PLUGINS``, see :func:`tuidl.plugins.manager.set_plugin_paths`);
- ignore SIGINT: Ctrl+C reaches the parent, which sets a shared event that every worker's
  trainer checks each iteration;
- end with the runner: a runner killed hard (``kill -9``) takes its workers with it (see
  :func:`tuidl.experiment.lifetime.watch_parent`), so none is left waiting for work;
- let a storage error (:class:`~tuidl.errors.StorageError`: a full disk) through: it
  stops the run, it does not fail the unit's trials.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.features import drop_fold
from tuidl.experiment.lifetime import watch_parent
from tuidl.experiment.trainer import Cancelled
from tuidl.experiment.work import Context, Data, FoldResult, Unit, Worker

BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
CANCEL_GRACE_SECONDS = 30.0  # then worker processes are terminated

OnResult = Callable[[list[FoldResult]], None]
_END: Any = object()  # the unit stream is over (``None`` from it means "nothing now")
ShouldRun = Callable[[Unit], Unit | None]


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[list[int]]:
    """Record SIGINT instead of raising KeyboardInterrupt inside the block.

    Yields a list that holds the signal number if one arrived. Only the main thread may
    set handlers; elsewhere this does nothing. Unlike SIG_IGN, a Python handler is not
    inherited by spawned children, and no signal is lost.
    """
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    # Blocked, too: a process spawned inside the block inherits the mask across exec, so a
    # terminal's Ctrl+C (sent to the whole group) stays pending in a worker that is still
    # importing instead of killing it with a traceback; the worker ignores SIGINT before
    # unblocking it (see _init_worker). Here the pending signal reaches the handler on exit.
    blocked = _block_sigint()
    try:
        yield got
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, previous)


def _block_sigint() -> bool:
    """Block SIGINT in this thread where the platform can (POSIX); True if it did."""
    if not hasattr(signal, "pthread_sigmask"):
        return False
    return signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def default_workers() -> int:
    return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    return max(1, (cores or os.cpu_count() or 1) // max(workers, 1))


class SerialExecutor:
    """Runs units one after another in this process, with the given worker."""

    workers = 1

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def run(
        self,
        units: Iterable[Unit],
        on_result: OnResult,
        should_run: ShouldRun,
        cancel: Callable[[], bool],
    ) -> None:
        for unit in units:
            if cancel():
                raise Cancelled
            if unit is None:  # "wait for a result": here every unit is done when it returns
                continue
            todo = should_run(unit)
            if todo is not None:
                on_result(self.worker.run(todo))


# -- worker process side -------------------------------------------------------------------

_worker: Worker | None = None


def _init_worker(context: Context, cancel_event: Any, parent_pid: int) -> None:
    # first: a runner killed while this worker starts must not leave it behind
    watch_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        # spawned with SIGINT blocked (see _sigint_deferred): now that it is ignored, a
        # Ctrl+C that arrived during start-up is discarded here
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    global _worker
    from tuidl.experiment.store import Store

    if context.data_dir is None:  # the runner shares the data before it starts workers
        raise TuidlError("worker process: no data folder to map (Context.data_dir is not set)")
    store = Store(context.store_path) if context.store_path else None
    data = Data.load(Path(context.data_dir))
    _worker = Worker(context, data, store=store, cancel=cancel_event.is_set)


def _run_unit(unit: Unit) -> list[FoldResult] | None:
    assert _worker is not None
    try:
        return _worker.run(unit)
    except Cancelled:
        return None
    finally:
        _worker.release()  # idle, this worker holds no fold (see Worker.release)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class ProcessExecutor:
    """Runs units in ``workers`` spawned processes (see the module docstring).

    ``context.data_dir`` must hold the arrays written by :meth:`Data.save`. At most
    ``workers`` units are in flight, so a cancel or a diverged trial wastes little.
    A worker process that dies (killed, out of memory) raises :class:`TuidlError`.

    ``fold_of(unit)`` names the shared fold a unit uses (:func:`~tuidl.experiment.work.
    fold_tag`); given it, units of at most ``max_folds`` distinct folds are in flight (the
    next unit waits for a slot; units keep their order) and a fold's files are deleted once
    its units are done. A fold's units must come one after another (the runner's
    fold-major order); a unit of a fold already deleted would rebuild it.
    """

    def __init__(
        self,
        context: Context,
        workers: int,
        *,
        fold_of: Callable[[Unit], str] | None = None,
        max_folds: int | None = None,
    ) -> None:
        if context.data_dir is None:
            raise ValueError("ProcessExecutor needs context.data_dir")
        self.context = context
        self.workers = max(1, workers)
        self.threads = threads_per_worker(self.workers)
        self.fold_of = fold_of
        self.max_folds = max(1, max_folds) if max_folds is not None else self.workers

    def run(
        self,
        units: Iterable[Unit],
        on_result: OnResult,
        should_run: ShouldRun,
        cancel: Callable[[], bool],
    ) -> None:
        mp = multiprocessing.get_context("spawn")
        event = mp.Event()
        env = dict.fromkeys(BLAS_ENV, str(self.threads))
        queue = iter(units)
        inflight: dict[Future, Unit] = {}
        folds = _FoldSlots(self.fold_of, self.max_folds, self._drop)
        held: Unit | None = None  # the next unit, waiting for a fold slot
        stopping = hard = False
        with _environ(env):
            pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp,
                initializer=_init_worker,
                initargs=(self.context, event, os.getpid()),
            )
        try:
            while True:
                while not stopping and len(inflight) < self.workers:
                    unit = held if held is not None else next(queue, _END)
                    held = None
                    if unit is _END:
                        folds.exhausted()
                        break
                    if unit is None:  # a search waits for a result before it asks again
                        break
                    # pruned first (a held unit again: only trials closed since count), so
                    # a unit with nothing left to run never waits for a fold slot
                    todo = should_run(unit)
                    if todo is None:
                        folds.passed(unit)
                        continue
                    if not folds.admit(todo):
                        held = todo
                        break
                    # processes may start lazily, on submit; a Ctrl+C or `tuidl cancel`
                    # landing inside the pool's start-up would leave it half built, so
                    # it is held until the submit returns, then acted on
                    with _environ(env), _sigint_deferred() as interrupted:
                        inflight[pool.submit(_run_unit, todo)] = todo
                    folds.started(todo)
                    if interrupted:
                        stopping = True
                        event.set()
                if not inflight:
                    break
                try:
                    done, _ = wait(list(inflight), timeout=0.2, return_when=FIRST_COMPLETED)
                    for fut in done:
                        folds.finished(inflight.pop(fut))
                        results = fut.result()
                        if results is None:
                            stopping = True
                        else:
                            on_result(results)
                    if not stopping and cancel():
                        stopping = True
                        event.set()
                except KeyboardInterrupt:
                    if stopping:  # a second Ctrl+C: do not wait for the units in flight
                        hard = True
                        break
                    stopping = True
                    event.set()
            if stopping:
                raise Cancelled
        except BrokenProcessPool:
            if stopping:
                # a terminal's Ctrl+C reaches the whole foreground group: a worker still
                # starting up dies of it before it can ignore SIGINT, which breaks the pool;
                # the run was being stopped anyway, so it is interrupted, not failed
                raise Cancelled from None
            raise TuidlError(
                "a worker process died (killed, or out of memory?); finished folds are "
                "stored; try fewer --workers and resume the run"
            ) from None
        finally:
            event.set()
            _shutdown(pool, inflight, 0.0 if hard else CANCEL_GRACE_SECONDS)

    def _drop(self, tag: str) -> None:
        assert self.context.data_dir is not None
        drop_fold(self.context.data_dir, tag)


class _FoldSlots:
    """Which shared folds have units in flight: admits a unit of a new fold only while
    fewer than ``limit`` folds do, and calls ``drop(tag)`` for a fold whose units are all
    done (none in flight, and the queue has moved on to another fold). Without ``fold_of``
    it admits everything and drops nothing."""

    def __init__(self, fold_of: Callable[[Unit], str] | None, limit: int, drop) -> None:
        self.fold_of = fold_of
        self.limit = limit
        self.drop = drop
        self.running: dict[str, int] = {}  # fold -> units in flight
        self.current: str | None = None  # the fold the queue is at (may get more units)

    def admit(self, unit: Unit) -> bool:
        if self.fold_of is None:
            return True
        tag = self.fold_of(unit)
        if tag != self.current:
            self._move_on(tag)
        return tag in self.running or len(self.running) < self.limit

    def passed(self, unit: Unit) -> None:
        """The queue reached ``unit`` but it has nothing to run: only note where it is."""
        if self.fold_of is not None:
            tag = self.fold_of(unit)
            if tag != self.current:
                self._move_on(tag)

    def started(self, unit: Unit) -> None:
        if self.fold_of is not None:
            tag = self.fold_of(unit)
            self.running[tag] = self.running.get(tag, 0) + 1

    def finished(self, unit: Unit) -> None:
        if self.fold_of is None:
            return
        tag = self.fold_of(unit)
        left = self.running.get(tag, 0) - 1
        if left > 0:
            self.running[tag] = left
            return
        self.running.pop(tag, None)
        if tag != self.current:
            self.drop(tag)

    def exhausted(self) -> None:
        """No units left: the last fold gets no more either."""
        if self.fold_of is not None:
            self._move_on(None)

    def _move_on(self, tag: str | None) -> None:
        previous, self.current = self.current, tag
        if previous is not None and previous not in self.running:
            self.drop(previous)


def _shutdown(pool: ProcessPoolExecutor, inflight: dict[Future, Unit], grace: float) -> None:
    """Stop the pool; workers see the cancel event within an iteration, but a long kNN
    distance computation does not check it, so stragglers are terminated after a grace."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    if inflight:
        wait(list(inflight), timeout=grace)
    if any(not f.done() for f in inflight):
        for p in procs:
            if p.is_alive():
                p.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
