r"""Sampling log-concave densities over convex bodies.

Seed: *frieze-kannan-log-sobolev-sampling* (A. Frieze and R. Kannan, "Log-Sobolev
inequalities and sampling from log-concave distributions"), section 1 (the
discretisation, the random walk, its transition probabilities and stationary law,
Theorem 1) and the ball walk at the end of the paper. Design: ALGORITHMS.md section 4.

Space is cut into cubes of side :math:`\delta` centred on :math:`\delta\mathbb Z^n +
\mathrm{offset}`; :math:`C` is the set of centres whose cube meets the body :math:`K`.
The *grid walk* proposes :math:`y = x \pm \delta e_j` and moves with probability
:math:`\min(1, F(y)/F(x))`, so

.. math:: P(x, y) = \frac{1}{2n}\min\Bigl(1, \frac{F(y)}{F(x)}\Bigr),\quad y \in G(x),
          \qquad \pi(x) = F(x) / \textstyle\sum_{z\in C} F(z).

Everything runs in the C core (``csrc/sampling/cq_sampling.c``): many chains at once, one
spawned random stream per chain, all cores, identical results for any thread count.

Bodies: :class:`Box`, :class:`Ball`, :class:`Polytope`, :func:`intersect`.
Densities (:math:`\log F`): :class:`Gaussian`, :class:`ExpNorm`, :class:`Uniform`,
:class:`LogisticPosterior`, :class:`LogDensity` (a Python callable).
Walks: :func:`grid_walk`, :func:`ball_walk`, :func:`hit_and_run` -> :class:`Chain`.
Diagnostics: :func:`exact_grid_distribution`, :func:`tv_distance`,
:func:`transition_matrix`, :func:`spectral_gap`, :func:`ess`, :func:`rhat`,
:func:`theorem1_bound`.
"""
from __future__ import annotations

import math
import numbers
import os
import warnings

import numpy as np

from . import _core
from ._optional import import_optional
from ._rng import as_generator, spawn
from ._validation import (as_float_array, as_matrix, as_vector, check_int, check_positive, check_real,
                          check_threads)

__all__ = [
    "Box", "Ball", "Polytope", "Intersection", "intersect",
    "Gaussian", "ExpNorm", "Uniform", "LogisticPosterior", "LogDensity",
    "Chain", "grid_walk", "ball_walk", "hit_and_run",
    "GridDistribution", "exact_grid_distribution", "tv_distance", "transition_matrix",
    "spectral_gap", "ess", "rhat", "theorem1_bound",
]

_WALK_GRID, _WALK_BALL, _WALK_HAR_COORD, _WALK_HAR_DIR = 0, 1, 2, 3


def _fmt_vec(v, k=4):
    v = np.asarray(v)
    if v.size <= k:
        return np.array2string(v, precision=4, separator=", ")
    return "[" + ", ".join(f"{x:.4g}" for x in v[:k]) + f", ...] (n={v.size})"


# ===================================================================== bodies ========

class _Body:
    r"""A convex body :math:`K = \text{box} \cap \text{balls} \cap \{x : Ax \le b\}`.

    Subclasses fill the parts; every body offers :meth:`contains`, :meth:`grid_contains`
    (the cube-meets-body test defining the grid set :math:`C`), :meth:`start_point`
    and :meth:`bounding_box`.
    """

    def _init_parts(self, n, lo=None, hi=None, centers=None, radii=None, A=None, b=None):
        self.dim = int(n)
        self._lo = lo
        self._hi = hi
        self._centers = np.zeros((0, n)) if centers is None else np.ascontiguousarray(centers, dtype=float)
        self._radii = np.zeros(0) if radii is None else np.ascontiguousarray(radii, dtype=float)
        self._A = np.zeros((0, n)) if A is None else np.ascontiguousarray(A, dtype=float)
        self._b = np.zeros(0) if b is None else np.ascontiguousarray(b, dtype=float)
        self._AT = np.ascontiguousarray(self._A.T)
        self._start = None
        self._bbox = None

    @property
    def exact_cube(self) -> bool:
        """True when the grid set uses the exact cube-meets-body test (a lone box or a
        lone ball); otherwise the grid set is the centres lying in K (the centre test)."""
        n_parts = (self._lo is not None) + len(self._radii) + (len(self._b) > 0)
        return n_parts == 1 and len(self._b) == 0

    def _usable(self):
        """Raise if the body cannot be sampled (overridden by unbounded half-space sets)."""

    def _c_body(self):
        return (self._lo, self._hi, self._centers, self._radii, self._A, self._AT, self._b, int(self.exact_cube))

    def _points(self, x, name="x"):
        x = as_float_array(x, name, ndim=(1, 2))
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[1] != self.dim:
            raise ValueError(f"{name} must have {self.dim} columns (the body's dimension), got shape {x.shape}")
        return x

    def contains(self, x):
        """Membership of each point (rows of ``x``; a single point (n,) gives a bool) in
        the closed body K."""
        single = np.ndim(x) == 1
        return self._contains(self._points(x), single)

    def _contains(self, x, single=False):
        ok = np.ones(len(x), bool)
        if self._lo is not None:
            ok &= np.all((x >= self._lo) & (x <= self._hi), axis=1)
        for c, r in zip(self._centers, self._radii):
            ok &= np.sum((x - c) ** 2, axis=1) <= r * r
        if len(self._b):
            ok &= np.all(self._b - x @ self._A.T >= 0, axis=1)
        return bool(ok[0]) if single else ok

    def grid_contains(self, centers, delta):
        r"""Whether each cube :math:`C(x)` of side ``delta`` centred at a row of
        ``centers`` belongs to the grid set :math:`C`.

        A lone :class:`Box` or :class:`Ball`: the exact test "the open cube meets K"
        (a positive-volume intersection). Polytopes and intersections: the centre test
        :math:`x \in K`, a subset of the exact set (exact cube-polytope intersection is
        a linear programme per cube; the centre test keeps the walk's step O(m)).
        """
        x = self._points(centers, "centers")
        delta = check_positive(delta, "delta")
        return self._grid_contains(x, delta)

    def _grid_contains(self, x, delta):
        if not self.exact_cube:
            return self._contains(x)
        h = 0.5 * delta
        if self._lo is not None:  # overlap > 1e-9 h: robust when the grid is aligned with the box
            eps = 1e-9 * h
            return np.all(((self._hi - (x - h)) > eps) & (((x + h) - self._lo) > eps), axis=1)
        c, r = self._centers[0], self._radii[0]
        d = np.maximum(np.abs(x - c) - h, 0.0)
        return np.sum(d * d, axis=1) < r * r

    # --- start point and bounding box ------------------------------------------------
    def _linear_rows(self):
        A, b = [self._A], [self._b]
        if self._lo is not None:
            eye = np.eye(self.dim)
            A += [eye, -eye]
            b += [self._hi, -self._lo]
        return np.vstack(A), np.concatenate(b)

    def start_point(self):
        """A point deep inside K: the Chebyshev centre (centre of the largest inscribed
        ball), by a linear programme (scipy.optimize.linprog) for linear constraints or
        SLSQP when balls are involved; the centre for a lone box or ball."""
        if self._start is None:
            self._start = self._compute_start()
        return self._start.copy()

    def _compute_start(self):
        if self.exact_cube:
            if self._lo is not None:
                return 0.5 * (self._lo + self._hi)
            return self._centers[0].copy()
        optimize = import_optional("scipy.optimize", "a polytope's start point (Chebyshev centre by linprog)")
        A, b = self._linear_rows()
        norms = np.linalg.norm(A, axis=1)
        n = self.dim
        if len(self._radii) == 0:
            cost = np.zeros(n + 1)
            cost[-1] = -1.0
            res = optimize.linprog(cost, A_ub=np.hstack([A, norms[:, None]]), b_ub=b,
                                   bounds=[(None, None)] * n + [(0, None)], method="highs")
            if res.status == 3:  # unbounded r: cannot happen for a bounded body
                raise ValueError(f"{type(self).__name__} is unbounded")
            if res.status != 0 or res.x[-1] <= 1e-12 * max(1.0, float(np.max(np.abs(b)))):
                raise ValueError(f"{type(self).__name__} is empty (or has empty interior): "
                                 "no point satisfies all constraints strictly")
            return res.x[:n]

        def neg_r(v):
            return -v[-1]

        cons = []
        if len(b):
            cons.append({"type": "ineq", "fun": lambda v: b - A @ v[:n] - norms * v[-1]})
        for c, r in zip(self._centers, self._radii):
            cons.append({"type": "ineq", "fun": lambda v, c=c, r=r: r - np.linalg.norm(v[:n] - c) - v[-1]})
        best = None
        for c in self._centers:
            v0 = np.concatenate([c, [0.0]])
            res = optimize.minimize(neg_r, v0, constraints=cons, method="SLSQP",
                                    options={"maxiter": 500, "ftol": 1e-12})
            x = res.x[:n]
            inside = bool(np.all(np.isfinite(x))) and self._contains(x[None, :], True)
            if res.x[-1] > 0 and inside and (best is None or res.x[-1] > best[1]):
                best = (x, res.x[-1])
        if best is None:
            raise ValueError(f"{type(self).__name__} is empty (or has empty interior): "
                             "no point lies strictly inside every part")
        return best[0]

    def bounding_box(self):
        """``(lo, hi)``: an axis box containing K (exact for boxes, balls and polytopes;
        for intersections with balls, the balls contribute their own bounding boxes)."""
        if self._bbox is None:
            lo = np.full(self.dim, -np.inf)
            hi = np.full(self.dim, np.inf)
            if self._lo is not None:
                lo, hi = self._lo.copy(), self._hi.copy()
            for c, r in zip(self._centers, self._radii):
                lo, hi = np.maximum(lo, c - r), np.minimum(hi, c + r)
            if len(self._b):
                optimize = import_optional("scipy.optimize", "the bounding box of an intersection (linprog)")
                A, b = self._linear_rows()
                bounds = [(None if not np.isfinite(l) else l, None if not np.isfinite(h) else h)
                          for l, h in zip(lo, hi)]
                for i in range(self.dim):
                    for sgn in (1.0, -1.0):
                        cost = np.zeros(self.dim)
                        cost[i] = sgn
                        res = optimize.linprog(cost, A_ub=A, b_ub=b, bounds=bounds, method="highs")
                        if res.status == 3:
                            raise ValueError(f"{type(self).__name__} is unbounded along axis {i}")
                        if res.status != 0:
                            raise ValueError(f"{type(self).__name__} is empty")
                        if sgn > 0:
                            lo[i] = max(lo[i], res.fun)
                        else:
                            hi[i] = min(hi[i], -res.fun)
            if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
                raise ValueError(f"{type(self).__name__} is unbounded")
            self._bbox = (lo, hi)
        return self._bbox[0].copy(), self._bbox[1].copy()

    def diameter(self):
        """An upper bound on the diameter of K (the diagonal of :meth:`bounding_box`)."""
        lo, hi = self.bounding_box()
        return float(np.linalg.norm(hi - lo))


class Box(_Body):
    r"""The axis box :math:`\{x : lo \le x \le hi\}`; the grid test is exact."""

    def __init__(self, lo, hi):
        lo = as_vector(lo, "lo", finite=False)
        hi = as_vector(hi, "hi", size=lo.size, finite=False)
        for name, v in (("lo", lo), ("hi", hi)):
            if np.isnan(v).any():
                raise ValueError(f"Box bounds must not be NaN: {name}[{int(np.flatnonzero(np.isnan(v))[0])}] is NaN")
            if not np.isfinite(v).all():
                raise ValueError(f"Box is unbounded: lo and hi must be finite, got {name}={_fmt_vec(v)}")
        if not np.all(lo < hi):
            i = int(np.flatnonzero(~(lo < hi))[0])
            raise ValueError(f"Box is empty: need lo < hi in every coordinate, got lo[{i}]={lo[i]} >= hi[{i}]={hi[i]}")
        self._init_parts(lo.size, lo=lo, hi=hi)
        self.lo, self.hi = lo.copy(), hi.copy()

    def __repr__(self):
        return f"Box(lo={_fmt_vec(self.lo)}, hi={_fmt_vec(self.hi)})"


class Ball(_Body):
    r"""The Euclidean ball :math:`\{x : |x - c| \le r\}`; the grid test is exact."""

    def __init__(self, center, radius):
        center = as_vector(center, "center")
        radius = check_positive(radius, "radius")
        self._init_parts(center.size, centers=center[None, :], radii=[radius])
        self.center, self.radius = center.copy(), radius

    def __repr__(self):
        return f"Ball(center={_fmt_vec(self.center)}, radius={self.radius:.4g})"


class Polytope(_Body):
    r"""The polytope :math:`\{x : A x \le b\}` (must be bounded with non-empty interior).

    The grid set uses the centre test (a cube belongs to :math:`C` when its centre lies
    in K); an axis move updates the slack :math:`b - Ax` in O(m) with column j of A.

    ``allow_unbounded=True`` builds a set of half-spaces that is unbounded on its own,
    for use inside :func:`intersect` with a bounded body (e.g. a :class:`Box`); the
    walks refuse unbounded bodies.
    """

    def __init__(self, A, b, *, allow_unbounded=False):
        allow_unbounded = _check_flag(allow_unbounded, "allow_unbounded")
        A = as_matrix(A, "A")
        b = as_vector(b, "b", size=A.shape[0])
        self._init_parts(A.shape[1], A=A, b=b)
        self.A, self.b = A.copy(), b.copy()
        self._unbounded = None
        rank = np.linalg.matrix_rank(A)
        if rank < A.shape[1]:
            self._unbounded = (f"Polytope is unbounded: A has rank {rank} < n={A.shape[1]}, so K contains a line "
                               "(add constraints or intersect with a Box)")
        else:
            try:
                _check_bounded_rows(A)
            except ValueError as exc:
                self._unbounded = str(exc)
        if self._unbounded is not None:
            if not allow_unbounded:
                raise ValueError(self._unbounded)
            return
        self._start = self._compute_start()

    def _usable(self):
        if self._unbounded is not None:
            raise ValueError(self._unbounded)

    def __repr__(self):
        return f"Polytope(m={self.A.shape[0]}, n={self.dim}{', unbounded' if self._unbounded else ''})"


def _check_bounded_rows(A):
    """{Ax <= b} (non-empty) is bounded iff some lambda > 0 has A^T lambda = 0 and
    rank A = n (Stiemke's alternative); one feasibility LP."""
    optimize = import_optional("scipy.optimize", "the boundedness test of a polytope (linprog)")
    m, n = A.shape
    res = optimize.linprog(np.zeros(m), A_eq=A.T, b_eq=np.zeros(n), bounds=[(1.0, None)] * m, method="highs")
    if res.status != 0:
        raise ValueError("Polytope is unbounded: some direction d != 0 has A d <= 0 "
                         "(add constraints or intersect with a Box)")


class Intersection(_Body):
    """The intersection of bodies (built by :func:`intersect`). Grid test: centre test."""

    def __init__(self, *bodies):
        if not bodies:
            raise ValueError("intersect needs at least one body, got none (bodies is empty)")
        for i, bd in enumerate(bodies):
            if not isinstance(bd, _Body):
                raise TypeError(f"intersect takes Box, Ball, Polytope or Intersection bodies, got bodies[{i}] of type "
                                f"{type(bd).__name__}")
        n = bodies[0].dim
        for i, bd in enumerate(bodies):
            if bd.dim != n:
                raise ValueError(f"dimension mismatch in intersect: bodies[0] = {bodies[0]!r} has n={n}, "
                                 f"bodies[{i}] = {bd!r} has n={bd.dim}")
        lo = hi = None
        cen, rad, As, bs = [], [], [], []
        for bd in bodies:
            if bd._lo is not None:
                lo = bd._lo.copy() if lo is None else np.maximum(lo, bd._lo)
                hi = bd._hi.copy() if hi is None else np.minimum(hi, bd._hi)
            cen += list(bd._centers)
            rad += list(bd._radii)
            if len(bd._b):
                As.append(bd._A)
                bs.append(bd._b)
        if lo is not None and not np.all(lo < hi):
            raise ValueError("intersect: the boxes have an empty intersection")
        self._init_parts(n, lo=lo, hi=hi, centers=np.array(cen).reshape(-1, n) if cen else None,
                         radii=np.array(rad) if rad else None,
                         A=np.vstack(As) if As else None, b=np.concatenate(bs) if bs else None)
        self.parts = tuple(bodies)
        if lo is None and not rad:
            _check_bounded_rows(self._A)
        self._start = self._compute_start()

    def __repr__(self):
        return "intersect(" + ", ".join(repr(p) for p in self.parts) + ")"


def intersect(*bodies):
    """The intersection of convex bodies (a single body is returned unchanged)."""
    if len(bodies) == 1 and isinstance(bodies[0], _Body):
        return bodies[0]
    return Intersection(*bodies)


# ================================================================== densities ========

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
        return (0, n, None, None, None, 0.0, 0, None, None, None)

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
        return (1, n, self.mean, None if self._diag else self.precision,
                np.ascontiguousarray(np.diag(self.precision)), 0.0, 0, None, None, None)

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
        return (2, n, None, None, None, self.c, self.power, None, None, None)

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
        return (3, n, None, None if self._diag else self.prior_precision,
                np.ascontiguousarray(np.diag(self.prior_precision)), 0.0, 0,
                self.X, np.ascontiguousarray(self.X.T), self.y)

    def __repr__(self):
        return f"LogisticPosterior(N={self.X.shape[0]}, n={self.dim})"


class LogDensity(_Density):
    r"""A user log-density :math:`\log F` given as a Python callable.

    ``fun`` receives a ``(k, n)`` array of points and returns ``k`` values of log F
    (``vectorized=True``, the default), or one point at a time (``vectorized=False``).
    Walks with a callable run in NumPy, vectorised over the chains: all chains advance
    one proposal at a time and ``fun`` is called **once per step** on the batch of
    proposals, never once per chain-step. They use ``rng`` directly (one stream), so
    they are reproducible for a seed but slower than the C built-ins. ``-inf`` means
    F = 0 (the proposal is rejected); ``+inf`` or NaN raise ``ValueError``.
    ``grad`` (optional, same calling convention) enables the exact density envelope of
    ``refine=True``; without it refinement is uniform within the cube.
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
        if out is None or isinstance(out, (str, bytes)):
            raise TypeError(f"{label} returned {type(out).__name__} for a ({k}, {x.shape[1]}) array of points; "
                            f"expected {k} real values (one per row)")
        try:
            arr = np.asarray(out)
        except Exception as exc:
            raise ValueError(f"{label} returned a value that is not an array of numbers: {exc}") from None
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{label} returned {type(out).__name__} of dtype {arr.dtype} for a ({k}, {x.shape[1]}) "
                            f"array of points; expected {k} real values (one per row)")
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
        if v is None or isinstance(v, (str, bytes)):
            raise TypeError(f"{label} returned {type(v).__name__} at x={_fmt_vec(row)}; expected a real number")
        try:
            arr = np.asarray(v)
        except Exception as exc:
            raise ValueError(f"{label} returned a value that is not a number: {exc}") from None
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{label} returned {type(v).__name__} of dtype {arr.dtype} at x={_fmt_vec(row)}; "
                            "expected a real number")
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
        try:
            g = np.asarray(g)
        except Exception as exc:
            raise ValueError(f"{label} returned a value that is not an array of numbers: {exc}") from None
        if g.dtype.kind not in "fiub":
            raise TypeError(f"{label} returned dtype {g.dtype}; expected real numbers of shape {x.shape}")
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


# ====================================================================== chains ========

class Chain:
    """The output of a walk.

    Attributes
    ----------
    samples : ndarray, shape (n_chains, n_kept, n)
        Kept states (after burn-in, every ``thin``-th step).
    indices : ndarray of int64 or None
        Grid walk: integer grid coordinates k of the samples (centre = offset + delta k).
    times : ndarray or None
        Continuous time: the time of each kept step (sum of Exp(1) holding times).
    acceptance_rate : float
        Accepted moves / proposals over all chains (lazy holds are not proposals).
    acceptance_rates : ndarray
        The same per chain.
    method, delta, offset, n_steps, thin, burn_in : run parameters.
    """

    def __init__(self, method, samples, acceptance_rates, n_accept, n_prop, *, indices=None, times=None,
                 delta=None, offset=None, n_steps=0, thin=1, burn_in=0, refined=False, start=None,
                 start_indices=None):
        self.method = method
        self.samples = samples
        self.indices = indices
        self.times = times
        self.acceptance_rates = acceptance_rates
        self.n_accept, self.n_prop = n_accept, n_prop
        tot = float(np.sum(n_prop))
        self.acceptance_rate = float(np.sum(n_accept)) / tot if tot > 0 else float("nan")
        self.delta, self.offset = delta, offset
        self.n_steps, self.thin, self.burn_in = n_steps, thin, burn_in
        self.refined = refined
        self.start, self.start_indices = start, start_indices

    @property
    def n_chains(self):
        return self.samples.shape[0]

    def state_at(self, t):
        """States of every chain at continuous time ``t`` (needs ``continuous_time=True``
        and ``thin=1``; the chains must have run past ``t``). Returns ``(centres, indices)``."""
        if self.times is None:
            raise ValueError("state_at needs a continuous-time run (continuous_time=True)")
        if self.thin != 1:
            raise ValueError(f"state_at needs thin=1, the run used thin={self.thin}")
        t = check_positive(t, "t", allow_zero=True)
        if np.any(self.times[:, -1] <= t):
            raise ValueError(f"some chains stopped before time {t} (last event at {self.times[:, -1].min():.3g}); "
                             "run more steps")
        pos = np.array([np.searchsorted(tr, t, side="right") - 1 for tr in self.times])
        if np.any(pos < 0) and self.burn_in > 0:
            raise ValueError(f"t={t} is before the first recorded step; use burn_in=0")
        rows = np.arange(self.n_chains)
        before = pos < 0  # no jump yet: still at the start point
        pos = np.maximum(pos, 0)
        x = self.samples[rows, pos]
        x[before] = self.start[before]
        idx = None
        if self.indices is not None:
            idx = self.indices[rows, pos]
            idx[before] = self.start_indices[before]
        return x, idx

    def __repr__(self):
        extra = ", continuous time" if self.times is not None else ""
        extra += ", refined" if self.refined else ""
        d = "" if self.delta is None else f", delta={self.delta:.4g}"
        return (f"Chain(method={self.method!r}, n_chains={self.samples.shape[0]}, n_kept={self.samples.shape[1]}, "
                f"n={self.samples.shape[2]}{d}, acceptance_rate={self.acceptance_rate:.4f}{extra})")


def _check_pair(density, body):
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    if not isinstance(density, _Density):
        raise TypeError("density must be Gaussian, ExpNorm, Uniform, LogisticPosterior or LogDensity, "
                        f"got {type(density).__name__}")
    density._check_dim(body.dim)
    body._usable()
    return body.dim


def _start_points(x0, body, n_chains, delta=None):
    """Start points in K (grid walk: in K, or a centre whose cube meets K)."""
    n = body.dim
    if x0 is None:
        x0 = body.start_point()
    x0 = as_float_array_2(x0, n, n_chains)
    inside = body.contains(x0)
    if delta is not None:
        inside |= body.grid_contains(x0, delta)
    if not np.all(inside):
        i = int(np.flatnonzero(~inside)[0])
        raise ValueError(f"the start point x0{'' if len(x0) == 1 else f'[{i}]'}={_fmt_vec(x0[i])} is outside the body")
    return np.ascontiguousarray(np.broadcast_to(x0, (n_chains, n)))


def as_float_array_2(x0, n, n_chains):
    x0 = np.asarray(x0)
    if x0.dtype.kind not in "fiub":
        raise TypeError(f"x0 must be real numbers, got dtype {x0.dtype}")
    x0 = x0.astype(float)
    if x0.ndim == 1:
        if x0.size != n:
            raise ValueError(f"x0 must have length {n} (the body's dimension), got {x0.size}")
        x0 = x0[None, :]
    elif x0.ndim == 2:
        if x0.shape[1] != n or x0.shape[0] not in (1, n_chains):
            raise ValueError(f"x0 must have shape ({n},) or ({n_chains}, {n}), got {x0.shape}")
    else:
        raise ValueError(f"x0 must be 1- or 2-dimensional, got shape {x0.shape}")
    if not np.isfinite(x0).all():
        raise ValueError("x0 must be finite")
    return x0


def _check_flag(value, name):
    """A bool (or numpy bool, or the integers 0 and 1)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def _common(n_steps, n_chains, thin, burn_in):
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    thin = check_int(thin, "thin", minimum=1)
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    if thin > n_steps:
        raise ValueError(f"thin={thin} exceeds n_steps={n_steps}: nothing would be kept")
    return n_steps, n_chains, thin, burn_in


# What a walk holds per chain besides its kept states: a spawned Generator with its
# PCG64 state (about 1 KiB measured), start point, grid index, counters, temporaries.
_PER_CHAIN_BYTES = 4096


def _memory_limit():
    """The machine's physical memory in bytes (no output may be larger)."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    except (AttributeError, ValueError, OSError):
        pass
    return 2 ** 46


def _check_walk_memory(where, n_chains, n_steps, thin, n, *, indices=False, times=False, refine=False):
    """Refuse, before anything is built, a run whose output (n_chains x n_kept x n
    float64, plus indices/times) and per-chain state exceed the machine's memory."""
    n_kept = n_steps // thin
    arrays = ["samples"] + (["indices"] if indices else []) + (["times"] if times else [])
    per_state = 8 * n * (1 + int(indices) + 3 * int(refine)) + 8 * int(times)
    need = n_chains * n_kept * per_state + n_chains * (_PER_CHAIN_BYTES + 48 * n)
    limit = _memory_limit()
    if need > limit:
        raise ValueError(f"{where} would need {need:.4g} bytes: n_chains={n_chains} chains x n_steps // thin = "
                         f"{n_steps} // {thin} = {n_kept} kept states x n={n} coordinates x 8 bytes "
                         f"({', '.join(arrays)}{', refinement' if refine else ''}), more than this machine's memory "
                         f"({limit:.4g} bytes); lower n_chains or n_steps, or raise thin")


def _run_c(density, body, walk, x0, k0, gens, threads):
    return _core._smp_run(body._c_body(), density._c_dens(body.dim), walk, x0, k0, gens, threads)


def grid_walk(density, body, delta, x0=None, n_steps=1000, n_chains=1, thin=1, continuous_time=False,
              refine=False, rng=None, *, burn_in=0, lazy=False, offset=None, threads=None):
    r"""The Frieze-Kannan grid walk (seed section 1, "The random walk").

    From the centre :math:`x \in C` choose :math:`j` uniformly from :math:`[n]` and
    :math:`s \in \{\pm1\}`, put :math:`y = x + s\delta e_j`; if :math:`y \notin C` stay,
    otherwise move with probability :math:`\min(1, F(y)/F(x))`. So
    :math:`P(x, y) = \frac{1}{2n}\min(1, F(y)/F(x))` for :math:`y \in G(x)` and the
    stationary law is :math:`\pi(x) = F(x)/D`, :math:`D = \sum_{x\in C}F(x)`; the chain
    is reversible (seed, the display after Step 3).

    Parameters
    ----------
    density : Gaussian, ExpNorm, Uniform, LogisticPosterior or LogDensity
    body : Box, Ball, Polytope or intersect(...)
    delta : float > 0
        Side of the grid cubes.
    x0 : array_like (n,) or (n_chains, n), optional
        Start point(s) in K, snapped to the nearest grid centre. Default: the body's
        :meth:`~_Body.start_point`.
    n_steps : int
        Steps recorded after burn-in (each step is one proposal, or a lazy hold).
    n_chains : int
        Independent chains, each with its own spawned random stream.
    thin : int
        Keep every ``thin``-th state (``n_steps // thin`` per chain).
    continuous_time : bool
        The seed's continuous-time version: Exp(1) holding times between proposals,
        reported in ``Chain.times``; the law at time t is
        :math:`\delta_{x_0} e^{t(P - I)}`.
    refine : bool
        Turn each kept centre into a point of :math:`\mathbb R^n` by rejection sampling
        inside its cube (the paper's "standard rejection sampling"): uniform proposals
        in :math:`C(x)\cap K` accepted with probability
        :math:`F(z)/(F(x)e^{\delta\|\nabla\log F(x)\|_1/2})`, an exact envelope for
        log-concave F, so the point has density :math:`\propto F` within the cube.
    rng : None, int or numpy.random.Generator
    burn_in : int
        Steps run and discarded first.
    lazy : bool
        Hold with probability 1/2 before each proposal (transition :math:`(I + P)/2`;
        the plain walk can be periodic, e.g. for a uniform F).
    offset : array_like (n,), optional
        Grid offset (centres are offset + delta Z^n). Default: ``x0`` (the first chain's).
    threads : int or None
        Threads for the chains (None: all cores). Results do not depend on it.

    Returns
    -------
    Chain
        ``samples`` (n_chains, n_steps // thin, n), ``indices`` (integer grid
        coordinates), ``times`` (continuous time), ``acceptance_rate``.

    Raises ``ValueError`` before anything is built when the output (n_chains x
    n_steps // thin x n float64 samples and indices, plus times) would not fit in the
    machine's memory, or when delta is so small that grid indices would pass 2^53 or the
    centres offset + delta k would coincide in float64. Warns (``RuntimeWarning``) when
    delta is so large that no start cell has a neighbour in C (no move can be accepted)
    or when no proposal was accepted.
    """
    n = _check_pair(density, body)
    delta = check_positive(delta, "delta")
    n_steps, n_chains, thin, burn_in = _common(n_steps, n_chains, thin, burn_in)
    continuous_time = _check_flag(continuous_time, "continuous_time")
    refine = _check_flag(refine, "refine")
    lazy = _check_flag(lazy, "lazy")
    _check_walk_memory("grid_walk", n_chains, n_steps, thin, n, indices=True, times=continuous_time, refine=refine)
    nthreads = check_threads(threads)
    gen = as_generator(rng)
    x0 = _start_points(x0, body, n_chains, delta)
    offset = x0[0].copy() if offset is None else as_vector(offset, "offset", size=n)
    _check_grid_resolution(delta, offset, "grid_walk")
    with np.errstate(over="ignore", invalid="ignore"):
        r0 = np.rint((x0 - offset) / delta)
    if not np.all(np.abs(r0) <= _INDEX_LIMIT):  # also catches inf / NaN: the int64 cast would wrap
        raise ValueError(f"delta={delta:.6g} is too small for the distance between x0 and offset "
                         f"({float(np.max(np.abs(x0 - offset))):.6g}): the start's grid index would exceed 2^53")
    k0 = r0.astype(np.int64)
    centres = offset + k0 * delta
    ok = body.grid_contains(centres, delta)
    if not np.all(ok):
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"the start point x0[{i}] snaps to the grid centre {_fmt_vec(centres[i])}, which is not in "
                         "the grid set C; use another offset, a smaller delta or a start point deeper inside K")
    stuck = _warn_if_grid_stuck(body, delta, offset, k0)
    if isinstance(density, LogDensity):
        chain = _grid_walk_numpy(density, body, delta, offset, k0, n_steps, thin, burn_in,
                                 continuous_time, lazy, gen)
    else:
        walk = (_WALK_GRID, delta, offset, int(bool(continuous_time)), int(bool(lazy)), n_steps, thin, burn_in)
        gens = spawn(gen, n_chains)
        s, idx, times, na, npr = _run_c(density, body, walk, x0, k0, gens, nthreads)
        rates = na / np.maximum(npr, 1)
        chain = Chain("grid", s, rates, na, npr, indices=idx, times=times, delta=delta, offset=offset,
                      n_steps=n_steps, thin=thin, burn_in=burn_in, start=centres, start_indices=k0)
    if not stuck:
        _warn_if_nothing_accepted("grid_walk", chain, delta)
    if refine:
        flat = chain.samples.reshape(-1, n)
        chain.samples = _refine(density, body, flat, delta, gen).reshape(chain.samples.shape)
        chain.refined = True
    return chain


def _warn_if_grid_stuck(body, delta, offset, k0):
    """RuntimeWarning when no start cell has a neighbour in C: no move can ever be
    accepted (delta is larger than the body's extent around the starts)."""
    def has_neighbour(ks):
        for j in range(body.dim):
            for sgn in (-1, 1):
                yk = ks.copy()
                yk[:, j] += sgn
                if np.any(body._grid_contains(offset + yk * delta, delta)):
                    return True
        return False

    # the first chain's start usually settles it; all distinct starts only when it is stuck
    if has_neighbour(k0[:1]) or (len(k0) > 1 and has_neighbour(np.unique(k0, axis=0))):
        return False
    lo, hi = body._lo, body._hi
    extent = "" if lo is None else f" (the box's smallest side is {float(np.min(hi - lo)):.4g})"
    warnings.warn(f"grid_walk: delta={delta:.6g} is too large for the body{extent}: no start cell has a neighbouring "
                  "cell in the grid set C, so no move can be accepted and every chain stays at its start; "
                  "use a smaller delta", RuntimeWarning, stacklevel=3)
    return True


def _warn_if_nothing_accepted(where, chain, delta):
    props = int(np.sum(chain.n_prop))
    if props >= 100 and int(np.sum(chain.n_accept)) == 0:  # fewer: too few to tell
        warnings.warn(f"{where}: no proposal was accepted in {props} proposals (acceptance rate 0) with "
                      f"delta={delta:.6g}; delta is probably too large for the body", RuntimeWarning, stacklevel=3)


def _accept_log(gen, dl):
    u = gen.random(dl.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        return (dl >= 0) | (u < np.exp(np.minimum(dl, 0.0)))


def _grid_walk_numpy(density, body, delta, offset, k0, n_steps, thin, burn_in, continuous_time, lazy, gen):
    """Grid walk for a Python log-density: all chains advance together, one call of
    the log-density per step on the (n_chains, n) batch of proposals in C."""
    c, n = k0.shape
    k = k0.copy()
    x = offset + k * delta
    lf = density.logpdf(x)
    if not np.all(np.isfinite(lf)):
        raise ValueError("the log-density is -inf at a start point (F must be positive on C)")
    n_kept = n_steps // thin
    samples = np.empty((c, n_kept, n))
    indices = np.empty((c, n_kept, n), np.int64)
    times = np.empty((c, n_kept)) if continuous_time else None
    t = np.zeros(c)
    na = np.zeros(c, np.int64)
    npr = np.zeros(c, np.int64)
    rows = np.arange(c)
    kept = 0
    for step in range(burn_in + n_steps):
        if continuous_time:
            t += gen.exponential(size=c)
        active = gen.random(c) >= 0.5 if lazy else np.ones(c, bool)
        r = gen.integers(0, 2 * n, size=c)
        j, s = r >> 1, np.where(r & 1, 1, -1)
        yk = k.copy()
        yk[rows, j] += s
        y = offset + yk * delta
        ok = active & body._grid_contains(y, delta)
        npr += active
        ly = np.full(c, -np.inf)
        if ok.any():
            ly[ok] = density.logpdf(y[ok])
        with np.errstate(invalid="ignore"):
            acc = ok & _accept_log(gen, ly - lf) & np.isfinite(ly)
        k[acc], x[acc], lf[acc] = yk[acc], y[acc], ly[acc]
        na += acc
        if step >= burn_in and (step - burn_in + 1) % thin == 0:
            samples[:, kept], indices[:, kept] = x, k
            if times is not None:
                times[:, kept] = t
            kept += 1
    return Chain("grid", samples, na / np.maximum(npr, 1), na, npr, indices=indices, times=times, delta=delta,
                 offset=offset, n_steps=n_steps, thin=thin, burn_in=burn_in, start=offset + k0 * delta,
                 start_indices=k0.copy())


def _refine(density, body, centres, delta, gen, max_rounds=10000):
    """Rejection sampling inside each cube C(x) ∩ K with the log-concave envelope
    log F(z) <= log F(x) + (delta/2) |grad log F(x)|_1 (uniform if no gradient)."""
    m, n = centres.shape
    out = np.empty_like(centres)
    todo = np.arange(m)
    g = density.grad(centres)
    if g is None:
        bound = None
    else:
        bound = density.logpdf(centres) + 0.5 * delta * np.abs(g).sum(axis=1)
    for _ in range(max_rounds):
        if todo.size == 0:
            return out
        z = centres[todo] + delta * (gen.random((todo.size, n)) - 0.5)
        ok = body._contains(z)
        if bound is not None and ok.any():
            lz = np.full(todo.size, -np.inf)
            lz[ok] = density.logpdf(z[ok])
            ok &= np.log(gen.random(todo.size)) < lz - bound[todo]
        out[todo[ok]] = z[ok]
        todo = todo[~ok]
    raise RuntimeError(f"refine: rejection sampling failed for {todo.size} cubes after {max_rounds} rounds "
                       "(cube barely meets K); use a smaller delta")


def ball_walk(density, body, delta, x0=None, n_steps=1000, n_chains=1, thin=1, rng=None, *, burn_in=0,
              continuous_time=False, threads=None):
    r"""The ball walk (end of the seed, Steps 1', 2'): :math:`y = x + u` with :math:`u`
    uniform in the ball of radius ``delta``; reject :math:`y \notin K`; accept with
    probability :math:`\min(1, F(y)/F(x))`. Stationary law: F restricted to K.

    Parameters are as in :func:`grid_walk` (``delta`` is the ball radius); x0 must be
    in K. A :class:`LogDensity` runs in NumPy, one call per step over all chains. The
    same size check as :func:`grid_walk` runs first; a ``RuntimeWarning`` says when
    delta exceeds the body's diameter (checked when the bounding box needs no linear
    programme) or when no proposal was accepted.

    Returns
    -------
    Chain
    """
    n = _check_pair(density, body)
    delta = check_positive(delta, "delta")
    n_steps, n_chains, thin, burn_in = _common(n_steps, n_chains, thin, burn_in)
    continuous_time = _check_flag(continuous_time, "continuous_time")
    _check_walk_memory("ball_walk", n_chains, n_steps, thin, n, times=continuous_time)
    nthreads = check_threads(threads)
    gen = as_generator(rng)
    x0 = _start_points(x0, body, n_chains)
    warned = False
    if len(body._b) == 0 or body._bbox is not None:  # the bounding box is free (no linear programmes)
        diam = body.diameter()
        if delta > diam:
            warned = True
            warnings.warn(f"ball_walk: delta={delta:.6g} exceeds the body's diameter (at most {diam:.4g}): almost "
                          "every proposal leaves K and is rejected; use a smaller delta", RuntimeWarning, stacklevel=2)
    if isinstance(density, LogDensity):
        chain = _ball_walk_numpy(density, body, delta, x0, n_steps, thin, burn_in, continuous_time, gen)
    else:
        walk = (_WALK_BALL, delta, None, int(bool(continuous_time)), 0, n_steps, thin, burn_in)
        s, _, times, na, npr = _run_c(density, body, walk, x0, np.zeros((n_chains, n), np.int64),
                                      spawn(gen, n_chains), nthreads)
        chain = Chain("ball", s, na / np.maximum(npr, 1), na, npr, times=times, delta=delta, n_steps=n_steps,
                      thin=thin, burn_in=burn_in, start=x0)
    if not warned:
        _warn_if_nothing_accepted("ball_walk", chain, delta)
    return chain


def _ball_walk_numpy(density, body, delta, x0, n_steps, thin, burn_in, continuous_time, gen):
    c, n = x0.shape
    x = x0.copy()
    lf = density.logpdf(x)
    if not np.all(np.isfinite(lf)):
        raise ValueError("the log-density is -inf at a start point")
    n_kept = n_steps // thin
    samples = np.empty((c, n_kept, n))
    times = np.empty((c, n_kept)) if continuous_time else None
    t = np.zeros(c)
    na = np.zeros(c, np.int64)
    kept = 0
    for step in range(burn_in + n_steps):
        if continuous_time:
            t += gen.exponential(size=c)
        d = gen.standard_normal((c, n))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        y = x + delta * gen.random(c)[:, None] ** (1.0 / n) * d
        ok = body._contains(y)
        ly = np.full(c, -np.inf)
        if ok.any():
            ly[ok] = density.logpdf(y[ok])
        with np.errstate(invalid="ignore"):
            acc = ok & _accept_log(gen, ly - lf) & np.isfinite(ly)
        x[acc], lf[acc] = y[acc], ly[acc]
        na += acc
        if step >= burn_in and (step - burn_in + 1) % thin == 0:
            samples[:, kept] = x
            if times is not None:
                times[:, kept] = t
            kept += 1
    npr = np.full(c, burn_in + n_steps, np.int64)
    return Chain("ball", samples, na / npr, na, npr, times=times, delta=delta, n_steps=n_steps, thin=thin,
                 burn_in=burn_in, start=x0)


def hit_and_run(density, body, x0=None, n_steps=1000, n_chains=1, thin=1, rng=None, *, direction="random",
                burn_in=0, threads=None):
    r"""Metropolised hit-and-run, for comparison with the grid and ball walks.

    Pick a direction :math:`d` (``"random"``: uniform on the sphere; ``"coordinate"``:
    a uniform axis), draw :math:`y` uniformly on the chord :math:`K \cap \{x + td\}`
    (a symmetric proposal) and accept with :math:`\min(1, F(y)/F(x))`. For
    :class:`Uniform` every proposal is accepted: classical hit-and-run (Smith 1984).
    Built-in densities only.

    Returns
    -------
    Chain
    """
    n = _check_pair(density, body)
    if isinstance(density, LogDensity):
        raise TypeError("hit_and_run supports the built-in densities; for a Python callable use grid_walk or ball_walk")
    if not isinstance(direction, str):
        raise TypeError(f"direction must be 'random' or 'coordinate', got {type(direction).__name__}")
    if direction not in ("random", "coordinate"):
        raise ValueError(f"direction must be 'random' or 'coordinate', got {direction!r}")
    n_steps, n_chains, thin, burn_in = _common(n_steps, n_chains, thin, burn_in)
    _check_walk_memory("hit_and_run", n_chains, n_steps, thin, n)
    nthreads = check_threads(threads)
    gen = as_generator(rng)
    x0 = _start_points(x0, body, n_chains)
    method = _WALK_HAR_DIR if direction == "random" else _WALK_HAR_COORD
    walk = (method, 1.0, None, 0, 0, n_steps, thin, burn_in)
    s, _, _, na, npr = _run_c(density, body, walk, x0, np.zeros((n_chains, n), np.int64), spawn(gen, n_chains),
                              nthreads)
    return Chain(f"hit_and_run:{direction}", s, na / np.maximum(npr, 1), na, npr, n_steps=n_steps, thin=thin,
                 burn_in=burn_in)


# ================================================================= diagnostics ========

class GridDistribution(tuple):
    """``(centers, probs)`` of the exact stationary law on the grid set C, with
    ``indices`` (integer coordinates), ``offset``, ``delta`` and ``logf`` attributes."""

    def __new__(cls, centers, probs, indices, offset, delta, logf):
        self = super().__new__(cls, (centers, probs))
        self.centers, self.probs, self.indices = centers, probs, indices
        self.offset, self.delta, self.logf = offset, delta, logf
        return self

    def __repr__(self):
        return (f"GridDistribution(cells={len(self.probs)}, delta={self.delta:.4g}, "
                f"p_min={self.probs.min():.3g}, p_max={self.probs.max():.3g})")


# Grid indices k (centre = offset + delta k) are kept below 2^53: exact integers in
# float64 and far from the int64 range, so no float -> int64 cast can wrap.
_INDEX_LIMIT = 2.0 ** 53


def _check_grid_resolution(delta, offset, where):
    """The centres offset + delta k must be distinct floats: delta above the rounding
    unit of every offset coordinate."""
    if np.any(offset + delta == offset) or np.any(offset - delta == offset):
        j = int(np.flatnonzero((offset + delta == offset) | (offset - delta == offset))[0])
        raise ValueError(f"{where}: delta={delta:.6g} is below the float64 resolution of offset[{j}]={offset[j]:.6g}: "
                         "the grid centres offset + delta*k would coincide; use a larger delta")


def _grid_candidates(body, delta, offset, max_cells):
    lo, hi = body.bounding_box()
    _check_grid_resolution(delta, offset, "exact_grid_distribution")
    # in floats first: a tiny delta gives indices beyond int64, whose cast would wrap
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        a = np.ceil((lo - 0.5 * delta - offset) / delta) - 1.0
        b = np.floor((hi + 0.5 * delta - offset) / delta) + 1.0
        counts = b - a + 1.0
        total = float(np.prod(counts))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or \
            max(np.abs(a).max(), np.abs(b).max()) > _INDEX_LIMIT:
        raise ValueError(f"delta={delta:.6g} is too small for the body (bounding box extent "
                         f"{float(np.max(hi - lo)):.6g}, at distance up to "
                         f"{float(np.max(np.maximum(np.abs(lo - offset), np.abs(hi - offset)))):.6g} from the offset): "
                         f"the grid would have {total:.3g} cells with indices beyond 2^53 (max_cells={max_cells}); "
                         "use a larger delta, or an offset inside the body")
    if total > max_cells:
        raise ValueError(f"the grid's bounding box has {total:.3g} cells for delta={delta:.6g}, more than "
                         f"max_cells={max_cells}; use a larger delta or raise max_cells")
    need = total * (8 * body.dim * 5 + 64)  # index grids, stacked indices, centres, test, log F
    limit = _memory_limit()
    if need > limit:
        raise ValueError(f"the grid for delta={delta:.6g} has {total:.4g} cells (max_cells={max_cells}) and would need "
                         f"{need:.4g} bytes, more than this machine's memory ({limit:.4g} bytes); use a larger delta "
                         "or a smaller max_cells")
    kmin, kmax = a.astype(np.int64), b.astype(np.int64)
    shape = kmax - kmin + 1
    grids = np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(kmin, kmax)], indexing="ij")
    k = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    return k, kmin, shape


def exact_grid_distribution(density, body, delta, offset=None, *, max_cells=10**6):
    r"""The grid walk's stationary law :math:`\pi(x) = F(x)/D` on :math:`C`, by
    enumeration (seed section 1: :math:`\pi(x) = F(x)/D`, :math:`D = \sum_{x\in C}F(x)`).

    Parameters
    ----------
    density, body, delta : as in :func:`grid_walk`
    offset : array_like, optional
        Grid offset; default ``body.start_point()`` (the same default as
        :func:`grid_walk` with ``x0=None``). Pass ``chain.offset`` to compare with a run.
    max_cells : int
        Refuse bounding-box grids larger than this.

    Returns
    -------
    GridDistribution
        Unpacks as ``(centers, probs)``; also has ``indices``, ``offset``, ``delta``.
    """
    n = _check_pair(density, body)
    delta = check_positive(delta, "delta")
    offset = body.start_point() if offset is None else as_vector(offset, "offset", size=n)
    k, _, _ = _grid_candidates(body, delta, offset, check_int(max_cells, "max_cells", minimum=1))
    centres = offset + k * delta
    keep = body.grid_contains(centres, delta)
    k, centres = k[keep], centres[keep]
    if len(k) == 0:
        raise ValueError("the grid set C is empty")
    lf = density.logpdf(centres)
    if not np.all(np.isfinite(lf)):
        raise ValueError("log F must be finite on every grid centre (F > 0 on C)")
    w = np.exp(lf - lf.max())
    return GridDistribution(centres, w / w.sum(), k, offset, delta, lf)


def transition_matrix(density, body, delta, offset=None, *, lazy=False, max_cells=10**5):
    r"""The grid walk's transition matrix on :math:`C` (scipy.sparse CSR) and its
    stationary law, with the move probabilities computed by the C kernel's own
    incremental code path: :math:`P(x, y) = \frac1{2n}\min(1, F(y)/F(x))`,
    :math:`P(x, x) = 1 - \sum_{y\ne x}P(x, y)`; ``lazy``: :math:`(I + P)/2`.

    Returns
    -------
    (P, dist) : scipy.sparse.csr_matrix, GridDistribution
    """
    sparse = import_optional("scipy.sparse", "transition_matrix")
    lazy = _check_flag(lazy, "lazy")
    n = _check_pair(density, body)
    delta = check_positive(delta, "delta")
    offset = body.start_point() if offset is None else as_vector(offset, "offset", size=n)
    dist = exact_grid_distribution(density, body, delta, offset, max_cells=max_cells)
    k = dist.indices
    kmin = k.min(axis=0) - 1
    shape = k.max(axis=0) - kmin + 2
    lookup = np.full(int(np.prod(shape)), -1, np.int64)
    lin = np.ravel_multi_index((k - kmin).T, shape)
    lookup[lin] = np.arange(len(k))
    if isinstance(density, LogDensity):
        probs = np.zeros((len(k), 2 * n))
        for j in range(n):
            for sp, sgn in enumerate((-1, 1)):
                yk = k.copy()
                yk[:, j] += sgn
                y = offset + yk * delta
                ok = body.grid_contains(y, delta)
                ly = np.full(len(k), -np.inf)
                if ok.any():
                    ly[ok] = density.logpdf(y[ok])
                probs[:, 2 * j + sp] = np.where(ok, np.exp(np.minimum(ly - dist.logf, 0.0)), 0.0) / (2 * n)
    else:
        probs, in_grid = _core._smp_grid_moves(body._c_body(), density._c_dens(n), delta, offset, k)
        if not np.all(in_grid):
            raise RuntimeError("internal: the C grid test disagrees with the NumPy one")
    rows, cols, vals = [], [], []
    for j in range(n):
        for sp, sgn in enumerate((-1, 1)):
            p = probs[:, 2 * j + sp]
            nz = np.flatnonzero(p > 0)
            yk = k[nz].copy()
            yk[:, j] += sgn
            tgt = lookup[np.ravel_multi_index((yk - kmin).T, shape)]
            if np.any(tgt < 0):
                raise RuntimeError("internal: a move with positive probability leaves the enumerated grid")
            rows.append(nz)
            cols.append(tgt)
            vals.append(p[nz])
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    m = len(k)
    stay = 1.0 - np.bincount(rows, weights=vals, minlength=m)
    P = sparse.csr_matrix((np.concatenate([vals, stay]), (np.concatenate([rows, np.arange(m)]),
                                                           np.concatenate([cols, np.arange(m)]))), shape=(m, m))
    if lazy:
        P = 0.5 * (sparse.identity(m, format="csr") + P)
    return P.tocsr(), dist


def spectral_gap(P, pi):
    r"""Spectral gap :math:`1 - \lambda_2` of a reversible transition matrix ``P``
    (dense or sparse) with stationary law ``pi`` (a vector or a GridDistribution),
    from the symmetric :math:`D^{1/2} P D^{-1/2}`, :math:`D = \mathrm{diag}(\pi)`.
    This is the gap of the (relaxation) rate of reversible chains; for a periodic
    walk use ``lazy=True`` in :func:`transition_matrix` so that all eigenvalues are >= 0.
    """
    sparse = import_optional("scipy.sparse", "spectral_gap")
    pi = as_vector(pi.probs if isinstance(pi, GridDistribution) else pi, "pi")
    if np.any(pi <= 0):
        i = int(np.flatnonzero(pi <= 0)[0])
        raise ValueError(f"pi must be a stationary law with every entry > 0, got pi[{i}]={pi[i]}")
    m = pi.size
    if sparse.issparse(P):
        if P.dtype.kind not in "fiub":
            raise TypeError(f"P must be a real matrix, got dtype {P.dtype}")
        if P.ndim != 2:
            raise ValueError(f"P must be 2-dimensional, got shape {P.shape}")
        if not np.all(np.isfinite(P.data)):
            raise ValueError("P must be finite")
    else:
        P = as_matrix(P, "P")
    if P.shape != (m, m):
        raise ValueError(f"P must be ({m}, {m}) to match pi, got {P.shape}")
    if m < 2:
        raise ValueError(f"P and pi need at least two states, got {m}")
    s = np.sqrt(pi)
    S = sparse.diags(s) @ sparse.csr_matrix(P) @ sparse.diags(1.0 / s)
    S = 0.5 * (S + S.T)
    if m <= 4000:
        ev = np.linalg.eigvalsh(S.toarray())
        return float(1.0 - ev[-2])
    eigsh = import_optional("scipy.sparse.linalg", "spectral_gap").eigsh
    ev = eigsh(S, k=2, which="LA", return_eigenvectors=False)
    return float(1.0 - np.sort(ev)[0])


def tv_distance(chain, exact, *, step=None):
    r"""Total variation :math:`\tfrac12\sum_x |\hat p(x) - \pi(x)|` between a grid
    walk's empirical law and the exact law on the grid.

    Parameters
    ----------
    chain : Chain (grid walk, not refined) or array of probabilities
        With ``step=None`` every kept state of every chain counts; with ``step=i`` only
        the states ``samples[:, i]`` (one per chain: the law at time i).
    exact : GridDistribution or array of probabilities
        If both are arrays they must have equal length.

    Note: the seed's :math:`\|\cdot\|_{TV}` is :math:`\sum_x|\cdot|` (twice this value).
    """
    if not isinstance(chain, Chain):
        if step is not None:
            raise ValueError(f"step applies to a Chain; chain is an array of probabilities, got step={step!r}")
        p = as_vector(chain, "chain")
        q = as_vector(exact.probs if isinstance(exact, GridDistribution) else exact, "exact")
        if p.shape != q.shape:
            raise ValueError(f"chain and exact (probability vectors) must have equal lengths, got {p.shape} "
                             f"and {q.shape}")
        return float(0.5 * np.abs(p - q).sum())
    if chain.indices is None:
        raise ValueError("tv_distance needs a grid-walk Chain (one with integer grid indices)")
    if not isinstance(exact, GridDistribution):
        raise TypeError(f"exact must be the GridDistribution from exact_grid_distribution, got {type(exact).__name__}")
    if step is not None:
        n_kept = chain.indices.shape[1]
        step = check_int(step, "step", minimum=-n_kept, maximum=n_kept - 1)
    if chain.delta != exact.delta or not np.allclose(chain.offset, exact.offset, rtol=0, atol=1e-12 * chain.delta):
        raise ValueError("the chain and the exact law use different grids: pass offset=chain.offset and the same "
                         "delta to exact_grid_distribution")
    idx = chain.indices if step is None else chain.indices[:, step][:, None, :]
    idx = idx.reshape(-1, idx.shape[-1])
    emp = _empirical(idx, exact.indices)
    return float(0.5 * (np.abs(emp[:-1] - exact.probs).sum() + emp[-1]))


def _empirical(idx, support):
    """Empirical law of rows `idx` over the rows of `support` (+ a last entry for rows
    outside the support)."""
    both = np.concatenate([support, idx])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    sup_id, smp_id = inv[:len(support)], inv[len(support):]
    pos = np.full(inv.max() + 1, len(support), np.int64)
    pos[sup_id] = np.arange(len(support))
    counts = np.bincount(pos[smp_id], minlength=len(support) + 1)
    return counts / len(idx)


def theorem1_bound(t, n, delta, diameter, p_min, *, u=0.1, M_pi_u=0.0, gamma=1.0):
    r"""The right-hand side of Theorem 1 of the seed:

    .. math:: \|p_t - \pi\|_{TV} \le \Bigl(\exp\Bigl(-\frac{\gamma u t\delta^2}{2 n d^2}\Bigr)
              \log\frac1{p_\#} + \frac{M\pi_u\, n d^2}{\gamma\delta^2 u}\Bigr)^{1/2},

    valid for :math:`d \ge \delta n^{1/2}`, where :math:`\|\cdot\|_{TV} = \sum_x|\cdot|`
    (twice :func:`tv_distance`), :math:`p_\# = \min_x \pi(x)`, :math:`\gamma` is the
    paper's unspecified absolute constant, :math:`u \in (0, 1]` the boundary-cube
    fraction and :math:`M\pi_u` the boundary term. The constants in the displayed
    formula are reconstructed from the scanned seed text (the exponent rate is
    :math:`\beta/2`-type up to the constant :math:`\gamma`); use it for its shape
    (exponential decay in t at rate :math:`\propto\delta^2/(n d^2)`), not its constant.
    ``t`` may be an array.
    """
    t = as_float_array(t, "t")
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (a time), got {float(t.min())}")
    n = check_int(n, "n", minimum=1)
    delta = check_positive(delta, "delta")
    d = check_positive(diameter, "diameter")
    p_min = check_real(p_min, "p_min")
    if not 0 < p_min <= 1:
        raise ValueError(f"p_min must be in (0, 1], got {p_min}")
    u = check_real(u, "u")
    if not 0 < u <= 1:
        raise ValueError(f"u must be in (0, 1], got {u}")
    M = check_positive(M_pi_u, "M_pi_u", allow_zero=True)
    gamma = check_positive(gamma, "gamma")
    val = np.exp(-gamma * u * t * delta ** 2 / (2 * n * d ** 2)) * math.log(1 / p_min) + M * n * d ** 2 / (
        gamma * delta ** 2 * u)
    out = np.sqrt(val)
    return float(out) if out.ndim == 0 else out


# ---- ESS and R-hat (Vehtari, Gelman, Simpson, Carpenter, Buerkner 2021) -------------------

_LAYOUTS = ("chain_draw", "draw_chain")


def _as_draws(samples, name="samples", layout=None):
    """Draws as a (n_chains, n_draws[, n]) float array (the ArviZ layout (chain, draw[, dim]))."""
    if layout is not None:
        if not isinstance(layout, str):
            raise TypeError(f"layout must be None, 'chain_draw' or 'draw_chain', got {type(layout).__name__}")
        if layout not in _LAYOUTS:
            raise ValueError(f"layout must be None, 'chain_draw' or 'draw_chain', got {layout!r}")
    from_chain = isinstance(samples, Chain)
    if from_chain:
        samples = samples.samples
    x = as_float_array(samples, name, ndim=(1, 2, 3))
    if x.ndim == 1:
        x = x[None, :]
    elif layout == "draw_chain":
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
    if x.shape[1] < 4:
        raise ValueError(f"{name} needs at least 4 draws per chain, got {x.shape[1]} (shape {x.shape} read as "
                         "(n_chains, n_draws[, n]))")
    if layout is None and not from_chain and x.shape[0] > x.shape[1]:
        raise ValueError(
            f"{name} has shape {np.shape(samples)}, read as (n_chains, n_draws[, n]): {x.shape[0]} chains of only "
            f"{x.shape[1]} draws each. More chains than draws usually means the transposed layout: pass "
            f"layout='draw_chain' for (n_draws, n_chains[, n]) input, {name}[None] for (n_draws, n) draws of a "
            f"vector from one chain, or layout='chain_draw' if there really are more chains than draws")
    return x


def _warn_ess_above_draws(e, total):
    big = np.atleast_1d(np.asarray(e, float)) > total
    if np.any(big):
        worst = float(np.nanmax(np.atleast_1d(e)))
        where = f" (coordinates {np.flatnonzero(big).tolist()})" if np.ndim(e) else ""
        warnings.warn(f"ess: the estimate {worst:.6g} exceeds the number of draws {total}{where}: "
                      "the draws are anti-correlated (or independent, up to estimation noise), or the array is "
                      "not in the (n_chains, n_draws[, n]) layout", RuntimeWarning, stacklevel=3)


def _split(x):
    """(M, N) -> (2M, N//2): split every chain in halves (middle draw dropped if odd)."""
    h = x.shape[1] // 2
    return np.concatenate([x[:, :h], x[:, x.shape[1] - h:]], axis=0)


def _z_scale(x):
    """Rank normalisation: Phi^{-1}((r - 3/8) / (S + 1/4)), average ranks for ties."""
    ndtri = import_optional("scipy.special", "rank-normalised ess/rhat").ndtri
    rankdata = import_optional("scipy.stats", "rank-normalised ess/rhat").rankdata
    r = rankdata(x, method="average").reshape(x.shape)
    return ndtri((r - 0.375) / (x.size + 0.25))


def _autocov(x):
    """Biased autocovariance of each row (FFT)."""
    m, n = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    nfft = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, nfft, axis=1)
    return np.fft.irfft(f * np.conj(f), nfft, axis=1)[:, :n] / n


def _ess_basic(x):
    """ESS of (M, N) draws by Geyer's initial monotone sequence on the multi-chain
    autocorrelation (Vehtari et al. 2021, eq. (10)-(11); Stan's estimator)."""
    m, n = x.shape
    if np.ptp(x) == 0:
        return float("nan")
    acov = _autocov(x)
    mean_var = acov[:, 0].mean() * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus += np.var(x.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0:
        rho_even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = 0.5 * (rho[t - 1] + rho[t])
        t += 2
    total = m * n
    tau = -1.0 + 2.0 * rho[:max_t + 1].sum() + rho[max_t + 1:max_t + 2].sum()
    tau = max(tau, 1.0 / math.log10(total))
    return float(total / tau)


def _rhat_basic(x):
    m, n = x.shape
    w = x.var(axis=1, ddof=1).mean()
    b = n * x.mean(axis=1).var(ddof=1)
    if w == 0:
        return float("nan")
    return float(math.sqrt(((n - 1) / n * w + b / n) / w))


def ess(samples, kind="bulk", *, layout=None):
    r"""Effective sample size (Vehtari et al. 2021, "Rank-normalization, folding, and
    localization: an improved R-hat").

    ``kind="bulk"``: ESS of the rank-normalised split chains; ``"tail"``: the minimum of
    the ESS of the indicators :math:`I(\theta \le q_{0.05})` and :math:`I(\theta \le
    q_{0.95})` on split chains; ``"mean"``: ESS of the raw split chains (for the mean).
    Autocorrelations are combined across chains and truncated by Geyer's initial
    monotone sequence.

    Parameters
    ----------
    samples : Chain or array
        Layout (chain, draw[, dim]) as in ArviZ: ``(n_chains, n_draws)`` or
        ``(n_chains, n_draws, n)``; a 1-D array is one chain. An array with more chains
        than draws (e.g. a ``(1000, 4)`` array that holds 1000 draws of 4 chains or of a
        4-vector) is refused as ambiguous unless ``layout`` is given.
    kind : {"bulk", "tail", "mean"}
    layout : None, "chain_draw" or "draw_chain"
        ``"chain_draw"``: the array is (n_chains, n_draws[, n]) even with more chains
        than draws; ``"draw_chain"``: it is (n_draws, n_chains[, n]) and is transposed.

    Returns
    -------
    float or ndarray (n,)
        At most about ``total log10(total)`` for ``total`` draws (Stan's cap). An ESS
        above the number of draws (anti-correlated draws, or independent ones up to
        estimation noise) comes with a ``RuntimeWarning``.
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be 'bulk', 'tail' or 'mean', got {type(kind).__name__}")
    if kind not in ("bulk", "tail", "mean"):
        raise ValueError(f"kind must be 'bulk', 'tail' or 'mean', got {kind!r}")
    x = _as_draws(samples, "samples", layout)
    total = x.shape[0] * x.shape[1]
    # the FFT autocovariance holds a padded real copy and its complex transform per chain
    nfft = 1 << (2 * (x.shape[1] // 2) - 1).bit_length()
    need = 2 * x.shape[0] * nfft * 8 * 4
    if need > _memory_limit():
        raise ValueError(f"ess of samples with shape {x.shape} would need {need:.4g} bytes for the autocovariances, "
                         f"more than this machine's memory ({_memory_limit():.4g} bytes); thin the draws first")
    if x.ndim == 3:
        out = np.array([_ess_2d(x[:, :, i], kind) for i in range(x.shape[2])])
    else:
        out = _ess_2d(x, kind)
    _warn_ess_above_draws(out, total)
    return out


def _ess_2d(x, kind):
    if kind == "mean":
        return _ess_basic(_split(x))
    if kind == "bulk":
        return _ess_basic(_z_scale(_split(x)))
    out = []
    for p in (0.05, 0.95):
        q = np.quantile(x, p)
        out.append(_ess_basic(_split((x <= q).astype(float))))
    return float(min(out))


def rhat(chains, *, layout=None):
    r"""Rank-normalised split :math:`\hat R` (Vehtari et al. 2021): the maximum of the
    split-:math:`\hat R` of the rank-normalised draws and of the rank-normalised folded
    draws :math:`|\theta - \mathrm{median}|`. Values below 1.01 indicate mixing.

    Parameters
    ----------
    chains : Chain or array (n_chains, n_draws) or (n_chains, n_draws, n)
        The layout (chain, draw[, dim]) of :func:`ess`, with the same refusal of arrays
        with more chains than draws unless ``layout`` is given.
    layout : None, "chain_draw" or "draw_chain"
        As in :func:`ess`.

    Returns
    -------
    float or ndarray (n,)
    """
    x = _as_draws(chains, "chains", layout)
    if x.ndim == 3:
        return np.array([rhat(x[:, :, i], layout="chain_draw") for i in range(x.shape[2])])
    s = _split(x)
    bulk = _rhat_basic(_z_scale(s))
    tail = _rhat_basic(_z_scale(np.abs(s - np.median(s))))
    return float(max(bulk, tail))
