"""Twin table: ``minimize(obj, x0, method=m, engine="c")`` (the C solvers of
csrc/optimize/) against ``engine="python"`` (the NumPy loop of :mod:`convq.slow.optimize`)
for every method with a C solver, on adversarial problems: ill-conditioned quadratics and
least squares, an overflow-prone logistic, x0 at the optimum, max_iter = 0 and 1.

``lasso(method="cd")``, ``lasso_path`` and ``svm_dual_cd`` are compared with their twins
bit for bit (the twins replay C's sums in C's order, and the same random draws).

Compared for minimize: x, f, the iteration count, the status and the trace (f, ||g||, step). The twin
replays the same operations in NumPy, whose dot products and norms sum in a different
order: the runs agree to rtol = 1e-7 of the largest entry (the counts exactly), over the
short runs used here (a long run on an ill-conditioned problem may take a different
line-search branch on a last-bit difference)."""
from __future__ import annotations

import numpy as np

import convq.objectives as O
from _twin import Twin
from convq.optimize import lasso, lasso_path, minimize, svm_dual_cd


def _run(engine):
    def run(obj, x0, method, step, max_iter, options):
        r = minimize(obj, x0, method=method, step=step, tol=1e-9, max_iter=max_iter, engine=engine, **options)
        return (r.x, r.fun, r.nit, r.status, r.trace["fun"], r.trace["grad_norm"], r.trace["step"])
    return run


def _problems():
    r = np.random.default_rng(11)
    n = 6
    Q, _ = np.linalg.qr(r.standard_normal((n, n)))
    ill = Q @ np.diag(np.logspace(0, 6, n)) @ Q.T                # condition number 1e6
    X = r.standard_normal((50, n))
    X[:, 0] *= 1e3                                               # badly scaled column
    y = X @ r.standard_normal(n) + r.standard_normal(50)
    yl = (r.random(50) < 0.5).astype(float)
    Xs = r.standard_normal((50, n))
    return {
        "quad-ill": O.Quadratic(ill, r.standard_normal(n)),
        "quad-at-opt": O.Quadratic(np.diag(np.arange(1.0, n + 1)), np.zeros(n)),   # x0 = 0 is the optimum
        "lsq-scaled": O.LeastSquares(X, y, 0.1, True),
        "logistic": O.Logistic(Xs * 30, yl, 0.5, True),                           # saturated sigmoids
        "lasso": O.Lasso(Xs, Xs @ np.r_[1.0, -2.0, np.zeros(n - 2)], 1.0),
        "lasso-smooth": O.Lasso(Xs, Xs @ np.r_[1.0, -2.0, np.zeros(n - 2)], 1.0, delta=0.01),
        "hinge": O.Hinge(Xs, yl, 0.5, 1.0, True),
    }


_SMOOTH = ("quad-ill", "quad-at-opt", "lsq-scaled", "logistic", "lasso-smooth")
_RUNS = [  # (method, step, options, objectives)
    ("gd", "fixed", {}, _SMOOTH),
    ("gd", "armijo", {}, _SMOOTH),
    ("gd", "exact", {}, ("quad-ill", "quad-at-opt", "lsq-scaled", "logistic")),
    ("bb", "armijo", {}, _SMOOTH),
    ("bb", "armijo", dict(variant="bb2", nonmonotone="average"), _SMOOTH),
    ("bb", "armijo", dict(nonmonotone=None, t_max=1e3), _SMOOTH),
    ("nesterov", "fixed", {}, _SMOOTH),
    ("nesterov", "armijo", dict(restart=False), _SMOOTH),
    ("proximal", "fixed", {}, ("lasso", "lsq-scaled")),
    ("proximal", "armijo", dict(l1=0.5), ("lasso", "logistic")),
    ("fista", "fixed", {}, ("lasso", "quad-ill")),
    ("fista", "armijo", {}, ("lasso", "lsq-scaled")),
    ("subgradient", "armijo", dict(t0=0.1), ("hinge", "lasso", "quad-ill")),
    ("lbfgs", "armijo", {}, _SMOOTH),
    ("lbfgs", "armijo", dict(memory=1, c2=0.5), _SMOOTH),
    ("cg", "armijo", {}, _SMOOTH),
    # Fletcher-Reeves' strong-Wolfe search on the badly scaled least squares picks its trial
    # from f-differences at the rounding level of f (1e4): its path there is rounding noise
    ("cg", "armijo", dict(variant="fr"), tuple(n for n in _SMOOTH if n != "lsq-scaled")),
    ("cg", "armijo", dict(variant="hz"), _SMOOTH),
    ("cg", "exact", {}, ("quad-ill", "quad-at-opt", "lsq-scaled")),
    ("newton-cg", "armijo", {}, ("quad-ill", "lsq-scaled", "logistic", "lasso-smooth")),
]


# conjugate directions and Barzilai-Borwein steps (1/t = s's / s'y) on a condition number of
# 1e6 amplify last-bit differences after a few steps (both runs are right; their rounding
# differs, and the twin's BLAS products round differently per CPU: OpenBLAS picks other
# kernels, with another summation order, on AVX-512 machines): these runs are kept to 3 steps
_SHORT = ("cg", "newton-cg", "lbfgs", "bb")


def _cases(rng):
    probs = _problems()
    for method, step, options, names in _RUNS:
        for name in names:
            obj = probs[name]
            x0s = [np.zeros(obj.dim)] if name == "quad-at-opt" else [np.zeros(obj.dim), rng.standard_normal(obj.dim)]
            for x0 in x0s:
                for max_iter in (0, 1, 3 if method in _SHORT else 15):
                    yield (obj, x0, method, step, max_iter, options)


def _bad():
    probs = _problems()
    q, h = probs["quad-ill"], probs["hinge"]
    x0 = np.zeros(q.dim)
    return [(q, x0, "newton-raphson", "armijo", 10, {}), (q, x0, "bb", "exact", 10, {}),
            (q, x0, "gd", "fixed", 10, dict(t=-1.0)), (q, x0, "gd", "armijo", 10, dict(gamma=2.0)),
            (q, np.zeros(q.dim + 1), "gd", "armijo", 10, {}), (q, x0, "gd", "armijo", -1, {}),
            (h, np.zeros(h.dim), "lbfgs", "armijo", 10, {}), (h, np.zeros(h.dim), "fista", "armijo", 10, {}),
            (q, x0, "lbfgs", "armijo", 10, dict(c1=0.9, c2=0.5)), (q, np.full(q.dim, np.nan), "cg", "armijo", 10, {})]


# ---- lasso(method="cd"), lasso_path and svm_dual_cd: C against twins that replay its sums ------

def _lasso_data(m, n, seed):
    r = np.random.default_rng(seed)
    A = r.standard_normal((m, n))
    A[:, min(3, n - 1)] = 0.0                  # an empty column
    if n > 5:
        A[:, 5] = A[:, 4]                      # a duplicated column: ties in the working-set ranking
    b = A @ np.r_[np.ones(min(3, n)), np.zeros(n - min(3, n))] + 0.1 * r.standard_normal(m)
    return A, b, float(np.max(np.abs(A.T @ b)))


def _lasso(engine):
    def run(A, b, mu, x0, tol, max_iter, ws_start, anderson):
        r = lasso(A, b, mu, method="cd", x0=x0, tol=tol, max_iter=max_iter, ws_start=ws_start, anderson=anderson,
                  engine=engine)
        return r.x, r.fun, r.gap, r.dual, r.nit, r.n_outer, r.ws_size, r.n_extrapolated, r.success
    return run


def _lasso_cases(rng):
    for m, n in ((40, 30), (30, 80), (12, 6), (5, 2)):
        A, b, mu_max = _lasso_data(m, n, m + n)
        for frac in (1.0001, 0.5, 0.05, 0.005):             # from x = 0 at once to a dense solution
            for anderson in (0, 3, 10):
                yield (A, b, frac * mu_max, None, 1e-8, 300, 10, anderson)
        yield (A, b, 0.1 * mu_max, None, 1e-15, 1, 10, 5)     # one epoch
        yield (A, b, 0.1 * mu_max, rng.standard_normal(n), 1e-8, 300, 1, 5)   # a warm start (the empty column too)
        yield (A * 1e150, b * 1e150, 0.1 * mu_max * 1e300, None, 1e-6, 200, 10, 5)   # squares near overflow


def _path(engine):
    def run(A, b, n_mus, anderson):
        p = lasso_path(A, b, n_mus=n_mus, eps=1e-2, tol=1e-8, anderson=anderson, engine=engine)
        return p.mus, p.coefs, p.gaps, p.n_iter, p.converged
    return run


def _svm(engine):
    def run(X, y, C, intercept, tol, max_iter, seed, loss="hinge"):
        r = svm_dual_cd(X, y, C, 1.0, intercept, loss=loss, tol=tol, max_iter=max_iter, rng=seed, engine=engine)
        return r.x, r.alpha, r.fun, r.nit, r.n_outer, r.pg_spread, r.eq_violation, r.success
    return run


def _svm_cases(rng):
    for m, n in ((40, 3), (60, 7), (15, 1)):
        r = np.random.default_rng(m)
        X = r.standard_normal((m, n))
        y = (X[:, 0] + 0.3 * r.standard_normal(m) > 0).astype(float)
        for C in (0.01, 1.0, 100.0):
            for intercept in (True, False):
                for loss in ("hinge", "squared_hinge"):
                    yield (X, y, C, intercept, 1e-4, 200, int(rng.integers(2**31)), loss)
        yield (X, y, 1.0, True, 1e-6, 1, 0)                   # one pass
        yield (X * 1e-8, y, 1.0, True, 1e-4, 500, 1)          # tiny curvature
        yield (np.vstack([X, X]), np.r_[y, 1 - y], 1.0, True, 1e-4, 500, 2)   # every point twice, both labels
    yield (np.ones((4, 2)), np.array([0.0, 1.0, 0.0, 1.0]), 1.0, True, 1e-4, 100, 3)   # identical rows


TWINS = [
    Twin("minimize", _run("c"), _run("python"), _cases, _bad, rtol=1e-7),
    Twin("lasso(method='cd')", _lasso("c"), _lasso("python"), _lasso_cases,
         lambda: [(np.ones((3, 2)), np.ones(3), 0.0, None, 1e-4, 10, 10, 5),
                  (np.ones((3, 2)), np.ones(3), 1.0, None, 1e-4, 10, 10, 11),
                  (np.ones((3, 2)), np.ones(3), 1.0, None, 1e-4, 10, 0, 5),
                  (np.ones((3, 2)), np.ones(3), 1.0, np.ones(3), 1e-4, 10, 10, 5)]),
    Twin("lasso_path", _path("c"), _path("python"),
         lambda rng: [(*_lasso_data(30, 50, 1)[:2], k, a) for k in (1, 8) for a in (0, 5)],
         lambda: [(np.zeros((3, 2)), np.ones(3), 5, 5), (np.ones((3, 2)), np.ones(3), 0, 5)]),
    Twin("svm_dual_cd", _svm("c"), _svm("python"), _svm_cases,
         lambda: [(np.ones((3, 2)), np.array([0.0, 1.0, 2.0]), 1.0, True, 1e-4, 10, 0),
                  (np.ones((3, 2)), np.array([0.0, 1.0, 1.0]), -1.0, True, 1e-4, 10, 0),
                  (np.ones((3, 2)), np.array([0.0, 1.0, 1.0]), 1.0, 1, 1e-4, 10, 0),
                  (np.ones((3, 2)), np.array([0.0, 1.0, 1.0]), 1.0, True, 1e-4, 10, 0, "squared")]),
]
