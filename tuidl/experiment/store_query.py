"""Filtering and sorting the run list: ``tuidl runs --filter K=V --sort -best`` and the
workbench's History filter share this one reading of the syntax.

A filter is ``KEY OP VALUE`` with OP one of ``=  !=  >  >=  <  <=  ~`` (``~``: contains,
ignoring case). ``=`` may list alternatives separated by commas (``status=failed,interrupted``).
KEY is

- a field of the list: ``id``, ``name``, ``note``, ``status``, ``seed``, ``tag``,
  ``best`` (best mean CV accuracy), ``test`` (test accuracy), ``created``, ``folds``,
  ``text`` (any of name, note, tags, status, dataset, model);
- a component section: ``dataset``, ``model``, ``loss``, ``init``, ``optimizer`` (its name);
- any dotted spec key (``model.hidden_sizes``, ``optimizer.lr``, ``training.batch_size``,
  ``split.num_training``). A key on the run's grid matches when any value tried matches,
  so ``optimizer.lr=1e-3`` finds runs that used that rate fixed or in their grid.

Values compare as numbers when both sides are numbers (``1e-3`` equals ``0.001``), as
booleans for ``true``/``false``, else as text. A run without the key never matches (except
for ``!=``). Sort keys are the same KEYs; ``-KEY`` sorts descending; runs without the key
come last either way.

How it fails: a filter or sort key that does not parse raises :class:`tuidl.TuidlError`
naming it and showing the syntax.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from tuidl.errors import TuidlError

OPERATORS = ("!=", ">=", "<=", "=", ">", "<", "~")
FIELDS = {
    "id": "id",
    "name": "name",
    "note": "note",
    "status": "status",
    "seed": "seed",
    "best": "best_mean",
    "test": "test_accuracy",
    "created": "created",
    "folds": "folds_done",
}
COMPONENTS = ("dataset", "model", "loss", "init", "optimizer")
TEXT_FIELDS = ("name", "note", "status", "dataset", "model")  # what key ``text`` searches
_KEY = re.compile(r"^[A-Za-z_][\w.\-]*$")
SYNTAX = (
    "write KEY=VALUE (or != > >= < <= ~ for contains), e.g. status=finished, model=fc_net, "
    "tag=baseline, best>=0.9, optimizer.lr=1e-3"
)


@dataclass(frozen=True)
class Filter:
    key: str
    op: str
    values: tuple[Any, ...]
    text: str


def parse(text: str) -> Filter:
    """One filter from its text (see the module docstring)."""
    for op in OPERATORS:
        i = text.find(op)
        if i > 0:
            key, raw = text[:i].strip(), text[i + len(op) :].strip()
            break
    else:
        raise TuidlError(f"filter {text!r} has no operator; {SYNTAX}")
    if not _KEY.match(key):
        raise TuidlError(f"filter {text!r}: {key!r} is not a key; {SYNTAX}")
    raws = raw.split(",") if op in ("=", "!=") else [raw]
    # ~ searches text: "~5" means the character, not the number 5.0
    values = (raw,) if op == "~" else tuple(_value(r.strip()) for r in raws)
    if op in (">", ">=", "<", "<=") and not _is_number(values[0]):
        raise TuidlError(f"filter {text!r}: {op} needs a number, not {raw!r}")
    return Filter(key, op, values, text)


def parse_query(text: str) -> tuple[list[Filter], str | None]:
    """The workbench's one-line filter: space-separated filters, ``sort=[-]KEY``, and bare
    words, which match the name, note, tags, status, dataset or model (``text~WORD``).
    Quote a value with spaces: ``name="wide net"``."""
    import shlex

    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise TuidlError(f"filter {text!r}: {exc}; close the quote") from None
    filters, sort = [], None
    for token in tokens:
        if token.startswith(("sort=", "sort:")):
            sort = token[5:]
            parse_sort(sort)
        elif any(op in token for op in OPERATORS) and not token.startswith(OPERATORS):
            filters.append(parse(token))
        else:
            filters.append(Filter("text", "~", (token,), token))
    return filters, sort


def parse_sort(text: str) -> tuple[str, bool]:
    """``(key, descending)`` from ``KEY`` or ``-KEY``."""
    key = text.strip()
    descending = key.startswith("-")
    key = key.lstrip("-+")
    if not _KEY.match(key):
        raise TuidlError(
            f"sort key {text!r} is not a key; use e.g. --sort -best, --sort test, --sort id"
        )
    return key, descending


def _value(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(raw)
    except ValueError:
        return raw


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """A spec as dotted keys, ``{"model.reg": 0.001, "preprocess.1.name": "reshape", ...}``:
    the keys a user reads and writes (``--set``, ``[cv.grid]``), so preprocessing steps are
    numbered from 1 as everywhere else. Lists of plain values stay values."""
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, v in enumerate(d, start=1):
            out.update(flatten(v, f"{prefix}{i}."))
    else:
        out[prefix.rstrip(".")] = d
    return out


def values_of(row: dict[str, Any], key: str) -> list[Any]:
    """Every value ``key`` takes for a run (a list row with its parsed ``_spec``): one for
    a field or fixed spec key; the spec's value and each grid value for a gridded key."""
    if key == "tag":
        return list(row.get("tags") or [])
    if key == "text":
        return [row.get(k) or "" for k in TEXT_FIELDS] + list(row.get("tags") or [])
    if key in FIELDS:
        v = row.get(FIELDS[key])
        return [] if v is None else [v]
    spec = row.get("_spec") or {}
    if key in COMPONENTS:
        key = f"{key}.name"
    flat = row.get("_flat")
    if flat is None:
        flat = row["_flat"] = flatten({k: v for k, v in spec.items() if k != "cv"})
        flat.update(flatten({k: v for k, v in spec.get("cv", {}).items() if k != "grid"}, "cv."))
    out = [flat[key]] if key in flat else []
    grid = spec.get("cv", {}).get("grid", {}) or {}
    if key in grid:
        out.extend(grid[key])
    return out


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (str(a).lower() == str(b).lower())
    if isinstance(a, list):
        return any(_equal(x, b) for x in a) or str(a) == str(b)
    return str(a) == str(b)


def matches(row: dict[str, Any], f: Filter) -> bool:
    have = values_of(row, f.key)
    if f.op == "=":
        return any(_equal(h, v) for h in have for v in f.values)
    if f.op == "!=":
        return not any(_equal(h, v) for h in have for v in f.values)
    if f.op == "~":
        needle = str(f.values[0]).lower()
        return any(needle in str(h).lower() for h in have)
    target = float(f.values[0])
    nums = [float(h) for h in have if _is_number(h)]
    compare = {
        ">": lambda x: x > target,
        ">=": lambda x: x >= target,
        "<": lambda x: x < target,
        "<=": lambda x: x <= target,
    }[f.op]
    return any(compare(x) for x in nums)


def _is_spec_key(key: str) -> bool:
    return key not in ("tag", "text") and key not in FIELDS and key not in COMPONENTS


def _sort_value(row: dict[str, Any], key: str) -> tuple[int, int, Any]:
    vals = values_of(row, key)
    if not vals:
        return (1, 0, "")
    v = vals[0]
    if _is_number(v):
        return (0, 0, float(v))
    return (0, 1, str(v).lower())


def select(
    rows: list[dict[str, Any]],
    filters: list[Filter],
    order: tuple[str, bool] | None,
    limit: int | None,
) -> list[dict[str, Any]]:
    """The rows that pass every filter, sorted and cut to ``limit``; the private keys
    (``_spec``, ``_flat``) are dropped from what is returned."""
    keys = [f.key for f in filters] + ([order[0]] if order else [])
    for key in keys:
        if rows and _is_spec_key(key) and not any(values_of(r, key) for r in rows):
            raise TuidlError(
                f"no stored run has the key {key!r}; use a list field ({', '.join(FIELDS)}, "
                f"tag), a component ({', '.join(COMPONENTS)}) or a spec key such as "
                "optimizer.lr or training.epochs (`tuidl show ID --spec` prints a run's spec)"
            )
    out = [r for r in rows if all(matches(r, f) for f in filters)]
    if order is not None:
        key, descending = order
        present = [r for r in out if values_of(r, key)]
        missing = [r for r in out if not values_of(r, key)]
        present.sort(key=lambda r: _sort_value(r, key), reverse=descending)
        out = present + missing
    if limit is not None:
        out = out[: max(0, int(limit))]
    for r in out:
        r.pop("_spec", None)
        r.pop("_flat", None)
    return out
