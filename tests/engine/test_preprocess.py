"""Preprocessing steps against the textbook oracles, fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pytest

from tuidl.engine.preprocess import (
    PCA,
    BiasTrick,
    Chain,
    MeanSubtraction,
    Normalize,
    Reshape,
    Whitening,
)
from tuidl.errors import TuidlError


def _correlated(n=400, d=12, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d)) * np.linspace(3, 0.2, d)
    return (rng.normal(size=(n, d)) @ A + 5).astype(dtype)


def test_reshape_flattens_and_casts():
    X = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    step = Reshape().fit(X)
    out = step.transform(X)
    assert out.shape == (2, 12) and out.dtype == np.float32
    assert Reshape("float64").fit(X).transform(X).dtype == np.float64
    assert step.output_shape((3, 4)) == (12,)


def test_mean_image_is_the_per_pixel_mean():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, (50, 4, 4, 3)).astype(np.uint8)
    step = MeanSubtraction().fit(X)
    np.testing.assert_allclose(step.mean_, X.astype(np.float64).mean(axis=0), rtol=0, atol=1e-12)
    out = step.transform(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X - X.astype(np.float64).mean(axis=0), atol=1e-4)


def test_global_mean():
    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(MeanSubtraction("global").fit_transform(X), X - 3.0)


def test_fit_on_train_only_and_transform_never_refits():
    Xtr, Xva = _correlated(seed=2), _correlated(seed=3) + 7
    steps = [MeanSubtraction(), Normalize(), PCA(k=5), Whitening()]
    chain = Chain(steps).fit(Xtr)
    mean = steps[0].mean_.copy()
    comps = steps[2].components_.copy()
    out = chain.transform(Xva)
    np.testing.assert_array_equal(steps[0].mean_, mean)  # untouched by the other rows
    np.testing.assert_array_equal(steps[2].components_, comps)
    np.testing.assert_allclose(steps[0].transform(Xva), Xva - Xtr.mean(axis=0))
    # validation rows are not centred by their own mean
    assert np.abs(out.mean(axis=0)).max() > 1


def test_transform_before_fit_and_wrong_shape():
    with pytest.raises(TuidlError, match=r"mean_subtraction: transform called before fit"):
        MeanSubtraction().transform(np.zeros((2, 3)))
    step = MeanSubtraction().fit(np.zeros((2, 3)))
    with pytest.raises(TuidlError, match=r"fitted on rows of shape \(3,\) but got .*\(4,\)"):
        step.transform(np.zeros((2, 4)))


def test_normalize_divides_by_std_and_guards_zero_std():
    X = _correlated(d=4)
    X[:, 2] = 7.0  # a constant feature, like a border pixel
    Xc = MeanSubtraction().fit_transform(X)
    out = Normalize().fit_transform(Xc)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, [0, 1, 3]].std(axis=0), 1.0, rtol=1e-10)
    np.testing.assert_array_equal(out[:, 2], 0.0)


def test_pca_whitening_gives_identity_covariance_on_training_rows():
    X = _correlated(n=600, d=20, dtype=np.float32)
    chain = Chain([MeanSubtraction(), PCA(k=8), Whitening()])
    W = chain.fit_transform(X)
    cov = W.T.astype(np.float64) @ W / len(W)
    np.testing.assert_allclose(cov, np.eye(8), atol=1e-3)


def test_pca_matches_recipe_covariance_eigenvectors():
    X = _correlated()
    Xc = X - X.mean(axis=0)
    U, S, _ = np.linalg.svd(Xc.T @ Xc / len(X))  # the recipe's Step 6
    pca = PCA(k=4, method="eigh").fit(X)
    np.testing.assert_allclose(pca.eigenvalues_[:4], S[:4], rtol=1e-10)
    np.testing.assert_allclose(np.abs(pca.transform(X)), np.abs(Xc @ U[:, :4]), atol=1e-8)


def test_eigh_and_svd_agree_and_auto_picks_svd_when_n_below_d():
    X = _correlated(n=30, d=50, seed=4)
    a = PCA(k=6, method="eigh").fit(X)
    b = PCA(k=6, method="svd").fit(X)
    np.testing.assert_allclose(a.eigenvalues_[:6], b.eigenvalues_[:6], rtol=1e-8)
    # signs are fixed the same way, so the projections agree exactly up to round-off
    np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-8)
    np.testing.assert_allclose(PCA(k=6).fit(X).transform(X), b.transform(X), atol=1e-8)


def test_matches_scikit_learn_whitened_pca_up_to_sign():
    decomposition = pytest.importorskip("sklearn.decomposition")
    Xtr, Xte = _correlated(seed=5), _correlated(seed=6)
    k = 5
    ref = decomposition.PCA(n_components=k, whiten=True, svd_solver="full").fit(Xtr)
    ours = Chain([PCA(k=k), Whitening(eps=0.0)]).fit(Xtr)
    # the recipe's covariance divides by N, scikit-learn's by N - 1
    n = len(Xtr)
    got = ours.transform(Xte) * np.sqrt((n - 1) / n)
    want = ref.transform(Xte)
    signs = np.sign((got * want).sum(axis=0))
    np.testing.assert_allclose(got * signs, want, atol=1e-8)


def test_variance_fraction_keeps_the_fewest_components():
    X = _correlated(d=10)
    pca = PCA(variance=0.9).fit(X)
    cum = np.cumsum(pca.explained_variance_ratio_)
    assert cum[pca.k_ - 1] >= 0.9 > cum[pca.k_ - 2]
    assert pca.transform(X).shape == (400, pca.k_)
    assert PCA(variance=1.0).fit(X).k_ == 10
    assert PCA(variance=0.5).output_shape((10,)) == (None,)


def test_pca_k_larger_than_d_or_n():
    with pytest.raises(TuidlError, match=r"pca: k=13 is larger than min\(N=400, D=12\) = 12"):
        PCA(k=13).fit(_correlated())
    with pytest.raises(TuidlError, match=r"min\(N=5, D=12\) = 5"):
        PCA(k=6).fit(_correlated(n=5))
    with pytest.raises(TuidlError, match=r"pca: k=100 is larger than the row size D=64"):
        Chain([Reshape(), PCA()]).output_shapes((8, 8))


def test_pca_needs_rows():
    with pytest.raises(TuidlError, match=r"pca: needs rows \(N, D\).*reshape"):
        PCA(k=2).fit(np.zeros((10, 4, 4)))


def test_bias_trick_appends_ones():
    X = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = BiasTrick().fit_transform(X)
    np.testing.assert_array_equal(out, [[0, 1, 2, 1], [3, 4, 5, 1]])


def test_chain_output_shapes_and_dtype():
    chain = Chain([Reshape(), MeanSubtraction(), PCA(k=10), Whitening(), BiasTrick()])
    assert chain.output_shapes((32, 32, 3)) == [
        ("reshape", (3072,)),
        ("mean_subtraction", (3072,)),
        ("pca", (10,)),
        ("whiten", (10,)),
        ("bias_trick", (11,)),
    ]
    X = np.random.default_rng(7).integers(0, 256, (40, 32, 32, 3)).astype(np.uint8)
    out = chain.fit_transform(X)
    assert out.shape == (40, 11) and out.dtype == np.float32
    out64 = Chain([Reshape("float64"), MeanSubtraction(), PCA(k=3)]).fit_transform(X)
    assert out64.dtype == np.float64


def test_whiten_must_follow_pca():
    with pytest.raises(TuidlError, match=r"whiten must come right after pca.*follows mean_sub"):
        Chain([Reshape(), MeanSubtraction(), Whitening()])
    with pytest.raises(TuidlError, match=r"follows nothing"):
        Chain([Whitening()])


def test_no_step_mutates_its_input():
    X = _correlated(dtype=np.float32)
    before = X.copy()
    chain = Chain([Reshape(), MeanSubtraction(), Normalize(), PCA(k=3), Whitening(), BiasTrick()])
    chain.fit_transform(X)
    chain.transform(X)
    cur = X
    for step in chain.steps:  # each public transform leaves its input alone
        snapshot = cur.copy()
        nxt = step.transform(cur)
        np.testing.assert_array_equal(cur, snapshot)
        cur = nxt
    np.testing.assert_array_equal(X, before)


def test_chain_results_equal_step_by_step():
    X = _correlated(dtype=np.float32)
    steps = [Reshape(), MeanSubtraction(), Normalize(), PCA(k=4), Whitening()]
    fast = Chain(steps).fit_transform(X)
    slow = X
    for s in steps:
        slow = s.transform(slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)


def test_float32_is_the_default_and_no_upcast():
    X = _correlated(dtype=np.float32)
    pca = PCA(k=3).fit(X)
    assert pca.components_.dtype == np.float32 and pca.transform(X).dtype == np.float32


@pytest.mark.cifar
def test_real_cifar_mean_image(real_cifar):
    step = MeanSubtraction().fit(real_cifar.X_train[:49000])
    first = step.mean_.reshape(-1)[:3]
    np.testing.assert_allclose(first, [130.64189796, 135.98173469, 132.47391837], atol=1e-6)


@pytest.mark.parametrize("eps", [0.0, 1e-5])
def test_whitening_refuses_more_components_than_centred_rows_span(eps):
    """N <= D: N centred rows span N - 1 dimensions, so PCA's k-th component is a null
    direction with variance ~1e-31; whitening divided by it and test rows came out ~1e15."""
    rng = np.random.default_rng(0)
    Xtr, Xte = rng.normal(size=(20, 50)), rng.normal(size=(5, 50))
    chain = Chain([MeanSubtraction(), PCA(k=20), Whitening(eps=eps)])
    with pytest.raises(
        TuidlError,
        match=r"whiten: pca keeps 20 components, but 20 training rows.*"
        r"at most 19 dimensions.*use pca k <= 19",
    ):
        chain.fit(Xtr)
    ok = Chain([MeanSubtraction(), PCA(k=19), Whitening(eps=eps)]).fit(Xtr)
    assert np.abs(ok.transform(Xte)).max() < 100


def test_whitening_refuses_rounding_noise_components_unless_eps_bounds_them():
    X = _correlated(n=300, d=8)
    X = np.hstack([X, X[:, :2] * 2.0])  # rank 8 in 10 features: 2 null directions
    with pytest.raises(
        TuidlError,
        match=r"whiten: component 9 of 10 has variance .*rounding "
        r"noise.*only 8 components.*use pca k <= 8, or whiten eps > 0",
    ):
        Chain([PCA(k=10), Whitening(eps=0.0)]).fit(X)
    with pytest.raises(TuidlError, match=r"component 1 of 3 .*eps=0"):
        Whitening(eps=0.0).fit(np.zeros((5, 3)))  # constant data: what "eps=0" meant before
    Chain([PCA(k=8), Whitening(eps=0.0)]).fit(X)  # the rows' real rank
    out = Chain([PCA(k=10), Whitening()]).fit(X).transform(X)  # eps bounds the division
    assert np.isfinite(out).all() and np.abs(out).max() < 1e3
