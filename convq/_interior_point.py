r"""A primal-dual interior-point method for box-constrained convex quadratic programs.

Problem:  min_x 1/2 x'Qx + c'x  subject to  lo <= x <= hi  (Q symmetric positive
semidefinite; bounds may be infinite). With slacks s_l = x - lo, s_u = hi - x and their
multipliers z_l, z_u >= 0, the optimality (KKT) conditions are

    r_d = Qx + c - z_l + z_u = 0,   s_l z_l = 0,   s_u z_u = 0,   s, z >= 0.

Each iteration takes a Newton step on the perturbed conditions s z = tau: eliminating
dz_l, dz_u leaves one symmetric positive definite system

    (Q + Z_l S_l^{-1} + Z_u S_u^{-1}) dx = -r_d + (tau - s_l z_l - c_l) / s_l - (tau - s_u z_u - c_u) / s_u,

solved by Cholesky (LAPACK through NumPy). The centring tau = sigma mu, sigma = (mu_aff /
mu)^3 and the second-order corrections c = ds_aff dz_aff are Mehrotra's predictor-corrector
(Nocedal & Wright, "Numerical Optimization", 2nd ed., section 16.6 and Algorithm 16.4 / 14.3;
Mehrotra, SIAM J. Optim. 2 (1992)); steps stay a fraction 0.995 inside the positive orthant.
It stops when the dual residual is below ``tol`` (scaled by 1 + max(|c|, |Q|)) and the
complementarity s'z -- for a convex QP, the duality gap of a primal-dual feasible pair,
hence a bound on f(x) - f* -- is below ``tol`` max(1, |f(x)|).

This is the course outline's "interior-point methods" for the problems the library meets:
box QPs and the LASSO as a QP over (x+, x-) >= 0 (:func:`convq.optimize.lasso`,
``method="interior-point"``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["box_qp_interior_point", "inequality_qp_interior_point"]


def _chol_solve(H, r):
    """Solve H d = r for symmetric positive definite H (Cholesky, two triangular solves)."""
    try:
        from scipy.linalg import cho_factor, cho_solve
    except ImportError:  # pragma: no cover - NumPy only
        cho_factor = None
    try:
        if cho_factor is None:
            return np.linalg.solve(H, r)
        return cho_solve(cho_factor(H, lower=True, check_finite=False), r, check_finite=False)
    except np.linalg.LinAlgError:
        # near the end the barrier terms z/s of active constraints grow without bound and
        # rounding can cost H its definiteness: a least-squares solve is still accurate
        return np.linalg.lstsq(H, r, rcond=None)[0]


def _max_step(v, dv):
    """Largest a in (0, 1] with v + a dv >= 0 (v > 0)."""
    neg = dv < 0
    if not np.any(neg):
        return 1.0
    return float(min(1.0, np.min(-v[neg] / dv[neg])))


def box_qp_interior_point(Q, c, lo, hi, *, tol=1e-10, max_iter=200, x0=None):
    """Mehrotra predictor-corrector for min 1/2 x'Qx + c'x, lo <= x <= hi (validated inputs).

    Returns (x, z_lo, z_hi, n_iter, converged, dual_residual, mean complementarity)."""
    n = c.size
    has_l, has_u = np.isfinite(lo), np.isfinite(hi)
    # a strictly interior start: the box centre, or one unit inside a single bound
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    both = has_l & has_u
    x[both] = 0.5 * (lo[both] + hi[both]) if x0 is None else np.clip(x[both], lo[both] + 1e-3 * (hi[both] - lo[both]),
                                                                    hi[both] - 1e-3 * (hi[both] - lo[both]))
    only_l, only_u = has_l & ~has_u, has_u & ~has_l
    x[only_l] = np.maximum(x[only_l], lo[only_l] + 1.0)
    x[only_u] = np.minimum(x[only_u], hi[only_u] - 1.0)
    zl = np.where(has_l, 1.0, 0.0)
    zu = np.where(has_u, 1.0, 0.0)
    n_compl = max(1, int(has_l.sum() + has_u.sum()))
    scale = 1.0 + max(float(np.abs(c).max(initial=0.0)), float(np.abs(Q).max(initial=0.0)))
    sl = np.where(has_l, x - lo, 1.0)
    su = np.where(has_u, hi - x, 1.0)
    converged, rd_norm, mu = False, np.inf, np.inf
    k = 0
    for k in range(1, max_iter + 1):
        sl = np.where(has_l, x - lo, 1.0)
        su = np.where(has_u, hi - x, 1.0)
        rd = Q @ x + c - zl + zu
        mu = float((sl[has_l] @ zl[has_l] + su[has_u] @ zu[has_u]) / n_compl)
        rd_norm = float(np.abs(rd).max(initial=0.0))
        gap = mu * n_compl  # = s'z, the duality gap of a primal-dual feasible pair
        if rd_norm <= tol * scale and gap <= tol * max(1.0, abs(0.5 * x @ (Q @ x) + c @ x)):
            converged = True
            k -= 1
            break
        dl = np.where(has_l, zl / sl, 0.0)
        du = np.where(has_u, zu / su, 0.0)
        H = Q + np.diag(dl + du)

        def direction(tau, cl, cu):
            # complementarity targets per side (zero where there is no bound)
            tl = np.where(has_l, (tau - sl * zl - cl) / sl, 0.0)
            tu = np.where(has_u, (tau - su * zu - cu) / su, 0.0)
            dx = _chol_solve(H, -rd + tl - tu)
            dzl = np.where(has_l, tl - dl * dx, 0.0)
            dzu = np.where(has_u, tu + du * dx, 0.0)
            return dx, dzl, dzu

        # predictor (affine scaling, tau = 0)
        dx, dzl, dzu = direction(0.0, 0.0, 0.0)
        dsl, dsu = dx, -dx
        a_p = min(_max_step(sl[has_l], dsl[has_l]), _max_step(su[has_u], dsu[has_u]))
        a_d = min(_max_step(zl[has_l], dzl[has_l]), _max_step(zu[has_u], dzu[has_u]))
        mu_aff = float(((sl + a_p * dsl)[has_l] @ (zl + a_d * dzl)[has_l]
                        + (su + a_p * dsu)[has_u] @ (zu + a_d * dzu)[has_u]) / n_compl)
        sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
        # corrector: centring sigma mu and the second-order terms ds_aff dz_aff
        dx, dzl, dzu = direction(sigma * mu, np.where(has_l, dsl * dzl, 0.0), np.where(has_u, dsu * dzu, 0.0))
        dsl, dsu = dx, -dx
        a_p = min(_max_step(sl[has_l], dsl[has_l]), _max_step(su[has_u], dsu[has_u]))
        a_d = min(_max_step(zl[has_l], dzl[has_l]), _max_step(zu[has_u], dzu[has_u]))
        a_p, a_d = min(1.0, 0.995 * a_p), min(1.0, 0.995 * a_d)
        # a convex QP couples x and z through Q: one common step keeps the Newton direction
        a = min(a_p, a_d)
        x = x + a * dx
        zl = zl + a * dzl
        zu = zu + a * dzu
    else:
        k = max_iter
    return x, zl, zu, k, converged, rd_norm, mu


def inequality_qp_interior_point(Q, c, A, b, *, tol=1e-12, max_iter=100):
    """Mehrotra predictor-corrector for min 1/2 x'Qx + c'x s.t. Ax <= b (Nocedal & Wright,
    Algorithm 16.4): with slacks s = b - Ax > 0 and multipliers z > 0 the Newton system
    reduces to (Q + A' diag(z/s) A) dx = r, which must be positive definite (Q + A'A
    nonsingular). The start needs a strictly feasible x only through s = max(b - Ax, 1).
    Returns (x, z, n_iter, converged)."""
    n, mc = c.size, b.size
    x = np.zeros(n)
    s = np.maximum(b - A @ x, 1.0)
    z = np.ones(mc)
    scale = 1.0 + max(float(np.abs(c).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
    converged = False
    k = 0
    for k in range(1, max_iter + 1):
        rd = Q @ x + c + A.T @ z
        rp = A @ x + s - b
        mu = float(s @ z) / mc
        if (np.abs(rd).max(initial=0.0) <= tol * scale and np.abs(rp).max(initial=0.0) <= tol * scale
                and mu * mc <= tol * max(1.0, abs(0.5 * x @ (Q @ x) + c @ x))):
            converged = True
            k -= 1
            break
        D = z / s
        H = Q + (A.T * D) @ A

        def direction(tau, corr):
            # s z = tau - corr linearised: z ds + s dz = tau - s z - corr; ds = -rp - A dx
            rc = tau - s * z - corr
            dx = _chol_solve(H, -rd - A.T @ ((rc + z * rp) / s))
            ds = -rp - A @ dx
            dz = (rc - z * ds) / s
            return dx, ds, dz

        dx, ds, dz = direction(0.0, 0.0)
        a_p, a_d = _max_step(s, ds), _max_step(z, dz)
        mu_aff = float((s + a_p * ds) @ (z + a_d * dz)) / mc
        sigma = (mu_aff / mu) ** 3 if mu > 0 else 0.0
        dx, ds, dz = direction(sigma * mu, ds * dz)
        a_p, a_d = min(1.0, 0.995 * _max_step(s, ds)), min(1.0, 0.995 * _max_step(z, dz))
        a = min(a_p, a_d)
        x, s, z = x + a * dx, s + a * ds, z + a * dz
    else:
        k = max_iter
    return x, z, k, converged
