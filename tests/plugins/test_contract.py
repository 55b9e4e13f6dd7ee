"""Contract checks: good components pass, each kind of broken one fails with a clear reason,
and the results reach `tuidl plugins` through the cache."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from tuidl.cli import main
from tuidl.errors import TuidlError
from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.contract import (
    check_cache_path,
    check_component,
    load_check_results,
    run_checks,
    save_check_results,
    select,
)
from tuidl.plugins.manager import HOOK_KINDS, load_registry, reset_registry

HOOKS = {kind: hook for hook, kind in HOOK_KINDS.items()}


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIDL_LOAD_PLUGINS", "")  # installed plugins are not under test here
    monkeypatch.setenv("TUIDL_PLUGINS", "")  # `--plugin` in a CLI test appends to it
    reset_registry()
    yield tmp_path / "data"
    reset_registry()


def _plugin(hook: str, *components: Component):
    def impl(register):
        for c in components:
            register(c)

    mod = types.ModuleType("fake")
    setattr(mod, hook, hookimpl(impl))
    return mod


class _Softmax:
    """A correct loss; subclasses break one thing each."""

    def output_dim(self, c):
        return c

    def __call__(self, s, y):
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = float(-np.log(p[np.arange(n), y]).mean())
        p[np.arange(n), y] -= 1
        return loss, p / n

    def predict(self, s):
        return np.argmax(s, axis=1)


class _WrongGradient(_Softmax):
    def __call__(self, s, y):
        loss, d = super().__call__(s, y)
        return loss, d * len(y)


class _Float64Always(_Softmax):
    def __call__(self, s, y):
        loss, d = super().__call__(s.astype(np.float64), y)
        return loss, d


class _Mutates(_Softmax):
    def __call__(self, s, y):
        s -= s.max(axis=1, keepdims=True)
        return super().__call__(s, y)


class _WithPathLoss(_Softmax):
    """A softmax with an output-layer path_loss (every column is 'on the path')."""

    scale = 1.0

    def path_loss(self, X, W, b, y):
        from types import SimpleNamespace

        loss, ds = self(X @ W + b, y)
        return SimpleNamespace(
            loss=loss,
            dX=ds @ W.T,
            nodes=np.arange(W.shape[1]),
            dW=self.scale * (X.T @ ds),
            db=ds.sum(axis=0),
        )


class _WrongPathLoss(_WithPathLoss):
    scale = 2.0  # dW twice too large: training through it would go wrong silently


def _loss(name, cls):
    return Component("loss", name, f"Loss {name}", lambda: cls())


def _check(component: Component):
    reg = load_registry(
        entry_points=False, extra_plugins=[("t", _plugin(HOOKS[component.kind], component))]
    )
    return check_component(reg.get(component.kind, component.name))


def test_the_builtins_pass_their_own_contract():
    reg = load_registry(entry_points=False)
    results = run_checks(reg)
    assert results
    bad = [(r.label, r.reason) for r in results if r.status == "failed"]
    assert not bad
    assert {r.kind for r in results} >= {"loss", "model", "optimizer", "initializer"}


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (_Softmax, ""),
        (_WrongGradient, "numeric gradient: relative error"),
        (_Float64Always, "dscores dtype: float32 scores gave float64"),
        (_Mutates, "input untouched"),
        (_WithPathLoss, ""),
        (_WrongPathLoss, "path_loss: its dW differs from the dense route"),
    ],
)
def test_loss_contract(cls, reason):
    result = _check(_loss("l", cls))
    if reason:
        assert result.status == "failed"
        assert reason in result.reason
    else:
        assert result.status == "ok", result.reason
        assert "numeric gradient" in result.passed


class _Center:
    def __init__(self, refit=False, batch_stat=False):
        self.mean = None
        self.refit, self.batch_stat = refit, batch_stat

    def fit(self, X):
        self.mean = X.mean(axis=0)
        return self

    def transform(self, X):
        if self.refit:
            self.mean = X.mean(axis=0)  # the classic leak: statistics of the rows transformed
        if self.batch_stat:
            return X - X.mean(axis=0)
        return (X - self.mean).astype(X.dtype)

    def output_shape(self, shape):
        return tuple(shape)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({}, ""),
        ({"refit": True}, "transform never refits"),
        ({"batch_stat": True}, "rows independent"),
    ],
)
def test_preprocessor_contract(kwargs, reason):
    comp = Component("preprocessor", "center", "Centre", lambda: _Center(**kwargs))
    result = _check(comp)
    if reason:
        assert result.status == "failed" and reason in result.reason, result.reason
    else:
        assert result.status == "ok", result.reason


def test_nondeterministic_initializer_fails():
    class Unseeded:
        def weights(self, fan_in, fan_out, rng, dtype="float32"):
            return np.random.standard_normal((fan_in, fan_out)).astype(dtype)  # ignores rng

        def bias(self, fan_out, dtype="float32"):
            return np.zeros(fan_out, dtype)

    result = _check(Component("initializer", "bad", "Ignores rng", lambda: Unseeded()))
    assert result.status == "failed"
    assert result.reason.startswith("deterministic")


def test_optimizer_that_replaces_arrays_fails():
    class Rebinds:
        lr = 0.1

        def step(self, params, grads):
            for k in list(params):
                params[k] = params[k] - self.lr * grads[k]

        def end_epoch(self):
            pass

    result = _check(Component("optimizer", "bad", "Rebinds", lambda: Rebinds()))
    assert result.status == "failed"
    assert "updates in place" in result.reason


def test_a_crashing_component_is_a_failed_result_not_an_exception():
    def boom():
        raise ZeroDivisionError("oops")

    result = _check(Component("loss", "boom", "Crashes", boom))
    assert result.status == "failed"
    assert "ZeroDivisionError: oops" in result.reason


def test_select_by_plugin_component_and_unknown_name():
    reg = load_registry(entry_points=False)
    assert {c.kind for c in select(reg, ["losses"])} == {"loss"}
    assert [c.key for c in select(reg, ["loss softmax"])] == ["softmax"]
    with pytest.raises(TuidlError, match="no plugin or component named 'nope'"):
        select(reg, ["nope"])


def test_results_cache_round_trip_and_version_keying(data_dir):
    reg = load_registry(
        entry_points=False,
        extra_plugins=[("t", _plugin("register_losses", _loss("w", _WrongGradient)))],
    )
    results = run_checks(reg, ["t"])
    path = save_check_results(results)
    assert path == check_cache_path() and path.parent == data_dir
    got = load_check_results(reg)
    assert got["loss w"]["status"] == "failed"
    assert "numeric gradient" in got["loss w"]["reason"]
    assert got["loss w"]["version"] == "test"
    # another version of the plugin is loaded: the old results no longer apply
    reg.plugin("t").version = "2.0"
    assert "loss w" not in load_check_results(reg)


def test_damaged_cache_reads_as_empty(data_dir):
    data_dir.mkdir(parents=True)
    check_cache_path().write_text("{not json")
    assert load_check_results(load_registry(entry_points=False)) == {}
    check_cache_path().write_text(json.dumps({"format": 1, "plugins": {"x==1": 5}}))
    assert load_check_results(load_registry(entry_points=False)) == {}


BAD_PLUGIN = """
import numpy as np
from tuidl.plugins import Component, hookimpl

class L:
    def output_dim(self, c):
        return c
    def __call__(self, s, y):
        return 0.0, np.ones_like(s)
    def predict(self, s):
        return s.argmax(1)

@hookimpl
def register_losses(register):
    register(Component("loss", "flat", "A loss whose gradient is wrong", lambda: L()))
"""


def test_cli_check_then_listing_shows_the_failure(tmp_path, capsys):
    plugin = tmp_path / "flatloss.py"
    plugin.write_text(BAD_PLUGIN)
    assert main(["--plugin", str(plugin), "plugins", "check", "flatloss"]) == 1
    out = capsys.readouterr().out
    assert "FAILED  loss flat" in out and "numeric gradient" in out
    reset_registry()
    assert main(["--plugin", str(plugin), "plugins"]) == 0
    listing = capsys.readouterr().out
    assert "CHECK FAILED: numeric gradient" in listing
    reset_registry()
    assert main(["--plugin", str(plugin), "plugins", "check", "losses", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["key"] for d in data} == {"svm", "squared_hinge", "softmax"}


def test_a_plugin_that_failed_to_load_is_reported_by_check():
    def broken(register):
        raise RuntimeError("no")

    mod = types.ModuleType("b")
    mod.register_losses = hookimpl(broken)
    reg = load_registry(entry_points=False, extra_plugins=[("broken", mod)])
    results = run_checks(reg, ["broken"])
    assert [(r.label, r.status) for r in results] == [("plugin broken", "failed")]
    assert "RuntimeError: no" in results[0].reason


def test_param_schema_defaults_are_what_gets_checked_first():
    seen = []

    def make(delta):
        seen.append(delta)
        return _Softmax()

    comp = Component("loss", "p", "Records params", make, (Param("delta", "float", 2.5, "d"),))
    assert _check(comp).status == "ok"
    assert seen[0] == 2.5
    # then other points of its range (here: seeded random draws, no bounds declared)
    assert len(set(seen)) > 1
