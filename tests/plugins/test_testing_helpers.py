"""tuidl.testing: the helpers a plugin's own tests use fail with the reason, not a riddle."""

from __future__ import annotations

import types

import numpy as np
import pytest

from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.manager import load_registry
from tuidl.testing import TINY_SPEC, assert_contract, load_plugin, run_tiny, tiny_spec


def test_load_plugin_not_installed_says_how_to_install():
    with pytest.raises(
        AssertionError, match=r"'nosuch' is not installed \(run `pip install -e \.`"
    ):
        load_plugin("nosuch", environ={})


def test_load_plugin_from_a_file_and_a_broken_file(tmp_path):
    good = tmp_path / "mine.py"
    good.write_text(
        "from tuidl.api import Component, hookimpl\n"
        "def make():\n    '''x'''\n    return None\n"
        "@hookimpl\ndef register_losses(register):\n"
        "    register(Component('loss', 'mine', 'Mine', make))\n"
    )
    reg = load_plugin("mine", paths=[good], environ={})
    assert reg.plugin("mine").components == ["loss mine"]
    bad = tmp_path / "broken.py"
    bad.write_text("raise RuntimeError('nope')\n")
    with pytest.raises(
        AssertionError, match=r"plugin 'broken' failed to load: RuntimeError: nope \(at "
    ):
        load_plugin("broken", paths=[bad], environ={})


class _Flat:
    def output_dim(self, c):
        return c

    def __call__(self, s, y):
        return 0.0, np.ones_like(s)

    def predict(self, s):
        return s.argmax(1)


def test_assert_contract_raises_with_the_check():
    comp = Component("loss", "flat", "Flat", _Flat)
    with pytest.raises(AssertionError, match="loss flat: contract check failed: numeric gradient"):
        assert_contract(comp)


def test_tiny_spec_replaces_whole_sections_and_leaves_the_default_alone():
    spec = tiny_spec(loss="svm", training={"epochs": 1})
    assert spec["loss"] == {"name": "svm"} and spec["training"] == {"epochs": 1}
    assert TINY_SPEC["loss"] == {"name": "softmax"}


def test_run_tiny_trains_with_a_test_plugin_and_reports_a_failing_one():
    def make(scale=1.0):
        """Softmax times a scale."""
        if scale > 100:
            raise ValueError("scale too large for this loss")
        return _Scaled(scale)

    def hook(register):
        register(Component("loss", "scaled", "Scaled", make, (Param("scale", "float", 1.0, "s"),)))

    mod = types.ModuleType("scaled")
    mod.register_losses = hookimpl(hook)
    reg = load_registry(entry_points=False, extra_plugins=[("scaled", mod)], environ={})
    result = run_tiny(loss="scaled", registry=reg)
    assert result["status"] == "finished" and result["best"]["mean"] > 0.5
    with pytest.raises(AssertionError, match=r"the run ended.*scale too large for this loss"):
        run_tiny(loss={"name": "scaled", "scale": 1000.0}, registry=reg)


class _Scaled:
    def __init__(self, scale):
        self.scale = scale

    def output_dim(self, c):
        return c

    def __call__(self, s, y):
        n = len(y)
        z = s - s.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        loss = float(-np.log(p[np.arange(n), y]).mean()) * self.scale
        p[np.arange(n), y] -= 1
        return loss, (p * self.scale / n).astype(s.dtype)

    def predict(self, s):
        return s.argmax(1)
