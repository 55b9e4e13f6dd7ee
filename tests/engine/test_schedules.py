"""Learning-rate schedules: the factor per step, and the trainer applying it on top of the
optimizer's own rate and lr_decay."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tuidl.engine.schedules import factor
from tuidl.errors import TuidlError
from tuidl.experiment.trainer import train


def test_constant_is_one_everywhere():
    assert [factor("constant", it, 10, 5) for it in range(1, 11)] == [1.0] * 10


def test_cosine_starts_at_one_and_falls_to_near_zero():
    f = [factor("cosine", it, 100, 10) for it in range(1, 101)]
    assert f[0] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(f))
    assert f[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 99 / 100)))
    assert f[50] == pytest.approx(0.5, abs=0.02)


def test_step_multiplies_every_step_epochs():
    f = [factor("step", it, 40, 10, step_epochs=2, step_factor=0.5) for it in range(1, 41)]
    assert f[:20] == [1.0] * 20 and f[20:] == [0.5] * 20


def test_warmup_ramps_linearly_then_hands_over():
    f = [factor("cosine", it, 100, 10, warmup_epochs=1) for it in range(1, 101)]
    assert f[:10] == pytest.approx([i / 10 for i in range(1, 11)])
    assert f[10] == 1.0  # the first step after warmup: the full rate
    assert f[-1] < 0.01


@pytest.mark.parametrize(
    "kw", [{"warmup_epochs": -1}, {"step_epochs": 0}, {"step_factor": 0}, {"step_factor": 2}]
)
def test_bad_numbers_raise(kw):
    with pytest.raises(ValueError, match="schedule"):
        factor("step", 1, 10, 5, **kw)


def test_unknown_schedule_raises():
    with pytest.raises(ValueError, match="'linear'"):
        factor("linear", 1, 10, 5)


class _Model:
    """One scalar parameter, gradient 1: each SGD step subtracts exactly the lr."""

    def __init__(self):
        self.params = {"w": np.zeros(1)}

    def loss(self, X, y):
        return 1.0, {"w": np.ones(1)}

    def predict(self, X):
        return np.zeros(len(X), dtype=np.int64)

    def get_state(self):
        return {"params": {"w": self.params["w"].copy()}}

    def set_state(self, state):
        self.params["w"][...] = state["params"]["w"]


class _SGD:
    def __init__(self, lr, lr_decay=1.0):
        self.lr, self.lr_decay, self.seen = lr, lr_decay, []

    def step(self, params, grads):
        self.seen.append(self.lr)
        params["w"] -= self.lr * grads["w"]

    def end_epoch(self):
        self.lr *= self.lr_decay


def _run(opt, **kw):
    X, y = np.zeros((10, 1)), np.zeros(10, dtype=np.int64)
    model = _Model()
    train(
        model,
        opt,
        X,
        y,
        None,
        None,
        rng=np.random.default_rng(0),
        epochs=4,
        batch_size=5,
        sampling="epoch",
        **kw,
    )
    return model


def test_the_trainer_steps_with_decay_times_schedule():
    opt = _SGD(1.0, lr_decay=0.5)
    model = _run(opt, schedule="step", step_epochs=2, step_factor=0.1)
    # 2 steps an epoch; lr_decay halves per epoch, the step schedule cuts 10x after 2 epochs
    want = [1.0, 1.0, 0.5, 0.5, 0.025, 0.025, 0.0125, 0.0125]
    assert opt.seen == pytest.approx(want)
    assert model.params["w"][0] == pytest.approx(-sum(want))  # the update used those rates


def test_constant_schedule_leaves_the_optimizer_alone():
    opt = _SGD(1.0, lr_decay=0.5)
    _run(opt)
    assert opt.seen == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125])


def test_an_optimizer_without_lr_cannot_be_scheduled():
    class NoLr:
        def step(self, params, grads):
            pass

        def end_epoch(self):
            pass

    with pytest.raises(TuidlError, match=r"training\.schedule"):
        _run(NoLr(), schedule="cosine")
