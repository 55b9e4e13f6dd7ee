"""Hostile archives for ``tuidl data fetch``: 0 files written outside the destination.

Each archive is built here with :mod:`tarfile` and put into the destination with its md5,
so fetch extracts it without a download. The whole parent tree (destination, a victim
file and a victim folder beside it) is snapshotted before and after: it must be exactly
the same (nothing written outside, nothing left behind inside), and the CLI must print
one ``error:`` line naming the member and exit 2. Every archive also holds a complete
fake CIFAR folder, so an archive that sneaks something out cannot pass as a good one.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile
from pathlib import Path

import pytest
from cifar_fakes import make_fake_cifar, make_tar, tar_bytes

from tuidl.cli import main
from tuidl.data.cifar10 import ALL_FILES
from tuidl.data.fetch import fetch
from tuidl.errors import TuidlError

F = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
NO_SERVER = "http://127.0.0.1:9/never-used.tar.gz"


def _file(name: str, data: bytes = b"pwned") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def _special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def _sym(name: str, target: str):
    return _special(name, tarfile.SYMTYPE, target)


def _hard(name: str, target: str):
    return _special(name, tarfile.LNKTYPE, target)


def _good() -> list:
    """A complete (fake) CIFAR folder: with it an escape could otherwise exit 0."""
    return [_dir(F)] + [_file(f"{F}/{name}", b"fake") for name in ALL_FILES]


def _path_max_chain(outside: str) -> list:
    """Symlink chains whose resolved path exceeds PATH_MAX, as in CVE-2025-4517: each step
    is a long folder name plus a one-letter link to it, so ``a/b/c/...`` is short but
    resolves to a path longer than PATH_MAX, where ``os.path.realpath`` stops resolving and
    the ``data`` filter's check is fooled; the final link climbs out from there."""
    comp = "d" * 247
    steps = "abcdefghijklmnop"
    members, path = [], F
    for step in steps:
        members.append(_dir(f"{path}/{comp}"))
        members.append(_sym(f"{path}/{step}", comp))
        path = f"{path}/{comp}"
    link = "/".join([F, *steps, "l" * 254])
    members.append(_sym(link, "../" * len(steps)))
    members.append(_sym(f"{F}/escape", f"{link}/../{'../' * 3}{outside}"))
    members.append(_file(f"{F}/escape/victim.txt", b"overwritten"))
    return members


def _cases(root: Path) -> dict[str, tuple[list, str]]:
    """name -> (hostile members, regex the error must match). ``root`` holds the victims."""
    victim = str(root / "victim.txt")
    outside = str(root / "outside")
    return {
        "symlink-relative-out": (
            [_sym(f"{F}/up", "../../victim.txt"), _file(f"{F}/up")],
            r"'cifar-10-batches-py/up' is a symlink to '\.\./\.\./victim\.txt'",
        ),
        "symlink-absolute-out": (
            [_sym(f"{F}/abs", victim), _file(f"{F}/abs")],
            r"'cifar-10-batches-py/abs' is a symlink to '/",
        ),
        "symlink-dir-out": (
            [_sym(f"{F}/out", "../../outside"), _file(f"{F}/out/new.txt")],
            r"'cifar-10-batches-py/out' is a symlink",
        ),
        "symlink-inside": ([_sym(f"{F}/alias", "data_batch_1")], r"symlink to 'data_batch_1'"),
        "symlink-top-folder-self": (
            [_sym(F, "."), _file(f"{F}/victim.txt")],
            r"member 'cifar-10-batches-py' is a symlink to '\.'",
        ),
        "symlink-top-folder-out": (
            [_sym(F, "../outside"), _file(f"{F}/new.txt")],
            r"member 'cifar-10-batches-py' is a symlink to '\.\./outside'",
        ),
        "symlink-chain-dot": (
            [_sym(f"{F}/a", "."), _sym(f"{F}/b", "a/a/a/../../.."), _file(f"{F}/b/victim.txt")],
            r"symlink to '\.'",
        ),
        "hardlink-relative-out": ([_hard(f"{F}/h", "../victim.txt")], r"hard link to"),
        "hardlink-absolute-out": ([_hard(f"{F}/h", victim)], r"hard link to '/"),
        "hardlink-inside": ([_hard(f"{F}/h", f"{F}/data_batch_1")], r"hard link to"),
        "char-device": (
            [_special(f"{F}/tty", tarfile.CHRTYPE)],
            r"'cifar-10-batches-py/tty' is a character device",
        ),
        "block-device": ([_special(f"{F}/sda", tarfile.BLKTYPE)], r"is a block device"),
        "fifo": (
            [_special(f"{F}/pipe", tarfile.FIFOTYPE)],
            r"'cifar-10-batches-py/pipe' is a FIFO",
        ),
        "unknown-type": ([_special(f"{F}/odd", b"Z")], r"tar type b'Z'"),
        "dotdot-file": (
            [_file(f"{F}/../../victim.txt")],
            r"'cifar-10-batches-py/\.\./\.\./victim\.txt' would be written outside",
        ),
        "dotdot-top": ([_file("../victim.txt")], r"'\.\./victim\.txt' would be written outside"),
        "dotdot-deep": ([_file(f"{F}/x/../../../outside/new.txt")], r"would be written outside"),
        "absolute-file": ([_file(victim)], r"would be written outside"),
        "absolute-dir": ([_dir(outside + "/sub")], r"would be written outside"),
        "backslash-traversal": ([_file(f"{F}\\..\\..\\victim.txt")], r"backslash"),
        "control-character": ([_file(f"{F}/evil\nname")], r"control character"),
        "long-component": ([_file(f"{F}/" + "a" * 300)], r"longer than"),
        "long-name": ([_file(f"{F}/" + ("b" * 200 + "/") * 8 + "c")], r"longer than"),
        "path-max-symlink-chain": (_path_max_chain(outside), r"is a symlink to 'd{247}'"),
        "duplicate-name": ([_file(f"{F}/data_batch_1", b"second")], r"appears more than once"),
        "file-then-dir": (
            [_file(f"{F}/x"), _file(f"{F}/x/y")],
            r"'cifar-10-batches-py/x' is both a file and a folder",
        ),
        "dir-then-file": ([_dir(f"{F}/d"), _file(f"{F}/d")], r"appears more than once|both"),
        "outside-the-folder": ([_file("other.txt")], r"'other\.txt' is not inside cifar-10"),
        "empty-name": ([_file("./")], r"empty name"),
    }


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root``: kind plus contents, link target or mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = ("file", path.read_bytes(), stat.S_IMODE(st.st_mode))
    return out


def _setup(tmp_path: Path, members: list) -> tuple[Path, Path, str]:
    root = tmp_path / "root"
    dest = root / "dest"
    dest.mkdir(parents=True)
    (root / "victim.txt").write_text("original")
    (root / "outside").mkdir()
    (root / "outside" / "keep.txt").write_text("keep")
    data = tar_bytes(members)
    (dest / ARCHIVE).write_bytes(data)
    return root, dest, hashlib.md5(data).hexdigest()


CASE_NAMES = sorted(_cases(Path("/r")))


def test_at_least_twenty_five_hostile_archives():
    assert len(CASE_NAMES) >= 25


@pytest.mark.parametrize("case", CASE_NAMES)
def test_hostile_archive_is_refused_and_writes_nothing(tmp_path, capsys, case):
    hostile, message = _cases(tmp_path / "root")[case]
    root, dest, md5 = _setup(tmp_path, _good() + hostile)
    before = _snapshot(root)
    argv = ["data", "fetch", "cifar10", "--dest", str(dest), "--url", NO_SERVER, "--md5", md5]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "refused" in err
    assert _snapshot(root) == before  # nothing outside, nothing left in dest but the archive
    with pytest.raises(TuidlError, match=message):
        fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert _snapshot(root) == before


@pytest.mark.parametrize("where", ["first", "last"])
def test_hostile_member_first_or_last(tmp_path, where):
    """The bad member refuses the archive wherever it sits: nothing was written before."""
    hostile = [_sym(f"{F}/up", "../../victim.txt")]
    members = hostile + _good() if where == "first" else _good() + hostile
    root, dest, md5 = _setup(tmp_path, members)
    before = _snapshot(root)
    with pytest.raises(TuidlError, match="symlink"):
        fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert _snapshot(root) == before


def _is_fresh(folder: Path) -> bool:
    """The clean archive's files, all plain, and nothing that was there before."""
    names = sorted(os.listdir(folder))
    plain = all(stat.S_ISREG((folder / n).lstat().st_mode) for n in names)
    return plain and names == sorted([*ALL_FILES, "readme.html"])


def _clean_archive(tmp_path: Path) -> tuple[bytes, str]:
    fake = make_fake_cifar(tmp_path / "src", n=4, n_test=3)
    data = make_tar(fake["folder"], tmp_path / "src.tar.gz").read_bytes()
    return data, hashlib.md5(data).hexdigest()


def test_a_refused_top_link_does_not_break_the_next_fetch(tmp_path):
    _root, dest, md5 = _setup(tmp_path, [_sym(F, "."), *_good()[1:]])
    with pytest.raises(TuidlError, match="symlink"):
        fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert sorted(os.listdir(dest)) == [ARCHIVE]
    data, good_md5 = _clean_archive(tmp_path)
    (dest / ARCHIVE).write_bytes(data)
    folder = fetch("cifar10", dest, url=NO_SERVER, md5=good_md5)
    assert folder == dest / F and not folder.is_symlink() and folder.is_dir()
    assert sorted(os.listdir(dest)) == [F]


@pytest.mark.parametrize("target", [".", "../outside", "missing", "loop"])
def test_a_left_over_link_is_replaced_not_followed(tmp_path, target):
    """An older tuidl could leave ``cifar-10-batches-py -> .``; a link where the folder
    goes is unlinked (its target untouched), never followed or rmtree'd."""
    data, md5 = _clean_archive(tmp_path)
    root, dest, _ = _setup(tmp_path, [])
    (dest / ARCHIVE).write_bytes(data)
    if target == "loop":
        (dest / "loop").symlink_to("loop")
    (dest / F).symlink_to(target)
    outside_before = _snapshot(root / "outside")
    folder = fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert not folder.is_symlink() and _is_fresh(folder)
    assert _snapshot(root / "outside") == outside_before
    assert (root / "victim.txt").read_text() == "original"


def test_an_incomplete_folder_is_replaced_without_following_links_inside(tmp_path):
    data, md5 = _clean_archive(tmp_path)
    root, dest, _ = _setup(tmp_path, [])
    (dest / ARCHIVE).write_bytes(data)
    (dest / F).mkdir()
    (dest / F / "data_batch_1").write_text("half")
    (dest / F / "link-out").symlink_to(root / "outside")
    folder = fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert _is_fresh(folder)
    assert (root / "outside" / "keep.txt").read_text() == "keep"


def test_extracted_files_get_plain_modes(tmp_path):
    info, data = _file(f"{F}/data_batch_1", b"x")
    info.mode = 0o4777  # setuid, world-writable: not taken from the archive
    members = [_dir(F), (info, data)] + [m for m in _good()[1:] if m[0].name != info.name]
    _root, dest, md5 = _setup(tmp_path, members)
    folder = fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert stat.S_IMODE((folder / "data_batch_1").stat().st_mode) & 0o7022 == 0


def test_corrupt_archive_is_one_error(tmp_path):
    _root, dest, _ = _setup(tmp_path, _good())
    data = (dest / ARCHIVE).read_bytes()
    (dest / ARCHIVE).write_bytes(data[: len(data) // 2])
    md5 = hashlib.md5(data[: len(data) // 2]).hexdigest()
    with pytest.raises(TuidlError, match=r"cannot extract it"):
        fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert sorted(os.listdir(dest)) == [ARCHIVE]


def test_too_many_members_or_bytes_refused(tmp_path, monkeypatch):
    """A gzip bomb must not fill the disk: the limits are checked from the headers first
    (lowered here so a small archive shows them)."""
    from tuidl.data import safe_tar

    root, dest, md5 = _setup(tmp_path, _good())
    before = _snapshot(root)
    monkeypatch.setattr(safe_tar, "MAX_MEMBERS", 3)
    with pytest.raises(TuidlError, match=r"refused: it holds more than 3 members"):
        fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    monkeypatch.setattr(safe_tar, "MAX_MEMBERS", 100)
    monkeypatch.setattr(safe_tar, "MAX_BYTES", 10)
    with pytest.raises(
        TuidlError, match=r"refused: its files would take 28 bytes, more than the 10 "
    ):
        fetch("cifar10", dest, url=NO_SERVER, md5=md5)
    assert _snapshot(root) == before


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"plain text, not an archive\n" * 10, "not plain, gzip, bzip2 or xz tar"),
        (b"", "an empty file"),
        (gzip.compress(b"hello" * 1000), "not plain, gzip, bzip2 or xz tar"),
    ],
)
def test_not_a_tar_archive_is_one_line(tmp_path, capsys, data, reason):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / ARCHIVE).write_bytes(data)
    md5 = hashlib.md5(data).hexdigest()
    argv = ["data", "fetch", "cifar10", "--dest", str(dest), "--url", NO_SERVER, "--md5", md5]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"is not a tar archive ({reason})" in err
    assert sorted(os.listdir(dest)) == [ARCHIVE]
