"""Which model is tested at the end of a run (``cv.refit``), and the kept holdout models.

- ``retrain``: the selected trial is trained again on all training rows (the k-fold
  union, or the holdout's training rows) and that model is tested. No validation rows, so
  no keep-best: the model after the last epoch. The k-fold default (k-fold has no single
  model trained on every training row).
- ``reuse``: the selected trial's own holdout model -- already trained on exactly those
  training rows, with keep-best's best validation epoch -- is tested; no second training.
  The holdout default (``auto``), as in the classic recipe.

Only learnable models are kept: a non-learnable model (kNN) fitted again on the same rows
is the same model, so retraining it is the reuse.

Keeping models: while the trials run, each holdout trial's final parameters
(``model.get_state()``) are written to ``<folder>/trial<i>.npz`` (the run's temporary
folder, removed with the run; see :mod:`tuidl.experiment.lifetime`), by whichever process
trained it. After each result the runner deletes the files of the trials that can no
longer be selected (:func:`discard`), so at most the current best (or, for the
one-standard-error rule, its candidates) is kept on disk and nothing is held in memory. A
selected trial whose file is gone (the run was interrupted and resumed: the folder did not
survive) is re-derived: its holdout fold is trained again with the same seed, which
reproduces the same model, then tested.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads when a model is saved or scored, not when views import this
    import numpy as np

_SEP = "::"


def resolve(refit: str, method: str) -> str:
    """``"reuse"`` or ``"retrain"``: a ``cv.refit`` value, ``auto`` resolved by ``method``."""
    if refit == "auto":
        return "reuse" if method == "holdout" else "retrain"
    return refit


def mode(spec: Any) -> str:
    """:func:`resolve` for a spec's ``cv.refit`` and ``cv.method``."""
    return resolve(getattr(spec.cv, "refit", "auto"), spec.cv.method)


def stored_mode(spec: dict[str, Any]) -> str:
    """How a stored run's tested model came about, from its TOML-shaped spec dict
    (``run["spec"]``); a run stored before ``cv.refit`` existed was retrained."""
    cv = spec.get("cv", {}) or {}
    if "refit" not in cv:
        return "retrain"
    return resolve(str(cv["refit"]), str(cv.get("method", "kfold")))


def path(folder: str | Path, trial: int) -> Path:
    return Path(folder) / f"trial{int(trial)}.npz"


def save(folder: str | Path, trial: int, state: dict[str, dict[str, np.ndarray]], **meta) -> None:
    """Write a model state (``get_state()``: group -> name -> array) and numeric ``meta``
    (``train_acc``, ``fit_seconds``) atomically: a reader sees the whole file or none.
    A full disk raises ``OSError`` (the runner stops the run as interrupted)."""
    import numpy as np

    arrays = {
        f"{g}{_SEP}{n}": np.asarray(a) for g, group in state.items() for n, a in group.items()
    }
    for k, v in meta.items():
        if v is not None:
            arrays[f"meta{_SEP}{k}"] = np.asarray(float(v))
    target = path(folder, trial)
    tmp = target.with_suffix(".tmp.npz")
    # allow_pickle spelled out (numpy's default) so the stubs do not match **arrays to it
    np.savez(tmp, allow_pickle=True, **arrays)
    os.replace(tmp, target)


def load(folder: str | Path | None, trial: int) -> tuple[dict, dict[str, float]] | None:
    """(state, meta) written by :func:`save`, or ``None`` when there is none."""
    import numpy as np

    if folder is None:
        return None
    p = path(folder, trial)
    try:
        with np.load(p) as z:
            state: dict[str, dict[str, np.ndarray]] = {}
            meta: dict[str, float] = {}
            for key in z.files:
                group, _, name = key.partition(_SEP)
                if group == "meta":
                    meta[name] = float(z[key])
                else:
                    state.setdefault(group, {})[name] = np.array(z[key])
    except FileNotFoundError:
        return None
    return state, meta


def discard(folder: str | Path | None, keep: set[int]) -> None:
    """Delete the kept models of every trial not in ``keep``."""
    if folder is None:
        return
    for p in Path(folder).glob("trial*.npz"):
        stem = p.name[len("trial") : -len(".npz")]
        if stem.isdigit() and int(stem) not in keep:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def reuse(worker: Any, trial: int, Xtr, ytr, Xev, yev, start: float) -> Any:
    """The final unit with ``cv.refit = reuse``: test the trial's kept holdout model
    instead of training a second one. A model that was not kept (a resumed run) is
    re-derived by training its holdout fold again with the same seed; without a model
    folder this is a retrain. ``worker``: the :class:`~tuidl.experiment.work.Worker`
    running the final unit (its fold data, trials and registry); returns its
    :class:`~tuidl.experiment.work.FoldResult`."""
    import numpy as np

    from tuidl.experiment.components import build_trial
    from tuidl.experiment.recording import first_layer
    from tuidl.experiment.trainer import predict
    from tuidl.experiment.work import FINAL, FoldResult, Unit, fold_rng

    kept = load(worker.context.model_dir, trial)
    if kept is None and worker.context.model_dir:
        spec = worker.spec_of(trial)
        again = worker._train(trial, 0, *worker.prepared(spec, 0))
        if again.status != "ok":
            return FoldResult(trial, FINAL, again.status, None, message=again.message)
        kept = load(worker.context.model_dir, trial)
        Xtr, ytr, Xev, yev = worker.prepared(spec, FINAL)
    if kept is None:
        return worker._train(trial, FINAL, Xtr, ytr, Xev, yev)
    state, meta = kept
    spec = worker.spec_of(trial)
    rng = fold_rng(worker.context.seed, trial, 0)
    parts = build_trial(spec, worker.registry, Xtr, ytr, worker.data.num_classes, rng)
    model = parts.model
    model.set_state(state)
    pred = predict(model, Xev)
    score = float(np.mean(pred == yev)) if len(yev) else None
    test = worker._test(pred, yev, Unit(FINAL, (trial,)), parts.loss)
    if test is not None:
        test.update(first_layer(model, spec.model.name))
        test["refit"] = "reuse"
    return FoldResult(
        trial,
        FINAL,
        "ok",
        score,
        meta.get("train_acc"),
        meta.get("fit_seconds", time.perf_counter() - start),
        test=test,
    )
