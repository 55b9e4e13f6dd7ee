"""The "babysitting" checks of the classic recipe, run on a spec's data, pipeline and model.

``tuidl check SPEC`` (and the workbench's action) runs these in seconds, before a long run:

1. **initial loss**: with reg = 0, the loss at initialization against the loss's chance
   value (``loss.chance_loss(C)``: ln C for softmax, ``(C - 1) * delta`` for the SVM, …).
   Small weights make every score about equal, so the two should agree: within 15 % below
   and up to 3x above (random scores sit a little above chance); further off means the
   initialization is too large (scores far from equal) or the loss is wrong.
2. **reg raises the loss**: the same initialization with a large ``reg`` must give a larger
   initial loss, or the regularization term is not in the loss.
3. **overfit a tiny subset**: with reg = 0 the model must reach 100 % training accuracy on
   about 20 rows within a bounded number of full-batch steps of the spec's optimizer. When it
   cannot, the learning rate (or the model) is wrong, and a long run would only hide it.
4. **gradient check**: the model (in float64) with the spec's loss and reg, on a few rows,
   analytic gradients against centered differences at a sample of every parameter's entries.

Each check is a :class:`Check`: pass, fail or not applicable (with the reason), the measured
and the expected value, and a hint that names the likely fix. A model or loss from a plugin
gets the same checks through the same hooks; what it does not declare (no ``reg`` or
``dtype`` param, no ``chance_loss``) makes that check not applicable, never a false failure.

The checks use the first configuration of the spec's grid (``config`` picks another), the
spec's own seed, and preprocessing fitted on at most :data:`FIT_ROWS` training rows. Errors in
the spec raise :class:`~tuidl.errors.TuidlError` before any check runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuidl.errors import TuidlError
from tuidl.experiment.components import build_trial
from tuidl.experiment.features import build_chain
from tuidl.experiment.spec import Spec
from tuidl.experiment.spec_check import validate
from tuidl.experiment.trainer import ListSink, accuracy, train
from tuidl.experiment.workplan import trial_specs

FIT_ROWS = 2000  # training rows the preprocessing is fitted on (it only has to be plausible)
LOSS_ROWS = 500  # rows the initial loss is averaged over
TINY_ROWS = 20  # the subset to overfit
TINY_STEPS = 300  # full-batch steps allowed to overfit it
BLOW_UP = 3.0  # a loss this many times its first value has overshot
GRAD_ROWS = 4  # rows of the gradient check
GRAD_ENTRIES = 12  # sampled entries per parameter
# the initial loss may sit this far below / above its chance value. Random weights make the
# scores start somewhat apart (ln C + var/2 for softmax): He init's output layer, or the
# classic recipe's 0.001·randn on raw CIFAR-10 pixels, lands at 1.3-2.3x chance and trains
# fine; 10·randn lands at hundreds of times chance
INIT_BELOW, INIT_ABOVE = 0.15, 2.0
HIGH_REG = 1e3  # at least this reg for the "reg raises the loss" check
GRAD_THRESHOLD = 1e-7  # max relative error of the gradient check (float64, sampled entries)


@dataclass
class Check:
    """One sanity check's outcome. ``status`` is ``"pass"``, ``"fail"`` or ``"n/a"``."""

    name: str
    status: str
    measured: str = ""
    expected: str = ""
    hint: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


@dataclass
class Subject:
    """What the checks look at: one trial's spec and its preprocessed rows."""

    spec: Spec
    registry: Any
    X: np.ndarray  # preprocessed training rows (a sample of the pool)
    y: np.ndarray
    num_classes: int
    label: str  # which configuration, for the report


def run_checks(
    spec: Spec,
    registry: Any,
    *,
    config: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, list[Check]]:
    """Run every check on configuration ``config`` (0-based) of ``spec``'s grid; returns a
    one-line description of what was checked and the checks in order."""
    say = progress or (lambda _text: None)
    subject = prepare(spec, registry, config)
    say(f"checking {subject.label}")
    learnable = getattr(
        registry.create("model", subject.spec.model.name, subject.spec.model.params),
        "learnable",
        False,
    )
    names = ("initial loss", "reg raises the loss", "overfit a tiny subset", "gradient check")
    if not learnable:
        reason = "the model is fitted directly (no loss, no gradient)"
        return subject.label, [Check(n, "n/a", hint=reason) for n in names]
    checks = []
    for name, fn in zip(
        names, (initial_loss, reg_raises_loss, overfit_tiny, gradient), strict=True
    ):
        say(name)
        checks.append(fn(subject))
    return subject.label, checks


def prepare(spec: Spec, registry: Any, config: int = 0) -> Subject:
    """Validate ``spec``, pick its configuration ``config`` and preprocess a sample of the
    training rows (the chain fitted on those rows only)."""
    from tuidl.experiment.runner import load_data

    checked = validate(spec, registry)
    trials = trial_specs(checked, registry)
    if not 0 <= config < len(trials):
        raise TuidlError(
            f"--config {config + 1}: the grid has {len(trials)} configuration(s); "
            f"use 1..{len(trials)}"
        )
    trial = trials[config]
    data = load_data(trial, registry)
    rng = np.random.default_rng(trial.seed)
    n = len(data.y_pool)
    rows = np.sort(rng.choice(n, FIT_ROWS, replace=False)) if n > FIT_ROWS else np.arange(n)
    chain = build_chain(trial, registry)
    X = np.asarray(chain.fit_transform(data.X_pool[rows]))
    label = f"config #{config + 1} of {len(trials)}" if len(trials) > 1 else "the spec"
    return Subject(trial, registry, X, data.y_pool[rows], data.num_classes, label)


# -- the checks ----------------------------------------------------------------------------


def _loss_name(spec: Spec) -> str:
    """The loss's name for a hint (validation gives every learnable spec a loss)."""
    return spec.loss.name if spec.loss is not None else "(none)"


def _params(subject: Subject) -> set[str]:
    comp = subject.registry.components["model"][subject.spec.model.name]
    return {p.name for p in comp.params}


def _build(subject: Subject, X: np.ndarray, y: np.ndarray, **model_params: Any):
    """The trial's parts on rows ``X, y``, identically initialized on every call."""
    known = _params(subject)
    params = {k: v for k, v in model_params.items() if k in known}
    rng = np.random.default_rng(subject.spec.seed)
    return build_trial(
        subject.spec, subject.registry, X, y, subject.num_classes, rng, model_params=params
    )


def _loss_at_init(subject: Subject, reg: float) -> float:
    X, y = subject.X[:LOSS_ROWS], subject.y[:LOSS_ROWS]
    parts = _build(subject, X, y, reg=reg)
    return float(parts.model.loss(X, y)[0])


def initial_loss(subject: Subject) -> Check:
    name = "initial loss"
    X, y = subject.X[:LOSS_ROWS], subject.y[:LOSS_ROWS]
    parts = _build(subject, X, y, reg=0.0)
    from tuidl.plugins.api import ChanceLoss

    if not isinstance(parts.loss, ChanceLoss) or not callable(parts.loss.chance_loss):
        return Check(
            name,
            "n/a",
            hint=f"the loss {_loss_name(subject.spec)!r} declares no chance_loss(num_classes), "
            "so there is no value to expect",
        )
    expected = float(parts.loss.chance_loss(subject.num_classes))
    measured = float(parts.model.loss(X, y)[0])
    note = "" if "reg" in _params(subject) else " (the model has no reg param: reg included)"
    text = f"{measured:.4f}{note}"
    low, high = expected * (1 - INIT_BELOW), expected * (1 + INIT_ABOVE)
    want = f"about {expected:.4f}, in [{low:.4g}, {high:.4g}]"
    if not math.isfinite(measured):
        return Check(name, "fail", text, want, "the loss is not finite at initialization")
    if low <= measured <= high:
        return Check(name, "pass", text, want)
    if measured > expected:
        hint = (
            "the scores start far from equal: the initial weights are too large "
            "(lower the init's scale or std), or the loss is not what it claims"
        )
    else:
        hint = "below chance before any training: the loss or its chance value is wrong"
    return Check(name, "fail", text, want, hint)


def reg_raises_loss(subject: Subject) -> Check:
    name = "reg raises the loss"
    if "reg" not in _params(subject):
        return Check(name, "n/a", hint=f"the model {subject.spec.model.name!r} has no reg param")
    reg = max(float(subject.spec.model.params.get("reg", 0.0)) * 10, HIGH_REG)
    low, high = _loss_at_init(subject, 0.0), _loss_at_init(subject, reg)
    text = f"{low:.4f} → {high:.4g} (reg 0 → {reg:g})"
    if high > low:
        return Check(name, "pass", text, "a higher loss")
    return Check(
        name,
        "fail",
        text,
        "a higher loss",
        "the regularization term does not reach the loss: check the model's reg handling",
    )


def overfit_tiny(subject: Subject) -> Check:
    name = "overfit a tiny subset"
    n = min(TINY_ROWS, len(subject.y))
    X, y = subject.X[:n], subject.y[:n]
    # every full-batch step is an epoch here: a per-epoch decay would all but stop the
    # learning rate long before the step budget, so the rate is held constant
    parts = _build(subject, X, y, optimizer={"lr_decay": 1.0}, reg=0.0)
    sink = ListSink()
    result = train(
        parts.model,
        parts.optimizer,
        X,
        y,
        None,
        None,
        rng=np.random.default_rng(subject.spec.seed),
        iterations=TINY_STEPS,
        batch_size=n,
        sampling="epoch",
        keep_best=False,
        train_sample=n,
        sink=sink,
    )
    losses = [v for v in sink.loss_values if math.isfinite(v)]
    acc = accuracy(parts.model, X, y) if result.status == "ok" else float("nan")
    expected = f"100% of {n} rows within {TINY_STEPS} steps (reg 0), no blow-up"
    first, last = (losses[0], losses[-1]) if losses else (float("nan"), float("nan"))
    peak = max(losses, default=float("nan"))
    text = f"{acc:.0%} (loss {first:.3g} → {last:.3g})" if math.isfinite(acc) else result.message
    lr = subject.spec.optimizer.params.get("lr") if subject.spec.optimizer else None
    lr_text = f" (lr {lr:g})" if isinstance(lr, int | float) else ""
    # a loss that shoots far above where it started has overshot, even if it then lands
    # on a separable 20-row subset: on the real data that rate diverges or thrashes
    if losses and peak > BLOW_UP * first:
        at = losses.index(peak) + 1
        text += f", peak {peak:.3g} at step {at}"
        hint = f"the loss blew up (×{peak / first:.0f}): the learning rate is too high{lr_text}"
        return Check(name, "fail", text, expected, hint + "; lower it")
    if result.status == "ok" and acc >= 1.0:
        return Check(name, "pass", text, expected)
    if result.status != "ok" or (losses and last > first):
        hint = f"the loss grew or diverged: the learning rate is too high{lr_text}; lower it"
    elif losses and last > 0.5 * first:
        hint = f"the loss barely moved: the learning rate is too low{lr_text}; raise it"
    else:
        hint = "the loss fell but not to zero: raise the learning rate or the model's capacity"
    return Check(name, "fail", text, expected, hint)


def gradient(subject: Subject) -> Check:
    from tuidl.engine.gradcheck import numeric_gradient_at, rel_error, roundoff

    name = "gradient check"
    if "dtype" not in _params(subject):
        return Check(
            name,
            "n/a",
            hint=f"the model {subject.spec.model.name!r} has no dtype param to run in float64",
        )
    X = np.asarray(subject.X[:GRAD_ROWS], dtype=np.float64)
    y = subject.y[:GRAD_ROWS]
    parts = _build(subject, X, y, dtype="float64")
    model = parts.model

    # the same dropout masks at every evaluation, or the differences measure the masks: the
    # model's generator (which its dropout layers share) is rewound before each one
    shared = getattr(model, "rng", None)
    rng = shared if isinstance(shared, np.random.Generator) else None
    state = rng.bit_generator.state if rng is not None else None

    def rewind() -> None:
        if rng is not None and state is not None:
            rng.bit_generator.state = state

    def loss_now(_: Any = None) -> float:
        rewind()
        return float(model.loss(X, y)[0])

    value = loss_now()
    rewind()
    _, grads = model.loss(X, y)
    pick = np.random.default_rng(subject.spec.seed)
    worst, where = 0.0, ""
    for key, param in model.params.items():
        if param.dtype != np.float64:
            return Check(name, "n/a", hint=f"param {key!r} is not float64 in a float64 model")
        flat = pick.choice(param.size, min(GRAD_ENTRIES, param.size), replace=False)
        indices = [np.unravel_index(i, param.shape) for i in flat]
        numeric = numeric_gradient_at(loss_now, param, indices)
        analytic = np.array([grads[key][ix] for ix in indices])
        err = rel_error(analytic, numeric, atol=roundoff(value))
        if err > worst:
            worst, where = err, key
    text = (
        f"max relative error {worst:.1e} (in {where})"
        if where
        else "every sampled entry agrees within float64 rounding"
    )
    want = f"< {GRAD_THRESHOLD:.0e}"
    if worst < GRAD_THRESHOLD:
        return Check(name, "pass", text, want)
    hint = (
        f"the analytic gradient of {where!r} disagrees with the loss: the backward pass of "
        f"the model {subject.spec.model.name!r} or the loss {_loss_name(subject.spec)!r} is wrong"
    )
    return Check(name, "fail", text, want, hint)
