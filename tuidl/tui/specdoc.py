"""The spec being edited: a TOML-shaped dict plus the registry that gives it meaning.

This module is plain Python (no Textual, no numpy) so it is easy to test and so the widgets stay
thin: they call :class:`SpecDoc` methods and redraw. The dict has exactly the shape of the TOML
that ``tuidl run`` reads::

    {"dataset": {"name": "digits", ...}, "split": {...}, "preprocess": [{"name": "pca", "k": 20}],
     "model": {...}, "loss": {...}, "init": {...}, "optimizer": {...}, "training": {...},
     "cv": {"method": "kfold", "folds": 5, "grid": {"model.k": [1, 3, 5]}}}

Values are stored already validated; what a user typed that does not validate never reaches the
dict: it is kept in :attr:`SpecDoc.pending` with the schema's message, counts as a problem in
:meth:`SpecDoc.errors` (so the outline marks its section) and makes :meth:`SpecDoc.export` refuse,
so Run and Save never use the last valid value behind the user's back.

The rules come from the experiment layer (component kinds, the learnable defaults, which tables
only learnable models use, whether a model is learnable); nothing here re-implements them.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.grid import grid_points, num_folds
from tuidl.experiment.spec import COMPONENT_KINDS, LEARNABLE_DEFAULTS, LEARNING_TABLES
from tuidl.experiment.spec_check import component_learnable
from tuidl.experiment.spec_schema import setting
from tuidl.experiment.spec_steps import STEPS_FROM
from tuidl.plugins.registry import Registry
from tuidl.plugins.schema import Component, Param
from tuidl.tui.valuetext import (
    blank_to_none,
    range_text,
    shape_text,
    split_list_values,
    split_values,
    values_text,
)

# spec table -> component kind, for the tables that name one component (the spec layer's
# map without the preprocess array, which the outline shows step by step)
COMPONENT_SECTIONS = {k: v for k, v in COMPONENT_KINDS.items() if k != "preprocess"}
# tables that only matter for models trained by the minibatch loop
LEARNING_SECTIONS = LEARNING_TABLES
# tables whose params come from the spec layer rather than from a component; "run" is the
# spec's top level (name, seed)
SETTINGS_SECTIONS = ("run", "split", "training", "cv")
SEARCHABLE_TYPES = ("int", "float", "choice", "list")

# The number of the first preprocessing step in key paths ("preprocess.1.k"): the spec layer's
# convention. Section keys ("preprocess.0") are list indexes, internal to the workbench.
STEP_INDEX_BASE = STEPS_FROM


@dataclass(frozen=True)
class Section:
    """One row of the pipeline list: a table of the spec (or one preprocessing step)."""

    key: str  # "dataset", "split", "preprocess.0", "model", ..., "cv"
    title: str
    kind: str | None = None  # component kind, when the section names a component

    @property
    def is_step(self) -> bool:
        return self.key.startswith("preprocess.")

    @property
    def step_index(self) -> int:
        return int(self.key.split(".", 1)[1])


class SpecDoc:
    """An editable spec: the dict, validation against the schemas, and pipeline operations."""

    def __init__(
        self, registry: Registry, data: dict[str, Any], settings: dict[str, tuple[Param, ...]]
    ):
        self.registry = registry
        self.settings = settings
        self.data = _normalize(copy.deepcopy(data))
        self._learnable_cache: dict[str, bool | None] = {}
        # the spec layer's whole-spec check (cross-field rules, grid points); set by the app
        self.checker: Callable[[dict[str, Any]], str] | None = None
        self._checked: tuple[str, str] | None = None
        # what the user typed that did not validate: (section, param, is_search) -> (the
        # text or value, the schema's message); see edit()
        self.pending: dict[tuple[str, str, bool], tuple[Any, str]] = {}

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def default(
        cls, registry: Registry, settings: dict[str, tuple[Param, ...]], dataset: str = "digits"
    ) -> SpecDoc:
        """A runnable starting point: the dataset, a reshape step if there is one, kNN over k."""
        data: dict[str, Any] = {p.name: p.default for p in settings.get("run", ())}
        names = registry.names("dataset")
        if names:
            name = dataset if dataset in names else names[0]
            data["dataset"] = {"name": name, **_defaults(registry.get("dataset", name))}
        data["split"] = {p.name: p.default for p in settings.get("split", ())}
        data["preprocess"] = []
        for step in ("reshape", "flatten"):
            if step in registry.names("preprocessor"):
                data["preprocess"].append(
                    {"name": step, **_defaults(registry.get("preprocessor", step))}
                )
                break
        doc = cls(registry, data, settings)
        models = registry.names("model")
        if models:
            doc.set_component("model", "knn" if "knn" in models else models[0])
        for section, preferred in LEARNABLE_DEFAULTS.items():
            names = registry.names(COMPONENT_SECTIONS[section])
            if names:
                doc.set_component(section, preferred if preferred in names else names[0])
        doc.data["training"] = {p.name: p.default for p in settings.get("training", ())}
        doc.data["cv"] = {p.name: p.default for p in settings.get("cv", ())}
        doc.data["cv"]["grid"] = {}
        comp = doc.component("model")
        if comp is not None and any(p.name == "k" for p in comp.params):
            doc.data["cv"]["grid"]["model.k"] = [1, 3, 5, 8, 10]
        return doc

    def copy(self) -> SpecDoc:
        return SpecDoc(self.registry, self.data, self.settings)

    # ---- sections -----------------------------------------------------------------------
    def sections(self) -> list[Section]:
        out = [Section("dataset", "Dataset", "dataset"), Section("split", "Split")]
        for i, step in enumerate(self.data.get("preprocess", [])):
            out.append(
                Section(f"preprocess.{i}", f"{i + 1}. {step.get('name', '?')}", "preprocessor")
            )
        out.append(Section("model", "Model", "model"))
        out.append(Section("loss", "Loss", "loss"))
        out.append(Section("init", "Init", "initializer"))
        out.append(Section("optimizer", "Optimizer", "optimizer"))
        out.append(Section("training", "Training"))
        out.append(Section("cv", "CV"))
        out.append(Section("run", "Seed"))
        return out

    def table(self, section: str) -> dict[str, Any]:
        """The dict behind a section (created empty if missing)."""
        if section.startswith("preprocess."):
            return self.data["preprocess"][int(section.split(".", 1)[1])]
        if section == "run":
            return self.data
        return self.data.setdefault(section, {})

    def has_table(self, section: str) -> bool:
        return section in self.data or section == "run" or section.startswith("preprocess.")

    def component(self, section: str) -> Component | None:
        """The component a section names, or ``None`` (a settings table, or an unknown name)."""
        kind: str | None
        if section.startswith("preprocess."):
            kind = "preprocessor"
        else:
            kind = COMPONENT_SECTIONS.get(section)
        if kind is None:
            return None
        name = self.table(section).get("name")
        if name is None or name not in self.registry.components[kind]:
            return None
        return self.registry.components[kind][name]

    def params(self, section: str) -> tuple[Param, ...]:
        """The schema of a section's params (component params, or the spec layer's settings)."""
        comp = self.component(section)
        if comp is not None:
            return comp.params
        return self.settings.get(section, ())

    def owner(self, section: str) -> str:
        comp = self.component(section)
        return comp.label if comp is not None else section

    # ---- editing ------------------------------------------------------------------------
    def set_component(self, section: str, name: str) -> None:
        """Choose the component of a section; keep old values the new schema still accepts."""
        kind = "preprocessor" if section.startswith("preprocess.") else COMPONENT_SECTIONS[section]
        comp = self.registry.get(kind, name)
        old = self.table(section) if (section in self.data or section.startswith("pre")) else {}
        new: dict[str, Any] = {"name": comp.key}
        for p in comp.params:
            value = p.default
            if p.name in old:
                with contextlib.suppress(TuidlError):
                    value = p.validate(old[p.name], comp.label)
            new[p.name] = value
        if section.startswith("preprocess."):
            self.data["preprocess"][int(section.split(".", 1)[1])] = new
        else:
            self.data[section] = new
        self._drop_pending(section)  # the form is rebuilt from the new component's schema
        # grid keys that no longer name a param of this section go away
        prefix = self.grid_prefix(section)
        for key in list(self.grid):
            if key.startswith(prefix + ".") and key != f"{prefix}.name":
                pname = key[len(prefix) + 1 :]
                if not any(p.name == pname for p in comp.params):
                    del self.grid[key]

    def edit(self, section: str, name: str, value: Any, *, grid: bool = False) -> Any:
        """What a form calls for every change: :meth:`set_grid` (``grid``) or :meth:`set_param`.

        A value that does not validate raises as they do *and* is remembered in
        :attr:`pending` until it is corrected, so :meth:`errors` reports it and
        :meth:`export` refuses; the dict keeps the last valid value meanwhile.
        """
        key = (section, name, grid)
        try:
            out = (
                self.set_grid(section, name, value)
                if grid
                else self.set_param(section, name, value)
            )
        except TuidlError as exc:
            self.pending[key] = (value, str(exc))
            raise
        self.pending.pop(key, None)
        return out

    def pending_for(self, section: str, name: str) -> dict[bool, tuple[Any, str]]:
        """``{is_search: (typed, message)}`` for one param (what a rebuilt form shows)."""
        return {g: v for (sec, n, g), v in self.pending.items() if (sec, n) == (section, name)}

    def _drop_pending(self, section_prefix: str) -> None:
        for key in [
            k
            for k in self.pending
            if k[0] == section_prefix or k[0].startswith(section_prefix + ".")
        ]:
            del self.pending[key]

    def set_param(self, section: str, name: str, value: Any) -> Any:
        """Validate ``value`` (typed, or text from a form) and store it; raise with the message."""
        param = self._param(section, name)
        checked = param.validate(blank_to_none(value, param), self.owner(section))
        self.table(section)[name] = checked
        return checked

    def check_param(self, section: str, name: str, value: Any) -> Any:
        """Like :meth:`set_param` without storing (for a form's inline check)."""
        param = self._param(section, name)
        return param.validate(blank_to_none(value, param), self.owner(section))

    def _param(self, section: str, name: str) -> Param:
        for p in self.params(section):
            if p.name == name:
                return p
        raise TuidlError(f"{self.owner(section)} has no parameter {name!r}")

    # ---- preprocessing chain ------------------------------------------------------------
    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.data.setdefault("preprocess", [])

    def add_step(self, name: str, index: int | None = None) -> int:
        comp = self.registry.get("preprocessor", name)
        index = len(self.steps) if index is None else max(0, min(index, len(self.steps)))
        self._shift_step_grid(lambda i: i + 1 if i >= index else i)
        self._drop_pending("preprocess")
        self.steps.insert(index, {"name": comp.key, **_defaults(comp)})
        return index

    def remove_step(self, index: int) -> None:
        if not 0 <= index < len(self.steps):
            raise TuidlError(f"there is no preprocessing step {index + 1}")
        del self.steps[index]
        self._drop_pending("preprocess")
        prefix = self.grid_prefix(f"preprocess.{index}")
        for key in list(self.grid):
            if key.startswith(prefix + "."):
                del self.grid[key]
        self._shift_step_grid(lambda i: i - 1 if i > index else i)

    def move_step(self, index: int, delta: int) -> int:
        target = index + delta
        if not (0 <= index < len(self.steps) and 0 <= target < len(self.steps)):
            return index
        steps = self.steps
        steps[index], steps[target] = steps[target], steps[index]
        self._drop_pending("preprocess")
        self._shift_step_grid(lambda i: target if i == index else index if i == target else i)
        return target

    def _shift_step_grid(self, mapping) -> None:
        grid = self.grid
        moved: dict[str, Any] = {}
        for key in list(grid):
            parts = key.split(".")
            if parts[0] == "preprocess" and len(parts) >= 3 and parts[1].isdigit():
                i = int(parts[1]) - STEP_INDEX_BASE
                parts[1] = str(mapping(i) + STEP_INDEX_BASE)
                moved[".".join(parts)] = grid.pop(key)
        grid.update(moved)

    # ---- the grid -----------------------------------------------------------------------
    @property
    def grid(self) -> dict[str, list[Any]]:
        return self.data.setdefault("cv", {}).setdefault("grid", {})

    def grid_prefix(self, section: str) -> str:
        if section.startswith("preprocess."):
            return f"preprocess.{int(section.split('.', 1)[1]) + STEP_INDEX_BASE}"
        return section

    def grid_key(self, section: str, name: str) -> str:
        return f"{self.grid_prefix(section)}.{name}"

    def searchable(self, section: str, name: str) -> bool:
        if name == "name":
            return section in ("loss", "init", "optimizer")
        try:
            return self._param(section, name).type in SEARCHABLE_TYPES
        except TuidlError:
            return False

    def set_grid(self, section: str, name: str, text: str | Iterable[Any]) -> list[Any] | None:
        """Set the values to search for a param from ``"1, 3, 5"`` (or a list); blank removes.

        Each value is checked against the param's schema; the first bad one raises with its
        message. Returns the stored list (``None`` when removed).
        """
        key = self.grid_key(section, name)
        is_list = name != "name" and self._param(section, name).type == "list"
        if isinstance(text, str) and ".." in text and not is_list and name != "name":
            return self._set_range(section, name, text)
        self.space.pop(key, None)  # a list replaces a range
        if isinstance(text, str):
            items = split_list_values(text) if is_list else split_values(text)
        else:
            items = list(text)
        if not items:
            self.grid.pop(key, None)
            return None
        if name == "name":
            kind = COMPONENT_SECTIONS[section]
            values = [self.registry.get(kind, str(v)).key for v in items]
        else:
            param = self._param(section, name)
            if param.type not in SEARCHABLE_TYPES:
                raise TuidlError(
                    f"{self.owner(section)}: {name!r} is a {param.type}; only numbers, "
                    "choices and lists can be searched"
                )
            values = [param.validate(v, self.owner(section)) for v in items]
        if len(set(map(repr, values))) != len(values):
            raise TuidlError(f"{key}: a value is listed twice")
        self.grid[key] = values
        return values

    @property
    def space(self) -> dict[str, Any]:
        """``[search.space]``: the searched ranges (key -> distribution table)."""
        search = self.data.get("search")
        return search.get("space", {}) if isinstance(search, dict) else {}

    def _set_range(self, section: str, name: str, text: str) -> list[Any]:
        """A range typed in a search box: ``1e-5..1e-2`` (uniform; integers for an int
        param) or ``log 1e-5..1e-2`` (log scale). Both ends are checked against the param;
        the range goes to ``[search.space]`` and, when the search was the grid (which takes
        lists only), the searcher becomes ``random`` (20 trials). Returns ``[low, high]``."""
        from tuidl.experiment.space import parse_dimension

        key = self.grid_key(section, name)
        param = self._param(section, name)
        if param.type not in ("int", "float"):
            raise TuidlError(f"{key}: a range needs a number param; {name!r} is a {param.type}")
        body = text.strip()
        log = body.lower().startswith("log ")
        lo_text, _, hi_text = body[4:].strip().partition("..") if log else body.partition("..")
        lo = param.validate(lo_text.strip(), self.owner(section))
        hi = param.validate(hi_text.strip(), self.owner(section))
        if param.type == "int":
            value: dict[str, Any] = {"int": [lo, hi], **({"log": True} if log else {})}
        else:
            value = {"log_uniform" if log else "uniform": [lo, hi]}
        parse_dimension(key, value)  # low < high, log of positive numbers
        search = self.data.setdefault("search", {})
        if search.get("method", "grid") == "grid":
            search["method"] = "random"
            search.setdefault("trials", 20)
        search.setdefault("space", {})[key] = value
        self.grid.pop(key, None)
        return [lo, hi]

    def grid_text(self, section: str, name: str) -> str:
        rng = self.space.get(self.grid_key(section, name))
        if isinstance(rng, dict):  # a range: shown as it is typed
            return range_text(rng)
        values = self.grid.get(self.grid_key(section, name))
        return values_text(values) if values else ""

    def grid_points(self) -> int:
        """How many configurations the grid makes (1 without a grid); for another searcher
        (``[search] method``), the configurations it samples (its ``trials``)."""
        search = self.data.get("search")
        search = search if isinstance(search, dict) else {}
        method = search.get("method", "grid")
        if method != "grid":
            trials = search.get("trials")
            if trials is None:
                with contextlib.suppress(TuidlError):
                    trials = self.registry.get("searcher", method).defaults().get("trials")
            return int(trials) if isinstance(trials, int) else 1
        return math.prod(max(len(values), 1) for values in self.grid.values())

    def grid_combinations(self) -> list[dict[str, Any]]:
        """The configurations, in the order the runner numbers them (the spec layer's)."""
        return grid_points(self.grid)

    def folds(self) -> int:
        """Folds per configuration, by the spec layer's rule (holdout scores once)."""
        cv = self.data.get("cv", {})
        method = cv.get("method", setting("cv", "method").default)
        folds = cv.get("folds", setting("cv", "folds").default)
        return num_folds(method, folds if isinstance(folds, int) else 1)

    # ---- the model ----------------------------------------------------------------------
    def learnable(self) -> bool | None:
        """Whether the chosen model is trained by the minibatch loop (``None``: unknown)."""
        comp = self.component("model")
        if comp is None:
            return None
        return self._learnable_of(comp)

    def applies(self, section: str) -> bool:
        """Whether a section matters for the chosen model (loss, optimizer... don't for kNN)."""
        if section in LEARNING_SECTIONS:
            return self.learnable() is not False
        return True

    def not_applicable_hint(self, section: str) -> str:
        model = self.data.get("model", {}).get("name", "this model")
        others = [
            c.key
            for c in self.registry.components["model"].values()
            if c.key != model and self._learnable_of(c)
        ]
        hint = f" (such as {' or '.join(others[:2])})" if others else ""
        return (
            f"{model} is fitted directly, not trained by gradient descent, so "
            f"{section} settings don't apply. Choose a learnable model{hint} to edit them."
        )

    def _learnable_of(self, comp: Component) -> bool | None:
        if comp.key not in self._learnable_cache:
            self._learnable_cache[comp.key] = component_learnable(comp)
        return self._learnable_cache[comp.key]

    # ---- validation and shapes ----------------------------------------------------------
    def errors(self) -> dict[str, str]:
        """Every problem, keyed by ``section`` or ``section.param``, with the schema's message."""
        out: dict[str, str] = {}
        for (section, name, _grid), (_typed, message) in self.pending.items():
            if self.applies(section):
                out.setdefault(f"{section}.{name}", message)
        for sec in self.sections():
            if not self.applies(sec.key):
                continue
            table = self.table(sec.key) if self.has_table(sec.key) else None
            if sec.kind is not None:
                chosen = (table or {}).get("name")
                if chosen is None:
                    if self.registry.names(sec.kind):
                        out[sec.key] = f"choose a {sec.kind}"
                    continue
                if self.component(sec.key) is None:
                    try:
                        self.registry.get(sec.kind, chosen)
                    except TuidlError as exc:
                        out[sec.key] = str(exc)
                    continue
            for p in self.params(sec.key):
                if table is None or p.name not in table:
                    continue
                try:
                    p.validate(table[p.name], self.owner(sec.key))
                except TuidlError as exc:
                    out[f"{sec.key}.{p.name}"] = str(exc)
        if not out and self.checker is not None:
            message = self.spec_problem()
            if message:
                out[self._problem_key(message)] = message
        return out

    def spec_problem(self) -> str:
        """The spec layer's complaint about the whole spec (cached per content), or ``""``."""
        if self.checker is None:
            return ""
        import json

        key = json.dumps(self.export(check=False), sort_keys=True, default=repr)
        if self._checked is None or self._checked[0] != key:
            self._checked = (key, self.checker(self.export(check=False)))
        return self._checked[1]

    def _problem_key(self, message: str) -> str:
        """``"model.k: ..."`` -> ``"model.k"``; messages without a key path go under "spec"."""
        head = message.split(":", 1)[0].strip()
        if head.startswith("cv.grid"):
            return "cv"
        parts = head.split(".")
        if parts[0] == "preprocess" and len(parts) > 1 and parts[1].isdigit():
            parts[1] = str(int(parts[1]) - STEP_INDEX_BASE)  # a step number -> its section
            head = ".".join(parts)
        sections = {s.key for s in self.sections()}
        if head in sections or head.rsplit(".", 1)[0] in sections:
            return head
        if head in {p.name for p in self.settings.get("run", ())}:
            return f"run.{head}"
        return "spec"

    def step_shapes(self, input_shape: tuple[int, ...] | None) -> list[str]:
        """Each step's per-row output shape (as text), or why it can't be computed."""
        out = []
        shape = input_shape
        for i, _step in enumerate(self.steps):
            comp = self.component(f"preprocess.{i}")
            if comp is None or shape is None:
                out.append("?")
                shape = None
                continue
            try:
                obj = comp.create(_known(comp, self.steps[i]))
                shape = tuple(obj.output_shape(tuple(shape)))
                out.append(shape_text(shape))
            except Exception as exc:
                out.append(f"error: {exc}")
                shape = None
        return out

    # ---- export -------------------------------------------------------------------------
    def export(self, *, check: bool = True) -> dict[str, Any]:
        """The dict to save or run: learning tables dropped for models that don't use them.

        With ``check`` (what Run and Save use) a spec with any problem -- a typed value that
        did not validate, or one the spec layer refuses -- raises TuidlError naming the first
        one: what is written or run is always what the form shows.
        """
        if check:
            errors = self.errors()
            if errors:
                key, message = next(iter(errors.items()))
                n = len(errors)
                raise TuidlError(
                    f"fix the spec first ({n} problem{'s' if n > 1 else ''}, marked ! in the "
                    f"outline): {message}"
                )
        data = copy.deepcopy(self.data)
        if self.learnable() is False:
            for section in LEARNING_SECTIONS:
                data.pop(section, None)
            for key in list(data.get("cv", {}).get("grid", {})):
                if key.split(".", 1)[0] in LEARNING_SECTIONS:
                    del data["cv"]["grid"][key]
        if not data.get("preprocess"):
            data.pop("preprocess", None)
        if not data.get("name"):
            data.pop("name", None)
        return _drop_none(data)


def _drop_none(d: Any) -> Any:
    """TOML has no null: a left-out key takes its default, so ``None`` values are dropped."""
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    if isinstance(d, list):
        return [_drop_none(v) for v in d]
    return d


def _defaults(comp: Component) -> dict[str, Any]:
    return comp.defaults()


def _known(comp: Component, table: dict[str, Any]) -> dict[str, Any]:
    names = {p.name for p in comp.params}
    return {k: v for k, v in table.items() if k in names}


def _normalize(data: dict[str, Any]) -> dict[str, Any]:
    data.setdefault("preprocess", [])
    cv = data.setdefault("cv", {})
    cv.setdefault("grid", {})
    return data
