"""Objectives and first-order methods.

1. Fused ``value_and_grad`` of LeastSquares / Logistic on X of 20000 x 1000 float64 vs
   NumPy's two BLAS passes (``X @ theta`` then ``X.T @ r``). The reference's BLAS is
   pinned to one thread with threadpoolctl (if threadpoolctl is missing, the reference
   runs with whatever threads the BLAS uses, and the note says so); convq runs with 1
   and with all threads.
2. Time to 1e-6 relative suboptimality for L2-logistic regression (benchopt's objective
   sum_i log(1 + exp(-y_i x_i'w)) + lam/2 ||w||^2, lam = 1, no intercept; the same
   minimiser as convq's Logistic(X, y, lam=1)) on a simulated 200 x 500 and a simulated
   100000 x 100 problem: convq's L-BFGS, BB (nonmonotone) and Nesterov vs scikit-learn's
   LogisticRegression(solver="lbfgs") and SciPy's L-BFGS-B on a NumPy objective, all
   single-threaded. Each solver runs with tolerances from loose to tight; the first run
   that reaches the target accuracy is timed (median of 3). The rows compare the fastest
   convq method (named in the row) with each reference; the note lists the other convq
   methods' times.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from convq import objectives as ob
from convq.optimize import minimize

from ._harness import Row, bandwidth_row, time_pair


def _single_thread_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext(), "BLAS threads not pinned (no threadpoolctl)"
    return threadpool_limits(limits=1), "NumPy BLAS pinned to 1 thread (threadpoolctl)"


def _fused_rows(ctx):
    rows = []
    m, n = (4000, 1000) if ctx.quick else (20000, 1000)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n))
    y = rng.standard_normal(m)
    yl = (rng.random(m) < 0.5).astype(float)
    th = rng.standard_normal(n) * 0.01
    limit, note = _single_thread_blas()

    def ref_lsq():
        r = X @ th - y
        return 0.5 / m * (r @ r), X.T @ r / m

    def ref_logistic():
        z = X @ th
        h = 1 / (1 + np.exp(-z))
        f = np.mean(np.logaddexp(0, z) - yl * z)
        return f, X.T @ (h - yl) / m

    with limit:
        for name, cls, yy, ref in (("LeastSquares", ob.LeastSquares, y, ref_lsq),
                                   ("Logistic", ob.Logistic, yl, ref_logistic)):
            for threads in (1, ctx.threads):
                o = cls(X, yy, threads=threads)
                tc, tr = time_pair(lambda: o.value_and_grad(th), ref, repeats=5 if ctx.quick else 9)
                rows.append(bandwidth_row(ctx, "optimize", f"{name}.value_and_grad {m}x{n}, {threads} thr", tc,
                                          X.nbytes, ref_name="NumPy X@t, X.T@r (1 thr)", ref_s=tr,
                                          note=note if threads == 1 else "convq multi-threaded"))
    return rows


def _logreg_problem(m, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / np.sqrt(n)
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ w))).astype(float)
    return X, y


def _time_to_accuracy(run, tols, fval, fstar, target, repeats=3):
    """First tolerance whose run reaches rel. suboptimality <= target; its median time."""
    for tol in tols:
        x = run(tol)
        sub = (fval(x) - fstar) / abs(fstar)
        if sub <= target:
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                run(tol)
                ts.append(time.perf_counter() - t0)
            return float(np.median(ts)), tol, sub
    return float("nan"), None, float("nan")


def _logreg_rows(ctx):
    rows = []
    lam = 1.0
    target = 1e-6
    cases = [(200, 500), (10000, 100) if ctx.quick else (100000, 100)]
    limit, note = _single_thread_blas()
    import scipy.optimize as so
    from sklearn.linear_model import LogisticRegression
    with limit:
        for m, n in cases:
            X, y = _logreg_problem(m, n, 1)
            obj = ob.Logistic(X, y, lam=lam, threads=1)

            def np_fg(w):
                z = X @ w
                f = np.sum(np.logaddexp(0, z) - y * z) / m + lam / (2 * m) * (w @ w)
                g = X.T @ (1 / (1 + np.exp(-z)) - y) / m + lam / m * w
                return f, g

            fval = obj.value
            # f*: the best of very tight solves
            cands = [minimize(obj, np.zeros(n), method="bb", tol=1e-13, max_iter=100000).x,
                     minimize(obj, np.zeros(n), method="lbfgs", tol=1e-13, max_iter=100000).x,
                     so.minimize(np_fg, np.zeros(n), jac=True, method="L-BFGS-B",
                                 options=dict(gtol=1e-14, ftol=1e-16, maxiter=100000)).x]
            fstar = min(fval(c) for c in cands)
            tols = list(np.logspace(-1, -13, 25))
            solvers = {
                "convq lbfgs": lambda tol: minimize(obj, np.zeros(n), method="lbfgs", tol=tol,
                                                    max_iter=100000).x,
                "convq bb (max)": lambda tol: minimize(obj, np.zeros(n), method="bb", tol=tol,
                                                       max_iter=100000).x,
                "convq bb (average)": lambda tol: minimize(obj, np.zeros(n), method="bb", nonmonotone="average",
                                                           tol=tol, max_iter=100000).x,
                "convq nesterov": lambda tol: minimize(obj, np.zeros(n), method="nesterov", tol=tol,
                                                       max_iter=100000).x,
                "sklearn lbfgs": lambda tol: LogisticRegression(C=1 / lam, fit_intercept=False, solver="lbfgs",
                                                                tol=tol, max_iter=100000).fit(X, y).coef_[0],
                "scipy L-BFGS-B": lambda tol: so.minimize(np_fg, np.zeros(n), jac=True, method="L-BFGS-B",
                                                          options=dict(gtol=tol, ftol=tol * 1e-3,
                                                                       maxiter=100000)).x,
            }
            res = {k: _time_to_accuracy(fn, tols, fval, fstar, target) for k, fn in solvers.items()}
            best = min((k for k in res if k.startswith("convq")), key=lambda k: res[k][0])
            for ref in ("sklearn lbfgs", "scipy L-BFGS-B"):
                tc, tolc, subc = res[best]
                tr, tolr, subr = res[ref]
                rows.append(Row("optimize", f"logreg l2 {m}x{n} to 1e-6: {best}", tc, ref, tr,
                                note=f"tol {tolc:.1e} -> {subc:.1e}; ref tol {tolr:.1e} -> {subr:.1e}; 1 thread"))
            others = ", ".join(f"{k} {res[k][0] * 1e3:.1f} ms" for k in res if k.startswith("convq") and k != best)
            rows[-1].note += f"; other convq: {others}"
    return rows


def _lasso_problem(m, n, correlated, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    if correlated:
        for j in range(1, n):
            A[:, j] = 0.9 * A[:, j - 1] + np.sqrt(1 - 0.81) * A[:, j]
    xt = np.zeros(n)
    xt[rng.choice(n, 20, replace=False)] = rng.standard_normal(20) * 3
    return A, A @ xt + 0.5 * rng.standard_normal(m)


def _lasso_rows(ctx):
    from convq.optimize import lasso
    rows = []
    target = 1e-6
    limit, note = _single_thread_blas()
    peers = {}
    try:
        from sklearn.linear_model import Lasso as SkLasso
        peers["sklearn Lasso"] = lambda A, b, mu, tol: SkLasso(alpha=mu / A.shape[0], fit_intercept=False, tol=tol,
                                                               max_iter=100000).fit(A, b).coef_
    except ImportError:  # pragma: no cover
        pass
    try:
        import celer
        peers["celer"] = lambda A, b, mu, tol: celer.Lasso(alpha=mu / A.shape[0], fit_intercept=False, tol=tol,
                                                           max_iter=1000).fit(A, b).coef_
    except ImportError:  # pragma: no cover
        pass
    try:
        import skglm
        peers["skglm"] = lambda A, b, mu, tol: skglm.Lasso(alpha=mu / A.shape[0], fit_intercept=False, tol=tol,
                                                           max_iter=1000).fit(A, b).coef_
    except ImportError:  # pragma: no cover
        pass
    cases = [(500, 2000, False, 10), (500, 2000, False, 100), (500, 2000, True, 10), (500, 2000, True, 100)]
    if ctx.quick:
        cases = cases[:2]
    import warnings
    with limit, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peers' convergence warnings at loose tolerances
        for m, n, corr, frac in cases:
            A, b = _lasso_problem(m, n, corr, 7)
            mu = float(np.abs(A.T @ b).max()) / frac
            f = ob.Lasso(A, b, mu)
            cands = [lasso(A, b, mu, tol=1e-15).x] + [fn(A, b, mu, 1e-12) for fn in peers.values()]
            for c in cands[:1]:  # convq's reference point passes the optimality conditions
                g = A.T @ (b - A @ c)
                nz = c != 0
                assert np.abs(g[nz] - mu * np.sign(c[nz])).max(initial=0) <= 1e-6 * mu
                assert np.abs(g[~nz]).max(initial=0) <= mu * (1 + 1e-6)
            fstar = min(f.value(c) for c in cands)
            tols = list(np.logspace(-2, -14, 25))
            solvers = {"convq cd": lambda tol: lasso(A, b, mu, tol=tol).x,
                       "convq fista": lambda tol: lasso(A, b, mu, method="fista", tol=tol, max_iter=100000).x}
            solvers.update({k: (lambda fn: lambda tol: fn(A, b, mu, tol))(fn) for k, fn in peers.items()})
            res = {k: _time_to_accuracy(fn, tols, f.value, fstar, target) for k, fn in solvers.items()}
            label = f"lasso {m}x{n} {'corr 0.9' if corr else 'gaussian'} lmax/{frac} to 1e-6"
            tc, tolc, subc = res["convq cd"]
            for ref in peers:
                tr, tolr, subr = res[ref]
                rows.append(Row("optimize", f"{label}: convq cd", tc, ref, tr,
                                note=f"tol {tolc:.1e} -> {subc:.1e}; ref tol {tolr:.1e} -> {subr:.1e}; 1 thread"))
            rows[-1].note += f"; convq fista {res['convq fista'][0] * 1e3:.1f} ms"
    return rows


def _svm_rows(ctx):
    import warnings
    from sklearn.datasets import load_breast_cancer
    from sklearn.svm import LinearSVC
    from convq.models import LinearSVM
    from convq.optimize import svm_dual_cd
    rows = []
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((20000, 50))
    yz = (Z @ rng.standard_normal(50) + 0.5 + 2 * rng.standard_normal(20000) > 0).astype(float)
    cases = [("breast cancer 569x30", X, y.astype(float))]
    if not ctx.quick:
        cases.append(("simulated 20000x50", Z, yz))
    C, target = 1.0, 1e-6
    tols = list(np.logspace(-1, -10, 19))
    limit, _ = _single_thread_blas()
    with limit, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, A, b in cases:
            for icpt in (False, True):
                f = ob.Hinge(A, b, C, 1.0, icpt)
                ref = svm_dual_cd(A, b, C, intercept=icpt, tol=1e-11, max_iter=10**7, rng=0)
                fstar = ref.fun

                def lin(tol):
                    m = LinearSVC(C=C, loss="hinge", fit_intercept=icpt, tol=tol, max_iter=10**6).fit(A, b)
                    return np.r_[m.intercept_, m.coef_[0]] if icpt else m.coef_[0]

                if icpt:  # liblinear's own problem: the intercept is a penalised feature of value 1,
                    # whose optimum convq certifies (KKT) by solving it without an intercept
                    A1 = np.column_stack([np.ones(len(b)), A])
                    f_lin = ob.Hinge(A1, b, C, 1.0, False).value
                    fstar_lin = svm_dual_cd(A1, b, C, intercept=False, tol=1e-11, max_iter=10**7, rng=0).fun
                else:
                    f_lin, fstar_lin = f.value, fstar
                tc, tolc, subc = _time_to_accuracy(lambda tol: svm_dual_cd(A, b, C, intercept=icpt, tol=tol,
                                                                          max_iter=10**7, rng=0).x,
                                                   tols, f.value, fstar, target)
                tl, toll, subl = _time_to_accuracy(lin, tols, f_lin, fstar_lin, target)
                t0 = time.perf_counter()
                LinearSVM(C=C, fit_intercept=icpt).fit(A, b)
                t_exact = time.perf_counter() - t0
                what = "same problem" if not icpt else "intercept: each to its own problem's optimum"
                rows.append(Row("optimize", f"svm hinge {label} {'no ' if not icpt else ''}intercept to 1e-6: "
                                f"convq svm_dual_cd", tc, "LinearSVC", tl,
                                note=f"{what}; tol {tolc:.1e} -> {subc:.1e}; ref tol {toll:.1e} -> {subl:.1e}; "
                                     f"convq LinearSVM (exact active set) {t_exact * 1e3:.0f} ms"))
    return rows


def _illcond_rows(ctx):
    import warnings
    from sklearn.linear_model import LogisticRegression
    rows = []
    m, n = (5000, 100) if ctx.quick else (20000, 100)
    rng = np.random.default_rng(3)
    scale = 10.0 ** np.linspace(-2, 2, n)
    X = rng.standard_normal((m, n)) * scale
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ (rng.standard_normal(n) / scale) + 0.3)))).astype(float)
    lam, target = 1.0, 1e-6
    limit, note = _single_thread_blas()
    with limit, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        o = ob.Logistic(X, y, lam=lam, intercept=True, threads=1)
        ref = minimize(o, np.zeros(n + 1), method="newton", tol=1e-12, max_iter=100)
        assert ref.grad_norm <= 1e-9  # the reference optimum is certified by its gradient
        fstar = ref.fun
        tols = list(np.logspace(-1, -12, 23))
        solvers = {
            "convq newton-cg": lambda tol: minimize(ob.Logistic(X, y, lam=lam, intercept=True, threads=1),
                                                    np.zeros(n + 1), method="newton-cg", tol=tol, max_iter=1000).x,
            "convq newton": lambda tol: minimize(ob.Logistic(X, y, lam=lam, intercept=True, threads=1),
                                                 np.zeros(n + 1), method="newton", tol=tol, max_iter=1000).x,
            "sklearn newton-cholesky": lambda tol: (lambda c: np.r_[c.intercept_, c.coef_[0]])(
                LogisticRegression(C=1 / lam, solver="newton-cholesky", tol=tol, max_iter=1000).fit(X, y)),
            "sklearn lbfgs": lambda tol: (lambda c: np.r_[c.intercept_, c.coef_[0]])(
                LogisticRegression(C=1 / lam, solver="lbfgs", tol=tol, max_iter=100000).fit(X, y)),
        }
        res = {k: _time_to_accuracy(fn, tols, o.value, fstar, target) for k, fn in solvers.items()}
    best = min((k for k in res if k.startswith("convq")), key=lambda k: res[k][0])
    for ref_name in ("sklearn newton-cholesky", "sklearn lbfgs"):
        tc, tolc, subc = res[best]
        tr, tolr, subr = res[ref_name]
        rows.append(Row("optimize", f"logreg ill-conditioned {m}x{n} (+intercept) to 1e-6: {best}", tc, ref_name, tr,
                        note=f"tol {tolc:.1e} -> {subc:.1e}; ref tol {tolr:.1e} -> {subr:.1e}; {note}"))
    other = [k for k in res if k.startswith("convq") and k != best][0]
    rows[-1].note += f"; {other} {res[other][0] * 1e3:.0f} ms"
    return rows


def run(ctx):
    return _fused_rows(ctx) + _logreg_rows(ctx) + _lasso_rows(ctx) + _svm_rows(ctx) + _illcond_rows(ctx)
