"""minimize / lasso: the seeds' rates and bounds, BB vs NumPy transcriptions of Raydan's
and Zhang-Hager's algorithms, agreement with scikit-learn / NumPy, bad input."""
import numpy as np
import pytest

from convq import bounds
from convq import objectives as ob
from convq.optimize import lasso, minimize

pytestmark = pytest.mark.c_heavy


def iterates(obj, x0, **kw):
    xs = [np.asarray(x0, float)]
    res = minimize(obj, x0, callback=lambda x, s: xs.append(x) and False, **kw)
    return res, np.array(xs)


@pytest.mark.parametrize("gamma", [2.0, 5.0, 10.0, 50.0])
def test_exact_line_search_contracts_by_gamma_ratio(gamma):
    q = ob.Quadratic(np.diag([1.0, gamma]))
    res, xs = iterates(q, [gamma, 1.0], method="gd", step="exact", tol=0, max_iter=25)
    norms = np.linalg.norm(xs, axis=1)
    c = bounds.exact_line_search_rate(gamma)
    np.testing.assert_allclose(norms[1:] / norms[:-1], c, rtol=1e-12)
    np.testing.assert_allclose(norms / norms[0], c ** np.arange(len(norms)), rtol=1e-12)


@pytest.fixture
def underdetermined(rng):
    X = rng.standard_normal((30, 60))
    y = rng.standard_normal(30)
    return X, y


def test_sublinear_bound_fixed_and_armijo(underdetermined):
    X, y = underdetermined
    o = ob.LeastSquares(X, y)
    L = np.linalg.eigvalsh(X.T @ X / 30)[-1]
    x0 = np.ones(60)
    xstar = x0 + np.linalg.pinv(X) @ (y - X @ x0)  # the minimiser nearest x0
    fstar = o.value(xstar)
    r0 = np.linalg.norm(x0 - xstar)
    k = np.arange(1, 301)
    for t in (1.0 / L, 0.5 / L):
        res = minimize(o, x0, method="gd", step="fixed", t=t, tol=0, max_iter=300)
        gap = res.trace["fun"][1:] - fstar
        assert np.all(gap <= r0 ** 2 / (2 * k * t) * (1 + 1e-9) + 1e-14)
        assert bounds.gd_sublinear_bound(1, t, r0) == pytest.approx(r0 ** 2 / (2 * t))
    beta, t0 = 0.5, 1.0
    res = minimize(o, x0, method="gd", step="armijo", t0=t0, alpha=0.5, beta=beta, tol=0, max_iter=300)
    tmin = min(t0, beta / L)
    gap = res.trace["fun"][1:] - fstar
    assert np.all(gap <= r0 ** 2 / (2 * k * tmin) * (1 + 1e-9) + 1e-14)
    assert np.all(res.trace["step"][1:] >= tmin * (1 - 1e-12))


def test_linear_rate_strongly_convex(rng):
    B = rng.standard_normal((8, 8))
    A = B @ B.T + 0.5 * np.eye(8)
    w = np.linalg.eigvalsh(A)
    m, L = w[0], w[-1]
    b = rng.standard_normal(8)
    q = ob.Quadratic(A, b)
    xstar = np.linalg.solve(A, b)
    t = 2 / (m + L)
    res, xs = iterates(q, np.zeros(8), method="gd", step="fixed", t=t, tol=0, max_iter=200)
    d2 = np.sum((xs - xstar) ** 2, axis=1)
    bound = [bounds.gd_linear_bound(k, m, L, t, np.sqrt(d2[0])) for k in range(len(d2))]
    assert np.all(d2 <= np.array(bound) * (1 + 1e-9) + 1e-28)


# ---- BB: plain NumPy transcriptions of the notes' Algorithms 1 and 2 -------------------------

def raydan(f, grad, x0, alpha=1.0, M=10, sigma=1e-4, delta=0.5, eps=1e-8, a_m=1e-10, a_M=1e10, kmax=500):
    """Algorithm 1 (Raydan's method), line by line."""
    x = np.array(x0, float)
    g = grad(x)
    fs = [f(x)]
    xs = [x]
    k = 0
    while np.linalg.norm(g) > eps and k < kmax:
        while f(x - alpha * g) >= max(fs[k - j] for j in range(min(k, M) + 1)) - sigma * alpha * (g @ g):
            alpha = delta * alpha
        xn = x - alpha * g
        gn = grad(xn)
        y = gn - g
        alpha = max(min(-alpha * (g @ g) / (g @ y), a_M), a_m) if g @ y < 0 else a_M
        x, g = xn, gn
        fs.append(f(x))
        xs.append(x)
        k += 1
    return np.array(xs)


def zhang_hager(f, grad, x0, alpha=1.0, sigma=1e-4, delta=0.5, eta=0.85, eps=1e-8, a_m=1e-10, a_M=1e10,
                kmax=500):
    """Algorithm 2 (Hongchao and Hager's method), line by line."""
    x = np.array(x0, float)
    g = grad(x)
    C, Q = f(x), 1.0
    xs = [x]
    while np.linalg.norm(g) > eps and len(xs) <= kmax:
        while f(x - alpha * g) >= C - sigma * alpha * (g @ g):
            alpha = delta * alpha
        xn = x - alpha * g
        Qn = eta * Q + 1
        C = (eta * Q * C + f(xn)) / Qn
        Q = Qn
        gn = grad(xn)
        y = gn - g
        alpha = max(min(-alpha * (g @ g) / (g @ y), a_M), a_m) if g @ y < 0 else a_M
        x, g = xn, gn
        xs.append(x)
    return np.array(xs)


def test_bb_nonmonotone_rules_match_transcriptions_and_beat_exact_gd():
    A = np.diag([2.0, 20.0])  # f = x^2 + 10 y^2
    q = ob.Quadratic(A)
    f = lambda v: v[0] ** 2 + 10 * v[1] ** 2  # noqa: E731
    grad = lambda v: np.array([2 * v[0], 20 * v[1]])  # noqa: E731
    x0 = [-10.0, -1.0]
    gd = minimize(q, x0, method="gd", step="exact", tol=1e-8, max_iter=1000)
    assert gd.success
    for rule, ref in (("max", raydan(f, grad, x0)), ("average", zhang_hager(f, grad, x0))):
        res, xs = iterates(q, x0, method="bb", nonmonotone=rule, tol=1e-8, max_iter=1000)
        assert res.success and res.grad_norm < 1e-8
        assert res.nit < gd.nit, (rule, res.nit, gd.nit)
        assert xs.shape == ref.shape
        np.testing.assert_allclose(xs, ref, rtol=1e-9, atol=1e-12)
        # the Python twin of the loop gives the same iterates
        res2, xs2 = iterates(q, x0, method="bb", nonmonotone=rule, tol=1e-8, max_iter=1000,
                             grad_transform=lambda g: g)
        np.testing.assert_allclose(xs2, ref, rtol=1e-9, atol=1e-12)
    # nonmonotone: some f increase along the BB path
    res = minimize(q, x0, method="bb", nonmonotone="max", tol=1e-8)
    assert np.any(np.diff(res.trace["fun"]) > 0)


def test_bb_on_logistic_matches_sklearn(rng):
    sk = pytest.importorskip("sklearn.linear_model")
    X = rng.standard_normal((300, 6))
    yl = (rng.random(300) < 1 / (1 + np.exp(-X @ rng.standard_normal(6)))).astype(float)
    lam = 2.0
    o = ob.Logistic(X, yl, lam=lam, intercept=True)
    clf = sk.LogisticRegression(C=1 / lam, tol=1e-12, max_iter=10000).fit(X, yl)
    ref = np.concatenate([clf.intercept_, clf.coef_[0]])
    assert np.linalg.norm(o.grad(ref)) <= 1e-8  # sklearn's answer is checked before it is trusted
    for method in ("bb", "nesterov"):
        res = minimize(o, np.zeros(7), method=method, tol=1e-10, max_iter=20000)
        np.testing.assert_allclose(res.x, ref, rtol=1e-6, atol=1e-7)
    for nm in ("average", None):
        res = minimize(o, np.zeros(7), method="bb", nonmonotone=nm, variant="bb2", tol=1e-10, max_iter=20000)
        np.testing.assert_allclose(res.x, ref, rtol=1e-6, atol=1e-7)


def test_least_squares_matches_numpy(rng):
    X = rng.standard_normal((200, 8))
    y = X @ rng.standard_normal(8) + 3 + rng.standard_normal(200)
    lam = 5.0
    o = ob.LeastSquares(X, y, lam=lam, intercept=True)
    Xt = np.column_stack([np.ones(200), X])
    Mpen = np.eye(9)
    Mpen[0, 0] = 0
    ref = np.linalg.solve(Xt.T @ Xt + lam * Mpen, Xt.T @ y)
    for method, step in (("gd", "exact"), ("bb", "armijo"), ("gd", "armijo"), ("nesterov", "fixed")):
        res = minimize(o, np.zeros(9), method=method, step=step, tol=1e-11, max_iter=50000)
        np.testing.assert_allclose(res.x, ref, rtol=1e-6, atol=1e-8, err_msg=f"{method}/{step}")


def test_c_loop_equals_python_loop(rng):
    X = rng.standard_normal((120, 5))
    yl = (rng.random(120) < 0.5).astype(float)
    o = ob.Logistic(X, yl, lam=1.0)
    for kw in (dict(method="gd", step="fixed"), dict(method="gd", step="armijo"),
               dict(method="nesterov", step="armijo"), dict(method="bb", nonmonotone="average")):
        a = minimize(o, np.zeros(5), tol=1e-7, max_iter=300, **kw)
        b = minimize(o, np.zeros(5), tol=1e-7, max_iter=300, grad_transform=lambda g: g, **kw)
        assert a.nit == b.nit, kw
        np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a.trace["fun"], b.trace["fun"], rtol=1e-12)


def test_lasso_matches_sklearn(rng):
    sk = pytest.importorskip("sklearn.linear_model")
    A = rng.standard_normal((80, 40))
    xt = np.zeros(40)
    xt[:5] = rng.standard_normal(5) * 3
    b = A @ xt + 0.1 * rng.standard_normal(80)
    mu = 4.0
    w = sk.Lasso(alpha=mu / 80, fit_intercept=False, tol=1e-14, max_iter=200000).fit(A, b).coef_
    # sklearn's answer is checked before it is trusted: the LASSO optimality conditions
    # A'(b - Aw) = mu sign(w_j) where w_j != 0 and |A'(b - Aw)|_j <= mu where w_j = 0
    c, nz = A.T @ (b - A @ w), w != 0
    assert np.abs(c[nz] - mu * np.sign(w[nz])).max() <= 1e-8 * mu and np.abs(c[~nz]).max() <= mu * (1 + 1e-10)
    obj = ob.Lasso(A, b, mu)
    fref = obj.value(w)
    for method in ("continuation", "fista", "proximal", "cd"):
        res = lasso(A, b, mu, method=method, tol=1e-9, max_iter=100000)
        assert abs(res.fun - fref) <= 1e-6 * fref, (method, res.fun, fref)
        assert res.fun == pytest.approx(obj.value(res.x), rel=1e-12)
    res = lasso(A, b, mu, method="continuation")
    # the continuation follows mu_{t+1} = max(0.1 mu_t, mu) from ||A'b||_inf
    mus = [s[0] for s in res.stages if s[0] != "polish"]
    assert mus[0] == pytest.approx(np.max(np.abs(A.T @ b)))
    assert mus[-1] == mu and all(a2 == max(0.1 * a1, mu) for a1, a2 in zip(mus, mus[1:]))
    res = minimize(obj, np.zeros(40), method="fista", step="fixed", tol=1e-9, max_iter=100000)
    assert abs(res.fun - fref) <= 1e-6 * fref


def test_nesterov_and_subgradient(rng):
    X = rng.standard_normal((100, 4))
    yl = (X[:, 0] + 0.3 * rng.standard_normal(100) > 0).astype(float)
    h = ob.Hinge(X, yl, C=0.1)
    res = minimize(h, np.zeros(4), method="subgradient", t=0.5, max_iter=3000)
    assert res.fun <= min(res.trace["fun"]) + 1e-12 and res.fun < h.value(np.zeros(4))
    assert len(res.trace["fun"]) == res.nit + 1 == 3001
    # FISTA-type bound for Nesterov with t = 1/L: f(x_k) - f* <= 2 L r0^2 / (k+1)^2
    X2 = rng.standard_normal((20, 40))
    y2 = rng.standard_normal(20)
    o = ob.LeastSquares(X2, y2)
    L = np.linalg.eigvalsh(X2.T @ X2 / 20)[-1]
    x0 = np.zeros(40)
    xs = np.linalg.pinv(X2) @ y2
    res = minimize(o, x0, method="nesterov", step="fixed", t=1 / L, tol=0, max_iter=200, restart=False)
    k = np.arange(1, 201)
    assert np.all(res.trace["fun"][1:] - o.value(xs) <= 2 * L * (xs @ xs) / (k + 1) ** 2 + 1e-12)


def test_result_trace_callback_verbose(caplog):
    q = ob.Quadratic(np.diag([1.0, 10.0]))
    res = minimize(q, [1.0, 1.0], method="gd", step="fixed", t=0.05, tol=1e-12, max_iter=1000,
                   callback=lambda x, s: s["k"] >= 7)
    assert res.nit == 7 and res.status == 2 and not res.success
    assert set(res.trace) == {"fun", "grad_norm", "step", "time"}
    assert all(len(v) == 8 for v in res.trace.values())
    r = repr(res)
    assert "OptimizeResult" in r and "grad_norm" in r and "stopped by the callback" in r
    with caplog.at_level("INFO", logger="convq"):   # verbose lines go to the convq logger
        minimize(q, [1.0, 1.0], method="gd", step="fixed", t=0.05, max_iter=100, verbose=True)
    out = caplog.text
    assert "iter" in out and "converged" in out or "maximum" in out


def test_function_objective_python_loop():
    f = ob.Function(lambda v: float(v[0] ** 2 + 10 * v[1] ** 2), lambda v: np.array([2 * v[0], 20 * v[1]]))
    res = minimize(f, [-10.0, -1.0], method="bb", tol=1e-8)
    assert res.success and res.grad_norm <= 1e-8
    res = minimize(f, [-10.0, -1.0], method="gd", step="exact", tol=1e-8)
    assert res.success


def test_bad_input_raises_and_writes_nothing(rng):
    q = ob.Quadratic(np.diag([1.0, 10.0]))
    x0 = np.array([1.0, 1.0])
    for kw, exc, msg in [
        (dict(step="fixed", t=0.0), ValueError, r"t must be a real number in \(0, inf\)"),
        (dict(step="fixed", t=-1.0), ValueError, r"t must be a real number in \(0, inf\)"),
        (dict(alpha=1.0), ValueError, "alpha"),
        (dict(beta=0.0), ValueError, "beta"),
        (dict(method="bb", beta=1.5), ValueError, "beta"),
        (dict(method="newtons"), ValueError, "method"),
        (dict(step="wolfe"), ValueError, "step"),
        (dict(method="bb", nonmonotone="min"), ValueError, "nonmonotone"),
        (dict(method="bb", variant="bb3"), ValueError, "variant"),
        (dict(tol=-1.0), ValueError, "tol"),
        (dict(max_iter=-1), ValueError, "max_iter"),
        (dict(foo=1), TypeError, "unknown option"),
        (dict(callback=3), TypeError, "callback"),
    ]:
        with pytest.raises(exc, match=msg):
            minimize(q, x0, **kw)
    assert np.array_equal(x0, [1.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        minimize(q, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        minimize(q, [np.nan, 1.0])
    with pytest.raises(TypeError, match="fun must return a real scalar"):
        minimize(lambda x: x, x0)   # a callable is taken as SciPy takes it; its output is checked
    with pytest.raises(TypeError, match="fun must be a callable"):
        minimize("rosen", x0)
    # a callable that returns NaN / the wrong shape mid-run
    calls = {"n": 0}

    def bad_f(v):
        calls["n"] += 1
        return float("nan") if calls["n"] > 3 else float(v @ v)
    with pytest.raises(ValueError, match="non-finite"):
        minimize(ob.Function(bad_f, lambda v: 2 * v), x0, method="gd", step="fixed", t=0.1)
    with pytest.raises(ValueError, match="shape"):
        minimize(ob.Function(lambda v: float(v @ v), lambda v: np.zeros(3)), x0)
    with pytest.raises(ValueError, match="grad_transform"):
        minimize(q, x0, grad_transform=lambda g: g[:1])
    # divergence with a too-large fixed step ends the run with success=False (never an
    # exception, as in SciPy) and the last finite iterate, not garbage
    res = minimize(q, x0, method="gd", step="fixed", t=1e3, max_iter=10000)
    assert not res.success and res.status == 5 and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.nit < 10000
    with pytest.raises(ValueError, match="Hinge"):
        minimize(ob.Hinge(np.eye(3), [0, 1, 1.0]), np.zeros(3), method="fista")


def test_huge_max_iter_allocates_nothing_up_front():
    """The C loop grows its trace as it iterates: max_iter = 10**12 is fine when the run
    converges in a few iterations, and the trace has exactly nit + 1 entries."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    obj = ob.LeastSquares(X, X @ np.ones(4))
    res = minimize(obj, np.zeros(4), method="bb", tol=1e-10, max_iter=10**12)
    assert res.success and res.nit < 100
    for key in ("fun", "grad_norm", "step", "time"):
        assert res.trace[key].shape == (res.nit + 1,)
    # a long run crosses many growth steps and keeps every entry
    long = minimize(obj, np.zeros(4), method="gd", step="fixed", t=1e-4, tol=0, max_iter=5000)
    assert long.nit == 5000 and long.trace["fun"].shape == (5001,)
    assert np.all(np.diff(long.trace["fun"]) <= 1e-15)


def test_engine_python_matches_c(rng):
    """engine="python" runs the NumPy twin (convq.slow.optimize) on a built-in objective:
    the same iterates as the C loop up to rounding; engine="c" refuses what has no C path."""
    X = rng.standard_normal((80, 4))
    yl = (rng.random(80) < 0.5).astype(float)
    o = ob.Logistic(X, yl, lam=1.0)
    for kw in (dict(method="gd", step="armijo"), dict(method="bb", nonmonotone="max"),
               dict(method="fista", step="armijo"), dict(method="lbfgs")):
        a = minimize(o, np.zeros(4), tol=1e-5, max_iter=200, engine="c", **kw)
        b = minimize(o, np.zeros(4), tol=1e-5, max_iter=200, engine="python", **kw)
        assert a.nit == b.nit and a.status == b.status, kw
        np.testing.assert_allclose(a.x, b.x, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(a.trace["fun"], b.trace["fun"], rtol=1e-10)
    f = ob.Function(lambda v: float(v @ v), lambda v: 2 * v)
    with pytest.raises(ValueError, match="engine='c'"):
        minimize(f, [1.0, 2.0], engine="c")
    with pytest.raises(ValueError, match="engine"):
        minimize(o, np.zeros(4), engine="fortran")
    assert minimize(f, [1.0, 2.0], engine="auto").success


def test_result_is_a_result_and_enums_come_from_c():
    from convq import _core
    from convq._result import Result
    q = ob.Quadratic(np.diag([1.0, 10.0]))
    res = minimize(q, [1.0, 1.0], method="bb")
    assert isinstance(res, Result) and res["x"] is res.x
    assert "method" in res and repr(res).rstrip(")").rstrip().split("\n")[-1].strip().startswith("trace")
    assert res.status == _core.OPT_CONVERGED and _core.OPT_LBFGS == 6 and _core.NM_AVERAGE == 2


@pytest.mark.parametrize("method", ["gd", "nesterov"])
@pytest.mark.parametrize("engine", ["c", "python"])
def test_armijo_reaches_gradients_below_the_rounding_of_f(method, engine):
    """Regression: near the minimiser the decrease alpha t ||g||^2 falls below the rounding of
    f (here ||g|| ~ 1e-9 with f ~ -2.6), so the plain Armijo test accepted steps only by rounding
    luck and the run crept with t ~ 1e-9 until max_iter; the approximate Armijo condition of
    Hager & Zhang (the slope at the trial) accepts the quadratic's ordinary steps there."""
    from convq.objectives import Quadratic
    A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
    b = np.array([1.0, -2.0, 0.5])
    res = minimize(Quadratic(A, b), np.zeros(3), method=method, step="armijo", tol=1e-13, max_iter=2000,
                   engine=engine)
    assert res.success, res.message
    assert res.nit < 200 and np.linalg.norm(A @ res.x - b) <= 1e-13
    assert np.min(res.trace["step"][1:]) > 1e-3   # ordinary steps, no creeping
