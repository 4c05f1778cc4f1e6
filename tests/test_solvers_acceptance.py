"""Acceptance of the solvers beyond first order, where the per-solver test files leave gaps:

- every iterative model of convq.models reaches, with each of the methods "lbfgs", "cg",
  "newton-cg" and "newton" (and LinearSVM with its default dual coordinate descent), the
  optimum of an independent reference whose own optimality is checked first, to 1e-8;
- trust-region Newton-CG follows TRON's logic step by step: an independent NumPy TRON
  written from Lin & More's rules (liblinear's tron.cpp: eta = 1e-4, 0.25, 0.75,
  sigma = 0.25, 0.5, 4) gives the same accepted and rejected steps, iterates and radii;
- Kelley's method and the proximal bundle method minimise convq's own ``Hinge`` objective
  and a ``Function`` given only a subgradient, to the optimum of a checked reference.
"""
import warnings

import numpy as np
import pytest

from convq import objectives as ob
from convq.cutting_plane import kelley, proximal_bundle
from convq.models import ConvergenceWarning, LinearRegression, LinearSVM, LogisticRegression, Ridge
from convq.optimize import minimize, svm_dual_cd
from test_optimize_cg import _checked_logistic_reference
from test_svm_dcd import _kkt

SECOND_ORDER = ("lbfgs", "cg", "newton-cg", "newton")


def _design(m=300, n=6, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) * np.geomspace(0.5, 2.0, n)
    w = rng.standard_normal(n)
    return X, X @ w + 0.3 * rng.standard_normal(m), (X @ w + rng.standard_normal(m) > 0).astype(float)


def _theta(est):
    return np.r_[np.ravel(est.intercept_)[0], np.ravel(est.coef_)]


def _checked_least_squares_reference(X, y, lam):
    """theta* of 1/(2m) ||theta_0 + X theta_r - y||^2 + lam/(2m) ||theta_r||^2 by NumPy's SVD
    least squares on [1, X; 0, sqrt(lam) I], trusted once convq's gradient vanishes there."""
    m, n = X.shape
    A = np.vstack([np.hstack([np.ones((m, 1)), X]), np.hstack([np.zeros((n, 1)), np.sqrt(lam) * np.eye(n)])])
    ref = np.linalg.lstsq(A, np.r_[y, np.zeros(n)], rcond=None)[0]
    assert np.linalg.norm(ob.LeastSquares(X, y, lam, True).grad(ref)) <= 1e-13, "the reference is not optimal"
    return ref


@pytest.mark.parametrize("method", SECOND_ORDER)
@pytest.mark.parametrize("model, lam", [(LinearRegression, 0.0), (Ridge, 3.0), (LogisticRegression, 2.0)])
def test_every_model_reaches_a_checked_optimum_with_each_newton_type_method(model, lam, method):
    X, yr, yc = _design()
    with warnings.catch_warnings():
        # the trust region of newton-cg may stop a little above tol = 1e-9, where ared and
        # pred are rounding noise (a ConvergenceWarning); the accuracy is asserted below
        warnings.simplefilter("ignore", ConvergenceWarning)
        if model is LogisticRegression:
            ref = _checked_logistic_reference(X, yc, lam)[1]
            est = LogisticRegression(lam=lam, method=method, tol=1e-9, max_iter=5000).fit(X, yc)
        else:
            ref = _checked_least_squares_reference(X, yr, lam)
            kw = {} if model is LinearRegression else dict(lam=lam)
            est = model(solver="iterative", method=method, tol=1e-9, max_iter=5000, **kw).fit(X, yr)
    assert est.result_.grad_norm <= 1e-8 and est.result_.method.startswith(method)
    assert np.linalg.norm(_theta(est) - ref) <= 1e-8 * np.linalg.norm(ref)


@pytest.mark.parametrize("method", SECOND_ORDER + ("dual-cd",))
def test_linear_svm_reaches_the_kkt_checked_hinge_optimum(method):
    """The smoothing path with each method ends in the KKT system on its active set; the
    default dual coordinate descent solves the dual directly. Both against a tightly
    solved dual whose primal-dual optimality (KKT) is checked first."""
    X, _, yc = _design(m=200, n=4, seed=6)
    C = 0.7
    ref = svm_dual_cd(X, yc, C, tol=1e-11, rng=0)
    _kkt(X, yc, C, 1.0, ref.x, ref.alpha, True, tol=1e-8)
    est = LinearSVM(C=C, method=None if method == "dual-cd" else method, tol=1e-10).fit(X, yc)
    assert est.result_.success, est.result_.message
    if method == "dual-cd":
        assert est.result_.method == "svm/dual-cd"
    else:
        assert est.result_.method.startswith(method) and "exact minimiser" in est.result_.message
    assert abs(est.result_.fun - ref.fun) <= 1e-8 * ref.fun
    # the weights are unique (the cost is 1-strongly convex in them): ||w - w*||^2 / 2 <= J - J*
    assert np.linalg.norm(_theta(est)[1:] - ref.x[1:]) <= np.sqrt(2 * 1e-8 * ref.fun)


def test_second_order_methods_refuse_a_quantizer():
    from convq.quantize import SimQ
    X, _, yc = _design(m=40, n=3)
    for method in ("newton", "newton-cg"):
        with pytest.raises(ValueError, match="quantizer"):
            LogisticRegression(method=method, quantizer=SimQ(1.0)).fit(X, yc)
    with pytest.raises(ValueError, match="quantizer"):
        LinearSVM(method="dual-cd", quantizer=SimQ(1.0)).fit(X, yc)
    with pytest.raises(ValueError, match="method"):
        Ridge(solver="iterative", method="dual-cd").fit(X, yc)   # dual-cd is LinearSVM's


# ---- TRON's trust-region logic, step by step ---------------------------------------------------

def _tron(f, grad, hess, x, tol, max_iter):
    """TRON written from Lin & More's rules (liblinear's tron.cpp), with convq's trust region
    in the norm ||s||_M, M = diag H(x): Steihaug's CG runs unpreconditioned in u = M^{1/2} s,
    stopping at ||u|| = Delta, on negative curvature, or when ||g + H s|| <= 0.1 ||g||.
    Returns one record per iteration: the point after it, the radius used, the step's
    M-norm, whether the step reached the boundary and was accepted, and ared / pred."""
    eta0, eta1, eta2, sigma1, sigma2, sigma3 = 1e-4, 0.25, 0.75, 0.25, 0.5, 4.0

    def scaling(x):
        d = np.diag(hess(x))
        return 1.0 / np.sqrt(np.maximum(d, 1e-10 * d.max()))

    fx, g, D = f(x), grad(x), scaling(x)
    delta = np.linalg.norm(D * g)
    out = []
    for k in range(1, max_iter + 1):
        if np.linalg.norm(g) <= tol:
            break
        H = hess(x)
        Hu, gu = D[:, None] * H * D[None, :], D * g
        u, r = np.zeros_like(g), -gu
        p, boundary = r.copy(), False
        for _ in range(2 * g.size + 10):
            if np.linalg.norm(r / D) <= 0.1 * np.linalg.norm(g):
                break
            Hp = Hu @ p
            curv = p @ Hp
            a = (r @ r) / curv if curv > 0 else np.inf
            if curv <= 0 or np.linalg.norm(u + a * p) >= delta:
                up, pp = u @ p, p @ p
                u = u + (-up + np.sqrt(max(up * up + pp * (delta * delta - u @ u), 0.0))) / pp * p
                boundary = True
                break
            u, r_new = u + a * p, r - a * Hp
            p, r = r_new + (r_new @ r_new) / (r @ r) * p, r_new
        s, snorm = D * u, np.linalg.norm(u)
        gs = g @ s
        pred, fn = -(gs + 0.5 * s @ H @ s), f(x + s)
        ared = fx - fn
        used = delta
        if k == 1:
            delta = min(delta, snorm)
        alpha = sigma3 if fn - fx - gs <= 0 else max(sigma1, -0.5 * gs / (fn - fx - gs))
        if ared < eta0 * pred:
            delta = min(max(alpha, sigma1) * snorm, sigma2 * delta)
        elif ared < eta1 * pred:
            delta = max(sigma1 * delta, min(alpha * snorm, sigma2 * delta))
        elif ared < eta2 * pred:
            delta = max(sigma1 * delta, min(alpha * snorm, sigma3 * delta))
        else:
            delta = max(delta, min(alpha * snorm, sigma3 * delta))
        accepted = ared > eta0 * pred
        if accepted:
            x, fx = x + s, fn
            g, D = grad(x), scaling(x)
        out.append(dict(x=x, radius=used, snorm=snorm, boundary=boundary, accepted=accepted, ratio=ared / pred))
    return out


def test_newton_cg_follows_trons_radius_updates_step_by_step():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((400, 5)) * np.geomspace(0.3, 3.0, 5)
    y = (X @ rng.standard_normal(5) + rng.standard_normal(400) > 0).astype(float)
    lam, m = 0.5, X.shape[0]
    Xt = np.hstack([np.ones((m, 1)), X])
    P = np.diag(np.r_[0.0, np.ones(5)])

    def f(t):
        z = Xt @ t
        return np.sum(np.logaddexp(0.0, z) - y * z) / m + lam / (2 * m) * t @ P @ t

    def grad(t):
        return Xt.T @ (0.5 * (1 + np.tanh(0.5 * (Xt @ t))) - y) / m + lam / m * (P @ t)

    def hess(t):
        h = 0.5 * (1 + np.tanh(0.5 * (Xt @ t)))
        return (Xt.T * (h * (1 - h))) @ Xt / m + lam / m * P

    o = ob.Logistic(X, y, lam=lam, intercept=True)
    branches = set()
    for start in (10.0, -5.0):   # far from the optimum: the trust region rejects and shrinks
        x0 = np.full(6, start)
        ref = _tron(f, grad, hess, x0, 1e-8, 60)
        xs = []
        r = minimize(o, x0, method="newton-cg", tol=1e-8, max_iter=60,
                     callback=lambda xk, state: xs.append(xk) or False)
        assert r.success and r.nit == len(ref) == len(xs)
        step = r.trace["step"][1:]                   # ||s||_M of an accepted step, 0 if rejected
        np.testing.assert_array_equal(step > 0, [h["accepted"] for h in ref])
        for k, (h, xk) in enumerate(zip(ref, xs)):
            np.testing.assert_allclose(xk, h["x"], rtol=1e-10, atol=1e-12, err_msg=f"iterate {k + 1}")
            if h["accepted"]:
                assert step[k] == pytest.approx(h["snorm"], rel=1e-10)
                if h["boundary"]:                    # the step is as long as the radius allows
                    assert step[k] == pytest.approx(h["radius"], rel=1e-10)
        # the reference itself: radius shrinks after a rejection, never below sigma1 times the
        # old one after an accepted step
        for a, b in zip(ref, ref[1:]):
            if not a["accepted"]:
                assert b["radius"] <= 0.5 * a["radius"] * (1 + 1e-12)
        assert sum(h["boundary"] for h in ref) >= 3 and not all(h["accepted"] for h in ref)
        branches |= {int(np.searchsorted([1e-4, 0.25, 0.75], h["ratio"], side="right")) for h in ref}
    assert branches == {0, 1, 2, 3}   # every rule of the radius update was exercised


# ---- cutting planes on convq's Hinge and on a Function with a subgradient ----------------------

def test_cutting_plane_methods_minimise_convq_objectives_given_only_subgradients():
    X, _, yc = _design(m=60, n=2, seed=8)
    C = 0.5
    ref = svm_dual_cd(X, yc, C, tol=1e-12, rng=0)
    _kkt(X, yc, C, 1.0, ref.x, ref.alpha, True, tol=1e-8)
    hinge = ob.Hinge(X, yc, C, 1.0, True)
    box = (-(np.abs(ref.x).max() + 1.0), np.abs(ref.x).max() + 1.0)
    for res in (kelley(hinge, np.zeros(3), box, tol=1e-8, max_iter=500),
                proximal_bundle(hinge, np.zeros(3), tau=1.0, tol=1e-10, max_iter=500)):
        assert res.success, res.message
        assert abs(res.fun - ref.fun) <= 1e-8 * ref.fun
    # a Function given a subgradient: least absolute deviations ||Ax - b||_1, whose minimum
    # is the linear program min 1't s.t. -t <= Ax - b <= t (HiGHS; its answer checked)
    sp = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(9)
    A, b = rng.standard_normal((30, 3)), rng.standard_normal(30)
    lp = sp.linprog(np.r_[np.zeros(3), np.ones(30)], A_ub=np.block([[A, -np.eye(30)], [-A, -np.eye(30)]]),
                    b_ub=np.r_[b, -b], bounds=[(None, None)] * 3 + [(0, None)] * 30, method="highs")
    assert lp.status == 0 and abs(np.abs(A @ lp.x[:3] - b).sum() - lp.fun) <= 1e-12 * lp.fun
    lad = ob.Function(lambda x: float(np.abs(A @ x - b).sum()), lambda x: A.T @ np.sign(A @ x - b), dim=3)
    for res in (kelley(lad, np.zeros(3), (-3.0, 3.0), tol=1e-10, max_iter=500),
                proximal_bundle(lad, np.zeros(3), tau=1.0, tol=1e-12, max_iter=500)):
        assert res.success, res.message
        assert abs(res.fun - lp.fun) <= 1e-8 * lp.fun
    # and a curved one for the bundle: ||x||_1 + ||x - c||^2 / 2, minimised by soft
    # thresholding x* = sign(c) max(|c| - 1, 0)
    c = np.array([2.5, -0.4, 0.0, -3.0])
    fn = ob.Function(lambda x: float(np.abs(x).sum() + 0.5 * (x - c) @ (x - c)), lambda x: np.sign(x) + (x - c),
                     dim=4)
    xstar = np.sign(c) * np.maximum(np.abs(c) - 1.0, 0.0)
    res = proximal_bundle(fn, np.ones(4), tau=1.0, tol=1e-12, max_iter=500)
    assert res.success, res.message
    assert res.fun - fn.value(xstar) <= 1e-8 * fn.value(xstar)
    assert np.linalg.norm(res.x - xstar) <= np.sqrt(2 * 1e-8 * fn.value(xstar))  # 1-strongly convex
