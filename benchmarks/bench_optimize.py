"""Objectives and first-order methods.

1. Fused ``value_and_grad`` of LeastSquares / Logistic on X of 20000 x 1000 float64 vs
   NumPy's two BLAS passes (``X @ theta`` then ``X.T @ r``). The reference's BLAS is
   pinned to one thread with threadpoolctl (if threadpoolctl is missing, the reference
   runs with whatever threads the BLAS uses, and the note says so); convq runs with 1
   and with all threads.
2. Time to 1e-6 relative suboptimality, end to end (each timed call builds its objective
   from the raw arrays: validation and conversion included), one thread everywhere
   (threadpoolctl pins the peers' BLAS). Each solver runs with tolerances from loose to
   tight, a decade apart; the first run whose objective is within 1e-6 (relative) of f*
   is the one timed: its time when it took over 0.5 s, else the median of 3 further runs,
   interleaved across the solvers of the row. Every row's note gives both sides'
   tolerance and reached relative suboptimality; f* is certified per case (the note says
   how).
   - L2-logistic regression with an intercept, as users fit it (sklearn's
     LogisticRegression objective C sum_i log-loss + 1/2 ||w||^2, C = 1, the intercept
     unpenalised; the same minimiser as convq's Logistic(X, y, lam=1, intercept=True)),
     simulated 200 x 500 and 100000 x 100: convq L-BFGS and BB vs LogisticRegression(lbfgs).
     Target: >= 1.5x.
   - The same on an ill-conditioned 20000 x 100 design (columns scaled by
     10^linspace(-2, 2)): convq newton / newton-cg vs LogisticRegression(newton-cholesky).
     Target: >= 1x (sklearn's lbfgs is left out: minutes on this problem).
   - LASSO 1/2||Ax - b||^2 + mu ||x||_1 (sklearn alpha = mu / m, no intercept: convq's
     lasso fits none) on 500 x 2000 (Gaussian and 0.9-correlated columns, lmax/10 and
     lmax/100) and a 20000 x 50000 scipy.sparse CSC design of density 1e-3 (lmax/10 and
     lmax/100): convq cd vs celer, skglm and sklearn. Target: >= 1x celer and skglm.
   - Linear SVM, hinge loss, C = 1, on breast cancer (569 x 30, standardised) and a
     simulated 20000 x 50, without and with an intercept: convq svm_dual_cd vs LinearSVC
     (liblinear's dual CD). Target: >= 1x. With an intercept the two solve different
     problems (liblinear penalises it as a constant feature), each timed to its own
     problem's optimum.
   - Interior point: convq lasso(method="interior-point") (the LASSO as a QP over
     (x+, x-) >= 0) and box_qp on a random box-constrained QP, both to 1e-8, beside
     Clarabel on the same QP; Clarabel's answer is checked first (status, bound
     feasibility, stationarity Qx + c + A'z and complementarity s'z, all <= 1e-7 scaled).
"""
from __future__ import annotations

import contextlib
import statistics
import sys
import time
import warnings

import numpy as np

from convq import objectives as ob
from convq.models import LinearSVM
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



def _progress(msg):
    print(f"  [optimize] {msg}", file=sys.stderr, flush=True)


def _race(solvers, tols, fval, fstar, target=1e-6, repeats=3, slow=0.5):
    """Time to relative suboptimality `target` for each solver (name -> run(tol) -> x).

    Walks each solver's tolerance ladder until a run reaches it; a run over `slow`
    seconds is timed once (that run), faster ones by the median of `repeats` runs,
    interleaved across solvers. Returns name -> (seconds, tol, reached suboptimality)."""
    found, quick = {}, []
    for name, run in solvers.items():
        found[name] = (float("nan"), None, float("nan"))
        for tol in tols:
            t0 = time.perf_counter()
            x = run(tol)
            t = time.perf_counter() - t0
            sub = (fval(x) - fstar) / abs(fstar)
            if sub <= target:
                found[name] = (t, tol, sub)
                if t < slow:
                    quick.append(name)
                break
    samples = {name: [] for name in quick}
    for _ in range(repeats):
        for name in quick:
            tol = found[name][1]
            t0 = time.perf_counter()
            solvers[name](tol)
            samples[name].append(time.perf_counter() - t0)
    for name in quick:
        found[name] = (statistics.median(samples[name]),) + found[name][1:]
    return found


def _pair_rows(label, res, best, refs, extra=""):
    """One Row per reference: convq's `best` against it, both sides' accuracy in the note."""
    rows = []
    tc, tolc, subc = res[best]
    for ref in refs:
        tr, tolr, subr = res[ref]
        rows.append(Row("optimize", f"{label}: {best}", tc, ref, tr,
                        note=f"convq tol {tolc:.0e} -> {subc:.1e}; ref tol {tolr:.0e} -> {subr:.1e}{extra}"))
    return rows


def _others(res, best):
    return ", ".join(f"{k} {res[k][0] * 1e3:.1f} ms" for k in res if k.startswith("convq") and k != best)


def _logreg_problem(m, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / np.sqrt(n)
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ w + 0.3)))).astype(float)
    return X, y


def _sk_logreg(X, y, lam, solver, max_iter):
    from sklearn.linear_model import LogisticRegression

    def run(tol):
        c = LogisticRegression(C=1 / lam, solver=solver, tol=tol, max_iter=max_iter).fit(X, y)
        return np.r_[c.intercept_, c.coef_[0]]
    return run


def _logistic_row(label, X, y, convq_methods, ref, ref_solver, tols):
    """Logistic regression with an intercept, lam = 1: f* by convq's Newton, certified by its gradient."""
    lam = 1.0
    n = X.shape[1]
    o = ob.Logistic(X, y, lam=lam, intercept=True, threads=1)
    star = minimize(o, np.zeros(n + 1), method="newton", tol=1e-12, max_iter=100)
    assert star.grad_norm <= 1e-9, star.grad_norm  # the reference optimum is certified by its gradient
    solvers = {f"convq {meth}": (lambda meth, kw: lambda tol: minimize(
        ob.Logistic(X, y, lam=lam, intercept=True, threads=1), np.zeros(n + 1), method=meth, tol=tol,
        max_iter=100000, **kw).x)(meth, kw) for meth, kw in convq_methods}
    solvers[ref] = _sk_logreg(X, y, lam, ref_solver, 100000)
    res = _race(solvers, tols, o.value, star.fun)
    best = min((k for k in res if k.startswith("convq")), key=lambda k: res[k][0])
    return _pair_rows(label, res, best, [ref], f"; f* by convq newton, ||grad|| {star.grad_norm:.0e}; "
                      f"other convq: {_others(res, best)}")


def _logreg_rows(ctx):
    rows = []
    cases = [(200, 500), (10000, 100) if ctx.quick else (100000, 100)]
    for m, n in cases:
        X, y = _logreg_problem(m, n, 1)
        _progress(f"logistic {m}x{n}")
        rows += _logistic_row(f"logreg l2 {m}x{n} +intercept to 1e-6", X, y,
                              [("lbfgs", {}), ("bb", {})], "sklearn lbfgs", "lbfgs", list(np.logspace(-2, -12, 11)))
    return rows


def _illcond_rows(ctx):
    m, n = (5000, 100) if ctx.quick else (20000, 100)
    rng = np.random.default_rng(3)
    scale = 10.0 ** np.linspace(-2, 2, n)
    X = rng.standard_normal((m, n)) * scale
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ (rng.standard_normal(n) / scale) + 0.3)))).astype(float)
    _progress(f"ill-conditioned logistic {m}x{n}")
    return _logistic_row(f"logreg ill-conditioned {m}x{n} +intercept to 1e-6", X, y,
                         [("newton", {}), ("newton-cg", {})], "sklearn newton-cholesky", "newton-cholesky",
                         list(np.logspace(-2, -12, 11)))


def _lasso_problem(m, n, correlated, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    if correlated:
        for j in range(1, n):
            A[:, j] = 0.9 * A[:, j - 1] + np.sqrt(1 - 0.81) * A[:, j]
    xt = np.zeros(n)
    xt[rng.choice(n, 20, replace=False)] = rng.standard_normal(20) * 3
    return A, A @ xt + 0.5 * rng.standard_normal(m)


def _sparse_lasso_problem(m, n, density, seed):
    """A CSC design with density * m * n Gaussian entries at uniform positions (as celer's
    sparse benchmarks), 50 true features."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    nnz = int(density * m * n)
    A = sp.csc_matrix((rng.standard_normal(nnz), (rng.integers(0, m, nnz), rng.integers(0, n, nnz))), shape=(m, n))
    xt = np.zeros(n)
    xt[rng.choice(n, 50, replace=False)] = rng.standard_normal(50) * 3
    return A, A @ xt + 0.5 * rng.standard_normal(m)


def _lasso_peers():
    peers = {}
    from sklearn.linear_model import Lasso as SkLasso
    peers["sklearn Lasso"] = lambda A, b, mu, tol: SkLasso(alpha=mu / A.shape[0], fit_intercept=False, tol=tol,
                                                           max_iter=100000).fit(A, b).coef_
    import celer
    peers["celer"] = lambda A, b, mu, tol: celer.Lasso(alpha=mu / A.shape[0], fit_intercept=False, tol=tol,
                                                       max_iter=1000).fit(A, b).coef_
    import skglm
    peers["skglm"] = lambda A, b, mu, tol: skglm.Lasso(alpha=mu / A.shape[0], fit_intercept=False, tol=tol,
                                                       max_iter=1000).fit(A, b).coef_
    return peers


def _lasso_kkt(A, b, mu, x):
    """The LASSO optimality conditions' worst violation, relative to mu."""
    g = A.T @ (b - A @ x)
    nz = x != 0
    return max(np.abs(g[nz] - mu * np.sign(x[nz])).max(initial=0), np.abs(g[~nz]).max(initial=0) - mu, 0) / mu


def _lasso_rows(ctx):
    from convq.optimize import lasso
    rows = []
    peers = _lasso_peers()
    cases = [(500, 2000, "gaussian", 10), (500, 2000, "gaussian", 100), (500, 2000, "corr 0.9", 10),
             (500, 2000, "corr 0.9", 100), (20000, 50000, "sparse 1e-3", 10), (20000, 50000, "sparse 1e-3", 100)]
    if ctx.quick:
        cases = cases[:2] + [(2000, 5000, "sparse 1e-3", 10)]
    for m, n, kind, frac in cases:
        _progress(f"lasso {m}x{n} {kind} lmax/{frac}")
        A, b = (_sparse_lasso_problem(m, n, 1e-3, 7) if kind.startswith("sparse")
                else _lasso_problem(m, n, kind != "gaussian", 7))
        mu = float(np.abs(A.T @ b).max()) / frac
        star = lasso(A, b, mu, tol=1e-15)
        kkt = _lasso_kkt(A, b, mu, star.x)
        assert kkt <= 1e-6, kkt  # convq's reference point passes the optimality conditions
        f = star.fun
        cands = [f] + [float(0.5 * np.sum((A @ c - b) ** 2) + mu * np.abs(c).sum())
                       for c in (fn(A, b, mu, 1e-12) for fn in peers.values())]
        fstar = min(cands)

        def fval(x):
            return float(0.5 * np.sum((A @ x - b) ** 2) + mu * np.abs(x).sum())
        solvers = {"convq cd": lambda tol: lasso(A, b, mu, tol=tol).x}
        if not kind.startswith("sparse"):
            solvers["convq fista"] = lambda tol: lasso(A, b, mu, method="fista", tol=tol, max_iter=100000).x
        solvers.update({k: (lambda fn: lambda tol: fn(A, b, mu, tol))(fn) for k, fn in peers.items()})
        res = _race(solvers, list(np.logspace(-2, -14, 13)), fval, fstar)
        extra = (f"; f* the best of convq (KKT {kkt:.0e}) and the peers at tol 1e-12; no intercept"
                 + (f"; convq fista {res['convq fista'][0] * 1e3:.1f} ms" if "convq fista" in res else ""))
        rows += _pair_rows(f"lasso {m}x{n} {kind} lmax/{frac} to 1e-6", res, "convq cd", list(peers), extra)
    return rows


def _svm_rows(ctx):
    from sklearn.datasets import load_breast_cancer
    from sklearn.svm import LinearSVC
    from convq.optimize import svm_dual_cd
    rows = []
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((20000, 50))
    yz = (Z @ rng.standard_normal(50) + 0.5 + 2 * rng.standard_normal(20000) > 0).astype(float)
    cases = [("breast cancer 569x30", X, y.astype(float), 1e-9)]
    if not ctx.quick:  # tol 1e-5 leaves both sides ~1e-8 above f* here (1e-6: a minute each)
        cases.append(("simulated 20000x50", Z, yz, 1e-5))
    C = 1.0
    tols = list(np.logspace(-1, -9, 5))
    for label, A, b, ref_tol in cases:
        for icpt in (False, True):
            _progress(f"svm {label} intercept={icpt}")

            def lin(tol, A=A, b=b, icpt=icpt):
                m = LinearSVC(C=C, loss="hinge", fit_intercept=icpt, tol=tol, max_iter=10**6).fit(A, b)
                return np.r_[m.intercept_, m.coef_[0]] if icpt else m.coef_[0]

            # f*: the best of convq's and LinearSVC's tight runs on each problem; liblinear's own
            # problem with an intercept is the penalised constant feature, solved by convq as a
            # feature too
            A1 = np.column_stack([np.ones(len(b)), A]) if icpt else A
            f = ob.Hinge(A, b, C, 1.0, icpt).value
            f_lin = ob.Hinge(A1, b, C, 1.0, False).value
            fstar = min(svm_dual_cd(A, b, C, intercept=icpt, tol=ref_tol, max_iter=10**7, rng=0).fun,
                        ob.Hinge(A, b, C, 1.0, icpt).value(lin(ref_tol)) if not icpt else np.inf)
            fstar_lin = min(svm_dual_cd(A1, b, C, intercept=False, tol=ref_tol, max_iter=10**7, rng=0).fun,
                            f_lin(lin(ref_tol)))
            rc = _race({"convq svm_dual_cd": lambda tol, A=A, b=b, icpt=icpt: svm_dual_cd(
                A, b, C, intercept=icpt, tol=tol, max_iter=10**7, rng=0).x}, tols, f, fstar)
            rl = _race({"LinearSVC": lin}, tols, f_lin, fstar_lin)
            what = "same problem" if not icpt else "intercept: each to its own problem's optimum"
            if len(b) < 1000:  # the model's default solver, for the record (slow on the larger case)
                t0 = time.perf_counter()
                LinearSVM(C=C, fit_intercept=icpt).fit(A, b)
                what += f"; convq LinearSVM() (default: dual CD) {(time.perf_counter() - t0) * 1e3:.0f} ms"
            rows += _pair_rows(f"svm hinge {label} {'no ' if not icpt else ''}intercept to 1e-6", {**rc, **rl},
                               "convq svm_dual_cd", ["LinearSVC"], f"; {what}; f* best of both at tol {ref_tol:.0e}")
    return rows


def _clarabel_box_qp(Q, c, lo, hi):
    """Clarabel on min 1/2 x'Qx + c'x, lo <= x <= hi (finite bounds only), its answer checked:
    solved status, bounds, stationarity Qx + c + A'z = 0 and complementarity s'z.
    Returns (x, worst scaled residual)."""
    import clarabel
    import scipy.sparse as sp
    n = len(c)
    rows = [sp.eye(n, format="csc")[np.isfinite(hi)], -sp.eye(n, format="csc")[np.isfinite(lo)]]
    Aq = sp.vstack(rows).tocsc()
    bq = np.r_[hi[np.isfinite(hi)], -lo[np.isfinite(lo)]]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    sol = clarabel.DefaultSolver(sp.triu(sp.csc_matrix(Q)).tocsc(), c, Aq, bq,
                                 [clarabel.NonnegativeConeT(len(bq))], settings).solve()
    assert str(sol.status) == "Solved", sol.status
    x, z, s = np.asarray(sol.x), np.asarray(sol.z), np.asarray(sol.s)
    scale = 1.0 + max(np.abs(c).max(), np.abs(Q).max())
    feas = max(np.maximum(lo - x, 0).max(), np.maximum(x - hi, 0).max())
    stat = np.abs(Q @ x + c + Aq.T @ z).max() / scale  # Clarabel's sign convention: Px + q + A'z = 0
    comp = abs(s @ z) / max(1.0, abs(0.5 * x @ Q @ x + c @ x))
    worst = max(feas, stat, comp, -min(z.min(), 0))
    assert worst <= 1e-7, (feas, stat, comp)
    return x, worst


def _interior_point_rows(ctx):
    from convq.optimize import box_qp, lasso
    rows = []
    rng = np.random.default_rng(11)
    # LASSO as the QP over (x+, x-) >= 0
    m, n = (60, 120) if ctx.quick else (150, 400)
    _progress(f"interior point: lasso {m}x{n}, box QP")
    A, b = _lasso_problem(m, n, False, 11)
    mu = float(np.abs(A.T @ b).max()) / 10
    G, Atb = A.T @ A, A.T @ b
    Q = np.block([[G, -G], [-G, G]])
    cq = np.concatenate([mu - Atb, mu + Atb])
    star = lasso(A, b, mu, tol=1e-15)
    fstar = star.fun

    def lval(x):
        return float(0.5 * np.sum((A @ x - b) ** 2) + mu * np.abs(x).sum())
    lo2, hi2 = np.zeros(2 * n), np.full(2 * n, np.inf)
    cla_lasso = {}

    def cla_l():
        xq, cla_lasso["res"] = _clarabel_box_qp(Q, cq, lo2, hi2)
        return xq[:n] - xq[n:]
    xc = lasso(A, b, mu, method="interior-point", tol=1e-8).x
    xq = cla_l()
    tc, tq = time_pair(lambda: lasso(A, b, mu, method="interior-point", tol=1e-8), cla_l, repeats=3)
    rows.append(Row("optimize", f"interior point: lasso {m}x{n} lmax/10 as a {2 * n}-variable QP, tol 1e-8",
                    tc, "Clarabel (same QP)", tq,
                    note=f"convq -> rel. subopt. {(lval(xc) - fstar) / fstar:.1e}; Clarabel -> "
                         f"{(lval(xq) - fstar) / fstar:.1e} (checked: KKT/feasibility {cla_lasso['res']:.0e}); "
                         f"f* by convq cd to gap 1e-15 ||b||^2"))
    # a box QP
    nb = 150 if ctx.quick else 500
    M = rng.standard_normal((nb, nb))
    Qb = M.T @ M / nb + 1e-3 * np.eye(nb)
    cb = rng.standard_normal(nb) * 3
    lob, hib = -np.ones(nb), np.ones(nb)
    rb = box_qp(Qb, cb, lob, hib, tol=1e-8)
    xq, worst = _clarabel_box_qp(Qb, cb, lob, hib)
    tc, tq = time_pair(lambda: box_qp(Qb, cb, lob, hib, tol=1e-8), lambda: _clarabel_box_qp(Qb, cb, lob, hib),
                       repeats=3)
    fb = lambda x: float(0.5 * x @ Qb @ x + cb @ x)  # noqa: E731
    fstar = min(fb(rb.x), fb(xq))
    kkt_c = np.abs(Qb @ rb.x + cb - rb.z_lo + rb.z_hi).max() / (1 + max(np.abs(cb).max(), np.abs(Qb).max()))
    rows.append(Row("optimize", f"interior point: box QP n={nb} in [-1, 1], tol 1e-8", tc, "Clarabel", tq,
                    note=f"convq ({rb.nit} it.) -> f - f* {(fb(rb.x) - fstar) / abs(fstar):.1e} rel., stationarity "
                         f"{kkt_c:.0e}, gap {rb.gap:.0e}; Clarabel -> {(fb(xq) - fstar) / abs(fstar):.1e} rel. "
                         f"(checked: KKT/feasibility {worst:.0e}); f* the better of the two"))
    return rows


def run(ctx):
    limit, _ = _single_thread_blas()
    with limit, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # peers' convergence warnings at loose tolerances
        rows = _fused_rows(ctx)
        for part in (_logreg_rows, _illcond_rows, _lasso_rows, _svm_rows, _interior_point_rows):
            t0 = time.perf_counter()
            rows += part(ctx)
            _progress(f"{part.__name__} done in {time.perf_counter() - t0:.1f} s")
    return rows
