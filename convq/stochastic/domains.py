"""Convex domains for stochastic optimisation: exact Euclidean projections and the
mirror-descent step (Mayekar & Tyagi, Remarks 3 and 4).

Projections (C, ``csrc/stochastic/cq_domains.c``):

* :class:`Box` -- clipping;
* :class:`LpBall` -- p = inf: clipping; p = 2: scaling; p = 1: the sort-based l_1-ball
  projection of Duchi, Shalev-Shwartz, Singer and Chandra (2008), O(d log d); any other
  p in (1, inf): the KKT system z_i = sign(x_i) w_i, w_i + nu w_i^(p-1) = |x_i|,
  sum w_i^p = R^p, solved by bisection on nu with a safeguarded Newton step per
  coordinate (relative accuracy ~1e-14).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._lp import check_p
from .._spec import NO_DOMAIN, DomainSpec
from .._validation import as_float_array, as_vector, check_int, check_positive, check_real

__all__ = ["Box", "LpBall", "mirror_exponent", "mirror_step"]



def _check_p(p, name="p"):
    return float(check_p(p, name))


class LpBall:
    """The l_p ball {x : ||x||_p <= radius} centred at the origin, p in [1, inf].

    Parameters
    ----------
    p : float or "inf"
    radius : float > 0
    """

    def __init__(self, p, radius=1.0):
        self.p = _check_p(p)
        self.radius = check_positive(radius, "radius")

    def __repr__(self):
        return f"LpBall(p={self.p:g}, radius={self.radius:g})"

    @property
    def _c_spec(self):
        return DomainSpec(_core.DOM_LPBALL, p=self.p, radius=self.radius)

    def project(self, x) -> np.ndarray:
        """Euclidean projection argmin_{z in K} ||z - x||_2 (a new array)."""
        x = as_vector(x, "x")
        return _core._project(x, self._c_spec)

    def contains(self, x, rtol=1e-12) -> bool:
        x = as_vector(x, "x")
        return bool(np.linalg.norm(x, ord=self.p) <= self.radius * (1 + rtol))

    def diameter(self, d, norm=2.0) -> float:
        """sup ||x - y||_norm over the ball in dimension d: 2 R d^max(0, 1/norm - 1/p)."""
        norm = _check_p(norm, "norm")
        d = check_int(d, "d", minimum=1)
        expo = max(0.0, (0.0 if math.isinf(norm) else 1.0 / norm) - (0.0 if math.isinf(self.p) else 1.0 / self.p))
        return 2.0 * self.radius * float(d) ** expo


class Box:
    """The box {x : lo <= x <= hi} (lo, hi vectors, or scalars broadcast to `d`)."""

    def __init__(self, lo, hi, d=None):
        lo_arr = as_float_array(lo, "lo", ndim=(0, 1)).reshape(np.shape(lo))  # a scalar stays 0-d
        hi_arr = as_float_array(hi, "hi", ndim=(0, 1)).reshape(np.shape(hi))
        if d is not None:
            d = check_int(d, "d", minimum=1, maximum=2**40)
        if lo_arr.ndim == 0 and hi_arr.ndim == 0:
            if d is None:
                raise ValueError("Box with scalar bounds needs the dimension d")
            lo_arr = np.full(d, float(lo_arr))
            hi_arr = np.full(d, float(hi_arr))
        if lo_arr.ndim == 1 and hi_arr.ndim == 1 and lo_arr.size != hi_arr.size:
            raise ValueError(f"lo and hi must have the same length, got {lo_arr.size} and {hi_arr.size}")
        n = max(lo_arr.size if lo_arr.ndim else 1, hi_arr.size if hi_arr.ndim else 1)
        if d is not None and n != d and not (lo_arr.ndim == 0 and hi_arr.ndim == 0):
            raise ValueError(f"d = {d} differs from the length {n} of lo/hi")
        lo_arr = as_vector(np.broadcast_to(lo_arr, (n,)), "lo")
        hi_arr = as_vector(np.broadcast_to(hi_arr, (n,)), "hi")
        if np.any(lo_arr > hi_arr):
            i = int(np.flatnonzero(lo_arr > hi_arr)[0])
            raise ValueError(f"empty box: lo[{i}] = {lo_arr[i]} > hi[{i}] = {hi_arr[i]}")
        self.lo, self.hi = lo_arr, hi_arr

    def __repr__(self):
        return f"Box(d={self.lo.size}, lo in [{self.lo.min():g}, {self.lo.max():g}], hi in [{self.hi.min():g}, {self.hi.max():g}])"

    @property
    def _c_spec(self):
        return DomainSpec(_core.DOM_BOX, p=math.inf, radius=1.0, lo=self.lo, hi=self.hi)

    def project(self, x) -> np.ndarray:
        x = as_vector(x, "x", size=self.lo.size)
        return _core._project(x, self._c_spec)

    def contains(self, x, atol=0.0) -> bool:
        x = as_vector(x, "x", size=self.lo.size)
        return bool(np.all(x >= self.lo - atol) and np.all(x <= self.hi + atol))

    def diameter(self, d=None, norm=2.0) -> float:
        norm = _check_p(norm, "norm")
        return float(np.linalg.norm(self.hi - self.lo, ord=norm))


def mirror_exponent(p, d) -> float:
    """The exponent r = p' of the mirror map ||x||_r^2 / (2 (r-1)) used for the l_p
    geometry, p in [1, 2] (Remark 3): r = max(p, 1 + 1/ln d), so that the l_1 case gets the
    classical 1 + 1/ln d choice (the source of the sqrt(log d) factor of U(T, p))."""
    p = _check_p(p)
    if p > 2:
        raise ValueError(f"mirror descent is for p in [1, 2], got p={p}")
    d = check_int(d, "d", minimum=1)
    return max(p, 1.0 + 1.0 / math.log(max(d, 3)))


def mirror_step(x, g, r, eta, domain=None) -> np.ndarray:
    """One mirror-descent step with psi(x) = ||x||_r^2 / (2 (r-1)):

        theta = grad psi(x) - eta g,   x+ = argmin_{z in K} D_psi(z, grad psi^*(theta)).

    (Remark 3 writes the map as ||x||_{p'}^2/(p'-1); the factor 1/2 only rescales eta.)
    Supported domains: None, ``LpBall(r, R)`` (radial Bregman projection) and
    ``LpBall(1, R)`` (soft-thresholding in the dual plus a bisection).
    """
    x = as_vector(x, "x")
    g = as_vector(g, "g", size=x.size)
    r = check_real(r, "r")
    eta = check_positive(eta, "eta")
    if domain is None:
        spec = NO_DOMAIN
    elif isinstance(domain, LpBall):
        spec = domain._c_spec
    else:
        raise ValueError(f"domain must be an LpBall or None (mirror descent supports only those), got {domain!r}")
    return _core._mirror_step(x, g, r, eta, spec)
