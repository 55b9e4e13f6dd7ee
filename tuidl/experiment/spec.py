"""The experiment spec: plain data with a TOML form.

A :class:`Spec` is everything a run needs besides the data files: which dataset and split,
the preprocessing chain, the model and (for learnable models) its loss, initializer,
optimizer and training schedule, the cross-validation method and the hyperparameter grid,
and the seed. Its TOML form is the one users edit::

    seed = 0

    [dataset]
    name = "cifar10"
    path = "data/cifar-10-batches-py"

    [split]
    num_training = 5000
    num_validation = 0
    num_test = 500

    [[preprocess]]
    name = "reshape"
    dtype = "float64"

    [model]
    name = "knn"
    k = 10

    [cv]
    method = "kfold"
    folds = 5

    [cv.grid]
    "model.k" = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]

Component tables (``dataset``, each ``preprocess`` step, ``model``, ``loss``, ``init``,
``optimizer``) hold ``name`` plus that component's params, checked against its schema in the
registry. Keys are addressed by dotted paths (``model.k``, ``training.batch_size``,
``preprocess.2.k`` -- preprocess steps are numbered **from 1**, so ``2`` is the second step, as
the workbench's outline shows it; see :mod:`tuidl.experiment.spec_steps` for older specs); ``--set``
and ``[cv.grid]`` use the same paths.

How it fails: :func:`load_spec`, :meth:`Spec.from_dict`, :func:`apply_overrides` and
:func:`~tuidl.experiment.spec_check.validate` raise :class:`tuidl.TuidlError` whose message
starts with the key path (``model.k: ...``) and says what is allowed. Unknown keys, tables
and components are errors. Checking a spec against the registry (components, params, the
grid) lives in :mod:`tuidl.experiment.spec_check`; writing it back in
:mod:`tuidl.experiment.spec_toml`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tuidl.errors import TuidlError
from tuidl.experiment.space import SearchSpec
from tuidl.experiment.spec_schema import check_settings, default, tidy_for_toml
from tuidl.experiment.spec_steps import STEPS_MARKER, renumber_old_steps, step_index
from tuidl.experiment.spec_toml import dumps_toml

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")  # a settings table's dataclass (_plain)

# spec table -> registry kind
COMPONENT_KINDS = {
    "dataset": "dataset",
    "preprocess": "preprocessor",
    "model": "model",
    "loss": "loss",
    "init": "initializer",
    "optimizer": "optimizer",
}
TOP_LEVEL_KEYS = (
    "name",
    "seed",
    "dataset",
    "split",
    "preprocess",
    "model",
    "loss",
    "init",
    "optimizer",
    "training",
    "cv",
    "search",
)
# Tables a grid may vary. The data (dataset, split) and the CV scheme stay fixed within a
# run, otherwise trials would be scored on different rows and their means not comparable.
GRID_SECTIONS = ("model", "loss", "init", "optimizer", "training", "preprocess")

# Used when a learnable model's spec leaves the table out.
LEARNABLE_DEFAULTS = {
    "loss": "softmax",
    "init": "small_random",
    "optimizer": "sgd",
}
# The tables only a learnable model uses (ignored, and left out when saved, for kNN).
LEARNING_TABLES = (*LEARNABLE_DEFAULTS, "training")


@dataclass
class ComponentSpec:
    """A registered component by name, with the params given for it."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


@dataclass
class SplitSpec:
    """Row counts of the train / validation / test split (see ``tuidl.experiment.split``).

    ``shuffle`` and ``stratify`` apply to the split itself (seeded by the run's seed).
    """

    num_training: int = default("split", "num_training")
    num_validation: int = default("split", "num_validation")
    num_test: int = default("split", "num_test")
    shuffle: bool = default("split", "shuffle")
    stratify: bool = default("split", "stratify")


@dataclass
class TrainingSpec:
    """The minibatch schedule of a learnable model.

    Exactly one of ``epochs`` and ``iterations`` is used; with neither, ``epochs = 10``.
    ``sampling`` is ``"replacement"`` (each batch drawn with ``rng.choice``, the classic
    recipe; an epoch is ``max(N // batch_size, 1)`` iterations) or ``"epoch"`` (a shuffled
    pass over every row; an epoch is ``ceil(N / batch_size)`` iterations). ``patience`` > 0
    stops a fold after that many epochs without a better validation accuracy; ``keep_best``
    restores the parameters of the best validation epoch at the end. ``train_sample`` bounds
    the rows used for the per-epoch train accuracy (it is a progress signal, not a score).
    """

    epochs: float | None = default("training", "epochs")
    iterations: int | None = default("training", "iterations")
    batch_size: int = default("training", "batch_size")
    sampling: str = default("training", "sampling")
    patience: int = default("training", "patience")
    keep_best: bool = default("training", "keep_best")
    train_sample: int = default("training", "train_sample")
    health: bool = default("training", "health")
    schedule: str = default("training", "schedule")
    warmup_epochs: float = default("training", "warmup_epochs")
    step_epochs: float = default("training", "step_epochs")
    step_factor: float = default("training", "step_factor")


@dataclass
class CVSpec:
    """How trials are scored: ``kfold`` over the training rows, or ``holdout`` on the
    split's validation rows; and the grid of values to try (dotted key -> list)."""

    method: str = default("cv", "method")
    folds: int = default("cv", "folds")
    shuffle: bool = default("cv", "shuffle")
    stratify: bool = default("cv", "stratify")
    prune: bool = default("cv", "prune")
    prune_alpha: float = default("cv", "prune_alpha")
    select: str = default("cv", "select")
    refit: str = default("cv", "refit")
    grid: dict[str, list[Any]] = field(default_factory=dict)


@dataclass
class Spec:
    """One experiment. ``loss``/``init``/``optimizer``/``training`` matter only for
    learnable models and are ignored for the others (kNN)."""

    dataset: ComponentSpec
    model: ComponentSpec
    split: SplitSpec = field(default_factory=SplitSpec)
    preprocess: list[ComponentSpec] = field(default_factory=list)
    loss: ComponentSpec | None = None
    init: ComponentSpec | None = None
    optimizer: ComponentSpec | None = None
    training: TrainingSpec | None = None
    cv: CVSpec = field(default_factory=CVSpec)
    seed: int = default("run", "seed")
    name: str = default("run", "name")
    # [search]: the searcher and its space (tuidl.experiment.space); None: the plain grid
    search: SearchSpec | None = None

    def require_training(self) -> TrainingSpec:
        """The ``[training]`` table, which validation fills in for every learnable model;
        a spec without one (a model tuidl does not train) raises :class:`TuidlError`."""
        if self.training is None:
            raise TuidlError(
                f"training: model {self.model.name!r} has no [training] table; "
                "validate the spec first (it fills in the defaults of a learnable model)"
            )
        return self.training

    # -- conversion -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spec:
        """Build a spec from its TOML-shaped dict; unknown keys and bad types raise."""
        if not isinstance(data, dict):
            raise TuidlError("spec: expected a table of tables")
        _check_keys("", data, TOP_LEVEL_KEYS)
        for required in ("dataset", "model"):
            if required not in data:
                raise TuidlError(f"{required}: missing table [{required}] (it needs a name)")
        pre = data.get("preprocess", [])
        if not isinstance(pre, list):
            raise TuidlError("preprocess: expected an array of tables ([[preprocess]])")
        spec = cls(
            dataset=_component("dataset", data["dataset"]),
            model=_component("model", data["model"]),
            split=_plain(SplitSpec, "split", data.get("split", {})),
            preprocess=[_component(f"preprocess.{i}", p) for i, p in enumerate(pre, 1)],
            loss=_component("loss", data["loss"]) if "loss" in data else None,
            init=_component("init", data["init"]) if "init" in data else None,
            optimizer=_component("optimizer", data["optimizer"]) if "optimizer" in data else None,
            training=_plain(TrainingSpec, "training", data["training"])
            if "training" in data
            else None,
            cv=_cv(data.get("cv", {})),
            seed=data.get("seed", default("run", "seed")),
            name=data.get("name", default("run", "name")),
            search=SearchSpec.from_dict(data["search"]) if "search" in data else None,
        )
        check_settings(spec)
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped dict (``None`` tables left out); ``from_dict`` inverts it."""
        d: dict[str, Any] = {}
        if self.name:
            d["name"] = self.name
        d["seed"] = self.seed
        d["dataset"] = self.dataset.to_dict()
        d["split"] = _fields(self.split)
        if self.preprocess:
            d["preprocess"] = [p.to_dict() for p in self.preprocess]
        d["model"] = self.model.to_dict()
        for key in ("loss", "init", "optimizer"):
            comp = getattr(self, key)
            if comp is not None:
                d[key] = comp.to_dict()
        if self.training is not None:
            d["training"] = {k: v for k, v in _fields(self.training).items() if v is not None}
        cv = _fields(self.cv)
        grid = cv.pop("grid")
        if grid:
            cv["grid"] = grid
        d["cv"] = cv
        if self.search is not None and not self.search.is_default:
            d["search"] = self.search.to_dict()
        return tidy_for_toml(d)  # 400.0 epochs is written as 400 (the field takes fractions)

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    def copy(self) -> Spec:
        return copy.deepcopy(self)

    def with_values(self, values: dict[str, Any]) -> Spec:
        """A copy with dotted keys set (a grid point or overrides); raises on a bad path."""
        data = self.to_dict()
        for key, value in values.items():
            set_path(data, key, value)
        return Spec.from_dict(data)

    @property
    def preprocess_key(self) -> str:
        """A stable key for the preprocessing chain (used to cache its output per fold)."""
        return json.dumps([p.to_dict() for p in self.preprocess], sort_keys=True)


# -- reading ---------------------------------------------------------------------------------


def load_spec(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Spec:
    """Read a spec file and apply ``--set key=value`` overrides (not yet validated against
    the registry: call :func:`validate` for that). A missing file or bad TOML raises."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TuidlError(f"spec file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise TuidlError(f"spec file {str(path)!r} is a folder; give a .toml file") from None
    except OSError as exc:
        raise TuidlError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise TuidlError(
            f"spec file {str(path)!r} is not UTF-8 text (line {line}, byte {exc.start}); "
            "a spec is TOML, saved as UTF-8"
        ) from None
    return loads_spec(text, overrides, source=str(path))


def loads_spec(
    text: str,
    overrides: list[str] | tuple[str, ...] = (),
    source: str = "spec",
    *,
    stored: bool = False,
) -> Spec:
    """Read a spec from TOML text with ``--set`` overrides (see :func:`loads_spec_data`)."""
    return Spec.from_dict(loads_spec_data(text, overrides, source, stored=stored))


def stored_spec(run: dict[str, Any]) -> Spec:
    """The spec of a stored run (a ``Store.get_run`` dict), read from its stored TOML so a
    run stored by an older tuidl keeps the steps its grid varied (see spec_steps)."""
    return loads_spec(run["spec_toml"], source=f"run {run.get('id', '?')}'s spec", stored=True)


def loads_spec_data(
    text: str,
    overrides: list[str] | tuple[str, ...] = (),
    source: str = "spec",
    *,
    stored: bool = False,
) -> dict[str, Any]:
    """The TOML-shaped dict of a spec's text, overrides applied, step numbers in the current
    form (an old 0-based spec is renumbered where that is unambiguous; ``stored``: the text
    is a run's stored spec, see :mod:`tuidl.experiment.spec_steps`). Bad TOML raises."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TuidlError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses per nesting level: [[[[...]]]] 500 deep
        raise TuidlError(f"{source}: arrays or tables nested too deeply to read") from None
    overrides = renumber_old_steps(
        data, list(overrides), marked=STEPS_MARKER in text, stored=stored
    )
    apply_overrides(data, overrides)
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``"model.k=5"`` -> ``("model.k", 5)``: the value is read as a TOML value (number,
    bool, string in quotes, list) when it parses as one, else taken as a plain string."""
    if "=" not in text:
        raise TuidlError(f"--set {text!r}: expected KEY=VALUE, e.g. model.k=5")
    key, raw = text.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if not key:
        raise TuidlError(f"--set {text!r}: the key is empty")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        raise TuidlError(f"--set {key}: the value is nested too deeply to read") from None
    return key, value


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> None:
    """Apply ``--set`` strings to a TOML-shaped dict in place."""
    for text in overrides:
        key, value = parse_override(text)
        set_path(data, key, value)


def split_path(key: str) -> list[str]:
    """``"cv.grid.model.k"`` -> ``["cv", "grid", "model.k"]``: everything after ``cv.grid.``
    is one grid key; otherwise the path splits on dots."""
    if key.startswith("cv.grid."):
        return ["cv", "grid", key[len("cv.grid.") :].strip('"')]
    if key.startswith("search.space."):  # the same for a searched key
        return ["search", "space", key[len("search.space.") :].strip('"')]
    parts = key.split(".")
    if any(not p for p in parts):
        raise TuidlError(f"{key}: not a valid key path (empty part)")
    return parts


def set_path(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key in a TOML-shaped dict, creating tables as needed. ``preprocess.N``
    indexes the existing steps, numbered from 1; an index out of range raises."""
    parts = split_path(key)
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        where = ".".join(parts[: i + 1])
        if isinstance(node, list):
            node = node[step_index(node, part, where)]
            continue
        if not isinstance(node, dict):
            raise TuidlError(f"{key}: {'.'.join(parts[:i])} is a value, not a table")
        if part not in node:
            if part == "preprocess":
                raise TuidlError(f"{key}: the spec has no [[preprocess]] steps")
            node[part] = {}
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[step_index(node, last, key)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise TuidlError(f"{key}: {'.'.join(parts[:-1])} is a value, not a table")


def get_path(data: dict[str, Any], key: str) -> Any:
    """Read a dotted key from a TOML-shaped dict; a missing key raises ``KeyError``."""
    node: Any = data
    for part in split_path(key):
        if isinstance(node, list):
            try:
                node = node[step_index(node, part, key)]
            except TuidlError:
                raise KeyError(key) from None
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return node


def _check_keys(where: str, data: dict[str, Any], allowed: tuple[str, ...] | list[str]) -> None:
    for key in data:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise TuidlError(f"{path}: unknown key; allowed here: {', '.join(allowed)}")


def _component(where: str, data: Any) -> ComponentSpec:
    if not isinstance(data, dict):
        raise TuidlError(f"{where}: expected a table with a name")
    if "name" not in data:
        raise TuidlError(f"{where}.name: missing; every component table needs a name")
    name = data["name"]
    if not isinstance(name, str) or not name:
        raise TuidlError(f"{where}.name: expected a component name (a string), got {name!r}")
    return ComponentSpec(name, {k: v for k, v in data.items() if k != "name"})


def _fields(obj: Any) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in vars(obj).items()}


def _plain(cls: type[_D], where: str, data: Any) -> _D:
    if not isinstance(data, dict):
        raise TuidlError(f"{where}: expected a table")
    allowed = [f.name for f in dataclasses.fields(cls)]
    _check_keys(where, data, allowed)
    return cls(**data)


def _cv(data: Any) -> CVSpec:
    if not isinstance(data, dict):
        raise TuidlError("cv: expected a table")
    data = dict(data)
    grid = data.pop("grid", {})
    cv = _plain(CVSpec, "cv", data)
    if not isinstance(grid, dict):
        raise TuidlError('cv.grid: expected a table of "key" = [values]')
    cv.grid = dict(grid)
    return cv
