"""The squared-hinge (L2-loss) linear SVM of ``svm_dual_cd(loss="squared_hinge")``:

    J(w, t) = 1/2 ||w||^2 + C sum_i (k max(0, 1 - s_i (t + w'x_i)))^2,

a smooth primal. Its answer is checked against the primal's own optimality condition
(gradient = 0) and the dual-primal link a_i = 2 C k^2 max(0, 1 - s_i z_i), against SciPy's
L-BFGS-B on the same smooth primal (its gradient checked first), and against liblinear
(LinearSVC) where both solve the same problem (no intercept, k = 1; its answer checked first)."""
import warnings

import numpy as np
import pytest

from convq.optimize import svm_dual_cd


def _data(m=300, n=8, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    y = (X @ rng.standard_normal(n) + 0.7 + noise * rng.standard_normal(m) > 0).astype(float)
    return X, y


def _primal(X, y, C, k, theta, intercept):
    """(J, grad J, scale): the smooth primal, its gradient in theta = [t, w] (or w), and the
    size of the two terms that cancel at the optimum, ||w|| + ||sum_i c_i s_i [1, x_i]||."""
    s = 2 * y - 1
    t, w = (theta[0], theta[1:]) if intercept else (0.0, theta)
    xi = np.maximum(0.0, 1.0 - s * (X @ w + t))
    J = 0.5 * w @ w + C * k * k * xi @ xi
    c = 2 * C * k * k * xi * s  # = a_i s_i at the optimum
    gw = w - X.T @ c
    g = np.r_[-c.sum(), gw] if intercept else gw
    scale = np.linalg.norm(w) + np.linalg.norm(X.T @ c) + abs(c.sum())
    return J, g, scale


@pytest.mark.parametrize("C, k", [(0.05, 1.0), (1.0, 1.0), (0.3, 2.5), (10.0, 1.0)])
@pytest.mark.parametrize("intercept", [True, False])
def test_primal_gradient_vanishes(C, k, intercept):
    X, y = _data()
    r = svm_dual_cd(X, y, C, k, intercept, loss="squared_hinge", tol=1e-10, rng=0)
    assert r.success, r.message
    J, g, scale = _primal(X, y, C, k, r.x, intercept)
    assert np.linalg.norm(g) <= 1e-6 * scale
    assert r.fun == pytest.approx(J, rel=1e-14)
    # the dual solution is the primal's scaled slack, and w its image
    s = 2 * y - 1
    t, w = (r.x[0], r.x[1:]) if intercept else (0.0, r.x)
    a_star = 2 * C * k * k * np.maximum(0.0, 1.0 - s * (X @ w + t))
    assert np.all(r.alpha >= 0)
    np.testing.assert_allclose(r.alpha, a_star, rtol=0, atol=1e-6 * max(1.0, a_star.max()))
    np.testing.assert_allclose(w, X.T @ (r.alpha * s), rtol=1e-10, atol=1e-10)
    if intercept:
        assert abs(r.alpha @ s) <= 1e-10 * max(1.0, 2 * C * k * k)


def test_agrees_with_lbfgs_on_the_smooth_primal():
    opt = pytest.importorskip("scipy.optimize")
    X, y = _data(m=250, n=6, seed=2)
    for C, k, intercept in ((0.5, 1.0, True), (2.0, 1.5, True), (1.0, 1.0, False)):
        d = X.shape[1] + intercept

        def fg(theta):
            J, g, _ = _primal(X, y, C, k, theta, intercept)
            return J, g

        # the reference's gradient checked before it is trusted: central differences at a
        # point with slacks on both sides of the kink (the primal is C^1, piecewise C^2)
        theta0 = np.random.default_rng(9).standard_normal(d) * 0.3
        for j in range(d):
            e = np.zeros(d)
            e[j] = 1e-6
            fd = (fg(theta0 + e)[0] - fg(theta0 - e)[0]) / 2e-6
            assert fd == pytest.approx(fg(theta0)[1][j], rel=1e-6, abs=1e-6)
        ref = opt.minimize(fg, np.zeros(d), jac=True, method="L-BFGS-B",
                           options=dict(maxiter=10000, gtol=1e-12, ftol=1e-15))
        J_ref, g_ref, scale = _primal(X, y, C, k, ref.x, intercept)
        assert np.linalg.norm(g_ref) <= 1e-5 * scale  # L-BFGS-B's point is near-stationary
        r = svm_dual_cd(X, y, C, k, intercept, loss="squared_hinge", tol=1e-10, rng=3)
        assert r.success
        # convq's point is no worse than the reference, and the two values agree
        assert r.fun <= J_ref * (1 + 1e-12)
        assert J_ref <= r.fun * (1 + 1e-9)
        np.testing.assert_allclose(r.x, ref.x, rtol=0, atol=1e-4 * (1 + np.abs(ref.x).max()))


def test_same_problem_as_liblinear_without_intercept():
    sk = pytest.importorskip("sklearn.svm")
    X, y = _data(m=400, n=6, seed=4)
    for C in (0.05, 0.5, 5.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lin = sk.LinearSVC(C=C, loss="squared_hinge", dual=True, fit_intercept=False, tol=1e-10,
                               max_iter=1000000).fit(X, y)
        w_lin = lin.coef_[0]
        J_lin, g_lin, scale = _primal(X, y, C, 1.0, w_lin, False)
        # liblinear checked before it is trusted: its point is near-stationary for this primal
        assert np.linalg.norm(g_lin) <= 1e-4 * scale
        r = svm_dual_cd(X, y, C, intercept=False, loss="squared_hinge", tol=1e-10, rng=0)
        assert r.success
        assert r.fun <= J_lin * (1 + 1e-12)
        assert J_lin <= r.fun * (1 + 1e-7)


def test_only_C_k_squared_matters_and_results_are_reproducible():
    X, y = _data(m=150, n=4, seed=5)
    a = svm_dual_cd(X, y, C=0.4, slope=2.5, loss="squared_hinge", tol=1e-10, rng=7)  # C k^2 = 2.5
    b = svm_dual_cd(X, y, C=2.5, slope=1.0, loss="squared_hinge", tol=1e-10, rng=8)
    assert a.fun == pytest.approx(b.fun, rel=1e-9)
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-6)
    c = svm_dual_cd(X, y, C=0.4, slope=2.5, loss="squared_hinge", tol=1e-10, rng=7)
    np.testing.assert_array_equal(a.x, c.x)  # same seed, same bits


def test_differs_from_the_hinge_and_defaults_to_it():
    X, y = _data(m=120, n=3, seed=6)
    h = svm_dual_cd(X, y, C=1.0, tol=1e-9, rng=0)
    h2 = svm_dual_cd(X, y, C=1.0, loss="hinge", tol=1e-9, rng=0)
    np.testing.assert_array_equal(h.x, h2.x)
    q = svm_dual_cd(X, y, C=1.0, loss="squared_hinge", tol=1e-9, rng=0)
    # the squared hinge's dual has no upper bound: some a_i exceed the hinge's box C k = 1
    assert q.alpha.max() > 1.0 and h.alpha.max() <= 1.0
    assert not np.allclose(h.x, q.x, atol=1e-3)


def test_limits_and_bad_input():
    X, y = _data(m=100, n=3, seed=6)
    r = svm_dual_cd(X, y, C=100.0, loss="squared_hinge", tol=1e-12, max_iter=2, rng=0)
    assert not r.success and "passes" in r.message and r.nit <= 2
    with pytest.raises(ValueError, match="loss"):
        svm_dual_cd(X, y, loss="squared")
    with pytest.raises(TypeError, match="loss"):
        svm_dual_cd(X, y, loss=2)
    with pytest.raises(ValueError, match="C"):
        svm_dual_cd(X, y, C=0.0, loss="squared_hinge")
    with pytest.raises(ValueError, match="C k"):  # C k^2 overflows
        svm_dual_cd(X, y, C=1e300, slope=1e10, loss="squared_hinge")


def test_linear_svm_estimator_takes_the_squared_hinge():
    from convq.models import LinearSVM
    X, y = _data(m=200, n=5, seed=5)
    C, k = 0.4, 1.5
    est = LinearSVM(C=C, slope=k, loss="squared_hinge", tol=1e-10).fit(X, y)
    theta = np.r_[est.intercept_, est.coef_[0]]
    J, g, scale = _primal(X, y, C, k, theta, True)
    assert est.result_.success and est.result_.method == "svm/dual-cd"
    assert np.linalg.norm(g) <= 1e-7 * scale
    assert est.cost(X, y) == pytest.approx(J, rel=1e-12) == pytest.approx(est.result_.fun, rel=1e-12)
    assert not np.allclose(LinearSVM(C=C, slope=k).fit(X, y).coef_, est.coef_, rtol=1e-3)  # the hinge's differ
    with pytest.raises(ValueError, match="dual-cd"):
        LinearSVM(loss="squared_hinge", method="bb").fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        LinearSVM(loss="log").fit(X, y)
