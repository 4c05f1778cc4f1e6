r"""ADMM for the LASSO: the splitting / alternating-minimisation method of the course outline.

Problem:  min_x 1/2 ||Ax - b||^2 + mu ||x||_1, written as  min f(x) + g(z)  s.t.  x = z
with f = 1/2 ||A . - b||^2 and g = mu ||.||_1. The scaled-form iteration (Boyd, Parikh, Chu,
Peleato & Eckstein, "Distributed Optimization and Statistical Learning via the Alternating
Direction Method of Multipliers", Foundations and Trends in ML 3 (2011), section 6.4) is

    x^{k+1} = (A'A + rho I)^{-1} (A'b + rho (z^k - u^k))      (a ridge solve)
    z^{k+1} = S_{mu/rho}(x^{k+1} + u^k)                       (soft thresholding)
    u^{k+1} = u^k + x^{k+1} - z^{k+1}                          (the scaled multiplier)

with primal residual r = x - z and dual residual s = rho (z^k - z^{k+1}) (section 3.3).
The ridge solve uses one Cholesky factor, of A'A + rho I (n <= m) or, through the matrix
inversion lemma, of AA' + rho I (n > m); rho is rebalanced by the residual-balancing rule
of section 3.4.1 (rho x/ 2 when one residual exceeds 10x the other), refactoring each time.
The iterate reported is z (exactly sparse), and the run stops on the same duality gap as
:func:`convq.optimize.lasso`'s coordinate descent: with r = b - Az the dual point
theta = r / max(1, ||A'r||_inf / mu) gives P(z) - D(theta) >= P(z) - P*.
"""
from __future__ import annotations

import numpy as np

__all__ = ["lasso_admm"]


def _factor(A, rho, wide):
    """Cholesky factor L (lower) of AA' + rho I (wide) or A'A + rho I."""
    G = A @ A.T if wide else A.T @ A
    G[np.diag_indices_from(G)] += rho
    return np.linalg.cholesky(G)


def _solve(L, r):
    try:
        from scipy.linalg import solve_triangular
    except ImportError:  # pragma: no cover - NumPy only
        return np.linalg.solve(L.T, np.linalg.solve(L, r))
    return solve_triangular(L.T, solve_triangular(L, r, lower=True, check_finite=False), lower=False,
                            check_finite=False)


def lasso_gap(A, b, x, mu):
    """(primal, dual, gap) at x with the rescaled residual as the dual point."""
    r = b - A @ x
    primal = 0.5 * float(r @ r) + mu * float(np.abs(x).sum())
    c = float(np.abs(A.T @ r).max(initial=0.0))
    theta = r / max(1.0, c / mu)
    dual = float(theta @ b) - 0.5 * float(theta @ theta)
    return primal, dual, primal - dual


def lasso_admm(A, b, mu, x0, *, tol, max_iter, rho=None, check_every=10):
    """ADMM on validated inputs; returns (z, n_iter, converged, gap, primal, dual, rho)."""
    m, n = A.shape
    Atb = A.T @ b
    wide = n > m
    if rho is None:  # the scale of A'A: its average eigenvalue
        rho = max(float(np.einsum("ij,ij->", A, A)) / max(n, 1), 1e-12)
    L = _factor(A, rho, wide)
    z = x0.copy()
    u = np.zeros(n)
    bb = float(b @ b)
    gap, primal, dual = np.inf, np.inf, -np.inf
    converged = False
    k = 0
    for k in range(1, max_iter + 1):
        q = Atb + rho * (z - u)
        if wide:  # (A'A + rho I)^{-1} q = (q - A'(AA' + rho I)^{-1} A q) / rho
            x = (q - A.T @ _solve(L, A @ q)) / rho
        else:
            x = _solve(L, q)
        z_old = z
        v = x + u
        z = np.sign(v) * np.maximum(np.abs(v) - mu / rho, 0.0)
        u = u + x - z
        if k % check_every == 0 or k == max_iter:
            primal, dual, gap = lasso_gap(A, b, z, mu)
            if gap <= tol * bb:
                converged = True
                break
            r_norm = float(np.linalg.norm(x - z))
            s_norm = rho * float(np.linalg.norm(z - z_old))
            if r_norm > 10.0 * s_norm or s_norm > 10.0 * r_norm:
                factor = 2.0 if r_norm > s_norm else 0.5
                rho *= factor
                u /= factor  # the scaled multiplier is y / rho
                L = _factor(A, rho, wide)
    if not np.isfinite(gap):
        primal, dual, gap = lasso_gap(A, b, z, mu)
    return z, k, converged, gap, primal, dual, rho
