"""Splits: disjoint by construction, the classic defaults, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.data.dataset import checked
from tuidl.errors import TuidlError
from tuidl.experiment.split import split


def _pool(n=100, n_test=None, classes=4):
    """Rows whose single feature is their identity: row i of the pool holds i."""
    X = np.arange(n, dtype=np.int64).reshape(n, 1) * 10
    y = np.arange(n) % classes
    if n_test is None:
        return checked("toy", "toy", X, y)
    Xt = -np.arange(1, n_test + 1, dtype=np.int64).reshape(n_test, 1)
    return checked("toy", "toy", X, y, Xt, np.arange(n_test) % classes)


def test_classic_default_takes_consecutive_rows_as_views():
    ds = _pool(100)
    s = split(ds, 60, 15, 20)
    assert s.train_idx.tolist() == list(range(60))
    assert s.val_idx.tolist() == list(range(60, 75))  # CS231n: range(num_training, +num_val)
    assert s.test_idx.tolist() == list(range(75, 95)) and s.test_source == "pool"
    assert np.shares_memory(s.X_train, ds.X_train)  # no copy
    assert s.disjoint


def test_recipe_overlap_bug_absent_by_row_identity():
    ds = _pool(100)
    s = split(ds, 60, 0, 20)
    # the recipe's mask range(num_test, num_training + num_test) would share rows 20..59
    assert set(s.X_train[:, 0]).isdisjoint(s.X_test[:, 0])
    assert set(s.X_train[:, 0]).isdisjoint(s.X_val[:, 0])


def test_official_test_part_is_used():
    ds = _pool(100, n_test=30)
    s = split(ds, 80, 20, 10)
    assert s.test_source == "test"
    np.testing.assert_array_equal(s.X_test, ds.X_test[:10])
    assert (s.X_test < 0).all()  # from the test part, never the pool
    assert s.disjoint


def test_counts_exceed():
    with pytest.raises(TuidlError, match=r"60 \+ 30 \+ 20 = 110, but toy has 100 rows"):
        split(_pool(100), 60, 30, 20)
    with pytest.raises(TuidlError, match=r"num_test = 31, but toy's official test part has 30"):
        split(_pool(100, n_test=30), 50, 0, 31)
    with pytest.raises(TuidlError, match=r"90 \+ 20 = 110, but toy has 100 training rows"):
        split(_pool(100, n_test=30), 90, 20, 5)


def test_bad_counts():
    for args in ((0, 0, 0), (10, -1, 0), (10, 0, 2.5), (True, 0, 0)):
        with pytest.raises(TuidlError, match=r"split: num_\w+ = .* whole number"):
            split(_pool(), *args)


def test_zero_validation_and_test_allowed():
    s = split(_pool(), 100, 0, 0)
    assert len(s.X_train) == 100 and len(s.X_val) == 0 and len(s.X_test) == 0
    assert s.X_val.shape[1:] == (1,)


def test_shuffle_is_deterministic_by_seed():
    ds = _pool()
    a = split(ds, 50, 20, 20, shuffle=True, seed=1)
    b = split(ds, 50, 20, 20, shuffle=True, seed=1)
    c = split(ds, 50, 20, 20, shuffle=True, seed=2)
    np.testing.assert_array_equal(a.train_idx, b.train_idx)
    assert not np.array_equal(a.train_idx, c.train_idx)
    assert a.disjoint and c.disjoint
    np.testing.assert_array_equal(a.X_train[:, 0], a.train_idx * 10)


def test_stratified_keeps_class_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    ds = checked("s", "s", np.arange(100).reshape(100, 1), y)
    s = split(ds, 50, 20, 30, stratify=True, shuffle=True, seed=0)
    assert np.bincount(s.y_train, minlength=3).tolist() == [30, 15, 5]
    assert np.bincount(s.y_val, minlength=3).tolist() == [12, 6, 2]
    assert np.bincount(s.y_test, minlength=3).tolist() == [18, 9, 3]
    assert s.disjoint


def test_stratified_rounding_still_gives_exact_counts():
    y = np.array([0] * 7 + [1] * 5 + [2] * 3)
    ds = checked("s", "s", np.arange(15).reshape(15, 1), y)
    s = split(ds, 7, 4, 4, stratify=True)
    assert (len(s.train_idx), len(s.val_idx), len(s.test_idx)) == (7, 4, 4)
    assert s.disjoint and np.all(np.diff(s.train_idx) > 0)  # unshuffled keeps row order


def test_real_digits_split():
    from tuidl.data.digits import load_digits

    s = split(load_digits(), 1000, 300, 497, shuffle=True, stratify=True, seed=0)
    assert s.disjoint and len(s.test_idx) == 497
    assert "disjoint: True" in s.describe()


@pytest.mark.cifar
def test_real_cifar_classic_split(real_cifar):
    s = split(real_cifar, 49000, 1000, 1000)
    assert s.X_train.shape == (49000, 32, 32, 3) and s.test_source == "test"
    assert s.y_test[:4].tolist() == [3, 8, 8, 0]
    assert np.shares_memory(s.X_val, real_cifar.X_train)
