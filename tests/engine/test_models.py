"""Models: full-network gradient checks, dtypes, state round trips and a real overfit run."""

import math

import numpy as np
import pytest

from tuidl.engine.gradcheck import numeric_gradient, rel_error
from tuidl.engine.init import Calibrated, He, SmallRandom
from tuidl.engine.layers import Dropout
from tuidl.engine.losses import SoftmaxLoss, SquaredHingeLoss, SVMLoss
from tuidl.engine.models import FullyConnectedNet, LinearClassifier
from tuidl.engine.optim import Adam
from tuidl.errors import TuidlError

TOL = 1e-7


def _data(n=10, d=6, c=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype), rng.integers(0, c, n)


def _check_model(model, X, y, reseed=None, zero=()):
    """Every param's analytic gradient against centered differences of model.loss.

    Params in ``zero`` have a true gradient of exactly zero (an affine bias feeding
    batchnorm, which subtracts it again); there relative error only compares rounding
    noise, so both gradients must instead be zero to within that noise.
    """

    def f(_):
        if reseed:
            reseed()
        return model.loss(X, y)[0]

    if reseed:
        reseed()
    _, grads = model.loss(X, y)
    grads = {k: v.copy() for k, v in grads.items()}
    assert set(grads) == set(model.params)
    for name, p in model.params.items():
        num = numeric_gradient(f, p)
        if name in zero:
            assert np.abs(grads[name]).max() < 1e-12 and np.abs(num).max() < 1e-8, name
            continue
        err = rel_error(grads[name], num)
        assert err < TOL, f"{name}: relative error {err:.2e}"


def test_fc_net_gradients_with_batchnorm_and_dropout():
    X, y = _data(n=12, d=5, c=4, seed=1)
    net = FullyConnectedNet([7, 6], batchnorm=True, dropout=0.7, reg=0.3, dtype="float64")
    net.setup(5, 4, SoftmaxLoss(), Calibrated(), np.random.default_rng(2))
    rng = np.random.default_rng(3)
    for name in ("gamma1", "beta1", "gamma2", "beta2"):
        net.params[name][:] = 1 + 0.3 * rng.standard_normal(net.params[name].shape)
    # The hidden pre-activations sit at roughly N(beta, gamma); a kink within 1e-5 of an
    # evaluation point would spoil the check, and this seed has none within 1e-3.
    dropouts = [layer for layer in net.layers if isinstance(layer, Dropout)]
    assert len(dropouts) == 2

    def reseed():
        for i, layer in enumerate(dropouts):
            layer.rng = np.random.default_rng(100 + i)

    assert {"W1", "b1", "gamma1", "beta1", "W2", "W3", "b3"} <= set(net.params)
    _check_model(net, X, y, reseed, zero=("b1", "b2"))


@pytest.mark.parametrize("loss", [SoftmaxLoss(), SquaredHingeLoss()], ids=["softmax", "sqhinge"])
def test_fc_net_gradients_plain(loss):
    X, y = _data(n=8, d=5, c=3, seed=4)
    net = FullyConnectedNet([6], reg=0.1, dtype="float64")
    net.setup(5, 3, loss, He(bias=0.1), np.random.default_rng(5))
    _check_model(net, X, y)


@pytest.mark.parametrize("loss", [SoftmaxLoss(), SVMLoss()], ids=["softmax", "svm"])
def test_linear_gradients_with_reg(loss):
    X, y = _data(n=9, d=6, c=4, seed=6)
    model = LinearClassifier(reg=0.5, dtype="float64")
    model.setup(6, 4, loss, SmallRandom(scale=1.0), np.random.default_rng(7))
    assert set(model.params) == {"W", "b"}
    _check_model(model, X, y)


def test_reg_term_is_weights_only_cs231n_convention():
    X, y = _data(seed=8)
    model = LinearClassifier(reg=2.0, dtype="float64")
    model.setup(6, 4, SoftmaxLoss(), SmallRandom(scale=0.1, bias=0.5), np.random.default_rng(0))
    data_loss, dscores = SoftmaxLoss()(X @ model.params["W"] + model.params["b"], y)
    loss, grads = model.loss(X, y)
    W = model.params["W"]
    assert loss == pytest.approx(data_loss + 2.0 * np.sum(W**2))
    np.testing.assert_allclose(grads["W"], X.T @ dscores + 2 * 2.0 * W)
    np.testing.assert_allclose(grads["b"], dscores.sum(axis=0))  # biases not regularized


@pytest.mark.parametrize("make", [LinearClassifier, FullyConnectedNet])
def test_float32_by_default(make):
    X, y = _data(dtype=np.float32)
    model = make().setup(6, 4, SoftmaxLoss(), Calibrated(), np.random.default_rng(0))
    assert all(p.dtype == np.float32 for p in model.params.values())
    loss, grads = model.loss(X, y)
    assert isinstance(loss, float)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.scores(X).dtype == np.float32
    # float64 input is converted once, not carried through
    assert model.scores(X.astype(np.float64)).dtype == np.float32


def test_float64_on_request():
    X, y = _data()
    net = FullyConnectedNet([5], batchnorm=True, dtype="float64")
    net.setup(6, 4, SVMLoss(), He(), np.random.default_rng(0))
    assert all(p.dtype == np.float64 for p in net.params.values())
    assert net.scores(X).dtype == np.float64
    assert all(g.dtype == np.float64 for g in net.loss(X, y)[1].values())


def test_output_width_comes_from_the_loss():
    class Wide(SoftmaxLoss):
        def output_dim(self, num_classes):
            return num_classes + 2

    net = FullyConnectedNet([4]).setup(3, 5, Wide(), He(), np.random.default_rng(0))
    assert net.params["W2"].shape == (4, 7)
    assert net.scores(np.ones((2, 3), np.float32)).shape == (2, 7)


def test_input_dim_may_be_a_shape():
    net = FullyConnectedNet([4]).setup((2, 3), 2, SoftmaxLoss(), He(), np.random.default_rng(0))
    assert net.params["W1"].shape == (6, 4)
    assert net.predict(np.ones((5, 2, 3), np.float32)).shape == (5,)


def test_params_are_the_layers_arrays():
    net = FullyConnectedNet([4], batchnorm=True).setup(
        3, 2, SoftmaxLoss(), He(), np.random.default_rng(0)
    )
    X = np.ones((2, 3), np.float32)
    before = net.scores(X)
    net.params["b2"] += 1.0  # an optimizer's in-place step must reach the layer
    np.testing.assert_allclose(net.scores(X), before + 1.0)


def test_predict_uses_test_mode():
    X, _ = _data(n=30, dtype=np.float32)
    net = FullyConnectedNet([8], batchnorm=True, dropout=0.5)
    net.setup(6, 4, SoftmaxLoss(), He(), np.random.default_rng(0))
    first = net.scores(X)
    np.testing.assert_array_equal(net.scores(X), first)  # no dropout noise at test time
    np.testing.assert_array_equal(net.predict(X), first.argmax(axis=1))


def test_get_state_set_state_round_trip():
    X, y = _data(n=20, dtype=np.float32)
    net = FullyConnectedNet([8], batchnorm=True)
    net.setup(6, 4, SoftmaxLoss(), He(), np.random.default_rng(0))
    net.loss(X, y)
    state = net.get_state()
    assert {"running_mean1", "running_var1"} == set(state["buffers"])
    scores = net.scores(X)
    ids = {k: id(v) for k, v in net.params.items()}
    opt = Adam(lr=1e-2)
    for _ in range(5):
        opt.step(net.params, net.loss(X, y)[1])
    assert not np.array_equal(net.scores(X), scores)
    net.set_state(state)
    np.testing.assert_array_equal(net.scores(X), scores)
    assert {k: id(v) for k, v in net.params.items()} == ids  # optimizer stays attached
    # the state is a deep copy: training on does not change it
    opt.step(net.params, net.loss(X, y)[1])
    net.set_state(state)
    np.testing.assert_array_equal(net.scores(X), scores)


def test_no_copy_of_input_in_model_dtype():
    X, y = _data(dtype=np.float32)
    net = FullyConnectedNet([4]).setup(6, 4, SoftmaxLoss(), He(), np.random.default_rng(0))
    net.loss(X, y)
    assert np.shares_memory(net.layers[0]._x, X)  # the first layer caches X, not a copy


def test_use_before_setup_raises():
    with pytest.raises(RuntimeError, match="setup"):
        LinearClassifier().scores(np.ones((1, 2)))


@pytest.mark.parametrize(
    "kwargs", [{"dropout": 0.0}, {"dropout": 1.5}, {"hidden_sizes": [0]}, {"reg": -1.0}]
)
def test_bad_hyperparameters_raise(kwargs):
    with pytest.raises(ValueError):
        FullyConnectedNet(**kwargs)
    for dtype in ("int8", "float16", "no-such-type"):
        with pytest.raises(ValueError, match="dtype"):
            LinearClassifier(dtype=dtype)


@pytest.mark.parametrize("batchnorm,dropout", [(False, 1.0), (True, 1.0), (True, 0.9)])
def test_tiny_net_overfits_twenty_samples(batchnorm, dropout):
    """A real end-to-end run: adam drives train accuracy on 20 random rows to 100%."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 15)).astype(np.float32)
    y = rng.integers(0, 5, 20)
    net = FullyConnectedNet([50, 50], batchnorm=batchnorm, dropout=dropout, reg=0.0)
    net.setup(15, 5, SoftmaxLoss(), He(), rng)
    opt = Adam(lr=5e-3)
    first = net.loss(X, y)[0]
    assert first == pytest.approx(math.log(5), rel=0.5)
    for _ in range(300):
        loss, grads = net.loss(X, y)
        opt.step(net.params, grads)
    assert loss < 0.1 * first
    assert np.mean(net.predict(X) == y) == 1.0


def test_linear_svm_learns_separable_data():
    rng = np.random.default_rng(1)
    centers = 4 * rng.standard_normal((3, 10))
    y = rng.integers(0, 3, 90)
    X = (centers[y] + rng.standard_normal((90, 10))).astype(np.float32)
    model = LinearClassifier(reg=1e-3).setup(10, 3, SVMLoss(), SmallRandom(), rng)
    opt = Adam(lr=1e-2)
    for _ in range(200):
        opt.step(model.params, model.loss(X, y)[1])
    assert np.mean(model.predict(X) == y) > 0.95


def test_min_batch_rows_is_declared_by_batchnorm_nets_only():
    assert FullyConnectedNet([4], batchnorm=True).min_batch_rows == 2
    assert FullyConnectedNet([4]).min_batch_rows == 1
    assert LinearClassifier().min_batch_rows == 1
    net = FullyConnectedNet([5], batchnorm=True, dtype="float64")
    net.setup(6, 3, SoftmaxLoss(), SmallRandom(), np.random.default_rng(0))
    X, y = _data(n=1, c=3)
    with pytest.raises(TuidlError, match=r"batchnorm: a training batch of 1 row"):
        net.loss(X, y)
    assert net.predict(X).shape == (1,)  # one row at test time is fine
