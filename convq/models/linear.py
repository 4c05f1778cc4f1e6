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
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from .._optional import import_optional
from .. import objectives as _obj
from .._rng import as_generator
from .._progress import fit_with_progress
from .._validation import check_int, check_positive, check_quantizer, check_threads
from ..optimize import OptimizeResult, minimize
from ._base import (BaseEstimator, ClassifierMixin, RegressorMixin, check_classification_targets, check_fitted,
                    check_X, check_X_y)

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
        as_generator(self.rng)
        return method, step, tol, max_iter

    def _run(self, obj, method, step, tol, max_iter, gen, x0=None, **options):
        """minimize(obj) from x0 (default 0); returns (OptimizeResult, bits)."""
        bits = [0]
        gt = None
        if self.quantizer is not None:
            from ._quantized import gain_shape
            gs = gain_shape(self.quantizer)

            def gt(g):
                bits[0] += gs.bits(g.size)
                return gs(g, rng=gen)
        res = minimize(obj, np.zeros(obj.dim) if x0 is None else x0, method=method, step=step, tol=tol,
                       max_iter=max_iter, grad_transform=gt, **options)
        if self.quantizer is None:
            bits[0] = 64 * obj.dim * int(res.ngev)
        return res, bits[0]

    def _warn(self, results):
        bad = [r for r in results if not r.success]
        if bad and self.quantizer is None:
            gn = bad[0].grad_norm
            why = f" (||grad|| = {gn:.3g} > tol = {self.tol})" if np.isfinite(gn) else ""
            warnings.warn(f"{type(self).__name__}: {bad[0].message}{why}; increase max_iter or scale the data",
                          ConvergenceWarning, stacklevel=4)


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
    def fit(self, X, y):
        """Fit theta = (intercept_, coef_); returns self."""
        t0 = time.perf_counter()
        X, y = check_X_y(X, y, self)
        if y.dtype.kind not in "biuf":
            if y.dtype.kind in "cUSV":
                raise ValueError(f"y must be real numbers for a regression, got dtype {y.dtype}")
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"y must be numeric for a regression, got dtype {y.dtype}") from None
        y = np.ascontiguousarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        lam = self._lam()
        intercept = self.fit_intercept
        if not isinstance(intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False, got {type(intercept).__name__}")
        solver = self.solver
        self._resolve()  # every parameter is checked, also those the closed forms do not use
        if solver in ("normal", "qr"):
            if self.quantizer is not None:
                raise ValueError(f"quantizer= needs an iterative solver (one of {list(_MINIMIZE_METHODS)} or "
                                 f"'iterative'), got solver={solver!r}")
            theta, how = _normal_equation(X, y, lam, bool(intercept), qr=(solver == "qr"))
            # J and ||grad J|| at the solution from two BLAS matrix-vector products
            tr = theta[1:] if intercept else theta
            r = X @ tr + (theta[0] if intercept else 0.0) - y
            m = X.shape[0]
            g = np.concatenate([[r.sum()], X.T @ r]) if intercept else X.T @ r
            g /= m
            g[int(bool(intercept)):] += lam / m * tr
            f = r @ r / (2 * m) + lam / (2 * m) * (tr @ tr)
            self.result_ = _closed_form_result(theta, f, np.linalg.norm(g), how, t0)
            self.n_iter_ = 1
            self.bits_ = 0
        elif solver == "iterative" or solver in _MINIMIZE_METHODS:
            method, step, tol, max_iter = self._resolve()
            if solver != "iterative":
                if self.method is not None and self.method != solver:
                    raise ValueError(f"solver={solver!r} and method={self.method!r} disagree; give one of them")
                method = solver
            obj = _obj.LeastSquares(X, y, lam, bool(intercept), threads=self.threads)
            res, bits = self._run(obj, method, step, tol, max_iter, as_generator(self.rng))
            self._warn([res])
            theta = res.x
            self.result_, self.n_iter_, self.bits_ = res, int(res.nit), int(bits)
        else:
            raise ValueError(f"solver must be 'normal', 'qr', 'iterative' or a minimize method "
                             f"{list(_MINIMIZE_METHODS)}, got {solver!r}")
        if intercept:
            self.intercept_, self.coef_ = float(theta[0]), theta[1:].copy()
        else:
            self.intercept_, self.coef_ = 0.0, theta.copy()
        return self

    def predict(self, X):
        """The hypothesis h_theta(X) = X theta (section 1.2)."""
        check_fitted(self, "coef_")
        X = check_X(X, self)
        return X @ self.coef_ + self.intercept_

    def cost(self, X, y):
        """The least-squares cost J(theta) (section 1.3; + lam/(2m) ||theta_r||^2 for Ridge,
        section 1.6) on (X, y)."""
        check_fitted(self, "coef_")
        X = check_X(X, self)
        r = X @ self.coef_ + self.intercept_ - np.asarray(y, dtype=float)
        m = X.shape[0]
        return float(r @ r / (2 * m) + self._lam() / (2 * m) * (self.coef_ @ self.coef_))


def _normal_equation(X, y, lam, intercept, qr=False):
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
            c = sl.cho_factor(G, lower=False, check_finite=False)
            # Reject numerically singular factors (rcond of G below ~ machine eps).
            d = np.abs(np.diag(c[0]))
            if d.min() <= 1e-7 * d.max():
                raise np.linalg.LinAlgError("ill-conditioned")
            theta_r = sl.cho_solve(c, b, check_finite=False)
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
                theta_r = sl.lstsq(A, rhs, check_finite=False)[0]
                how = "QR (rank-deficient: minimum-norm least squares)"
        else:
            theta_r = sl.lstsq(A, rhs, check_finite=False)[0]
            how = "QR (rank-deficient: minimum-norm least squares)"
    if intercept:
        return np.concatenate([[ybar - xbar @ theta_r], theta_r]), how
    return theta_r, how


_LSQ_DOC_PARAMS = """
    solver : {"normal", "qr", "iterative"} or a minimize method, default "normal"
        "normal": the normal equation by Cholesky (QR if X'X is singular); "qr": QR of the
        data; "iterative": ``minimize`` with ``method``/``step``; a method name such as
        "gd" or "bb" is the same as solver="iterative" with that method.
    method : {"gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs", "cg", "newton-cg", "newton"} or None
        Iterative method of :func:`convq.optimize.minimize` (None: "bb", or "gd" with a
        quantizer): "cg" with step="exact" is linear CG on the normal equations,
        "newton-cg" trust-region Newton-CG (liblinear's TRON), "newton" Newton's method
        with a Cholesky factor of the exact Hessian (one step here). The second-order
        methods take no quantizer.
    step : {"fixed", "armijo", "exact"} or None
        Step rule as in ``minimize`` (None: "armijo", or "fixed" = 1/L with a quantizer).
    tol : float, default 1e-10
        Stop when ||grad J|| <= tol (iterative solvers).
    max_iter : int, default 10000
    quantizer : convq quantizer or None
        Pass each gradient through the quantizer (gain-shape); needs an iterative solver.
    fit_intercept : bool, default True
        Fit theta_0 (the column of ones of section 1.1); never penalised.
    rng : None, int or numpy.random.Generator
        Randomness of the quantizer.
    threads : None or int
        Threads of the C objective kernels of the iterative solvers (None: 1, measured
        fastest, see :func:`convq.default_threads`; the results do not depend on it).

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

    def __init__(self, solver="normal", method=None, step=None, tol=1e-10, max_iter=10000, quantizer=None,
                 fit_intercept=True, rng=None, threads=None):
        self.solver = solver
        self.method = method
        self.step = step
        self.tol = tol
        self.max_iter = max_iter
        self.quantizer = quantizer
        self.fit_intercept = fit_intercept
        self.rng = rng
        self.threads = threads


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

    def __init__(self, lam=1.0, solver="normal", method=None, step=None, tol=1e-10, max_iter=10000,
                 quantizer=None, fit_intercept=True, rng=None, threads=None):
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

    def _fit_binary(self, X, y01, method, step, tol, max_iter, gen):  # pragma: no cover - abstract
        raise NotImplementedError

    @fit_with_progress
    def fit(self, X, y):
        """Fit theta per (one-vs-all) problem; returns self."""
        t0 = time.perf_counter()
        X, y = check_X_y(X, y, self)
        intercept = self.fit_intercept
        if not isinstance(intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False, got {type(intercept).__name__}")
        method, step, tol, max_iter = self._resolve()
        self._check_params()
        self.classes_, idx = self._encode(y)
        K = self.classes_.size
        gen = as_generator(self.rng)
        problems = [idx.astype(np.float64)] if K == 2 else [(idx == k).astype(np.float64) for k in range(K)]
        results, thetas, bits = [], [], 0
        for y01 in problems:
            res, nb = self._fit_binary(X, y01, bool(intercept), method, step, tol, max_iter, gen)
            results.append(res)
            thetas.append(res.x)
            bits += nb
        self._warn(results)
        T = np.array(thetas)
        if intercept:
            self.intercept_, self.coef_ = T[:, 0].copy(), np.ascontiguousarray(T[:, 1:])
        else:
            self.intercept_, self.coef_ = np.zeros(T.shape[0]), T
        self.n_iter_ = np.array([r.nit for r in results], dtype=np.int64)
        self.result_ = results[0] if K == 2 else results
        self.bits_ = int(bits)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def _check_params(self):
        pass

    def decision_function(self, X):
        """theta'x (with x_0 = 1): shape (n,) for two classes, (n, K) one-vs-all."""
        check_fitted(self, "coef_")
        X = check_X(X, self)
        Z = X @ self.coef_.T + self.intercept_
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
        return tags


_CLF_DOC_COMMON = """
    method : {"gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs", "cg", "newton-cg", "newton"} or None
        ``minimize`` method (None: "bb", or "gd" with a quantizer; see the class for
        LinearSVM's). "newton-cg" is trust-region Newton-CG (liblinear's TRON) and
        "newton" Newton's method with a Cholesky factor of the exact Hessian: a few
        iterations where first-order methods crawl on an ill-conditioned design; they
        take no quantizer.
    step : {"fixed", "armijo", "exact"} or None
        Step rule as in ``minimize`` (None: "armijo", or "fixed" = 1/L with a quantizer).
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

    Attributes
    ----------
    classes_ : ndarray
        Sorted labels; two classes are encoded as {0, 1} = (classes_[0], classes_[1]).
    coef_ : ndarray (1, n_features) for two classes, (K, n_features) one-vs-all
    intercept_ : ndarray (1,) or (K,)
    n_iter_ : ndarray of int, one entry per binary problem
    result_ : OptimizeResult (two classes) or list of them (one-vs-all)
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
    h >= 0.5. K > 2 classes: one-vs-all. scikit-learn's L2 ``LogisticRegression(C)``
    minimises C sum_i loss_i + 1/2 ||w||^2, the same problem with lam = 1/C.

    Parameters
    ----------
    lam : float >= 0, default 0.0
        Regularisation parameter lambda.""" + _CLF_DOC_COMMON

    def __init__(self, lam=0.0, method=None, step=None, tol=1e-6, max_iter=1000, quantizer=None,
                 fit_intercept=True, rng=None, threads=None):
        self.lam = lam
        self.method = method
        self.step = step
        self.tol = tol
        self.max_iter = max_iter
        self.quantizer = quantizer
        self.fit_intercept = fit_intercept
        self.rng = rng
        self.threads = threads

    def _check_params(self):
        check_positive(self.lam, "lam", allow_zero=True)

    def _fit_binary(self, X, y01, intercept, method, step, tol, max_iter, gen):
        obj = _obj.Logistic(X, y01, float(self.lam), intercept, threads=self.threads)
        return self._run(obj, method, step, tol, max_iter, gen)

    def predict_proba(self, X):
        """[1 - h, h] for two classes; one-vs-all: the K sigmoids normalised to sum to 1."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            h = _sigmoid(Z)
            return np.column_stack([1.0 - h, h])
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
        X = check_X(X, self)
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


def _hinge_polish(X, y01, C, k, intercept, theta, delta, max_active=3000, rtol=1e-9):
    r"""Exact minimiser of the SVM hinge cost from a smoothed solution, by the KKT conditions.

    With the margin violation v_i = 1 - s_i z_i, a minimiser satisfies
    theta_r = sum_i beta_i s_i x_i, sum_i beta_i s_i = 0 (intercept), beta_i = C k where
    v_i > 0, beta_i = 0 where v_i < 0, beta_i in [0, C k] and z_i = s_i where v_i = 0.
    The smoothed solution tells the partition (v >= delta: violators, v <= 0: inactive,
    0 < v < delta: on the margin); the margin multipliers and theta_0 then solve a
    linear system. Returns (theta, kkt_holds) or (None, False)."""
    s = 2.0 * y01 - 1.0
    z = X @ theta[1:] + theta[0] if intercept else X @ theta
    v = 1.0 - s * z
    on = (v > 0) & (v < delta)
    viol = v >= delta
    n0 = int(on.sum())
    if n0 == 0 or n0 > max_active:
        return None, False
    Ck = C * k
    c = Ck * (X[viol].T @ s[viol])
    X0, s0 = X[on], s[on]
    K0 = (X0 @ X0.T) * s0[None, :]
    rhs = s0 - X0 @ c
    if intercept:
        A = np.zeros((n0 + 1, n0 + 1))
        A[:n0, 0] = 1.0
        A[:n0, 1:] = K0
        A[n0, 1:] = s0
        b = np.concatenate([rhs, [-Ck * s[viol].sum()]])
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
    kkt = (np.all(beta >= -rtol * Ck) and np.all(beta <= Ck * (1 + rtol)) and np.all(vn[viol] >= -scale)
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
    scheme of the lecture slides "Gradient method", section "LASSO: smoothing"), each stage's
    J_delta a :class:`convq.objectives.SmoothedHinge` (value, gradient and Hessian products in
    C), then Newton steps and the KKT system on the active set. ``result_.fun`` is the
    exact hinge cost of the returned theta. scikit-learn's ``LinearSVC(C, loss="hinge")``
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
                 fit_intercept=True, delta_min=1e-7, rng=None, threads=None, loss="hinge"):
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

    def _check_params(self):
        check_positive(self.C, "C")
        check_positive(self.slope, "slope")
        check_positive(self.delta_min, "delta_min")
        if not isinstance(self.loss, str) or self.loss not in ("hinge", "squared_hinge"):
            raise ValueError(f"loss must be 'hinge' or 'squared_hinge', got {self.loss!r}")

    def _fit_binary(self, X, y01, intercept, method, step, tol, max_iter, gen):
        C, k = float(self.C), float(self.slope)
        if self.loss == "squared_hinge" and method != "dual-cd":
            raise ValueError(f"loss='squared_hinge' is solved by method='dual-cd' (the default without a quantizer), "
                             f"got method={method!r}")
        if method == "dual-cd":
            if self.quantizer is not None:
                raise ValueError(f"method='dual-cd' communicates no gradients and takes no quantizer; give a "
                                 f"first-order method (gd, bb, ...) with quantizer=, got quantizer={self.quantizer!r}")
            from ..optimize import svm_dual_cd
            res = svm_dual_cd(X, y01, C, k, intercept, loss=self.loss, tol=max(tol, 1e-15), max_iter=max_iter,
                              rng=0 if self.rng is None else gen)
            return res, 0
        exact = _obj.Hinge(X, y01, C, k, intercept, threads=self.threads)
        if method == "subgradient":
            opts = {}
            if "t" not in opts:  # t0 / sqrt(k) with t0 ~ 1 / (C k ||X||_F^2 / m) scale
                opts["t"] = 1.0 / max(1.0, C * k * float(np.sum(X * X)) / X.shape[0])
            return self._run(exact, method, step, tol, max_iter, gen, **opts)
        # Spectral norm^2 of [1, X] for the fixed steps 1/L of the smoothed problems.
        lip = _obj.LeastSquares(X, y01, 0.0, intercept).lipschitz(rng=0) * X.shape[0]
        theta = np.zeros(X.shape[1] + int(intercept))
        delta, total, nf, ng, bits, stages = 1.0, 0, 0, 0, 0, []
        t0 = time.perf_counter()
        res, polished = None, False
        while True:
            sm = exact.smooth(delta)
            opts = {"L": C * k * lip / delta + 1.0} if step == "fixed" else {}
            r, nb = self._run(sm, method, step, tol, max_iter, gen, x0=theta, **opts)
            theta, res = r.x, r
            total += r.nit
            nf += r.nfev
            ng += r.ngev
            bits += nb
            stages.append((delta, r.nit))
            if self.quantizer is None and delta <= 0.01:
                theta, nn = _smooth_newton(sm, theta, tol)
                total += nn
                cand, kkt = _hinge_polish(X, y01, C, k, intercept, theta, delta)
                if cand is not None and exact.value(cand) <= exact.value(theta):
                    theta = cand
                    if kkt:  # the exact minimiser of the hinge cost: the KKT conditions hold
                        polished = True
                        break
            if delta <= self.delta_min * (1 + 1e-9):
                break
            delta = max(delta * 0.1, float(self.delta_min))
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
        X = check_X(X, self)
        y01 = _labels01(self.classes_, y)
        theta = np.concatenate([[self.intercept_[0]], self.coef_[0]]) if self.fit_intercept else self.coef_[0]
        from ..optimize import _svm_cost
        return _svm_cost(X, y01, float(self.C), float(self.slope), bool(self.fit_intercept), theta, self.loss)
