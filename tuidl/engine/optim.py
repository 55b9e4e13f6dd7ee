"""First-order optimizers in the CS231n formulations.

``step(params, grads)`` updates every array in ``params`` in place (the model's own arrays,
so nothing needs handing back), reading ``grads[name]`` for each; a missing gradient raises
``KeyError``. ``grads`` is never modified. State (velocities, caches, step counts) is kept
per parameter name and created on first sight in the parameter's dtype. ``end_epoch()``
multiplies ``lr`` by ``lr_decay``.

Each parameter also gets one scratch buffer, so a step allocates nothing after the first:
the updates are written as sequences of in-place ufuncs rather than the shorter
expressions that would allocate a temporary per term.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class Optimizer:
    """Base class: learning rate, per-epoch decay, per-parameter state and scratch."""

    def __init__(self, lr: float, lr_decay: float = 1.0) -> None:
        self.lr = float(lr)
        self.lr_decay = float(lr_decay)
        self.state: dict[str, dict[str, np.ndarray | int]] = {}
        self._scratch: dict[str, np.ndarray] = {}

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        for name, p in params.items():
            tmp = self._scratch.get(name)
            if tmp is None or tmp.shape != p.shape or tmp.dtype != p.dtype:
                tmp = self._scratch[name] = np.empty_like(p)
                self.state[name] = self._init_state(p)
            self._update(p, grads[name], self.state[name], tmp)

    def end_epoch(self) -> None:
        self.lr *= self.lr_decay

    def get_state(self) -> dict[str, object]:
        """Copies of the rate and every parameter's state (``{"lr": float, "state":
        {name: {key: array or int}}}``), for a training that is to continue later."""
        return {
            "lr": self.lr,
            "state": {
                name: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in st.items()}
                for name, st in self.state.items()
            },
        }

    def set_state(self, saved: Mapping[str, object], params: Mapping[str, np.ndarray]) -> None:
        """Restore a :meth:`get_state` result for the model's ``params``: the next
        :meth:`step` continues exactly where the saved optimizer stopped. A state that does
        not match the params (a name missing, a shape different) raises ``ValueError``."""
        state = saved["state"]
        assert isinstance(state, Mapping)
        self.lr = float(saved["lr"])  # type: ignore[arg-type]
        self.state, self._scratch = {}, {}
        for name, p in params.items():
            if name not in state:
                raise ValueError(f"optimizer state has no entry for parameter {name!r}")
            fresh = self._init_state(p)
            for k, v in state[name].items():
                if isinstance(fresh.get(k), np.ndarray):
                    if np.shape(v) != p.shape:
                        raise ValueError(f"optimizer state {name}.{k}: shape {np.shape(v)}")
                    np.copyto(fresh[k], v)
                else:  # a counter such as Adam's t
                    fresh[k] = type(fresh[k])(v) if k in fresh else v
            self.state[name] = fresh
            self._scratch[name] = np.empty_like(p)

    def _init_state(self, p: np.ndarray) -> dict:
        return {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, tmp: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Vanilla update ``x -= lr * dx``."""

    def __init__(self, lr: float = 1e-2, lr_decay: float = 1.0) -> None:
        super().__init__(lr, lr_decay)

    def _update(self, p, g, state, tmp):
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class Momentum(Optimizer):
    """Momentum ``v = mu * v - lr * dx; x += v`` with ``v`` starting at zero."""

    def __init__(self, lr: float = 1e-2, momentum: float = 0.9, lr_decay: float = 1.0) -> None:
        super().__init__(lr, lr_decay)
        self.momentum = float(momentum)

    def _init_state(self, p):
        return {"v": np.zeros_like(p)}

    def _update(self, p, g, state, tmp):
        v = state["v"]
        v *= self.momentum
        np.multiply(g, self.lr, out=tmp)
        v -= tmp
        p += v


class Nesterov(Optimizer):
    """Nesterov momentum as in the CS231n notes.

    ``v_prev = v; v = mu * v - lr * dx; x += -mu * v_prev + (1 + mu) * v``, computed as the
    equal ``x += mu * v_new - lr * dx`` so no copy of ``v_prev`` is needed.
    """

    def __init__(self, lr: float = 1e-2, momentum: float = 0.9, lr_decay: float = 1.0) -> None:
        super().__init__(lr, lr_decay)
        self.momentum = float(momentum)

    def _init_state(self, p):
        return {"v": np.zeros_like(p)}

    def _update(self, p, g, state, tmp):
        v, mu = state["v"], self.momentum
        np.multiply(g, self.lr, out=tmp)
        v *= mu
        v -= tmp
        p -= tmp
        np.multiply(v, mu, out=tmp)
        p += tmp


def _scaled_step(p, g, cache, tmp, lr: float, eps: float) -> None:
    """``x -= lr * dx / (sqrt(cache) + eps)``, shared by Adagrad and RMSProp."""
    np.sqrt(cache, out=tmp)
    tmp += eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr
    p -= tmp


class Adagrad(Optimizer):
    """Adagrad ``cache += dx**2; x -= lr * dx / (sqrt(cache) + eps)``."""

    def __init__(self, lr: float = 1e-2, eps: float = 1e-8, lr_decay: float = 1.0) -> None:
        super().__init__(lr, lr_decay)
        self.eps = float(eps)

    def _init_state(self, p):
        return {"cache": np.zeros_like(p)}

    def _update(self, p, g, state, tmp):
        cache = state["cache"]
        np.multiply(g, g, out=tmp)
        cache += tmp
        _scaled_step(p, g, cache, tmp, self.lr, self.eps)


class RMSProp(Optimizer):
    """RMSProp ``cache = d * cache + (1 - d) * dx**2; x -= lr * dx / (sqrt(cache) + eps)``."""

    def __init__(
        self, lr: float = 1e-2, decay_rate: float = 0.99, eps: float = 1e-8, lr_decay: float = 1.0
    ) -> None:
        super().__init__(lr, lr_decay)
        self.decay_rate = float(decay_rate)
        self.eps = float(eps)

    def _init_state(self, p):
        return {"cache": np.zeros_like(p)}

    def _update(self, p, g, state, tmp):
        cache, d = state["cache"], self.decay_rate
        cache *= d
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - d
        cache += tmp
        _scaled_step(p, g, cache, tmp, self.lr, self.eps)


class Adam(Optimizer):
    """Adam with bias correction, ``t`` counted per parameter from 1.

    ``m = b1*m + (1-b1)*dx; v = b2*v + (1-b2)*dx**2;``
    ``x -= lr * (m / (1-b1**t)) / (sqrt(v / (1-b2**t)) + eps)``.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        lr_decay: float = 1.0,
    ) -> None:
        super().__init__(lr, lr_decay)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _init_state(self, p):
        return {"m": np.zeros_like(p), "v": np.zeros_like(p), "t": 0}

    def _update(self, p, g, state, tmp):
        b1, b2 = self.beta1, self.beta2
        m, v = state["m"], state["v"]
        state["t"] = t = state["t"] + 1
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        np.divide(v, 1.0 - b2**t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1.0 - b1**t)
        p -= tmp
