"""Optuna's TPE sampler and pruner behind tuidl's searcher protocol (``tuidl.api.Searcher``).

The runner drives the search (``setup`` once, then ``ask``/``tell`` until ``ask`` returns
nothing with nothing in flight); this class maps that loop onto Optuna's ask-and-tell API:

- :meth:`TPESearcher.ask` -> ``study.ask(distributions)`` per new trial, on the full budget
  (every fold, the spec's training length): TPE ranks configurations by their full score.
- :meth:`TPESearcher.should_prune` (``tuidl.api.PrunesFolds``): after each fold a trial has
  scored, ``trial.report(mean of its folds so far, step=folds scored)`` and Optuna's pruner
  decides; a pruned trial stops with the pruner's reason. The pruner works between folds
  because that is where tuidl's budget model lets a searcher stop a trial (a holdout run has
  one fold, so nothing is pruned there).
- :meth:`TPESearcher.tell` -> ``study.tell``: ``ok`` with the trial's mean, ``pruned`` as
  Optuna's PRUNED (its last reported mean stays with it, which TPE uses), ``diverged`` as
  accuracy 0.0 (a divergent learning rate is a bad region TPE must learn to avoid), and
  ``failed`` as FAIL (not used by TPE).

Budget: ``trials`` caps the number of trials, ``max_folds`` (when > 0) the folds scored
over all trials, counting pruned trials' folds. A new trial is proposed only while the folds
already scored plus those the trials in flight may still score, plus a full trial, fit in
``max_folds``: the search never spends more than that, and pruning buys more trials.

Reproducibility: the sampler is seeded from ``seed`` (the run seed unless the ``seed`` param
is set) and, on a resume, from the number of trials in the history, which is replayed into
the study with ``study.add_trial`` (finished ones) or re-asked through
``study.enqueue_trial`` (pending ones: the first ``ask`` continues them to the full budget,
and their results are told as any other). With one
worker a search is the same on every run with the same seed; with more, TPE sees results in
the order they arrive (Optuna's ``constant_liar`` keeps parallel trials apart).

How it fails: ``setup`` raises :class:`tuidl.TuidlError` when Optuna is not installed
(naming the package to install) and for a searched value Optuna cannot represent.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tuidl.errors import TuidlError
from tuidl.plugins.search import Ask

PRUNERS = ("median", "halving", "none")


def _optuna() -> Any:
    """Import Optuna lazily (listing plugins must not pay for it or need it)."""
    try:
        import optuna
    except ImportError:
        raise TuidlError(
            "search method 'tpe' needs the optuna package, which is not installed; install it "
            "with `pip install optuna` (or reinstall plugins/tuidl-optuna), or use "
            "method = 'random' or 'halving'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class TPESearcher:
    """Optuna's TPE over a tuidl search space, with an optional Optuna pruner between folds.

    ``trials``: at most this many trials. ``max_folds``: when > 0, at most this many folds
    scored over all trials (a budget in units of one fold's training). ``startup``: random
    trials before TPE models the results (Optuna's ``n_startup_trials``). ``pruner``:
    ``median`` (Optuna's MedianPruner: stop a trial whose running mean after a fold is below
    the median of the other trials' running means after that fold, once ``startup`` trials
    are complete), ``halving`` (Optuna's SuccessiveHalvingPruner over folds, reduction factor
    3) or ``none``. ``multivariate``: model the parameters jointly (Optuna's multivariate
    TPE). ``seed``: the search seed; ``None`` uses the run seed.
    """

    def __init__(
        self,
        trials: int = 20,
        max_folds: int = 0,
        startup: int = 10,
        pruner: str = "median",
        multivariate: bool = True,
        seed: int | None = None,
    ) -> None:
        self.trials, self.max_folds, self.startup = trials, max_folds, startup
        self.pruner, self.multivariate, self.seed = pruner, multivariate, seed
        self._problem: Any = None
        self._study: Any = None
        self._dists: dict[str, Any] = {}
        self._space: dict[str, Any] = {}
        self._live: dict[int, Any] = {}  # tuidl trial number -> Optuna trial in flight
        self._issued = 0  # trials created, history included
        self._todo: list[Any] = []  # continuations of a resumed run's unfinished trials
        self._folds_spent = 0  # folds scored by trials that are told

    # -- setup ---------------------------------------------------------------------------
    def setup(self, problem: Any) -> None:
        """Create the study for ``problem`` (a ``tuidl.plugins.search.SearchProblem``) and
        replay its history. Raises :class:`TuidlError` without Optuna."""
        optuna = _optuna()
        self._problem = problem
        self._space = {d.key: d for d in problem.space}
        self._dists = {d.key: _distribution(optuna, d) for d in problem.space}
        seed = problem.seed if self.seed is None else self.seed
        history = list(problem.history)
        # a resumed search continues from a sampler state of its own, fixed by the seed and
        # how far the search had come
        state = np.random.SeedSequence(int(seed), spawn_key=(3, len(history))).generate_state(1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=int(state[0]),
                n_startup_trials=self.startup,
                multivariate=self.multivariate,
                constant_liar=True,
            )
            self._study = optuna.create_study(
                direction="maximize", sampler=sampler, pruner=self._make_pruner(optuna)
            )
        self._issued = len(history)
        for told in history:
            self._replay(optuna, told)

    def _make_pruner(self, optuna: Any) -> Any:
        if self.pruner == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=self.startup, n_warmup_steps=0)
        if self.pruner == "halving":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
        return optuna.pruners.NopPruner()

    def _replay(self, optuna: Any, told: Any) -> None:
        params = self._internal(told.params)
        if params is None:  # a value this space cannot hold: Optuna never sees the trial
            self._folds_spent += len(told.scores)
            return
        if told.status == "pending":  # stopped mid-way: ask the runner to finish it
            self._study.enqueue_trial(params)
            self._live[told.trial] = self._study.ask(self._dists)
            self._todo.append(Ask(told.params, self._problem.full, trial=told.trial))
            return
        self._folds_spent += len(told.scores)
        FrozenTrial = optuna.trial.create_trial
        State = optuna.trial.TrialState
        steps = _running_means(told.scores)
        if told.status == "ok" and told.mean is not None:
            trial = FrozenTrial(
                params=params, distributions=self._dists, value=float(told.mean),
                intermediate_values=steps,
            )  # fmt: skip
        elif told.status == "diverged":
            trial = FrozenTrial(params=params, distributions=self._dists, value=0.0)
        elif told.status == "pruned" and steps:
            trial = FrozenTrial(
                params=params, distributions=self._dists, state=State.PRUNED,
                intermediate_values=steps,
            )  # fmt: skip
        else:
            trial = FrozenTrial(params=params, distributions=self._dists, state=State.FAIL)
        self._study.add_trial(trial)

    # -- the loop ------------------------------------------------------------------------
    def ask(self, n: int) -> list[Any]:
        """Up to ``n`` new trials on the full budget, while ``trials`` and ``max_folds``
        allow; ``[]`` when the budget is spent (or waiting for trials in flight). After a
        resume, first the continuations of the stored trials that had not finished."""
        full = self._problem.full
        out, self._todo = self._todo, []
        while len(out) < n and self._issued < self.trials and self._fits(full.folds):
            trial = self._study.ask(self._dists)
            number = self._issued
            self._issued += 1
            self._live[number] = trial
            params = {key: self._external(key, trial.params[key]) for key in self._dists}
            out.append(Ask(params=params, budget=full, note=f"optuna trial {trial.number}"))
        return out

    def _fits(self, folds: int) -> bool:
        if self.max_folds <= 0:
            return True
        reserved = len(self._live) * self._problem.folds
        return self._folds_spent + reserved + folds <= self.max_folds

    def should_prune(self, told: Any) -> str:
        """Report the trial's running mean after its latest fold; Optuna's pruner's verdict
        as a reason (``""``: go on)."""
        trial = self._live.get(told.trial)
        scores = told.scores
        if trial is None or not scores or self.pruner == "none":
            return ""
        step = len(scores)
        mean = float(sum(scores) / step)
        trial.report(mean, step)
        if not trial.should_prune():
            return ""
        return (
            f"optuna {self.pruner} pruner: mean {mean:.4f} after {step} of "
            f"{self._problem.folds} folds is behind the other trials at that fold"
        )

    def tell(self, told: Any) -> None:
        """Pass a trial's result to the study (see the module docstring for the mapping)."""
        optuna = _optuna()
        State = optuna.trial.TrialState
        trial = self._live.pop(told.trial, None)
        self._folds_spent += len(told.scores)
        if trial is None:
            return
        if told.status == "ok" and told.mean is not None and math.isfinite(told.mean):
            self._study.tell(trial, float(told.mean))
        elif told.status == "pruned":
            self._study.tell(trial, state=State.PRUNED)
        elif told.status == "diverged":
            self._study.tell(trial, 0.0)
        else:
            self._study.tell(trial, state=State.FAIL)

    # -- values --------------------------------------------------------------------------
    def _internal(self, params: Any) -> dict[str, Any] | None:
        """A tuidl configuration as Optuna params (choice values as their index)."""
        out = {}
        for key, dim in self._space.items():
            if key not in params or not dim.contains(params[key]):
                return None
            value = params[key]
            out[key] = dim.values.index(value) if dim.kind == "choice" else value
        return out

    def _external(self, key: str, value: Any) -> Any:
        dim = self._space[key]
        if dim.kind == "choice":
            return dim.values[int(value)]
        if dim.kind == "int":
            return int(value)
        return float(value)


def _distribution(optuna: Any, dim: Any) -> Any:
    """The Optuna distribution of one ``tuidl.plugins.search.Dimension``. A choice (or a
    grid list) becomes a categorical over the indices of its values, because Optuna's
    categoricals hold only plain scalars and a spec value may be a list (hidden sizes)."""
    d = optuna.distributions
    if dim.kind == "choice":
        return d.CategoricalDistribution(tuple(range(len(dim.values))))
    if dim.kind == "int":
        return d.IntDistribution(int(dim.low), int(dim.high), log=bool(dim.log))
    if dim.kind in ("log_uniform", "uniform"):
        return d.FloatDistribution(float(dim.low), float(dim.high), log=dim.kind == "log_uniform")
    raise TuidlError(f"{dim.key}: the tpe searcher cannot search a {dim.kind!r} dimension")


def _running_means(scores: list[float]) -> dict[int, float]:
    """``{folds scored: mean so far}``, as :meth:`TPESearcher.should_prune` reported them."""
    out, total = {}, 0.0
    for i, s in enumerate(scores, start=1):
        total += s
        out[i] = total / i
    return out
