"""The tuidl plugin: registers the ``tpe`` searcher through the ``register_searchers`` hook.

tuidl finds this module through the entry point in group ``tuidl`` (see pyproject.toml).
Nothing here imports Optuna: the searcher imports it when a search starts.
"""

from __future__ import annotations

from tuidl.plugins import Component, Param, hookimpl


def _make_searcher(trials, max_folds, startup, pruner, multivariate, seed):
    """Optuna's Tree-structured Parzen Estimator (TPE) sampler, asked one trial at a time
    through Optuna's ask-and-tell API, with Optuna's pruner stopping trials between folds.

    Every trial is asked on the full budget; the pruner decides after each fold from the
    trial's running mean. Needs the ``optuna`` package (a dependency of this plugin).
    """
    from tuidl_optuna.searcher import TPESearcher

    return TPESearcher(
        trials=trials,
        max_folds=max_folds,
        startup=startup,
        pruner=pruner,
        multivariate=multivariate,
        seed=seed,
    )


@hookimpl
def register_searchers(register):
    register(
        Component(
            "searcher",
            "tpe",
            "Optuna's TPE sampler with its median or successive-halving pruner between folds.",
            factory=_make_searcher,
            params=(
                Param("trials", "int", 20, "at most this many trials", min=1),
                Param(
                    "max_folds",
                    "int",
                    0,
                    "at most this many folds scored over all trials, pruned ones included "
                    "(a compute budget in fold trainings; 0: no limit but trials)",
                    min=0,
                ),
                Param(
                    "startup",
                    "int",
                    10,
                    "random trials before TPE models the results; the pruner waits for as "
                    "many complete trials",
                    min=1,
                ),
                Param(
                    "pruner",
                    "choice",
                    "median",
                    "stop a trial after a fold: median (its running mean is below the other "
                    "trials' median at that fold), halving (successive halving over folds, "
                    "factor 3) or none",
                    choices=("median", "halving", "none"),
                ),
                Param(
                    "multivariate",
                    "bool",
                    True,
                    "model the parameters jointly (Optuna's multivariate TPE)",
                ),
                Param(
                    "seed",
                    "int",
                    None,
                    "the search seed; none: the run seed (which also fixes the split)",
                    nullable=True,
                ),
            ),
        )
    )
