r"""The quantities of Theorem 1 of A. Frieze and R. Kannan, "Log-Sobolev inequalities and
sampling from log-concave distributions" (Annals of Applied Probability 9(1), 1999),
sections 1 and 2, computed from the problem (density F, body K, cube side delta, start
law p_0):

- condition (1), section 1: the smallest :math:`\alpha` with
  :math:`(1+\alpha)^{-1}F(x) \le F(y) \le (1+\alpha)F(x)` for every centre
  :math:`x \in C` and :math:`y \in C(x) \cap K` (:func:`condition1_alpha`), and the
  paper's Lipschitz form :math:`e^{M\delta} - 1`;
- the cubes :math:`C_u = \{x \in C : \mathrm{vol}(C(x)\cap K) \ge u\delta^n\}`
  (:func:`C_u`), the boundary mass :math:`\pi_u = \sum_{x \notin C_u}\pi(x)`
  (:func:`p_u`) and :math:`M = \max_x f_0(x)\log f_0(x)`, :math:`f_0 = p_0/\pi`
  (:func:`initial_M`);
- the bound of Theorem 1 (:func:`theorem1_bound`), derived from the paper's (2), (3) and
  (16), and the same bound with every constant computed from the problem
  (:func:`theorem1_bound_for`).
"""
from __future__ import annotations

import math

import numpy as np

from .._result import Result
from .._rng import as_generator
from .._validation import as_float_array, as_vector, check_int, check_positive, check_real
from .bodies import _Body
from .densities import ExpNorm, Gaussian, LogDensity, LogisticPosterior, Uniform
from .exact import GridDistribution, _grid_candidates, exact_grid_distribution, spectral_gap, transition_matrix
from .walks import _check_pair

__all__ = ["condition1_alpha", "C_u", "CubeSet", "p_u", "initial_M", "theorem1_bound", "theorem1_bound_for",
           "Theorem1Bound"]


def _grid(density, body, delta, offset, max_cells):
    """The checked problem and its grid set C: (n, delta, offset, grid indices, centres)."""
    if density is not None:
        n = _check_pair(density, body)
    elif not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    else:
        body._usable()
        n = body.dim
    delta = check_positive(delta, "delta")
    offset = body.start_point() if offset is None else as_vector(offset, "offset", size=n)
    k, _, _ = _grid_candidates(body, delta, offset, check_int(max_cells, "max_cells", minimum=1))
    centres = offset + k * delta
    keep = body._grid_contains(centres, delta)
    if not keep.any():
        raise ValueError("the grid set C is empty")
    return n, delta, offset, k[keep], centres[keep]


def _lone(body):
    """'box' or 'ball' for a lone Box or Ball (C holds every cube meeting K), else None."""
    if not body.exact_cube:
        return None
    return "box" if body._lo is not None else "ball"


def _radial(density, body):
    """For a lone Ball: (a, b) with log F(y) = -a |y - centre|^b when F is radial about the
    ball's centre (ExpNorm about 0 with the ball at 0, or an isotropic Gaussian at the
    centre), else None."""
    c = body._centers[0]
    if isinstance(density, ExpNorm) and not np.any(c):
        return density.c, density.power
    if isinstance(density, Gaussian) and np.array_equal(density.mean, c):
        P = density.precision
        if density._diag and np.all(np.diag(P) == P[0, 0]):
            return 0.5 * P[0, 0], 2
    return None


def _log_range(density, body, centres, delta):
    """Exact min and max of log F over C(x) ∩ K for every centre x (closed forms), or None
    when the pair is not covered: Uniform anywhere; on a lone Box (C(x) ∩ K is the box
    [a, b]) a Gaussian with diagonal precision (separable: the max at clip(mu, a, b), the
    min at the corner farthest from mu) or ExpNorm (|y| is smallest at clip(0, a, b) and
    largest at the corner farthest from 0, and log F = -c|y|^p is monotone in |y|); on a
    lone Ball a density radial about its centre (|y - centre| ranges from the distance of
    the cube to the centre, which is < r since the cube meets K, to min(r, the farthest
    corner's distance), since the convex set C(x) ∩ K reaches the sphere when the cube
    leaves the ball)."""
    m = len(centres)
    if isinstance(density, Uniform):
        return np.zeros(m), np.zeros(m)
    h = 0.5 * delta
    kind = _lone(body)
    if kind == "box":
        a, b = np.maximum(centres - h, body._lo), np.minimum(centres + h, body._hi)
        if isinstance(density, Gaussian) and density._diag:
            mu, p = density.mean, np.diag(density.precision)
            near = np.clip(mu, a, b) - mu
            far = np.maximum(np.abs(a - mu), np.abs(b - mu))
            return -0.5 * (far * far) @ p, -0.5 * (near * near) @ p
        if isinstance(density, ExpNorm):
            rmin = np.linalg.norm(np.clip(0.0, a, b), axis=1)
            rmax = np.linalg.norm(np.maximum(np.abs(a), np.abs(b)), axis=1)
            return -density.c * rmax ** density.power, -density.c * rmin ** density.power
        return None
    if kind == "ball":
        rad = _radial(density, body)
        if rad is None:
            return None
        v = centres - body._centers[0]
        rmin = np.linalg.norm(np.maximum(np.abs(v) - h, 0.0), axis=1)
        rmax = np.minimum(np.linalg.norm(np.abs(v) + h, axis=1), body._radii[0])
        return -rad[0] * rmax ** rad[1], -rad[0] * rmin ** rad[1]
    return None


def _lipschitz_inf(density, lo, hi):
    r"""An upper bound M on :math:`\sup_{y \in [lo, hi]}\|\nabla\log F(y)\|_1`, the
    Lipschitz constant of log F in the max-norm on the box (the 1-norm is its dual);
    exact for Uniform, Gaussian and ExpNorm with power 2 (the gradient is affine:
    :math:`\sup|P_j\cdot(y-\mu)| = |P_j\cdot(c-\mu)| + \sum_k|P_{jk}|w_k` on the box of
    centre c and half-widths w), :math:`c\sqrt n` for ExpNorm with power 1, and
    :math:`\sum_{ij}|X_{ij}| + \sup\|\Lambda y\|_1` for LogisticPosterior."""
    c, w = 0.5 * (lo + hi), 0.5 * (hi - lo)

    def affine(P, mu):
        return float(np.sum(np.abs(P @ (c - mu)) + np.abs(P) @ w))
    if isinstance(density, Uniform):
        return 0.0
    if isinstance(density, Gaussian):
        return affine(density.precision, density.mean)
    if isinstance(density, ExpNorm):
        if density.power == 2:
            return affine(2 * density.c * np.eye(len(lo)), np.zeros(len(lo)))
        return density.c * math.sqrt(len(lo))
    if isinstance(density, LogisticPosterior):
        return float(np.abs(density.X).sum()) + affine(density.prior_precision, np.zeros(len(lo)))
    raise ValueError(f"condition1_alpha(method='lipschitz') needs a Lipschitz constant of log F, which a LogDensity "
                     f"does not give; got density={density!r}")


def condition1_alpha(density, body, delta, offset=None, *, method="exact", max_cells=10**6):
    r"""The constant :math:`\alpha` of condition (1) of Frieze and Kannan (section 1):

    .. math:: (1+\alpha)^{-1}F(x) \le F(y) \le (1+\alpha)F(x)
              \qquad \text{for every } x \in C,\ y \in C(x)\cap K,

    so :math:`\log(1+\alpha) = \max_{x\in C}\max_{y\in C(x)\cap K}|\log F(y) - \log F(x)|`.

    ``method="exact"`` returns this smallest :math:`\alpha`: the grid set C is enumerated
    and the extremes of log F over each :math:`C(x)\cap K` come from closed forms, for
    :class:`Uniform` on any body (0), for a :class:`Gaussian` with diagonal precision or
    :class:`ExpNorm` on a lone :class:`Box` (:math:`C(x)\cap K` is a box; the Gaussian is
    separable, with its maximum at the clipped mean and its minimum at the farthest
    corner; :math:`-c|y|^p` is monotone in :math:`|y|`, whose extremes on a box are the
    clipped origin and the farthest corner) and for a density radial about the centre of
    a lone :class:`Ball` (ExpNorm with the ball at the origin, an isotropic Gaussian at
    the ball's centre: :math:`|y - c|` over the convex set :math:`C(x)\cap K` ranges from
    the cube's distance to :math:`c` to :math:`\min(r, \text{farthest corner})`). Other
    pairs raise ``ValueError``.

    ``method="lipschitz"`` returns the paper's alternative :math:`e^{M\delta} - 1`, with
    M the Lipschitz constant of :math:`\log F` in the max-norm (:math:`|\log F(x) - \log
    F(y)| \le M|x - y|_\infty`), bounded by :math:`\sup\|\nabla\log F\|_1` over the
    bounding box of K grown by :math:`\delta/2` (every cube of C lies in it): exact for
    Uniform, Gaussian and ExpNorm with power 2, :math:`c\sqrt n` for ExpNorm with power 1,
    a bound for LogisticPosterior. It is an upper bound on the exact value (already
    :math:`e^{M\delta/2} - 1` would do, as :math:`|y - x|_\infty \le \delta/2` in a cube).

    Parameters
    ----------
    density, body, delta : as in :func:`grid_walk`
    offset : array_like, optional
        Grid offset; default ``body.start_point()`` (as :func:`exact_grid_distribution`).
    method : {"exact", "lipschitz"}
    max_cells : int
        Refuse bounding-box grids larger than this (``"exact"`` enumerates C).

    Returns
    -------
    float
        :math:`\alpha \ge 0`.

    Examples
    --------
    >>> import numpy as np, convq.sampling as S
    >>> a = S.condition1_alpha(S.Gaussian(np.zeros(2)), S.Box([-1, -1], [1, 1]), 0.1)
    >>> bool(0 < a < S.condition1_alpha(S.Gaussian(np.zeros(2)), S.Box([-1, -1], [1, 1]), 0.1,
    ...                                method="lipschitz"))
    True
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be 'exact' or 'lipschitz', got {type(method).__name__}")
    if method not in ("exact", "lipschitz"):
        raise ValueError(f"method must be 'exact' or 'lipschitz', got {method!r}")
    _check_pair(density, body)
    if method == "lipschitz":
        delta = check_positive(delta, "delta")
        lo, hi = body.bounding_box()
        return math.expm1(_lipschitz_inf(density, lo - 0.5 * delta, hi + 0.5 * delta) * delta)
    _, delta, _, _, centres = _grid(density, body, delta, offset, max_cells)
    rng = _log_range(density, body, centres, delta)
    if rng is None:
        raise ValueError("condition1_alpha(method='exact') is exact for Uniform on any body, a Gaussian with diagonal "
                         "precision or ExpNorm on a lone Box, and a density radial about the centre of a lone Ball; "
                         f"got density={density!r} on body={body!r}: use method='lipschitz' (an upper bound)")
    lx = density.logpdf(centres)
    dev = np.maximum(rng[1] - lx, lx - rng[0])
    return math.expm1(max(0.0, float(dev.max())))


class CubeSet(Result):
    r"""The cubes of the grid set C with their share of K (:func:`C_u`).

    Attributes
    ----------
    indices, centers : ndarray
        Grid indices and centres of every cube of C (the order of
        :func:`exact_grid_distribution`).
    volume_fraction : ndarray
        :math:`\mathrm{vol}(C(x)\cap K)/\delta^n` (exact, or a Monte Carlo estimate).
    error : ndarray
        Half-width of the estimate's confidence interval at level ``1 - 1e-6`` per cube
        (Hoeffding); 0 where exact.
    in_C_u : ndarray of bool
        :math:`x \in C_u`, counted only when certain: ``volume_fraction - error >= u``.
    u : float
    exact : bool
        Every fraction is exact.
    """

    _order = ("u", "exact", "in_C_u", "volume_fraction", "error", "indices", "centers")


_MC_CONFIDENCE = 1e-6


def _volume_fractions(body, centres, delta, n_mc, gen):
    """vol(C(x) ∩ K)/delta^n per centre and the half-width of its error: exact for a lone
    Box (a product of overlaps) and for the cubes of a lone Ball that lie inside it (all
    corners within r); otherwise the fraction of n_mc uniform points of the cube in K,
    with Hoeffding's half-width sqrt(log(2/eps)/(2 n_mc)) at eps = 1e-6."""
    h = 0.5 * delta
    m, n = centres.shape
    frac, err = np.ones(m), np.zeros(m)
    kind = _lone(body)
    if kind == "box":
        over = np.minimum(centres + h, body._hi) - np.maximum(centres - h, body._lo)
        return np.prod(np.clip(over / delta, 0.0, 1.0), axis=1), err
    todo = np.arange(m)
    if kind == "ball":
        far = np.linalg.norm(np.abs(centres - body._centers[0]) + h, axis=1)
        todo = np.flatnonzero(far > body._radii[0])
    half = math.sqrt(math.log(2 / _MC_CONFIDENCE) / (2 * n_mc))
    for i in todo:
        z = centres[i] + delta * (gen.random((n_mc, n)) - 0.5)
        frac[i], err[i] = body._contains(z).mean(), half
    return frac, err


def C_u(body, delta, u, offset=None, *, n_mc=4096, rng=0, max_cells=10**6):
    r"""The cubes :math:`C_u = \{x \in C : \mathrm{vol}(C(x)\cap K) \ge u\,\delta^n\}` of
    Frieze and Kannan (section 1, before Theorem 1), whose complement carries the
    boundary mass :math:`\pi_u` of Theorem 1 (:func:`p_u`).

    The fraction :math:`\mathrm{vol}(C(x)\cap K)/\delta^n` is exact for a lone
    :class:`Box` (the product of the per-axis overlaps) and for the cubes of a lone
    :class:`Ball` that lie inside it; otherwise it is estimated from ``n_mc`` uniform
    points of the cube, with error at most ``error`` (Hoeffding,
    :math:`\sqrt{\log(2/\epsilon)/(2 n_{mc})}`) with probability :math:`1-\epsilon`,
    :math:`\epsilon = 10^{-6}`, per cube. A cube counts in :math:`C_u` only when
    ``volume_fraction - error >= u``, so :math:`\pi_u` computed from it is an upper bound
    (with that probability), which keeps Theorem 1's bound valid.

    Parameters
    ----------
    body, delta : as in :func:`grid_walk`
    u : float in [0, 1]
    offset : array_like, optional
        Grid offset; default ``body.start_point()``.
    n_mc : int
        Monte Carlo points per cube where the fraction is not exact.
    rng : None, int or numpy.random.Generator
        For the Monte Carlo points (default: seed 0, reproducible).
    max_cells : int
        Refuse bounding-box grids larger than this.

    Returns
    -------
    CubeSet

    Examples
    --------
    >>> import convq.sampling as S
    >>> cs = S.C_u(S.Box([0.0], [1.0]), 0.1, 0.5, offset=[0.545])
    >>> cs.volume_fraction.round(2).tolist()[-2:], int(cs.in_C_u.sum())
    ([1.0, 0.05], 10)
    """
    n, delta, offset, k, centres = _grid(None, body, delta, offset, max_cells)
    u = _unit(u, "u", low_open=False)
    frac, err = _volume_fractions(body, centres, delta, check_int(n_mc, "n_mc", minimum=1), as_generator(rng))
    return CubeSet(u=u, exact=bool(not err.any()), in_C_u=frac - err >= u, volume_fraction=frac, error=err,
                   indices=k, centers=centres)


def _unit(v, name, low_open=True):
    v = check_real(v, name)
    if not ((0 < v) if low_open else (0 <= v)) or v > 1:
        raise ValueError(f"{name} must be in {'(0' if low_open else '[0'}, 1], got {v}")
    return v


def p_u(density, body, delta, u, offset=None, *, n_mc=4096, rng=0, max_cells=10**6):
    r"""The boundary mass :math:`\pi_u = \sum_{x \in C\setminus C_u}\pi(x)` of Theorem 1
    (Frieze and Kannan, section 1): the stationary mass :math:`\pi(x) = F(x)/D` of the
    cubes with :math:`\mathrm{vol}(C(x)\cap K) < u\,\delta^n` (:func:`C_u`; exact for a
    lone Box, an upper bound with probability :math:`1 - 10^{-6}` per cube otherwise).
    The mass of :math:`C_u` itself is ``1 - p_u(...)``.

    Parameters are those of :func:`C_u` plus ``density``.

    Examples
    --------
    >>> import convq.sampling as S
    >>> round(S.p_u(S.Uniform(), S.Box([0.0], [1.0]), 0.1, 0.5, offset=[0.545]), 4)  # 1 of 11 cubes
    0.0909
    """
    _check_pair(density, body)
    dist = exact_grid_distribution(density, body, delta, offset, max_cells=max_cells)
    return _p_u_of(dist, body, u, n_mc, rng)


def _p_u_of(dist, body, u, n_mc, rng):
    u = _unit(u, "u", low_open=False)
    frac, err = _volume_fractions(body, dist.centers, dist.delta, check_int(n_mc, "n_mc", minimum=1),
                                  as_generator(rng))
    return float(dist.probs[frac - err < u].sum())


def _law(p, name, m):
    p = as_vector(p, name, size=m)
    if np.any(p < 0) or abs(p.sum() - 1) > 1e-9:
        raise ValueError(f"{name} must be a probability vector (entries >= 0 summing to 1), got entries in "
                         f"[{p.min():.4g}, {p.max():.4g}] summing to {p.sum():.12g}")
    return p


def initial_M(p0, pi):
    r""":math:`M = \max_x f_0(x)\log f_0(x)`, :math:`f_0 = p_0/\pi`, of Theorem 1 (Frieze
    and Kannan, section 1): the largest density ratio of the start law, which bounds
    :math:`\max_x f_t\log f_t` at every later time (the paper's (15): :math:`f_t =
    e^{-t(I-P)}f_0` is an average of :math:`f_0`).

    Parameters
    ----------
    p0 : array_like
        The start law on C (same order as ``pi``).
    pi : GridDistribution or array_like
        The stationary law.

    Examples
    --------
    >>> import numpy as np, convq.sampling as S
    >>> round(S.initial_M([1.0, 0.0], [0.5, 0.5]), 6)  # f_0 = (2, 0): 2 log 2
    1.386294
    """
    pi = _law(pi.probs if isinstance(pi, GridDistribution) else pi, "pi", None)
    p0 = _law(p0, "p0", pi.size)
    if np.any(pi <= 0):
        raise ValueError("pi must be > 0 everywhere")
    f0 = p0 / pi
    return float(np.max(np.where(f0 > 0, f0 * np.log(np.where(f0 > 0, f0, 1.0)), 0.0)))


def theorem1_bound(t, n, delta, diameter, p_min, *, u=0.1, M_pi_u=0.0, gamma=1.0):
    r"""The bound of Theorem 1 of Frieze and Kannan (section 1) on the continuous-time
    grid walk, :math:`p_t = p_0 e^{-t(I-P)}`:

    .. math:: \|p_t - \pi\|_{TV} \le \Bigl(2 e^{-\beta t}\log\frac1{p_\#}
              + \frac{2M\pi_u}{\beta}\Bigr)^{1/2}, \qquad
              \beta = \frac{\gamma u\,\delta^2}{n d^2},

    for :math:`d \ge \delta\sqrt n`, with the paper's norm
    :math:`\|\mu-\pi\|_{TV} = \sum_x|\mu(x)-\pi(x)|` (twice :func:`tv_distance`),
    :math:`p_\# = \min_x\pi(x)` and :math:`M\pi_u` given as one number (``M_pi_u``).

    Derivation, step by step (section 2 of the paper):

    1. (16): :math:`\mathrm{Ent}_\pi(p_t) \le e^{-\beta t}\mathrm{Ent}_\pi(p_0) +
       M\pi_u/\beta` with :math:`\beta = A_1u\delta^2/(A_2nd^2)`: the entropy decays at
       rate :math:`\beta` on the cubes of :math:`C_u` ((14), from the log-Sobolev
       inequality (6), the comparison (9) of the Dirichlet form with the integral
       :math:`I_\epsilon`, (11) and Theorem 2, which needs :math:`d \ge \delta\sqrt n`),
       and the boundary part is at most :math:`M\pi_u` at every time ((15)); integrating
       :math:`\frac{d}{dt}\mathrm{Ent} \le -\beta\,\mathrm{Ent} + \beta M\pi_u` gives
       (16). :math:`\gamma = A_1/A_2` is the paper's absolute constant; it is not given
       numerically, and :math:`A_1` carries the factors :math:`1+\alpha` of condition
       (1) that the paper takes as constant. ``gamma`` is therefore an input (see
       :func:`theorem1_bound_for`, which certifies a value on small grids).
    2. (2): :math:`\mathrm{Ent}_\pi(p_0) = \sum_x p_0(x)\log\frac{p_0(x)}{\pi(x)} \le
       \sum_x p_0(x)\log\frac1{\pi(x)} \le \log\frac1{p_\#}`.
    3. (3), Diaconis and Saloff-Coste's (2.8) (Pinsker's inequality): for the paper's
       norm :math:`\sum_x|\cdot|`, :math:`\|\mu - \pi\|_{TV}^2 \le 2\,\mathrm{Ent}_\pi(\mu)`.
    4. Put 2 into 1 and take the square root in 3: the display above.

    Parameters
    ----------
    t : float or array_like
        Times >= 0 (continuous time: Exp(1) holding times, ``continuous_time=True``).
    n : int
        Dimension.
    delta, diameter : float
        Cube side and the diameter d of K (an upper bound is fine: the bound grows with d).
    p_min : float in (0, 1]
        :math:`p_\# = \min_x\pi(x)`.
    u : float in (0, 1]
        The threshold of :math:`C_u`.
    M_pi_u : float >= 0
        :math:`M\pi_u` (:func:`initial_M` times :func:`p_u`).
    gamma : float > 0
        The paper's absolute constant.

    Raises ``ValueError`` when :math:`d < \delta\sqrt n` (the hypothesis of Theorem 1)
    or any t < 0; the message names the argument, what was expected and the value.

    Examples
    --------
    >>> import convq.sampling as S
    >>> b = S.theorem1_bound([0.0, 1e6], n=2, delta=0.1, diameter=2.0, p_min=1e-3)
    >>> bool(b[0] > b[1])
    True
    """
    scalar = np.ndim(t) == 0
    t = as_float_array(t, "t")
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (a time), got {float(t.min())}")
    n = check_int(n, "n", minimum=1)
    delta = check_positive(delta, "delta")
    d = check_positive(diameter, "diameter")
    if d < delta * math.sqrt(n):
        raise ValueError(f"Theorem 1 assumes diameter >= delta * sqrt(n) = {delta * math.sqrt(n):.6g} "
                         f"(delta={delta:.6g}, n={n}), got diameter={d:.6g}")
    p_min = _unit(p_min, "p_min")
    u = _unit(u, "u")
    M = check_positive(M_pi_u, "M_pi_u", allow_zero=True)
    gamma = check_positive(gamma, "gamma")
    beta = gamma * u * delta ** 2 / (n * d ** 2)
    out = np.sqrt(2 * np.exp(-beta * t) * math.log(1 / p_min) + 2 * M / beta)
    return float(out.reshape(-1)[0]) if scalar else out


class Theorem1Bound(Result):
    r"""Theorem 1's bound with the constants it was computed from (:func:`theorem1_bound_for`).

    Attributes
    ----------
    bound : float or ndarray
        The bound on :math:`\sum_x|p_t(x) - \pi(x)|` at each t.
    t : ndarray
    beta : float
        The decay rate :math:`\gamma u\delta^2/(nd^2)` of the entropy.
    alpha : float
        Condition (1)'s constant (exact where :func:`condition1_alpha` is, else the
        Lipschitz form; NaN for a LogDensity); ``alpha_method`` says which.
    p_u, M, p_min, diameter, u, gamma, n, delta, n_cells :
        The constants of the theorem and the grid's size.
    spectral_gap, log_sobolev_lower : float or None
        On grids of at most 4000 cells: the gap :math:`\lambda` of :math:`I - P` and
        Diaconis and Saloff-Coste's lower bound
        :math:`\rho \ge \lambda(1-2p_\#)/\log(1/p_\# - 1)` on the log-Sobolev constant.
    certified : bool or None
        ``beta <= 4 * log_sobolev_lower``: then :math:`\mathrm{Ent}_\pi(p_t) \le
        e^{-4\rho t}\mathrm{Ent}_\pi(p_0) \le e^{-\beta t}\log(1/p_\#)` by (6) and (2),
        and the bound holds on this problem with this ``gamma`` (None: grid too large
        to check).
    """

    _order = ("bound", "t", "certified", "beta", "gamma", "alpha", "alpha_method", "p_u", "M", "p_min", "diameter",
              "u", "n", "delta", "n_cells", "spectral_gap", "log_sobolev_lower")


_CERTIFY_CELLS = 4000


def _diameter(body):
    """The diameter of K: exact for a lone Box or Ball, else the bounding box's diagonal
    (an upper bound)."""
    if _lone(body) == "ball":
        return 2.0 * float(body._radii[0])
    return body.diameter()


def theorem1_bound_for(density, body, delta, p0, t, offset=None, *, u=0.1, gamma=1.0, n_mc=4096, rng=0,
                       max_cells=10**5):
    r"""Theorem 1 of Frieze and Kannan (section 1) for a problem: every constant of
    :func:`theorem1_bound` computed from (density, body, delta, p_0).

    - :math:`\pi` and :math:`p_\# = \min\pi`: :func:`exact_grid_distribution`;
    - :math:`M = \max f_0\log f_0`: :func:`initial_M`; :math:`\pi_u`: :func:`p_u`
      (exact for a lone Box, an upper bound otherwise);
    - d: exact for a lone Box or Ball, else the bounding box's diagonal (an upper bound);
    - :math:`\alpha` (reported, it enters through :math:`\gamma`):
      :func:`condition1_alpha`, exact where covered, else its Lipschitz form;
    - on grids of at most 4000 cells, the spectral gap of the walk and the certificate
      ``certified`` (see :class:`Theorem1Bound`) that ``gamma`` gives a valid bound here.

    Parameters
    ----------
    density, body, delta : as in :func:`grid_walk`
    p0 : array_like
        The start law: a probability vector over C (the order of
        ``exact_grid_distribution(density, body, delta, offset).indices``), or a point
        of :math:`\mathbb R^n` for the point mass at the cube whose centre is nearest.
    t : float or array_like
        Times >= 0.
    offset : array_like, optional
        Grid offset; default ``body.start_point()``.
    u, gamma : as in :func:`theorem1_bound`
    n_mc, rng : as in :func:`C_u`
    max_cells : int
        Refuse grids larger than this.

    Returns
    -------
    Theorem1Bound
        The bound at each t and the constants it was computed from.

    Examples
    --------
    >>> import convq.sampling as S
    >>> r = S.theorem1_bound_for(S.Gaussian([0.2, 0.0]), S.Box([-1, -1], [1, 1]), 0.25, [0.9, 0.9], [0.0, 100.0])
    >>> r.certified, bool(r.bound[0] > r.bound[1])
    (True, True)
    """
    n = _check_pair(density, body)
    dist = exact_grid_distribution(density, body, delta, offset, max_cells=max_cells)
    m = len(dist.probs)
    p0 = as_float_array(p0, "p0", ndim=1)
    if p0.size == m and (p0.size != n or (np.all(p0 >= 0) and abs(p0.sum() - 1) <= 1e-9)):
        p0 = _law(p0, "p0", m)
    elif p0.size == n:
        i = int(np.argmin(np.linalg.norm(dist.centers - p0, axis=1)))
        if not np.allclose(dist.centers[i], p0, rtol=0, atol=0.5 * dist.delta * (1 + 1e-9)):
            raise ValueError(f"p0 as a point must lie in a cube of C, got {p0.tolist()} (nearest centre "
                             f"{dist.centers[i].tolist()})")
        p0 = np.zeros(m)
        p0[i] = 1.0
    else:
        raise ValueError(f"p0 must be a law over the {m} cells of C or a point of R^{n}, got length {p0.size}")
    d = _diameter(body)
    pu = _p_u_of(dist, body, u, n_mc, rng)
    M = initial_M(p0, dist)
    p_min = float(dist.probs.min())
    bound = theorem1_bound(t, n, dist.delta, d, p_min, u=u, M_pi_u=M * pu, gamma=gamma)
    beta = gamma * u * dist.delta ** 2 / (n * d * d)
    alpha, how = float("nan"), None
    if not isinstance(density, LogDensity):
        try:
            alpha, how = condition1_alpha(density, body, dist.delta, dist.offset, max_cells=max_cells), "exact"
        except ValueError:
            alpha, how = condition1_alpha(density, body, dist.delta, method="lipschitz"), "lipschitz"
    gap = lsi = certified = None
    if 2 <= m <= _CERTIFY_CELLS:
        P, _ = transition_matrix(density, body, dist.delta, dist.offset, max_cells=max_cells)
        gap = spectral_gap(P, dist)
        lsi = gap * (1 - 2 * p_min) / math.log(1 / p_min - 1) if p_min < 0.5 else None
        certified = None if lsi is None else bool(beta <= 4 * lsi)
    return Theorem1Bound(bound=bound, t=as_float_array(t, "t"), certified=certified, beta=beta, gamma=float(gamma),
                         alpha=alpha, alpha_method=how, p_u=pu, M=M, p_min=p_min, diameter=d, u=float(u), n=n,
                         delta=dist.delta, n_cells=m, spectral_gap=gap, log_sobolev_lower=lsi)
