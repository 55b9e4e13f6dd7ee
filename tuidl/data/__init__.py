"""Datasets from files: the embedded digits, CIFAR-10, a user's .npz, and fetching archives.

Layer 1, beside the engine: numpy and the standard library only (no pluggy, no views).
Every loader returns a :class:`Dataset` checked by :func:`checked`; every problem with a
file raises :class:`tuidl.TuidlError` naming the file and what is wrong. Downloading lives
in :mod:`tuidl.data.fetch` (imported on demand, it pulls in urllib).
"""

from tuidl.data.cifar10 import load_cifar10
from tuidl.data.dataset import Dataset, checked
from tuidl.data.digits import load_digits
from tuidl.data.locations import default_data_dir
from tuidl.data.npz import load_npz

__all__ = ["Dataset", "checked", "default_data_dir", "load_cifar10", "load_digits", "load_npz"]
