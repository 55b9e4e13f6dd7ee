"""The contract tests for each kind of component, run by :mod:`tuidl.plugins.contract`.

Each ``check_<kind>(component, rng)`` builds the component with its default params, exercises
the contract of its kind (see :mod:`tuidl.engine` and the hookspecs) on small random data and
returns the names of the checks it passed. A violated contract raises :class:`ContractFailure`
naming the check and what was wrong; a dataset that cannot load with its defaults (a missing
file) raises :class:`Skipped`. Sizes are small so a whole registry checks in seconds.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from tuidl.engine.gradcheck import numeric_gradient, rel_error, roundoff
from tuidl.errors import TuidlError
from tuidl.plugins.contract_search import check_searcher
from tuidl.plugins.schema import Component

# Max elementwise relative error of an analytic vs a centered-difference gradient (float64,
# h = 1e-5). A correct gradient scores ~1e-8; tiny entries of a net's weights reach ~1e-6, and
# a wrong one is off by 1e-2 or more, so 1e-5 separates the two with room on both sides.
GRAD_TOL = 1e-5
GRAD_DRAWS = 3  # a kink (hinge losses, ReLU) can spoil one random draw; a bug spoils all of them


class ContractFailure(Exception):
    """One contract check failed; ``str()`` is ``"<check>: <what was wrong>"``."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(f"{check}: {reason}")
        self.check = check


class Skipped(Exception):
    """The component could not be exercised here (e.g. its data files are absent)."""


def expect(ok: object, check: str, reason: str) -> None:
    """Fail ``check`` with ``reason`` unless ``ok`` is truthy (numpy bools included)."""
    if not ok:
        raise ContractFailure(check, reason)


def _loss_value(loss: Any, scores: np.ndarray, y: np.ndarray) -> float:
    return float(loss(scores, y)[0])


def _model_loss(model: Any, X: np.ndarray, y: np.ndarray, _param: np.ndarray) -> float:
    # the parameter is perturbed in place; the model reads it itself
    return float(model.loss(X, y)[0])


def build(component: Component, **override: Any) -> Any:
    """The component with default params (plus ``override`` for params it has)."""
    names = {p.name for p in component.params}
    params = {k: v for k, v in override.items() if k in names}
    return component.create(params)


# -- losses ---------------------------------------------------------------------------------


def check_loss(component: Component, rng: np.random.Generator) -> list[str]:
    passed = []
    loss = build(component)
    multilabel = getattr(loss, "target", "class") == "multilabel"
    classes, n = 5, 7
    k = loss.output_dim(classes)
    expect(isinstance(k, int | np.integer) and k >= 1, "output_dim", f"returned {k!r}")
    passed.append("output_dim")

    def labels(r: np.random.Generator) -> np.ndarray:
        if multilabel:
            return r.integers(0, 2, size=(n, classes))
        return r.integers(0, classes, size=n)

    y = labels(rng)
    X_fit = rng.normal(size=(40, 6))
    y_fit = rng.integers(0, 2, (40, classes)) if multilabel else np.arange(40) % classes
    if hasattr(loss, "fit"):  # the optional extension (see docs/plugins.md)
        loss.fit(X_fit, y_fit, classes)
        passed.append("fit")

    for dtype in (np.float32, np.float64):
        scores = rng.normal(size=(n, k)).astype(dtype)
        before = scores.copy()
        value, dscores = loss(scores, y)
        expect(
            isinstance(value, float | np.floating) and np.isfinite(value),
            "loss value",
            f"with {np.dtype(dtype).name} scores returned {value!r}; expected a finite float",
        )
        expect(
            isinstance(dscores, np.ndarray) and dscores.shape == scores.shape,
            "dscores shape",
            f"expected {scores.shape}, got {getattr(dscores, 'shape', type(dscores).__name__)}",
        )
        expect(
            dscores.dtype == scores.dtype,
            "dscores dtype",
            f"{np.dtype(dtype).name} scores gave {dscores.dtype} dscores",
        )
        expect(np.array_equal(scores, before), "input untouched", "loss modified its scores")
    passed += ["loss value", "dscores shape", "dscores dtype", "input untouched"]

    errors = []
    for _ in range(GRAD_DRAWS):
        scores = rng.normal(scale=2.0, size=(n, k))
        y = labels(rng)
        value, analytic = loss(scores, y)
        numeric = numeric_gradient(partial(_loss_value, loss, y=y), scores)
        errors.append(rel_error(analytic, numeric, atol=roundoff(value)))
        if errors[-1] < GRAD_TOL:
            break
    expect(
        min(errors) < GRAD_TOL,
        "numeric gradient",
        f"relative error {min(errors):.2e} (tolerance {GRAD_TOL:g}, float64, h=1e-5)",
    )
    passed.append("numeric gradient")

    scores = rng.normal(size=(n, k))
    pred = np.asarray(loss.predict(scores))
    want = (n, classes) if multilabel else (n,)
    expect(pred.shape == want, "predict shape", f"expected {want}, got {pred.shape}")
    lo, hi = (0, 1) if multilabel else (0, classes - 1)
    expect(
        pred.dtype.kind in "iub" and pred.min() >= lo and pred.max() <= hi,
        "predict labels",
        f"expected integer labels in [{lo}, {hi}], got dtype {pred.dtype} in "
        f"[{pred.min()}, {pred.max()}]",
    )
    passed += ["predict shape", "predict labels"]

    again = build(component)
    again.output_dim(classes)
    if hasattr(again, "fit"):
        again.fit(X_fit, y_fit, classes)
    a, b = loss(scores, y), again(scores.copy(), y.copy())
    expect(
        a[0] == b[0] and np.array_equal(a[1], b[1]),
        "deterministic",
        "two evaluations on the same scores differ",
    )
    passed.append("deterministic")
    if callable(getattr(loss, "path_loss", None)):
        _check_path_loss(loss, rng, classes, labels)
        passed.append("path_loss")
    return passed


def _check_path_loss(loss: Any, rng: np.random.Generator, classes: int, labels) -> None:
    """The optional output-layer extension must equal the dense route it replaces: loss of
    ``X @ W + b`` and the chain rule through it, column for column (the built-in models
    train through it, so a wrong one would silently train the wrong thing)."""
    y = labels(rng)
    k = loss.output_dim(classes)
    X = rng.normal(size=(len(y), 6))
    W, b = rng.normal(scale=0.5, size=(6, k)), rng.normal(scale=0.1, size=k)
    value, dscores = loss(X @ W + b, y)
    g = loss.path_loss(X, W, b, y)
    nodes = np.asarray(g.nodes)
    dW, db = np.zeros_like(W), np.zeros_like(b)
    dW[:, nodes], db[nodes] = g.dW, g.db
    for name, got, want in (
        ("loss", np.float64(g.loss), np.float64(value)),
        ("dX", np.asarray(g.dX), dscores @ W.T),
        ("dW", dW, X.T @ dscores),
        ("db", db, dscores.sum(axis=0)),
    ):
        same = np.shape(got) == np.shape(want) and np.allclose(got, want, rtol=1e-9, atol=1e-12)
        expect(
            same,
            "path_loss",
            f"its {name} differs from the dense route, loss(X @ W + b, y) and the chain rule "
            "through it; the built-in models train through path_loss when a loss has one",
        )


# -- preprocessors --------------------------------------------------------------------------


def _state(obj: Any) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(obj).items() if not k.startswith("__")})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and type(a) is type(b) and not callable(a):
        return _same(vars(a), vars(b))
    try:
        return bool(a == b)
    except Exception:
        return a is b


def check_preprocessor(component: Component, rng: np.random.Generator) -> list[str]:
    passed = []
    d = 192  # rows of 192 features (8x8x3 flattened); wide enough for PCA-like defaults
    A = rng.normal(loc=3.0, scale=2.0, size=(300, d)).astype(np.float32)
    B = (rng.normal(size=(50, d)) * 40 + 100).astype(np.float32)  # unlike A on purpose
    C = rng.normal(size=(20, d)).astype(np.float32)
    A0, B0 = A.copy(), B.copy()

    step = build(component)
    out_fit = step.fit(A)
    expect(out_fit is step, "fit returns self", f"fit returned {type(out_fit).__name__}")
    expect(np.array_equal(A, A0), "input untouched", "fit modified its input rows")
    passed += ["fit returns self"]

    fitted = _state(step)
    out = np.asarray(step.transform(B))
    expect(np.array_equal(B, B0), "input untouched", "transform modified its input rows")
    passed.append("input untouched")
    expect(
        out.ndim >= 1 and out.shape[0] == len(B),
        "transform rows",
        f"{len(B)} rows in, {out.shape[0] if out.ndim else 0} out",
    )
    expect(out.dtype.kind == "f", "transform dtype", f"expected floating rows, got {out.dtype}")
    expect(bool(np.all(np.isfinite(out))), "transform finite", "output has NaN or inf")
    declared = tuple(step.output_shape((d,)))
    shape_ok = len(declared) == out.ndim - 1 and all(
        s is None or s == o for s, o in zip(declared, out.shape[1:], strict=False)
    )
    expect(
        shape_ok, "output_shape", f"output_shape(({d},)) says {declared}, rows are {out.shape[1:]}"
    )
    passed += ["transform rows", "transform dtype", "transform finite", "output_shape"]

    expect(
        _same(_state(step), fitted),
        "transform never refits",
        "the step's fitted state changed while transforming new rows",
    )
    passed.append("transform never refits")

    step.transform(C)
    again = np.asarray(step.transform(B))
    expect(
        np.array_equal(again, out),
        "transform never refits",
        "transforming other rows first changed the result for the same rows",
    )
    part = np.asarray(step.transform(B[:7]))
    scale = float(np.max(np.abs(out), initial=1.0))
    expect(
        np.allclose(part, out[:7], rtol=1e-4, atol=1e-5 * scale),  # BLAS blocking varies with N
        "rows independent",
        "a row's output depends on the other rows in the transform call",
    )
    passed.append("rows independent")

    reference = np.asarray(build(component).fit(A).transform(B))
    expect(
        np.array_equal(reference, out),
        "fit on training rows only",
        "fit(A) then transform(B) differs from a fresh fit(A)'s transform(B)",
    )
    passed.append("fit on training rows only")
    seeded = np.asarray(build(component, seed=0).fit(A).transform(B))
    expect(
        np.array_equal(seeded, np.asarray(build(component, seed=0).fit(A).transform(B))),
        "deterministic",
        "two fits on the same rows give different transforms",
    )
    passed.append("deterministic")
    return passed


# -- models ---------------------------------------------------------------------------------


class _CheckSoftmax:
    """A plain softmax loss so a model's check does not depend on which losses are loaded."""

    def output_dim(self, num_classes: int) -> int:
        return num_classes

    def __call__(self, scores, y):
        shifted = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        n = len(y)
        loss = float(-np.log(p[np.arange(n), y]).sum() / n)
        p[np.arange(n), y] -= 1
        return loss, p / n

    def predict(self, scores):
        return np.argmax(scores, axis=1)


class _CheckInit:
    def weights(self, fan_in, fan_out, rng, dtype="float32"):
        return (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)

    def bias(self, fan_out, dtype="float32"):
        return np.zeros(fan_out, dtype=dtype)


def check_model(component: Component, rng: np.random.Generator) -> list[str]:
    probe = build(component, dtype="float64")
    if getattr(probe, "learnable", False):
        return _check_learnable(component, rng)
    return _check_fitted_model(component, rng)


def _data(rng: np.random.Generator, n: int, d: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(n) % c
    centers = rng.normal(scale=3.0, size=(c, d))
    return centers[y] + rng.normal(size=(n, d)), y


def _check_fitted_model(component: Component, rng: np.random.Generator) -> list[str]:
    X, y = _data(rng, 30, 6, 3)
    Xt, _ = _data(rng, 9, 6, 3)
    model = build(component)
    model.fit(X, y)
    pred = np.asarray(model.predict(Xt))
    expect(pred.shape == (9,), "predict shape", f"expected (9,), got {pred.shape}")
    expect(
        pred.dtype.kind in "iu" and pred.min() >= 0 and pred.max() < 3,
        "predict labels",
        f"expected integer labels in [0, 2], got {pred.dtype} {pred.min()}..{pred.max()}",
    )
    other = build(component)
    other.fit(X.copy(), y.copy())
    expect(
        np.array_equal(np.asarray(other.predict(Xt)), pred),
        "deterministic",
        "two fits on the same data predict differently",
    )
    return ["fit", "predict shape", "predict labels", "deterministic"]


def _check_learnable(component: Component, rng: np.random.Generator) -> list[str]:
    passed = []
    d, c = 5, 3
    X, y = _data(rng, 8, d, c)

    def setup(seed: int) -> Any:
        m = build(component, dtype="float64")
        gen = np.random.default_rng(seed)
        m.setup(d, c, _CheckSoftmax(), _CheckInit(), gen)
        state = copy.deepcopy(gen.bit_generator.state)
        loss = m.loss

        def same_draws(X, y):
            # Random training-time draws (dropout masks) must come from the rng given to
            # setup; replaying its state makes every evaluation use the same masks, so
            # finite differences measure the gradient of one function.
            gen.bit_generator.state = copy.deepcopy(state)
            return loss(X, y)

        m.loss = same_draws
        return m

    model = setup(1)
    params = model.params
    expect(
        isinstance(params, dict)
        and params
        and all(isinstance(p, np.ndarray) for p in params.values()),
        "params",
        "params must be a non-empty dict of name -> numpy array",
    )
    passed.append("params")
    value, grads = model.loss(X, y)
    expect(np.isfinite(value), "loss value", f"model.loss returned {value!r}")
    expect(
        set(grads) == set(params), "grads keys", f"params {sorted(params)} vs grads {sorted(grads)}"
    )
    for key, p in params.items():
        expect(
            grads[key].shape == p.shape,
            "grads shape",
            f"{key}: grad {grads[key].shape} vs param {p.shape}",
        )
    passed += ["loss value", "grads keys", "grads shape"]

    if all(p.dtype == np.float64 for p in params.values()):
        worst: dict[str, float] = {}
        for draw in range(GRAD_DRAWS):
            Xg, yg = (X, y) if draw == 0 else _data(rng, 8, d, c)
            worst = {}
            for key, p in params.items():
                value, grads_g = model.loss(Xg, yg)
                analytic = grads_g[key].copy()
                numeric = numeric_gradient(partial(_model_loss, model, Xg, yg), p)
                worst[key] = rel_error(analytic, numeric, atol=roundoff(value))
            if max(worst.values()) < GRAD_TOL:
                break
        key = max(worst, key=worst.__getitem__)
        expect(
            worst[key] < GRAD_TOL,
            "numeric gradient",
            f"param {key}: relative error {worst[key]:.2e} (tolerance {GRAD_TOL:g}, float64)",
        )
        passed.append("numeric gradient")

    scores = np.asarray(model.scores(X))
    expect(
        scores.shape == (len(X), c), "scores shape", f"expected {(len(X), c)}, got {scores.shape}"
    )
    pred = np.asarray(model.predict(X))
    expect(pred.shape == (len(X),), "predict shape", f"expected ({len(X)},), got {pred.shape}")
    passed += ["scores shape", "predict shape"]

    twin = setup(1)
    expect(
        all(np.array_equal(twin.params[k], params[k]) for k in params)
        and twin.loss(X, y)[0] == model.loss(X, y)[0],
        "deterministic",
        "two setups with the same seed give different params or loss",
    )
    passed.append("deterministic")
    return passed


# -- initializers, optimizers, datasets -----------------------------------------------------


def check_initializer(component: Component, rng: np.random.Generator) -> list[str]:
    init = build(component)
    for dtype in ("float32", "float64"):
        W = init.weights(7, 4, np.random.default_rng(3), dtype)
        expect(
            isinstance(W, np.ndarray) and W.shape == (7, 4) and W.dtype == np.dtype(dtype),
            "weights shape and dtype",
            f"weights(7, 4, rng, {dtype}) gave {getattr(W, 'shape', W)} {getattr(W, 'dtype', '')}",
        )
        expect(bool(np.all(np.isfinite(W))), "weights finite", "weights have NaN or inf")
        b = init.bias(4, dtype)
        expect(
            isinstance(b, np.ndarray) and b.shape == (4,) and b.dtype == np.dtype(dtype),
            "bias shape and dtype",
            f"bias(4, {dtype}) gave {getattr(b, 'shape', b)} {getattr(b, 'dtype', '')}",
        )
    same = init.weights(7, 4, np.random.default_rng(3), "float64")
    expect(
        np.array_equal(same, build(component).weights(7, 4, np.random.default_rng(3), "float64")),
        "deterministic",
        "the same seed gave different weights",
    )
    return ["weights shape and dtype", "weights finite", "bias shape and dtype", "deterministic"]


def check_optimizer(
    component: Component, rng: np.random.Generator, *, at_default: bool = True
) -> list[str]:
    """At the defaults, 50 steps must end lower; elsewhere in the params' range (heavy
    momentum oscillates, so the end can be higher) some step must go lower and none may
    leave the finite numbers."""
    start = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    lowest = [math.inf]
    # the params are called W (a weight matrix) and b (a bias), as the built-in models name them

    def run(steps: int) -> tuple[Any, dict[str, np.ndarray]]:
        opt = build(component)
        params = {k: v.copy() for k, v in start.items()}
        ids = {k: id(v) for k, v in params.items()}
        for _ in range(steps):
            # f = 0.5 * |p|^2 has gradient p; pass copies so a step cannot alias them
            opt.step(params, {k: v.copy() for k, v in params.items()})
            lowest[0] = min(lowest[0], sum(float(np.vdot(v, v)) for v in params.values()))
        expect(
            {k: id(v) for k, v in params.items()} == ids,
            "updates in place",
            "step replaced the param arrays instead of updating them in place",
        )
        return opt, params

    opt, params = run(50)
    before = sum(float(np.vdot(v, v)) for v in start.values())
    after = sum(float(np.vdot(v, v)) for v in params.values())
    descended = after < before if at_default else lowest[0] < before
    expect(
        np.isfinite(after) and descended,
        "descends",
        f"50 steps on 0.5*|p|^2 moved |p|^2 from {before:.4g} to {after:.4g}"
        + ("" if at_default else f" (lowest {lowest[0]:.4g})"),
    )
    lr = getattr(opt, "lr", None)
    expect(isinstance(lr, float | int) and not isinstance(lr, bool), "lr", f"lr is {lr!r}")
    opt.end_epoch()
    _, twin = run(50)
    expect(
        all(np.array_equal(twin[k], params[k]) for k in params),
        "deterministic",
        "the same steps gave different params",
    )
    return ["updates in place", "descends", "lr", "end_epoch", "deterministic"]


def check_dataset(component: Component, rng: np.random.Generator) -> list[str]:
    try:
        data = build(component)
    except TuidlError as exc:
        raise Skipped(f"cannot load with default params: {exc}") from exc
    X, y = np.asarray(data.X_train), np.asarray(data.y_train)
    expect(X.ndim >= 2 and len(X) > 0, "X_train", f"expected (N, ...) rows, got shape {X.shape}")
    names = tuple(getattr(data, "class_names", ()))
    if getattr(data, "targets", "class") == "multilabel":  # the multi-label extension
        expect(
            y.shape == (len(X), len(names)) and y.dtype.kind in "iub",
            "y_train",
            f"expected ({len(X)}, {len(names)}) 0/1 attribute targets, got {y.shape} {y.dtype}",
        )
        expect(
            y.size == 0 or (int(y.min()) >= 0 and int(y.max()) <= 1),
            "labels in range",
            f"attribute targets span [{y.min()}, {y.max()}]; expected 0/1",
        )
    else:
        expect(
            y.shape == (len(X),) and y.dtype.kind in "iu",
            "y_train",
            f"expected ({len(X)},) integer labels, got {y.shape} {y.dtype}",
        )
        expect(
            len(names) > int(y.max()) and int(y.min()) >= 0,
            "labels in range",
            f"labels span [{y.min()}, {y.max()}] but there are {len(names)} class names",
        )
    shape = tuple(getattr(data, "image_shape", X.shape[1:]))
    expect(shape == X.shape[1:], "image_shape", f"image_shape {shape} vs rows {X.shape[1:]}")
    Xt: Any = getattr(data, "X_test", None)
    yt: Any = getattr(data, "y_test", None)
    expect((Xt is None) == (yt is None), "test part", "X_test and y_test must both be set or None")
    if Xt is not None:
        expect(
            np.asarray(Xt).shape[1:] == X.shape[1:]
            and np.shape(yt)[0] == len(Xt)
            and np.shape(yt)[1:] == y.shape[1:],
            "test part",
            f"X_test {np.shape(Xt)} / y_test {np.shape(yt)} vs rows {X.shape[1:]}",
        )
    passed = ["X_train", "y_train", "labels in range", "image_shape", "test part"]
    if X.nbytes <= 64 * 2**20:  # reloading a big dataset only to compare is not worth it
        other = build(component)
        expect(
            np.array_equal(np.asarray(other.X_train), X)
            and np.array_equal(np.asarray(other.y_train), y),
            "deterministic",
            "two loads with the same params differ",
        )
        passed.append("deterministic")
    return passed


CHECKS: dict[str, Callable[[Component, np.random.Generator], list[str]]] = {
    "loss": check_loss,
    "preprocessor": check_preprocessor,
    "model": check_model,
    "initializer": check_initializer,
    "optimizer": check_optimizer,
    "dataset": check_dataset,
    "searcher": check_searcher,
}
