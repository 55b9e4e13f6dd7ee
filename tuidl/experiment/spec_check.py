"""Checking a spec against the registry: every component exists, every param fits its
schema, a learnable model gets its missing tables, and every grid key and grid point is
valid before anything runs (:func:`validate`). :func:`point_spec` applies one grid point.

Errors are :class:`tuidl.TuidlError` whose message starts with the key path
(``model.k: ...``, ``cv.grid point (...)``) and says what is allowed.
"""

from __future__ import annotations

from typing import Any

from tuidl.errors import TuidlError
from tuidl.experiment.spec import (
    COMPONENT_KINDS,
    GRID_SECTIONS,
    LEARNABLE_DEFAULTS,
    ComponentSpec,
    Spec,
    TrainingSpec,
    split_path,
    step_index,
)
from tuidl.experiment.spec_schema import DEFAULT_EPOCHS, check_settings
from tuidl.experiment.spec_toml import toml_value


def component_learnable(comp: Any, params: dict[str, Any] | None = None) -> bool | None:
    """Whether a model component is trained by tuidl's loop: its declared
    ``extra["learnable"]``, else its factory's ``learnable``, else the built object's
    (built with ``params``). ``None`` when none says and the object cannot be built."""
    flag = comp.extra.get("learnable") if comp.extra else None
    if flag is None:
        flag = getattr(comp.factory, "learnable", None)
    if flag is None:
        try:
            flag = getattr(comp.create(params or {}), "learnable", None)
        except Exception:
            return None
    return None if flag is None else bool(flag)


def is_learnable(spec: Spec, registry: Any) -> bool:
    """Whether the spec's model is trained by tuidl's loop (needs loss/init/optimizer)."""
    comp = registry.get("model", spec.model.name)
    flag = component_learnable(comp, spec.model.params)
    if flag is None:  # let the model's own error say why it cannot be built
        flag = getattr(comp.create(spec.model.params), "learnable", False)
    return bool(flag)


def predicts_many(comp: Any) -> str:
    """The param a model component declares it predicts many values of at once
    (``extra["predicts_many"]``, see :class:`tuidl.api.PredictsMany`), or ``""``."""
    return str((comp.extra or {}).get("predicts_many") or "")


def dataset_targets(comp: Any) -> str | None:
    """The kind of target a dataset component declares (``extra["targets"]`` or its
    factory's ``targets``): ``"class"`` or ``"multilabel"``; ``None`` when it declares none
    (then only the loaded dataset can say, and the runner checks it at start)."""
    value = comp.extra.get("targets") if comp.extra else None
    if value is None:
        value = getattr(comp.factory, "targets", None)
    return None if value is None else str(value)


def check_targets(spec: Spec, targets: str, registry: Any) -> None:
    """Refuse, before any work, a spec whose parts disagree on the kind of target.

    Datasets and losses may declare ``targets`` / ``target``: ``"class"`` (one label per row,
    the default) or ``"multilabel"`` (an (N, A) 0/1 matrix, as the tuidl-attributes plugin
    provides). Every loss the grid can pick must take the dataset's kind; multi-label rows
    cannot be stratified, and only learnable models can fit them.
    """
    grid = spec.cv.grid
    losses = [*([spec.loss.name] if spec.loss else []), *grid.get("loss.name", [])]
    models = [spec.model.name, *grid.get("model.name", [])]
    learnable = False
    for name in dict.fromkeys(models):
        model = registry.create("model", name, {})
        learnable |= bool(getattr(model, "learnable", False))
        if targets != "class" and not getattr(model, "learnable", False):
            raise TuidlError(
                f"model.name: {name!r} predicts one class per row, but dataset "
                f"{spec.dataset.name!r} has {targets} targets; pick a learnable model "
                "(linear, fc_net) with a loss for them"
            )
    if learnable:
        for name in dict.fromkeys(losses):
            want = getattr(registry.create("loss", name, {}), "target", "class")
            if want != targets:
                raise TuidlError(
                    f"loss.name: {name!r} takes {want} targets, but dataset "
                    f"{spec.dataset.name!r} has {targets} targets"
                )
    if targets != "class":
        for key, on in (("split.stratify", spec.split.stratify), ("cv.stratify", spec.cv.stratify)):
            if on:
                raise TuidlError(
                    f"{key}: rows with {targets} targets have no single class to stratify "
                    "by; set it to false"
                )


def validate(spec: Spec, registry: Any, *, check_grid: bool = True) -> Spec:
    """Check every component and param against the registry and return the normalized spec
    (params coerced, defaults filled, a learnable model's missing tables filled in).

    Errors name the key path (``model.k: ...``) and what is allowed. With ``check_grid``,
    every grid key must name something and every grid point must be valid too.
    """
    out = spec.copy()
    check_settings(out)  # again: a caller may have set a field (run --seed) since reading
    out.dataset = _resolve(registry, "dataset", "dataset", out.dataset)
    out.preprocess = [
        _resolve(registry, "preprocessor", f"preprocess.{i}", p)
        for i, p in enumerate(out.preprocess, 1)
    ]
    if out.preprocess:
        _check_chain(out, registry)
    out.model = _resolve(registry, "model", "model", out.model)
    if is_learnable(out, registry):
        for table, kind in (("loss", "loss"), ("init", "initializer"), ("optimizer", "optimizer")):
            comp = getattr(out, table) or ComponentSpec(_default_name(registry, table, kind))
            setattr(out, table, _resolve(registry, kind, table, comp))
        if out.training is None:
            out.training = TrainingSpec()
        if out.training.epochs is None and out.training.iterations is None:
            out.training.epochs = DEFAULT_EPOCHS
        _check_batch_rows(out, registry)
    targets = dataset_targets(registry.get("dataset", out.dataset.name))
    if targets is not None:  # declared: check now, not after the data is loaded
        check_targets(out, targets, registry)
    if out.cv.method == "holdout" and out.split.num_validation < 1:
        raise TuidlError(
            "cv.method: holdout scores on the split's validation rows, but "
            "split.num_validation is 0; set it > 0 or use kfold"
        )
    if check_grid:
        from tuidl.experiment.grid import grid_points

        for key in out.cv.grid:
            _check_grid_key(out, key, registry)
        for point in grid_points(out.cv.grid):
            _validate_point(spec, point, registry)
        _check_search(spec, out, registry)
    return out


def _check_search(spec: Spec, out: Spec, registry: Any) -> None:
    """``[search]``: every searched key names something and every range fits its param
    (:func:`tuidl.experiment.space.check_space`), and the searcher takes its params and the
    space (:func:`tuidl.experiment.scheduler.check_search`)."""
    if spec.search is None:
        return
    from tuidl.experiment.scheduler import check_search
    from tuidl.experiment.space import check_space

    check_space(
        out,
        registry,
        lambda s, key: _check_grid_key(s, key, registry),
        lambda point: _validate_point(out, point, registry),  # missing tables filled in
    )
    check_search(out, registry)


def _check_chain(spec: Spec, registry: Any) -> None:
    """Build the chain once so an impossible order (whiten not right after pca) is reported
    now, not in the middle of a run."""
    try:
        from tuidl.engine.preprocess import Chain
    except ImportError:  # pragma: no cover - the engine always has it
        return
    try:
        Chain([registry.create("preprocessor", p.name, p.params) for p in spec.preprocess])
    except TuidlError as exc:
        raise TuidlError(f"preprocess: {exc}") from None


def _check_batch_rows(spec: Spec, registry: Any) -> None:
    """A model that declares ``min_batch_rows`` (batchnorm: 2) cannot train on smaller
    batches; say so now, naming the fix, rather than failing every fold (the trainer's
    :func:`~tuidl.experiment.trainer.check_batch_rows` holds the rule and the message)."""
    from tuidl.experiment.trainer import check_batch_rows

    model = registry.create("model", spec.model.name, spec.model.params)
    batch_size = spec.require_training().batch_size
    check_batch_rows(model, batch_size, batch_size)


def point_spec(spec: Spec, point: dict[str, Any], registry: Any) -> Spec:
    """``spec`` with a grid point applied (not yet validated; its grid emptied).

    When the point switches a component (``"loss.name" = ["softmax", "hsoftmax"]``), the
    table's own params carry over only where the new component takes them: ``[loss] name =
    "hsoftmax", tree = "clustered"`` gives the softmax point plain softmax, and a linear
    model's ``reg`` still applies when the grid switches to ``fc_net``. Params the point sets
    itself are always kept, so a wrong one is still reported.
    """
    varied = spec.with_values(point)
    varied.cv.grid = {}
    for key, name in point.items():
        parts = split_path(key)
        if parts[-1] != "name" or parts[0] not in COMPONENT_KINDS:
            continue
        table = ".".join(parts[:-1])
        try:
            comp = registry.get(COMPONENT_KINDS[parts[0]], name)
        except (TuidlError, KeyError):
            continue  # validation reports the unknown component
        if parts[0] == "preprocess":
            target: ComponentSpec | None = varied.preprocess[
                step_index(varied.preprocess, parts[1], key)
            ]
        else:
            target = getattr(varied, parts[0], None)
        if not isinstance(target, ComponentSpec):
            continue
        takes = {p.name for p in comp.params}
        explicit = {k.rsplit(".", 1)[1] for k in point if k.startswith(table + ".")}
        target.params = {k: v for k, v in target.params.items() if k in takes or k in explicit}
    return varied


def _validate_point(spec: Spec, point: dict[str, Any], registry: Any) -> None:
    """A grid point applied to the spec as written (so a switched component gets its own
    defaults) must validate; errors name the grid key and value."""
    try:
        validate(point_spec(spec, point, registry), registry, check_grid=False)
    except TuidlError as exc:
        where = ", ".join(f"{k} = {toml_value(v)}" for k, v in point.items())
        raise TuidlError(f"cv.grid point ({where}): {exc}") from None


def _check_grid_key(spec: Spec, key: str, registry: Any) -> None:
    """A grid key must name a table a grid may vary and a key that exists there (a param of
    the component, unless the grid also switches that component's name)."""
    parts = split_path(key)
    if parts[0] not in GRID_SECTIONS:
        raise TuidlError(
            f"cv.grid.{key}: a grid may vary {', '.join(GRID_SECTIONS)} keys; "
            f"{parts[0]!r} is fixed for a run (trials must be scored on the same rows)"
        )
    if parts[0] == "preprocess":
        if len(parts) != 3:
            raise TuidlError(
                f"cv.grid.{key}: preprocess keys look like preprocess.N.param "
                "(N is the step's number, from 1)"
            )
        step_index(spec.preprocess, parts[1], f"cv.grid.{key}")
    elif parts[0] == "training":
        if len(parts) != 2 or parts[1] not in TrainingSpec.__dataclass_fields__:
            raise TuidlError(
                f"cv.grid.{key}: names nothing; training keys are "
                + ", ".join(TrainingSpec.__dataclass_fields__)
            )
    elif len(parts) != 2:
        raise TuidlError(f"cv.grid.{key}: names nothing; expected {parts[0]}.PARAM")
    if parts[0] == "training" or parts[-1] == "name":
        return
    table = ".".join(parts[:-1])
    if f"{table}.name" in spec.cv.grid:
        return  # checked per grid point, against each component the grid switches to
    if parts[0] == "preprocess":
        comp = spec.preprocess[step_index(spec.preprocess, parts[1], f"cv.grid.{key}")]
    else:
        comp = getattr(spec, parts[0])
    if comp is None:
        raise TuidlError(f"cv.grid.{key}: names nothing; the spec has no [{parts[0]}] table")
    kind = COMPONENT_KINDS[parts[0]]
    params = [p.name for p in registry.get(kind, comp.name).params]
    if parts[-1] not in params:
        raise TuidlError(
            f"cv.grid.{key}: names nothing; {kind} {comp.name} takes "
            + (", ".join(["name", *params]))
            + (" (preprocess steps are numbered from 1)" if parts[0] == "preprocess" else "")
        )


def _default_name(registry: Any, table: str, kind: str) -> str:
    name = LEARNABLE_DEFAULTS[table]
    if name in registry.components.get(kind, {}):
        return name
    names = registry.names(kind)
    if not names:
        raise TuidlError(f"{table}: no {kind} is registered; add a [{table}] table")
    return names[0]


def _resolve(registry: Any, kind: str, where: str, comp: ComponentSpec) -> ComponentSpec:
    try:
        component = registry.get(kind, comp.name)
    except TuidlError as exc:
        raise TuidlError(f"{where}.name: {exc}") from None
    names = [p.name for p in component.params]
    for key in comp.params:
        if key not in names:
            raise TuidlError(
                f"{where}.{key}: unknown key; {component.label} takes "
                + (", ".join(names) or "no params")
            )
    params = {}
    for p in component.params:
        try:
            params[p.name] = p.validate(comp.params.get(p.name, p.default), component.label)
        except TuidlError as exc:
            raise TuidlError(f"{where}.{p.name}: {exc}") from None
    return ComponentSpec(component.key, params)
