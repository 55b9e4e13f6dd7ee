"""Plugin discovery and isolation: one broken plugin never takes the others down."""

import json
import sys
import textwrap
import types

import pytest

from tuidl.cli import main
from tuidl.errors import TuidlError
from tuidl.plugins import Component, Param, hookimpl, hookspecs
from tuidl.plugins.manager import HOOK_KINDS, load_registry


def _loss_factory(**kw):
    return kw


def _plugin(**hooks):
    mod = types.ModuleType("fake_plugin")
    for name, fn in hooks.items():
        setattr(mod, name, hookimpl(fn))
    return mod


def _good(register):
    register(
        Component(
            "loss",
            "toy_loss",
            "A toy loss.",
            factory=_loss_factory,
            params=(Param("delta", "float", 1.0, "margin", min=0.0),),
        )
    )


def test_every_hookspec_is_documented_and_mapped_to_a_kind():
    specs = [n for n in dir(hookspecs) if n.startswith("register_")]
    assert sorted(specs) == sorted(HOOK_KINDS)
    for name in specs:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert len(doc.strip()) > 80, name
        assert "register" in doc.lower()


def test_a_test_plugin_appears_and_is_gone_after():
    reg = load_registry(extra_plugins=[("toy", _plugin(register_losses=_good))])
    comp = reg.get("loss", "toy_loss")
    assert comp.plugin == "toy"
    assert reg.plugin("toy").status == "ok"
    assert reg.plugin("toy").components == ["loss toy_loss"]
    fresh = load_registry()
    with pytest.raises(TuidlError, match="unknown loss 'toy_loss'"):
        fresh.get("loss", "toy_loss")


def _raises(register):
    raise RuntimeError("hook exploded")


def _wrong_type(register):
    register({"name": "dict_is_not_a_component"})


def _wrong_kind(register):
    register(Component("model", "m", "A model in the losses hook.", factory=dict))


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        (_raises, "RuntimeError: hook exploded"),
        (_wrong_type, "expected a tuidl.plugins.Component"),
        (_wrong_kind, "only takes kind 'loss'"),
    ],
)
def test_broken_plugin_is_reported_and_others_load(hook, message):
    def partly_good(register):
        _good(register)  # registered before the failure: must be rolled back
        hook(register)

    reg = load_registry(
        extra_plugins=[
            ("broken", _plugin(register_losses=partly_good)),
            ("fine", _plugin(register_losses=_good)),
        ]
    )
    broken = reg.plugin("broken")
    assert broken.status == "failed"
    assert message in broken.error
    assert broken.components == []
    assert reg.plugin("fine").status == "ok"
    # the good plugin keeps the short name since the broken one contributed nothing
    assert reg.get("loss", "toy_loss").plugin == "fine"
    assert all(p.status == "ok" for p in reg.plugins if p.source == "builtin")


def test_plugin_without_params_schema_fails_cleanly():
    def no_schema(register):
        register(Component("loss", "x", "No schema.", factory=dict, params=None))

    reg = load_registry(extra_plugins=[("noschema", _plugin(register_losses=no_schema))])
    assert reg.plugin("noschema").status == "failed"
    assert "params must be a tuple of Param" in reg.plugin("noschema").error


def test_duplicate_name_keeps_first_and_qualifies_second():
    reg = load_registry(
        extra_plugins=[
            ("first", _plugin(register_losses=_good)),
            ("second", _plugin(register_losses=_good)),
        ]
    )
    assert reg.get("loss", "toy_loss").plugin == "first"
    assert reg.get("loss", "second:toy_loss").plugin == "second"
    assert any("available as 'second:toy_loss'" in w for w in reg.plugin("second").warnings)
    assert reg.plugin("second").status == "ok"


def test_local_file_plugins_from_env_and_import_errors(tmp_path):
    good = tmp_path / "localgood.py"
    good.write_text(
        textwrap.dedent(
            """
            from tuidl.plugins import Component, Param, hookimpl

            @hookimpl
            def register_optimizers(register):
                register(Component("optimizer", "local_opt", "A local optimizer.",
                                   factory=dict, params=(Param("lr", "float", 0.1, "rate"),)))
            """
        )
    )
    (tmp_path / "localbad.py").write_text("import this_module_does_not_exist\n")
    reg = load_registry(environ={"TUIDL_PLUGINS": str(tmp_path)})
    assert reg.plugin("localgood").source == "path"
    assert reg.get("optimizer", "local_opt").plugin == "localgood"
    bad = reg.plugin("localbad")
    assert bad.status == "failed"
    assert "ModuleNotFoundError" in bad.error and "this_module_does_not_exist" in bad.error
    missing = load_registry(environ={"TUIDL_PLUGINS": str(tmp_path / "nope.py")})
    assert "'" + str(tmp_path / "nope.py") + "' does not exist" in missing.plugin("nope").error
    (tmp_path / "notes.txt").write_text("x")
    wrong = load_registry(environ={"TUIDL_PLUGINS": str(tmp_path / "notes.txt")})
    assert "is not a .py file" in wrong.plugin("notes").error


def test_load_plugins_env_restricts_entry_points(monkeypatch):
    class FakeEP:
        def __init__(self, name, obj):
            self.name, self._obj, self.dist = name, obj, None

        def load(self):
            if isinstance(self._obj, Exception):
                raise self._obj
            return self._obj

    eps = [FakeEP("epgood", _plugin(register_losses=_good)), FakeEP("epbad", ImportError("x"))]
    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: eps)
    all_loaded = load_registry(environ={})
    assert all_loaded.plugin("epgood").source == "entry point"
    assert all_loaded.plugin("epbad").status == "failed"
    only = load_registry(environ={"TUIDL_LOAD_PLUGINS": "epgood"})
    assert [p.name for p in only.plugins if p.source == "entry point"] == ["epgood"]
    none = load_registry(environ={"TUIDL_LOAD_PLUGINS": ""})
    assert [p for p in none.plugins if p.source == "entry point"] == []


def test_cli_plugins_lists_builtins_and_json(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("TUIDL_PLUGINS", raising=False)
    plugin = tmp_path / "cliplug.py"
    plugin.write_text("raise RuntimeError('broken on purpose')\n")
    assert main(["--plugin", str(plugin), "plugins"]) == 0
    out = capsys.readouterr().out
    assert "cliplug" in out and "FAILED" in out and "broken on purpose" in out
    assert main(["plugins", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {p["name"]: p for p in data["plugins"]}
    assert names["cliplug"]["status"] == "failed"
    builtin = [p for p in data["plugins"] if p["source"] == "builtin"]
    assert builtin and all(p["status"] == "ok" for p in builtin), builtin
    monkeypatch.setattr(sys, "argv", ["tuidl"])


def test_misspelled_hook_gives_a_warning():
    reg = load_registry(extra_plugins=[("typo", _plugin(register_loss=_good))])
    warnings = reg.plugin("typo").warnings
    assert any("'register_loss'" in w and "register_losses" in w for w in warnings), warnings
