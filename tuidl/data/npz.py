"""A user's own dataset as one ``.npz`` file.

Keys: ``X`` (N, ...) numbers and ``y`` (N,) integer labels; optionally ``X_test`` and
``y_test`` (an official test part, same per-row shape) and ``class_names`` (a string
array). Save one with ``np.savez("mine.npz", X=X, y=y, class_names=np.array(names))``.
The file is read with ``allow_pickle=False``, so it cannot run code; object arrays are
refused.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tuidl.data.dataset import Dataset, checked
from tuidl.errors import TuidlError
from tuidl.sizes import human_bytes

REQUIRED_KEYS = ("X", "y")
OPTIONAL_KEYS = ("X_test", "y_test", "class_names")


def load_npz(path: str | Path, name: str = "npz") -> Dataset:
    """Load and validate ``path``; every problem raises :class:`TuidlError` naming the file.

    Refused: a missing or unreadable file, something that is not an ``.npz`` archive,
    missing ``X``/``y``, unknown keys (a typo such as ``x`` must not be silently ignored),
    object arrays (they need pickle), and anything :func:`tuidl.data.dataset.checked`
    rejects (NaN/inf, shapes that disagree, labels out of range, an empty X).
    """
    path = Path(path).expanduser()
    src = str(path)
    if not path.exists():
        raise TuidlError(f"{src}: no such file")
    if path.is_dir():
        raise TuidlError(f"{src}: is a folder; expected an .npz file")
    if not path.is_file():  # reading a FIFO with no writer would block forever
        raise TuidlError(
            f"{src}: is not a regular file (a FIFO, device or socket); expected an .npz file"
        )
    _check_magic(path, src)
    arrays: dict[str, np.ndarray] = {}
    try:
        npz = np.load(path, allow_pickle=False)
        if not hasattr(npz, "files"):
            raise TuidlError(f"{src}: is a single .npy array, not an .npz archive")
        with npz:
            keys = list(npz.files)
            unknown = [k for k in keys if k not in REQUIRED_KEYS + OPTIONAL_KEYS]
            if unknown:
                raise TuidlError(
                    f"{src}: unexpected key(s) {', '.join(map(repr, unknown))}; allowed keys "
                    f"are {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
                )
            missing = [k for k in REQUIRED_KEYS if k not in keys]
            if missing:
                raise TuidlError(
                    f"{src}: missing key(s) {', '.join(missing)}; it has "
                    f"{', '.join(keys) or 'no arrays'}"
                )
            for key in keys:
                arrays[key] = _read(npz, key, src)
    except TuidlError:
        raise
    except (zipfile.BadZipFile, EOFError) as exc:
        raise TuidlError(f"{src}: not a valid .npz archive (truncated or corrupt: {exc})") from None
    except (OSError, ValueError) as exc:
        if "pickle" in str(exc).lower():
            # np.load itself refuses pickled .npy files when allow_pickle=False
            raise TuidlError(f"{src}: holds a pickled object, which tuidl will not load") from None
        raise TuidlError(f"{src}: cannot read it as .npz ({exc})") from None
    names = arrays.get("class_names")
    class_names: list[str] | None = None
    if names is not None:
        if names.ndim != 1 or names.dtype.kind not in "US":
            raise TuidlError(
                f"{src}: class_names must be a 1-D string array, got dtype "
                f"{names.dtype} shape {names.shape}"
            )
        class_names = [
            c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c) for c in names.tolist()
        ]
    return checked(
        name,
        src,
        arrays["X"],
        arrays["y"],
        arrays.get("X_test"),
        arrays.get("y_test"),
        class_names,
    )


def _check_magic(path: Path, src: str) -> None:
    """Refuse what is not a zip archive by its first bytes, with the right name for it.

    ``np.load`` takes any file that is neither a zip nor an ``.npy`` for a pickle, so a
    text file would otherwise be reported as "holds a pickled object"."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise TuidlError(f"{src}: cannot read it ({exc.strerror or exc})") from None
    if head.startswith(b"PK"):
        return
    if not head:
        raise TuidlError(f"{src}: is empty; expected an .npz archive (np.savez)")
    if head.startswith(b"\x93NUMPY"):
        raise TuidlError(f"{src}: is a single .npy array, not an .npz archive")
    if head[:1] == b"\x80":
        raise TuidlError(
            f"{src}: holds a pickled object, not an .npz archive; tuidl will not load "
            "pickles (save plain arrays with np.savez)"
        )
    raise TuidlError(
        f"{src}: is not an .npz file (an .npz is a zip archive, this file starts with "
        f"{head!r}); save one with np.savez(path, X=X, y=y)"
    )


def _declared_fits(npz, key: str, src: str) -> None:
    """Refuse an array whose header declares more data than its member holds, before any
    allocation: a 100-byte file must not make numpy ask for a petabyte (and fail with a
    bare MemoryError), nor a corrupt one for more memory than the machine has."""
    zf = getattr(npz, "zip", None)
    member = f"{key}.npy"
    if zf is None or member not in zf.namelist():
        return  # numpy reads it its own way (an older layout): _read handles the errors
    info = zf.getinfo(member)
    with zf.open(member) as f:
        if f.read(6) != b"\x93NUMPY":
            return  # not an .npy (numpy takes it for a pickle): _read refuses it by name
        f.seek(0)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        header = f.tell()
    need = int(np.prod(shape, dtype=object)) * dtype.itemsize
    have = info.file_size - header
    if dtype.hasobject or need <= have:
        return  # object arrays are refused when read, with their own message
    raise TuidlError(
        f"{src}: array {key!r} declares shape {tuple(shape)} of {dtype} "
        f"({human_bytes(need)}) but holds {human_bytes(max(have, 0))}: the file is "
        "truncated or corrupt"
    )


def _read(npz, key: str, src: str) -> np.ndarray:
    try:
        _declared_fits(npz, key, src)
        return npz[key]
    except MemoryError as exc:
        raise TuidlError(
            f"{src}: array {key!r} does not fit in memory ({exc}); use a smaller file, or "
            "a split of fewer rows saved on its own"
        ) from None
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise TuidlError(
                f"{src}: array {key!r} is an object array, which needs pickle to load; "
                "tuidl loads .npz files with allow_pickle=False (save plain numeric arrays, "
                "and class_names as a string array)"
            ) from None
        raise TuidlError(f"{src}: array {key!r} cannot be read ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise TuidlError(f"{src}: array {key!r} is truncated or corrupt ({exc})") from None
