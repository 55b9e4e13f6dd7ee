"""Built-in optimizers: sgd, momentum, nesterov, adagrad, rmsprop and adam.

Param has only inclusive bounds, so the open lower bounds (lr > 0, lr_decay > 0, eps > 0)
are written as tiny positive minimums.
"""

from tuidl.engine.optim import SGD, Adagrad, Adam, Momentum, Nesterov, RMSProp
from tuidl.plugins import Component, Param, hookimpl


def _lr(default: float) -> Param:
    return Param("lr", "float", default, "learning rate (step size)", min=1e-12)


_DECAY = Param(
    "lr_decay",
    "float",
    1.0,
    "multiply the learning rate by this after every epoch (1 = no decay)",
    min=1e-6,
    max=1.0,
)
_MOMENTUM = Param(
    "momentum",
    "float",
    0.9,
    "momentum μ: fraction of the velocity kept each step",
    min=0.0,
    max=0.999,
)
_EPS = Param(
    "eps", "float", 1e-8, "added to the root mean square to avoid division by zero", min=1e-16
)


def _sgd(lr, lr_decay):
    """Vanilla minibatch gradient descent: x -= lr · dx."""
    return SGD(lr=lr, lr_decay=lr_decay)


def _momentum(lr, momentum, lr_decay):
    """Momentum: v = μ·v - lr·dx; x += v."""
    return Momentum(lr=lr, momentum=momentum, lr_decay=lr_decay)


def _nesterov(lr, momentum, lr_decay):
    """Nesterov momentum (CS231n form): v_prev = v; v = μ·v - lr·dx; x += -μ·v_prev + (1+μ)·v."""
    return Nesterov(lr=lr, momentum=momentum, lr_decay=lr_decay)


def _adagrad(lr, eps, lr_decay):
    """Adagrad: cache += dx²; x -= lr · dx / (sqrt(cache) + eps)."""
    return Adagrad(lr=lr, eps=eps, lr_decay=lr_decay)


def _rmsprop(lr, decay_rate, eps, lr_decay):
    """RMSProp: cache = d·cache + (1-d)·dx²; x -= lr · dx / (sqrt(cache) + eps)."""
    return RMSProp(lr=lr, decay_rate=decay_rate, eps=eps, lr_decay=lr_decay)


def _adam(lr, beta1, beta2, eps, lr_decay):
    """Adam with bias correction: running means of dx and dx², x -= lr · m̂ / (sqrt(v̂) + eps)."""
    return Adam(lr=lr, beta1=beta1, beta2=beta2, eps=eps, lr_decay=lr_decay)


@hookimpl
def register_optimizers(register):
    def opt(name, summary, factory, *params):
        register(Component("optimizer", name, summary, factory, params))

    opt("sgd", "Stochastic gradient descent", _sgd, _lr(1e-2), _DECAY)
    opt("momentum", "SGD with momentum", _momentum, _lr(1e-2), _MOMENTUM, _DECAY)
    opt("nesterov", "SGD with Nesterov momentum", _nesterov, _lr(1e-2), _MOMENTUM, _DECAY)
    opt(
        "adagrad",
        "Adagrad: per-parameter rates from summed squared gradients",
        _adagrad,
        _lr(1e-2),
        _EPS,
        _DECAY,
    )
    decay_rate = Param(
        "decay_rate",
        "float",
        0.99,
        "decay of the running mean of squared gradients",
        min=0.0,
        max=0.9999,
    )
    opt(
        "rmsprop",
        "RMSProp: per-parameter rates from a running mean of dx²",
        _rmsprop,
        _lr(1e-2),
        decay_rate,
        _EPS,
        _DECAY,
    )
    beta1 = Param(
        "beta1", "float", 0.9, "decay of the running mean of gradients", min=0.0, max=0.9999
    )
    beta2 = Param(
        "beta2",
        "float",
        0.999,
        "decay of the running mean of squared gradients",
        min=0.0,
        max=0.99999,
    )
    opt(
        "adam",
        "Adam: momentum plus RMSProp scaling, bias-corrected",
        _adam,
        _lr(1e-3),
        beta1,
        beta2,
        _EPS,
        _DECAY,
    )
