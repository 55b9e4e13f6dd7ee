"""Components and their typed parameter schemas.

A :class:`Component` is what a plugin registers: a kind, a name, a one-line summary, a
docstring, a tuple of :class:`Param` and a factory. The schema is the single source for the
TUI's forms, TOML spec validation, ``tuidl plugins`` and grid search, so everything a view
needs to know about a parameter lives on :class:`Param`.

This module is plain Python (no pluggy, no numpy) so the engine's tests and the spec layer
can use it without loading plugins.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuidl.errors import TuidlError

KINDS = ("dataset", "preprocessor", "model", "loss", "initializer", "optimizer", "searcher")
PARAM_TYPES = ("int", "float", "str", "bool", "choice", "list")
_ITEM_TYPES = ("int", "float", "str", "bool")


@dataclass(frozen=True)
class Param:
    """One typed parameter of a component.

    ``type`` is one of :data:`PARAM_TYPES`. ``min``/``max`` bound int and float values
    (inclusive) and the items of an int/float list; ``choices`` lists the allowed values of a
    ``choice`` param (or of list items). ``item_type`` is the element type of a ``list``.
    ``nullable`` lets ``None`` through (for optional values such as "no path").
    ``simpler``: ``"higher"`` or ``"lower"`` when moving this value that way makes the model
    simpler or more regularized (``reg``: higher; ``hidden_sizes``: lower, by total units
    then layers; kNN's ``k``: higher); the one-standard-error rule picks by it (see
    :mod:`tuidl.experiment.ranking`). ``None``: the param says nothing about simplicity.
    """

    name: str
    type: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    item_type: str = "int"
    nullable: bool = False
    simpler: str | None = None

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise TuidlError(
                f"param {self.name!r}: type {self.type!r} is not one of {', '.join(PARAM_TYPES)}"
            )
        if self.type == "choice" and not self.choices:
            raise TuidlError(f"param {self.name!r}: a choice param needs choices")
        if self.type == "list" and self.item_type not in _ITEM_TYPES:
            raise TuidlError(
                f"param {self.name!r}: list item_type {self.item_type!r} is not one of "
                f"{', '.join(_ITEM_TYPES)}"
            )
        if not self.help:
            raise TuidlError(f"param {self.name!r}: help text is required")
        if self.simpler not in (None, "higher", "lower"):
            raise TuidlError(
                f"param {self.name!r}: simpler {self.simpler!r} must be 'higher', 'lower' or None"
            )
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))

    def schema_error(self) -> str:
        """What is wrong with this declaration itself, or ``""`` (checked when a plugin loads).

        Catches what would otherwise surface later as a spec error blaming a key the user
        never wrote: ``min > max``, and a default the param itself would refuse (outside
        ``min``/``max``, a choice default not in ``choices``, an int param with default 1.5).
        A ``None`` default means "required, no default" and is always allowed.
        """
        if self.min is not None and self.max is not None and self.min > self.max:
            return f"param {self.name!r}: min {self.min!r} is greater than max {self.max!r}"
        if self.default is None:
            return ""
        if self.type == "int" and (
            isinstance(self.default, bool) or not isinstance(self.default, int)
        ):
            return f"param {self.name!r}: int param has default {self.default!r}, not an int"
        try:
            self.validate(self.default)
        except TuidlError:
            return (
                f"param {self.name!r}: default {self.default!r} is not allowed by its own "
                f"schema ({self.allowed()})"
            )
        return ""

    def allowed(self) -> str:
        """Describe the allowed values in words, for error messages and listings."""
        if self.type == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices or ())
        elif self.type == "list":
            text = f"a list of {self.item_type}" + _range_text(self)
            if self.choices:
                text += " from " + ", ".join(repr(c) for c in self.choices)
        else:
            text = f"{'an' if self.type == 'int' else 'a'} {self.type}" + _range_text(self)
        return text + (" or none" if self.nullable else "")

    def validate(self, value: Any, owner: str = "") -> Any:
        """Return ``value`` coerced to this param's type, or raise :class:`TuidlError`.

        ``owner`` names the component (``"model knn"``) for the message. Coercion is
        deliberately narrow: an int is accepted for a float, a whole float (``5.0``) for an
        int, and numeric strings (from ``--set`` or a form) are parsed; nothing else is guessed.
        """
        where = f"{owner}: " if owner else ""
        if value is None:
            if self.nullable:
                return None
            raise TuidlError(
                f"{where}parameter {self.name!r} is required; allowed: {self.allowed()}"
            )
        try:
            if self.type == "list":
                if isinstance(value, str):
                    value = _parse_list_text(value)
                if not isinstance(value, list | tuple):
                    raise ValueError
                out = [_coerce_scalar(self.item_type, v) for v in value]
                for v in out:
                    self._check_bounds(v)
                return out
            if self.type == "choice":
                for c in self.choices or ():
                    if value == c or (isinstance(value, str) and str(c) == value):
                        return c
                raise ValueError
            out = _coerce_scalar(self.type, value)
            self._check_bounds(out)
            return out
        except (ValueError, TypeError):
            raise TuidlError(
                f"{where}parameter {self.name!r} got {value!r}; allowed: {self.allowed()}"
            ) from None

    def _check_bounds(self, v: Any) -> None:
        if self.choices and self.type == "list" and v not in self.choices:
            raise ValueError
        if isinstance(v, bool) or not isinstance(v, int | float):
            return
        if self.min is not None and v < self.min:
            raise ValueError
        if self.max is not None and v > self.max:
            raise ValueError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (used by ``tuidl plugins --json`` and the TUI)."""
        d: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        for key in ("min", "max"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        if self.choices is not None:
            d["choices"] = list(self.choices)
        if self.type == "list":
            d["item_type"] = self.item_type
        if self.nullable:
            d["nullable"] = True
        d["help"] = self.help
        return d


def _range_text(p: Param) -> str:
    if p.min is not None and p.max is not None:
        return f" in [{p.min}, {p.max}]"
    if p.min is not None:
        return f" >= {p.min}"
    if p.max is not None:
        return f" <= {p.max}"
    return ""


def _parse_list_text(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [t.strip() for t in text.split(",") if t.strip()]


def _coerce_scalar(type_: str, value: Any) -> Any:
    if type_ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ValueError
    if isinstance(value, bool):  # bool is an int subclass; never let True mean 1
        raise ValueError
    if type_ == "int":
        if isinstance(value, str):
            value = float(value) if any(c in value for c in ".eE") else int(value)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError
            value = int(value)
        if not isinstance(value, int):
            raise ValueError
        return value
    if type_ == "float":
        if isinstance(value, str):
            value = float(value)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError
        return float(value)
    if type_ == "str":
        if not isinstance(value, str):
            raise ValueError
        return value
    raise ValueError


@dataclass(frozen=True)
class Component:
    """A registered building block.

    ``factory(**params)`` builds the object (a loss, a model, a dataset loader, ...) from
    validated params. ``plugin`` is filled in by the registry with the name of the plugin
    that registered it; ``key`` is the name users type (``name``, or ``plugin:name`` when a
    duplicate had to be qualified).
    """

    kind: str
    name: str
    summary: str
    factory: Callable[..., Any]
    params: tuple[Param, ...] = ()
    doc: str = ""
    plugin: str = ""
    key: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TuidlError(
                f"component {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}"
            )
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise TuidlError(f"component name {self.name!r} must be a Python identifier")
        if not self.summary or "\n" in self.summary:
            raise TuidlError(f"{self.kind} {self.name!r}: summary must be one non-empty line")
        if not callable(self.factory):
            raise TuidlError(f"{self.kind} {self.name!r}: factory is not callable")
        if not isinstance(self.params, tuple) or not all(isinstance(p, Param) for p in self.params):
            raise TuidlError(f"{self.kind} {self.name!r}: params must be a tuple of Param")
        names = [p.name for p in self.params]
        if len(names) != len(set(names)):
            raise TuidlError(f"{self.kind} {self.name!r}: duplicate param names in {names}")
        for p in self.params:
            problem = p.schema_error()
            if problem:
                raise TuidlError(f"{self.kind} {self.name!r}: {problem}")
        problem = _factory_mismatch(self.factory, self.params)
        if problem:
            raise TuidlError(f"{self.kind} {self.name!r}: {problem}")
        many = (self.extra or {}).get("predicts_many")
        if many is not None and many not in names:
            raise TuidlError(
                f"{self.kind} {self.name!r}: extra predicts_many = {many!r} names no param; "
                f"it takes {', '.join(names) or 'none'}"
            )
        if not self.doc:
            object.__setattr__(self, "doc", (self.factory.__doc__ or self.summary).strip())
        if not self.key:
            object.__setattr__(self, "key", self.name)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"

    @property
    def help(self) -> str:
        """The help text views show: the factory's docstring (cleaned), else the summary."""
        return inspect.cleandoc(self.doc) if self.doc else self.summary

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise TuidlError(
            f"{self.label} has no parameter {name!r}; it has: "
            + (", ".join(p.name for p in self.params) or "none")
        )

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Validate ``params`` against the schema and fill in defaults.

        Raises :class:`TuidlError` for an unknown name or a value outside what is allowed.
        """
        params = dict(params or {})
        for name in params:
            self.param(name)  # raises on unknown names
        return {p.name: p.validate(params.get(p.name, p.default), self.label) for p in self.params}

    def create(self, params: Mapping[str, Any] | None = None, **extra: Any) -> Any:
        """Build the object: ``factory(**resolve(params), **extra)``.

        ``extra`` carries runtime context that is not a user parameter (none for most kinds).
        An exception inside a plugin's factory is reported as a :class:`TuidlError` naming it.
        """
        resolved = self.resolve(params)
        try:
            return self.factory(**resolved, **extra)
        except TuidlError:
            raise
        except Exception as exc:  # a plugin bug must not look like a tuidl crash
            raise TuidlError(
                f"{self.label} (plugin {self.plugin or '?'}) failed to build with "
                f"{resolved}: {type(exc).__name__}: {exc}"
            ) from exc

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.key,
            "plugin": self.plugin,
            "summary": self.summary,
            "help": self.help,
            "params": [p.to_dict() for p in self.params],
        }


def _factory_mismatch(factory: Callable[..., Any], params: tuple[Param, ...]) -> str:
    """Why ``factory(**{p.name: ...})`` could not be called with exactly these params, or "".

    A param the factory does not take would fail every build; a factory argument without a
    default and without a param would too. Factories whose signature cannot be read (some
    builtins) and ``**kwargs`` factories are taken as they are.
    """
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return ""
    kinds = inspect.Parameter
    args = sig.parameters
    named = {
        n for n, a in args.items() if a.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
    }
    takes_any = any(a.kind is kinds.VAR_KEYWORD for a in args.values())
    where = f"factory {getattr(factory, '__qualname__', factory)!s}{sig}"
    declared = [p.name for p in params]
    if not takes_any:
        extra = [n for n in declared if n not in named]
        if extra:
            return (
                f"param {extra[0]!r} is not an argument of {where}; rename one to match the other"
            )
    missing = [
        n for n, a in args.items() if n in named and a.default is kinds.empty and n not in declared
    ]
    if missing:
        return (
            f"{where} requires argument {missing[0]!r} but no Param declares it; "
            f"add a Param {missing[0]!r} or give the argument a default"
        )
    return ""
