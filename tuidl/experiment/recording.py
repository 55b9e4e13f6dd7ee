"""What a unit records besides its score: the trainer's curves in the store
(:class:`StoreSink`), and for the final unit the first-layer weights
(:func:`first_layer`) and per-attribute test metrics (:func:`attribute_accuracy`,
:func:`plain`).

Split from :mod:`tuidl.experiment.work`, which computes the units and calls these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tuidl.engine.health import CURVE_PREFIX
from tuidl.experiment import store_pictures


def first_layer(model: Any, name: str) -> dict[str, Any]:
    """What the final unit records for the weight pictures: ``weights`` (units, dim) and
    ``per_class`` from a model that declares :class:`tuidl.api.ShowsWeights`, else a
    ``weights_note`` saying why there are none."""
    from tuidl.plugins.api import ShowsWeights

    if not isinstance(model, ShowsWeights):
        return {
            "weights_note": f"model {name!r} does not declare first_layer_weights() "
            "(tuidl.api.ShowsWeights)"
        }
    W, per_class = model.first_layer_weights()
    return {"weights": np.asarray(W), "per_class": bool(per_class)}


def attribute_accuracy(Y_true, Y_pred, names) -> dict[str, Any]:
    """Per-attribute test accuracy of (N, A) 0/1 targets and predictions, and its mean:
    ``{"attributes": {name: {"accuracy", "positives"}}, "mean": {"accuracy"}}``, the shape
    a multi-label loss's ``metrics`` hook returns (which may add precision, recall, F1)."""
    Y_true, Y_pred = np.asarray(Y_true), np.asarray(Y_pred)
    acc = (Y_true == Y_pred).mean(axis=0) if len(Y_true) else np.zeros(Y_true.shape[1])
    per = {
        str(name): {"accuracy": float(acc[i]), "positives": int(Y_true[:, i].sum())}
        for i, name in enumerate(names)
    }
    return {"attributes": per, "mean": {"accuracy": float(acc.mean()) if acc.size else 0.0}}


def plain(value: Any) -> Any:
    """``value`` as JSON-safe Python: numpy scalars to int/float, NaN and inf to None;
    anything that is not a dict/list/number/str/bool/None raises ``TypeError``."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{type(value).__name__} is not a number, string, list or dict")


class StoreSink:
    """Trainer events into the store: loss points (bucket means of ``stride`` iterations)
    and per-epoch train/val accuracy and learning rate, each delivery one transaction; and,
    for a ``model`` with :class:`tuidl.api.ShowsWeights` on image rows (``image_shape``),
    its first-layer weights after an epoch (:class:`~tuidl.experiment.store_pictures.
    LiveWriter`)."""

    def __init__(
        self,
        store: Any,
        run_id: int,
        trial: int,
        fold: int,
        stride: int = 1,
        *,
        model: Any = None,
        image_shape: tuple[int, ...] = (),
        class_names: Sequence[str] = (),
    ) -> None:
        self.store, self.run_id, self.trial, self.fold = store, run_id, trial, fold
        self.stride = stride
        self.live = store_pictures.LiveWriter.of(
            store, run_id, trial, fold, model, image_shape, class_names
        )
        self._sum = 0.0
        self._count = 0
        self._pending: list[tuple[str, float, float | None]] = []

    def losses(self, first_iteration: int, values: list[float]) -> None:
        if self.stride == 1:
            self._pending.extend(("loss", first_iteration + i, v) for i, v in enumerate(values))
        else:
            for i, v in enumerate(values):
                self._sum += v
                self._count += 1
                it = first_iteration + i
                if it % self.stride == 0:
                    self._pending.append(("loss", it, self._sum / self._count))
                    self._sum, self._count = 0.0, 0
        self._write()

    def epoch(self, epoch: float, train_acc: float, val_acc: float | None, lr: float) -> None:
        self._pending.append(("train_acc", epoch, train_acc))
        if val_acc is not None:
            self._pending.append(("val_acc", epoch, val_acc))
        self._pending.append(("lr", epoch, lr))
        self._write()
        if self.live is not None:
            self.live.epoch(epoch)

    def health(self, iteration: int, stats: dict[str, float]) -> None:
        # one curve per statistic, "health:<stat>:<where>" (the views read them by prefix);
        # written with the next loss or epoch delivery, not a transaction of its own
        self._pending.extend((f"{CURVE_PREFIX}{k}", iteration, v) for k, v in stats.items())

    def flush(self) -> None:
        self._write()

    def _write(self) -> None:
        if self._pending:
            self.store.add_points(self.run_id, self.trial, self.fold, self._pending)
            self._pending = []
