"""The worked search examples (one per built-in searcher beyond the grid) run as written.

``digits_two_layer.toml`` is the grid's example (tests/experiment/test_examples.py); the
tuidl-optuna plugin tests its own ``digits_tpe.toml``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tuidl.experiment.runner import run_spec
from tuidl.experiment.spec import load_spec
from tuidl.experiment.store import Store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _run(tmp_path, name, workers=2):
    spec = load_spec(EXAMPLES / name)
    with Store(tmp_path / "runs.sqlite") as store:
        out = run_spec(spec, store, workers=workers)
        assert out.status == "finished", out.message
        return spec, store.get_run(out.run_id)


def test_digits_random(tmp_path):
    spec, run = _run(tmp_path, "digits_random.toml")
    assert len(run["trials"]) == spec.search.params["trials"] == 20
    assert {t["status"] for t in run["trials"]} == {"ok"}
    lrs = [t["params"]["optimizer.lr"] for t in run["trials"]]
    assert len(set(lrs)) == 20 and all(1e-4 <= lr <= 1e-1 for lr in lrs)
    assert run["best"]["mean"] > 0.95 and run["test"]["test_accuracy"] > 0.95


def test_digits_halving(tmp_path):
    _, run = _run(tmp_path, "digits_halving.toml")
    trials = run["trials"]
    statuses = Counter(t["status"] for t in trials)
    assert set(statuses) == {"ok", "pruned"}
    # 27 configurations at 1 epoch; the rungs above hold fewer, each a new trial
    rungs = Counter(t["params"].get("training.epochs", 9) for t in trials)
    assert rungs[1.0] == 27 and 0 < rungs[9] < rungs[3.0] < 27
    assert statuses["ok"] == rungs[9]
    for t in trials:
        if t["status"] == "pruned":
            assert "halving" in t["message"]
    # far fewer epochs than 27 configurations trained in full
    epochs = sum(t["params"].get("training.epochs", 9) for t in trials)
    assert epochs < 0.5 * 27 * 9
    assert run["best"]["mean"] > 0.95 and run["test"]["test_accuracy"] > 0.95
