"""The plain data a searcher works with: search dimensions, budgets, asks and results.

A searcher (``kind="searcher"``, :class:`tuidl.api.Searcher`) proposes configurations and
the budget to score each on; the runner schedules the work and tells it the results. These
types are what passes between the two. They are plain (no numpy in their fields, JSON-able
values), so a third-party searcher (Optuna, ...) can map them onto its own.

- :class:`Dimension`: one searched key of the spec and the values it may take, a
  distribution (``log_uniform``, ``uniform``, ``int``) or a finite list (``choice``; a
  ``[cv.grid]`` list is a ``choice`` too, with ``grid=True``).
- :class:`Budget`: how much work a trial gets: ``folds`` (score the first ``folds`` folds)
  and, for learnable models, ``epochs`` (train that long; ``None``: the spec's own length).
- :class:`Ask`: what the searcher asks the runner to do: score a new configuration on a
  budget, or continue an existing trial to more folds.
- :class:`Told`: a trial's result as the runner tells it (also the history a resumed
  search is rebuilt from).
- :class:`SearchProblem`: what the searcher is set up with.

How it fails: :meth:`Dimension.check` raises :class:`tuidl.TuidlError` for a malformed
dimension, naming it (the spec reader adds the key path).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tuidl.errors import TuidlError

DISTRIBUTIONS = ("log_uniform", "uniform", "int", "choice")
"""The kinds of :class:`Dimension`; ``int`` may be linear or ``log``."""


@dataclass(frozen=True)
class Dimension:
    """One searched spec key and the values it may take.

    ``kind`` is one of :data:`DISTRIBUTIONS`: ``log_uniform`` / ``uniform`` draw a float in
    ``[low, high]`` (log-uniform: uniform in ``log(value)``), ``int`` an integer in ``[low,
    high]`` (inclusive; ``log=True``: uniform in ``log(value)``, then rounded), ``choice``
    one of ``values`` (numbers, strings, lists: anything a spec key takes). ``grid=True``
    marks a ``[cv.grid]`` list: the ``grid`` searcher takes every value, in order.
    """

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    values: tuple[Any, ...] = ()
    grid: bool = False

    def check(self) -> None:
        """Raise :class:`TuidlError` (starting with the kind) for an impossible dimension:
        ``low >= high``, a log scale over values <= 0, an empty choice."""
        if self.kind not in DISTRIBUTIONS:
            raise TuidlError(
                f"unknown distribution {self.kind!r}; use one of {', '.join(DISTRIBUTIONS)}"
            )
        if self.kind == "choice":
            if not self.values:
                raise TuidlError("choice: the list is empty; give at least one value")
            return
        lo, hi = self.low, self.high
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
            raise TuidlError(f"{self.kind}: give [low, high] as two finite numbers")
        if lo >= hi:
            raise TuidlError(f"{self.kind}: low {_n(lo)} must be below high {_n(hi)}")
        if (self.log or self.kind == "log_uniform") and lo <= 0:
            raise TuidlError(
                f"{self.kind}: a log scale needs low > 0, got {_n(lo)}; use uniform for "
                "ranges that include 0"
            )
        if self.kind == "int" and not (float(lo).is_integer() and float(hi).is_integer()):
            raise TuidlError(f"int: low and high must be whole numbers, got {_n(lo)}, {_n(hi)}")

    @property
    def is_log(self) -> bool:
        """Whether values are spread on a log scale (log-uniform, or ``int`` with log)."""
        return self.kind == "log_uniform" or (self.kind == "int" and self.log)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(low, high)`` as given, of a numeric dimension (:meth:`validate` checks both
        are set); a dimension without them (a choice) raises :class:`TuidlError`."""
        if self.low is None or self.high is None:
            raise TuidlError(f"{self.key}: {self.kind} has no [low, high] range")
        return self.low, self.high

    @property
    def finite(self) -> bool:
        """Whether the values can be listed (a choice or a grid list)."""
        return self.kind == "choice"

    def sample(self, rng: Any) -> Any:
        """One value drawn with ``rng`` (a ``numpy.random.Generator``)."""
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        lo, hi = (float(b) for b in self.bounds)
        if self.kind == "uniform":
            return float(rng.uniform(lo, hi))
        if self.kind == "log_uniform":
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        if self.log:  # int, log scale: uniform in log over [lo - 0.5, hi + 0.5), rounded
            v = math.exp(rng.uniform(math.log(max(lo - 0.5, 0.5)), math.log(hi + 0.5)))
            return int(min(max(round(v), lo), hi))
        return int(rng.integers(int(lo), int(hi) + 1))

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this dimension can give."""
        if self.kind == "choice":
            return value in self.values
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        lo, hi = self.bounds
        return float(lo) <= value <= float(hi)

    def to_toml(self) -> dict[str, Any] | list[Any]:
        """The spec form: ``{log_uniform = [lo, hi]}``, ``{int = [lo, hi], log = true}``,
        ``{choice = [...]}``; a grid list as the plain list."""
        if self.grid:
            return list(self.values)
        if self.kind == "choice":
            return {"choice": list(self.values)}
        lo, hi = self.low, self.high
        if self.kind == "int":
            out: dict[str, Any] = {"int": [int(b) for b in self.bounds]}
            if self.log:
                out["log"] = True
            return out
        return {self.kind: [lo, hi]}


def _n(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(v)


@dataclass(frozen=True)
class Budget:
    """How much work a trial gets: score folds ``0 .. folds - 1``; a learnable model trains
    ``epochs`` epochs in each (``None``: the spec's ``training`` length, the full budget)."""

    folds: int
    epochs: float | None = None


@dataclass(frozen=True)
class Ask:
    """A piece of work a searcher asks for.

    ``trial is None``: a new trial of configuration ``params`` (dotted spec keys -> values,
    one for every key of the space) on ``budget``. ``trial`` set: continue that existing
    trial (same params, same ``budget.epochs``) to ``budget.folds`` folds; its finished folds
    are kept. ``note``: a short reason shown with the trial (``"rung 2 of 3"``).

    ``warm_start``: for a new trial with an epochs budget, the earlier trial of the same
    configuration (a smaller epochs budget) whose training it continues: each fold starts
    from the state that trial's fold ended in, so only the extra epochs are trained. Each
    trial below the spec's epochs trains the first ``budget.epochs`` of the full training
    (a schedule spans the full length), which is what makes the continuation exact. When
    the state is not kept (a resumed run, a full disk, an optimizer without
    ``get_state``), the fold trains from epoch 0: slower, the same meaning.
    """

    params: Mapping[str, Any]
    budget: Budget
    trial: int | None = None
    note: str = ""
    warm_start: int | None = None


@dataclass(frozen=True)
class Told:
    """A trial's result, as the runner tells it (and the history of a resumed search).

    ``status``: ``ok`` (it reached its budget), ``diverged``, ``failed``, ``pruned`` (the
    fold rule or the searcher stopped it early) or, in a resume's history only,
    ``pending`` (created, not finished: the searcher asks for it again with
    ``Ask(..., trial=i)`` to have it finished, and is told when it is).
    ``fold_scores`` holds one entry per fold of the run, ``None`` where not scored;
    ``mean`` is the mean of the scored folds (``None`` without any).
    """

    trial: int
    params: Mapping[str, Any]
    budget: Budget
    status: str
    fold_scores: tuple[float | None, ...]
    mean: float | None
    message: str = ""

    @property
    def scores(self) -> list[float]:
        """The folds' scores that exist, in fold order."""
        return [s for s in self.fold_scores if s is not None]


@dataclass(frozen=True)
class SearchProblem:
    """What a searcher is set up with.

    ``space``: the searched keys in the spec's order. ``seed``: the run seed (a searcher
    draws everything from it, so a run is reproducible). ``folds``: the run's folds (1 for
    holdout). ``epochs``: a learnable model's full training length in epochs (``None``: not
    learnable, or a schedule in iterations: then only folds can be a budget). ``workers``:
    how many units may run at once (an asynchronous searcher keeps them busy).
    ``history``: trials already stored, in creation order (empty for a new run; a resumed
    run's trials, finished or ``pending``): the searcher rebuilds its state from them and
    must not propose them again.
    """

    space: Sequence[Dimension]
    seed: int
    folds: int
    epochs: float | None = None
    workers: int = 1
    history: Sequence[Told] = field(default_factory=tuple)

    @property
    def full(self) -> Budget:
        """The full budget: every fold, the spec's own training length."""
        return Budget(self.folds, None)
