"""The minibatch training loop for learnable models, and accuracy scoring.

:func:`train` runs the classic loop on a model that is already ``setup``::

    for it in range(num_iterations):
        idx = rng.choice(N, batch_size)          # or a slice of a shuffled epoch
        loss, grads = model.loss(X[idx], y[idx]) # includes L2 via the model's reg
        optimizer.step(model.params, grads)
        if end of epoch: check accuracies, optimizer.end_epoch() (lr decay)

- An epoch is ``max(N // batch_size, 1)`` iterations with replacement sampling (the classic
  recipe) and ``ceil(N / batch_size)`` with shuffled epochs (every row once per epoch).
- ``batch_size = N`` with ``sampling = "epoch"`` is full-batch gradient descent; 1 is SGD.
- A model may declare ``min_batch_rows`` (batchnorm needs 2: one row has no variance). With
  shuffled epochs a last batch shorter than that joins the batch before it (101 rows in
  batches of 50 make batches of 50 and 51); a ``batch_size`` or a training set smaller
  than it raises :class:`TuidlError` before the first step.
- Per epoch (and after the last iteration when it ends mid-epoch): train accuracy on a fixed
  sample of at most ``train_sample`` rows (a cheap progress signal: scoring all 49,000 rows
  every epoch would cost more than a tenth of an epoch), and validation accuracy.
- Early stopping: with ``patience`` > 0, stop after that many epoch checks without a better
  validation accuracy. ``keep_best`` restores the parameters of the best check at the end
  (``model.get_state``/``set_state``), so the reported validation accuracy is the best one.
- Per-layer health (``health=True``): about :data:`HEALTH_SAMPLES` times a fold (at most every
  :data:`HEALTH_MIN_EVERY` iterations) a :class:`~tuidl.engine.health.HealthProbe` measures
  each weight's update/weight ratio and gradient norm around the optimizer step, plus the
  model's per-layer statistics when it declares :class:`tuidl.api.ReportsHealth`, and hands
  them to the sink's ``health``.
- A learning-rate schedule (``schedule``, :mod:`tuidl.engine.schedules`) multiplies the
  optimizer's own rate before each step; ``end_epoch`` still applies its ``lr_decay``.
- Continuation (``snapshot``/``resume``, for successive halving's rungs): ``snapshot=True``
  returns the whole loop state at the end (:class:`TrainState`: model, optimizer, generator,
  shuffled order, best check so far) before keep-best restores anything; ``resume`` starts
  from such a state and trains on to ``epochs``. Training 1 epoch, then resuming to 3, then
  to 9 gives exactly the 9-epoch training, provided ``horizon`` (the epochs a schedule
  spans) is the same in each piece. A state saved after early stopping trains no further.
- A NaN or inf loss ends the fold with status ``"diverged"`` and a message suggesting a
  lower learning rate. ``cancel()`` is checked every iteration and raises :class:`Cancelled`.

Events go to a sink (see :class:`EventSink`): loss values are buffered in a list and handed
over at most every ``flush_seconds`` (0.5 s) and at each epoch check, so a store behind the
sink costs a few microseconds per iteration, not a database write.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tuidl.engine.schedules import factor as lr_factor
from tuidl.errors import TuidlError

FLUSH_SECONDS = 0.5
HEALTH_SAMPLES = 200  # health samples per fold, about
HEALTH_MIN_EVERY = 20  # iterations between health samples, at least
SCORE_CHUNK = 5000  # rows per predict call when scoring: bounds the activations' memory


class Cancelled(Exception):
    """Raised inside :func:`train` when the cancel check says stop."""


class EventSink(Protocol):
    """Receives a fold's training events. ``losses`` gets consecutive iterations starting at
    ``first_iteration`` (1-based); ``epoch`` gets one check. ``flush`` is called last."""

    def losses(self, first_iteration: int, values: list[float]) -> None: ...

    def epoch(self, epoch: float, train_acc: float, val_acc: float | None, lr: float) -> None: ...

    def health(self, iteration: int, stats: dict[str, float]) -> None: ...

    def flush(self) -> None: ...


class NullSink:
    """Discards every event."""

    def losses(self, first_iteration: int, values: list[float]) -> None:
        pass

    def epoch(self, epoch: float, train_acc: float, val_acc: float | None, lr: float) -> None:
        pass

    def health(self, iteration: int, stats: dict[str, float]) -> None:
        pass

    def flush(self) -> None:
        pass


class ListSink:
    """Keeps every event in lists (tests, and the final retrain's curves in memory)."""

    def __init__(self) -> None:
        self.loss_values: list[float] = []
        self.epochs: list[tuple[float, float, float | None, float]] = []
        self.health_samples: list[tuple[int, dict[str, float]]] = []
        self.flushes = 0

    def losses(self, first_iteration: int, values: list[float]) -> None:
        assert first_iteration == len(self.loss_values) + 1
        self.loss_values.extend(values)

    def epoch(self, epoch: float, train_acc: float, val_acc: float | None, lr: float) -> None:
        self.epochs.append((epoch, train_acc, val_acc, lr))

    def health(self, iteration: int, stats: dict[str, float]) -> None:
        self.health_samples.append((iteration, stats))

    def flush(self) -> None:
        self.flushes += 1


@dataclass
class TrainState:
    """Everything :func:`train` needs to continue a training exactly (see the module
    docstring). ``model``: ``get_state()``; ``optimizer``: the engine optimizer's
    ``get_state()``; ``rng``: the generator's ``bit_generator.state`` (the model's dropout
    draws from the same generator); ``perm``/``pos``: the shuffled epoch in progress;
    ``first``: the next loss value's index; ``stopped``: early stopping ended it."""

    iteration: int
    model: dict[str, dict[str, np.ndarray]]
    optimizer: dict[str, Any]
    rng: dict[str, Any]
    sample: np.ndarray | None
    perm: np.ndarray | None
    pos: int
    first: int
    base_lr: float
    best_val: float
    best_state: dict[str, dict[str, np.ndarray]] | None
    best_epoch: float | None
    best_train: float | None
    since_best: int
    train_acc: float | None
    val_acc: float | None
    stopped: bool = False


@dataclass
class TrainResult:
    """How a fold's training ended. ``val_acc`` is the reported validation accuracy (the
    best check's when ``keep_best``), ``train_acc`` the train-sample accuracy at that check."""

    status: str  # "ok" or "diverged"
    message: str
    iterations: int
    epochs: float
    train_acc: float | None
    val_acc: float | None
    best_epoch: float | None
    seconds: float
    state: TrainState | None = None  # with snapshot=True and status "ok"
    resumed_at: float = 0.0  # epochs a resumed training started from


def health_probe(model: Any, total: int) -> Any:
    """The :class:`~tuidl.engine.health.HealthProbe` for ``total`` iterations of ``model``:
    about :data:`HEALTH_SAMPLES` samples, weights picked by the plugin API's naming rule, and
    the model's per-layer statistics when it declares them."""
    from tuidl.engine.health import HealthProbe
    from tuidl.plugins.api import ReportsHealth, is_weight

    every = max(HEALTH_MIN_EVERY, math.ceil(total / HEALTH_SAMPLES))
    layers = model.layer_health if isinstance(model, ReportsHealth) else None
    return HealthProbe(model, every, is_weight, layers)


def accuracy(model: Any, X: np.ndarray, y: np.ndarray, chunk: int = SCORE_CHUNK) -> float:
    """Fraction of rows ``model.predict`` labels correctly (predicted in chunks)."""
    if len(y) == 0:
        return float("nan")
    return float(np.mean(predict(model, X, chunk) == y))


def predict(model: Any, X: np.ndarray, chunk: int = SCORE_CHUNK) -> np.ndarray:
    if len(X) <= chunk:
        return np.asarray(model.predict(X))
    return np.concatenate([model.predict(X[i : i + chunk]) for i in range(0, len(X), chunk)])


def iterations_per_epoch(n: int, batch_size: int, sampling: str, min_rows: int = 1) -> int:
    """Steps per epoch; with ``sampling = "epoch"`` a last batch shorter than ``min_rows``
    joins the one before it, so it is not a step of its own."""
    if sampling == "epoch":
        full, rest = divmod(n, batch_size)
        if full and 0 < rest < min_rows:
            return full
        return max(math.ceil(n / batch_size), 1)
    return max(n // batch_size, 1)


def check_batch_rows(model: Any, n: int, batch_size: int) -> int:
    """The model's ``min_batch_rows`` (1 if it declares none); raise :class:`TuidlError`
    when ``batch_size`` or the ``n`` training rows cannot give batches that large."""
    need = int(getattr(model, "min_batch_rows", 1))
    have = min(batch_size, n)
    if have < need:
        what = f"training.batch_size = {batch_size}" if batch_size < need else f"{n} training row"
        raise TuidlError(
            f"{what}: this model needs at least {need} rows per training batch (batchnorm "
            "normalizes by the batch's variance, which a single row does not have); "
            f"set training.batch_size >= {need}"
            + ("" if batch_size < need else " and train on more rows")
            + ", or turn batchnorm off"
        )
    return need


def train(
    model: Any,
    optimizer: Any,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None,
    y_val: np.ndarray | None,
    *,
    rng: np.random.Generator,
    epochs: float | None = None,
    iterations: int | None = None,
    batch_size: int = 200,
    sampling: str = "replacement",
    patience: int = 0,
    keep_best: bool = True,
    train_sample: int = 1000,
    health: bool = False,
    sink: EventSink | None = None,
    cancel: Callable[[], bool] | None = None,
    flush_seconds: float = FLUSH_SECONDS,
    schedule: str = "constant",
    warmup_epochs: float = 0.0,
    step_epochs: float = 1.0,
    step_factor: float = 0.1,
    horizon: float | None = None,
    resume: TrainState | None = None,
    snapshot: bool = False,
) -> TrainResult:
    """Train ``model`` (already ``setup``) on ``X, y``; see the module docstring.

    ``X_val``/``y_val`` may be ``None`` (the final retrain): then there is no early stopping
    or keep-best and ``val_acc`` is ``None``. Raises :class:`Cancelled` when ``cancel()`` is
    true; never raises for a diverging loss (that is a result). Raises :class:`TuidlError`
    before the first step when the model's ``min_batch_rows`` cannot be met.

    ``schedule``/``warmup_epochs``/``step_epochs``/``step_factor``: a learning-rate schedule
    (:mod:`tuidl.engine.schedules`). The optimizer keeps its own rate and per-epoch decay;
    before each step its ``lr`` is set to that decayed rate times the schedule's factor.
    An optimizer without an ``lr`` attribute cannot be scheduled: :class:`TuidlError`.
    ``horizon``: the epochs the schedule spans (default ``epochs``): a halving rung trains
    the first ``epochs`` of a ``horizon``-epoch training.

    ``resume``/``snapshot``: see :class:`TrainState`. Resuming needs an optimizer with
    ``get_state``/``set_state`` (the engine's); a state that does not fit the model or the
    optimizer raises ``ValueError`` or ``KeyError`` before any step.
    """
    sink = sink or NullSink()
    n = len(X)
    min_rows = check_batch_rows(model, n, batch_size)
    ipe = iterations_per_epoch(n, batch_size, sampling, min_rows)
    total = iterations if iterations is not None else max(round((epochs or 1.0) * ipe), 1)
    span = total if horizon is None else max(round(horizon * ipe), total)  # the schedule's
    val = (X_val, y_val) if X_val is not None and y_val is not None and len(y_val) > 0 else None
    has_val = val is not None
    if resume is None:
        sample_rng = np.random.default_rng(rng.integers(2**63))
        sample = (
            np.sort(sample_rng.choice(n, train_sample, replace=False)) if n > train_sample else None
        )
    else:
        sample = resume.sample
    X_s, y_s = (X[sample], y[sample]) if sample is not None else (X, y)
    probe = health_probe(model, total) if health else None
    scheduled = schedule != "constant" or warmup_epochs > 0
    decayed = getattr(optimizer, "lr", None)  # the optimizer's own rate, with its lr_decay
    if scheduled and not isinstance(decayed, int | float):
        raise TuidlError(
            f"training.schedule = {schedule!r}: optimizer {type(optimizer).__name__} has no "
            'numeric lr attribute to schedule; use schedule = "constant" and warmup_epochs = 0'
        )
    # the optimizer's own rate after its per-epoch decay: the schedule multiplies this one
    base_lr = float(decayed) if isinstance(decayed, int | float) else 0.0

    start = time.perf_counter()
    buffer: list[float] = []
    first = 1
    last_flush = time.monotonic()
    best_val, best_state, best_epoch, best_train = -1.0, None, None, None
    train_acc: float | None = None
    val_acc: float | None = None
    since_best = 0
    perm: np.ndarray | None = None
    pos = 0
    status, message = "ok", ""
    it = 0
    stopped = False
    if resume is not None:
        model.set_state(resume.model)
        optimizer.set_state(resume.optimizer, model.params)
        rng.bit_generator.state = resume.rng
        it, perm, pos, first = resume.iteration, resume.perm, resume.pos, resume.first
        base_lr, since_best, stopped = resume.base_lr, resume.since_best, resume.stopped
        best_val, best_state = resume.best_val, resume.best_state
        best_epoch, best_train = resume.best_epoch, resume.best_train
        train_acc, val_acc = resume.train_acc, resume.val_acc
        if scheduled:
            optimizer.lr = base_lr
    resumed_at = it / ipe
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while it < total and not stopped:
            if cancel is not None and cancel():
                sink.losses(first, buffer)
                sink.flush()
                raise Cancelled
            if sampling == "epoch":
                if perm is None or pos >= n:
                    perm, pos = rng.permutation(n), 0
                end = pos + batch_size
                if end < n and n - end < min_rows:
                    end = n  # the short remainder joins this batch (see iterations_per_epoch)
                idx = perm[pos:end]
                pos = end
            else:
                idx = rng.choice(n, batch_size)
            loss, grads = model.loss(X[idx], y[idx])
            it += 1
            if not math.isfinite(loss):
                status = "diverged"
                lr = getattr(optimizer, "lr", None)
                message = (
                    f"loss became {loss} at iteration {it} (epoch {it / ipe:.2f})"
                    + (f" with learning rate {lr:g}" if lr is not None else "")
                    + "; try a lower optimizer.lr"
                )
                break
            buffer.append(float(loss))
            if probe is not None:
                probe.before(it, grads)
            if scheduled:
                optimizer.lr = base_lr * lr_factor(
                    schedule,
                    it,
                    span,
                    ipe,
                    warmup_epochs=warmup_epochs,
                    step_epochs=step_epochs,
                    step_factor=step_factor,
                )
            optimizer.step(model.params, grads)
            if probe is not None and (stats := probe.after(it)) is not None:
                sink.health(it, stats)
            end_epoch = it % ipe == 0
            if end_epoch or it == total:
                train_acc = accuracy(model, X_s, y_s)
                val_acc = accuracy(model, *val) if val is not None else None
                sink.losses(first, buffer)
                first += len(buffer)
                buffer = []
                sink.epoch(it / ipe, train_acc, val_acc, float(getattr(optimizer, "lr", 0.0)))
                last_flush = time.monotonic()
                if val_acc is not None:  # has_val
                    if val_acc > best_val:
                        best_val, best_epoch, best_train = val_acc, it / ipe, train_acc
                        since_best = 0
                        if keep_best:
                            best_state = model.get_state()
                    else:
                        since_best += 1
                        if patience and since_best >= patience:
                            stopped = True
                            break
                if end_epoch:
                    if scheduled:  # the decay applies to the optimizer's own rate
                        optimizer.lr = base_lr
                    optimizer.end_epoch()
                    if scheduled:
                        base_lr = float(optimizer.lr)
            elif time.monotonic() - last_flush >= flush_seconds:
                sink.losses(first, buffer)
                first += len(buffer)
                buffer = []
                last_flush = time.monotonic()
    sink.losses(first, buffer)
    first += len(buffer)
    sink.flush()
    state = None
    if snapshot and status == "ok":
        state = TrainState(
            iteration=it,
            model=model.get_state(),
            optimizer=optimizer.get_state(),
            rng=dict(rng.bit_generator.state),
            sample=sample,
            perm=perm,
            pos=pos,
            first=first,
            base_lr=base_lr,
            best_val=best_val,
            best_state=best_state,
            best_epoch=best_epoch,
            best_train=best_train,
            since_best=since_best,
            train_acc=train_acc,
            val_acc=val_acc,
            stopped=stopped,
        )
    if status == "ok" and has_val and keep_best and best_state is not None:
        model.set_state(best_state)
        train_acc, val_acc = best_train, best_val
    return TrainResult(
        status=status,
        message=message,
        iterations=it,
        epochs=it / ipe,
        train_acc=train_acc,
        val_acc=val_acc if status == "ok" else None,
        best_epoch=best_epoch,
        seconds=time.perf_counter() - start,
        state=state,
        resumed_at=resumed_at,
    )
