r"""Cutting-plane methods for nonsmooth convex minimisation: Kelley's method and a
proximal bundle method (the "cutting-plane methods" entry in the list of methods of the
lecture slides "Gradient method, line search and Barzilai-Borwein steps").

Both build the piecewise-linear model of f from the subgradients g_i at the points x_i met
so far,

    m_k(x) = max_{i <= k} f(x_i) + g_i'(x - x_i)  <=  f(x)   (convexity),

so min m_k is a lower bound on f* and min_i f(x_i) an upper bound; their difference is a
certificate of accuracy.

* Kelley (Kelley, "The cutting-plane method for solving convex programs", J. SIAM 8
  (1960)): x_{k+1} = argmin_{lo <= x <= hi} m_k(x), a linear program in (x, t) solved by
  HiGHS (scipy.optimize.linprog); needs a bounded box. It stops when
  UB - LB <= tol max(1, |UB|).
* Proximal bundle (Lemarechal; Kiwiel, "Proximity control in bundle methods for convex
  nondifferentiable minimization", Math. Programming 46 (1990); the serious/null-step form of
  Bonnans, Gilbert, Lemarechal & Sagastizabal, "Numerical Optimization", 2nd ed., ch. 10):
  from the stability centre xh, the candidate

      x+ = argmin_x m_k(x) + ||x - xh||^2 / (2 tau)

  is the QP in (x, t): min t + ||x - xh||^2 / (2 tau) s.t. f_i + g_i'(x - x_i) <= t,
  solved by a primal-dual interior-point method (Mehrotra predictor-corrector, Nocedal &
  Wright, "Numerical Optimization", Algorithm 16.4) to 1e-12;
  its multipliers lambda (on the simplex) give the aggregate subgradient
  G'lambda = (xh - x+) / tau. The predicted decrease delta = f(xh) - m_k(x+) >= 0; a serious step moves xh
  to x+ when f(xh) - f(x+) >= kappa delta (kappa = 0.1), otherwise the cut at x+ only
  enriches the model (a null step). It stops when delta <= tol max(1, |f(xh)|).
"""
from __future__ import annotations

import numpy as np

from ._result import Result
from ._validation import as_vector, check_int, check_positive

__all__ = ["kelley", "proximal_bundle", "CuttingPlaneResult"]


class CuttingPlaneResult(Result):
    """Result of :func:`kelley` / :func:`proximal_bundle`: ``x``, ``fun``, ``success``,
    ``nit`` (model solves), ``nfev`` (oracle calls), ``message``, and the certificate:
    ``lower_bound`` (Kelley: min of the cutting-plane model, <= f*) or ``predicted_decrease``
    (bundle: f(centre) - model(candidate) at the stop)."""

    _order = ("x", "fun", "success", "message", "nit", "nfev", "lower_bound", "gap", "predicted_decrease",
              "n_serious", "n_cuts")


def _oracle(f):
    """(f, g) from a convq Objective (its value_and_grad: for Hinge and the unsmoothed Lasso the
    kernels return a subgradient) or from a callable returning (value, subgradient)."""
    vg = getattr(f, "value_and_grad", None)
    if vg is None:
        if not callable(f):
            raise TypeError(f"f must be a convq Objective or a callable x -> (value, subgradient), got {type(f).__name__}")
        vg = f

    def fg(x):
        out = vg(x)
        try:
            val, g = out
        except (TypeError, ValueError):
            raise TypeError("f(x) must return (value, subgradient)") from None
        val = float(val)
        g = np.asarray(g, dtype=np.float64)
        if g.shape != x.shape:
            raise ValueError(f"the subgradient returned by f has shape {g.shape}, expected {x.shape}")
        if not np.isfinite(val) or not np.all(np.isfinite(g)):
            raise ValueError(f"f returned a non-finite value or subgradient at x = {x!r}")
        return val, g
    return fg


def _bounds(bounds, n):
    if bounds is None:
        raise ValueError("bounds is required: Kelley's method needs a bounded box (a pair (lo, hi) of arrays or scalars)")
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise TypeError(f"bounds must be a pair (lo, hi), got {type(bounds).__name__}") from None
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (n,)).copy()
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (n,)).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("bounds must be finite: Kelley's linear programs are unbounded on an unbounded box")
    if np.any(lo > hi):
        raise ValueError("bounds must have lo <= hi in every coordinate")
    return lo, hi


def kelley(f, x0, bounds, *, tol=1e-8, max_iter=500):
    """Kelley's cutting-plane method on the box ``bounds = (lo, hi)``.

    Each step minimises the piecewise-linear model of f built from all subgradients so far
    (a linear program, solved by SciPy's HiGHS) and evaluates f there. Stops when the best
    value minus the model's minimum, a certified bound on f(x_best) - f*, is at most
    ``tol * max(1, |f_best|)``; ``success=False`` with a message when ``max_iter`` model
    solves did not get there. Needs SciPy.
    """
    x0 = as_vector(x0, "x0")
    lo, hi = _bounds(bounds, x0.size)
    tol = check_positive(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    fg = _oracle(f)
    x, fx, lb, k, ok, ncuts = _kelley(fg, x0, lo, hi, tol=tol, max_iter=max_iter)
    return CuttingPlaneResult(x=x, fun=fx, success=ok, nit=k, nfev=ncuts, lower_bound=lb, gap=fx - lb,
                              n_cuts=ncuts,
                              message="gap below tol" if ok else "max_iter reached before the gap met tol")


def proximal_bundle(f, x0, *, tau=1.0, tol=1e-9, max_iter=1000, max_cuts=100):
    """Proximal bundle method (serious and null steps) for an unconstrained convex f.

    ``tau`` is the proximal parameter (step length scale), ``max_cuts`` the bundle size
    kept (the cuts with the largest dual weights, plus the newest). Stops when the
    predicted decrease f(centre) - model(candidate) is at most ``tol * max(1, |f|)``, where
    the centre is tau-approximately optimal; ``success=False`` with a message otherwise.
    """
    x0 = as_vector(x0, "x0")
    tau = check_positive(tau, "tau")
    tol = check_positive(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    max_cuts = check_int(max_cuts, "max_cuts", minimum=2, maximum=10**5)
    fg = _oracle(f)
    x, fx, k, ok, serious, delta, nfev = _bundle(fg, x0, tol=tol, max_iter=max_iter, tau=tau, max_cuts=max_cuts)
    return CuttingPlaneResult(x=x, fun=fx, success=ok, nit=k, nfev=nfev, predicted_decrease=delta,
                              n_serious=serious,
                              message="predicted decrease below tol" if ok else "max_iter reached")


def _kelley(fg, x0, lo, hi, *, tol, max_iter):
    """Kelley's method on validated inputs; fg(x) -> (f, g). Returns
    (x_best, f_best, lower_bound, n_iter, converged, n_cuts)."""
    from ._optional import import_optional
    linprog = import_optional("scipy.optimize", "method='kelley' (its linear programs go to HiGHS)").linprog
    n = x0.size
    cuts_g, cuts_c = [], []   # t >= g'x + c with c = f_i - g_i'x_i
    x = np.clip(x0, lo, hi)
    best_x, best_f, lb = x.copy(), np.inf, -np.inf
    k = 0
    converged = False
    for k in range(1, max_iter + 1):
        f, g = fg(x)
        if f < best_f:
            best_x, best_f = x.copy(), f
        cuts_g.append(g)
        cuts_c.append(f - g @ x)
        if best_f - lb <= tol * max(1.0, abs(best_f)):
            converged = True
            break
        # min t  s.t.  g_i'x - t <= -c_i,  lo <= x <= hi,  t free
        G = np.asarray(cuts_g)
        A_ub = np.hstack([G, -np.ones((G.shape[0], 1))])
        b_ub = -np.asarray(cuts_c)
        cost = np.zeros(n + 1)
        cost[-1] = 1.0
        bounds = [(lo[j], hi[j]) for j in range(n)] + [(None, None)]
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"Kelley's linear program failed: {res.message}")
        x = np.clip(res.x[:n], lo, hi)
        lb = max(lb, float(res.x[-1]))
    return best_x, float(best_f), float(lb), k, converged, len(cuts_g)


def _bundle(fg, x0, *, tol, max_iter, tau=1.0, kappa=0.1, max_cuts=100):
    """Proximal bundle method on validated inputs; fg(x) -> (f, g). Returns
    (x_centre, f_centre, n_iter, converged, n_serious, delta, n_oracle_calls)."""
    from ._interior_point import inequality_qp_interior_point
    n = x0.size
    xh = x0.copy()
    fh, gh = fg(xh)
    nfev = 1
    pts, fs, gs = [xh.copy()], [fh], [gh]
    lam = np.ones(1)
    k, serious, converged, delta = 0, 0, False, np.inf
    Q = np.zeros((n + 1, n + 1))
    Q[:n, :n] = np.eye(n) / tau
    for k in range(1, max_iter + 1):
        G = np.asarray(gs)
        X = np.asarray(pts)
        a = np.asarray(fs) + np.einsum("ij,ij->i", G, xh - X)  # cut values at the centre
        # in d = x - xh:  min t + ||d||^2/(2 tau)  s.t.  g_i'd - t <= -a_i
        sol, lam, _, _ = inequality_qp_interior_point(Q, np.r_[np.zeros(n), 1.0],
                                                      np.hstack([G, -np.ones((G.shape[0], 1))]), -a)
        x_new = xh + sol[:n]
        model = float(np.max(np.asarray(fs) + np.einsum("ij,ij->i", G, x_new - X)))
        delta = fh - model
        if delta <= tol * max(1.0, abs(fh)):
            converged = True
            k -= 1
            break
        f_new, g_new = fg(x_new)
        nfev += 1
        if fh - f_new >= kappa * delta:
            xh, fh = x_new, f_new
            serious += 1
        pts.append(x_new)
        fs.append(f_new)
        gs.append(g_new)
        lam = np.append(lam, 0.0)
        if len(gs) > max_cuts:  # keep the cuts the dual uses (plus the newest)
            keep = np.argsort(lam[:-1])[::-1][:max_cuts // 2].tolist() + [len(gs) - 1]
            keep = sorted(set(keep))
            pts = [pts[i] for i in keep]
            fs = [fs[i] for i in keep]
            gs = [gs[i] for i in keep]
            lam = lam[keep]
            lam = lam / lam.sum() if lam.sum() > 0 else np.full(len(keep), 1.0 / len(keep))
    return xh, float(fh), k, converged, serious, float(delta), nfev
