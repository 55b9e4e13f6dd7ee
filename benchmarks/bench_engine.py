"""tuidl's engine side by side with bare numpy, PyTorch CPU and scikit-learn.

Workload A, one training epoch of a 3072-100-10 ReLU net: batch 200, 40,000 random float32
rows, 10 classes, softmax loss + L2, plain SGD (lr 1e-3), 200 batches drawn with
replacement (the same index array for every contestant that samples).

Workload B, kNN prediction: 1,000 test x 40,000 train x 3,072 float32, k=10.

Every contestant runs in this one process on the same arrays; contestants are interleaved
round-robin and each reports the best (minimum) of N timed repeats after a warm-up, because
a shared 2-core machine is noisy. Prints a table, ratios, and ONE JSON object on the last
line. Usage::

    .venv/bin/python benchmarks/bench_engine.py            # full sizes (~2-3 minutes)
    .venv/bin/python benchmarks/bench_engine.py --quick    # small sizes, smoke test
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuidl.engine.knn import KNN

LR = 1e-3
REG = 1e-3  # CS231n convention: loss += reg * sum(W**2) over weights, not biases
BATCH = 200
HIDDEN = 100
CLASSES = 10
K = 10


# ----------------------------------------------------------------------- timing helpers
def best_of(contestants: dict, repeats: int, pause: float = 0.2) -> dict[str, list[float]]:
    """Warm each contestant up once, then time ``repeats`` rounds; all times per contestant.

    Each round runs every contestant once, starting one further along each time, so slow
    phases of a noisy machine and "who ran just before" spread over everyone. The pause
    lets the previous contestant's spinning OpenMP/BLAS threads go to sleep first.
    """
    names = list(contestants)
    for fn in contestants.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            time.sleep(pause)
            t0 = time.perf_counter()
            contestants[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def report(times: dict[str, list[float]], base: str) -> dict[str, float]:
    """Print min and median per contestant; return the minima (the estimate we compare)."""
    best = {name: min(t) for name, t in times.items()}
    for name, t in times.items():
        print(
            f"  {name:8s} {best[name]:8.3f} s   x{best[name] / best[base]:.3f} of {base}"
            f"   (median {float(np.median(t)):.3f} s)"
        )
    return best


def blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture")
    return [{k: p.get(k) for k in keys if k in p} for p in threadpool_info()]


# ------------------------------------------------------------------ workload A: epoch
def tuidl_epoch(X, y, batches):
    from tuidl.engine.init import He
    from tuidl.engine.losses import SoftmaxLoss
    from tuidl.engine.models import FullyConnectedNet
    from tuidl.engine.optim import SGD

    model = FullyConnectedNet(hidden_sizes=[HIDDEN], reg=REG, dtype="float32")
    model.setup(X.shape[1], CLASSES, SoftmaxLoss(), He(), np.random.default_rng(0))
    opt = SGD(lr=LR)

    def epoch():
        for idx in batches:
            _, grads = model.loss(X[idx], y[idx])
            opt.step(model.params, grads)

    return epoch


def numpy_epoch(X, y, batches):
    """The same net as a hand-written float32 loop: what a careful person writes in numpy."""
    rng = np.random.default_rng(0)
    D = X.shape[1]
    W1 = rng.standard_normal((D, HIDDEN), dtype=np.float32) * np.float32(np.sqrt(2 / D))
    b1 = np.zeros(HIDDEN, np.float32)
    W2 = rng.standard_normal((HIDDEN, CLASSES), dtype=np.float32) * np.float32(np.sqrt(2 / HIDDEN))
    b2 = np.zeros(CLASSES, np.float32)
    rows = np.arange(BATCH)

    def epoch():
        nonlocal W1, b1, W2, b2  # updated in place; the augmented assignments rebind names
        for idx in batches:
            Xb, yb = X[idx], y[idx]
            h = Xb @ W1
            h += b1
            np.maximum(h, 0, out=h)
            s = h @ W2
            s += b2
            s -= s.max(axis=1, keepdims=True)
            correct = s[rows, yb]
            p = np.exp(s, out=s)
            sums = p.sum(axis=1)
            loss = float(np.log(sums).sum() - correct.sum()) / BATCH
            loss += REG * (float(np.vdot(W1, W1)) + float(np.vdot(W2, W2)))
            p *= (1.0 / BATCH) / sums[:, None]
            p[rows, yb] -= 1.0 / BATCH
            dW2 = h.T @ p
            dW2 += (2 * REG) * W2
            db2 = p.sum(axis=0)
            dh = p @ W2.T
            dh *= h > 0
            dW1 = Xb.T @ dh
            dW1 += (2 * REG) * W1
            db1 = dh.sum(axis=0)
            W1 -= LR * dW1
            b1 -= LR * db1
            W2 -= LR * dW2
            b2 -= LR * db2

    return epoch


def torch_epoch(X, y, batches):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, CLASSES)
    )
    weights = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    biases = [m.bias for m in net if isinstance(m, torch.nn.Linear)]
    # weight_decay wd adds wd * W to the gradient: reg * sum(W**2) has gradient 2 * reg * W.
    opt = torch.optim.SGD(
        [{"params": weights, "weight_decay": 2 * REG}, {"params": biases, "weight_decay": 0.0}],
        lr=LR,
    )
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    tb = [torch.from_numpy(idx) for idx in batches]

    def epoch():
        for idx in tb:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            loss.item()

    return epoch


def sklearn_epoch(X, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    # sklearn's penalty is alpha/(2*batch) * sum(W**2); alpha = 2*reg*batch matches reg.
    def epoch():
        clf = MLPClassifier(
            hidden_layer_sizes=(HIDDEN,),
            solver="sgd",
            batch_size=BATCH,
            max_iter=1,
            learning_rate_init=LR,
            momentum=0.0,
            nesterovs_momentum=False,
            shuffle=True,
            alpha=2 * REG * BATCH,
            tol=0.0,
            n_iter_no_change=10**9,
            early_stopping=False,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return epoch


# -------------------------------------------------------------------- workload B: kNN
def numpy_knn(Xtr, ytr, k):
    """Bare GEMM kNN: norms + one GEMM + argpartition + one bincount for the votes."""
    tr = np.sum(Xtr**2, axis=1)  # "fit": done once, like the others' fit

    def predict(X):
        d = X @ Xtr.T
        d *= -2
        d += np.sum(X**2, axis=1)[:, None]
        d += tr
        nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        labels = ytr[nearest]
        n = len(X)
        counts = np.bincount(
            (labels + (np.arange(n) * CLASSES)[:, None]).ravel(), minlength=n * CLASSES
        )
        return np.argmax(counts.reshape(n, CLASSES), axis=1)

    return predict


# ----------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke test, ~15 s")
    ap.add_argument("--repeats", type=int, default=None, help="timed rounds (default 10, quick 3)")
    ap.add_argument("--skip", default="", help="comma-separated contestants to skip: torch,sklearn")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    repeats = args.repeats or (3 if args.quick else 10)
    n_train = 8_000 if args.quick else 40_000
    n_test = 200 if args.quick else 1_000
    D = 3072

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_train, D), dtype=np.float32)
    y = rng.integers(0, CLASSES, n_train).astype(np.int64)
    Xte = rng.standard_normal((n_test, D), dtype=np.float32)
    iters = n_train // BATCH
    # np.random.choice-style sampling with replacement, fixed up front so all share it.
    batches = [rng.choice(n_train, BATCH, replace=True) for _ in range(iters)]

    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP", "MKL"))}
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_env": env,
    }
    print(f"tuidl engine benchmark  {meta['date']}  {meta['cpus']} CPUs  numpy {np.__version__}")
    print(f"environment: {env or '(no OPENBLAS_/OMP_/MKL_ variables)'}")

    # --- A
    epoch = {"tuidl": tuidl_epoch(X, y, batches), "numpy": numpy_epoch(X, y, batches)}
    versions = {}
    if "torch" not in skip:
        try:
            import torch

            versions["torch"] = torch.__version__
            epoch["torch"] = torch_epoch(X, y, batches)
        except ImportError:
            print("PyTorch not installed: skipped")
    if "sklearn" not in skip:
        try:
            import sklearn

            versions["sklearn"] = sklearn.__version__
            epoch["sklearn"] = sklearn_epoch(X, y)
        except ImportError:
            print("scikit-learn not installed: skipped")
    meta["versions"] = versions
    # Print BLAS info after torch/sklearn import: their OpenMP runtimes show up too.
    meta["threadpools"] = blas_info()
    for p in meta["threadpools"]:
        print("threadpool:", ", ".join(f"{k}={v}" for k, v in p.items()))

    print(
        f"\nA. one epoch, 3072-{HIDDEN}-{CLASSES} ReLU net, batch {BATCH}, {n_train} rows, "
        f"{iters} sgd steps, best of {repeats}"
    )
    times_a = best_of(epoch, repeats)
    ta = report(times_a, "numpy")
    ratios_a = {"tuidl/numpy": ta["tuidl"] / ta["numpy"]}
    if "torch" in ta:
        ratios_a["tuidl/torch"] = ta["tuidl"] / ta["torch"]
    if "sklearn" in ta:
        ratios_a["sklearn/tuidl"] = ta["sklearn"] / ta["tuidl"]

    # --- B
    knn = KNN(k=K).fit(X, y)
    bare = numpy_knn(X, y, K)
    knn_fns = {"tuidl": lambda: knn.predict(Xte), "numpy": lambda: bare(Xte)}
    # Not a contestant: the single X @ Xtr.T every method needs, the floor for the others.
    knn_fns["gemm"] = lambda: Xte @ X.T
    if "sklearn" not in skip and "sklearn" in versions:
        from sklearn.neighbors import KNeighborsClassifier

        sk = KNeighborsClassifier(n_neighbors=K, algorithm="brute").fit(X, y)
        knn_fns["sklearn"] = lambda: sk.predict(Xte)
    agree = {"tuidl=numpy": float(np.mean(knn.predict(Xte) == bare(Xte)))}
    if "sklearn" in knn_fns:
        agree["tuidl=sklearn"] = float(np.mean(knn.predict(Xte) == knn_fns["sklearn"]()))
    kn_rep = repeats
    print(
        f"\nB. kNN predict, {n_test} test x {n_train} train x {D} float32, k={K}, best of {kn_rep}"
    )
    times_b = best_of(knn_fns, kn_rep)
    tb = report(times_b, "numpy")
    print(f"  label agreement: {agree}")
    ratios_b = {"tuidl/numpy": tb["tuidl"] / tb["numpy"], "tuidl/gemm": tb["tuidl"] / tb["gemm"]}
    if "sklearn" in tb:
        ratios_b["sklearn/tuidl"] = tb["sklearn"] / tb["tuidl"]

    targets = {
        "epoch tuidl/numpy <= 1.05": ratios_a["tuidl/numpy"] <= 1.05,
        "knn tuidl/numpy <= 1.05": ratios_b["tuidl/numpy"] <= 1.05,
    }
    if "tuidl/torch" in ratios_a:
        targets["epoch tuidl <= torch"] = ratios_a["tuidl/torch"] <= 1.0
    if "sklearn/tuidl" in ratios_b:
        targets["knn sklearn/tuidl >= 2"] = ratios_b["sklearn/tuidl"] >= 2.0
    shown = {f"epoch {k}": v for k, v in ratios_a.items()} | {
        f"knn {k}": v for k, v in ratios_b.items()
    }
    print("\nratios:", ", ".join(f"{k} = {v:.3f}" for k, v in shown.items()))
    for name, ok in targets.items():
        print(f"  {'met ' if ok else 'MISS'} {name}")

    result = {
        "quick": args.quick,
        "repeats": repeats,
        **meta,
        "epoch_s": {k: round(v, 4) for k, v in ta.items()},
        "epoch_median_s": {k: round(float(np.median(v)), 4) for k, v in times_a.items()},
        "epoch_ratios": {k: round(v, 4) for k, v in ratios_a.items()},
        "knn_s": {k: round(v, 4) for k, v in tb.items()},
        "knn_median_s": {k: round(float(np.median(v)), 4) for k, v in times_b.items()},
        "knn_ratios": {k: round(v, 4) for k, v in ratios_b.items()},
        "knn_agreement": agree,
        "targets_met": targets,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
