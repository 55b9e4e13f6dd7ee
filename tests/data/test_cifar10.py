"""CIFAR-10 from the folder, its parent or the .tar.gz, with the classic transpose."""

from __future__ import annotations

import numpy as np
import pytest
from cifar_fakes import CIFAR_NAMES, cifar_batch, make_tar

from tuidl.data import cifar10
from tuidl.data.cifar10 import load_cifar10


def _classic(raw: np.ndarray) -> np.ndarray:
    return raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _check(ds, fake):
    assert ds.X_train.shape == (60, 32, 32, 3) and ds.X_train.dtype == np.uint8
    np.testing.assert_array_equal(ds.X_train, _classic(fake["raw"]))
    np.testing.assert_array_equal(ds.y_train, fake["labels"])
    assert ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.X_test, _classic(fake["raw_test"]))
    np.testing.assert_array_equal(ds.y_test, fake["labels_test"])
    assert ds.class_names == tuple(n.decode() for n in CIFAR_NAMES)
    assert ds.image_shape == (32, 32, 3)


def test_folder(fake_cifar):
    _check(load_cifar10(fake_cifar["folder"]), fake_cifar)


def test_parent(fake_cifar):
    _check(load_cifar10(fake_cifar["folder"].parent), fake_cifar)


def test_tar_gz_in_shuffled_member_order(fake_cifar, tmp_path):
    # the official archive does not store the batches in order
    order = ["data_batch_4", "readme.html", "test_batch", "data_batch_3", "batches.meta"]
    order += ["data_batch_2", "data_batch_5", "data_batch_1"]
    archive = make_tar(fake_cifar["folder"], tmp_path / "cifar-10-python.tar.gz", order)
    _check(load_cifar10(archive), fake_cifar)
    # a parent folder holding only the archive works too
    _check(load_cifar10(tmp_path), fake_cifar)


def test_default_path_is_the_data_dir(fake_cifar, monkeypatch):
    monkeypatch.setattr(cifar10, "default_data_dir", lambda: fake_cifar["folder"].parent)
    _check(load_cifar10(), fake_cifar)


def test_unequal_batches_still_load_in_order(fake_cifar):
    folder = fake_cifar["folder"]
    big = np.arange(20 * 3072, dtype=np.int64).astype(np.uint8).reshape(20, 3072)
    (folder / "data_batch_3").write_bytes(cifar_batch(big, [1] * 20))
    ds = load_cifar10(folder)
    assert ds.X_train.shape == (68, 32, 32, 3)
    np.testing.assert_array_equal(ds.X_train[24:44], _classic(big))
    np.testing.assert_array_equal(ds.X_train[44:], _classic(fake_cifar["raw"][36:]))


def test_python3_str_keys_are_accepted(fake_cifar):
    import pickle

    folder = fake_cifar["folder"]
    data = fake_cifar["raw"][:12]
    labels = fake_cifar["labels"][:12].tolist()
    for protocol in (2, 4):  # Python 3's protocol 2 spells bytes as _codecs.encode(..., latin1)
        batch = pickle.dumps({"data": data, "labels": labels}, protocol=protocol)
        (folder / "data_batch_1").write_bytes(batch)
        np.testing.assert_array_equal(load_cifar10(folder).X_train[:12], _classic(data))


def test_numpy2_spelling_of_reconstruct(fake_cifar):
    folder = fake_cifar["folder"]
    data = fake_cifar["raw"][:12]
    batch = cifar_batch(data, fake_cifar["labels"][:12], numpy1_names=False)
    assert b"numpy._core.multiarray" in batch
    (folder / "data_batch_1").write_bytes(batch)
    np.testing.assert_array_equal(load_cifar10(folder).X_train[:12], _classic(data))


@pytest.mark.cifar
def test_real_cifar10(real_cifar):
    ds = real_cifar
    assert ds.X_train.shape == (50000, 32, 32, 3) and ds.X_train.dtype == np.uint8
    assert ds.y_train[:5].tolist() == [6, 9, 9, 4, 1]
    assert ds.y_test[:4].tolist() == [3, 8, 8, 0]
    assert ds.class_names[6] == "frog"
    assert np.bincount(ds.y_train).tolist() == [5000] * 10
