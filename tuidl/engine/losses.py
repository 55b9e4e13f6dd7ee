"""Classification losses: ``loss(scores, y) -> (loss, dscores)``, the mean over rows.

``scores`` is (N, K) floating point, ``y`` (N,) integer labels in ``[0, K)``; a label out of
range raises ``IndexError``. ``loss`` is a Python float, ``dscores`` has the dtype and
shape of ``scores``. The caller's ``scores`` are never modified. Each loss also has
``output_dim(num_classes)`` (the K a model must produce), ``predict(scores)`` (argmax) and
``chance_loss(num_classes)``: its value when every score is 0, which is about where a
small-weight initialization starts (``tuidl check`` compares the two).

These run on every training step, so each makes one working copy of ``scores`` and does
the rest in place on it.
"""

from __future__ import annotations

import numpy as np


class _ArgmaxClassifierLoss:
    def output_dim(self, num_classes: int) -> int:
        return num_classes

    def predict(self, scores: np.ndarray) -> np.ndarray:
        return np.argmax(scores, axis=1)


def _margins(scores: np.ndarray, y: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Hinge margins ``max(0, s_j - s_y + delta)`` with the correct class zeroed."""
    rows = np.arange(scores.shape[0])
    margins = scores - scores[rows, y][:, None]
    margins += delta
    margins[rows, y] = 0
    np.maximum(margins, 0, out=margins)
    return margins, rows


class SVMLoss(_ArgmaxClassifierLoss):
    """Multiclass SVM (hinge) loss: ``sum_{j != y} max(0, s_j - s_y + delta)``.

    Not differentiable where a margin is exactly zero; the gradient there is taken as 0.
    """

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = float(delta)

    def chance_loss(self, num_classes: int) -> float:
        """Every margin is ``delta`` when all scores are equal: ``(C - 1) * delta``."""
        return (num_classes - 1) * self.delta

    def __call__(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        n = scores.shape[0]
        margins, rows = _margins(scores, y, self.delta)
        loss = float(margins.sum()) / n
        # Margins are >= 0 here, so sign() turns them into the 0/1 indicator in place.
        dscores = np.sign(margins, out=margins)
        dscores[rows, y] = -dscores.sum(axis=1)
        dscores *= 1.0 / n
        return loss, dscores


class SquaredHingeLoss(_ArgmaxClassifierLoss):
    """Squared hinge (L2-SVM) loss: ``sum_{j != y} max(0, s_j - s_y + delta)**2``.

    Penalizes violated margins more strongly than :class:`SVMLoss`; differentiable
    everywhere (the gradient is ``2 * margin``).
    """

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = float(delta)

    def chance_loss(self, num_classes: int) -> float:
        """Every margin is ``delta`` when all scores are equal: ``(C - 1) * delta**2``."""
        return (num_classes - 1) * self.delta**2

    def __call__(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        n = scores.shape[0]
        margins, rows = _margins(scores, y, self.delta)
        loss = float(np.vdot(margins, margins)) / n
        dscores = margins
        dscores *= 2.0 / n
        dscores[rows, y] = -dscores.sum(axis=1)
        return loss, dscores


class SoftmaxLoss(_ArgmaxClassifierLoss):
    """Softmax cross-entropy: ``-log(exp(s_y) / sum_j exp(s_j))``.

    Each row's maximum is subtracted first, so every exponent is <= 0 and scores like
    [123, 456, 789] or 1e4 give a finite loss and gradient.
    """

    def chance_loss(self, num_classes: int) -> float:
        """Uniform probabilities when all scores are equal: ``ln C``."""
        return float(np.log(num_classes))

    def __call__(self, scores: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        n = scores.shape[0]
        rows = np.arange(n)
        shifted = scores - scores.max(axis=1, keepdims=True)
        correct = shifted[rows, y]
        probs = np.exp(shifted, out=shifted)
        sums = probs.sum(axis=1)
        loss = float(np.log(sums).sum() - correct.sum()) / n
        # (softmax - onehot) / N, normalizing and averaging in one pass.
        probs *= (1.0 / n) / sums[:, None]
        probs[rows, y] -= 1.0 / n
        return loss, probs
