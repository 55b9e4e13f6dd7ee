"""The contract test of a searcher (``kind="searcher"``, :class:`tuidl.api.Searcher`).

:func:`check_searcher` plays the runner on a small search problem (a log-uniform float, a
log-scale int and a choice of lists; for a searcher that refuses ranges, such as the grid,
two choices), with made-up fold scores and no training:

- ``setup``: accepts the problem (a ``TuidlError`` from it at a param point other than the
  defaults, such as halving's ``min_budget`` above the top rung, makes that point not
  applicable);
- ``asks in the space``: every new configuration has a value for each searched key that the
  key's dimension can give (``Dimension.contains``), and no other key but
  ``training.epochs`` matching its epoch budget;
- ``budgets``: 1 to the run's folds, epochs ``None`` or in (0, the spec's epochs];
  a continuation names an existing trial, keeps its params and asks for more folds;
- ``should_prune`` (searchers with :class:`tuidl.api.PrunesFolds`): returns a string;
- ``terminates``: ``ask`` returns nothing within :data:`MAX_TRIALS` trials (a searcher
  whose params ask for more, say ``trials = 100000``, is checked on its first trials and
  this check is left out, not failed);
- ``deterministic``: a second searcher with the same seed, told the same results, asks the
  same;
- ``resumes``: set up with the first half of the trials as ``problem.history``, it numbers
  on from there and asks for no stored (configuration, budget) again.

A violated contract raises :class:`~tuidl.plugins.contract_kinds.ContractFailure` naming the
check. Kept apart from :mod:`tuidl.plugins.contract_kinds` (which imports it) for size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuidl.errors import TuidlError
from tuidl.plugins.schema import Component
from tuidl.plugins.search import Budget, Dimension, SearchProblem, Told

MAX_TRIALS = 100
"""Trials one simulated search may create before the driver stops asking."""

FOLDS, EPOCHS = 3, 4.0
MIXED: tuple[Dimension, ...] = (
    Dimension("optimizer.lr", "log_uniform", low=1e-4, high=1e-1),
    Dimension("training.batch_size", "int", low=8, high=256, log=True),
    Dimension("model.hidden_sizes", "choice", values=([16], [32, 16])),
)
FINITE: tuple[Dimension, ...] = (
    Dimension("model.reg", "choice", values=(1e-3, 1e-2), grid=True),
    Dimension("model.hidden_sizes", "choice", values=([16], [32, 16])),
)


def check_searcher(component: Component, rng: np.random.Generator) -> list[str]:
    from tuidl.plugins.contract_kinds import build, expect

    seed = int(rng.integers(0, 2**16))
    space = MIXED
    try:
        first = _drive(build(component), _problem(MIXED, seed), expect)
    except TuidlError:  # a searcher may refuse ranges (the grid does): lists only
        space = FINITE
        try:
            first = _drive(build(component), _problem(FINITE, seed), expect)
        except TuidlError as exc:  # at a param point other than the defaults: not applicable
            raise TuidlError(f"setup refused a space of two lists: {exc}") from exc
    problem = _problem(space, seed)
    passed = ["setup", "asks in the space", "budgets"]
    if hasattr(build(component), "should_prune"):
        passed.append("should_prune")
    if first.done:
        passed.append("terminates")
    again = _drive(build(component), problem, expect)
    expect(
        again.log == first.log,
        "deterministic",
        "two searchers with the same seed, told the same results, asked differently",
    )
    passed.append("deterministic")
    keep = len(first.told) // 2
    if keep:
        history = tuple(first.told[t] for t in sorted(first.told)[:keep])
        stored = {(_key(t.params), t.budget) for t in history}
        resumed = _drive(build(component), _problem(space, seed, history), expect)
        for number, params, budget, trial in resumed.log:
            expect(
                trial is not None or (_key(params), budget) not in stored,
                "resumes",
                f"after a resume with {keep} stored trials it asked for stored configuration "
                f"{dict(params)} on {budget} again (as trial {number})",
            )
        passed.append("resumes")
    return passed


def _problem(space: tuple[Dimension, ...], seed: int, history: tuple = ()) -> SearchProblem:
    return SearchProblem(space, seed, FOLDS, EPOCHS, workers=2, history=history)


def _key(params: Any) -> str:
    return repr(sorted((k, v) for k, v in dict(params).items() if k != "training.epochs"))


def _score(params: Any, budget: Budget, fold: int, space: tuple[Dimension, ...]) -> float:
    """A made-up fold score: better near 60% of each range, and with more epochs."""
    total = 0.5
    for dim in space:
        value = params[dim.key]
        if dim.kind == "choice":
            x = dim.values.index(value) / max(len(dim.values) - 1, 1)
        else:
            lo, hi, v = float(dim.bounds[0]), float(dim.bounds[1]), float(value)
            if dim.is_log:
                lo, hi, v = math.log(lo), math.log(hi), math.log(v)
            x = (v - lo) / (hi - lo)
        total += 0.1 * (1 - abs(x - 0.6))
    epochs = budget.epochs if budget.epochs is not None else EPOCHS
    return total * (0.5 + 0.5 * epochs / EPOCHS) - 0.01 * fold


class _Search:
    def __init__(self) -> None:
        self.log: list[tuple[int, Any, Budget, int | None]] = []  # what was asked, in order
        self.told: dict[int, Told] = {}  # each trial's latest result
        self.done = False


def _drive(searcher: Any, problem: SearchProblem, expect: Any) -> _Search:
    """The runner's loop, serially: every ask is run and told before the next ask."""
    searcher.setup(problem)
    out = _Search()
    history = {t.trial: t for t in problem.history}
    number = len(problem.history)
    while len(out.log) < 4 * MAX_TRIALS and number < len(problem.history) + MAX_TRIALS:
        asks = list(searcher.ask(problem.workers))
        if not asks:
            out.done = True
            break
        if len(asks) > MAX_TRIALS:
            break
        for ask in asks[: MAX_TRIALS + 1]:  # a searcher may ask for everything at once
            _check_budget(ask, problem, expect)
            if ask.trial is None:
                _check_params(ask, problem, expect)
                trial, scores = number, []
                number += 1
            else:
                before = out.told.get(ask.trial) or history.get(ask.trial)
                expect(
                    before is not None and dict(before.params) == dict(ask.params),
                    "budgets",
                    f"a continuation of trial {ask.trial}, which does not exist or had other "
                    "params",
                )
                assert before is not None  # expect() raised otherwise
                trial, scores = ask.trial, list(before.scores)
            out.log.append((trial, dict(ask.params), ask.budget, ask.trial))
            out.told[trial] = _run(searcher, problem, ask, trial, scores, expect)
            searcher.tell(out.told[trial])
    return out


def _run(searcher, problem, ask, trial, scores, expect) -> Told:
    status = "ok"
    for fold in range(len(scores), ask.budget.folds):
        scores.append(_score(ask.params, ask.budget, fold, problem.space))
        if fold + 1 < ask.budget.folds and hasattr(searcher, "should_prune"):
            reason = searcher.should_prune(_told(trial, ask, scores, "pending", problem))
            expect(
                isinstance(reason, str),
                "should_prune",
                f"returned {reason!r}; expected a reason or ''",
            )
            if reason:
                status = "pruned"
                break
    return _told(trial, ask, scores, status, problem)


def _told(trial: int, ask: Any, scores: list[float], status: str, problem) -> Told:
    fold_scores = tuple(scores) + (None,) * (problem.folds - len(scores))
    mean = float(np.mean(scores)) if scores else None
    return Told(trial, dict(ask.params), ask.budget, status, fold_scores, mean)


def _check_budget(ask: Any, problem: SearchProblem, expect: Any) -> None:
    b = ask.budget
    expect(
        isinstance(b, Budget)
        and 1 <= b.folds <= problem.folds
        and (b.epochs is None or (problem.epochs is not None and 0 < b.epochs <= problem.epochs)),
        "budgets",
        f"asked for {b!r}; folds must be 1 to {problem.folds}, epochs none or up to "
        f"{problem.epochs:g}",
    )


def _check_params(ask: Any, problem: SearchProblem, expect: Any) -> None:
    params = dict(ask.params)
    for dim in problem.space:
        expect(
            dim.key in params and dim.contains(params[dim.key]),
            "asks in the space",
            f"{dim.key} = {params.get(dim.key, 'missing')!r} is not a value of {dim.to_toml()}",
        )
    extra = set(params) - {d.key for d in problem.space}
    expect(
        extra <= {"training.epochs"}
        and params.get("training.epochs", ask.budget.epochs) == ask.budget.epochs,
        "asks in the space",
        f"keys outside the space {sorted(extra)} (only training.epochs, as the budget's)",
    )
