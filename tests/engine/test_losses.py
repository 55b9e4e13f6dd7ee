"""Losses: gradients, sanity values at tiny weights, numerical stability, sklearn agreement."""

import math

import numpy as np
import pytest

from tuidl.engine.gradcheck import numeric_gradient, rel_error
from tuidl.engine.losses import SoftmaxLoss, SquaredHingeLoss, SVMLoss

TOL = 1e-7
LOSSES = [SVMLoss(), SVMLoss(delta=0.5), SquaredHingeLoss(), SoftmaxLoss()]


def _scores_away_from_kinks(rng, n, k, delta=1.0):
    """Random scores whose hinge margins s_j - s_y + delta all stay >= 0.05 from zero."""
    y = rng.integers(0, k, n)
    scores = rng.standard_normal((n, k))
    rows = np.arange(n)
    for _ in range(100):
        margins = scores - scores[rows, y][:, None] + delta
        margins[rows, y] = 1.0
        bad = np.abs(margins) < 0.05
        if not bad.any():
            return scores, y
        scores[bad] += 0.2
    raise AssertionError("could not place scores away from the hinge kinks")


@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: f"{type(l).__name__}")
def test_loss_gradient_matches_numeric(loss):
    rng = np.random.default_rng(0)
    scores, y = _scores_away_from_kinks(rng, 7, 5, getattr(loss, "delta", 1.0))
    value, dscores = loss(scores, y)
    assert isinstance(value, float)
    assert dscores.shape == scores.shape and dscores.dtype == np.float64
    num = numeric_gradient(lambda s: loss(s, y)[0], scores)
    assert rel_error(dscores, num) < TOL


@pytest.mark.parametrize("loss", LOSSES, ids=lambda l: f"{type(l).__name__}")
def test_loss_leaves_scores_alone_and_keeps_float32(loss):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((4, 3)).astype(np.float32)
    before = scores.copy()
    _, dscores = loss(scores, np.array([0, 1, 2, 1]))
    np.testing.assert_array_equal(scores, before)
    assert dscores.dtype == np.float32


def test_svm_hand_computed():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    # The CS231n notes' cat/car/frog example: per-row losses 2.9, 0 and 12.9.
    value, dscores = SVMLoss()(scores, y)
    assert value == pytest.approx((2.9 + 0.0 + 12.9) / 3)
    expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_allclose(dscores, expected)


def test_squared_hinge_hand_computed():
    scores = np.array([[3.2, 5.1, -1.7]])
    value, dscores = SquaredHingeLoss()(scores, np.array([0]))
    assert value == pytest.approx(2.9**2)
    np.testing.assert_allclose(dscores, [[-5.8, 5.8, 0.0]])


def test_softmax_hand_computed():
    scores = np.array([[1.0, 2.0, 3.0]])
    value, dscores = SoftmaxLoss()(scores, np.array([2]))
    p = np.exp(scores) / np.exp(scores).sum()
    assert value == pytest.approx(-math.log(p[0, 2]))
    np.testing.assert_allclose(dscores, p - [[0, 0, 1]])


def test_loss_sanity_at_tiny_random_weights():
    rng = np.random.default_rng(2)
    n, d, c = 500, 50, 10
    X = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    scores = X @ (1e-4 * rng.standard_normal((d, c)))
    assert SoftmaxLoss()(scores, y)[0] == pytest.approx(math.log(c), rel=1e-3)
    assert SVMLoss()(scores, y)[0] == pytest.approx((c - 1) * 1.0, rel=1e-3)
    assert SVMLoss(delta=2.0)(scores, y)[0] == pytest.approx((c - 1) * 2.0, rel=1e-3)
    assert SquaredHingeLoss()(scores, y)[0] == pytest.approx(c - 1, rel=1e-2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scores", [[[123.0, 456.0, 789.0]], [[1e4, 1e4, 1e4]], [[1e4, -1e4, 0.0]]])
def test_softmax_is_stable_for_large_scores(scores, dtype):
    scores = np.array(scores, dtype=dtype)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow is fine
        value, dscores = SoftmaxLoss()(scores, np.array([0]))
    assert math.isfinite(value)
    assert np.all(np.isfinite(dscores))
    np.testing.assert_allclose(dscores.sum(axis=1), 0, atol=1e-6)
    if scores[0, 0] == 123.0:
        assert value == pytest.approx(666.0)


def test_predict_and_output_dim():
    scores = np.array([[0.1, 0.9, 0.0], [2.0, -1.0, 1.0]])
    for loss in LOSSES:
        np.testing.assert_array_equal(loss.predict(scores), [1, 0])
        assert loss.output_dim(7) == 7


def test_softmax_matches_sklearn_log_loss():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    scores = 3 * rng.standard_normal((50, 4))
    y = rng.integers(0, 4, 50)
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    expected = metrics.log_loss(y, probs, labels=range(4))
    assert SoftmaxLoss()(scores, y)[0] == pytest.approx(expected, rel=1e-10)


def test_svm_matches_sklearn_hinge_loss():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(4)
    scores = 3 * rng.standard_normal((200, 5))
    y = rng.integers(0, 5, 200)
    # sklearn's multiclass hinge is Crammer-Singer: max over j != y, not the sum. It
    # agrees with ours when at most one margin per row is violated, so compare on such rows.
    margins = scores - scores[np.arange(200), y][:, None] + 1.0
    one_violation = (margins > 0).sum(axis=1) <= 2  # the correct class itself counts once
    rows = np.flatnonzero(one_violation)
    assert rows.size > 20
    expected = metrics.hinge_loss(y[rows], scores[rows], labels=range(5))
    assert SVMLoss()(scores[rows], y[rows])[0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
def test_chance_loss_is_the_loss_at_equal_scores(delta):
    from tuidl.engine.losses import SoftmaxLoss, SquaredHingeLoss, SVMLoss

    y = np.array([0, 3, 7, 9, 2])
    scores = np.full((5, 10), 0.37)  # all equal, not necessarily zero
    for loss in (SVMLoss(delta), SquaredHingeLoss(delta), SoftmaxLoss()):
        assert loss(scores, y)[0] == pytest.approx(loss.chance_loss(10), rel=1e-12)
    assert SoftmaxLoss().chance_loss(10) == pytest.approx(np.log(10))
    assert SVMLoss(delta).chance_loss(10) == pytest.approx(9 * delta)
