"""Grid planning and cross-validation folds.

- :func:`grid_points`: the Cartesian product (``itertools.product``) over the grid's keys in
  their declared order; the last key varies fastest, as in nested loops.
- :func:`kfold_indices` / :func:`holdout_indices`: which rows train and which score, per fold.
- :func:`plan`: trials (grid points) × folds, the unit the runner schedules.

How it fails: an empty value list, a grid key that names nothing and more folds than rows
raise :class:`tuidl.TuidlError` naming the key or the counts.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuidl.errors import TuidlError

if TYPE_CHECKING:  # numpy is imported where folds are cut: the workbench's form needs only
    import numpy as np  # grid_points and num_folds, and starts faster without it


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, as ``{key: value}`` dicts.

    An empty grid gives one point (``{}``: the spec as written). An empty list raises.
    """
    for key, values in grid.items():
        if not isinstance(values, list | tuple):
            raise TuidlError(f"cv.grid.{key}: expected a list of values, got {values!r}")
        if len(values) == 0:
            raise TuidlError(f"cv.grid.{key}: the list is empty; give at least one value")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


@dataclass(frozen=True)
class Fold:
    """Row indexes into the training pool (kfold) or into train/val (holdout)."""

    index: int
    train: np.ndarray
    val: np.ndarray


def check_fold_count(folds: int, n: int) -> None:
    """The k-fold rule ``2 <= folds <= n`` for ``n`` training rows, checked where the spec is
    checked and again where folds are cut; raises :class:`TuidlError` saying what to do."""
    if folds < 2:
        raise TuidlError(f"cv.folds: got {folds}; k-fold needs at least 2 folds")
    if n < 2:  # "use at most 1 folds" would contradict the rule above
        raise TuidlError(
            f"cv.folds: k-fold needs at least 2 training rows and there are {n}; "
            "raise split.num_training"
        )
    if folds > n:
        raise TuidlError(
            f"cv.folds: {folds} folds but only {n} training rows; use 2 to {n} folds "
            "or more split.num_training"
        )


def kfold_indices(
    y: np.ndarray, folds: int, *, shuffle: bool = False, stratify: bool = False, seed: int = 0
) -> list[Fold]:
    """``folds`` disjoint validation parts covering all rows; each fold trains on the rest.

    Default: contiguous parts, exactly ``np.array_split(np.arange(N), folds)`` (the classic
    recipe). ``shuffle`` permutes the rows first (seeded). ``stratify`` deals each class's
    rows round-robin over the folds so every fold has the class proportions (shuffled
    within each class first when ``shuffle`` is also set). Raises when ``folds`` < 2 or
    exceeds the number of rows.
    """
    import numpy as np

    n = len(y)
    check_fold_count(folds, n)
    rng = np.random.default_rng(seed)
    if stratify:
        assign = np.empty(n, dtype=np.int64)
        offset = 0
        for c in np.unique(y):
            rows = np.flatnonzero(y == c)
            if shuffle:
                rows = rng.permutation(rows)
            # continue the round-robin across classes so fold sizes stay balanced
            assign[rows] = (offset + np.arange(len(rows))) % folds
            offset += len(rows)
        parts = [np.flatnonzero(assign == f) for f in range(folds)]
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        parts = [np.sort(p) if shuffle else p for p in np.array_split(order, folds)]
    out = []
    for f, val in enumerate(parts):
        train = np.concatenate([p for g, p in enumerate(parts) if g != f])
        out.append(Fold(f, np.sort(train) if (shuffle or stratify) else train, val))
    return out


@dataclass(frozen=True)
class Trial:
    """One grid point: its index (stable: the order of :func:`grid_points`) and values."""

    index: int
    params: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """Trials × folds. ``num_folds`` is 1 for holdout."""

    trials: list[Trial]
    num_folds: int

    @property
    def num_tasks(self) -> int:
        return len(self.trials) * self.num_folds

    def pairs(self) -> list[tuple[int, int]]:
        """(trial, fold) pairs, fold-major: every trial of fold 0, then fold 1, ... so a
        fold's preprocessed data is needed by consecutive tasks and the cache stays small."""
        return [(t.index, f) for f in range(self.num_folds) for t in self.trials]


def num_folds(method: str, folds: int) -> int:
    """How many folds score each trial: ``folds`` for ``kfold``, 1 for ``holdout``."""
    return folds if method == "kfold" else 1


def plan(grid: dict[str, list[Any]], method: str, folds: int) -> Plan:
    """Plan the trials of a spec's grid; ``method`` is ``"kfold"`` or ``"holdout"``."""
    points = grid_points(grid)
    return Plan([Trial(i, p) for i, p in enumerate(points)], num_folds(method, folds))
