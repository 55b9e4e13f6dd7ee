"""Honest ranking: which trials are statistically indistinguishable from the best, and the
one-standard-error rule that picks the simplest of them.

Every ``ok`` trial is compared with the best (the highest mean: see
:func:`tuidl.experiment.store.best_trial`, whose tie rule this module reuses). The best is
the trial that scored highest *on these folds*; a trial a hair behind it is not shown to
be worse. A trial is **≈ best** (``near_best``) when a one-sided test at level
:data:`ALPHA` does not find it worse.

k-fold: the corrected resampled t-test of Nadeau and Bengio (2003). The per-fold
differences ``d_j = best_j - trial_j`` over the ``J`` folds both trials have are not
independent -- every two training sets share (k-2)/(k-1) of their rows -- so the plain
paired t-test's variance ``s²/J`` is far too small and calls half the grid "worse". The
corrected variance is ``(1/J + n_test/n_train) · s²`` with ``n_test/n_train = 1/(k-1)``
for k folds; ``t = mean(d) / sqrt(that)``, Student's t with ``J - 1`` degrees of freedom.
With ``s² = 0`` the difference is the same on every fold: a positive one is "worse"
(p = 0), none at all is "equal" (p = 1). Fewer than two shared folds: no test (``p`` is
``None`` and the trial is not marked).

holdout: one score per trial on the same ``n`` validation rows. Without per-row
predictions, the two accuracies are compared as binomial proportions:
``z = d / sqrt((a(1-a) + b(1-b)) / n)``, normal. This ignores the positive correlation of
two models' errors on the same rows, which *overstates* the variance, so the test is
conservative: it marks at least every trial a paired (McNemar) test would.

The one-standard-error rule (``cv.select = "one_se"``): among the trials whose mean is
within one corrected standard error of the best's (``d <= se``, i.e. ``t <= 1``; every
such trial is also ≈ best), pick the **simplest**. Simplicity is a documented ordering:
the grid keys are taken in the order the spec lists them, and on each key whose param
declares ``simpler`` (:class:`tuidl.plugins.schema.Param`: ``reg`` higher, ``hidden_sizes``
lower -- total units, then layers --, ``dropout`` keep probability lower, kNN's ``k``
higher) the simpler value wins; the first key that differs decides. Keys that say nothing
about simplicity (``lr``) are skipped; trials equal on every such key go to the higher
mean, then the earlier trial. ``cv.select = "best"`` (the default) is the classic choice.

The module is pure (numpy and the standard library: no scipy import, see :func:`t_sf`); it
raises :class:`ValueError` for an unknown rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ALPHA = 0.05
"""Significance level of the one-sided test behind "≈ best"."""

RULES = ("best", "one_se")
NEAR_MARK = "≈"
"""How the views mark a trial that is not significantly worse than the best."""


@dataclass(frozen=True)
class Comparison:
    """One trial against the best: ``diff`` (best mean - this mean over the shared folds),
    ``se`` (its corrected standard error), ``p`` (one-sided p-value of "this trial is
    worse"), ``near_best`` (not significantly worse; the best itself is). ``None`` where no
    test was possible (one shared fold in k-fold, no validation rows in holdout)."""

    trial: int
    diff: float | None
    se: float | None
    p: float | None
    near_best: bool

    def to_dict(self) -> dict[str, Any]:
        return {"diff": self.diff, "se": self.se, "p": self.p, "near_best": self.near_best}


def best_index(trials: Sequence[Mapping[str, Any]]) -> int | None:
    """The best ``ok`` trial's index by the store's rule (highest mean, lower std, earlier)."""
    from tuidl.experiment.store import best_trial  # the one rule for "best"

    best = best_trial(trials)
    return None if best is None else int(best["trial"])


def compare(
    trials: Sequence[Mapping[str, Any]],
    *,
    method: str,
    folds: int,
    num_validation: int = 0,
    alpha: float = ALPHA,
) -> dict[int, Comparison]:
    """Compare every ``ok`` trial with the best (see the module docstring).

    ``trials``: dicts with ``index``, ``status``, ``mean`` and ``fold_scores`` (a list by
    fold, ``None`` where missing), as :meth:`tuidl.experiment.store.Store.get_run` gives
    them. ``method``: ``"kfold"`` or ``"holdout"``; ``folds``: k; ``num_validation``: the
    holdout's validation rows. Returns ``{trial index: Comparison}`` for the ``ok`` trials
    with a mean; empty when none is.
    """
    best = best_index(trials)
    if best is None:
        return {}
    by_index = {int(t["index"]): t for t in trials}
    b = by_index[best]
    out: dict[int, Comparison] = {}
    for t in trials:
        if t["status"] != "ok" or t["mean"] is None:
            continue
        i = int(t["index"])
        if i == best:
            out[i] = Comparison(i, 0.0, 0.0, 1.0, True)
        elif method == "kfold":
            out[i] = _kfold(i, b["fold_scores"], t["fold_scores"], folds, alpha)
        else:
            out[i] = _holdout(i, b["mean"], t["mean"], num_validation, alpha)
    return out


def corrected_t(diffs: Sequence[float], test_train_ratio: float) -> tuple[float, float, float]:
    """(mean difference, corrected standard error, one-sided p-value) of Nadeau and
    Bengio's corrected resampled t-test over paired per-fold differences ``diffs`` (at
    least two); ``test_train_ratio`` is ``n_test / n_train`` of one fold."""
    d = np.asarray(diffs, dtype=np.float64)
    j = len(d)
    if j < 2:
        raise ValueError(f"the corrected t-test needs at least 2 paired folds, got {j}")
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    se = math.sqrt((1.0 / j + test_train_ratio) * var)
    if se == 0.0 or not math.isfinite(se):
        return mean, 0.0, (0.0 if mean > 0 else 1.0)
    return mean, se, t_sf(mean / se, j - 1)


def t_sf(t: float, df: int) -> float:
    """Student's t survival function ``P(T > t)`` with ``df`` degrees of freedom, through
    the regularized incomplete beta function (equal to ``scipy.stats.t.sf`` to ~1e-12;
    the tests compare). In plain Python: importing scipy costs one to several seconds,
    which ``tuidl show`` and the workbench's first table draw during a run would pay."""
    if t < 0:
        return 1.0 - t_sf(-t, df)
    x = df / (df + t * t)
    return 0.5 * _betai(df / 2.0, 0.5, x)


def _betai(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (Numerical Recipes 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), by the modified Lentz method."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _kfold(i: int, best_scores, scores, folds: int, alpha: float) -> Comparison:
    pairs = [
        (a, b)
        for a, b in zip(best_scores or [], scores or [], strict=False)
        if a is not None and b is not None
    ]
    if len(pairs) < 2:
        return Comparison(i, None, None, None, False)
    diffs = [a - b for a, b in pairs]
    mean, se, p = corrected_t(diffs, 1.0 / max(folds - 1, 1))
    return Comparison(i, mean, se, p, p >= alpha)


def _holdout(i: int, best: float, score: float, n: int, alpha: float) -> Comparison:
    if n <= 0:
        return Comparison(i, None, None, None, False)
    d = best - score
    se = math.sqrt((best * (1 - best) + score * (1 - score)) / n)
    # the normal survival function, without importing scipy (see t_sf)
    p = (0.0 if d > 0 else 1.0) if se == 0.0 else 0.5 * math.erfc(d / se / math.sqrt(2.0))
    return Comparison(i, d, se, p, p >= alpha)


def candidates(comparisons: Mapping[int, Comparison], rule: str) -> list[int]:
    """The trials ``rule`` may pick: the best alone for ``"best"``; for ``"one_se"`` every
    trial within one corrected standard error of the best (``diff <= se``)."""
    if rule not in RULES:
        raise ValueError(f"cv.select {rule!r}: allowed {', '.join(RULES)}")
    best = [i for i, c in comparisons.items() if c.diff == 0.0 and c.se == 0.0 and c.p == 1.0]
    if rule == "best":
        return best[:1]
    return sorted(
        i
        for i, c in comparisons.items()
        if c.diff is not None and c.se is not None and c.diff <= c.se + 1e-12
    )


def select(
    trials: Sequence[Mapping[str, Any]],
    comparisons: Mapping[int, Comparison],
    rule: str,
    simpler: Mapping[str, str],
    keys: Sequence[str] = (),
) -> int | None:
    """The trial ``rule`` picks (``None`` when no trial is ok). ``"best"``: the best trial.
    ``"one_se"``: the simplest :func:`candidates` trial by :func:`simplicity_key` over
    ``keys`` (the grid keys in spec order) and ``simpler`` (key -> ``"higher"``/``"lower"``,
    from :func:`directions`); ties go to the higher mean, then the earlier trial."""
    if rule == "best":
        return best_index(trials)
    pool = set(candidates(comparisons, rule))
    if not pool:
        return best_index(trials)
    by_index = {int(t["index"]): t for t in trials}

    def key(i: int):
        t = by_index[i]
        return (simplicity_key(t["params"], simpler, keys), -t["mean"], i)

    return min(pool, key=key)


def simplicity_key(
    params: Mapping[str, Any], simpler: Mapping[str, str], keys: Sequence[str]
) -> tuple[float, ...]:
    """A sort key, smallest = simplest: for each of ``keys`` with a direction in
    ``simpler``, the value (a list counts as (total, length)) negated when higher is
    simpler. Keys a trial lacks, or whose value is not a number or list of numbers, count
    as equal."""
    out: list[float] = []
    for k in keys:
        way = simpler.get(k)
        if way is None:
            continue
        sign = -1.0 if way == "higher" else 1.0
        for v in _magnitude(params.get(k)):
            out.append(sign * v)
    return tuple(out)


def _magnitude(value: Any) -> tuple[float, float]:
    if isinstance(value, bool) or value is None:
        return (0.0, 0.0)
    if isinstance(value, int | float):
        return (float(value), 0.0)
    if isinstance(value, list | tuple) and all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in value
    ):
        return (float(sum(value)), float(len(value)))
    return (0.0, 0.0)


def directions(spec: Any, registry: Any) -> dict[str, str]:
    """``{grid key: "higher" | "lower"}`` for the grid keys of ``spec`` whose component param
    declares ``simpler`` (``"model.reg"`` -> the model component's ``reg`` param). Keys
    that name no declared param are left out."""
    out: dict[str, str] = {}
    for key in getattr(spec.cv, "grid", {}):
        table, _, name = str(key).partition(".")
        comp = getattr(spec, table, None)
        if not name or comp is None or not hasattr(comp, "name"):
            continue
        kind = "initializer" if table == "init" else table
        try:
            component = registry.get(kind, comp.name)
        except Exception:  # an unknown component says nothing about simplicity
            continue
        for p in getattr(component, "params", ()):
            if p.name == name and getattr(p, "simpler", None):
                out[str(key)] = p.simpler
    return out


def marks(
    trials: Sequence[Mapping[str, Any]],
    *,
    method: str,
    folds: int,
    num_validation: int = 0,
) -> dict[int, str]:
    """``{trial index: "≈"}`` for the trials that are not significantly worse than the best
    (the best included), what the tables show next to the mean."""
    comps = compare(trials, method=method, folds=folds, num_validation=num_validation)
    return {i: NEAR_MARK for i, c in comps.items() if c.near_best}


def for_run(spec: Mapping[str, Any], trials: Sequence[Mapping[str, Any]]) -> dict[int, Comparison]:
    """:func:`compare` for a stored run: ``spec`` is its TOML-shaped dict (``run["spec"]``:
    cv.method, cv.folds, split.num_validation), ``trials`` its trial dicts. What the
    views (``tuidl show``, ``--json``, the workbench's Results) mark with ≈."""
    cv = spec.get("cv", {}) or {}
    method = cv.get("method", "kfold")
    return compare(
        trials,
        method=method,
        folds=int(cv.get("folds", 5) or 5) if method == "kfold" else 1,
        num_validation=int((spec.get("split", {}) or {}).get("num_validation", 0) or 0),
    )
