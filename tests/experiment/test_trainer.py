"""The minibatch loop: schedule, events, early stopping, divergence and cancellation."""

from __future__ import annotations

import math
import time
from typing import ClassVar

import numpy as np
import pytest
from exp_helpers import blobs, blobs_spec, registry

from tuidl.engine.init import SmallRandom
from tuidl.engine.losses import SoftmaxLoss
from tuidl.engine.models import FullyConnectedNet, LinearClassifier
from tuidl.engine.optim import SGD
from tuidl.errors import TuidlError
from tuidl.experiment.spec_check import validate
from tuidl.experiment.trainer import Cancelled, ListSink, accuracy, iterations_per_epoch, train


@pytest.fixture(scope="module")
def data():
    d = blobs(n=400, seed=1)
    return d.X_train[:300], d.y_train[:300], d.X_train[300:], d.y_train[300:]


def model(seed=0, reg=1e-3):
    m = LinearClassifier(reg=reg)
    return m.setup(6, 3, SoftmaxLoss(), SmallRandom(), np.random.default_rng(seed))


def fit(m, opt, data, seed=0, **kw):
    """``train`` on ``data`` = (X, y, X_val, y_val) with a fresh generator seeded ``seed``."""
    X, y, Xv, yv = data
    return train(m, opt, X, y, Xv, yv, rng=np.random.default_rng(seed), **kw)


def test_iterations_per_epoch():
    assert iterations_per_epoch(49000, 200, "replacement") == 245
    assert iterations_per_epoch(100, 200, "replacement") == 1
    assert iterations_per_epoch(101, 50, "epoch") == 3
    assert iterations_per_epoch(101, 50, "replacement") == 2


def test_epochs_events_and_learning(data):
    X, y, Xv, yv = data
    sink = ListSink()
    m = model()
    r = fit(
        m, SGD(lr=0.05), (X, y, Xv, yv), seed=0, epochs=4, batch_size=30, sink=sink, keep_best=False
    )
    assert r.status == "ok" and r.iterations == 40 and r.epochs == 4.0
    assert len(sink.loss_values) == 40
    assert [e[0] for e in sink.epochs] == [1.0, 2.0, 3.0, 4.0]
    assert r.val_acc == sink.epochs[-1][2] == accuracy(m, Xv, yv)
    assert r.val_acc > 0.9
    assert sink.loss_values[-1] < sink.loss_values[0]


def test_iterations_ending_mid_epoch_get_a_last_check(data):
    X, y, Xv, yv = data
    sink = ListSink()
    fit(model(), SGD(lr=0.05), (X, y, Xv, yv), seed=0, iterations=25, batch_size=30, sink=sink)
    assert [e[0] for e in sink.epochs] == [1.0, 2.0, 2.5]


def test_lr_decays_once_per_epoch(data):
    X, y, Xv, yv = data
    sink = ListSink()
    opt = SGD(lr=0.1, lr_decay=0.5)
    fit(model(), opt, (X, y, Xv, yv), seed=0, epochs=3, batch_size=100, sink=sink)
    assert [e[3] for e in sink.epochs] == [0.1, 0.05, 0.025]
    assert opt.lr == pytest.approx(0.0125)


def test_same_rng_same_result_and_replacement_vs_epoch_sampling(data):
    X, y, Xv, yv = data
    runs = []
    for sampling in ("replacement", "replacement", "epoch"):
        sink = ListSink()
        fit(
            model(),
            SGD(lr=0.05),
            (X, y, Xv, yv),
            seed=7,
            epochs=2,
            batch_size=40,
            sampling=sampling,
            sink=sink,
        )
        runs.append(sink.loss_values)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len(runs[2]) == 2 * 8  # ceil(300 / 40) batches per shuffled epoch


def test_full_batch_gradient_descent_is_deterministic_given_the_model(data):
    X, y, Xv, yv = data
    a, b = ListSink(), ListSink()
    fit(
        model(),
        SGD(lr=0.05),
        (X, y, Xv, yv),
        seed=1,
        epochs=3,
        batch_size=300,
        sampling="epoch",
        sink=a,
    )
    fit(
        model(),
        SGD(lr=0.05),
        (X, y, Xv, yv),
        seed=2,
        epochs=3,
        batch_size=300,
        sampling="epoch",
        sink=b,
    )
    np.testing.assert_allclose(a.loss_values, b.loss_values, rtol=1e-6)


def test_diverging_learning_rate_is_a_result_not_an_exception(data):
    X, y, Xv, yv = data
    X = X * 1e3
    r = fit(model(reg=1e3), SGD(lr=1e3), (X, y, Xv, yv), seed=0, epochs=5, batch_size=30)
    assert r.status == "diverged"
    assert "lower optimizer.lr" in r.message and "learning rate 1000" in r.message
    assert r.val_acc is None


def test_cancel_is_checked_every_iteration(data):
    X, y, Xv, yv = data
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 7

    sink = ListSink()
    with pytest.raises(Cancelled):
        fit(
            model(),
            SGD(lr=0.05),
            (X, y, Xv, yv),
            seed=0,
            epochs=5,
            batch_size=30,
            sink=sink,
            cancel=cancel,
        )
    assert len(sink.loss_values) == 7


class Scripted:
    """A fake model whose validation accuracy follows a script, to test early stopping."""

    learnable = True

    def __init__(self, script):
        self.script = list(script)
        self.params = {"W": np.zeros(1)}
        self.checks = 0
        self.state = 0
        self.restored = None

    def loss(self, X, y):
        return 1.0, {"W": np.zeros(1)}

    def predict(self, X):
        # called twice per check: train sample first, then validation
        self.checks += 1
        acc = self.script[min((self.checks - 1) // 2, len(self.script) - 1)]
        self.state = (self.checks - 1) // 2
        n = len(X)
        right = round(acc * n)
        return np.r_[np.zeros(right, int), np.ones(n - right, int)]

    def get_state(self):
        return self.state

    def set_state(self, s):
        self.restored = s


def test_early_stopping_with_patience_and_keep_best():
    X = np.zeros((100, 1), np.float32)
    y = np.zeros(100, int)
    m = Scripted([0.5, 0.7, 0.6, 0.65, 0.69, 0.9])
    r = train(
        m,
        SGD(lr=0.1),
        X,
        y,
        X,
        y,
        rng=np.random.default_rng(0),
        epochs=6,
        batch_size=100,
        patience=3,
    )
    assert r.epochs == 5.0  # stopped: epochs 3, 4, 5 did not beat epoch 2
    assert r.val_acc == 0.7 and r.best_epoch == 2.0
    assert m.restored == 1  # the state taken at the second check


def test_events_are_buffered_not_per_iteration(data):
    X, y, Xv, yv = data

    class Counting(ListSink):
        calls = 0

        def losses(self, first, values):
            Counting.calls += 1
            super().losses(first, values)

    sink = Counting()
    X2 = np.repeat(X, 20, axis=0)
    y2 = np.repeat(y, 20)
    start = time.monotonic()
    train(
        model(),
        SGD(lr=0.01),
        X2,
        y2,
        Xv,
        yv,
        rng=np.random.default_rng(0),
        epochs=2,
        batch_size=10,
        sink=sink,
        flush_seconds=0.5,
    )
    elapsed = time.monotonic() - start
    assert len(sink.loss_values) == 2 * 600
    assert Counting.calls <= 2 + 1 + elapsed / 0.5 + 1


def test_train_accuracy_uses_a_bounded_sample(data):
    X, y, Xv, yv = data

    class Spy(LinearClassifier):
        sizes: ClassVar[list[int]] = []

        def predict(self, X):
            Spy.sizes.append(len(X))
            return super().predict(X)

    m = Spy(reg=1e-3).setup(6, 3, SoftmaxLoss(), SmallRandom(), np.random.default_rng(0))
    fit(m, SGD(lr=0.05), (X, y, Xv, yv), seed=0, epochs=1, batch_size=30, train_sample=50)
    assert Spy.sizes == [50, 100]


# --- batchnorm never sees a one-row training batch (issue #15 item 13) ---


class BatchSpy:
    """Wraps a model and records the rows of every training batch."""

    def __init__(self, inner, min_batch_rows=None):
        self.inner = inner
        self.sizes: list[int] = []
        self.rows: list[np.ndarray] = []
        if min_batch_rows is not None:
            self.min_batch_rows = min_batch_rows

    def loss(self, X, y):
        self.sizes.append(len(X))
        self.rows.append(X[:, 0].copy())
        return self.inner.loss(X, y)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def bn_net(seed=0):
    net = FullyConnectedNet([8], batchnorm=True)
    return net.setup(6, 3, SoftmaxLoss(), SmallRandom(), np.random.default_rng(seed))


def test_iterations_per_epoch_merges_a_short_last_batch_only_when_asked():
    assert iterations_per_epoch(101, 50, "epoch", min_rows=2) == 2
    assert iterations_per_epoch(100, 50, "epoch", min_rows=2) == 2
    assert iterations_per_epoch(102, 50, "epoch", min_rows=2) == 3
    assert iterations_per_epoch(1, 50, "epoch", min_rows=2) == 1
    assert iterations_per_epoch(101, 50, "replacement", min_rows=2) == 2


def test_epoch_sampling_never_gives_batchnorm_a_one_row_batch(data):
    X, y, _, _ = data
    X, y = X[:101], y[:101]
    spy = BatchSpy(bn_net())
    fit(spy, SGD(lr=0.05), (X, y, None, None), epochs=3, batch_size=50, sampling="epoch")
    assert spy.sizes == [50, 51] * 3  # the one row left over joins the last batch
    seen = np.sort(np.concatenate(spy.rows[:2]))
    np.testing.assert_array_equal(seen, np.sort(X[:, 0]))  # every row once per epoch
    running_var = spy.inner.layers[1].running_var
    assert running_var.min() > 0.1  # not dragged toward 0 by one-row batches


def test_a_model_without_batchnorm_keeps_its_one_row_remainder(data):
    X, y, _, _ = data
    spy = BatchSpy(model())
    fit(
        spy, SGD(lr=0.05), (X[:101], y[:101], None, None), epochs=1, batch_size=50, sampling="epoch"
    )
    assert spy.sizes == [50, 50, 1]


@pytest.mark.parametrize("sampling", ["replacement", "epoch"])
def test_batch_size_one_with_batchnorm_refused_before_the_first_step(data, sampling):
    spy = BatchSpy(bn_net())
    with pytest.raises(
        TuidlError,
        match=r"training\.batch_size = 1: .*at least 2 rows per "
        r"training batch.*set training\.batch_size >= 2.*batchnorm off",
    ):
        fit(spy, SGD(lr=0.05), data, epochs=1, batch_size=1, sampling=sampling)
    assert spy.sizes == []
    X, y, _, _ = data
    with pytest.raises(TuidlError, match=r"1 training row: .*train on more rows"):
        fit(spy, SGD(lr=0.05), (X[:1], y[:1], None, None), epochs=1, batch_size=50)
    assert spy.sizes == []


def test_spec_check_refuses_batch_size_one_with_batchnorm():
    spec = blobs_spec(
        model={"name": "fc_net", "hidden_sizes": [8], "batchnorm": True},
        training={"epochs": 1, "batch_size": 1},
    )
    with pytest.raises(TuidlError, match=r"training\.batch_size = 1: .*batchnorm"):
        validate(spec, registry())
    spec.training.batch_size = 2
    validate(spec, registry())
    spec.model.params["batchnorm"] = False
    spec.training.batch_size = 1
    validate(spec, registry())


def test_spec_check_names_the_grid_point_with_a_one_row_batch():
    spec = blobs_spec(
        model={"name": "fc_net", "hidden_sizes": [8], "batchnorm": True},
        training={"epochs": 1, "batch_size": 4},
    )
    spec.cv.grid = {"training.batch_size": [4, 1]}
    with pytest.raises(TuidlError, match=r"cv\.grid point \(training\.batch_size = 1\)"):
        validate(spec, registry())


def test_health_is_sampled_into_the_sink_and_off_costs_nothing():
    from tuidl.engine.init import He
    from tuidl.engine.losses import SoftmaxLoss
    from tuidl.engine.models import FullyConnectedNet
    from tuidl.engine.optim import Adam
    from tuidl.experiment.trainer import HEALTH_MIN_EVERY, HEALTH_SAMPLES, ListSink, train

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 6)).astype(np.float32), rng.integers(0, 3, 300)

    def fit(health):
        model = FullyConnectedNet([8]).setup(6, 3, SoftmaxLoss(), He(), np.random.default_rng(1))
        sink = ListSink()
        train(model, Adam(1e-2), X, y, None, None, rng=np.random.default_rng(2),
              iterations=3000, batch_size=50, health=health, sink=sink)  # fmt: skip
        return model, sink

    on, sink = fit(True)
    its = [i for i, _ in sink.health_samples]
    every = max(HEALTH_MIN_EVERY, math.ceil(3000 / HEALTH_SAMPLES))
    assert len(its) == 3000 // every <= HEALTH_SAMPLES and its[:2] == [every, 2 * every]
    stats = sink.health_samples[-1][1]
    assert {"update_ratio:W1", "update_ratio:W2", "grad_norm:W1", "dead:h1"} <= set(stats)
    assert 0 < stats["update_ratio:W1"] < 1
    off, quiet = fit(False)
    assert quiet.health_samples == []
    # sampling only reads: the trained weights are identical with and without it
    assert all(np.array_equal(on.params[k], off.params[k]) for k in on.params)
