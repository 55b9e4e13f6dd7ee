"""Training states kept between successive halving's rungs, one ``.npz`` per (trial, fold).

A halving rung below the full budget trains the first ``b`` epochs of the full training and
saves its :class:`~tuidl.experiment.trainer.TrainState` here; the next rung's trial of the
same configuration loads it and trains on, instead of training again from epoch 0 (see
:mod:`tuidl.plugins.builtin.searchers`). A configuration promoted through rungs of 1, 3 and
9 epochs so costs 9 epochs, not 13, and ends where its uninterrupted training would.

A state is about three to four copies of the model's weights (weights, the best check's,
an optimizer's moments) per fold; they are written only while the disk keeps 10% (at least
1 GiB) free, and a continued trial's source state is deleted once it is done.

The files live in a run folder (:func:`~tuidl.experiment.lifetime.make_run_folder`) that
the runner removes when the run ends, so a resumed run starts its rungs afresh. They are
written with ``allow_pickle=False`` structure (arrays, plus one JSON string for scalars and
the generator state) and read without pickle: a file that is missing, truncated or not
ours reads as ``None``, and the caller trains from scratch. Nothing here is fatal: a
continuation is an optimisation, never a source of results of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tuidl.experiment.trainer import TrainState

_SCALARS = (
    "iteration",
    "pos",
    "first",
    "base_lr",
    "best_val",
    "best_epoch",
    "best_train",
    "since_best",
    "train_acc",
    "val_acc",
    "stopped",
)


def path(folder: str | Path, trial: int, fold: int) -> Path:
    return Path(folder) / f"t{int(trial)}f{int(fold)}.npz"


def _flatten(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``tree`` with every array replaced by its key in ``arrays`` (JSON-able)."""
    if isinstance(tree, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = tree
        return {"__array__": key}
    if isinstance(tree, dict):
        return {str(k): _flatten(v, arrays) for k, v in tree.items()}
    if isinstance(tree, np.integer | np.floating):
        return tree.item()
    return tree


def _unflatten(tree: Any, z: Any) -> Any:
    if isinstance(tree, dict):
        if set(tree) == {"__array__"}:
            return np.array(z[tree["__array__"]])
        return {k: _unflatten(v, z) for k, v in tree.items()}
    return tree


def save(
    folder: str | Path, trial: int, fold: int, state: TrainState, *, keep_free: int | None = None
) -> bool:
    """Write ``state`` atomically; whether it was written. A full disk or any other
    ``OSError`` loses the checkpoint only (the next rung trains from scratch), and so does
    too little room: a state is not written when less than ``keep_free`` bytes (default
    :func:`reserve`) would be left on its disk, so kept states never take the space the
    run store and the fold files need."""
    arrays: dict[str, np.ndarray] = {}
    tree = {
        "model": state.model,
        "optimizer": state.optimizer,
        "best_state": state.best_state,
        "sample": state.sample,
        "perm": state.perm,
        "rng": state.rng,
        **{k: getattr(state, k) for k in _SCALARS},
    }
    doc = json.dumps(_flatten(tree, arrays))
    size = sum(a.nbytes for a in arrays.values())
    try:
        disk = shutil.disk_usage(folder)
    except OSError:
        return False
    if disk.free - size < (reserve(disk.total) if keep_free is None else keep_free):
        return False
    target = path(folder, trial, fold)
    tmp = target.with_name(target.stem + ".tmp.npz")
    try:
        np.savez(tmp, allow_pickle=False, __layout__=np.array(doc), **arrays)
        os.replace(tmp, target)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        return False
    return True


def reserve(total: int) -> int:
    """Bytes kept free on a disk of ``total`` bytes: 10% of it, at least 1 GiB."""
    return max(2**30, total // 10)


def load(folder: str | Path | None, trial: int, fold: int) -> TrainState | None:
    """The state :func:`save` wrote for (trial, fold), or ``None`` when there is none or it
    cannot be read (never raises for a bad file)."""
    if folder is None:
        return None
    try:
        with np.load(path(folder, trial, fold), allow_pickle=False) as z:
            tree = _unflatten(json.loads(str(z["__layout__"])), z)
        return TrainState(**tree)
    except Exception:  # truncated, not a zip, pickled, another layout: all mean "none"
        return None


def discard(folder: str | Path | None, trial: int, fold: int) -> None:
    """Delete one checkpoint (its continuation has finished: nothing will read it again)."""
    if folder is not None:
        with contextlib.suppress(OSError):
            path(folder, trial, fold).unlink()
