"""The :class:`Dataset` every loader returns, and the checks every loader runs on it.

A dataset is a training pool (``X_train``, ``y_train``), an optional official test part
(``X_test``, ``y_test``), the class names and the per-row image shape. Splitting the pool
into train/validation/test rows is :mod:`tuidl.experiment.split`'s job, not the loader's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tuidl.errors import TuidlError

# Rows per chunk when scanning float data for NaN/inf: bounds the temporary bool array.
_FINITE_CHUNK_ROWS = 4096

# The most classes a dataset may have. Class ids are checked against it before anything
# is sized by them (class names, counts, a model's output layer): a stray label of 2**40
# must be an error, not a list of 10**12 names. The hsoftmax plugin's benchmarks use
# 10,000-22,000 classes; a hundred thousand leaves room above that.
MAX_CLASSES = 100_000


@dataclass(frozen=True)
class Dataset:
    """Arrays plus what a view needs to describe them.

    ``X_train`` is (N, ...) and ``y_train`` (N,) int64 with labels in
    ``range(len(class_names))``. ``X_test``/``y_test`` are both set (an official test part)
    or both ``None``. ``image_shape`` is the per-row shape, ``X_train.shape[1:]``.
    ``source`` says where the data came from (a path, or ``"built-in"``).
    Build one through :func:`checked`, which enforces all of this.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...]
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    source: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def has_test(self) -> bool:
        """True when the dataset ships an official test part (CIFAR-10 does, digits not)."""
        return self.X_test is not None

    def class_counts(self, part: str = "train") -> np.ndarray:
        """Rows per class in ``part`` ("train" or "test"), as an int64 array of num_classes."""
        y = self.y_train if part == "train" else self.y_test
        if y is None:
            return np.zeros(self.num_classes, dtype=np.int64)
        return np.bincount(y, minlength=self.num_classes)


def checked(
    name: str,
    source: str,
    X_train: np.ndarray,
    y_train: np.ndarray | Sequence[int],
    X_test: np.ndarray | None = None,
    y_test: np.ndarray | Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
) -> Dataset:
    """Validate loaded arrays and return a :class:`Dataset`; raise :class:`TuidlError` if bad.

    Every message starts with ``source`` (the file) and says what is wrong: an empty pool,
    a non-numeric X, labels that are not whole numbers, label and row counts that disagree,
    labels outside ``range(len(class_names))``, a test part whose per-row shape differs from
    the training rows', or NaN/inf in float data. ``class_names`` defaults to ``"0"``,
    ``"1"``, ... up to the largest label. Labels come back as int64; X is not copied.

    Class ids are checked before anything is sized by them: labels must be whole numbers
    in ``0..C-1`` with at most :data:`MAX_CLASSES` classes (a label of 2**40 or 1e6 is an
    error, not a list of that many names), and without ``class_names`` the classes the
    labels imply (largest label + 1) may not outnumber the rows (train and test together):
    labels that are ids rather than class numbers must be renumbered, or the classes
    declared with ``class_names``.
    """
    X_train = _check_X(source, "X_train", X_train)
    if X_train.shape[0] == 0:
        raise TuidlError(f"{source}: the dataset is empty (X_train has 0 rows)")
    ytr = _check_y(source, "y_train", y_train, X_train.shape[0])
    if (X_test is None) != (y_test is None):
        missing = "y_test" if y_test is None else "X_test"
        raise TuidlError(
            f"{source}: has {'X_test' if X_test is not None else 'y_test'} "
            f"but no {missing}; give both or neither"
        )
    yte: np.ndarray | None = None  # y_test, checked
    if X_test is not None:
        X_test = _check_X(source, "X_test", X_test)
        yte = _check_y(source, "y_test", y_test, X_test.shape[0])
        if X_test.shape[1:] != X_train.shape[1:]:
            raise TuidlError(
                f"{source}: X_test rows have shape {X_test.shape[1:]} but X_train rows have "
                f"{X_train.shape[1:]}; both parts must hold the same kind of image"
            )
    top = max(int(ytr.max()), int(yte.max()) if yte is not None and yte.size else 0)
    if class_names is None:
        rows = len(ytr) + (len(yte) if yte is not None else 0)
        if top + 1 > rows:
            label, y = ("y_train", ytr) if int(ytr.max()) == top else ("y_test", yte)
            raise TuidlError(
                f"{source}: {label} has label {top} at row {int(np.argmax(y == top))}, so the "
                f"labels imply {top + 1} classes for only {rows} rows; labels must number the "
                "classes 0..C-1: renumber them (np.unique(y, return_inverse=True)) or declare "
                "the classes with class_names"
            )
        class_names = [str(i) for i in range(top + 1)]
    elif len(class_names) > MAX_CLASSES:
        raise TuidlError(
            f"{source}: class_names lists {len(class_names)} classes; tuidl allows at most "
            f"{MAX_CLASSES:,}"
        )
    class_names = tuple(str(c) for c in class_names)
    if not class_names:
        raise TuidlError(f"{source}: class_names is empty")
    for label, y in (("y_train", ytr), ("y_test", yte)):
        if y is not None:
            _check_range(source, label, y, len(class_names))
    return Dataset(
        name=name,
        X_train=X_train,
        y_train=ytr,
        class_names=class_names,
        image_shape=tuple(int(d) for d in X_train.shape[1:]),
        X_test=X_test,
        y_test=yte,
        source=source,
    )


def _check_X(source: str, label: str, X) -> np.ndarray:
    if not isinstance(X, np.ndarray):
        raise TuidlError(f"{source}: {label} is a {type(X).__name__}, not a numpy array")
    if X.dtype.kind not in "uif":
        raise TuidlError(
            f"{source}: {label} has dtype {X.dtype}; pixel data must be integer or float numbers"
        )
    if X.ndim < 2:
        raise TuidlError(
            f"{source}: {label} has shape {X.shape}; expected (N, ...) with one row per image"
        )
    if X.dtype.kind == "f" and X.size:
        rows = X.reshape(X.shape[0], -1)
        for start in range(0, rows.shape[0], _FINITE_CHUNK_ROWS):
            block = rows[start : start + _FINITE_CHUNK_ROWS]
            finite = np.isfinite(block)
            if not finite.all():
                r, c = np.argwhere(~finite)[0]
                raise TuidlError(
                    f"{source}: {label} holds {block[r, c]} at row {start + r} "
                    f"(feature {c}); NaN and inf are not allowed"
                )
    return X


def _check_y(source: str, label: str, y, n_rows: int) -> np.ndarray:
    try:
        y = np.asarray(y)
    except Exception as exc:
        raise TuidlError(f"{source}: {label} is not an array of labels ({exc})") from None
    if y.ndim != 1:
        raise TuidlError(f"{source}: {label} has shape {y.shape}; expected ({n_rows},)")
    if y.shape[0] != n_rows:
        xname = "X_" + label.split("_", 1)[1]
        raise TuidlError(
            f"{source}: {xname} has {n_rows} rows but {label} has {y.shape[0]} labels; "
            "they must match one to one"
        )
    if y.dtype.kind == "f":
        whole = np.isfinite(y) & (y == np.round(y))
        if not whole.all():
            row = int(np.argmin(whole))
            raise TuidlError(
                f"{source}: {label} holds non-integer labels ({y[row]} at row {row}); labels "
                "are whole numbers 0, 1, 2, ..."
            )
    elif y.dtype.kind not in "ui":
        raise TuidlError(f"{source}: {label} has dtype {y.dtype}; labels must be integers")
    if y.size:
        # before the int64 cast: a float label of 1e20 would wrap around
        lo, hi = y.min(), y.max()
        if lo < 0 or hi >= MAX_CLASSES:
            bad = lo if lo < 0 else hi
            row = int(np.argmax(y == bad))
            bad = int(bad)
            raise TuidlError(
                f"{source}: {label} has label {bad} at row {row}; labels must be class "
                f"numbers 0, 1, 2, ... below tuidl's limit of {MAX_CLASSES:,} classes"
            )
    return y.astype(np.int64, copy=False)


def _check_range(source: str, label: str, y: np.ndarray, num_classes: int) -> None:
    if y.size == 0:
        return
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        row = int(np.argmax(y == bad))
        raise TuidlError(
            f"{source}: {label} has label {bad} at row {row}; with {num_classes} classes "
            f"labels must be in 0..{num_classes - 1}"
        )
