"""hsoftmax as the loss of tuidl's own linear model and fully-connected net.

Everything comes from one registry (built-ins plus this plugin's entry point), exactly as a
spec with ``loss.name = "hsoftmax"`` would get it.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tuidl.plugins.manager import load_registry


@pytest.fixture(scope="module")
def registry():
    reg = load_registry(environ={"TUIDL_LOAD_PLUGINS": "hsoftmax"})
    for kind, name in (("model", "linear"), ("model", "fc_net"), ("optimizer", "sgd")):
        if name not in reg.components[kind]:
            pytest.skip(f"built-in {kind} {name!r} not available")
    return reg


def _blobs(c, n_per, dim, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=4.0, size=(c, dim))
    y = np.repeat(np.arange(c), n_per)
    return centers[y] + rng.normal(size=(len(y), dim)), y


def _model(registry, name, params, tree, X, y, c):
    loss = registry.create("loss", "hsoftmax", {"tree": tree})
    loss.fit(X, y, num_classes=c)  # what the trainer does when a loss has fit()
    init = registry.create("initializer", "calibrated")
    model = registry.create("model", name, {**params, "dtype": "float64"})
    model.setup(X.shape[1], c, loss, init, np.random.default_rng(0))
    return model


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("linear", {"reg": 0.0}),
        ("linear", {"reg": 0.3}),
        ("fc_net", {"hidden_sizes": [6], "reg": 0.0}),
        ("fc_net", {"hidden_sizes": [6, 5], "reg": 0.2, "batchnorm": True}),
    ],
)
def test_model_gradients_through_hsoftmax(registry, name, params):
    from tuidl.engine.gradcheck import numeric_gradient, rel_error

    X, y = _blobs(7, 3, 5, seed=1)
    model = _model(registry, name, params, "balanced", X, y, 7)
    last = "W" if name == "linear" else f"W{len(params['hidden_sizes']) + 1}"
    assert model.params[last].shape[1] == 6  # C - 1 inner nodes
    _, grads = model.loss(X, y)
    for key, p in model.params.items():
        num = numeric_gradient(lambda _p: model.loss(X, y)[0], p)
        assert rel_error(grads[key], num) < 1e-7, key


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("linear", {"reg": 0.0}),
        ("linear", {"reg": 0.05}),
        ("fc_net", {"hidden_sizes": [16, 8], "reg": 0.01, "batchnorm": True}),
    ],
)
def test_models_train_through_path_loss_not_all_scores(registry, name, params):
    """Training uses the loss's path_loss (only the path nodes' scores) and gets exactly the
    gradients of the dense route: every output score, then loss(scores, y)."""
    X, y = _blobs(37, 4, 9, seed=3)  # 37 classes: unbalanced paths of length 5 and 6
    model = _model(registry, name, params, "balanced", X, y, 37)
    calls = []
    real = model.loss_fn.path_loss

    def spy(*args):
        calls.append(1)
        return real(*args)

    model._path_loss = spy
    dense_calls = []

    class Counting:  # the same loss, counting dense calls (scores for every output)
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, scores, y):
            dense_calls.append(scores.shape)
            return self.inner(scores, y)

    model.loss_fn = Counting(model.loss_fn)
    loss_path, grads_path = model.loss(X, y)
    grads_path = {k: v.copy() for k, v in grads_path.items()}
    assert calls and not dense_calls
    model._path_loss = None  # the dense route, for reference
    loss_dense, grads_dense = model.loss(X, y)
    assert dense_calls == [(len(y), 36)]
    assert loss_path == pytest.approx(loss_dense, rel=1e-12)
    for key in grads_dense:
        np.testing.assert_allclose(grads_path[key], grads_dense[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["linear", "fc_net"])
def test_models_train_and_predict_with_it(registry, name):
    X, y = _blobs(10, 30, 12, seed=2)
    params = {"reg": 0.0} if name == "linear" else {"hidden_sizes": [32], "reg": 0.0}
    model = _model(registry, name, params, "clustered", X, y, 10)
    opt = registry.create("optimizer", "sgd", {"lr": 0.5})
    for _ in range(300):
        _, grads = model.loss(X, y)
        opt.step(model.params, grads)
    pred = model.predict(X)
    assert pred.shape == y.shape
    assert np.mean(pred == y) > 0.95


def test_spec_grid_over_softmax_and_hsoftmax_runs(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from tuidl.cli import main
    from tuidl.plugins.manager import reset_registry

    monkeypatch.setenv("TUIDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUIDL_LOAD_PLUGINS", "hsoftmax")
    spec = Path(__file__).resolve().parents[1] / "examples" / "digits_hsoftmax.toml"
    argv = ["run", str(spec), "--workers", "1", "--store", str(tmp_path / "runs.sqlite")]
    reset_registry()  # the process-wide registry must see this environment
    try:
        code = main([*argv, "--no-charts", "--set", "training.iterations=100"])
    finally:
        reset_registry()
    assert code == 0
    out = capsys.readouterr().out
    assert "hsoftmax" in out and "status finished" in out


def test_grid_switching_to_softmax_drops_the_tree_param(registry):
    """The example's [loss] is hsoftmax with tree = "clustered" and its grid switches
    loss.name: the hsoftmax points keep the tree, the softmax points get plain softmax."""
    from pathlib import Path

    from tuidl.experiment.spec import load_spec
    from tuidl.experiment.spec_check import validate
    from tuidl.experiment.workplan import trial_specs

    spec = Path(__file__).resolve().parents[1] / "examples" / "digits_hsoftmax.toml"
    trials = trial_specs(validate(load_spec(spec), registry), registry)
    losses = {(t.loss.name, tuple(sorted(t.loss.params.items()))) for t in trials}
    assert losses == {("softmax", ()), ("hsoftmax", (("tree", "clustered"),))}


def test_spec_with_clustered_tree_is_fitted_per_fold_by_the_trainer(tmp_path, monkeypatch, capsys):
    """The trainer calls the optional ``loss.fit`` with each fold's training rows."""
    from pathlib import Path

    from tuidl.cli import main
    from tuidl.plugins.manager import reset_registry

    monkeypatch.setenv("TUIDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUIDL_LOAD_PLUGINS", "hsoftmax")
    spec = Path(__file__).resolve().parents[1] / "examples" / "digits_hsoftmax.toml"
    argv = ["run", str(spec), "--workers", "1", "--store", str(tmp_path / "runs.sqlite")]
    argv += ["--no-charts", "--set", "training.iterations=300", "--set", "loss.name=hsoftmax"]
    argv += ["--set", "loss.tree=clustered", "--set", 'cv.grid={"optimizer.lr" = [0.01]}']
    reset_registry()
    try:
        code = main(argv)
    finally:
        reset_registry()
    out = capsys.readouterr().out
    assert code == 0, out
    assert "status finished" in out
    # holdout tests the best trial's own model (cv.refit = "auto"), or a retrained one
    acc = float(re.search(r"test accuracy of the [^:]+: ([0-9.]+)", out).group(1))
    assert acc > 0.85, out
