"""Layers: numeric gradient checks in float64, plus the train/test behaviour of each."""

import numpy as np
import pytest

from tuidl.engine.gradcheck import numeric_gradient, rel_error
from tuidl.engine.layers import Affine, BatchNorm, Dropout, ReLU
from tuidl.errors import TuidlError

TOL = 1e-7


def _check_layer(layer, x, dout, make_fresh=None):
    """Compare backward against centered differences of sum(forward(x) * dout).

    ``make_fresh`` runs before every forward (used to re-seed dropout's rng).
    """

    def f(_):
        if make_fresh:
            make_fresh()
        return float(np.sum(layer.forward(x.copy(), "train") * dout))

    if make_fresh:
        make_fresh()
    layer.forward(x.copy(), "train")
    dx = layer.backward(dout.copy())
    grads = {k: v.copy() for k, v in layer.grads.items()}
    assert rel_error(dx, numeric_gradient(f, x)) < TOL
    assert set(grads) == set(layer.params)
    for name, p in layer.params.items():
        assert rel_error(grads[name], numeric_gradient(f, p)) < TOL, name


def test_affine_gradients():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    layer = Affine(6, 5, W=W, b=b)
    x = rng.standard_normal((4, 2, 3))  # flattened to (4, 6); dx keeps the input shape
    _check_layer(layer, x, rng.standard_normal((4, 5)))
    assert layer.forward(x, "train").shape == (4, 5)
    assert layer.backward(np.ones((4, 5))).shape == x.shape


def test_affine_forward_values_and_dtype():
    W = np.arange(6, dtype=np.float32).reshape(3, 2)
    b = np.array([1, -1], dtype=np.float32)
    x = np.array([[1, 0, 2]], dtype=np.float32)
    out = Affine(3, 2, W=W, b=b).forward(x, "test")
    np.testing.assert_array_equal(out, [[0 + 8 + 1, 1 + 10 - 1]])
    assert out.dtype == np.float32
    assert Affine(3, 2).params["W"].dtype == np.float32
    assert Affine(3, 2, dtype="float64").params["b"].dtype == np.float64


def test_affine_without_input_grad_skips_dx():
    layer = Affine(3, 2, W=np.ones((3, 2)), b=np.zeros(2), input_grad=False)
    layer.forward(np.ones((4, 3)), "train")
    assert layer.backward(np.ones((4, 2))) is None
    np.testing.assert_array_equal(layer.grads["W"], np.full((3, 2), 4.0))


def test_affine_rejects_wrong_shapes_and_modes():
    with pytest.raises(ValueError, match="Affine"):
        Affine(3, 2, W=np.ones((2, 3)))
    with pytest.raises(ValueError, match="mode"):
        Affine(3, 2).forward(np.ones((1, 3)), "eval")


def test_relu_gradients_away_from_kink():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 7))
    x[np.abs(x) < 0.1] = 0.5  # centered differences across 0 would straddle the kink
    _check_layer(ReLU(), x, rng.standard_normal((5, 7)))


def test_relu_inplace_matches_and_overwrites():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    dout = rng.standard_normal((3, 4)).astype(np.float32)
    x_orig, dout_orig = x.copy(), dout.copy()
    plain = ReLU()
    expected = plain.forward(x, "train")
    expected_dx = plain.backward(dout)
    np.testing.assert_array_equal(x, x_orig)  # the default leaves its inputs alone
    np.testing.assert_array_equal(dout, dout_orig)
    x2, dout2 = x.copy(), dout.copy()
    inplace = ReLU(inplace=True)
    out = inplace.forward(x2, "train")
    dx = inplace.backward(dout2)
    assert out is x2 and dx is dout2
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(dx, expected_dx)
    assert expected.dtype == expected_dx.dtype == np.float32


def test_batchnorm_gradients_train_mode():
    rng = np.random.default_rng(3)
    bn = BatchNorm(5, dtype="float64")
    bn.params["gamma"][:] = rng.standard_normal(5)
    bn.params["beta"][:] = rng.standard_normal(5)
    x = 3 * rng.standard_normal((8, 5)) + 2
    _check_layer(bn, x, rng.standard_normal((8, 5)))


def test_batchnorm_train_normalizes_and_updates_running_stats():
    rng = np.random.default_rng(4)
    bn = BatchNorm(4, momentum=0.9)
    x = (5 * rng.standard_normal((200, 4)) + 3).astype(np.float32)
    out = bn.forward(x, "train")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-3)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0), rtol=1e-5)
    for _ in range(200):
        bn.forward(x, "train")
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=0), rtol=1e-3)
    np.testing.assert_allclose(bn.running_var, x.var(axis=0), rtol=1e-3)


def test_batchnorm_test_mode_uses_running_stats():
    bn = BatchNorm(3, eps=1e-5, dtype="float64")
    bn.running_mean[:] = [1.0, 2.0, 3.0]
    bn.running_var[:] = [4.0, 9.0, 16.0]
    bn.params["gamma"][:] = [2.0, 1.0, 0.5]
    bn.params["beta"][:] = [0.0, 1.0, -1.0]
    x = np.array([[3.0, 2.0, 7.0], [1.0, 5.0, 3.0]])
    before = bn.running_mean.copy(), bn.running_var.copy()
    out = bn.forward(x, "test")
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5) * bn.params[
        "gamma"
    ] + bn.params["beta"]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, before[0])
    np.testing.assert_array_equal(bn.running_var, before[1])
    # A single test row is fine (train mode would normalize it to beta).
    assert bn.forward(x[:1], "test").shape == (1, 3)


def test_dropout_gradients_with_fixed_mask():
    rng = np.random.default_rng(5)
    layer = Dropout(0.6)

    def reseed():
        layer.rng = np.random.default_rng(123)

    _check_layer(layer, rng.standard_normal((6, 5)), rng.standard_normal((6, 5)), reseed)


def test_dropout_test_mode_is_identity():
    x = np.random.default_rng(6).standard_normal((4, 4)).astype(np.float32)
    layer = Dropout(0.5, np.random.default_rng(0))
    assert layer.forward(x, "test") is x
    assert layer.backward(x) is x


def test_dropout_train_mode_scales_mask_and_keeps_mean():
    p = 0.3
    layer = Dropout(p, np.random.default_rng(7))
    x = np.ones((500, 400), dtype=np.float32)
    out = layer.forward(x, "train")
    assert out.dtype == np.float32
    values = np.unique(out)
    np.testing.assert_allclose(values, [0.0, 1 / p], rtol=1e-6)
    assert abs(out.mean() - 1.0) < 0.02
    assert abs((out > 0).mean() - p) < 0.01
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_allclose(dx, 2 * out, rtol=1e-6)


@pytest.mark.parametrize("p", [0.0, -0.1, 1.5])
def test_dropout_rejects_bad_keep_probability(p):
    with pytest.raises(ValueError, match="keep probability"):
        Dropout(p)


def test_batchnorm_refuses_a_one_row_training_batch_and_keeps_its_stats():
    """One row has no variance: the output would be beta whatever the input, and 50 such
    steps pulled running_var toward 0 (x14 test-time scale); now it is an error."""
    bn = BatchNorm(3, dtype="float64")
    x = np.array([[1.0, -2.0, 5.0]])
    with pytest.raises(TuidlError, match=r"batchnorm: a training batch of 1 row.*at least 2 rows"):
        bn.forward(x, "train")
    np.testing.assert_array_equal(bn.running_var, np.ones(3))
    np.testing.assert_array_equal(bn.running_mean, np.zeros(3))
    assert bn.forward(x, "test").shape == (1, 3)  # test mode uses the running stats: fine
    two = bn.forward(np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]), "train")
    np.testing.assert_allclose(two[:, [0, 2]], [[-1, 1], [1, -1]], atol=1e-2)
    assert BatchNorm.min_batch_rows == 2
