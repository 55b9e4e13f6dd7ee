"""The built-in engine components: registered, documented, validated and buildable."""

import importlib.util

import numpy as np
import pytest

from tuidl.errors import TuidlError
from tuidl.plugins.manager import load_registry

EXPECTED = {
    "loss": ["svm", "squared_hinge", "softmax"],
    "initializer": ["small_random", "calibrated", "he"],
    "optimizer": ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"],
    "model": ["knn", "linear", "fc_net"],
}
ALL = [(kind, name) for kind, names in EXPECTED.items() for name in names]
MY_PLUGINS = ("losses", "initializers", "optimizers", "models")

# One out-of-range or wrong-typed value per component, with a word of the allowed text.
BAD = {
    ("loss", "svm"): ("delta", -1.0, ">= 0.0"),
    ("loss", "squared_hinge"): ("delta", "wide", "a float"),
    ("loss", "softmax"): None,  # no params: any name is unknown
    ("initializer", "small_random"): ("scale", -0.1, ">= 0.0"),
    ("initializer", "calibrated"): ("bias", 5.0, "in [-1.0, 1.0]"),
    ("initializer", "he"): ("bias", "x", "a float"),
    ("optimizer", "sgd"): ("lr", 0.0, "a float >= 1e-12"),
    ("optimizer", "momentum"): ("momentum", 1.5, "in [0.0, 0.999]"),
    ("optimizer", "nesterov"): ("lr_decay", 2.0, "in [1e-06, 1.0]"),
    ("optimizer", "adagrad"): ("eps", -1.0, "a float"),
    ("optimizer", "rmsprop"): ("decay_rate", 1.0, "0.9999"),
    ("optimizer", "adam"): ("beta2", 1.0, "0.99999"),
    ("model", "knn"): ("distance", "cosine", "one of 'l2', 'l1'"),
    ("model", "linear"): ("dtype", "float16", "one of 'float32', 'float64'"),
    ("model", "fc_net"): ("hidden_sizes", [100, 0], "a list of int >= 1"),
}


@pytest.fixture(scope="module")
def registry():
    return load_registry(entry_points=False)


def test_my_plugins_load_cleanly(registry):
    for name in MY_PLUGINS:
        info = registry.plugin(name)
        assert info.status == "ok", info.error
        assert info.source == "builtin"
        assert not info.warnings


@pytest.mark.parametrize("kind,name", ALL)
def test_component_is_registered_and_documented(registry, kind, name):
    comp = registry.get(kind, name)
    assert comp.kind == kind and comp.key == name
    assert comp.summary and "\n" not in comp.summary
    assert comp.doc and comp.doc != comp.summary  # a real docstring, not the fallback
    for p in comp.params:
        assert p.help
        assert p.validate(p.default, comp.label) == p.default  # defaults are allowed values


@pytest.mark.parametrize("kind,name", ALL)
def test_bad_param_is_reported_with_component_param_value_and_allowed(registry, kind, name):
    comp = registry.get(kind, name)
    if BAD[(kind, name)] is None:
        assert comp.params == ()
        with pytest.raises(TuidlError, match=f"{kind} {name} has no parameter 'delta'"):
            comp.create({"delta": 1.0})
        return
    param, value, allowed = BAD[(kind, name)]
    with pytest.raises(TuidlError) as err:
        comp.create({param: value})
    message = str(err.value)
    for part in (f"{kind} {name}", repr(param), repr(value), allowed):
        assert part in message, (part, message)


def test_unknown_param_is_reported(registry):
    with pytest.raises(TuidlError, match="has no parameter 'momentum'"):
        registry.create("optimizer", "sgd", {"momentum": 0.9})


def test_every_component_has_a_bad_value_case():
    assert set(BAD) == set(ALL)


@pytest.mark.parametrize("name", EXPECTED["loss"])
def test_losses_build_and_compute(registry, name):
    loss = registry.create("loss", name, {})
    scores = np.array([[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]], dtype=np.float32)
    value, dscores = loss(scores, np.array([1, 2]))
    assert np.isfinite(value) and dscores.shape == scores.shape
    assert loss.output_dim(3) == 3
    np.testing.assert_array_equal(loss.predict(scores), [1, 2])


def test_loss_params_reach_the_engine(registry):
    assert registry.create("loss", "svm", {"delta": 2.5}).delta == 2.5
    assert registry.create("loss", "squared_hinge", {}).delta == 1.0


@pytest.mark.parametrize("name", EXPECTED["initializer"])
def test_initializers_build(registry, name):
    init = registry.create("initializer", name, {"bias": 0.1})
    W = init.weights(50, 4, np.random.default_rng(0), np.float32)
    assert W.shape == (50, 4) and W.dtype == np.float32
    np.testing.assert_allclose(init.bias(4, np.float32), 0.1)
    assert registry.create("initializer", "small_random", {"scale": 0.5}).scale == 0.5


@pytest.mark.parametrize("name", EXPECTED["optimizer"])
def test_optimizers_build_and_step(registry, name):
    opt = registry.create("optimizer", name, {"lr": 0.1, "lr_decay": 0.5})
    x = np.ones(3, dtype=np.float32)
    opt.step({"x": x}, {"x": np.ones(3, dtype=np.float32)})
    assert np.all(x < 1) and x.dtype == np.float32
    opt.end_epoch()
    assert opt.lr == pytest.approx(0.05)


def test_optimizer_defaults(registry):
    adam = registry.create("optimizer", "adam", {})
    assert (adam.lr, adam.beta1, adam.beta2, adam.eps, adam.lr_decay) == (
        1e-3,
        0.9,
        0.999,
        1e-8,
        1.0,
    )
    rms = registry.create("optimizer", "rmsprop", {})
    assert (rms.decay_rate, rms.eps) == (0.99, 1e-8)
    assert registry.create("optimizer", "nesterov", {}).momentum == 0.9


@pytest.mark.parametrize("name", ["linear", "fc_net"])
def test_learnable_models_build_and_train(registry, name):
    params = {"dtype": "float64"}
    if name == "fc_net":
        params.update(hidden_sizes="[8, 6]", batchnorm=True, dropout=0.8)
    model = registry.create("model", name, params)
    assert model.learnable
    loss = registry.create("loss", "softmax", {})
    init = registry.create("initializer", "he", {})
    model.setup(5, 3, loss, init, np.random.default_rng(0))
    assert all(p.dtype == np.float64 for p in model.params.values())
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((30, 5)), rng.integers(0, 3, 30)
    opt = registry.create("optimizer", "adam", {"lr": 1e-2})
    first, _ = model.loss(X, y)
    for _ in range(50):
        value, grads = model.loss(X, y)
        opt.step(model.params, grads)
    assert value < first
    assert model.predict(X).shape == (30,)


def test_fc_net_params_reach_the_engine(registry):
    net = registry.create("model", "fc_net", {"hidden_sizes": [20, 10], "dropout": 0.5})
    assert net.hidden_sizes == [20, 10] and net.dropout == 0.5 and not net.batchnorm
    assert str(net.dtype) == "float32" and net.reg == 1e-3


def test_knn_schema(registry):
    comp = registry.get("model", "knn")
    assert comp.defaults() == {"k": 1, "distance": "l2", "chunk_size": 0}
    with pytest.raises(TuidlError, match="'k' got 0"):
        comp.resolve({"k": 0})
    with pytest.raises(TuidlError, match="'chunk_size'"):
        comp.resolve({"chunk_size": -1})


@pytest.mark.skipif(
    importlib.util.find_spec("tuidl.engine.knn") is None, reason="tuidl.engine.knn not written yet"
)
def test_knn_builds(registry):
    knn = registry.create("model", "knn", {"k": 3, "distance": "l1", "chunk_size": 2})
    assert not knn.learnable
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [0.0, 0.2]], np.float32)
    y = np.array([0, 0, 1, 1, 0])
    knn.fit(X, y)
    np.testing.assert_array_equal(knn.predict(np.array([[0.05, 0.05], [4.9, 5.2]])), [0, 1])
