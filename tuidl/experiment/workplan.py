"""The work plan: a run's spec, validated once, in the form workers compute from.

The runner reads a run's stored spec and validates it once
(:func:`~tuidl.experiment.spec_check.validate`), normalizes each trial's spec once, when the
trial is planned (a grid point at the start, a searcher's ask as the run goes), and cuts
the folds once from the loaded split. A :class:`WorkPlan` holds the result and is all that
workers and executors get of the spec: the runner's own worker, worker processes
(:class:`~tuidl.experiment.executors.ProcessExecutor`) and Dask workers
(:mod:`tuidl.experiment.dask_executor`) build a :class:`~tuidl.experiment.work.Worker` from
it and never parse TOML or validate anything. A unit carries the normalized specs of its
trials too (:attr:`tuidl.experiment.work.Unit.specs`), because a searcher creates trials
after a copy of the plan went to a worker process.

A plan is plain picklable data (dataclasses, lists, numpy index arrays): it goes to each
worker process once, when the process starts, and to each Dask worker once, by a broadcast
scatter.

How it fails: :func:`build_plan` raises :class:`tuidl.TuidlError` for an invalid spec or
more folds than training rows (:func:`make_folds`), naming the key and what is allowed; a
worker asked for a trial that is neither in its plan nor in the unit raises
:class:`tuidl.TuidlError` naming the trial (see :meth:`~tuidl.experiment.work.Worker.spec_of`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuidl.experiment.grid import Fold, kfold_indices, plan
from tuidl.experiment.spec import Spec
from tuidl.experiment.spec_check import point_spec, validate

if TYPE_CHECKING:  # work imports this module: the split's type only, for the checker
    from tuidl.experiment.work import Data


@dataclass(frozen=True)
class WorkPlan:
    """What a worker computes a run's units from (see the module docstring).

    ``spec``: the run's normalized spec (what :func:`validate` returned). ``seed``: the
    run's seed (the stored one; every generator derives from it). ``folds``: each CV fold's
    row indexes (:func:`make_folds`). ``trials``: each trial's normalized spec, in trial
    order, as far as they are planned: the runner's own plan shares its list with the
    search, which appends a trial as it is asked for, so a copy sent to another process is
    a snapshot of the trials known then."""

    spec: Spec
    seed: int
    folds: tuple[Fold, ...]
    trials: list[Spec] = field(default_factory=list)


def make_folds(spec: Spec, y_pool: Any, num_val: int, seed: int) -> list[Fold]:
    """The CV folds: k folds of the pool, or one holdout fold (train: the pool; val: the
    split's validation rows, addressed by index into them). More folds than rows raise
    :class:`tuidl.TuidlError` (:func:`~tuidl.experiment.grid.check_fold_count`)."""
    import numpy as np

    cv = spec.cv
    if cv.method == "kfold":
        return kfold_indices(y_pool, cv.folds, shuffle=cv.shuffle, stratify=cv.stratify, seed=seed)
    return [Fold(0, np.arange(len(y_pool)), np.arange(num_val))]


def trial_specs(spec: Spec, registry: Any) -> list[Spec]:
    """The normalized spec of every grid trial of ``spec`` (as written, or validated), in
    plan order: each grid point applied and validated without the grid."""
    base = spec.copy()
    out = []
    for trial in plan(base.cv.grid, base.cv.method, base.cv.folds).trials:
        out.append(validate(point_spec(base, trial.params, registry), registry, check_grid=False))
    return out


def build_plan(user_spec: Spec, registry: Any, data: Data, *, seed: int | None = None) -> WorkPlan:
    """Validate ``user_spec`` and plan it on ``data``'s split: the one validation, for a
    worker built outside a run (tests, benchmarks). A spec with a ``[search]`` gets no
    trials (its searcher creates them; units then bring their specs). ``seed``: the spec's
    unless given. Raises :class:`tuidl.TuidlError` as :func:`validate` and
    :func:`make_folds` do."""
    spec = validate(user_spec, registry)
    seed = spec.seed if seed is None else int(seed)
    folds = make_folds(spec, data.y_pool, len(data.y_val), seed)
    trials = trial_specs(user_spec, registry) if user_spec.search is None else []
    return WorkPlan(spec, seed, tuple(folds), trials)
