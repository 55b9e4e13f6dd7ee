"""``tuidl check``: the sanity checks pass on good specs and fail the right check, with the
right hint, on deliberately broken ones (issue #13)."""

from __future__ import annotations

import pytest
import sanity_plugin

from tuidl.cli import main
from tuidl.experiment.sanity import run_checks
from tuidl.experiment.spec import load_spec
from tuidl.plugins.manager import load_registry

EXAMPLES = ("digits_softmax", "digits_svm", "digits_two_layer")


@pytest.fixture(scope="module")
def registry():
    return load_registry(extra_plugins=[("sanity", sanity_plugin)], environ={})


def checks(registry, example="digits_softmax", *overrides, config=0):
    spec = load_spec(f"examples/{example}.toml", list(overrides))
    label, out = run_checks(spec, registry, config=config)
    return label, {c.name: c for c in out}


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_learnable_example_passes_every_check(registry, example):
    _, got = checks(registry, example)
    assert [c.status for c in got.values()] == ["pass"] * 4, got


def test_knn_gets_not_applicable_with_the_reason(registry):
    label, got = checks(registry, "digits_knn")
    assert label == "config #1 of 9"
    assert all(c.status == "n/a" and "fitted directly" in c.hint for c in got.values())


def test_learning_rate_far_too_high_fails_the_overfit_check(registry):
    _, got = checks(registry, "digits_softmax", "optimizer.lr=1e4", "cv.grid={}")
    c = got["overfit a tiny subset"]
    assert c.failed and "learning rate is too high (lr 10000)" in c.hint and "blew up" in c.hint
    assert got["gradient check"].status == "pass"  # the math is right; the setting is not


def test_learning_rate_far_too_low_fails_with_the_other_hint(registry):
    _, got = checks(registry, "digits_softmax", "optimizer.lr=1e-9", "cv.grid={}")
    c = got["overfit a tiny subset"]
    assert c.failed and "too low" in c.hint


def test_init_scale_of_ten_fails_the_initial_loss(registry):
    _, got = checks(
        registry, "digits_softmax", "init.name=small_random", "init.scale=10", "cv.grid={}"
    )
    c = got["initial loss"]
    assert c.failed and "initial weights are too large" in c.hint
    assert float(c.measured.split()[0]) > 10 * 2.3026


def test_a_wrong_gradient_from_a_plugin_loss_fails_the_gradient_check(registry):
    _, got = checks(registry, "digits_two_layer", "loss.name=wrong_softmax")
    c = got["gradient check"]
    assert c.failed and "wrong_softmax" in c.hint and "backward pass" in c.hint
    assert got["initial loss"].status == "pass"  # the forward pass is fine


def test_a_plugin_loss_without_a_chance_value_is_not_applicable(registry):
    _, got = checks(registry, "digits_softmax", "loss.name=plain_softmax", "cv.grid={}")
    assert got["initial loss"].status == "n/a" and "chance_loss" in got["initial loss"].hint
    assert got["gradient check"].status == "pass"


def test_cli_prints_each_check_and_exits_1_on_a_failure(capsys):
    assert main(["check", "examples/digits_svm.toml"]) == 0
    out = capsys.readouterr().out
    assert out.count("✓ pass") == 4 and "expected about 9.0000" in out
    args = ["--set", "optimizer.lr=1e4", "--set", "cv.grid={}"]
    status = main(["check", "examples/digits_softmax.toml", *args])
    out = capsys.readouterr().out
    assert status == 1 and "✗ FAIL  overfit a tiny subset" in out and "1 check(s) failed" in out


def test_cli_config_out_of_range_is_one_error_line(capsys):
    assert main(["check", "examples/digits_softmax.toml", "--config", "9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --config 9: the grid has 4 configuration(s)")


def test_the_gradient_check_holds_with_batchnorm_and_dropout(registry):
    # dropout draws its masks from the model's generator: the check must rewind it between
    # evaluations, or the differences measure new masks, not the gradient
    _, got = checks(
        registry,
        "digits_two_layer",
        "model.batchnorm=true",
        "model.dropout=0.5",
        "cv.grid={}",
    )
    assert got["gradient check"].status == "pass", got["gradient check"]
