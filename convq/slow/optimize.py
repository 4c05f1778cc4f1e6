"""Slow NumPy twin of the C optimisation loop (csrc/optimize/): the same methods, step
rules and line searches, in the same order, as the C solvers cq_solver_<name>.c and
cq_linesearch.c. It runs ``Function`` objectives, ``grad_transform`` runs and
``minimize(..., engine="python")``; on a built-in objective it agrees with C up to rounding.
"""
from __future__ import annotations

import math
import time

import numpy as np

from .. import _core
from .._validation import is_sparse
from ..objectives import Function, Hinge, LeastSquares, Logistic, Quadratic

__all__ = ["python_loop", "lbfgs_loop", "newton_cg_loop", "svm_dcd", "lasso_cd"]


def _soft(v, k):
    return np.sign(v) * np.maximum(np.abs(v) - k, 0.0)


def _armijo(fval, fgrad, x, t, d, ref, gd, c1):
    """One trial of cq_ls_backtrack: f(x + t d) <= ref + c1 t gd, or, where f(x + t d) is
    within 1e-10 |ref| of ref, Hager & Zhang's approximate Armijo condition
    d' grad f(x + t d) <= (2 c1 - 1) gd."""
    f = fval(x + t * d)
    if f <= ref + c1 * t * gd:
        return True
    return abs(f - ref) <= 1e-10 * abs(ref) and float(fgrad(x + t * d)[2] @ d) <= (2 * c1 - 1) * gd


def _golden(phi, f0, t_init):
    """Bracket by doubling, then golden section (same rule as the C loop)."""
    best_t, best_f = 0.0, f0
    a, b = 0.0, t_init
    fb = phi(b)
    if fb < best_f:
        best_t, best_f = b, fb
    if fb < f0:
        c = 2 * b
        fc = phi(c)
        for _ in range(200):
            if not fc < fb:
                break
            a, b, fb = b, c, fc
            c = 2 * c
            fc = phi(c)
        if fb < best_f:
            best_t, best_f = b, fb
        lo, hi = a, c
    else:
        lo, hi = 0.0, b
    r = 0.6180339887498949
    x1, x2 = hi - r * (hi - lo), lo + r * (hi - lo)
    f1, f2 = phi(x1), phi(x2)
    for _ in range(300):
        if not hi - lo > 1e-12 * hi:
            break
        if f1 < best_f:
            best_t, best_f = x1, f1
        if f2 < best_f:
            best_t, best_f = x2, f2
        if f1 <= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - r * (hi - lo)
            f1 = phi(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + r * (hi - lo)
            f2 = phi(x2)
    if f1 < best_f:
        best_t, best_f = x1, f1
    if f2 < best_f:
        best_t = x2
    return best_t


def _cubic_min(a, fa, da, b, fb, db):
    """Minimiser of the cubic through (a, fa, da), (b, fb, db) (N&W eq. 3.59); nan if none."""
    with np.errstate(all="ignore"):
        d1 = da + db - 3.0 * (fa - fb) / (a - b)
        disc = d1 * d1 - da * db
        if not disc >= 0.0 or not math.isfinite(d1):
            return math.nan
        d2 = (1.0 if b > a else -1.0) * math.sqrt(disc)
        den = db - da + 2.0 * d2
        if not abs(den) > 0.0:
            return math.nan
        return b - (b - a) * (db + d2 - d1) / den


_LB_MAXEVAL = 40


def _wolfe_along(fval_grad, x, d, f, gd, o, t):
    """The strong-Wolfe search along x + s d from the trial step t (L-BFGS and nonlinear CG):
    each trial is one fused value-and-gradient call; returns (t, (f, g, g_u)) or None."""
    def trial(s):
        fs, gs, gus = fval_grad(x + s * d, trial=True)
        if not math.isfinite(fs):
            return math.inf, math.nan, None
        return fs, float(gus @ d), (fs, gs, gus)
    return _wolfe_search(trial, f, gd, o["alpha"], o["c2"], t)


def _wolfe_search(trial, f0, g0, c1, c2, t):
    """Strong-Wolfe line search, N&W Algorithms 3.5 / 3.6 -- the same rules, in the same
    order, as wolfe_search in csrc/optimize/cq_linesearch.c. trial(t) -> (phi, dphi, point); returns
    (t, point) of the accepted trial or None."""
    tp, fp, dp, pp = 0.0, f0, g0, None
    fa = f0 + 16.0 * 2.220446049250313e-16 * abs(f0)  # f0 with its rounding error
    tc = t
    neval = 0
    while True:
        fc, dc, pc = trial(tc)
        neval += 1
        if fc > fa + c1 * tc * g0 or (neval > 1 and fc >= fp):
            lo, flo, dlo, plo, hi, fhi, dhi = tp, fp, dp, pp, tc, fc, dc
            break
        if abs(dc) <= -c2 * g0:
            return tc, pc
        if dc >= 0.0:
            lo, flo, dlo, plo, hi, fhi, dhi = tc, fc, dc, pc, tp, fp, dp
            break
        if neval >= _LB_MAXEVAL:
            return tc, pc
        lo_e, hi_e = tc + 1.1 * (tc - tp), tc + 4.0 * (tc - tp)
        tn = _cubic_min(tp, fp, dp, tc, fc, dc)
        if math.isnan(tn):
            tn = hi_e
        elif tn < lo_e:
            tn = lo_e
        elif tn > hi_e:
            tn = hi_e
        tp, fp, dp, pp = tc, fc, dc, pc
        tc = tn
    while True:
        a, b = min(lo, hi), max(lo, hi)
        if neval >= _LB_MAXEVAL or not b - a > 1e-15 * b:
            break
        if (dlo < 0.0 < dhi) or (dlo > 0.0 > dhi):
            tn = lo + (hi - lo) * (dlo / (dlo - dhi))  # secant on phi'
        else:
            tn = _cubic_min(lo, flo, dlo, hi, fhi, dhi)
        if not (a + 0.1 * (b - a) <= tn <= b - 0.1 * (b - a)):
            tn = 0.5 * (lo + hi)
        fc, dc, pc = trial(tn)
        neval += 1
        if fc > fa + c1 * tn * g0 or fc >= flo:
            hi, fhi, dhi = tn, fc, dc
        else:
            if abs(dc) <= -c2 * g0:
                return tn, pc
            if dc * (hi - lo) >= 0.0:
                hi, fhi, dhi = lo, flo, dlo
            lo, flo, dlo, plo = tn, fc, dc, pc
    if lo > 0.0 and flo < f0:
        return lo, plo
    return None


def _two_loop(g, S, Y, rho):
    """Algorithm 7.4 (N&W): -H g over the stored pairs (oldest first), H^0 = s'y/y'y I."""
    q = g.copy()
    a = [0.0] * len(S)
    for i in range(len(S) - 1, -1, -1):
        a[i] = rho[i] * float(S[i] @ q)
        q -= a[i] * Y[i]
    if S:
        q *= float(S[-1] @ Y[-1]) / float(Y[-1] @ Y[-1])
    for i in range(len(S)):
        b = rho[i] * float(Y[i] @ q)
        q += (a[i] - b) * S[i]
    return -q


def _frame(step, F, gnorm, tol, max_iter, o, cb, record, ftol_step=False):
    """The loop every solver shares (the twin of cq_opt_run in csrc/optimize/cq_opt_ws.c):
    record the start, then for k = 1, 2, ...: stop at gnorm <= tol, else ``step(k)`` ->
    (x, F, gnorm, t) of x^{k+1}, or None when no acceptable step was found; record it,
    call the callback, test |F - Fold| < ftol (only after a step t > 0 with ``ftol_step``).
    Returns (status, nit)."""
    record(F, gnorm, 0.0)
    for k in range(1, max_iter + 1):
        if gnorm <= tol:
            return _core.OPT_CONVERGED, k - 1
        Fold = F
        out = step(k)
        if out is None:
            return _core.OPT_LINESEARCH, k - 1
        x, F, gnorm, t = out
        record(F, gnorm, t)
        if cb is not None and cb(k, x, F, gnorm, t):
            return _core.OPT_CALLBACK, k
        if o["ftol"] > 0 and (t > 0 or not ftol_step) and abs(F - Fold) < o["ftol"]:
            return _core.OPT_FTOL, k
    return _core.OPT_MAXITER, max_iter


def _result(x, F, gnorm, status, k, counts):
    return dict(x=x, fun=float(F), grad_norm=float(gnorm), nit=int(k), nfev=counts["f"], ngev=counts["g"],
                status=status)


def lbfgs_loop(obj, x, tol, max_iter, o, cb, counts, fval_grad, record):
    """The Python twin of the C L-BFGS loop (Algorithm 7.5)."""
    from collections import deque
    M = o["memory"]
    S, Y, rho = deque(maxlen=M), deque(maxlen=M), deque(maxlen=M)
    f, g, gu = fval_grad(x, trial=False)
    gnorm = float(np.linalg.norm(g))

    def step(k):
        nonlocal x, f, g, gu, gnorm
        d = _two_loop(gu, list(S), list(Y), list(rho))
        gd = float(gu @ d)
        if not gd < 0.0:
            S.clear(), Y.clear(), rho.clear()
            d = -gu
            gd = -float(gu @ gu)
        t = 1.0 if S else 1.0 / math.sqrt(-gd)  # no pair yet: ||t d|| = 1 (d = -g)
        out = _wolfe_along(fval_grad, x, d, f, gd, o, t)
        if out is None:
            return None
        t, (fn, gn_, gun) = out
        xn = x + t * d
        s_, y_ = xn - x, gun - gu
        sy, yy = float(s_ @ y_), float(y_ @ y_)
        if sy > 2.220446049250313e-16 * yy and sy > 0.0:
            S.append(s_), Y.append(y_), rho.append(1.0 / sy)
        x, f, g, gu = xn, fn, gn_, gun
        gnorm = float(np.linalg.norm(g))
        return x, f, gnorm, t

    status, k = _frame(step, f, gnorm, tol, max_iter, o, cb, record)
    return _result(x, f, gnorm, status, k, counts)


def cg_loop(obj, x, tol, max_iter, o, cb, counts, fval_grad, record):
    """The Python twin of the C conjugate-gradient loop (csrc/optimize/cq_solver_cg.c):
    FR / PR+ / Hager-Zhang beta, strong-Wolfe or exact steps, restart on non-descent
    and every n iterations."""
    from ..objectives import Hinge, LeastSquares, Logistic, Quadratic
    rule, exact = o["cg_rule"], o["exact"]
    n = x.size
    f, g, gu = fval_grad(x, trial=False)
    gnorm = float(np.linalg.norm(g))
    d = -gu
    since, t_prev, gd_prev = 0, 0.0, 0.0

    def step(k):
        nonlocal x, f, g, gu, gnorm, d, since, t_prev, gd_prev
        gd = float(gu @ d)
        if not gd < 0.0:
            d, gd, since = -gu, -gnorm * gnorm, 0
        if exact:
            t0 = t_prev if t_prev > 0 else 1.0  # the golden section starts from the last step (as in C)
            if isinstance(obj, (Quadratic, LeastSquares)) and not isinstance(obj, (Logistic, Hinge)):
                curv = float(d @ obj.hessp(x, d))
                t = -gd / curv if curv > 0 else _golden(lambda s: fval_grad(x + s * d, trial=True)[0], f, t0)
            else:
                t = _golden(lambda s: fval_grad(x + s * d, trial=True)[0], f, t0)
            if not t > 0:
                return None
            fn, gn_, gun = fval_grad(x + t * d, trial=False)
        else:
            t = 1.0 / gnorm if k == 1 else t_prev * gd_prev / gd
            if not (t > 0.0 and math.isfinite(t)):
                t = 1.0 / gnorm
            out = _wolfe_along(fval_grad, x, d, f, gd, o, t)
            if out is None:
                return None
            t, (fn, gn_, gun) = out
        y = gun - gu
        gg_old, gg = gnorm * gnorm, float(gun @ gun)
        if rule == "fr":
            beta = gg / gg_old
        elif rule == "pr+":
            beta = max(0.0, float(gun @ y) / gg_old)
        else:
            dy = float(d @ y)
            beta = (float(gun @ y) - 2.0 * float(y @ y) * float(d @ gun) / dy) / dy if dy != 0.0 else 0.0
            beta = max(beta, -1.0 / (float(np.linalg.norm(d)) * min(0.01, gnorm)))
        if not math.isfinite(beta):
            beta = 0.0
        since += 1
        if since >= n:
            beta, since = 0.0, 0
        x = x + t * d
        d = -gun + beta * d
        t_prev, gd_prev = t, gd
        f, g, gu = fn, gn_, gun
        gnorm = math.sqrt(gg)
        return x, f, gnorm, t

    status, k = _frame(step, f, gnorm, tol, max_iter, o, cb, record)
    return _result(x, f, gnorm, status, k, counts)


def hess_diag(obj, x):
    """The Hessian's diagonal (the C cq_obj_hess_diag): the Jacobi preconditioner of Newton-CG."""
    from ..objectives import Lasso, SmoothedHinge
    if isinstance(obj, Quadratic):
        return np.diag(obj.A).copy()
    if isinstance(obj, (LeastSquares, Logistic)) and not isinstance(obj, Hinge):
        X, m = obj.X, obj.m
        xr = x[1:] if obj.intercept else x
        z = X @ xr + (x[0] if obj.intercept else 0.0)
        if isinstance(obj, Logistic):
            h = 0.5 * (1.0 + np.tanh(0.5 * z))
            w = h * (1.0 - h)
        else:
            w = np.ones(m)
        dr = (w @ (X.power(2) if is_sparse(X) else X * X)) / m + obj.lam / m
        return np.r_[w.sum() / m, dr] if obj.intercept else dr
    if isinstance(obj, Lasso) and obj.delta > 0:
        return np.sum(obj.A * obj.A, axis=0) + np.where(np.abs(x) < obj.delta, obj.mu / obj.delta, 0.0)
    if isinstance(obj, SmoothedHinge):
        from ..optimize import hessian
        return np.diag(hessian(obj, x)).copy()
    if isinstance(obj, Function):
        return np.ones(obj.dim)  # no cheap diagonal: plain CG
    raise ValueError(f"newton-cg needs a twice-differentiable objective, got {type(obj).__name__}")


def _precond(obj, x):
    M = hess_diag(obj, x)
    mx = float(np.max(M[np.isfinite(M)], initial=0.0))
    mx = mx if mx > 0 else 1.0
    return np.where(np.isfinite(M) & (M > 1e-10 * mx), M, 1e-10 * mx)


def _tron_cg(hessp, g, M, delta, gnorm):
    """Preconditioned Steihaug CG on g's + s'Hs/2, ||s||_M <= delta (the C tron_cg)."""
    n = g.size
    s = np.zeros(n)
    r = -g.copy()
    zv = r / M
    p = zv.copy()
    rz, sMs = float(r @ zv), 0.0
    stop = 0.1 * gnorm
    nh = 0
    it = 0
    while math.sqrt(float(r @ r)) > stop and it < 2 * n + 10:
        Hp = hessp(p)
        nh += 1
        pHp, pMp, sMp = float(p @ Hp), float(p @ (M * p)), float(s @ (M * p))
        alpha = rz / pHp if pHp > 0 else math.inf
        if not pHp > 0 or sMs + 2 * alpha * sMp + alpha * alpha * pMp >= delta * delta:
            rad = sMp * sMp + pMp * (delta * delta - sMs)
            tau = (-sMp + math.sqrt(max(rad, 0.0))) / pMp if pMp > 0 else 0.0
            s += tau * p
            r -= tau * Hp
            break
        s += alpha * p
        r -= alpha * Hp
        sMs += 2 * alpha * sMp + alpha * alpha * pMp
        zv = r / M
        rz_new = float(r @ zv)
        p = zv + (rz_new / rz) * p
        rz = rz_new
        it += 1
    gs = float(g @ s)
    return s, gs, 0.5 * (gs - float(r @ s)), math.sqrt(float(s @ (M * s))), nh


def newton_cg_loop(obj, x, tol, max_iter, o, cb, counts, fval_grad, record):
    """The Python twin of the C trust-region Newton-CG loop (csrc/optimize/cq_solver_newton_cg.c)."""
    f, g, _ = fval_grad(x, trial=False)
    gnorm = float(np.linalg.norm(g))
    M = _precond(obj, x)
    delta = math.sqrt(float(g @ (g / M)))

    def step(k):
        nonlocal x, f, g, gnorm, M, delta
        s, gs, q, snorm, nh = _tron_cg(lambda v: obj.hessp(x, v), g, M, delta, gnorm)
        counts["g"] += nh
        fn, gn_, _ = fval_grad(x + s, trial=True)
        ared, pred = f - fn, -q
        if k == 1 and snorm < delta:
            delta = snorm
        if not math.isfinite(fn):
            alpha, ared = 0.25, -math.inf
        else:
            curv = fn - f - gs
            alpha = 4.0 if curv <= 0 else max(0.25, -0.5 * gs / curv)
        if ared < 1e-4 * pred:
            delta = min(max(alpha, 0.25) * snorm, 0.5 * delta)
        elif ared < 0.25 * pred:
            delta = max(0.25 * delta, min(alpha * snorm, 0.5 * delta))
        elif ared < 0.75 * pred:
            delta = max(0.25 * delta, min(alpha * snorm, 4.0 * delta))
        else:
            delta = max(delta, min(alpha * snorm, 4.0 * delta))
        t = 0.0
        if ared > 1e-4 * pred and math.isfinite(fn):
            x, f, g = x + s, fn, gn_
            gnorm = float(np.linalg.norm(g))
            t = snorm
            M = _precond(obj, x)
        elif delta <= 1e-14 * (1 + float(np.linalg.norm(x))):
            return None
        return x, f, gnorm, t

    status, k = _frame(step, f, gnorm, tol, max_iter, o, cb, record, ftol_step=True)
    return _result(x, f, gnorm, status, k, counts)


def python_loop(obj, x, method, step, tol, max_iter, o, cb, gt):
    counts = {"f": 0, "g": 0}
    tr = {"fun": [], "grad_norm": [], "step": [], "time": []}
    t_start = time.perf_counter()
    l1 = o["l1"] if method in ("proximal", "fista") else 0.0

    def fval(v):
        counts["f"] += 1
        try:
            return obj.value(v)
        except ValueError:
            if isinstance(obj, Function):
                raise
            return math.inf

    def fgrad(v):
        counts["f"] += 1
        counts["g"] += 1
        f, g = obj.value_and_grad(v)
        return (f, g) + (transform(g),)

    def transform(g):
        g_used = g
        if gt is not None:
            g_used = np.asarray(gt(g.copy()), dtype=float)
            if g_used.shape != g.shape or not np.all(np.isfinite(g_used)):
                raise ValueError(f"grad_transform must return a finite array of shape {g.shape}, "
                                 f"got shape {g_used.shape}")
        return g_used

    def record(F, gn, t):
        tr["fun"].append(F)
        tr["grad_norm"].append(gn)
        tr["step"].append(t)
        tr["time"].append(time.perf_counter() - t_start)

    if method in ("lbfgs", "newton-cg", "cg"):
        def fval_grad(v, trial):
            # a trial where a built-in objective overflows counts as +inf (as in C)
            counts["f"] += 1
            counts["g"] += 1
            try:
                f, g = obj.value_and_grad(v)
            except ValueError:
                if isinstance(obj, Function) or not trial:
                    raise
                return math.inf, None, None
            return f, g, transform(g)
        loop = {"lbfgs": lbfgs_loop, "newton-cg": newton_cg_loop, "cg": cg_loop}[method]
        res = loop(obj, x, tol, max_iter, o, cb, counts, fval_grad, record)
        res["trace"] = {kk: np.asarray(v, dtype=float) for kk, v in tr.items()}
        return res

    f, g, gu = fgrad(x)
    t = o["t"]
    F = f + l1 * np.abs(x).sum()
    gnorm = (np.linalg.norm(_soft(x - t * gu, t * l1) - x) / t) if method in ("proximal", "fista") \
        else float(np.linalg.norm(g))
    M = o["memory"]
    hist = [F]
    C, Q = F, 1.0
    xp = x.copy()
    tk = 1.0
    kmom = 1
    best_x, best_f = x.copy(), F

    def update(k):
        nonlocal x, f, g, gu, F, gnorm, t, C, Q, xp, tk, kmom, best_x, best_f
        Fold = F
        if method in ("gd", "bb"):
            d = -gu
            gd = float(gu @ d)
            if method == "gd" and step == "fixed":
                t = o["t"]
            elif method == "gd" and step == "exact":
                if isinstance(obj, (Quadratic, LeastSquares)) and not isinstance(obj, (Logistic, Hinge)):
                    curv = float(d @ obj.hessp(x, d))
                    t = -gd / curv if curv > 0 else _golden(lambda s: fval(x + s * d), f, t)
                else:
                    t = _golden(lambda s: fval(x + s * d), f, t if t > 0 else 1.0)
                if not t > 0:
                    return None
            elif not (method == "bb" and o["nonmonotone"] == _core.NM_NONE):
                if method == "gd":
                    t, ref = o["t"], f
                elif o["nonmonotone"] == _core.NM_MAX:
                    ref = max(hist[-(min(k - 1, M) + 1):])
                else:
                    ref = C
                ok = False
                for _ in range(401):
                    if _armijo(fval, fgrad, x, t, d, ref, gd, o["alpha"]):
                        ok = True
                        break
                    t *= o["beta"]
                if not ok:
                    return None
            xn = x + t * d
            fn, gn_, gun = fgrad(xn)
            if method == "bb":
                s, y = xn - x, gun - gu
                sy = float(s @ y)
                tn = o["t_max"] if sy <= 0 else (float(s @ s) / sy if o["variant"] == "bb1" else sy / float(y @ y))
                tn = min(max(tn, o["t_min"]), o["t_max"])
                if o["nonmonotone"] == _core.NM_AVERAGE:
                    Qn = o["eta"] * Q + 1
                    C = (o["eta"] * Q * C + fn) / Qn
                    Q = Qn
                hist.append(fn)
                t_used, t_next = t, tn
            else:
                t_used = t_next = t
            x, f, g, gu = xn, fn, gn_, gun
            F, gnorm, t = f, float(np.linalg.norm(g)), t_next
        elif method == "nesterov":
            y = x + (kmom - 1) / (kmom + 2) * (x - xp)
            fy, gy, guy = fgrad(y)
            if step == "fixed":
                t = o["t"]
            else:
                for _ in range(401):
                    if _armijo(fval, fgrad, y, t, -guy, fy, -float(guy @ guy), o["alpha"]):
                        break
                    t *= o["beta"]
            xp = x
            x = y - t * guy
            fn, g, gu = fgrad(x)
            kmom = 1 if (o["restart"] and fn > f) else kmom + 1
            f = fn
            F, gnorm, t_used = f, float(np.linalg.norm(g)), t
        elif method in ("proximal", "fista"):
            if method == "fista":
                tk1 = 0.5 * (1 + math.sqrt(1 + 4 * tk * tk))
                y = x + (tk - 1) / tk1 * (x - xp)
                tk = tk1
                fy, gy, guy = fgrad(y)
            else:
                y, fy, guy = x, f, gu
            while True:
                xn = _soft(y - t * guy, t * l1)
                fn, gn_, gun = fgrad(xn)
                if step == "fixed":
                    break
                diff = xn - y
                if fn <= fy + float(guy @ diff) + float(diff @ diff) / (2 * t):
                    break
                t *= o["beta"]
            gnorm = float(np.linalg.norm(xn - y)) / t
            xp = x
            x, f, g, gu = xn, fn, gn_, gun
            F, t_used = f + l1 * np.abs(x).sum(), t
            if o["restart"] and method == "fista" and F > Fold:
                tk = 1.0
        else:  # subgradient
            t = o["t"] / math.sqrt(k)
            x = x - t * gu
            f, g, gu = fgrad(x)
            F, gnorm, t_used = f, float(np.linalg.norm(g)), t
            if F < best_f:
                best_f, best_x = F, x.copy()
        return x, F, gnorm, t_used

    status, k = _frame(update, F, gnorm, tol, max_iter, o, cb, record)
    if method == "subgradient" and best_f < F:
        x, F = best_x, best_f
        gnorm = float(np.linalg.norm(obj.grad(x)))
    res = _result(x, F, gnorm, status, k, counts)
    res["trace"] = {kk: np.asarray(v, dtype=float) for kk, v in tr.items()}
    return res


# ---- linear SVM by dual coordinate descent (csrc/optimize/cq_svm_dcd.c) ------------------------

def _matrix(M, name):
    """M as a C-contiguous 2-D float array; ValueError naming it otherwise."""
    M = np.ascontiguousarray(M, dtype=float)
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {M.shape}")
    return M


def _data_and_start(u, v0, nu, nv, msg):
    """u as a float vector and a float copy of the start v0; ValueError(msg) unless their
    lengths are nu and nv."""
    u = np.asarray(u, dtype=float)
    v = np.array(v0, dtype=float)
    if u.shape != (nu,) or v.shape != (nv,):
        raise ValueError(msg)
    return u, v


def dot4(a, b):
    """sum_i a_i b_i exactly as cq_dot adds: four running sums over i mod 4 (the tail into the
    first), combined as (s0 + s1) + (s2 + s3)."""
    p = a * b
    k = (p.size // 4) * 4
    s = [float(np.cumsum(p[j:k:4])[-1]) if k else 0.0 for j in range(4)]
    if p.size > k:
        s[0] = float(np.cumsum(np.concatenate([[s[0]], p[k:]]))[-1])
    return (s[0] + s[1]) + (s[2] + s[3])


# the inexact augmented-Lagrangian schedule of cq_svm_dcd.c (CQ_SVM_OMEGA0 and the others)
_SVM_OMEGA0, _SVM_OMEGA_FACTOR, _SVM_EQ_DECREASE, _SVM_RHO_GROWTH = 1e-1, 1e-1, 0.25, 2.0


def svm_dcd(X, s, alpha0, C, k, loss, eps, max_epochs, max_outer, intercept, rho, gen):
    """The twin of ``_core._svm_dcd``: dual coordinate descent with shrinking for the linear
    SVM (Hsieh, Chang, Lin, Keerthi & Sundararajan, "A Dual Coordinate Descent Method for
    Large-scale Linear SVM", ICML 2008, Algorithms 1 and 3; ``loss`` is ``_core.SVM_HINGE``,
    box bound U = C k, or ``_core.SVM_SQUARED_HINGE``, U = inf and the diagonal
    D = 1/(2 C k^2) of the L2-loss dual) and the intercept's equality
    constraint by the method of multipliers (Nocedal & Wright, "Numerical Optimization",
    section 17.3); the same random order (Fisher-Yates over the active set, Lemire's bounded
    integers) and the same sums, so the result is bit-identical to C.

    Returns (alpha, w, t, pg_spread, eq_violation, epochs, outer, converged)."""
    from .stochastic import bounded
    X = _matrix(X, "X")
    m, n = X.shape
    s, alpha = _data_and_start(s, alpha0, m, m, f"s and alpha0 must have length {m}")
    from .. import _core
    if (not (C > 0) or not (k > 0) or not (eps > 0) or max_epochs < 1 or max_outer < 1
            or loss not in (_core.SVM_HINGE, _core.SVM_SQUARED_HINGE)):
        raise ValueError("invalid dual coordinate descent options")
    squared = loss == _core.SVM_SQUARED_HINGE
    Ck = C * k
    Ckk = Ck * k
    U = math.inf if squared else Ck
    D = 0.5 / Ckk if squared else 0.0
    a_scale = 2.0 * Ckk if squared else Ck
    if not (math.isfinite(a_scale) and a_scale > 0 and math.isfinite(D)):
        raise ValueError("C k (hinge) or C k^2 (squared hinge) must be positive and finite")
    if m == 0 or n == 0:
        raise ValueError("X must have at least one row and one column")
    if not np.all((alpha >= 0) & (alpha <= U) & np.isfinite(alpha)):
        raise ValueError("alpha0 must be finite and >= 0" if squared else "alpha0 outside [0, C k]")
    w = np.zeros(n)
    S = qmean = 0.0
    qii = np.empty(m)
    for i in range(m):
        qii[i] = dot4(X[i], X[i])
        qmean += qii[i] / m
        if alpha[i] != 0.0:
            c = alpha[i] * s[i]
            w += c * X[i]
            S += c
    rho = (rho if rho > 0 else (0.1 * qmean if qmean > 0 else 1.0)) if intercept else 0.0
    tol_eq = eps * max(a_scale, 1.0)
    # the inexact augmented-Lagrangian schedule of cq_svm_dcd.h: inner tolerance omega
    omega = _SVM_OMEGA0 if intercept and eps < _SVM_OMEGA0 else eps
    S_prev = math.inf
    lam, spread = 0.0, math.inf
    epochs = outer = 0
    converged = False
    while outer < max_outer and epochs < max_epochs:
        active = m
        pgmax_old, pgmin_old = math.inf, -math.inf
        perm = list(range(m))
        while epochs < max_epochs:
            for i in range(active, 1, -1):
                j = bounded(gen, i)
                perm[i - 1], perm[j] = perm[j], perm[i - 1]
            pgmax, pgmin = -math.inf, math.inf
            t = 0
            while t < active:
                i = perm[t]
                G = s[i] * (dot4(w, X[i]) + lam + rho * S) - 1.0
                a = alpha[i]
                if squared:
                    G += D * a
                pg = 0.0
                if a == 0.0:
                    if G > pgmax_old:
                        active -= 1
                        perm[t], perm[active] = perm[active], i
                        continue
                    if G < 0.0:
                        pg = G
                elif a == U:
                    if G < pgmin_old:
                        active -= 1
                        perm[t], perm[active] = perm[active], i
                        continue
                    if G > 0.0:
                        pg = G
                else:
                    pg = G
                t += 1
                pgmax, pgmin = max(pgmax, pg), min(pgmin, pg)
                d = qii[i] + D + rho if squared else qii[i] + rho
                if pg == 0.0 or not d > 0.0:
                    continue
                an = min(max(a - G / d, 0.0), U)
                if an != a:
                    c = (an - a) * s[i]
                    w += c * X[i]
                    S += c
                    alpha[i] = an
            epochs += 1
            if active == 0:
                pgmax = pgmin = 0.0
            spread = pgmax - pgmin
            if spread <= omega:
                if active == m:
                    break
                active = m
                pgmax_old, pgmin_old = math.inf, -math.inf
                continue
            pgmax_old = pgmax if pgmax > 0.0 else math.inf
            pgmin_old = pgmin if pgmin < 0.0 else -math.inf
        if not intercept:
            converged = spread <= eps
            outer += 1
            break
        lam += rho * S
        if spread <= eps and abs(S) <= tol_eq:
            converged = True
            outer += 1
            break
        if abs(S) > tol_eq and abs(S) > _SVM_EQ_DECREASE * S_prev:
            rho *= _SVM_RHO_GROWTH
        S_prev = abs(S)
        omega = omega * _SVM_OMEGA_FACTOR if omega * _SVM_OMEGA_FACTOR > eps else eps
        outer += 1
    return alpha, w, float(lam), float(spread), float(abs(S)), epochs, outer, bool(converged)


# ---- LASSO by working-set coordinate descent (csrc/optimize/cq_lasso_cd.c) ---------------------

def _seqsum(v):
    """Left-to-right sum, as a C loop adds."""
    return float(np.cumsum(v)[-1]) if len(v) else 0.0


def _select_smallest(idx, n, k, key):
    """The k indices of smallest key to idx[:k] by C's quickselect (Hoare partition, the same
    swaps, so ties fall the same way), then sorted ascending."""
    if k < n:
        lo, hi, target = 0, n - 1, k
        while hi > lo:
            pivot = key[idx[lo + (hi - lo) // 2]]
            i, j = lo, hi
            while i <= j:
                while key[idx[i]] < pivot:
                    i += 1
                while key[idx[j]] > pivot:
                    j -= 1
                if i <= j:
                    idx[i], idx[j] = idx[j], idx[i]
                    i += 1
                    j -= 1
            if target <= j:
                hi = j
            elif target >= i:
                lo = i
            else:
                break
    idx[:k] = sorted(idx[:k])


def _solve_spd_ones(G, K):
    """z with (G + 1e-10 tr(G) I) z = 1 by Cholesky, C's loop order; None when it fails."""
    tr = _seqsum(np.diag(G))
    if not (tr > 0.0) or not math.isfinite(tr):
        return None
    G = G.copy()
    for i in range(K):
        G[i, i] += 1e-10 * tr
    for j in range(K):
        d = G[j, j]
        for k in range(j):
            d -= G[j, k] * G[j, k]
        if not d > 0.0:
            return None
        d = math.sqrt(d)
        G[j, j] = d
        for i in range(j + 1, K):
            s = G[i, j]
            for k in range(j):
                s -= G[i, k] * G[j, k]
            G[i, j] = s / d
    z = np.zeros(K)
    for i in range(K):
        s = 1.0
        for k in range(i):
            s -= G[i, k] * z[k]
        z[i] = s / G[i, i]
    for ii in range(K - 1, -1, -1):
        s = z[ii]
        for k in range(ii + 1, K):
            s -= G[k, ii] * z[k]
        z[ii] = s / G[ii, ii]
    return z


def lasso_cd(AT, b, x0, mu, tol, max_outer, max_epochs, ws_start, anderson):
    """The twin of ``_core._lasso_cd``: min 1/2 ||Ax - b||^2 + mu ||x||_1 by coordinate
    descent on working sets ranked by the dual constraint d_j = (mu - |A_j' theta|) / ||A_j||
    (Massias, Gramfort & Salmon, "Celer: a Fast Solver for the Lasso with Dual
    Extrapolation", ICML 2018), Anderson extrapolation every K epochs kept when it lowers the
    objective (Bertrand & Massias, "Anderson acceleration of coordinate descent", AISTATS
    2021, Algorithm 1), stopped on the duality gap P(x) - D(r / max(1, ||A'r||_inf / mu)).
    The same operations in the same order as C: bit-identical.

    Returns (x, primal, dual, gap, n_outer, n_epochs, n_extrapolated, ws_size, converged)."""
    AT = _matrix(AT, "A")
    n, m = AT.shape
    b, x = _data_and_start(b, x0, m, n, f"b must have length {m} and x0 length {n}")
    if not (mu > 0.0) or not (tol >= 0.0) or max_outer < 1 or max_epochs < 1 or ws_start < 1 or not 0 <= anderson <= 10:
        raise ValueError("invalid coordinate-descent options")
    if m == 0 or n == 0:
        raise ValueError("A must have at least one row and one column")
    K = int(anderson)
    info = dict(primal=0.0, dual=0.0, gap=0.0, n_outer=0, n_epochs=0, n_extr=0, ws=0, converged=False)

    def l1(idx, k):
        return _seqsum(np.abs(x[idx[:k]]))

    c = np.zeros(n)

    def gap_on(idx, k):
        cmax = 0.0
        for t in range(k):
            j = idx[t]
            c[j] = dot4(AT[j], r)
            if abs(c[j]) > cmax:
                cmax = abs(c[j])
        rr, rb = dot4(r, r), dot4(r, b)
        scale = cmax / mu if cmax > mu else 1.0
        return 0.5 * rr + mu * l1(idx, k), rb / scale - 0.5 * rr / (scale * scale)

    r = b.copy()
    colsq = np.empty(n)
    for j in range(n):
        colsq[j] = dot4(AT[j], AT[j])
        if x[j] != 0.0:
            r += -x[j] * AT[j]
    ws, epochs = 0, 0
    for outer in range(max_outer):
        idx = list(range(n))
        P, D = gap_on(idx, n)
        if not math.isfinite(P) or not math.isfinite(D):
            raise ValueError("the LASSO objective became non-finite")
        info.update(primal=P, dual=D, gap=P - D, n_outer=outer)
        if P - D <= tol:
            info["converged"] = True
            break
        if epochs >= max_epochs:
            break
        cmax = float(np.max(np.abs(c)))
        scale = cmax / mu if cmax > mu else 1.0
        nnz = int(np.count_nonzero(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            prio = np.where(x != 0.0, -1.0, np.where(colsq == 0.0, math.inf, (mu - np.abs(c) / scale) / np.sqrt(colsq)))
        c[:] = prio
        want = max(2 * nnz, 2 * ws, ws_start)
        ws = min(want, n)
        _select_smallest(idx, n, ws, c)
        info["ws"] = ws
        tol_in = 0.3 * (P - D) if 0.3 * (P - D) > tol else tol
        check_every = K if K > 0 else 5
        Xh = [x[idx[:ws]].copy()]
        ep = 1
        while epochs < max_epochs:
            for t in range(ws):
                j = idx[t]
                if colsq[j] == 0.0:    # an empty column: mu |x_j| alone, minimised at 0
                    x[j] = 0.0
                    continue
                old = x[j]
                z = old + dot4(AT[j], r) / colsq[j]
                thr = mu / colsq[j]
                nw = z - thr if z > thr else (z + thr if z < -thr else 0.0)
                if nw != old:
                    r += (old - nw) * AT[j]
                    x[j] = nw
            epochs += 1
            if K > 0:
                Xh.append(x[idx[:ws]].copy())
                if len(Xh) == K + 1:
                    U = [Xh[a + 1] - Xh[a] for a in range(K)]
                    G = np.empty((K, K))
                    for a in range(K):
                        for bq in range(a + 1):
                            G[a, bq] = G[bq, a] = _seqsum(U[a] * U[bq])
                    z = _solve_spd_ones(G, K)
                    if z is not None:
                        zs = _seqsum(z)
                        if zs != 0.0 and math.isfinite(zs):
                            xe = np.zeros(ws)
                            for a in range(K):
                                xe += (z[a] / zs) * Xh[a + 1]
                            re = r.copy()
                            for t in range(ws):
                                j = idx[t]
                                if xe[t] != x[j]:
                                    re += (x[j] - xe[t]) * AT[j]
                            Pe = 0.5 * dot4(re, re) + mu * _seqsum(np.abs(xe))
                            Pc = 0.5 * dot4(r, r) + mu * l1(idx, ws)
                            if Pe < Pc:
                                x[idx[:ws]] = xe
                                r = re
                                info["n_extr"] += 1
                    Xh = [x[idx[:ws]].copy()]
            if ep % check_every == 0:
                Pi, Di = gap_on(idx, ws)
                if not math.isfinite(Pi):
                    raise ValueError("the LASSO objective became non-finite")
                if Pi - Di <= tol_in:
                    break
            ep += 1
        info["n_outer"] = outer + 1
    info["n_epochs"] = epochs
    if not info["converged"]:
        P, D = gap_on(list(range(n)), n)
        info.update(primal=P, dual=D, gap=P - D, converged=P - D <= tol)
    return (x, float(info["primal"]), float(info["dual"]), float(info["gap"]), info["n_outer"], info["n_epochs"],
            info["n_extr"], info["ws"], bool(info["converged"]))
