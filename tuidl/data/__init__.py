"""Datasets from files: the embedded digits, CIFAR-10, a user's .npz, and fetching archives.

Layer 1, beside the engine: numpy and the standard library only (no pluggy, no views).
Every loader returns a :class:`Dataset` checked by :func:`checked`; every problem with a
file raises :class:`tuidl.TuidlError` naming the file and what is wrong. Downloading lives
in :mod:`tuidl.data.fetch` (imported on demand, it pulls in urllib).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Dataset", "checked", "default_data_dir", "load_cifar10", "load_digits", "load_npz"]

# Imported when first asked for (PEP 562): commands that only need tuidl.data.locations
# (`tuidl runs`, the run store) then start without importing numpy, about 0.2 s
_HOMES = {
    "load_cifar10": "tuidl.data.cifar10",
    "Dataset": "tuidl.data.dataset",
    "checked": "tuidl.data.dataset",
    "load_digits": "tuidl.data.digits",
    "default_data_dir": "tuidl.data.locations",
    "load_npz": "tuidl.data.npz",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'tuidl.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
