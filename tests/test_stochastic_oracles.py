"""MinibatchOracle / NoisyOracle: unbiasedness against the full gradient (5-sigma,
n = 40000 draws: a bias of 0.03 standard deviations per coordinate is detected with power
> 0.99), the computed almost-sure bound, and the loop running on them."""
import math

import numpy as np
import pytest

from convq.objectives import Hinge, Lasso, LeastSquares, Logistic
from convq.stochastic import Box, LpBall, MeanSquareOracle, MinibatchOracle, NoisyOracle, sgd

pytestmark = pytest.mark.c_heavy


def _data(seed=0, m=150, n=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    return X, (X[:, 0] + 0.3 * rng.normal(size=m) > 0).astype(float)


def _objectives():
    X, y = _data()
    return [Logistic(X, y, lam=2.0, intercept=True), LeastSquares(X, X @ np.arange(5.0), lam=1.0, intercept=True),
            Hinge(X, y, C=0.05, slope=2.0, intercept=True), Lasso(X, X @ np.arange(5.0), mu=0.3)]


@pytest.mark.parametrize("obj", _objectives(), ids=lambda o: type(o).__name__)
def test_minibatch_oracle_unbiased_and_bounded(obj):
    dom = LpBall(2, 2.0)
    orc = MinibatchOracle(obj, batch=7, domain=dom)
    rng = np.random.default_rng(1)
    for _ in range(2):
        x = dom.project(rng.normal(size=obj.dim))
        G = orc.sample(x, rng=2, n=40000)
        se = G.std(axis=0, ddof=1) / math.sqrt(G.shape[0])
        assert np.all(np.abs(G.mean(axis=0) - obj.grad(x)) <= 5 * se + 1e-12)
        assert np.linalg.norm(G, ord=orc.q, axis=1).max() <= orc.q_bound * (1 + 1e-12)


def test_minibatch_bound_is_attained_closely_for_logistic():
    """The computed bound is not vacuous: for logistic with lam = 0 it is max_i ||(1, x_i)||_2,
    which single-row batches at a point with |h - y| -> 1 approach."""
    X, y = _data()
    obj = Logistic(X, y, intercept=True)
    orc = MinibatchOracle(obj, batch=1)
    assert orc.q_bound == pytest.approx(np.linalg.norm(np.hstack([np.ones((150, 1)), X]), axis=1).max())


def test_bounds_need_a_domain_where_gradients_grow():
    X, y = _data()
    with pytest.raises(ValueError, match="bounded domain"):
        MinibatchOracle(LeastSquares(X, y), batch=4)
    with pytest.raises(TypeError, match="LeastSquares, Logistic"):
        MinibatchOracle(object(), batch=4)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        MinibatchOracle(Logistic(X, y), batch=0)
    box = Box(-1, 1, d=5)
    assert MinibatchOracle(LeastSquares(X, y), batch=4, domain=box).q_bound > 0


def test_noisy_oracle_unbiased_and_enforces_bound():
    X, y = _data()
    obj = Logistic(X, y, lam=0.5)
    orc = NoisyOracle(obj, noise=0.2, B=10.0)
    x = np.full(5, 0.1)
    G = orc.sample(x, rng=3, n=40000)
    se = G.std(axis=0, ddof=1) / math.sqrt(G.shape[0])
    assert np.all(np.abs(G.mean(axis=0) - obj.grad(x)) <= 5 * se)
    assert np.all(np.abs(G - obj.grad(x)) <= 0.2)
    tight = NoisyOracle(obj, noise=0.2, B=0.01)
    with pytest.raises(ValueError, match=r"violates the almost-sure bound \(2\)"):
        tight.sample(x, rng=0)
    with pytest.raises(ValueError, match="violates"):
        sgd(tight, np.zeros(5), 10, 0.1, domain=LpBall(2, 1.0))


def test_sgd_on_minibatch_logistic_approaches_the_optimum():
    from convq.optimize import minimize
    X, y = _data(2, m=300)
    obj = Logistic(X, y, lam=1.0, intercept=True)
    star = minimize(obj, np.zeros(6), method="bb", tol=1e-10)
    orc = MinibatchOracle(obj, batch=16, domain=LpBall(2, 10.0), f_star=star.fun)
    c = sgd(orc, np.zeros(6), 4000, 0.5, rng=0)
    py = sgd(orc, np.zeros(6), 300, 0.5, rng=0, engine="python", record_every=50)
    cc = sgd(orc, np.zeros(6), 300, 0.5, rng=0, record_every=50)
    np.testing.assert_array_equal(py.x, cc.x)                # the loops agree exactly
    assert c.trace["suboptimality"][-1] < 5e-3
    assert c.trace["suboptimality"][-1] < c.trace["suboptimality"][0]


def _sparse_data(seed=4, m=160, n=5):
    """A dense X with 60 % zeros and two empty rows, and its CSR copy."""
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n))
    X[rng.random(X.shape) < 0.6] = 0.0
    X[[3, 77]] = 0.0
    y = (X[:, 0] + 0.3 * rng.normal(size=m) > 0).astype(float)
    return X, sp.csr_matrix(X), y


def _pairs():
    X, Xs, y = _sparse_data()
    makers = [lambda A: Logistic(A, y, lam=2.0, intercept=True),
              lambda A: LeastSquares(A, X @ np.arange(5.0), lam=1.0, intercept=True),
              lambda A: Hinge(A, y, C=0.05, slope=2.0, intercept=True),
              lambda A: Lasso(A, X @ np.arange(5.0), mu=0.3)]
    return [(mk(X), mk(Xs)) for mk in makers]


@pytest.mark.parametrize("pair", _pairs(), ids=lambda p: type(p[0]).__name__)
def test_a_sparse_objective_gives_the_dense_objectives_oracle(pair):
    """Regression: the oracles refused a scipy.sparse X. Built on the CSR copy of X, each oracle
    has the dense one's computed bound (every geometry p and domain: the row norms and the
    domain maxima taken over the stored entries) and, from the same generator, the same rows
    and so the same draws up to the rounding of the sparse kernels' sums."""
    dense, sparse = pair
    assert sparse.sparse and not dense.sparse
    for dom in (LpBall(2, 2.0), LpBall(1.5, 1.0), Box(-1.0, 2.0, d=dense.dim)):
        for p in (2.0, 1.0, math.inf, 3.0):
            a, b = (MinibatchOracle(o, batch=7, p=p, domain=dom) for o in (dense, sparse))
            assert b.q_bound == pytest.approx(a.q_bound, rel=1e-12)
    x = np.linspace(-0.3, 0.4, dense.dim)
    ga, gb = (MinibatchOracle(o, batch=7, domain=LpBall(2, 2.0)).sample(x, rng=3, n=200) for o in (dense, sparse))
    np.testing.assert_allclose(gb, ga, rtol=0, atol=1e-13 * np.abs(ga).max())
    na, nb = (NoisyOracle(o, noise=0.1, B=1e6).sample(x, rng=4, n=50) for o in (dense, sparse))
    np.testing.assert_allclose(nb, na, rtol=0, atol=1e-13 * np.abs(na).max())
    ma, mb = (MeanSquareOracle(o, noise=0.1, domain=LpBall(2, 2.0)) for o in (dense, sparse))
    assert mb.B == pytest.approx(ma.B, rel=1e-12)
    np.testing.assert_allclose(mb.sample(x, rng=5, n=20), ma.sample(x, rng=5, n=20), rtol=0,
                               atol=1e-13 * (1 + np.abs(ma.sample(x, rng=5, n=20)).max()))


def test_sgd_on_a_sparse_minibatch_oracle_follows_the_dense_run():
    """The whole SGD loop on the CSR objective's oracle follows the dense run (same rows drawn,
    the same projected steps) to within the rounding of the sums."""
    (dense, sparse), = [p for p in _pairs() if isinstance(p[0], Logistic)]
    dom = LpBall(2, 3.0)
    runs = [sgd(MinibatchOracle(o, batch=5, domain=dom), np.zeros(dense.dim), 300, 0.2, domain=dom, rng=9)
            for o in (dense, sparse)]
    np.testing.assert_allclose(runs[1].x, runs[0].x, rtol=0, atol=1e-12)
    assert dense.value(runs[1].x) < dense.value(np.zeros(dense.dim))
