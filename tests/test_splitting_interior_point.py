"""LASSO by ADMM and by a primal-dual interior-point method; box-constrained QPs.

Every reference is checked before it is trusted: the LASSO reference is convq's
coordinate descent run to a duality gap of 1e-15 ||b||^2 (a certificate, not a claim), the
box-QP reference is SciPy's L-BFGS-B whose projected gradient is checked, and both
answers are also checked against the KKT conditions directly.
"""
import numpy as np
import pytest
import scipy.optimize

from convq.optimize import box_qp, lasso


def _lasso_problem(m, n, seed, frac=0.1):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    b = A[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(m)
    return A, b, frac * float(np.abs(A.T @ b).max())


def _lasso_kkt(A, b, x, mu):
    c = A.T @ (b - A @ x)
    act = np.abs(x) > 1e-10 * max(1.0, np.abs(x).max())
    return max(np.abs(c[act] - mu * np.sign(x[act])).max(initial=0.0),
               np.maximum(np.abs(c[~act]) - mu, 0.0).max(initial=0.0)) / mu


@pytest.mark.parametrize("m,n", [(60, 100), (200, 40)])  # wide (matrix inversion lemma) and tall
@pytest.mark.parametrize("method", ["admm", "interior-point"])
def test_lasso_methods_reach_the_certified_optimum(m, n, method):
    A, b, mu = _lasso_problem(m, n, m + n)
    ref = lasso(A, b, mu, method="cd", tol=1e-15)
    assert ref.success and ref.gap <= 1e-15 * (b @ b)  # the certificate
    tol = 1e-12 if method == "admm" else 1e-11
    r = lasso(A, b, mu, method=method, tol=tol)
    assert r.success, r.message
    assert r.method == f"lasso/{method}"
    assert (r.fun - ref.fun) / ref.fun <= 1e-8
    assert r.gap <= 1e-8 * r.fun  # its own certificate
    assert _lasso_kkt(A, b, r.x, mu) <= 1e-4
    if method == "admm":  # z is exactly sparse, with the reference's support
        np.testing.assert_array_equal(r.x != 0, np.abs(ref.x) > 0)


def test_admm_default_tolerance_is_the_duality_gap_of_cd():
    A, b, mu = _lasso_problem(80, 150, 3)
    r = lasso(A, b, mu, method="admm")
    assert r.success and r.gap <= 1e-4 * (b @ b)
    assert r.nit % 10 == 0  # the gap is evaluated every 10 iterations


def test_lasso_method_refusals():
    A, b, _ = _lasso_problem(20, 10, 4)
    with pytest.raises(ValueError, match="mu > 0"):
        lasso(A, b, 0.0, method="admm")
    with pytest.raises(ValueError, match="rho"):
        lasso(A, b, 1.0, method="admm", rho=-1.0)
    with pytest.raises(ValueError, match="tol"):
        lasso(A, b, 1.0, method="interior-point", tol=0.0)


def _box_problem(n, seed):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    Q = M @ M.T / n + 1e-2 * np.eye(n)
    c = 3.0 * rng.standard_normal(n)
    lo, hi = -np.ones(n), np.ones(n)
    lo[:3], hi[3:6] = -np.inf, np.inf  # one-sided and free-below variables too
    return Q, c, lo, hi


def _projected_gradient(Q, c, lo, hi, x):
    g = Q @ x + c
    return np.abs(np.clip(x - g, lo, hi) - x).max()


@pytest.mark.parametrize("n", [5, 40])
def test_box_qp_reaches_a_checked_optimum_and_its_kkt(n):
    Q, c, lo, hi = _box_problem(n, n)
    f = lambda v: 0.5 * v @ Q @ v + c @ v
    ref = scipy.optimize.minimize(lambda v: (f(v), Q @ v + c), np.clip(np.zeros(n), lo, hi), jac=True,
                                  method="L-BFGS-B", bounds=list(zip(lo, hi)),
                                  options=dict(ftol=1e-16, gtol=1e-13, maxiter=100000))
    assert _projected_gradient(Q, c, lo, hi, ref.x) <= 1e-6, "the reference is not optimal"
    r = box_qp(Q, c, lo, hi)
    assert r.success, r.message
    assert np.all(r.x >= lo) and np.all(r.x <= hi)
    assert abs(r.fun - f(ref.x)) <= 1e-8 * max(1.0, abs(r.fun))
    # KKT: Qx + c = z_lo - z_hi, z >= 0, complementary slackness
    np.testing.assert_allclose(Q @ r.x + c, r.z_lo - r.z_hi, atol=1e-8)
    assert np.all(r.z_lo >= 0) and np.all(r.z_hi >= 0)
    fin_l, fin_u = np.isfinite(lo), np.isfinite(hi)
    assert np.all(r.z_lo[fin_l] * (r.x - lo)[fin_l] <= 1e-8)
    assert np.all(r.z_hi[fin_u] * (hi - r.x)[fin_u] <= 1e-8)
    assert r.gap <= 1e-10 * max(1.0, abs(r.fun))


def test_box_qp_special_cases():
    # no bounds: the linear system; a fixed variable; a singular PSD Q with a bounded box
    Q, c, _, _ = _box_problem(6, 1)
    r = box_qp(Q, c)
    np.testing.assert_allclose(r.x, np.linalg.solve(Q, -c), atol=1e-8)
    lo, hi = -np.ones(6), np.ones(6)
    lo[2] = hi[2] = 0.25
    r = box_qp(Q, c, lo, hi)
    assert r.success and r.x[2] == 0.25
    np.testing.assert_allclose(Q @ r.x + c, r.z_lo - r.z_hi, atol=1e-8)
    r = box_qp(np.zeros((3, 3)), [1.0, -2.0, 0.5], -1.0, 2.0)  # an LP: vertices
    np.testing.assert_allclose(r.x, [-1.0, 2.0, -1.0], atol=1e-7)


def test_box_qp_bad_input():
    Q = np.eye(2)
    for kw, exc, name in [(dict(Q=np.ones((2, 3)), c=[0, 0]), ValueError, "Q"),
                          (dict(Q=[[1, 2], [0, 1]], c=[0, 0]), ValueError, "symmetric"),
                          (dict(Q=Q, c=[0, 0, 0]), ValueError, "c"),
                          (dict(Q=Q, c=[0, np.nan]), ValueError, "c"),
                          (dict(Q=Q, c=[0, 0], lo=[0, 0, 0]), ValueError, "lo"),
                          (dict(Q=Q, c=[0, 0], lo=[np.inf, 0]), ValueError, "lo"),
                          (dict(Q=Q, c=[0, 0], hi=[-np.inf, 0]), ValueError, "hi"),
                          (dict(Q=Q, c=[0, 0], lo=1.0, hi=0.0), ValueError, "lo <= hi"),
                          (dict(Q=Q, c=[0, 0], lo="x"), TypeError, "lo"),
                          (dict(Q=Q, c=[0, 0], tol=-1.0), ValueError, "tol"),
                          (dict(Q=Q, c=[0, 0], max_iter=2**63), ValueError, "max_iter")]:
        with pytest.raises(exc, match=name):
            box_qp(**kw)
