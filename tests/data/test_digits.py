"""The embedded digits dataset: offline, packaged, the UCI data."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from tuidl.data.digits import load_digits


def test_digits_shape_and_classes():
    ds = load_digits()
    assert ds.X_train.shape == (1797, 8, 8) and ds.X_train.dtype == np.uint8
    assert ds.y_train.dtype == np.int64
    assert ds.X_train.min() >= 0 and ds.X_train.max() == 16
    assert ds.class_names == tuple("0123456789")
    assert ds.class_counts().tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert ds.X_test is None and not ds.has_test
    assert "CC BY 4.0" in ds.source


def test_digits_file_ships_in_the_package():
    ref = resources.files("tuidl.data").joinpath("files/digits.npz")
    assert ref.is_file()


def test_digits_match_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    ref = datasets.load_digits()
    ds = load_digits()
    np.testing.assert_array_equal(ds.X_train.reshape(-1, 64), ref.data)
    np.testing.assert_array_equal(ds.y_train, ref.target)
