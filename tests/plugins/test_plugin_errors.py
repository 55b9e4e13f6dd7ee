"""What a plugin author and a user see when something is off (issue #14, #15 item 11):
bad schemas fail at load naming the param, a plugin that exits or has a syntax error is
located in its own file, allow/deny lists warn about unknown names, and the help text of a
component reaches every listing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from tuidl.cli import main
from tuidl.engine.gradcheck import numeric_gradient, rel_error, roundoff
from tuidl.errors import TuidlError
from tuidl.plugins import Component, Param, hookimpl
from tuidl.plugins.contract import (
    check_component,
    code_hash,
    load_check_results,
    run_checks,
    save_check_results,
    select,
)
from tuidl.plugins.manager import load_registry, reset_registry


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TUIDL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TUIDL_PLUGINS", "")
    monkeypatch.delenv("TUIDL_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("TUIDL_DISABLE_PLUGINS", raising=False)
    reset_registry()
    yield
    reset_registry()


def _module(**hooks):
    mod = types.ModuleType("fake_plugin")
    for name, fn in hooks.items():
        setattr(mod, name, hookimpl(fn))
    return mod


def _loaded(*params: Param, factory=None):
    def make(gamma=2.0, alpha=0.25):
        """Focal loss."""
        return None

    def hook(register):
        register(Component("loss", "focal", "Focal loss", factory or make, params))

    reg = load_registry(
        entry_points=False, extra_plugins=[("focal_loss", _module(register_losses=hook))]
    )
    return reg.plugin("focal_loss")


# -- bad schemas fail at load, naming the param ---------------------------------------------


@pytest.mark.parametrize(
    ("param", "words"),
    [
        (Param("gamma", "float", 5.0, "g", min=0.0, max=2.0), ["'gamma'", "default 5.0"]),
        (Param("gamma", "choice", "c", "g", choices=("a", "b")), ["'gamma'", "default 'c'"]),
        (Param("gamma", "float", 1.0, "g", min=3.0, max=1.0), ["'gamma'", "min 3.0", "max 1.0"]),
        (Param("gamma", "int", 1.5, "g"), ["'gamma'", "int param", "1.5"]),
        (Param("gamma", "int", True, "g"), ["'gamma'", "int param"]),
        (Param("beta", "float", 1.0, "b"), ["'beta'", "not an argument", "make(gamma=2.0"]),
    ],
)
def test_every_bad_schema_marks_the_plugin_failed_naming_the_param(param, words):
    info = _loaded(param)
    assert info.status == "failed"
    assert info.components == []
    for w in words:
        assert w in info.error, info.error


def test_a_factory_argument_without_a_param_or_default_fails():
    def make(gamma):
        return None

    info = _loaded(factory=make)
    assert info.status == "failed"
    assert "requires argument 'gamma'" in info.error and "no Param declares it" in info.error


def test_good_schemas_still_load():
    def kw(**params):
        return params

    assert _loaded(Param("gamma", "float", 2.0, "g", min=0.0)).status == "ok"
    assert _loaded(Param("x", "int", 3, "x"), factory=kw).status == "ok"
    # None means "required, no default" (the npz dataset's path)
    assert _loaded(Param("gamma", "str", None, "g")).status == "ok"
    assert _loaded(Param("gamma", "float", 2, "an int default for a float")).status == "ok"


# -- plugins that exit, do not parse, or are not there ----------------------------------------


def test_sys_exit_at_import_is_a_failed_plugin_not_an_exit(tmp_path, capsys):
    (tmp_path / "exiter.py").write_text("import sys\nsys.exit(3)\n")
    (tmp_path / "fine.py").write_text("x = 1\n")
    reg = load_registry(entry_points=False, environ={"TUIDL_PLUGINS": str(tmp_path)})
    info = reg.plugin("exiter")
    assert info.status == "failed"
    assert "SystemExit" in info.error and "exiter.py:2" in info.error
    assert reg.plugin("fine").status == "ok"
    assert main(["--plugin", str(tmp_path / "exiter.py"), "plugins"]) == 0
    assert "exiter" in capsys.readouterr().out


def test_sys_exit_inside_a_hook_fails_the_plugin():
    def hook(register):
        raise SystemExit(1)

    reg = load_registry(entry_points=False, extra_plugins=[("x", _module(register_losses=hook))])
    assert reg.plugin("x").status == "failed"
    assert "SystemExit" in reg.plugin("x").error


def test_keyboard_interrupt_is_not_swallowed():
    def hook(register):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_registry(entry_points=False, extra_plugins=[("x", _module(register_losses=hook))])


def test_syntax_error_is_located_in_the_plugin_file(tmp_path):
    bad = tmp_path / "typo.py"
    bad.write_text("x = 1\ndef f(:\n    pass\n")
    reg = load_registry(entry_points=False, environ={"TUIDL_PLUGINS": str(bad)})
    error = reg.plugin("typo").error
    assert "SyntaxError" in error and f"{bad}:2" in error
    assert "frozen" not in error


def test_runtime_error_at_import_is_located_in_the_plugin_file(tmp_path):
    bad = tmp_path / "boom.py"
    bad.write_text("x = 1\nraise ValueError('nope')\n")
    reg = load_registry(entry_points=False, environ={"TUIDL_PLUGINS": str(bad)})
    assert f"ValueError: nope (at {bad}:2)" in reg.plugin("boom").error


def test_missing_plugin_path_says_it_does_not_exist(tmp_path, capsys):
    missing = tmp_path / "nope.py"
    assert main(["--plugin", str(missing), "plugins"]) == 0
    out = capsys.readouterr().out
    assert f"plugin path '{missing}' does not exist" in out


# -- allow and deny lists -----------------------------------------------------------------------


class _EP:
    def __init__(self, name, obj):
        self.name, self._obj, self.dist = name, obj, None

    def load(self):
        return self._obj


def _focal_hook(register):
    def make(gamma=2.0):
        """Focal loss: down-weights easy rows by (1 - p)**gamma."""
        return None

    register(Component("loss", "focal", "Focal loss", make, (Param("gamma", "float", 2.0, "g"),)))


@pytest.fixture
def installed(monkeypatch):
    eps = [_EP("focal_loss", _module(register_losses=_focal_hook)), _EP("extras", _module())]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: eps)


def test_unknown_names_in_load_plugins_warn(installed):
    reg = load_registry(environ={"TUIDL_LOAD_PLUGINS": "nosuch,extras"})
    assert [p.name for p in reg.plugins if p.source == "entry point"] == ["extras"]
    assert any("TUIDL_LOAD_PLUGINS names 'nosuch'" in w for w in reg.warnings), reg.warnings
    assert reg.disabled == {"focal_loss": "not in TUIDL_LOAD_PLUGINS"}


def test_a_component_name_where_a_plugin_name_belongs_is_explained(installed):
    reg = load_registry(environ={"TUIDL_LOAD_PLUGINS": "focal"})
    assert any("'focal'" in w and "focal_loss" in w for w in reg.warnings)
    with pytest.raises(TuidlError, match=r"installed but not loaded: .*focal_loss"):
        reg.plugin("focal")
    full = load_registry(environ={})
    with pytest.raises(TuidlError, match="'focal' is a component of plugin 'focal_loss'"):
        full.plugin("focal")


def test_unknown_component_error_names_switched_off_plugins(installed):
    reg = load_registry(environ={"TUIDL_LOAD_PLUGINS": ""})
    with pytest.raises(TuidlError) as err:
        reg.get("loss", "focal")
    assert "focal_loss (TUIDL_LOAD_PLUGINS is set but empty)" in str(err.value)


def test_disable_plugins_is_a_deny_list(installed, tmp_path):
    (tmp_path / "localone.py").write_text("x = 1\n")
    reg = load_registry(
        environ={
            "TUIDL_DISABLE_PLUGINS": "focal_loss,localone,typo",
            "TUIDL_PLUGINS": str(tmp_path),
        }
    )
    names = [p.name for p in reg.plugins]
    assert "focal_loss" not in names and "localone" not in names and "extras" in names
    assert reg.disabled == {
        "focal_loss": "TUIDL_DISABLE_PLUGINS",
        "localone": "TUIDL_DISABLE_PLUGINS",
    }
    assert any("TUIDL_DISABLE_PLUGINS names 'typo'" in w for w in reg.warnings)
    with pytest.raises(TuidlError, match=r"focal_loss \(TUIDL_DISABLE_PLUGINS\)"):
        reg.get("loss", "focal")


def test_listing_shows_help_disabled_and_warnings(installed, monkeypatch, capsys):
    monkeypatch.setenv("TUIDL_DISABLE_PLUGINS", "extras,nosuch")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "down-weights easy rows" in out
    assert "extras" in out and "not loaded: TUIDL_DISABLE_PLUGINS" in out
    assert "warning: TUIDL_DISABLE_PLUGINS names 'nosuch'" in out
    reset_registry()
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    focal = next(c for c in data["components"]["loss"] if c["name"] == "focal")
    assert focal["help"].startswith("Focal loss: down-weights")
    assert data["disabled"] == {"extras": "TUIDL_DISABLE_PLUGINS"}
    assert any("'nosuch'" in w for w in data["warnings"])


# -- plugins check --------------------------------------------------------------------------------


def test_check_of_a_component_in_a_plugin_that_failed_says_so(tmp_path):
    (tmp_path / "focal_loss.py").write_text("import no_such_module_here\n")
    reg = load_registry(entry_points=False, environ={"TUIDL_PLUGINS": str(tmp_path)})
    with pytest.raises(TuidlError) as err:
        select(reg, ["focal"])
    message = str(err.value)
    assert "plugin 'focal_loss' failed to load and may provide it" in message
    assert "no_such_module_here" in message


class _Focal:
    """Focal loss whose gradient drops a term that vanishes only at gamma = 2 (the bug of
    issue #14 item 7: exact at the default, wrong everywhere else)."""

    def __init__(self, gamma):
        self.gamma = gamma

    def output_dim(self, c):
        return c

    def __call__(self, s, y):
        n = len(y)
        z = s - s.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        scale = 1.0 + (self.gamma - 2.0) ** 2  # 1 at the default
        loss = float(-np.log(p[np.arange(n), y]).mean()) * scale
        g = p.copy()
        g[np.arange(n), y] -= 1
        return loss, (g / n).astype(s.dtype)  # forgets `scale`

    def predict(self, s):
        return s.argmax(1)


def test_range_checks_catch_a_bug_that_is_exact_at_the_default():
    comp = Component(
        "loss", "focal", "Focal", _Focal, (Param("gamma", "float", 2.0, "g", min=0.0, max=5.0),)
    )
    at_default = check_component(comp, ranges=False)
    assert at_default.status == "ok"
    result = check_component(comp)
    assert result.status == "failed"
    assert result.reason.startswith("at gamma=0.0 (min): numeric gradient")


def test_range_checks_record_the_points_and_refusals():
    from tuidl import TuidlError as Refusal

    def make(gamma=2.0):
        if gamma > 4:
            raise Refusal("gamma above 4 is not supported on this data")
        return _Focal(2.0)

    comp = Component("loss", "f", "F", make, (Param("gamma", "float", 2.0, "g", min=2.0, max=5.0),))
    result = check_component(comp)
    assert result.status == "ok", result.reason
    assert result.points[0] == "defaults"
    assert "gamma=5.0 (max)" in result.not_applicable
    assert any(p.startswith("params at") for p in result.passed)


def test_rel_error_can_ignore_roundoff_of_tiny_entries():
    a = np.array([0.1, -2.0144045e-08])
    b = np.array([0.1, -2.0161650e-08])
    assert rel_error(a, b) > 1e-4
    assert rel_error(a, b, atol=roundoff(2.0)) == 0.0
    assert rel_error(np.array([0.1]), np.array([0.11]), atol=roundoff(2.0)) > 1e-2


def test_numeric_gradient_calls_f_with_x_itself():
    x = np.arange(3.0)
    seen = []
    grad = numeric_gradient(lambda arr: seen.append(arr is x) or float((arr**2).sum()), x)
    assert all(seen) and np.allclose(grad, 2 * x)


def test_check_cache_is_keyed_by_code_not_version(tmp_path):
    plugin = tmp_path / "flat.py"
    body = (
        "import numpy as np\nfrom tuidl.plugins import Component, hookimpl\n"
        "class L:\n    def output_dim(self, c):\n        return c\n"
        "    def __call__(self, s, y):\n        return 0.0, {GRAD}\n"
        "    def predict(self, s):\n        return s.argmax(1)\n"
        "def make():\n    '''flat'''\n    return L()\n"
        "@hookimpl\ndef register_losses(register):\n"
        "    register(Component('loss', 'flat', 'A flat loss', make))\n"
    )
    plugin.write_text(body.replace("{GRAD}", "np.ones_like(s)"))
    env = {"TUIDL_PLUGINS": str(plugin)}
    reg = load_registry(entry_points=False, environ=env)
    first = code_hash(reg.plugin("flat"))
    assert first
    save_check_results(run_checks(reg, ["flat"]))
    assert load_check_results(reg)["loss flat"]["status"] == "failed"
    # the author fixes the bug; the version ("local") is unchanged, the code is not
    plugin.write_text(body.replace("{GRAD}", "np.zeros_like(s)"))
    fixed = load_registry(entry_points=False, environ=env)
    assert code_hash(fixed.plugin("flat")) != first
    assert "loss flat" not in load_check_results(fixed)


def test_plugins_check_into_a_closed_pipe_exits_quietly(tmp_path):
    """`tuidl plugins check | head -1` (issue #14 item 10): no BrokenPipeError traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIDL_")}
    env["TUIDL_DATA_DIR"] = str(tmp_path)
    proc = subprocess.run(
        f"{sys.executable} -m tuidl plugins check losses optimizers | head -1",
        shell=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.stdout.startswith("OK"), proc.stdout
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_a_component_missing_part_of_its_protocol_fails_naming_it():
    class NoPredict:
        def output_dim(self, c):
            return c

        def __call__(self, s, y):
            return 0.0, np.zeros_like(s)

    result = check_component(Component("loss", "np", "No predict", NoPredict))
    assert result.status == "failed"
    assert result.reason == "protocol: NoPredict lacks predict of tuidl.api.Loss"


def test_an_error_inside_a_library_a_hook_called_is_located_in_the_hook(tmp_path):
    plugin = tmp_path / "jsonbad.py"
    plugin.write_text(
        "import json\nfrom tuidl.plugins import hookimpl\n\n@hookimpl\n"
        "def register_losses(register):\n    json.loads('not json')\n"
    )
    reg = load_registry(entry_points=False, environ={"TUIDL_PLUGINS": str(plugin)})
    error = reg.plugin("jsonbad").error
    assert error.startswith("JSONDecodeError: Expecting value")
    assert error.endswith(f"(at {plugin}:6)"), error


def test_naming_a_builtin_in_the_deny_list_says_builtins_always_load():
    reg = load_registry(environ={"TUIDL_DISABLE_PLUGINS": "losses"})
    assert reg.get("loss", "softmax").plugin == "losses"
    assert any("'losses'" in w and "built-ins are always loaded" in w for w in reg.warnings)
