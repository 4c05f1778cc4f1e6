"""Slow NumPy twins of the stochastic-optimisation kernels (csrc/stochastic/): the random
draws of the oracles, the Euclidean projections, the mirror step and the quantized
SGD / mirror-descent loop.

* :func:`bounded`, :func:`oracle_sample`, :func:`oracle_draw`: the oracles' draws, from
  the same bit generator words in the same order as ``cq_rng_bounded`` (Lemire's
  multiply-and-reject on 32-bit words), ``cq_oracle_bernoulli`` (two coordinates per
  64-bit word) and ``cq_oracle_paninski`` / ``_minibatch`` / ``_noisy``; the minibatch and
  noisy gradients come from the objective twins of :mod:`convq.slow.objectives`.
* :func:`project` and :func:`mirror_step`: the projections onto boxes and l_p balls (the
  l_1 ball by the sort-based method of Duchi, Shalev-Shwartz, Singer & Chandra, "Efficient
  Projections onto the l1-Ball for Learning in High Dimensions", ICML 2008; other p by
  bisection on the KKT multiplier) and the mirror step of psi(x) = ||x||_r^2 / (2 (r-1))
  (Mayekar & Tyagi, "Limits on Gradient Compression for Stochastic Optimization",
  Remark 3). Sums run left to right (``np.cumsum``) as in C, so most
  results agree with C bit for bit.
* :func:`sgd_loop`: the loop oracle -> quantizer -> update of ``cq_sgd_run``, which really
  encodes and decodes every message (the C loop's fast path is documented bit-identical
  to ``decode(encode(y))``) and sums the bits of the messages produced. It is the engine
  behind ``sgd(..., engine="python")`` and ``mirror_descent(..., engine="python")``.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .. import _core
from .._validation import as_vector, check_int, check_positive, check_real
from .objectives import value_and_grad

__all__ = ["bounded", "oracle_sample", "oracle_draw", "norm_p", "project", "mirror_step", "sgd_loop"]

_U32 = 0xFFFFFFFF


# ---- the random draws -----------------------------------------------------------------------

def _u32(gen, n=None):
    """next_uint32 words of the bit generator (Generator.integers over the full uint32 range
    returns them unchanged)."""
    return gen.integers(0, _U32, size=n, dtype=np.uint32, endpoint=True)


def _u64(gen, n=None):
    return gen.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)


def bounded(gen, n):
    """A uniform integer in [0, n) by Lemire's multiply-and-reject (D. Lemire, "Fast Random
    Integer Generation in an Interval", ACM TOMACS 2019): the twin of ``cq_rng_bounded``."""
    n = int(n)
    if n <= 1:
        return 0
    if n <= _U32:
        m = int(_u32(gen)) * n
        lo = m & _U32
        if lo < n:
            t = (2**32 - n) % n
            while lo < t:
                m = int(_u32(gen)) * n
                lo = m & _U32
        return m >> 32
    m = int(_u64(gen)) * n
    lo = m & (2**64 - 1)
    if lo < n:
        t = (2**64 - n) % n
        while lo < t:
            m = int(_u64(gen)) * n
            lo = m & (2**64 - 1)
    return m >> 64


def oracle_sample(kind, alpha, scale, delta, gen, n):
    """n draws (n, d) of the section-6 sign oracles (kind ``_core.ORACLE_BERNOULLI``: Bernoulli
    product, ``_core.ORACLE_PANINSKI``: Paninski), the twin of ``_core._oracle_draw`` for
    those kinds."""
    alpha = np.asarray(alpha, dtype=float)
    d = alpha.size
    out = np.zeros((n, d))
    if kind == _core.ORACLE_BERNOULLI:
        two32 = 4294967296.0
        th = np.where(alpha > 0, int(0.5 * (1.0 + 2.0 * delta) * two32), int(0.5 * (1.0 - 2.0 * delta) * two32))
        for t in range(n):
            r = _u64(gen, (d + 1) // 2)
            u = np.empty(2 * r.size, dtype=np.uint64)
            u[0::2], u[1::2] = r & np.uint64(_U32), r >> np.uint64(32)   # the odd last word: low half only
            out[t] = np.where(u[:d] < th.astype(np.uint64), scale, -scale)
    elif kind == _core.ORACLE_PANINSKI:
        for t in range(n):
            i = bounded(gen, d)
            p_plus = 0.5 * (1.0 + 2.0 * delta * alpha[i])
            out[t, i] = scale if gen.random() < p_plus else -scale
    else:
        raise ValueError(f"kind must be _core.ORACLE_BERNOULLI ({_core.ORACLE_BERNOULLI}) or ORACLE_PANINSKI "
                         f"({_core.ORACLE_PANINSKI}), got {kind!r}")
    return out


def _penalty_grad(obj, m_used, x):
    """The gradient of the objective's penalty with m = m_used (the twin of cq_obj_penalty)."""
    from ..objectives import Hinge, Lasso
    g = np.zeros_like(x)
    if isinstance(obj, Lasso):
        if obj.mu == 0:
            return g
        a = np.abs(x)
        if obj.delta > 0:
            return obj.mu * np.where(a < obj.delta, x / obj.delta, np.sign(x))
        return obj.mu * np.sign(x)
    w = 1.0 if isinstance(obj, Hinge) else (obj.lam / m_used if m_used else 0.0)
    j0 = int(bool(getattr(obj, "intercept", False)))
    g[j0:] = w * x[j0:]
    return g


def oracle_draw(oracle, x, gen, n=1):
    """n draws (n, d) of a built-in oracle at x, the twin of ``_core._oracle_draw``: the
    section-6 problems (:class:`~convq.stochastic.LinearSignProblem`), ``MinibatchOracle``
    (``batch`` rows by :func:`bounded`, the batch gradient rescaled around the penalty) and
    ``NoisyOracle`` (the full gradient plus noise (2u - 1), u ~ U[0, 1), ValueError when
    ||g||_q > B)."""
    from ..objectives import Hinge, Lasso
    from ..stochastic.oracles import MinibatchOracle, NoisyOracle
    from ..stochastic.problems import _KINDS, LinearSignProblem
    x = np.ascontiguousarray(x, dtype=float)
    if isinstance(oracle, LinearSignProblem):
        return oracle_sample(_KINDS[oracle.kind], oracle.alpha, oracle._scale, oracle.delta, gen, n)
    obj = getattr(oracle, "objective", None)
    x = as_vector(x, "x", size=oracle.d)             # the checks of the public sample()
    n = check_int(n, "n", minimum=1, maximum=2**40)
    out = np.empty((n, x.size))
    if isinstance(oracle, MinibatchOracle):
        m = obj.m if not isinstance(obj, Lasso) else obj.A.shape[0]
        s = m / oracle.batch if isinstance(obj, (Hinge, Lasso)) else 1.0
        for t in range(n):
            rows = np.array([bounded(gen, m) for _ in range(oracle.batch)], dtype=np.int64)
            _, g = value_and_grad(obj, x, rows)
            out[t] = s * (g - _penalty_grad(obj, oracle.batch, x)) + _penalty_grad(obj, m, x)
        return out
    if isinstance(oracle, NoisyOracle):
        for t in range(n):
            _, g = value_and_grad(obj, x)
            g = g + oracle.noise * (2.0 * gen.random(x.size) - 1.0)
            nq = norm_p(g, oracle.q)
            if not nq <= oracle.B:
                raise ValueError(f"NoisyOracle output has ||g||_q = {nq:.6g} > B = {oracle.B:.6g} (q = {oracle.q:g}): "
                                 "the oracle violates the almost-sure bound (2); raise B or lower the noise")
            out[t] = g
        return out
    raise TypeError(f"no twin for the oracle {type(oracle).__name__}")


# ---- projections and the mirror step --------------------------------------------------------

def _sum(v):
    """Left-to-right sum, as the C loops add."""
    return float(np.cumsum(v)[-1]) if v.size else 0.0


def norm_p(x, p):
    """||x||_p, the twin of cq_norm_p (scaled by max |x_i| against overflow)."""
    x = np.asarray(x, dtype=float)
    if math.isinf(p):
        return float(np.max(np.abs(x), initial=0.0))
    if p == 1.0:
        return _sum(np.abs(x))
    if p == 2.0:
        s2 = _sum(x * x)
        if 1e-290 < s2 < 1e290:
            return math.sqrt(s2)
    m = float(np.max(np.abs(x), initial=0.0))
    if m == 0:
        return 0.0
    if p == 2.0:
        return m * math.sqrt(_sum((x / m) ** 2))
    return m * _sum((np.abs(x) / m) ** p) ** (1.0 / p)


def _fma(a, b, c):
    """a b + c rounded once, as C99's fma (exact rational arithmetic; math.fma needs 3.13)."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _two_sum(a, b):
    """s + e = a + b exactly (Knuth's TwoSum)."""
    x = a + b
    bv = x - a
    return x, (a - (x - bv)) + (b - bv)


def _l1_ball(x, radius):
    """The twin of cq_proj_l1ball: Duchi et al.'s threshold ("Efficient projections onto
    the l1-ball for learning in high dimensions", Figure 1) on |x| scaled by the power of two
    2^-e that brings max|x_i| into [0.5, 1), with the partial sums and t_j carried in
    double-double, in the C loop's order (Python floats are C doubles)."""
    if norm_p(x, 1.0) <= radius:
        return x
    m = float(np.max(np.abs(x)))
    e = math.frexp(m)[1]
    u = sorted((math.ldexp(abs(float(v)), -e) for v in x), reverse=True)
    r = math.ldexp(radius, -e)
    cum_hi = cum_lo = 0.0
    tau_hi = tau_lo = 0.0
    for j, uj in enumerate(u):
        cum_hi, b = _two_sum(cum_hi, uj)
        cum_lo += b
        a, b = _two_sum(cum_hi, -r)
        b += cum_lo
        a, b = _two_sum(a, b)
        k = float(j + 1)
        t_hi = a / k
        t_lo = (_fma(-t_hi, k, a) + b) / k
        if j == 0 or (uj - t_hi) - t_lo > 0:
            tau_hi, tau_lo = t_hi, t_lo
    if tau_hi + tau_lo <= 0:
        return x
    a = (np.ldexp(np.abs(x), -e) - tau_hi) - tau_lo
    return np.where(a > 0, np.copysign(np.ldexp(np.where(a > 0, a, 0.0), e), x), 0.0)


def _l2_ball(x, radius):
    """The twin of cq_proj_l2ball: x R/||x||_2, or in units of max|x_i| when ||x||_2
    overflows or R/||x||_2 underflows."""
    n = norm_p(x, 2.0)
    if not n > radius:
        return x
    s = radius / n
    if math.isfinite(n) and s >= 1e-290:
        return x * s
    m = float(np.max(np.abs(x)))
    ns = 0.0
    for v in x:
        t = float(v) / m
        ns += t * t
    return (x / m) * (radius / math.sqrt(ns))


def _lp_coord(a, nu, p):
    """The root w in [0, a] of w + nu w^(p-1) = a (safeguarded Newton)."""
    if a == 0:
        return 0.0
    lo, hi = 0.0, a
    w = a / (1.0 + nu * a ** (p - 2.0))
    for _ in range(100):
        wp = w ** (p - 2.0)
        f = w + nu * wp * w - a
        if f > 0:
            hi = w
        else:
            lo = w
        nxt = w - f / (1.0 + nu * (p - 1.0) * wp)
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - w) <= 1e-15 * w or hi - lo <= 1e-15 * hi:
            return nxt
        w = nxt
    return w


def _lp_ball(x, p, radius):
    with np.errstate(all="ignore"):   # as in C: w^(p-2) at w = 0 gives inf * 0 and the safeguard takes over
        return _lp_ball_unguarded(x, p, radius)


def _lp_ball_unguarded(x, p, radius):
    if norm_p(x, p) <= radius:
        return x
    m = float(np.max(np.abs(x)))
    a = np.abs(x) / m
    target = (radius / m) ** p

    def mass(nu):
        return _sum(np.array([_lp_coord(ai, nu, p) ** p for ai in a]))

    lo, hi = 0.0, 1.0
    while mass(hi) > target and hi < 1e300:
        lo, hi = hi, hi * 16
    for _ in range(200):
        mid = hi / 2 if lo == 0 else math.sqrt(lo * hi)
        if lo > 0 and hi / lo < 1 + 1e-15:
            break
        if lo == 0 and hi < 1e-300:
            break
        if mass(mid) > target:
            lo = mid
        else:
            hi = mid
    z = np.copysign(m * np.array([_lp_coord(ai, hi, p) for ai in a]), x)
    n = norm_p(z, p)
    return z * (radius / n) if n > radius else z


def project(domain, x):
    """The Euclidean projection of x onto ``domain`` (a Box, an LpBall or None): the twin
    of ``_core._project``."""
    from ..stochastic.domains import Box, LpBall
    if domain is None:
        return as_vector(x, "x").copy()
    if isinstance(domain, Box):
        x = as_vector(x, "x", size=domain.lo.size)
        return np.fmin(np.fmax(x, domain.lo), domain.hi)
    x = as_vector(x, "x").copy()
    if not isinstance(domain, LpBall):
        raise TypeError(f"domain must be an LpBall, a Box or None, got {type(domain).__name__}")
    p, R = domain.p, domain.radius
    if p == 1.0:
        return _l1_ball(x, R)
    if math.isinf(p):
        return np.fmin(np.fmax(x, -R), R)
    if p == 2.0:
        return _l2_ball(x, R)
    return _lp_ball(x, p, R)


def _grad_conj(theta, r):
    """grad psi^*(theta) for psi^*(theta) = (r-1) ||theta||_s^2 / 2, s = r/(r-1)."""
    s = r / (r - 1.0)
    n = norm_p(theta, s)
    if n == 0:
        return np.zeros_like(theta)
    return np.copysign((r - 1.0) * n * (np.abs(theta) / n) ** (s - 1.0), theta)


def mirror_step(x, g, r, eta, domain=None):
    """theta = grad psi(x) - eta g, x+ = the Bregman projection of grad psi^*(theta) onto
    ``domain`` (None, LpBall(r, R) or LpBall(1, R)): the twin of ``_core._mirror_step``."""
    from ..stochastic.domains import LpBall
    x = as_vector(x, "x")
    g = as_vector(g, "g", size=x.size)
    r = check_real(r, "r")
    eta = check_positive(eta, "eta")
    if domain is not None and not isinstance(domain, LpBall):
        raise ValueError(f"mirror descent supports LpBall domains or None, got {domain!r}")
    if not (1.0 < r <= 2.0):
        raise ValueError(f"mirror-map exponent r must be in (1, 2], got {r:g}")
    if domain is not None and not (isinstance(domain, LpBall) and (domain.p == r or domain.p == 1.0)):
        raise ValueError(f"mirror descent supports the l_r ball of its own mirror map (r = {r:g}), the l_1 ball "
                         "or no constraint")
    n = norm_p(x, r)
    gp = np.zeros_like(x) if n == 0 else np.copysign(n * (np.abs(x) / n) ** (r - 1.0) / (r - 1.0), x)
    theta = gp - eta * g
    out = _grad_conj(theta, r)
    if domain is None:
        return out
    if domain.p == r:
        nx = norm_p(out, r)
        return out * (domain.radius / nx) if nx > domain.radius else out
    if norm_p(out, 1.0) <= domain.radius:
        return out
    lo, hi = 0.0, float(np.max(np.abs(theta)))
    it = 0
    while it < 200 and hi - lo > 1e-16 * hi:
        mu = 0.5 * (lo + hi)
        a = np.abs(theta) - mu
        if norm_p(_grad_conj(np.where(a > 0, np.copysign(a, theta), 0.0), r), 1.0) > domain.radius:
            lo = mu
        else:
            hi = mu
        it += 1
    a = np.abs(theta) - hi
    return _grad_conj(np.where(a > 0, np.copysign(a, theta), 0.0), r)


# ---- the loop -------------------------------------------------------------------------------

def sgd_loop(mcode, oracle, x0, steps, domain, quantizer, average, gen, record_every, r, *, kernels="public"):
    """The quantized SGD (mcode ``_core.SGD_PROJECTED``) / mirror-descent (``_core.SGD_MIRROR``)
    loop of ``cq_sgd_run``.

    Each step draws g ~ oracle(x_t), encodes it with ``quantizer`` and decodes the message
    (the bits summed are the messages' ``nbits``; 64 d per step unquantized), updates the
    running average xbar_{t+1} = xbar_t + (x_t - xbar_t)/(t+1) and steps
    x_{t+1} = P_K(x_t - eta_t Q(g_t)) or the mirror step. Returns
    ``(x_T, xbar_T, snapshots, bits)``, a snapshot (xbar or x) and the bit count every
    ``record_every`` steps and at T.

    ``kernels="public"`` draws through ``oracle.sample`` and projects through
    ``domain.project`` / :func:`convq.stochastic.mirror_step` (bit-identical to the C loop);
    ``kernels="numpy"`` uses the NumPy twins of this module instead (the built-in oracles'
    gradients then come from :mod:`convq.slow.objectives` and agree with C up to rounding).
    """
    from ..stochastic.domains import mirror_step as public_mirror_step
    if kernels == "numpy":
        def sample(x):
            return oracle_draw(oracle, x, gen, 1)[0]

        def proj(x):
            return project(domain, x)

        def mirror(x, g, eta):
            return mirror_step(x, g, r, eta, domain)
    else:
        def sample(x):
            return np.asarray(oracle.sample(x, rng=gen), dtype=float)

        def proj(x):
            return domain.project(x) if domain is not None else x

        def mirror(x, g, eta):
            return public_mirror_step(x, g, r, eta, domain)
    T, d = steps.size, x0.size
    x = x0.copy()
    xbar = np.zeros(d)
    snaps, bits = [], []
    total = 0
    for t in range(T):
        g = sample(x)
        if quantizer is not None:
            msg = quantizer.encode(g, rng=gen)
            total += int(msg.nbits)
            g = quantizer.decode(msg)
        else:
            total += 64 * d
        xbar += (x - xbar) * (1.0 / (t + 1))
        if mcode == _core.SGD_MIRROR:
            x = mirror(x, g, steps[t])
        else:
            x = x - steps[t] * g
            if not np.all(np.isfinite(x)):
                raise ValueError(f"iterate became non-finite at step {t + 1}")
            x = proj(x)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"iterate became non-finite at step {t + 1}")
        done = t + 1
        if done % record_every == 0 or done == T:
            snaps.append((xbar if average else x).copy())
            bits.append(total)
    return x, xbar, np.array(snaps).reshape(len(snaps), d), np.array(bits, dtype=np.int64)
