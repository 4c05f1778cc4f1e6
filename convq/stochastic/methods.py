"""Projected SGD and stochastic mirror descent with quantized gradients.

Mayekar & Tyagi, section 2.2, Theorem 2.3 with Remarks 3 and 4: for an unbiased quantizer
Q with alpha_0(Q; p) the bound on sqrt(E||Q(Y)||^2) (l_2 norm for p >= 2, l_q norm for
p < 2), quantized projected SGD (p >= 2) and quantized mirror descent (p in [1, 2)) keep
the unquantized rates with B replaced by alpha_0:

* projected SGD, step eta = D_2 / (alpha_0 sqrt(T)), average of x_0..x_{T-1}:
      E f(xbar_T) - f* <= D_2 alpha_0 / sqrt(T)        (D_2 the l_2 diameter of K);
* mirror descent with psi = ||x||_r^2/(2(r-1)), r = max(p, 1 + 1/ln d), step
  eta = R_r / (alpha_0 sqrt((r-1) T)):
      E f(xbar_T) - f* <= R_r alpha_0 / sqrt((r-1) T)  (R_r = max_K ||x||_r; for r = 1 + 1/ln d
      this is the sqrt(log d) factor of U(T, p)).

The loop oracle -> quantizer -> update runs in C (``csrc/stochastic/cq_sgd.c``) when the oracle and the
quantizer have C implementations; otherwise a Python loop does exactly the same steps
(``engine="python"`` forces it; it is also the reference the tests compare the C loop to).
Bits are summed from the messages actually produced.
"""
from __future__ import annotations

import math
import os
import time

import numpy as np

from .. import _core
from .._engine import ENGINES, resolve_engine
from .._params import InstanceOf, Interval, Options, validate
from .._result import Result
from .._rng import as_generator
from .._spec import NO_DOMAIN
from .._validation import as_vector, check_int, check_positive, check_quantizer, check_real
from ..slow.stochastic import sgd_loop
from .domains import Box, LpBall, _check_p, mirror_exponent

__all__ = ["SGDResult", "sgd", "mirror_descent", "theory_step"]


class SGDResult(Result):
    """Result of :func:`sgd` / :func:`mirror_descent`: a dict with attribute access
    (``res.x == res["x"]``) and an ordered repr.

    Attributes
    ----------
    x : the average of x_0..x_{T-1} if ``average`` else the last iterate
    x_last : x_T
    trace : dict of equal-length arrays: ``iteration``, ``fun`` (f at the recorded
        average/iterate), ``bits`` (bits communicated so far) and, when the oracle knows
        f*, ``suboptimality``
    bits_per_step : message length (fixed-length quantizers; 64 d for raw float64)
    total_bits : bits summed over the T messages
    nit : T;  step : the step sizes used (array of length T);  time : seconds
    engine : "c" or "python";  method : "sgd" or "mirror_descent"
    """

    _order = ("x", "x_last", "method", "engine", "nit", "bits_per_step", "total_bits", "step", "time", "trace")


# the arguments of sgd() and mirror_descent(), declared once (their defaults are in the signatures)
_SGD_CONSTRAINTS = {
    "T": [Interval(int, 1, None)],
    "step": [Interval(float, 0, math.inf, closed="neither"), Options(("theory",)), callable,
             InstanceOf(list, tuple, np.ndarray, name="a sequence of T step sizes")],
    "domain": [InstanceOf(LpBall, Box, name="an LpBall or a Box"), None],
    "average": [InstanceOf(bool, np.bool_, name="True or False")],
    "record_every": [Interval(int, 1, None), None],
    "engine": [Options(ENGINES)],
}
_MIRROR_CONSTRAINTS = dict(_SGD_CONSTRAINTS, r=[Interval(float, 1, 2, closed="right"), None])


def _domain_spec(domain):
    """The domain's DomainSpec (NO_DOMAIN for None)."""
    if domain is None:
        return NO_DOMAIN
    if isinstance(domain, (LpBall, Box)):
        return domain._c_spec
    raise TypeError(f"domain must be an LpBall, a Box or None, got {type(domain).__name__}")


def _alpha0(quantizer, oracle, d):
    """alpha_0 of the quantizer (or the oracle's own bound when unquantized)."""
    if quantizer is not None:
        a0 = getattr(quantizer, "alpha0", None)
        value = a0(d) if a0 is not None else None
        if value is None:
            raise ValueError(f"step='theory' needs the quantizer's alpha0 (Theorem 2.3); {quantizer!r} defines none "
                             "-- give a numeric step")
        return float(value)
    bound = getattr(oracle, "q_bound", None)
    if bound is None:
        raise ValueError("step='theory' needs the oracle's almost-sure gradient bound (attribute q_bound)")
    return float(bound)


def theory_step(method, oracle, domain, quantizer, T, d, r=None) -> float:
    """The constant step of Theorem 2.3's algorithms (see the module docstring)."""
    if method not in ("sgd", "mirror"):
        raise ValueError(f"method must be 'sgd' or 'mirror', got {method!r}")
    T = check_int(T, "T", minimum=1)
    d = check_int(d, "d", minimum=1)
    _domain_spec(domain)
    check_quantizer(quantizer, "quantizer")
    if method == "mirror":
        r = check_real(r, "r")
    a0 = _alpha0(quantizer, oracle, d)
    if method == "sgd":
        if domain is None:
            raise ValueError("step='theory' needs a bounded domain")
        return domain.diameter(d, norm=2.0) / (a0 * math.sqrt(T))
    if not isinstance(domain, LpBall) or domain.p > r + 1e-15 and domain.p != 1.0:
        raise ValueError("step='theory' for mirror descent needs an LpBall domain with p <= r")
    return domain.radius / (a0 * math.sqrt((r - 1.0) * T))


def _memory_bytes() -> int:
    """Physical memory of this machine (2^40 where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return 2**40


def _check_sizes(T, d, record_every, step):
    """Refuse, before anything is built, a run whose outputs cannot be allocated: the
    trace keeps ceil(T / record_every) snapshots of d doubles, and a callable or
    sequence step needs T doubles (a constant step is never expanded)."""
    n_rec = -(-T // record_every)
    need = 8 * n_rec * (d + 2)
    if callable(step) or (not isinstance(step, str) and np.ndim(step) != 0):
        need += 8 * T
    limit = _memory_bytes()
    if need > limit // 2:
        raise ValueError(f"T = {T} needs {need / 2**30:.3g} GiB for the trace ({n_rec} snapshots of {d} "
                         f"doubles, record_every = {record_every})"
                         + (" and the T step sizes" if need > 8 * n_rec * (d + 2) else "")
                         + f", more than half of this machine's {limit / 2**30:.3g} GiB of memory; "
                         "lower T, raise record_every or give a constant step")


def _steps(step, T):
    """The T step sizes; a constant step is a read-only length-T view of one double
    (stride 0), which the C loop receives as that one double."""
    if callable(step):
        s = np.array([float(step(t)) for t in range(T)], dtype=float)
    elif np.ndim(step) == 0:
        return np.broadcast_to(np.array([check_positive(step, "step")]), (T,))
    else:
        s = as_vector(step, "step", size=T)
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        bad = int(np.flatnonzero(~(np.isfinite(s) & (s > 0)))[0])
        raise ValueError(f"step sizes must be finite and > 0, got {s[bad]} at t={bad}")
    return np.ascontiguousarray(s)


def _quant_spec(quantizer):
    """The quantizer's C description (its `_spec` tuple) or None if it has none."""
    if quantizer is None:
        return None
    return getattr(quantizer, "_spec", None)


def _run(method, oracle, x0, T, step, domain, quantizer, average, rng, record_every, engine, r):
    t0 = time.perf_counter()
    for attr in ("sample", "value"):
        if not callable(getattr(oracle, attr, None)):
            raise TypeError(f"oracle must have sample(x, rng) and value(x) methods (e.g. a MinibatchOracle), "
                            f"got {type(oracle).__name__} without {attr}()")
    check_quantizer(quantizer, "quantizer")
    x0 = as_vector(x0, "x0")
    d = x0.size
    od = getattr(oracle, "d", None)
    if od is not None and od != d:
        raise ValueError(f"x0 has length {d}, but the oracle's dimension is {od}")
    quantizer = check_quantizer(quantizer)
    T = int(T)
    if domain is None:
        domain = getattr(oracle, "domain", None)
    _domain_spec(domain)
    if isinstance(step, str):
        step = theory_step(method, oracle, domain, quantizer, T, d, r)
    if record_every is None:
        record_every = max(1, T // 200)
    record_every = check_int(record_every, "record_every", minimum=1)
    _check_sizes(T, d, record_every, step)
    steps = _steps(step, T)
    c_steps = steps[:1] if steps.strides == (0,) else steps
    if domain is not None and not domain.contains(x0, **({"rtol": 1e-9} if isinstance(domain, LpBall) else {"atol": 1e-12})):
        raise ValueError(f"x0 must lie in the domain {domain!r}")
    gen = as_generator(rng)
    ospec = getattr(oracle, "_c_spec", None)
    qspec = _quant_spec(quantizer)
    engine = resolve_engine(engine, ospec is not None and (quantizer is None or qspec is not None),
                            "needs an oracle and a quantizer with C implementations")
    mcode = _core.SGD_MIRROR if method == "mirror" else _core.SGD_PROJECTED
    if engine == "c":
        x_last, xbar, snaps, bits = _core._sgd_run(ospec, qspec, x0, c_steps, mcode, float(r or 2.0),
                                                   _domain_spec(domain), record_every, bool(average), gen, T)
        bits = bits.astype(np.int64)
    else:
        x_last, xbar, snaps, bits = sgd_loop(mcode, oracle, x0, steps, domain, quantizer, average, gen,
                                             record_every, r)
    n_rec = snaps.shape[0]
    iters = np.minimum(np.arange(1, n_rec + 1) * record_every, T)
    trace = {"iteration": iters, "fun": np.asarray(oracle.value(snaps), dtype=float), "bits": bits}
    if hasattr(oracle, "f_star"):
        trace["suboptimality"] = trace["fun"] - oracle.f_star
    total = int(bits[-1])
    bps = quantizer.bits(d) if quantizer is not None else 64 * d
    return SGDResult(x=xbar if average else x_last, x_last=x_last, trace=trace, bits_per_step=int(bps),
                     total_bits=total, nit=T, step=steps, time=time.perf_counter() - t0,
                     engine=engine, method="sgd" if mcode == _core.SGD_PROJECTED else "mirror_descent")


def sgd(oracle, x0, T, step, domain=None, quantizer=None, average=True, rng=None, record_every=None,
        engine="auto") -> SGDResult:
    """Projected stochastic (sub)gradient descent with quantized gradients.

        x_{t+1} = P_K(x_t - eta_t Q(g_t)),   g_t ~ oracle(x_t),   xbar_T = (1/T) sum_{t<T} x_t

    (Mayekar & Tyagi, Remark 4 and Theorem 2.3(1): with eta = D_2/(alpha_0 sqrt(T)),
    E f(xbar_T) - f* <= D_2 alpha_0 / sqrt(T).)

    Parameters
    ----------
    oracle : object with ``sample(x, rng)`` (one stochastic gradient) and ``value(x)``
        (f at a point or at each row); optionally ``f_star``, ``q_bound``, ``domain``.
    x0 : array_like (d,), a point of the domain.
    T : int >= 1, iterations.
    step : float, sequence of T floats, callable t -> eta_t, or "theory".
    domain : LpBall, Box or None (default: ``oracle.domain`` if it has one).
    quantizer : a convq quantizer or None (raw float64 gradients, 64 d bits per step); a
        :class:`convq.feedback.ErrorFeedback` / :class:`convq.feedback.EF21` wrapper runs
        the Python loop with its error feedback (its state carries over between calls).
    average : return the average of x_0..x_{T-1} (True) or the last iterate.
    rng : None, int or numpy.random.Generator; the oracle draws first, then the quantizer.
    record_every : trace period (default T // 200).
    engine : {"auto", "c", "python"}
        "auto": the C loop when the oracle and the quantizer have C implementations;
        "python": the loop of :func:`convq.slow.stochastic.sgd_loop`, which encodes and
        decodes every message and gives the same iterates, bit for bit.
    """
    validate(_SGD_CONSTRAINTS, dict(T=T, step=step, domain=domain, average=average, record_every=record_every,
                                    engine=engine))
    return _run("sgd", oracle, x0, T, step, domain, quantizer, average, rng, record_every, engine, None)


def mirror_descent(oracle, x0, T, p, step, domain=None, quantizer=None, rng=None, record_every=None,
                   engine="auto", r=None) -> SGDResult:
    """Stochastic mirror descent for the l_p geometry, p in [1, 2] (Remark 3).

        theta = grad psi(x_t) - eta_t Q(g_t),  x_{t+1} = argmin_{z in K} D_psi(z, grad psi^*(theta)),
        psi(x) = ||x||_r^2 / (2 (r-1)),  r = max(p, 1 + 1/ln d)  (see :func:`mirror_exponent`)

    The returned ``x`` is the average of x_0..x_{T-1}. Domains: ``LpBall(r, R)`` or
    ``LpBall(1, R)`` (exact Bregman projections), or None. Other parameters as in :func:`sgd`.
    """
    validate(_MIRROR_CONSTRAINTS, dict(T=T, step=step, domain=domain, record_every=record_every, engine=engine,
                                       r=r))
    p = _check_p(p)
    d = as_vector(x0, "x0").size
    r = mirror_exponent(p, d) if r is None else check_real(r, "r")
    dom = domain if domain is not None else getattr(oracle, "domain", None)
    if dom is not None and not (isinstance(dom, LpBall) and (dom.p == r or dom.p == 1.0)):
        raise ValueError(f"mirror descent with the mirror map of r = {r:g} needs domain=None, LpBall({r:g}, R) "
                         f"or LpBall(1, R) (exact Bregman projections); got {dom!r}")
    return _run("mirror", oracle, x0, T, step, domain, quantizer, True, rng, record_every, engine, r)
