r"""Log-concave densities for :mod:`convq.sampling`, given by :math:`\log F` (unnormalised):
:class:`Uniform`, :class:`Gaussian`, :class:`ExpNorm` (the examples :math:`e^{-c|x|}` and
:math:`e^{-c|x|^2}` of A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling
from log-concave distributions"), :class:`LogisticPosterior` and :class:`LogDensity`
(a Python callable).

``logpdf`` and ``grad`` are NumPy. The built-in densities also describe themselves to
the C kernel (``_c_dens``: a :class:`convq._spec.DensitySpec`, a kind from the constants
``convq._core`` exports and the arrays), which evaluates :math:`\log F` incrementally along axis moves.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._spec import DensitySpec
from .._validation import as_float_array, as_matrix, as_vector, check_int, check_positive
from ._checks import DENS_EXPNORM, DENS_GAUSS, DENS_LOGISTIC, DENS_UNIFORM, _check_flag, _fmt_vec

__all__ = ["Uniform", "Gaussian", "ExpNorm", "LogisticPosterior", "LogDensity"]


class _Density:
    dim = None  # None: any dimension

    def _check_dim(self, n):
        if self.dim is not None and self.dim != n:
            raise ValueError(f"dimension mismatch: {self!r} has n={self.dim}, the body has n={n}")

    def _points_in(self, x, name="x"):
        """``x`` as a finite (k, n) float array (a single point (n,) becomes one row)."""
        x = as_float_array(x, name, ndim=(1, 2))
        x = x[None, :] if x.ndim == 1 else x
        if self.dim is not None and x.shape[1] != self.dim:
            raise ValueError(f"{name} must have {self.dim} columns (the density's dimension), got shape {x.shape}")
        return x

    def logpdf(self, x):
        """Unnormalised log F at each row of ``x`` (NumPy)."""
        raise NotImplementedError

    def grad(self, x):
        """Gradient (a supergradient where not differentiable) of log F at each row."""
        raise NotImplementedError

    def _c_dens(self, n):
        raise NotImplementedError


class Uniform(_Density):
    """The uniform density F = 1 on K (log F = 0)."""

    def logpdf(self, x):
        x = self._points_in(x)
        return np.zeros(len(x))

    def grad(self, x):
        return np.zeros_like(self._points_in(x))

    def _c_dens(self, n):
        return DensitySpec(kind=DENS_UNIFORM, n=n)

    def __repr__(self):
        return "Uniform()"


class Gaussian(_Density):
    r"""The Gaussian :math:`\log F(x) = -\tfrac12 (x - \mu)^\top P (x - \mu)`.

    Give ``cov`` or ``precision`` (P = cov^{-1}), or neither for the identity. An axis
    move costs O(1) from the cached :math:`g = P(x - \mu)` (O(n) more when accepted).
    """

    def __init__(self, mean, cov=None, precision=None):
        mean = as_vector(mean, "mean")
        n = mean.size
        if cov is not None and precision is not None:
            raise ValueError("give cov or precision, not both")
        if cov is None and precision is None:
            P = np.eye(n)
        else:
            name = "cov" if cov is not None else "precision"
            M = as_matrix(cov if cov is not None else precision, name, rows=n, cols=n)
            if not np.allclose(M, M.T, rtol=1e-10, atol=1e-12 * np.abs(M).max()):
                raise ValueError(f"{name} must be symmetric")
            try:
                np.linalg.cholesky(M)
            except np.linalg.LinAlgError:
                raise ValueError(f"{name} must be positive definite") from None
            M = 0.5 * (M + M.T)
            P = np.linalg.inv(M) if cov is not None else M
            P = 0.5 * (P + P.T)
        self.dim = n
        self.mean = mean
        self.precision = np.ascontiguousarray(P)
        self._diag = bool(np.count_nonzero(P - np.diag(np.diag(P))) == 0)

    @property
    def cov(self):
        return np.linalg.inv(self.precision)

    def logpdf(self, x):
        d = self._points_in(x) - self.mean
        return -0.5 * np.einsum("ij,ij->i", d @ self.precision, d)

    def grad(self, x):
        d = self._points_in(x) - self.mean
        return -(d @ self.precision)

    def _c_dens(self, n):
        return DensitySpec(kind=DENS_GAUSS, n=n, mean=self.mean, prec=None if self._diag else self.precision,
                           prec_diag=np.ascontiguousarray(np.diag(self.precision)))

    def __repr__(self):
        return f"Gaussian(mean={_fmt_vec(self.mean)}, {'diagonal' if self._diag else 'dense'} precision, n={self.dim})"


class ExpNorm(_Density):
    r"""The paper's examples :math:`F(x) = e^{-c|x|}` (``power=1``) and
    :math:`F(x) = e^{-c|x|^2}` (``power=2``), Euclidean norm; any dimension."""

    def __init__(self, c, power=1):
        self.c = check_positive(c, "c")
        if isinstance(power, (bool, np.bool_)) or not isinstance(power, numbers.Real):
            raise TypeError(f"power must be the number 1 or 2, got {type(power).__name__}")
        if power not in (1, 2):
            raise ValueError(f"power must be 1 or 2, got {power!r}")
        self.power = int(power)

    def logpdf(self, x):
        r = np.linalg.norm(self._points_in(x), axis=1)
        return -self.c * r ** self.power

    def grad(self, x):
        x = self._points_in(x)
        if self.power == 2:
            return -2 * self.c * x
        r = np.linalg.norm(x, axis=1, keepdims=True)
        return -self.c * np.divide(x, r, out=np.zeros_like(x), where=r > 0)

    def _c_dens(self, n):
        return DensitySpec(kind=DENS_EXPNORM, n=n, c=self.c, power=self.power)

    def __repr__(self):
        return f"ExpNorm(c={self.c:.4g}, power={self.power})"


class LogisticPosterior(_Density):
    r"""Bayesian logistic regression posterior over :math:`\theta`:

    .. math:: \log F(\theta) = \sum_i \bigl[y_i z_i - \log(1 + e^{z_i})\bigr]
              - \tfrac12 \theta^\top \Lambda \theta, \qquad z = X\theta,

    labels :math:`y_i \in \{0, 1\}` (``{-1, +1}`` is mapped to ``{0, 1}``); the prior
    precision :math:`\Lambda` is a scalar, a vector (diagonal) or a matrix. An axis move
    costs O(N) from the cached :math:`z = X\theta`.
    """

    def __init__(self, X, y, prior_precision=1.0):
        X = as_matrix(X, "X")
        yv = as_vector(y, "y", size=X.shape[0])
        labels = set(np.unique(yv).tolist())
        if labels <= {0.0, 1.0}:
            pass
        elif labels <= {-1.0, 1.0}:
            yv = (yv > 0).astype(float)
        else:
            raise ValueError(f"y must hold labels in {{0, 1}} or {{-1, +1}}, got values {sorted(labels)[:5]}")
        n = X.shape[1]
        if isinstance(prior_precision, numbers.Real):
            pp = np.float64(check_positive(prior_precision, "prior_precision"))
        else:
            pp = as_float_array(prior_precision, "prior_precision", ndim=(0, 1, 2))
        if pp.ndim == 0:
            L = np.eye(n) * check_positive(float(pp), "prior_precision")
        elif pp.ndim == 1:
            pp = as_vector(pp, "prior_precision", size=n)
            if np.any(pp <= 0):
                raise ValueError("prior_precision entries must be > 0")
            L = np.diag(pp)
        else:
            L = as_matrix(pp, "prior_precision", rows=n, cols=n)
            try:
                np.linalg.cholesky(0.5 * (L + L.T))
            except np.linalg.LinAlgError:
                raise ValueError("prior_precision must be positive definite") from None
            L = 0.5 * (L + L.T)
        self.dim = n
        self.X, self.y, self.prior_precision = X, yv, np.ascontiguousarray(L)
        self._diag = bool(np.count_nonzero(L - np.diag(np.diag(L))) == 0)

    def logpdf(self, x):
        t = self._points_in(x)
        z = t @ self.X.T
        ll = np.sum(self.y * z - np.logaddexp(0.0, z), axis=1)
        return ll - 0.5 * np.einsum("ij,ij->i", t @ self.prior_precision, t)

    def grad(self, x):
        t = self._points_in(x)
        z = t @ self.X.T
        return (self.y - 0.5 * (1 + np.tanh(0.5 * z))) @ self.X - t @ self.prior_precision

    def _c_dens(self, n):
        return DensitySpec(kind=DENS_LOGISTIC, n=n, prec=None if self._diag else self.prior_precision,
                           prec_diag=np.ascontiguousarray(np.diag(self.prior_precision)),
                           X=self.X, XT=np.ascontiguousarray(self.X.T), y=self.y)

    def __repr__(self):
        return f"LogisticPosterior(N={self.X.shape[0]}, n={self.dim})"


def _numbers(out, label, at, expected, what):
    """A user function's result ``out`` as an array of real numbers: TypeError for None, a
    string or a non-numeric dtype, ValueError when NumPy cannot read it; the message names
    the function (``label``), the point(s) (``at``) and what was expected."""
    if out is None or isinstance(out, (str, bytes)):
        raise TypeError(f"{label} returned {type(out).__name__} {at}; expected {expected}")
    try:
        arr = np.asarray(out)
    except Exception as exc:
        raise ValueError(f"{label} returned a value that is not {what}: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{label} returned {type(out).__name__} of dtype {arr.dtype} {at}; expected {expected}")
    return arr


class LogDensity(_Density):
    r"""A user log-density :math:`\log F` given as a Python callable.

    ``fun`` receives a ``(k, n)`` array of points and returns ``k`` values of log F
    (``vectorized=True``, the default), or one point at a time (``vectorized=False``).
    Walks with a callable run in NumPy, vectorised over the chains: all chains advance
    one proposal at a time and ``fun`` is called **once per step** on the batch of
    proposals, never once per chain-step. They use ``rng`` directly (one stream), so
    they are reproducible for a seed but slower than the C built-ins. ``-inf`` means
    F = 0 (the proposal is rejected); ``+inf`` or NaN raise ``ValueError``.
    ``grad`` (optional, same calling convention) gives the envelope of the rejection
    step of ``grid_walk(refine=True)``, which refuses a LogDensity without it. The walks assume
    log F concave: at set-up they test it on a few chords of the body, within the call
    at the start points, and warn with :class:`convq.NotLogConcaveWarning` when it fails
    (:func:`convq.convexity.check_log_concave` runs the same test on more chords).
    """

    def __init__(self, fun, dim=None, grad=None, vectorized=True):
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        if grad is not None and not callable(grad):
            raise TypeError(f"grad must be callable or None, got {type(grad).__name__}")
        self.fun, self._grad, self.vectorized = fun, grad, _check_flag(vectorized, "vectorized")
        self.dim = None if dim is None else check_int(dim, "dim", minimum=1)
        self.n_calls = 0

    def _label(self, which="fun"):
        f = self.fun if which == "fun" else self._grad
        return f"LogDensity {which} {getattr(f, '__qualname__', None) or type(f).__name__}"

    def _batch_values(self, out, x, which):
        """The vectorised result for the (k, n) batch ``x``: k real numbers."""
        k = len(x)
        label = self._label(which)
        arr = _numbers(out, label, f"for a ({k}, {x.shape[1]}) array of points", f"{k} real values (one per row)",
                       "an array of numbers")
        if arr.ndim == 0:
            raise ValueError(f"{label} returned a scalar ({type(out).__name__} {arr.item()!r}) for a "
                             f"({k}, {x.shape[1]}) array of points; with vectorized=True it must return one value "
                             f"per row, an array of shape ({k},); pass vectorized=False for a function of one point")
        arr = arr.astype(float).reshape(-1)
        if arr.shape != (k,):
            raise ValueError(f"{label}: the log-density returned {arr.size} values for {k} points "
                             f"(shape {np.shape(out)}; expected one value per row of a ({k}, n) array)")
        return arr

    def _point_value(self, v, row):
        """The result of a one-point call: one real number."""
        label = self._label()
        arr = _numbers(v, label, f"at x={_fmt_vec(row)}", "a real number", "a number")
        if arr.size != 1:
            raise ValueError(f"{label} returned an array of shape {arr.shape} at the point x={_fmt_vec(row)}; "
                             "with vectorized=False it must return one real number per point (use "
                             "vectorized=True for a function of a (k, n) batch)")
        return float(arr.reshape(-1)[0])

    def logpdf(self, x):
        x = self._points_in(x)
        self.n_calls += 1
        if self.vectorized:
            out = self._batch_values(self.fun(x), x, "fun")
        else:
            out = np.array([self._point_value(self.fun(row), row) for row in x], dtype=float).reshape(-1)
        bad = np.isnan(out) | (out == np.inf)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"the log-density returned {out[i]} at x={_fmt_vec(x[i])}; "
                             "expected a finite value or -inf (F = 0)")
        return out

    def grad(self, x):
        if self._grad is None:
            return None
        x = self._points_in(x)
        g = self._grad(x) if self.vectorized else [self._grad(r) for r in x]
        label = self._label("grad")
        g = _numbers(g, label, f"for points of shape {x.shape}", f"real numbers of shape {x.shape}",
                     "an array of numbers")
        if g.size != x.size:
            raise ValueError(f"{label} returned shape {g.shape} for points of shape {x.shape}; expected one gradient "
                             "(n values) per point")
        g = g.astype(float).reshape(x.shape)
        if not np.all(np.isfinite(g)):
            raise ValueError(f"{label} returned a non-finite gradient")
        return g

    def __repr__(self):
        name = getattr(self.fun, "__name__", type(self.fun).__name__)
        return f"LogDensity({name}, n={self.dim}, vectorized={self.vectorized})"
