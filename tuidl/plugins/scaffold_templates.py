"""The files ``tuidl plugins new`` writes, as :class:`string.Template` strings.

Placeholders: ``$dist`` (distribution, ``tuidl-focal``), ``$package`` (``tuidl_focal``),
``$name`` (entry-point, plugin and component name, ``focal``), ``$kind``, ``$hook``
(``register_losses``), ``$title``, ``$tuidl_version`` and ``$testing_imports`` (what the
kind's tests import from tuidl.testing). ``$`` is the only special character,
so the Python below is written as is (``$$`` would be a literal dollar sign).

Each kind's example is a small, working, textbook component: a real starting point, not a
stub, and one whose contract tests (``tuidl plugins check``) pass.
"""

from tuidl.plugins.scaffold_searcher import SEARCHER, SEARCHER_TESTS

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$title: a $kind for tuidl"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["tuidl>=$tuidl_version", "numpy>=1.26"]
keywords = ["tuidl", "tuidl-plugin"]
classifiers = [
    "Programming Language :: Python :: 3",
    "Intended Audience :: Science/Research",
    "Topic :: Scientific/Engineering :: Artificial Intelligence",
]

[project.optional-dependencies]
test = ["pytest"]

# This is what makes it a tuidl plugin: tuidl loads every entry point in group "tuidl".
# The left side, "$name", is the PLUGIN name (TUIDL_LOAD_PLUGINS, `tuidl plugins check`);
# the component's own name is the one given to Component(...) in plugin.py.
[project.entry-points.tuidl]
$name = "$package.plugin"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP"]
"""

INIT = '''\
"""$dist: $title, a $kind for tuidl.

The component and the hook that registers it are in ``plugin.py``.
"""

__version__ = "0.1.0"
'''

README = """\
# $dist

$title: a $kind for tuidl (a terminal workbench for classic neural-network experiments),
written as a tuidl plugin.

## Install and test

```bash
pip install -e .
pytest
tuidl plugins | grep $name        # listed with its parameters
tuidl plugins check $name         # tuidl's own contract tests for it
```

## Use

In a spec, `$kind.name = "$name"`; its parameters are listed by `tuidl plugins` and shown in
the workbench's forms. The code is in `src/$package/plugin.py`: the component, its parameter
schema, and the `$hook` hook that registers it. See tuidl's `docs/plugins.md` for the contract
of a $kind (typed in `tuidl.api`) and for what users see if the plugin fails.

Two names: `$name` in `[project.entry-points.tuidl]` is the **plugin** name (used by
`TUIDL_LOAD_PLUGINS`, `TUIDL_DISABLE_PLUGINS` and `tuidl.testing.load_plugin`); the name given
to `Component(...)` is the **component** name a spec uses. Here they are the same; adding a
second component to this plugin gives it a name of its own.

The tests use `tuidl.testing`: `load_plugin` (through the entry point), `assert_contract`
(tuidl's contract checks across the params' range) and `run_tiny` (a real, small training run
with the component plugged in).
"""

TEST_HEADER = '''\
"""Tests for $dist, through tuidl's plugin discovery.

Run them after `pip install -e .`: the plugin is found through its entry point, as users get it.
"""

import numpy as np
import pytest
from tuidl.testing import $testing_imports

# The plugin (entry-point) name and the component's name happen to be the same here.
PLUGIN, KIND, NAME = "$name", "$kind", "$name"


@pytest.fixture(scope="module")
def registry():
    # tuidl's built-ins plus only this plugin, found through its entry point
    return load_plugin(PLUGIN)


@pytest.fixture
def component(registry):
    return registry.get(KIND, NAME)


def test_registered_through_the_entry_point(registry):
    info = registry.plugin(PLUGIN)
    assert info.source == "entry point"
    assert f"{KIND} {NAME}" in info.components


def test_tuidls_contract_checks_pass(component):
    # defaults, every bound and choice, and seeded random draws of the params
    assert_contract(component)
'''

# -- one example per kind: (plugin module, kind-specific tests) -----------------------------

LOSS = '''\
"""$title: softmax cross-entropy with label smoothing, registered as loss "$name".

The target puts ``1 - smoothing`` on the true class and spreads ``smoothing`` evenly over
all classes, which keeps the scores from growing without bound on separable data.
"""

import numpy as np
from tuidl.plugins import Component, Param, hookimpl


class SmoothedSoftmaxLoss:
    """``loss(scores, y) -> (loss, dscores)``: mean over rows of ``-sum_j q_j log p_j``.

    ``scores`` is (N, K), ``y`` (N,) int labels; ``dscores = (p - q) / N`` has the dtype of
    ``scores``, which is never modified.
    """

    def __init__(self, smoothing: float = 0.1) -> None:
        self.smoothing = float(smoothing)

    def output_dim(self, num_classes: int) -> int:
        return num_classes

    def __call__(self, scores, y):
        n, k = scores.shape
        shifted = scores - scores.max(axis=1, keepdims=True)  # exponents <= 0: no overflow
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        q = np.full_like(scores, self.smoothing / k)
        q[np.arange(n), y] += 1.0 - self.smoothing
        loss = float(-(q * log_p).sum()) / n
        return loss, (np.exp(log_p) - q) / n

    def predict(self, scores):
        return np.argmax(scores, axis=1)


def _make(smoothing):
    """Softmax cross-entropy against a smoothed one-hot target."""
    return SmoothedSoftmaxLoss(smoothing)


@hookimpl
def register_losses(register):
    register(
        Component(
            "loss",
            "$name",
            "Softmax cross-entropy with label smoothing",
            _make,
            (Param("smoothing", "float", 0.1, "mass spread over all classes", min=0.0, max=0.5),),
        )
    )
'''

LOSS_TESTS = """

def test_numeric_gradient(component):
    loss = component.create({"smoothing": 0.2})
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 4))
    y = rng.integers(0, 4, size=6)
    _, dscores = loss(scores, y)
    # numeric_gradient calls f(x) with the perturbed array itself
    assert rel_error(dscores, numeric_gradient(lambda s: loss(s, y)[0], scores)) < 1e-7


def test_no_smoothing_is_plain_softmax(component):
    loss = component.create({"smoothing": 0.0})
    scores = np.array([[2.0, 1.0, 0.1]])
    p = np.exp(scores) / np.exp(scores).sum()
    assert loss(scores, np.array([0]))[0] == pytest.approx(-np.log(p[0, 0]))


def test_it_trains(registry):
    result = run_tiny(loss=NAME, registry=registry)
    assert result["best"]["mean"] > 0.3  # 10 classes: chance is 0.1
"""

PREPROCESSOR = '''\
"""$title: scale each feature to [0, 1] by the training rows' range.

Registered as preprocessor "$name".
"""

import numpy as np
from tuidl import TuidlError
from tuidl.plugins import Component, Param, hookimpl


class MinMaxScale:
    """``fit(X)`` learns per-feature min and range from the training rows; ``transform``
    applies them to any rows (new rows may fall outside [0, 1]) and never refits.

    Rows are (N, ...) of any per-row shape. ``transform`` before ``fit``, or rows of another
    shape, raise ``TuidlError``.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = float(eps)
        self.low = None
        self.span = None

    def fit(self, X):
        X = np.asarray(X)
        self.low = X.min(axis=0)
        self.span = X.max(axis=0) - self.low + self.eps  # eps: a constant feature maps to 0
        return self

    def transform(self, X):
        if self.low is None:
            raise TuidlError("$name: transform called before fit")
        X = np.asarray(X)
        if X.shape[1:] != self.low.shape:
            raise TuidlError(f"$name: fitted on rows {self.low.shape}, got {X.shape[1:]}")
        dtype = X.dtype if X.dtype.kind == "f" else np.float32
        return ((X - self.low) / self.span).astype(dtype, copy=False)

    def output_shape(self, input_shape):
        return tuple(input_shape)


def _make(eps):
    """Min-max scaling fitted on the training rows."""
    return MinMaxScale(eps)


@hookimpl
def register_preprocessors(register):
    register(
        Component(
            "preprocessor",
            "$name",
            "Scale each feature to [0, 1] using the training rows",
            _make,
            (Param("eps", "float", 1e-8, "added to each range (constant features)", min=0.0),),
        )
    )
'''

PREPROCESSOR_TESTS = """

def test_training_rows_map_to_unit_range_and_new_rows_do_not_refit(component):
    rng = np.random.default_rng(0)
    train = rng.normal(size=(50, 6)).astype(np.float32)
    step = component.create().fit(train)
    out = step.transform(train)
    assert out.min() >= 0 and out.max() <= 1 and out.dtype == np.float32
    low = step.low.copy()
    step.transform(train * 100)
    np.testing.assert_array_equal(step.low, low)


def test_it_trains(registry):
    result = run_tiny(preprocess=[{"name": "reshape"}, {"name": NAME}], registry=registry)
    assert result["best"]["mean"] > 0.3  # 10 classes: chance is 0.1
"""

MODEL = '''\
"""$title: a linear classifier with elastic-net (L1 + L2) regularization (model "$name").

A learnable model: tuidl's trainer calls ``setup``, then ``loss`` and an optimizer step per
minibatch, and ``predict`` to score it.
"""

import numpy as np
from tuidl.plugins import Component, Param, hookimpl


class ElasticNetLinear:
    """Scores ``X @ W + b`` with any tuidl loss; ``reg * sum(W**2) + l1 * sum(|W|)`` added.

    ``setup(input_dim, num_classes, loss, init, rng)`` creates ``params`` (``W``, ``b``);
    ``loss(X, y) -> (loss, grads)``; ``scores(X)``; ``predict(X)``; ``get_state()`` /
    ``set_state()``. Rows are flattened, so image-shaped input works too.
    """

    learnable = True

    def __init__(self, reg=1e-3, l1=0.0, dtype="float32"):
        self.reg, self.l1, self.dtype = float(reg), float(l1), np.dtype(dtype)
        self.params = {}
        self.loss_fn = None

    def setup(self, input_dim, num_classes, loss, init, rng):
        self.loss_fn = loss
        d = int(np.prod(input_dim))
        k = loss.output_dim(num_classes)
        self.params = {"W": init.weights(d, k, rng, self.dtype), "b": init.bias(k, self.dtype)}
        return self

    def _rows(self, X):
        return np.asarray(X, dtype=self.dtype).reshape(len(X), -1)

    def loss(self, X, y):
        X = self._rows(X)
        W, b = self.params["W"], self.params["b"]
        data_loss, dscores = self.loss_fn(X @ W + b, y)
        loss = data_loss + self.reg * float(np.vdot(W, W)) + self.l1 * float(np.abs(W).sum())
        dW = X.T @ dscores + 2 * self.reg * W + self.l1 * np.sign(W)
        return loss, {"W": dW.astype(self.dtype), "b": dscores.sum(axis=0).astype(self.dtype)}

    def scores(self, X):
        return self._rows(X) @ self.params["W"] + self.params["b"]

    def predict(self, X):
        return self.loss_fn.predict(self.scores(X))

    def get_state(self):
        return {"params": {k: v.copy() for k, v in self.params.items()}}

    def set_state(self, state):
        for k, v in state["params"].items():
            self.params[k][...] = v


def _make(reg, l1, dtype):
    """Linear scores X W + b with L2 and L1 weight penalties."""
    return ElasticNetLinear(reg, l1, dtype)


@hookimpl
def register_models(register):
    register(
        Component(
            "model",
            "$name",
            "Linear classifier with elastic-net (L1 + L2) regularization",
            _make,
            (
                Param("reg", "float", 1e-3, "L2 strength: reg * sum(W**2)", min=0.0),
                Param("l1", "float", 0.0, "L1 strength: l1 * sum(|W|)", min=0.0),
                Param(
                    "dtype", "choice", "float32", "parameter dtype", choices=("float32", "float64")
                ),
            ),
        )
    )
'''

MODEL_TESTS = """

class _Softmax:
    def output_dim(self, c):
        return c

    def __call__(self, s, y):
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = -np.log(p[np.arange(n), y]).mean()
        p[np.arange(n), y] -= 1
        return float(loss), p / n

    def predict(self, s):
        return np.argmax(s, axis=1)


class _Init:
    def weights(self, fan_in, fan_out, rng, dtype):
        return rng.normal(size=(fan_in, fan_out)).astype(dtype)

    def bias(self, fan_out, dtype):
        return np.zeros(fan_out, dtype)


def test_numeric_gradient(component):
    model = component.create({"reg": 0.1, "l1": 0.05, "dtype": "float64"})
    rng = np.random.default_rng(0)
    model.setup(5, 3, _Softmax(), _Init(), rng)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8)
    _, grads = model.loss(X, y)
    for key, p in model.params.items():
        # f ignores its argument: p is perturbed in place and the model reads it
        num = numeric_gradient(lambda _: model.loss(X, y)[0], p)
        assert rel_error(grads[key], num) < 1e-7, key


def test_it_trains(registry):
    result = run_tiny(model={"name": NAME, "reg": 1e-4}, registry=registry)
    assert result["best"]["mean"] > 0.3  # 10 classes: chance is 0.1
"""

INITIALIZER = '''\
"""$title: Glorot/Xavier uniform initialization (initializer "$name")."""

import math

import numpy as np
from tuidl.plugins import Component, Param, hookimpl


class GlorotUniform:
    """Weights from ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``; zero biases.

    ``weights(fan_in, fan_out, rng, dtype)`` draws from ``rng`` (a numpy Generator), so a
    seed fixes the result.
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def weights(self, fan_in, fan_out, rng, dtype="float32"):
        a = self.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-a, a, size=(fan_in, fan_out)).astype(dtype)

    def bias(self, fan_out, dtype="float32"):
        return np.zeros(fan_out, dtype=dtype)


def _make(gain):
    """Glorot uniform weights: variance 2 / (fan_in + fan_out), times gain**2."""
    return GlorotUniform(gain)


@hookimpl
def register_initializers(register):
    register(
        Component(
            "initializer",
            "$name",
            "Glorot/Xavier uniform weights, U(-a, a)",
            _make,
            (Param("gain", "float", 1.0, "scale of the bound a (sqrt(2) for ReLU)", min=0.0),),
        )
    )
'''

INITIALIZER_TESTS = """

def test_bound_and_variance(component):
    W = component.create().weights(400, 600, np.random.default_rng(0), "float64")
    bound = np.sqrt(6 / 1000)
    assert np.abs(W).max() <= bound
    assert W.var() == pytest.approx(2 / 1000, rel=0.05)


def test_it_trains(registry):
    result = run_tiny(init=NAME, registry=registry)
    assert result["best"]["mean"] > 0.3  # 10 classes: chance is 0.1
"""

OPTIMIZER = '''\
"""$title: SGD with global gradient-norm clipping (optimizer "$name")."""

import numpy as np
from tuidl.plugins import Component, Param, hookimpl


class ClippedSGD:
    """``step(params, grads)``: ``p -= lr * g * min(1, max_norm / |g|)`` with ``|g|`` the norm
    of all gradients together; updates the arrays in place. ``end_epoch()`` decays ``lr``.
    """

    def __init__(self, lr=1e-2, max_norm=5.0, lr_decay=1.0):
        self.lr, self.max_norm, self.lr_decay = float(lr), float(max_norm), float(lr_decay)

    def step(self, params, grads):
        norm = np.sqrt(sum(float(np.vdot(grads[k], grads[k])) for k in params))
        scale = self.lr * min(1.0, self.max_norm / norm) if norm > 0 else 0.0
        for k, p in params.items():
            p -= scale * grads[k]

    def end_epoch(self):
        self.lr *= self.lr_decay


def _make(lr, max_norm, lr_decay):
    """Minibatch SGD whose step length is capped by clipping the gradient norm."""
    return ClippedSGD(lr, max_norm, lr_decay)


@hookimpl
def register_optimizers(register):
    register(
        Component(
            "optimizer",
            "$name",
            "SGD with global gradient-norm clipping",
            _make,
            (
                Param("lr", "float", 1e-2, "learning rate", min=1e-12),
                Param("max_norm", "float", 5.0, "clip the gradient norm to this", min=1e-12),
                Param("lr_decay", "float", 1.0, "lr multiplier per epoch", min=1e-6, max=1.0),
            ),
        )
    )
'''

OPTIMIZER_TESTS = """

def test_clips_big_gradients(component):
    opt = component.create({"lr": 1.0, "max_norm": 1.0})
    params = {"w": np.zeros(2)}
    opt.step(params, {"w": np.array([30.0, 40.0])})
    np.testing.assert_allclose(params["w"], [-0.6, -0.8])


def test_it_trains(registry):
    result = run_tiny(optimizer={"name": NAME, "lr": 0.01}, registry=registry)
    assert result["best"]["mean"] > 0.3  # 10 classes: chance is 0.1
"""

DATASET = '''\
"""$title: Gaussian blobs, a synthetic dataset for quick experiments (dataset "$name")."""

import numpy as np
from tuidl.data.dataset import checked
from tuidl.plugins import Component, Param, hookimpl


def _make(classes, per_class, dim, seed):
    """Gaussian blobs: ``classes`` centres in ``dim`` dimensions, ``per_class`` rows each.

    Deterministic for a given ``seed``; rows are (N, dim) float32, labels int64.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, dim))
    y = np.repeat(np.arange(classes), per_class)
    X = (centres[y] + rng.normal(size=(len(y), dim))).astype(np.float32)
    names = [f"blob{i}" for i in range(classes)]
    return checked("$name", "generated", X, y, class_names=names)


@hookimpl
def register_datasets(register):
    register(
        Component(
            "dataset",
            "$name",
            "Synthetic Gaussian blobs",
            _make,
            (
                Param("classes", "int", 3, "number of blobs", min=2, max=1000),
                Param("per_class", "int", 100, "rows per blob", min=1),
                Param("dim", "int", 2, "features per row", min=1),
                Param("seed", "int", 0, "random seed (fixes the data)", min=0),
            ),
        )
    )
'''

DATASET_TESTS = """

def test_shapes_and_labels(component):
    data = component.create({"classes": 4, "per_class": 10, "dim": 3})
    assert data.X_train.shape == (40, 3)
    assert np.bincount(data.y_train).tolist() == [10, 10, 10, 10]
    assert len(data.class_names) == 4


def test_it_trains(registry):
    result = run_tiny(dataset=NAME, registry=registry)  # 300 rows: 240 train, 60 test
    assert result["best"]["mean"] > 0.6  # 3 well-separated blobs
"""

KIND_TEMPLATES = {
    "loss": (LOSS, LOSS_TESTS),
    "preprocessor": (PREPROCESSOR, PREPROCESSOR_TESTS),
    "model": (MODEL, MODEL_TESTS),
    "initializer": (INITIALIZER, INITIALIZER_TESTS),
    "optimizer": (OPTIMIZER, OPTIMIZER_TESTS),
    "dataset": (DATASET, DATASET_TESTS),
    "searcher": (SEARCHER, SEARCHER_TESTS),  # in scaffold_searcher: this file is near its limit
}
