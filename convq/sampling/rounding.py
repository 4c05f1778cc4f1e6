r"""Affine changes of variables for the walks of :mod:`convq.sampling`: the Chebyshev
centre, rounding (making a skinny body near-isotropic) and equality constraints.

All three rest on one map :math:`x = Tz + c` (:class:`AffineMap`, :math:`T` of shape
(n, k) with independent columns). The body seen from :math:`z` is
:math:`K_z = \{z : Tz + c \in K\}` (:func:`affine_image`): a row :math:`a^\top x \le b`
becomes :math:`(T^\top a)^\top z \le b - a^\top c`, a box becomes rows (or stays a box
when :math:`T` is diagonal), and a ball :math:`|x - q| \le r` stays a ball when
:math:`T = sQ` with orthonormal columns :math:`Q`:

.. math:: |Tz + c - q|^2 = s^2\,|z - Q^\top(q - c)/s|^2 + |(I - QQ^\top)(q - c)|^2 .

The density of :math:`z` is :math:`F(Tz + c)` up to the constant :math:`|\det T|`
(:func:`affine_density`): a :class:`Gaussian` with mean :math:`\mu` and precision
:math:`P` becomes the Gaussian with precision :math:`T^\top P T` and mean
:math:`(T^\top P T)^{-1} T^\top P (\mu - c)` (so the C kernel still runs it), a uniform
law stays uniform, ``ExpNorm(c, 2)`` is the Gaussian with precision :math:`2cI`, and the
other densities become a :class:`LogDensity` evaluating :math:`\log F(Tz + c)`.

* Rounding (:func:`round_body`): L. Lovász and S. Vempala, "Simulated annealing in convex
  bodies and an O*(n^4) volume algorithm" (JCSS 72, 2006), section 4 ("Rounding"):
  bring the body to near-isotropic position by the covariance of samples. Here the first
  map is the Dikin ellipsoid of the log-barrier at the analytic centre (it lies in K and K
  lies in its m-fold enlargement for m linear constraints: Yu. Nesterov and A. Nemirovski,
  "Interior-point polynomial algorithms in convex programming", section 2.3), then
  ``refine`` rounds of sample-covariance rounding with coordinate hit-and-run.
* Equality constraints (:func:`reduce_equality`): :math:`\{x : Ex = f\} \cap K` is the
  image of :math:`K_w` under :math:`x = x_p + Nw` with :math:`N` an orthonormal basis of
  the null space of E (from the SVD) and :math:`x_p` the least-norm solution of
  :math:`Ex = f`; the uniform law (or F) on the slice is the image of the law of
  :math:`w`, because :math:`N` is an isometry onto the slice.

Every walk takes ``rounding=`` and ``equality=`` and returns samples in the original
coordinates (``Chain.map`` holds the map; the grid walk's ``indices``, ``offset`` and
``delta``, and the ball walk's ``delta``, are in the rounded coordinates :math:`z`).
"""
from __future__ import annotations

import numpy as np

from .._result import Result
from .._validation import as_matrix, as_vector, check_int
from ._checks import _fmt_vec
from .bodies import Ball, Box, Polytope, _Body, intersect
from .densities import ExpNorm, Gaussian, LogDensity, Uniform, _Density

__all__ = ["AffineMap", "Rounding", "chebyshev_center", "affine_image", "affine_density", "round_body",
           "reduce_equality"]


def chebyshev_center(body):
    r"""The Chebyshev centre of a convex body: the centre :math:`x` and radius :math:`r`
    of the largest ball inside K.

    For linear constraints :math:`a_k^\top x \le b_k` (polytopes, boxes and their
    intersections) it is the linear programme :math:`\max r` subject to
    :math:`a_k^\top x + r|a_k| \le b_k` (S. Boyd and L. Vandenberghe, "Convex
    Optimization", section 8.5.1), solved by HiGHS (``scipy.optimize.linprog``); with
    ball parts the constraints :math:`|x - q| + r \le \rho` make it a second-order cone
    programme, solved by SLSQP from each ball's centre. A lone box or ball is closed form.

    Parameters
    ----------
    body : Box, Ball, Polytope or intersect(...)

    Returns
    -------
    (center, radius) : (ndarray (n,), float)

    Example
    -------
    >>> from convq.sampling import Polytope, chebyshev_center
    >>> c, r = chebyshev_center(Polytope([[-1, 0], [0, -1], [1, 1]], [0, 0, 1]))
    >>> round(r, 4)   # the inradius of the right triangle with legs 1: (2 - sqrt 2) / 2
    0.2929
    """
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    body._usable()
    c, r = body._chebyshev()
    return np.array(c, dtype=float), float(r)


class AffineMap:
    r"""The affine map :math:`x = Tz + c` from :math:`\mathbb R^k` to :math:`\mathbb R^n`
    (``T`` of shape (n, k), rank k), as used by rounding and equality constraints.

    ``amap(z)`` maps rows of ``z``; :meth:`inverse` returns the least-squares
    :math:`z` (exact for points of the image); :meth:`compose` gives ``self`` after
    ``inner``.

    Example
    -------
    >>> import numpy as np
    >>> m = AffineMap(np.diag([2.0, 3.0]), [1.0, 0.0])
    >>> m([1.0, 1.0]).tolist(), m.inverse([3.0, 3.0]).tolist()
    ([3.0, 3.0], [1.0, 1.0])
    """

    def __init__(self, T, c):
        self.T = np.ascontiguousarray(as_matrix(T, "T"), dtype=float)
        self.c = as_vector(c, "c", size=self.T.shape[0])
        if np.linalg.matrix_rank(self.T) < self.T.shape[1]:
            raise ValueError(f"T must have independent columns (rank {self.T.shape[1]}), got rank "
                             f"{np.linalg.matrix_rank(self.T)}")

    @property
    def dim_in(self):
        return self.T.shape[1]

    @property
    def dim_out(self):
        return self.T.shape[0]

    def __call__(self, z):
        z = np.asarray(z, dtype=float)
        return z @ self.T.T + self.c

    def inverse(self, x):
        x = np.asarray(x, dtype=float)
        sol = np.linalg.lstsq(self.T, (x - self.c).reshape(-1, self.dim_out).T, rcond=None)[0].T
        return sol.reshape(x.shape[:-1] + (self.dim_in,))

    def compose(self, inner):
        """The map z -> self(inner(z))."""
        return AffineMap(self.T @ inner.T, self.T @ inner.c + self.c)

    def _similarity(self):
        """s when T = s Q with orthonormal columns Q, else None."""
        G = self.T.T @ self.T
        s2 = float(np.trace(G)) / G.shape[0]
        if s2 > 0 and np.allclose(G, s2 * np.eye(G.shape[0]), rtol=0, atol=1e-10 * s2):
            return np.sqrt(s2)
        return None

    def __repr__(self):
        return f"AffineMap(n={self.dim_out}, k={self.dim_in}, c={_fmt_vec(self.c)})"


class Rounding(Result):
    """The result of :func:`round_body` or :func:`reduce_equality`: ``body`` (the body in
    the new coordinates z), ``map`` (:class:`AffineMap`, x = map(z)), ``method`` and, for
    rounding, ``singular_values`` (of the final sample covariance, 1 for isotropic)."""

    _order = ("method", "map", "body", "singular_values")


def _check_map(amap):
    if not isinstance(amap, AffineMap):
        raise TypeError(f"amap must be an AffineMap, got {type(amap).__name__}")


def affine_image(body, amap):
    r"""The body :math:`K_z = \{z : \mathrm{amap}(z) \in K\}` (see the module docstring):
    rows map to rows, a box to a box when T is square diagonal (else to rows), a ball to
    a ball when T is a multiple of an isometry (else ``ValueError``)."""
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    _check_map(amap)
    T, c = amap.T, amap.c
    if T.shape[0] != body.dim:
        raise ValueError(f"the map's output dimension {T.shape[0]} differs from the body's dimension {body.dim}")
    k = T.shape[1]
    parts = []
    A, b = body._A, body._b
    diag = k == body.dim and np.count_nonzero(T - np.diag(np.diag(T))) == 0
    if body._lo is not None:
        if diag:
            t = np.diag(T)
            lo, hi = (body._lo - c) / t, (body._hi - c) / t
            parts.append(Box(np.minimum(lo, hi), np.maximum(lo, hi)))
        else:
            eye = np.eye(body.dim)
            A, b = np.vstack([A, eye, -eye]), np.concatenate([b, body._hi, -body._lo])
    if len(body._radii):
        s = amap._similarity()
        if s is None:
            raise ValueError("a body with a ball part maps to a ball only under x = s Q z + c with orthonormal Q; "
                             "this map is not of that form (round_body uses such a map for bodies with balls)")
        Q = T / s
        for q, r in zip(body._centers, body._radii):
            perp = (q - c) - Q @ (Q.T @ (q - c))
            r2 = r * r - float(perp @ perp)
            if r2 <= 0:
                raise ValueError(f"the ball of centre {_fmt_vec(q)} and radius {r:.4g} does not meet the image of "
                                 "the map in a set with interior (the equality slice misses it)")
            parts.append(Ball(Q.T @ (q - c) / s, np.sqrt(r2) / s))
    if len(b):
        Az, bz = A @ T, b - A @ c
        nrm = np.linalg.norm(Az, axis=1)
        tiny = nrm <= 1e-12 * np.maximum(1.0, np.linalg.norm(A, axis=1))
        if np.any(tiny & (bz < 0)):
            raise ValueError("the map's image misses the body: a constraint constant on the image is violated")
        Az, bz = Az[~tiny], bz[~tiny]
        if len(bz):
            parts.append(Polytope(Az, bz, allow_unbounded=bool(parts)))
    if not parts:
        raise ValueError("the map's image is unbounded in the body (no constraint depends on z)")
    return intersect(*parts)


def affine_density(density, amap):
    r"""The density of :math:`z` when :math:`x = Tz + c` has density F: :math:`F(Tz + c)`
    up to a constant; built-in kinds stay built-in where the family is closed under the
    map (Uniform, Gaussian, ``ExpNorm(c, 2)``), the others become a :class:`LogDensity`."""
    if not isinstance(density, _Density):
        raise TypeError(f"density must be a convq.sampling density, got {type(density).__name__}")
    _check_map(amap)
    T, c = amap.T, amap.c
    if isinstance(density, Uniform):
        return Uniform()
    if isinstance(density, ExpNorm) and density.power == 2:
        density = Gaussian(np.zeros(amap.dim_out), precision=2.0 * density.c * np.eye(amap.dim_out))
    if isinstance(density, Gaussian):
        P = T.T @ density.precision @ T
        P = 0.5 * (P + P.T)
        mean = np.linalg.solve(P, T.T @ (density.precision @ (density.mean - c)))
        return Gaussian(mean, precision=P)
    inner = density

    def grad(z):
        g = inner.grad(amap(z))
        return None if g is None else g @ T

    has_grad = not isinstance(inner, LogDensity) or inner._grad is not None
    return LogDensity(lambda z: inner.logpdf(amap(z)), dim=amap.dim_in, grad=grad if has_grad else None)


def reduce_equality(body, E, f):
    r"""The slice :math:`\{x : Ex = f\} \cap K` as a full-dimensional body in
    :math:`w`, :math:`x = x_p + Nw` (see the module docstring).

    Parameters
    ----------
    body : Box, Ball, Polytope or intersect(...)
    E : array_like (p, n)
    f : array_like (p,)

    Returns
    -------
    Rounding
        ``body`` (in w, dimension n - rank E) and ``map`` (w -> x).

    Raises ``ValueError`` when :math:`Ex = f` has no solution, when it fixes x (rank n),
    or when the slice has empty relative interior in K.

    Example
    -------
    >>> import numpy as np
    >>> from convq.sampling import Box, reduce_equality
    >>> red = reduce_equality(Box(np.zeros(3), np.ones(3)), np.ones((1, 3)), [1.0])
    >>> red.body.dim
    2
    """
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    n = body.dim
    E = as_matrix(E, "E")
    if E.shape[1] != n:
        raise ValueError(f"E must have {n} columns (the body's dimension), got shape {E.shape}")
    f = as_vector(f, "f", size=E.shape[0])
    U, sv, Vt = np.linalg.svd(E)
    tol = max(E.shape) * np.finfo(float).eps * (sv[0] if sv.size else 0.0)
    r = int(np.sum(sv > tol))
    if r >= n:
        raise ValueError(f"E has rank {r} = n: the equality constraints fix x, nothing is left to sample")
    xp = np.linalg.lstsq(E, f, rcond=None)[0]
    res = float(np.linalg.norm(E @ xp - f))
    if res > 1e-9 * (1.0 + float(np.linalg.norm(f))):
        raise ValueError(f"E x = f has no solution (least-squares residual {res:.3g})")
    N = Vt[r:].T
    amap = AffineMap(N, xp)
    return Rounding(method="equality", map=amap, body=affine_image(body, amap))


def _analytic_center(A, b, x):
    """Damped Newton on -sum log(b - A x) from the interior point x; returns (x, Hessian)."""
    for _ in range(100):
        s = b - A @ x
        As = A / s[:, None]
        g = As.sum(axis=0)
        H = As.T @ As
        dx = -np.linalg.solve(H, g)
        lam = float(np.sqrt(max(-(g @ dx), 0.0)))
        x = x + (1.0 if lam < 0.25 else 1.0 / (1.0 + lam)) * dx
        if lam < 1e-9:
            break
    s = b - A @ x
    As = A / s[:, None]
    return x, As.T @ As


def round_body(body, *, refine=2, n_samples=None, rng=0, threads=None):
    r"""An affine map :math:`x = Tz + c` that puts the body in near-isotropic position
    (the uniform law on :math:`K_z` has mean near 0 and covariance near a multiple of I).

    Linear bodies (boxes, polytopes and their intersections): the Dikin ellipsoid
    :math:`\{x : (x - x_a)^\top H (x - x_a) \le 1\}` of the log-barrier
    :math:`-\sum_k \log(b_k - a_k^\top x)` at its minimiser, the analytic centre
    :math:`x_a` (Newton's method from the Chebyshev centre), is inside K and K is inside
    its m-fold enlargement (Nesterov and Nemirovski, "Interior-point polynomial algorithms
    in convex programming", section 2.3); :math:`T = L^{-\top}` with
    :math:`H = LL^\top` maps it to the unit ball. Then ``refine`` rounds of the
    sample-covariance rounding of Lovász and Vempala ("Simulated annealing in convex
    bodies and an O*(n^4) volume algorithm", section 4): draw ``n_samples`` points of the
    uniform law on the current :math:`K_z` by coordinate hit-and-run (thinned by 10 n),
    and replace :math:`T, c` by :math:`TL_\Sigma, c + T\bar z` with
    :math:`\Sigma = L_\Sigma L_\Sigma^\top` the sample covariance. A lone box is closed
    form (T = half-sides, c = centre). Bodies with ball parts get the similarity
    :math:`T = rI` about the Chebyshev centre (a ball stays a ball only under
    similarities; see :func:`affine_image`).

    Parameters
    ----------
    body : Box, Ball, Polytope or intersect(...)
    refine : int >= 0
        Rounds of sample-covariance rounding after the Dikin ellipsoid.
    n_samples : int, optional
        Samples per round (default max(500, 20 n)).
    rng : None, int or Generator
        Seed of the hit-and-run runs (the map is deterministic for a seed).
    threads : int or None
        Threads for those runs (results do not depend on it).

    Returns
    -------
    Rounding
        ``body`` (:math:`K_z`), ``map`` (z -> x), ``method``, ``singular_values``
        (eigenvalues of the last sample covariance in the previous coordinates).

    Example
    -------
    >>> import numpy as np
    >>> from convq.sampling import Polytope, round_body, hit_and_run, Uniform
    >>> A = np.vstack([np.eye(2), -np.eye(2)]) @ np.diag([1.0, 100.0])   # a 2 x 0.02 box
    >>> rd = round_body(Polytope(A, np.ones(4)))
    >>> ch = hit_and_run(Uniform(), Polytope(A, np.ones(4)), n_steps=200, rounding=rd, rng=1)
    """
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    body._usable()
    refine = check_int(refine, "refine", minimum=0)
    n = body.dim
    n_samples = max(500, 20 * n) if n_samples is None else check_int(n_samples, "n_samples", minimum=n + 2)
    if isinstance(body, Box):
        amap = AffineMap(np.diag(0.5 * (body.hi - body.lo)), 0.5 * (body.hi + body.lo))
        return Rounding(method="box", map=amap, body=affine_image(body, amap), singular_values=np.ones(n))
    c, r = body._chebyshev()
    if len(body._radii):
        amap = AffineMap(r * np.eye(n), c)
        return Rounding(method="similarity", map=amap, body=affine_image(body, amap), singular_values=None)
    from .._rng import as_generator
    from .walks import hit_and_run
    gen = as_generator(rng)
    A, b = body._linear_rows()
    xa, H = _analytic_center(A, b, np.asarray(c, dtype=float))
    L = np.linalg.cholesky(H)
    amap = AffineMap(np.linalg.inv(L).T, xa)
    zbody = affine_image(body, amap)
    sv = None
    for _ in range(refine):
        chains = 4
        per = -(-n_samples // chains)
        thin = 10 * n
        ch = hit_and_run(Uniform(), zbody, None, per * thin, n_chains=chains, thin=thin, burn_in=thin,
                         direction="coordinate", rng=gen, threads=threads)
        z = ch.samples.reshape(-1, n)
        cov = np.cov(z, rowvar=False)
        sv = np.linalg.eigvalsh(cov)
        step = AffineMap(np.linalg.cholesky(cov), z.mean(axis=0))
        amap = amap.compose(step)
        zbody = affine_image(body, amap)
    return Rounding(method="dikin+covariance" if refine else "dikin", map=amap, body=zbody, singular_values=sv)


def _resolve(density, body, rounding, equality):
    """(density_z, body_z, map) for a walk called with rounding= / equality=."""
    amap = None
    if equality is not None:
        if not (isinstance(equality, (tuple, list)) and len(equality) == 2):
            raise TypeError(f"equality must be a pair (E, f), got {type(equality).__name__}")
        red = reduce_equality(body, *equality)
        amap, body = red.map, red.body
    if isinstance(rounding, (bool, np.bool_)):
        rd = round_body(body) if rounding else None
    elif isinstance(rounding, Rounding):
        rd = rounding
    elif isinstance(rounding, AffineMap):
        rd = Rounding(method="given", map=rounding, body=affine_image(body, rounding))
    else:
        raise TypeError(f"rounding must be True, False, a Rounding (round_body) or an AffineMap, "
                        f"got {type(rounding).__name__}")
    if rd is not None:
        if rd.map.dim_out != body.dim:
            raise ValueError(f"rounding maps to dimension {rd.map.dim_out}, the body (after equality constraints) "
                             f"has dimension {body.dim}")
        amap = rd.map if amap is None else amap.compose(rd.map)
        body = rd.body
    return affine_density(density, amap), body, amap


def wanted(rounding, equality):
    """Whether a walk was asked for an affine change of variables."""
    off = rounding is None or (isinstance(rounding, (bool, np.bool_)) and not rounding)
    return not off or equality is not None


def affine_walk(walk, density, body, rounding, equality, x0, kwargs):
    """Run ``walk`` on the problem in z and map the chain back to x (see the module docstring)."""
    dz, bz, amap = _resolve(density, body, rounding, equality)
    z0 = None
    if x0 is not None:
        x0 = np.asarray(x0, dtype=float)
        if x0.shape[-1] != amap.dim_out:
            raise ValueError(f"x0 must have {amap.dim_out} columns (the body's dimension), got shape {x0.shape}")
        z0 = amap.inverse(x0)
    chain = walk(dz, bz, x0=z0, **kwargs)
    chain.samples = amap(chain.samples)
    if chain.get("start") is not None:
        chain.start = amap(chain.start)
    chain.map = amap
    return chain
