"""Stochastic first-order oracles over convq objectives, with almost-surely bounded
outputs (Mayekar & Tyagi, assumptions (1) and (2)): E[g | x] = grad f(x) and
||g||_q <= B surely.

* :class:`MinibatchOracle` -- the gradient on `batch` rows drawn i.i.d. uniformly, rescaled
  so that it is an unbiased estimate of the full-data gradient; its bound B is COMPUTED
  from the data and the domain (see :meth:`MinibatchOracle.bound`), not assumed.
* :class:`NoisyOracle` -- the full gradient plus uniform noise on [-noise, noise] per
  coordinate; a draw whose l_q norm exceeds B is refused with ValueError (never silently
  passed to a quantizer whose guarantees need the bound).

And one oracle of the more general model of Remark 1, bounded in mean square only:

* :class:`MeanSquareOracle` -- the full gradient plus heavy-tailed (Student t) noise:
  E[g | x] = grad f(x) and E[||g||_q^2 | x] <= B^2, but no almost-sure bound. Quantize its
  outputs with a gain-shape quantizer (:class:`convq.quantize.GainShape` with an
  :class:`convq.quantize.AGUQ` gain, section 7).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._lp import conjugate as _conj
from .._rng import as_generator
from .._spec import OracleSpec
from .._validation import as_float_array, as_vector, check_int, check_positive, check_real, is_sparse
from .domains import Box, LpBall, _check_p

__all__ = ["MinibatchOracle", "NoisyOracle", "MeanSquareOracle"]

# objective kinds: the C enum cq_obj_kind, exported by the binding (never re-typed)
_LSQ, _LOGI, _HINGE, _LASSO = _core.OBJ_LEASTSQ, _core.OBJ_LOGISTIC, _core.OBJ_HINGE, _core.OBJ_LASSO


def _row_norms(X, order, intercept):
    """||a_i||_order of every row a_i of X (dense or CSR), a_i = (1, x_i) with an intercept."""
    if not is_sparse(X):
        rows = np.hstack([np.ones((X.shape[0], 1)), X]) if intercept else X
        return np.linalg.norm(rows, ord=order, axis=1)
    A = abs(X)   # CSR, as the objective keeps X
    if math.isinf(order):
        r = np.asarray(A.max(axis=1).toarray()).ravel()
        return np.maximum(r, 1.0) if intercept else r
    r = np.asarray(A.power(order).sum(axis=1)).ravel()
    return (r + 1.0 if intercept else r) ** (1.0 / order)


def _max_norm_over(domain, order, d):
    """max_{x in K} ||x||_order."""
    if isinstance(domain, LpBall):
        inv_o = 0.0 if math.isinf(order) else 1.0 / order
        inv_p = 0.0 if math.isinf(domain.p) else 1.0 / domain.p
        return domain.radius * float(d) ** max(0.0, inv_o - inv_p)
    if isinstance(domain, Box):
        return float(np.linalg.norm(np.maximum(np.abs(domain.lo), np.abs(domain.hi)), ord=order))
    raise ValueError("this bound needs a bounded domain (an LpBall or a Box)")


def _max_abs_inner(domain, X, intercept):
    """max_{x in K} |<a_i, x>| for each row a_i (as in _row_norms): Hoelder for balls, exact
    for boxes."""
    if isinstance(domain, LpBall):
        return domain.radius * _row_norms(X, _conj(domain.p), intercept)
    if isinstance(domain, Box):
        c = np.maximum(np.abs(domain.lo), np.abs(domain.hi))  # the box's largest |x_j|, one per coordinate
        if intercept:
            return c[0] + np.asarray(abs(X) @ c[1:]).ravel()
        return np.asarray(abs(X) @ c).ravel()
    raise ValueError("this bound needs a bounded domain (an LpBall or a Box)")


class _ObjectiveOracle:
    def __init__(self, objective, p, domain, f_star):
        spec = getattr(objective, "_c_spec", None)
        if spec is None or spec.kind not in (_LSQ, _LOGI, _HINGE, _LASSO):
            raise TypeError(f"{type(self).__name__} needs a convq LeastSquares, Logistic, Hinge or Lasso objective, "
                            f"got {type(objective).__name__}")
        if getattr(objective, "sample_weight", None) is not None:
            raise ValueError(f"objective: {type(self).__name__} samples rows uniformly and takes no sample weights "
                             "(build the objective without sample_weight)")
        self.objective = objective
        self.p = _check_p(p)
        self.q = _conj(self.p)
        self.domain = domain
        self.d = int(objective.dim)
        if domain is not None and not isinstance(domain, (LpBall, Box)):
            raise TypeError(f"domain must be an LpBall, a Box or None, got {type(domain).__name__}")
        if f_star is not None:
            self.f_star = check_real(f_star, "f_star")

    def value(self, x):
        """f at a point (d,) or at each row of (n, d)."""
        x = as_float_array(x, "x", ndim=(1, 2))
        if x.shape[-1] != self.d:
            raise ValueError(f"x must have {self.d} entries (per row), got shape {x.shape}")
        if x.ndim == 1:
            return self.objective.value(x)
        return np.array([self.objective.value(row) for row in x])

    def sample(self, x, rng=None, n=None):
        """One draw (d,) at x, or n draws (n, d)."""
        x = as_vector(x, "x", size=self.d)
        n_draws = 1 if n is None else check_int(n, "n", minimum=1, maximum=2**40)
        gen = as_generator(rng)
        out = _core._oracle_draw(self._c_spec, x, gen, n_draws)
        return out[0] if n is None else out


class MinibatchOracle(_ObjectiveOracle):
    """Unbiased minibatch gradients of a convq objective.

    g(x) = s * (grad_batch f(x) - grad_batch penalty(x)) + grad penalty(x), with the
    batch rows drawn i.i.d. uniformly and s = 1 for the mean-type losses (LeastSquares,
    Logistic) or m / batch for the sum-type losses (Hinge, Lasso), so E[g] = grad f(x)
    for the full-data cost of the objective.

    Parameters
    ----------
    objective : convq.objectives.LeastSquares, Logistic, Hinge or Lasso, X dense or scipy.sparse
        (a minibatch then costs O(nnz of its rows), and the bound is computed from the stored
        entries)
    batch : int >= 1
    p : geometry exponent (the oracle bound is on the l_q norm, q = p/(p-1)), default 2
    domain : LpBall or Box; needed for the bound where the gradient grows with x
    f_star : optional optimal value, used for suboptimality traces

    Attributes
    ----------
    q_bound : the computed almost-sure bound B on ||g||_q (see :meth:`bound`).
    """

    def __init__(self, objective, batch, p=2.0, domain=None, f_star=None):
        super().__init__(objective, p, domain, f_star)
        self.batch = check_int(batch, "batch", minimum=1)
        self.q_bound = self.bound()

    def __repr__(self):
        return (f"MinibatchOracle({self.objective!r}, batch={self.batch}, p={self.p:g}, "
                f"q_bound={self.q_bound:.4g})")

    @property
    def _c_spec(self):
        return OracleSpec(_core.ORACLE_MINIBATCH, objective=self.objective._c_spec, batch=self.batch)

    def bound(self) -> float:
        """The almost-sure bound on ||g||_q, computed from the data:

        * Logistic: |h - y| <= 1, so ||g||_q <= max_i ||a_i||_q + (lam/m) max_K ||theta_r||_q,
          a_i = (1, x_i) with an intercept, else x_i;
        * LeastSquares: |a_i'theta - y_i| <= max_K |a_i'theta| + |y_i| (Hoelder over the
          domain), so ||g||_q <= max_i (max_K |a_i'theta| + |y_i|) ||a_i||_q + penalty term;
        * Hinge: each subgradient term is at most k ||a_i||_q, times C m (the sum over m
          rows), plus max_K ||theta_r||_q;
        * Lasso: ||a_i||_q (max_K |a_i'x| + |b_i|) m + mu d^(1/q).
        """
        obj = self.objective
        kind = obj._c_spec.kind
        X = obj.X if kind != _LASSO else obj.A
        icpt = bool(getattr(obj, "intercept", False))
        rn = _row_norms(X, self.q, icpt)
        m, d = X.shape[0], self.d

        def theta_r_max():
            if self.domain is None:
                raise ValueError(f"the oracle bound of {type(obj).__name__} with a penalty needs a bounded domain")
            return _max_norm_over(self.domain, self.q, d)

        if kind == _LOGI:
            return float(rn.max() + (obj.lam / m * theta_r_max() if obj.lam > 0 else 0.0))
        if kind == _LSQ:
            if self.domain is None:
                raise ValueError("the oracle bound of LeastSquares needs a bounded domain (residuals grow with x)")
            y = obj.y
            return float(np.max((_max_abs_inner(self.domain, X, icpt) + np.abs(y)) * rn)
                         + (obj.lam / m * theta_r_max() if obj.lam > 0 else 0.0))
        if kind == _HINGE:
            return float(obj.C * obj.slope * m * rn.max() + theta_r_max())
        # Lasso: f = 1/2 ||Ax - b||^2 + mu ||x||_1 (sum over rows)
        if self.domain is None:
            raise ValueError("the oracle bound of Lasso needs a bounded domain")
        l1_sub = float(d) ** (0.0 if math.isinf(self.q) else 1.0 / self.q)  # ||sign(x)||_q <= d^(1/q)
        return float(m * np.max((_max_abs_inner(self.domain, X, icpt) + np.abs(obj.b)) * rn) + obj.mu * l1_sub)


class NoisyOracle(_ObjectiveOracle):
    """g(x) = grad f(x) + u, u_j i.i.d. uniform on [-noise, noise], with ||g||_q <= B
    enforced on every draw (ValueError otherwise).

    Parameters
    ----------
    objective : a convq objective with data (LeastSquares, Logistic, Hinge, Lasso), X dense or
        scipy.sparse
    noise : float >= 0, half-width of the uniform noise
    B : float > 0, the almost-sure bound on ||g||_q
    p : geometry exponent (q = p/(p-1)), default 2
    domain, f_star : as for :class:`MinibatchOracle`
    """

    def __init__(self, objective, noise, B, p=2.0, domain=None, f_star=None):
        super().__init__(objective, p, domain, f_star)
        self.noise = check_positive(noise, "noise", allow_zero=True)
        self.B = check_positive(B, "B")
        self.q_bound = self.B

    def __repr__(self):
        return f"NoisyOracle({self.objective!r}, noise={self.noise:g}, B={self.B:g}, p={self.p:g})"

    @property
    def _c_spec(self):
        return OracleSpec(_core.ORACLE_NOISY, objective=self.objective._c_spec, noise=self.noise, B=self.B, q=self.q)


class MeanSquareOracle(_ObjectiveOracle):
    r"""A stochastic gradient oracle bounded in mean square only (Mayekar & Tyagi, Remark 1):

    .. math::

        g(x) = \nabla f(x) + \sigma \sqrt{(\nu - 2)/\nu}\; \xi, \qquad
        \xi_j \ \text{i.i.d. Student } t_\nu,

    so :math:`E[g \mid x] = \nabla f(x)`, each noise coordinate has variance
    :math:`\sigma^2` (``noise``) and :math:`E\|g - \nabla f(x)\|_2^2 = \sigma^2 d` exactly,
    while for :math:`\nu \le 4` the noise has no fourth moment and no draw is bounded:
    there is no almost-sure bound on :math:`\|g\|_q`. The mean-square bound is

    .. math::

        \sqrt{E[\|g(x)\|_q^2 \mid x]} \le G + c_q\, \sigma \sqrt d = B, \qquad
        c_q = d^{\max(0,\, 1/q - 1/2)},

    by Minkowski's inequality in :math:`L^2`, with G the almost-sure bound of
    :class:`MinibatchOracle` (objective, batch=1) (a bound on every minibatch gradient,
    hence on their mean, the full gradient, over the domain) and
    :math:`\|v\|_q \le c_q \|v\|_2`.

    Parameters
    ----------
    objective : convq.objectives.LeastSquares, Logistic, Hinge or Lasso
    noise : float >= 0, the standard deviation sigma of each noise coordinate
    df : float > 2, the degrees of freedom nu of the t noise (default 3: heavy-tailed)
    p : geometry exponent (the bound is on the l_q norm, q = p/(p-1)), default 2
    domain, f_star : as for :class:`MinibatchOracle` (the bound G may need the domain)

    Attributes
    ----------
    B : the mean-square bound above;  G : its gradient part
    """

    def __init__(self, objective, noise, df=3.0, p=2.0, domain=None, f_star=None):
        super().__init__(objective, p, domain, f_star)
        self.noise = check_positive(noise, "noise", allow_zero=True)
        self.df = check_real(df, "df")
        if not self.df > 2.0:
            raise ValueError(f"df must be > 2 (the noise needs a finite variance), got {self.df!r}")
        self.G = MinibatchOracle(objective, 1, p=p, domain=domain).q_bound
        c_q = float(self.d) ** max(0.0, (0.0 if math.isinf(self.q) else 1.0 / self.q) - 0.5)
        self.B = self.G + c_q * self.noise * math.sqrt(self.d)

    def __repr__(self):
        return (f"MeanSquareOracle({self.objective!r}, noise={self.noise:g}, df={self.df:g}, p={self.p:g}, "
                f"B={self.B:.4g})")

    def sample(self, x, rng=None, n=None):
        """One draw (d,) at x, or n draws (n, d): the gradient, then the noise from ``rng``."""
        x = as_vector(x, "x", size=self.d)
        n_draws = 1 if n is None else check_int(n, "n", minimum=1, maximum=2**40)
        gen = as_generator(rng)
        grad = self.objective.grad(x)
        scale = self.noise * math.sqrt((self.df - 2.0) / self.df)
        out = grad + scale * gen.standard_t(self.df, size=(n_draws, self.d))
        return out[0] if n is None else out
