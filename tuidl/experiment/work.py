"""One unit of work: a fold of one or more trials, computed where an executor puts it.

A :class:`Worker` holds the run's split arrays (in memory, or memory-mapped ``.npy`` files
in a worker process), the run's plan (:class:`~tuidl.experiment.workplan.WorkPlan`: the
normalized specs and folds the runner validated once; a worker never parses or validates a
spec), the registry and a store connection for curves. For a unit it prepares the fold's
data (preprocessing fitted on that fold's training rows only), builds the model from the
trial's spec, trains or fits it, and returns one :class:`FoldResult` per trial.

Preprocessing cache: the output for a (chain params, fold) pair is computed once and reused
by every following unit that needs it. Only the most recent pair is kept, because a fold of
the full CIFAR-10 is about as large as the dataset; the runner orders units fold-major and
groups equal chains within a fold, so a 5-fold grid of 20 lr × reg points fits the chain 5
times, not 100. Worker processes share one copy: the first worker to need a fold builds it
into ``.npy`` files in the run's data folder and every worker memory-maps them, so the
chain is fitted once per fold for all workers and the fold's features are held once.
A worker process drops its mapping after each unit (:meth:`Worker.release`; mapping the
files again for the next unit costs page faults, not a rebuild), and the executor deletes a
fold's files once its last unit is done, so a finished fold holds no memory; the runner
caps how many folds' features the workers hold at once (see
:data:`tuidl.experiment.runner.FOLD_MEMORY_BUDGET`).

The chain (the engine's :class:`~tuidl.engine.preprocess.Chain`) is fitted on the fold's
training rows, then applied block by block (4,096 rows) into one output array, so a fold
costs one float copy of its rows plus a block, and serial and parallel runs compute
bit-identical features.

kNN over a k grid: trials that differ only in ``model.k`` share a unit, and a model with
``predict_many(X, ks)`` computes the distances once per fold for all k (identical labels to
calling ``predict`` per k; see the engine's kNN).

Seeds: a fold's generator comes from ``SeedSequence(seed, spawn_key=(0, trial, fold))`` and
the final retrain's from ``spawn_key=(1, trial)``, so results never depend on which process
ran what, or in which order.
"""

from __future__ import annotations

import json
import math
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuidl.errors import StorageError, TuidlError, is_storage_failure
from tuidl.experiment import checkpoint, refit
from tuidl.experiment.components import build_trial
from tuidl.experiment.features import (  # drop_fold, feature_bytes_per_row: re-exported
    allocate_npy,
    build_chain,
    drop_fold,  # noqa: F401
    feature_bytes_per_row,  # noqa: F401
    file_allocator,
    fold_tag,
    storage_error,
    take,
    transform_blocks,
)
from tuidl.experiment.recording import (  # StoreSink: re-exported for the benchmarks
    StoreSink,
    attribute_accuracy,
    first_layer,
    plain,
)
from tuidl.experiment.spec import Spec
from tuidl.experiment.spec_check import is_learnable, predicts_many
from tuidl.experiment.trainer import Cancelled, NullSink, iterations_per_epoch, predict
from tuidl.experiment.trainer import train as train_loop
from tuidl.experiment.workplan import WorkPlan
from tuidl.plugins.api import KeepsState, ReportsMetrics

FINAL = -1
MAX_LOSS_POINTS = 5000  # per fold; longer loss curves are stored as bucket means


@dataclass(frozen=True)
class Unit:
    """A fold (``FINAL`` for the retrain on all training rows, scored on test) of one or
    more trials (several only for a kNN k-group). ``specs``: each trial's normalized spec
    (the runner's, see :mod:`tuidl.experiment.workplan`), so a worker process runs a trial
    a searcher created after the worker got its plan without validating anything; empty
    when the worker's plan has the trials already."""

    fold: int
    trials: tuple[int, ...]
    specs: tuple[Spec, ...] = field(default=(), compare=False, hash=False)
    # per trial: the epochs of the full training when it trains only their start (a
    # halving rung), and the trial whose kept state it continues (see tuidl.plugins.search)
    horizons: tuple[float | None, ...] = field(default=(), compare=False, hash=False)
    warm: tuple[int | None, ...] = field(default=(), compare=False, hash=False)

    def only(self, keep: list[int]) -> Unit:
        """The unit of the trials at positions ``keep``, each with what goes with it."""

        def pick(values: tuple) -> tuple:
            return tuple(values[i] for i in keep) if values else ()

        return Unit(
            self.fold,
            pick(self.trials),
            specs=pick(self.specs),
            horizons=pick(self.horizons),
            warm=pick(self.warm),
        )


@dataclass
class FoldResult:
    trial: int
    fold: int
    status: str  # ok, diverged, failed
    score: float | None
    train_acc: float | None = None
    fit_seconds: float | None = None
    message: str = ""
    test: dict[str, Any] | None = None  # the final unit: confusion, num_test


ARRAYS = ("X_pool", "y_pool", "X_val", "y_val", "X_test", "y_test")


@dataclass
class Data:
    """The run's split: the pool CV folds are cut from (the split's training rows),
    validation rows (holdout) and test rows."""

    X_pool: np.ndarray
    y_pool: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        """Write each array once as ``.npy`` so worker processes can memory-map them. A
        full disk raises ``OSError`` (ENOSPC): the files are allocated before they are
        written (see :func:`~tuidl.experiment.features.allocate_npy`)."""
        for name in ARRAYS:
            arr = getattr(self, name)
            if arr.size == 0:  # nothing to map (an empty file cannot be mapped)
                np.save(folder / f"{name}.npy", arr)
                continue
            out = allocate_npy(folder / f"{name}.npy", arr.shape, arr.dtype)
            out[...] = arr
            out.flush()
            del out
        (folder / "class_names.json").write_text(json.dumps(self.class_names))

    @classmethod
    def load(cls, folder: Path) -> Data:
        arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in ARRAYS}
        names = json.loads((folder / "class_names.json").read_text())
        return cls(**arrays, class_names=names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Context:
    """What a worker needs besides the arrays (picklable): the run's :class:`WorkPlan`
    (validated once, by the runner) and where the run writes."""

    plan: WorkPlan
    run_id: int | None = None
    store_path: str | None = None
    data_dir: str | None = None
    model_dir: str | None = None  # holdout models kept for cv.refit = reuse (see refit)
    state_dir: str | None = None  # training states kept between halving rungs (checkpoint)

    @property
    def seed(self) -> int:
        return self.plan.seed


def fold_rng(seed: int, trial: int, fold: int) -> np.random.Generator:
    key = (1, trial) if fold == FINAL else (0, trial, fold)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def continued_note(source: int, epoch: float) -> str:
    """A continued fold's message: which trial it continued and from which epoch (what
    :func:`continued_from` reads back; the epochs it trained are the ones after it)."""
    return f"continued trial #{source + 1} from epoch {epoch:g}"


def continued_from(message: str) -> float:
    """The epoch a fold's training continued from, read from its :func:`continued_note`
    message; 0.0 for a fold trained from the start."""
    found = re.fullmatch(r"continued trial #\d+ from epoch (\S+)", message or "")
    return float(found.group(1)) if found else 0.0


def _rung(unit: Unit, i: int) -> tuple[float | None, int | None]:
    """(horizon, warm start) of the unit's ``i``-th trial (see :class:`Unit`)."""
    horizon = unit.horizons[i] if i < len(unit.horizons) else None
    return horizon, unit.warm[i] if i < len(unit.warm) else None


class Worker:
    """Computes units over one copy of the data (see the module docstring)."""

    def __init__(
        self,
        context: Context,
        data: Data,
        *,
        registry: Any = None,
        store: Any = None,
        cancel: Callable[[], bool] | None = None,
    ) -> None:
        """A worker for ``context.plan`` over ``data``: it takes the plan's normalized
        specs and folds as they are and parses or validates nothing (see
        :mod:`tuidl.experiment.workplan`). ``registry`` builds the components (the
        process-wide one unless given)."""
        if registry is None:
            from tuidl.plugins.manager import get_registry

            registry = get_registry()
        self.registry = registry
        self.context = context
        self.data = data
        self.store = store
        self.cancel = cancel
        self.spec = context.plan.spec
        # the plan's list: in the runner's own worker it is the runner's, growing as the
        # searcher asks
        self.trials = context.plan.trials
        # trials past the plan that units brought (a worker process, in ask order, which
        # need not be trial order): see :meth:`spec_of`
        self._given: dict[int, Spec] = {}
        self.folds = context.plan.folds
        self._cache_key: tuple[str, int] | None = None
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._cache_shared = False  # the cache maps a shared fold's files
        self.preprocess_fits = 0  # chains fitted (tests check the cache with it)
        self.share_folds = True  # in worker processes: one copy of each fold for all

    # -- data --------------------------------------------------------------------------------

    def clear_cache(self) -> None:
        self._cache_key = self._cache = None
        self._cache_shared = False

    def release(self) -> None:
        """Drop the cache if it only maps a shared fold's files (a worker process, after
        each unit): an idle worker must not keep a finished fold's pages alive while another
        builds the next fold. The next unit of the same fold maps the files again (page
        faults on pages still in memory; nothing is rebuilt)."""
        if self._cache_shared:
            self.clear_cache()

    def prepared(self, spec: Spec, fold: int):
        """(X_train, y_train, X_eval, y_eval) for a fold, preprocessed; cached (see above).
        For ``FINAL`` the training rows are the whole pool and the eval rows the test rows.

        In a worker process (``context.data_dir`` set) CV folds are built once for all
        workers, into ``.npy`` files they memory-map (see :meth:`_shared`)."""
        key = (spec.preprocess_key, fold)
        if self._cache_key == key and self._cache is not None:
            return self._cache
        self.clear_cache()  # free the previous fold before building the next
        data_dir = self.context.data_dir
        if fold != FINAL and data_dir is not None and self.share_folds:
            self._cache = self._shared(spec, fold, data_dir)
            self._cache_shared = True
        else:
            self._cache = self._build(spec, fold, lambda part, shape, dtype: np.empty(shape, dtype))
        self._cache_key = key
        return self._cache

    def _rows(self, fold: int):
        """(X_train source, train rows, y_train, X_eval source, eval rows, y_eval); rows
        ``None`` means all rows of the source."""
        d = self.data
        if fold == FINAL:
            return d.X_pool, None, np.asarray(d.y_pool), d.X_test, None, np.asarray(d.y_test)
        f = self.folds[fold]
        y = np.asarray(d.y_pool)
        if self.spec.cv.method == "kfold":
            return d.X_pool, f.train, y[f.train], d.X_pool, f.val, y[f.val]
        return d.X_pool, f.train, y[f.train], d.X_val, None, np.asarray(d.y_val)

    def _build(self, spec: Spec, fold: int, allocate):
        """Fit the chain on the fold's training rows, then transform training and eval rows
        block by block into arrays from ``allocate(part, shape, dtype)``.

        The rows are gathered for the fit only; the transform reads them again block by
        block, so the raw copy is gone before the output exists. Block-wise in every mode
        (memory or shared files), so serial and parallel runs compute identical features."""
        Xtr_src, tr_rows, ytr, Xev_src, ev_rows, yev = self._rows(fold)
        chain = build_chain(spec, self.registry)
        try:
            chain.fit(take(Xtr_src, tr_rows))
            Xtr = transform_blocks(
                chain, Xtr_src, tr_rows, lambda sh, dt: allocate("train", sh, dt)
            )
            Xev = transform_blocks(chain, Xev_src, ev_rows, lambda sh, dt: allocate("eval", sh, dt))
        except StorageError:
            raise
        except TuidlError as exc:
            raise TuidlError(f"preprocess: {exc}") from None
        except Exception as exc:
            if is_storage_failure(exc):
                raise storage_error(exc, self.context.data_dir) from None
            raise TuidlError(
                f"preprocess ({', '.join(p.name for p in spec.preprocess)}) failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.preprocess_fits += 1
        return Xtr, ytr, Xev, yev

    def _shared(self, spec: Spec, fold: int, data_dir: str):
        """A CV fold built by whichever worker needs it first, written to ``.npy`` files in
        the run's data folder and memory-mapped by every worker: the fold's features exist
        once (not once per worker) and the chain is fitted once per fold for all workers.

        A file lock per (chain, fold) serializes building and opening. The executor deletes
        the files when the fold's last unit is done (:func:`drop_fold`); a unit arriving
        after that rebuilds them (identical features)."""
        import fcntl

        folder = Path(data_dir) / "folds"
        folder.mkdir(exist_ok=True)
        tag = fold_tag(spec, fold)
        y = np.asarray(self.data.y_pool)
        with open(folder / f"{tag}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (folder / f"{tag}.done").exists():
                    try:
                        Xtr, _, Xev, _ = self._build(spec, fold, file_allocator(folder, tag))
                        for arr in (Xtr, Xev):
                            if isinstance(arr, np.memmap):
                                arr.flush()
                        del Xtr, Xev
                        (folder / f"{tag}.done").touch()
                    except BaseException:
                        # a half-written fold (a full disk) gives its space back at once
                        for part in ("train", "eval"):
                            (folder / f"{tag}.{part}.npy").unlink(missing_ok=True)
                        raise
                Xtr = np.load(folder / f"{tag}.train.npy", mmap_mode="r")
                Xev = np.load(folder / f"{tag}.eval.npy", mmap_mode="r")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        f = self.folds[fold]
        ytr = y[f.train]
        yev = y[f.val] if self.spec.cv.method == "kfold" else np.asarray(self.data.y_val)
        return Xtr, ytr, Xev, yev

    # -- units -------------------------------------------------------------------------------

    def run(self, unit: Unit) -> list[FoldResult]:
        """Compute a unit; a failure becomes a ``failed`` result naming the error (the run
        goes on); :class:`~tuidl.experiment.trainer.Cancelled` propagates, and so does a
        :class:`~tuidl.errors.StorageError` (a full disk while writing the fold's features
        or its curves), which stops the run instead of failing the trials."""
        start = time.perf_counter()
        try:
            for t, given in zip(unit.trials, unit.specs, strict=False):
                if t >= len(self.trials):
                    self._given[t] = given
            spec = self.spec_of(unit.trials[0])
            Xtr, ytr, Xev, yev = self.prepared(spec, unit.fold)
            if is_learnable(spec, self.registry):
                if unit.fold == FINAL and refit.mode(spec) == "reuse":
                    return [refit.reuse(self, t, Xtr, ytr, Xev, yev, start) for t in unit.trials]
                return [
                    self._train(t, unit.fold, Xtr, ytr, Xev, yev, *_rung(unit, i))
                    for i, t in enumerate(unit.trials)
                ]
            return self._fit(unit, Xtr, ytr, Xev, yev, start)
        except (Cancelled, StorageError):
            raise  # a full disk stops the run; it is not this trial's failure
        except TuidlError as exc:
            message = str(exc)
        except MemoryError as exc:
            # numpy says what it could not allocate ("291 TiB for an array with shape
            # (64, 10000000000000)"): that tells a too-large model from a too-large split
            what = f" ({exc})" if str(exc) else ""
            message = (
                f"out of memory{what}; use a smaller model, fewer workers (--workers) "
                "or a smaller split"
            )
        except Exception as exc:
            if is_storage_failure(exc):
                raise storage_error(exc, self.context.data_dir) from None
            tb = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" (at {Path(tb[0].filename).name}:{tb[0].lineno})" if tb else ""
            message = f"{type(exc).__name__}: {exc}{where}"
        seconds = time.perf_counter() - start
        return [
            FoldResult(t, unit.fold, "failed", None, fit_seconds=seconds, message=message)
            for t in unit.trials
        ]

    def spec_of(self, trial: int) -> Spec:
        """Trial ``trial``'s normalized spec: the plan's, else the one a unit brought
        (:meth:`run` keeps those). A trial neither has raises :class:`TuidlError` naming
        it (a unit made without its specs, for a trial planned after this worker's plan
        was sent); :meth:`run` reports that as the unit's failure."""
        if trial < len(self.trials):
            return self.trials[trial]
        spec = self._given.get(trial)
        if spec is None:
            raise TuidlError(
                f"trial {trial}: not in this worker's plan ({len(self.trials)} trials) and "
                "its unit carried no spec"
            )
        return spec

    def _fit(self, unit: Unit, Xtr, ytr, Xev, yev, start: float) -> list[FoldResult]:
        specs = [self.spec_of(t) for t in unit.trials]
        model = self.registry.create("model", specs[0].model.name, specs[0].model.params)
        model.fit(Xtr, ytr)
        if len(specs) > 1:  # grouped by the runner: the model declares predicts_many
            param = predicts_many(self.registry.get("model", specs[0].model.name))
            values = [s.model.params[param] for s in specs]
            many = model.predict_many(Xev, values)
            preds = [np.asarray(many[v]) for v in values]
        else:
            preds = [predict(model, Xev)]
        # one distance computation served every k: split its time evenly among the trials
        seconds = (time.perf_counter() - start) / len(specs)
        out = []
        for t, pred in zip(unit.trials, preds, strict=True):
            score = float(np.mean(pred == yev)) if len(yev) else None
            test = self._test(pred, yev, unit)
            if test is not None:
                test.update(first_layer(model, specs[0].model.name))
            out.append(FoldResult(t, unit.fold, "ok", score, None, seconds, test=test))
        return out

    def _test(self, pred, y, unit: Unit, loss: Any = None) -> dict[str, Any] | None:
        """What the final unit records besides its accuracy: the confusion matrix for class
        labels; for multi-label targets (N, A) the per-attribute ``metrics`` instead, from
        the loss's optional ``metrics(Y_true, Y_pred, names)`` hook, else per-attribute
        accuracy (see :func:`attribute_accuracy`)."""
        if unit.fold != FINAL:
            return None
        if np.ndim(y) != 1:
            # multi-label targets (N, A): a class confusion matrix means nothing there
            return {"confusion": None, "num_test": len(y), "metrics": self._metrics(y, pred, loss)}
        c = self.data.num_classes
        cm = np.zeros((c, c), dtype=np.int64)
        np.add.at(cm, (np.asarray(y), np.asarray(pred)), 1)
        # the predictions find the test images of a confusion pair later (store_pictures)
        return {"confusion": cm.tolist(), "num_test": len(y), "predictions": np.asarray(pred)}

    def _metrics(self, y, pred, loss: Any) -> dict[str, Any]:
        """Per-attribute test metrics, as plain JSON (the store and --json keep them): the
        loss's ``metrics`` hook, else per-attribute accuracy. A hook that raises or returns
        something unusable costs the extra metrics, never the finished run: tuidl falls
        back to accuracy and says why under ``"error"``."""
        names = list(self.data.class_names)
        if len(names) != np.shape(y)[1]:
            names = [f"attr{i}" for i in range(np.shape(y)[1])]
        if isinstance(loss, ReportsMetrics):  # the declared capability (tuidl.api)
            try:
                return plain(loss.metrics(y, pred, names))
            except Exception as exc:
                fallback = attribute_accuracy(y, pred, names)
                fallback["error"] = f"the loss's metrics hook failed: {type(exc).__name__}: {exc}"
                return fallback
        return attribute_accuracy(y, pred, names)

    def _train(
        self,
        trial: int,
        fold: int,
        Xtr,
        ytr,
        Xev,
        yev,
        horizon: float | None = None,
        warm: int | None = None,
    ) -> FoldResult:
        """Train one fold. ``horizon``: this trial trains the first epochs of a
        ``horizon``-epoch training, and keeps its state for a later rung; ``warm``: the
        trial whose kept state it continues (from scratch when there is none)."""
        spec = self.spec_of(trial)
        start = time.perf_counter()
        rng = fold_rng(self.context.seed, trial, fold)
        # the loss's optional fit hook sees this fold's training rows only
        parts = build_trial(spec, self.registry, Xtr, ytr, self.data.num_classes, rng)
        model, loss, optimizer = parts.model, parts.loss, parts.optimizer
        t = spec.require_training()
        states = self.context.state_dir if fold != FINAL else None
        # a kept state replaces the fresh model's weights and the generator's state alike
        resume = checkpoint.load(states, warm, fold) if warm is not None else None
        if resume is not None and not isinstance(optimizer, KeepsState):
            resume = None  # a plugin optimizer that cannot restore its state: from scratch
        total = t.iterations or round(
            (t.epochs or 1.0) * iterations_per_epoch(len(ytr), t.batch_size, t.sampling)
        )
        sink: Any = NullSink()
        if self.store is not None and self.context.run_id is not None:
            self.store.clear_curves(self.context.run_id, trial, fold)
            sink = StoreSink(
                self.store,
                self.context.run_id,
                trial,
                fold,
                max(1, math.ceil(total / MAX_LOSS_POINTS)),
                model=model,  # its first-layer weights, drawn live by the workbench
                image_shape=tuple(self.data.X_pool.shape[1:]),
                class_names=list(self.data.class_names),
            )
        final = fold == FINAL
        result = train_loop(
            model,
            optimizer,
            Xtr,
            ytr,
            None if final else Xev,
            None if final else yev,
            rng=rng,
            epochs=t.epochs,
            iterations=t.iterations,
            batch_size=t.batch_size,
            sampling=t.sampling,
            patience=t.patience,
            keep_best=t.keep_best,
            train_sample=t.train_sample,
            health=t.health,
            sink=sink,
            cancel=self.cancel,
            schedule=t.schedule,
            warmup_epochs=t.warmup_epochs,
            step_epochs=t.step_epochs,
            step_factor=t.step_factor,
            horizon=horizon,
            resume=resume,
            snapshot=horizon is not None and states is not None,
        )
        if result.state is not None and states is not None:
            checkpoint.save(states, trial, fold, result.state)
        if result.status != "ok":
            return FoldResult(
                trial, fold, result.status, None, None, time.perf_counter() - start, result.message
            )
        if final:
            pred = predict(model, Xev)
            score = float(np.mean(pred == yev)) if len(yev) else None
            test = self._test(pred, yev, Unit(FINAL, (trial,)), loss)
            if test is not None:
                test.update(first_layer(model, spec.model.name))
        else:
            score, test = result.val_acc, None
        seconds = time.perf_counter() - start
        if not final and self.context.model_dir and refit.mode(spec) == "reuse":
            refit.save(
                self.context.model_dir,
                trial,
                model.get_state(),
                train_acc=result.train_acc,
                fit_seconds=seconds,
            )
        # the epochs this fold trained are the ones after its warm start: say where it began
        note = continued_note(warm or 0, result.resumed_at) if resume else ""
        return FoldResult(trial, fold, "ok", score, result.train_acc, seconds, note, test=test)
