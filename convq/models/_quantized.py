"""Training models from quantized gradients.

A convq quantizer needs its input inside an admissible set (||y||_q <= B). Model gradients
have no a-priori bound, so the models send them through the gain-shape quantizer of
Mayekar & Tyagi (section 7), :class:`convq.quantize.GainShape`: a ``quantizer=`` that is
already a GainShape (e.g. ``GainShape(q, gain=AGUQ(...))``) is used as it is, any other q
becomes ``GainShape(q, gain="float32")``: the gain n = ||g||_q as a float32 (rounded up, 32
bits) and the shape g / n through q scaled to its bound, so that

    Q_gs(g) = n * Q(g / n),   E[Q_gs(g)] = g,   bits = 32 + Q.bits(d).
"""
from __future__ import annotations

import numpy as np

from .. import _core
from ..quantize import GainShape, _wire_codec
from ..slow.models import mlp_step, no_improvement

__all__ = ["gain_shape", "train_mlp_quantized"]


def gain_shape(quantizer) -> GainShape:
    """The gain-shape quantizer the models send gradients through (see the module)."""
    return _wire_codec(quantizer, True)


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
