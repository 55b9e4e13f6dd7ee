"""The params schema: coercion, bounds, choices, lists, and the error messages users see."""

import pytest

from tuidl.errors import TuidlError
from tuidl.plugins.schema import Component, Param


def _comp(*params):
    return Component("model", "toy", "A toy model.", factory=lambda **kw: kw, params=params)


def test_int_float_bool_coercion():
    c = _comp(
        Param("k", "int", 1, "neighbours", min=1),
        Param("lr", "float", 1e-3, "learning rate", min=0.0),
        Param("bn", "bool", False, "batchnorm"),
    )
    assert c.resolve({"k": "5", "lr": 1, "bn": "true"}) == {"k": 5, "lr": 1.0, "bn": True}
    assert c.resolve({"k": 5.0})["k"] == 5
    assert c.resolve({}) == {"k": 1, "lr": 1e-3, "bn": False}


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("k", 0, "an int >= 1"),
        ("k", 2.5, "an int >= 1"),
        ("k", True, "an int >= 1"),
        ("lr", float("nan"), "a float >= 0.0"),
        ("lr", "fast", "a float >= 0.0"),
        ("distance", "l3", "one of 'l1', 'l2'"),
        ("hidden", [100, 0], "a list of int >= 1"),
    ],
)
def test_invalid_params_name_component_param_value_and_allowed(name, value, allowed):
    c = _comp(
        Param("k", "int", 1, "neighbours", min=1),
        Param("lr", "float", 1e-3, "learning rate", min=0.0),
        Param("distance", "choice", "l2", "metric", choices=("l1", "l2")),
        Param("hidden", "list", [100], "hidden sizes", item_type="int", min=1),
    )
    with pytest.raises(TuidlError) as err:
        c.resolve({name: value})
    msg = str(err.value)
    assert msg.startswith("model toy: ")
    assert repr(name) in msg
    assert repr(value) in msg
    assert allowed in msg


def test_unknown_param_lists_known_ones():
    c = _comp(Param("k", "int", 1, "neighbours"))
    with pytest.raises(TuidlError, match=r"model toy has no parameter 'kk'; it has: k"):
        c.resolve({"kk": 3})


def test_list_from_text_and_nullable():
    c = _comp(
        Param("hidden", "list", [100], "sizes", item_type="int", min=1),
        Param("path", "str", None, "file", nullable=True),
    )
    assert c.resolve({"hidden": "[200, 50]"}) == {"hidden": [200, 50], "path": None}
    with pytest.raises(TuidlError, match="'hidden' is required"):
        c.resolve({"hidden": None})


def test_component_rejects_bad_declarations():
    with pytest.raises(TuidlError, match="kind 'widget'"):
        Component("widget", "x", "s", factory=dict)
    with pytest.raises(TuidlError, match="identifier"):
        Component("loss", "not a name", "s", factory=dict)
    with pytest.raises(TuidlError, match="params must be a tuple of Param"):
        Component("loss", "x", "s", factory=dict, params=None)
    with pytest.raises(TuidlError, match="help text is required"):
        Param("k", "int", 1, "")
    with pytest.raises(TuidlError, match="needs choices"):
        Param("k", "choice", 1, "h")


def test_factory_errors_become_tuidl_errors_naming_plugin():
    def boom(**kw):
        raise ZeroDivisionError("nope")

    c = Component("loss", "bad", "Breaks.", factory=boom, plugin="p1")
    with pytest.raises(TuidlError, match=r"loss bad \(plugin p1\) failed to build.*nope"):
        c.create()


def test_docstring_defaults_to_factory_doc():
    def factory():
        """Long documentation."""

    assert Component("loss", "x", "s", factory=factory).doc == "Long documentation."
    assert Param("k", "int", 1, "h", min=1).to_dict()["min"] == 1
