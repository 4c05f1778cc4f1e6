"""minimize(method="newton") and optimize.hessian: the Hessian against central finite
differences of the C gradient, Newton's quadratic convergence, and the answer on an
ill-conditioned logistic problem against scikit-learn's newton-cholesky (checked by its
gradient before it is trusted)."""
import numpy as np
import pytest

from convq import objectives as ob
from convq.optimize import hessian, minimize


def _fd_hessian(obj, x, h=1e-6):
    n = obj.dim
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        H[:, j] = (obj.grad(x + e) - obj.grad(x - e)) / (2 * h)
    return 0.5 * (H + H.T)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 4))
    y = rng.standard_normal(40)
    yb = (rng.random(40) < 0.5).astype(float)
    return X, y, yb, rng.standard_normal(5)


def test_hessian_matches_finite_differences(data):
    X, y, yb, x5 = data
    A = X.T @ X + np.eye(4)
    objs = [ob.LeastSquares(X, y, lam=0.5), ob.LeastSquares(X, y, lam=0.5, intercept=True),
            ob.Logistic(X, yb, lam=0.3), ob.Logistic(X, yb, lam=0.3, intercept=True),
            ob.Quadratic(A, np.ones(4)), ob.Lasso(X, y, 0.7).smooth(0.05),
            ob.Function(lambda x: float(np.sum(x ** 4)), lambda x: 4 * x ** 3, lambda x: np.diag(12 * x ** 2), dim=4)]
    for o in objs:
        x = x5[:o.dim] * 0.3
        H = hessian(o, x)
        assert H.shape == (o.dim, o.dim)
        np.testing.assert_allclose(H, _fd_hessian(o, x), rtol=1e-6, atol=1e-7, err_msg=repr(o))
        np.testing.assert_allclose(H @ x5[:o.dim], o.hessp(x, x5[:o.dim]), rtol=1e-10, atol=1e-12) \
            if not isinstance(o, ob.Function) else None


def test_quadratic_and_least_squares_in_one_step(data):
    X, y, _, _ = data
    A = X.T @ X + np.eye(4)
    r = minimize(ob.Quadratic(A, np.ones(4)), np.zeros(4), method="newton", tol=1e-12)
    assert r.success and r.nit == 1
    np.testing.assert_allclose(r.x, np.linalg.solve(A, np.ones(4)), rtol=1e-12)
    o = ob.LeastSquares(X, y, lam=1.0, intercept=True)
    r = minimize(o, np.zeros(5), method="newton", tol=1e-12)
    assert r.success and r.nit == 1 and r.trace["step"][1] == 1.0


def test_ill_conditioned_logistic_against_sklearn():
    sk = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    m, n = 2000, 20
    scale = 10.0 ** np.linspace(-2, 2, n)
    X = rng.standard_normal((m, n)) * scale
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ (rng.standard_normal(n) / scale) + 0.3)))).astype(float)
    o = ob.Logistic(X, y, lam=1.0, intercept=True)
    r = minimize(o, np.zeros(n + 1), method="newton", tol=1e-10)
    assert r.success and r.nit <= 15 and r.grad_norm <= 1e-10
    # quadratic convergence at the end: the gradient norm falls faster than linearly
    g = r.trace["grad_norm"]
    assert g[-1] <= 1e-3 * g[-2] or g[-1] <= 1e-14
    clf = sk.LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-10, max_iter=100).fit(X, y)
    ref = np.r_[clf.intercept_, clf.coef_[0]]
    assert np.linalg.norm(o.grad(ref)) <= 1e-7  # sklearn checked before it is trusted
    assert r.fun <= o.value(ref) * (1 + 1e-14)
    np.testing.assert_allclose(r.x, ref, rtol=1e-5, atol=1e-7)
    # where L-BFGS crawls (the design's condition number is ~1e8), Newton takes a handful of steps
    lb = minimize(o, np.zeros(n + 1), method="lbfgs", tol=1e-10, max_iter=50)
    assert lb.grad_norm > r.grad_norm


def test_indefinite_hessian_is_shifted_and_options():
    # f = sum(x^4 - x^2): H(0) = -2 I (indefinite), minimisers at +-1/sqrt(2)
    f = ob.Function(lambda x: float(np.sum(x ** 4 - x ** 2)), lambda x: 4 * x ** 3 - 2 * x,
                    lambda x: np.diag(12 * x ** 2 - 2), dim=3)
    r = minimize(f, np.array([0.1, -0.2, 0.3]), method="newton", tol=1e-12)
    assert r.success
    np.testing.assert_allclose(np.abs(r.x), 1 / np.sqrt(2), rtol=1e-10)
    stops = []
    r = minimize(f, np.array([0.1, -0.2, 0.3]), method="newton", callback=lambda x, s: stops.append(s["k"]) or True)
    assert r.status == 2 and stops == [1] and not r.success
    with pytest.raises(TypeError, match="options"):
        minimize(f, np.zeros(3), method="newton", memory=3)
    with pytest.raises(ValueError, match="alpha"):
        minimize(f, np.zeros(3) + 0.1, method="newton", alpha=0.7)


def test_objectives_without_a_hessian_are_refused(data):
    X, y, yb, _ = data
    for o, what in ((ob.Hinge(X, yb), "Hinge"), (ob.Lasso(X, y, 1.0), "smooth"),
                    (ob.Function(lambda x: float(x @ x), dim=4), "hess")):
        with pytest.raises(ValueError, match=what):
            minimize(o, np.zeros(o.dim), method="newton")
    with pytest.raises(ValueError, match="grad_transform"):
        minimize(ob.LeastSquares(X, y), np.zeros(4), method="newton", grad_transform=lambda g: g)
    bad = ob.Function(lambda x: float(x @ x), lambda x: 2 * x, lambda x: np.ones((2, 2)), dim=4)
    with pytest.raises(ValueError, match="hess"):
        minimize(bad, np.ones(4), method="newton")


# ---- trust-region Newton-CG (TRON) -----------------------------------------------------------

def _ill_logistic(m=3000, n=30, seed=2):
    rng = np.random.default_rng(seed)
    scale = 10.0 ** np.linspace(-2, 2, n)
    X = rng.standard_normal((m, n)) * scale
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ (rng.standard_normal(n) / scale) + 0.3)))).astype(float)
    return X, y


def test_newton_cg_c_loop_equals_its_twin():
    X, y = _ill_logistic()
    # (least squares on this design reaches ||g|| ~ 3e-9 before rounding stalls the trust region)
    for o, tol in ((ob.Logistic(X, y, lam=1.0, intercept=True), 1e-9), (ob.LeastSquares(X, y, lam=0.1), 1e-7),
                   (ob.Lasso(X[:, :8], y, 2.0).smooth(0.1), 1e-5)):  # Huber: H jumps at its kinks
        a = minimize(o, np.zeros(o.dim), method="newton-cg", tol=tol, max_iter=200)
        b = minimize(o, np.zeros(o.dim), method="newton-cg", tol=tol, max_iter=200, engine="python")
        assert a.success and b.success, (a.message, b.message)
        assert a.nit == b.nit and a.ngev == b.ngev
        np.testing.assert_allclose(a.x, b.x, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(a.trace["fun"], b.trace["fun"], rtol=1e-11)


def test_newton_cg_on_an_ill_conditioned_design():
    X, y = _ill_logistic()
    o = ob.Logistic(X, y, lam=1.0, intercept=True)
    r = minimize(o, np.zeros(o.dim), method="newton-cg", tol=1e-9, max_iter=100)
    assert r.success and r.nit <= 30
    ref = minimize(o, np.zeros(o.dim), method="newton", tol=1e-11)
    assert r.fun == pytest.approx(ref.fun, rel=1e-13)
    # trust-region logic: f never increases, a rejected step leaves x (step 0 in the trace)
    f, step = r.trace["fun"], r.trace["step"]
    assert np.all(np.diff(f) <= 1e-15 * abs(f[0]))
    assert np.all(f[1:][step[1:] == 0] == f[:-1][step[1:] == 0])
    # the Jacobi-preconditioned CG needs few Hessian products despite cond(X) ~ 1e8
    assert r.ngev <= 40 * r.nit


def test_newton_cg_refusals_and_function_objectives(data):
    X, y, yb, _ = data
    with pytest.raises(ValueError, match="Hinge"):
        minimize(ob.Hinge(X, yb), np.zeros(4), method="newton-cg")
    with pytest.raises(ValueError, match="smooth"):
        minimize(ob.Lasso(X, y, 1.0), np.zeros(4), method="newton-cg")
    with pytest.raises(TypeError, match="newton-cg"):
        minimize(ob.LeastSquares(X, y), np.zeros(4), method="newton-cg", memory=3)
    with pytest.raises(ValueError, match="trust region"):
        minimize(ob.LeastSquares(X, y), np.zeros(4), method="newton-cg", step="fixed")
    f = ob.Function(lambda x: float(np.sum((x - 1) ** 4) + x @ x), lambda x: 4 * (x - 1) ** 3 + 2 * x, dim=3)
    r = minimize(f, np.zeros(3), method="newton-cg", tol=1e-8)
    assert r.success and np.linalg.norm(f.grad(r.x)) <= 1e-8


def test_newton_stops_at_the_rounding_floor_instead_of_spinning_to_max_iter():
    """Regression: with a tolerance below what float64 can reach, Newton used to accept
    null steps (f(x + t d) == f(x) passes the Armijo test when t g'd is below f's last bit)
    until max_iter; it now ends with the line-search status a few steps after the floor."""
    from convq import _core
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    y = (X @ np.ones(5) + rng.standard_normal(200) > 0).astype(float)
    obj = ob.Logistic(X, y, lam=1.0)
    res = minimize(obj, np.zeros(5), method="newton", tol=1e-30, max_iter=1000)
    assert res.status == _core.OPT_LINESEARCH and not res.success
    assert res.nit < 20
    assert np.linalg.norm(obj.grad(res.x)) < 1e-9
