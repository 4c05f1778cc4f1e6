r"""Convex bodies for :mod:`convq.sampling`: :class:`Box`, :class:`Ball`, :class:`Polytope`
and their intersections (:func:`intersect`).

A body is :math:`K = \text{box} \cap \text{balls} \cap \{x : Ax \le b\}`. Besides
membership it defines the grid set of the Frieze-Kannan walk (A. Frieze and R. Kannan,
"Log-Sobolev inequalities and sampling from log-concave distributions", section 1): the
centres :math:`x \in \delta\mathbb Z^n + \mathrm{offset}` whose cube :math:`C(x)` of side
:math:`\delta` meets K (:meth:`_Body.grid_contains`).

The membership and grid tests here are NumPy; the C kernel evaluates the same tests
incrementally (``csrc/sampling/cq_smp_body.h``) and its twin, evaluating them in the
kernel's order, is in :mod:`convq.slow.sampling`.
"""
from __future__ import annotations

import numpy as np

from .._optional import import_optional
from .._spec import BodySpec
from .._validation import as_float_array, as_matrix, as_vector, check_positive
from ._checks import _check_flag, _fmt_vec

__all__ = ["Box", "Ball", "Polytope", "Intersection", "intersect"]


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
        return BodySpec(lo=self._lo, hi=self._hi, centers=self._centers, radii=self._radii, A=self._A, AT=self._AT,
                        b=self._b, exact_cube=int(self.exact_cube))

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
        return self._chebyshev()[0]

    def _chebyshev(self):
        """(centre, radius) of the largest ball inside K (see :func:`convq.sampling.chebyshev_center`)."""
        if self.exact_cube:
            if self._lo is not None:
                return 0.5 * (self._lo + self._hi), float(np.min(self._hi - self._lo)) / 2
            return self._centers[0].copy(), float(self._radii[0])
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
            return res.x[:n], float(res.x[-1])

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
        return best[0], float(best[1])

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
