"""A trial's engine objects built from its (validated, single-point) spec.

The one place a spec's model, loss, initializer and optimizer become engine objects: the
worker trains what this builds, and ``tuidl check`` sanity-checks the very same objects, so
a check never passes on something other than what a run trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tuidl.experiment.spec import Spec
from tuidl.plugins.api import FitsData


@dataclass
class TrialParts:
    """The engine objects of one trial. ``loss``/``init``/``optimizer`` are ``None`` for a
    model that is fitted directly (kNN)."""

    model: Any
    loss: Any = None
    init: Any = None
    optimizer: Any = None


def build_trial(
    spec: Spec,
    registry: Any,
    X: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    rng: np.random.Generator,
    *,
    model_params: dict[str, Any] | None = None,
    optimizer_params: dict[str, Any] | None = None,
) -> TrialParts:
    """Create the trial's components and set a learnable model up on rows ``X, y``.

    ``model_params`` and ``optimizer_params`` override some params (``tuidl check`` sets
    ``reg`` to 0, the dtype to float64, or a constant learning rate). A loss with the
    optional ``fit(X, y, num_classes)`` hook (see ``register_losses``) sees these rows only,
    before the model is set up. A model that is not learnable is created and returned as it
    is, unfitted. Bad params raise :class:`~tuidl.errors.TuidlError` from the registry.
    """
    params = {**spec.model.params, **(model_params or {})}
    model = registry.create("model", spec.model.name, params)
    if not getattr(model, "learnable", False):
        return TrialParts(model)
    assert spec.loss is not None and spec.init is not None and spec.optimizer is not None
    loss = registry.create("loss", spec.loss.name, spec.loss.params)
    init = registry.create("initializer", spec.init.name, spec.init.params)
    optimizer = registry.create(
        "optimizer", spec.optimizer.name, {**spec.optimizer.params, **(optimizer_params or {})}
    )
    if isinstance(loss, FitsData):  # a declared capability (tuidl.api), not a probe
        # e.g. hierarchical softmax builds its class tree from the training rows' class means
        loss.fit(X, y, num_classes=num_classes)
    input_dim = X.shape[1] if X.ndim == 2 else tuple(X.shape[1:])
    model.setup(input_dim, num_classes, loss, init, rng)
    return TrialParts(model, loss, init, optimizer)
