"""Independent logistic losses, one per binary attribute, and per-attribute metrics.

Multi-label contract extension (the loss side): a loss whose ``target`` attribute is
``"multilabel"`` takes ``Y`` of shape (N, A) holding 0/1, has ``output_dim(A) == A`` (one
score per attribute) and ``predict(scores) -> (N, A)`` int 0/1. A model needs no change:
the linear model's ``A`` weight columns are then ``A`` independent logistic regressions.
"""

from __future__ import annotations

import numpy as np

from tuidl.errors import TuidlError


class AttributeLoss:
    """Sum over attributes of binary cross-entropy, mean over rows.

    ``loss = -sum_a [w * y log sigmoid(f) + (1 - y) log(1 - sigmoid(f))]`` with
    ``w = pos_weight`` (1: the plain logistic loss), computed as softplus terms so large
    scores stay finite. ``dscores = (sigmoid(f) - y) / N`` when ``w = 1``. ``Y`` must have
    the shape of ``scores`` and hold only 0 and 1, else :class:`TuidlError`.
    """

    target = "multilabel"

    def __init__(self, pos_weight: float = 1.0) -> None:
        self.pos_weight = float(pos_weight)

    def output_dim(self, num_attributes: int) -> int:
        return int(num_attributes)

    def chance_loss(self, num_attributes: int) -> float:
        """The loss when every score is 0 (probability 1/2 for every attribute): the sum over
        attributes of ``ln 2`` (``pos_weight`` scales the positives' share, which depends on
        the data, so this is exact only for ``pos_weight = 1``)."""
        return float(num_attributes * np.log(2.0))

    def __call__(self, scores: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
        Y = _targets(Y, scores.shape)
        n = scores.shape[0]
        y = Y.astype(scores.dtype, copy=False)
        softplus_neg = np.logaddexp(0, -scores)  # -log sigmoid(f)
        softplus_pos = np.logaddexp(0, scores)  # -log(1 - sigmoid(f))
        w = self.pos_weight
        loss = float((w * y * softplus_neg + (1 - y) * softplus_pos).sum()) / n
        sig = np.exp(-softplus_neg)
        # d/df of the per-entry loss: -w y (1 - sigmoid) + (1 - y) sigmoid
        dscores = (1 - y) * sig - w * y * (1 - sig) if w != 1.0 else sig - y
        dscores *= 1.0 / n
        return loss, dscores.astype(scores.dtype, copy=False)

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """1 where the attribute's probability exceeds 0.5 (its score is positive)."""
        return (np.asarray(scores) > 0).astype(np.int64)

    def proba(self, scores: np.ndarray) -> np.ndarray:
        return np.exp(-np.logaddexp(0, -np.asarray(scores)))

    def metrics(self, Y_true, Y_pred, names=None) -> dict:
        """See :func:`attribute_metrics`."""
        return attribute_metrics(Y_true, Y_pred, names)


def _targets(Y, shape) -> np.ndarray:
    Y = np.asarray(Y)
    if Y.shape != tuple(shape):
        hint = (
            " (class labels, not attributes: use an attribute dataset such as digits_attributes)"
            if Y.ndim == 1
            else ""
        )
        raise TuidlError(
            f"loss attributes: targets have shape {Y.shape}, scores {tuple(shape)}; it needs "
            f"multi-label targets (N, A) of 0/1{hint}"
        )
    if Y.dtype.kind not in "biu" or (Y.size and (Y.min() < 0 or Y.max() > 1)):
        raise TuidlError(f"loss attributes: targets must be 0/1 integers, got dtype {Y.dtype}")
    return Y


def attribute_metrics(Y_true, Y_pred, names=None) -> dict:
    """Accuracy, precision, recall and F1 per attribute, and their means over attributes.

    ``Y_true``/``Y_pred`` are (N, A) of 0/1. Returns ``{"attributes": {name: {"accuracy",
    "precision", "recall", "f1", "positives"}}, "mean": {"accuracy", "precision", "recall",
    "f1"}}``; precision/recall/F1 of an attribute with nothing predicted/present are 0.
    ``mean["accuracy"]`` equals ``np.mean(Y_pred == Y_true)``, what a trainer's plain
    accuracy computes on (N, A) arrays.
    """
    Y_true = np.asarray(Y_true).astype(bool)
    Y_pred = np.asarray(Y_pred).astype(bool)
    if Y_true.shape != Y_pred.shape or Y_true.ndim != 2:
        raise TuidlError(f"attribute metrics: shapes {Y_true.shape} and {Y_pred.shape} differ")
    a = Y_true.shape[1]
    names = list(names) if names is not None else [f"attr{i}" for i in range(a)]
    tp = (Y_true & Y_pred).sum(axis=0)
    fp = (~Y_true & Y_pred).sum(axis=0)
    fn = (Y_true & ~Y_pred).sum(axis=0)
    acc = (Y_true == Y_pred).mean(axis=0)
    prec = np.divide(tp, tp + fp, out=np.zeros(a), where=(tp + fp) > 0)
    rec = np.divide(tp, tp + fn, out=np.zeros(a), where=(tp + fn) > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros(a), where=(prec + rec) > 0)
    per = {
        name: {
            "accuracy": float(acc[i]),
            "precision": float(prec[i]),
            "recall": float(rec[i]),
            "f1": float(f1[i]),
            "positives": int(Y_true[:, i].sum()),
        }
        for i, name in enumerate(names)
    }
    mean = {
        "accuracy": float(acc.mean()),
        "precision": float(prec.mean()),
        "recall": float(rec.mean()),
        "f1": float(f1.mean()),
    }
    return {"attributes": per, "mean": mean}
