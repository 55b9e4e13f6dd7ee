"""Bad ``.npz`` files, damaged run stores and hostile archives for ``data fetch``."""

from __future__ import annotations

import gzip
import hashlib
import io
import sqlite3
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bad_inputs import KNN, RUN, Case, both, case, empty_store, write

# -- .npz --------------------------------------------------------------------------------------

X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
Y = np.arange(40) % 4
NAN_X = np.where(np.eye(40, 6) > 0, np.nan, X)


def npz(**arrays):
    return lambda t: np.savez(t / "d.npz", **arrays)


def raw_npz(**members: bytes):
    """A zip whose members are written as given (``X="X.npy"`` bytes and so on)."""

    def make(t: Path) -> None:
        with zipfile.ZipFile(t / "d.npz", "w") as z:
            for key, data in members.items():
                z.writestr(key.replace("__", "."), data)

    return make


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def truncated_npz(t: Path) -> None:
    np.savez(t / "d.npz", X=X, y=Y)
    (t / "d.npz").write_bytes((t / "d.npz").read_bytes()[:200])


HUGE_HEADER = npy(X).replace(b"(40, 6)", b"(4000000000000, 6)")

# (id, make, expected): `tuidl data info npz --path {t}/d.npz`
NPZ: list[tuple[str, Callable, str]] = [
    ("empty-file", write("d.npz", b""), "is empty"),
    ("text-file", write("d.npz", "X,y\n1,2\n"), "is not an .npz file"),
    ("pickle-file", write("d.npz", b"\x80\x04K\x01."), "pickle"),
    ("single-npy", write("d.npz", npy(X)), "single .npy array"),
    ("truncated-zip", truncated_npz, "d.npz"),
    ("zip-of-text", raw_npz(readme__txt=b"hello"), "readme"),
    ("empty-zip", raw_npz(), "missing key"),
    ("missing-y", npz(X=X), "missing key(s) y"),
    ("missing-X", npz(y=Y), "missing key(s) X"),
    ("typo-key", npz(x=X, y=Y), "'x'"),
    ("object-array", raw_npz(X__npy=npy(np.array([{}] * 40)), y__npy=npy(Y)), "object array"),
    ("pickle-member", raw_npz(X__npy=b"\x80\x04K\x01.", y__npy=npy(Y)), "X_train"),
    ("corrupt-npy-header", raw_npz(X__npy=b"\x93NUMPY\x01\x00junk", y__npy=npy(Y)), "'X'"),
    ("huge-declared-shape", raw_npz(X__npy=HUGE_HEADER, y__npy=npy(Y)), "d.npz"),
    ("X-1d", npz(X=np.arange(40.0), y=Y), "X_train has shape (40,)"),
    ("X-empty", npz(X=np.zeros((0, 6)), y=np.zeros(0, int)), "empty"),
    ("y-2d", npz(X=X, y=Y.reshape(40, 1)), "y_train has shape (40, 1)"),
    ("length-mismatch", npz(X=X, y=Y[:30]), "30 labels"),
    ("nan-features", npz(X=NAN_X, y=Y), "nan"),
    ("inf-features", npz(X=np.where(np.isnan(NAN_X), np.inf, X), y=Y), "inf"),
    ("string-features", npz(X=np.array([["a"] * 6] * 40), y=Y), "X_train has dtype"),
    ("complex-features", npz(X=X.astype(np.complex64), y=Y), "complex64"),
    ("float-labels", npz(X=X, y=Y + 0.5), "non-integer labels"),
    ("string-labels", npz(X=X, y=np.array(["cat"] * 40)), "y_train has dtype"),
    ("negative-labels", npz(X=X, y=Y - 1), "label -1"),
    ("label-2**40", npz(X=X, y=np.where(Y == 0, 2**40, Y)), str(2**40)),
    ("label-1e6", npz(X=X, y=np.where(Y == 0, 10**6, Y)), "1000000"),
    ("test-columns-mismatch", npz(X=X, y=Y, X_test=X[:, :3], y_test=Y), "X_test"),
    ("test-without-labels", npz(X=X, y=Y, X_test=X), "y_test"),
    ("class-names-too-few", npz(X=X, y=Y, class_names=np.array(["a", "b"])), "2 classes"),
    ("class-names-numbers", npz(X=X, y=Y, class_names=np.arange(4)), "class_names"),
    ("class-names-empty", npz(X=X, y=0 * Y, class_names=np.array([], dtype=str)), "class_names"),
]

NPZ_SPEC = write("s.toml", KNN.replace('"digits"', '"npz"\npath = "d.npz"'))

# -- run stores --------------------------------------------------------------------------------


def damaged_store(how: str):
    def make(t: Path) -> None:
        empty_store(t)
        path = t / "r.sqlite"
        data = bytearray(path.read_bytes())
        if how == "truncated":
            data = data[: len(data) // 2 + 7]
        elif how == "pages":
            data[4096:] = b"\xde\xad" * ((len(data) - 4096) // 2)
        elif how == "header":
            data[:16] = b"not sqlite at al"
        path.write_bytes(bytes(data))

    return make


def foreign_db(t: Path) -> None:
    with sqlite3.connect(t / "r.sqlite") as db:
        db.execute("create table things (a)")


def future_store(t: Path) -> None:
    empty_store(t)
    with sqlite3.connect(t / "r.sqlite") as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")


STORES: list[tuple[str, Callable, str]] = [
    ("garbage", write("r.sqlite", b"garbage" * 1000), "corrupt or not a tuidl store"),
    ("text", write("r.sqlite", "hello\n" * 500), "corrupt or not a tuidl store"),
    ("foreign-db", foreign_db, "not a tuidl store"),
    ("future-version", future_store, "schema version 999"),
    ("truncated", damaged_store("truncated"), "r.sqlite"),
    ("pages", damaged_store("pages"), "r.sqlite"),
    ("header", damaged_store("header"), "r.sqlite"),
]
STORE_COMMANDS = {
    "runs": ["runs", "--store", "{t}/r.sqlite"],
    "show": ["show", "1", "--store", "{t}/r.sqlite"],
    "run": list(RUN),
    "resume": ["run", "--resume", "1", "--store", "{t}/r.sqlite"],
}

# -- archives for `data fetch cifar10 --url file://...` -------------------------------------

F = "cifar-10-batches-py"
CIFAR_FILES = ("batches.meta", "test_batch", "readme.html", "data_batch_1", "data_batch_2")
CIFAR_FILES += ("data_batch_3", "data_batch_4", "data_batch_5")


def member(name, kind=tarfile.REGTYPE, data=b"x", link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, io.BytesIO(data)
    return info, None


def tar_gz(members, mode="w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, data)
    return buf.getvalue()


def good():
    return [member(F, tarfile.DIRTYPE)] + [member(f"{F}/{n}") for n in CIFAR_FILES]


def hostile(*extra):
    """A complete fake CIFAR folder plus ``extra``: an escape cannot pass as a good fetch."""
    return lambda: tar_gz([*good(), *extra])


NOT_ARCHIVE = "is not a tar archive"
# (id, archive bytes or a function making them, expected, the row awaits)
ARCHIVES: list[tuple] = [
    ("not-gzip", b"plain text, not an archive\n" * 10, NOT_ARCHIVE, ""),
    ("empty", b"", NOT_ARCHIVE, ""),
    ("gzip-not-tar", gzip.compress(b"hello" * 1000), NOT_ARCHIVE, ""),
    ("truncated-gzip", lambda: tar_gz(good())[:60], "cifar-10-python.tar.gz", ""),
    ("bzip2-empty", lambda: tar_gz([], "w:bz2"), "does not contain a cifar-10-batches-py", ""),
    ("no-cifar-folder", lambda: tar_gz([member("other/file.txt")]), "other/file.txt", ""),
    ("incomplete-folder", lambda: tar_gz(good()[:3]), "lacks", ""),
    (
        "symlink-out",
        hostile(member(f"{F}/up", tarfile.SYMTYPE, link="../../victim.txt")),
        "symlink",
        "",
    ),
    (
        "symlink-absolute",
        hostile(member(f"{F}/abs", tarfile.SYMTYPE, link="/etc/passwd")),
        "symlink",
        "",
    ),
    (
        "symlink-top-self",
        lambda: tar_gz([member(F, tarfile.SYMTYPE, link="."), member(f"{F}/victim.txt")]),
        "symlink",
        "",
    ),
    (
        "hardlink-out",
        hostile(member(f"{F}/h", tarfile.LNKTYPE, link="../victim.txt")),
        "hard link",
        "",
    ),
    ("char-device", hostile(member(f"{F}/tty", tarfile.CHRTYPE)), "character device", ""),
    ("block-device", hostile(member(f"{F}/sda", tarfile.BLKTYPE)), "block device", ""),
    ("fifo", hostile(member(f"{F}/pipe", tarfile.FIFOTYPE)), "FIFO", ""),
    ("dotdot", hostile(member(f"{F}/../../victim.txt", data=b"pwned")), "outside", ""),
    ("absolute-path", hostile(member("/tmp/tuidl-pwned.txt", data=b"pwned")), "outside", ""),
    ("long-name", hostile(member(f"{F}/" + "a" * 300)), "longer than", ""),
    ("duplicate-member", hostile(member(f"{F}/data_batch_1", data=b"2nd")), "more than once", ""),
    ("md5-mismatch", lambda: tar_gz(good()), "checksum mismatch", ""),
]


def archive(payload) -> Callable[[Path], dict[str, str]]:
    def make(t: Path) -> dict[str, str]:
        data = payload() if callable(payload) else payload
        (t / "a.tar.gz").write_bytes(data)
        (t / "dest").mkdir()
        (t / "victim.txt").write_text("keep")
        return {"md5": hashlib.md5(data).hexdigest()}

    return make


def fetch_argv(md5: str = "{md5}") -> list[str]:
    url = "file://{t}/a.tar.gz"
    return ["data", "fetch", "cifar10", "--dest", "{t}/dest", "--url", url, "--md5", md5]


CASES: list[Case] = [
    *(case(f"npz-{i}", ["data", "info", "npz", "--path", "{t}/d.npz"], e, m) for i, m, e in NPZ),
    case("npz-run-nan-features", RUN, "nan", both(npz(X=NAN_X, y=Y), NPZ_SPEC)),
    case(
        "npz-run-label-2**40",
        RUN,
        str(2**40),
        both(npz(X=X, y=np.where(Y == 0, 2**40, Y)), NPZ_SPEC),
    ),
    *(
        case(f"store-{how}-{name}", argv, e, both(m, write("s.toml", KNN)))
        for how, m, e in STORES
        for name, argv in STORE_COMMANDS.items()
    ),
    *(
        case(
            f"archive-{i}",
            fetch_argv("0" * 32 if i == "md5-mismatch" else "{md5}"),
            e,
            archive(payload),
            awaits=awaits,
            outside_untouched=True,
        )
        for i, payload, e, awaits in ARCHIVES
    ),
]
