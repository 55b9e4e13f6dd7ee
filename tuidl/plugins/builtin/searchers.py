"""Built-in searchers: ``grid`` (every combination), ``random`` and ``halving``.

They use the public hook and protocol (``register_searchers``, :class:`tuidl.api.Searcher`)
exactly as a plugin's searcher would. All three are reproducible from the run seed and
rebuild their state from ``problem.history`` on a resume (see :mod:`tuidl.plugins.search`).
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np

from tuidl.errors import TuidlError
from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.search import Ask, Budget, SearchProblem, Told


def config_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of configuration ``index``'s values: independent of every other, so
    the i-th configuration of a seed is the same however many came before or run at once."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, index)))


REDRAWS = 20
"""How often a configuration equal to an earlier one is drawn again (see :func:`sample`)."""


def sample(problem: SearchProblem, index: int, seen: set[str] | None = None) -> dict[str, Any]:
    """Configuration ``index``: one value per dimension from :func:`config_rng`.

    With ``seen`` (the :func:`config_key` of the configurations made so far), one equal to
    an earlier one is drawn again, up to :data:`REDRAWS` times, each from
    ``SeedSequence(seed, spawn_key=(2, index, r))``: on a discrete space (kNN's ``k`` on a
    log scale) a repeat costs a whole trial and tells nothing new. Still deterministic: it
    depends only on the seed and the configurations before it. Adds the result to ``seen``.
    """
    rng = config_rng(problem.seed, index)
    config = {d.key: d.sample(rng) for d in problem.space}
    if seen is None:
        return config
    for r in range(1, REDRAWS + 1):
        if config_key(config) not in seen:
            break
        key = (2, index, r)
        rng = np.random.default_rng(np.random.SeedSequence(problem.seed, spawn_key=key))
        config = {d.key: d.sample(rng) for d in problem.space}
    seen.add(config_key(config))
    return config


def config_key(config: dict[str, Any]) -> str:
    """A configuration as a comparable string (values as JSON, as the store keeps them)."""
    return json.dumps(config, sort_keys=True, default=str)


class _Queue:
    """Shared by grid and random: a fixed list of configurations, each at the full budget,
    asked all at once (the runner orders them fold-major and shares preprocessing); on a
    resume, the stored trials that are not finished are asked again as continuations."""

    def __init__(self) -> None:
        self.todo: list[Ask] = []

    def _start(self, problem: SearchProblem, configs: list[dict[str, Any]]) -> None:
        full = problem.full
        have = len(problem.history)
        self.todo = [
            Ask(t.params, full, trial=t.trial) for t in problem.history if t.status == "pending"
        ]
        self.todo += [Ask(p, full) for p in configs[have:]]

    def ask(self, n: int) -> list[Ask]:
        # every configuration is known: asking all at once costs nothing and lets the
        # runner share each fold's preprocessing among them
        out, self.todo = self.todo, []
        return out

    def tell(self, result: Told) -> None:
        pass  # the list does not depend on results

    @property
    def exhausted(self) -> bool:
        """Everything is asked: nothing a result says can add a trial."""
        return not self.todo


class GridSearcher(_Queue):
    """Every combination of the lists (``itertools.product`` in the order written, the last
    key fastest): today's ``[cv.grid]``, and ``choice`` entries of ``[search.space]``."""

    def setup(self, problem: SearchProblem) -> None:
        for d in problem.space:
            if not d.finite:
                raise TuidlError(
                    f"search.space.{d.key}: the grid takes lists, and {d.kind} is a range; "
                    'use [search] method = "random" (or "halving") to sample it'
                )
        keys = [d.key for d in problem.space]
        configs = [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(d.values for d in problem.space))
        ]
        self._start(problem, configs)


class RandomSearcher(_Queue):
    """``trials`` configurations drawn independently from the space (lists are uniform
    choices), each from its own seeded generator. Drawn as asked, :data:`BATCH` at a time
    (or ``n`` when more slots are free), so a long search starts at once and each batch
    still shares its folds' preprocessing."""

    BATCH = 64

    def __init__(self, trials: int) -> None:
        super().__init__()
        self.trials = trials

    def setup(self, problem: SearchProblem) -> None:
        self.problem = problem
        self._start(problem, [])
        self.next = len(problem.history)
        self.seen = {config_key(dict(t.params)) for t in problem.history}

    def ask(self, n: int) -> list[Ask]:
        out = super().ask(n)
        stop = min(self.trials, self.next + max(n, self.BATCH))
        out += [
            Ask(sample(self.problem, i, self.seen), self.problem.full)
            for i in range(self.next, stop)
        ]
        self.next = stop
        return out

    @property
    def exhausted(self) -> bool:
        return not self.todo and self.next >= self.trials


class HalvingSearcher:
    """Asynchronous successive halving (ASHA) over ``trials`` sampled configurations.

    The budget is one resource: ``epochs`` (learnable models: each rung trains longer) or
    ``folds`` (every model: each rung scores more folds of the same trial, keeping the ones
    it has); ``auto`` picks epochs for a learnable model, else folds. Rung budgets go down
    from the full budget by the reduction factor ``eta`` while they stay >= ``min_budget``
    (folds are rounded up): 10 epochs, eta 3, min 1 -> 1.11, 3.33, 10 epochs; 5 folds,
    eta 3 -> 2, 5 folds. A trial is promoted to the next rung as soon as it is in the top
    ``1/eta`` of its rung's finished trials (so no worker waits for a rung to fill); when
    nothing can be promoted a new configuration starts at the lowest rung. Trials left
    below the full budget are marked pruned when the search ends.

    With epochs, a rung trains the first epochs of the full training, and a promoted
    configuration continues from where its previous rung stopped (``Ask.warm_start``): one
    taken through rungs of 1, 3 and 9 epochs trains 9 epochs in all, not 13, and ends
    exactly where its uninterrupted 9-epoch training would.
    """

    def __init__(
        self, trials: int, eta: float, min_budget: float, resource: str, total_budget: float = 0
    ) -> None:
        self.trials, self.eta, self.min_budget, self.resource = trials, eta, min_budget, resource
        self.total_budget = total_budget

    def setup(self, problem: SearchProblem) -> None:
        self.problem = problem
        resource = self.resource
        if resource == "auto":
            resource = "epochs" if problem.epochs is not None else "folds"
        if resource == "epochs" and problem.epochs is None:
            raise TuidlError(
                "search.resource: epochs needs a learnable model trained in epochs "
                '(training.epochs, not iterations); use resource = "folds"'
            )
        if resource == "epochs" and any(d.key == "training.epochs" for d in problem.space):
            raise TuidlError(
                "search.space.training.epochs: halving sets each rung's epochs itself; "
                'search another key, or use resource = "folds"'
            )
        full = float(
            problem.folds if problem.epochs is None or resource == "folds" else problem.epochs
        )
        budgets = [full]
        while budgets[-1] / self.eta >= self.min_budget:
            budgets.append(budgets[-1] / self.eta)
        budgets.reverse()
        if resource == "folds":
            budgets = sorted({math.ceil(b - 1e-9) for b in budgets})
        if len(budgets) < 2:
            raise TuidlError(
                f"search.min_budget: {self.min_budget:g} leaves one rung of {full:g} "
                f"{resource}; lower min_budget or eta so that halving has a rung to stop at"
            )
        self.resource_kind = resource
        self.budgets = budgets
        one = sum(self._cost(r) for r in range(len(budgets)))
        if self.total_budget and self.total_budget < one - 1e-9:
            raise TuidlError(
                f"search.total_budget: {self.total_budget:g} is less than one configuration "
                f"costs through every rung: {one:g} {self._unit}; raise it, or 0 for no cap"
            )
        self.configs = 0  # configurations started
        self.rungs: list[dict[int, float]] = [{} for _ in budgets]  # rung -> {key: score}
        self.promoted: list[set[int]] = [set() for _ in budgets]
        self.key_of: dict[int, int] = {}  # trial -> configuration number
        self.trial_of: dict[tuple[int, int], int] = {}  # (config, rung) -> trial
        self.params: dict[int, dict[str, Any]] = {}  # config -> params (without the budget)
        self.next_trial = 0
        self.todo: list[Ask] = []
        self.spent = 0.0  # the cost of every rung asked for so far (see _cost)
        self.outstanding: set[int] = set()  # trials asked for and not told yet
        for told in problem.history:
            self._replay(told)

    def describe(self) -> str:
        """The plan in words, for ``spec check`` (after :meth:`setup`)."""
        unit = self.resource_kind
        rungs = ", ".join(f"{b:.3g}" for b in self.budgets)
        cap = f", at most {self.total_budget:g} {self._unit} in all" if self.total_budget else ""
        return (
            f"{self.trials} configurations, rungs of {rungs} {unit} (keep the top "
            f"1/{self.eta:g}){cap}"
        )

    @property
    def _unit(self) -> str:
        return "epochs (summed over trials and folds)" if self._epochs else "fold fits"

    def _cost(self, rung: int) -> float:
        """What a rung adds, in ``total_budget``'s unit (epochs summed over folds, or fold
        fits): its budget less the lower rung's, which it continues."""
        below = self.budgets[rung - 1] if rung > 0 else 0.0
        folds = self.problem.folds if self._epochs else 1
        return (self.budgets[rung] - below) * folds

    def _affordable(self, rung: int, reserve: float = 0.0) -> bool:
        cap = self.total_budget
        return not cap or self.spent + self._cost(rung) + reserve <= cap + 1e-9

    def _reserve(self) -> float:
        """Budget kept back from new configurations until one has reached the full budget:
        what taking one from the lowest rung to the top costs, so that a capped search
        always ends with a full-budget trial to rank."""
        if self.rungs[-1]:
            return 0.0
        return sum(self._cost(r) for r in range(1, len(self.budgets)))

    # -- budgets ------------------------------------------------------------------------------

    def _budget(self, rung: int) -> Budget:
        b = self.budgets[rung]
        if self.resource_kind == "folds":
            return Budget(int(b), None)
        last = rung == len(self.budgets) - 1
        return Budget(self.problem.folds, None if last else round(b, 6))

    def _rung_of(self, told: Told) -> int:
        if self.resource_kind == "folds":
            done = len(told.scores)
            return max((i for i, b in enumerate(self.budgets) if b <= done), default=0)
        e = told.budget.epochs
        if e is None:
            return len(self.budgets) - 1
        return min(range(len(self.budgets)), key=lambda i: abs(self.budgets[i] - e))

    def _score(self, told: Told, rung: int) -> float:
        if told.status not in ("ok", "pending") or not told.scores:
            return -math.inf
        if self.resource_kind == "folds":  # the rung's folds only: all trials compare alike
            return float(np.mean(told.scores[: int(self.budgets[rung])]))
        return float(np.mean(told.scores))

    # -- resume -------------------------------------------------------------------------------

    def _replay(self, told: Told) -> None:
        """Rebuild the state from one stored trial (creation order): its configuration and
        rung, the promotions it implies, and, when it is not finished at its rung's budget,
        a continuation to ask again. Promotions still to come are decided afresh."""
        self.next_trial = max(self.next_trial, told.trial + 1)
        base = {
            k: v for k, v in told.params.items() if not (self._epochs and k == "training.epochs")
        }
        config = next((c for c, p in self.params.items() if p == base), None)
        if config is None:
            config = self.configs
            self.configs += 1
            self.params[config] = base
        self.key_of[told.trial] = config
        rung = self._rung_of(told)
        first = rung if self._epochs else 0  # a folds trial spans every rung up to its own
        self.spent += sum(self._cost(r) for r in range(first, rung + 1))
        for r in range(first, rung + 1):
            self.trial_of[(config, r)] = told.trial
        for r in range(rung):
            self.promoted[r].add(config)
        if told.status != "pending":
            self.rungs[rung][config] = self._score(told, rung)
            return
        done = len(told.scores)
        if not self._epochs and done >= self.budgets[rung]:
            if done > self.budgets[rung] and rung + 1 < len(self.budgets):
                # between rungs: it had been promoted and was running the next rung's folds
                self.rungs[rung][config] = self._score(told, rung)
                self.promoted[rung].add(config)
                self.trial_of[(config, rung + 1)] = told.trial
                self.todo.append(Ask(told.params, self._budget(rung + 1), told.trial))
                self.outstanding.add(told.trial)
            else:  # finished its rung: waits for a promotion like any other
                self.rungs[rung][config] = self._score(told, rung)
            return
        self.todo.append(Ask(told.params, self._budget(rung), told.trial))
        self.outstanding.add(told.trial)

    @property
    def _epochs(self) -> bool:
        return self.resource_kind == "epochs"

    # -- ask and tell -------------------------------------------------------------------------

    def ask(self, n: int) -> list[Ask]:
        out, self.todo = self.todo[:n], self.todo[n:]
        while len(out) < n:
            ask = self._promotion() or self._new()
            if ask is None and not self.outstanding and not out:
                ask = self._last_push()
            if ask is None:
                break
            out.append(ask)
        return out

    def _last_push(self) -> Ask | None:
        """Nothing is running and the rules start nothing more: promote the best
        configuration not yet promoted from the highest rung that has one, when its next
        rung fits the budget. Without a cap only while no trial has the full budget (so a
        search of few configurations still ends with one to rank); with a cap, while the
        budget lasts (promoting the next best is its best use)."""
        if self.rungs[-1] and not self.total_budget:
            return None
        for rung in range(len(self.budgets) - 2, -1, -1):
            waiting = self._unpromoted(rung, len(self.rungs[rung]))
            if waiting and self._affordable(rung + 1):
                return self._promote(waiting[0], rung)
        return None

    def _promotion(self) -> Ask | None:
        for rung in range(len(self.budgets) - 2, -1, -1):
            if not self._affordable(rung + 1):
                continue  # a cheaper promotion lower down may still fit the total budget
            waiting = self._unpromoted(rung, int(len(self.rungs[rung]) // self.eta))
            if waiting:
                return self._promote(waiting[0], rung)
        return None

    def _unpromoted(self, rung: int, top: int) -> list[int]:
        """The configurations among the ``top`` best of ``rung`` that have not gone on yet
        (and did not fail), best first."""
        members = self.rungs[rung]
        ranked = sorted(members, key=lambda c: (-members[c], c))[:top]
        return [c for c in ranked if c not in self.promoted[rung] and members[c] != -math.inf]

    def _promote(self, config: int, rung: int) -> Ask:
        self.promoted[rung].add(config)
        return self._ask(config, rung + 1)

    def _new(self) -> Ask | None:
        if self.configs >= self.trials or not self._affordable(0, self._reserve()):
            return None
        config = self.configs
        self.configs += 1
        seen = {config_key(p) for p in self.params.values()}
        self.params[config] = sample(self.problem, config, seen)
        return self._ask(config, 0)

    def _ask(self, config: int, rung: int) -> Ask:
        self.spent += self._cost(rung)
        budget = self._budget(rung)
        note = f"rung {rung + 1} of {len(self.budgets)}"
        params = dict(self.params[config])
        if self.resource_kind == "folds" and rung > 0:
            trial = self.trial_of[(config, rung - 1)]
            self.trial_of[(config, rung)] = trial
            self.outstanding.add(trial)
            return Ask(params, budget, trial=trial, note=note)
        if budget.epochs is not None:
            params["training.epochs"] = budget.epochs
        # an epochs rung continues the previous rung's training instead of starting over
        warm = self.trial_of.get((config, rung - 1)) if rung > 0 else None
        trial = self.next_trial
        self.next_trial += 1
        self.key_of[trial] = config
        self.trial_of[(config, rung)] = trial
        self.outstanding.add(trial)
        return Ask(params, budget, note=note, warm_start=warm)

    def tell(self, result: Told) -> None:
        self.outstanding.discard(result.trial)
        config = self.key_of.get(result.trial)
        if config is None:
            return
        rung = max(r for (c, r), t in self.trial_of.items() if c == config and t == result.trial)
        self.rungs[rung][config] = self._score(result, rung)


def _grid() -> GridSearcher:
    """Every combination of the lists in ``[cv.grid]`` and ``[search.space]`` (today's
    grid search, the default): ``itertools.product`` in the order written."""
    return GridSearcher()


def _random(trials: int) -> RandomSearcher:
    """``trials`` configurations sampled from the space (log-uniform, uniform, integer
    ranges, choices), each from ``SeedSequence(seed, spawn_key=(2, i))``: reproducible, and
    the same first configurations whatever ``trials`` is."""
    return RandomSearcher(trials)


def _halving(
    trials: int, eta: float, min_budget: float, resource: str, total_budget: float
) -> HalvingSearcher:
    """Asynchronous successive halving: ``trials`` sampled configurations start on a small
    budget (``min_budget`` epochs or folds); the top ``1/eta`` of each rung go on to an
    ``eta`` times larger one, up to the full budget (the spec's epochs and all folds).
    ``total_budget`` (0: none) caps what the whole search trains: epochs summed over every
    trial and fold, or fold fits; nothing is started that would go past it."""
    return HalvingSearcher(trials, eta, min_budget, resource, total_budget)


_TRIALS = Param("trials", "int", 20, "configurations to sample", min=1, max=10_000)


@hookimpl
def register_searchers(register):
    register(Component("searcher", "grid", "Every combination of the lists (the default)", _grid))
    register(
        Component(
            "searcher", "random", "Random search: n configurations, seeded", _random, (_TRIALS,)
        )
    )
    register(
        Component(
            "searcher",
            "halving",
            "Asynchronous successive halving over epochs or folds",
            _halving,
            (
                Param("trials", "int", 27, "configurations to sample", min=1, max=10_000),
                Param("eta", "float", 3.0, "reduction factor: keep the top 1/eta", min=1.5),
                Param(
                    "min_budget",
                    "float",
                    1.0,
                    "the lowest rung's budget, in epochs or folds",
                    min=0.001,
                ),
                Param(
                    "resource",
                    "choice",
                    "auto",
                    "what a budget counts: epochs (learnable models), folds, or auto",
                    choices=("auto", "epochs", "folds"),
                ),
                Param(
                    "total_budget",
                    "float",
                    0.0,
                    "the most the whole search trains: epochs summed over trials and folds "
                    "(or fold fits); 0: no cap",
                    min=0.0,
                ),
            ),
        )
    )
