"""Training models from quantized gradients.

A convq quantizer needs its input inside an admissible set (||y||_q <= B). Model gradients
have no a-priori bound, so the models send them through the gain-shape quantizer of
Mayekar & Tyagi (section 7), :class:`convq.quantize.GainShape`: a ``quantizer=`` that is
already a GainShape (e.g. ``GainShape(q, gain=AGUQ(...))``) is used as it is, any other q
becomes ``GainShape(q, gain="float32")``: the gain n = ||g||_q as a float32 (rounded up, 32
bits) and the shape g / n through q scaled to its bound, so that

    Q_gs(g) = n * Q(g / n),   E[Q_gs(g)] = g,   bits = 32 + Q.bits(d).

Its variance factor omega (:func:`variance_factor`), E||Q_gs(g) - g||^2 <= omega ||g||^2, sets
the step of quantized gradient descent (:mod:`convq.models.linear`).
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from ..quantize import GainShape, _wire_codec, estimate_alpha0
from ..slow.models import mlp_step, no_improvement

__all__ = ["gain_shape", "variance_factor", "train_mlp_quantized"]


def gain_shape(quantizer) -> GainShape:
    """The gain-shape quantizer the models send gradients through (see the module)."""
    return _wire_codec(quantizer, True)


def variance_factor(quantizer, d) -> float:
    r"""The variance factor omega of the gain-shape quantizer for d-dimensional gradients:
    E||Q_gs(g) - g||_2^2 <= omega ||g||_2^2 for every g (the compression-variance bound of
    Alistarh et al., "QSGD: Communication-Efficient SGD via Gradient Quantization", NeurIPS
    2017, Lemma 3.1, whose omega sets the step of compressed gradient methods).

    From the shape quantizer's alpha0 (Mayekar & Tyagi, "Limits on Gradient Compression for
    Stochastic Optimization", section 2.2: sqrt(E||Q_s(Y)||^2) <= alpha0(d) for admissible Y,
    ||Y||_r <= beta; stated in the dual norm q <= 2 or in l_2, both >= the l_2 norm): with
    the gain n = ||g||_r, gamma <= (n / beta)(1 + 2^-23) (the float32 gain rounded up) and
    the norm equivalence ||g||_r <= d^{max(0, 1/r - 1/2)} ||g||_2,

        E||Q_gs(g)||_2^2 = gamma^2 E||Q_s(g / gamma)||_2^2
                         <= (1 + 2^-23)^2 d^{max(0, 2/r - 1)} alpha0(d)^2 / beta^2 ||g||_2^2,

    and unbiasedness gives E||Q_gs(g) - g||^2 = E||Q_gs(g)||^2 - ||g||^2. (SimQ: alpha0 = B =
    beta, r = 1, omega = d - 1, attained by a gradient with equal |g_i|.)

    A quantizer that states no alpha0 (or a GainShape whose quantized AGUQ gain has an
    absolute, not relative, error) gets a Monte Carlo estimate instead: the largest mean of
    ||Q_gs(v)||^2 / ||v||^2 over 64 draws at three unit probes (all coordinates equal, one
    coordinate, a fixed Gaussian direction), from a generator of its own (the fit's random
    stream is untouched), minus 1, plus 25 % for the sampling error (0 for a deterministic
    map such as Identity)."""
    gs = gain_shape(quantizer)
    d = int(d)
    a0 = None
    if isinstance(gs.gain, str):
        a0 = getattr(gs.shape, "alpha0", None)
        a0 = a0(d) if callable(a0) else None
    if a0 is not None and math.isfinite(a0):
        r = gs.norm_order
        equiv = d ** max(0.0, 2.0 / r - 1.0) if math.isfinite(r) else 1.0
        second = (1.0 + 2.0 ** -23) ** 2 * equiv * (a0 / gs._beta) ** 2
        return max(0.0, second - 1.0)
    probe_gen = np.random.default_rng(0x5EED)
    probes = [np.ones(d), np.eye(1, d).ravel(), probe_gen.standard_normal(d)]
    worst = 1.0
    for v in probes:   # the sample mean of ||Q_gs(v)||^2: estimate_alpha0's alpha0^2
        worst = max(worst, estimate_alpha0(gs, v / np.linalg.norm(v), 64, rng=probe_gen).alpha0 ** 2)
    return 1.25 * (worst - 1.0)


def _penalty(sizes, theta):
    off, pen = 0, 0.0
    for l in range(1, len(sizes)):
        nw = sizes[l - 1] * sizes[l]
        w = theta[off:off + nw].astype(float)
        pen += float(w @ w)
        off += nw + sizes[l]
    return pen


def train_mlp_quantized(sizes, act, theta, X, Y, lam, lr, batch, epochs, quantizer, gen, threads=0,
                        running_cost=False, output=0, sample_weight=None, solver=0, momentum=0.0, nesterov=False,
                        beta1=0.9, beta2=0.999, eps=1e-8, v=None, s=None, t=0, tol=-np.inf, n_iter_no_change=10):
    """Minibatch training where every minibatch gradient goes through the gain-shape
    quantizer before the update rule (the arguments and results of ``_core._mlp_train``;
    a permutation of the rows per epoch unless one batch holds them all). ``running_cost``: the epoch cost is the
    batch-size-weighted mean of the minibatch cross-entropies plus the penalty at the epoch's
    end (as the C loop). The quantizer works in float64; the update is in theta's dtype."""
    gs = gain_shape(quantizer)
    theta = theta.copy()
    v = np.zeros_like(theta) if v is None else v
    s = np.zeros_like(theta) if s is None else s
    m = len(X[2]) - 1 if isinstance(X, tuple) else X.shape[0]
    W = m if sample_weight is None else float(np.sum(sample_weight, dtype=float))
    costs = np.empty(epochs)
    bits, stop, e = 0, [np.inf, 0], 0
    while e < epochs:
        # one full batch needs no shuffle: the random stream then feeds the quantizer alone, so
        # integer sample weights and repeated rows draw the same quantizations
        perm = gen.permutation(m) if batch < m else np.arange(m)
        run_ce = 0.0
        for s0 in range(0, m, batch):
            rows = perm[s0:s0 + batch]
            J, g = _core._mlp_cost_grad(sizes, act, theta, X, Y, rows, lam, output, sample_weight)
            run_ce += (J - lam / (2 * W) * _penalty(sizes, theta)) * rows.size
            bits += gs.bits(g.size)
            t += solver == _core.MLP_SOLVER_ADAM
            mlp_step(theta, gs(g.astype(float), rng=gen).astype(theta.dtype), v, s, t, solver, lr, momentum,
                     nesterov, beta1, beta2, eps)
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"MLP weights diverged in epoch {e + 1}; lower the learning rate")
        if running_cost:
            costs[e] = run_ce / m + lam / (2 * W) * _penalty(sizes, theta)
        else:
            costs[e], _ = _core._mlp_cost_grad(sizes, act, theta, X, Y, None, lam, output, sample_weight)
        e += 1
        if no_improvement(costs[e - 1], tol, n_iter_no_change, stop):
            break
    return theta, costs, bits, e, t
