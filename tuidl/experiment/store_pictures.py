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
- ``live_weights``: while a run trains, the first-layer weights of the fold that last
  finished an epoch (one row per run, replaced at most every :data:`LIVE_SECONDS`), so the
  workbench can draw a live run's weights before the retrain.

How it fails: the functions raise :class:`sqlite3.Error`; the store wraps them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where it is used: the store (and `tuidl runs`,
    import numpy as np  # which opens it) should not pay its ~0.15 s import

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
);
CREATE TABLE IF NOT EXISTS live_weights (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    trial INTEGER NOT NULL,
    fold INTEGER NOT NULL,
    epoch REAL NOT NULL,
    weights BLOB NOT NULL,
    units INTEGER NOT NULL,
    dim INTEGER NOT NULL,
    total_units INTEGER NOT NULL,
    per_class INTEGER NOT NULL DEFAULT 0,
    image_shape_json TEXT NOT NULL DEFAULT '[]',
    class_names_json TEXT NOT NULL DEFAULT '[]'
)
"""
LIVE_SECONDS = 1.0  # a training fold writes its live weights at most this often


def create(conn: sqlite3.Connection) -> None:
    """Create the tables (the version-4 upgrade, and part of a new store)."""
    for stmt in TABLE.split(";"):
        if stmt.strip():
            conn.execute(stmt)


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
    import numpy as np

    pred_blob = None
    if predictions is not None:
        pred_blob = np.asarray(predictions, dtype="<i4").tobytes()
    w_blob, units, dim, total = None, 0, 0, 0
    if weights is not None:
        w_blob, units, dim, total = _pack(weights)
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
    import numpy as np

    pred_blob, w_blob, units, dim, total, per_class, shape, note = row
    predictions = (
        np.frombuffer(pred_blob, dtype="<i4").astype(np.int64) if pred_blob is not None else None
    )
    weights = None
    if w_blob is not None and units and dim:
        weights = _unpack(w_blob, units, dim)
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


def _pack(weights: Any) -> tuple[bytes, int, int, int]:
    import numpy as np

    W = np.asarray(weights)
    total, dim = W.shape
    W = W[:MAX_UNITS]
    # float16 keeps a picture's contrast (3 significant digits) at half the bytes;
    # weights beyond its range are clipped, not turned into inf
    return np.clip(W, -65000, 65000).astype("<f2").tobytes(), W.shape[0], dim, total


def _unpack(blob: bytes, units: int, dim: int) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype="<f2").astype(np.float32).reshape(units, dim)


@dataclass
class LiveWeights:
    trial: int
    fold: int  # -1: the final retrain
    epoch: float
    weights: np.ndarray  # (units, dim) float32
    total_units: int
    per_class: bool
    image_shape: tuple[int, ...]
    class_names: list[str]


def record_live(
    store: Any,
    run_id: int,
    *,
    trial: int,
    fold: int,
    epoch: float,
    weights: Any,
    per_class: bool,
    image_shape: tuple[int, ...],
    class_names: Sequence[str] = (),
) -> None:
    """Replace the run's live weights (one transaction). A store without the table (made
    by this version's first build) keeps none: live pictures are a nicety."""
    blob, units, dim, total = _pack(weights)
    try:
        store.conn.execute(
            "INSERT OR REPLACE INTO live_weights (run_id, trial, fold, epoch, weights, units, "
            "dim, total_units, per_class, image_shape_json, class_names_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                trial,
                fold,
                float(epoch),
                blob,
                units,
                dim,
                total,
                int(bool(per_class)),
                json.dumps([int(d) for d in image_shape]),
                json.dumps([str(n) for n in class_names]),
            ),
        )
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise store._error(exc) from None
    except sqlite3.Error as exc:
        raise store._error(exc) from None


def load_live(store: Any, run_id: int) -> LiveWeights | None:
    """The run's latest live weights, or ``None`` (none written, an older store)."""
    if store.version < 4:
        return None
    try:
        row = store.conn.execute(
            "SELECT trial, fold, epoch, weights, units, dim, total_units, per_class, "
            "image_shape_json, class_names_json FROM live_weights WHERE run_id=?",
            (run_id,),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise store._error(exc) from None
    if row is None:
        return None
    trial, fold, epoch, blob, units, dim, total, per_class, shape, names = row
    return LiveWeights(
        int(trial),
        int(fold),
        float(epoch),
        _unpack(blob, units, dim),
        int(total),
        bool(per_class),
        tuple(int(d) for d in json.loads(shape or "[]")),
        [str(n) for n in json.loads(names or "[]")],
    )


def image_shape(shape: Sequence[int]) -> tuple[int, int, int] | None:
    """``(H, W, C)`` when rows of this per-row shape are images: (H, W), (H, W, 1) grey or
    (H, W, 3) colour, at least 2 × 2; else ``None`` (feature rows)."""
    s = tuple(int(d) for d in shape)
    if len(s) == 2:
        s = (*s, 1)
    if len(s) == 3 and s[2] in (1, 3) and s[0] >= 2 and s[1] >= 2:
        return s[0], s[1], s[2]
    return None


class LiveWriter:
    """Writes a training fold's first-layer weights after an epoch, at most every
    :data:`LIVE_SECONDS` (the first epoch always), so a live run's weights can be drawn."""

    def __init__(self, store, run_id, trial, fold, model, shape, class_names=()) -> None:
        self.store, self.run_id, self.trial, self.fold = store, run_id, trial, fold
        self.model, self.shape, self.class_names = model, tuple(shape), list(class_names)
        self._at: float | None = None

    @classmethod
    def of(cls, store, run_id, trial, fold, model, shape, class_names=()) -> LiveWriter | None:
        """A writer for ``model`` when it declares :class:`tuidl.api.ShowsWeights` and the
        rows are images (``shape``), else ``None``."""
        from tuidl.plugins.api import ShowsWeights

        if not isinstance(model, ShowsWeights) or image_shape(shape) is None:
            return None
        return cls(store, run_id, trial, fold, model, shape, class_names)

    def epoch(self, epoch: float) -> None:
        now = time.monotonic()
        if self._at is not None and now - self._at < LIVE_SECONDS:
            return
        self._at = now
        W, per_class = self.model.first_layer_weights()
        record_live(
            self.store,
            self.run_id,
            trial=self.trial,
            fold=self.fold,
            epoch=epoch,
            weights=W,
            per_class=per_class,
            image_shape=self.shape,
            class_names=self.class_names,
        )
