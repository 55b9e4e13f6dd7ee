"""The cost of recording per-layer health while training (issue 13: at most 3 %).

The CS231n two-layer net of ``examples/cs231n_two_layer.toml`` (3072-500-10, ReLU, softmax,
He init, Adam, batch 200, shuffled epochs, float32), trained through tuidl's own trainer
with ``health=True`` and ``health=False`` side by side in this one process on the same rows:
the real CIFAR-10 training rows when ``--cifar DIR`` is given (mean-subtracted and
normalized as the example does), else random rows of the same shape. The two settings are
interleaved round-robin (alternating which goes first), ``--repeats`` times each, and each
reports its best (minimum) time, because a shared 2-core machine is noisy. Health samples
about 200 times per fit (every ``HEALTH_MIN_EVERY``-or-more iterations), exactly as a run
does.

Prints both times, the overhead and ONE JSON line last with ``targets_met``::

    .venv/bin/python benchmarks/bench_health.py --cifar /tmp/cifar/cifar-10-batches-py
    .venv/bin/python benchmarks/bench_health.py --quick     # random rows, smaller
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidl.engine.init import He
from tuidl.engine.losses import SoftmaxLoss
from tuidl.engine.models import FullyConnectedNet
from tuidl.engine.optim import Adam
from tuidl.experiment.trainer import NullSink, train


def rows(args) -> tuple[np.ndarray, np.ndarray, str]:
    if args.cifar:
        from tuidl.data.cifar10 import load_cifar10

        data = load_cifar10(args.cifar)
        X = data.X_train[: args.rows].reshape(min(args.rows, len(data.X_train)), -1)
        X = X.astype(np.float32)
        X -= X.mean(axis=0)
        X /= X.std(axis=0) + 1e-8
        return X, np.asarray(data.y_train[: args.rows]), "CIFAR-10 training rows"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 3072)).astype(np.float32)
    return X, rng.integers(0, 10, args.rows), "random rows of CIFAR-10's shape"


def fit(X, y, health: bool, iterations: int) -> float:
    model = FullyConnectedNet([500], reg=1e-3).setup(
        3072, 10, SoftmaxLoss(), He(), np.random.default_rng(1)
    )
    start = time.perf_counter()
    train(
        model,
        Adam(1e-3),
        X,
        y,
        None,
        None,
        rng=np.random.default_rng(2),
        iterations=iterations,
        batch_size=200,
        sampling="epoch",
        health=health,
        sink=NullSink(),
    )
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cifar", help="the cifar-10-batches-py folder (else random rows)")
    ap.add_argument("--rows", type=int, default=49000)
    ap.add_argument("--iterations", type=int, default=2000, help="per fit (245 = one epoch)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="random rows, 10,000 rows, 400 its")
    args = ap.parse_args()
    if args.quick:
        args.cifar, args.rows, args.iterations, args.repeats = None, 10000, 400, 2
    X, y, what = rows(args)
    times: dict[bool, list[float]] = {True: [], False: []}
    fit(X, y, False, 20)  # warm-up: BLAS threads, page faults
    for r in range(args.repeats):
        # alternate which goes first, so warm-up and drift do not favour one side
        for health in (False, True) if r % 2 == 0 else (True, False):
            times[health].append(fit(X, y, health, args.iterations))
    off, on = min(times[False]), min(times[True])
    overhead = on / off - 1
    print(f"{what}: {len(y)} x 3072, 3072-500-10 net, {args.iterations} iterations per fit")
    print(f"  health off  {off:8.2f} s   (best of {args.repeats})")
    print(f"  health on   {on:8.2f} s   overhead {100 * overhead:+.2f} %")
    result = {
        "benchmark": "health",
        "data": what,
        "iterations": args.iterations,
        "seconds_off": round(off, 3),
        "seconds_on": round(on, 3),
        "overhead_pct": round(100 * overhead, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "targets_met": {"health_overhead_le_3pct": overhead <= 0.03},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
