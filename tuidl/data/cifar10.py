"""CIFAR-10 from its original Python files, loaded without trusting pickle.

The official ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/`` with
``data_batch_1`` … ``data_batch_5`` (10,000 images each), ``test_batch`` and
``batches.meta``. Each batch is a Python-2, protocol-2 pickle of a dict with bytes keys:
``b"data"``, a (n, 3072) uint8 array storing every image as 1,024 red, 1,024 green, then
1,024 blue values (row-major 32×32), and ``b"labels"``, a list of n ints. The result matches
the classic ``load_CIFAR10``: ``reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)``, i.e.
(n, 32, 32, 3) uint8.

Safety: the files are unpickled by :class:`SafeUnpickler`, which resolves only numpy's
array reconstruction, ``ndarray`` and ``dtype`` (what the real files name) and refuses
every other global before anything is called, so a tampered batch cannot run code.

Memory: the output is preallocated and filled batch by batch, so a folder load holds the
result plus at most two raw batches. From a ``.tar.gz`` the members are read in one
streaming pass straight from the archive (nothing is written to disk, so no extraction
cache can go stale or fill a read-only location); since the archive stores the batches in
no particular order, the raw batches are kept until the pass ends, which is the one extra
copy of the data the loader allows itself. ``tuidl data fetch cifar10`` extracts once, and
loading the folder is faster than re-reading the archive every time.
"""

from __future__ import annotations

import mmap
import pickle
import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from tuidl.data.dataset import Dataset, checked
from tuidl.data.locations import default_data_dir
from tuidl.errors import TuidlError

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META = "batches.meta"
ALL_FILES = (*TRAIN_BATCHES, TEST_BATCH, META)
IMAGE_SHAPE = (32, 32, 3)
_PIXELS = 32 * 32
_ROW = 3 * _PIXELS
# rows converted per step: a few hundred KB per channel slice stays in cache
_CONVERT_CHUNK = 512

FETCH_HINT = (
    f"run `tuidl data fetch cifar10`, or pass the path of the {FOLDER} folder, its parent, "
    f"or {ARCHIVE}"
)


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list (``module.name`` in ``args[0]``)."""


def _latin1_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """How Python 3 spells ``bytes`` in protocol 2 (``_codecs.encode(text, "latin1")``):
    allowed so a batch re-pickled by Python 3 loads, but only for that one codec."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise RefusedGlobal(f"_codecs.encode with codec {encoding!r}")
    return text.encode("latin-1")


# The real files name exactly these globals. numpy 2 renamed numpy.core to numpy._core; both
# spellings resolve to the function numpy itself uses to unpickle arrays, taken from
# ndarray.__reduce__ so that the deprecated numpy.core module is never imported.
_RECONSTRUCT = np.zeros(0).__reduce__()[0]
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    # plain containers: protocol 2 spells sets as a call of builtins.set / frozenset
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1_bytes,
}


class SafeUnpickler(pickle.Unpickler):
    """An unpickler that only builds numpy arrays, dtypes and plain containers.

    Every global a pickle refers to goes through :meth:`find_class`; anything not in the
    allow-list raises :class:`RefusedGlobal` before it is imported or called. Extension
    codes and persistent ids also end up here or are unsupported, so nothing else can run.
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"{module}.{name}") from None


def safe_load(fileobj: IO[bytes], source: str):
    """Unpickle one CIFAR-10 file with :class:`SafeUnpickler`; raise TuidlError on any problem.

    Python-2 ``str`` values come back as ``bytes`` (``encoding="bytes"``, like the classic
    loader), so dict keys are ``b"data"`` and so on.
    """
    try:
        return SafeUnpickler(fileobj, encoding="bytes").load()
    except RefusedGlobal as exc:
        raise TuidlError(
            f"{source}: refused to load: the pickle asks for {exc.args[0]}, which a CIFAR-10 "
            "file never contains (only numpy arrays, lists and dicts); nothing in it was run. "
            "The file is damaged or was tampered with; fetch it again."
        ) from None
    except (EOFError, pickle.UnpicklingError) as exc:
        raise TuidlError(
            f"{source}: truncated or corrupt pickle ({exc or type(exc).__name__}); fetch it again"
        ) from None
    except (tarfile.TarError, zlib.error, OSError) as exc:
        raise TuidlError(f"{source}: cannot read it ({exc})") from None
    except Exception as exc:  # ndarray.__setstate__ and friends on inconsistent data
        raise TuidlError(f"{source}: corrupt CIFAR-10 file ({type(exc).__name__}: {exc})") from None


@dataclass
class _Batch:
    source: str
    data: np.ndarray  # (n, 3072) uint8, planar channels
    labels: np.ndarray  # (n,) int64


def load_cifar10(path: str | Path | None = None) -> Dataset:
    """Load CIFAR-10 from the batches folder, its parent, or the ``.tar.gz`` itself.

    ``path=None`` looks in :func:`tuidl.data.locations.default_data_dir` (``data/`` in a
    checkout). Returns X_train (50000, 32, 32, 3) uint8, y_train int64, the official test
    part as X_test/y_test, and the class names from ``batches.meta``.

    Every problem raises :class:`TuidlError` naming the file: a missing path, missing
    batches, a truncated or tampered pickle, wrong keys, labels out of range, a label count
    that disagrees with the images, or an empty batch.
    """
    kind, where = _locate(path)
    if kind == "folder":
        return _load_folder(where)
    return _load_archive(where)


def _locate(path: str | Path | None) -> tuple[str, Path]:
    if path is None:
        home = default_data_dir()
        if (home / FOLDER).is_dir():
            return "folder", home / FOLDER
        if (home / ARCHIVE).is_file():
            return "archive", home / ARCHIVE
        raise TuidlError(f"CIFAR-10 is not in {home}; {FETCH_HINT}")
    p = Path(path).expanduser()
    if not p.exists():
        raise TuidlError(f"{p}: no such file or folder; {FETCH_HINT}")
    if p.is_file():
        if p.name.endswith((".tar.gz", ".tgz", ".tar")):
            return "archive", p
        raise TuidlError(f"{p}: is a file but not a .tar.gz archive; {FETCH_HINT}")
    if any((p / name).exists() for name in ALL_FILES):
        return "folder", p
    if (p / FOLDER).is_dir():
        return "folder", p / FOLDER
    if (p / ARCHIVE).is_file():
        return "archive", p / ARCHIVE
    raise TuidlError(
        f"{p}: holds no CIFAR-10 batches, no {FOLDER} folder and no {ARCHIVE}; {FETCH_HINT}"
    )


def _load_folder(folder: Path) -> Dataset:
    missing = [name for name in ALL_FILES if not (folder / name).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir())
        raise TuidlError(
            f"{folder}: missing {', '.join(missing)} (it has: {', '.join(present) or 'nothing'}); "
            f"a complete {FOLDER} folder has {', '.join(ALL_FILES)}; {FETCH_HINT}"
        )
    class_names = _parse_meta(_load_file(folder / META), str(folder / META))

    def batches(names: Iterable[str]) -> Iterator[_Batch]:
        for name in names:
            source = str(folder / name)
            yield _parse_batch(_load_file(folder / name), source)

    X_train, y_train = _assemble(batches(TRAIN_BATCHES), len(TRAIN_BATCHES), class_names)
    X_test, y_test = _assemble(batches([TEST_BATCH]), 1, class_names)
    return checked("cifar10", str(folder), X_train, y_train, X_test, y_test, class_names)


def _load_file(path: Path):
    try:
        with open(path, "rb") as f:
            return safe_load(f, str(path))
    except OSError as exc:
        raise TuidlError(f"{path}: cannot open it ({exc.strerror or exc})") from None


def _load_archive(archive: Path) -> Dataset:
    found: dict[str, _Batch] = {}
    meta = None
    try:
        # "r|gz" streams: one sequential gzip pass, where random access would re-decompress
        # from the start for every backward seek
        with tarfile.open(archive, "r|gz" if archive.name.endswith("gz") else "r|") as tar:
            for member in tar:
                name = posixpath.basename(member.name)
                if name not in ALL_FILES or not member.isfile():
                    continue
                source = f"{archive}:{member.name}"
                if name in found or (name == META and meta is not None):
                    raise TuidlError(f"{archive}: holds {name} twice; expected one {FOLDER}")
                fileobj = tar.extractfile(member)
                if fileobj is None:  # pragma: no cover - isfile() members always have data
                    continue
                obj = safe_load(fileobj, source)
                if name == META:
                    meta = (obj, source)
                else:
                    found[name] = _parse_batch(obj, source)
    except TuidlError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise TuidlError(f"{archive}: truncated or corrupt archive ({exc}); {FETCH_HINT}") from None
    missing = [n for n in ALL_FILES if n not in found and not (n == META and meta)]
    if missing:
        raise TuidlError(
            f"{archive}: the archive lacks {', '.join(missing)}; a complete CIFAR-10 archive "
            f"has {', '.join(ALL_FILES)} in {FOLDER}/"
        )
    class_names = _parse_meta(*meta)

    def batches(names: Iterable[str]) -> Iterator[_Batch]:
        for name in names:
            yield found.pop(name)  # pop: each raw batch is freed once it is copied

    X_train, y_train = _assemble(batches(TRAIN_BATCHES), len(TRAIN_BATCHES), class_names)
    X_test, y_test = _assemble(batches([TEST_BATCH]), 1, class_names)
    return checked("cifar10", str(archive), X_train, y_train, X_test, y_test, class_names)


def _get(d: dict, key: str):
    """``d[b"key"]`` as the real files spell it, or ``d["key"]`` from a Python-3 re-pickle."""
    if key.encode() in d:
        return d[key.encode()]
    return d.get(key)


def _keys(d: dict) -> str:
    return ", ".join(repr(k.decode() if isinstance(k, bytes) else k) for k in d) or "none"


def _parse_meta(obj, source: str) -> tuple[str, ...]:
    if not isinstance(obj, dict):
        raise TuidlError(f"{source}: holds a {type(obj).__name__}; expected a dict")
    names = _get(obj, "label_names")
    if not isinstance(names, list) or not names:
        raise TuidlError(
            f"{source}: wrong keys: expected 'label_names' (a list of class names); "
            f"it has {_keys(obj)}"
        )
    return tuple(n.decode("latin-1") if isinstance(n, bytes) else str(n) for n in names)


def _parse_batch(obj, source: str) -> _Batch:
    if not isinstance(obj, dict):
        raise TuidlError(f"{source}: holds a {type(obj).__name__}; a CIFAR-10 batch is a dict")
    data, labels = _get(obj, "data"), _get(obj, "labels")
    if data is None or labels is None:
        raise TuidlError(
            f"{source}: wrong keys: a CIFAR-10 batch has 'data' and 'labels'; it has {_keys(obj)}"
        )
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        what = (
            f"{data.dtype} array of shape {data.shape}"
            if isinstance(data, np.ndarray)
            else (type(data).__name__)
        )
        raise TuidlError(f"{source}: 'data' is a {what}; expected a (n, {_ROW}) uint8 array")
    if data.shape[1] != _ROW:
        raise TuidlError(
            f"{source}: 'data' rows have {data.shape[1]} values; a 32x32 RGB image has {_ROW}"
        )
    if data.shape[0] == 0:
        raise TuidlError(f"{source}: the batch is empty (0 images)")
    try:
        y = np.asarray(labels)
    except Exception:
        y = np.asarray([], dtype=object)
    if y.ndim != 1 or y.dtype.kind not in "ui":
        raise TuidlError(f"{source}: 'labels' must be a list of ints; got {type(labels).__name__}")
    if y.shape[0] != data.shape[0]:
        raise TuidlError(
            f"{source}: holds {data.shape[0]} images but {y.shape[0]} labels; "
            "they must match one to one"
        )
    return _Batch(source, data, y.astype(np.int64, copy=False))


def _check_labels(batch: _Batch, num_classes: int) -> None:
    lo, hi = int(batch.labels.min()), int(batch.labels.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise TuidlError(
            f"{batch.source}: label {bad} at row {int(np.argmax(batch.labels == bad))} is out "
            f"of range; batches.meta names {num_classes} classes, so labels are "
            f"0..{num_classes - 1}"
        )


def _assemble(
    batches: Iterator[_Batch], count: int, class_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Copy ``count`` batches into one preallocated (N, 32, 32, 3) array, in order.

    The output is sized from the first batch (the real batches are equal), and a worker
    thread converts batch k while the next one is read (numpy copies release the GIL), so
    the transpose costs little on top of reading. Unequal batches only cost a regrow.
    """
    out: np.ndarray | None = None
    filled = 0
    labels: list[np.ndarray] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for batch in batches:
            _check_labels(batch, len(class_names))
            n = batch.data.shape[0]
            if pending is not None:
                pending.result()
                pending = None
            if out is None:
                out = _populated_empty((n * count, *IMAGE_SHAPE))
            elif filled + n > out.shape[0]:
                grown = np.empty((filled + n * (count - len(labels)), *IMAGE_SHAPE), np.uint8)
                grown[:filled] = out[:filled]
                out = grown
            pending = pool.submit(_planar_to_hwc, batch.data, out[filled : filled + n])
            filled += n
            labels.append(batch.labels)
            del batch
        if pending is not None:
            pending.result()
    assert out is not None
    if filled < out.shape[0]:
        out = out[:filled].copy()
    return out, np.concatenate(labels)


def _populated_empty(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialized uint8 array whose pages the kernel maps up front (Linux).

    Writing into a fresh 150 MB ``np.empty`` faults its pages in one at a time, which on
    some VMs costs more than reading all the batches (0.6 s vs 0.15 s measured); an
    anonymous mapping with MAP_POPULATE maps them in one kernel call. Elsewhere: np.empty.
    """
    size = int(np.prod(shape))
    flag = getattr(mmap, "MAP_POPULATE", None)
    if flag is None or size == 0:
        return np.empty(shape, dtype=np.uint8)
    try:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flag)
    except (OSError, ValueError):
        return np.empty(shape, dtype=np.uint8)
    return np.frombuffer(buf, dtype=np.uint8).reshape(shape)


def _planar_to_hwc(data: np.ndarray, out: np.ndarray) -> None:
    """Write (n, 3072) planar rows into ``out`` (n, 32, 32, 3), the classic transpose.

    One channel at a time: each copy reads a contiguous run of 1,024 values, which is about
    three times faster than assigning ``data.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)``.
    """
    n = data.shape[0]
    flat = out.reshape(n, _PIXELS, 3)
    for start in range(0, n, _CONVERT_CHUNK):
        stop = start + _CONVERT_CHUNK
        for c in range(3):
            flat[start:stop, :, c] = data[start:stop, c * _PIXELS : (c + 1) * _PIXELS]
