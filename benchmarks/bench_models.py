"""The estimators of convq.models vs scikit-learn at equal problems and accuracy.

1. LinearRegression and Ridge (lam = 10) on simulated X of 100000 x 100 (quick: 20000 x 50):
   convq's normal equation (Cholesky, centred Gram accumulated in row blocks) vs
   scikit-learn's LinearRegression (SciPy lstsq) and Ridge(alpha=lam) (its "auto" solver,
   Cholesky on centred data). Both are exact solvers: the note gives the relative
   difference of the two solutions' costs J.
2. LogisticRegression with lam = 1 and an intercept on simulated 100000 x 100 (quick:
   20000 x 50): time to 1e-6 relative suboptimality of the cross-entropy cost (Lagarde,
   "Machine Learning Algebra", section 2.3) + lam/(2m)||theta_r||^2 (f* from very tight solves), for convq's default solver ("bb"
   with the nonmonotone line search, fused C kernels) vs scikit-learn's lbfgs
   (C = 1/lam: the same minimiser). Each solver runs with tolerances from loose to tight;
   the first run that reaches the target is timed (median of 3).
3. MLPClassifier, 10 classes, 20000 x 50 inputs, one hidden layer of 64 ReLU units, plain
   minibatch SGD (no momentum), batch 200 and 32, 5 epochs: time per epoch vs
   scikit-learn's MLPClassifier(solver="sgd") with the same architecture, batch size,
   learning rate and epochs (tol=0, no early stopping). These rows run the notes' network:
   Lagarde's sigmoid outputs (the cross-entropy of section 3.4), scikit-learn's a softmax.
   convq's default epoch_cost="running" records the minibatch costs like scikit-learn's
   loss_curve_ (the same work per epoch); the epoch_cost="full" row also evaluates the cost
   on all rows after every epoch -- one extra forward pass.
4. The default MLPClassifier (softmax output, Adam with learning rate 1e-3) vs scikit-learn's
   default solver="adam", both with the same architecture, batch size and number of epochs
   (10; every epoch run: tol=None / tol=0), trained on 75 % of the rows: time per epoch and
   the test accuracy on the other 25 % (in the note); in float64 and, for convq, float32
   end to end (scikit-learn's MLPClassifier keeps float32 input in float32 too).

4. Sparse text-like data (``_sparse_rows``): a 20000 x 50000 scipy.sparse CSR design of
   density 1e-3 (quick: 5000 x 10000), non-negative tf-idf-like entries, rows of unit norm,
   built in code with a fixed seed. LogisticRegression (lam = 1, intercept) vs scikit-learn's
   LogisticRegression(C = 1/lam) (lbfgs), and Lasso (alpha = alpha_max/50, intercept) vs
   scikit-learn's Lasso: time to 1e-6 relative suboptimality, f* from a tight solve whose
   KKT conditions are checked (logistic: ||grad|| ; Lasso: |X_j'r|/m <= alpha off the
   support, = alpha sign(theta_j) on it, sum r = 0). X is never densified.

Everything runs single-threaded: NumPy's/SciPy's BLAS is pinned to one thread with
threadpoolctl (for convq's closed forms and scikit-learn alike) and convq's C loops get
threads=1, so the ratios compare the algorithms and kernels, not how two libraries share
a (busy) machine's cores.
"""
from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np

from convq import objectives as ob
from convq.models import LinearRegression, LogisticRegression, MLPClassifier, Ridge

from ._harness import Row, time_pair


def _single_thread_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _regression_rows(ctx):
    from sklearn.linear_model import LinearRegression as SkLR
    from sklearn.linear_model import Ridge as SkRidge
    m, n = (20000, 50) if ctx.quick else (100000, 100)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((m, n)) * rng.uniform(0.5, 3, n) + rng.normal(size=n)
    y = X @ rng.standard_normal(n) + 3.0 + rng.standard_normal(m)
    rows = []
    lam = 10.0
    for name, ours, ref, ref_name, lamv in (
            ("LinearRegression", lambda: LinearRegression().fit(X, y), lambda: SkLR().fit(X, y),
             "sklearn LinearRegression (lstsq)", 0.0),
            ("Ridge lam=10", lambda: Ridge(lam).fit(X, y), lambda: SkRidge(alpha=lam).fit(X, y),
             "sklearn Ridge (auto: cholesky)", lam)):
        a, b = ours(), ref()
        obj = ob.LeastSquares(X, y, lamv, True)
        fa = obj.value(np.r_[a.intercept_, a.coef_])
        fb = obj.value(np.r_[b.intercept_, b.coef_])
        tc, tr = time_pair(ours, ref, repeats=3 if ctx.quick else 5, min_time=0.0)
        rows.append(Row("models", f"{name} fit {m}x{n}", tc, ref_name, tr,
                        note=f"exact solvers; relative difference of J: {abs(fa - fb) / fb:.1e}"))
    return rows


def _time_to_accuracy(run, tols, fval, fstar, target, repeats=3):
    for tol in tols:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            th = run(tol)
        sub = (fval(th) - fstar) / abs(fstar)
        if sub <= target:
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run(tol)
                ts.append(time.perf_counter() - t0)
            return float(np.median(ts)), tol, sub
    return float("nan"), None, float("nan")


def _logistic_pair(X, y, lam):
    """(ours, ref): tol -> theta of convq's and scikit-learn's binary LogisticRegression."""
    from sklearn.linear_model import LogisticRegression as SkLogR

    def ours(tol):
        e = LogisticRegression(lam=lam, tol=tol, max_iter=100000, threads=1).fit(X, y)
        return np.r_[e.intercept_, e.coef_[0]]

    def ref(tol):
        e = SkLogR(C=1 / lam, tol=tol, max_iter=100000).fit(X, y)
        return np.r_[e.intercept_, e.coef_[0]]
    return ours, ref


def _logistic_rows(ctx):
    m, n = (20000, 50) if ctx.quick else (100000, 100)
    rng = np.random.default_rng(1)
    X = rng.standard_normal((m, n))
    w = rng.standard_normal(n) / np.sqrt(n)
    y = (rng.random(m) < 1 / (1 + np.exp(-(X @ w + 0.5)))).astype(float)
    lam = 1.0
    obj = ob.Logistic(X, y, lam, True, threads=1)
    ours, ref = _logistic_pair(X, y, lam)
    fstar = min(obj.value(ours(1e-13)), obj.value(ref(1e-14)))
    tols = list(np.logspace(-2, -12, 21))
    tc, tolc, subc = _time_to_accuracy(ours, tols, obj.value, fstar, 1e-6)
    tr, tolr, subr = _time_to_accuracy(ref, tols, obj.value, fstar, 1e-6)
    return [Row("models", f"LogisticRegression lam=1 {m}x{n} to 1e-6 rel. subopt.", tc, "sklearn lbfgs", tr,
                note=f"convq bb tol {tolc:.0e} -> {subc:.1e}; lbfgs tol {tolr:.0e} -> {subr:.1e}")]


def _mlp_rows(ctx):
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier as SkMLP
    m = 5000 if ctx.quick else 20000
    X, y = make_classification(m, 50, n_informative=20, n_classes=10, random_state=0)
    epochs, lr = (2, 0.1) if ctx.quick else (5, 0.1)
    rows = []
    for batch, mode in ((200, "running"), (200, "full"), (32, "running")):
        def ours():
            MLPClassifier(hidden=(64,), activation="relu", learning_rate=lr, batch_size=batch, epochs=epochs,
                          epoch_cost=mode, rng=0, threads=1, output="sigmoid", solver="sgd", momentum=0.0,
                          tol=None).fit(X, y)

        def ref():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                SkMLP((64,), activation="relu", solver="sgd", learning_rate_init=lr, momentum=0.0,
                      batch_size=batch, max_iter=epochs, tol=0.0, n_iter_no_change=10 ** 9, shuffle=True,
                      random_state=0).fit(X, y)
        tc, tr = time_pair(ours, ref, repeats=3, min_time=0.0)
        what = ("epoch_cost='full': the cost on all rows each epoch (extra forward pass)" if mode == "full"
                else "default epoch_cost='running' (batch costs, as sklearn's loss_curve_)")
        rows.append(Row("models", f"MLP 50-64-10 relu, batch {batch}, per epoch ({m} rows)", tc / epochs,
                        "sklearn MLPClassifier sgd", tr / epochs, note=f"{what}; target: ratio >= 2"))
    return rows + _mlp_adam_rows(ctx, X, y)


def _mlp_adam_rows(ctx, X, y):
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    epochs = 3 if ctx.quick else 10
    rows = []
    for batch, dtype in ((200, "float64"), (200, "float32"), (32, "float64")):
        Xt = Xtr.astype(dtype)
        fitted = {}

        def ours():
            fitted["convq"] = MLPClassifier(hidden=(64,), batch_size=batch, epochs=epochs, tol=None, dtype=dtype,
                                            random_state=0, threads=1).fit(Xt, ytr)

        def ref():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fitted["sk"] = SkMLP((64,), solver="adam", batch_size=batch, max_iter=epochs, tol=0.0,
                                     n_iter_no_change=10 ** 9, random_state=0).fit(Xt, ytr)
        tc, tr = time_pair(ours, ref, repeats=3, min_time=0.0)
        acc = {k: est.score(Xte.astype(dtype), yte) for k, est in fitted.items()}
        rows.append(Row("models", f"MLP 50-64-10 softmax + Adam (default), batch {batch}, {dtype}, per epoch "
                                  f"({Xtr.shape[0]} rows)", tc / epochs, "sklearn MLPClassifier adam", tr / epochs,
                        note=f"{epochs} epochs; test accuracy convq {acc['convq']:.4f}, sklearn {acc['sk']:.4f}"))
    return rows


def _text_like(m, n, density, seed):
    """A tf-idf-like CSR matrix: Zipf-weighted columns, log-normal counts, unit-norm rows."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    nnz = int(m * n * density)
    cols = np.minimum(rng.zipf(1.3, nnz) - 1, n - 1)
    cols = rng.permutation(n)[cols]             # frequent words spread over the columns
    rows = rng.integers(0, m, nnz)
    X = sp.csr_matrix((rng.lognormal(0.0, 0.5, nnz), (rows, cols)), shape=(m, n))
    X.sum_duplicates()
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    return sp.diags(1.0 / np.maximum(norms, 1e-12)) @ X


def _sparse_rows(ctx):
    from sklearn.linear_model import Lasso as SkLasso
    from convq.models import Lasso
    m, n = (5000, 10000) if ctx.quick else (20000, 50000)
    X = _text_like(m, n, 1e-3, 3).tocsr()
    rng = np.random.default_rng(4)
    wtrue = np.zeros(n)      # 200 true features among the 2000 most frequent words
    freq = np.bincount(X.indices, minlength=n)
    wtrue[rng.choice(np.argsort(freq)[-2000:], 200, replace=False)] = 5 * rng.standard_normal(200)
    z = X @ wtrue
    yl = (rng.random(m) < 1 / (1 + np.exp(-z))).astype(float)
    yr = z + 0.1 * rng.standard_normal(m) + 1.0
    tols = list(np.logspace(-2, -12, 21))
    rows = []
    # logistic, lam = 1 (sklearn C = 1)
    lam = 1.0
    obj = ob.Logistic(X, yl, lam, True, threads=1)
    ours, ref = _logistic_pair(X, yl, lam)
    star = ours(1e-13)
    fstar, kkt = obj.value(star), float(np.linalg.norm(obj.grad(star)))
    tc, tolc, subc = _time_to_accuracy(ours, tols, obj.value, fstar, 1e-6)
    tr, tolr, subr = _time_to_accuracy(ref, tols, obj.value, fstar, 1e-6)
    rows.append(Row("models", f"sparse LogisticRegression lam=1 {m}x{n} nnz {X.nnz} to 1e-6 rel. subopt.", tc,
                    "sklearn lbfgs", tr, note=f"convq bb tol {tolc:.0e} -> {subc:.1e}; lbfgs tol {tolr:.0e} -> "
                                              f"{subr:.1e}; f* with ||grad|| {kkt:.0e}"))
    # Lasso, alpha = alpha_max / 50, intercept
    yc = yr - yr.mean()
    alpha = float(np.abs(X.T @ yc).max()) / m / 50

    def lasso_val(th):
        r = yr - X @ th[1:] - th[0]
        return float(r @ r) / (2 * m) + alpha * float(np.abs(th[1:]).sum())

    def ours_l(tol):
        e = Lasso(alpha=alpha, tol=tol, max_iter=100000).fit(X, yr)
        return np.r_[e.intercept_, e.coef_]

    def ref_l(tol):
        e = SkLasso(alpha=alpha, tol=tol, max_iter=100000).fit(X, yr)
        return np.r_[e.intercept_, e.coef_]
    star = ours_l(1e-14)
    r = yr - X @ star[1:] - star[0]
    c = X.T @ r / m
    on = star[1:] != 0
    kkt = max(float(np.abs(c[~on]).max(initial=0.0)) / alpha - 1.0,
              float(np.abs(c[on] - alpha * np.sign(star[1:][on])).max(initial=0.0)) / alpha,
              abs(float(r.sum())) / m)
    fstar = lasso_val(star)
    tc, tolc, subc = _time_to_accuracy(ours_l, tols, lasso_val, fstar, 1e-6)
    tr, tolr, subr = _time_to_accuracy(ref_l, tols, lasso_val, fstar, 1e-6)
    rows.append(Row("models", f"sparse Lasso alpha_max/50 {m}x{n} nnz {X.nnz} to 1e-6 rel. subopt.", tc,
                    "sklearn Lasso (cd)", tr,
                    note=f"convq cd tol {tolc:.0e} -> {subc:.1e}; sklearn tol {tolr:.0e} -> {subr:.1e}; f* KKT "
                         f"residual {kkt:.0e}, {int(on.sum())} non-zeros"))
    return rows


def run(ctx):
    with _single_thread_blas():
        return _regression_rows(ctx) + _logistic_rows(ctx) + _mlp_rows(ctx) + _sparse_rows(ctx)
