"""k-nearest-neighbour classifier with fully vectorized, memory-bounded distances.

The classic CS231n no-loop implementation is the specification::

    dists = np.sqrt(np.maximum(
        np.sum(X**2, 1)[:, None] + np.sum(Xtr**2, 1) - 2 * X.dot(Xtr.T), 0))
    for i in range(len(X)):
        closest_y = y_train[np.argsort(dists[i], kind="stable")[:k]]
        pred[i] = np.argmax(np.bincount(closest_y))

With float64 input :class:`KNN` reproduces it exactly, ties included, while doing only
what the speed needs: one GEMM per block of test rows, an ``argpartition`` per row task
(spread over a thread pool), and square roots only on the handful of candidates (see
:meth:`KNN._select`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from tuidl.errors import TuidlError

__all__ = ["KNN"]

# Largest (test rows x training rows) distance block held at once when chunk_size is auto.
# 256 MiB keeps 1,000 x 40,000 float32 in a single GEMM (OpenBLAS re-packs the whole training
# matrix for every block: 256-row blocks cost ~13 % on 2 cores) and splits 10,000 x 50,000
# into 8 blocks.
_BLOCK_BYTES = 256 * 2**20
# Bound on the (test, train, D) difference temporaries of the L1 path, per worker thread.
_L1_TEMP_BYTES = 64 * 2**20
# Rows per pass when adding the norms into a GEMM block: a small reusable buffer instead of
# a second full block.
_NORM_ROWS = 64
# Distances per post-GEMM row task (4 MB of float32): small enough that a task's
# temporaries come from reused heap memory, large enough that numpy's per-call cost vanishes.
_TASK_ELEMENTS = 2**20
_MAX_THREADS = 8


def _thread_count() -> int:
    """CPUs this process may use, capped by OMP_NUM_THREADS / OPENBLAS_NUM_THREADS if set."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        with contextlib.suppress(ValueError):  # unset or not a number: no cap
            n = min(n, int(os.environ.get(var, "").split(",")[0]))
    return max(1, min(n, _MAX_THREADS))


class _NoPool:
    """Serial stand-in for a ThreadPoolExecutor."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, *iterables):
        return map(fn, *iterables)


class KNN:
    """k-nearest-neighbour classifier (``learnable = False``: ``fit`` then ``predict``).

    Parameters
    ----------
    k:
        Neighbours that vote, ``>= 1``. ``fit`` accepts any ``k``; ``predict`` raises
        :class:`~tuidl.errors.TuidlError` when it exceeds the number of training rows.
    distance:
        ``"l2"`` (Euclidean) or ``"l1"`` (Manhattan).
    chunk_size:
        Test rows per distance block. ``None`` or ``0`` (default) picks the largest block
        whose ``(rows, n_train)`` distance matrix fits in 256 MiB, so peak memory stays
        bounded (10,000 x 50,000 float32 runs in 8 blocks) while typical workloads need one
        GEMM: every block re-reads the whole training matrix, and 256-row blocks cost ~13 %
        on 1,000 x 40,000 x 3,072. A positive int forces that many rows per block.

    Rules: vote ties go to the smallest label; distance ties keep training order (the
    earlier training row wins, as a stable sort would); float32 input stays float32,
    float64 stays float64, anything else (e.g. uint8 pixels) becomes float64.
    """

    learnable = False

    def __init__(self, k: int = 1, distance: str = "l2", chunk_size: int | None = None):
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise TuidlError(f"knn: k must be an integer >= 1, got {k!r}")
        if distance not in ("l1", "l2"):
            raise TuidlError(f"knn: distance must be 'l1' or 'l2', got {distance!r}")
        if chunk_size is not None and (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, int | np.integer)
            or chunk_size < 0
        ):
            raise TuidlError(
                f"knn: chunk_size must be an integer >= 0 (0 or None: automatic), "
                f"got {chunk_size!r}"
            )
        self.k = int(k)
        self.distance = distance
        self.chunk_size = int(chunk_size) if chunk_size else None
        # set by fit(); reading them before is a bug that _prepare_test reports first
        self._fitted = False
        self.X_train: np.ndarray
        self.y_train: np.ndarray
        self.classes_: np.ndarray
        self._y_index: np.ndarray
        self._train_sq: np.ndarray | None = None

    # ------------------------------------------------------------------ fit
    def fit(self, X, y) -> KNN:
        """Memorize the training rows; returns ``self``.

        ``X`` is ``(N, ...)`` (trailing dims are flattened, a view when contiguous); a
        contiguous float32/float64 array is kept without copying, so do not modify it
        afterwards. ``y`` holds N integer labels. Raises TuidlError on empty data, a
        length mismatch or non-integer labels.
        """
        X = self._as_features(X, dtype=None, what="training data")
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise TuidlError(
                f"knn: labels must be a 1-D array of {X.shape[0]} entries (one per training "
                f"row), got shape {y.shape}"
            )
        integral_floats = np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0)
        if not (np.issubdtype(y.dtype, np.integer) or integral_floats):
            raise TuidlError(f"knn: labels must be integers, got dtype {y.dtype}")
        if X.shape[0] == 0:
            raise TuidlError("knn: training data has no rows")
        self.X_train = X
        self.y_train = y.astype(np.int64, copy=False)
        # Sorted classes: argmax over class counts then picks the smallest label on a tie,
        # exactly like argmax(bincount(labels)) for non-negative labels.
        self.classes_, self._y_index = np.unique(self.y_train, return_inverse=True)
        self._y_index = self._y_index.reshape(-1)
        self._train_sq = None
        self._fitted = True
        if self.distance == "l2":
            # Same expression as the reference (np.sum of squares, pairwise summation), in
            # row blocks so X**2 never needs a full-size temporary.
            sq = np.empty(X.shape[0], dtype=X.dtype)
            step = max(1, _L1_TEMP_BYTES // max(1, X.shape[1] * X.itemsize))
            for s in range(0, X.shape[0], step):
                sq[s : s + step] = np.sum(X[s : s + step] ** 2, axis=1)
            self._train_sq = sq
        return self

    # ------------------------------------------------------------ distances
    def distances(self, X) -> np.ndarray:
        """Full ``(n_test, n_train)`` distance matrix (sqrt'd for L2, clipped at 0).

        Meant for small inputs and tests: it materializes every distance. ``predict`` never
        calls it.
        """
        X = self._prepare_test(X)
        out = np.empty((X.shape[0], self.X_train.shape[0]), dtype=X.dtype)
        for s, block in self._blocks(X):
            if self.distance == "l2":
                np.maximum(block, 0, out=block)
                np.sqrt(block, out=block)
            out[s : s + block.shape[0]] = block
        return out

    # -------------------------------------------------------------- predict
    def predict(self, X, k: int | None = None) -> np.ndarray:
        """Labels for the rows of ``X`` by majority vote of the ``k`` nearest training rows.

        ``k`` defaults to ``self.k``. Raises TuidlError before ``fit``, on a feature-count
        mismatch, or when ``k`` exceeds the number of training rows.
        """
        k = self.k if k is None else k
        return self.predict_many(X, [k])[k]

    def predict_many(self, X, ks: Iterable[int]) -> dict[int, np.ndarray]:
        """Predictions for several ``k`` at the cost of one: ``{k: labels}``.

        Distances are computed once; the ``max(ks)`` nearest neighbours of each row are
        selected and ordered once (stable: distance, then training index), and every ``k``
        votes over a prefix of that list. ``predict_many(X, ks)[k]`` equals
        ``predict(X, k)``. Use it for cross-validation over ``k``. Raises TuidlError for an
        empty ``ks``, any ``k < 1`` or any ``k`` above the number of training rows.
        """
        X = self._prepare_test(X)
        ks = [int(self._check_k(k)) for k in ks]
        if not ks:
            raise TuidlError("knn: predict_many needs at least one k")
        kmax = max(ks)
        n_classes = len(self.classes_)
        preds = {k: np.empty(X.shape[0], dtype=self.y_train.dtype) for k in ks}
        for s, nearest in self._nearest_blocks(X, kmax):
            labels = self._y_index[nearest]  # (rows, kmax), nearest first
            rows = labels.shape[0]
            offsets = (np.arange(rows) * n_classes)[:, None]
            for k in set(ks):
                # One bincount for the whole block: row r's votes live in bins
                # [r*C, (r+1)*C); argmax then takes the first (smallest) label on a tie.
                counts = np.bincount(
                    (labels[:, :k] + offsets).ravel(), minlength=rows * n_classes
                ).reshape(rows, n_classes)
                preds[k][s : s + rows] = self.classes_[np.argmax(counts, axis=1)]
        return preds

    # ------------------------------------------------------------ internals
    def _check_k(self, k) -> int:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise TuidlError(f"knn: k must be an integer >= 1, got {k!r}")
        n = self.X_train.shape[0]
        if k > n:
            raise TuidlError(
                f"knn: k={k} exceeds the {n} training rows; choose k between 1 and {n}"
            )
        return int(k)

    @staticmethod
    def _as_features(X, dtype, what: str) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim < 2:
            raise TuidlError(f"knn: {what} must have shape (rows, features...), got {X.shape}")
        if dtype is None:
            dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
            if X.dtype == np.float16:
                dtype = np.float32
        features = int(np.prod(X.shape[1:]))
        if features == 0:
            raise TuidlError(f"knn: {what} has no features, shape {X.shape}")
        X = np.ascontiguousarray(X, dtype=dtype)
        return X.reshape(X.shape[0], features)

    def _prepare_test(self, X) -> np.ndarray:
        if not self._fitted:
            raise TuidlError("knn: call fit(X, y) before predicting")
        # Test rows take the training dtype so both sides of the GEMM agree.
        X = self._as_features(X, dtype=self.X_train.dtype, what="test data")
        if X.shape[1] != self.X_train.shape[1]:
            raise TuidlError(
                f"knn: test rows have {X.shape[1]} features, training rows have "
                f"{self.X_train.shape[1]}"
            )
        return X

    def _block_rows(self, n_test: int) -> int:
        if self.chunk_size is not None:
            return self.chunk_size
        per_row = self.X_train.shape[0] * self.X_train.itemsize
        return max(1, min(n_test, _BLOCK_BYTES // max(1, per_row)))

    def _blocks(self, X):
        """Yield ``(start, block)``: raw distances of a run of test rows to every training row.

        L2 blocks hold the *unclipped squared* distance computed exactly like the reference,
        ``(|a|^2 + |b|^2) - 2ab``, so the caller's ``sqrt(max(., 0))`` is bitwise the
        reference's. L1 blocks hold the distances themselves.
        """
        rows = self._block_rows(X.shape[0])
        for s in range(0, X.shape[0], rows):
            Xc = X[s : s + rows]
            yield s, self._l2_block(Xc) if self.distance == "l2" else self._l1_block(Xc)

    def _nearest_blocks(self, X, k: int):
        """Yield ``(start, nearest)``: the k nearest training indices of each block's rows.

        The GEMM is multithreaded by BLAS; what follows it (adding the norms, the
        argpartition, the L1 sums) is single-threaded numpy, about a tenth of the time for
        CIFAR-sized inputs. It is independent per row and numpy releases the GIL for it, so
        it runs as small row tasks on a thread pool: the temporaries of a task (its
        argpartition's int64 indices above all) stay a few MB that the allocator reuses
        instead of fresh pages for the whole block, and a core that another process steals
        just takes fewer tasks. The result is the same in any order.
        """
        rows = self._block_rows(X.shape[0])
        task_rows = max(1, _TASK_ELEMENTS // self.X_train.shape[0])
        threads = _thread_count() if X.shape[0] > task_rows else 1
        with ThreadPoolExecutor(threads) if threads > 1 else _NoPool() as pool:
            for s in range(0, X.shape[0], rows):
                # one block at a time: its GEMM output is freed when _nearest_of returns,
                # before the next block's GEMM allocates its own
                yield s, self._nearest_of(pool, X[s : s + rows], task_rows, k)

    def _nearest_of(self, pool: Any, Xc: np.ndarray, task_rows: int, k: int) -> np.ndarray:
        """The k nearest training indices of the rows of ``Xc``, in row tasks on ``pool``."""
        starts = range(0, Xc.shape[0], task_rows)
        if self.distance == "l2":
            G, test_sq = self._l2_gemm(Xc)

            def l2_task(r: int) -> np.ndarray:
                g = G[r : r + task_rows]
                self._l2_add_norms(g, test_sq[r : r + task_rows])
                return self._select(g, k)

            return np.concatenate(list(pool.map(l2_task, starts)))

        def l1_task(r: int) -> np.ndarray:
            return self._select(self._l1_block(Xc[r : r + task_rows]), k)

        return np.concatenate(list(pool.map(l1_task, starts)))

    def _l2_block(self, Xc: np.ndarray) -> np.ndarray:
        G, test_sq = self._l2_gemm(Xc)
        self._l2_add_norms(G, test_sq)
        return G

    def _l2_gemm(self, Xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # The one GEMM per block; the transpose is a free view (BLAS reads it transposed).
        return Xc @ self.X_train.T, np.sum(Xc**2, axis=1)

    def _l2_add_norms(self, G: np.ndarray, test_sq: np.ndarray) -> None:
        """Turn ``G = X Xtr^T`` into the reference's squared distances, in place."""
        tr = self._train_sq
        assert tr is not None, "fit() computes the training norms for l2"
        buf = np.empty((min(_NORM_ROWS, G.shape[0]), G.shape[1]), dtype=G.dtype)
        for r in range(0, G.shape[0], _NORM_ROWS):
            g = G[r : r + _NORM_ROWS]
            b = buf[: g.shape[0]]
            # Evaluation order matters for exactness: the reference adds the norms first and
            # subtracts 2ab last. Doubling is exact, so this is bitwise the same.
            np.add(test_sq[r : r + _NORM_ROWS, None], tr, out=b)
            g *= 2
            np.subtract(b, g, out=g)

    def _l1_block(self, Xc: np.ndarray) -> np.ndarray:
        Xtr = self.X_train
        n, d = Xc.shape[0], Xtr.shape[0]
        out = np.empty((n, d), dtype=Xc.dtype)
        # Chunk both sides so the (rows, train rows, D) temporary stays under the bound.
        pairs = max(1, _L1_TEMP_BYTES // max(1, Xc.shape[1] * Xc.itemsize))
        tn = max(1, min(n, int(np.sqrt(pairs))))
        td = max(1, min(d, pairs // tn))
        tmp = np.empty((tn, td, Xc.shape[1]), dtype=Xc.dtype)
        for i in range(0, n, tn):
            a = Xc[i : i + tn, None, :]
            for j in range(0, d, td):
                b = Xtr[None, j : j + td, :]
                t = tmp[: a.shape[0], : b.shape[1]]
                np.subtract(a, b, out=t)
                np.abs(t, out=t)
                np.sum(t, axis=2, out=out[i : i + tn, j : j + td])
        return out

    def _key(self, raw: np.ndarray) -> np.ndarray:
        """The reference's ranking key for raw block values (sqrt(max(., 0)) for L2)."""
        if self.distance == "l2":
            return np.sqrt(np.maximum(raw, 0))
        return raw

    def _select(self, block: np.ndarray, k: int) -> np.ndarray:
        """Indices of the ``k`` nearest training rows per row, in stable distance order.

        Identical to ``np.argsort(key(block), axis=1, kind="stable")[:, :k]`` where ``key`` is
        the reference's distance, without sorting or square-rooting whole rows:

        1. ``argpartition`` on the raw values at position ``k`` puts the k smallest first and
           the (k+1)-th smallest at position k. ``key`` is monotone, so these k are the
           reference's k nearest *unless* the (k+1)-th ties with the k-th under ``key`` --
           either an exact tie or two squared distances whose square roots round to the same
           float (or negatives that the clip merges into 0).
        2. Rows without such a tie: order their k by (key, training index).
        3. Rows with one (rare, e.g. duplicated training rows): redo that row exactly with
           the key of the whole row and a stable sort of the candidates.
        """
        rows, n = block.shape
        if k < n:
            part = np.argpartition(block, k, axis=1)[:, : k + 1]
        else:
            part = np.broadcast_to(np.arange(n), (rows, n))
        cand = part[:, :k]
        keys = self._key(np.take_along_axis(block, cand, axis=1))
        order = np.lexsort((cand, keys), axis=1)
        nearest = np.take_along_axis(cand, order, axis=1)
        if k < n:
            next_key = self._key(np.take_along_axis(block, part[:, k : k + 1], axis=1))[:, 0]
            kth_key = np.take_along_axis(keys, order[:, -1:], axis=1)[:, 0]
            for r in np.flatnonzero(~(next_key > kth_key)):
                row_key = self._key(block[r])
                within = np.flatnonzero(row_key <= kth_key[r])  # ascending training index
                pick = np.argsort(row_key[within], kind="stable")[:k]
                nearest[r] = within[pick]
        return nearest
