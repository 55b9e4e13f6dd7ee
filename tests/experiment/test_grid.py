"""Grid planning and cross-validation folds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tuidl.errors import TuidlError
from tuidl.experiment.grid import grid_points, kfold_indices, plan


def test_grid_is_the_cartesian_product_in_declared_order():
    grid = {"optimizer.lr": [1e-7, 5e-7], "model.reg": [2.5e4, 5e4, 1e5]}
    points = grid_points(grid)
    expected = [
        {"optimizer.lr": lr, "model.reg": reg}
        for lr, reg in itertools.product(grid["optimizer.lr"], grid["model.reg"])
    ]
    assert points == expected
    assert grid_points({}) == [{}]


def test_empty_value_list_is_an_error():
    with pytest.raises(TuidlError, match=r"cv\.grid\.model\.k: the list is empty"):
        grid_points({"model.k": []})


def test_plan_is_trials_times_folds_fold_major():
    p = plan({"model.k": [1, 3, 5]}, "kfold", 5)
    assert p.num_tasks == 15 and p.num_folds == 5
    assert p.pairs()[:4] == [(0, 0), (1, 0), (2, 0), (0, 1)]
    assert plan({"model.k": [1, 3]}, "holdout", 5).num_tasks == 2


def test_contiguous_folds_match_array_split():
    y = np.arange(23) % 4
    folds = kfold_indices(y, 5)
    parts = np.array_split(np.arange(23), 5)
    for f, part in zip(folds, parts, strict=True):
        assert np.array_equal(f.val, part)
        # the classic concatenation of the other folds, in order
        others = np.concatenate([p for p in parts if p is not part])
        assert np.array_equal(f.train, others)


@pytest.mark.parametrize(("shuffle", "stratify"), [(True, False), (False, True), (True, True)])
def test_folds_partition_the_rows(shuffle, stratify):
    y = np.repeat(np.arange(3), [30, 20, 10])
    folds = kfold_indices(y, 5, shuffle=shuffle, stratify=stratify, seed=1)
    vals = np.concatenate([f.val for f in folds])
    assert np.array_equal(np.sort(vals), np.arange(60))
    for f in folds:
        assert np.intersect1d(f.train, f.val).size == 0
        assert len(f.train) + len(f.val) == 60
        if stratify:
            assert np.array_equal(np.bincount(y[f.val], minlength=3), [6, 4, 2])


def test_shuffled_folds_depend_on_the_seed_only():
    y = np.zeros(50, dtype=int)
    a = kfold_indices(y, 5, shuffle=True, seed=3)
    b = kfold_indices(y, 5, shuffle=True, seed=3)
    c = kfold_indices(y, 5, shuffle=True, seed=4)
    assert all(np.array_equal(x.val, z.val) for x, z in zip(a, b, strict=True))
    assert not all(np.array_equal(x.val, z.val) for x, z in zip(a, c, strict=True))
    assert not np.array_equal(a[0].val, np.arange(10))


def test_more_folds_than_rows_is_an_error():
    with pytest.raises(TuidlError, match=r"cv\.folds: 6 folds but only 5 training rows"):
        kfold_indices(np.zeros(5, dtype=int), 6)
    with pytest.raises(TuidlError, match="at least 2 folds"):
        kfold_indices(np.zeros(5, dtype=int), 1)
    assert len(kfold_indices(np.zeros(5, dtype=int), 5)) == 5
