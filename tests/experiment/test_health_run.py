"""Per-layer health recorded while a real run trains, stored with it, and off on request."""

from __future__ import annotations

from exp_helpers import blobs_spec, registry

from tuidl.experiment.runner import run_spec
from tuidl.experiment.store import Store
from tuidl.experiment.trainer import HEALTH_MIN_EVERY


def _health_kinds(tmp_path, **over):
    spec = blobs_spec(**over)
    spec.model.name, spec.model.params = "fc_net", {"hidden_sizes": [8], "reg": 1e-3}
    spec.cv.grid = {}
    with Store(tmp_path / "runs.sqlite") as store:
        outcome = run_spec(spec, store, registry=registry())
        assert outcome.status == "finished"
        curves = store.curves(outcome.run_id, 0, 0)
        final = store.curves(outcome.run_id, 0, -1)
    return curves, final


def test_a_run_stores_health_curves_for_every_fold(tmp_path):
    curves, final = _health_kinds(tmp_path, training__epochs=40)
    kinds = {k for k in curves if k.startswith("health:")}
    assert {"health:update_ratio:W1", "health:grad_norm:W2", "health:dead:h1"} <= kinds
    steps, values = curves["health:update_ratio:W1"]
    assert steps[0] == HEALTH_MIN_EVERY and all(v is not None and v > 0 for v in values)
    assert any(k.startswith("health:") for k in final)  # the retrain records it too


def test_health_can_be_switched_off(tmp_path):
    curves, _ = _health_kinds(tmp_path, training__epochs=40, training__health=False)
    assert not any(k.startswith("health:") for k in curves)
    assert "loss" in curves


def test_show_draws_health_and_names_what_is_out_of_range():
    from tuidl.cli.report import health_text

    steps = [10.0, 20.0, 30.0]
    curves = {
        "loss": ([1.0, 2.0], [2.3, 2.2]),
        "health:update_ratio:W1": (steps, [0.3, 0.4, 0.5]),  # lr far too high
        "health:update_ratio:W2": (steps, [1e-3, 1e-3, 1e-3]),
        "health:dead:h1": (steps, [0.2, 0.5, 0.7]),
    }
    text = "\n".join(health_text(curves, width=90, height=16, color=False))
    assert "updates / weights" in text and "dead ReLUs" in text
    assert (
        "health: updates are 5e-01 of the weights in W1 (healthy ~1e-3): the learning "
        "rate is too high" in text
    )
    assert "health: 70% of the ReLUs in h1 never fire" in text
    assert "W2" not in "".join(line for line in text.splitlines() if line.startswith("health:"))
    assert health_text({"loss": ([1.0], [2.0])}) == []


def test_a_finished_holdout_run_shows_the_curves_of_the_model_it_tested(tmp_path):
    from tuidl.experiment import control

    spec = blobs_spec(cv__method="holdout", training__epochs=20)
    spec.cv.grid = {"optimizer.lr": [1e-2, 1e-1]}
    with Store(tmp_path / "runs.sqlite") as store:
        out = run_spec(spec, store, registry=registry())
        run = store.get_run(out.run_id)
        tested = run["test"]["best_trial"]
        current = control.progress(store, out.run_id).current
        # cv.refit = auto: holdout reuses the trial's own model, so there is no retrain to show
        assert current == (tested, 0)
        curves = store.curves(out.run_id, *current)
        assert curves["loss"][0] and any(k.startswith("health:") for k in curves)
