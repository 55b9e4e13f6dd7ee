"""The workbench's one door to the experiment layer: specs, the store and the runner.

Everything the TUI needs from ``tuidl.experiment`` goes through :class:`Backend`, so when that
layer changes only this file follows. Nothing here imports Textual (a test checks it), and the
return values are plain dataclasses the widgets draw directly.

Runs are never trained in the TUI's process: :meth:`Backend.start` creates a queued run in the
store and starts ``python -m tuidl run --resume ID --store PATH`` in its own session, with its
output in a log file, so the run outlives the window and is listed by ``tuidl runs``. The views
follow it by polling :meth:`Backend.get_run` (from a worker thread).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidl.errors import TuidlError
from tuidl.plugins.schema import Param

# ---- the settings tables (run, split, training, cv) ------------------------------------------
# The spec layer keeps these as dataclasses without a Param schema; these schemas mirror
# tuidl.experiment.spec (SplitSpec, TrainingSpec, CVSpec and the top-level name and seed) so
# the same form code edits them. "run" is the spec's top level. A test
# (tests/tui/test_pipeline.py, settings_forms_mirror) fails when the two drift apart.
_SETTINGS: dict[str, tuple[Param, ...]] = {
    "run": (
        Param("name", "str", "", "a label for the run (shown in history)"),
        Param("seed", "int", 0, "seeds the split, the folds, init and minibatches", min=0),
    ),
    "split": (
        Param("num_training", "int", 1000, "rows to train on (folds are cut from these)", min=1),
        Param("num_validation", "int", 0, "rows held out for holdout validation", min=0),
        Param("num_test", "int", 500, "rows the retrained best is tested on, once", min=0),
        Param("shuffle", "bool", False, "shuffle rows before splitting (seeded)"),
        Param("stratify", "bool", False, "keep class proportions in every part"),
    ),
    "training": (
        Param(
            "epochs",
            "float",
            10.0,
            "passes over the training rows (or give iterations)",
            min=0.001,
            nullable=True,
        ),
        Param(
            "iterations",
            "int",
            None,
            "minibatch steps instead of epochs (blank: use epochs)",
            min=1,
            nullable=True,
        ),
        Param("batch_size", "int", 200, "rows per minibatch (N: full batch, 1: SGD)", min=1),
        Param(
            "sampling",
            "choice",
            "replacement",
            "batches drawn with replacement (classic) or shuffled epochs",
            choices=("replacement", "epoch"),
        ),
        Param("patience", "int", 0, "stop after this many epochs without val gain (0: off)", min=0),
        Param("keep_best", "bool", True, "restore the params of the best validation epoch"),
        Param("train_sample", "int", 1000, "rows used for the per-epoch train accuracy", min=1),
    ),
    "cv": (
        Param(
            "method",
            "choice",
            "kfold",
            "k folds of the training rows, or holdout on validation",
            choices=("kfold", "holdout"),
        ),
        Param("folds", "int", 5, "number of folds (kfold)", min=2),
        Param("shuffle", "bool", False, "shuffle rows before cutting folds (else contiguous)"),
        Param("stratify", "bool", False, "keep class proportions in each fold"),
    ),
}


def error_text(error: BaseException | None) -> str:
    """How the workbench words an exception: a TuidlError's own message (it already says what
    to do), anything else as ``Type: message`` so a plugin bug is recognisable."""
    if isinstance(error, TuidlError):
        return str(error)
    return f"{type(error).__name__}: {error}"


# ---- what the views draw -------------------------------------------------------------------
@dataclass
class DatasetInfo:
    name: str
    train_shape: tuple[int, ...]
    test_shape: tuple[int, ...] | None
    class_names: list[str]
    class_counts: list[int]
    # multi-label (attribute) targets: class_names are the attributes, counts the positives
    multilabel: bool = False

    @property
    def row_shape(self) -> tuple[int, ...]:
        return tuple(self.train_shape[1:])


@dataclass
class TrialRow:
    index: int
    params: dict[str, Any]
    fold_scores: list[float | None] = field(default_factory=list)
    mean: float | None = None
    std: float | None = None
    train_acc: float | None = None
    seconds: float | None = None
    status: str = "pending"  # pending, running, ok, diverged, failed (the store's words)
    message: str = ""


@dataclass
class Curves:
    iterations: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float | None] = field(default_factory=list)
    label: str = ""


@dataclass
class RunView:
    id: str
    status: str  # queued, running, finished, interrupted, failed (the store's words)
    spec: dict[str, Any]
    created: float = 0.0
    trials: list[TrialRow] = field(default_factory=list)
    folds: int = 1
    done_fits: int = 0
    total_fits: int = 0
    started: float | None = None
    finished: float | None = None
    best_index: int | None = None
    test_accuracy: float | None = None
    confusion: list[list[int]] | None = None
    class_names: list[str] = field(default_factory=list)
    # multi-label runs: the per-attribute test metrics instead of a confusion matrix
    test_metrics: dict[str, Any] | None = None
    curves: Curves = field(default_factory=Curves)
    message: str = ""

    @property
    def finished_states(self) -> bool:
        return self.status not in ACTIVE

    def eta_seconds(self, now: float | None = None) -> float | None:
        if not self.started or not self.done_fits or self.done_fits >= self.total_fits:
            return None
        elapsed = (now or time.time()) - self.started
        return elapsed / self.done_fits * (self.total_fits - self.done_fits)

    @property
    def grid_keys(self) -> list[str]:
        return list(self.spec.get("cv", {}).get("grid", {}))


@dataclass
class RunSummary:
    id: str
    status: str
    created: float
    dataset: str
    model: str
    grid: str
    best_mean: float | None = None
    test_accuracy: float | None = None
    trials: int = 0
    name: str = ""
    message: str = ""


# ---- the adapter -----------------------------------------------------------------------------
ACTIVE = ("queued", "running")


class Backend:
    """Specs, the store and the runner, behind one small API (see the module docstring)."""

    def __init__(self, store_path: str | os.PathLike | None = None, registry=None):
        self._store_path = Path(store_path).expanduser() if store_path else None
        self._registry = registry
        self._procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}

    # registry and settings
    @property
    def registry(self):
        if self._registry is None:
            from tuidl.plugins.manager import get_registry

            self._registry = get_registry()
        return self._registry

    def settings(self) -> dict[str, tuple[Param, ...]]:
        """The schemas of the run (top level), split, training and cv tables."""
        return dict(_SETTINGS)

    @property
    def registry_loaded(self) -> bool:
        return self._registry is not None

    @property
    def store_path(self) -> Path:
        if self._store_path is None:
            from tuidl.experiment.store import default_store_path

            self._store_path = Path(default_store_path())
        return self._store_path

    # specs
    def load_spec(self, path: str | os.PathLike) -> dict[str, Any]:
        path = Path(path).expanduser()
        try:
            with path.open("rb") as fh:
                return tomllib.load(fh)
        except FileNotFoundError:
            raise TuidlError(f"spec file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise TuidlError(f"spec file {str(path)!r} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise TuidlError(f"cannot read spec file {str(path)!r}: {exc.strerror}") from None

    def save_spec(self, data: dict[str, Any], path: str | os.PathLike) -> Path:
        path = Path(path).expanduser()
        text = self.to_toml(data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
        except OSError as exc:
            raise TuidlError(f"cannot write spec file {str(path)!r}: {exc.strerror}") from None
        return path

    def to_toml(self, data: dict[str, Any]) -> str:
        from tuidl.experiment.spec import dumps_toml

        return dumps_toml(data)

    def validate(self, data: dict[str, Any]):
        """The spec layer's object for ``data``, validated; raises with its message."""
        from tuidl.experiment.spec import Spec
        from tuidl.experiment.spec_check import validate

        spec = Spec.from_dict(data)
        validate(spec, self.registry)
        return spec

    def check(self, data: dict[str, Any]) -> str:
        """The spec layer's complaint about ``data`` (``""`` when it would run)."""
        try:
            self.validate(data)
        except TuidlError as exc:
            return str(exc)
        except Exception as exc:  # a plugin bug while validating must not break the form
            return f"{type(exc).__name__}: {exc}"
        return ""

    # datasets
    def dataset_info(self, name: str, params: dict[str, Any]) -> DatasetInfo:
        """Load a dataset (in a worker thread: it can take seconds) and describe it."""
        comp = self.registry.get("dataset", name)
        ds = comp.create({k: v for k, v in params.items() if k != "name"})
        import numpy as np

        y = np.asarray(ds.y_train)
        names = [str(n) for n in (getattr(ds, "class_names", None) or [])]
        multilabel = y.ndim == 2  # (N, A) 0/1 attribute targets: count rows having each
        if multilabel:
            k, counts = y.shape[1], y.sum(axis=0).tolist()
        else:
            k = max(len(names), int(y.max()) + 1 if y.size else 0)
            counts = np.bincount(y.astype(np.int64), minlength=k).tolist() if y.size else []
        xt = getattr(ds, "X_test", None)
        return DatasetInfo(
            name=name,
            train_shape=tuple(int(d) for d in np.shape(ds.X_train)),
            test_shape=tuple(int(d) for d in np.shape(xt)) if xt is not None else None,
            class_names=names or [str(i) for i in range(k)],
            class_counts=[int(c) for c in counts],
            multilabel=bool(multilabel),
        )

    # runs
    def _store(self):
        from tuidl.experiment.store import Store

        return Store(self.store_path)

    def start(self, data: dict[str, Any]) -> str:
        """Create a queued run and start the runner for it in its own session; return its id.

        The runner is ``python -m tuidl run --resume ID --store PATH``: the very command a
        user would type, so the run is stored, resumable and listed like any other.
        """
        from tuidl.experiment.runner import fold_memory_budget

        spec = self.validate(data)
        fold_memory_budget()  # the runner would refuse a bad TUIDL_FOLD_MEMORY: say it now
        with self._store() as store:
            run_id = str(store.create_run(spec))
        log_dir = _data_dir() / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"run-{run_id}.log"
        cmd = [sys.executable, "-m", "tuidl", "run", "--resume", run_id]
        cmd += ["--store", str(self.store_path)]
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self._procs[run_id] = proc
        self._logs[run_id] = log_path
        return run_id

    def cancel(self, run_id: str) -> bool:
        """Stop a run the way Ctrl+C stops ``tuidl run``: finished folds stay, it is resumable.

        Returns False when the run was not started by this window (nothing to signal).
        """
        proc = self._procs.get(run_id)
        if proc is None or proc.poll() is not None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        return True

    def process_alive(self, run_id: str) -> bool | None:
        """Whether this window's runner for ``run_id`` still runs (None: not ours)."""
        proc = self._procs.get(run_id)
        return None if proc is None else proc.poll() is None

    def log_path(self, run_id: str) -> Path | None:
        return self._logs.get(run_id)

    def log_tail(self, run_id: str, lines: int = 3) -> str:
        path = self._logs.get(run_id)
        if path is None or not path.exists():
            return ""
        text = path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])

    def list_runs(self) -> list[RunSummary]:
        if not self.store_path.exists():
            return []
        with self._store() as store:
            return [_summary(r) for r in store.list_runs()]

    def get_run(self, run_id: str) -> RunView:
        with self._store() as store:
            return _run_view(store, int(run_id))

    def close(self) -> None:
        """Forget child handles; the runs themselves keep going in their own sessions."""
        self._procs.clear()


def _data_dir() -> Path:
    from tuidl.data.locations import user_data_dir

    return user_data_dir()


def _summary(r: dict[str, Any]) -> RunSummary:
    grid = r.get("grid") or []
    return RunSummary(
        id=str(r["id"]),
        status=str(r.get("status", "?")),
        created=float(r.get("created") or 0),
        dataset=str(r.get("dataset", "?")),
        model=str(r.get("model", "?")),
        grid=", ".join(grid) or "-",
        best_mean=r.get("best_mean"),
        test_accuracy=r.get("test_accuracy"),
        trials=int(r.get("num_trials") or 0),
        name=str(r.get("name") or ""),
        message=str(r.get("message") or ""),
    )


_TRIAL_STATUS = {"pending": "pending", "ok": "ok", "diverged": "diverged", "failed": "failed"}


def _run_view(store, run_id: int) -> RunView:
    run = store.get_run(run_id)
    folds = int(run.get("num_folds") or 0)
    trials: list[TrialRow] = []
    done = 0
    for t in run.get("trials", []):
        finished = len(t.get("folds") or [])
        status = t.get("status", "pending")
        if status in ("diverged", "failed"):
            done += folds
            message = t.get("message") or next(
                (f.get("message") for f in t.get("folds", []) if f.get("message")), ""
            )
        else:
            done += finished
            message = t.get("message") or ""
        if status == "pending" and finished:
            status = "running"
        trials.append(
            TrialRow(
                index=int(t["index"]),
                params=dict(t.get("params") or {}),
                fold_scores=list(t.get("fold_scores") or []),
                mean=t.get("mean"),
                std=t.get("std"),
                train_acc=t.get("train_acc"),
                seconds=t.get("fit_seconds"),
                status=status,
                message=message or "",
            )
        )
    best = run.get("best")
    test = run.get("test")
    view = RunView(
        id=str(run["id"]),
        status=str(run["status"]),
        spec=run.get("spec") or {},
        created=float(run.get("created") or 0),
        trials=trials,
        folds=folds,
        done_fits=done,
        total_fits=len(trials) * folds,
        started=run.get("started"),
        finished=run.get("finished"),
        best_index=int(best["trial"]) if best else None,
        test_accuracy=test.get("test_accuracy") if test else None,
        confusion=test.get("confusion") if test else None,
        test_metrics=test.get("metrics") if test else None,
        class_names=[str(c) for c in (test.get("class_names") or [])] if test else [],
        message=str(run.get("message") or ""),
    )
    view.curves = _latest_curves(store, view)
    return view


def _latest_curves(store, view: RunView) -> Curves:
    """The curves of the trial in flight (the last one written), or of the final retrain."""
    run_id = int(view.id)
    key = None
    if view.status not in ACTIVE and view.best_index is not None:
        key = (view.best_index, -1)
    try:
        if key is None or not store.curves(run_id, *key):
            row = store.conn.execute(
                "SELECT trial, fold FROM curves WHERE run_id=? ORDER BY rowid DESC LIMIT 1",
                (run_id,),
            ).fetchone()
            key = (int(row[0]), int(row[1])) if row else None
    except Exception:  # the store's layout is its own business; no curves is not an error
        return Curves()
    if key is None:
        return Curves()
    data = store.curves(run_id, *key)
    trial, fold = key
    label = f"config {trial + 1}, " + ("final retrain" if fold < 0 else f"fold {fold + 1}")
    loss = data.get("loss", ([], []))
    tr = data.get("train_acc", ([], []))
    va = data.get("val_acc", ([], []))
    val_by_epoch = dict(zip(va[0], va[1], strict=False))
    return Curves(
        iterations=list(loss[0]),
        losses=[v if v is not None else math.nan for v in loss[1]],
        epochs=list(tr[0]),
        train_acc=[v if v is not None else math.nan for v in tr[1]],
        val_acc=[val_by_epoch.get(e) for e in tr[0]],
        label=label,
    )
