"""Numeric gradients by centered differences, and the relative error to compare them.

Used by the engine's tests and by ``tuidl plugins check`` to verify a plugin's backward
pass against its forward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5):
    """Return ``df/dx`` by centered differences ``(f(x + h) - f(x - h)) / 2h``, entry by entry.

    **How ``f`` is called:** ``f(x)``, with ``x`` itself (the very array passed in, one entry
    changed by ``±h``), and it returns a scalar. ``x`` is perturbed **in place** and restored
    exactly, so ``f`` may ignore its argument and read ``x`` indirectly, which is how a
    model's own parameter array is checked::

        numeric_gradient(lambda s: loss(s, y)[0], scores)        # f uses its argument
        numeric_gradient(lambda _: model.loss(X, y)[0], model.params["W"])  # reads it inside

    ``x`` must be float64: in float32 the differences drown in rounding, so anything else
    raises ``TypeError``. Costs ``2 * x.size`` calls of ``f``. Compare the result with the
    analytic gradient using :func:`rel_error`; a correct gradient gives ~1e-8 or less.
    """
    return numeric_gradient_at(f, x, list(np.ndindex(x.shape)), h).reshape(x.shape)


def numeric_gradient_at(
    f: Callable[[np.ndarray], float], x: np.ndarray, indices: list[tuple[int, ...]], h: float = 1e-5
) -> np.ndarray:
    """:func:`numeric_gradient` at the entries ``indices`` of ``x`` only (a 1-D array, one
    value per index, in order): ``2 * len(indices)`` calls of ``f``. Checks a big parameter
    (a 3,072 × 100 weight matrix) at a sample of its entries in seconds. Same contract for
    ``f`` and ``x`` (float64, perturbed in place and restored)."""
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(
            f"numeric_gradient needs a float64 array, got {getattr(x, 'dtype', type(x))}"
        )
    grad = np.zeros(len(indices))
    for i, ix in enumerate(indices):
        old = x[ix]
        x[ix] = old + h
        fplus = float(f(x))
        x[ix] = old - h
        fminus = float(f(x))
        x[ix] = old
        grad[i] = (fplus - fminus) / (2 * h)
    return grad


def roundoff(f_value: float, h: float = 1e-5) -> float:
    """The absolute error a float64 centered difference of ``f`` can have from rounding
    alone, ``10 * eps * max(1, |f|) / h`` (about 4e-10 for ``|f| = 2``): entries of a true
    gradient smaller than this cannot be resolved, so :func:`rel_error` can ignore them."""
    return 10 * float(np.finfo(np.float64).eps) * max(1.0, abs(float(f_value))) / h


def rel_error(a, b, atol: float = 0.0) -> float:
    """Largest elementwise ``|a - b| / max(1e-8, |a| + |b|)`` (0.0 for empty arrays).

    Entries with ``|a - b| <= atol`` count as equal: pass ``atol=roundoff(f)`` when ``b`` is
    a numeric gradient, so tiny true entries (1e-8 next to 0.1) are not failed for the
    rounding of the differences. Different shapes raise ``ValueError``.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    diff = np.abs(a - b)
    err = diff / np.maximum(1e-8, np.abs(a) + np.abs(b))
    err[diff <= atol] = 0.0
    return float(np.max(err))
