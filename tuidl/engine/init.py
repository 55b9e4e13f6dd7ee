"""Weight initializers: ``weights(fan_in, fan_out, rng, dtype)`` and ``bias(fan_out, dtype)``.

``weights`` returns a (fan_in, fan_out) array drawn from ``rng`` (a
``numpy.random.Generator``, so a seed fixes it) directly in ``dtype`` (float32 or float64;
other dtypes raise ``TypeError`` from NumPy). ``bias`` returns ``fan_out`` copies of the
constant ``bias`` (zero by default; some people like a small positive constant for ReLUs,
though it brings no consistent gain).
"""

from __future__ import annotations

import math

import numpy as np


class _Initializer:
    """Shared pieces: a unit-normal draw scaled by :meth:`std`, and a constant bias."""

    def __init__(self, bias: float = 0.0) -> None:
        self.bias_value = float(bias)

    def std(self, fan_in: int) -> float:
        raise NotImplementedError

    def weights(
        self, fan_in: int, fan_out: int, rng: np.random.Generator, dtype="float32"
    ) -> np.ndarray:
        W = rng.standard_normal((fan_in, fan_out), dtype=np.dtype(dtype))
        W *= self.std(fan_in)
        return W

    def bias(self, fan_out: int, dtype="float32") -> np.ndarray:
        return np.full(fan_out, self.bias_value, dtype=np.dtype(dtype))


class SmallRandom(_Initializer):
    """``scale * randn``: the classic 0.01 that works for shallow nets and starves deep ones."""

    def __init__(self, scale: float = 0.01, bias: float = 0.0) -> None:
        super().__init__(bias)
        self.scale = float(scale)

    def std(self, fan_in: int) -> float:
        return self.scale


class Calibrated(_Initializer):
    """``randn / sqrt(fan_in)``: each unit's output variance starts near its input's."""

    def std(self, fan_in: int) -> float:
        return 1.0 / math.sqrt(fan_in)


class He(_Initializer):
    """``randn * sqrt(2 / fan_in)``: calibrated for ReLU units, which zero half their input."""

    def std(self, fan_in: int) -> float:
        return math.sqrt(2.0 / fan_in)
