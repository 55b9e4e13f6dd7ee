"""A user's .npz: happy paths and every way it can be wrong."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from tuidl.cli import main
from tuidl.data.dataset import MAX_CLASSES
from tuidl.data.npz import load_npz
from tuidl.errors import TuidlError


def _save(tmp_path, **arrays):
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)
    return path


def _rows(n=6, shape=(2, 3), dtype=np.float32):
    return np.arange(n * np.prod(shape), dtype=dtype).reshape(n, *shape)


def test_minimal(tmp_path):
    ds = load_npz(_save(tmp_path, X=_rows(), y=np.array([0, 1, 2, 0, 1, 2])))
    assert ds.X_train.shape == (6, 2, 3) and ds.image_shape == (2, 3)
    assert ds.y_train.dtype == np.int64
    assert ds.class_names == ("0", "1", "2") and ds.X_test is None


def test_with_test_part_and_class_names(tmp_path):
    path = _save(
        tmp_path,
        X=_rows(),
        y=np.array([0, 1, 0, 1, 0, 1]),
        X_test=_rows(3),
        y_test=np.array([1, 1, 0]),
        class_names=np.array(["cat", "dog"]),
    )
    ds = load_npz(path)
    assert ds.class_names == ("cat", "dog")
    assert ds.X_test.shape == (3, 2, 3) and ds.y_test.tolist() == [1, 1, 0]


def test_whole_float_labels_are_accepted(tmp_path):
    ds = load_npz(_save(tmp_path, X=_rows(), y=np.array([0.0, 1, 2, 0, 1, 2])))
    assert ds.y_train.dtype == np.int64


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_refused(tmp_path, bad):
    X = _rows()
    X[4, 1, 2] = bad
    path = _save(tmp_path, X=X, y=np.zeros(6, dtype=int))
    with pytest.raises(TuidlError, match=r"mine\.npz.*X_train.*row 4.*NaN and inf"):
        load_npz(path)


def test_nan_in_test_part_refused(tmp_path):
    X_test = _rows(2)
    X_test[1, 0, 0] = np.nan
    path = _save(tmp_path, X=_rows(), y=np.zeros(6, int), X_test=X_test, y_test=[0, 0])
    with pytest.raises(TuidlError, match=r"mine\.npz.*X_test"):
        load_npz(path)


def test_object_array_refused_without_unpickling(tmp_path):
    X = np.empty(6, dtype=object)
    X[:] = [{"a": 1}] * 6
    path = _save(tmp_path, X=X, y=np.zeros(6, dtype=int))
    with pytest.raises(TuidlError, match=r"mine\.npz.*'X' is an object array.*allow_pickle=False"):
        load_npz(path)


def test_shapes_disagree(tmp_path):
    path = _save(tmp_path, X=_rows(6), y=np.zeros(5, dtype=int))
    with pytest.raises(TuidlError, match=r"mine\.npz: X_train has 6 rows but y_train has 5"):
        load_npz(path)


def test_test_rows_shape_differs(tmp_path):
    path = _save(tmp_path, X=_rows(), y=np.zeros(6, int), X_test=_rows(2, (3, 2)), y_test=[0, 0])
    with pytest.raises(TuidlError, match=r"mine\.npz: X_test rows have shape \(3, 2\)"):
        load_npz(path)


def test_labels_out_of_range(tmp_path):
    path = _save(tmp_path, X=_rows(), y=np.array([0, 1, 0, 2, 1, 0]), class_names=["a", "b"])
    with pytest.raises(TuidlError, match=r"mine\.npz: y_train has label 2 at row 3.*0\.\.1"):
        load_npz(path)


def test_negative_label(tmp_path):
    path = _save(tmp_path, X=_rows(), y=np.array([0, 1, -1, 0, 1, 0]))
    with pytest.raises(TuidlError, match=r"label -1 at row 2"):
        load_npz(path)


def test_empty(tmp_path):
    path = _save(tmp_path, X=np.zeros((0, 4), np.float32), y=np.zeros(0, int))
    with pytest.raises(TuidlError, match=r"mine\.npz: the dataset is empty"):
        load_npz(path)


def test_missing_and_unknown_keys(tmp_path):
    with pytest.raises(TuidlError, match=r"missing key\(s\) y"):
        load_npz(_save(tmp_path, X=_rows()))
    with pytest.raises(TuidlError, match=r"unexpected key\(s\) 'x_test'"):
        load_npz(_save(tmp_path, X=_rows(), y=np.zeros(6, int), x_test=_rows()))


def test_missing_file_and_not_npz(tmp_path):
    with pytest.raises(TuidlError, match=r"nope\.npz: no such file"):
        load_npz(tmp_path / "nope.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(TuidlError, match=r"junk\.npz"):
        load_npz(junk)
    single = tmp_path / "one.npy"
    np.save(single, _rows())
    with pytest.raises(TuidlError, match=r"one\.npy: is a single \.npy array"):
        load_npz(single)


def test_truncated_npz(tmp_path):
    path = _save(tmp_path, X=_rows(200, (8, 8)), y=np.zeros(200, int))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TuidlError, match=r"mine\.npz"):
        load_npz(path)


def test_string_labels_refused(tmp_path):
    path = _save(tmp_path, X=_rows(), y=np.array(["a"] * 6))
    with pytest.raises(TuidlError, match=r"y_train has dtype <U1; labels must be integers"):
        load_npz(path)


# --- class ids are checked before anything is sized by them (issue #15 items 4 and 12) ---


@pytest.mark.parametrize(
    "label, shown",
    [
        (2**40, "1099511627776"),
        (10**6, "1000000"),
        (MAX_CLASSES, f"{MAX_CLASSES}"),
        (np.iinfo(np.uint64).max, "18446744073709551615"),
        (1e20, "100000000000000000000"),
        (-1.0, "-1"),
        (-(2**62), str(-(2**62))),
    ],
)
def test_huge_or_negative_label_refused_before_allocating(tmp_path, label, shown):
    y = np.array([0, 1, 2, 0, 1, label], dtype=np.asarray(label).dtype)
    path = _save(tmp_path, X=_rows(), y=y)
    with pytest.raises(TuidlError, match=rf"mine\.npz: y_train has label {shown} at row 5"):
        load_npz(path)


def test_huge_label_in_test_part_refused(tmp_path):
    path = _save(tmp_path, X=_rows(), y=np.zeros(6, int), X_test=_rows(2), y_test=[0, 2**40])
    with pytest.raises(TuidlError, match=r"y_test has label 1099511627776 at row 1.*100,000"):
        load_npz(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, 0.5])
def test_nan_and_fractional_labels_refused(tmp_path, bad):
    path = _save(tmp_path, X=_rows(), y=np.array([0, 1, bad, 0, 1, 0]))
    with pytest.raises(TuidlError, match=rf"non-integer labels \({bad} at row 2\)"):
        load_npz(path)


def test_more_classes_than_rows_needs_class_names(tmp_path):
    y = np.array([0, 1, 2, 0, 1, 50])
    with pytest.raises(TuidlError, match=r"label 50 at row 5, so the labels imply 51 classes "):
        load_npz(_save(tmp_path, X=_rows(), y=y))
    names = np.array([f"c{i}" for i in range(51)])
    assert load_npz(_save(tmp_path, X=_rows(), y=y, class_names=names)).num_classes == 51


def test_too_many_class_names_refused(tmp_path):
    names = np.array(["c"] * (MAX_CLASSES + 1))
    path = _save(tmp_path, X=_rows(), y=np.zeros(6, int), class_names=names)
    with pytest.raises(TuidlError, match=r"class_names lists 100001 classes.*at most 100,000"):
        load_npz(path)


def test_limit_is_the_documented_one():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text()
    assert f"{MAX_CLASSES:,} classes" in docs


def test_cli_info_on_a_huge_label_is_one_error(tmp_path, capsys):
    path = _save(tmp_path, X=_rows(), y=np.array([0, 1, 2, 0, 1, 2**40]))
    assert main(["data", "info", "npz", "--path", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "1099511627776" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (b"X,y\n1,2\n", r"text\.npz: is not an \.npz file \(an \.npz is a zip archive"),
        (b"", r"text\.npz: is empty"),
        (pickle.dumps({"X": 1}), r"text\.npz: holds a pickled object, not an \.npz archive"),
    ],
)
def test_not_a_zip_is_named_for_what_it_is(tmp_path, content, message):
    path = tmp_path / "text.npz"
    path.write_bytes(content)
    with pytest.raises(TuidlError, match=message):
        load_npz(path)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_header_declaring_more_than_the_file_holds_is_refused_before_allocating(
    tmp_path, compressed
):
    """A 24-byte member whose header claims a petabyte: refused by name and size, not a
    MemoryError from numpy (nor, on a machine that overcommits, a petabyte allocation)."""
    import io
    import zipfile

    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f4", "fortran_order": False, "shape": (99_999_999_999, 3072)}
    )
    y = io.BytesIO()
    np.save(y, np.zeros(2, np.int64))
    path = tmp_path / "huge.npz"
    how = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", how) as z:
        z.writestr("X.npy", head.getvalue() + np.zeros(6, np.float32).tobytes())
        z.writestr("y.npy", y.getvalue())
    with pytest.raises(TuidlError, match=r"array 'X' declares shape \(99999999999, 3072\)") as e:
        load_npz(path)
    assert "TiB" in str(e.value) and "holds 24 bytes" in str(e.value)


def test_compressed_npz_still_loads(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, X=_rows(), y=np.array([0, 1, 2, 0, 1, 2]))
    assert load_npz(path).X_train.shape == (6, 2, 3)
