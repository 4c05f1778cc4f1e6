"""LASSO by working-set coordinate descent (``lasso(method="cd")``, the default): the
solution is checked against the LASSO optimality conditions directly (no solver trusted),
the reported duality gap against a tightly solved reference, and scikit-learn's answer
only after its own optimality conditions were verified."""
import numpy as np
import pytest

from convq import objectives as ob
from convq.optimize import lasso


def _kkt_violation(A, b, mu, x):
    """max over j of the violation of A_j'(b - Ax) = mu sign(x_j) (x_j != 0),
    |A_j'(b - Ax)| <= mu (x_j = 0), relative to mu."""
    c = A.T @ (b - A @ x)
    nz = x != 0
    v_nz = np.abs(c[nz] - mu * np.sign(x[nz])).max(initial=0.0)
    v_z = np.maximum(np.abs(c[~nz]) - mu, 0).max(initial=0.0)
    return max(v_nz, v_z) / mu


def _problem(kind, m, n, seed):
    rng = np.random.default_rng(seed)
    if kind == "correlated":  # Toeplitz correlation 0.9^|i-j| between columns
        Z = rng.standard_normal((m, n))
        A = np.empty((m, n))
        A[:, 0] = Z[:, 0]
        for j in range(1, n):
            A[:, j] = 0.9 * A[:, j - 1] + np.sqrt(1 - 0.81) * Z[:, j]
    else:
        A = rng.standard_normal((m, n))
    xt = np.zeros(n)
    xt[rng.choice(n, max(1, n // 20), replace=False)] = rng.standard_normal(max(1, n // 20)) * 3
    b = A @ xt + 0.3 * rng.standard_normal(m)
    return A, b


@pytest.mark.parametrize("kind", ["plain", "correlated"])
@pytest.mark.parametrize("m, n", [(60, 200), (200, 40)])
@pytest.mark.parametrize("frac", [0.5, 0.1, 0.01])
def test_solution_satisfies_the_optimality_conditions(kind, m, n, frac):
    A, b = _problem(kind, m, n, seed=m + n)
    mu = frac * np.abs(A.T @ b).max()
    res = lasso(A, b, mu, tol=1e-14)
    assert res.success and res.method == "lasso/cd"
    assert _kkt_violation(A, b, mu, res.x) <= 1e-6
    P = ob.Lasso(A, b, mu).value(res.x)
    assert res.fun == pytest.approx(P, rel=1e-13)
    # the gap is a certificate: P(x) - D(theta) >= P(x) - P* >= 0, and below the tolerance
    assert -1e-9 * P <= res.gap <= 1e-14 * (b @ b) + 1e-9 * P
    assert res.dual <= P * (1 + 1e-12)


def test_default_tolerance_is_sklearns_gap_rule():
    A, b = _problem("plain", 80, 300, seed=1)
    mu = 0.1 * np.abs(A.T @ b).max()
    res = lasso(A, b, mu)
    assert res.success and res.gap <= 1e-4 * (b @ b)
    tight = lasso(A, b, mu, tol=1e-14)
    assert res.fun - tight.fun <= res.gap * (1 + 1e-9) + 1e-12  # the gap bounds the suboptimality


def test_agrees_with_sklearn_after_checking_it():
    sk = pytest.importorskip("sklearn.linear_model")
    A, b = _problem("correlated", 100, 150, seed=3)
    m = A.shape[0]
    mu = 0.05 * np.abs(A.T @ b).max()
    w = sk.Lasso(alpha=mu / m, fit_intercept=False, tol=1e-14, max_iter=100000).fit(A, b).coef_
    assert _kkt_violation(A, b, mu, w) <= 1e-5  # sklearn checked before it is trusted
    res = lasso(A, b, mu, tol=1e-14)
    f = ob.Lasso(A, b, mu)
    assert res.fun <= f.value(w) * (1 + 1e-12)
    np.testing.assert_allclose(res.x, w, atol=1e-6 * np.abs(w).max())


def test_variants_agree_and_warm_start():
    A, b = _problem("plain", 50, 120, seed=4)
    mu = 0.05 * np.abs(A.T @ b).max()
    ref = lasso(A, b, mu, tol=1e-14)
    for kw in (dict(anderson=0), dict(ws_start=120), dict(ws_start=1), dict(anderson=10), dict(x0=ref.x * 1.1)):
        r = lasso(A, b, mu, tol=1e-14, **kw)
        assert r.success, kw
        assert r.fun == pytest.approx(ref.fun, rel=1e-11), kw
    # warm start at the solution: converged at once
    assert lasso(A, b, mu, tol=1e-12, x0=ref.x).nit <= ref.nit


def test_edge_cases():
    A, b = _problem("plain", 30, 10, seed=5)
    lmax = np.abs(A.T @ b).max()
    r = lasso(A, b, lmax * 1.0001)  # mu >= ||A'b||_inf: x = 0 exactly, gap 0 at once
    assert r.success and np.all(r.x == 0) and r.nit == 0
    Az = A.copy()
    Az[:, 3] = 0.0  # a zero column never enters
    Az[:, 5] = Az[:, 4]  # duplicated columns: still optimal (the minimiser is not unique)
    r = lasso(Az, b, 0.05 * lmax, tol=1e-14)
    assert r.success and r.x[3] == 0.0 and _kkt_violation(Az, b, 0.05 * lmax, r.x) <= 1e-6
    r = lasso(A, b, 0.01 * lmax, max_iter=1, tol=1e-15)
    assert not r.success and "epochs" in r.message and r.nit == 1
    assert r.fun == pytest.approx(ob.Lasso(A, b, 0.01 * lmax).value(r.x), rel=1e-13)
    with pytest.raises(ValueError, match="mu > 0"):
        lasso(A, b, 0.0, method="cd")
    assert lasso(A, b, 0.0).method != "lasso/cd"  # auto: least squares by FISTA
    for kw, name in ((dict(ws_start=0), "ws_start"), (dict(anderson=11), "anderson"), (dict(anderson=-1), "anderson"),
                     (dict(max_iter=0), "max_iter"), (dict(tol=-1.0), "tol"), (dict(method="celer"), "method")):
        with pytest.raises(ValueError, match=name):
            lasso(A, b, 1.0, **kw)


# ---- lasso_path: warm-started coordinate descent along a grid of mu ------------------------

def _path_kkt(A, b, x, mu):
    """max over j of the LASSO optimality residual: |A_j'r| <= mu where x_j = 0 and
    A_j'r = mu sign(x_j) where x_j != 0 (r = b - Ax), relative to mu."""
    c = A.T @ (b - A @ x)
    act = x != 0
    v_act = np.abs(c[act] - mu * np.sign(x[act])).max(initial=0.0)
    v_in = np.maximum(np.abs(c[~act]) - mu, 0.0).max(initial=0.0)
    return max(v_act, v_in) / mu


def test_lasso_path_solves_every_mu_and_matches_a_checked_sklearn_path():
    from sklearn.linear_model import lasso_path as sk_lasso_path
    from convq.optimize import lasso_path
    rng = np.random.default_rng(5)
    m, n = 80, 120
    A = rng.standard_normal((m, n))
    b = A[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(m)
    path = lasso_path(A, b, n_mus=20, eps=1e-2, tol=1e-12)
    mu_max = np.abs(A.T @ b).max()
    np.testing.assert_allclose(path.mus, np.geomspace(mu_max, 1e-2 * mu_max, 20))
    assert path.converged.all() and path.coefs.shape == (20, n)
    assert np.all(path.gaps <= 1e-12 * (b @ b))
    assert not path.coefs[0].any()  # x(mu_max) = 0
    for mu, x in zip(path.mus, path.coefs):
        assert _path_kkt(A, b, x, mu) <= 1e-4
    # scikit-learn's path (alpha = mu / m), trusted after its own KKT check
    _, sk_coefs, _ = sk_lasso_path(A, b, alphas=path.mus / m, tol=1e-14, max_iter=100000)
    sk_coefs = sk_coefs.T
    for mu, xs, xc in zip(path.mus, sk_coefs, path.coefs):
        assert _path_kkt(A, b, xs, mu) <= 1e-4, "the reference is not optimal"
        P = lambda x: 0.5 * np.sum((A @ x - b) ** 2) + mu * np.abs(x).sum()
        assert P(xc) <= P(xs) * (1 + 1e-10)


def test_lasso_path_warm_starts_save_epochs():
    from convq.optimize import lasso, lasso_path
    rng = np.random.default_rng(6)
    A = rng.standard_normal((100, 300))
    b = A[:, :10] @ rng.standard_normal(10) + 0.1 * rng.standard_normal(100)
    path = lasso_path(A, b, n_mus=15, eps=1e-2, tol=1e-8)
    cold = [lasso(A, b, mu, tol=1e-8) for mu in path.mus]
    for r, x in zip(cold, path.coefs):  # the same solutions ...
        assert r.success
        np.testing.assert_allclose(x, r.x, atol=1e-5 * max(1.0, np.abs(r.x).max()))
    assert path.n_iter.sum() < sum(r.nit for r in cold)  # ... for fewer epochs


def test_lasso_path_bad_input():
    from convq.optimize import lasso_path
    A, b = np.eye(3), np.ones(3)
    for bad, exc in [([], ValueError), ([1.0, -1.0], ValueError), ([np.nan], ValueError), ("x", TypeError)]:
        with pytest.raises(exc, match="mus"):
            lasso_path(A, b, mus=bad)
    with pytest.raises(ValueError, match="n_mus"):
        lasso_path(A, b, n_mus=0)
    with pytest.raises(ValueError, match="eps"):
        lasso_path(A, b, eps=1.5)
    with pytest.raises(ValueError, match="pass mus"):
        lasso_path(A, np.zeros(3))
    r = lasso_path(A, b, mus=[0.5, 2.0])  # sorted decreasing
    np.testing.assert_allclose(r.mus, [2.0, 0.5])
    np.testing.assert_allclose(r.coefs, [[0, 0, 0], [0.5, 0.5, 0.5]], atol=1e-6)


def test_a_warm_start_on_an_empty_column_is_zeroed():
    """A column of zeros leaves only mu |x_j|: its coordinate must go to 0 from any warm start
    (it used to be skipped, so the gap never closed and the run stopped at max_iter)."""
    rng = np.random.default_rng(5)
    A, b = rng.standard_normal((20, 5)), rng.standard_normal(20)
    A[:, 3] = 0.0
    x0 = np.zeros(5)
    x0[3] = 1.0
    res = lasso(A, b, 1.0, method="cd", x0=x0, tol=1e-10)
    ref = lasso(A, b, 1.0, method="cd", tol=1e-10)
    assert res.success and res.x[3] == 0.0
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-8)


def _sparse_problem(m, n, density, seed):
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(seed)
    A = sp.random(m, n, density=density, random_state=seed, format="csc")
    A.data[A.indptr[3]:A.indptr[4]] = 0.0  # an empty column
    A.eliminate_zeros()
    b = A @ np.where(rng.random(n) < 0.05, rng.standard_normal(n), 0.0) + 0.1 * rng.standard_normal(m)
    return A, b


@pytest.mark.parametrize("fmt", ["csc", "csr", "coo"])
@pytest.mark.parametrize("frac", [0.5, 0.05])
def test_sparse_design_matches_the_dense_solution(fmt, frac):
    A, b = _sparse_problem(80, 300, 0.05, 4)
    mu = float(np.abs(A.T @ b).max()) * frac
    rs = lasso(A.asformat(fmt), b, mu, tol=1e-13)
    rd = lasso(A.toarray(), b, mu, tol=1e-13)
    assert rs.success and rs.method == "lasso/cd"
    assert _kkt_violation(A.toarray(), b, mu, rs.x) <= 1e-6
    np.testing.assert_allclose(rs.x, rd.x, rtol=0, atol=1e-8 * max(1.0, np.abs(rd.x).max()))
    assert abs(rs.fun - rd.fun) <= 1e-12 * rd.fun
    assert rs.x[3] == 0.0
    # the NumPy engine runs on the densified A: the dense C run, bit for bit
    np.testing.assert_array_equal(lasso(A, b, mu, tol=1e-13, engine="python").x, rd.x)


def test_sparse_design_duplicates_warm_start_and_bad_input():
    sp = pytest.importorskip("scipy.sparse")
    A, b = _sparse_problem(60, 100, 0.1, 5)
    mu = float(np.abs(A.T @ b).max()) / 10
    ref = lasso(A.toarray(), b, mu, tol=1e-13)
    # every entry stored as two halves: duplicates are summed before the kernel sees them
    dup = sp.csc_matrix((np.repeat(A.data / 2, 2), np.repeat(A.indices, 2), 2 * A.indptr), shape=A.shape)
    assert not dup.has_canonical_format
    np.testing.assert_allclose(lasso(dup, b, mu, tol=1e-13).x, ref.x, atol=1e-8)
    warm = lasso(A, b, mu, tol=1e-13, x0=ref.x)
    assert warm.success and warm.nit <= ref.nit
    with pytest.raises(TypeError, match="method"):
        lasso(A, b, mu, method="fista")
    with pytest.raises(ValueError, match="b"):
        lasso(A, b[:-1], mu)
    with pytest.raises(ValueError, match="mu"):
        lasso(A, b, 0.0)
    bad = A.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="A"):
        lasso(bad, b, mu)
