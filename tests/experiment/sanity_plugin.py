"""A third-party-style plugin for the sanity-check tests: a softmax loss whose gradient is
wrong by a factor, so only the gradient check can catch it."""

from tuidl.engine.losses import SoftmaxLoss
from tuidl.plugins import Component, Param, hookimpl


class WrongGradientSoftmax(SoftmaxLoss):
    """Softmax with its gradient scaled by ``factor`` (a backward-pass bug)."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, scores, y):
        loss, dscores = super().__call__(scores, y)
        return loss, dscores * self.factor


class NoChanceLoss(SoftmaxLoss):
    """Softmax without a declared chance value (a plugin that doesn't declare it)."""

    chance_loss = None


@hookimpl
def register_losses(register):
    register(
        Component(
            "loss",
            "wrong_softmax",
            "Softmax with a wrong gradient (test plugin)",
            WrongGradientSoftmax,
            (Param("factor", "float", 1.3, "gradient scale", min=0.0),),
        )
    )
    register(Component("loss", "plain_softmax", "Softmax, no chance_loss", NoChanceLoss, ()))
