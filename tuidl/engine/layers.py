"""Layers: each a ``forward``/``backward`` pair with its own cache, CS231n style.

Contract (see :mod:`tuidl.engine`): ``forward(x, mode)`` with ``mode`` "train" or "test"
returns the output and keeps what ``backward`` needs; ``backward(dout)`` returns ``dx`` and
fills ``self.grads`` with the same keys as ``self.params``. Calling ``backward`` before a
train-mode ``forward`` raises ``AttributeError`` (there is no cache yet).

Arrays keep the dtype of the params and the input: nothing here upcasts float32 silently,
because hyperparameters are Python floats (weak scalars under NumPy 2's promotion rules).
"""

from __future__ import annotations

import numpy as np

from tuidl.errors import TuidlError

MODES = ("train", "test")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")


class Affine:
    """Fully connected layer ``out = x @ W + b`` with ``W`` (in_dim, out_dim), ``b`` (out_dim,).

    ``x`` of shape (N, d1, ..., dk) is flattened to (N, in_dim). ``W`` and ``b`` may be given
    (they are used as-is, not copied, so an optimizer updating them in place updates the
    layer); otherwise they start at zero in ``dtype``. With ``input_grad=False``,
    ``backward`` skips ``dx`` (returns ``None``): the first layer of a network never needs
    it, and it costs as much as the weight gradient.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        W: np.ndarray | None = None,
        b: np.ndarray | None = None,
        dtype: str | np.dtype = "float32",
        input_grad: bool = True,
    ) -> None:
        dtype = np.dtype(dtype) if W is None else W.dtype
        if W is None:
            W = np.zeros((in_dim, out_dim), dtype=dtype)
        if b is None:
            b = np.zeros(out_dim, dtype=dtype)
        if W.shape != (in_dim, out_dim) or b.shape != (out_dim,):
            raise ValueError(
                f"Affine({in_dim}, {out_dim}): got W {W.shape} and b {b.shape}, "
                f"expected ({in_dim}, {out_dim}) and ({out_dim},)"
            )
        self.params = {"W": W, "b": b}
        self.grads: dict[str, np.ndarray] = {}
        self.input_grad = input_grad

    def forward(self, x: np.ndarray, mode: str = "train") -> np.ndarray:
        _check_mode(mode)
        x2 = x.reshape(x.shape[0], -1)  # a view for contiguous input
        out = x2 @ self.params["W"]
        out += self.params["b"]
        # Only training needs the cache; test mode must not pin a large batch in memory.
        self._x: np.ndarray | None = x2 if mode == "train" else None
        self._shape: tuple[int, ...] | None = x.shape if mode == "train" else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        x = self._x
        if x is None:
            raise RuntimeError("Affine.backward needs a train-mode forward first")
        self.grads["W"] = x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        if not self.input_grad:
            return None
        return (dout @ self.params["W"].T).reshape(self._shape)


class ReLU:
    """``out = max(x, 0)``; no params.

    With ``inplace=True`` forward overwrites ``x`` and backward overwrites ``dout``: a
    network uses that when it owns those arrays (an affine output nobody else keeps), which
    saves two allocations per layer per step. The default leaves inputs untouched.
    """

    def __init__(self, inplace: bool = False) -> None:
        self.inplace = inplace
        self._out: np.ndarray | None = None  # the last train-mode output (backward's mask)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, mode: str = "train") -> np.ndarray:
        _check_mode(mode)
        out = np.maximum(x, 0, out=x if self.inplace else None)
        self._out = out if mode == "train" else None
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        out = self._out
        if out is None:
            raise RuntimeError("ReLU.backward needs a train-mode forward first")
        # The mask is computed once, here, rather than in forward (test mode never needs it).
        return np.multiply(dout, out > 0, out=dout if self.inplace else None)


class BatchNorm:
    """Batch normalization over the rows of (N, D) input, with learned ``gamma``/``beta``.

    Train mode normalizes with the batch mean and (biased) variance and updates the
    buffers ``running_mean``/``running_var`` as ``m = momentum * m + (1 - momentum) * batch``;
    test mode normalizes with those buffers and changes nothing. Params start at
    gamma = 1, beta = 0; buffers at mean 0, var 1.

    A train-mode batch needs at least :attr:`min_batch_rows` (2) rows: one row has no
    variance, so its output would be ``beta`` whatever the input and ``running_var`` would
    be pulled toward 0 (inflating every test-time output). Such a batch raises
    :class:`TuidlError` naming the fix; the trainer never makes one for a model that
    declares ``min_batch_rows``.
    """

    min_batch_rows = 2

    def __init__(
        self, dim: int, momentum: float = 0.9, eps: float = 1e-5, dtype: str | np.dtype = "float32"
    ) -> None:
        dtype = np.dtype(dtype)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.params = {"gamma": np.ones(dim, dtype=dtype), "beta": np.zeros(dim, dtype=dtype)}
        self.grads: dict[str, np.ndarray] = {}
        self.running_mean = np.zeros(dim, dtype=dtype)
        self.running_var = np.ones(dim, dtype=dtype)

    def forward(self, x: np.ndarray, mode: str = "train") -> np.ndarray:
        _check_mode(mode)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if mode == "test":
            # Fold the affine normalization into one scale and shift: a single pass over x.
            scale = gamma / np.sqrt(self.running_var + self.eps)
            out = x * scale
            out += beta - self.running_mean * scale
            return out
        if x.shape[0] < self.min_batch_rows:
            raise TuidlError(
                f"batchnorm: a training batch of {x.shape[0]} row(s) has no variance to "
                "normalize by (the output would be beta alone and running_var would shrink "
                f"toward 0); train with batches of at least {self.min_batch_rows} rows "
                "(training.batch_size) or without batchnorm"
            )
        mu = x.mean(axis=0)
        xhat = x - mu
        var = np.einsum("ij,ij->j", xhat, xhat) / x.shape[0]
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat *= inv_std
        out = xhat * gamma
        out += beta
        m = self.momentum
        self.running_mean *= m
        self.running_mean += (1.0 - m) * mu
        self.running_var *= m
        self.running_var += (1.0 - m) * var
        self._xhat, self._inv_std = xhat, inv_std
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        xhat, inv_std = self._xhat, self._inv_std
        n = dout.shape[0]
        dbeta = dout.sum(axis=0)
        dgamma = np.einsum("ij,ij->j", dout, xhat)
        self.grads["gamma"], self.grads["beta"] = dgamma, dbeta
        # dx = gamma/(N*std) * (N*dout - sum(dout) - xhat * sum(dout*xhat)), reusing
        # dbeta and dgamma for the two sums.
        dx = xhat * dgamma
        dx += dbeta
        np.subtract(dout * n, dx, out=dx)
        dx *= self.params["gamma"] * inv_std / n
        return dx


class Dropout:
    """Inverted dropout with keep probability ``p`` in (0, 1].

    Train mode keeps each unit with probability ``p`` and scales survivors by ``1/p`` so the
    expected activation is unchanged; test mode is the identity (returns ``x`` itself). The
    mask comes from ``rng`` (a ``numpy.random.Generator``): re-seed it to repeat a mask.
    """

    def __init__(self, p: float, rng: np.random.Generator | None = None) -> None:
        if not 0.0 < p <= 1.0:
            raise ValueError(f"Dropout keep probability must be in (0, 1], got {p!r}")
        self.p = float(p)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, mode: str = "train") -> np.ndarray:
        _check_mode(mode)
        if mode == "test" or self.p == 1.0:
            self._mask = None
            return x
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        keep = self.rng.random(x.shape, dtype=dtype) < self.p
        self._mask = np.divide(keep, self.p, dtype=dtype)
        return x * self._mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self._mask is None else dout * self._mask
