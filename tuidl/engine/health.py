"""Per-layer training health: the numbers the classic recipe says to watch, and when to worry.

The course's "babysitting" advice, made measurable while a model trains:

- **update/weight ratio** ``||ΔW|| / ||W||`` of each weight matrix over one optimizer step:
  about 1e-3 is healthy; much lower means the learning rate is too low, much higher too high.
- **gradient norm** ``||dW||`` of each weight matrix: exploding (huge or not finite) or
  vanishing (the first layer's a tiny fraction of the last one's).
- per hidden layer (a model declaring :class:`tuidl.api.ReportsHealth`): activation **mean
  and std**, the fraction of **dead** ReLUs (units that output 0 for every row of the batch),
  and for batchnorm the mean of its **running mean and variance**.

:class:`HealthProbe` samples these every ``every`` iterations around the optimizer step, for
any learnable model (params and grads are all it needs; the per-layer part only when the
model declares it). Stat names are ``"<stat>:<where>"`` (``update_ratio:W1``,
``dead:h1``); :func:`hints` turns the latest values into advice, one line per problem, and
is the one place the healthy ranges live.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

CURVE_PREFIX = "health:"  # how a run's stored curves name them: "health:update_ratio:W1"

# healthy ranges (see hints): the course's rule of thumb and how far from it is "far"
RATIO_TARGET = 1e-3
RATIO_LOW, RATIO_HIGH = 1e-5, 1e-1  # a hundred times off the target
DEAD_HIGH = 0.5  # more than half a layer's ReLUs never fire
GRAD_HIGH = 1e3  # a weight gradient norm this big is exploding
VANISH_RATIO = 1e-4  # first layer's gradient norm / last layer's below this: vanishing


def layer_stats(outputs: Mapping[str, np.ndarray], bn: Mapping[str, tuple]) -> dict[str, float]:
    """Per-layer statistics from hidden ReLU ``outputs`` ({layer: (N, units) activations of
    one batch}) and batchnorm running stats ({layer: (running_mean, running_var)})."""
    stats: dict[str, float] = {}
    for name, out in outputs.items():
        a = out.reshape(out.shape[0], -1)
        stats[f"act_mean:{name}"] = float(a.mean())
        stats[f"act_std:{name}"] = float(a.std())
        stats[f"dead:{name}"] = float(np.mean(~np.any(a > 0, axis=0)))
    for name, (mean, var) in bn.items():
        stats[f"bn_mean:{name}"] = float(np.mean(mean))
        stats[f"bn_var:{name}"] = float(np.mean(var))
    return stats


class HealthProbe:
    """Samples health every ``every`` iterations (0: never) of a training loop::

        probe = HealthProbe(model, every, is_weight, model.layer_health)
        loss, grads = model.loss(Xb, yb)
        probe.before(it, grads)        # snapshot the weights when ``it`` is sampled
        optimizer.step(model.params, grads)
        stats = probe.after(it)        # {name: value} on sampled iterations, else None

    ``is_weight(name)`` picks the params whose ratio and gradient norm are recorded (weight
    matrices, not biases or batchnorm's gamma/beta). ``layer_health`` is the model's own
    per-layer statistics when it declares them (:class:`tuidl.api.ReportsHealth`; the caller
    checks, the engine knows no plugin API). Cost per sample: each weight matrix copied into a
    reused buffer, one subtraction and three dot products; nothing in between samples.
    """

    def __init__(
        self,
        model: Any,
        every: int,
        is_weight: Callable[[str], bool],
        layer_health: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        self.model = model
        self.layer_health = layer_health
        self.every = max(0, int(every))
        self.names = [k for k in model.params if is_weight(k)]
        self._before: dict[str, np.ndarray] = {}
        self._grads: dict[str, float] = {}
        self._armed = False  # a snapshot was taken for the step in progress

    def due(self, iteration: int) -> bool:
        return self.every > 0 and iteration % self.every == 0

    def before(self, iteration: int, grads: Mapping[str, np.ndarray]) -> None:
        if not self.due(iteration):
            return
        params = self.model.params
        for k in self.names:
            # reused buffers: a sample allocates nothing (a 3072 x 500 weight is 6 MB)
            buf = self._before.get(k)
            if buf is None or buf.shape != params[k].shape or buf.dtype != params[k].dtype:
                buf = self._before[k] = np.empty_like(params[k])
            np.copyto(buf, params[k])
        self._grads = {k: _norm(grads[k]) for k in self.names if k in grads}
        self._armed = True

    def after(self, iteration: int) -> dict[str, float] | None:
        if not self.due(iteration) or not self._armed:
            return None
        self._armed = False
        stats: dict[str, float] = {}
        params = self.model.params
        for k, old in self._before.items():
            norm = _norm(old)
            np.subtract(params[k], old, out=old)  # the update, in the snapshot's buffer
            step = _norm(old)
            stats[f"update_ratio:{k}"] = step / norm if norm > 0 else math.inf
            if k in self._grads:
                stats[f"grad_norm:{k}"] = self._grads[k]
        if self.layer_health is not None:
            stats.update(self.layer_health())
        return stats


def _norm(a: np.ndarray) -> float:
    """The Frobenius norm by one BLAS dot over a flat view (np.linalg.norm on a matrix
    allocates its square first)."""
    flat = a.reshape(-1) if a.flags.c_contiguous or a.flags.f_contiguous else a.ravel()
    return math.sqrt(float(np.dot(flat, flat)))


def hints(latest: Mapping[str, float]) -> list[str]:
    """Advice for the latest health values, one line per value out of its healthy range
    (empty when all is well). Keys as :class:`HealthProbe` names them."""
    out = []
    grads = {}
    for key, value in latest.items():
        stat, _, where = key.partition(":")
        if stat == "update_ratio":
            if not math.isfinite(value) or value > RATIO_HIGH:
                out.append(
                    f"updates are {value:.0e} of the weights in {where} (healthy ~1e-3): "
                    "the learning rate is too high"
                )
            elif value < RATIO_LOW:
                out.append(
                    f"updates are {value:.0e} of the weights in {where} (healthy ~1e-3): "
                    "the learning rate is too low"
                )
        elif stat == "dead" and value > DEAD_HIGH:
            out.append(
                f"{value:.0%} of the ReLUs in {where} never fire on the batch: lower the "
                "learning rate, or use He init or batchnorm"
            )
        elif stat == "grad_norm":
            grads[where] = value
            if not math.isfinite(value) or value > GRAD_HIGH:
                out.append(
                    f"the gradient of {where} is exploding (norm {value:.2g}): lower the "
                    "learning rate or raise reg"
                )
    if len(grads) >= 2:
        first, last = grads[next(iter(grads))], grads[list(grads)[-1]]
        if math.isfinite(first) and last > 0 and first / last < VANISH_RATIO:
            out.append(
                f"vanishing gradients: the first layer's is {first / last:.0e} of the last's; "
                "use He init, batchnorm or fewer layers"
            )
    return out
