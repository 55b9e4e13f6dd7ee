"""Loss-and-gradient step of an output layer: full softmax vs hierarchical softmax.

Every variant does one training step's worth of output-layer work on the same features
``X`` (N, D): forward scores, loss, and the gradients with respect to ``X``, ``W`` and ``b``.

- ``softmax``: ``X @ W + b`` with C columns, softmax loss, ``X.T @ ds``, ``ds @ W.T``.
- ``hsoftmax_dense``: the same GEMMs with C - 1 columns and the hsoftmax loss on the dense
  score matrix. The GEMMs dominate, so this is NOT meaningfully faster; it is what the linear
  model and the net do today through the plain loss contract.
- ``hsoftmax_path`` (strided and node-major): ``loss.path_loss(X, W, b, y)``, which computes
  only the ~log2(C) path-node scores per row and returns gradients for the touched columns
  (a sparse update). This is the real hierarchical-softmax speed-up; a model must opt in.
- ``hsoftmax_path_densegrad``: the node-major path step plus scattering its gradients into
  full (D, K) arrays, for code that insists on dense gradients.

Then whole training steps through tuidl's own models, as ``tuidl run`` does them:
``loss, grads = model.loss(X, y)`` then ``SGD.step(params, grads)`` (reg 1e-4), for the
``linear`` model and an ``fc_net`` with one hidden layer of 256, each with ``softmax`` and
with ``hsoftmax`` (which the models route through ``path_loss``: see tuidl.engine.models).

Usage: ``python benchmarks/bench_hsoftmax.py [--classes 10000] [--n 256] [--dim 512]``.
The last line of output is one JSON object with the timings (ms) and the factors.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from tuidl.plugins.manager import load_registry


def softmax_step(X, W, b, y):
    scores = X @ W
    scores += b
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    sums = scores.sum(axis=1)
    rows = np.arange(len(y))
    loss = float(-np.log(scores[rows, y] / sums).mean())
    scores *= (1.0 / len(y)) / sums[:, None]
    scores[rows, y] -= 1.0 / len(y)
    return loss, X.T @ scores, scores.sum(axis=0), scores @ W.T


def hs_dense_step(loss_fn, X, W, b, y):
    scores = X @ W
    scores += b
    loss, ds = loss_fn(scores, y)
    return loss, X.T @ ds, ds.sum(axis=0), ds @ W.T


def model_steps(registry, X, y, c):
    """One SGD step of tuidl's linear model and net with softmax and with hsoftmax."""
    steps = {}
    for model_name, params in (("linear", {}), ("fc_net", {"hidden_sizes": [256]})):
        for loss_name in ("softmax", "hsoftmax"):
            loss = registry.create("loss", loss_name)
            if loss_name == "hsoftmax":
                loss.fit(X, y, num_classes=c)
            model = registry.create(
                "model", model_name, {**params, "reg": 1e-4, "dtype": X.dtype.name}
            )
            init = registry.create("initializer", "small_random", {"scale": 0.01})
            model.setup(X.shape[1], c, loss, init, np.random.default_rng(0))
            opt = registry.create("optimizer", "sgd", {"lr": 1e-3})

            def step(model=model, opt=opt):
                _, grads = model.loss(X, y)
                opt.step(model.params, grads)

            steps[f"{model_name}_{loss_name}_step"] = step
    return steps


def best_ms(fn, repeat):
    fn()  # warm-up: trees, caches, BLAS threads
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * min(times)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=256, help="rows per minibatch")
    ap.add_argument("--dim", type=int, default=512, help="feature dimension D")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = ap.parse_args(argv)

    rng = np.random.default_rng(0)
    dtype = np.dtype(args.dtype)
    c, n, d = args.classes, args.n, args.dim
    X = rng.standard_normal((n, d)).astype(dtype)
    y = rng.integers(0, c, size=n)
    W_soft = (0.01 * rng.standard_normal((d, c))).astype(dtype)
    b_soft = np.zeros(c, dtype)

    registry = load_registry(environ={"TUIDL_LOAD_PLUGINS": "hsoftmax"})
    loss = registry.create("loss", "hsoftmax")
    k = loss.output_dim(c)
    W = (0.01 * rng.standard_normal((d, k))).astype(dtype)  # (D, K) as the linear model keeps it
    V = np.ascontiguousarray(W.T)  # the same weights stored node-major (K, D)
    b = np.zeros(k, dtype)

    # The variants compute the same loss; check before timing.
    l_dense = hs_dense_step(loss, X, W, b, y)[0]
    l_path = loss.path_loss(X, V.T, b, y).loss
    assert abs(l_dense - l_path) <= 1e-4 * abs(l_dense), (l_dense, l_path)

    ms = {
        "softmax": best_ms(lambda: softmax_step(X, W_soft, b_soft, y), args.repeat),
        "hsoftmax_dense": best_ms(lambda: hs_dense_step(loss, X, W, b, y), args.repeat),
        "hsoftmax_path_strided": best_ms(lambda: loss.path_loss(X, W, b, y), args.repeat),
        "hsoftmax_path_node_major": best_ms(lambda: loss.path_loss(X, V.T, b, y), args.repeat),
        "hsoftmax_path_densegrad": best_ms(
            lambda: loss.path_loss(X, V.T, b, y).dense(k), args.repeat
        ),
    }
    ms.update({key: best_ms(fn, args.repeat) for key, fn in model_steps(registry, X, y, c).items()})
    training = {
        model: round(ms[f"{model}_softmax_step"] / ms[f"{model}_hsoftmax_step"], 1)
        for model in ("linear", "fc_net")
    }
    result = {
        "benchmark": "output-layer loss+gradient step, best of repeats",
        "classes": c,
        "n": n,
        "dim": d,
        "dtype": args.dtype,
        "tree_depth": loss.tree.depth,
        "threads": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "ms": {key: round(v, 3) for key, v in ms.items()},
        "speedup_vs_softmax": {
            key: round(ms["softmax"] / v, 1) for key, v in ms.items() if key.startswith("hsoftmax")
        },
        "training_step_speedup_hsoftmax_vs_softmax": training,
    }
    for key, v in ms.items():
        if not key.endswith("_step"):
            print(f"{key:<26} {v:9.2f} ms   x{ms['softmax'] / v:7.1f} vs softmax")
    for model, factor in training.items():
        soft, hier = ms[f"{model}_softmax_step"], ms[f"{model}_hsoftmax_step"]
        print(
            f"training step, {model:<7} softmax {soft:8.2f} ms   hsoftmax {hier:8.2f} ms"
            f"   x{factor:5.1f}"
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
