r"""SSNAL for the LASSO: a semismooth Newton augmented Lagrangian method on the dual.

Problem (P):  min_x 1/2 ||Ax - b||^2 + mu ||x||_1,  mu > 0. Its dual, written as a
minimisation with the split z = A'theta,

    (D)  min_{theta, z}  1/2 ||theta||^2 - <b, theta> + delta(z)   s.t.  A'theta - z = 0,

delta the indicator of {||z||_inf <= mu}; at a solution theta = b - Ax. This follows Li, Sun
& Toh, "A highly efficient semismooth Newton augmented Lagrangian method for solving Lasso
problems", SIAM J. Optim. 28 (2018) 433-458 (their (D) with xi = theta, y = -z).

Augmented Lagrangian method (their Algorithm Ssnal), the primal x the
multiplier of the constraint and sigma_k > 0 the penalty:

    theta^{k+1} ~ argmin psi_k(theta),
        psi_k(theta) = 1/2 ||theta||^2 - <b, theta> + 1/(2 sigma_k) ||S(x^k + sigma_k A'theta)||^2
                       (- ||x^k||^2 / (2 sigma_k)),
    x^{k+1} = S(x^k + sigma_k A'theta^{k+1}),     sigma_{k+1} = min(5 sigma_k, 10^4 sigma_0),

S(u) = sign(u) max(|u| - sigma_k mu, 0) the soft-thresholding (z was minimised out in closed
form: z = the projection of A'theta + x^k/sigma_k onto the box), so every x^k is exactly sparse.
grad psi_k(theta) = theta - b + A S(x^k + sigma_k A'theta). The start is x^0 = x0 (default
0), theta^0 = b - A x^0 and sigma_0 = 1 / ||A||_2^2 (a power-iteration estimate), where the
Newton matrix below is well conditioned. sigma grows geometrically, as the convergence theory
allows (sigma_k nondecreasing), and stops at 10^4 sigma_0: the multiplier update carries
sigma_k times the rounding of A'theta into x, so a larger sigma would cost accuracy.

Each psi_k (1-strongly convex, with a strongly semismooth gradient) is minimised by their
semismooth Newton method (their Algorithm SSN): with J = {j : |x^k_j + sigma_k
(A'theta)_j| > sigma_k mu}, the generalized Hessian V = I + sigma_k A_J A_J' uses only the
columns of A in J, and the Newton direction solves V d = -grad psi_k(theta) exactly, by a
Cholesky factor of I_m + sigma_k A_J A_J' when |J| >= m, else of the |J| x |J| matrix
I + sigma_k A_J'A_J in the Woodbury form d = -g + sigma_k A_J (I + sigma_k A_J'A_J)^{-1} A_J'g.
The step is their Armijo line search: the first t = delta^i (delta = 1/2) with
psi_k(theta + t d) <= psi_k(theta) + mu_ls t <grad psi_k(theta), d> (mu_ls = 1e-4), the
difference psi_k(theta + t d) - psi_k(theta) summed term by term (so that the test keeps its
accuracy when the decrease is far below psi_k itself); a trial costs O(n + m), A'd being
computed once per direction.

The Newton loop for psi_k stops on the paper's criteria (A), (B1) and (B2) for the inexact
subproblem solutions, all three at once, made checkable through
psi_k(theta) - inf psi_k <= ||grad psi_k(theta)||^2 / 2 (psi_k is 1-strongly convex):

    ||grad psi_k(theta)|| <= min(eps_k / sqrt(sigma_k), delta_k / sqrt(sigma_k) ||x^{k+1} - x^k||,
                                 delta_k / sigma_k ||x^{k+1} - x^k||),

with the summable eps_k = ||b|| sqrt(sigma_0) / (k+1)^2 and delta_k = min(1/2, 1/(k+1)^2),
x^{k+1} the multiplier that theta would give. As rounding permits nothing better, it also
stops when the gradient is at the rounding of its terms, when the line search cannot decrease
psi_k, when 5 Newton steps in a row fail to halve the smallest gradient norm so far, or after
50 Newton steps.

The method stops after the multiplier update when both
* the duality gap P(x) - D <= tol ||b||^2, the rule of the coordinate-descent and ADMM
  LASSO solvers of :func:`convq.optimize.lasso` (D is the better of the dual values of theta
  and of the residual b - Ax, each scaled into the dual feasible set ||A'theta||_inf <= mu,
  so the gap certifies P(x) - P* <= tol ||b||^2), and
* the relative KKT residual the paper's experiments stop on,
  eta = ||x - prox_{mu||.||_1}(x - A'(Ax - b))|| / (1 + ||x|| + ||Ax - b||) <= tol.
In double precision eta bottoms out near 10^-12 on well-scaled data, so tol below about
1e-11 may not be reachable (the run then reports success = False after max_iter steps).

Scale. The method runs on the problem normalised by two powers of two, A = s Â, b = t b̂,
mu = s t mû, x = (t/s) x̂, with s ~ ||A||_2 and t ~ ||b||: multiplying by a power of two is
exact, so (cA, b, c mu) and (A, cb, c mu) give the same iterates as (A, b, mu) up to the
scale (bit for bit when c is a power of two), however far c is from 1 -- the mixed-scale sums
above (x + sigma A'theta, 1 + ||x|| + ||Ax - b||) would otherwise lose x entirely when ||A||
is far from 1. primal, dual and gap are returned in the caller's units (times t^2), eta (a
relative residual) as measured on the normalised problem, sigma in the caller's units (the
penalty for A: sigma_hat / s^2).
"""
from __future__ import annotations

import math

import numpy as np

from ._admm import _solve

__all__ = ["lasso_ssnal"]

_LS_MU = 1e-4       # Armijo's sufficient-decrease constant
_LS_DELTA = 0.5     # step reduction of the line search
_LS_MAX = 60        # reductions before the line search gives up
_SIGMA_GROWTH = 5.0
_SIGMA_SPAN = 1e4   # sigma_max = _SIGMA_SPAN sigma_0 (see the module docstring)
_EPS = np.finfo(float).eps
_SLOW_MAX = 5       # Newton steps in a row that fail to halve the best gradient norm


def _soft(u, t):
    return np.sign(u) * np.maximum(np.abs(u) - t, 0.0)


def _cholesky_solve(M, r):
    """Solve M y = r for symmetric positive definite M by a Cholesky factor."""
    return _solve(np.linalg.cholesky(M), r)


def _newton_direction(A, J, sigma, g):
    """d = -(I + sigma A_J A_J')^{-1} g, by Cholesky in whichever of the two sizes is smaller."""
    m = A.shape[0]
    s = int(J.size)
    if s == 0:
        return -g
    B = A[:, J]
    if s < m:  # Woodbury: (I + sigma B B')^{-1} = I - sigma B (I + sigma B'B)^{-1} B'
        M = sigma * (B.T @ B)
        M[np.diag_indices_from(M)] += 1.0
        return -g + sigma * (B @ _cholesky_solve(M, B.T @ g))
    M = sigma * (B @ B.T)
    M[np.diag_indices_from(M)] += 1.0
    return -_cholesky_solve(M, g)


def _spectral_norm_sq(A, iters=30):
    """||A||_2^2 by a deterministic power iteration on A'A (an estimate from below), on A
    scaled to max |A_ij| = 1 so that the squares neither overflow nor underflow."""
    scale = float(np.abs(A).max(initial=0.0))
    if scale == 0.0:
        return 0.0
    A = A / scale
    n = A.shape[1]
    v = np.full(n, 1.0 / math.sqrt(n)) + np.linspace(0.0, 1e-3, n)  # no exact orthogonality to the top vector
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(iters):
        w = A.T @ (A @ v)
        nw = float(np.linalg.norm(w))
        if nw == 0.0:
            return 0.0
        lam = float(v @ w)
        v = w / nw
    return max(lam, float(np.max(np.einsum("ij,ij->j", A, A)))) * scale * scale


def _gap(A, b, x, theta, mu):
    """(primal, dual, gap, eta): the dual value is the better of theta's and the residual's,
    each scaled into {||A'theta||_inf <= mu}; eta is the paper's relative KKT residual."""
    r = b - A @ x
    primal = 0.5 * float(r @ r) + mu * float(np.abs(x).sum())
    Atr = A.T @ r
    dual = -np.inf
    for th, Ath in ((r, Atr), (theta, A.T @ theta)):
        th = th / max(1.0, float(np.abs(Ath).max(initial=0.0)) / mu)
        dual = max(dual, float(th @ b) - 0.5 * float(th @ th))
    eta = float(np.linalg.norm(x - _soft(x + Atr, mu))) / (1.0 + float(np.linalg.norm(x)) + float(np.linalg.norm(r)))
    return primal, dual, primal - dual, eta


def _pow2(v):
    """The power of two nearest to v > 0 (1 for v = 0 or a non-finite v)."""
    return math.ldexp(1.0, math.frexp(v)[1] - 1) if v > 0 and math.isfinite(v) else 1.0


def lasso_ssnal(A, b, mu, x0, *, tol, max_iter, sigma=None, max_newton=50):
    """SSNAL on validated inputs (A: m x n float, b: m, mu > 0, x0: n), run on the problem
    normalised by powers of two (see the module docstring).

    Returns (x, n_outer, n_newton, converged, primal, dual, gap, eta, sigma)."""
    s = _pow2(math.sqrt(_spectral_norm_sq(A)))
    t = _pow2(float(np.linalg.norm(b)))
    x, k, n_newton, ok, primal, dual, gap, eta, sig = _ssnal(
        A / s, b / t, mu / (s * t), np.asarray(x0, dtype=float) * (s / t), tol=tol, max_iter=max_iter,
        sigma=None if sigma is None else sigma * (s * s), max_newton=max_newton)
    t2 = t * t
    return x * (t / s), k, n_newton, ok, primal * t2, dual * t2, gap * t2, eta, sig / (s * s)


def _ssnal(A, b, mu, x0, *, tol, max_iter, sigma, max_newton):
    m, n = A.shape
    bb = float(b @ b)
    nb = math.sqrt(bb)
    if sigma is None:  # the scale at which V = I + sigma A_J A_J' is well conditioned
        L = _spectral_norm_sq(A)
        sigma = 1.0 / L if L > 0 else 1.0
    sigma0 = sigma
    sigma_max = _SIGMA_SPAN * sigma0
    x = np.array(x0, dtype=float, copy=True)
    theta = b - A @ x
    Atheta = A.T @ theta
    n_newton = 0
    converged = False
    primal, dual, gap, eta = _gap(A, b, x, theta, mu)
    if gap <= tol * bb and eta <= tol:
        return x, 0, 0, True, primal, dual, gap, eta, sigma
    k = 0
    for k in range(1, max_iter + 1):
        thr = sigma * mu
        eps_k = nb * math.sqrt(sigma0) / k ** 2
        delta_k = min(0.5, 1.0 / k ** 2)

        Atheta = A.T @ theta  # fresh each outer step: the increments below drift by rounding
        xn = _soft(x + sigma * Atheta, thr)
        best, slow = math.inf, 0
        for _ in range(max_newton):
            J = np.flatnonzero(xn)
            Ax = A[:, J] @ xn[J] if J.size else np.zeros(m)
            g = theta - b + Ax
            gn = float(np.linalg.norm(g))
            dx = float(np.linalg.norm(xn - x))
            if gn <= min(eps_k / math.sqrt(sigma), delta_k * dx / math.sqrt(sigma), delta_k * dx / sigma):
                break  # (A), (B1) and (B2)
            if gn <= 8 * _EPS * (float(np.linalg.norm(theta)) + nb + float(np.linalg.norm(Ax))):
                break  # g is at the rounding of its own terms
            if gn < 0.5 * best:
                best, slow = gn, 0
            else:
                slow += 1
                if slow >= _SLOW_MAX:
                    break  # Newton no longer converges: stalled at rounding
            d = _newton_direction(A, J, sigma, g)
            Atd = A.T @ d
            slope = float(g @ d)
            if not slope < 0.0:
                break  # rounding: no descent direction left
            # psi(theta + t d) - psi(theta), summed from differences so that it keeps its
            # accuracy when it is far below the size of psi itself
            c1, c2 = float((theta - b) @ d), 0.5 * float(d @ d)
            t = 1.0
            for _ in range(_LS_MAX):
                ut = _soft(x + sigma * (Atheta + t * Atd), thr)
                dpsi = t * c1 + t * t * c2 + float((ut - xn) @ (ut + xn)) / (2.0 * sigma)
                if dpsi <= _LS_MU * t * slope:
                    break
                t *= _LS_DELTA
            else:
                break  # the line search failed: psi_k is minimised to rounding
            theta_new = theta + t * d
            n_newton += 1
            stalled = np.array_equal(theta_new, theta)
            theta = theta_new
            Atheta = Atheta + t * Atd
            xn = ut
            if stalled:
                break  # the step is below the rounding of theta
        x = xn  # the multiplier update x^{k+1} = S(x^k + sigma_k A'theta^{k+1})
        primal, dual, gap, eta = _gap(A, b, x, theta, mu)
        if gap <= tol * bb and eta <= tol:
            converged = True
            break
        sigma = min(_SIGMA_GROWTH * sigma, sigma_max)
    return x, k, n_newton, converged, primal, dual, gap, eta, sigma
