"""Fixtures for the data tests."""

from __future__ import annotations

import pytest
from cifar_fakes import make_fake_cifar


@pytest.fixture
def fake_cifar(tmp_path) -> dict:
    """A fake ``parent/cifar-10-batches-py`` folder: 5 x 12 training rows, 7 test rows."""
    return make_fake_cifar(tmp_path / "parent")
