"""SciPy's calling conventions for minimize, run unchanged against convq.optimize.minimize.

The examples follow the scipy.optimize tutorial (Rosenbrock with rosen / rosen_der /
rosen_hess_prod, args=, jac=True, bounds, callbacks) and each answer is compared with
scipy.optimize.minimize on the same problem, after checking that SciPy's answer satisfies
the first-order (KKT) conditions.
"""
import numpy as np
import pytest

so = pytest.importorskip("scipy.optimize")
from scipy.optimize import Bounds, rosen, rosen_der, rosen_hess_prod  # noqa: E402

from convq import objectives as ob  # noqa: E402
from convq.optimize import OptimizeResult, minimize  # noqa: E402

X0 = np.array([1.3, 0.7, 0.8, 1.9, 1.2])   # the tutorial's start


def projected_gradient(grad, x, lo, hi):
    return np.linalg.norm(x - np.clip(x - grad(x), lo, hi))


def assert_kkt(grad, x, lo, hi, tol):
    """First-order conditions of min f s.t. lo <= x <= hi: grad_i >= 0 where x_i = lo_i,
    <= 0 where x_i = hi_i, = 0 elsewhere (to tol); returns the active set."""
    g = grad(x)
    at_lo, at_hi = np.isclose(x, lo, rtol=0, atol=tol), np.isclose(x, hi, rtol=0, atol=tol)
    assert np.all(g[at_lo] >= -tol) and np.all(g[at_hi] <= tol)
    assert np.all(np.abs(g[~at_lo & ~at_hi]) <= tol) and projected_gradient(grad, x, lo, hi) <= tol
    return at_lo | at_hi


@pytest.mark.parametrize("method, kw", [
    ("L-BFGS-B", {}),
    ("CG", {}),
    ("Newton-CG", {"hessp": rosen_hess_prod}),
    ("trust-ncg", {"hessp": rosen_hess_prod}),
])
def test_rosenbrock_as_in_the_scipy_tutorial(method, kw):
    ref = so.minimize(rosen, X0, method=method, jac=rosen_der, tol=1e-10, **kw)
    assert np.linalg.norm(rosen_der(ref.x)) < 1e-4          # SciPy's answer is a stationary point
    res = minimize(rosen, X0, method=method, jac=rosen_der, tol=1e-8, options={"maxiter": 5000}, **kw)
    assert res.success, res.message
    assert np.linalg.norm(res.jac) <= 1e-8 and np.allclose(res.jac, rosen_der(res.x))
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    if "hessp" in kw:
        assert res.nhev > 0


def quad(x, A, b):
    return 0.5 * x @ A @ x - b @ x


def quad_grad(x, A, b):
    return A @ x - b


A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
b = np.array([1.0, -2.0, 0.5])
XSTAR = np.linalg.solve(A, b)


@pytest.mark.parametrize("jac", ["callable", "pair", "differences", "3-point"])
@pytest.mark.parametrize("method", ["gd", "bb", "lbfgs", "cg", "fista", "newton-cg"])
def test_args_and_the_three_jac_forms(method, jac):
    """fun(x, *args) with jac=callable, jac=True (fun returns (f, g)), jac=None (2-point
    forward differences, as SciPy's default) and jac="3-point" (central differences)."""
    if jac == "callable":
        fun, j = quad, quad_grad
    elif jac == "pair":
        def fun(x, A, b):
            return quad(x, A, b), quad_grad(x, A, b)
        j = True
    else:
        fun, j = quad, None if jac == "differences" else jac
    ref = so.minimize(fun, np.zeros(3), args=(A, b), jac=j, method="L-BFGS-B", tol=1e-12)
    assert np.linalg.norm(quad_grad(ref.x, A, b)) < 1e-5
    exact = jac in ("callable", "pair")
    res = minimize(fun, np.zeros(3), args=(A, b), method=method, jac=j, tol=1e-9 if exact else 1e-6,
                   max_iter=20000)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, XSTAR, atol=1e-8 if exact else 1e-5)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    if jac == "differences":
        assert res.nfev >= (3 + 1) * res.njev   # n + 1 calls of fun per gradient
    elif jac == "3-point":
        assert res.nfev >= (2 * 3 + 1) * res.njev
    elif jac == "pair":
        assert res.nfev == res.njev


def bound_problem():
    """Bounds that cut off the unconstrained minimiser (0.94, -1.82, 1.41) in x_1 (below) and x_2 (above)."""
    lo, hi = np.array([0.0, -1.0, -np.inf]), np.array([np.inf, 0.2, 0.1])
    return lo, hi


@pytest.mark.parametrize("form", ["Bounds", "pairs"])
@pytest.mark.parametrize("method", ["gd", "bb", "lbfgs", "L-BFGS-B", "fista", "proximal"])
def test_bounds_by_projection_match_scipy(method, form):
    lo, hi = bound_problem()
    bounds = Bounds(lo, hi) if form == "Bounds" else [(None if np.isinf(a) else a, None if np.isinf(c) else c)
                                                     for a, c in zip(lo, hi)]
    ref = so.minimize(quad, np.zeros(3), args=(A, b), jac=quad_grad, method="L-BFGS-B", bounds=bounds,
                      options={"gtol": 1e-12, "ftol": 1e-15})
    g = lambda x: quad_grad(x, A, b)  # noqa: E731
    assert list(assert_kkt(g, ref.x, lo, hi, 1e-6)) == [False, True, True]   # SciPy's answer is a KKT point
    res = minimize(quad, np.array([5.0, 5.0, -5.0]), args=(A, b), jac=quad_grad, method=method, bounds=bounds,
                   tol=1e-9, max_iter=20000)
    assert res.success, res.message
    assert np.all(res.x >= lo) and np.all(res.x <= hi)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-7)
    assert res.grad_norm <= 1e-9 and np.all(np.isfinite(res.trace["fun"]))


def test_bounded_rosenbrock_with_l_bfgs_b():
    bounds = Bounds(np.full(5, -2.0), np.array([2.0, 2.0, 0.5, 2.0, 2.0]))
    ref = so.minimize(rosen, X0, jac=rosen_der, method="L-BFGS-B", bounds=bounds,
                      options={"gtol": 1e-10, "ftol": 1e-15})
    assert assert_kkt(rosen_der, ref.x, bounds.lb, bounds.ub, 1e-5)[2]
    res = minimize(rosen, X0, jac=rosen_der, method="L-BFGS-B", bounds=bounds, tol=1e-8, max_iter=5000)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, ref.x, atol=1e-5)
    assert res.fun <= ref.fun + 1e-10


def test_a_convq_objective_keeps_its_c_path_under_scipy_names():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.standard_normal(200) > 0).astype(float)
    obj = ob.Logistic(X, y, lam=1.0)
    res = minimize(obj, np.zeros(obj.dim), method="L-BFGS-B", tol=1e-10, engine="c")
    as_callable = minimize(obj.value, np.zeros(obj.dim), method="l-bfgs-b", jac=obj.grad, tol=1e-10)
    ref = so.minimize(obj.value, np.zeros(obj.dim), jac=obj.grad, method="L-BFGS-B", tol=1e-12)
    assert np.linalg.norm(obj.grad(ref.x)) < 1e-6
    assert res.success and as_callable.success
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    np.testing.assert_allclose(as_callable.x, res.x, atol=1e-8)
    np.testing.assert_allclose(res.jac, obj.grad(res.x))


def test_the_result_is_dict_like_and_attribute_like():
    res = minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der)
    assert isinstance(res, OptimizeResult) and isinstance(res, dict)
    assert {"x", "fun", "jac", "nit", "nfev", "njev", "status", "message", "success", "trace"} <= set(res.keys())
    assert res["x"] is res.x and "jac" in res and res["fun"] == res.fun == rosen(res.x)
    assert res.ngev == res.njev and set(res.trace) == {"fun", "grad_norm", "step", "time"}
    assert len(res.trace["fun"]) == res.nit + 1


# ---- callbacks --------------------------------------------------------------------------------

def test_callback_xk_form():
    seen = []
    res = minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der, callback=seen.append)
    assert len(seen) == res.nit and np.array_equal(seen[-1], res.x)

    def cb(xk):
        seen.append(xk.copy())
        return True        # SciPy ignores what callback(xk) returns: so does convq
    seen.clear()
    res = minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der, callback=cb)
    assert res.success and len(seen) == res.nit


def test_callback_intermediate_result_form_and_stop_iteration():
    seen = []

    def cb(intermediate_result):
        assert isinstance(intermediate_result, OptimizeResult)
        seen.append(intermediate_result.fun)
        if len(seen) == 3:
            raise StopIteration
    res = minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der, callback=cb)
    assert res.nit == 3 and not res.success and res.status == 2 and "StopIteration" in res.message
    assert seen == [float(f) for f in res.trace["fun"][1:]]


@pytest.mark.parametrize("fun", ["callable", "objective"])
def test_callback_convq_state_form(fun):
    """convq's callback(xk, state): returning True stops (C loop and NumPy loop alike)."""
    f = ob.Quadratic(A, b) if fun == "objective" else quad
    args = () if fun == "objective" else (A, b)
    jac = None if fun == "objective" else quad_grad
    states = []

    def cb(xk, state):
        states.append(state)
        return state["k"] >= 2
    res = minimize(f, np.ones(3), args=args, jac=jac, method="bb", callback=cb)
    assert res.nit == 2 and res.status == 2 and not res.success
    assert [s["k"] for s in states] == [1, 2] and set(states[0]) == {"k", "fun", "grad_norm", "step"}


# ---- runs that fail end with success=False, never an exception --------------------------------

@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")   # NumPy's, on the way up
@pytest.mark.parametrize("fun, engine", [("callable", "auto"), ("objective", "c"), ("objective", "python")])
def test_divergence_is_success_false(fun, engine):
    """gd with a huge fixed step on a quadratic: f overflows; the result keeps the last
    finite iterate (C loop, NumPy loop, Python callable alike)."""
    f = ob.Quadratic(A, b) if fun == "objective" else quad
    args = () if fun == "objective" else (A, b)
    res = minimize(f, np.ones(3), args=args, jac=None if fun == "objective" else quad_grad, method="gd",
                   step="fixed", t=10.0, max_iter=100000, engine=engine)
    assert not res.success and res.status == 5 and "diverged" in res.message
    assert np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and 0 < res.nit < 100000
    assert np.isclose(res.fun, quad(res.x, A, b), rtol=1e-12) and np.all(np.isfinite(res.trace["fun"]))
    assert set(res.trace) == {"fun", "grad_norm", "step", "time"} and len(res.trace["fun"]) == res.nit + 1


def barrier(x):
    """-log(1 - x_0) + ||x||^2: NaN beyond x_0 = 1 (log of a negative number)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(-np.log(1.0 - x[0]) + x @ x)


def barrier_grad(x):
    return np.array([1.0 / (1.0 - x[0]), 0.0]) + 2 * x


def test_nan_objective_values():
    x0 = np.array([0.5, 1.0])
    # a line search steps back from the NaN region and converges
    res = minimize(barrier, x0, jac=barrier_grad, method="lbfgs", tol=1e-10)
    ref = so.minimize(barrier, x0, jac=barrier_grad, method="L-BFGS-B", tol=1e-12)
    assert abs(barrier_grad(ref.x)).max() < 1e-6
    assert res.success and np.allclose(res.x, ref.x, atol=1e-8)
    # fixed steps walk into it: success=False, the last finite iterate
    res = minimize(barrier, x0, jac=barrier_grad, method="gd", step="fixed", t=2.0)
    assert not res.success and res.status == 5 and res.x[0] < 1 and np.isfinite(res.fun)
    # NaN at the start: nothing to iterate from
    res = minimize(barrier, np.array([2.0, 0.0]), jac=barrier_grad, method="bb")
    assert not res.success and res.status == 5 and res.nit == 0


def test_line_search_failure_is_success_false():
    """A gradient of the wrong sign: no step decreases f along -g."""
    res = minimize(lambda x: float(x @ x), np.ones(2), jac=lambda x: -2 * x, method="lbfgs")
    assert not res.success and res.status == 3 and "line search" in res.message


# ---- names and bad input -----------------------------------------------------------------------

def test_method_names_are_case_insensitive_and_unknown_names_list_the_valid_ones():
    a = minimize(quad, np.zeros(3), args=(A, b), jac=quad_grad, method="LBFGS".replace("LBFGS", "L-BFGS-B"))
    c = minimize(quad, np.zeros(3), args=(A, b), jac=quad_grad, method="lbfgs")
    assert np.array_equal(a.x, c.x)
    for name in ("BFGS", "Nelder-Mead", "newtons"):
        with pytest.raises(ValueError, match=r"method must be one of .*'lbfgs'.*got '" + name):
            minimize(quad, np.zeros(3), args=(A, b), method=name)
    with pytest.raises(TypeError, match="method must be a string"):
        minimize(quad, np.zeros(3), args=(A, b), method=None)


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(bounds=[(0, 1)]), ValueError, "one .lo, hi. pair per variable: expected 3"),
    (dict(bounds=[(0, 1), (2, 1), (0, 1)]), ValueError, "lo <= hi"),
    (dict(bounds=[(0, "a"), (0, 1), (0, 1)]), TypeError, "numbers or None"),
    (dict(bounds=5), TypeError, "bounds must be a scipy.optimize.Bounds"),
    (dict(bounds=[(0, 1)] * 3, method="nesterov"), ValueError, "bounds are handled by projection"),
    (dict(jac="cs"), TypeError, "jac must be a callable, True"),
    (dict(hessp=3), TypeError, "hessp must be a callable"),
    (dict(options=[("maxiter", 3)]), TypeError, "options must be a dict"),
    (dict(options={"maxiter": 3}, max_iter=4), TypeError, "max_iter or options.'maxiter'."),
    (dict(options={"memory": 3}, memory=4), TypeError, "both in options and as keywords"),
    (dict(options={"xatol": 1e-3}), TypeError, "unknown option"),
    (dict(tol=-1.0), ValueError, "tol"),
])
def test_bad_input_raises_naming_the_argument(kw, exc, msg):
    kw = {"method": "lbfgs", "jac": quad_grad, **kw}
    with pytest.raises(exc, match=msg):
        minimize(quad, np.zeros(3), args=(A, b), **kw)


def test_objective_rejects_callable_only_arguments():
    with pytest.raises(TypeError, match="args, jac and hessp belong to a callable fun"):
        minimize(ob.Quadratic(A, b), np.zeros(3), jac=quad_grad)


def test_scipy_option_names():
    res = minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der, options={"maxiter": 3, "gtol": 1e-3, "maxcor": 4})
    assert res.nit == 3 and res.status == 1 and res.memory == 4
    res = minimize(rosen, X0, method="L-BFGS-B", jac=rosen_der, options={"gtol": 1e-3})
    assert res.success and res.grad_norm <= 1e-3 < np.linalg.norm(rosen_der(X0))


def test_x0_is_projected_and_not_modified():
    x0 = np.array([5.0, 5.0, -5.0])
    lo, hi = bound_problem()
    res = minimize(quad, x0, args=(A, b), jac=quad_grad, method="bb", bounds=Bounds(lo, hi), max_iter=0)
    assert np.array_equal(x0, [5.0, 5.0, -5.0]) and np.array_equal(res.x, np.clip(x0, lo, hi))
