"""tuidl-attributes through tuidl's entry-point discovery (never importing the plugin)."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.data.dataset import checked
from tuidl.errors import TuidlError
from tuidl.plugins.manager import load_registry


@pytest.fixture(scope="module")
def registry():
    return load_registry(environ={"TUIDL_LOAD_PLUGINS": "attributes"})


@pytest.fixture
def loss(registry):
    return registry.create("loss", "attributes")


def numeric_grad(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = f()
        x[i] = old - h
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


def rel_error(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def test_registered_through_the_entry_point(registry):
    info = registry.plugin("attributes")
    assert info.status == "ok", info.error
    assert info.source == "entry point"
    assert sorted(info.components) == [
        "dataset cifar10_attributes",
        "dataset digits_attributes",
        "loss attributes",
    ]


def test_loss_value_and_gradient_are_the_logistic_formulas(loss):
    rng = np.random.default_rng(0)
    f = rng.normal(scale=2.0, size=(6, 4))
    Y = rng.integers(0, 2, size=(6, 4))
    value, d = loss(f, Y)
    s = 1 / (1 + np.exp(-f))
    expect = -(Y * np.log(s) + (1 - Y) * np.log(1 - s)).sum() / 6
    assert value == pytest.approx(expect, rel=1e-12)
    np.testing.assert_allclose(d, (s - Y) / 6, rtol=1e-12)
    assert loss.output_dim(4) == 4
    np.testing.assert_array_equal(loss.predict(f), (s > 0.5).astype(int))


@pytest.mark.parametrize("pos_weight", [1.0, 3.0])
def test_numeric_gradient(registry, pos_weight):
    loss = registry.create("loss", "attributes", {"pos_weight": pos_weight})
    rng = np.random.default_rng(1)
    f = rng.normal(scale=2.0, size=(5, 3))
    Y = rng.integers(0, 2, size=(5, 3))
    _, d = loss(f, Y)
    assert rel_error(d, numeric_grad(lambda: loss(f, Y)[0], f)) < 1e-7


def test_extreme_scores_are_finite_and_dtype_is_kept(loss):
    f = np.array([[1e4, -1e4], [-800.0, 800.0]], dtype=np.float32)
    value, d = loss(f, np.array([[0, 1], [1, 0]]))
    assert np.isfinite(value) and value > 1000
    assert d.dtype == np.float32 and np.all(np.isfinite(d))


def test_class_labels_are_refused_with_a_hint(loss):
    with pytest.raises(TuidlError, match="digits_attributes"):
        loss(np.zeros((3, 2)), np.array([0, 1, 1]))
    with pytest.raises(TuidlError, match="0/1"):
        loss(np.zeros((1, 2)), np.array([[0, 2]]))


def test_digits_attributes_follow_the_documented_table(registry):
    data = registry.create("dataset", "digits_attributes")
    assert data.targets == "multilabel"
    assert data.class_names == ("even", "ge5", "closed_loop")
    assert data.y_train.shape == (len(data.X_train), 3)
    table = {int(c): tuple(row) for c, row in zip(data.base_class_names, data.table, strict=True)}
    assert [d for d in range(10) if table[d][0]] == [0, 2, 4, 6, 8]
    assert [d for d in range(10) if table[d][1]] == [5, 6, 7, 8, 9]
    assert [d for d in range(10) if table[d][2]] == [0, 6, 8, 9]
    np.testing.assert_array_equal(data.y_train, data.table[data.base_y_train])
    np.testing.assert_array_equal(data.class_counts(), data.y_train.sum(axis=0))


def test_cifar10_attributes_from_a_cifar_shaped_dataset(registry, monkeypatch):
    import tuidl.data.cifar10 as cifar

    names = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    fake = checked(
        "cifar10", "fake", np.zeros((10, 2, 2, 3), np.uint8), np.arange(10), class_names=names
    )
    monkeypatch.setattr(cifar, "load_cifar10", lambda path=None: fake)
    data = registry.create("dataset", "cifar10_attributes")
    by_name = dict(zip(data.class_names, data.y_train.T, strict=True))
    members = {a: [names[i] for i in np.flatnonzero(col)] for a, col in by_name.items()}
    assert members["animal"] == ["bird", "cat", "deer", "dog", "frog", "horse"]
    assert members["has_wheels"] == ["airplane", "automobile", "truck"]
    assert members["can_fly"] == ["airplane", "bird"]
    assert members["on_water"] == ["frog", "ship"]
    assert set(members) == {"animal", "vehicle", "has_wheels", "can_fly", "on_water", "four_legs"}


def test_attributes_are_independent_with_a_linear_model(registry, loss):
    # Changing attribute 1's targets leaves attribute 0's weight gradient untouched.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 5))
    W = rng.normal(size=(5, 3))
    Y = rng.integers(0, 2, size=(20, 3))
    d0 = X.T @ loss(X @ W, Y)[1]
    Y2 = Y.copy()
    Y2[:, 1] = 1 - Y2[:, 1]
    d1 = X.T @ loss(X @ W, Y2)[1]
    np.testing.assert_array_equal(d0[:, [0, 2]], d1[:, [0, 2]])
    assert not np.allclose(d0[:, 1], d1[:, 1])


def test_linear_model_learns_digit_attributes_with_metrics(registry):
    if "linear" not in registry.components["model"]:
        pytest.skip("built-in linear model not available")
    data = registry.create("dataset", "digits_attributes")
    X = data.X_train.reshape(len(data.X_train), -1).astype(np.float64) / 16.0
    X -= X.mean(axis=0)
    Y = data.y_train
    loss = registry.create("loss", "attributes")
    model = registry.create("model", "linear", {"reg": 1e-4, "dtype": "float64"})
    init = registry.create("initializer", "small_random")
    model.setup(X.shape[1], data.num_classes, loss, init, np.random.default_rng(0))
    opt = registry.create("optimizer", "adam", {"lr": 1e-2})
    rng = np.random.default_rng(0)
    train, held = np.arange(0, 1400), np.arange(1400, len(X))
    for _ in range(600):
        idx = rng.choice(train, 200)
        _, grads = model.loss(X[idx], Y[idx])
        opt.step(model.params, grads)
    pred = model.predict(X[held])
    assert pred.shape == (len(held), 3)
    report = loss.metrics(Y[held], pred, data.class_names)
    assert set(report["attributes"]) == {"even", "ge5", "closed_loop"}
    # the trainer's plain accuracy, mean(pred == y), is the mean per-attribute accuracy
    assert report["mean"]["accuracy"] == pytest.approx(float(np.mean(pred == Y[held])))
    assert report["mean"]["accuracy"] > 0.85
    assert all(m["accuracy"] > 0.8 for m in report["attributes"].values())


def test_example_spec_runs_end_to_end(tmp_path, monkeypatch, capsys):
    _run_example(tmp_path, monkeypatch, "--no-charts")
    out = capsys.readouterr().out
    assert "digits_attributes" in out and "status finished" in out


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["--set", 'model={name = "knn"}'], "'knn' predicts one class per row"),
        (["--set", "loss.name=softmax"], "'softmax' takes class targets"),
        (["--set", 'cv.grid={"loss.name" = ["attributes", "svm"]}'], "'svm' takes class"),
        (["--set", "split.stratify=true"], "split.stratify: rows with multilabel targets"),
    ],
)
def test_specs_that_mix_target_kinds_are_refused_up_front(
    tmp_path, monkeypatch, capsys, overrides, message
):
    from pathlib import Path

    from tuidl.cli import main
    from tuidl.plugins.manager import reset_registry

    monkeypatch.setenv("TUIDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUIDL_LOAD_PLUGINS", "attributes")
    spec = Path(__file__).resolve().parents[1] / "examples" / "digits_attributes.toml"
    argv = ["run", str(spec), "--workers", "1", "--store", str(tmp_path / "runs.sqlite")]
    reset_registry()
    try:
        code = main([*argv, "--no-charts", *overrides])
    finally:
        reset_registry()
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err


def test_multilabel_run_stores_no_meaningless_confusion_matrix(tmp_path, monkeypatch, capsys):
    from tuidl.experiment.store import Store

    store = _run_example(tmp_path, monkeypatch, "--no-charts")
    with Store(store) as s:
        test = s.get_run(1)["test"]
    assert test["confusion"] is None and test["test_accuracy"] > 0.8


def _run_example(tmp_path, monkeypatch, *extra):
    from pathlib import Path

    from tuidl.cli import main
    from tuidl.plugins.manager import reset_registry

    monkeypatch.setenv("TUIDL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUIDL_LOAD_PLUGINS", "attributes")
    spec = Path(__file__).resolve().parents[1] / "examples" / "digits_attributes.toml"
    store = tmp_path / "runs.sqlite"
    reset_registry()
    try:
        code = main(["run", str(spec), "--workers", "1", "--store", str(store), *extra])
    finally:
        reset_registry()
    assert code == 0
    return store


def test_per_attribute_test_metrics_are_stored_and_reported(tmp_path, monkeypatch, capsys):
    """The retrained best's per-attribute metrics (the loss's metrics hook) reach the store,
    --json, the CLI's table and chart, and the workbench's run view."""
    import json

    from tuidl.experiment.store import Store
    from tuidl.tui.backend import Backend

    out_json = tmp_path / "out.json"
    store = _run_example(tmp_path, monkeypatch, "--json", str(out_json))
    out = capsys.readouterr().out
    with Store(store) as s:
        test = s.get_run(1)["test"]
    metrics = test["metrics"]
    assert list(metrics["attributes"]) == ["even", "ge5", "closed_loop"]
    for m in metrics["attributes"].values():
        assert set(m) == {"accuracy", "precision", "recall", "f1", "positives"}
        assert 0.7 < m["accuracy"] <= 1.0
    # the stored test accuracy is the trainer's mean(pred == Y): the mean attribute accuracy
    assert metrics["mean"]["accuracy"] == pytest.approx(test["test_accuracy"])
    assert sum(m["positives"] for m in metrics["attributes"].values()) > 0
    assert json.loads(out_json.read_text())["test_metrics"] == metrics
    # the CLI prints a per-attribute table and draws bars instead of a confusion matrix
    assert "per-attribute test metrics of the retrained best" in out
    row = next(line for line in out.splitlines() if line.startswith("closed_loop "))
    f1 = metrics["attributes"]["closed_loop"]["f1"]
    assert f"{f1:.4f}" in row
    assert "confusion matrix" not in out
    view = Backend(store).get_run("1")
    assert view.test_metrics == metrics and view.confusion is None


def test_workbench_counts_positives_of_an_attribute_dataset(tmp_path, registry):
    from tuidl.tui.backend import Backend

    info = Backend(tmp_path / "runs.sqlite", registry).dataset_info("digits_attributes", {})
    assert info.multilabel and info.class_names == ["even", "ge5", "closed_loop"]
    assert info.class_counts == [891, 896, 713]


def test_a_metrics_hook_never_costs_the_finished_run(tmp_path, monkeypatch, capsys):
    """numpy scalars and NaN from the hook are stored as plain JSON; a hook that raises
    falls back to per-attribute accuracy and says why; the run still finishes."""
    import json

    import tuidl_attributes.loss as loss_mod

    from tuidl.experiment.store import Store

    def numpy_values(self, Y_true, Y_pred, names=None):
        out = loss_mod.attribute_metrics(Y_true, Y_pred, names)
        first = next(iter(out["attributes"].values()))
        first["accuracy"] = np.float32(first["accuracy"])
        first["f1"] = float("nan")
        return out

    monkeypatch.setattr(loss_mod.AttributeLoss, "metrics", numpy_values)
    out_json = tmp_path / "a.json"
    store = _run_example(tmp_path, monkeypatch, "--no-charts", "--json", str(out_json))
    with Store(store) as s:
        metrics = s.get_run(1)["test"]["metrics"]
    assert isinstance(metrics["attributes"]["even"]["accuracy"], float)
    assert metrics["attributes"]["even"]["f1"] is None
    assert "NaN" not in out_json.read_text()
    json.loads(out_json.read_text())

    def broken(self, Y_true, Y_pred, names=None):
        raise ValueError("boom")

    monkeypatch.setattr(loss_mod.AttributeLoss, "metrics", broken)
    store = _run_example(tmp_path / "b", monkeypatch, "--no-charts")
    with Store(store) as s:
        run = s.get_run(1)
    assert run["status"] == "finished"
    metrics = run["test"]["metrics"]
    assert "ValueError: boom" in metrics["error"]
    assert set(metrics["attributes"]["even"]) == {"accuracy", "positives"}
    assert "only accuracy is shown" in capsys.readouterr().out


def test_chance_loss_is_the_loss_at_zero_scores(loss):
    Y = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0]])
    assert loss(np.zeros((3, 3)), Y)[0] == pytest.approx(loss.chance_loss(3))
    assert loss.chance_loss(3) == pytest.approx(3 * np.log(2))
