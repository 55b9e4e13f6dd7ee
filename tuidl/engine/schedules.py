"""Learning-rate schedules, independent of the optimizer.

A schedule is a multiplier on the optimizer's learning rate as a function of training
progress: :func:`factor` returns it for iteration ``it`` (1-based, the step about to be
taken) of ``total``, with ``ipe`` iterations per epoch. The optimizer stays the one source
of truth for the base rate and its per-epoch ``lr_decay``; the trainer sets
``optimizer.lr = decayed_lr * factor(...)`` before each step (see
:func:`tuidl.experiment.trainer.train`), so the two compose (decay × schedule).

Schedules (:data:`SCHEDULES`):

- ``constant``: 1 throughout (today's behaviour).
- ``cosine``: ``0.5 * (1 + cos(pi * p))`` with ``p`` the fraction of the steps after warmup
  already done (``(it - 1 - w) / (total - w)``), so the first step after warmup uses the
  full rate and the rate falls smoothly towards 0 at the end.
- ``step``: ``step_factor ** floor(epoch / step_epochs)``, ``epoch = (it - 1) / ipe``: the
  rate is multiplied by ``step_factor`` every ``step_epochs`` epochs.

Warmup (any schedule): with ``warmup_epochs`` > 0 the first ``w = round(warmup_epochs *
ipe)`` steps ramp linearly as ``it / w`` (the first step is not taken at rate 0).

How it fails: an unknown name or a bad number raises :class:`ValueError` naming it (the
spec's settings check catches these before a run; see
:mod:`tuidl.experiment.spec_schema`).
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine", "step")


def factor(
    name: str,
    it: int,
    total: int,
    ipe: int,
    *,
    warmup_epochs: float = 0.0,
    step_epochs: float = 1.0,
    step_factor: float = 0.1,
) -> float:
    """The multiplier on the learning rate for step ``it`` (1-based) of ``total``."""
    if name not in SCHEDULES:
        raise ValueError(f"schedule {name!r}: allowed {', '.join(SCHEDULES)}")
    if warmup_epochs < 0 or step_epochs <= 0 or not 0 < step_factor <= 1:
        raise ValueError(
            f"schedule {name!r}: warmup_epochs {warmup_epochs} must be >= 0, step_epochs "
            f"{step_epochs} > 0 and step_factor {step_factor} in (0, 1]"
        )
    total, ipe = max(int(total), 1), max(int(ipe), 1)
    warm = min(round(warmup_epochs * ipe), total)
    if warm and it <= warm:
        return it / warm
    if name == "cosine":
        span = max(total - warm, 1)
        p = min(max((it - 1 - warm) / span, 0.0), 1.0)
        return 0.5 * (1.0 + math.cos(math.pi * p))
    if name == "step":
        return step_factor ** math.floor((it - 1) / ipe / step_epochs)
    return 1.0
