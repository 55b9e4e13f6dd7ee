"""Preprocessing steps, fitted on training rows only, and the chain that runs them.

The classic recipe, one step each:

====================  ==========================================================
``Reshape``           rows (N, D), cast to float32 (float64 on request)
``MeanSubtraction``   subtract the per-feature mean image, or one global mean
``Normalize``         divide by the per-feature std (zero std guarded)
``PCA``               rotate onto the top-k eigenvectors of the training covariance
``Whitening``         divide the rotated data by ``sqrt(eigenvalue + eps)``
``BiasTrick``         append a column of ones
====================  ==========================================================

Every step has ``fit(X) -> self`` (learns statistics from the rows it is given, the
training rows), ``transform(X)`` (applies them; it never refits, and raises
:class:`TuidlError` when the step is not fitted or the rows have the wrong shape) and
``output_shape(input_shape)`` (the per-row shape after the step, ``None`` for a size only
known after fitting). No step modifies its input array: ``transform`` returns a new array or
a view. A :class:`Chain` runs steps in order and works in place on arrays it created itself,
so a full CIFAR-10 chain does not hold a copy per step.

Statistics are accumulated in float64 (a float32 running sum over 50,000 rows loses
digits) and stored in the data's dtype for the transform.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np

from tuidl.errors import TuidlError

# Rows per block where a step works block by block to avoid a full-size temporary.
_BLOCK = 4096

Shape = tuple[int | None, ...]


def _as_float(X: np.ndarray) -> np.ndarray:
    """Floating data as is; integer data (raw pixels) cast to float32."""
    X = np.asarray(X)
    return X if X.dtype.kind == "f" else X.astype(np.float32)


def _writable_float(X: np.ndarray, inplace: bool) -> tuple[np.ndarray, bool]:
    """``X`` as float, and whether the caller may modify it (its own copy, or Chain's)."""
    Xf = _as_float(X)
    return Xf, inplace or Xf is not X


def _column_mean(X: np.ndarray) -> np.ndarray:
    # dtype=float64 makes numpy accumulate in float64 through a small buffer (no full copy)
    return np.asarray(np.mean(X, axis=0, dtype=np.float64))


def _column_var(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Population variance per column, two-pass in float64 one block of rows at a time."""
    acc = np.zeros(X.shape[1:], dtype=np.float64)
    for start in range(0, X.shape[0], _BLOCK):
        d = X[start : start + _BLOCK].astype(np.float64)
        d -= mean
        acc += np.einsum("i...,i...->...", d, d)
    return acc / X.shape[0]


class Step:
    """Shared plumbing: the fitted flag, shape checks, and the in-place hook for Chain."""

    name = "step"

    def __init__(self) -> None:
        self.fitted = False
        self.input_shape: tuple[int, ...] | None = None

    def fit(self, X: np.ndarray) -> Step:
        X = np.asarray(X)
        if X.ndim < 1 or X.shape[0] == 0:
            raise TuidlError(f"{self.name}: cannot fit on {X.shape[0] if X.ndim else 0} rows")
        self.input_shape = tuple(X.shape[1:])
        self._fit(X)
        self.fitted = True
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self._apply(np.asarray(X), inplace=False)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        return tuple(input_shape)

    def _apply(self, X: np.ndarray, inplace: bool) -> np.ndarray:
        """``inplace=True`` promises that nobody else holds ``X`` (Chain's own arrays)."""
        if not self.fitted:
            raise TuidlError(f"{self.name}: transform called before fit (fit on training rows)")
        if tuple(X.shape[1:]) != self.input_shape:
            raise TuidlError(
                f"{self.name}: was fitted on rows of shape {self.input_shape} but got rows of "
                f"shape {tuple(X.shape[1:])}"
            )
        return self._transform(X, inplace)

    def _fit(self, X: np.ndarray) -> None:
        pass

    def _transform(self, X: np.ndarray, inplace: bool) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _rows_shape(step: Step, input_shape: Sequence[int | None]) -> int | None:
    if len(input_shape) != 1:
        raise TuidlError(
            f"{step.name}: needs rows (N, D) but gets per-row shape {tuple(input_shape)}; "
            "put a reshape step first"
        )
    return input_shape[0]


class Reshape(Step):
    """Flatten each row to (D,) and cast to ``dtype`` ("float32" default, or "float64").

    Returns a view when ``X`` is already flat and of that dtype (no copy needed).
    """

    name = "reshape"

    def __init__(self, dtype: str = "float32") -> None:
        super().__init__()
        if dtype not in ("float32", "float64"):
            raise TuidlError(f"reshape: dtype {dtype!r}; allowed: 'float32', 'float64'")
        self.dtype = np.dtype(dtype)

    def output_shape(self, input_shape):
        dims = tuple(input_shape)
        return (None,) if None in dims else (prod(dims),)

    def _transform(self, X, inplace):
        return X.reshape(X.shape[0], -1).astype(self.dtype, copy=False)

    def __repr__(self) -> str:
        return f"Reshape(dtype={self.dtype.name!r})"


class MeanSubtraction(Step):
    """Subtract the training mean: per feature (the mean image) or one ``global`` scalar.

    ``mean_`` holds the float64 mean (an image for ``per_feature``, a 0-d array otherwise).
    """

    name = "mean_subtraction"

    def __init__(self, mode: str = "per_feature") -> None:
        super().__init__()
        if mode not in ("per_feature", "global"):
            raise TuidlError(f"mean_subtraction: mode {mode!r}; allowed: 'per_feature', 'global'")
        self.mode = mode
        self.mean_: np.ndarray | None = None

    def _fit(self, X):
        mean = _column_mean(X)
        self.mean_ = mean if self.mode == "per_feature" else np.asarray(mean.mean())

    def _transform(self, X, inplace):
        X, writable = _writable_float(X, inplace)
        mean = self.mean_.astype(X.dtype)
        if writable:
            X -= mean
            return X
        return X - mean

    def __repr__(self) -> str:
        return f"MeanSubtraction(mode={self.mode!r})"


class Normalize(Step):
    """Divide each feature by its training std; features with std <= ``eps`` are left as is.

    Put it after mean subtraction (as the recipe does): it only scales. A constant feature
    (std 0, common at image borders) would otherwise become inf/NaN.
    """

    name = "normalize"

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        if not eps >= 0:
            raise TuidlError(f"normalize: eps {eps!r} must be >= 0")
        self.eps = eps
        self.std_: np.ndarray | None = None

    def _fit(self, X):
        std = np.sqrt(_column_var(X, _column_mean(X)))
        self.std_ = np.where(std > self.eps, std, 1.0)

    def _transform(self, X, inplace):
        X, writable = _writable_float(X, inplace)
        std = self.std_.astype(X.dtype)
        if writable:
            X /= std
            return X
        return X / std

    def __repr__(self) -> str:
        return f"Normalize(eps={self.eps!r})"


class PCA(Step):
    """Project centred rows onto the top principal components of the training rows.

    Keeps ``k`` components, or, when ``variance`` is set, the fewest that explain that
    fraction of the variance. The covariance is ``Xc.T @ Xc / N`` (the recipe's, with N,
    not N - 1). ``method``: ``"eigh"`` (the covariance as ``Xc.T @ Xc`` in the data's
    dtype, one BLAS syrk per 16k-row block so the centred copy stays small, then a
    symmetric eigensolver), ``"svd"`` (SVD of the centred X itself) or ``"auto"`` (SVD when
    N < D, where it is cheaper, else eigh). Data stays in its dtype (float32 by default).

    With a fixed ``k`` the eigensolver computes only the top k pairs (LAPACK syevr through
    ``scipy.linalg.eigh(subset_by_index=...)``): for CIFAR-10's 3,072 × 3,072 covariance and
    k = 100 that is about 5× faster than a full ``numpy.linalg.eigh``, which is why scipy is
    a dependency. Variance fractions need every eigenvalue, so they use the full solver.

    Fitted attributes: ``mean_`` (D,), ``components_`` (D, k) with unit columns (the recipe's
    ``U[:, :k]``; signs fixed so each column's largest entry is positive),
    ``eigenvalues_`` (descending: the top k for a fixed ``k`` with eigh, all of them
    otherwise), ``explained_variance_ratio_`` (the same entries, as fractions of the total
    variance, the covariance's trace) and ``k_``.
    Raises :class:`TuidlError` when k exceeds min(N, D).
    """

    name = "pca"

    def __init__(self, k: int = 100, variance: float | None = None, method: str = "auto"):
        super().__init__()
        if method not in ("auto", "eigh", "svd"):
            raise TuidlError(f"pca: method {method!r}; allowed: 'auto', 'eigh', 'svd'")
        if variance is None and (not isinstance(k, int | np.integer) or k < 1):
            raise TuidlError(f"pca: k {k!r} must be a whole number >= 1")
        if variance is not None and not 0 < variance <= 1:
            raise TuidlError(f"pca: variance {variance!r} must be in (0, 1]")
        self.k = k
        self.variance = variance
        self.method = method
        self.mean_ = self.components_ = self.eigenvalues_ = None
        self.explained_variance_ratio_ = None
        self.k_: int | None = None

    def output_shape(self, input_shape):
        d = _rows_shape(self, input_shape)
        if self.fitted:
            return (self.k_,)
        if self.variance is not None:
            return (None,)
        if d is not None and self.k > d:
            raise TuidlError(f"pca: k={self.k} is larger than the row size D={d}")
        return (self.k,)

    def _fit(self, X):
        _rows_shape(self, X.shape[1:])
        X = _as_float(X)
        n, d = X.shape
        if self.variance is None and self.k > min(n, d):
            raise TuidlError(
                f"pca: k={self.k} is larger than min(N={n}, D={d}) = {min(n, d)}; a PCA of "
                f"{n} rows of {d} features has at most {min(n, d)} components"
            )
        mean = _column_mean(X)
        self.mean_ = mean.astype(X.dtype)
        method = self.method
        if method == "auto":
            method = "svd" if n < d else "eigh"
        total = None
        if method == "eigh":
            from scipy.linalg import eigh  # lazily: only PCA needs it

            cov = self._covariance(X)
            total = float(np.trace(cov, dtype=np.float64))
            if self.variance is None:
                w, U = eigh(cov, subset_by_index=[d - self.k, d - 1], driver="evr")
            else:
                w, U = eigh(cov, driver="evd", overwrite_a=True)
            w, U = w[::-1], U[:, ::-1]
        else:
            Xc = X - self.mean_
            _, s, Vt = np.linalg.svd(Xc, full_matrices=False)
            del Xc
            w, U = s.astype(np.float64) ** 2 / n, Vt.T
        w = np.clip(w.astype(np.float64), 0.0, None)  # round-off makes zero ones slightly < 0
        if total is None:
            total = w.sum()
        ratio = w / total if total > 0 else np.zeros_like(w)
        if self.variance is not None:
            k = int(np.searchsorted(np.cumsum(ratio), self.variance - 1e-12) + 1)
            k = max(1, min(k, min(n, d)))
        else:
            k = int(self.k)
        comps = np.ascontiguousarray(U[:, :k])
        # deterministic signs: each component's largest-magnitude entry positive
        big = np.argmax(np.abs(comps), axis=0)
        comps *= np.sign(comps[big, np.arange(k)])
        self.components_ = comps.astype(X.dtype, copy=False)
        self.eigenvalues_ = w
        self.explained_variance_ratio_ = ratio
        self.k_ = k

    def _covariance(self, X: np.ndarray) -> np.ndarray:
        """``Xc.T @ Xc / N`` in X's dtype (float32 stays float32: no upcast).

        Rows are centred and multiplied in blocks of 16k: numpy turns ``A.T @ A`` into one
        BLAS syrk per block, which measured as fast as a single syrk over all rows (and
        faster than GEMM variants) while holding a third of the centred copy. Centring
        first matters: ``X.T @ X / N - mean mean^T`` loses the small eigenvalues to
        cancellation in float32."""
        n = X.shape[0]
        if n <= 4 * _BLOCK:
            Xc = X - self.mean_
            cov = Xc.T @ Xc
        else:
            # blocks of 16k rows keep the GEMM efficient while holding ~1/3 of the copy
            cov = np.zeros((X.shape[1], X.shape[1]), dtype=X.dtype)
            for start in range(0, n, 4 * _BLOCK):
                Xc = X[start : start + 4 * _BLOCK] - self.mean_
                cov += Xc.T @ Xc
        del Xc
        cov /= n
        return cov

    def _transform(self, X, inplace):
        X, writable = _writable_float(X, inplace)
        out = np.empty((X.shape[0], self.k_), dtype=X.dtype)
        for start in range(0, X.shape[0], _BLOCK):
            block = X[start : start + _BLOCK]
            if writable:
                block -= self.mean_
            else:
                block = block - self.mean_
            np.matmul(block, self.components_, out=out[start : start + _BLOCK])
        return out

    def __repr__(self) -> str:
        return f"PCA(k={self.k!r}, variance={self.variance!r}, method={self.method!r})"


class Whitening(Step):
    """Divide PCA-rotated rows by ``sqrt(eigenvalue + eps)`` (eps default 1e-5).

    It must come right after :class:`PCA` (a :class:`Chain` checks this): on rotated
    training rows the variance of column i *is* eigenvalue i, so ``fit`` takes the
    eigenvalues as the column variances of what it is given and needs nothing else from
    the PCA. On unrotated data the same division would only rescale, not whiten. (The
    recipe's comment calls S "singular values"; for a covariance matrix they are the
    eigenvalues, which is what is used here.)

    Components without variance are refused, not divided by round-off: ``fit`` raises
    :class:`TuidlError` naming the fix when

    - there are more components than the centred training rows can span (``k > N - 1``:
      with N <= D a PCA's last components are null directions; dividing by their ~1e-31
      variance turns any row off the training span into values of ~1e15), or
    - a component's variance plus ``eps`` is at the level of rounding noise (at most
      ``max(N, k) * float64 eps`` times the largest variance, the rank tolerance
      ``numpy.linalg.matrix_rank`` uses): then the rows have lower rank than k and ``eps``
      is too small to bound the division. The default ``eps = 1e-5`` bounds it for data on
      any usual scale, such as pixels.
    """

    name = "whiten"

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        if not eps >= 0:
            raise TuidlError(f"whiten: eps {eps!r} must be >= 0")
        self.eps = eps
        self.eigenvalues_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def output_shape(self, input_shape):
        return (_rows_shape(self, input_shape),)

    def _fit(self, X):
        _rows_shape(self, X.shape[1:])
        n, k = X.shape
        if k > n - 1:
            null = f"component {k} has" if k == n else f"components {n} to {k} have"
            raise TuidlError(
                f"whiten: pca keeps {k} components, but {n} training rows, once centred, span "
                f"at most {n - 1} dimensions, so {null} no variance and whitening would "
                "divide by ~0 (rows outside the training span would come out near 1e15); "
                f"use pca k <= {max(n - 1, 1)} (or pca variance < 1), or train on more rows"
            )
        var = _column_var(X, _column_mean(X))
        top = float(var.max(initial=0.0))
        noise = top * max(n, k) * np.finfo(np.float64).eps
        null = np.flatnonzero(var + self.eps <= noise)
        if null.size:
            rank = int(np.count_nonzero(var > noise))
            raise TuidlError(
                f"whiten: component {int(null[0]) + 1} of {k} has variance {var[null[0]]:.3g} "
                f"(rounding noise: the training rows have only {rank} components with "
                f"variance) and eps={self.eps:g} cannot bound the division; use pca k <= "
                f"{max(rank, 1)}, or whiten eps > 0 (default 1e-5)"
            )
        self.eigenvalues_ = var
        self.scale_ = 1.0 / np.sqrt(var + self.eps)

    def _transform(self, X, inplace):
        X, writable = _writable_float(X, inplace)
        scale = self.scale_.astype(X.dtype)
        if writable:
            X *= scale
            return X
        return X * scale

    def __repr__(self) -> str:
        return f"Whitening(eps={self.eps!r})"


class BiasTrick(Step):
    """Append a column of ones, so a linear model's bias becomes one more weight."""

    name = "bias_trick"

    def output_shape(self, input_shape):
        d = _rows_shape(self, input_shape)
        return (None if d is None else d + 1,)

    def _fit(self, X):
        _rows_shape(self, X.shape[1:])

    def _transform(self, X, inplace):
        X = _as_float(X)
        out = np.empty((X.shape[0], X.shape[1] + 1), dtype=X.dtype)
        out[:, :-1] = X
        out[:, -1] = 1
        return out


class Chain:
    """Steps applied in order; fitted on training rows, then used on any rows.

    ``fit(X_train)`` fits step 1 on X_train, transforms, fits step 2 on the result, and so
    on; ``fit_transform`` also returns the transformed training rows (saving a pass);
    ``transform(X)`` applies the fitted steps without refitting. ``output_shapes(shape)``
    lists ``(step name, per-row output shape)`` for each step before any data flows.

    A ``whiten`` step must directly follow a ``pca`` step; anything else raises
    :class:`TuidlError` at construction. Intermediate arrays the chain itself created are
    transformed in place, so memory stays at about input + one working array.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)
        for i, step in enumerate(self.steps):
            for attr in ("fit", "transform", "output_shape"):
                if not callable(getattr(step, attr, None)):
                    raise TuidlError(f"preprocessing step {i + 1} ({step!r}) has no {attr}()")
            if isinstance(step, Whitening) and (i == 0 or not isinstance(self.steps[i - 1], PCA)):
                before = _step_name(self.steps[i - 1]) if i else "nothing"
                raise TuidlError(
                    f"whiten must come right after pca (it divides PCA's rotated data by "
                    f"sqrt(eigenvalue + eps)); in this chain it follows {before}: "
                    f"{', '.join(self.names)}"
                )

    @property
    def names(self) -> list[str]:
        return [_step_name(s) for s in self.steps]

    def fit(self, X: np.ndarray) -> Chain:
        self._run(X, fit=True, last=False)
        return self

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, fit=True, last=True)

    def transform(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, fit=False, last=True)

    def _run(self, X: np.ndarray, fit: bool, last: bool) -> np.ndarray:
        original = X = np.asarray(X)
        for i, step in enumerate(self.steps):
            if fit:
                step.fit(X)
            if not last and i == len(self.steps) - 1:
                break
            owned = X is not original and not np.may_share_memory(X, original)
            # a third-party step gets only the public contract
            X = step._apply(X, inplace=owned) if isinstance(step, Step) else step.transform(X)
        return X

    def output_shapes(self, input_shape: Sequence[int | None]) -> list[tuple[str, Shape]]:
        shapes = []
        shape: Shape = tuple(input_shape)
        for step in self.steps:
            shape = tuple(step.output_shape(shape))
            shapes.append((_step_name(step), shape))
        return shapes

    def __repr__(self) -> str:
        return f"Chain([{', '.join(map(repr, self.steps))}])"


def _step_name(step) -> str:
    return getattr(step, "name", type(step).__name__)
