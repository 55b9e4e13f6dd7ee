"""Numeric gradients by centered differences, and the relative error to compare them.

Used by the engine's tests and by ``tuidl plugins check`` to verify a plugin's backward
pass against its forward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5):
    """Return ``df/dx`` by centered differences ``(f(x + h) - f(x - h)) / 2h``, entry by entry.

    ``f(x)`` returns a scalar. ``x`` is perturbed **in place** (and restored exactly), so it
    may be a model's own parameter array that ``f`` reads indirectly. ``x`` must be float64:
    in float32 the differences drown in rounding, so anything else raises ``TypeError``.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"numeric_gradient needs a float64 array, got {getattr(x, 'dtype', type(x))}"
        )
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fplus = float(f(x))
        x[ix] = old - h
        fminus = float(f(x))
        x[ix] = old
        grad[ix] = (fplus - fminus) / (2 * h)
        it.iternext()
    return grad


def rel_error(a, b) -> float:
    """Largest elementwise ``|a - b| / max(1e-8, |a| + |b|)`` (0.0 for empty arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
