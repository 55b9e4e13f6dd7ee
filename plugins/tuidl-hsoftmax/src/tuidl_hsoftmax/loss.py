"""Hierarchical softmax: each class is a leaf of a binary tree, each inner node a logistic unit.

With ``C`` classes a model produces ``K = C - 1`` scores, one per inner node. The probability
of class ``c`` is the product of ``sigmoid(sign * s_node)`` along its root-to-leaf path, so the
loss of a row is ``-sum log sigmoid(sign * s_node)`` over about ``log2(C)`` nodes instead of a
normalization over all ``C`` classes.

:class:`HSoftmaxLoss` follows tuidl's loss contract (``__call__(scores, y)``, ``output_dim``,
``predict``) so the linear model and the net can use it unchanged, plus two extensions:

- ``fit(X, y, num_classes=None)``: gives the loss the training rows, so that ``tree =
  "clustered"`` can group classes by their mean feature vector. A trainer calls it, when
  present, once per fold with the preprocessed training rows only, before the first step.
- ``path_loss(X, W, b, y)``: loss and gradients of a linear output layer computed from the
  path nodes only (``~log2(C)`` dot products per row instead of ``C - 1``). This is where the
  speed-up over full softmax comes from; a model opts in by calling it instead of
  ``X @ W + b`` followed by ``loss(scores, y)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuidl.errors import TuidlError
from tuidl_hsoftmax.tree import ClassTree, balanced_tree, clustered_tree

TREES = ("balanced", "clustered")
_PREDICT_CHUNK = 1024  # rows per block in predict: bounds the (rows, C) work array
_PATH_BLOCK = 256  # rows per block in path_loss's gradient: bounds its (nodes, rows) matrix


@dataclass
class PathGrads:
    """What :meth:`HSoftmaxLoss.path_loss` returns.

    ``dW``/``db`` hold only the columns ``nodes`` of the full ``(D, K)``/``(K,)`` gradients
    (every other column is exactly zero), so an update is ``W[:, nodes] -= lr * dW``;
    :meth:`dense` scatters them into full-size arrays for code that wants those.
    """

    loss: float
    dX: np.ndarray  # (N, D)
    nodes: np.ndarray  # (U,) sorted, unique inner-node indices touched by the batch
    dW: np.ndarray  # (D, U)
    db: np.ndarray  # (U,)

    def dense(self, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        dW = np.zeros((self.dW.shape[0], num_nodes), dtype=self.dW.dtype)
        db = np.zeros(num_nodes, dtype=self.db.dtype)
        dW[:, self.nodes] = self.dW
        db[self.nodes] = self.db
        return dW, db


class HSoftmaxLoss:
    """Hierarchical softmax over a balanced or a clustered binary class tree.

    ``tree="balanced"`` splits classes ``0..C-1`` in halves and needs nothing but ``C``;
    ``tree="clustered"`` needs :meth:`fit` first and raises :class:`TuidlError` otherwise.
    ``C`` comes from ``output_dim(num_classes)``, ``fit`` or, failing both, the width of the
    first ``scores`` seen (``K + 1``). Scores of any other width raise :class:`TuidlError`;
    labels outside ``[0, C)`` raise ``IndexError`` like the built-in losses.
    """

    def __init__(self, tree: str = "balanced") -> None:
        if tree not in TREES:
            raise TuidlError(f"loss hsoftmax: tree {tree!r} is not one of {', '.join(TREES)}")
        self.tree_kind = tree
        self.num_classes: int | None = None
        self.class_means: np.ndarray | None = None
        self._tree: ClassTree | None = None
        self._cache: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}
        self._levels: tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray] | None = None

    # -- the standard loss contract ---------------------------------------------------------

    def output_dim(self, num_classes: int) -> int:
        self._set_num_classes(int(num_classes))
        return self.num_classes - 1

    def chance_loss(self, num_classes: int) -> float:
        """The loss when every score is 0: ``ln 2`` per node on a path, averaged over the
        classes' paths (``tuidl check`` compares the initial loss with it)."""
        self._set_num_classes(int(num_classes))
        lengths = np.count_nonzero(self.tree.signs, axis=1)
        return float(np.log(2.0) * lengths.mean())

    def __call__(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean over rows of ``-sum log sigmoid(sign * s)`` along each label's path.

        Returns ``(loss, dscores)`` with ``dscores`` of the shape and dtype of ``scores``;
        it is non-zero only at the path nodes of each row.
        """
        n, k = scores.shape
        tree = self._tree_for(k)
        paths = tree.paths[y]
        signs, mask = self._signs(scores.dtype)
        s, m = signs[y], mask[y]
        z = np.take_along_axis(scores, paths, axis=1)
        z *= s
        loss = float(np.vdot(np.logaddexp(0, -z), m)) / n
        # d/dz -log sigmoid(z) = -sigmoid(-z); padding has sign 0, so its gradient is 0.
        g = np.exp(-np.logaddexp(0, z))
        g *= s
        g *= -1.0 / n
        dscores = np.zeros((n, k), dtype=scores.dtype)
        # A path never visits a node twice, so a plain scatter (no add) is exact.
        flat = paths + (np.arange(n) * k)[:, None]
        keep = m.astype(bool)
        dscores.reshape(-1)[flat[keep]] = g[keep]
        return loss, dscores

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """The most probable leaf of each row (ties go to the lower class index)."""
        out = np.empty(scores.shape[0], dtype=np.int64)
        for start in range(0, scores.shape[0], _PREDICT_CHUNK):
            block = scores[start : start + _PREDICT_CHUNK]
            out[start : start + len(block)] = np.argmax(self._log_proba_t(block), axis=0)
        return out

    # -- extensions -------------------------------------------------------------------------

    def log_proba(self, scores: np.ndarray) -> np.ndarray:
        """Leaf log-probabilities, (N, C); each row's ``exp`` sums to 1."""
        return np.ascontiguousarray(self._log_proba_t(scores).T)

    def _log_proba_t(self, scores: np.ndarray) -> np.ndarray:
        """Leaf log-probabilities transposed, (C, N), by dynamic programming over the tree.

        ``log sigmoid(+-s)`` of every node is computed once; then level by level each tree
        prefix (the path so far) is its parent prefix's sum plus one node term. Classes that
        share a prefix share its sum, so the work is ``O(N * tree size)`` rather than
        ``O(N * C * depth)``, and the node-major (C, N) layout makes every step a gather of
        contiguous rows (several times faster than gathering columns of an (N, C) array).
        """
        n, k = scores.shape
        levels, last = self._prefix_levels(k)
        s = np.ascontiguousarray(scores.T)
        # log sigmoid(s) = min(s, 0) - a and log sigmoid(-s) = -max(s, 0) - a, with the one
        # shared a = log(1 + exp(-|s|)): a third of the transcendental work of logaddexp
        a = np.abs(s)
        np.negative(a, out=a)
        np.exp(a, out=a)
        np.log1p(a, out=a)
        table = np.empty((2 * k + 1, n), dtype=scores.dtype)
        left, right = table[:k], table[k : 2 * k]
        np.minimum(s, 0, out=left)
        left -= a  # log sigmoid(s): go left
        np.maximum(s, 0, out=right)
        right += a
        np.negative(right, out=right)  # log sigmoid(-s): go right
        table[2 * k] = 0  # padding past a short path
        total = None
        for parent, col in levels:
            step = table[col]
            total = step if total is None else np.add(total[parent], step, out=step)
        assert total is not None
        return total[last]

    def _prefix_levels(self, k: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Per tree level, each distinct path prefix's parent prefix and node-term column
        (in the (2K + 1)-row table of :meth:`_log_proba_t`), and each class's final prefix."""
        tree = self._tree_for(k)
        if self._levels is None:
            cols = np.where(tree.signs > 0, tree.paths, tree.paths + k)
            cols[tree.signs == 0] = 2 * k
            width = 2 * k + 1
            prefix = np.zeros(len(cols), dtype=np.int64)
            levels = []
            for level in range(tree.depth):
                pairs, prefix = np.unique(prefix * width + cols[:, level], return_inverse=True)
                levels.append((pairs // width, pairs % width))
            self._levels = (levels, prefix.reshape(-1))
        return self._levels

    def fit(self, X: np.ndarray, y: np.ndarray, num_classes: int | None = None) -> HSoftmaxLoss:
        """Record ``C`` and, for ``tree="clustered"``, the class means of ``X`` (train rows).

        ``X`` is (N, ...) and is flattened per row. A class with no rows gets the overall
        mean. Calling ``fit`` again rebuilds the tree (a new fold).
        """
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X) or len(y) == 0:
            raise TuidlError(
                f"loss hsoftmax: fit needs X (N, ...) and y (N,), got {np.shape(X)} and {y.shape}"
            )
        c = int(num_classes) if num_classes is not None else (self.num_classes or 0)
        c = max(c, int(y.max()) + 1)
        self._set_num_classes(c)
        if self.tree_kind == "clustered":
            self.class_means = class_means(np.asarray(X).reshape(len(X), -1), y, c)
        self._tree = None
        return self

    @property
    def tree(self) -> ClassTree:
        """The class tree (built on first use); needs ``C`` to be known."""
        if self.num_classes is None:
            raise TuidlError(
                "loss hsoftmax: number of classes unknown; call output_dim(C) or fit(X, y)"
            )
        return self._tree_for(self.num_classes - 1)

    def path_loss(self, X: np.ndarray, W: np.ndarray, b: np.ndarray, y: np.ndarray) -> PathGrads:
        """Loss and gradients of ``scores = X @ W + b`` computing path-node scores only.

        ``X`` is (N, D), ``W`` (D, K), ``b`` (K,), with ``K = C - 1``. The loss equals
        ``self(X @ W + b, y)[0]`` and the gradients equal the chain rule through it, but
        the cost is ``O(N * depth * D)`` instead of ``O(N * K * D)``. The gather reads
        ``W.T[node]``: pass ``W = V.T`` for a node-major ``V`` (K, D) to make those reads
        contiguous rows (several times faster than strided columns of a (D, K) array).
        """
        n = X.shape[0]
        k = W.shape[1]
        tree = self._tree_for(k)
        paths = tree.paths[y]
        signs, mask = self._signs(X.dtype)
        s, m = signs[y], mask[y]
        Wp = W.T[paths]  # (N, L, D): each row's path weight vectors
        z = np.matmul(Wp, X[:, :, None])[..., 0]
        z += b[paths]
        z *= s
        loss = float(np.vdot(np.logaddexp(0, -z), m)) / n
        g = np.exp(-np.logaddexp(0, z))
        g *= s
        g *= -1.0 / n  # dloss/dscore at each (row, path node); 0 on padding
        dX = np.matmul(g[:, None, :], Wp)[:, 0, :]
        keep = m.astype(bool)
        rows = np.nonzero(keep)[0]  # row-major: each row's entries are contiguous
        gk = g[keep]
        nodes, inv = np.unique(paths[keep], return_inverse=True)
        db = np.bincount(inv, weights=gk, minlength=len(nodes)).astype(X.dtype)
        dWt = np.zeros((len(nodes), X.shape[1]), dtype=X.dtype)
        # Scatter-add of (node, row) contributions as a product with a (nodes x rows) matrix
        # that holds g: a GEMM beats np.add.at, reduceat and bincount-per-column here. Row
        # blocks bound that matrix's size (and its cost) for big batches.
        bounds = np.searchsorted(rows, np.arange(0, n + _PATH_BLOCK, _PATH_BLOCK))
        for i, start in enumerate(range(0, n, _PATH_BLOCK)):
            lo, hi = bounds[i], bounds[i + 1]
            block = X[start : start + _PATH_BLOCK]
            if n <= _PATH_BLOCK:
                local, where = np.arange(len(nodes)), inv
            else:
                local, where = np.unique(inv[lo:hi], return_inverse=True)
            M = np.zeros((len(local), len(block)), dtype=X.dtype)
            M[where, rows[lo:hi] - start] = gk[lo:hi]  # a node occurs once per row: no add
            if n <= _PATH_BLOCK:
                dWt = M @ block
            else:
                dWt[local] += M @ block
        return PathGrads(loss, dX, nodes, dWt.T, db)

    # -- internals --------------------------------------------------------------------------

    def _set_num_classes(self, c: int) -> None:
        if c < 2:
            raise TuidlError(f"loss hsoftmax needs at least 2 classes, got {c}")
        if self.num_classes != c:
            self.num_classes = c
            self._tree = None
            self._cache.clear()
            self._levels = None

    def _tree_for(self, k: int) -> ClassTree:
        if self.num_classes is None:
            self._set_num_classes(k + 1)
        if k != self.num_classes - 1:
            raise TuidlError(
                f"loss hsoftmax: scores have {k} columns; with {self.num_classes} classes it "
                f"needs {self.num_classes - 1} (one per inner tree node)"
            )
        if self._tree is None:
            self._tree = self._build()
            self._cache.clear()
            self._levels = None
        return self._tree

    def _build(self) -> ClassTree:
        assert self.num_classes is not None
        if self.tree_kind == "balanced":
            return balanced_tree(self.num_classes)
        if self.class_means is None or len(self.class_means) != self.num_classes:
            raise TuidlError(
                "loss hsoftmax: tree='clustered' needs the class means of the training rows; "
                "the trainer must call loss.fit(X_train, y_train) before training "
                "(or use tree='balanced')"
            )
        return clustered_tree(self.class_means)

    def _signs(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        dtype = np.dtype(dtype)
        if dtype not in self._cache:
            assert self._tree is not None
            signs = self._tree.signs.astype(dtype)
            self._cache[dtype] = (signs, np.abs(signs))
        return self._cache[dtype]


def class_means(X: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, D) float64 mean of each class's rows; a class with no rows gets the overall mean."""
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    order = np.argsort(y, kind="stable")
    present = np.flatnonzero(counts)
    starts = np.r_[0, np.cumsum(counts[present])[:-1]].astype(np.int64)
    sums = np.add.reduceat(X[order].astype(np.float64), starts, axis=0)
    means = np.repeat(X.mean(axis=0, dtype=np.float64)[None, :], num_classes, axis=0)
    means[present] = sums / counts[present][:, None]
    return means
