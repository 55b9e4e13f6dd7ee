"""A fold's features: the preprocessing chain fitted on the fold's training rows and
applied block by block, and the shared ``.npy`` files worker processes build once per
fold (see :mod:`tuidl.experiment.work`, whose :class:`~tuidl.experiment.work.Worker` uses
these).

How it fails: a full disk while the fold's files are written is an ``OSError`` (ENOSPC)
from the allocation, never a SIGBUS (the files' blocks are reserved before they are
mapped); :func:`storage_error` turns it into a :class:`~tuidl.errors.StorageError`, which
stops the run as interrupted instead of failing the trial.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from tuidl.errors import StorageError
from tuidl.experiment.spec import Spec


def build_chain(spec: Spec, registry: Any) -> Any:
    """The spec's preprocessing steps as an engine :class:`~tuidl.engine.preprocess.Chain`
    (which checks the order, e.g. whiten right after pca, and transforms in place the
    arrays it created itself)."""
    from tuidl.engine.preprocess import Chain

    steps = [registry.create("preprocessor", p.name, p.params) for p in spec.preprocess]
    return Chain(steps)


TRANSFORM_BLOCK = 4096  # rows per chain.transform call when building a fold


def transform_blocks(chain: Any, X: np.ndarray, rows: np.ndarray | None, allocate):
    """``chain.transform(X[rows])`` in blocks of rows, written into
    ``allocate(shape, dtype)``: the output exists once and the temporaries stay one block
    in size. ``rows`` ``None`` means every row of ``X``."""
    n = len(X) if rows is None else len(rows)

    def block(i: int) -> np.ndarray:
        j = i + TRANSFORM_BLOCK
        return chain.transform(X[i:j] if rows is None else X[rows[i:j]])

    first = np.asarray(block(0))
    out = allocate((n, *first.shape[1:]), first.dtype)
    out[: len(first)] = first
    del first
    for i in range(TRANSFORM_BLOCK, n, TRANSFORM_BLOCK):
        out[i : i + TRANSFORM_BLOCK] = block(i)
    return out


def file_allocator(folder: Path, tag: str):
    """``allocate(part, shape, dtype)`` for :meth:`~tuidl.experiment.work.Worker._build`:
    ``folder/TAG.PART.npy`` from :func:`allocate_npy`."""

    def allocate(part: str, shape: tuple, dtype: Any) -> np.ndarray:
        return allocate_npy(folder / f"{tag}.{part}.npy", shape, dtype)

    return allocate


def allocate_npy(path: Path, shape: tuple, dtype: Any) -> np.memmap:
    """A new ``.npy`` file mapped for writing, its blocks reserved up front
    (``posix_fallocate``): a full disk is an ``OSError`` (ENOSPC) here, not a SIGBUS that
    kills the process when a page of the sparse file is first written, nor numpy's short
    write without an errno."""
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    if hasattr(os, "posix_fallocate"):
        with open(path, "r+b") as fh:
            try:
                os.posix_fallocate(fh.fileno(), 0, os.fstat(fh.fileno()).st_size)
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                    raise
                # a filesystem without it: pages are allocated as they are written
    return arr


def storage_error(exc: BaseException, data_dir: str | None) -> StorageError:
    """A :class:`StorageError` for a failed write: the store's own errors say which file;
    an OSError here is the run's temporary folder (the fold features)."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        where = f" in {Path(data_dir).parent}" if data_dir else ""  # the run's folder's disk
        return StorageError(
            f"cannot write the fold features{where} ({exc.strerror or exc}); free space "
            "there (or set TMPDIR to a bigger disk)"
        )
    return StorageError(f"a write failed ({exc}); free space on the disk")


def fold_tag(spec: Spec, fold: int) -> str:
    """The name of a shared fold's files: one per (preprocessing chain, fold)."""
    import hashlib

    return hashlib.sha1(f"{spec.preprocess_key}|{fold}".encode()).hexdigest()[:16]


def drop_fold(data_dir: str | Path, tag: str) -> None:
    """Delete a shared fold's files (the executor, once no unit needs them). Waits for the
    fold's lock, so a build in progress finishes first; a worker still mapping the files
    keeps its pages until it lets go (see :meth:`Worker.release`)."""
    import fcntl

    folder = Path(data_dir) / "folds"
    if not (folder / f"{tag}.lock").exists():
        return
    with open(folder / f"{tag}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            (folder / f"{tag}.done").unlink(missing_ok=True)
            for part in ("train", "eval"):
                (folder / f"{tag}.{part}.npy").unlink(missing_ok=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def feature_bytes_per_row(spec: Spec, registry: Any, X: np.ndarray) -> int:
    """An estimate, before any data flows, of one row's size after the spec's chain: the
    chain's ``output_shape`` (the input row's size where a step only knows it after
    fitting), in the dtype the steps declare (``dtype``), else float32 for integer input
    (what the built-in steps cast pixels to) and the input's float dtype otherwise."""
    row = tuple(X.shape[1:])
    dtype = np.dtype(X.dtype)
    try:
        chain = build_chain(spec, registry)
        shape = chain.output_shapes(row)[-1][1] if chain.steps else row
        for step in chain.steps:
            declared = getattr(step, "dtype", None)
            if declared is not None:
                dtype = np.dtype(declared)
            elif dtype.kind != "f":
                dtype = np.dtype(np.float32)
    except Exception:
        shape, dtype = row, np.dtype(np.float64)
    if None in shape:
        shape = row
    return int(math.prod(shape)) * dtype.itemsize


def take(X: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """Rows of ``X`` (all of them, uncopied, for ``None``). The chain never writes to its
    input, so the split's arrays (views or memory maps) are safe to pass as they are."""
    return X if rows is None else np.asarray(X[rows])
