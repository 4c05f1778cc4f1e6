"""The LASSO by SSNAL (``lasso(method="ssnal")``, Li, Sun & Toh 2018): its answer is checked
against the LASSO optimality conditions directly,

    |A'(b - Ax)|_j <= mu for every j,   A'(b - Ax)_j = mu sign(x_j) where x_j != 0,

and its objective against coordinate descent's (itself KKT-checked), on dense designs with
plain and correlated columns, m < n and m > n, mu = mu_max/10 and mu_max/100."""
import numpy as np
import pytest

from convq.optimize import lasso


def _design(m, n, correlated, seed):
    """A with N(0, 1) entries, or with AR(1) columns of correlation 0.9^|i-j|; b from a sparse
    x with noise."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, n))
    if correlated:
        rho = 0.9
        A = np.empty_like(Z)
        A[:, 0] = Z[:, 0]
        for j in range(1, n):
            A[:, j] = rho * A[:, j - 1] + np.sqrt(1 - rho ** 2) * Z[:, j]
    else:
        A = Z
    x = np.zeros(n)
    x[rng.choice(n, 6, replace=False)] = 3 * rng.standard_normal(6)
    b = A @ x + 0.5 * rng.standard_normal(m)
    return A, b


def _check_kkt(A, b, x, mu, rtol):
    c = A.T @ (b - A @ x)
    assert np.all(np.abs(c) <= mu * (1 + rtol))
    s = x != 0
    assert s.any()
    np.testing.assert_allclose(c[s], mu * np.sign(x[s]), rtol=rtol, atol=0)


@pytest.mark.parametrize("m, n", [(40, 120), (120, 40)])
@pytest.mark.parametrize("correlated", [False, True])
@pytest.mark.parametrize("frac", [10, 100])
def test_kkt_and_agreement_with_cd(m, n, correlated, frac):
    A, b = _design(m, n, correlated, seed=m + 7 * frac + correlated)
    mu = float(np.abs(A.T @ b).max()) / frac
    r = lasso(A, b, mu, method="ssnal", tol=1e-10)
    assert r.success, r.message
    assert r.method == "lasso/ssnal"
    _check_kkt(A, b, r.x, mu, rtol=1e-8)
    bb = float(b @ b)
    assert -1e-12 * bb <= r.gap <= 1e-10 * bb and r.kkt <= 1e-10
    assert r.fun == pytest.approx(0.5 * np.sum((A @ r.x - b) ** 2) + mu * np.abs(r.x).sum(), rel=1e-12)
    assert r.dual <= r.fun
    # the reference, checked before it is trusted
    cd = lasso(A, b, mu, method="cd", tol=1e-14, max_iter=10**6)
    assert cd.success
    _check_kkt(A, b, cd.x, mu, rtol=1e-8)
    assert r.fun == pytest.approx(cd.fun, rel=1e-8)


def test_warm_start_and_limits():
    A, b = _design(60, 150, False, seed=3)
    mu = float(np.abs(A.T @ b).max()) / 20
    r = lasso(A, b, mu, method="ssnal", tol=1e-10)
    assert r.success and r.nit > 1 and r.n_newton >= r.nit - 1
    # started from its own answer, the first check already passes (or one step does)
    w = lasso(A, b, mu, method="ssnal", x0=r.x, tol=1e-9)
    assert w.success and w.nit <= 1
    s = lasso(A, b, mu, method="ssnal", tol=1e-12, max_iter=1)
    assert not s.success and "stopped after 1 iterations" in s.message and s.nit == 1
    # the default tolerance, 1e-6 on the gap (relative to ||b||^2) and the KKT residual
    d = lasso(A, b, mu, method="ssnal")
    assert d.success and d.gap <= 1e-6 * float(b @ b) and d.kkt <= 1e-6


def test_scale_of_the_data_does_not_matter():
    """x(cA, b, c mu) = x(A, b, mu) / c and x(A, cb, c mu) = c x(A, b, mu), far from 1 too."""
    A, b = _design(40, 100, True, seed=8)
    mu = float(np.abs(A.T @ b).max()) / 20
    base = lasso(A, b, mu, method="ssnal", tol=1e-10)
    assert base.success
    for c in (1e-100, 1e100):
        r = lasso(c * A, b, c * mu, method="ssnal", tol=1e-10)
        assert r.success
        _check_kkt(c * A, b, r.x, c * mu, rtol=1e-8)
        np.testing.assert_allclose(c * r.x, base.x, rtol=0, atol=1e-7 * np.abs(base.x).max())
        r = lasso(A, c * b, c * mu, method="ssnal", tol=1e-10)
        assert r.success
        _check_kkt(A, c * b, r.x, c * mu, rtol=1e-8)
        np.testing.assert_allclose(r.x / c, base.x, rtol=0, atol=1e-7 * np.abs(base.x).max())


def test_power_of_two_scalings_give_the_same_run_bit_for_bit():
    # regression: eta and the multiplier update mixed scales (1 + ||x|| + ||r||, x + sigma A'r),
    # so at c = 1e20 or 1e100 the run stalled for max_iter steps with a huge KKT residual
    A, b = _design(40, 100, True, seed=8)
    mu = float(np.abs(A.T @ b).max()) / 20
    base = lasso(A, b, mu, method="ssnal", tol=1e-10)
    for e in (-300, -60, 60, 300):
        c = 2.0 ** e
        r = lasso(c * A, b, c * mu, method="ssnal", tol=1e-10)
        np.testing.assert_array_equal(r.x * c, base.x)
        assert (r.nit, r.n_newton, r.kkt) == (base.nit, base.n_newton, base.kkt)
        r = lasso(A, c * b, c * mu, method="ssnal", tol=1e-10)
        np.testing.assert_array_equal(r.x / c, base.x)
        assert r.gap == base.gap * c * c and r.nit == base.nit


def test_zero_solution_above_mu_max():
    A, b = _design(30, 50, True, seed=5)
    mu = 1.01 * float(np.abs(A.T @ b).max())
    r = lasso(A, b, mu, method="ssnal", tol=1e-10)
    assert r.success
    np.testing.assert_array_equal(r.x, np.zeros(50))


def test_bad_input():
    A, b = _design(20, 30, False, seed=6)
    with pytest.raises(ValueError, match="mu > 0"):
        lasso(A, b, 0.0, method="ssnal")
    with pytest.raises(ValueError, match="mu"):
        lasso(A, b, -1.0, method="ssnal")
    with pytest.raises(ValueError, match="tol"):
        lasso(A, b, 1.0, method="ssnal", tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        lasso(A, b, 1.0, method="ssnal", max_iter=0)
    with pytest.raises(ValueError, match="x0"):
        lasso(A, b, 1.0, method="ssnal", x0=np.zeros(29))
    with pytest.raises(ValueError, match="A"):
        lasso(np.where(A > 2, np.nan, A), b, 1.0, method="ssnal")
    with pytest.raises(ValueError, match="b"):
        lasso(A, b[:-1], 1.0, method="ssnal")
    with pytest.raises(ValueError, match="method"):
        lasso(A, b, 1.0, method="SSNAL")
