"""The spec's search: which searcher, its params, and the space it searches.

The ``[search]`` table (all of it optional; without it a run is today's grid)::

    [search]
    method = "random"        # a registered searcher: grid (default), random, halving, ...
    trials = 20              # the searcher's own params (see `tuidl plugins`)

    [search.space]
    "optimizer.lr" = {log_uniform = [1e-5, 1e-2]}
    "model.reg" = {uniform = [0.0, 0.5]}
    "training.batch_size" = {int = [32, 256], log = true}
    "model.hidden_sizes" = {choice = [[100], [200, 100]]}
    "loss.name" = ["svm", "softmax"]        # a plain list is a choice

Keys are the dotted paths ``[cv.grid]`` takes (any param of a component, a component's
``name``, ``training`` keys, ``preprocess.N.param``). Lists in ``[cv.grid]`` join the space
as choices the ``grid`` searcher takes in full; a key may not be in both.

- :func:`dimensions`: the spec's space as :class:`~tuidl.plugins.search.Dimension` in
  order (``[cv.grid]`` first, then ``[search.space]``).
- :func:`parse_dimension`: one ``[search.space]`` value; :func:`check_space`: every key names
  something and every range fits the param's own min/max.
- :func:`refine`: a narrower space around the best configurations of a run (``tuidl run
  --refine``).

How it fails: :class:`tuidl.TuidlError` whose message starts with the key path
(``search.space.optimizer.lr: log_uniform: low 0 ...``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tuidl.errors import TuidlError
from tuidl.plugins.search import DISTRIBUTIONS, Dimension

SPACE = "search.space"
DEFAULT_METHOD = "grid"


@dataclass
class SearchSpec:
    """The ``[search]`` table: ``method`` (a registered searcher), its ``params`` (the
    table's other keys) and ``space`` (``[search.space]``: key -> distribution or list)."""

    method: str = DEFAULT_METHOD
    params: dict[str, Any] = field(default_factory=dict)
    space: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> SearchSpec:
        if not isinstance(data, dict):
            raise TuidlError('search: expected a table ([search] method = "random", ...)')
        data = dict(data)
        method = data.pop("method", DEFAULT_METHOD)
        if not isinstance(method, str) or not method:
            raise TuidlError(f"search.method: expected a searcher's name, got {method!r}")
        space = data.pop("space", {})
        if not isinstance(space, dict):
            raise TuidlError('search.space: expected a table of "key" = {distribution}')
        return cls(method, data, dict(space))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, **self.params}
        if self.space:
            out["space"] = dict(self.space)
        return out

    @property
    def is_default(self) -> bool:
        """The plain grid with nothing else: the spec is written without ``[search]``."""
        return self.method == DEFAULT_METHOD and not self.params and not self.space


def parse_dimension(key: str, value: Any) -> Dimension:
    """One ``[search.space]`` entry as a Dimension; a malformed one raises naming
    ``search.space.KEY``."""
    where = f"{SPACE}.{key}"
    if isinstance(value, list):
        dim = Dimension(key, "choice", values=tuple(value))
    elif isinstance(value, dict):
        kinds = [k for k in value if k in DISTRIBUTIONS]
        unknown = [k for k in value if k not in DISTRIBUTIONS and k != "log"]
        if unknown or len(kinds) != 1:
            got = ", ".join(map(repr, unknown or list(value))) or "nothing"
            raise TuidlError(
                f"{where}: unknown distribution {got}; give one of "
                f"{', '.join(DISTRIBUTIONS)}, e.g. {{log_uniform = [1e-5, 1e-2]}}"
            )
        kind = kinds[0]
        arg = value[kind]
        log = value.get("log", False)
        if not isinstance(log, bool):
            raise TuidlError(f"{where}.log: expected true or false, got {log!r}")
        if log and kind != "int":
            raise TuidlError(
                f"{where}: log = true goes with int; for floats use log_uniform instead of {kind}"
            )
        if kind == "choice":
            if not isinstance(arg, list):
                raise TuidlError(f"{where}: choice takes a list of values, got {arg!r}")
            dim = Dimension(key, "choice", values=tuple(arg))
        else:
            if (
                not isinstance(arg, list)
                or len(arg) != 2
                or any(isinstance(v, bool) or not isinstance(v, int | float) for v in arg)
            ):
                raise TuidlError(f"{where}: {kind} takes [low, high], two numbers; got {arg!r}")
            dim = Dimension(key, kind, low=float(arg[0]), high=float(arg[1]), log=log)
    else:
        raise TuidlError(
            f"{where}: expected a distribution such as {{log_uniform = [1e-5, 1e-2]}} or a "
            f"list of values, got {value!r}"
        )
    try:
        dim.check()
    except TuidlError as exc:
        raise TuidlError(f"{where}: {exc}") from None
    return dim


def dimensions(spec: Any) -> list[Dimension]:
    """The searched keys of ``spec``: its ``[cv.grid]`` lists (``grid=True``), then its
    ``[search.space]`` entries, in the order written. A key in both raises."""
    out = [Dimension(k, "choice", values=tuple(v), grid=True) for k, v in spec.cv.grid.items()]
    search = getattr(spec, "search", None)
    for key, value in (search.space if search is not None else {}).items():
        if key in spec.cv.grid:
            raise TuidlError(
                f"{SPACE}.{key}: also in [cv.grid]; give each key once (a list in "
                "[search.space] is a choice too)"
            )
        out.append(parse_dimension(key, value))
    return out


def check_space(spec: Any, registry: Any, check_key, validate_point) -> None:
    """Every ``[search.space]`` key names something a grid may vary (``check_key(spec,
    key)``, the grid's own rule) and every value the range can give fits the param:
    ``validate_point(point)`` on the range's ends (and every choice) must pass. Errors start
    with ``search.space.KEY``."""
    search = getattr(spec, "search", None)
    if search is None:
        return
    for dim in dimensions(spec):
        if dim.grid:
            continue
        where = f"{SPACE}.{dim.key}"
        try:
            check_key(spec, dim.key)
        except TuidlError as exc:
            raise TuidlError(str(exc).replace(f"cv.grid.{dim.key}", where, 1)) from None
        if dim.kind == "choice":
            ends = list(dim.values)
        elif dim.kind == "int":
            ends = [int(b) for b in dim.bounds]
        else:
            ends = [dim.low, dim.high]
        for value in ends:
            try:
                validate_point({dim.key: value})
            except TuidlError as exc:
                text = str(exc)
                if text.startswith("cv.grid point ("):  # name the range, not a grid point
                    text = text.split("): ", 1)[-1]
                raise TuidlError(f"{where}: {_label(dim)} reaches {value!r}: {text}") from None


def _label(dim: Dimension) -> str:
    body = dim.to_toml()
    if isinstance(body, dict):
        return "{" + ", ".join(f"{k} = {v}" for k, v in body.items()) + "}"
    return str(body)


# -- coarse to fine --------------------------------------------------------------------------


def refine(
    dims: Sequence[Dimension], top: Sequence[dict[str, Any]], *, shrink: float = 0.5
) -> dict[str, Any]:
    """The space narrowed around ``top`` (the params of the best trials, best first).

    A numeric range spans the top values, widened by ``shrink`` of their spread (at least a
    tenth of the old span) on its own scale (log stays log), clipped to the old range. A
    numeric ``[cv.grid]`` list stays a grid list of as many values, spread evenly over the
    narrowed range on its scale (log when the old values are positive and span >= 10x). A
    choice (or a list of strings) keeps the values the top trials used. Returns ``{key:
    TOML value}``: a list for a grid key (it goes back to ``[cv.grid]``), the distribution
    table otherwise (``[search.space]``)."""
    out: dict[str, Any] = {}
    for dim in dims:
        values = [t[dim.key] for t in top if dim.key in t]
        if not values:
            out[dim.key] = dim.to_toml() if not dim.grid else {"choice": list(dim.values)}
            continue
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if dim.kind == "choice" and not (dim.grid and numeric and _all_numeric(dim.values)):
            kept = [v for v in dim.values if v in values]
            out[dim.key] = kept if dim.grid else {"choice": kept}
            continue
        lo0, hi0, log, is_int = _range_of(dim)
        f = (lambda v: math.log(v)) if log else (lambda v: float(v))
        g = (lambda v: math.exp(v)) if log else (lambda v: v)
        span = f(hi0) - f(lo0)
        lo, hi = min(f(v) for v in values), max(f(v) for v in values)
        pad = max((hi - lo) * shrink, span * 0.1) if span > 0 else 0.0
        new_lo, new_hi = g(max(f(lo0), lo - pad)), g(min(f(hi0), hi + pad))
        if dim.grid:
            out[dim.key] = _spread(f(new_lo), f(new_hi), len(dim.values), g, is_int)
            continue
        if is_int:
            a, b = math.floor(new_lo), math.ceil(new_hi)
            if a == b:
                out[dim.key] = {"choice": [a]}
                continue
            body: dict[str, Any] = {"int": [a, b]}
            if log:
                body["log"] = True
            out[dim.key] = body
        elif new_lo >= new_hi:
            out[dim.key] = {"choice": [values[0]]}
        else:
            out[dim.key] = {("log_uniform" if log else "uniform"): [_round(new_lo), _round(new_hi)]}
    return out


def _spread(lo: float, hi: float, n: int, g, is_int: bool) -> list[Any]:
    """``n`` values evenly spaced in ``[lo, hi]`` (already on the scale), mapped back by
    ``g``; integers rounded and deduplicated."""
    n = max(n, 1)
    raw = [g(lo + (hi - lo) * i / (n - 1)) if n > 1 else g((lo + hi) / 2) for i in range(n)]
    if is_int:
        return list(dict.fromkeys(round(v) for v in raw))
    return list(dict.fromkeys(_round(v) for v in raw))


def _all_numeric(values: Sequence[Any]) -> bool:
    return len(values) > 1 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def _range_of(dim: Dimension) -> tuple[float, float, bool, bool]:
    """(low, high, log scale, integers) of a numeric dimension or numeric grid list."""
    if dim.kind != "choice":
        lo, hi = dim.bounds
        return float(lo), float(hi), dim.is_log, dim.kind == "int"
    vals = [float(v) for v in dim.values]
    lo, hi = min(vals), max(vals)
    log = lo > 0 and hi / lo >= 10
    is_int = all(isinstance(v, int) for v in dim.values)
    return lo, hi, log, is_int


def _round(v: float) -> float:
    """Four significant digits: a spec a person reads."""
    return float(f"{v:.4g}")


def with_tables(user_spec: Any, validated: Any) -> Any:
    """``user_spec`` with the tables it left out that its validated form filled in (a
    learnable model's ``[loss]``, ``[init]``, ``[optimizer]``, ``[training]``), by name
    only so their params keep their defaults: a searched ``optimizer.lr`` then has a table
    to go to. Tables the user wrote are untouched."""
    from tuidl.experiment.spec import ComponentSpec

    out = user_spec.copy()
    for table in ("loss", "init", "optimizer"):
        if getattr(out, table) is None and getattr(validated, table) is not None:
            setattr(out, table, ComponentSpec(getattr(validated, table).name))
    if out.training is None and validated.training is not None:
        out.training = validated.training
    return out


def searched_keys(spec: dict[str, Any], params: Sequence[dict[str, Any]] = ()) -> list[str]:
    """The keys a run's trials differ in, for the views' columns: the ``[cv.grid]`` keys,
    then the ``[search.space]`` keys, in the order written, then any other key a trial's
    ``params`` holds (a halving rung's ``training.epochs``). ``spec`` is the TOML-shaped
    dict (a stored run's ``spec``)."""
    keys = list(spec.get("cv", {}).get("grid", {}))
    search = spec.get("search")
    if isinstance(search, dict):
        keys += [k for k in search.get("space", {}) if k not in keys]
    for p in params:
        keys += [k for k in p if k not in keys]
    return keys
