"""Learnable models: a linear classifier and a fully-connected ReLU net.

The learnable-model contract (see :mod:`tuidl.engine`):

- ``learnable = True``; build with hyperparameters, then ``setup(input_dim, num_classes,
  loss, init, rng)`` creates the parameters: weights from ``init.weights``, biases from
  ``init.bias``, output width ``loss.output_dim(num_classes)``, all in the model's ``dtype``
  (float32 unless float64 is asked for). ``rng`` also drives dropout masks.
- ``params``: name -> array, the very arrays the layers use, so an optimizer stepping them
  in place trains the model.
- ``loss(X, y) -> (loss, grads)`` in train mode: the data loss plus
  ``reg * sum(W**2)`` over weights only (gradient ``2 * reg * W``), the CS231n
  assignment-1 convention, so classic settings such as ``reg=2.5e4`` mean the same here.
- ``scores(X)`` and ``predict(X)`` in test mode (dropout off, batchnorm running stats).
- ``get_state()`` / ``set_state(state)``: deep copies of params and batchnorm running stats.
- ``min_batch_rows``: the fewest rows a training batch may have (1; 2 with batchnorm, whose
  1-row batches have no variance). The trainer and ``spec check`` read it.
- ``first_layer_weights()``: the first layer's weights as one row per unit (optional for
  other models: :class:`tuidl.api.ShowsWeights`), drawn as pictures for image datasets.

Output-layer losses: when the loss has ``path_loss(X, W, b, y)`` (hierarchical softmax, from
the tuidl-hsoftmax plugin) and the model ends in an affine layer, training asks the loss for
that layer's loss and gradients directly instead of forming every score: with ``K`` outputs
and paths of length ``L`` it costs ``O(N * L * D)``, not ``O(N * K * D)``. ``path_loss``
returns an object with ``loss``, ``dX`` (N, D), ``nodes`` (U,) and the gradients of those
output columns only, ``dW`` (D, U) and ``db`` (U,); every other column's data gradient is
exactly zero. The model still returns full-size gradients (fresh arrays, like the dense
path), so optimizers, L2 and gradient checks see the same contract. Test-mode ``scores``
and ``predict`` are unchanged.

``X`` already in the model's dtype is used without a copy; other dtypes are converted once.
Calling ``loss``/``scores`` before ``setup`` raises ``RuntimeError``; an ``X`` whose row size
is not ``input_dim`` raises ``ValueError`` from the first matrix product.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from tuidl.engine.health import layer_stats
from tuidl.engine.layers import Affine, BatchNorm, Dropout, ReLU

DTYPES = ("float32", "float64")


class _Network:
    """A chain of layers with named parameters; subclasses decide the chain in ``_build``."""

    learnable = True

    @property
    def min_batch_rows(self) -> int:
        """Fewest rows a training batch may have (2 with batchnorm, see BatchNorm)."""
        return 1

    def __init__(self, reg: float, dtype: str) -> None:
        try:
            name = np.dtype(dtype).name
        except TypeError:
            name = None
        if name not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if reg < 0:
            raise ValueError(f"reg must be >= 0, got {reg!r}")
        self.reg = float(reg)
        self.dtype = np.dtype(dtype)
        self.layers: list[Any] = []
        self.params: dict[str, np.ndarray] = {}
        self.loss_fn: Any = None  # the loss, from setup()
        self._slots: list[tuple[str, Any, str]] = []  # (public name, layer, layer's key)
        self._buffers: dict[str, tuple[Any, str]] = {}  # name -> (layer, attribute)
        self._weights: list[str] = []
        self._reg_scratch: dict[str, np.ndarray] = {}
        self._path_loss = None  # the loss's path_loss, when it replaces the output layer

    def setup(self, input_dim, num_classes: int, loss, init, rng: np.random.Generator):
        """Create the layers and parameters; returns ``self``. Calling it again starts over."""
        self.input_dim = math.prod(input_dim) if isinstance(input_dim, Sequence) else input_dim
        self.num_classes = num_classes
        self.loss_fn = loss
        self.rng = rng
        self.layers, self.params, self._slots, self._buffers, self._weights = [], {}, [], {}, []
        self._reg_scratch = {}
        self._build(int(self.input_dim), int(loss.output_dim(num_classes)), init, rng)
        path_loss = getattr(loss, "path_loss", None)
        self._path_loss = (
            path_loss if callable(path_loss) and isinstance(self.layers[-1], Affine) else None
        )
        if self._path_loss is not None:
            # Node-major storage: W (D, K) kept as the transpose of a C-contiguous (K, D)
            # array makes each output node's weights one contiguous row, which path_loss
            # gathers about twice as fast as strided columns. Products and in-place updates
            # work on either layout, so nothing else notices.
            last = self.layers[-1]
            W = np.asfortranarray(last.params["W"])
            last.params["W"] = self.params[self._weights[-1]] = W
        return self

    def _build(self, input_dim: int, output_dim: int, init, rng) -> None:
        raise NotImplementedError

    def _add_affine(self, fan_in, fan_out, init, rng, w_name, b_name, first) -> None:
        W = init.weights(fan_in, fan_out, rng, self.dtype)
        b = init.bias(fan_out, self.dtype)
        # The first layer's dx would be the gradient wrt the data: as costly as dW, unused.
        layer = Affine(fan_in, fan_out, W=W, b=b, input_grad=not first)
        self._add(layer, {"W": w_name, "b": b_name})
        self._weights.append(w_name)

    def _add(self, layer, names: dict[str, str]) -> None:
        self.layers.append(layer)
        for key, name in names.items():
            self.params[name] = layer.params[key]
            self._slots.append((name, layer, key))

    def _input(self, X) -> np.ndarray:
        if self.loss_fn is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() before using the model")
        return np.asarray(X, dtype=self.dtype)

    def loss(self, X, y) -> tuple[float, dict[str, np.ndarray]]:
        """Train-mode loss (data + L2) and the gradient of every param, by name."""
        out = self._input(X)
        head = self._path_loss
        body = self.layers[:-1] if head is not None else self.layers
        for layer in body:
            out = layer.forward(out, "train")
        if head is None:
            loss, dout = self.loss_fn(out, y)
        else:
            loss, dout = self._output_layer(head, out, y)
        for layer in reversed(body):
            dout = layer.backward(dout)
        grads = {name: layer.grads[key] for name, layer, key in self._slots}
        if self.reg:
            two_reg = 2.0 * self.reg
            for name in self._weights:
                W = self.params[name]
                flat = W.ravel(order="K")  # a view in either layout (vdot would copy F order)
                loss += self.reg * float(np.dot(flat, flat))
                if head is not None and name == self._weights[-1]:
                    continue  # _output_layer started that gradient from 2 * reg * W
                tmp = self._reg_scratch.get(name)
                if tmp is None:
                    tmp = self._reg_scratch[name] = np.empty_like(W)
                np.multiply(W, two_reg, out=tmp)
                grads[name] += tmp
        return loss, grads

    def _output_layer(self, path_loss, x, y) -> tuple[float, np.ndarray]:
        """Loss and gradients of the last affine layer through the loss's ``path_loss``
        (see the module docstring); sets that layer's grads and returns (loss, dx)."""
        last = self.layers[-1]
        W, b = last.params["W"], last.params["b"]
        x2 = x.reshape(x.shape[0], -1)
        g = path_loss(x2, W, b, y)
        if self.reg:
            # the L2 gradient is dense anyway: start from it and add the touched columns
            dW = np.multiply(W, 2.0 * self.reg)
            dW[:, g.nodes] += g.dW
        else:
            dW = np.zeros_like(W)
            dW[:, g.nodes] = g.dW
        db = np.zeros_like(b)
        db[g.nodes] = g.db
        last.grads["W"], last.grads["b"] = dW, db
        return float(g.loss), g.dX.reshape(x.shape)

    def scores(self, X) -> np.ndarray:
        """Test-mode class scores, (N, K)."""
        out = self._input(X)
        for layer in self.layers:
            out = layer.forward(out, "test")
        return out

    def predict(self, X) -> np.ndarray:
        """Test-mode labels: the loss's ``predict`` of :meth:`scores`."""
        return self.loss_fn.predict(self.scores(X))

    def first_layer_weights(self) -> tuple[np.ndarray, bool]:
        """``(W, per_class)``: a copy of the first affine layer's weights as (units,
        input_dim) rows, one row per unit over the input features in the order the model
        sees them (after preprocessing), and whether unit ``i`` scores class ``i`` (a
        linear classifier's per-class templates; not when a path loss such as hierarchical
        softmax makes the columns tree nodes). The optional capability
        :class:`tuidl.api.ShowsWeights`; raises ``RuntimeError`` before ``setup``."""
        if not self._weights:
            raise RuntimeError(f"{type(self).__name__}: call setup() before using the model")
        W = self.params[self._weights[0]]
        per_class = (
            len(self._weights) == 1 and self._path_loss is None and W.shape[1] == self.num_classes
        )
        return np.array(W.T), per_class

    def layer_health(self) -> dict[str, float]:
        """Statistics of each hidden layer ``h1``, ``h2``… at the last train-mode step
        (:func:`tuidl.engine.health.layer_stats`: activation mean/std and dead-ReLU fraction
        on that batch, batchnorm running stats). The optional capability
        :class:`tuidl.api.ReportsHealth`; empty for a linear model (no hidden layer)."""
        outputs: dict[str, np.ndarray] = {}
        bn: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        hidden = 0
        for layer in self.layers[:-1]:
            if isinstance(layer, Affine):
                hidden += 1
            elif isinstance(layer, ReLU) and layer._out is not None:
                outputs[f"h{hidden}"] = layer._out
            elif isinstance(layer, BatchNorm):
                bn[f"h{hidden}"] = (layer.running_mean, layer.running_var)
        return layer_stats(outputs, bn)

    def get_state(self) -> dict[str, dict[str, np.ndarray]]:
        """Copies of ``params`` and batchnorm running stats (``running_mean1``, ...)."""
        return {
            "params": {k: v.copy() for k, v in self.params.items()},
            "buffers": {k: getattr(layer, a).copy() for k, (layer, a) in self._buffers.items()},
        }

    def set_state(self, state: dict[str, dict[str, np.ndarray]]) -> None:
        """Copy a :meth:`get_state` result back into the existing arrays.

        The arrays keep their identity, so an optimizer holding them stays attached. A
        missing name raises ``KeyError``; a wrong shape raises ``ValueError``.
        """
        for name, arr in self.params.items():
            np.copyto(arr, state["params"][name])
        for name, (layer, attr) in self._buffers.items():
            np.copyto(getattr(layer, attr), state["buffers"][name])


class LinearClassifier(_Network):
    """Linear scores ``X @ W + b`` (params ``W`` (D, K) and ``b``) with any loss.

    With the SVM loss this is the multiclass SVM, with softmax the softmax classifier.
    """

    def __init__(self, reg: float = 1e-3, dtype: str = "float32") -> None:
        super().__init__(reg, dtype)

    def _build(self, input_dim, output_dim, init, rng) -> None:
        self._add_affine(input_dim, output_dim, init, rng, "W", "b", first=True)


class FullyConnectedNet(_Network):
    """``affine -> [batchnorm] -> relu -> [dropout]`` per hidden layer, then an affine output.

    Params are ``W1``/``b1`` ... ``WL``/``bL`` (L = len(hidden_sizes) + 1) and, with
    batchnorm, ``gamma1``/``beta1`` ... for each hidden layer. ``dropout`` is the keep
    probability (1.0 means no dropout layers). An empty ``hidden_sizes`` is a linear model.
    """

    def __init__(
        self,
        hidden_sizes: Sequence[int] = (100,),
        batchnorm: bool = False,
        dropout: float = 1.0,
        reg: float = 1e-3,
        dtype: str = "float32",
    ) -> None:
        super().__init__(reg, dtype)
        if not 0.0 < dropout <= 1.0:
            raise ValueError(f"dropout keep probability must be in (0, 1], got {dropout!r}")
        if any(int(h) < 1 for h in hidden_sizes):
            raise ValueError(f"hidden sizes must be >= 1, got {list(hidden_sizes)}")
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.batchnorm = bool(batchnorm)
        self.dropout = float(dropout)

    @property
    def min_batch_rows(self) -> int:
        """Fewest rows a training batch may have: batchnorm needs a batch variance."""
        return BatchNorm.min_batch_rows if self.batchnorm else 1

    def _build(self, input_dim, output_dim, init, rng) -> None:
        dims = [input_dim, *self.hidden_sizes]
        for i, (fan_in, fan_out) in enumerate(pairwise(dims), start=1):
            self._add_affine(fan_in, fan_out, init, rng, f"W{i}", f"b{i}", first=i == 1)
            if self.batchnorm:
                bn = BatchNorm(fan_out, dtype=self.dtype)
                self._add(bn, {"gamma": f"gamma{i}", "beta": f"beta{i}"})
                self._buffers[f"running_mean{i}"] = (bn, "running_mean")
                self._buffers[f"running_var{i}"] = (bn, "running_var")
            # Safe in place: the affine/batchnorm output feeding it is kept by nobody else.
            self._add(ReLU(inplace=True), {})
            if self.dropout < 1.0:
                self._add(Dropout(self.dropout, rng), {})
        n = len(dims)
        self._add_affine(dims[-1], output_dim, init, rng, f"W{n}", f"b{n}", first=n == 1)
