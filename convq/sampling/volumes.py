r"""The volume of a convex body by the multiphase Monte Carlo scheme, with a confidence
interval.

Dyer, Frieze and Kannan, "A random polynomial-time algorithm for approximating the
volume of convex bodies" (J. ACM 38(1), 1991), in the form of the volume algorithm of
Kannan, Lovász and Simonovits, "Random walks and an O*(n^5) volume algorithm for convex
bodies" (Random Structures & Algorithms 11(1), 1997), its multiphase Monte Carlo: with a
ball :math:`B(c, r_0) \subseteq K` and radii :math:`r_i = r_0 2^{i/n}` up to
:math:`r_m \ge R = \max_{x\in K}|x - c|`, put :math:`K_i = K \cap B(c, r_i)`; then
:math:`K_0 = B(c, r_0)`, :math:`K_m = K` and

.. math:: \operatorname{vol}(K) = \operatorname{vol}(B(c, r_0))
          \prod_{i=1}^m \frac{1}{p_i}, \qquad
          p_i = \frac{\operatorname{vol}(K_{i-1})}{\operatorname{vol}(K_i)} \ge \frac12,

the bound because :math:`c + (r_{i-1}/r_i)(K_i - c) \subseteq K_{i-1}` (K is convex and
contains c). Each :math:`p_i` is the fraction of uniform points of :math:`K_i` that lie
in :math:`B(c, r_{i-1})`; the points come from convq's hit-and-run (R. L. Smith,
"Efficient Monte Carlo procedures for generating points uniformly distributed over
bounded regions", Operations Research 32(6), 1984) in the C kernel.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .._optional import import_optional
from .._result import Result
from .._rng import as_generator
from .._validation import check_int, check_open_unit, check_positive, check_threads
from .bodies import Ball, Intersection, _Body
from .densities import Uniform
from .walks import hit_and_run

__all__ = ["VolumeResult", "volume"]

# samples held at once per hit-and-run call: n_chains x steps x n float64 (16 MiB)
_CHUNK_VALUES = 2 * 1024 * 1024


class VolumeResult(Result):
    r"""The output of :func:`volume` (a :class:`convq._result.Result`).

    Attributes
    ----------
    volume : float
        The estimate :math:`\operatorname{vol}(B(c, r_0))\prod_i 1/\hat p_i` (``inf``
        or 0 beyond the float64 range; ``log_volume`` is exact there).
    ci : tuple of float
        The ``level`` confidence interval for the volume.
    log_volume, log_se : float
        The estimate's natural logarithm and its jackknife standard error.
    level : float
        Nominal coverage of ``ci``.
    center, inner_radius, outer_radius : ndarray, float, float
        The ball :math:`B(c, r_0) \subseteq K` and the bound :math:`R \ge \max_K |x - c|`.
    phases : dict of ndarray
        Per phase i = 1..m: ``radius`` (:math:`r_i`), ``ratio`` (:math:`\hat p_i`),
        ``log_se`` (standard error of :math:`\log\hat p_i` between chains) and ``steps``
        (hit-and-run steps per chain, burn-in included).
    n_phases : int
    n_steps : int
        The sampling cost: hit-and-run steps over all phases and chains.
    converged : bool
        Whether no phase was cut short of its share of the target error by ``max_steps``.
    wall_time : float
        Seconds spent.
    """

    _order = ("volume", "ci", "level", "log_volume", "log_se", "n_phases", "n_steps", "converged", "center",
              "inner_radius", "outer_radius", "phases", "wall_time")


def _log_ball_volume(n, r):
    """log vol(B(0, r)) in R^n: pi^(n/2) r^n / Gamma(n/2 + 1)."""
    return 0.5 * n * math.log(math.pi) + n * math.log(r) - math.lgamma(0.5 * n + 1.0)


def _inscribed_ball(body):
    r"""A ball :math:`B(c, r)` inside the body: :math:`c` is the body's start point (its
    Chebyshev centre: a linear programme for linear constraints, the exact centre of a
    lone box or ball, SLSQP when balls meet other parts) and :math:`r` the distance from
    :math:`c` to the nearest constraint (box faces, ball spheres :math:`r_q - |c - c_q|`,
    half-spaces :math:`(b_i - a_i^\top c)/|a_i|`), so the ball is inscribed whatever the
    accuracy of the centre. Returns ``(c, r)``."""
    c = body.start_point()
    dist = [np.inf]
    if body._lo is not None:
        dist.append(float(np.min(np.minimum(c - body._lo, body._hi - c))))
    for cq, rq in zip(body._centers, body._radii):
        dist.append(float(rq - np.linalg.norm(c - cq)))
    if len(body._b):
        dist.append(float(np.min((body._b - body._A @ c) / np.linalg.norm(body._A, axis=1))))
    r = min(dist)
    if not r > 0:
        raise ValueError(f"volume: the body {body!r} has no interior point (inscribed radius {r:.3g})")
    return c, r


def _outer_radius(body, c):
    """An upper bound on max_{x in K} |x - c|: the farthest corner of the bounding box,
    or a ball's |c - c_q| + r_q when smaller."""
    lo, hi = body.bounding_box()
    R = float(np.linalg.norm(np.maximum(np.abs(lo - c), np.abs(hi - c))))
    for cq, rq in zip(body._centers, body._radii):
        R = min(R, float(np.linalg.norm(c - cq) + rq))
    return R


def _cut_by_ball(body, c, r):
    """The body K_i = K ∩ B(c, r) for the point c inside K, built without the start-point
    search of :func:`intersect` (a linear programme or SLSQP per phase): c is its start."""
    K = Intersection.__new__(Intersection)
    K._init_parts(body.dim, lo=body._lo, hi=body._hi, centers=np.vstack([body._centers, c]),
                  radii=np.append(body._radii, r), A=body._A, b=body._b)
    K.parts = (body, Ball(c, r))
    K._start = c.copy()
    return K


def _uniform_in_ball(gen, c, r, k):
    n = c.size
    d = gen.standard_normal((k, n))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    return c + (r * gen.random(k) ** (1.0 / n))[:, None] * d


def _phase_hits(Ki, x, steps, c, inner2, gen, threads, chunk):
    """Run hit-and-run (uniform on ``Ki``) ``steps`` steps from the states ``x``, in
    chunks of at most ``chunk`` steps; returns the last states and, per chain, the
    number of visited states within distance sqrt(inner2) of c."""
    hits = np.zeros(len(x))
    while steps > 0:
        take = min(chunk, steps)
        s = hit_and_run(Uniform(), Ki, x0=x, n_steps=take, n_chains=len(x), rng=gen, threads=threads).samples
        x = s[:, -1].copy()
        hits += np.sum(np.sum((s - c) ** 2, axis=2) <= inner2, axis=1)
        steps -= take
    return x, hits


def volume(body, *, eps=0.1, level=0.95, rng=None, n_chains=32, burn_in=None, max_steps=None, threads=None):
    r"""The volume of a convex body, with a confidence interval, by the multiphase
    Monte Carlo scheme.

    With a ball :math:`B(c, r_0) \subseteq K` (:math:`c` the Chebyshev centre) and
    :math:`R \ge \max_K |x - c|` (from the bounding box), the radii
    :math:`r_i = r_0 2^{i/n}`, :math:`i \le m = \lceil n\log_2(R/r_0)\rceil`
    (:math:`r_m = R`) cut K into :math:`K_i = K \cap B(c, r_i)` with

    .. math:: \operatorname{vol}(K) = \operatorname{vol}(B(c, r_0))\prod_{i=1}^m 1/p_i,
              \qquad p_i = \operatorname{vol}(K_{i-1})/\operatorname{vol}(K_i) \in [1/2, 1]

    (the multiphase Monte Carlo of Kannan, Lovász and Simonovits, "Random walks and an
    O*(n^5) volume algorithm for convex bodies", after Dyer, Frieze and Kannan, "A random
    polynomial-time algorithm for approximating the volume of convex bodies"). Phase i runs
    ``n_chains`` hit-and-run chains (uniform target, random directions, the C kernel of
    :func:`hit_and_run`) on :math:`K_i`, each started where the same chain ended phase
    :math:`i-1` (a uniform point of :math:`K_{i-1}`, whose density on :math:`K_i` is at
    most :math:`1/p_i \le 2` times the target's: a warm start), and :math:`\hat p_i` is
    the fraction of their states in :math:`B(c, r_{i-1})`. Each phase opens with a pilot
    of ``burn_in`` steps, discarded, whose between-chain spread sizes the counted run:
    enough steps for the standard error of :math:`\log\hat p_i` to be its share
    :math:`\varepsilon/(z\sqrt m)` of the target (:math:`z` the normal quantile of
    ``level``), at least ``burn_in`` and at most ``max_steps``. The counted states thus
    never decide their own number (stopping when the running error first looks small
    would bias the error estimate down).

    The confidence interval. Chain j draws from random streams of its own in every
    phase (spawned, never shared) and starts each phase from its own last state, so the
    J chains are independent replicates of the whole multiphase run. The interval is
    :math:`\exp(\log\hat V \pm t_{J-1}\,\hat\sigma)` with :math:`\hat\sigma` the
    delete-one-chain jackknife standard error of :math:`\log\hat V` over the
    :math:`J` chains (Efron and Stein, "The jackknife estimate of variance", Annals of
    Statistics 9(3), 1981): it includes each chain's autocorrelation and the
    dependence between the phases that a chain carries from one to the next, which a
    per-phase binomial variance would miss. It is exact up to the chains' distance from
    stationarity after burn-in and the normal approximation.

    Parameters
    ----------
    body : Box, Ball, Polytope or intersect(...)
        A bounded convex body with non-empty interior.
    eps : float in (0, 1)
        Target relative half-width of the interval (on the log scale), reached unless
        ``max_steps`` cuts a phase short.
    level : float in (0, 1)
        Nominal coverage of the interval.
    rng : None, int or numpy.random.Generator
    n_chains : int >= 4
        Independent chains J (replicates for the jackknife).
    burn_in : int >= 2, optional
        Pilot steps per chain at the start of each phase, discarded; default
        ``max(100, 10 n)``.
    max_steps : int, optional
        Most counted steps per chain and phase; default ``max(20000, 2000 n)``.
    threads : int or None
        Threads for the chains; results do not depend on it.

    Returns
    -------
    VolumeResult
        ``volume``, ``ci``, ``log_volume``, ``log_se``, ``phases``, ``n_steps`` (the
        sampling cost), ``converged``, ``wall_time``.

    Examples
    --------
    >>> import numpy as np
    >>> from convq.sampling import Box, volume
    >>> res = volume(Box(np.zeros(3), np.ones(3)), eps=0.1, rng=0)
    >>> res.ci[0] < 1.0 < res.ci[1]
    True

    Warns (``RuntimeWarning``) when ``max_steps`` cuts a phase short of its error share.
    """
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    body._usable()
    eps = check_open_unit(eps, "eps")
    level = check_open_unit(level, "level")
    n_chains = check_int(n_chains, "n_chains", minimum=4)
    n = body.dim
    pilot = max(100, 10 * n) if burn_in is None else check_int(burn_in, "burn_in", minimum=2)
    max_steps = max(20000, 2000 * n) if max_steps is None else check_int(max_steps, "max_steps", minimum=1)
    check_threads(threads)
    gen = as_generator(rng)
    t_start = time.perf_counter()
    stats = import_optional("scipy.stats", "the confidence interval of volume (normal and t quantiles)")

    c, r0 = _inscribed_ball(body)
    R = max(_outer_radius(body, c), r0)
    m = max(0, math.ceil(n * math.log2(R / r0) - 1e-9))
    radii = np.minimum(r0 * 2.0 ** (np.arange(m + 1) / n), R)
    if m:
        radii[-1] = R
    z = float(stats.norm.ppf(0.5 + 0.5 * level))
    share = eps / (z * math.sqrt(max(m, 1)))
    chunk = max(1, _CHUNK_VALUES // (n_chains * n))

    hits = np.zeros((m, n_chains))
    counted = np.zeros(m, np.int64)
    phase_se = np.zeros(m)
    short = np.zeros(m, bool)
    x = _uniform_in_ball(gen, c, r0 * (1.0 - 1e-9), n_chains)   # strictly inside K despite rounding
    for i in range(1, m + 1):
        Ki = body if radii[i] >= R else _cut_by_ball(body, c, radii[i])
        inner2 = radii[i - 1] ** 2
        # pilot (the burn-in): sizes the counted run from its between-chain spread, and is
        # then discarded, so the counted states do not decide their own number
        x, h = _phase_hits(Ki, x, pilot, c, inner2, gen, threads, chunk)
        p_chain = h / pilot
        se = p_chain.std(ddof=1) / (math.sqrt(n_chains) * max(p_chain.mean(), 0.5))
        need = math.ceil(pilot * (se / share) ** 2)
        short[i - 1] = need > max_steps
        counted[i - 1] = min(max(need, pilot), max_steps)
        x, hits[i - 1] = _phase_hits(Ki, x, int(counted[i - 1]), c, inner2, gen, threads, chunk)
        p_chain = hits[i - 1] / counted[i - 1]
        phase_se[i - 1] = p_chain.std(ddof=1) / (math.sqrt(n_chains) * p_chain.mean())

    log_v0 = _log_ball_volume(n, r0)
    tot = hits.sum(axis=1)
    log_v = log_v0 - float(np.sum(np.log(tot / (n_chains * counted)))) if m else log_v0
    if m:
        loo = log_v0 - np.sum(np.log((tot[:, None] - hits) / ((n_chains - 1) * counted[:, None])), axis=0)
        log_se = math.sqrt((n_chains - 1) / n_chains * float(np.sum((loo - loo.mean()) ** 2)))
    else:
        log_se = 0.0
    half = float(stats.t.ppf(0.5 + 0.5 * level, n_chains - 1)) * log_se
    converged = not short.any()
    if not converged:
        warnings.warn(f"volume: {int(np.sum(short))} of {m} phases were cut to max_steps={max_steps} steps per chain "
                      f"above their error share; the interval (half-width {half:.3g} on the log scale) is wider "
                      f"than eps={eps}", RuntimeWarning, stacklevel=2)
    phases = {"radius": radii[1:].copy(), "ratio": tot / (n_chains * np.maximum(counted, 1)), "log_se": phase_se,
              "steps": counted + pilot}
    with np.errstate(over="ignore", under="ignore"):   # beyond float64: inf or 0; log_volume stays exact
        vol, lo, hi = (float(v) for v in np.exp([log_v, log_v - half, log_v + half]))
    return VolumeResult(volume=vol, ci=(lo, hi), level=level,
                        log_volume=log_v, log_se=log_se, n_phases=m, n_steps=int(np.sum(counted + pilot)) * n_chains,
                        converged=converged, center=c, inner_radius=r0, outer_radius=R, phases=phases,
                        wall_time=time.perf_counter() - t_start)
