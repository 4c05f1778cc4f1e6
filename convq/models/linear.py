r"""The linear models of M. Lagarde, "Machine Learning Algebra" (2022, sections 1, 2 and 4),
as scikit-learn-style estimators trained by convq's objectives and
:func:`convq.optimize.minimize`.

=====================  ====================================================================
``LinearRegression``   the least-squares cost J = 1/(2m) ||X theta - y||^2 (section 1.3);
                       normal equation (section 1.4) by Cholesky or QR, or any ``minimize``
                       method (gradient descent is section 1.5)
``Ridge``              J + lam/(2m) ||theta_r||^2 (section 1.6); regularised normal equation
                       theta = (X'X + lam M)^{-1} X'y, M = diag(0, 1, ..., 1) (section 1.7)
``LogisticRegression`` the cross-entropy cost (section 2.3) + lam/(2m) ||theta_r||^2
                       (section 2.5), h = g(X theta), predicting 1 iff h >= 1/2 (section 2.2);
                       one-vs-all for K > 2 classes
``LinearSVM``          the SVM hinge cost (section 4.2) with the slope-k hinge costs cost_1,
                       cost_0 (section 4.3), labels {0, 1}; h = 1 iff theta'x >= 0
                       (section 4.1); one-vs-all
=====================  ====================================================================

Here X carries the column of ones of Lagarde's "Machine Learning Algebra" (section 1.1) implicitly: theta_0 is ``intercept_``
and is never penalised; theta_r is ``coef_``.

Quantized gradients: with ``quantizer=q`` every gradient that the optimiser uses passes
through the gain-shape quantizer :class:`convq.quantize.GainShape` (``GainShape(q)``:
||g|| as a float32, g/||g|| through ``q``; unbiased, 32 + q.bits(d) bits per gradient; a
``quantizer=`` that is already a GainShape, e.g. with an AGUQ gain, is used as it is), via
``minimize(..., grad_transform=...)``. The bits sent are reported as ``bits_``; without a
quantizer ``bits_`` counts the float64 gradients (64 d per gradient), 0 for closed forms.

The step of quantized gradient descent. With a quantizer the default is ``method="gd"``,
``step="fixed"``, and the fixed step is t = 1/(L (1 + omega)), where L is the gradient's
Lipschitz constant and omega the gain-shape quantizer's variance factor,
E||Q(g) - g||^2 <= omega ||g||^2 (:func:`convq.models._quantized.variance_factor`: d - 1
for SimQ, from the quantizer's alpha0). For an L-smooth J the descent lemma (Nesterov,
"Introductory Lectures on Convex Optimization", Lemma 1.2.3) and E Q(g) = g give

    E J(x - t Q(g)) <= J(x) - t ||g||^2 + (L t^2 / 2)(1 + omega) ||g||^2
                     = J(x) - ||g||^2 / (2 L (1 + omega)),

so the expected cost decreases at every step, and for a mu-strongly convex J (Ridge,
LinearRegression with X of full column rank) E J(x_k) - J* <= (1 - mu / (L (1 + omega)))^k
(J(x_0) - J*): the iterates reach the exact minimiser, since the quantization noise shrinks
with the gradient (the rate of compressed gradient descent with an omega-bounded unbiased
compressor; Alistarh et al., "QSGD: Communication-Efficient SGD via Gradient Quantization",
NeurIPS 2017, Lemma 3.1 for omega). The plain step 1/L can diverge on least squares once
omega > 1 (SimQ on d > 2 coordinates: it did on scikit-learn's estimator checks). The gain-shape scaling makes every finite gradient
admissible for a bounded-norm quantizer, whatever the scale of the data.

LinearSVM's quantized path is preconditioned. Its smoothed hinge cost has an unpenalised
intercept and a curvature proportional to the squared column scales, so with features of scale
20 the intercept's direction converged about 400 times slower than the others: on
scikit-learn's class_weight check a fit stopped with an intercept of -0.54 where the minimiser
has -1, misclassifying 22 % of the points. It therefore runs the same method in the variables
z = s * theta, where s_j is the root mean square of column j of [1, X]. This change of
variables leaves the minimiser unchanged, and the message is still one quantized gradient,
that of the scaled problem: theta+ = theta - t s^-1 Q(s^-1 g), and the analysis above holds
with L the scaled problem's Lipschitz constant.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from .._optional import import_optional
from .. import objectives as _obj
from .._progress import fit_with_progress
from .._rng import as_generator
from .._validation import check_int, check_positive, check_quantizer, check_threads
from ..optimize import OptimizeResult, minimize
from .._validation import is_sparse
from ._base import (BaseEstimator, ClassifierMixin, RegressorMixin, check_classification_targets, check_fitted,
                    check_regression_y, check_sample_weight, check_X, check_X_y)

__all__ = ["LinearRegression", "Ridge", "LogisticRegression", "LinearSVM", "ConvergenceWarning"]

try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover - without scikit-learn
    class ConvergenceWarning(UserWarning):
        """The optimiser stopped before its tolerance was met (as scikit-learn's)."""

_MINIMIZE_METHODS = ("gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs", "cg", "newton-cg",
                     "newton")
# second-order methods use the exact Hessian: no gradient quantizer fits them
_SECOND_ORDER = ("newton-cg", "newton")
# the methods whose step="fixed" is t = 1/L
_FIXED_L = ("gd", "nesterov", "proximal", "fista")


def _sigmoid(z):
    """The sigmoid g(z) = 1 / (1 + e^{-z}) (section 2.1), evaluated without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


# ---- shared machinery -------------------------------------------------------------------------

class _Iterative:
    """Resolve method/step/quantizer and run ``minimize`` with the gain-shape transform."""

    _methods = _MINIMIZE_METHODS

    def _default_method(self):
        return "gd" if self.quantizer is not None else "bb"

    def _max_iter_for(self, method):
        return None     # max_iter has no method-dependent default (None is refused)

    def _resolve(self):
        method, step = self.method, self.step
        if method is None:
            method = self._default_method()
        if method not in self._methods:
            raise ValueError(f"method must be one of {list(self._methods)} (or None), got {method!r}")
        if method in _SECOND_ORDER and self.quantizer is not None:
            raise ValueError(f"method={method!r} uses exact Hessians and takes no quantizer; give a first-order "
                             f"method (gd, bb, nesterov, ...) with quantizer=, got quantizer={self.quantizer!r}")
        if step is None:
            step = "fixed" if self.quantizer is not None else "armijo"
        if step not in ("fixed", "armijo", "exact"):
            raise ValueError(f"step must be 'fixed', 'armijo', 'exact' or None, got {step!r}")
        tol = check_positive(self.tol, "tol", allow_zero=True)
        max_iter = check_int(self._max_iter_for(method) if self.max_iter is None else self.max_iter, "max_iter",
                             minimum=1)
        check_quantizer(self.quantizer, "quantizer")
        # checked whether or not the solver uses them (scikit-learn checks every parameter in fit)
        check_threads(self.threads)
        self._gen()
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(f"warm_start must be True or False, got {type(self.warm_start).__name__}")
        return method, step, tol, max_iter

    def _seed(self):
        """``random_state`` or its alias ``rng`` (None when neither is given). A legacy
        numpy RandomState as ``random_state`` (scikit-learn accepts one) seeds a Generator
        from one draw."""
        rs, rng = self.random_state, self.rng
        if rs is not None and rng is not None:
            raise ValueError(f"random_state and rng are the same parameter (rng is an alias); give one of them, got "
                             f"random_state={rs!r} and rng={rng!r}")
        if rs is None:
            return rng
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(0, 2 ** 31 - 1))
        try:
            as_generator(rs)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"random_state: {exc}") from None
        return rs

    def _gen(self):
        return as_generator(self._seed())

    def _warm(self, attr, shape):
        """The previous fit's parameters as a starting point (warm_start=True and a fit of the
        same shape), else None."""
        prev = getattr(self, attr, None) if self.warm_start else None
        if prev is None or np.shape(prev) != shape:
            return None
        return np.array(prev, dtype=np.float64)

    def _run(self, obj, method, step, tol, max_iter, gen, x0=None, scale=None, omega=None, **options):
        """minimize(obj) from x0 (default 0); returns (OptimizeResult, bits). With a quantizer
        and ``scale`` (a positive vector s), the quantized gradient is that of the problem in
        the variables z = s * x: x+ = x - t s^-1 Q(s^-1 g) (the options' L is then the scaled
        problem's; ``omega``: the quantizer's variance factor when the caller has it, so
        that a path of several runs computes it once)."""
        bits = [0]
        gt = None
        if self.quantizer is not None:
            from ._quantized import gain_shape, variance_factor
            gs = gain_shape(self.quantizer)
            inv = None if scale is None else 1.0 / np.asarray(scale, dtype=np.float64)

            def gt(g):
                bits[0] += gs.bits(g.size)
                return gs(g, rng=gen) if inv is None else inv * gs(inv * g, rng=gen)
            if step == "fixed" and method in _FIXED_L and options.get("t") is None:
                # t = 1/(L (1 + omega)): E f(x+) <= f(x) - ||g||^2 / (2 L (1 + omega)) (the module)
                L = options.get("L")
                L = obj.lipschitz(rng=0) if L is None else float(L)
                options["L"] = L * (1.0 + (variance_factor(self.quantizer, obj.dim) if omega is None else omega))
        res = minimize(obj, np.zeros(obj.dim) if x0 is None else x0, method=method, step=step, tol=tol,
                       max_iter=max_iter, grad_transform=gt, **options)
        if self.quantizer is None:
            bits[0] = 64 * obj.dim * int(res.ngev)
        return res, bits[0]

    def _warn(self, results):
        bad = [r for r in results if not r.success]
        # a tolerance of 0 asks for max_iter iterations: nothing to warn about
        if bad and self.quantizer is None and self.tol > 0:
            gn = bad[0].grad_norm
            why = f" (||grad|| = {gn:.3g} > tol = {self.tol})" if np.isfinite(gn) else ""
            warnings.warn(f"{type(self).__name__}: {bad[0].message}{why}; increase max_iter or scale the data",
                          ConvergenceWarning, stacklevel=4)


def _column_scales(X, sw, intercept):
    """The diagonal preconditioner of the quantized gradient method: s_j = the (weighted)
    root mean square of column j of [1, X] (1 for the intercept and for a zero column), and
    X with its columns divided by s (sparse stays sparse)."""
    m = X.shape[0]
    w = np.full(m, 1.0 / m) if sw is None else sw / float(np.sum(sw))
    sq = np.asarray(X.multiply(X).T @ w).ravel() if is_sparse(X) else (X * X).T @ w
    sr = np.sqrt(sq)
    sr[~(sr > 0)] = 1.0
    if is_sparse(X):   # CSR: each stored entry divided by its column's scale, as X / sr dense
        Xs = X.tocsr(copy=True)
        Xs.data = Xs.data / sr[Xs.indices]
    else:
        Xs = X / sr
    return np.concatenate([[1.0], sr]) if intercept else sr, Xs


def _closed_form_result(theta, fun, grad_norm, how, t0):
    return OptimizeResult(x=theta, fun=float(fun), grad_norm=float(grad_norm), nit=1, nfev=1, ngev=1, success=True,
                          status=0, message=f"closed form: {how}", method=f"normal/{how.split()[0].lower()}",
                          time=time.perf_counter() - t0)


# ---- least squares ----------------------------------------------------------------------------

class _LeastSquaresBase(_Iterative, RegressorMixin, BaseEstimator):
    _lam_name = None

    def _lam(self):
        return 0.0

    @fit_with_progress
    def fit(self, X, y, sample_weight=None):
        """Fit theta = (intercept_, coef_); returns self.

        ``sample_weight`` (optional, >= 0): the cost becomes 1/(2W) sum_i w_i (x_i theta -
        y_i)^2 + lam/(2W) ||theta_r||^2, W = sum_i w_i, so an integer weight is a repeated
        row (scikit-learn's ``sample_weight`` at the same alpha = lam). X may be
        scipy.sparse (never densified; solver="qr" needs a dense X)."""
        t0 = time.perf_counter()
        X, y = check_X_y(X, y, self, accept_sparse=True)
        y = check_regression_y(y)
        sw = check_sample_weight(sample_weight, X.shape[0])
        lam = self._lam()
        intercept = self.fit_intercept
        if not isinstance(intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False, got {type(intercept).__name__}")
        solver = self.solver
        self._resolve()  # every parameter is checked, also those the closed forms do not use
        if isinstance(solver, str) and solver == "auto":
            # the exact normal equations, or gradient descent when the gradients are quantized
            solver = "normal" if self.quantizer is None else "iterative"
        if solver in ("normal", "qr"):
            if self.quantizer is not None:
                raise ValueError(f"quantizer= needs an iterative solver (one of {list(_MINIMIZE_METHODS)} or "
                                 f"'iterative'), got solver={solver!r}")
            theta, how = _normal_equation(X, y, lam, bool(intercept), qr=(solver == "qr"), w=sw)
            # J and ||grad J|| at the solution (one fused pass of the C objective)
            f, g = _obj.LeastSquares(X, y, lam, bool(intercept), sample_weight=sw,
                                     threads=self.threads).value_and_grad(theta)
            self.result_ = _closed_form_result(theta, f, np.linalg.norm(g), how, t0)
            self.n_iter_ = 1
            self.bits_ = 0
        elif solver == "iterative" or solver in _MINIMIZE_METHODS:
            method, step, tol, max_iter = self._resolve()
            if solver != "iterative":
                if self.method is not None and self.method != solver:
                    raise ValueError(f"solver={solver!r} and method={self.method!r} disagree; give one of them")
                method = solver
            obj = _obj.LeastSquares(X, y, lam, bool(intercept), sample_weight=sw, threads=self.threads)
            x0 = self._warm("_theta", (obj.dim,))
            res, bits = self._run(obj, method, step, tol, max_iter, self._gen(), x0=x0)
            self._warn([res])
            theta = res.x
            self.result_, self.n_iter_, self.bits_ = res, int(res.nit), int(bits)
        else:
            raise ValueError(f"solver must be 'auto', 'normal', 'qr', 'iterative' or a minimize method "
                             f"{list(_MINIMIZE_METHODS)}, got {solver!r}")
        if intercept:
            self.intercept_, self.coef_ = float(theta[0]), theta[1:].copy()
        else:
            self.intercept_, self.coef_ = 0.0, theta.copy()
        self._theta = np.array(theta, dtype=np.float64)
        return self

    def predict(self, X):
        """The hypothesis h_theta(X) = X theta (section 1.2)."""
        check_fitted(self, "coef_")
        X = check_X(X, self, accept_sparse=True)
        return np.asarray(X @ self.coef_ + self.intercept_).ravel()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def cost(self, X, y):
        """The least-squares cost J(theta) (section 1.3; + lam/(2m) ||theta_r||^2 for Ridge,
        section 1.6) on (X, y)."""
        check_fitted(self, "coef_")
        X = check_X(X, self)
        r = X @ self.coef_ + self.intercept_ - np.asarray(y, dtype=float)
        m = X.shape[0]
        return float(r @ r / (2 * m) + self._lam() / (2 * m) * (self.coef_ @ self.coef_))


def _normal_equation(X, y, lam, intercept, qr=False, w=None):
    r"""Solve (X~'W X~ + lam M) theta = X~'W y with row weights W = diag(w) (all 1 when w is
    None). Weighted dense data are reduced to the unweighted case: with the weighted means
    xbar = X'w / sum w, ybar = w'y / sum w, the rows sqrt(w_i) (x_i - xbar) and targets
    sqrt(w_i) (y_i - ybar) give the same theta_r. A scipy.sparse X goes through its Gram
    matrix (``_sparse_normal_equation``)."""
    if is_sparse(X):
        if qr:
            raise ValueError("solver='qr' factors the data and needs a dense X; use solver='normal' (the Gram matrix "
                             "of the sparse X) or an iterative solver, or pass X.toarray()")
        return _sparse_normal_equation(X, y, lam, intercept, w)
    if w is None:
        return _normal_equation_unweighted(X, y, lam, intercept, qr)
    W = float(w.sum())
    xbar = w @ X / W if intercept else np.zeros(X.shape[1])
    ybar = float(w @ y) / W if intercept else 0.0
    s = np.sqrt(w)
    theta_r, how = _normal_equation_unweighted(s[:, None] * (X - xbar), s * (y - ybar), lam, False, qr)
    if intercept:
        return np.concatenate([[ybar - xbar @ theta_r], theta_r]), how
    return theta_r, how


def _checked_cholesky(sl, G, b):
    """G^{-1} b by a Cholesky factor; LinAlgError when G is numerically singular (a factor
    diagonal below 1e-7 of the largest: rcond of G below ~ machine eps)."""
    c = sl.cho_factor(G, lower=False, check_finite=False)
    d = np.abs(np.diag(c[0]))
    if d.min() <= 1e-7 * d.max():
        raise np.linalg.LinAlgError("ill-conditioned")
    return sl.cho_solve(c, b, check_finite=False)


def _min_norm_cond(A):
    """The relative singular-value cutoff eps max(A.shape) of a minimum-norm least-squares
    solve (NumPy's lstsq default). scipy.linalg.lstsq's default cutoff (eps alone) keeps the
    rounding-level singular values of a rank-deficient A, whose inverses then add a large
    spurious component to the solution: it is not the minimum-norm one."""
    return np.finfo(np.float64).eps * max(A.shape)


def _sparse_normal_equation(X, y, lam, intercept, w):
    """(G + lam I) theta_r = b with the centred weighted Gram matrix G = X'WX - W xbar xbar'
    and b = X'Wy - W ybar xbar, formed from sparse products (X stays sparse; G is p x p
    dense), by Cholesky. When G + lam I is numerically singular: LSMR (Fong & Saunders,
    "LSMR: an iterative algorithm for sparse least-squares problems", SIAM J. Sci. Comput.
    2011), which from 0 converges to the minimum-norm solution, on the operator
    v -> W^{1/2} (X v - 1 xbar'v) -- the centred data applied implicitly, never formed (the
    implicit centring of scikit-learn's sparse linear models)."""
    sl = import_optional("scipy.linalg", "the normal equation (Cholesky)")
    w = np.ones(X.shape[0]) if w is None else w
    W = float(w.sum())
    Xw = X.multiply(w[:, None]).tocsr()
    G = np.asarray((X.T @ Xw).todense())
    b = np.asarray(Xw.T @ y).ravel()
    if intercept:
        xbar = np.asarray(Xw.sum(axis=0)).ravel() / W
        ybar = float(w @ y) / W
        G -= W * np.outer(xbar, xbar)
        b -= W * ybar * xbar
    G[np.diag_indices_from(G)] += lam
    try:
        theta_r, how = _checked_cholesky(sl, G, b), "Cholesky of the sparse X's Gram X'WX + lam M"
    except (np.linalg.LinAlgError, sl.LinAlgError):
        spl = import_optional("scipy.sparse.linalg", "the minimum-norm sparse least squares")
        s = np.sqrt(w)
        xb = xbar if intercept else np.zeros(X.shape[1])
        yc = s * (y - (ybar if intercept else 0.0))
        op = spl.LinearOperator((X.shape[0], X.shape[1]), dtype=np.float64,
                                matvec=lambda v: s * (X @ v - xb @ v),
                                rmatvec=lambda u: X.T @ (s * u) - xb * float(s @ u))
        theta_r = spl.lsmr(op, yc, damp=float(np.sqrt(lam)), atol=1e-15, btol=1e-15, conlim=1e16,
                           maxiter=20 * max(X.shape))[0]
        how = "LSMR (rank-deficient sparse X: minimum-norm least squares)"
    if intercept:
        return np.concatenate([[ybar - xbar @ theta_r], theta_r]), how
    return theta_r, how


def _normal_equation_unweighted(X, y, lam, intercept, qr=False):
    r"""Solve (X~'X~ + lam M) theta = X~'y, X~ = [1, X], M = diag(0, 1, ..., 1), without an
    inverse. theta_0 is eliminated exactly (Schur complement of the first row:
    theta_0 = ybar - xbar'theta_r), which leaves (Xc'Xc + lam I) theta_r = Xc'yc with the
    centred data Xc = X - xbar, yc = y - ybar -- the same solution, better conditioned.
    Cholesky by default (falls back to QR/least squares when X'X is singular); ``qr``
    factors [Xc; sqrt(lam) I] instead of forming X'X."""
    sl = import_optional("scipy.linalg", "the normal equation (Cholesky/QR)")
    m, n = X.shape
    if intercept:
        xbar, ybar = X.mean(axis=0), float(y.mean())
    else:
        xbar, ybar = np.zeros(n), 0.0
    if not qr:
        # Centred Gram Xc'Xc = X'X - m xbar xbar' from one BLAS syrk over X (no copy) when the
        # means are small against the spreads (cancellation costs < 2 digits); otherwise
        # accumulate the centred rows block by block.
        G = X.T @ X
        b = X.T @ y - m * ybar * xbar
        var = np.diag(G) / m - xbar * xbar
        if intercept and np.any(xbar * xbar > 100.0 * np.maximum(var, 0.0)):
            G = np.zeros((n, n))
            b = np.zeros(n)
            blk = max(1, min(m, (1 << 18) // max(n, 1)))
            for s in range(0, m, blk):
                Xb = X[s:s + blk] - xbar
                G += Xb.T @ Xb
                b += Xb.T @ (y[s:s + blk] - ybar)
        elif intercept:
            G -= m * np.outer(xbar, xbar)
        G[np.diag_indices(n)] += lam
        try:
            theta_r = _checked_cholesky(sl, G, b)
            how = "Cholesky of X'X + lam M"
        except (np.linalg.LinAlgError, sl.LinAlgError):
            qr = True
    if qr:
        A = X - xbar
        rhs = y - ybar
        if lam > 0:
            A = np.vstack([A, np.sqrt(lam) * np.eye(n)])
            rhs = np.concatenate([rhs, np.zeros(n)])
        if A.shape[0] >= n:
            Q, R = sl.qr(A, mode="economic", check_finite=False)
            d = np.abs(np.diag(R))
            if d.size and d.min() > 1e-10 * d.max():
                theta_r = sl.solve_triangular(R, Q.T @ rhs, check_finite=False)
                how = "QR of [X; sqrt(lam) M]"
            else:
                theta_r = sl.lstsq(A, rhs, cond=_min_norm_cond(A), check_finite=False)[0]
                how = "QR (rank-deficient: minimum-norm least squares)"
        else:
            theta_r = sl.lstsq(A, rhs, cond=_min_norm_cond(A), check_finite=False)[0]
            how = "QR (rank-deficient: minimum-norm least squares)"
    if intercept:
        return np.concatenate([[ybar - xbar @ theta_r], theta_r]), how
    return theta_r, how


_LSQ_DOC_PARAMS = """
    solver : {"auto", "normal", "qr", "iterative"} or a minimize method, default "auto"
        "auto": "normal" without a quantizer, "iterative" with one; "normal": the normal
        equation by Cholesky (QR if X'X is singular); "qr": QR of the data; "iterative":
        ``minimize`` with ``method``/``step``; a method name such as "gd" or "bb" is the
        same as solver="iterative" with that method. The closed forms take no quantizer.
    method : {"gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs", "cg", "newton-cg", "newton"} or None
        Iterative method of :func:`convq.optimize.minimize` (None: "bb", or "gd" with a
        quantizer): "cg" with step="exact" is linear CG on the normal equations,
        "newton-cg" trust-region Newton-CG (liblinear's TRON), "newton" Newton's method
        with a Cholesky factor of the exact Hessian (one step here). The second-order
        methods take no quantizer.
    step : {"fixed", "armijo", "exact"} or None
        Step rule as in ``minimize`` (None: "armijo", or "fixed" with a quantizer). "fixed"
        is t = 1/L, or 1/(L (1 + omega)) with a quantizer of variance factor omega (module
        docstring: the rule that keeps quantized gradient descent stable).
    tol : float, default 1e-10
        Stop when ||grad J|| <= tol (iterative solvers).
    max_iter : int, default 10000
    quantizer : convq quantizer or None
        Pass each gradient through the quantizer (gain-shape); needs an iterative solver
        (solver="auto" picks one: gradient descent with the step 1/(L (1 + omega))).
    fit_intercept : bool, default True
        Fit theta_0 (the column of ones of section 1.1); never penalised.
    rng : None, int or numpy.random.Generator
        Randomness of the quantizer.
    threads : None or int
        Threads of the C objective kernels of the iterative solvers (None: 1, measured
        fastest, see :func:`convq.default_threads`; the results do not depend on it).
    random_state : None, int or numpy.random.Generator
        scikit-learn's name for ``rng`` (give one of the two).
    warm_start : bool, default False
        Iterative solvers start from the previous fit's theta (same number of features).

    Attributes
    ----------
    coef_ : ndarray (n_features,)
        theta_r = (theta_1, ..., theta_n).
    intercept_ : float
        theta_0.
    n_iter_ : int
        Iterations (1 for the closed forms).
    result_ : OptimizeResult
        Of the iterative run, or a summary of the closed form (``fun`` = J(theta)).
    bits_ : int
        Bits of gradient communicated (0 for closed forms).
    n_features_in_ : int
"""


class LinearRegression(_LeastSquaresBase):
    __doc__ = r"""Multivariate linear regression (Lagarde, "Machine Learning Algebra", section 1).

    Hypothesis h_theta(x) = theta_0 + theta_r'x (section 1.2); the least-squares cost
    J(theta) = 1/(2m) (X theta - y)'(X theta - y) (section 1.3); solved by the normal equation
    X'X theta = X'y (section 1.4) with a Cholesky or QR factorisation -- never an explicit
    inverse -- or iteratively (gradient descent is section 1.5).

    Parameters
    ----------""" + _LSQ_DOC_PARAMS

    def __init__(self, solver="auto", method=None, step=None, tol=1e-10, max_iter=10000, quantizer=None,
                 fit_intercept=True, rng=None, threads=None, random_state=None, warm_start=False):
        self.solver = solver
        self.method = method
        self.step = step
        self.tol = tol
        self.max_iter = max_iter
        self.quantizer = quantizer
        self.fit_intercept = fit_intercept
        self.rng = rng
        self.threads = threads
        self.random_state = random_state
        self.warm_start = warm_start


class Ridge(_LeastSquaresBase):
    __doc__ = r"""Regularised linear regression (Lagarde, "Machine Learning Algebra", sections 1.6-1.8).

    J(theta) = 1/(2m) ||X theta - y||^2 + lam/(2m) ||theta_r||^2 (theta_0 not penalised);
    regularised normal equation theta = (X'X + lam M)^{-1} X'y with
    M = diag(0, 1, ..., 1) (section 1.7), solved by Cholesky/QR, or any ``minimize`` method.
    scikit-learn's ``Ridge(alpha)`` minimises ||X theta - y||^2 + alpha ||theta_r||^2: the
    same problem with alpha = lam.

    Parameters
    ----------
    lam : float >= 0, default 1.0
        The regularisation parameter lambda.""" + _LSQ_DOC_PARAMS

    def __init__(self, lam=1.0, solver="auto", method=None, step=None, tol=1e-10, max_iter=10000,
                 quantizer=None, fit_intercept=True, rng=None, threads=None, random_state=None, warm_start=False):
        self.lam = lam
        self.solver = solver
        self.method = method
        self.step = step
        self.tol = tol
        self.max_iter = max_iter
        self.quantizer = quantizer
        self.fit_intercept = fit_intercept
        self.rng = rng
        self.threads = threads
        self.random_state = random_state
        self.warm_start = warm_start

    def _lam(self):
        return check_positive(self.lam, "lam", allow_zero=True)


# ---- classifiers --------------------------------------------------------------------------------

class _LinearClassifier(_Iterative, ClassifierMixin, BaseEstimator):
    """Binary problems on labels {0, 1}; K > 2 classes one-vs-all (notes, section 3.2:
    one classifier per class, the most probable class wins)."""

    def _encode(self, y):
        check_classification_targets(y)
        classes, idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in the data, but "
                             f"y contains only one class: {classes[0]!r}")
        return classes, idx

    def _fit_binary(self, X, y01, intercept, method, step, tol, max_iter, gen, sw, x0):  # pragma: no cover
        raise NotImplementedError

    def _multinomial(self, K):
        return False

    def _sample_weights(self, idx, sample_weight, n):
        """sample_weight (None: ones) times the class weights of ``class_weight`` (None, a
        dict label -> weight, labels not in it weigh 1, or "balanced": n / (K n_k), as
        scikit-learn's compute_class_weight); None when both are absent."""
        sw = check_sample_weight(sample_weight, n)
        cw = self.class_weight
        if cw is None:
            return sw
        K = self.classes_.size
        if isinstance(cw, str) and cw == "balanced":
            per_class = n / (K * np.bincount(idx, minlength=K).astype(np.float64))
        elif isinstance(cw, dict):
            unknown = [c for c in cw if not np.any(self.classes_ == c)]
            if unknown:
                raise ValueError(f"class_weight has labels not in y: {unknown!r} (classes are "
                                 f"{self.classes_.tolist()})")
            per_class = np.array([float(cw.get(c, 1.0)) for c in self.classes_.tolist()])
            if not np.all(np.isfinite(per_class)) or np.any(per_class < 0):
                raise ValueError(f"class_weight values must be finite and >= 0, got {cw!r}")
        else:
            raise ValueError(f"class_weight must be None, 'balanced' or a dict label -> weight, got {cw!r}")
        w = per_class[idx] if sw is None else sw * per_class[idx]
        return check_sample_weight(w, n)

    @fit_with_progress
    def fit(self, X, y, sample_weight=None):
        """Fit theta per (one-vs-all) problem, or the K blocks of the multinomial model;
        returns self.

        ``sample_weight`` (optional, >= 0) multiplies each sample's loss (with the class
        weights of ``class_weight``); for the costs with a 1/m it replaces m by W = sum_i w_i,
        so an integer weight is a repeated sample. X may be scipy.sparse (never densified)."""
        t0 = time.perf_counter()
        X, y = check_X_y(X, y, self, accept_sparse=True)
        intercept = self.fit_intercept
        if not isinstance(intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False, got {type(intercept).__name__}")
        method, step, tol, max_iter = self._resolve()
        self._check_params()
        self.classes_, idx = self._encode(y)
        K = self.classes_.size
        sw = self._sample_weights(idx, sample_weight, X.shape[0])
        gen = self._gen()
        width = X.shape[1] + int(bool(intercept))
        if self._multinomial(K):
            prev = self._warm("_theta", (K, width))
            res, bits = self._fit_softmax(X, idx, bool(intercept), method, step, tol, max_iter, gen, sw,
                                          None if prev is None else prev.ravel())
            results, T = [res], res.x.reshape(K, width).copy()
            if intercept:
                # the softmax is unchanged by a common shift of the (unpenalised) intercepts:
                # the minimiser is unique up to it, and the one reported has intercepts summing
                # to 0 (as scikit-learn's)
                T[:, 0] -= T[:, 0].mean()
        else:
            problems = [idx.astype(np.float64)] if K == 2 else [(idx == k).astype(np.float64) for k in range(K)]
            prev = self._warm("_theta", (len(problems), width))
            results, thetas, bits = [], [], 0
            for k, y01 in enumerate(problems):
                res, nb = self._fit_binary(X, y01, bool(intercept), method, step, tol, max_iter, gen, sw,
                                           None if prev is None else prev[k])
                results.append(res)
                thetas.append(res.x)
                bits += nb
            T = np.array(thetas)
        self._warn(results)
        self._theta = T.copy()
        if intercept:
            self.intercept_, self.coef_ = T[:, 0].copy(), np.ascontiguousarray(T[:, 1:])
        else:
            self.intercept_, self.coef_ = np.zeros(T.shape[0]), T
        self.n_iter_ = np.array([r.nit for r in results], dtype=np.int64)
        self.result_ = results[0] if len(results) == 1 else results
        self.bits_ = int(bits)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def _check_params(self):
        pass

    def decision_function(self, X):
        """theta'x (with x_0 = 1): shape (n,) for two classes, (n, K) one-vs-all or multinomial."""
        check_fitted(self, "coef_")
        X = check_X(X, self, accept_sparse=True)
        Z = np.asarray(X @ self.coef_.T) + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict(self, X):
        """Two classes: classes_[1] iff theta'x >= 0 (h >= 1/2, section 2.2; section 4.1); one-vs-all:
        the class with the largest score."""
        Z = self.decision_function(X)
        idx = (Z >= 0).astype(int) if Z.ndim == 1 else Z.argmax(axis=1)
        return self.classes_[idx]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.sparse = True
        return tags


_CLF_DOC_COMMON = """
    method : {"gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs", "cg", "newton-cg", "newton"} or None
        ``minimize`` method (None: "bb", or "gd" with a quantizer; see the class for
        LinearSVM's). "newton-cg" is trust-region Newton-CG (liblinear's TRON) and
        "newton" Newton's method with a Cholesky factor of the exact Hessian: a few
        iterations where first-order methods crawl on an ill-conditioned design; they
        take no quantizer.
    step : {"fixed", "armijo", "exact"} or None
        Step rule as in ``minimize`` (None: "armijo", or "fixed" with a quantizer). "fixed"
        is t = 1/L, or 1/(L (1 + omega)) with a quantizer of variance factor omega (module
        docstring: the rule that keeps quantized gradient descent stable).
    tol : float
        Stop when ||grad J|| <= tol.
    max_iter : int
        Iterations per binary problem.
    quantizer : convq quantizer or None
        Pass each gradient through the quantizer (gain-shape, unbiased); bits in ``bits_``.
    fit_intercept : bool, default True
        Fit theta_0 (never penalised).
    rng : None, int or numpy.random.Generator
        Randomness of the quantizer.
    threads : None or int
        Threads of the C objective kernels (None: 1, measured fastest; see
        :func:`convq.default_threads`).
    random_state : None, int or numpy.random.Generator
        scikit-learn's name for ``rng`` (give one of the two).
    warm_start : bool, default False
        Start from the previous fit's coefficients (same classes and features).
    class_weight : None, "balanced" or dict
        Multiply each sample's loss by its class's weight: a dict label -> weight (labels
        not in it weigh 1) or "balanced", n / (K n_k) for class k with n_k samples (as
        scikit-learn's ``compute_class_weight``).

    Attributes
    ----------
    classes_ : ndarray
        Sorted labels; two classes are encoded as {0, 1} = (classes_[0], classes_[1]).
    coef_ : ndarray (1, n_features) for two classes, (K, n_features) one-vs-all
    intercept_ : ndarray (1,) or (K,)
    n_iter_ : ndarray of int, one entry per binary problem (one for the multinomial problem)
    result_ : OptimizeResult (two classes, multinomial) or list of them (one-vs-all)
    bits_ : int
        Bits of gradient communicated (64 d per float64 gradient without a quantizer).
    n_features_in_ : int
"""


class LogisticRegression(_LinearClassifier):
    __doc__ = r"""Logistic regression (Lagarde, "Machine Learning Algebra", section 2).

    h_theta(x) = g(theta'x), g(z) = 1/(1 + e^{-z}) the sigmoid (section 2.1), P(y = 1 | x) = h
    (section 2.2); the cross-entropy cost (section 2.3) with the penalty of section 2.5:

        J(theta) = -1/m [y' ln h + (1 - y)' ln(1 - h)] + lam/(2m) ||theta_r||^2,

    gradient 1/m X'(h - y) (+ lam/m theta_r) (section 2.4); decision rule (section 2.2): y = 1 iff
    h >= 0.5. scikit-learn's L2 ``LogisticRegression(C)`` minimises C sum_i loss_i + 1/2 ||w||^2,
    the same problem with lam = 1/C.

    K > 2 classes: ``multi_class="multinomial"`` (what "auto" picks) fits one theta_k per class
    jointly, P(y = k | x) = e^{theta_k'x} / sum_l e^{theta_l'x} (the softmax), minimising the
    cross-entropy 1/m sum_i -ln P(y_i | x_i) + lam/(2m) sum_k ||theta_{k,r}||^2 (Bishop,
    "Pattern Recognition and Machine Learning", section 4.3.4; :class:`convq.objectives.Softmax`,
    evaluated in C; the intercepts, unique up to a common shift, are reported with sum 0) --
    scikit-learn's multinomial LogisticRegression at C = 1/lam;
    ``multi_class="ovr"`` fits K binary problems (one-vs-all, Lagarde section 3.2).

    Parameters
    ----------
    lam : float >= 0, default 0.0
        Regularisation parameter lambda.
    multi_class : {"auto", "multinomial", "ovr"}, default "auto"
        How K > 2 classes are fitted ("auto": multinomial, by default with method="lbfgs";
        two classes are always one binary problem).""" + _CLF_DOC_COMMON

    def __init__(self, lam=0.0, method=None, step=None, tol=1e-6, max_iter=1000, quantizer=None,
                 fit_intercept=True, rng=None, threads=None, random_state=None, warm_start=False, class_weight=None,
                 multi_class="auto"):
        self.lam = lam
        self.method = method
        self.step = step
        self.tol = tol
        self.max_iter = max_iter
        self.quantizer = quantizer
        self.fit_intercept = fit_intercept
        self.rng = rng
        self.threads = threads
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.multi_class = multi_class

    def _check_params(self):
        check_positive(self.lam, "lam", allow_zero=True)
        if not isinstance(self.multi_class, str) or self.multi_class not in ("auto", "multinomial", "ovr"):
            raise ValueError(f"multi_class must be 'auto', 'multinomial' or 'ovr', got {self.multi_class!r}")

    def _multinomial(self, K):
        return K > 2 and self.multi_class != "ovr"

    def _fit_binary(self, X, y01, intercept, method, step, tol, max_iter, gen, sw, x0):
        obj = _obj.Logistic(X, y01, float(self.lam), intercept, sample_weight=sw, threads=self.threads)
        return self._run(obj, method, step, tol, max_iter, gen, x0=x0)

    def _fit_softmax(self, X, idx, intercept, method, step, tol, max_iter, gen, sw, x0):
        if self.method is None and self.quantizer is None:
            method = "lbfgs"     # the K-block problem is ill-conditioned on unscaled data: L-BFGS (as scikit-learn)
        obj = _obj.Softmax(X, idx.astype(np.float64), self.classes_.size, float(self.lam), intercept,
                           sample_weight=sw, threads=self.threads)
        return self._run(obj, method, step, tol, max_iter, gen, x0=x0)

    def predict_proba(self, X):
        """[1 - h, h] for two classes; multinomial: the softmax of the K scores; one-vs-all:
        the K sigmoids normalised to sum to 1."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            h = _sigmoid(Z)
            return np.column_stack([1.0 - h, h])
        if self._multinomial(Z.shape[1]):
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            return E / E.sum(axis=1, keepdims=True)
        H = _sigmoid(Z)
        return H / H.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def cost(self, X, y):
        """The cross-entropy cost + lam/(2m) ||theta_r||^2 of the fitted model (two classes; y in
        classes_)."""
        check_fitted(self, "coef_")
        if self.classes_.size != 2:
            raise ValueError("cost() is defined for two classes; use the one-vs-all problems' result_")
        X = check_X(X, self, accept_sparse=True)
        y01 = _labels01(self.classes_, y)
        z = X @ self.coef_[0] + self.intercept_[0]
        m = X.shape[0]
        return float(np.mean(np.logaddexp(0.0, z) - y01 * z) + self.lam / (2 * m) * self.coef_[0] @ self.coef_[0])


def _labels01(classes, y):
    y = np.asarray(y)
    ok = np.isin(y, classes)
    if not np.all(ok):
        raise ValueError(f"y contains labels not seen in fit: {y[~ok][0]!r} (classes are {classes.tolist()})")
    return (y == classes[1]).astype(np.float64)


def _smooth_newton(sm, theta, tol, max_iter=100):
    """Newton's method with Armijo backtracking on the smoothed cost J_delta (a
    :class:`convq.objectives.SmoothedHinge`), whose Hessian is piecewise constant, so the
    iteration settles the partition in a few steps. Used as a polish after the first-order
    stage (as the LASSO solver's final FISTA run)."""
    from ..optimize import hessian
    f, g = sm.value_and_grad(theta)
    it = 0
    for it in range(1, max_iter + 1):
        if np.linalg.norm(g) <= max(tol, 1e-12 * max(1.0, abs(f))):
            it -= 1
            break
        H = hessian(sm, theta)
        if sm.intercept:   # no row in the quadratic zone leaves the intercept's entry 0
            H[0, 0] += 1e-12 * (1.0 + H[0, 0])
        try:
            step = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        gd = float(g @ step)
        if not gd < 0:
            break
        t = 1.0
        for _ in range(60):
            fn, gn = sm.value_and_grad(theta + t * step)
            if fn <= f + 1e-4 * t * gd:
                break
            t *= 0.5
        else:
            break
        if f - fn <= 1e-16 * abs(f) and t < 1:
            break
        theta, f, g = theta + t * step, fn, gn
    return theta, it


def _hinge_polish(X, y01, C, k, intercept, theta, delta, max_active=3000, rtol=1e-9, w=None, partition=None):
    r"""Exact minimiser of the SVM hinge cost from a smoothed solution, by the KKT conditions.

    With the margin violation v_i = 1 - s_i z_i, a minimiser satisfies
    theta_r = sum_i beta_i s_i x_i, sum_i beta_i s_i = 0 (intercept), beta_i = C k where
    v_i > 0, beta_i = 0 where v_i < 0, beta_i in [0, C k] and z_i = s_i where v_i = 0.
    The smoothed solution tells the partition (v >= delta: violators, v <= 0: inactive,
    0 < v < delta: on the margin); the margin multipliers and theta_0 then solve a
    linear system. With sample weights w the bound C k becomes C k w_i per sample. X may be
    scipy.sparse (only the n0 x n0 Gram matrix of the margin rows is dense). ``partition``
    = (on, viol) gives the partition instead (from a dual solution: 0 < alpha_i < C k on the
    margin, alpha_i = C k violators).
    Returns (theta, kkt_holds) or (None, False)."""
    s = 2.0 * y01 - 1.0
    if partition is None:
        z = X @ theta[1:] + theta[0] if intercept else X @ theta
        v = 1.0 - s * z
        on = (v > 0) & (v < delta)
        viol = v >= delta
    else:
        on, viol = partition
    n0 = int(on.sum())
    if n0 == 0 or n0 > max_active:
        return None, False
    Ck = C * k
    U = Ck * (np.ones(X.shape[0]) if w is None else w)     # the per-sample bound of beta
    if w is None:   # (the unweighted sums as they always were: seeded fits stay bit-identical)
        c, eq = Ck * (X[viol].T @ s[viol]), -Ck * s[viol].sum()
    else:
        c, eq = X[viol].T @ (U[viol] * s[viol]), -(U[viol] * s[viol]).sum()
    X0, s0 = X[on], s[on]
    G0 = X0 @ X0.T
    K0 = (G0.toarray() if is_sparse(G0) else G0) * s0[None, :]
    rhs = s0 - X0 @ c
    if intercept:
        A = np.zeros((n0 + 1, n0 + 1))
        A[:n0, 0] = 1.0
        A[:n0, 1:] = K0
        A[n0, 1:] = s0
        b = np.concatenate([rhs, [eq]])
    else:
        A, b = K0, rhs
    sol = np.linalg.lstsq(A, b, rcond=None)[0]
    t0, beta = (sol[0], sol[1:]) if intercept else (0.0, sol)
    theta_r = c + X0.T @ (s0 * beta)
    new = np.concatenate([[t0], theta_r]) if intercept else theta_r
    if not np.all(np.isfinite(new)):
        return None, False
    zn = X @ theta_r + t0
    vn = 1.0 - s * zn
    scale = rtol * max(1.0, float(np.abs(zn).max()))
    U0 = U[on]
    kkt = (np.all(beta >= -rtol * U0) and np.all(beta <= U0 * (1 + rtol)) and np.all(vn[viol] >= -scale)
           and np.all(vn[~viol & ~on] <= scale) and np.allclose(A @ sol, b, rtol=1e-8, atol=1e-8 * Ck))
    return new, bool(kkt)


class LinearSVM(_LinearClassifier):
    __doc__ = r"""Linear support vector machine (Lagarde, "Machine Learning Algebra", section 4).

    h_theta(x) = 1 if theta'x >= 0 else 0 (section 4.1); the hinge cost (section 4.2)

        J(theta) = C sum_i [y_i cost_1(theta'x_i) + (1 - y_i) cost_0(theta'x_i)] + 1/2 ||theta_r||^2

    with cost_1(z) = k max(0, 1 - z) and cost_0(z) = k max(0, 1 + z) (section 4.3), slope k,
    labels {0, 1} (any two labels are encoded as {0, 1} via ``classes_``; K > 2: one-vs-all).

    J is not differentiable. The default ``method="dual-cd"`` (None without a quantizer)
    solves it exactly by dual coordinate descent with shrinking (Hsieh et al., "A Dual
    Coordinate Descent Method for Large-scale Linear SVM", ICML 2008, the method of
    liblinear; :func:`convq.optimize.svm_dual_cd`, which keeps the intercept unpenalised),
    stopping when the spread of the projected dual gradient is at most ``tol``; its
    coordinate order is drawn from ``rng`` (None: a fixed seed, so that fits are
    reproducible) and ``result_.alpha`` holds the dual solution.
    ``method="subgradient"`` runs the subgradient method on J
    itself; every other method minimises the Huber-smoothed J_delta (margin violations
    below delta squared, J_delta <= J <= J_delta + C k m delta/2) by continuation, delta =
    1, 0.1, ..., ``delta_min``, each stage warm-started from the last (the smoothing
    scheme of the lecture slides "Gradient method", section "LASSO: smoothing"; with a
    quantizer ``max_iter`` is the budget of the whole path, shared by the stages, and the
    quantized steps are preconditioned by the column scales, module docstring), each stage's
    J_delta a :class:`convq.objectives.SmoothedHinge` (value, gradient and Hessian products in
    C), then Newton steps and the KKT system on the active set. ``result_.fun`` is the
    exact hinge cost of the returned theta. With the dual solution's free multipliers the
    dual-CD answer is polished the same way (the KKT system on the margin samples), so the
    fit is the exact minimiser, not one within ``tol``. The dual CD kernel takes a dense X
    and one C: with ``sample_weight``/``class_weight`` (the bound C k w_i per sample) or a
    scipy.sparse X, ``method=None`` runs the smoothing path ("bb") instead, which reaches the
    same minimiser. scikit-learn's ``LinearSVC(C, loss="hinge")``
    minimises the same cost with k = 1 (but also penalises its intercept).

    Parameters
    ----------
    C : float > 0, default 1.0
    slope : float > 0, default 1.0
        The hinge slope k of cost_1 and cost_0 (section 4.3).
    delta_min : float > 0, default 1e-7
        Last smoothing level of the continuation.
    loss : {"hinge", "squared_hinge"}, default "hinge"
        "squared_hinge" squares the slope-k costs: C sum_i [y_i cost_1(z_i)^2 + (1 - y_i)
        cost_0(z_i)^2] + 1/2 ||theta_r||^2 (the L2-loss SVM of Hsieh et al., a smooth primal),
        solved by ``method="dual-cd"`` (the default); ``cost`` and ``result_.fun`` are then
        this cost.""" + _CLF_DOC_COMMON.replace(
        '"newton-cg", "newton"} or None', '"newton-cg", "newton", "dual-cd"} or None').replace(
        "    max_iter : int\n        Iterations per binary problem.",
        "    max_iter : int or None\n        Iterations per binary problem (None: 100000 passes of dual-cd, 2000 "
        "iterations\n        of the other methods).")

    _methods = _MINIMIZE_METHODS + ("dual-cd",)

    def _default_method(self):
        return "gd" if self.quantizer is not None else "dual-cd"

    def _max_iter_for(self, method):
        return 100000 if method == "dual-cd" else 2000

    def __init__(self, C=1.0, slope=1.0, method=None, step=None, tol=1e-8, max_iter=None, quantizer=None,
                 fit_intercept=True, delta_min=1e-7, rng=None, threads=None, loss="hinge", random_state=None,
                 warm_start=False, class_weight=None):
        self.C = C
        self.slope = slope
        self.method = method
        self.step = step
        self.tol = tol
        self.max_iter = max_iter
        self.quantizer = quantizer
        self.fit_intercept = fit_intercept
        self.delta_min = delta_min
        self.rng = rng
        self.threads = threads
        self.loss = loss
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight

    def _check_params(self):
        check_positive(self.C, "C")
        check_positive(self.slope, "slope")
        check_positive(self.delta_min, "delta_min")
        if not isinstance(self.loss, str) or self.loss not in ("hinge", "squared_hinge"):
            raise ValueError(f"loss must be 'hinge' or 'squared_hinge', got {self.loss!r}")

    def _fit_binary(self, X, y01, intercept, method, step, tol, max_iter, gen, sw, x0):
        C, k = float(self.C), float(self.slope)
        if method == "dual-cd" and self.method is None and (sw is not None or is_sparse(X)) and \
                self.loss == "hinge":
            # the dual CD kernel takes a dense X and one C for all samples: weighted or sparse data
            # go through the smoothing path, which reaches the same minimiser
            method, max_iter = "bb", (2000 if self.max_iter is None else max_iter)
        if method == "dual-cd" and (sw is not None or is_sparse(X)):
            raise ValueError(f"method='dual-cd' takes a dense X and no sample weights; give method='bb' (the smoothing "
                             f"path, loss='hinge') for {'sparse X' if is_sparse(X) else 'sample_weight/class_weight'}")
        if self.loss == "squared_hinge" and method != "dual-cd":
            raise ValueError(f"loss='squared_hinge' is solved by method='dual-cd' (the default without a quantizer), "
                             f"got method={method!r}")
        if method == "dual-cd":
            if self.quantizer is not None:
                raise ValueError(f"method='dual-cd' communicates no gradients and takes no quantizer; give a "
                                 f"first-order method (gd, bb, ...) with quantizer=, got quantizer={self.quantizer!r}")
            from ..optimize import svm_dual_cd
            res = svm_dual_cd(X, y01, C, k, intercept, loss=self.loss, tol=max(tol, 1e-15), max_iter=max_iter,
                              rng=0 if self._seed() is None else gen)
            if self.loss == "hinge" and res.success:
                # the dual solution's partition (free multipliers on the margin) gives the exact
                # minimiser by the KKT system, as after the smoothing path
                U, a = C * k, res.alpha
                part = ((a > 1e-12 * U) & (a < U * (1 - 1e-12)), a >= U * (1 - 1e-12))
                cand, kkt = _hinge_polish(X, y01, C, k, intercept, res.x, 0.0, partition=part)
                if kkt and _obj.Hinge(X, y01, C, k, intercept).value(cand) <= res.fun:
                    res.x, res.fun = cand, float(_obj.Hinge(X, y01, C, k, intercept).value(cand))
                    res.message += "; polished to the exact minimiser (KKT system on the dual's free set)"
            return res, 0
        exact = _obj.Hinge(X, y01, C, k, intercept, sample_weight=sw, threads=self.threads)
        if method == "subgradient":
            # t0 / sqrt(k) with t0 ~ 1 / (C k ||X||_F^2 / m) scale
            sq = float(X.multiply(X).sum()) if is_sparse(X) else float(np.sum(X * X))
            return self._run(exact, method, step, tol, max_iter, gen, x0=x0, t=1.0 / max(1.0, C * k * sq / X.shape[0]))
        # Spectral norm^2 of W^{1/2} [1, X] for the fixed steps 1/L of the smoothed problems.
        scale, reg, omega = None, 1.0, None
        if self.quantizer is not None and step == "fixed":
            from ._quantized import variance_factor
            omega = variance_factor(self.quantizer, X.shape[1] + int(intercept))
            scale, Xs = _column_scales(X, sw, intercept)
            reg = float(np.max(scale[int(intercept):]) ** -2) if X.shape[1] else 0.0
        else:
            Xs = X
        lsq = _obj.LeastSquares(Xs, y01, 0.0, intercept, sample_weight=sw)
        lip = lsq.lipschitz(rng=0) * (X.shape[0] if sw is None else lsq.wsum)
        theta = np.zeros(X.shape[1] + int(intercept)) if x0 is None else x0
        deltas = [1.0]
        while deltas[-1] > self.delta_min * (1 + 1e-9):
            deltas.append(max(deltas[-1] * 0.1, float(self.delta_min)))
        total, nf, ng, bits, stages = 0, 0, 0, 0, []
        t0 = time.perf_counter()
        res, polished = None, False
        for j, delta in enumerate(deltas):
            sm = exact.smooth(delta)
            opts = {"L": C * k * lip / delta + reg} if step == "fixed" else {}
            # quantized: max_iter is the budget of the whole path (every iteration sends a
            # message), shared by the stages left, what a stage leaves passing to the next
            it = max_iter if self.quantizer is None else max(1, -(-(max_iter - total) // (len(deltas) - j)))
            r, nb = self._run(sm, method, step, tol, it, gen, x0=theta, scale=scale, omega=omega, **opts)
            theta, res = r.x, r
            total += r.nit
            nf += r.nfev
            ng += r.ngev
            bits += nb
            stages.append((delta, r.nit))
            if self.quantizer is None and delta <= 0.01:
                theta, nn = _smooth_newton(sm, theta, tol)
                total += nn
                cand, kkt = _hinge_polish(X, y01, C, k, intercept, theta, delta, w=sw)
                if cand is not None and exact.value(cand) <= exact.value(theta):
                    theta = cand
                    if kkt:  # the exact minimiser of the hinge cost: the KKT conditions hold
                        polished = True
                        break
        f = exact.value(theta)
        msg = "exact minimiser of the hinge cost (KKT system on the active set of the smoothed solution)" if polished \
            else f"{res.message} (smoothed hinge, delta = {delta:g})"
        out = OptimizeResult(x=theta, fun=float(f), grad_norm=float(res.grad_norm), nit=int(total), nfev=nf,
                             ngev=ng, success=bool(res.success or polished), status=0 if polished else res.status,
                             message=msg, method=f"{res.method} on smoothed hinge", stages=stages,
                             time=time.perf_counter() - t0)
        return out, bits

    def cost(self, X, y):
        """The hinge cost (section 4.2; squared with loss="squared_hinge") of the fitted model (two
        classes; y in classes_)."""
        check_fitted(self, "coef_")
        if self.classes_.size != 2:
            raise ValueError("cost() is defined for two classes; use the one-vs-all problems' result_")
        X = check_X(X, self, accept_sparse=True)
        y01 = _labels01(self.classes_, y)
        theta = np.concatenate([[self.intercept_[0]], self.coef_[0]]) if self.fit_intercept else self.coef_[0]
        from ..optimize import _svm_cost
        return _svm_cost(X, y01, float(self.C), float(self.slope), bool(self.fit_intercept), theta, self.loss)
