"""Train / validation / test rows, disjoint by construction.

``split(dataset, num_training, num_validation, num_test)`` follows the classic recipe's
names. Without shuffling it takes the first ``num_training`` rows of the pool for training
and the next ``num_validation`` for validation (CS231n: ``range(num_training,
num_training + num_validation)``). Test rows come from the dataset's official test part
when it has one (its first ``num_test`` rows), otherwise from the pool right after the
validation rows. Each row of the pool goes to at most one part, so the recipe's slip of
building the test mask as ``range(num_test, num_training + num_test)`` (which overlaps the
training rows) cannot happen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from tuidl.data.dataset import Dataset
from tuidl.errors import TuidlError


@dataclass(frozen=True)
class Split:
    """The three parts as arrays plus the row indices they came from.

    ``train_idx``/``val_idx`` index ``dataset.X_train`` (the pool); ``test_idx`` indexes the
    official test part when ``test_source == "test"`` and the pool when it is ``"pool"``.
    Unshuffled, unstratified parts are views of the dataset's arrays (no copy).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    test_source: str
    class_names: tuple[str, ...]

    @property
    def disjoint(self) -> bool:
        """True when no pool row is in two parts (always, by construction; tests check it)."""
        parts = [self.train_idx, self.val_idx]
        if self.test_source == "pool":
            parts.append(self.test_idx)
        pool = np.concatenate(parts)
        return np.unique(pool).size == pool.size

    def describe(self) -> str:
        where = "official test part" if self.test_source == "test" else "pool, after validation"
        return (
            f"train {len(self.train_idx)}, validation {len(self.val_idx)}, "
            f"test {len(self.test_idx)} (from the {where}); disjoint: {self.disjoint}"
        )


def split(
    dataset: Dataset,
    num_training: int,
    num_validation: int = 0,
    num_test: int = 0,
    shuffle: bool = False,
    seed: int = 0,
    stratify: bool = False,
) -> Split:
    """Cut ``dataset`` into train, validation and test rows.

    ``shuffle`` draws the rows in a random order fixed by ``seed`` (the pool, and the test
    part when only some of it is used). ``stratify`` gives every part the class
    proportions of the rows it is drawn from (largest-remainder rounding). Counts must be
    whole numbers with ``num_training >= 1`` and the others ``>= 0``; counts exceeding what
    the dataset holds raise :class:`TuidlError` naming the counts and what is available.
    """
    for label, value, low in (
        ("num_training", num_training, 1),
        ("num_validation", num_validation, 0),
        ("num_test", num_test, 0),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise TuidlError(f"split: {label} = {value!r}; it must be a whole number >= {low}")
    n_pool = len(dataset.y_train)
    name = dataset.name or "the dataset"
    X_test, y_test = dataset.X_test, dataset.y_test
    if X_test is not None and y_test is not None:
        if num_training + num_validation > n_pool:
            raise TuidlError(
                f"split: num_training + num_validation = {num_training} + {num_validation} = "
                f"{num_training + num_validation}, but {name} has {n_pool} training rows"
            )
        if num_test > len(y_test):
            raise TuidlError(
                f"split: num_test = {num_test}, but {name}'s official test part has "
                f"{len(y_test)} rows"
            )
        pool_counts: tuple[int, ...] = (num_training, num_validation)
    else:
        total = num_training + num_validation + num_test
        if total > n_pool:
            raise TuidlError(
                f"split: num_training + num_validation + num_test = {num_training} + "
                f"{num_validation} + {num_test} = {total}, but {name} has {n_pool} rows "
                "(it has no official test part, so test rows come from the same pool)"
            )
        pool_counts = (num_training, num_validation, num_test)

    rng = np.random.default_rng(seed)
    pool_parts = _draw(dataset.y_train, pool_counts, shuffle, stratify, rng)
    if X_test is not None and y_test is not None:
        train_idx, val_idx = pool_parts
        (test_idx,) = _draw(y_test, (num_test,), shuffle, stratify, rng)
        X_test_src, y_test_src, source = X_test, y_test, "test"
    else:
        train_idx, val_idx, test_idx = pool_parts
        X_test_src, y_test_src, source = dataset.X_train, dataset.y_train, "pool"

    result = Split(
        *_take(dataset.X_train, dataset.y_train, train_idx),
        *_take(dataset.X_train, dataset.y_train, val_idx),
        *_take(X_test_src, y_test_src, test_idx),
        train_idx=train_idx,
        val_idx=val_idx,
        test_idx=test_idx,
        test_source=source,
        class_names=tuple(dataset.class_names),
    )
    assert result.disjoint, "split produced overlapping parts"
    return result


def _draw(
    y: np.ndarray, counts: tuple[int, ...], shuffle: bool, stratify: bool, rng
) -> list[np.ndarray]:
    """Consecutive, non-overlapping index blocks of ``y``'s rows, one per count."""
    n = len(y)
    if not stratify:
        order = rng.permutation(n) if shuffle else np.arange(n)
        bounds = np.cumsum((0, *counts))
        return [order[a:b] for a, b in pairwise(bounds)]
    classes = np.unique(y)
    by_class = []
    for c in classes:
        rows = np.flatnonzero(y == c)
        by_class.append(rng.permutation(rows) if shuffle else rows)
    available = np.array([len(r) for r in by_class])
    used = np.zeros_like(available)
    parts = []
    for count in counts:
        take = _allocate(count, available, available - used)
        chunks = [r[u : u + t] for r, u, t in zip(by_class, used, take, strict=True)]
        used += take
        idx = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        # shuffled: interleave the classes; unshuffled: keep the dataset's row order
        parts.append(rng.permutation(idx) if shuffle else np.sort(idx))
    return parts


def _allocate(count: int, sizes: np.ndarray, remaining: np.ndarray) -> np.ndarray:
    """Split ``count`` over classes in proportion to ``sizes``, never above ``remaining``."""
    quota = count * sizes / sizes.sum()
    take = np.minimum(np.floor(quota).astype(np.int64), remaining)
    short = count - int(take.sum())
    for c in np.argsort(-(quota - np.floor(quota)), kind="stable"):  # largest remainders
        if short and take[c] < remaining[c]:
            take[c] += 1
            short -= 1
    for c in range(len(sizes)):  # only when some class ran out of rows: others cover
        extra = min(short, int(remaining[c] - take[c]))
        take[c] += extra
        short -= extra
    return take


def _take(X: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``idx``: a view when they are one ascending run, else a copy (fancy indexing)."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size and idx[-1] - idx[0] == idx.size - 1 and np.all(np.diff(idx) == 1):
        s = slice(int(idx[0]), int(idx[-1]) + 1)
        return X[s], y[s]
    if idx.size == 0:
        return X[:0], y[:0]
    return X[idx], y[idx]
