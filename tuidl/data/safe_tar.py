"""Extracting a dataset archive that may be hostile, without ever writing outside a folder.

:func:`extract_tree` does not use :meth:`tarfile.TarFile.extractall`: its ``data`` filter
has been bypassed (symlink chains whose resolved path exceeds PATH_MAX, CVE-2025-4517).
Instead, a dataset archive may hold only regular files and folders, and tuidl creates
each of them itself:

1. Every member is checked before anything is written. Refused, naming the member: links
   of any kind (symbolic or hard), devices, FIFOs and any other special type; absolute
   names and names with a ``..`` component; names with a backslash or a control
   character; components longer than 255 bytes or names longer than 1,024; members
   outside the one expected top folder; a name that appears twice; a name that is both a
   file and a folder (``a`` a file, then ``a/b``); more than 10,000 members or more than
   4 GiB of file contents in all.
2. Each folder is made with ``mkdir`` and each file with ``O_CREAT | O_EXCL | O_NOFOLLOW``,
   walking from the root folder one component at a time through directory descriptors
   opened with ``O_NOFOLLOW``; before each file is created the resolved path of its
   folder is checked to lie inside the root. Nothing can be redirected, because no link
   is ever created and an existing path is never opened for writing.

Modes come from tuidl (0o755 folders, 0o644 files), not from the archive: no setuid bits,
no odd owners.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
from pathlib import Path

from tuidl.errors import TuidlError

MAX_COMPONENT_BYTES = 255  # NAME_MAX on Linux and macOS
MAX_NAME_CHARS = 1024
# A dataset archive holds a handful of files (CIFAR-10: 8, 178 MiB unpacked). Far more
# members, or far more bytes, is a hostile archive (a gzip bomb filling the disk).
MAX_MEMBERS = 10_000
MAX_BYTES = 4 << 30
_CHUNK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def extract_tree(archive: Path, root: Path, folder: str) -> Path:
    """Extract ``archive``, which must hold only ``folder/`` with files and folders in it,
    into the existing, empty folder ``root``; return ``root / folder``.

    Raises :class:`TuidlError` naming ``archive`` and the offending member when a member
    is refused (see the module docstring; nothing is written then), and naming the
    archive when it cannot be read or written (truncated, corrupt, disk full). After an
    error ``root`` may hold part of the tree: the caller removes it.
    """
    src = str(archive)
    try:
        with _open(archive, src) as tar:
            members = []
            for member in tar:
                members.append(member)
                if len(members) > MAX_MEMBERS:
                    raise TuidlError(
                        f"{src}: refused: it holds more than {MAX_MEMBERS:,} members; a "
                        "dataset archive holds a handful of files"
                    )
            plan = check_members(members, folder, src)
            real_root = os.path.realpath(root)
            for member, parts in plan:
                if member.isdir():
                    _close(_walk(root, real_root, parts, src))
                else:
                    _write(tar, member, root, real_root, parts, src)
    except TuidlError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise TuidlError(f"{src}: cannot extract it ({' '.join(str(exc).split())})") from None
    return root / folder


def _open(archive: Path, src: str) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, EOFError, OSError):
        # tarfile lists each compression it tried on a line of its own: one line here
        empty = archive.is_file() and archive.stat().st_size == 0
        reason = "an empty file" if empty else "not plain, gzip, bzip2 or xz tar"
        raise TuidlError(f"{src}: is not a tar archive ({reason}); check --url") from None


def check_members(
    members: list[tarfile.TarInfo], folder: str, archive: str
) -> list[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    """Refuse the whole archive unless every member is a plain file or folder under
    ``folder/`` with a safe, unique name; return each member with its name's components.

    Raises :class:`TuidlError` ``"<archive>: refused: ..."`` naming the first bad member.
    """
    plan = []
    seen: set[tuple[str, ...]] = set()
    files: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()
    for m in members:
        parts = _name_parts(m.name, archive)
        kind = _refused_kind(m)
        if kind:
            raise TuidlError(
                f"{archive}: refused: member {m.name!r} is a {kind}; a dataset archive may "
                "hold only regular files and folders"
            )
        if parts[0] != folder:
            raise TuidlError(
                f"{archive}: refused: member {m.name!r} is not inside {folder}/; the archive "
                f"must hold only that folder"
            )
        if parts in seen:
            raise TuidlError(
                f"{archive}: refused: member {m.name!r} appears more than once (a later copy "
                "would replace the first)"
            )
        seen.add(parts)
        (folders if m.isdir() else files).add(parts)
        folders.update(parts[:i] for i in range(1, len(parts)))
        plan.append((m, parts))
    total = sum(m.size for m in members if m.isreg())
    if total > MAX_BYTES:
        raise TuidlError(
            f"{archive}: refused: its files would take {total:,} bytes, more than the "
            f"{MAX_BYTES:,} a dataset archive may unpack to"
        )
    clash = files & folders
    if clash:
        name = "/".join(sorted(clash)[0])
        raise TuidlError(f"{archive}: refused: {name!r} is both a file and a folder in the archive")
    return plan


def _refused_kind(m: tarfile.TarInfo) -> str | None:
    """What a member is when it is not a plain file or folder, else ``None``."""
    if m.isdir() or (m.isreg() and not m.issparse()):
        return None
    if m.issym():
        return f"symlink to {m.linkname!r}"
    if m.islnk():
        return f"hard link to {m.linkname!r}"
    if m.ischr():
        return "character device"
    if m.isblk():
        return "block device"
    if m.isfifo():
        return "FIFO"
    if m.issparse():
        return "sparse file"
    return f"member of tar type {m.type!r}"


def _name_parts(name: str, archive: str) -> tuple[str, ...]:
    """The components of a member name (``.`` and empty ones dropped), or a refusal."""
    if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in name.split("/"):
        raise TuidlError(
            f"{archive}: refused: member {name!r} would be written outside the destination"
        )
    if "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise TuidlError(
            f"{archive}: refused: member {name[:80]!r} has a backslash or a control "
            "character in its name"
        )
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if not parts:
        raise TuidlError(f"{archive}: refused: member {name!r} has an empty name")
    if len(name) > MAX_NAME_CHARS or any(
        len(p.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES for p in parts
    ):
        raise TuidlError(
            f"{archive}: refused: member {name[:80]!r}... has a name longer than "
            f"{MAX_NAME_CHARS} characters or a component longer than {MAX_COMPONENT_BYTES} bytes"
        )
    return parts


def _inside(real_root: str, path: str, archive: str, name: str) -> None:
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise TuidlError(
            f"{archive}: refused: member {name!r} resolves to {real}, outside the destination"
        )


def _walk(root: Path, real_root: str, parts: tuple[str, ...], archive: str) -> int | None:
    """Make the folders ``parts`` below ``root`` (each one at most once, never through a
    link) and return a descriptor of the last one (``None`` where the platform has no
    directory descriptors; then paths are used, checked the same way)."""
    name = "/".join(parts)
    if os.mkdir not in os.supports_dir_fd or os.open not in os.supports_dir_fd:
        path = str(root)
        for part in parts:
            path = os.path.join(path, part)
            _inside(real_root, os.path.dirname(path), archive, name)
            if not os.path.isdir(path) or os.path.islink(path):
                os.mkdir(path, 0o755)
        _inside(real_root, path, archive, name)
        return None
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    try:
        for part in parts:
            # made for an earlier member if it exists; opened below without following links
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            nxt = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    _inside(real_root, os.path.join(root, *parts), archive, name)
    return fd


def _close(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def _write(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    root: Path,
    real_root: str,
    parts: tuple[str, ...],
    archive: str,
) -> None:
    """Create the file ``parts`` (it must not exist yet) and copy the member's bytes in."""
    parent = _walk(root, real_root, parts[:-1], archive)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    try:
        if parent is None:
            out = os.open(os.path.join(root, *parts), flags, 0o644)
        else:
            out = os.open(parts[-1], flags, 0o644, dir_fd=parent)
    finally:
        _close(parent)
    with os.fdopen(out, "wb") as dst:
        src = tar.extractfile(member)
        if src is None:  # pragma: no cover - isreg() members always have a body
            return
        done = 0
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
            done += len(chunk)
        if done != member.size:
            raise TuidlError(
                f"{archive}: member {member.name!r} is truncated ({done} of {member.size} bytes)"
            )
