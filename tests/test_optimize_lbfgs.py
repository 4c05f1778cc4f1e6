"""minimize(method="lbfgs"): agreement with SciPy's L-BFGS-B, scikit-learn and NumPy; the
two-loop direction against the dense BFGS update of Nocedal & Wright (7.19); the strong
Wolfe conditions on every accepted step; the C loop against its Python twin iterate for
iterate; trace / callback / result; bad options."""
import numpy as np
import pytest

from convq import objectives as ob
from convq.optimize import minimize

pytestmark = pytest.mark.c_heavy


def iterates(obj, x0, **kw):
    xs = [np.asarray(x0, float)]
    res = minimize(obj, x0, callback=lambda x, s: xs.append(x) and False, **kw)
    return res, np.array(xs)


@pytest.fixture
def logreg(rng):
    X = rng.standard_normal((400, 12))
    y = (rng.random(400) < 1 / (1 + np.exp(-X @ rng.standard_normal(12) - 0.5))).astype(float)
    return X, y


def test_logistic_matches_scipy_and_sklearn(logreg):
    so = pytest.importorskip("scipy.optimize")
    sk = pytest.importorskip("sklearn.linear_model")
    X, y = logreg
    lam = 2.0
    o = ob.Logistic(X, y, lam=lam, intercept=True)
    res = minimize(o, np.zeros(13), method="lbfgs", tol=1e-10, max_iter=1000)
    assert res.success and res.status == 0 and res.grad_norm <= 1e-10
    clf = sk.LogisticRegression(C=1 / lam, tol=1e-12, max_iter=10000).fit(X, y)
    ref_sk = np.concatenate([clf.intercept_, clf.coef_[0]])
    assert np.linalg.norm(o.grad(ref_sk)) <= 1e-8  # sklearn's answer checked before it is trusted
    np.testing.assert_allclose(res.x, ref_sk, rtol=1e-6, atol=1e-7)
    ref_sp = so.minimize(o.value_and_grad, np.zeros(13), jac=True, method="L-BFGS-B",
                         options=dict(gtol=1e-12, ftol=1e-16, maxiter=10000)).x
    assert np.linalg.norm(o.grad(ref_sp)) <= 1e-7  # SciPy's answer checked before it is trusted
    np.testing.assert_allclose(res.x, ref_sp, rtol=1e-6, atol=1e-7)
    assert res.fun <= o.value(ref_sp) * (1 + 1e-12)
    # without intercept and with another memory
    o2 = ob.Logistic(X, y, lam=0.5)
    r2 = minimize(o2, np.zeros(12), method="lbfgs", memory=3, tol=1e-10, max_iter=1000)
    ref2 = so.minimize(o2.value_and_grad, np.zeros(12), jac=True, method="L-BFGS-B",
                       options=dict(gtol=1e-12, ftol=1e-16, maxiter=10000)).x
    np.testing.assert_allclose(r2.x, ref2, rtol=1e-6, atol=1e-7)


def test_least_squares_matches_numpy_and_scipy(rng):
    so = pytest.importorskip("scipy.optimize")
    X = rng.standard_normal((200, 8)) * np.array([1, 2, 5, 10, 1, 1, 0.3, 3])  # kappa ~ 1e3
    y = X @ rng.standard_normal(8) + 3 + rng.standard_normal(200)
    lam = 5.0
    o = ob.LeastSquares(X, y, lam=lam, intercept=True)
    Xt = np.column_stack([np.ones(200), X])
    P = np.eye(9)
    P[0, 0] = 0
    ref = np.linalg.solve(Xt.T @ Xt + lam * P, Xt.T @ y)
    res = minimize(o, np.zeros(9), method="lbfgs", tol=1e-11, max_iter=5000)
    assert res.success
    np.testing.assert_allclose(res.x, ref, rtol=1e-6, atol=1e-8)
    ref_sp = so.minimize(o.value_and_grad, np.zeros(9), jac=True, method="L-BFGS-B",
                         options=dict(gtol=1e-12, ftol=1e-16, maxiter=10000)).x
    np.testing.assert_allclose(res.x, ref_sp, rtol=1e-6, atol=1e-8)


def test_first_iterates_equal_scipy_lbfgsb_when_unit_steps_are_accepted(logreg):
    """On a well-conditioned logistic problem every step of both solvers is the first
    trial (1/||g|| first, then 1), so L-BFGS-B's compact form and the two-loop recursion
    give the same iterates (mathematically; here to 1e-9)."""
    so = pytest.importorskip("scipy.optimize")
    X, y = logreg
    o = ob.Logistic(X, y, lam=1.0)
    res, xs = iterates(o, np.zeros(12), method="lbfgs", tol=0, max_iter=5)
    assert np.all(res.trace["step"][2:] == 1.0)
    ref = [np.zeros(12)]
    so.minimize(o.value_and_grad, np.zeros(12), jac=True, method="L-BFGS-B",
                callback=lambda xk: ref.append(np.array(xk)), options=dict(maxiter=5, gtol=0, ftol=0, maxcor=10))
    np.testing.assert_allclose(xs, np.array(ref)[:len(xs)], rtol=1e-9, atol=1e-12)


def dense_bfgs_direction(g, pairs):
    """-H g with H from H0 = gamma I by the BFGS update (N&W (6.17)/(7.19)) over pairs."""
    n = len(g)
    s, y = pairs[-1]
    H = (s @ y) / (y @ y) * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return -H @ g


def test_direction_is_the_bfgs_update_and_steps_satisfy_strong_wolfe(rng):
    """Each step x_{k+1} - x_k = t_k d_k with d_k = -H_k g_k from the last `memory` pairs,
    and t_k satisfies both strong Wolfe conditions (c1 = 1e-4, c2 = 0.9)."""
    A = rng.standard_normal((30, 10)) * np.logspace(0, 1, 10)
    y = rng.standard_normal(30)
    o = ob.LeastSquares(A, y, lam=0.1)
    M = 4
    res, xs = iterates(o, np.ones(10), method="lbfgs", memory=M, tol=1e-9, max_iter=1000)
    assert res.success and res.nit > 2 * M
    gs = np.array([o.grad(x) for x in xs])
    ts = res.trace["step"]
    pairs = []
    checked = 0
    for k in range(len(xs) - 1):
        d = (-gs[k] if not pairs else dense_bfgs_direction(gs[k], pairs[-M:]))
        step = xs[k + 1] - xs[k]
        if np.linalg.norm(gs[k]) > 1e-6:  # below, x_{k+1} - x_k has lost digits to rounding
            assert np.linalg.norm(step - ts[k + 1] * d) <= 1e-7 * np.linalg.norm(step), k
        gd = gs[k] @ d
        # The Wolfe conditions are decidable only while the predicted decrease t |g'd| is
        # above the rounding of f itself (about 1e-16 |f|); past that point (g ~ 1e-8 here)
        # the line search compares values that differ in their last bits and neither
        # condition says anything about the direction.
        if ts[k + 1] * abs(gd) > 1e-12 * abs(o.value(xs[k])):
            assert o.value(xs[k + 1]) <= o.value(xs[k]) + 1e-4 * ts[k + 1] * gd + 1e-14 * abs(o.value(xs[k]))
            assert abs(gs[k + 1] @ d) <= 0.9 * abs(gd) * (1 + 1e-9)
            checked += 1
        s, yv = step, gs[k + 1] - gs[k]
        if s @ yv > 0:
            pairs.append((s, yv))
    assert checked >= (len(xs) - 1) // 2, (checked, len(xs) - 1)
    # some steps were interpolated; their trials reused X x and X d (value and slope, no
    # gradient pass), so there are more function evaluations than gradient passes
    assert np.any(ts[1:] != 1.0) and res.nfev > res.ngev


@pytest.mark.parametrize("make", ["logistic", "least_squares", "quadratic", "lasso_smooth"])
def test_c_loop_equals_python_twin(make, rng):
    X = rng.standard_normal((150, 6))
    if make == "logistic":
        o = ob.Logistic(X, (rng.random(150) < 0.4).astype(float), lam=1.0, intercept=True)
    elif make == "least_squares":
        o = ob.LeastSquares(X * np.array([1, 2, 4, 1, 1, 0.5]), rng.standard_normal(150), lam=0.5)
    elif make == "quadratic":
        B = rng.standard_normal((6, 6))
        o = ob.Quadratic(B @ B.T + 0.1 * np.eye(6), rng.standard_normal(6))
    else:
        o = ob.Lasso(X, rng.standard_normal(150), 5.0).smooth(0.01)
    x0 = np.full(o.dim, 0.5)
    a, xa = iterates(o, x0, method="lbfgs", memory=3, tol=1e-7, max_iter=500)
    b, xb = iterates(o, x0, method="lbfgs", memory=3, tol=1e-7, max_iter=500, grad_transform=lambda g: g)
    assert a.success and b.success and a.nit == b.nit
    np.testing.assert_allclose(xa, xb, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.trace["fun"], b.trace["fun"], rtol=1e-12)
    # interpolated steps agree while |g| is well above rounding (near x* the slopes that
    # decide a zoom step are O(|g| |d|) and carry relative rounding ~ eps / |g|)
    well = a.trace["grad_norm"][:-1] > 1e-4
    np.testing.assert_allclose(a.trace["step"][1:][well], b.trace["step"][1:][well], rtol=1e-10)
    # the same loop on a Function wrapping the objective
    f = ob.Function(o.value, o.grad, dim=o.dim)
    c, xc = iterates(f, x0, method="lbfgs", memory=3, tol=1e-7, max_iter=500)
    assert c.nit == a.nit
    np.testing.assert_allclose(xc, xa, rtol=1e-10, atol=1e-12)


def test_function_objective_rosenbrock_and_grad_transform():
    so = pytest.importorskip("scipy.optimize")
    f = ob.Function(so.rosen, so.rosen_der, dim=2)
    res = minimize(f, [-1.2, 1.0], method="lbfgs", tol=1e-9, max_iter=1000)
    assert res.success and res.grad_norm <= 1e-9
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=1e-7)
    ref = so.minimize(so.rosen, [-1.2, 1.0], jac=so.rosen_der, method="L-BFGS-B")
    assert res.nit <= 2 * ref.nit + 10
    # a quantizing grad_transform still converges to a neighbourhood
    q = ob.Quadratic(np.diag([1.0, 10.0]))
    r = minimize(q, [3.0, 1.0], method="lbfgs", tol=1e-3, max_iter=200,
                 grad_transform=lambda g: np.round(g, 4))
    assert np.linalg.norm(r.x) < 1e-2


def test_result_trace_callback_verbose_ftol(logreg, caplog):
    X, y = logreg
    o = ob.Logistic(X, y, lam=1.0)
    res = minimize(o, np.zeros(12), method="lbfgs", tol=0, max_iter=100, callback=lambda x, s: s["k"] >= 4)
    assert res.nit == 4 and res.status == 2 and not res.success
    assert set(res.trace) == {"fun", "grad_norm", "step", "time"}
    assert all(len(v) == 5 for v in res.trace.values())
    assert np.all(np.diff(res.trace["fun"]) < 0) and np.all(np.diff(res.trace["time"]) >= 0)
    r = repr(res)
    assert "lbfgs" in r and "memory" in r and "stopped by the callback" in r
    res = minimize(o, np.zeros(12), method="lbfgs", tol=0, max_iter=3)
    assert res.nit == 3 and res.status == 1 and len(res.trace["fun"]) == 4
    res = minimize(o, np.zeros(12), method="lbfgs", tol=0, ftol=1e-3, max_iter=100)
    assert res.status == 4 and res.success and abs(res.trace["fun"][-1] - res.trace["fun"][-2]) < 1e-3
    with caplog.at_level("INFO", logger="convq"):   # verbose lines go to the convq logger
        res = minimize(o, np.zeros(12), method="lbfgs", max_iter=50, verbose=True)
    out = caplog.text
    assert "iter" in out and "converged" in out
    assert res.nfev >= res.ngev >= res.nit + 1


def test_line_search_failure_is_reported():
    # a "gradient" pointing the wrong way: no step along -g decreases f
    f = ob.Function(lambda v: float(v @ v), lambda v: -2 * v, dim=2)
    res = minimize(f, [1.0, 2.0], method="lbfgs", tol=1e-8)
    assert res.status == 3 and not res.success and "line search" in res.message
    np.testing.assert_array_equal(res.x, [1.0, 2.0])


def test_bad_options():
    q = ob.Quadratic(np.diag([1.0, 10.0]))
    x0 = np.array([1.0, 1.0])
    for kw, exc, msg in [
        (dict(memory=0), ValueError, "memory"),
        (dict(memory=-3), ValueError, "memory"),
        (dict(memory=2.5), TypeError, "memory"),
        (dict(c2=1.0), ValueError, "c2"),
        (dict(c2=0.0), ValueError, "c2"),
        (dict(c1=0.5, c2=0.4), ValueError, "c1 < c2"),
        (dict(alpha=0.95), ValueError, "c1 < c2"),
        (dict(c1=1e-4, alpha=1e-4), TypeError, "alias"),
        (dict(t=1.0), TypeError, "not used by method='lbfgs'"),
        (dict(nonmonotone="max"), TypeError, "not used by method='lbfgs'"),
        (dict(step="fixed"), ValueError, "strong-Wolfe"),
        (dict(step="exact"), ValueError, "step"),
        (dict(foo=1), TypeError, "unknown option"),
    ]:
        with pytest.raises(exc, match=msg):
            minimize(q, x0, method="lbfgs", **kw)
    assert np.array_equal(x0, [1.0, 1.0])
    with pytest.raises(TypeError, match="only used by method='lbfgs'"):
        minimize(q, x0, method="bb", c2=0.5)
    with pytest.raises(ValueError, match="Hinge"):
        minimize(ob.Hinge(np.eye(3), [0, 1, 1.0]), np.zeros(3), method="lbfgs")
