"""CIFAR-10 from its original Python files, loaded without trusting pickle.

The official ``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/`` with
``data_batch_1`` … ``data_batch_5`` (10,000 images each), ``test_batch`` and
``batches.meta``. Each batch is a Python-2, protocol-2 pickle of a dict with bytes keys:
``b"data"``, a (n, 3072) uint8 array storing every image as 1,024 red, 1,024 green, then
1,024 blue values (row-major 32×32), and ``b"labels"``, a list of n ints. The result matches
the classic ``load_CIFAR10``: ``reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)``, i.e.
(n, 32, 32, 3) uint8.

Safety: every file is unpickled by the restricted unpickler of
:mod:`tuidl.data.safe_pickle`, which resolves only the globals the real files name (numpy's
array reconstruction, ``ndarray`` and ``dtype``, plus a few plain containers) and refuses
every other before anything is called, so a tampered batch cannot run code.

Speed (folder only): a batch file is mapped read-only and parsed with its pixel string cut
out (:func:`tuidl.data.safe_pickle.load_cut`; the module's docstring says why that is as
safe and gives the same result as unpickling the whole file), so the transpose reads the
pixels straight from the page cache. The batch is accepted only as a dict whose data is the
cut-out array and whose labels are a list of plain ints, and then goes through the same
checks as any other; anything else falls back to unpickling the whole file, which gives
the same result or the same error.

Memory: the output is preallocated and filled batch by batch (two converter threads), in
memory from :mod:`tuidl.data.pages` (its pages mapped up front, no transparent huge
pages). A mapped batch is page cache, not a private copy; a batch that falls back is
unpickled into memory, and at most two such raw batches are held at once. From a
``.tar.gz`` the members are read in one streaming pass straight from the archive (nothing
is written to disk, so no extraction cache can go stale or fill a read-only location);
since the archive stores the batches in no particular order, the raw batches are kept
until the pass ends, which is the one extra copy of the data the loader allows itself.
``tuidl data fetch cifar10`` extracts once, and loading the folder is faster than
re-reading the archive every time. A batch file truncated by another process while it is
being loaded can end the process with SIGBUS (as with any memory map); replacing files is
safe.
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from tuidl.data.dataset import Dataset, checked
from tuidl.data.locations import default_data_dir
from tuidl.data.pages import empty_output, populate_write_works, prefault
from tuidl.data.safe_pickle import load_cut, safe_load
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
# rows per converter task: a 10,000-row batch is split between the two threads
_TASK_ROWS = 2500

FETCH_HINT = (
    f"run `tuidl data fetch cifar10`, or pass the path of the {FOLDER} folder, its parent, "
    f"or {ARCHIVE}"
)


@dataclass
class _Batch:
    source: str
    data: np.ndarray  # (n, 3072) uint8, planar channels
    labels: np.ndarray  # (n,) int64
    mapped: bool = False  # data is a view of the mapped file, not a copy in memory


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
            yield _load_batch(folder / name)

    with _Converter() as convert:
        X_train, y_train = _assemble(
            convert, batches(TRAIN_BATCHES), len(TRAIN_BATCHES), class_names
        )
        X_test, y_test = _assemble(convert, batches([TEST_BATCH]), 1, class_names)
    return checked("cifar10", str(folder), X_train, y_train, X_test, y_test, class_names)


def _load_file(path: Path):
    try:
        with open(path, "rb") as f:
            return safe_load(f, str(path))
    except OSError as exc:
        raise TuidlError(f"{path}: cannot open it ({exc.strerror or exc})") from None


def _load_batch(path: Path) -> _Batch:
    """One batch file: mapped with the pixels cut out of the parse, else unpickled whole."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            batch = _map_batch(f, source)
            if batch is not None:
                return batch
            f.seek(0)
            obj = safe_load(f, source)
    except OSError as exc:
        raise TuidlError(f"{path}: cannot open it ({exc.strerror or exc})") from None
    return _parse_batch(obj, source)


def _map_batch(f: IO[bytes], source: str) -> _Batch | None:
    """The batch with its data a read-only view of the mapped file, or None to unpickle it.

    See :mod:`tuidl.data.safe_pickle` for why this gives what unpickling the whole file
    gives.
    """
    try:
        cut = load_cut(f, _ROW)
        if cut is None or type(cut.obj) is not dict:
            return None
        obj = cut.obj
        key = b"data" if b"data" in obj else "data"
        data = cut.pixels(obj.get(key))
        labels = _get(obj, "labels")
        if data is None or type(labels) is not list or any(type(v) is not int for v in labels):
            return None
        batch = _parse_batch({**obj, key: data}, source)
        batch.mapped = True
        return batch
    except Exception:  # the whole-file unpickle gives the result or the precise error
        return None


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
    assert meta is not None  # a missing meta file was reported just above
    class_names = _parse_meta(*meta)

    def batches(names: Iterable[str]) -> Iterator[_Batch]:
        for name in names:
            yield found.pop(name)  # pop: each raw batch is freed once it is copied

    with _Converter() as convert:
        X_train, y_train = _assemble(
            convert, batches(TRAIN_BATCHES), len(TRAIN_BATCHES), class_names
        )
        X_test, y_test = _assemble(convert, batches([TEST_BATCH]), 1, class_names)
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


class _Converter:
    """Fills outputs from planar batches on two threads while the caller reads the batches.

    numpy's copies release the GIL, so both threads run on their own cores; each batch is
    split into row ranges so that one batch keeps both busy. The pages of a fresh output
    are mapped first, on the same threads (see :mod:`tuidl.data.pages`). Leaving the
    ``with`` block waits for every task (and on an error drops the ones not started).
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cifar10")
        self._pending: list[Future] = []

    def __enter__(self) -> _Converter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.wait()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _split(self, fn, *arrays: np.ndarray) -> list[Future]:
        futures = [
            self._pool.submit(fn, *(a[start : start + _TASK_ROWS] for a in arrays))
            for start in range(0, arrays[0].shape[0], _TASK_ROWS)
        ]
        self._pending += futures
        return futures

    def prefault(self, out: np.ndarray) -> None:
        if populate_write_works():
            self._split(prefault, out)

    def submit(self, data: np.ndarray, out: np.ndarray) -> list[Future]:
        return self._split(_planar_to_hwc, data, out)

    def wait(self, futures: list[Future] | None = None) -> None:
        for future in self._pending if futures is None else futures:
            future.result()
        if futures is None:
            self._pending = []


def _assemble(
    convert: _Converter, batches: Iterator[_Batch], count: int, class_names: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Copy ``count`` batches into one preallocated (N, 32, 32, 3) array, in order.

    The output is sized from the first batch (the real batches are equal) and the copies
    run on ``convert``'s threads: the array is complete once ``convert`` has been waited
    for. A batch held in memory is converted while the next one is read, and the one before
    it is waited for then, so no more than two such raw batches are held; a mapped batch
    holds no memory of its own and is not waited for. Unequal batches only cost a regrow.
    """
    out: np.ndarray | None = None
    filled = 0
    labels: list[np.ndarray] = []
    previous: list[Future] = []
    for batch in batches:
        _check_labels(batch, len(class_names))
        n = batch.data.shape[0]
        if out is None:
            out = empty_output((n * count, *IMAGE_SHAPE))
            convert.prefault(out)
        elif filled + n > out.shape[0]:
            convert.wait()
            grown = empty_output((filled + n * (count - len(labels)), *IMAGE_SHAPE))
            grown[:filled] = out[:filled]
            out = grown
        current = convert.submit(batch.data, out[filled : filled + n])
        convert.wait(previous)
        previous = [] if batch.mapped else current
        filled += n
        labels.append(batch.labels)
        del batch
    assert out is not None
    if filled < out.shape[0]:
        convert.wait()
        out = out[:filled].copy()
    return out, np.concatenate(labels)


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
