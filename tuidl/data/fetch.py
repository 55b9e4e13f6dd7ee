"""Downloading a dataset archive, verifying it and extracting it safely.

``fetch("cifar10")`` downloads the official archive into the data directory
(:func:`tuidl.data.locations.default_data_dir`), checks its md5 and extracts
``cifar-10-batches-py/`` next to it. Guarantees:

- **Nothing half-written**: bytes go to ``<archive>.part``, which is renamed into place only
  after the whole file arrived and its md5 matched; on any failure (network error, short
  read, Ctrl+C, checksum mismatch) the ``.part`` file is removed. Extraction goes to a
  temporary folder that is renamed into place only when complete. So a rerun simply starts
  over and completes.
- **Safe extraction** (:mod:`tuidl.data.safe_tar`): the archive may hold only regular
  files and folders under the dataset's folder; anything else (links of any kind, devices,
  FIFOs, absolute or ``..`` names, duplicates) refuses the whole archive before anything is
  written, and tuidl creates every file and folder itself, never through a link, so
  nothing is ever written outside the destination.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuidl.data import cifar10
from tuidl.data.locations import default_data_dir
from tuidl.data.safe_tar import extract_tree
from tuidl.errors import TuidlError

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """Where a fetchable dataset comes from and what its archive unpacks to."""

    url: str
    md5: str
    archive: str  # file name of the downloaded archive
    folder: str  # the folder the archive holds
    files: tuple[str, ...]  # what a complete folder contains


SOURCES = {
    "cifar10": Source(
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
        archive=cifar10.ARCHIVE,
        folder=cifar10.FOLDER,
        files=cifar10.ALL_FILES,
    ),
}

Progress = Callable[[int, int | None], None]


def fetch(
    name: str,
    dest: str | Path | None = None,
    *,
    url: str | None = None,
    md5: str | None = None,
    progress: Progress | None = None,
    keep_archive: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and extract dataset ``name``; return the extracted folder.

    ``dest`` defaults to the data directory. ``url``/``md5`` override the official ones (a
    mirror, or a test server). ``progress(done_bytes, total_bytes_or_None)`` is called as
    bytes arrive. A folder that is already complete is returned without downloading; an
    archive already in ``dest`` whose md5 matches is extracted without downloading.

    Raises :class:`TuidlError` for an unknown name, a network error or short download, a
    checksum mismatch or an unsafe archive; in each case nothing partial is left behind.
    """
    if name not in SOURCES:
        raise TuidlError(f"cannot fetch {name!r}; fetchable datasets: {', '.join(SOURCES)}")
    src = SOURCES[name]
    url = url or src.url
    want = (md5 or src.md5).strip().lower()
    if len(want) != 32 or any(c not in "0123456789abcdef" for c in want):
        raise TuidlError(f"--md5 {md5!r} is not an md5 hex digest (32 hex digits)")
    dest = Path(dest).expanduser() if dest is not None else default_data_dir()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TuidlError(f"{dest}: cannot create the destination folder ({exc})") from None
    folder = dest / src.folder
    if all((folder / f).is_file() for f in src.files):
        return folder
    archive = dest / src.archive
    if not (archive.is_file() and file_md5(archive) == want):
        download(url, archive, want, progress=progress, timeout=timeout)
    extract(archive, dest, src.folder)
    if not keep_archive:
        archive.unlink()
    missing = [f for f in src.files if not (folder / f).is_file()]
    if missing:
        raise TuidlError(f"{archive}: extracted, but {folder} lacks {', '.join(missing)}")
    return folder


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def download(
    url: str,
    target: Path,
    md5: str | None,
    *,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Stream ``url`` to ``target`` via ``target.part``; rename only after a verified finish.

    A short body (fewer bytes than Content-Length), any network error, an interrupt or an
    md5 mismatch removes the ``.part`` file and raises :class:`TuidlError` (the interrupt is
    re-raised as is); ``target`` is never left half-written.
    """
    part = target.with_name(target.name + ".part")
    h = hashlib.md5()
    done = 0
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TuidlError(f"cannot download {url}: {_reason(exc)}") from None
        with response, open(part, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress:
                progress(0, total)
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, ValueError) as exc:  # IncompleteRead, reset, timeout
                    raise TuidlError(
                        f"download of {url} broke off after {done} bytes ({_reason(exc)}); "
                        "nothing was kept, run the command again"
                    ) from None
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise TuidlError(
                f"download of {url} broke off after {done} of {total} bytes; "
                "nothing was kept, run the command again"
            )
        got = h.hexdigest()
        if md5 is not None and got != md5:
            raise TuidlError(
                f"{url}: checksum mismatch: md5 is {got}, expected {md5}; the download was "
                "deleted (a corrupt or different file; pass --md5 only for a trusted mirror)"
            )
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__


def extract(archive: Path, dest: Path, folder: str) -> Path:
    """Extract ``archive`` (which must hold only ``folder/``) into ``dest/folder`` atomically.

    The archive is unpacked by :func:`tuidl.data.safe_tar.extract_tree` (only regular files
    and folders, each created by tuidl, never through a link) into a fresh temporary folder
    inside ``dest``, and moved into place only once the whole archive was written. What was
    at ``dest/folder`` before (an incomplete folder; fetch returns early for a complete one)
    is replaced: a link or a file there is unlinked, never followed, and a folder is removed
    without following the links inside it. Raises :class:`TuidlError` naming the archive and
    the offending member; then nothing of the archive is left in ``dest``.
    """
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{folder}.", suffix=".extracting", dir=dest))
    except OSError as exc:
        raise TuidlError(
            f"{dest}: cannot create a temporary folder to extract into ({exc})"
        ) from None
    try:
        inner = extract_tree(archive, staging, folder)
        if inner.is_symlink() or not inner.is_dir():
            raise TuidlError(f"{archive}: does not contain a {folder}/ folder")
        final = dest / folder
        try:
            _remove(final)
            os.replace(inner, final)
        except OSError as exc:
            raise TuidlError(f"{final}: cannot put the extracted folder in place ({exc})") from None
        return final
    finally:
        # the staging folder holds only what extract_tree made: files and folders, no links
        shutil.rmtree(staging, ignore_errors=True)


def _remove(path: Path) -> None:
    """Remove ``path`` if it exists, without following links: a link (even one to a folder,
    or to itself) or a file is unlinked, a folder is removed with what is in it."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        # shutil.rmtree never follows links inside the tree (and refuses a link at the top,
        # which the branch above has already unlinked)
        shutil.rmtree(path, ignore_errors=False)
