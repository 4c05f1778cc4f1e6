"""Deterministic first-order methods of the gradient-method notes.

``minimize(obj, x0, method=..., step=...)`` runs, for the built-in objectives of
:mod:`convq.objectives`, the whole iteration in C (csrc/optimize/cq_optimize.c): one fused pass
over the data per gradient, and line-search trials that reuse the cached X x and X d,
so a backtracking trial costs O(m) instead of a pass over X. ``Function`` objectives and
runs with a ``grad_transform`` (e.g. a gradient quantizer) iterate the same algorithms
in Python.

Methods (gradient-method-line-search-bb.txt; shared/design/ALGORITHMS.md section 2):

* ``"gd"``: x+ = x - t grad f(x), step ``"fixed"`` (t), ``"armijo"`` (t := beta t from t0
  until f(x - t g) <= f(x) - alpha t ||g||^2) or ``"exact"`` (t = g'g / g'Hg on
  Quadratic / LeastSquares, a safeguarded golden-section search otherwise).
* ``"bb"``: Barzilai-Borwein steps BB1 s's/s'y or BB2 s'y/y'y clipped to [t_min, t_max],
  globalised by Raydan's max-type nonmonotone line search (Algorithm 1,
  ``nonmonotone="max"``) or Zhang-Hager's average C_k (Algorithm 2, ``"average"``).
* ``"nesterov"``: y = x_k + (k-1)/(k+2) (x_k - x_{k-1}), x_{k+1} = y - t grad f(y), with
  t = 1/L (``step="fixed"``) or backtracking.
* ``"proximal"`` / ``"fista"``: for f + l1 ||x||_1 with soft-thresholding; on a ``Lasso``
  the l1 weight is its mu.
* ``"subgradient"``: t_k = t0 / sqrt(k), returns the best iterate.
* ``"lbfgs"``: limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed.,
  Algorithm 7.4, the two-loop recursion H_k g with H_k^0 = (s'y / y'y) I, eq. (7.20), inside
  Algorithm 7.5) with a strong-Wolfe line search (N&W Algorithms 3.5 and 3.6, cubic
  interpolation (3.59)): f(x + t d) <= f(x) + c1 t g'd and |g(x + t d)'d| <= c2 |g'd|.
  In C its first trial (t = 1) is one fused pass that also yields the next gradient;
  later trials, value and slope, reuse z = X x and X d: O(m) each.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from . import _core
from .objectives import Function, LeastSquares, Lasso, Logistic, Objective, Quadratic, Hinge
from ._validation import as_vector, check_int, check_open_unit, check_positive, check_real

__all__ = ["minimize", "lasso", "OptimizeResult"]

_METHODS = {"gd": 0, "bb": 1, "nesterov": 2, "proximal": 3, "fista": 4, "subgradient": 5, "lbfgs": 6}
# options L-BFGS uses; any other option given with method="lbfgs" is an error
_LBFGS_OPTIONS = {"memory", "alpha", "c1", "c2", "ftol"}
_STEPS = {"fixed": 0, "armijo": 1, "backtracking": 1, "exact": 2}
_NONMONO = {None: 0, "none": 0, "max": 1, "average": 2}
_STATUS = {
    0: "converged: gradient norm <= tol",
    1: "maximum number of iterations reached",
    2: "stopped by the callback",
    3: "line search failed to find an acceptable step",
    4: "converged: |f_k - f_{k-1}| < ftol",
}


class OptimizeResult:
    """Result of :func:`minimize`: ``x, fun, grad_norm, nit, nfev, ngev, success, status,
    message`` and ``trace`` (dict of equal-length arrays ``fun, grad_norm, step, time``,
    entry k describing iterate k, entry 0 the start)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        keys = ["x", "fun", "grad_norm", "nit", "nfev", "ngev", "success", "status", "message", "method"]
        lines = []
        for k in keys + [k for k in self.__dict__ if k not in keys and k != "trace"]:
            if k not in self.__dict__:
                continue
            v = self.__dict__[k]
            if isinstance(v, np.ndarray):
                s = np.array2string(v, precision=6, threshold=8, edgeitems=3)
            elif isinstance(v, float):
                s = f"{v:.10g}"
            else:
                s = repr(v)
            lines.append(f"{k:>10}: {s}")
        tr = self.__dict__.get("trace")
        if tr is not None:
            lines.append(f"{'trace':>10}: dict of {len(tr['fun'])} entries x ({', '.join(tr)})")
        return "OptimizeResult(\n" + "\n".join(lines) + "\n)"


def _check_step_options(method, step, opts, obj, x0, rng):
    """Validate and default the options; returns a dict."""
    o = {}
    known = {"t", "t0", "alpha", "beta", "variant", "nonmonotone", "memory", "eta", "t_min", "t_max",
             "l1", "ftol", "L", "restart", "c1", "c2"}
    unknown = set(opts) - known
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known options are {sorted(known)}")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
    if method == "lbfgs":
        return _check_lbfgs_options(step, opts)
    if "c1" in opts or "c2" in opts:
        raise TypeError("options c1 and c2 (strong Wolfe constants) are only used by method='lbfgs'")
    if step not in _STEPS:
        raise ValueError(f"step must be one of 'fixed', 'armijo', 'exact', got {step!r}")
    if step == "exact" and method != "gd":
        raise ValueError(f"step='exact' is only available with method='gd', got method={method!r}")
    bb = method == "bb"
    o["alpha"] = check_open_unit(opts.get("alpha", 1e-4 if bb else 0.5), "alpha")
    o["beta"] = check_open_unit(opts.get("beta", 0.5), "beta")
    o["variant"] = opts.get("variant", "bb1")
    if o["variant"] not in ("bb1", "bb2"):
        raise ValueError(f"variant must be 'bb1' or 'bb2', got {o['variant']!r}")
    nm = opts.get("nonmonotone", "max")
    if nm not in _NONMONO:
        raise ValueError(f"nonmonotone must be 'max', 'average' or None, got {nm!r}")
    o["nonmonotone"] = _NONMONO[nm]
    o["memory"] = check_int(opts.get("memory", 10), "memory", minimum=0, maximum=100000)
    eta = check_real(opts.get("eta", 0.85), "eta")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    o["eta"] = eta
    o["t_min"] = check_positive(opts.get("t_min", 1e-10), "t_min")
    o["t_max"] = check_positive(opts.get("t_max", 1e10), "t_max")
    if o["t_min"] > o["t_max"]:
        raise ValueError(f"t_min must not exceed t_max, got {o['t_min']} > {o['t_max']}")
    o["ftol"] = check_positive(opts.get("ftol", 0.0), "ftol", allow_zero=True)
    restart = opts.get("restart", True)
    if not isinstance(restart, (bool, np.bool_)):
        raise TypeError(f"restart must be True or False, got {type(restart).__name__}")
    o["restart"] = bool(restart)
    l1 = opts.get("l1")
    if method in ("proximal", "fista"):
        if l1 is None:
            l1 = obj.mu if isinstance(obj, Lasso) and obj.delta == 0 else 0.0
        l1 = check_positive(l1, "l1", allow_zero=True)
    elif l1 is not None:
        raise TypeError("option l1 is only used by method='proximal' or 'fista'")
    o["l1"] = float(l1 or 0.0)
    if "t" in opts and "t0" in opts:
        raise TypeError("give either t or t0, not both")
    t = opts.get("t", opts.get("t0"))
    needs_L = t is None and ((method == "gd" and step == "fixed") or
                             (method in ("nesterov", "proximal", "fista") and step == "fixed"))
    if t is not None:
        t = check_positive(t, "t")
    elif needs_L:
        L = opts.get("L")
        if L is None:
            smooth = obj.smooth_part() if (isinstance(obj, Lasso) and method in ("proximal", "fista")) else obj
            L = smooth.lipschitz(rng=0) if not isinstance(obj, Function) else obj.lipschitz(rng=0, x=x0)
        L = check_positive(L, "L")
        if not math.isfinite(L):
            raise ValueError("a fixed step needs a finite Lipschitz constant; give t= explicitly")
        t = 1.0 / L
    else:
        t = 1.0
    o["t"] = t
    return o


def _check_lbfgs_options(step, opts):
    """Options of method="lbfgs": memory (>= 1), c1 (alias alpha), c2, ftol."""
    extra = set(opts) - _LBFGS_OPTIONS
    if extra:
        raise TypeError(f"option(s) {sorted(extra)} are not used by method='lbfgs' "
                        f"(it takes {sorted(_LBFGS_OPTIONS)})")
    if step not in ("armijo", "backtracking"):
        raise ValueError(f"method='lbfgs' uses its own strong-Wolfe line search; leave step at its default "
                         f"'armijo', got step={step!r}")
    if "alpha" in opts and "c1" in opts:
        raise TypeError("give either c1 or its alias alpha, not both")
    o = {}
    o["memory"] = check_int(opts.get("memory", 10), "memory", minimum=1, maximum=100000)
    c1 = check_open_unit(opts.get("c1", opts.get("alpha", 1e-4)), "c1")
    c2 = check_open_unit(opts.get("c2", 0.9), "c2")
    if not c1 < c2:
        raise ValueError(f"the strong Wolfe conditions need 0 < c1 < c2 < 1, got c1={c1}, c2={c2}")
    o.update(alpha=c1, c2=c2, beta=0.5, variant="bb1", nonmonotone=0, eta=0.85, t_min=1e-10, t_max=1e10,
             l1=0.0, t=1.0, restart=False)
    o["ftol"] = check_positive(opts.get("ftol", 0.0), "ftol", allow_zero=True)
    return o


def minimize(obj, x0, method="gd", step="armijo", tol=1e-6, max_iter=1000, callback=None, *,
             verbose=False, grad_transform=None, **options):
    r"""Minimise ``obj`` from ``x0`` with a first-order method of the gradient-method notes.

    Gradient method  x^{k+1} = x^k - t_k \nabla f(x^k)  with fixed, backtracking (Armijo)
    or exact steps; Barzilai-Borwein steps with Raydan's / Zhang-Hager's nonmonotone line
    searches; Nesterov's accelerated gradient; proximal gradient / FISTA for
    f + l1 ||x||_1; the subgradient method (gradient-method-line-search-bb.txt, pages
    "Gradient method", "Backtracking line search", "Barzilai-Borwein (BB) gradient
    method", "Globalization strategy for BB method", Algorithms 1 and 2).

    Parameters
    ----------
    obj : convq.objectives.Objective
        A built-in objective (iterated in C) or a ``Function`` (iterated in Python).
    x0 : array_like, shape (obj.dim,)
    method : {"gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs"}
        ``"lbfgs"``: limited-memory BFGS, d_k = -H_k grad f(x_k) from the two-loop
        recursion over the last ``memory`` pairs s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i
        (H_k^0 = s'y / y'y I), with a strong-Wolfe line search (Nocedal & Wright,
        Numerical Optimization, 2nd ed., Algorithms 7.4, 7.5, 3.5, 3.6). Its first trial
        step is 1 (1/||g|| while no pair is stored, as in L-BFGS-B); a pair with s'y <= 0 is not
        stored. Not for Hinge (not differentiable).
    step : {"fixed", "armijo", "exact"}
        Step rule of "gd"; "nesterov", "proximal" and "fista" use "fixed" (t = 1/L by
        default) or "armijo" (backtracking). Ignored by "bb" and "subgradient"; "lbfgs"
        accepts only the default (its line search is the strong-Wolfe one).
    tol : float
        Stop when ||grad f(x_k)|| <= tol (proximal methods: the gradient mapping).
    max_iter : int
    callback : callable(xk, state) -> bool, optional
        Called after each iteration with a copy of x_k and a dict ``k, fun, grad_norm,
        step``; returning True stops the run.
    verbose : bool or int
        Print a progress line every ``verbose`` iterations (True: about 10 lines per run).
    grad_transform : callable(g) -> array, optional
        Applied to every gradient before it is used in the step (for instance a
        quantizer); the line-search tests and BB differences use the transformed
        gradient. With it, the loop runs in Python.
    **options
        ``t`` (or ``t0``): fixed step / initial trial step (default 1/L for fixed steps,
        1 otherwise; the subgradient step is t0/sqrt(k)); ``alpha``, ``beta``: sufficient
        decrease (default 0.5, "bb": 1e-4) and backtracking factor (0.5); ``variant``
        ("bb1" | "bb2"), ``nonmonotone`` ("max" | "average" | None), ``memory`` (M = 10),
        ``eta`` (0.85), ``t_min``/``t_max`` (1e-10, 1e10); ``l1`` (proximal methods);
        ``ftol`` (stop when |f_k - f_{k-1}| < ftol); ``L`` (Lipschitz constant);
        ``restart`` ("nesterov"/"fista": reset the momentum whenever f increases,
        O'Donoghue & Candes' function restart; default True, False gives the plain
        schemes of the notes).
        "lbfgs" takes only ``memory`` (number of pairs, default 10), ``c1`` (alias
        ``alpha``; sufficient decrease, default 1e-4), ``c2`` (curvature, default 0.9;
        0 < c1 < c2 < 1) and ``ftol``; any other option is a TypeError.

    Returns
    -------
    OptimizeResult
    """
    if not isinstance(obj, Objective):
        raise TypeError(f"obj must be a convq.objectives objective (wrap callables in "
                        f"convq.objectives.Function), got {type(obj).__name__}")
    x0 = obj._x(x0, "x0").copy()
    tol = check_positive(tol, "tol", allow_zero=True)
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    if grad_transform is not None and not callable(grad_transform):
        raise TypeError(f"grad_transform must be callable, got {type(grad_transform).__name__}")
    if not isinstance(verbose, (bool, int, np.integer)) or (not isinstance(verbose, bool) and verbose < 0):
        raise TypeError(f"verbose must be a bool or a non-negative int, got {verbose!r}")
    if method in ("proximal", "fista") and isinstance(obj, Hinge):
        raise ValueError("proximal methods need a smooth part; Hinge is not smooth (use 'subgradient')")
    if method == "lbfgs" and isinstance(obj, Hinge):
        raise ValueError("method='lbfgs' needs a differentiable objective; Hinge is not (use 'subgradient')")
    opts = _check_step_options(method, step, options, obj, x0, rng=0)
    every = 0
    if verbose:
        every = max(1, max_iter // 10) if verbose is True else int(verbose)

    run_obj = obj
    if isinstance(obj, Lasso) and method in ("proximal", "fista") and obj.delta == 0 and "l1" not in options:
        run_obj = obj.smooth_part()

    state_cb = _make_callback(callback, every, max_iter)
    if isinstance(obj, Function) or grad_transform is not None:
        res = _python_loop(run_obj, x0, method, step, tol, max_iter, opts, state_cb, grad_transform)
    else:
        params = (_METHODS[method], _STEPS[step], opts["t"], opts["alpha"], opts["beta"],
                  1 if opts["variant"] == "bb1" else 2, opts["nonmonotone"], opts["memory"], opts["eta"],
                  opts["t_min"], opts["t_max"], opts["l1"], tol, opts["ftol"], int(opts["restart"]),
                  opts.get("c2", 0.9))
        out = _core._minimize(run_obj._c_args, x0, params, state_cb, max_iter)
        x, f, gn, nit, nfev, ngev, status, tf, tg, tt, ttime = out
        res = dict(x=x, fun=f, grad_norm=gn, nit=nit, nfev=nfev, ngev=ngev, status=status,
                   trace=dict(fun=tf[:nit + 1].copy(), grad_norm=tg[:nit + 1].copy(),
                              step=tt[:nit + 1].copy(), time=ttime[:nit + 1].copy()))
    res["success"] = res["status"] in (0, 4)
    res["message"] = _STATUS[res["status"]]
    if method == "lbfgs":
        res["memory"] = opts["memory"]
    res["method"] = method if method not in ("gd", "nesterov", "proximal", "fista") else f"{method}/{step}"
    if every:
        print(f"[convq.minimize] {res['message']} after {res['nit']} iterations: f = {res['fun']:.10g}, "
              f"|g| = {res['grad_norm']:.3e}", file=sys.stdout, flush=True)
    return OptimizeResult(**res)


def _make_callback(callback, every, max_iter):
    if callback is None and not every:
        return None
    t0 = time.perf_counter()

    def cb(k, x, f, g, t):
        if every and (k % every == 0 or k == max_iter):
            print(f"[convq.minimize] iter {k:>7}  f = {f:.10g}  |g| = {g:.3e}  t = {t:.3e}  "
                  f"({time.perf_counter() - t0:.2f} s)", file=sys.stdout, flush=True)
        if callback is not None:
            return bool(callback(np.array(x, copy=True), dict(k=int(k), fun=float(f), grad_norm=float(g),
                                                              step=float(t))))
        return False
    return cb


# ---- the Python twin of the C loop (Function objectives, grad_transform) ------------------

def _soft(v, k):
    return np.sign(v) * np.maximum(np.abs(v) - k, 0.0)


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


def _wolfe_search(trial, f0, g0, c1, c2, t):
    """Strong-Wolfe line search, N&W Algorithms 3.5 / 3.6 -- the same rules, in the same
    order, as wolfe_search in csrc/optimize/cq_optimize.c. trial(t) -> (phi, dphi, point); returns
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


def _lbfgs_loop(obj, x, tol, max_iter, o, cb, counts, fval_grad, record):
    """The Python twin of the C L-BFGS loop (Algorithm 7.5)."""
    from collections import deque
    M = o["memory"]
    S, Y, rho = deque(maxlen=M), deque(maxlen=M), deque(maxlen=M)
    f, g, gu = fval_grad(x, trial=False)
    gnorm = float(np.linalg.norm(g))
    record(f, gnorm, 0.0)
    status, k = 1, 0
    for k in range(1, max_iter + 1):
        if gnorm <= tol:
            status = 0
            k -= 1
            break
        d = _two_loop(gu, list(S), list(Y), list(rho))
        gd = float(gu @ d)
        if not gd < 0.0:
            S.clear(), Y.clear(), rho.clear()
            d = -gu
            gd = -float(gu @ gu)
        t = 1.0 if S else 1.0 / math.sqrt(-gd)  # no pair yet: ||t d|| = 1 (d = -g)

        def trial(s):
            fs, gs, gus = fval_grad(x + s * d, trial=True)
            if not math.isfinite(fs):
                return math.inf, math.nan, None
            return fs, float(gus @ d), (fs, gs, gus)

        out = _wolfe_search(trial, f, gd, o["alpha"], o["c2"], t)
        if out is None:
            status = 3
            k -= 1
            break
        t, (fn, gn_, gun) = out
        xn = x + t * d
        s_, y_ = xn - x, gun - gu
        sy, yy = float(s_ @ y_), float(y_ @ y_)
        if sy > 2.220446049250313e-16 * yy and sy > 0.0:
            S.append(s_), Y.append(y_), rho.append(1.0 / sy)
        Fold = f
        x, f, g, gu = xn, fn, gn_, gun
        gnorm = float(np.linalg.norm(g))
        record(f, gnorm, t)
        if cb is not None and cb(k, x, f, gnorm, t):
            status = 2
            break
        if o["ftol"] > 0 and abs(f - Fold) < o["ftol"]:
            status = 4
            break
    else:
        k = max_iter
    return dict(x=x, fun=float(f), grad_norm=float(gnorm), nit=int(k), nfev=counts["f"], ngev=counts["g"],
                status=status)


def _python_loop(obj, x, method, step, tol, max_iter, o, cb, gt):
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

    if method == "lbfgs":
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
        res = _lbfgs_loop(obj, x, tol, max_iter, o, cb, counts, fval_grad, record)
        res["trace"] = {kk: np.asarray(v, dtype=float) for kk, v in tr.items()}
        return res

    f, g, gu = fgrad(x)
    t = o["t"]
    F = f + l1 * np.abs(x).sum()
    gnorm = (np.linalg.norm(_soft(x - t * gu, t * l1) - x) / t) if method in ("proximal", "fista") \
        else float(np.linalg.norm(g))
    record(F, gnorm, 0.0)
    M = o["memory"]
    hist = [F]
    C, Q = F, 1.0
    xp = x.copy()
    tk = 1.0
    kmom = 1
    best_x, best_f = x.copy(), F
    status = 1
    k = 0
    for k in range(1, max_iter + 1):
        if gnorm <= tol:
            status = 0
            k -= 1
            break
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
                    status = 3
                    k -= 1
                    break
            elif not (method == "bb" and o["nonmonotone"] == 0):
                if method == "gd":
                    t, ref = o["t"], f
                elif o["nonmonotone"] == 1:
                    ref = max(hist[-(min(k - 1, M) + 1):])
                else:
                    ref = C
                ok = False
                for _ in range(401):
                    if fval(x + t * d) <= ref + o["alpha"] * t * gd:
                        ok = True
                        break
                    t *= o["beta"]
                if not ok:
                    status = 3
                    k -= 1
                    break
            xn = x + t * d
            fn, gn_, gun = fgrad(xn)
            if method == "bb":
                s, y = xn - x, gun - gu
                sy = float(s @ y)
                tn = o["t_max"] if sy <= 0 else (float(s @ s) / sy if o["variant"] == "bb1" else sy / float(y @ y))
                tn = min(max(tn, o["t_min"]), o["t_max"])
                if o["nonmonotone"] == 2:
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
                    if fval(y - t * guy) <= fy - o["alpha"] * t * float(guy @ guy):
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
        record(F, gnorm, t_used)
        if cb is not None and cb(k, x, F, gnorm, t_used):
            status = 2
            break
        if o["ftol"] > 0 and abs(F - Fold) < o["ftol"]:
            status = 4
            break
    else:
        k = max_iter
    if method == "subgradient" and best_f < F:
        x, F = best_x, best_f
        gnorm = float(np.linalg.norm(obj.grad(x)))
    return dict(x=x, fun=float(F), grad_norm=float(gnorm), nit=int(k), nfev=counts["f"], ngev=counts["g"],
                status=status, trace={kk: np.asarray(v, dtype=float) for kk, v in tr.items()})


# ---- LASSO -----------------------------------------------------------------------------------

def lasso(A, b, mu, method="continuation", *, x0=None, tol=1e-8, max_iter=10000, mu0=None, eta=0.1,
          delta_factor=1e-3, polish=True, verbose=False):
    r"""Solve the LASSO  min_x 1/2 ||Ax - b||^2 + mu ||x||_1.

    ``method="continuation"`` is the smoothing scheme of the notes ("LASSO: 光滑化策略"):
    starting from mu_0 (default ||A'b||_inf), each stage minimises the Huber-smoothed
    f_delta (delta_t = 1e-3 mu_t) with BB steps (Zhang-Hager nonmonotone search), stops
    when |f(x_k) - f(x_{k-1})| < 10^{-4-t} or ||grad f_delta|| < 10^{-1-t}, and sets
    mu_{t+1} = max(eta mu_t, mu), eta = 0.1. The smoothing leaves an O(mu delta n) bias;
    with ``polish=True`` (default) a final FISTA run on the exact objective from the
    continuation's point removes it (set ``polish=False`` for the notes' scheme alone).
    ``"fista"`` / ``"proximal"``: accelerated / plain proximal gradient with backtracking.

    scikit-learn's ``Lasso(alpha)`` minimises 1/(2m)||Ax - b||^2 + alpha ||x||_1, the same
    problem with alpha = mu / m.

    Returns
    -------
    OptimizeResult with ``stages`` (list of (mu_t, nit)) for the continuation.
    """
    obj = Lasso(A, b, mu)
    x = np.zeros(obj.dim) if x0 is None else as_vector(x0, "x0", size=obj.dim).copy()
    tol = check_positive(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if method in ("fista", "proximal"):
        return minimize(obj, x, method=method, step="armijo", tol=tol, max_iter=max_iter, verbose=verbose)
    if method != "continuation":
        raise ValueError(f"method must be 'continuation', 'fista' or 'proximal', got {method!r}")
    eta = check_open_unit(eta, "eta")
    delta_factor = check_positive(delta_factor, "delta_factor")
    mu = obj.mu
    if mu0 is None:
        mu0 = float(np.max(np.abs(obj.A.T @ obj.b)))
    mu_t = max(check_positive(mu0, "mu0", allow_zero=True), mu)
    stages, total, nfev, ngev = [], 0, 0, 0
    traces = []
    stage = 0
    while True:
        sub = Lasso(obj.A, obj.b, mu_t).smooth(delta_factor * mu_t) if mu_t > 0 else Lasso(obj.A, obj.b, 0.0)
        r = minimize(sub, x, method="bb", nonmonotone="average", tol=10.0 ** (-1 - stage),
                     ftol=10.0 ** (-4 - stage), max_iter=max_iter, verbose=verbose)
        x = r.x
        stages.append((mu_t, r.nit))
        total += r.nit
        nfev += r.nfev
        ngev += r.ngev
        traces.append(r.trace)
        if mu_t <= mu:
            break
        mu_t = max(mu_t * eta, mu)
        stage += 1
    if polish:
        r = minimize(obj, x, method="fista", step="armijo", tol=tol, max_iter=max_iter, verbose=verbose)
        x = r.x
        total += r.nit
        nfev += r.nfev
        ngev += r.ngev
        traces.append(r.trace)
        stages.append(("polish", r.nit))
    F = obj.value(x)
    trace = {k: np.concatenate([t[k] for t in traces]) for k in traces[0]}
    status = r.status
    return OptimizeResult(x=x, fun=float(F), grad_norm=float(r.grad_norm), nit=total, nfev=nfev, ngev=ngev,
                          success=status in (0, 4), status=status, message=_STATUS[status],
                          method="lasso/continuation", stages=stages, trace=trace)
