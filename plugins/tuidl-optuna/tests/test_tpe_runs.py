"""The tpe searcher inside real tuidl runs: the plugin's example spec end to end (two worker
processes), and an interrupted search that resumes instead of starting again."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tuidl.experiment.runner import resume, run_spec
from tuidl.experiment.spec import load_spec
from tuidl.experiment.store import Store

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("optuna") is None, reason="optuna is not installed"
)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits_tpe.toml"
SMALL = ["search.trials=10", "search.startup=4", "training.epochs=4"]


def test_the_example_runs_with_two_workers(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        out = run_spec(load_spec(EXAMPLE, SMALL), store, workers=2)
        assert out.status == "finished", out.message
        run = store.get_run(out.run_id)
    trials = run["trials"]
    assert 1 <= len(trials) <= 10
    assert {t["status"] for t in trials} <= {"ok", "pruned"}
    for t in trials:
        if t["status"] == "pruned":
            assert t["message"].startswith("optuna median pruner: mean "), t["message"]
            assert None in t["fold_scores"]
        else:
            assert None not in t["fold_scores"]
    assert run["best"]["mean"] > 0.9
    assert run["test"]["test_accuracy"] > 0.9


def test_an_interrupted_search_resumes_where_it_stopped(tmp_path):
    spec = load_spec(EXAMPLE, [*SMALL, "search.trials=6", "search.pruner=none"])
    with Store(tmp_path / "runs.sqlite") as store:
        seen = []
        out = run_spec(
            spec,
            store,
            progress=lambda p: p.last and seen.append(p.last),
            cancel=lambda: len(seen) >= 12,
        )
        assert out.status == "interrupted"
        before = store.get_run(out.run_id)["trials"]
        done = sum(s is not None for t in before for s in t["fold_scores"])
        ran = []
        resume(out.run_id, store, progress=lambda p: p.last and ran.append(p.last))
        run = store.get_run(out.run_id)
    assert run["status"] == "finished"
    assert len(run["trials"]) == 6  # trials in all, not 6 more
    assert len(ran) == 6 * 5 - done  # only the missing folds ran
    for old, new in zip(before, run["trials"], strict=False):
        assert new["params"] == old["params"]
        kept = [s for s in old["fold_scores"] if s is not None]
        assert new["fold_scores"][: len(kept)] == kept
