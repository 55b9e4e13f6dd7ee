"""What the pictures of a run need, kept in the run store (table ``test_pictures``, schema
version 4): the retrained best's test predictions and its first-layer weights.

- ``predictions``: one int32 per test row, in the order the split gives the test rows, so
  the test images of a confusion pair (true ``a``, predicted ``b``) can be found again: the
  rows themselves are rebuilt from the stored spec and seed (:func:`tuidl.experiment.
  runner.load_data`), never stored.
- ``weights``: the first layer's weights as (units, input_dim) float16 rows, at most
  :data:`MAX_UNITS` units (the first ones; ``total_units`` says how many there were), from
  a model that declares :class:`tuidl.api.ShowsWeights`. A linear classifier on CIFAR-10
  costs 60 KB, a 100-unit first layer 600 KB. ``per_class``: unit ``i`` scores class
  ``i`` (a linear classifier's templates). ``note`` says why there are none.
- ``image_shape``: the per-row shape of the dataset's rows (``[8, 8]``, ``[32, 32, 3]``),
  which decides whether a weight row can be drawn as an image.

How it fails: the functions raise :class:`sqlite3.Error`; the store wraps them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_UNITS = 100

TABLE = """
CREATE TABLE IF NOT EXISTS test_pictures (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    predictions BLOB,
    weights BLOB,
    units INTEGER NOT NULL DEFAULT 0,
    dim INTEGER NOT NULL DEFAULT 0,
    total_units INTEGER NOT NULL DEFAULT 0,
    per_class INTEGER NOT NULL DEFAULT 0,
    image_shape_json TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT ''
)
"""


@dataclass
class Pictures:
    """One run's stored picture data (see the module doc)."""

    predictions: np.ndarray | None  # (num_test,) int64
    weights: np.ndarray | None  # (units, dim) float32 (stored as float16)
    total_units: int
    per_class: bool
    image_shape: tuple[int, ...]
    note: str


def write(
    conn: sqlite3.Connection,
    run_id: int,
    *,
    predictions: Any = None,
    weights: Any = None,
    per_class: bool = False,
    image_shape: tuple[int, ...] = (),
    note: str = "",
) -> None:
    """Store (replace) a run's predictions and first-layer weights, in one statement.
    ``weights`` (units, dim) is cut to :data:`MAX_UNITS` rows and kept as float16."""
    pred_blob = None
    if predictions is not None:
        pred_blob = np.asarray(predictions, dtype="<i4").tobytes()
    w_blob, units, dim, total = None, 0, 0, 0
    if weights is not None:
        W = np.asarray(weights)
        total, dim = W.shape
        W = W[:MAX_UNITS]
        units = W.shape[0]
        # float16 keeps a picture's contrast (3 significant digits) at half the bytes;
        # weights beyond its range are clipped, not turned into inf
        w_blob = np.clip(W, -65000, 65000).astype("<f2").tobytes()
    conn.execute(
        "INSERT OR REPLACE INTO test_pictures (run_id, predictions, weights, units, dim, "
        "total_units, per_class, image_shape_json, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            run_id,
            pred_blob,
            w_blob,
            units,
            dim,
            total,
            int(bool(per_class)),
            json.dumps([int(d) for d in image_shape]),
            note,
        ),
    )


def read(conn: sqlite3.Connection, run_id: int) -> Pictures | None:
    """A run's :class:`Pictures`, or ``None`` when none were stored (a run from before
    schema version 4, or not retrained yet)."""
    row = conn.execute(
        "SELECT predictions, weights, units, dim, total_units, per_class, image_shape_json, "
        "note FROM test_pictures WHERE run_id=?",
        (run_id,),
    ).fetchone()
    if row is None:
        return None
    pred_blob, w_blob, units, dim, total, per_class, shape, note = row
    predictions = (
        np.frombuffer(pred_blob, dtype="<i4").astype(np.int64) if pred_blob is not None else None
    )
    weights = None
    if w_blob is not None and units and dim:
        weights = np.frombuffer(w_blob, dtype="<f2").astype(np.float32).reshape(units, dim)
    return Pictures(
        predictions=predictions,
        weights=weights,
        total_units=int(total),
        per_class=bool(per_class),
        image_shape=tuple(int(d) for d in json.loads(shape or "[]")),
        note=str(note or ""),
    )


def record(store: Any, run_id: int, **data: Any) -> None:
    """:func:`write` on a :class:`~tuidl.experiment.store.Store`; its errors (a full disk,
    a read-only file) come as the store words them."""
    try:
        write(store.conn, run_id, **data)
    except sqlite3.Error as exc:
        raise store._error(exc) from None


def load(store: Any, run_id: int) -> Pictures | None:
    """:func:`read` on a :class:`~tuidl.experiment.store.Store`; ``None`` for a store
    older than version 4 (read as it is, when it may not be upgraded)."""
    if store.version < 4:
        return None
    try:
        return read(store.conn, run_id)
    except sqlite3.Error as exc:
        raise store._error(exc) from None
