"""Every bad CIFAR-10 input gets a TuidlError that names the file and what is wrong."""

from __future__ import annotations

import builtins
import os
import pickle

import numpy as np
import pytest
from cifar_fakes import cifar_batch, make_tar, py2_dumps

from tuidl.data.cifar10 import load_cifar10
from tuidl.data.dataset import checked
from tuidl.errors import TuidlError


def test_missing_path(tmp_path):
    with pytest.raises(TuidlError, match=r"nowhere: no such file or folder.*tuidl data fetch"):
        load_cifar10(tmp_path / "nowhere")


def test_default_path_missing_says_fetch(tmp_path, monkeypatch):
    from tuidl.data import cifar10

    monkeypatch.setattr(cifar10, "default_data_dir", lambda: tmp_path)
    with pytest.raises(TuidlError, match=r"not in .*tuidl data fetch cifar10"):
        load_cifar10()


def test_folder_without_cifar(tmp_path):
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(TuidlError, match=r"holds no CIFAR-10 batches"):
        load_cifar10(tmp_path)


def test_some_batches_missing(fake_cifar):
    (fake_cifar["folder"] / "data_batch_3").unlink()
    (fake_cifar["folder"] / "test_batch").unlink()
    with pytest.raises(TuidlError, match=r"cifar-10-batches-py: missing data_batch_3, test_batch"):
        load_cifar10(fake_cifar["folder"])


def test_batches_missing_from_archive(fake_cifar, tmp_path):
    order = ["data_batch_1", "data_batch_2", "test_batch", "batches.meta"]
    archive = make_tar(fake_cifar["folder"], tmp_path / "c.tar.gz", order)
    with pytest.raises(TuidlError, match=r"c\.tar\.gz: the archive lacks data_batch_3"):
        load_cifar10(archive)


def test_truncated_batch(fake_cifar):
    path = fake_cifar["folder"] / "data_batch_2"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TuidlError, match=r"data_batch_2: truncated or corrupt"):
        load_cifar10(fake_cifar["folder"])


def test_truncated_archive(fake_cifar, tmp_path):
    archive = make_tar(fake_cifar["folder"], tmp_path / "c.tar.gz")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(TuidlError, match=r"c\.tar\.gz"):
        load_cifar10(archive)


def test_wrong_keys(fake_cifar):
    batch = py2_dumps({b"pixels": np.zeros((3, 3072), np.uint8), b"labels": [0, 1, 2]})
    (fake_cifar["folder"] / "data_batch_4").write_bytes(batch)
    with pytest.raises(TuidlError, match=r"data_batch_4: wrong keys.*'data' and 'labels'.*pixels"):
        load_cifar10(fake_cifar["folder"])


def test_wrong_meta_keys(fake_cifar):
    (fake_cifar["folder"] / "batches.meta").write_bytes(py2_dumps({b"names": [b"a"]}))
    with pytest.raises(TuidlError, match=r"batches\.meta: wrong keys.*label_names"):
        load_cifar10(fake_cifar["folder"])


def test_wrong_row_size(fake_cifar):
    batch = cifar_batch(np.zeros((2, 1024), np.uint8), [0, 1])
    (fake_cifar["folder"] / "data_batch_1").write_bytes(batch)
    with pytest.raises(TuidlError, match=r"data_batch_1: 'data' rows have 1024 values"):
        load_cifar10(fake_cifar["folder"])


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.eval, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("payload", [_System, _Eval])
@pytest.mark.parametrize("where", ["folder", "archive"])
def test_malicious_pickle_is_refused_and_not_run(fake_cifar, tmp_path, payload, where):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": payload(marker), b"labels": [0]}, protocol=2)
    (fake_cifar["folder"] / "data_batch_1").write_bytes(evil)
    # the payload is real: plain pickle would run it (checked on a throwaway marker)
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(payload(probe), protocol=2))
    assert probe.exists()
    path = fake_cifar["folder"]
    if where == "archive":
        path = make_tar(fake_cifar["folder"], tmp_path / "evil.tar.gz")
    with pytest.raises(TuidlError, match=r"data_batch_1: refused to load.*(system|eval).*nothing"):
        load_cifar10(path)
    assert not marker.exists()


def test_other_codecs_refused(fake_cifar):
    import codecs

    class Zip:
        def __reduce__(self):
            return (codecs.encode, ("x" * 10, "zlib_codec"))

    (fake_cifar["folder"] / "data_batch_1").write_bytes(pickle.dumps({b"data": Zip()}, 2))
    with pytest.raises(TuidlError, match=r"refused.*zlib_codec"):
        load_cifar10(fake_cifar["folder"])


def test_labels_out_of_range(fake_cifar):
    batch = cifar_batch(np.zeros((3, 3072), np.uint8), [0, 10, 2])
    (fake_cifar["folder"] / "data_batch_5").write_bytes(batch)
    with pytest.raises(TuidlError, match=r"data_batch_5: label 10 at row 1 is out of range"):
        load_cifar10(fake_cifar["folder"])


def test_negative_label(fake_cifar):
    batch = cifar_batch(np.zeros((3, 3072), np.uint8), [0, 1, -1])
    (fake_cifar["folder"] / "test_batch").write_bytes(batch)
    with pytest.raises(TuidlError, match=r"test_batch: label -1 at row 2"):
        load_cifar10(fake_cifar["folder"])


def test_shape_and_label_count_disagree(fake_cifar):
    batch = cifar_batch(np.zeros((4, 3072), np.uint8), [0, 1, 2])
    (fake_cifar["folder"] / "data_batch_2").write_bytes(batch)
    with pytest.raises(TuidlError, match=r"data_batch_2: holds 4 images but 3 labels"):
        load_cifar10(fake_cifar["folder"])


def test_empty_batch(fake_cifar):
    batch = cifar_batch(np.zeros((0, 3072), np.uint8), [])
    (fake_cifar["folder"] / "data_batch_1").write_bytes(batch)
    with pytest.raises(TuidlError, match=r"data_batch_1: the batch is empty"):
        load_cifar10(fake_cifar["folder"])


def test_checked_refuses_empty_and_mismatch():
    with pytest.raises(TuidlError, match=r"src: the dataset is empty"):
        checked("x", "src", np.zeros((0, 3), np.uint8), np.zeros(0, int))
    with pytest.raises(TuidlError, match=r"src: X_train has 2 rows but y_train has 3 labels"):
        checked("x", "src", np.zeros((2, 3), np.uint8), [0, 1, 1])
    with pytest.raises(TuidlError, match=r"src: has X_test but no y_test"):
        checked("x", "src", np.zeros((2, 3)), [0, 1], X_test=np.zeros((1, 3)))
    with pytest.raises(TuidlError, match=r"src: X_train has dtype object"):
        checked("x", "src", np.array([[None]], dtype=object), [0])
