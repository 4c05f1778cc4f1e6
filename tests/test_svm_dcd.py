"""The linear SVM of the ML-algebra notes (cost (16) with slope k and an unpenalised
intercept) by dual coordinate descent: the answer is checked against the primal KKT
conditions directly, against convq's exact active-set solver, and against liblinear
(LinearSVC) only where both solve the same problem (no intercept) and after checking it."""
import warnings

import numpy as np
import pytest

from convq import objectives as ob
from convq.optimize import svm_dual_cd


def _data(m=300, n=8, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    y = (X @ rng.standard_normal(n) + 0.7 + noise * rng.standard_normal(m) > 0).astype(float)
    return X, y


def _kkt(X, y, C, k, theta, alpha, intercept, tol):
    """Primal-dual optimality of (w, t, alpha): w = sum a_i s_i x_i, sum a_i s_i = 0, and
    a_i = 0 => s_i z_i >= 1, a_i = U => s_i z_i <= 1, 0 < a_i < U => s_i z_i = 1."""
    s = 2 * y - 1
    U = C * k
    t, w = (theta[0], theta[1:]) if intercept else (0.0, theta)
    np.testing.assert_allclose(w, X.T @ (alpha * s), rtol=1e-10, atol=1e-10)
    assert np.all((alpha >= 0) & (alpha <= U))
    margin = s * (t + X @ w)
    assert np.all(margin[alpha == 0] >= 1 - tol)
    assert np.all(margin[alpha == U] <= 1 + tol)
    free = (alpha > 0) & (alpha < U)
    assert np.all(np.abs(margin[free] - 1) <= tol)
    if intercept:
        assert abs(alpha @ s) <= tol * max(1.0, U)


@pytest.mark.parametrize("C, k", [(0.05, 1.0), (1.0, 1.0), (1.0, 2.5), (20.0, 1.0)])
@pytest.mark.parametrize("intercept", [True, False])
def test_kkt_conditions_hold(C, k, intercept):
    X, y = _data()
    r = svm_dual_cd(X, y, C, k, intercept, tol=1e-8, rng=0)
    assert r.success
    _kkt(X, y, C, k, r.x, r.alpha, intercept, tol=1e-6)
    assert r.fun == pytest.approx(ob.Hinge(X, y, C, k, intercept).value(r.x), rel=1e-14)


def test_agrees_with_the_exact_active_set_solver():
    from convq.models import LinearSVM
    X, y = _data(m=200, n=5, seed=3)
    for C in (0.1, 1.0, 10.0):
        exact = LinearSVM(C=C, method="bb").fit(X, y).result_   # smoothing + the KKT system
        r = svm_dual_cd(X, y, C, tol=1e-9, rng=1)
        assert r.fun <= exact.fun * (1 + 1e-7)
        assert exact.fun <= r.fun * (1 + 1e-7)


def test_same_problem_as_liblinear_without_intercept():
    sk = pytest.importorskip("sklearn.svm")
    X, y = _data(m=400, n=6, seed=4)
    C = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lin = sk.LinearSVC(C=C, loss="hinge", fit_intercept=False, tol=1e-10, max_iter=1000000).fit(X, y)
    f = ob.Hinge(X, y, C, 1.0, False)
    r = svm_dual_cd(X, y, C, intercept=False, tol=1e-9, rng=0)
    # liblinear checked before it is trusted: its point must be (nearly) as good as a
    # certified one, and convq's certified point no worse than liblinear's
    assert f.value(lin.coef_[0]) <= r.fun * (1 + 1e-6)
    assert r.fun <= f.value(lin.coef_[0]) * (1 + 1e-9)


def test_slope_is_a_rescaled_C_and_results_are_reproducible():
    X, y = _data(m=150, n=4, seed=5)
    a = svm_dual_cd(X, y, C=0.4, slope=2.5, tol=1e-9, rng=7)
    b = svm_dual_cd(X, y, C=1.0, slope=1.0, tol=1e-9, rng=8)
    assert a.fun == pytest.approx(b.fun, rel=1e-8)
    c = svm_dual_cd(X, y, C=0.4, slope=2.5, tol=1e-9, rng=7)
    np.testing.assert_array_equal(a.x, c.x)  # same seed, same bits


def test_limits_and_bad_input():
    X, y = _data(m=100, n=3, seed=6)
    r = svm_dual_cd(X, y, C=100.0, tol=1e-12, max_iter=2, rng=0)
    assert not r.success and "passes" in r.message and r.nit <= 2
    for kw, name in ((dict(C=0.0), "C"), (dict(slope=-1.0), "slope"), (dict(tol=0.0), "tol"),
                     (dict(max_iter=0), "max_iter"), (dict(rho=-1.0), "rho"), (dict(max_iter=2**63), "max_iter")):
        with pytest.raises(ValueError, match=name):
            svm_dual_cd(X, y, **kw)
    with pytest.raises(ValueError, match="y"):
        svm_dual_cd(X, y * 2)
    with pytest.raises(TypeError, match="intercept"):
        svm_dual_cd(X, y, intercept=1)
    with pytest.raises(ValueError, match="y"):
        svm_dual_cd(X, np.r_[y[:-1], np.inf])


@pytest.mark.parametrize("rho", [None, 10.0])
def test_intercept_on_badly_scaled_columns_converges(rho):
    # columns from 0.1 to 10: with the inner problems solved to the final tolerance at once, the
    # multiplier method spent every pass on its first subproblem (the rank-one rho s s' term
    # slows coordinate descent); the inexact schedule of cq_svm_dcd.h reaches tol 1e-8
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 20)) * np.logspace(-1, 1, 20)
    y = (X @ rng.standard_normal(20) + 0.5 + 0.5 * rng.standard_normal(600) > 0).astype(float)
    r = svm_dual_cd(X, y, 1.0, intercept=True, tol=1e-8, rng=0, rho=rho)
    assert r.success and r.nit < 100000 and r.n_outer > 1
    _kkt(X, y, 1.0, 1.0, r.x, r.alpha, True, tol=1e-6)
