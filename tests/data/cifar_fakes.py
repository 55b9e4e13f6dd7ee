"""Fake CIFAR-10 files in the real format (Python-2 protocol-2 pickles), for the data tests."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

CIFAR_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer"]
CIFAR_NAMES += [b"dog", b"frog", b"horse", b"ship", b"truck"]


class Py2Pickler(pickle._Pickler):
    """Writes pickles as Python 2 did for the real files: protocol 2, ``bytes`` as py2 ``str``
    (BINSTRING opcodes) and numpy's reconstruct function as ``numpy.core.multiarray``.

    Python 3's own protocol 2 spells bytes as a call of ``_codecs.encode`` instead.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", "") == "_reconstruct" and self.numpy1_names:
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch[type(np.zeros(0).__reduce__()[0])] = save_global

    numpy1_names = True


def py2_dumps(obj, numpy1_names: bool = True) -> bytes:
    buf = io.BytesIO()
    pickler = Py2Pickler(buf, 2)
    pickler.numpy1_names = numpy1_names
    pickler.dump(obj)
    return buf.getvalue()


def cifar_batch(data: np.ndarray, labels, numpy1_names: bool = True) -> bytes:
    """A batch pickled like the real files: Python-2 protocol 2, bytes keys."""
    batch = {b"batch_label": b"fake batch", b"labels": [int(v) for v in labels], b"data": data}
    return py2_dumps(batch, numpy1_names)


def make_fake_cifar(root: Path, n: int = 12, n_test: int = 7, seed: int = 0) -> dict:
    """Write ``root/cifar-10-batches-py`` with 5 train batches of ``n`` rows and a test batch.

    Returns the raw (planar) arrays and labels so tests can check the transpose.
    """
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    raw, labels = [], []
    for i in range(1, 6):
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, n).tolist()
        (folder / f"data_batch_{i}").write_bytes(cifar_batch(data, y))
        raw.append(data)
        labels += y
    test = rng.integers(0, 256, (n_test, 3072), dtype=np.uint8)
    y_test = rng.integers(0, 10, n_test).tolist()
    (folder / "test_batch").write_bytes(cifar_batch(test, y_test))
    meta = {b"num_cases_per_batch": n, b"label_names": CIFAR_NAMES, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(py2_dumps(meta))
    (folder / "readme.html").write_text("fake")
    return {
        "folder": folder,
        "raw": np.concatenate(raw),
        "labels": np.array(labels),
        "raw_test": test,
        "labels_test": np.array(y_test),
    }


def make_tar(folder: Path, archive: Path, order: list[str] | None = None) -> Path:
    """Pack ``folder`` as ``archive`` (.tar.gz) with members under ``folder.name/``."""
    names = order or sorted(p.name for p in folder.iterdir())
    with tarfile.open(archive, "w:gz") as tar:
        for name in names:
            tar.add(folder / name, arcname=f"{folder.name}/{name}")
    return archive


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A .tar.gz in memory from hand-made members (for hostile archives)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()
