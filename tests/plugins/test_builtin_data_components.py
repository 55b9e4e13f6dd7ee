"""The built-in datasets and preprocessors, as the registry sees them."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.errors import TuidlError
from tuidl.plugins.manager import load_registry


@pytest.fixture(scope="module")
def registry():
    return load_registry(entry_points=False, environ={})


def test_plugins_load(registry):
    for name in ("datasets", "preprocessors"):
        info = registry.plugin(name)
        assert info.status == "ok", info.error


def test_dataset_components(registry):
    assert {"digits", "cifar10", "npz"} <= set(registry.names("dataset"))
    ds = registry.create("dataset", "digits")
    assert ds.X_train.shape == (1797, 8, 8)
    path = registry.get("dataset", "cifar10").param("path")
    assert path.nullable and path.default is None


def test_npz_needs_a_path(registry, tmp_path):
    with pytest.raises(TuidlError, match=r"parameter 'path' is required"):
        registry.create("dataset", "npz")
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2), np.float32), y=[0, 1, 0])
    assert registry.create("dataset", "npz", {"path": str(p)}).X_train.shape == (3, 2)


def test_cifar10_error_says_how_to_get_it(registry, tmp_path):
    with pytest.raises(TuidlError, match=r"tuidl data fetch cifar10"):
        registry.create("dataset", "cifar10", {"path": str(tmp_path / "missing")})


def test_preprocessor_components_and_schemas(registry):
    names = ("reshape", "mean_subtraction", "normalize", "pca", "whiten", "bias_trick")
    assert set(names) <= set(registry.names("preprocessor"))
    pca = registry.get("preprocessor", "pca")
    assert pca.defaults() == {"k": 100, "variance": None, "method": "auto"}
    assert pca.param("method").choices == ("auto", "eigh", "svd")
    assert registry.get("preprocessor", "whiten").defaults() == {"eps": 1e-5}
    with pytest.raises(TuidlError, match=r"parameter 'k' got 0"):
        registry.create("preprocessor", "pca", {"k": 0})
    with pytest.raises(TuidlError, match=r"parameter 'mode' got 'median'"):
        registry.create("preprocessor", "mean_subtraction", {"mode": "median"})


def test_registry_steps_run_the_recipe(registry):
    X = np.random.default_rng(0).integers(0, 17, (200, 8, 8)).astype(np.uint8)
    steps = [
        registry.create("preprocessor", "reshape"),
        registry.create("preprocessor", "mean_subtraction"),
        registry.create("preprocessor", "pca", {"k": 10}),
        registry.create("preprocessor", "whiten"),
        registry.create("preprocessor", "bias_trick"),
    ]
    shape = (8, 8)
    for step in steps:
        shape = step.output_shape(shape)
    assert shape == (11,)
    out = X
    for step in steps:  # the runner's own loop: fit, then transform, step by step
        out = step.fit(out).transform(out)
    assert out.shape == (200, 11) and out.dtype == np.float32
