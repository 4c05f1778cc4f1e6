"""Conjugate gradients (minimize(method="cg")) and Nesterov's worst-case quadratic.

References: linear CG terminates in at most n steps on an n-dimensional SPD quadratic in
exact arithmetic (Nocedal & Wright, Theorem 5.1); the nonlinear variants must reach the
optimum of an independent solver whose own optimality is checked first; on Nesterov's
function every first-order method obeys f(x_k) - f* >= 3 L ||x0 - x*||^2 / (32 (k+1)^2)
(Introductory Lectures on Convex Optimization, Theorem 2.1.7).
"""
import warnings

import numpy as np
import pytest
import scipy.optimize

import convq.objectives as ob
from convq.bounds import nesterov_lower_bound
from convq.objectives import NesterovHard, nesterov_hard
from convq.optimize import minimize

RULES = ("pr+", "fr", "hz")


def _spd(n, cond, seed):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.geomspace(1.0, cond, n)) @ Q.T, rng.standard_normal(n)


@pytest.mark.parametrize("n", [2, 5, 8, 12])
def test_linear_cg_terminates_in_at_most_n_steps(n):
    A, b = _spd(n, 10.0, n)
    q = ob.Quadratic(A, b)
    g0 = np.linalg.norm(b)
    for rule in RULES:  # all three coincide with linear CG under exact steps on a quadratic
        r = minimize(q, np.zeros(n), method="cg", step="exact", variant=rule, tol=1e-10 * g0, max_iter=n + 1)
        assert r.success and r.nit <= n, (rule, r.nit, r.grad_norm)
        np.testing.assert_allclose(r.x, np.linalg.solve(A, b), rtol=0, atol=1e-9)
        assert r.method == f"cg/{rule}/exact"


def test_linear_cg_on_least_squares_matches_lstsq():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 15))
    y = X @ rng.standard_normal(15) + 0.1 * rng.standard_normal(300)
    r = minimize(ob.LeastSquares(X, y), np.zeros(15), method="cg", step="exact", tol=1e-12, max_iter=16)
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    assert r.success and r.nit <= 15
    np.testing.assert_allclose(r.x, ref, rtol=0, atol=1e-9)


def _checked_logistic_reference(X, y, lam):
    """SciPy's trust-region Newton (trust-exact) on the cost written out in NumPy (an
    intercept, lam/(2m) on the weights), trusted only after its gradient is checked with
    convq's own objective (first-order optimality to 1e-12)."""
    m = X.shape[0]
    Xt = np.hstack([np.ones((m, 1)), X])
    P = np.eye(Xt.shape[1])
    P[0, 0] = 0.0

    def fun(t):
        z = Xt @ t
        return np.mean(np.logaddexp(0.0, z) - y * z) + lam / (2 * m) * t[1:] @ t[1:]

    def jac(t):
        return Xt.T @ (1 / (1 + np.exp(-(Xt @ t))) - y) / m + lam / m * (P @ t)

    def hess(t):
        h = 1 / (1 + np.exp(-(Xt @ t)))
        return (Xt.T * (h * (1 - h))) @ Xt / m + lam / m * P

    ref = scipy.optimize.minimize(fun, np.zeros(Xt.shape[1]), jac=jac, hess=hess, method="trust-exact",
                                  options=dict(gtol=1e-10, maxiter=1000))
    x = ref.x
    for _ in range(3):  # pure Newton steps polish it to the rounding floor
        x = x - np.linalg.solve(hess(x), jac(x))
    o = ob.Logistic(X, y, lam=lam, intercept=True)
    assert np.linalg.norm(o.grad(x)) <= 1e-12, "the reference is not optimal"
    return o, x


@pytest.mark.parametrize("rule", RULES)
def test_nonlinear_cg_reaches_a_checked_logistic_optimum(rule):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 20)) * np.geomspace(0.3, 3.0, 20)
    y = (X @ rng.standard_normal(20) + rng.standard_normal(400) > 0).astype(float)
    lam, m = 5.0, X.shape[0]
    o, xref = _checked_logistic_reference(X, y, lam)
    r = minimize(o, np.zeros(o.dim), method="cg", variant=rule, tol=1e-8, max_iter=5000)
    assert r.success, r.message
    # the weights' part is lam/m-strongly convex: ||x - x*|| <= ||grad f(x)|| / mu with mu the
    # smallest Hessian eigenvalue at the optimum (computed, the intercept included)
    H = scipy.optimize.approx_fprime(xref, o.grad, 1e-7)
    mu = np.linalg.eigvalsh(0.5 * (H + H.T)).min()
    assert mu > 0
    assert np.linalg.norm(r.x - xref) <= 1.5 * r.grad_norm / mu
    assert abs(r.fun - o.value(xref)) <= 1e-8 * abs(r.fun)
    assert r.fun - o.value(xref) <= r.grad_norm ** 2 / (2 * mu) * 1.5 + 1e-15
    # strong Wolfe steps decrease f at every iteration
    assert np.all(np.diff(r.trace["fun"]) <= 1e-15 * abs(r.trace["fun"][0]))


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("step", ["wolfe", "exact"])
def test_c_loop_equals_its_numpy_twin(rule, step):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((150, 12))
    objs = [ob.LeastSquares(X, X @ rng.standard_normal(12), lam=0.3, intercept=True),
            ob.Logistic(X, (rng.random(150) < 0.4).astype(float), lam=1.0)]
    for o in objs:
        x0 = np.zeros(o.dim)
        a = minimize(o, x0, method="cg", variant=rule, step=step, tol=1e-7, max_iter=500)
        b = minimize(o, x0, method="cg", variant=rule, step=step, tol=1e-7, max_iter=500, engine="python")
        assert a.success and b.success
        assert abs(a.nit - b.nit) <= 1  # decisions at the edge of the tolerance may differ by rounding
        np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-6)
        assert np.all(x0 == 0)


def test_cg_refuses_what_it_cannot_do():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((20, 3)), (rng.random(20) < 0.5).astype(float)
    o = ob.Logistic(X, y)
    with pytest.raises(ValueError, match="variant"):
        minimize(o, np.zeros(3), method="cg", variant="dy")
    with pytest.raises(ValueError, match="step"):
        minimize(o, np.zeros(3), method="cg", step="fixed")
    with pytest.raises(TypeError, match="memory"):
        minimize(o, np.zeros(3), method="cg", memory=3)
    with pytest.raises(ValueError, match="c1 < c2"):
        minimize(o, np.zeros(3), method="cg", c1=0.5, c2=0.4)
    with pytest.raises(ValueError, match="differentiable"):
        minimize(ob.Hinge(X, y), np.zeros(3), method="cg")


# ---- Nesterov's worst-case quadratic --------------------------------------------------------

def test_nesterov_hard_closed_forms():
    for n, L, k in [(1, 1.0, None), (9, 2.5, None), (41, 1.0, 7), (41, 4.0, 20)]:
        q = nesterov_hard(n, L, k)
        assert isinstance(q, NesterovHard) and q.dim == n
        p = n if k is None else 2 * k + 1
        assert q.p == p
        np.testing.assert_allclose(q.xstar, np.linalg.lstsq(q.A, q.b, rcond=None)[0], atol=1e-10)
        assert np.linalg.norm(q.grad(q.xstar)) <= 1e-13 * L
        assert q.value(q.xstar) == pytest.approx(q.fstar, rel=1e-14)
        eig = np.linalg.eigvalsh(q.A)
        assert eig.max() < L and eig.min() > -1e-14  # L-smooth and convex
        # the gradient at 0 is -(L/4) e_1: the Krylov spaces grow one coordinate per step
        np.testing.assert_array_equal(q.grad(np.zeros(n)), -0.25 * L * np.eye(n)[0])


@pytest.mark.parametrize("method,kw", [("gd", dict(step="fixed")), ("gd", dict(step="exact")),
                                       ("gd", {}), ("nesterov", dict(step="fixed")), ("nesterov", {}), ("bb", {}),
                                       ("bb", dict(variant="bb2", nonmonotone="average")),
                                       ("proximal", dict(step="fixed")), ("fista", dict(step="fixed")), ("fista", {}),
                                       ("subgradient", {}), ("lbfgs", {}), ("cg", {}), ("cg", dict(step="exact")),
                                       ("cg", dict(variant="fr")), ("cg", dict(variant="hz"))])
def test_first_order_methods_obey_nesterovs_lower_bound(method, kw):
    n, L = 41, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(1, (n - 1) // 2 + 1):
            q = nesterov_hard(n, L, k)
            r = minimize(q, np.zeros(n), method=method, tol=0.0, max_iter=k, **kw)
            assert r.nit == k
            bound = nesterov_lower_bound(k, L, np.linalg.norm(q.xstar))
            # rounding of f near f* is ~1e-16; the margin is far larger than that
            assert r.fun - q.fstar >= bound * (1 - 1e-12), (k, r.fun - q.fstar, bound)


def test_cg_is_nearly_tight_on_nesterovs_function():
    # CG minimises over the Krylov space, so it is the best first-order method here: within
    # 5% of the lower bound at k = (n-1)/2 on f_{2k+1}
    n, k = 41, 20
    q = nesterov_hard(n, 1.0, k)
    r = minimize(q, np.zeros(n), method="cg", step="exact", tol=0.0, max_iter=k)
    bound = nesterov_lower_bound(k, 1.0, np.linalg.norm(q.xstar))
    assert bound <= r.fun - q.fstar <= 1.05 * bound


def test_nesterov_hard_bad_input():
    with pytest.raises(ValueError, match="k must be"):
        nesterov_hard(10, 1.0, 5)
    with pytest.raises(ValueError, match="n"):
        nesterov_hard(0)
    with pytest.raises(ValueError, match="L"):
        nesterov_hard(5, -1.0)
    with pytest.raises(TypeError, match="k"):
        nesterov_hard(5, 1.0, 1.5)
    with pytest.raises(ValueError, match="n"):
        nesterov_hard(2**63)
