"""The oracle constructions of Mayekar & Tyagi, section 6, as runnable problems.

Both use linear functions f_alpha(x) = c <alpha, x> with a sign vector alpha in
{-1, +1}^d, and unbiased oracles with ||g||_q <= B almost surely (assumption (2)):

* **Bernoulli product** (the second lower bound of Theorem 6.1, used for every p):
  independent coordinates g_i = +-B/d^(1/q) with P(+) = (1 + 2 delta alpha_i)/2, so
  c = 2 delta B / d^(1/q) and ||g||_q = B exactly. Dense outputs: quantizers have work.
* **Paninski type** (the first lower bound of Theorem 6.1): g = +-B e_i with
  probabilities (1 +- 2 delta alpha_i)/(2d), so c = 2 delta B / d. 1-sparse outputs.

The domain is the l_p ball of radius D/2 (l_p diameter D, as in the setup of section 2.1)
or, with ``domain="box"``, the paper's box ||x||_inf <= D/(2 d^(1/p)). The minimiser and
f* are known in closed form, so suboptimality is exact.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._lp import conjugate as _conjugate
from .._rng import as_generator
from .._spec import OracleSpec
from .._validation import as_float_array, check_int, check_positive
from .domains import Box, LpBall, _check_p

__all__ = ["LinearSignProblem", "bernoulli_product_problem", "paninski_problem"]

# the oracle kinds of the C list CQ_ORACLE_KINDS (csrc/stochastic/cq_oracles.h), exported by the binding
_KINDS = {"bernoulli": _core.ORACLE_BERNOULLI, "paninski": _core.ORACLE_PANINSKI}


class LinearSignProblem:
    """f(x) = c <alpha, x> over a domain, with a section-6 stochastic oracle.

    Attributes
    ----------
    kind : "bernoulli" or "paninski"
    d, p, q : dimension, geometry exponent and its Hoelder conjugate
    B : almost-sure bound on ||g||_q;  D : l_p diameter of the domain;  delta : bias
    alpha : the sign vector;  c : the gradient scale (grad f = c alpha)
    domain : LpBall or Box;  x_star, f_star : a minimiser and the minimum
    """

    def __init__(self, kind, d, p, B, D, delta, alpha, domain="ball"):
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
        self.kind = kind
        self.d = check_int(d, "d", minimum=1)
        self.p = _check_p(p)
        self.q = _conjugate(self.p)
        self.B = check_positive(B, "B")
        self.D = check_positive(D, "D")
        self.delta = check_positive(delta, "delta")
        if self.delta > 0.5:
            raise ValueError(f"delta must be in (0, 1/2], got {delta}")
        alpha = as_float_array(alpha, "alpha", ndim=1)
        if alpha.shape != (self.d,) or not np.all(np.abs(alpha) == 1):
            raise ValueError(f"alpha must be a sign vector of length {self.d}")
        self.alpha = np.ascontiguousarray(alpha)
        inv_q = 0.0 if math.isinf(self.q) else 1.0 / self.q
        inv_p = 0.0 if math.isinf(self.p) else 1.0 / self.p
        self._scale = self.B / self.d ** inv_q if kind == "bernoulli" else self.B
        self.c = 2.0 * self.delta * (self._scale if kind == "bernoulli" else self.B / self.d)
        if domain == "ball":
            R = self.D / 2.0
            self.domain = LpBall(self.p, R)
            if self.p == 1.0:
                self.x_star = np.zeros(self.d)
                self.x_star[0] = -R * self.alpha[0]
            else:
                self.x_star = -R * self.alpha / self.d ** inv_p
        elif domain == "box":
            h = self.D / (2.0 * self.d ** inv_p)
            self.domain = Box(-h, h, d=self.d)
            self.x_star = -h * self.alpha
        else:
            raise ValueError(f"domain must be 'ball' or 'box', got {domain!r}")
        self.f_star = self.value(self.x_star)

    def __repr__(self):
        return (f"LinearSignProblem(kind={self.kind!r}, d={self.d}, p={self.p:g}, B={self.B:g}, "
                f"D={self.D:g}, delta={self.delta:g}, domain={self.domain!r})")

    @property
    def q_bound(self) -> float:
        """Almost-sure bound on ||g||_q (assumption (2))."""
        return self.B

    @property
    def _c_spec(self):
        """How the C loop draws from this oracle (csrc/stochastic/cq_oracles.h)."""
        return OracleSpec(_KINDS[self.kind], alpha=self.alpha, scale=self._scale, delta=self.delta)

    def value(self, x) -> np.ndarray | float:
        """f(x) for a point (d,) or each row of (n, d)."""
        x = np.asarray(x, dtype=float)
        v = self.c * (x @ self.alpha)
        return float(v) if np.ndim(v) == 0 else v

    def suboptimality(self, x):
        """f(x) - f* for a point or each row."""
        return self.value(x) - self.f_star

    def grad(self, x=None) -> np.ndarray:
        """The true gradient c alpha (the oracle's mean)."""
        return self.c * self.alpha

    def sample(self, x=None, n=None, rng=None) -> np.ndarray:
        """Oracle output(s) at x (the linear f makes them independent of x): shape (d,)
        or (n, d)."""
        gen = as_generator(rng)
        m = 1 if n is None else check_int(n, "n", minimum=0)
        out = _core._oracle_draw(self._c_spec, np.zeros(self.d), gen, m)
        return out[0] if n is None else out


def _problem(kind, d, p, B, D, delta, domain, rng):
    gen = as_generator(rng)
    d = check_int(d, "d", minimum=1)
    alpha = gen.choice([-1.0, 1.0], size=d)
    return LinearSignProblem(kind, d, p, B, D, delta, alpha, domain)


def bernoulli_product_problem(d, p, B=1.0, D=1.0, delta=0.25, domain="ball", rng=None) -> LinearSignProblem:
    """Section 6's Bernoulli-product construction with a random sign vector alpha."""
    return _problem("bernoulli", d, p, B, D, delta, domain, rng)


def paninski_problem(d, p, B=1.0, D=1.0, delta=0.25, domain="ball", rng=None) -> LinearSignProblem:
    """Section 6's Paninski-type construction (1-sparse oracle outputs)."""
    return _problem("paninski", d, p, B, D, delta, domain, rng)
