"""The ``tuidl plugins new --kind searcher`` example: Latin hypercube sampling, and its tests
(see :mod:`tuidl.plugins.scaffold_templates` for the other kinds and the shared parts)."""

SEARCHER = '''\
"""$title: Latin hypercube sampling (searcher "$name")."""

import numpy as np
from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.search import Ask


class LatinHypercube:
    """``trials`` configurations that cover every range evenly: each range is cut into
    ``trials`` equal strata (on its own scale: log for log_uniform) and each stratum is used
    exactly once, in a random order per key. Choices are drawn uniformly.

    The runner's loop (``tuidl.api.Searcher``): ``setup(problem)``, then ``ask(n)`` until it
    returns nothing, with ``tell(result)`` after every trial. Everything is drawn from
    ``problem.seed``; on a resume ``problem.history`` holds the trials already made.
    """

    def __init__(self, trials=10):
        self.trials = trials

    def setup(self, problem):
        rng = np.random.default_rng(np.random.SeedSequence(problem.seed, spawn_key=(7,)))
        n = self.trials
        configs = [{} for _ in range(n)]
        for d in problem.space:
            if d.kind == "choice":
                for c in configs:
                    c[d.key] = d.values[int(rng.integers(len(d.values)))]
                continue
            u = (rng.permutation(n) + rng.random(n)) / n  # one point in each stratum
            lo, hi = float(d.low), float(d.high)
            if d.is_log:
                values = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
            else:
                values = lo + u * (hi - lo)
            for c, v in zip(configs, values, strict=True):
                c[d.key] = int(min(max(round(v), lo), hi)) if d.kind == "int" else float(v)
        # a resumed run: finish the trials in progress, make only the ones still missing
        self.todo = [
            Ask(t.params, problem.full, trial=t.trial)
            for t in problem.history
            if t.status == "pending"
        ]
        self.todo += [Ask(c, problem.full) for c in configs[len(problem.history) :]]

    def ask(self, n):
        out, self.todo = self.todo, []  # every configuration at once: folds share work
        return out

    def tell(self, result):
        pass  # the design does not depend on results


def _make(trials):
    """Latin hypercube sampling: ``trials`` configurations spread evenly over every range."""
    return LatinHypercube(trials)


@hookimpl
def register_searchers(register):
    register(
        Component(
            "searcher",
            "$name",
            "Latin hypercube sampling over the search space",
            _make,
            (Param("trials", "int", 10, "configurations to make", min=1, max=10_000),),
        )
    )
'''

SEARCHER_TESTS = """

def test_every_stratum_is_used_once(component):
    from tuidl.plugins.search import Dimension, SearchProblem

    searcher = component.create({"trials": 10})
    space = (Dimension("optimizer.lr", "log_uniform", low=1e-4, high=1.0),)
    searcher.setup(SearchProblem(space=space, seed=0, folds=3))
    lrs = [a.params["optimizer.lr"] for a in searcher.ask(2)]
    strata = np.floor((np.log10(lrs) + 4) / 4 * 10)
    assert sorted(strata) == list(range(10))
    assert searcher.ask(2) == []  # all asked: the search ends when the trials are done


@pytest.mark.parametrize("seed", [0, 1])
def test_it_runs_a_search(registry, seed):
    space = {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}
    result = run_tiny(
        search={"method": NAME, "trials": 3, "space": space}, seed=seed, registry=registry
    )
    assert len(result["trials"]) == 3
"""
