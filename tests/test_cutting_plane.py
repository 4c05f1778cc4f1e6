"""Kelley's cutting-plane method and the proximal bundle method (convq.cutting_plane) on
nonsmooth convex problems, against references whose optimality is checked first:
- a piecewise-linear max of affine functions on a box, whose minimum is a linear program
  solved by HiGHS (its answer checked: feasible, and the LP value equals f at its x);
- the LASSO, against convq's coordinate descent checked by the LASSO's optimality
  conditions (|A'(b - Ax)| <= mu, with equality and the sign of x on the support).
"""
import numpy as np
import pytest

from convq import objectives as ob
from convq import optimize
from convq.cutting_plane import CuttingPlaneResult, kelley, proximal_bundle

scipy_optimize = pytest.importorskip("scipy.optimize")


def _max_affine(rng, m=25, n=4):
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)

    def fg(x):
        v = A @ x + b
        i = int(np.argmax(v))
        return float(v[i]), A[i].copy()
    return A, b, fg


def _lp_reference(A, b, lo, hi):
    m, n = A.shape
    res = scipy_optimize.linprog(np.r_[np.zeros(n), 1.0], A_ub=np.hstack([A, -np.ones((m, 1))]), b_ub=-b,
                                 bounds=[(lo, hi)] * n + [(None, None)], method="highs")
    assert res.status == 0
    x = res.x[:n]
    assert np.all(x >= lo - 1e-9) and np.all(x <= hi + 1e-9)           # feasible
    assert abs(np.max(A @ x + b) - res.fun) <= 1e-9 * max(1, abs(res.fun))  # the LP value is f(x)
    return x, res.fun


def _lasso_reference(A, y, mu):
    x = optimize.lasso(A, y, mu, tol=1e-14).x
    c = A.T @ (y - A @ x)
    on = x != 0
    assert np.all(np.abs(c) <= mu * (1 + 1e-7))                          # dual feasibility
    assert np.allclose(c[on], mu * np.sign(x[on]), rtol=0, atol=1e-7 * mu)  # stationarity on the support
    return x, 0.5 * np.sum((A @ x - y) ** 2) + mu * np.abs(x).sum()


def test_kelley_solves_a_max_of_affine_functions_like_the_lp(rng):
    A, b, fg = _max_affine(rng)
    x_ref, f_ref = _lp_reference(A, b, -2.0, 2.0)
    res = kelley(fg, np.zeros(4), (-2.0, 2.0), tol=1e-10)
    assert isinstance(res, CuttingPlaneResult) and res.success
    assert res.lower_bound <= f_ref + 1e-9 <= res.fun + 2e-9           # the certificate brackets f*
    assert abs(res.fun - f_ref) <= 1e-8 * max(1, abs(f_ref))
    assert res.gap <= 1e-10 * max(1, abs(res.fun))
    # a polyhedral function: Kelley finishes after finitely many cuts (at most one per piece
    # met, plus the first), so far fewer than max_iter
    assert res.nit <= 200


def test_kelley_on_the_lasso_in_a_box_that_holds_the_optimum(rng):
    A = rng.standard_normal((40, 6))
    y = rng.standard_normal(40)
    mu = 0.3 * np.abs(A.T @ y).max()
    x_ref, f_ref = _lasso_reference(A, y, mu)
    r = np.abs(x_ref).max() + 1.0
    res = kelley(ob.Lasso(A, y, mu), np.zeros(6), (-r, r), tol=1e-9, max_iter=2000)
    assert res.success
    assert res.fun - f_ref <= 1e-8 * max(1, abs(f_ref)) and res.lower_bound <= f_ref + 1e-8


@pytest.mark.parametrize("tau", [0.1, 1.0, 10.0])
def test_proximal_bundle_reaches_the_lasso_optimum(rng, tau):
    A = rng.standard_normal((60, 10))
    y = rng.standard_normal(60)
    mu = 0.2 * np.abs(A.T @ y).max()
    x_ref, f_ref = _lasso_reference(A, y, mu)
    res = proximal_bundle(ob.Lasso(A, y, mu), np.zeros(10), tau=tau, tol=1e-12, max_iter=3000)
    assert res.success, res.message
    assert res.fun - f_ref <= 1e-8 * max(1, abs(f_ref))
    assert np.linalg.norm(res.x - x_ref) <= 1e-3 * max(1, np.linalg.norm(x_ref))
    assert 0 < res.n_serious <= res.nit and res.nfev == res.nit + 1


def test_proximal_bundle_on_the_hinge_loss_matches_the_svm_optimum(rng):
    """f(w) = 1/2 ||w||^2 + C sum_i max(0, 1 - y_i x_i'w); the reference is checked by its
    subgradient optimality: 0 in w - C sum_i alpha_i y_i x_i with alpha_i in [0, 1] (hinge
    active: 1, inactive: 0, at the kink anything in between), found by a bounded least squares."""
    X = rng.standard_normal((30, 3))
    yl = np.where(X @ np.array([1.0, -1.0, 0.5]) + 0.3 * rng.standard_normal(30) > 0, 1.0, -1.0)
    C = 0.5

    def fg(w):
        marg = 1 - yl * (X @ w)
        act = marg > 0
        return 0.5 * w @ w + C * marg[act].sum(), w - C * (X[act] * yl[act, None]).sum(axis=0)

    res = proximal_bundle(fg, np.zeros(3), tau=1.0, tol=1e-12, max_iter=3000)
    assert res.success
    w = res.x
    marg = 1 - yl * (X @ w)
    act, kink = marg > 1e-6, np.abs(marg) <= 1e-6
    base = w - C * (X[act] * yl[act, None]).sum(axis=0)
    G = C * (X[kink] * yl[kink, None]).T
    if G.shape[1]:
        sol = scipy_optimize.lsq_linear(G, base, bounds=(0, 1))
        resid = np.linalg.norm(G @ sol.x - base)
    else:
        resid = np.linalg.norm(base)
    assert resid <= 1e-4   # 0 is (nearly) in the subdifferential at the bundle's answer


def test_max_iter_ends_with_success_false_and_a_message(rng):
    A, b, fg = _max_affine(rng, m=200, n=6)
    res = kelley(fg, np.zeros(6), (-1, 1), tol=1e-14, max_iter=3)
    assert not res.success and "max_iter" in res.message and res.nit == 3
    assert res.lower_bound <= res.fun
    res = proximal_bundle(fg, np.zeros(6), tol=1e-14, max_iter=2)
    assert not res.success and "max_iter" in res.message
    assert "fun" in res.keys() and res["x"] is res.x and "CuttingPlaneResult(" in repr(res)


@pytest.mark.parametrize("call, exc, word", [
    (lambda fg: kelley(fg, np.zeros(2), None), ValueError, "bounds"),
    (lambda fg: kelley(fg, np.zeros(2), (-np.inf, 1.0)), ValueError, "bounds"),
    (lambda fg: kelley(fg, np.zeros(2), (1.0, -1.0)), ValueError, "bounds"),
    (lambda fg: kelley(fg, np.zeros(2), 3.0), TypeError, "bounds"),
    (lambda fg: kelley(fg, np.zeros(2), (-1, 1), tol=-1), ValueError, "tol"),
    (lambda fg: kelley(fg, np.zeros(2), (-1, 1), max_iter=2**63), ValueError, "max_iter"),
    (lambda fg: kelley(fg, np.array([np.nan, 0]), (-1, 1)), ValueError, "x0"),
    (lambda fg: proximal_bundle(fg, np.zeros(2), tau=0), ValueError, "tau"),
    (lambda fg: proximal_bundle(fg, np.zeros(2), max_cuts=1), ValueError, "max_cuts"),
    (lambda fg: proximal_bundle(fg, np.zeros((2, 2))), ValueError, "x0"),
    (lambda fg: proximal_bundle(42, np.zeros(2)), TypeError, "f"),
    (lambda fg: proximal_bundle(lambda x: (0.0, np.zeros(3)), np.zeros(2)), ValueError, "subgradient"),
    (lambda fg: proximal_bundle(lambda x: (np.nan, np.zeros(2)), np.zeros(2)), ValueError, "non-finite"),
    (lambda fg: proximal_bundle(lambda x: 1.0, np.zeros(2)), TypeError, "subgradient"),
])
def test_bad_input_names_the_argument(call, exc, word):
    fg = lambda x: (float(np.abs(x).sum()), np.sign(x))  # noqa: E731
    with pytest.raises(exc, match=word):
        call(fg)
