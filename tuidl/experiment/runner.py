"""Turn a spec into a run: load and split the data, plan trials × folds, run them through an
executor, keep the store up to date, pick the best trial, retrain it and test it once.

Entry points:

- :func:`run_spec` validates a spec, creates a run in the store and executes it.
- :func:`resume` executes what a stored run is missing: every fold without a stored result.
  A ``queued`` run (created with :meth:`tuidl.experiment.store.Store.create_run`, as the TUI
  does) has nothing yet, so resuming it runs everything.

What a run does, in order:

1. Load the dataset through the registry and split it (``[split]``, seeded by the run seed).
2. Plan: trials are the grid points (see :mod:`tuidl.experiment.grid`); folds are k
   contiguous (or shuffled / stratified) parts of the training rows, or one holdout fold
   that trains on the training rows and scores on the validation rows.
3. Execute units fold-major (see :mod:`tuidl.experiment.work`), committing each finished
   fold to the store as it arrives. A trial whose fold diverges or fails is marked so and
   its remaining folds are skipped; the other trials go on.
4. Best trial: highest mean validation accuracy; ties go to the lower std, then to the
   earlier trial.
5. Retrain the best on all training rows -- for k-fold the union of the folds (the whole
   training split), for holdout the training split (the classic recipe: the validation rows
   stay out) -- and score it once on the test rows: test accuracy and confusion matrix.
   There is no validation set here, so no early stopping or keep-best in this retrain.

Cancellation (Ctrl+C, or ``cancel()`` turning true) stops cleanly: finished folds stay
stored, the run is marked ``interrupted`` and :func:`resume` completes it. Errors a user can
cause (a bad spec, missing data, too many folds) mark the run ``failed`` with the message
and raise :class:`tuidl.TuidlError`.

A full disk (the store's, or the temporary folder of the fold features: a
:class:`~tuidl.errors.StorageError`) is no trial's failure: the run stops as
``interrupted``, the fold being written is not stored, and :func:`resume` runs it again once
there is space. A run is marked ``finished`` only when every trial has all its folds or is
closed (diverged or failed) with its status stored; anything else is ``interrupted``, with a
message naming what is missing. Runs killed hard leave no worker processes and no temporary
folders behind for long (see :mod:`tuidl.experiment.lifetime`).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tuidl.errors import StorageError, TuidlError, is_storage_failure
from tuidl.experiment import checkpoint, ranking, refit, store_pictures
from tuidl.experiment.bookkeeping import Progress
from tuidl.experiment.executors import ProcessExecutor, SerialExecutor
from tuidl.experiment.grid import plan
from tuidl.experiment.lifetime import (
    lower_priority,
    make_run_folder,
    remove_stale_run_folders,
)
from tuidl.experiment.scheduler import Scheduling
from tuidl.experiment.spec import Spec, loads_spec
from tuidl.experiment.spec_check import check_targets, is_learnable, predicts_many, validate
from tuidl.experiment.store import Store, best_trial
from tuidl.experiment.trainer import Cancelled
from tuidl.experiment.work import (
    FINAL,
    Context,
    Data,
    FoldResult,
    Unit,
    Worker,
    feature_bytes_per_row,
    fold_tag,
)
from tuidl.experiment.workplan import WorkPlan, make_folds

FOLD_MEMORY_BUDGET = 512 * 2**20
"""Bytes of fold features that worker processes may hold at once, unless the environment
variable ``TUIDL_FOLD_MEMORY`` (MiB) says otherwise (see :func:`fold_memory_budget`). A
fold's features are about the size of the whole (preprocessed) training split -- 614 MB for
CIFAR-10's 50,000 rows in float32 -- so two workers on two different folds would double the
run's memory. The runner lets the workers hold as many distinct folds as fit in this budget
(always at least one; see :meth:`_Execution._parallelism`), and runs in this process when
that leaves no work for a second worker (one trial: each fold has one unit)."""

FOLD_MEMORY_ENV = "TUIDL_FOLD_MEMORY"


def fold_memory_budget(environ: Mapping[str, str] | None = None) -> int:
    """The fold-feature budget in bytes: ``TUIDL_FOLD_MEMORY`` MiB when set (a machine with
    memory to spare can let a single big trial's folds run in parallel), else
    :data:`FOLD_MEMORY_BUDGET`. An unusable value raises :class:`TuidlError` naming it. The
    variable reaches every way a run starts: the CLI, detached runs and the workbench."""
    text = (os.environ if environ is None else environ).get(FOLD_MEMORY_ENV, "").strip()
    if not text:
        return FOLD_MEMORY_BUDGET
    try:
        mib = float(text)
    except ValueError:
        mib = -1.0
    if not (mib > 0 and math.isfinite(mib)):
        raise TuidlError(
            f"{FOLD_MEMORY_ENV}={text!r}: give the MiB of fold features worker processes may "
            f"hold at once, a number above 0 (default {FOLD_MEMORY_BUDGET // 2**20})"
        )
    return int(mib * 2**20)


@dataclass
class RunOutcome:
    run_id: int
    status: str  # finished, interrupted
    message: str


def run_spec(
    spec: Spec,
    store: Store,
    *,
    workers: int = 1,
    seed: int | None = None,
    registry: Any = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> RunOutcome:
    """Validate ``spec`` (before anything is stored), create a run and execute it."""
    registry = registry or _registry()
    if seed is not None:
        spec = spec.copy()
        spec.seed = int(seed)
    validate(spec, registry)
    run_id = store.create_run(spec)
    return resume(
        run_id, store, workers=workers, registry=registry, progress=progress, cancel=cancel
    )


def resume(
    run_id: int,
    store: Store,
    *,
    workers: int = 1,
    registry: Any = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> RunOutcome:
    """Run whatever the stored run is missing (everything for a queued run).

    Raises :class:`TuidlError` for an unknown run id or a run that is already finished.
    """
    run = store.get_run(run_id)  # raises for an unknown id
    if run["status"] == "finished":
        raise TuidlError(f"run {run_id} is already finished; `tuidl show {run_id}` shows it")
    registry = registry or _registry()
    lower_priority()  # TUIDL_NICE: background runs yield the CPU to what a person types into
    try:
        return _Execution(run_id, run, store, workers, registry, progress, cancel).execute()
    except TuidlError as exc:
        store.set_status(run_id, "failed", str(exc))
        raise
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as exc:
        store.set_status(run_id, "failed", f"{type(exc).__name__}: {exc}")
        raise


def _registry() -> Any:
    from tuidl.plugins.manager import get_registry

    return get_registry()


def load_data(spec: Spec, registry: Any) -> Data:
    """Load the dataset and split it; counts that do not fit raise :class:`TuidlError`."""
    dataset = registry.create("dataset", spec.dataset.name, spec.dataset.params)
    check_targets(spec, getattr(dataset, "targets", "class"), registry)
    s = spec.split
    from tuidl.experiment.split import split

    parts = split(
        dataset,
        s.num_training,
        s.num_validation,
        s.num_test,
        shuffle=s.shuffle,
        seed=spec.seed,
        stratify=s.stratify,
    )
    names = list(getattr(parts, "class_names", None) or dataset.class_names)

    def arr(name: str, like: np.ndarray) -> np.ndarray:
        a = getattr(parts, name, None)
        if a is None:
            return like[:0]
        return a

    X_train, y_train = parts.X_train, parts.y_train
    return Data(
        X_pool=X_train,
        y_pool=np.asarray(y_train, dtype=np.int64),
        X_val=arr("X_val", X_train),
        y_val=np.asarray(arr("y_val", y_train), dtype=np.int64),
        X_test=arr("X_test", X_train),
        y_test=np.asarray(arr("y_test", y_train), dtype=np.int64),
        class_names=names,
    )


class _Execution(Scheduling):
    def __init__(self, run_id, run, store, workers, registry, progress, cancel) -> None:
        self.run_id = run_id
        self.store = store
        self.workers = max(1, int(workers))
        self.registry = registry
        self.progress = progress
        self.cancel = cancel or (lambda: False)
        # the one parse and validation of the run's spec: workers get the plan built
        # from it (see tuidl.experiment.workplan), never the TOML
        self.user_spec = loads_spec(run["spec_toml"], stored=True)
        self.seed = int(run["seed"])
        self.spec = validate(self.user_spec, registry)
        self.plan = plan(self.spec.cv.grid, self.spec.cv.method, self.spec.cv.folds)
        self.results: dict[int, dict[int, FoldResult | dict]] = {}
        self.closed: set[int] = set()  # trials that diverged or failed: skip their folds
        self.done_at_start = 0
        self.done = 0
        self.processes = 1  # worker processes, and the folds they may hold (_parallelism)
        self.max_folds = 1
        self.note = ""  # why fewer processes than --workers, for the progress display
        self.model_dir: Path | None = None  # where holdout models are kept for cv.refit = reuse
        self.state_dir: Path | None = None  # where halving rungs keep training states

    # -- the whole run -----------------------------------------------------------------------

    def execute(self) -> RunOutcome:
        """Run what is missing; a full disk on the way stops the run as interrupted."""
        try:
            return self._execute()
        except StorageError as exc:
            return self._interrupted(str(exc))
        except OSError as exc:
            if not is_storage_failure(exc):
                raise
            where = exc.filename or tempfile.gettempdir()  # the run's temporary files
            return self._interrupted(
                f"{where}: {exc.strerror or exc}; free space there (the run's temporary "
                "files go to TMPDIR, which may name a bigger disk)"
            )

    def _execute(self) -> RunOutcome:
        remove_stale_run_folders()  # what runs killed hard left behind (not live runs')
        data = load_data(self.spec, self.registry)
        folds = make_folds(self.spec, data.y_pool, len(data.y_val), self.seed)  # or raise
        trials = self._start_search()  # the trials so far, as the searcher planned them
        self.store.start_run(
            self.run_id, [(t.index, t.params) for t in self.plan.trials], self.plan.num_folds
        )
        self.store.reset_unfinished(self.run_id)
        self._load_done()
        # ``trials`` is the search's own list: the plan grows with it in this process
        work = WorkPlan(self.spec, self.seed, tuple(folds), trials)
        context = Context(work, self.run_id, str(self.store.path))
        tmp: Path | None = None  # the shared arrays, for worker processes
        models: Path | None = None  # kept holdout models (cv.refit = reuse)
        states: Path | None = None  # kept training states (halving rungs)
        try:
            self.processes, self.max_folds = self._parallelism(data, trials)
            if self.processes > 1:
                tmp = make_run_folder()
                data.save(tmp)
                del data
                data = Data.load(tmp)  # the parent maps the files too, for the retrain
                context = replace(context, data_dir=str(tmp))
            if self._keeps_models(trials):  # cv.refit = reuse: see tuidl.experiment.refit
                self.model_dir = models = make_run_folder()
                context = replace(context, model_dir=str(models))
            if self.spec.search is not None and is_learnable(self.spec, self.registry):
                # training states a halving rung continues (tuidl.experiment.checkpoint)
                self.state_dir = states = make_run_folder()
                context = replace(context, state_dir=str(states))
            worker = Worker(
                context, data, registry=self.registry, store=self.store, cancel=self.cancel
            )
            self._report("cv")
            try:
                self._executor(context, data, worker).run(
                    self._units(worker.trials), self._on_result, self._should_run, self.cancel
                )
            except (Cancelled, KeyboardInterrupt):
                return self._interrupted()
            worker.clear_cache()
            return self._final(worker)
        finally:
            for folder in (tmp, models, states):
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)

    def _executor(self, context: Context, data: Data, worker: Worker) -> Any:
        """Where the units run: worker processes when the data was shared for them
        (``context.data_dir``), else this process. The Dask runner overrides this."""
        if context.data_dir:
            specs = worker.trials
            return ProcessExecutor(
                context,
                self.processes,
                fold_of=lambda unit: fold_tag(specs[unit.trials[0]], unit.fold),
                max_folds=self.max_folds,
            )
        return SerialExecutor(worker)

    def _parallelism(self, data: Data, specs: list[Spec]) -> tuple[int, int]:
        """(worker processes, distinct folds they may hold at once); one process means
        this one, with the data in memory (no files, no spawn, all cores for BLAS).

        Each fold's features take ``rows × feature_bytes_per_row`` (estimated before any
        data flows); as many folds as fit in :func:`fold_memory_budget` may be held at
        once, at least one. The processes are as many as the work can keep busy under that
        cap: with one fold at a time, a single trial (one unit per fold) keeps one busy,
        so it runs here; a grid keeps ``min(workers, trials per fold)`` busy. ``specs``:
        every trial's spec (the plan's: :mod:`tuidl.experiment.workplan`)."""
        if self.workers <= 1 or self._pending_count() <= 1:
            return 1, 1
        units: dict[tuple[int, str], int] = {}  # (fold, chain) -> pending units
        for unit in self._fold_units(specs):
            key = (unit.fold, specs[unit.trials[0]].preprocess_key)
            units[key] = units.get(key, 0) + 1
        rows = len(data.y_pool) + (len(data.y_val) if self.spec.cv.method != "kfold" else 0)
        chains = {s.preprocess_key: s for s in specs}.values()
        row_bytes = max(feature_bytes_per_row(s, self.registry, data.X_pool) for s in chains)
        fold_bytes = rows * row_bytes
        budget = fold_memory_budget()
        max_folds = max(1, min(self.workers, budget // max(fold_bytes, 1)))
        busy = sum(sorted(units.values(), reverse=True)[:max_folds])
        processes = min(self.workers, self._pending_count(), busy)
        if processes < min(self.workers, self._pending_count()):
            where = "in this process" if processes == 1 else f"{processes} worker processes"
            folds = "one fold" if max_folds == 1 else f"{max_folds} folds"
            if max_folds < len(units):  # the budget, not the work, holds it back
                self.note = (
                    f"running {where} instead of {self.workers}: a fold's features take "
                    f"about {fold_bytes / 2**20:,.0f} MiB and the fold budget is "
                    f"{budget / 2**20:,.0f} MiB, so {folds} at a time, with work for "
                    f"{busy}; raise {FOLD_MEMORY_ENV} (MiB) to run more at once"
                )
            else:  # e.g. --workers 500: more memory would not help, nor more workers
                self.note = (
                    f"running {where} instead of {self.workers}: the run has work for "
                    f"only {busy} at once (kNN trials that differ only in k are one unit), "
                    "so more workers would not make it faster"
                )
        return processes, max_folds

    def _interrupted(self, reason: str = "") -> RunOutcome:
        """Mark the run interrupted (resumable). ``reason``: why, when it was not a cancel
        (a full disk, work left over); the message then leads with it. On a full disk the
        status itself may not be writable: the run then stays marked running, which a
        resume (or ``tuidl cancel``) handles like a killed run."""
        total = self.plan.num_tasks
        message = (
            f"interrupted after {self.done} of {total} folds; finished folds are stored. "
            f"Resume with: tuidl run --resume {self.run_id} --store {self.store.path}"
        )
        if reason:
            message = f"stopped: {reason}; {message}"
        with contextlib.suppress(StorageError):  # see above: the caller gets the message
            self.store.set_status(self.run_id, "interrupted", message)
        return RunOutcome(self.run_id, "interrupted", message)

    def _final(self, worker: Worker) -> RunOutcome:
        self._close_search()  # trials a searcher left below the full budget: pruned
        missing = self._missing()
        if missing:  # the executor stopped early (it should not): never a finished run
            return self._interrupted(f"work left after the trials ran: {missing}")
        run = self.store.get_run(self.run_id)
        best = best_trial(run["trials"])
        if best is None:
            message = "no trial finished without diverging or failing; nothing to retrain"
            self.store.set_status(self.run_id, "failed", message)
            raise TuidlError(f"run {self.run_id}: {message} (see `tuidl show {self.run_id}`)")
        best = self._selected(run["trials"], best)  # cv.select: the best, or one_se
        self._report("final")
        try:
            (result,) = worker.run(Unit(FINAL, (best["trial"],)))
        except (Cancelled, KeyboardInterrupt):
            return self._interrupted()
        if result.status != "ok":
            message = f"the retrain of the best trial {result.status}: {result.message}"
            self.store.set_status(self.run_id, "failed", message)
            raise TuidlError(f"run {self.run_id}: {message}")
        test = result.test or {}
        self.store.record_test(
            self.run_id,
            best_trial=best["trial"],
            params=best["params"],
            test_accuracy=result.score,
            num_test=test.get("num_test", 0),
            confusion=test.get("confusion"),
            class_names=worker.data.class_names,
            train_acc=result.train_acc,
            fit_seconds=result.fit_seconds,
            metrics=test.get("metrics"),
        )
        # what the weight and example pictures need (tuidl show, the workbench's Pictures)
        store_pictures.record(
            self.store,
            self.run_id,
            predictions=test.get("predictions"),
            weights=test.get("weights"),
            per_class=test.get("per_class", False),
            image_shape=tuple(worker.data.X_test.shape[1:]),
            note=test.get("weights_note", ""),
        )
        missing = self._missing()
        if missing:  # checked again from the store: finished means nothing pending
            return self._interrupted(f"work left after the retrain: {missing}")
        self.store.set_status(self.run_id, "finished")
        self._report("done")
        return RunOutcome(self.run_id, "finished", "")

    # -- selection and kept models (cv.select, cv.refit) -------------------------------------

    def _selected(self, trials: list[dict], best: dict) -> dict:
        """The trial ``cv.select`` picks (see :mod:`tuidl.experiment.ranking`), in
        :func:`best_trial`'s shape; ``best`` itself for the default rule."""
        cv = self.spec.cv
        if cv.select == "best":
            return best
        comps = ranking.compare(
            trials,
            method=cv.method,
            folds=self.plan.num_folds if cv.method == "kfold" else 1,
            num_validation=self.spec.split.num_validation,
        )
        keys = list(cv.grid)
        pick = ranking.select(
            trials, comps, cv.select, ranking.directions(self.spec, self.registry), keys
        )
        chosen = next((t for t in trials if t["index"] == pick), None)
        if chosen is None:
            return best
        return {"trial": pick, **{k: chosen[k] for k in ("params", "mean", "std")}}

    def _keeps_models(self, specs: list[Spec]) -> bool:
        """Whether holdout models are kept for the final test (``cv.refit`` resolves to
        reuse and the model is learnable; a kNN refitted on the same rows is the same)."""
        return (
            refit.mode(self.spec) == "reuse"
            and bool(specs)
            and is_learnable(specs[0], self.registry)
        )

    def _on_result(self, results: list[FoldResult]) -> None:
        super()._on_result(results)
        for r in results:  # a continuation is done with its source's state
            if r.status == "ok" and (source := self.warm.get(r.trial)) is not None:
                checkpoint.discard(self.state_dir, source, r.fold)
        if self.model_dir is not None:  # keep only the models that may still be tested
            refit.discard(self.model_dir, self._selectable())

    def _selectable(self) -> set[int]:
        """The trials ``cv.select`` could still pick, from the holdout results so far."""
        trials = []
        for t in self.plan.trials:
            r = self.results.get(t.index, {}).get(0)
            if r is None:
                continue
            status = r.status if isinstance(r, FoldResult) else r.get("status")
            score = r.score if isinstance(r, FoldResult) else r.get("score")
            ok = status == "ok" and score is not None
            trials.append(
                {
                    "index": t.index,
                    "params": t.params,
                    "status": "ok" if ok else str(status),
                    "mean": score if ok else None,
                    "std": 0.0,
                    "fold_scores": [score],
                }
            )
        comps = ranking.compare(
            trials, method="holdout", folds=1, num_validation=self.spec.split.num_validation
        )
        best = ranking.best_index(trials)
        keep = set(ranking.candidates(comps, "one_se")) if self.spec.cv.select != "best" else set()
        return keep | ({best} if best is not None else set())

    # -- bookkeeping -------------------------------------------------------------------------

    def _units(self, specs: list[Spec]) -> Iterator[Unit | None]:
        """The executor's unit stream: :meth:`_fold_units` of the trials known so far, then
        the searcher's next ones (see :class:`~tuidl.experiment.scheduler.Scheduling`)."""
        return self._search_units(specs, self._fold_units)

    def _fold_units(self, specs: list[Spec]) -> Iterator[Unit]:
        """Fold-major units of the folds not yet handed out, up to each trial's budget;
        within a fold, trials sharing a preprocessing chain are adjacent, and trials of a
        model that predicts many values of a param at once (kNN's k, declared: see
        :class:`tuidl.api.PredictsMany`) that differ only in it share one unit.
        ``specs``: every trial's spec, in trial order."""
        shared = self._predicts_many(specs)
        for fold in range(self.plan.num_folds):
            todo = [
                t.index
                for t in self.plan.trials
                if fold not in self.results.get(t.index, {})
                and t.index not in self.closed
                and self._wanted(t.index, fold)
            ]
            todo.sort(key=lambda i: specs[i].preprocess_key)
            if shared:
                groups: dict[str, list[int]] = {}
                for i in todo:
                    groups.setdefault(_without(specs[i], shared), []).append(i)
                for members in groups.values():
                    yield Unit(fold, tuple(members))
            else:
                for i in todo:
                    yield Unit(fold, (i,))

    def _predicts_many(self, specs: list[Spec]) -> str:
        """The param the trials' model declares it predicts many values of at once
        (``extra["predicts_many"]``), when every trial uses that model; else ``""``."""
        if len(specs) < 2 or len({s.model.name for s in specs}) != 1:
            return ""
        return predicts_many(self.registry.get("model", specs[0].model.name))


def _without(spec: Spec, param: str) -> str:
    d = spec.to_dict()
    d["model"].pop(param, None)
    return json.dumps(d, sort_keys=True, default=str)


def summary(store: Store, run_id: int) -> dict[str, Any]:
    """The ``--json`` shape: ``{run_id, status, trials: [{params, fold_scores, mean, std,
    fit_seconds, status}], best: {params, mean, std}, test_accuracy, test_metrics}``;
    ``test_metrics`` holds the per-attribute metrics of a multi-label run, else None.
    Each trial's ``vs_best`` is its comparison with the best (``near_best``, ``p``,
    ``diff``, ``se``; see :mod:`tuidl.experiment.ranking`), ``None`` for a trial that is
    not ok; ``tested`` names the trial whose model was tested and how (``refit``)."""
    run = store.get_run(run_id)
    best = run["best"]
    test = run["test"]
    comps = ranking.for_run(run["spec"], run["trials"])
    return {
        "run_id": run_id,
        "status": run["status"],
        "trials": [
            {
                "params": t["params"],
                "fold_scores": t["fold_scores"],
                "mean": t["mean"],
                "std": t["std"],
                "train_acc": t["train_acc"],
                "fit_seconds": t["fit_seconds"],
                "status": t["status"],
                "message": t["message"],
                "vs_best": comps[t["index"]].to_dict() if t["index"] in comps else None,
            }
            for t in run["trials"]
        ],
        "best": None
        if best is None
        else {
            "trial": best["trial"],
            "params": best["params"],
            "mean": best["mean"],
            "std": best["std"],
        },
        "tested": None
        if not test
        else {"trial": test["best_trial"], "refit": refit.stored_mode(run["spec"])},
        "test_accuracy": test["test_accuracy"] if test else None,
        "test_metrics": test.get("metrics") if test else None,
    }
