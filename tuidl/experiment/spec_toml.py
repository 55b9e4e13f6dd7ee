"""Writing a spec-shaped dict back as TOML (what ``tuidl spec new``, ``Spec.to_toml`` and the
workbench's Save produce).

Only the shapes a spec has: top-level scalars, tables, nested tables (``[cv.grid]``) and
arrays of tables (``[[preprocess]]``). ``None`` values are left out, because TOML has no null
and a left-out param takes its default. A value TOML cannot hold raises TuidlError.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.spec_steps import STEPS_MARKER

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # an inline table: a [search.space] distribution
        return "{" + ", ".join(f"{_toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TuidlError(f"cannot write {value!r} ({type(value).__name__}) as a TOML value")


def _write_table(lines: list[str], header: str | None, table: dict[str, Any]) -> None:
    inline = header == "[search.space]"  # distributions read best as inline tables
    scalars = [
        (k, v) for k, v in table.items() if (inline or not isinstance(v, dict)) and v is not None
    ]
    subtables = [(k, v) for k, v in table.items() if isinstance(v, dict) and not inline]
    if header is not None:
        if lines:
            lines.append("")
        lines.append(header)
    for k, v in scalars:
        lines.append(f"{_toml_key(k)} = {toml_value(v)}")
    for k, v in subtables:
        name = header[1:-1] + "." + _toml_key(k) if header else _toml_key(k)
        _write_table(lines, f"[{name}]", v)


def dumps_toml(data: dict[str, Any]) -> str:
    """Write a spec-shaped dict as TOML: top-level scalars, tables, one level of nested
    tables (``[cv.grid]``) and arrays of tables (``[[preprocess]]``). ``None`` is left out
    (TOML has no null; a left-out param takes its default)."""
    # a spec with steps says how its key paths number them (see spec_steps)
    lines: list[str] = [STEPS_MARKER] if data.get("preprocess") else []
    top = {k: v for k, v in data.items() if not isinstance(v, dict | list) or _is_scalar_list(v)}
    for k, v in top.items():
        if v is not None:
            lines.append(f"{_toml_key(k)} = {toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            _write_table(lines, f"[{_toml_key(k)}]", v)
        elif isinstance(v, list) and not _is_scalar_list(v):
            for item in v:
                lines.append("")
                lines.append(f"[[{_toml_key(k)}]]")
                for ik, iv in item.items():
                    if iv is not None:
                        lines.append(f"{_toml_key(ik)} = {toml_value(iv)}")
    return "\n".join(lines) + "\n"


def _is_scalar_list(v: Any) -> bool:
    return isinstance(v, list) and not any(isinstance(i, dict) for i in v)
