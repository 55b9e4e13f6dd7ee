"""tuidl's searchers side by side with the full grid and Optuna's TPE (the tuidl-optuna plugin).

Every contestant runs through ``tuidl.experiment.runner.run_spec`` in this one process tree
(the runner's worker processes included), on the same data, split, folds and search space:

- ``grid``: the full Cartesian grid of the space's grid points, every trial to the last epoch
  on every fold (today's classic recipe); run once, it is deterministic.
- ``random``: n trials drawn from the space, n chosen so that n full trials fit the budget.
- ``halving``: successive halving over epochs, within the same budget.
- ``tpe``: the tuidl-optuna plugin, Optuna's TPE sampler with its pruner, within the budget.

The budget is a quarter of the grid's training epochs (an epoch = one pass over one fold's
training rows). The seeded searchers run once per search seed (the run seed, hence the split
and folds, stays fixed), interleaved seed by seed so that a noisy machine spreads over all.

Workloads: ``digits`` (the built-in 1,797 8x8 digits, a 64-H-10 ReLU net, 5-fold CV) and,
without ``--quick``, ``cifar10`` (a 3072-H-10 net on a 10,000-row subset, holdout on 5,000
validation rows), both over ``optimizer.lr`` x ``model.reg`` x hidden size. 5,000 rows, not
1,000: one accuracy on 1,000 rows has a standard error of 1.6 points, three times the 0.5
points the halving target is about, so a smaller set would measure luck.

For each run the script reports the best validation accuracy (the run's chosen best trial:
mean over folds), the epochs trained and the wall time, and the best-so-far curve against
epochs. Targets:

- ``halving`` within 0.5 accuracy points of the grid's best, with at most a quarter of the
  grid's epochs (every seed; the JSON also gives the median).
- at equal budget, tuidl's best searcher (the better median of ``random`` and ``halving``)
  is at least as good as ``tpe``: per seed, each searcher's best once it had trained as
  many epochs as the thriftiest of the three spent, median over the seeds.

Prints a table per workload and ONE JSON object on the last line (``targets_met``)::

    .venv/bin/python benchmarks/bench_search.py --quick          # digits only, < 10 min
    .venv/bin/python benchmarks/bench_search.py --cifar /tmp/cifar/cifar-10-batches-py
    .venv/bin/python benchmarks/bench_search.py --only cifar10 --seeds 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidl.experiment.runner import run_spec
from tuidl.experiment.spec import loads_spec
from tuidl.experiment.store import Store
from tuidl.experiment.work import continued_from

SEARCHERS = ("random", "halving", "tpe")
BUDGET_FRACTION = 0.25
TOLERANCE = 0.005  # 0.5 accuracy points


@dataclass
class Workload:
    """One data set and net; ``grid`` holds the grid points of each searched key, ``space``
    the same keys as distributions over the same ranges (the TOML of ``[search.space]``)."""

    name: str
    base: str  # the spec without [cv.grid] / [search]
    grid: dict[str, list[Any]]
    space: str
    epochs: int
    folds: int  # folds each trial is scored on (1 for holdout)


# the grid's points span the same ranges: 4 lr x 4 reg x 3 hidden sizes
SPACE = """
[search.space]
"optimizer.lr" = {{log_uniform = [1e-4, 1e-1]}}
"model.reg" = {{log_uniform = [1e-4, 1e-1]}}
"model.hidden_sizes" = {{choice = {hidden}}}
"""

DIGITS = Workload(
    name="digits",
    base="""
name = "bench digits"
seed = 0
[dataset]
name = "digits"
[split]
num_training = 1500
num_validation = 0
num_test = 297
[[preprocess]]
name = "reshape"
dtype = "float32"
[[preprocess]]
name = "mean_subtraction"
[[preprocess]]
name = "normalize"
[model]
name = "fc_net"
hidden_sizes = [64]
reg = 1e-3
[loss]
name = "softmax"
[init]
name = "he"
[optimizer]
name = "adam"
lr = 1e-3
[training]
epochs = 9
batch_size = 50
sampling = "epoch"
keep_best = true
[cv]
method = "kfold"
folds = 5
""",
    grid={
        "optimizer.lr": [1e-4, 1e-3, 1e-2, 1e-1],
        "model.reg": [1e-4, 1e-3, 1e-2, 1e-1],
        "model.hidden_sizes": [[16], [64], [256]],
    },
    space=SPACE.format(hidden="[[16], [64], [256]]"),
    epochs=9,
    folds=5,
)

CIFAR = Workload(
    name="cifar10",
    base="""
name = "bench cifar10"
seed = 0
[dataset]
name = "cifar10"
path = "{cifar}"
[split]
num_training = 10000
num_validation = 5000
num_test = 1000
[[preprocess]]
name = "reshape"
dtype = "float32"
[[preprocess]]
name = "mean_subtraction"
[[preprocess]]
name = "normalize"
[model]
name = "fc_net"
hidden_sizes = [100]
reg = 1e-3
[loss]
name = "softmax"
[init]
name = "he"
[optimizer]
name = "adam"
lr = 1e-3
[training]
epochs = 9
batch_size = 200
sampling = "epoch"
keep_best = true
[cv]
method = "holdout"
""",
    grid={
        "optimizer.lr": [1e-4, 1e-3, 1e-2, 1e-1],
        "model.reg": [1e-4, 1e-3, 1e-2, 1e-1],
        "model.hidden_sizes": [[50], [100], [200]],
    },
    space=SPACE.format(hidden="[[50], [100], [200]]"),
    epochs=9,
    folds=1,
)


# ------------------------------------------------------------------------------ measuring
@dataclass
class Result:
    searcher: str
    seed: int | None
    best: float  # the run's chosen best trial's mean validation accuracy (0 when none)
    epochs: float  # epochs trained over all trials and folds
    wall_s: float
    trials: int
    pruned: int
    curve: list[tuple[float, float]] = field(default_factory=list)  # (epochs so far, best)

    def row(self) -> dict[str, Any]:
        return {
            "searcher": self.searcher,
            "seed": self.seed,
            "best": round(self.best, 4),
            "epochs": round(self.epochs, 2),
            "wall_s": round(self.wall_s, 2),
            "trials": self.trials,
            "pruned": self.pruned,
        }


def measure(store: Store, run_id: int, wall_s: float, searcher: str, seed: int | None) -> Result:
    """Read one finished run back from the store: epochs per (trial, fold) from its epoch
    curve (the ``lr`` series has one point per epoch trained, so a pruned or early-stopped
    fold counts what it really trained), and the best-so-far curve against epochs.

    The curve takes the trials in the order the searcher created them (each trial's folds
    together), not the order the runner happened to finish folds in: cut at E epochs it is
    the search a budget of E would have run (random's first k trials are ``trials = k``;
    TPE's first k asks saw the same results), whereas the runner works fold-major, so no
    trial of an all-at-once search is complete until its last fold round."""
    run = store.get_run(run_id)
    events: list[tuple[int, int, float]] = []  # (trial, fold, epochs)
    for trial in run["trials"]:
        for fold in trial["folds"]:
            curves = store.curves(run_id, trial["index"], fold["fold"], max_points=None)
            steps = curves.get("lr", ([], []))[0]
            # a halving rung that continued its lower rung trained only the epochs after it
            start = continued_from(fold.get("message") or "")
            events.append(
                (trial["index"], fold["fold"], float(max(steps)) - start if steps else 0.0)
            )
    events.sort()
    total = 0.0
    means = {t["index"]: t["mean"] for t in run["trials"] if t["status"] == "ok"}
    done: dict[int, int] = {}
    need = {t["index"]: sum(1 for s in t["fold_scores"] if s is not None) for t in run["trials"]}
    curve: list[tuple[float, float]] = []
    best_so_far = 0.0
    for trial, _, epochs in events:
        total += epochs
        done[trial] = done.get(trial, 0) + 1
        if trial in means and done[trial] == need[trial] and means[trial] is not None:
            best_so_far = max(best_so_far, means[trial])
        curve.append((total, best_so_far))
    best = run["best"]["mean"] if run["best"] else 0.0
    return Result(
        searcher=searcher,
        seed=seed,
        best=float(best),
        epochs=total,
        wall_s=wall_s,
        trials=len(run["trials"]),
        pruned=sum(1 for t in run["trials"] if t["status"] == "pruned"),
        curve=curve,
    )


def best_at(curve: list[tuple[float, float]], epochs: float) -> float:
    """The best-so-far accuracy of ``curve`` once ``epochs`` epochs had been trained."""
    best = 0.0
    for spent, value in curve:
        if spent > epochs + 1e-9:
            break
        best = value
    return best


def grid_toml(grid: dict[str, list[Any]]) -> str:
    lines = ["[cv.grid]"]
    for key, values in grid.items():
        lines.append(f'"{key}" = {json.dumps(values)}')
    return "\n".join(lines) + "\n"


def search_toml(work: Workload, searcher: str, budget: float) -> str:
    """The ``[search]`` tables for one searcher at ``budget`` epochs (over all folds).

    - random: as many full trials (every fold, every epoch) as fit.
    - halving: on epochs, eta 3 from 1 epoch (1, 3, 9 epochs for 9), each rung continuing
      the one below, with the budget as its ``total_budget`` (it starts configurations
      while the budget lasts, keeping back enough to take one to the full 9 epochs).
    - tpe: Optuna's TPE with its median pruner, capped at ``budget / epochs`` folds, pruned
      trials' folds included; 5 random startup trials (Optuna's default is 10, which would
      leave TPE almost nothing to model in budgets this small).
    """
    full = work.epochs * work.folds
    if searcher == "random":
        params = f"trials = {int(budget // full)}"
    elif searcher == "halving":
        params = (
            f'trials = 1000\neta = 3.0\nmin_budget = 1.0\nresource = "epochs"\n'
            f"total_budget = {budget:g}"
        )
    else:
        folds = int(budget // work.epochs)
        params = f'trials = 1000\nmax_folds = {folds}\nstartup = 5\npruner = "median"'
    return f'\n[search]\nmethod = "{searcher}"\n{params}\n{work.space}'


def run_one(store: Store, text: str, workers: int, searcher: str, seed: int | None) -> Result:
    spec = loads_spec(text)
    t0 = time.perf_counter()
    out = run_spec(spec, store, workers=workers)
    wall = time.perf_counter() - t0
    if out.status != "finished":
        raise SystemExit(f"{searcher} seed {seed}: run {out.run_id} {out.status}: {out.message}")
    return measure(store, out.run_id, wall, searcher, seed)


# ------------------------------------------------------------------------------- the bench
def bench(work: Workload, store: Store, seeds: list[int], workers: int, cifar: str) -> dict:
    base = work.base.replace("{cifar}", cifar)
    print(f"\n== {work.name}: {' x '.join(f'{k} {len(v)}' for k, v in work.grid.items())}")
    grid = run_one(store, base + grid_toml(work.grid), workers, "grid", None)
    budget = BUDGET_FRACTION * grid.epochs
    print(
        f"  grid: best {grid.best:.4f} in {grid.epochs:.0f} epochs, {grid.wall_s:.1f} s; "
        f"budget for the others: {budget:.0f} epochs"
    )
    results: dict[str, list[Result]] = {name: [] for name in SEARCHERS}
    for seed in seeds:
        for name in SEARCHERS:
            text = base.replace("seed = 0", f"seed = {seed}", 1) + search_toml(work, name, budget)
            r = run_one(store, text, workers, name, seed)
            results[name].append(r)
            print(
                f"  {name:8s} seed {seed}: best {r.best:.4f}  epochs {r.epochs:7.1f}  "
                f"{r.wall_s:6.1f} s  trials {r.trials:3d}  pruned {r.pruned:3d}"
            )
    # equal budget: per seed, each searcher's best once it had trained as many epochs as the
    # thriftiest of the three spent in all (see measure: cut there, a search is the one that
    # budget would have run; halving's fewer configurations would promote a little
    # differently, but it is the thriftiest in practice)
    equal: dict[str, list[float]] = {name: [] for name in SEARCHERS}
    for i in range(len(seeds)):
        spent = min(results[name][i].epochs for name in SEARCHERS)
        for name in SEARCHERS:
            equal[name].append(best_at(results[name][i].curve, spent))
    at_equal = {name: statistics.median(v) for name, v in equal.items()}
    marks = [round(f * budget, 2) for f in (0.25, 0.5, 0.75, 1.0)]
    against = {
        name: [statistics.median(best_at(r.curve, m) for r in rs) for m in marks]
        for name, rs in results.items()
    }
    against = {"grid": [best_at(grid.curve, m) for m in marks], **against}
    medians = {name: statistics.median(r.best for r in rs) for name, rs in results.items()}
    med_epochs = {name: statistics.median(r.epochs for r in rs) for name, rs in results.items()}
    med_wall = {name: statistics.median(r.wall_s for r in rs) for name, rs in results.items()}
    print(f"\n  {'searcher':8s} {'median best':>11s} {'epochs':>8s} {'wall s':>7s}")
    print(f"  {'grid':8s} {grid.best:11.4f} {grid.epochs:8.0f} {grid.wall_s:7.1f}")
    for name in SEARCHERS:
        print(f"  {name:8s} {medians[name]:11.4f} {med_epochs[name]:8.0f} {med_wall[name]:7.1f}")
    print("\n  median best so far against epochs trained (trials in the order they were made)")
    print(f"  {'searcher':8s} " + " ".join(f"{m:>8.0f}" for m in marks) + "  at equal epochs")
    for name, row in against.items():
        tail = f"  {at_equal[name]:.4f}" if name in at_equal else ""
        print(f"  {name:8s} " + " ".join(f"{v:8.4f}" for v in row) + tail)
    over = max(r.epochs for r in results["halving"]) > BUDGET_FRACTION * grid.epochs + 1e-9
    tuidl_best = max(at_equal["random"], at_equal["halving"])
    targets = {
        f"{work.name} halving within 0.5 pt of grid (median)": medians["halving"]
        >= grid.best - TOLERANCE,
        f"{work.name} halving <= 1/4 of grid epochs (every seed)": not over,
        f"{work.name} tuidl best searcher >= tpe at equal epochs (median)": tuidl_best
        >= at_equal["tpe"],
    }
    return {
        "grid": grid.row(),
        "budget_epochs": round(budget, 2),
        "runs": [r.row() for rs in results.values() for r in rs],
        "median_best": {k: round(v, 4) for k, v in medians.items()},
        "median_best_at_equal_epochs": {k: round(v, 4) for k, v in at_equal.items()},
        "best_against_epochs": {
            "epochs": marks,
            **{k: [round(x, 4) for x in v] for k, v in against.items()},
        },
        "median_epochs": {k: round(v, 2) for k, v in med_epochs.items()},
        "median_wall_s": {k: round(v, 2) for k, v in med_wall.items()},
        "curves": {
            "grid": grid.curve[:: max(1, len(grid.curve) // 50)],
            **{k: rs[0].curve for k, rs in results.items()},
        },
        "targets": targets,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="digits only (< 10 min on 2 cores)")
    ap.add_argument("--seeds", type=int, default=5, help="search seeds per searcher (5)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cifar", default="/tmp/cifar/cifar-10-batches-py", help="CIFAR-10 folder")
    ap.add_argument("--store", help="keep the runs in this store (default: a temporary one)")
    ap.add_argument(
        "--only", choices=("digits", "cifar10"), help="run one workload (default: both)"
    )
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"bench_search: {meta}")
    workloads = [DIGITS] if args.quick else [DIGITS, CIFAR]
    if args.only:
        workloads = [w for w in (DIGITS, CIFAR) if w.name == args.only]
    seeds = list(range(args.seeds))
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.store) if args.store else Path(tmp) / "bench.sqlite"
        with Store(path) as store:
            for work in workloads:
                out[work.name] = bench(work, store, seeds, args.workers, args.cifar)
    targets = {k: v for w in out.values() for k, v in w.pop("targets").items()}
    print()
    for name, ok in targets.items():
        print(f"  {'met ' if ok else 'MISS'} {name}")
    result = {
        "quick": args.quick,
        "seeds": args.seeds,
        "workers": args.workers,
        **meta,
        "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "total_s": round(time.perf_counter() - t_start, 1),
        **out,
        "targets_met": targets,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
