"""Optimizers: two steps each against values worked out by hand, state per name, lr decay."""

import math

import numpy as np
import pytest

from tuidl.engine.optim import SGD, Adagrad, Adam, Momentum, Nesterov, RMSProp

X0 = [1.0, -2.0]
G1 = [0.5, -1.0]
G2 = [-0.25, 2.0]


def _two_steps(opt, dtype=np.float64):
    """Run two steps on one param, returning the value after each."""
    x = np.array(X0, dtype=dtype)
    grads = [np.array(G1, dtype=dtype), np.array(G2, dtype=dtype)]
    seen = []
    for g in grads:
        before = g.copy()
        opt.step({"x": x}, {"x": g})
        np.testing.assert_array_equal(g, before)  # gradients are never touched
        seen.append(x.copy())
    return seen


def _expect(step1, step2):
    return [np.array(step1), np.array(step2)]


def test_sgd():
    got = _two_steps(SGD(lr=0.1))
    # x1 = x0 - 0.1 g1; x2 = x1 - 0.1 g2
    exp = _expect([0.95, -1.9], [0.975, -2.1])
    np.testing.assert_allclose(got, exp)


def test_momentum():
    got = _two_steps(Momentum(lr=0.1, momentum=0.9))
    # v1 = -0.1 g1 = [-0.05, 0.1]; x1 = [0.95, -1.9]
    # v2 = 0.9 v1 - 0.1 g2 = [-0.045 + 0.025, 0.09 - 0.2] = [-0.02, -0.11]; x2 = [0.93, -2.01]
    np.testing.assert_allclose(got, _expect([0.95, -1.9], [0.93, -2.01]))


def test_nesterov_cs231n_form():
    got = _two_steps(Nesterov(lr=0.1, momentum=0.9))
    # step 1: v_prev = 0, v = [-0.05, 0.1]; x += 1.9 v -> [0.905, -1.81]
    # step 2: v_prev = [-0.05, 0.1], v = [-0.02, -0.11]
    #         x += -0.9 v_prev + 1.9 v = [0.045 - 0.038, -0.09 - 0.209] = [0.007, -0.299]
    np.testing.assert_allclose(got, _expect([0.905, -1.81], [0.912, -2.109]))


def test_adagrad():
    eps = 1e-8
    got = _two_steps(Adagrad(lr=0.1, eps=eps))
    # cache1 = g1^2 -> step = 0.1 * g1 / |g1| = 0.1 sign(g1)
    x1 = [1.0 - 0.1 * 0.5 / (0.5 + eps), -2.0 + 0.1 * 1.0 / (1.0 + eps)]
    # cache2 = [0.25 + 0.0625, 1 + 4]
    c2 = [0.3125, 5.0]
    x2 = [x1[0] + 0.1 * 0.25 / (math.sqrt(c2[0]) + eps), x1[1] - 0.1 * 2.0 / (math.sqrt(5) + eps)]
    np.testing.assert_allclose(got, _expect(x1, x2), rtol=1e-12)


def test_rmsprop():
    got = _two_steps(RMSProp(lr=0.1, decay_rate=0.5, eps=1e-8))
    # cache1 = 0.5 g1^2 = [0.125, 0.5]
    x1 = [1.0 - 0.1 * 0.5 / (math.sqrt(0.125) + 1e-8), -2.0 + 0.1 / (math.sqrt(0.5) + 1e-8)]
    # cache2 = 0.5 cache1 + 0.5 g2^2 = [0.0625 + 0.03125, 0.25 + 2.0]
    c2 = [0.09375, 2.25]
    x2 = [x1[0] + 0.1 * 0.25 / (math.sqrt(c2[0]) + 1e-8), x1[1] - 0.1 * 2.0 / (1.5 + 1e-8)]
    np.testing.assert_allclose(got, _expect(x1, x2), rtol=1e-12)


def test_adam():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    got = _two_steps(Adam(lr=lr, beta1=b1, beta2=b2, eps=eps))
    g1, g2 = np.array(G1), np.array(G2)
    # t = 1: bias correction makes m_hat = g1 and v_hat = g1^2, so the step is lr * sign(g1)
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    x1 = np.array(X0) - lr * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + eps)
    np.testing.assert_allclose(x1, [0.9, -1.9], rtol=1e-7)
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    x2 = x1 - lr * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + eps)
    np.testing.assert_allclose(got, [x1, x2], rtol=1e-12)


ALL = [SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam]


@pytest.mark.parametrize("cls", ALL)
def test_float32_stays_float32_and_in_place(cls):
    opt = cls(lr=0.01)
    x = np.ones((3, 2), dtype=np.float32)
    ident = x
    opt.step({"x": x}, {"x": np.full((3, 2), 0.5, dtype=np.float32)})
    assert x is ident and x.dtype == np.float32
    assert np.all(x < 1)
    for state in opt.state["x"].values():
        if isinstance(state, np.ndarray):
            assert state.dtype == np.float32


@pytest.mark.parametrize("cls", ALL)
def test_state_is_per_parameter(cls):
    """Two params stepped together evolve exactly as each would alone."""
    together = cls(lr=0.1)
    a, b = np.array(X0), np.array([3.0, 4.0])
    for g in (G1, G2):
        together.step({"a": a, "b": b}, {"a": np.array(g), "b": -np.array(g)})
    alone = cls(lr=0.1)
    b2 = np.array([3.0, 4.0])
    for g in (G1, G2):
        alone.step({"b": b2}, {"b": -np.array(g)})
    np.testing.assert_array_equal(b, b2)
    np.testing.assert_allclose(a, _two_steps(cls(lr=0.1))[1])


@pytest.mark.parametrize("cls", ALL)
def test_lr_decay_per_epoch(cls):
    opt = cls(lr=0.1, lr_decay=0.5)
    opt.end_epoch()
    assert opt.lr == pytest.approx(0.05)
    opt.end_epoch()
    assert opt.lr == pytest.approx(0.025)
    assert cls(lr=0.1).lr_decay == 1.0


def test_decayed_lr_is_used():
    opt = SGD(lr=0.1, lr_decay=0.5)
    opt.end_epoch()
    x = np.array([1.0])
    opt.step({"x": x}, {"x": np.array([1.0])})
    assert x[0] == pytest.approx(0.95)


def test_missing_gradient_raises():
    with pytest.raises(KeyError):
        SGD(lr=0.1).step({"x": np.ones(2)}, {})
