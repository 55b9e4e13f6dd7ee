"""Values as the workbench's forms show them and read them back (plain Python, no Textual).

One place for the text forms of param values, search values and ranges, so a value shown in a
form, in the outline or in the Results tab reads the same everywhere and parses back to itself.
"""

from __future__ import annotations

from typing import Any

from tuidl.plugins.schema import Param

# how a list param's search values are separated ("100; 50, 50" is [100] and [50, 50])
LIST_SEPARATOR = ";"


def blank_to_none(value: Any, param: Param) -> Any:
    """A blank box means "unset" (``None``), except for a str param, where it is the text."""
    if isinstance(value, str) and value.strip() == "" and param.type != "str":
        return None
    return value


def split_values(text: str) -> list[str]:
    """``"1, 3, 5"`` or ``"[1, 3, 5]"`` -> ``["1", "3", "5"]`` (quotes stripped)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [t.strip().strip("\"'") for t in text.split(",") if t.strip()]


def split_list_values(text: str) -> list[str]:
    """``"100; 50, 50"`` -> ``["100", "50, 50"]``: alternatives for a list param."""
    return [t.strip() for t in text.split(LIST_SEPARATOR) if t.strip()]


def format_scalar(v: Any) -> str:
    """One value: floats in ``%g`` form, anything else as ``str``."""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def format_value(v: Any) -> str:
    """A value as a form shows it (and accepts it back)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return ", ".join(format_scalar(x) for x in v)
    return format_scalar(v)


def values_text(values: list[Any]) -> str:
    """A param's search values as typed: ``1, 3, 5``; list values separated by ``;``."""
    if any(isinstance(v, list | tuple) for v in values):
        return f"{LIST_SEPARATOR} ".join(format_value(v) for v in values)
    return ", ".join(format_scalar(v) for v in values)


def range_text(rng: dict[str, Any]) -> str:
    """A ``[search.space]`` range as typed: ``1e-05..0.01`` or ``log 1e-05..0.01``."""
    kind = next(k for k in rng if k != "log")
    lo, hi = rng[kind]
    log = kind == "log_uniform" or rng.get("log", False)
    return f"{'log ' if log else ''}{format_scalar(lo)}..{format_scalar(hi)}"


def shape_text(shape: tuple[int, ...]) -> str:
    """A sample shape with the batch axis first: ``(N, 8, 8)``."""
    return "(N, " + ", ".join(str(d) for d in shape) + ")"
