"""MinibatchOracle / NoisyOracle: unbiasedness against the full gradient (5-sigma,
n = 40000 draws: a bias of 0.03 standard deviations per coordinate is detected with power
> 0.99), the computed almost-sure bound, and the loop running on them."""
import math

import numpy as np
import pytest

from convq.objectives import Hinge, Lasso, LeastSquares, Logistic
from convq.stochastic import Box, LpBall, MinibatchOracle, NoisyOracle, sgd

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
