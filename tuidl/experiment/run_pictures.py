"""What a run's pictures show, for the CLI and the workbench alike: the first-layer weights
of the retrained best, and the test images of one confusion pair (true class, predicted
class). Drawing them is :mod:`tuidl.pictures`' part; this module finds the data and says
why there is none.

The test images are never stored: they are rebuilt from the run's stored spec and seed by
the very split the run used (:func:`tuidl.experiment.runner.load_data`), and matched with
the stored predictions (:mod:`tuidl.experiment.store_pictures`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tuidl.errors import TuidlError
from tuidl.experiment import store_pictures
from tuidl.experiment.store_pictures import image_shape

MAX_EXAMPLES = 8


@dataclass
class WeightRows:
    rows: np.ndarray  # (units, dim)
    image_shape: tuple[int, ...]
    labels: list[str]
    title: str


def weights(store: Any, run: dict[str, Any]) -> WeightRows | str:
    """The first-layer weights of ``run`` (a :meth:`Store.get_run` dict) as rows to draw:
    the retrained best's once it is tested, before that the latest live weights of a
    training fold; or a sentence saying why there are none (a run from before pictures
    were stored, a model without :class:`tuidl.api.ShowsWeights`, rows that are no images,
    preprocessing that changed the number of features)."""
    if not run.get("test"):
        live = store_pictures.load_live(store, run["id"])
        if live is None:
            return (
                "no weights to show yet: they are drawn after the first epoch of a learnable "
                "model on images, and kept for the retrained best"
            )
        where = "the final retrain" if live.fold < 0 else f"fold {live.fold + 1}"
        when = f"config {live.trial + 1}, {where}, epoch {live.epoch:g}"
        return _rows(run, live.weights, live.image_shape, live.per_class, live.total_units,
                     live.class_names, f" ({when})")  # fmt: skip
    pics = store_pictures.load(store, run["id"])
    if pics is None:
        return "no weights to show: this run was stored before tuidl kept weights"
    if pics.weights is None:
        return f"no weights to show: {pics.note or 'the model has none'}"
    names = [str(n) for n in run["test"].get("class_names") or []]
    return _rows(run, pics.weights, pics.image_shape, pics.per_class, pics.total_units, names, "")


def _rows(run, rows, shape, per_class, total, names, when) -> WeightRows | str:
    if image_shape(shape) is None:
        return f"no weights to show as pictures: the dataset's rows {list(shape)} are no images"
    dim = int(np.prod(shape))
    steps = [str(s.get("name")) for s in run.get("spec", {}).get("preprocess", []) or []]
    if rows.shape[1] == dim + 1 and "bias_trick" in steps:
        rows = rows[:, :-1]  # the bias trick's column of ones comes last: its weight is a bias
    if rows.shape[1] != dim:
        return (
            f"no weights to show as pictures: the first layer sees {rows.shape[1]} "
            f"features after preprocessing, not the {dim} pixels of a {'×'.join(map(str, shape))} "
            "image (a step such as pca changes them)"
        )
    units = rows.shape[0]
    if per_class and len(names) == units:
        labels, title = list(names), "per-class templates of the linear classifier"
    else:
        labels = [f"unit {i + 1}" for i in range(units)]
        title = "first-layer weights"
        if total > units:
            title += f" (the first {units} of {total} units)"
    return WeightRows(rows, tuple(shape), labels, title + when)


def class_index(text: str, class_names: list[str]) -> int:
    """A class given by name or number (``cat`` or ``3``); raises :class:`TuidlError`."""
    t = text.strip()
    if t in class_names:
        return class_names.index(t)
    if t.isdigit() and int(t) < len(class_names):
        return int(t)
    raise TuidlError(
        f"class {text!r} is not one of this run's classes ({', '.join(class_names[:20])}"
        f"{', ...' if len(class_names) > 20 else ''}); give a name or a number 0.."
        f"{len(class_names) - 1}"
    )


def parse_pair(text: str, class_names: list[str]) -> tuple[int, int]:
    """``TRUE,PRED`` (names or numbers) as class indices; raises :class:`TuidlError`."""
    parts = text.split(",")
    if len(parts) != 2:
        raise TuidlError(
            f"--examples {text!r}: give the true and the predicted class as TRUE,PRED "
            "(e.g. 3,5 or cat,dog)"
        )
    return class_index(parts[0], class_names), class_index(parts[1], class_names)


def biggest_confusion(confusion: list[list[int]] | None) -> tuple[int, int] | None:
    """The off-diagonal cell with the most test rows (the mistake most worth a look), or
    the first diagonal cell when there is no mistake; ``None`` without a matrix."""
    if not confusion:
        return None
    cm = np.asarray(confusion)
    off = cm.copy()
    np.fill_diagonal(off, -1)
    if off.max() > 0:
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        return int(t), int(p)
    return 0, 0


@dataclass
class Examples:
    images: np.ndarray  # (n, ...) the test rows as the dataset gives them
    rows: list[int]  # their test-row numbers
    total: int  # how many test rows have this pair
    image_shape: tuple[int, ...]


def examples(
    store: Any,
    run: dict[str, Any],
    true: int,
    pred: int,
    *,
    registry: Any = None,
    limit: int = MAX_EXAMPLES,
    data: Any = None,
) -> Examples:
    """Up to ``limit`` test images of ``run`` whose true class is ``true`` and predicted
    class ``pred``. Loads the run's split (:func:`test_data`; seconds for CIFAR-10) unless
    ``data`` gives it. Raises :class:`TuidlError` saying why there are none to show."""
    if run.get("test") and run["test"].get("metrics"):
        raise TuidlError(
            f"run {run['id']} has attribute (multi-label) targets: there is no confusion "
            "matrix to pick examples from"
        )
    if not run.get("test") or not run["test"].get("confusion"):
        raise TuidlError(
            f"run {run['id']} has no confusion matrix yet: examples come from the test of "
            "the retrained best, at the end of the run"
        )
    pics = store_pictures.load(store, run["id"])
    if pics is None or pics.predictions is None:
        raise TuidlError(
            f"run {run['id']} was stored before tuidl kept test predictions; rerun it "
            f"(`tuidl show {run['id']} --spec > spec.toml && tuidl run spec.toml`)"
        )
    data = data if data is not None else test_data(run, registry)
    y = np.asarray(data.y_test)
    if len(y) != len(pics.predictions):
        raise TuidlError(
            f"run {run['id']}: the dataset now gives {len(y)} test rows, the run predicted "
            f"{len(pics.predictions)}; its data changed since the run"
        )
    hits = np.flatnonzero((y == true) & (pics.predictions == pred))
    chosen = hits[:limit]
    return Examples(
        np.asarray(data.X_test[chosen]),
        [int(i) for i in chosen],
        len(hits),
        tuple(data.X_test.shape[1:]),
    )


def test_data(run: dict[str, Any], registry: Any = None) -> Any:
    """The run's split, rebuilt from its stored spec and seed exactly as the runner built
    it (:func:`tuidl.experiment.runner.load_data`); its ``X_test`` / ``y_test`` are the
    rows the stored predictions are for."""
    from tuidl.experiment.runner import load_data
    from tuidl.experiment.spec import loads_spec
    from tuidl.experiment.spec_check import validate

    if registry is None:
        from tuidl.plugins.manager import get_registry

        registry = get_registry()
    spec = validate(loads_spec(run["spec_toml"], stored=True), registry)
    return load_data(spec, registry)
