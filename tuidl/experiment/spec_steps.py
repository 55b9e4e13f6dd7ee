"""How a key path names a preprocessing step: by its number, counted from 1.

Everything a user reads numbers steps, configurations and folds from 1: the workbench's
outline ("4. pca"), ``tuidl show``, and key paths, so the fourth step's ``k`` is
``preprocess.4.k`` in ``[cv.grid]``, in ``--set`` and in error messages.

Specs written before tuidl 0.3 counted steps in key paths from 0. Such a spec is still read
where that is unambiguous:

- a key with step ``0`` can only be the old form, so a spec file whose grid uses step 0
  anywhere is read as old: all its grid's step numbers are shifted by one when it is read;
  the same holds, on their own, for a command's ``--set`` keys (old habits, new file);
- a stored run (the runner reading its own store) is old unless its text carries
  :data:`STEPS_MARKER`, which every spec tuidl writes now begins with, so resuming a run
  stored by an older tuidl varies the same steps it did.

A hand-written spec without step 0 and without the marker (``preprocess.2.k``) is read in
the current form (the second step): the two forms cannot be told apart, and if the meaning
changed, the error for a param the step does not take says that steps count from 1.
"""

from __future__ import annotations

from typing import Any

from tuidl.errors import TuidlError

STEPS_FROM = 1
# The first line of every spec tuidl writes: it says the text numbers steps from 1.
STEPS_MARKER = "# tuidl spec: preprocess steps are numbered from 1 (preprocess.1 is the first)"


def step_index(items: list, part: str, where: str) -> int:
    """The list index of the step ``part`` names (``"1"`` -> ``0``) in ``items``; a
    TuidlError names ``where`` when it is not a number or out of range."""
    try:
        n = int(part)
    except ValueError:
        raise TuidlError(
            f"{where}: preprocess steps are addressed by number, from 1 (preprocess.1.PARAM)"
        ) from None
    if not STEPS_FROM <= n < len(items) + STEPS_FROM:
        raise TuidlError(
            f"{where}: the spec has {len(items)} preprocess step(s), numbered from 1"
            + (f" (1..{len(items)})" if items else "")
        )
    return n - STEPS_FROM


def _step_of(key: str) -> tuple[str, int, str] | None:
    """``"preprocess.2.k"`` (or ``"cv.grid.preprocess.2.k"``) -> (prefix, 2, rest)."""
    for prefix in ("preprocess.", "cv.grid.preprocess.", 'cv.grid."preprocess.'):
        if key.startswith(prefix):
            number, _, rest = key[len(prefix) :].partition(".")
            if number.isdigit():
                return prefix, int(number), rest
    return None


def _shifted(key: str) -> str:
    parts = _step_of(key)
    if parts is None:
        return key
    prefix, number, rest = parts
    return f"{prefix}{number + 1}" + (f".{rest}" if rest else "")


def renumber_old_steps(
    data: dict[str, Any], overrides: list[str], *, marked: bool, stored: bool
) -> list[str]:
    """Read an old (0-based) spec in the current form, in place; returns the overrides.

    ``marked``: the text begins with :data:`STEPS_MARKER`; ``stored``: it comes from the run
    store. See the module docstring for when a spec is old.
    """
    if marked:
        return list(overrides)
    cv = data.get("cv")
    if isinstance(cv, dict):
        grid = cv.get("grid")
        if isinstance(grid, dict) and (stored or _uses_zero(grid)):
            cv["grid"] = {_shifted(k): v for k, v in grid.items()}
    keys = [o.partition("=")[0].strip() for o in overrides]
    if not (stored or _uses_zero(keys)):
        return list(overrides)
    out = []
    for text, key in zip(overrides, keys, strict=True):
        _, sep, value = text.partition("=")
        out.append(_shifted(key) + sep + value if sep else text)
    return out


def _uses_zero(keys: Any) -> bool:
    return any((p := _step_of(k)) is not None and p[1] == 0 for k in keys)


def stored_point(point: dict[str, Any], spec_toml: str) -> dict[str, Any]:
    """A stored trial's grid values (``{"preprocess.1.k": 20}``) with its keys in the current
    form: renumbered when the run was stored by a tuidl that counted steps from 0 (its
    ``spec_toml`` lacks :data:`STEPS_MARKER`)."""
    if STEPS_MARKER in spec_toml:
        return dict(point)
    return {_shifted(k): v for k, v in point.items()}
