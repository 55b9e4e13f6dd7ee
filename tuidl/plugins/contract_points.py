"""Where in its params' range a component's contract is checked.

A component correct at its defaults can be wrong elsewhere (a focal-loss gradient that is
exact only at gamma = 2), so :func:`param_points` lists several points of the schema: the
defaults; each declared bound (``min``, ``max``), each other choice and the other bool value,
one param at a time with the rest at their defaults; and ``draws`` seeded random points of
every numeric, choice and bool param together. :func:`at_point` returns the component with
the point's values as its defaults, so the kind's checks (which build with defaults) run
unchanged there.

Random values come from the declared range. A side without a bound is taken from the
default: floats log-uniform within a factor of 10 of a positive default, ints up to four
times the default. Lists, strings and ``None`` defaults stay at their defaults. The same
seed always gives the same points.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from tuidl.plugins.schema import Component, Param

DRAWS = 2  # random points per component, on top of the bounds
MAX_POINTS = 16  # bounds first; a huge schema is sampled, not enumerated


def param_points(
    component: Component, rng: np.random.Generator, draws: int = DRAWS
) -> list[tuple[str, dict[str, Any]]]:
    """``[(label, values), ...]``: the defaults first (label ``"defaults"``), then the
    bounds and random draws described in the module docstring, without duplicates.

    ``values`` holds only the params that differ from their defaults; labels say which
    (``"gamma=0.0 (min)"``, ``"random: gamma=3.1, alpha=0.2"``).
    """
    defaults = component.defaults()
    points: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    seen = {_key(defaults)}

    def add(label: str, values: dict[str, Any]) -> None:
        values = {k: v for k, v in values.items() if v != defaults[k]}
        full = {**defaults, **values}
        if values and _key(full) not in seen and _valid(component, full):
            seen.add(_key(full))
            points.append((label, values))

    for p in component.params:
        for value, why in _edges(p):
            add(f"{p.name}={value!r} ({why})", {p.name: value})
    for _ in range(draws):
        values = {p.name: _draw(p, rng) for p in component.params if _drawable(p)}
        changed = {k: v for k, v in values.items() if v != defaults[k]}
        add("random: " + ", ".join(f"{k}={v!r}" for k, v in changed.items()), changed)
    return points[:MAX_POINTS]


def at_point(component: Component, values: dict[str, Any]) -> Component:
    """``component`` with ``values`` as the defaults of those params (checks build with
    defaults, so they exercise the point)."""
    if not values:
        return component
    params = tuple(
        replace(p, default=values[p.name]) if p.name in values else p for p in component.params
    )
    return replace(component, params=params)


def _key(values: dict[str, Any]) -> str:
    return repr(sorted(values.items()))


def _valid(component: Component, values: dict[str, Any]) -> bool:
    try:
        component.resolve(values)
    except Exception:
        return False
    return True


def _drawable(p: Param) -> bool:
    if p.default is None:
        return False
    return p.type in ("int", "float", "bool", "choice")


def _edges(p: Param) -> list[tuple[Any, str]]:
    if p.default is None:
        return []
    if p.type == "bool":
        return [(not p.default, "other value")]
    if p.type == "choice":
        return [(c, "choice") for c in p.choices or () if c != p.default]
    if p.type in ("int", "float"):
        cast = int if p.type == "int" else float
        out = []
        if p.min is not None:
            out.append((cast(math.ceil(p.min) if p.type == "int" else p.min), "min"))
        if p.max is not None:
            out.append((cast(math.floor(p.max) if p.type == "int" else p.max), "max"))
        return out
    return []


def _draw(p: Param, rng: np.random.Generator) -> Any:
    if p.type == "bool":
        return bool(rng.integers(0, 2))
    if p.type == "choice":
        choices = list(p.choices or ())
        return choices[int(rng.integers(0, len(choices)))]
    lo, hi = _range(p)
    if p.type == "int":
        return int(rng.integers(math.ceil(lo), math.floor(hi) + 1))
    if lo > 0 and hi / lo > 100:  # spans decades: sample the exponent
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    return float(rng.uniform(lo, hi))


def _range(p: Param) -> tuple[float, float]:
    d = float(p.default)
    if p.type == "int":
        lo = p.min if p.min is not None else d - 5
        hi = p.max if p.max is not None else max(d, lo, 1) * 4
    else:
        spread = 10.0
        lo = p.min if p.min is not None else (d / spread if d > 0 else d - max(1.0, abs(d)))
        hi = p.max if p.max is not None else (d * spread if d > 0 else d + max(1.0, abs(d)))
        if d > 0:
            lo, hi = max(lo, d / spread), min(hi, d * spread)
    return float(min(lo, hi)), float(max(lo, hi))
