"""The workbench's one door to the experiment layer: specs, the store and the runner.

Everything the TUI needs from ``tuidl.experiment`` goes through :class:`Backend`, so when that
layer changes only this file follows. Nothing here imports Textual (a test checks it), and the
return values are plain dataclasses the widgets draw directly.

Runs are never trained in the TUI's process. Starting, following, cancelling and resuming a
run go through :mod:`tuidl.experiment.control`, the run control ``tuidl run --detach``,
``attach`` and ``cancel`` use too: :meth:`Backend.start` stores a queued run and launches
``python -m tuidl run --resume ID --store PATH`` detached, so the run outlives the window and
is listed by ``tuidl runs``; any run in the store, started anywhere, can be followed (by
polling :meth:`Backend.get_run` from a worker thread), cancelled and resumed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuidl.charts import health_series
from tuidl.errors import TuidlError
from tuidl.plugins.schema import Param


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
    lr: list[float | None] = field(default_factory=list)  # per epoch, aligned with epochs
    label: str = ""
    # per-layer health: {stat: {where: (steps, values)}} (tuidl.charts.health_series)
    health: dict[str, dict[str, tuple]] = field(default_factory=dict)


@dataclass
class RunView:
    id: str
    status: str  # queued, running, finished, interrupted, failed (the store's words)
    spec: dict[str, Any]
    created: float = 0.0
    trials: list[TrialRow] = field(default_factory=list)
    folds: int = 1
    # progress: control.progress's one summary (the CLI's progress line draws the same)
    done_fits: int = 0
    total_fits: int = 0
    eta: float | None = None  # seconds left while it runs
    # the (trial, fold) in flight, named by the status line and drawn by the charts alike
    current: tuple[int, int] | None = None
    process: str = "unknown"  # of its runner: alive, gone, elsewhere or unknown
    log_path: str = ""
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

    @property
    def grid_keys(self) -> list[str]:
        from tuidl.experiment.space import searched_keys  # grid, searched and rung keys

        return searched_keys(self.spec, [t.params for t in self.trials])


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
    tags: tuple[str, ...] = ()
    note: str = ""


# ---- the adapter -----------------------------------------------------------------------------
ACTIVE = ("queued", "running")


class Backend:
    """Specs, the store and the runner, behind one small API (see the module docstring)."""

    def __init__(self, store_path: str | os.PathLike | None = None, registry=None):
        self._store_path = Path(store_path).expanduser() if store_path else None
        self._registry = registry

    # registry and settings
    @property
    def registry(self):
        if self._registry is None:
            from tuidl.plugins.manager import get_registry

            self._registry = get_registry()
        return self._registry

    def settings(self) -> dict[str, tuple[Param, ...]]:
        """The schemas of the run (top level), split, training and cv tables: the spec
        layer's own declarations (tuidl.experiment.spec_schema), never a copy."""
        from tuidl.experiment.spec_schema import SETTINGS

        return dict(SETTINGS)

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
        """A spec file's TOML-shaped dict (the spec layer reads it: step numbers included)."""
        from tuidl.experiment.spec_file import read_spec_data

        return read_spec_data(path)

    def save_spec(self, data: dict[str, Any], path: str | os.PathLike) -> Path:
        """Write ``data``; an existing file keeps its comments and layout (spec_file)."""
        from tuidl.experiment.spec_file import write_spec_data

        return write_spec_data(data, path)

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

    def sanity_check(self, data: dict[str, Any]):
        """``tuidl check`` on ``data`` (seconds; call it from a worker thread): a description
        of what was checked and the :class:`~tuidl.experiment.sanity.Check` list."""
        from tuidl.experiment.sanity import run_checks
        from tuidl.experiment.spec import Spec

        return run_checks(Spec.from_dict(data), self.registry)

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

    def refine(self, run_id: str, folder: str | os.PathLike = ".") -> Path:
        """Coarse to fine, as ``tuidl run --refine``: write ``run<ID>-refined.toml`` (the
        run's space narrowed around its best trials) in ``folder``; returns its path.
        Raises TuidlError for a run that is not finished (see tuidl.experiment.refine)."""
        from tuidl.experiment.refine import write_refined

        with self._store() as store:
            return write_refined(store.get_run(int(run_id)), Path(folder))[1]

    def start(self, data: dict[str, Any]) -> str:
        """Store ``data`` as a queued run and launch its runner detached; return its id.

        The runner is ``python -m tuidl run --resume ID --store PATH`` (see
        :func:`tuidl.experiment.control.start`): the very command a user would type, so the
        run is stored, resumable and listed like any other. An invalid spec raises.
        """
        from tuidl.experiment import control
        from tuidl.experiment.spec import Spec

        run_id, _ = control.start(self.store_path, Spec.from_dict(data), registry=self.registry)
        return str(run_id)

    def cancel(self, run_id: str, wait: float = 60.0) -> tuple[bool, str]:
        """Stop any run in the store, whoever started it, the way ``tuidl cancel`` does:
        finished folds stay, it is resumable. Waits up to ``wait`` seconds for it to stop.
        Returns whether it is stopped (or stopping) and what to tell the user."""
        from tuidl.experiment import control

        with self._store() as store:
            outcome = control.cancel(store, int(run_id), wait=wait)
        return outcome.ok, outcome.message

    def resume(self, run_id: str) -> None:
        """Launch the runner detached for what run ``run_id`` is missing (only the missing
        folds run); raises for a finished run or one whose process still runs."""
        from tuidl.experiment import control

        control.resume(self.store_path, int(run_id))

    def retry(self, run_id: str) -> str:
        """Store a new run with run ``run_id``'s spec and seed, launch it; return its id."""
        from tuidl.experiment import control

        new_id, _ = control.retry(self.store_path, int(run_id), registry=self.registry)
        return str(new_id)

    def newest_active(self) -> str | None:
        """The newest running (else queued) run in the store, whoever started it."""
        if not self.store_path.exists():
            return None
        from tuidl.experiment import control

        with self._store() as store:
            run_id = control.newest_active(store)
        return None if run_id is None else str(run_id)

    def params_spec(self, run_id: str, trial: int | None = None) -> dict[str, Any]:
        """Run ``run_id``'s spec with one configuration's params put in place and the grid
        emptied ("use these params"): the best configuration unless ``trial`` (its index)
        is given. Raises naming the run when it has no such configuration."""
        from tuidl.experiment.spec import stored_spec
        from tuidl.experiment.spec_check import point_spec
        from tuidl.experiment.spec_steps import stored_point

        with self._store() as store:
            run = store.get_run(int(run_id))
        if trial is None:
            if run.get("best") is None:
                raise TuidlError(
                    f"run {run_id} has no finished configuration yet; pick a row of its "
                    "results, or open its whole spec with o"
                )
            trial = int(run["best"]["trial"])
        params = next((t["params"] for t in run["trials"] if t["index"] == trial), None)
        if params is None:
            raise TuidlError(f"run {run_id} has no configuration {trial + 1}")
        point = stored_point(params, run["spec_toml"])  # a run stored before steps from 1
        return point_spec(stored_spec(run), point, self.registry).to_dict()

    def process_alive(self, run_id: str) -> bool | None:
        """Whether the process recorded for ``run_id`` still runs (None: none recorded,
        or on another host)."""
        from tuidl.experiment import control

        state = control.process_state(self.store_path, int(run_id))
        return {"alive": True, "gone": False}.get(state)

    def log_path(self, run_id: str) -> Path:
        from tuidl.experiment import control

        return control.log_path(self.store_path, int(run_id))

    def log_tail(self, run_id: str, lines: int = 3) -> str:
        from tuidl.experiment import control

        return control.log_tail(self.store_path, int(run_id), lines)

    def list_runs(self, query: str = "") -> list[RunSummary]:
        """Stored runs, newest first; ``query``: History's filter line (filters such as
        ``model=fc_net best>=0.9``, ``sort=-best``, bare words; see
        :func:`tuidl.experiment.store_query.parse_query`). Raises TuidlError for a bad one."""
        if not self.store_path.exists():
            return []
        from tuidl.experiment.store_query import parse_query

        filters, sort = parse_query(query)
        with self._store() as store:
            return [_summary(r) for r in store.list_runs(filters, sort=sort)]

    # managing stored runs (History): each names what it changed, or raises TuidlError
    def delete_runs(self, run_ids: list[str], force: bool = False) -> list[int]:
        """Delete runs (a queued or running one only with ``force``); others stay intact."""
        with self._store() as store:
            return store.delete_runs([int(r) for r in run_ids], force=force)

    def set_name(self, run_id: str, name: str) -> None:
        with self._store() as store:
            store.set_name(int(run_id), name)

    def set_note(self, run_id: str, note: str) -> None:
        with self._store() as store:
            store.set_note(int(run_id), note)

    def set_tags(self, run_id: str, tags: list[str]) -> list[str]:
        """Make the run's tags exactly ``tags``; returns them. A bad tag changes nothing
        (the new tags are checked and added before the old ones go)."""
        with self._store() as store:
            old = set(store.tags(int(run_id)))
            store.tag(int(run_id), [t for t in tags if t not in old])
            return store.tag(int(run_id), sorted(old - set(tags)), remove=True)

    def compare_runs(self, run_ids: list[str]) -> dict[str, Any]:
        """Several runs side by side (:func:`tuidl.experiment.store_export.compare_runs`)."""
        from tuidl.experiment.store_export import compare_runs

        with self._store() as store:
            return compare_runs(store, [int(r) for r in run_ids])

    def get_run(self, run_id: str) -> RunView:
        with self._store() as store:
            return _run_view(store, int(run_id))

    def close(self) -> None:
        """Nothing to let go: the runs keep going in their own sessions."""


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
        tags=tuple(r.get("tags") or ()),
        note=str(r.get("note") or ""),
    )


_TRIAL_STATUS = {"pending": "pending", "ok": "ok", "diverged": "diverged", "failed": "failed"}


def _run_view(store, run_id: int) -> RunView:
    from tuidl.experiment import control

    run = store.get_run(run_id)
    progress = control.progress(store, run_id, run=run)
    folds = int(run.get("num_folds") or 0)
    trials: list[TrialRow] = []
    for t in run.get("trials", []):
        finished = len(t.get("folds") or [])
        status = t.get("status", "pending")
        if status in ("diverged", "failed"):
            message = t.get("message") or next(
                (f.get("message") for f in t.get("folds", []) if f.get("message")), ""
            )
        else:
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
        done_fits=progress.done,
        total_fits=progress.total,
        eta=progress.eta if progress.active else None,
        current=progress.current,
        process=progress.process,
        log_path=progress.log_path,
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
    """The curves of ``view.current``: the unit in flight (the one the status line names),
    or the retrain of the best once the run ended."""
    if view.current is None:
        return Curves()
    key = view.current
    data = store.curves(int(view.id), *key)
    trial, fold = key
    label = f"config {trial + 1}, " + ("final retrain" if fold < 0 else f"fold {fold + 1}")
    loss = data.get("loss", ([], []))
    tr = data.get("train_acc", ([], []))
    va = data.get("val_acc", ([], []))
    val_by_epoch = dict(zip(va[0], va[1], strict=False))
    lr_by_epoch = dict(zip(*data.get("lr", ([], [])), strict=False))
    return Curves(
        iterations=list(loss[0]),
        losses=[v if v is not None else math.nan for v in loss[1]],
        epochs=list(tr[0]),
        train_acc=[v if v is not None else math.nan for v in tr[1]],
        val_acc=[val_by_epoch.get(e) for e in tr[0]],
        lr=[lr_by_epoch.get(e) for e in tr[0]],
        label=label,
        health=health_series(data),
    )
