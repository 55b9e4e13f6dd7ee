"""Shared fixtures: the real CIFAR-10 from ../shared/datasets when it is there."""

from __future__ import annotations

from pathlib import Path

import pytest

# ../shared/datasets beside the checkout (CI clones elsewhere with shared/ next to it)
REAL_CIFAR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar-10-python.tar.gz"


@pytest.fixture(scope="session")
def real_cifar():
    """The real CIFAR-10 from ../shared/datasets, loaded once per session (skip if absent)."""
    if not REAL_CIFAR.is_file():
        pytest.skip(f"real CIFAR-10 not found at {REAL_CIFAR}")
    from tuidl.data.cifar10 import load_cifar10

    return load_cifar10(REAL_CIFAR)
