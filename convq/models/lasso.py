r"""The LASSO as a scikit-learn-style estimator with an intercept, trained by the
working-set coordinate descent of :func:`convq.optimize.lasso`.

``Lasso(alpha)`` minimises (the cost of scikit-learn's ``Lasso``)

    1/(2W) sum_i w_i (y_i - t - x_i'theta)^2 + alpha ||theta||_1,   W = sum_i w_i,

over the coefficients theta and the unpenalised intercept t (w_i = 1 without
``sample_weight``; an integer weight is a repeated sample). With s_i = sqrt(w_i) this is
the LASSO 1/2 ||A theta - b||^2 + mu ||theta||_1 of the lecture slides "Gradient method" with
A = diag(s) X, b = diag(s) y and mu = alpha W, once the intercept is handled:

- dense X: t is eliminated exactly by centring with the weighted means,
  t = ybar - xbar'theta, A = diag(s) (X - 1 xbar'), b = diag(s) (y - ybar) (Hastie,
  Tibshirani & Wainwright, "Statistical Learning with Sparsity", 2015, section 2.2);
- scipy.sparse X (never densified: centring would fill it in): t is one more coordinate,
  the column kappa s appended to A with kappa = 2^10 times the largest column norm over
  ||s||, whose penalty mu |t| / kappa is small (the intercept scaling of liblinear: Fan et
  al., "LIBLINEAR: A Library for Large Linear Classification", JMLR 2008, appendix on the
  bias term); the remaining bias is then removed exactly: on the support S and signs
  sigma found, the optimality conditions of the unpenalised-intercept problem are the
  linear system [A_S'A_S, A_S's; s'A_S, s's] [theta_S; t] = [A_S'b - mu sigma; s'b]
  (|S| + 1 unknowns), whose solution is kept when the signs hold and |A_j'r| <= mu off S
  (the Lasso's KKT conditions, Tibshirani, "The lasso problem and uniqueness", EJS 2013,
  section 2), so the answer is the minimiser and not an approximation of it.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._progress import fit_with_progress
from .._validation import check_int, check_positive, is_sparse
from ..optimize import lasso as _lasso
from ._base import (BaseEstimator, RegressorMixin, check_fitted, check_regression_y, check_sample_weight, check_X,
                    check_X_y)

__all__ = ["Lasso"]

# the intercept column's scale above the data's, for sparse X (its small l1 bias is then
# removed by _kkt_polish); much larger scales make the duality gap of the CD ill-conditioned
_KAPPA = 2.0 ** 10
_MAX_POLISH = 3000


def _kkt_polish(A, s, b, mu, theta):
    """The exact minimiser of 1/2 ||A theta + t s - b||^2 + mu ||theta||_1 over (theta, t)
    from an approximate theta with the right support and signs: (theta, t, True), or
    (theta, None, False) when the KKT conditions fail (see the module docstring)."""
    S = np.flatnonzero(theta)
    if S.size > _MAX_POLISH:
        return theta, None, False
    sig = np.sign(theta[S])
    AS = A[:, S]
    ASs = np.asarray(AS.T @ s).ravel()
    G = np.empty((S.size + 1, S.size + 1))
    G[:S.size, :S.size] = np.asarray((AS.T @ AS).todense())
    G[:S.size, S.size] = G[S.size, :S.size] = ASs
    G[S.size, S.size] = float(s @ s)
    rhs = np.concatenate([np.asarray(AS.T @ b).ravel() - mu * sig, [float(s @ b)]])
    try:
        sol = np.linalg.solve(G, rhs)
    except np.linalg.LinAlgError:
        return theta, None, False
    new = np.zeros_like(theta)
    new[S] = sol[:S.size]
    r = b - A @ new - sol[S.size] * s
    c = np.abs(np.asarray(A.T @ r).ravel())
    c[S] = 0.0
    ok = np.all(np.sign(sol[:S.size]) == sig) and c.max(initial=0.0) <= mu * (1 + 1e-9) and \
        abs(float(s @ r)) <= 1e-9 * max(1.0, float(np.linalg.norm(s) * np.linalg.norm(r)))
    return (new, float(sol[S.size]), True) if ok else (theta, None, False)


class Lasso(RegressorMixin, BaseEstimator):
    r"""The LASSO with an unpenalised intercept (scikit-learn's ``Lasso``).

    Minimises 1/(2W) sum_i w_i (y_i - t - x_i'theta)^2 + alpha ||theta||_1 (W = sum_i w_i;
    w = 1 without ``sample_weight``) by coordinate descent on working sets with Anderson
    extrapolation, stopped on the duality gap (Massias, Gramfort & Salmon, "Celer: a Fast
    Solver for the Lasso with Dual Extrapolation", ICML 2018; :func:`convq.optimize.lasso`,
    ``method="cd"``). A dense X is centred with the weighted means (the intercept eliminated
    exactly); a scipy.sparse X stays sparse and the intercept is a scaled constant column
    (see :mod:`convq.models.lasso`).

    Parameters
    ----------
    alpha : float >= 0, default 1.0
        The l1 penalty, in scikit-learn's units (mu = alpha W in the unscaled LASSO).
    fit_intercept : bool, default True
    tol : float > 0, default 1e-4
        Stop when the duality gap of the unscaled problem is at most tol ||b||^2 (scikit-learn's
        rule and default).
    max_iter : int, default 10000
        Coordinate-descent epochs.
    warm_start : bool, default False
        Start from the previous fit's coefficients (same number of features).

    Attributes
    ----------
    coef_ : ndarray (n_features,)
    intercept_ : float
    n_iter_ : int
    dual_gap_ : float
        The final duality gap, in the units of the cost above (divided by W).
    result_ : OptimizeResult of :func:`convq.optimize.lasso`
    n_features_in_ : int

    Example
    -------
    >>> import numpy as np
    >>> from convq.models import Lasso
    >>> X = np.random.default_rng(0).standard_normal((50, 5))
    >>> y = 3 * X[:, 0] + 1.0
    >>> est = Lasso(alpha=0.1).fit(X, y)
    >>> bool(abs(est.intercept_ - 1.0) < 0.1 and est.coef_[1:].max() < 0.1)
    True
    """

    def __init__(self, alpha=1.0, fit_intercept=True, tol=1e-4, max_iter=10000, warm_start=False):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    @fit_with_progress
    def fit(self, X, y, sample_weight=None):
        """Fit coef_ and intercept_; returns self. X may be scipy.sparse (never densified)."""
        alpha = check_positive(self.alpha, "alpha", allow_zero=True)
        tol = check_positive(self.tol, "tol")
        max_iter = check_int(self.max_iter, "max_iter", minimum=1)
        for name in ("fit_intercept", "warm_start"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {type(getattr(self, name)).__name__}")
        X, y = check_X_y(X, y, self, accept_sparse=True)
        y = check_regression_y(y)
        m, p = X.shape
        sw = check_sample_weight(sample_weight, m)
        w = np.ones(m) if sw is None else sw
        W, s = float(w.sum()), np.sqrt(w)
        icpt = bool(self.fit_intercept)
        ybar = float(w @ y) / W if icpt else 0.0
        b = s * (y - ybar)
        prev = (np.concatenate([self.coef_, [self.intercept_]]) if self.warm_start and
                getattr(self, "coef_", None) is not None and self.coef_.shape == (p,) else None)
        if is_sparse(X):
            sp = __import__("scipy.sparse", fromlist=["diags"])
            A = sp.diags(s) @ X
            kappa = 0.0
            if icpt:
                norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=0)).ravel())
                kappa = _KAPPA * max(float(norms.max(initial=0.0)), 1.0) / float(np.linalg.norm(s))
                A = sp.hstack([A, sp.csc_matrix(kappa * s[:, None])], format="csc")
            x0 = None if prev is None else (np.concatenate([prev[:p], [(prev[p] - ybar) / kappa]]) if icpt
                                            else prev[:p])
            # with the intercept column, the first solve only has to find the support (its gap
            # cannot go far below the column's rounding); the KKT system then gives the minimiser
            res = _lasso(A, b, alpha * W, "cd", x0=x0, tol=max(tol, 1e-10) if icpt else tol, max_iter=max_iter)
            theta = res.x[:p]
            t = ybar + kappa * res.x[p] if icpt else 0.0
            if icpt:
                theta, tt, exact = _kkt_polish(A[:, :p].tocsc(), s, b, alpha * W, theta)
                if exact:
                    t = ybar + tt
                    res.message += "; exact minimiser from the KKT system on the support"
                    res.success = True
                elif tol < 1e-10:
                    res = _lasso(A, b, alpha * W, "cd", x0=res.x, tol=tol, max_iter=max_iter)
                    theta, t = res.x[:p], ybar + kappa * res.x[p]
        else:
            xbar = w @ X / W if icpt else np.zeros(p)
            A = s[:, None] * (X - xbar) if (icpt or sw is not None) else X
            res = _lasso(A, b, alpha * W, "cd", x0=None if prev is None else prev[:p], tol=tol, max_iter=max_iter)
            theta = res.x
            t = ybar - float(xbar @ theta) if icpt else 0.0
        if not res.success:
            from .linear import ConvergenceWarning
            warnings.warn(f"Lasso: {res.message}; increase max_iter or tol, or scale the data", ConvergenceWarning,
                          stacklevel=3)
        self.coef_ = np.array(theta, dtype=np.float64)
        self.intercept_ = float(t)
        self.n_iter_ = int(res.nit)
        self.dual_gap_ = float(getattr(res, "gap", np.nan)) / W
        self.result_ = res
        return self

    def predict(self, X):
        """t + X theta."""
        check_fitted(self, "coef_")
        X = check_X(X, self, accept_sparse=True)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
