"""The folder fast path: a batch is mapped and parsed with its pixels cut out.

It must give exactly what unpickling the whole file gives, or step aside (``_map_batch``
returns None) so that the whole-file SafeUnpickler gives the result or the error.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import struct

import numpy as np
import pytest
from cifar_fakes import cifar_batch, py2_dumps

from tuidl.data import cifar10, safe_pickle
from tuidl.data.cifar10 import load_cifar10
from tuidl.errors import TuidlError


def _classic(raw: np.ndarray) -> np.ndarray:
    return raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _mapped(path):
    with open(path, "rb") as f:
        return cifar10._map_batch(f, str(path))


def _whole(path):
    with open(path, "rb") as f:
        return cifar10._parse_batch(safe_pickle.safe_load(f, str(path)), str(path))


def _pixels_at(path) -> int | None:
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        found = safe_pickle._find_pixels(mm, 3072)
    return None if found is None else found[0]


def _rows(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)


def _assert_same(mapped, whole):
    assert mapped is not None and mapped.mapped
    assert not mapped.data.flags.writeable and not mapped.data.flags.owndata  # a file view
    np.testing.assert_array_equal(mapped.data, whole.data)
    np.testing.assert_array_equal(mapped.labels, whole.labels)
    assert mapped.labels.dtype == whole.labels.dtype == np.int64


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda d, y: cifar_batch(d, y), id="python2"),
        pytest.param(lambda d, y: cifar_batch(d, y, numpy1_names=False), id="numpy2-name"),
        pytest.param(
            lambda d, y: pickle.dumps({b"labels": y, b"data": d}, protocol=3), id="py3-proto3"
        ),
        pytest.param(
            lambda d, y: pickle.dumps({"data": d, "labels": y}, protocol=3), id="py3-str-keys"
        ),
    ],
)
def test_real_format_is_mapped_and_matches_the_whole_unpickle(tmp_path, make):
    data, labels = _rows(9), [3, 1, 4, 1, 5, 9, 2, 6, 5]
    path = tmp_path / "data_batch_1"
    path.write_bytes(make(data, labels))
    mapped = _mapped(path)
    _assert_same(mapped, _whole(path))
    np.testing.assert_array_equal(mapped.data, data)


def test_python3_protocol2_is_not_mapped_but_loads(tmp_path):
    # Python 3's protocol 2 spells bytes as _codecs.encode(text, "latin1"): nothing to cut out
    path = tmp_path / "b"
    path.write_bytes(pickle.dumps({b"data": _rows(2), b"labels": [0, 1]}, protocol=2))
    assert _mapped(path) is None
    np.testing.assert_array_equal(_whole(path).data, _rows(2))


def test_folder_load_uses_the_mapped_path(fake_cifar, monkeypatch):
    calls = []
    real = cifar10._map_batch

    def spy(f, source):
        batch = real(f, source)
        calls.append(batch is not None)
        return batch

    monkeypatch.setattr(cifar10, "_map_batch", spy)
    ds = load_cifar10(fake_cifar["folder"])
    assert calls == [True] * 6
    np.testing.assert_array_equal(ds.X_train, _classic(fake_cifar["raw"]))
    np.testing.assert_array_equal(ds.X_test, _classic(fake_cifar["raw_test"]))


def test_length_pattern_inside_an_earlier_string_falls_back(fake_cifar):
    # the batch label (pickled before the data) holds NEWFALSE 'T' + a plausible length
    data = _rows(3)
    batch = {b"batch_label": b"\x89T" + struct.pack("<I", 3072) + b"label", b"labels": [1, 2, 3]}
    batch[b"data"] = data
    path = fake_cifar["folder"] / "data_batch_1"
    path.write_bytes(py2_dumps(batch))
    assert _pixels_at(path) < path.read_bytes().index(data.tobytes())
    assert _mapped(path) is None
    ds = load_cifar10(fake_cifar["folder"])
    np.testing.assert_array_equal(ds.X_train[:3], _classic(data))


def test_length_pattern_after_the_pixels_is_harmless(tmp_path):
    data = _rows(4)
    batch = {b"labels": [0, 1, 2, 3], b"data": data}
    batch[b"filenames"] = [b"\x89T" + struct.pack("<I", 3072) + b"%d.png" % i for i in range(4)]
    path = tmp_path / "b"
    path.write_bytes(py2_dumps(batch))
    _assert_same(_mapped(path), _whole(path))


def test_string_that_swallows_the_cut_is_caught(fake_cifar):
    """A file where cutting out 'pixels' that are really pickle opcodes would parse.

    An outer string ends right after a NEWFALSE 'T' + length pattern, so the whole-file
    unpickle goes on to parse the next L bytes as opcodes (batch A), while a parse with
    those L bytes cut out and an empty string in their place would go on after them
    (batch B, whose array holds an empty string): cutting with a known stand-in would load
    batch A's opcodes as batch B's pixels. The random stand-in string cannot be forged, so
    the cut parse fails and the whole-file result (batch A) is what loads.
    """
    rows_a = _rows(1, seed=7)
    batch_a = cifar_batch(rows_a, [4])
    length = 2 * 3072
    prefix = b"abc"
    outer = pickle.PROTO + b"\x02" + pickle.BINSTRING + struct.pack("<i", len(prefix) + 6)
    outer += prefix + b"\x89T" + struct.pack("<I", length)
    region = (pickle.POP + batch_a).ljust(length, b"\0")
    fake_b = cifar_batch(np.zeros((2, 3072), np.uint8), [1, 2])
    real_payload = b"\x89T" + struct.pack("<I", length) + bytes(length)
    assert real_payload in fake_b
    fake_b = fake_b.replace(real_payload, b"\x89" + pickle.SHORT_BINSTRING + b"\0")
    content = outer + region + pickle.POP + fake_b
    path = fake_cifar["folder"] / "data_batch_1"
    path.write_bytes(content)

    pos = len(outer) - 5
    assert _pixels_at(path) == pos
    # the attack works on a cut with an empty stand-in ...
    naive = content[: pos + 1] + struct.pack("<I", 0) + content[pos + 5 + length :]
    unpickler = safe_pickle._CutUnpickler(io.BytesIO(naive), token=b"", row=3072)
    obj = unpickler.load()
    assert obj[b"labels"] == [1, 2] and obj[b"data"].rows == 2
    # ... not on the real one: it steps aside, and the whole file gives batch A
    assert _mapped(path) is None
    assert _whole(path).labels.tolist() == [4]
    ds = load_cifar10(fake_cifar["folder"])
    np.testing.assert_array_equal(ds.X_train[:1], _classic(rows_a))
    assert ds.y_train[0] == 4


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_global_after_the_pixels_is_refused(fake_cifar, tmp_path):
    marker = tmp_path / "pwned"
    batch = {b"labels": [0, 1], b"data": _rows(2), b"extra": _System(marker)}
    content = py2_dumps(batch)
    assert content.index(b"system") > content.index(_rows(2).tobytes())
    path = fake_cifar["folder"] / "data_batch_3"
    path.write_bytes(content)
    assert _mapped(path) is None
    with pytest.raises(TuidlError, match=r"data_batch_3: refused to load.*system.*nothing"):
        load_cifar10(fake_cifar["folder"])
    assert not marker.exists()


@pytest.mark.parametrize("keep", ["up_to_the_end_of_the_pixels", "half_the_pixels"])
def test_truncated_pixels(fake_cifar, keep):
    path = fake_cifar["folder"] / "data_batch_2"
    content = path.read_bytes()
    end = content.index(fake_cifar["raw"][12:24].tobytes()) + 12 * 3072
    path.write_bytes(content[: end if keep.startswith("up") else end - 6 * 3072])
    assert _mapped(path) is None
    with pytest.raises(TuidlError, match=r"data_batch_2: truncated or corrupt"):
        load_cifar10(fake_cifar["folder"])


def test_second_array_falls_back(tmp_path):
    batch = {b"labels": [0, 1], b"data": _rows(2), b"mean": np.zeros((1, 3072), np.uint8)}
    path = tmp_path / "b"
    path.write_bytes(py2_dumps(batch))
    assert _mapped(path) is None
    np.testing.assert_array_equal(_whole(path).data, _rows(2))


def test_fortran_order_pixels_fall_back_and_load(fake_cifar):
    data = np.asfortranarray(_rows(5))
    path = fake_cifar["folder"] / "data_batch_1"
    path.write_bytes(cifar_batch(data, [0, 1, 2, 3, 4]))
    assert _mapped(path) is None
    np.testing.assert_array_equal(load_cifar10(fake_cifar["folder"]).X_train[:5], _classic(data))


def test_other_dtype_falls_back_to_the_same_error(fake_cifar):
    batch = cifar_batch(np.zeros((2, 1536), np.int16), [0, 1])
    path = fake_cifar["folder"] / "data_batch_4"
    path.write_bytes(batch)
    assert _mapped(path) is None
    with pytest.raises(TuidlError, match=r"data_batch_4: 'data' is a int16 array of shape"):
        load_cifar10(fake_cifar["folder"])


@pytest.mark.parametrize("labels", [[True, False], [0, 1.0], [0, 1, 2]])
def test_odd_labels_fall_back_to_the_same_checks(tmp_path, labels):
    path = tmp_path / "b"
    path.write_bytes(py2_dumps({b"labels": labels, b"data": _rows(2)}))
    mapped = _mapped(path)
    with pytest.raises(TuidlError, match=r"labels"):
        _whole(path)
    assert mapped is None


def test_stand_in_takes_only_the_cut_state():
    token = b"\xff" + bytes(15)
    u8 = np.dtype(np.uint8)
    good = (1, (2, 3072), u8, False, token)
    stand_in = safe_pickle._PixelArray(token, 3072)
    with pytest.raises(TypeError):
        hash(stand_in)
    for bad in [
        (1, (2, 3072), u8, False, b""),
        (1, (2, 3072), u8, True, token),
        (1, (2, 1536), np.dtype(np.int16), False, token),
        (1, (2, 3071), u8, False, token),
        (1, (2.0, 3072), u8, False, token),
        (1, (2, 3072), u8, False, bytearray(token)),
        (2, (2, 3072), u8, False, token),
        (1, (2, 3072), u8, False),
    ]:
        with pytest.raises(pickle.UnpicklingError):
            safe_pickle._PixelArray(token, 3072).__setstate__(bad)
    stand_in.__setstate__(good)
    assert stand_in.rows == 2
    with pytest.raises(pickle.UnpicklingError, match="twice"):
        stand_in.__setstate__(good)


@pytest.mark.cifar
def test_real_folder_matches_the_archive(real_cifar, tmp_path):
    import tarfile

    with tarfile.open(real_cifar.source) as tar:  # the fixture loads the archive
        tar.extractall(tmp_path, filter="data")
    folder = tmp_path / "cifar-10-batches-py"
    for name in (*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH):
        assert _mapped(folder / name) is not None, name
    ds = load_cifar10(folder)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        got, want = getattr(ds, name), getattr(real_cifar, name)
        assert got.dtype == want.dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)
    assert ds.class_names == real_cifar.class_names
