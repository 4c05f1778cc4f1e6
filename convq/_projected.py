r"""Bound-constrained minimisation by projection (``minimize(..., bounds=...)``): NumPy loops.

The feasible set is the box {lo <= x <= hi}; P(v) = clip(v, lo, hi) is the projection onto
it. Every method stops when the norm of the projected gradient x - P(x - grad f(x))
(for the proximal methods: the gradient mapping) is at most ``tol``: it is zero exactly at
the points that satisfy the first-order (KKT) conditions of the box.

* ``"gd"``: the projected gradient method x+ = P(x - t g), with a fixed t or the Armijo rule
  along the projection arc, f(P(x - t g)) <= f(x) + alpha g'(P(x - t g) - x), t halved
  (by ``beta``) from ``t`` (Bertsekas, "Nonlinear Programming", 2nd ed., section 2.3).
* ``"bb"``: the spectral projected gradient method SPG2 of Birgin, Martinez & Raydan,
  "Nonmonotone spectral projected gradient methods on convex sets" (SIAM J. Optim. 10,
  2000): d = P(x - lambda g) - x with the Barzilai-Borwein step lambda clipped to
  [t_min, t_max], backtracking x + s d, s = 1, beta, beta^2, ... until
  f(x + s d) <= max of the last ``memory`` values + alpha s g'd.
* ``"proximal"`` / ``"fista"``: proximal gradient / FISTA (Beck & Teboulle, "A Fast
  Iterative Shrinkage-Thresholding Algorithm for Linear Inverse Problems", SIAM J.
  Imaging Sci. 2, 2009) for f + l1 ||x||_1 + indicator of the box, whose proximal map
  is clip(soft(v, t l1), lo, hi) coordinate by coordinate.
* ``"lbfgs"``: projected L-BFGS in the manner of Kim, Sra & Dhillon, "Tackling
  box-constrained optimization via a new projected quasi-Newton approach" (SIAM J. Sci.
  Comput. 32, 2010): the variables at a bound whose gradient points out of the box are
  held fixed, the L-BFGS direction (two-loop recursion, Nocedal & Wright Algorithm 7.4)
  is computed on the others, and x+ = P(x + t d) is accepted by the Armijo rule along the
  projection arc. This is not SciPy's L-BFGS-B (Byrd, Lu, Nocedal & Zhu), which finds a
  generalised Cauchy point first; both converge to the same KKT points.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .slow.optimize import _frame, _result, _soft, _two_loop

__all__ = ["projected_loop", "METHODS"]

METHODS = ("gd", "bb", "proximal", "fista", "lbfgs")
_MAX_BACKTRACK = 60
_EPS16 = 16 * 2.220446049250313e-16


def projected_loop(obj, x, lo, hi, method, step, tol, max_iter, o, cb):
    """Run ``method`` on min f(x) s.t. lo <= x <= hi from x (projected first); returns the
    result dict of the NumPy loops (x, fun, grad_norm, nit, nfev, ngev, status, trace)."""
    counts = {"f": 0, "g": 0}
    tr = {"fun": [], "grad_norm": [], "step": [], "time": []}
    t_start = time.perf_counter()

    def P(v):
        return np.minimum(np.maximum(v, lo), hi)

    def fgrad(v):
        counts["f"] += 1
        counts["g"] += 1
        try:
            return obj.value_and_grad(v)
        except ValueError:      # a built-in objective that overflows: +inf, as the unbounded loops do
            return math.inf, np.full(v.size, np.nan)

    def record(F, gn, t):
        for key, v in (("fun", F), ("grad_norm", gn), ("step", t), ("time", time.perf_counter() - t_start)):
            tr[key].append(v)

    def pgnorm(v, g):
        return float(np.linalg.norm(v - P(v - g)))

    x = P(x)
    f, g = fgrad(x)
    l1 = o["l1"] if method in ("proximal", "fista") else 0.0
    F = f + l1 * float(np.abs(x).sum())
    gnorm = pgnorm(x, g) if l1 == 0 else float(np.linalg.norm(x - P(_soft(x - g, l1))))
    st = dict(t=o["t"], hist=[F], xp=x.copy(), tk=1.0, S=[], Y=[])

    def arc(d_of_t, t, ref, slope_of):
        """Backtrack x+ = d_of_t(t) until f(x+) <= ref + alpha slope_of(x+); None on failure."""
        for _ in range(_MAX_BACKTRACK):
            xn = d_of_t(t)
            fn, gn_ = fgrad(xn)
            if fn <= ref + o["alpha"] * slope_of(xn, t):
                return xn, fn, gn_, t
            t *= o["beta"]
        return None

    def step_fn(k):
        nonlocal x, f, g, F, gnorm
        if method == "gd":
            if step == "fixed":
                xn = P(x - st["t"] * g)
                fn, gn_ = fgrad(xn)
                t = st["t"]
            else:
                out = arc(lambda s: P(x - s * g), o["t"], f, lambda v, s: float(g @ (v - x)))
                if out is None:
                    return None
                xn, fn, gn_, t = out
        elif method == "bb":
            d = P(x - st["t"] * g) - x
            gd = float(g @ d)
            if not gd < 0:
                return None
            M = o["memory"]
            out = arc(lambda s: x + s * d, 1.0, max(st["hist"][-(min(k - 1, M) + 1):]), lambda v, s: s * gd)
            if out is None:
                return None
            xn, fn, gn_, t = out
            s_, y_ = xn - x, gn_ - g
            sy = float(s_ @ y_)
            tn = o["t_max"] if not sy > 0 else (float(s_ @ s_) / sy if o["variant"] == "bb1"
                                                  else sy / float(y_ @ y_))
            st["t"] = min(max(tn, o["t_min"]), o["t_max"])
            st["hist"].append(fn)
        elif method in ("proximal", "fista"):
            if method == "fista":
                tk1 = 0.5 * (1 + math.sqrt(1 + 4 * st["tk"] ** 2))
                y = P(x + (st["tk"] - 1) / tk1 * (x - st["xp"]))
                st["tk"] = tk1
                fy, gy = fgrad(y)
            else:
                y, fy, gy = x, f, g
            t = st["t"]
            for _ in range(_MAX_BACKTRACK):
                xn = P(_soft(y - t * gy, t * l1))
                fn, gn_ = fgrad(xn)
                diff = xn - y
                # the quadratic upper bound, up to f's rounding error (else t shrinks forever at the floor)
                if step == "fixed" or fn <= fy + float(gy @ diff) + float(diff @ diff) / (2 * t) + _EPS16 * abs(fy):
                    break
                t *= o["beta"]
            st["t"] = t
            st["xp"] = x
            Fold = F
            x, f, g = xn, fn, gn_
            F = f + l1 * float(np.abs(x).sum())
            gnorm = float(np.linalg.norm(diff)) / t
            if o["restart"] and method == "fista" and F > Fold:
                st["tk"] = 1.0
            return x, F, gnorm, t
        else:  # lbfgs on the free variables
            free = ~(((x <= lo) & (g > 0)) | ((x >= hi) & (g < 0)))
            S, Y = st["S"], st["Y"]
            # the pairs restricted to the free variables, those with positive curvature there
            pairs = [(s[free], y[free]) for s, y in zip(S, Y)]
            pairs = [(s, y) for s, y in pairs if float(s @ y) > 2.220446049250313e-16 * float(y @ y) > 0]
            d = np.zeros_like(x)
            d[free] = _two_loop(g[free], [p[0] for p in pairs], [p[1] for p in pairs],
                                [1.0 / float(s @ y) for s, y in pairs]) if pairs else -g[free]
            if not float(g @ d) < 0:
                S.clear(), Y.clear()
                d = np.where(free, -g, 0.0)
            t0 = 1.0 if S else 1.0 / max(float(np.linalg.norm(d)), 1e-300)
            out = arc(lambda s: P(x + s * d), t0, f, lambda v, s: float(g @ (v - x)))
            if out is None:
                return None
            xn, fn, gn_, t = out
            s_, y_ = xn - x, gn_ - g
            sy, yy = float(s_ @ y_), float(y_ @ y_)
            if sy > 2.220446049250313e-16 * yy and sy > 0.0:
                S.append(s_), Y.append(y_)
                if len(S) > o["memory"]:
                    del S[0], Y[0]
        if not math.isfinite(fn):
            x, f = xn, fn      # a non-finite value ends the run (the monitor stops it)
            return x, f, math.nan, t
        x, f, g = xn, fn, gn_
        F, gnorm = f, pgnorm(x, g)
        return x, F, gnorm, t

    status, k = _frame(step_fn, F, gnorm, tol, max_iter, o, cb, record)
    res = _result(x, F, gnorm, status, k, counts)
    res["trace"] = {key: np.asarray(v, dtype=float) for key, v in tr.items()}
    return res
