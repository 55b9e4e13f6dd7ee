"""The searcher contract (tuidl.plugins.contract_search): the built-in searchers pass it, and
each way a searcher can break the protocol fails the check that names it."""

from __future__ import annotations

import pytest

from tuidl.plugins.contract import check_component
from tuidl.plugins.manager import load_registry
from tuidl.plugins.schema import Component, Param
from tuidl.plugins.search import Ask, Budget


@pytest.fixture(scope="module")
def registry():
    return load_registry(environ={"TUIDL_LOAD_PLUGINS": ""})


@pytest.mark.parametrize("name", ["grid", "random", "halving"])
def test_builtin_searchers_pass(registry, name):
    result = check_component(registry.get("searcher", name), ranges=False)
    assert result.status == "ok", result.reason
    assert {"setup", "asks in the space", "budgets", "terminates", "deterministic"} <= set(
        result.passed
    )


class _Counting:
    """A searcher that asks ``trials`` configurations one at a time; ``flaw`` breaks it."""

    def __init__(self, trials: int = 6, flaw: str = "") -> None:
        self.trials, self.flaw = trials, flaw

    def setup(self, problem):
        self.problem = problem
        self.next = len(problem.history)
        self.calls = 0

    def ask(self, n):
        self.calls += 1
        if self.next >= self.trials:
            return []
        i = self.next if self.flaw != "resume" else self.next - len(self.problem.history)
        self.next += 1
        params = {}
        for dim in self.problem.space:
            if dim.kind == "choice":
                params[dim.key] = dim.values[i % len(dim.values)]
            else:
                value = dim.low + (dim.high - dim.low) * ((i * 0.6180339887) % 1)
                params[dim.key] = int(value) if dim.kind == "int" else value
        if self.flaw == "outside":
            params["optimizer.lr"] = 5.0
        if self.flaw == "random":
            import random

            params["optimizer.lr"] = random.uniform(1e-4, 1e-1)
        budget = Budget(self.problem.folds + (self.flaw == "budget"))
        return [Ask(params, budget)]

    def tell(self, result):
        pass


def _component(flaw: str) -> Component:
    return Component(
        "searcher",
        "counting",
        "test searcher",
        lambda trials: _Counting(trials, flaw),
        (Param("trials", "int", 6, "trials", min=1),),
    )


@pytest.mark.parametrize(
    ("flaw", "check"),
    [
        ("outside", "asks in the space"),
        ("budget", "budgets"),
        ("random", "deterministic"),
        ("resume", "resumes"),
    ],
)
def test_each_broken_promise_fails_its_check(flaw, check):
    assert check_component(_component(""), ranges=False).status == "ok"
    result = check_component(_component(flaw), ranges=False)
    assert result.status == "failed"
    assert result.reason.startswith(f"{check}:"), result.reason


def test_a_searcher_that_never_ends_is_checked_on_its_first_trials():
    result = check_component(_component(""), ranges=False)
    assert "terminates" in result.passed
    endless = Component(
        "searcher",
        "endless",
        "test searcher",
        lambda: _Counting(10**9),
    )
    result = check_component(endless, ranges=False)
    assert result.status == "ok", result.reason
    assert "terminates" not in result.passed
