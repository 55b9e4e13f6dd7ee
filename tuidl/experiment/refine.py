"""Coarse to fine: a new spec whose space narrows around the best trials of a finished run
(``tuidl run --refine RUN_ID``).

The top trials are the best quarter of the run's ``ok`` trials by mean (at least
:data:`MIN_TOP`, or all when fewer). Each searched key narrows around their values on its own
scale (see :func:`tuidl.experiment.space.refine`): a ``[search.space]`` range stays a range
(log stays log), a numeric ``[cv.grid]`` list stays a grid list of as many values over the
narrowed range, a choice keeps the values the top trials used. Everything else -- data,
split, model, searcher and its params, seed -- is the run's own spec.

How it fails: :class:`tuidl.TuidlError` for a run that is not finished, has no ``ok``
trial, or searched nothing; writing the file names the path.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.space import SearchSpec, dimensions, refine
from tuidl.experiment.spec import Spec, loads_spec

MIN_TOP = 3


def top_trials(trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The best quarter of the ``ok`` trials by mean (at least :data:`MIN_TOP`), best first."""
    ok = [t for t in trials if t["status"] == "ok" and t["mean"] is not None]
    ok.sort(key=lambda t: (-t["mean"], t["index"]))
    return ok[: max(MIN_TOP, math.ceil(len(ok) / 4))]


def refined_spec(run: dict[str, Any]) -> Spec:
    """The spec of a stored run (``Store.get_run``) with its space narrowed around its top
    trials; raises :class:`TuidlError` when there is nothing to refine."""
    rid = run["id"]
    if run["status"] != "finished":
        raise TuidlError(
            f"run {rid} is {run['status']}; --refine narrows around a finished run's best "
            f"trials (finish it with `tuidl run --resume {rid}`)"
        )
    spec = loads_spec(run["spec_toml"], stored=True)
    dims = dimensions(spec)
    if not dims:
        raise TuidlError(
            f"run {rid} searched nothing (no [cv.grid] or [search.space]); there is no range "
            "to narrow"
        )
    top = top_trials(run["trials"])
    if not top:
        raise TuidlError(f"run {rid} has no trial that finished ok; nothing to refine around")
    new = refine(dims, [t["params"] for t in top])
    out = spec.copy()
    out.cv.grid = {d.key: new[d.key] for d in dims if d.grid}
    space = {d.key: new[d.key] for d in dims if not d.grid}
    search = out.search or SearchSpec()
    out.search = SearchSpec(search.method, dict(search.params), space) if space else search
    if search.method == "grid" and any(
        isinstance(v, dict) and "choice" not in v for v in space.values()
    ):
        out.search = SearchSpec("random", {"trials": max(len(run["trials"]), 1)}, space)
    label = spec.name or f"run {rid}"
    out.name = f"{label} (refined from run {rid})"
    return out


def write_refined(run: dict[str, Any], folder: str | Path = ".") -> tuple[Spec, Path]:
    """:func:`refined_spec` written to ``FOLDER/run<ID>-refined.toml`` (``-2``, ``-3``, ...
    when taken); returns the spec and the path. A folder that cannot take it raises."""
    spec = refined_spec(run)
    folder = Path(folder)
    path = folder / f"run{run['id']}-refined.toml"
    n = 2
    while path.exists():
        path = folder / f"run{run['id']}-refined-{n}.toml"
        n += 1
    try:
        path.write_text(spec.to_toml(), encoding="utf-8")
    except OSError as exc:
        raise TuidlError(
            f"cannot write the refined spec to {str(path)!r}: {exc.strerror}; run from a "
            "folder you can write to"
        ) from None
    return spec, path
