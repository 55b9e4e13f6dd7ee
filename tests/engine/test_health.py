"""Per-layer health: the statistics are what they claim, and the hints fire exactly when a
value leaves its healthy range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tuidl.engine.health import HealthProbe, hints, layer_stats
from tuidl.engine.init import He
from tuidl.engine.losses import SoftmaxLoss
from tuidl.engine.models import FullyConnectedNet, LinearClassifier
from tuidl.engine.optim import SGD


def _net(**kw):
    rng = np.random.default_rng(0)
    net = FullyConnectedNet(hidden_sizes=[16, 8], **kw)
    return net.setup(5, 3, SoftmaxLoss(), He(), rng)


def test_layer_stats_count_dead_units_over_the_whole_batch():
    out = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # unit 0 never fires
    stats = layer_stats({"h1": out}, {"h1": (np.array([1.0, 3.0]), np.array([2.0, 4.0]))})
    assert stats["dead:h1"] == pytest.approx(1 / 3)
    assert stats["act_mean:h1"] == pytest.approx(0.5)
    assert stats["act_std:h1"] == pytest.approx(np.std(out))
    assert stats["bn_mean:h1"] == 2.0 and stats["bn_var:h1"] == 3.0


def test_net_reports_each_hidden_layer_and_batchnorm():
    net = _net(batchnorm=True)
    X, y = np.random.default_rng(1).normal(size=(32, 5)), np.arange(32) % 3
    net.loss(X, y)
    stats = net.layer_health()
    assert set(stats) == {
        f"{s}:{h}"
        for s in ("act_mean", "act_std", "dead", "bn_mean", "bn_var")
        for h in ("h1", "h2")
    }
    assert 0.0 <= stats["dead:h1"] <= 1.0
    assert (
        LinearClassifier().setup(5, 3, SoftmaxLoss(), He(), np.random.default_rng(0)).layer_health()
        == {}
    )


def test_probe_measures_the_update_ratio_of_one_step_and_only_when_due():
    net = _net()
    X, y = np.random.default_rng(1).normal(size=(32, 5)), np.arange(32) % 3
    opt = SGD(lr=0.1)
    probe = HealthProbe(net, 10, lambda k: k.startswith("W"), net.layer_health)
    assert probe.names == ["W1", "W2", "W3"]
    for it in (9, 10):
        W1 = net.params["W1"].copy()
        _, grads = net.loss(X, y)
        g1 = np.linalg.norm(grads["W1"])
        probe.before(it, grads)
        opt.step(net.params, grads)
        stats = probe.after(it)
        if it == 9:
            assert stats is None
    want = np.linalg.norm(net.params["W1"] - W1) / np.linalg.norm(W1)
    assert stats["update_ratio:W1"] == pytest.approx(want)
    assert stats["grad_norm:W1"] == pytest.approx(g1)
    assert "dead:h1" in stats  # the model's own layer health comes along
    assert HealthProbe(net, 0, lambda k: True).due(0) is False


@pytest.mark.parametrize(
    "latest,expected",
    [
        ({"update_ratio:W1": 1e-3, "dead:h1": 0.1, "grad_norm:W1": 0.5}, []),
        ({"update_ratio:W1": 0.5}, ["too high"]),
        ({"update_ratio:W1": 1e-7}, ["too low"]),
        ({"update_ratio:W1": math.inf}, ["too high"]),
        ({"dead:h1": 0.6}, ["60% of the ReLUs in h1"]),
        ({"grad_norm:W1": math.nan}, ["exploding"]),
        ({"grad_norm:W1": 1e-9, "grad_norm:W3": 1.0}, ["vanishing"]),
    ],
)
def test_hints_fire_outside_the_healthy_ranges(latest, expected):
    got = hints(latest)
    assert len(got) == len(expected)
    for line, want in zip(got, expected, strict=True):
        assert want in line
