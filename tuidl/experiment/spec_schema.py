"""The spec's own settings, declared once as :class:`~tuidl.plugins.schema.Param` schemas.

Components' params live on their :class:`~tuidl.plugins.schema.Component`; the settings that
belong to the spec itself -- the top level (``name``, ``seed``; the workbench calls it the
"run" table), ``[split]``, ``[training]`` and ``[cv]`` -- are declared here, in the same form.
Everything that reads or shows a setting uses these declarations: the spec dataclasses take
their defaults from them, :func:`check_settings` (spec reading and ``spec check``) validates
with them, and the workbench's forms are generated from them (``Backend.settings``).

Rules that involve more than one field (``epochs`` xor ``iterations``, ``folds`` only counting
for ``kfold``) are in :func:`check_settings` too, so there is one place to read them all.

How it fails: :func:`check_settings` raises :class:`tuidl.TuidlError` whose message starts
with the key path (``split.num_training: got 0; must be >= 1``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from tuidl.engine.schedules import SCHEDULES
from tuidl.errors import TuidlError
from tuidl.plugins.schema import Param

# numpy's seed range (np.random.default_rng and RandomState take 0 .. 2**32 - 1 without
# complaint; RandomState refuses anything beyond), so a seed outside it is refused at check
# time rather than crashing the run after it was stored.
SEED_MAX = 2**32 - 1

SETTINGS: dict[str, tuple[Param, ...]] = {
    "run": (
        Param("name", "str", "", "a label for the run (shown in history)"),
        Param(
            "seed",
            "int",
            0,
            "seeds the split, the folds, init and minibatches",
            min=0,
            max=SEED_MAX,
        ),
    ),
    "split": (
        Param("num_training", "int", 1000, "rows to train on (folds are cut from these)", min=1),
        Param("num_validation", "int", 0, "rows held out for holdout validation", min=0),
        Param("num_test", "int", 500, "rows the retrained best is tested on, once", min=0),
        Param("shuffle", "bool", False, "shuffle rows before splitting (seeded)"),
        Param("stratify", "bool", False, "keep class proportions in every part"),
    ),
    "training": (
        Param(
            "epochs",
            "float",
            None,
            "passes over the training rows (none given: 10, unless iterations is set)",
            min=0.001,
            # a bound so a typo (1e300) is an error, not a run that never ends
            max=100_000,
            nullable=True,
        ),
        Param(
            "iterations",
            "int",
            None,
            "minibatch steps, instead of epochs",
            min=1,
            max=1_000_000_000,
            nullable=True,
        ),
        Param("batch_size", "int", 200, "rows per minibatch (N: full batch, 1: SGD)", min=1),
        Param(
            "sampling",
            "choice",
            "replacement",
            "batches drawn with replacement (classic) or shuffled epochs",
            choices=("replacement", "epoch"),
        ),
        Param("patience", "int", 0, "stop after this many epochs without val gain (0: off)", min=0),
        Param("keep_best", "bool", True, "restore the params of the best validation epoch"),
        Param("train_sample", "int", 1000, "rows used for the per-epoch train accuracy", min=1),
        Param(
            "health",
            "bool",
            True,
            "record per-layer health while training: update/weight ratios, gradient norms, "
            "dead ReLUs (about 200 samples a fold; under 1% of the time)",
        ),
        Param(
            "schedule",
            "choice",
            "constant",
            "learning-rate schedule on top of the optimizer's lr and lr_decay: constant, "
            "cosine (to 0 at the end) or step (times step_factor every step_epochs)",
            choices=SCHEDULES,
        ),
        Param("warmup_epochs", "float", 0.0, "epochs of linear lr warmup (0: none)", min=0.0),
        Param("step_epochs", "float", 1.0, "epochs between steps (schedule = step)", min=0.001),
        Param(
            "step_factor",
            "float",
            0.1,
            "lr multiplier at each step (schedule = step)",
            min=1e-6,
            max=1.0,
        ),
    ),
    "cv": (
        Param(
            "method",
            "choice",
            "kfold",
            "k folds of the training rows, or holdout on validation",
            choices=("kfold", "holdout"),
        ),
        Param("folds", "int", 5, "number of folds (kfold only; holdout ignores it)", min=2),
        Param("shuffle", "bool", False, "shuffle rows before cutting folds (else contiguous)"),
        Param("stratify", "bool", False, "keep class proportions in each fold"),
        Param(
            "prune",
            "bool",
            False,
            "stop a trial clearly behind the best after 2+ folds (corrected t-test at "
            "prune_alpha; kfold only); its status is pruned",
        ),
        Param(
            "prune_alpha",
            "float",
            0.05,
            "significance of the pruning test: lower prunes less, and more surely",
            min=1e-6,
            max=0.5,
        ),
        Param(
            "select",
            "choice",
            "best",
            "which trial is tested: the best mean, or one_se: the simplest trial within one "
            "corrected standard error of the best (see docs/experiments.md, ranking)",
            choices=("best", "one_se"),
        ),
        Param(
            "refit",
            "choice",
            "auto",
            "the tested model: reuse the selected trial's holdout model, retrain it on all "
            "training rows, or auto (reuse for holdout, retrain for kfold)",
            choices=("auto", "reuse", "retrain"),
        ),
    ),
}

# epochs when a learnable model's [training] gives neither epochs nor iterations
DEFAULT_EPOCHS = 10.0


def setting(table: str, name: str) -> Param:
    """The declaration of one setting (``setting("split", "num_training")``)."""
    for p in SETTINGS[table]:
        if p.name == name:
            return p
    raise KeyError(f"{table}.{name}")


def default(table: str, name: str) -> Any:
    """A setting's default, for the spec dataclasses' fields."""
    return setting(table, name).default


_TYPE_WORDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}


def check_value(where: str, param: Param, value: Any) -> Any:
    """``value`` coerced to ``param``'s type and range-checked, or a TuidlError that starts
    with ``where`` (``split.num_training: got 0; must be >= 1``).

    Unlike a component's param, a setting read from TOML is not parsed from text: ``"5"``
    is not an integer here (``--set`` already parses values as TOML)."""
    if value is None:
        if param.nullable:
            return None
        raise TuidlError(f"{where}: got no value; expected {_TYPE_WORDS.get(param.type, '')}")
    if param.type == "choice":
        if value in (param.choices or ()) and isinstance(value, str):
            return value
        raise TuidlError(
            f"{where}: got {value!r}; allowed: {', '.join(map(str, param.choices or ()))}"
        )
    if param.type == "str":
        if isinstance(value, str):
            return value
        raise TuidlError(f"{where}: got {value!r}; expected a string")
    if isinstance(value, str) or isinstance(value, bool) != (param.type == "bool"):
        raise TuidlError(f"{where}: got {value!r}; expected {_TYPE_WORDS[param.type]}")
    if param.type == "bool":
        return value
    if not isinstance(value, int | float):
        raise TuidlError(f"{where}: got {value!r}; expected {_TYPE_WORDS[param.type]}")
    if param.type == "int":
        if isinstance(value, float) and not value.is_integer():
            raise TuidlError(f"{where}: got {value!r}; expected an integer")
        out: Any = int(value)
    else:
        out = float(value)
        if not math.isfinite(out):
            raise TuidlError(f"{where}: got {value!r}; expected a finite number")
    if _outside(param, out):
        raise TuidlError(f"{where}: got {value!r}; must be {_bounds(param)}")
    return out


def _outside(p: Param, v: Any) -> bool:
    return (p.min is not None and v < p.min) or (p.max is not None and v > p.max)


def _bounds(p: Param) -> str:
    lo = _num(p.min)
    hi = _num(p.max)
    if p.min is not None and p.max is not None:
        return f"between {lo} and {hi}"
    return f">= {lo}" if p.min is not None else f"<= {hi}"


def _num(v: float | None) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def check_settings(spec: Any) -> None:
    """Validate (and coerce in place) every setting of ``spec`` against :data:`SETTINGS`,
    then the rules between settings. Raises TuidlError naming the key path."""
    spec.name = check_value("name", setting("run", "name"), spec.name)
    spec.seed = check_value("seed", setting("run", "seed"), spec.seed)
    _check_table("split", spec.split)
    t = spec.training
    if t is not None:
        _check_table("training", t)
        if t.epochs is not None and t.iterations is not None:
            raise TuidlError("training: give either epochs or iterations, not both")
    c = spec.cv
    if c.method not in ("kfold", "holdout"):
        c.method = check_value("cv.method", setting("cv", "method"), c.method)
    skip = () if c.method == "kfold" else ("folds",)
    _check_table("cv", c, skip=skip)
    if skip:  # holdout ignores folds; it only has to be an integer
        c.folds = check_value("cv.folds", replace(setting("cv", "folds"), min=None), c.folds)
    else:
        from tuidl.experiment.grid import check_fold_count

        check_fold_count(c.folds, spec.split.num_training)
    if c.refit == "reuse" and c.method != "holdout":
        raise TuidlError(
            "cv.refit: got 'reuse' with cv.method = 'kfold'; k-fold trains one model per fold "
            "and none on all training rows, so there is no model to reuse: use refit = "
            "'retrain' (or 'auto'), or cv.method = 'holdout'"
        )
    for key, values in c.grid.items():
        if not isinstance(values, list):
            raise TuidlError(f"cv.grid.{key}: expected a list of values, got {values!r}")
        if not values:
            raise TuidlError(f"cv.grid.{key}: the list is empty; give at least one value")


def _check_table(table: str, obj: Any, skip: tuple[str, ...] = ()) -> None:
    for p in SETTINGS[table]:
        if p.name not in skip:
            setattr(obj, p.name, check_value(f"{table}.{p.name}", p, getattr(obj, p.name)))


def toml_number(value: Any) -> Any:
    """A whole float as an int (``400.0`` -> ``400``), for writing ``epochs``: the field is a
    float because fractional epochs are allowed, but a user who typed 400 reads 400."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def tidy_for_toml(data: dict[str, Any]) -> dict[str, Any]:
    """A TOML-shaped spec dict as it is written: ``training.epochs`` as an int when whole
    (see :func:`toml_number`). Returns a shallow copy; ``data`` is not changed."""
    training = data.get("training")
    if isinstance(training, dict) and isinstance(training.get("epochs"), float):
        data = {**data, "training": {**training, "epochs": toml_number(training["epochs"])}}
    return data
