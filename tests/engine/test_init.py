"""Initializers: the spread each promises, the dtype asked for, and the bias constant."""

import math

import numpy as np
import pytest

from tuidl.engine.init import Calibrated, He, SmallRandom

CASES = [
    (SmallRandom(), lambda fan_in: 0.01),
    (SmallRandom(scale=0.5), lambda fan_in: 0.5),
    (Calibrated(), lambda fan_in: 1 / math.sqrt(fan_in)),
    (He(), lambda fan_in: math.sqrt(2 / fan_in)),
]


@pytest.mark.parametrize("init,expected_std", CASES, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_weight_std_shape_and_dtype(init, expected_std, dtype):
    fan_in, fan_out = 3072, 100
    W = init.weights(fan_in, fan_out, np.random.default_rng(0), dtype)
    assert W.shape == (fan_in, fan_out)
    assert W.dtype == np.dtype(dtype)
    assert W.std() == pytest.approx(expected_std(fan_in), rel=0.01)
    assert abs(W.mean()) < 0.01 * expected_std(fan_in)


def test_weights_follow_the_seed():
    a = He().weights(10, 5, np.random.default_rng(42), np.float32)
    b = He().weights(10, 5, np.random.default_rng(42), np.float32)
    c = He().weights(10, 5, np.random.default_rng(43), np.float32)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls", [SmallRandom, Calibrated, He])
def test_bias_zero_or_constant(cls):
    zero = cls().bias(7, "float32")
    assert zero.shape == (7,) and zero.dtype == np.float32 and not zero.any()
    const = cls(bias=0.01).bias(3, np.float64)
    assert const.dtype == np.float64
    np.testing.assert_array_equal(const, [0.01] * 3)


def test_unsupported_dtype_raises():
    with pytest.raises(TypeError):
        Calibrated().weights(3, 2, np.random.default_rng(0), "int32")
