"""The runner's side of a search: asking the spec's searcher for trials, turning its asks
into trials and units, telling it results, and the fold rule that prunes hopeless trials.

:class:`Scheduling` is a base of the runner's execution (:mod:`tuidl.experiment.runner`),
on top of :class:`~tuidl.experiment.bookkeeping.Bookkeeping`. The loop it runs is the one
:class:`tuidl.api.Searcher` documents:

1. :meth:`Scheduling._start_search` (before any work): the trials already stored (a resumed
   run) become the searcher's ``problem.history``; the searcher is set up and asked for its
   first trials. The ``grid`` searcher asks for every grid point at once, in
   ``itertools.product`` order, so a grid run plans exactly what it always did.
2. :meth:`Scheduling._search_units`: the executor's unit stream. It hands out the known
   trials' folds fold-major (the runner's ``_fold_units``), then asks the searcher for more
   with as many as there are free worker slots; with nothing new and work in flight it
   yields ``None`` ("nothing now": the executor waits for a result and asks again); with
   nothing new and nothing in flight the search is over.
3. After every fold (:meth:`Scheduling._after_result`): a trial that reached its budget,
   diverged, failed or was pruned is told to the searcher. With ``cv.prune`` a trial
   behind the best is pruned by :func:`prune_reason`.
4. :meth:`Scheduling._close_search` (before the final step): trials the searcher left
   below the full budget are marked ``pruned``, so only full-budget trials compete.

Everything a resume needs is in the store: each trial's params (an epochs budget is its
``training.epochs``), its folds, and its status (``pruned`` with the reason); the
searcher rebuilds the rest from the seed (see :class:`tuidl.plugins.search.SearchProblem`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.bookkeeping import Bookkeeping, _as_dict
from tuidl.experiment.grid import Trial
from tuidl.experiment.space import DEFAULT_METHOD, dimensions, with_tables
from tuidl.experiment.work import FoldResult, Unit
from tuidl.plugins.search import Ask, Budget, SearchProblem, Told

PRUNE_MIN_FOLDS = 2
"""Folds a trial must have before the fold rule may prune it (the test needs two pairs)."""


def make_searcher(spec: Any, registry: Any) -> tuple[Any, Any]:
    """(component, searcher object) of the spec's ``[search] method`` with its params; a
    bad method or param raises naming ``search``."""
    search = getattr(spec, "search", None)
    method = search.method if search is not None else DEFAULT_METHOD
    params = dict(search.params) if search is not None else {}
    try:
        comp = registry.get("searcher", method)
    except TuidlError as exc:
        raise TuidlError(f"search.method: {exc}") from None
    names = [p.name for p in comp.params]
    for key in params:
        if key not in names:
            raise TuidlError(
                f"search.{key}: unknown key; searcher {comp.key} takes "
                + ", ".join(["method", "space", *names])
            )
    try:
        return comp, comp.create(params)
    except TuidlError as exc:
        raise TuidlError(f"search: {exc}") from None


def search_problem(
    spec: Any, registry: Any, *, seed: int, workers: int = 1, history=()
) -> SearchProblem:
    """The :class:`SearchProblem` of a validated spec (its space, folds, full epochs)."""
    from tuidl.experiment.grid import num_folds
    from tuidl.experiment.spec_check import is_learnable

    epochs = None
    t = spec.training
    if t is not None and t.iterations is None and is_learnable(spec, registry):
        epochs = float(t.epochs) if t.epochs is not None else None
    return SearchProblem(
        space=tuple(dimensions(spec)),
        seed=int(seed),
        folds=num_folds(spec.cv.method, spec.cv.folds),
        epochs=epochs,
        workers=max(1, int(workers)),
        history=tuple(history),
    )


def check_search(spec: Any, registry: Any) -> None:
    """The searcher exists, takes the params given and can search the space (its ``setup``
    runs on an empty history). Errors start with ``search``."""
    _, searcher = make_searcher(spec, registry)
    try:
        searcher.setup(search_problem(spec, registry, seed=spec.seed))
    except TuidlError as exc:
        text = str(exc)
        raise TuidlError(text if text.startswith("search") else f"search: {text}") from None


def describe(spec: Any, registry: Any) -> str:
    """A validated spec's search in words, for ``spec check``: the grid's trial count, or
    the searcher and its plan (its optional ``describe()``, else its params)."""
    from tuidl.experiment.grid import num_folds

    folds = num_folds(spec.cv.method, spec.cv.folds)
    scheme = f"{folds}-fold CV" if spec.cv.method == "kfold" else "holdout"
    comp, searcher = make_searcher(spec, registry)
    problem = search_problem(spec, registry, seed=spec.seed)
    searcher.setup(problem)
    if comp.key == DEFAULT_METHOD:
        n = 1
        for d in problem.space:
            n *= len(d.values)
        return f"{n} trial(s) x {scheme} = {n * folds} fits"
    how = getattr(searcher, "describe", None)
    if callable(how):
        text = str(how())
    else:
        params = comp.resolve(spec.search.params if spec.search else {})
        text = ", ".join(f"{k} = {v}" for k, v in params.items()) or "its defaults"
    keys = ", ".join(d.key for d in problem.space) or "nothing"
    return f"{comp.key} search over {keys}: {text}; {scheme}"


def prune_reason(
    scores: list[float | None],
    best_scores: list[float | None],
    *,
    folds: int,
    alpha: float,
    best: int,
) -> str:
    """Why a trial with fold ``scores`` should stop, or ``""``.

    The rule: with at least :data:`PRUNE_MIN_FOLDS` folds shared with the best trial so far,
    the corrected resampled t-test of Nadeau and Bengio (``ranking.corrected_t``: paired
    per-fold differences, variance ``(1/J + 1/(k-1)) s²``, Student's t with ``J - 1``
    degrees of freedom) finds this trial worse than the best at one-sided level ``alpha``.
    """
    from tuidl.experiment.ranking import corrected_t

    pairs = [
        (b, s) for b, s in zip(best_scores, scores, strict=False) if b is not None and s is not None
    ]
    if len(pairs) < PRUNE_MIN_FOLDS:
        return ""
    diff, _se, p = corrected_t([b - s for b, s in pairs], 1.0 / max(folds - 1, 1))
    if diff <= 0 or p >= alpha:
        return ""
    return (
        f"after {len(pairs)} of {folds} folds, behind trial #{best + 1} by "
        f"{diff:.4f} (corrected t-test p = {p:.3g} < {alpha:g})"
    )


class Scheduling(Bookkeeping):
    """The search loop of one execution (see the module docstring). The runner sets
    ``spec`` (validated), ``user_spec``, ``registry``, ``seed``, ``workers`` and the
    :class:`Bookkeeping` attributes."""

    spec: Any
    user_spec: Any
    registry: Any
    seed: int
    workers: int

    # -- start --------------------------------------------------------------------------------

    def _start_search(self) -> list[Any]:
        """Set the searcher up (with the stored trials as its history) and take its first
        asks; returns every trial's spec, in trial order (the runner's ``specs``)."""
        self.targets: dict[int, int] = {}
        # trial -> the trial it continues (a warm start); not stored: a resumed run's
        # continuations train from epoch 0, as their kept states went with the run folder
        self.warm: dict[int, int] = {}
        self.issued: set[tuple[int, int]] = set()
        self.slots = max(1, self.workers)
        stored = self.store.get_run(self.run_id)["trials"]
        self.plan.trials[:] = [Trial(t["index"], t["params"]) for t in stored]
        self.specs = [self._spec_of(t.params) for t in self.plan.trials]
        history = [self._told_stored(t) for t in stored]
        self.searcher_component, self.searcher = make_searcher(self.spec, self.registry)
        self.searcher.setup(
            search_problem(
                self.spec, self.registry, seed=self.seed, workers=self.workers, history=history
            )
        )
        self._ask_more(self.slots)
        return self.specs

    def _spec_of(self, params: dict[str, Any]) -> Any:
        from tuidl.experiment.spec_check import point_spec, validate

        base = getattr(self, "_base", None)
        if base is None:  # the spec as written, with the tables validation fills in
            base = self._base = with_tables(self.user_spec, self.spec)
        return validate(point_spec(base, params, self.registry), self.registry, check_grid=False)

    def _told_stored(self, t: dict[str, Any]) -> Told:
        scores = tuple(t["fold_scores"])
        done = sum(s is not None for s in scores)
        epochs = t["params"].get("training.epochs") if self._epochs_budget(t["params"]) else None
        return Told(
            t["index"],
            t["params"],
            Budget(max(done, 1), epochs),
            t["status"],
            scores,
            t["mean"],
            t["message"] or "",
        )

    def _epochs_budget(self, params: dict[str, Any]) -> bool:
        """Whether the trial's ``training.epochs`` is a budget below the spec's (a halving
        rung), not a searched or spec value."""
        e = params.get("training.epochs")
        full = self.spec.training.epochs if self.spec.training is not None else None
        return (
            e is not None
            and full is not None
            and "training.epochs" not in self._space_keys()
            and e < full
        )

    def _space_keys(self) -> set[str]:
        keys = getattr(self, "_keys", None)
        if keys is None:
            keys = self._keys = {d.key for d in dimensions(self.spec)}
        return keys

    # -- asks ---------------------------------------------------------------------------------

    def _target(self, trial: int) -> int:
        """The folds a trial is to get: what the searcher asked for; a stored trial it has
        not asked for again (a resume) gets no more than it has."""
        targets = getattr(self, "targets", None)
        if targets is None:
            return self.plan.num_folds
        return targets.get(trial, len(self.results.get(trial, {})))

    def _ask_more(self, n: int) -> bool:
        """Ask the searcher for up to ``n`` trials and take them; whether it gave any."""
        asks = list(self.searcher.ask(max(1, n)))
        for ask in asks:
            self._take(ask)
        if asks:
            self.store.start_run(
                self.run_id, [(t.index, t.params) for t in self.plan.trials], self.plan.num_folds
            )
        return bool(asks)

    def _take(self, ask: Ask) -> None:
        folds = max(1, min(int(ask.budget.folds), self.plan.num_folds))
        if ask.trial is not None:  # a continuation: more folds of the same trial
            if not 0 <= ask.trial < len(self.plan.trials):
                raise TuidlError(
                    f"searcher {self.searcher_component.key} asked to continue trial "
                    f"{ask.trial}, which does not exist"
                )
            self.targets[ask.trial] = max(folds, self._target_have(ask.trial))
            return
        params = dict(ask.params)
        if ask.budget.epochs is not None:
            params["training.epochs"] = ask.budget.epochs
        index = len(self.plan.trials)
        if ask.warm_start is not None:
            self._check_warm_start(ask.warm_start, params)
            self.warm[index] = ask.warm_start
        self.plan.trials.append(Trial(index, params))
        self.specs.append(self._spec_of(params))
        self.targets[index] = folds

    def _check_warm_start(self, source: int, params: dict[str, Any]) -> None:
        """A warm start continues an existing trial of the same configuration that trained
        fewer epochs; anything else is the searcher's bug, named."""
        name = self.searcher_component.key
        if not 0 <= source < len(self.plan.trials):
            raise TuidlError(
                f"searcher {name} asked to warm-start from trial {source}, which does not exist"
            )
        before = dict(self.plan.trials[source].params)
        e0, e1 = before.pop("training.epochs", None), params.get("training.epochs")
        same = before == {k: v for k, v in params.items() if k != "training.epochs"}
        if not same or e0 is None or (e1 is not None and e1 <= e0):
            raise TuidlError(
                f"searcher {name} asked to warm-start from trial {source}, which is not the "
                "same configuration with fewer epochs"
            )

    def _horizon(self, trial: int) -> float | None:
        """The spec's epochs when ``trial`` trains fewer (a halving rung): the length of the
        training it is the start of (see :class:`tuidl.plugins.search.Ask`)."""
        params = self.plan.trials[trial].params
        if not self._epochs_budget(params) or self.spec.training is None:
            return None
        return float(self.spec.training.epochs)

    def _target_have(self, trial: int) -> int:
        return len(self.results.get(trial, {}))

    # -- units --------------------------------------------------------------------------------

    def _search_units(
        self, specs: list[Any], fold_units: Callable[[list[Any]], Iterator[Unit]]
    ) -> Iterator[Unit | None]:
        """The executor's units: the known trials' folds (``fold_units``, fold-major), then
        whatever the searcher asks for next; ``None`` means "wait for a result"."""
        while True:
            for unit in fold_units(specs):
                self.issued.update((t, unit.fold) for t in unit.trials)
                # the normalized specs travel with the unit: a worker process got its
                # plan before the searcher asked for this trial, and must not validate
                yield Unit(
                    unit.fold,
                    unit.trials,
                    specs=tuple(specs[t] for t in unit.trials),
                    horizons=tuple(self._horizon(t) for t in unit.trials),
                    warm=tuple(self.warm.get(t) for t in unit.trials),
                )
            if self._ask_more(self.slots - self._in_flight()):
                continue
            if self._in_flight() and not getattr(self.searcher, "exhausted", False):
                yield None  # results may make the searcher ask for more
                continue
            return  # the executor finishes what is in flight

    def _in_flight(self) -> int:
        return sum(
            1 for t, f in self.issued if t not in self.closed and f not in self.results.get(t, {})
        )

    def _wanted(self, trial: int, fold: int) -> bool:
        """Whether ``fold`` of ``trial`` is still to be handed out (the runner's
        ``_fold_units`` filter)."""
        return fold < self._target(trial) and (trial, fold) not in getattr(self, "issued", ())

    # -- results ------------------------------------------------------------------------------

    def _after_result(self, r: FoldResult) -> None:
        """Tell the searcher what a fold decided; prune by the fold rule (``cv.prune``) or
        the searcher's own ``should_prune``."""
        if not hasattr(self, "searcher"):
            return
        t = r.trial
        have = len(self.results.get(t, {}))
        if r.status != "ok":
            self.searcher.tell(self._told(t, r.status, r.message))
            return
        if have >= self._target(t):
            self.searcher.tell(self._told(t, "ok"))
            return
        reason = self._prune_rule(t)
        hook = getattr(self.searcher, "should_prune", None)
        if not reason and callable(hook):
            reason = str(hook(self._told(t, "pending")) or "")
        if reason:
            self.closed.add(t)
            self.done += self.plan.num_folds - have
            self._finish_trial(t, "pruned", reason)
            self.searcher.tell(self._told(t, "pruned", reason))

    def _prune_rule(self, trial: int) -> str:
        cv = self.spec.cv
        if not cv.prune or cv.method != "kfold":
            return ""
        best, best_scores = self._best_so_far(trial)
        if best is None:
            return ""
        return prune_reason(
            self._scores(trial),
            best_scores,
            folds=self.plan.num_folds,
            alpha=cv.prune_alpha,
            best=best,
        )

    def _best_so_far(self, exclude: int) -> tuple[int | None, list[float | None]]:
        """The trial with the highest mean among those not closed with at least as many
        folds as ``exclude`` has (ties: the earlier)."""
        need = len(self.results.get(exclude, {}))
        best, best_mean, best_scores = None, None, []
        for t in self.plan.trials:
            i = t.index
            if i == exclude or i in self.closed or len(self.results.get(i, {})) < need:
                continue
            scores = self._scores(i)
            vals = [s for s in scores if s is not None]
            if not vals:
                continue
            mean = sum(vals) / len(vals)
            if best_mean is None or mean > best_mean:
                best, best_mean, best_scores = i, mean, scores
        return best, best_scores

    def _scores(self, trial: int) -> list[float | None]:
        out: list[float | None] = [None] * self.plan.num_folds
        for f, r in self.results.get(trial, {}).items():
            d = _as_dict(r)
            if 0 <= f < self.plan.num_folds and d["status"] == "ok":
                out[f] = d["score"]
        return out

    def _told(self, trial: int, status: str, message: str = "") -> Told:
        scores = self._scores(trial)
        vals = [s for s in scores if s is not None]
        params = self.plan.trials[trial].params
        epochs = params.get("training.epochs") if self._epochs_budget(params) else None
        return Told(
            trial,
            params,
            Budget(self._target(trial), epochs),
            status,
            tuple(scores),
            sum(vals) / len(vals) if vals else None,
            message,
        )

    # -- the end ------------------------------------------------------------------------------

    def _close_search(self) -> None:
        """Mark the trials left below the full budget ``pruned`` (fewer folds, or fewer
        epochs than the spec's), naming the searcher and the budget they got."""
        if not hasattr(self, "searcher"):
            return
        name = self.searcher_component.key
        for t in self.plan.trials:
            i = t.index
            if i in self.closed:
                continue
            have = len(self.results.get(i, {}))
            short_folds = have < self.plan.num_folds and have >= self._target(i)
            short_epochs = self._epochs_budget(t.params)
            if not (short_folds or short_epochs):
                continue
            budget = (
                f"{have} of {self.plan.num_folds} folds"
                if short_folds
                else f"{t.params['training.epochs']:g} of {self.spec.training.epochs:g} epochs"
            )
            reason = f"stopped by the {name} searcher at {budget}"
            self.closed.add(i)
            self.done += self.plan.num_folds - have
            self._finish_trial(i, "pruned", reason)
