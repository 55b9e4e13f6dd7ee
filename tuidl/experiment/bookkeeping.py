"""The runner's CV bookkeeping: which trial × fold pairs are done, closing trials that
diverged or failed, each trial's stored result, progress reports, and the check that
nothing is pending before a run may be marked finished.

:class:`Bookkeeping` is a base of the runner's execution (:mod:`tuidl.experiment.runner`),
which sets the attributes it reads: ``run_id``, ``store``, ``plan``, ``results``
(trial -> fold -> result), ``closed`` (trials that diverged or failed), ``done``,
``done_at_start``, ``progress`` and ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tuidl.errors import is_storage_message
from tuidl.experiment.work import FoldResult, Unit


@dataclass
class Progress:
    """Handed to the ``progress`` callback after every finished fold (and at the start): a
    signal that something changed, with the fold that did. What a view shows (fits done,
    elapsed, ETA, the unit in flight) is :func:`tuidl.experiment.control.progress`'s, read
    from the store, so every window of every run summarises it the same way."""

    run_id: int
    done: int  # trial × fold pairs finished (stored), skipped ones included
    total: int
    phase: str  # "cv", "final" or "done"
    last: FoldResult | None = None
    # why fewer worker processes run than were asked for (the fold budget), else ""
    note: str = ""


class Bookkeeping:
    """Results, closed trials and progress of one execution (see the module docstring)."""

    run_id: int
    store: Any
    plan: Any
    results: dict[int, dict[int, FoldResult | dict]]
    closed: set[int]
    done: int
    done_at_start: int
    progress: Any
    note: str

    def _load_done(self) -> None:
        for (trial, fold), r in self.store.done_folds(self.run_id).items():
            if r["status"] == "failed" and is_storage_message(r["message"] or ""):
                continue  # a full disk stored as a failed fold (older tuidl): run it again
            self.results.setdefault(trial, {})[fold] = r
            if r["status"] != "ok":
                self.closed.add(trial)
        # a trial whose folds are all in but whose own row was never updated (the disk
        # filled, or the process died, between the two writes) gets its result now
        stored = {t["index"]: t for t in self.store.get_run(self.run_id)["trials"]}
        for index, row in stored.items():  # pruned (fold rule or searcher): stays stopped
            if row["status"] == "pruned":
                self.closed.add(index)
        for t in self.plan.trials:
            row = stored.get(t.index)
            folds = self.results.get(t.index, {})
            if row is None or (row["status"] != "pending" and t.index in self.closed):
                continue
            bad = [d for d in map(_as_dict, folds.values()) if d["status"] != "ok"]
            if bad:
                self._finish_trial(t.index, bad[0]["status"], bad[0]["message"] or "")
            elif len(folds) >= self._target(t.index) and row["status"] != "ok":
                if len(folds) == self.plan.num_folds:
                    self._finish_trial(t.index, "ok", "")
            elif len(folds) < self._target(t.index) and row["status"] != "pending":
                self._reopen_trial(t.index)
        self.done_at_start = self._count_done()
        self.done = self.done_at_start

    def _reopen_trial(self, trial: int) -> None:
        """Mark a trial pending again: a fold it was closed by is being run again."""
        self.store.finish_trial(
            self.run_id,
            trial,
            status="pending",
            message="",
            mean=None,
            std=None,
            train_acc=None,
            fit_seconds=None,
        )

    def _target(self, trial: int) -> int:
        """The folds ``trial`` is to get (its budget; all folds unless a searcher says
        otherwise: see :class:`~tuidl.experiment.scheduler.Scheduling`)."""
        return self.plan.num_folds

    def _after_result(self, r: FoldResult) -> None:
        """Called after each recorded fold (the searcher hears of it here)."""

    def _count_done(self) -> int:
        n = 0
        for t in self.plan.trials:
            if t.index in self.closed:
                n += self.plan.num_folds
            else:
                n += len(self.results.get(t.index, {}))
        return n

    def _pending_count(self) -> int:
        return self.plan.num_tasks - self.done

    def _missing(self) -> str:
        """What keeps the run from being finished: trials with folds that never ran, and
        trials whose stored status is still pending; "" when nothing does."""
        stored = {t["index"]: t["status"] for t in self.store.get_run(self.run_id)["trials"]}
        gaps = []
        for t in self.plan.trials:
            have = len(self.results.get(t.index, {}))
            if t.index not in self.closed and have < self._target(t.index):
                gaps.append(f"trial {t.index} has {have} of {self._target(t.index)} folds")
            elif stored.get(t.index, "pending") == "pending":
                gaps.append(f"trial {t.index} is still marked pending")
        if not gaps:
            return ""
        more = f" (and {len(gaps) - 3} more)" if len(gaps) > 3 else ""
        return "; ".join(gaps[:3]) + more

    def _should_run(self, unit: Unit) -> Unit | None:
        keep = [i for i, t in enumerate(unit.trials) if t not in self.closed]
        left = tuple(unit.trials[i] for i in keep)
        if len(left) != len(unit.trials):
            self.done += len(unit.trials) - len(left)  # skipped folds of closed trials
        specs = tuple(unit.specs[i] for i in keep) if unit.specs else ()
        return Unit(unit.fold, left, specs=specs) if left else None

    def _on_result(self, results: list[FoldResult]) -> None:
        for r in results:
            if r.trial in self.closed:
                continue
            self.store.record_fold(
                self.run_id,
                r.trial,
                r.fold,
                status=r.status,
                score=r.score,
                train_acc=r.train_acc,
                fit_seconds=r.fit_seconds,
                message=r.message,
            )
            self.results.setdefault(r.trial, {})[r.fold] = r
            self.done += 1
            if r.status != "ok":
                self.closed.add(r.trial)
                self.done += self.plan.num_folds - len(self.results[r.trial])
                self._finish_trial(r.trial, r.status, r.message)
            elif len(self.results[r.trial]) == self.plan.num_folds:
                self._finish_trial(r.trial, "ok", "")
            self._after_result(r)
            self._report("cv", r)

    def _finish_trial(self, trial: int, status: str, message: str) -> None:
        # in fold order: folds arrive in any order (workers, a continued trial), and a mean
        # summed in another order can differ in the last bit and break a tie differently
        rs = [_as_dict(r) for _, r in sorted(self.results.get(trial, {}).items())]
        scores = [r["score"] for r in rs if r["status"] == "ok" and r["score"] is not None]
        train = [r["train_acc"] for r in rs if r["train_acc"] is not None]
        secs = [r["fit_seconds"] for r in rs if r["fit_seconds"] is not None]
        # a pruned trial keeps the mean of the folds it ran (shown, never ranked)
        ok = status in ("ok", "pruned") and scores
        self.store.finish_trial(
            self.run_id,
            trial,
            status=status,
            message=message,
            mean=float(np.mean(scores)) if ok else None,
            std=float(np.std(scores)) if ok else None,  # population std, as the classic plot
            train_acc=float(np.mean(train)) if train else None,
            fit_seconds=float(np.sum(secs)) if secs else None,
        )

    def _report(self, phase: str, last: FoldResult | None = None) -> None:
        if self.progress is None:
            return
        self.progress(Progress(self.run_id, self.done, self.plan.num_tasks, phase, last, self.note))


def _as_dict(r: FoldResult | dict) -> dict:
    if isinstance(r, dict):
        return r
    return {
        "status": r.status,
        "score": r.score,
        "train_acc": r.train_acc,
        "fit_seconds": r.fit_seconds,
    }
