"""Shared test plugins and spec builders for the experiment tests.

``BLOBS`` is a test plugin with a small synthetic dataset (Gaussian blobs: fast, and easy
enough that a linear model learns it) and a preprocessing step that counts its fits.
"""

from __future__ import annotations

import numpy as np

from tuidl.data.dataset import checked
from tuidl.experiment.spec import Spec
from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.manager import load_registry


def blobs(n: int = 240, classes: int = 3, dim: int = 6, seed: int = 0, test: int = 60):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, dim))
    y = rng.integers(0, classes, n + test)
    X = (centers[y] + rng.normal(0, 1, (n + test, dim))).astype(np.float32)
    return checked(
        "blobs",
        "built-in",
        X[:n],
        y[:n],
        X[n:],
        y[n:],
        [f"c{i}" for i in range(classes)],
    )


class CountingStep:
    """Subtracts the training mean and counts fits (module-level, so tests can reset it)."""

    fits = 0

    def fit(self, X):
        CountingStep.fits += 1
        self.mean = np.asarray(X, dtype=np.float64).mean(axis=0).astype(np.float32)
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=np.float32) - self.mean).reshape(len(X), -1)

    def output_shape(self, shape):
        return tuple(shape)


class BlobsPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(
            Component(
                "dataset",
                "blobs",
                "Gaussian blobs for tests",
                lambda n, seed: blobs(n=n, seed=seed),
                (
                    Param("n", "int", 240, "rows", min=1),
                    Param("seed", "int", 0, "seed"),
                ),
            )
        )

    @hookimpl
    def register_preprocessors(self, register):
        register(Component("preprocessor", "counting", "counts its fits", lambda: CountingStep()))


def registry():
    return load_registry(extra_plugins=[("blobs", BlobsPlugin())], entry_points=False)


def blobs_spec(**over) -> Spec:
    """A small learnable spec on blobs: linear softmax, 3 folds, a 2 × 2 lr × reg grid."""
    data = {
        "seed": 0,
        "dataset": {"name": "blobs"},
        "split": {"num_training": 180, "num_validation": 30, "num_test": 60},
        "preprocess": [{"name": "counting"}],
        "model": {"name": "linear", "reg": 1e-3},
        "optimizer": {"name": "sgd", "lr": 1e-2},
        "training": {"epochs": 3, "batch_size": 20},
        "cv": {
            "method": "kfold",
            "folds": 3,
            "grid": {"optimizer.lr": [1e-2, 1e-1], "model.reg": [1e-4, 1e-2]},
        },
    }
    for key, value in over.items():
        from tuidl.experiment.spec import set_path

        set_path(data, key.replace("__", "."), value)
    return Spec.from_dict(data)
