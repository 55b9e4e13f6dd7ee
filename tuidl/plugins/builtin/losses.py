"""Built-in losses: multiclass SVM, squared hinge (L2-SVM) and softmax cross-entropy."""

from tuidl.engine.losses import SoftmaxLoss, SquaredHingeLoss, SVMLoss
from tuidl.plugins import Component, Param, hookimpl

_DELTA = Param(
    "delta",
    "float",
    1.0,
    "margin Δ by which the correct class score should beat every other",
    min=0.0,
)


def _svm(delta: float) -> SVMLoss:
    """Multiclass SVM (hinge) loss: sum over j != y of max(0, s_j - s_y + Δ).

    At tiny random weights it starts near (C - 1)·Δ.
    """
    return SVMLoss(delta)


def _squared_hinge(delta: float) -> SquaredHingeLoss:
    """Squared hinge (L2-SVM) loss: sum over j != y of max(0, s_j - s_y + Δ)².

    Penalizes violated margins more strongly than the hinge; sometimes better, which
    cross-validation can tell.
    """
    return SquaredHingeLoss(delta)


def _softmax() -> SoftmaxLoss:
    """Softmax cross-entropy, computed after subtracting each row's maximum score.

    Numerically stable for any finite scores; at tiny random weights it starts near log(C).
    """
    return SoftmaxLoss()


@hookimpl
def register_losses(register):
    register(Component("loss", "svm", "Multiclass SVM hinge loss with margin Δ", _svm, (_DELTA,)))
    register(
        Component("loss", "squared_hinge", "Squared hinge (L2-SVM) loss", _squared_hinge, (_DELTA,))
    )
    register(Component("loss", "softmax", "Softmax cross-entropy loss", _softmax))
