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

__all__ = ["gain_shape", "train_mlp_quantized"]


def gain_shape(quantizer) -> GainShape:
    """The gain-shape quantizer the models send gradients through (see the module)."""
    return _wire_codec(quantizer, True)


def _penalty(sizes, theta):
    off, pen = 0, 0.0
    for l in range(1, len(sizes)):
        nw = sizes[l - 1] * sizes[l]
        pen += float(theta[off:off + nw] @ theta[off:off + nw])
        off += nw + sizes[l]
    return pen


def train_mlp_quantized(sizes, act, theta, X, Y, lam, lr, batch, epochs, quantizer, gen, running=False):
    """Minibatch gradient descent where every minibatch gradient goes through the
    gain-shape quantizer; the same schedule as the C loop (Fisher-Yates per epoch).
    ``running``: the epoch cost is the batch-size-weighted mean of the minibatch
    cross-entropies plus the penalty at the epoch's end (as the C loop)."""
    gs = gain_shape(quantizer)
    theta = theta.copy()
    m = X.shape[0]
    costs = np.empty(epochs)
    bits = 0
    for e in range(epochs):
        perm = gen.permutation(m)
        run_ce = 0.0
        for s in range(0, m, batch):
            rows = perm[s:s + batch]
            J, g = _core._mlp_cost_grad(sizes, act, theta, X, Y, rows, lam)
            run_ce += (J - lam / (2 * m) * _penalty(sizes, theta)) * rows.size
            bits += gs.bits(g.size)
            theta -= lr * gs(g, rng=gen)
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"MLP weights diverged in epoch {e + 1}; lower the learning rate")
        if running:
            costs[e] = run_ce / m + lam / (2 * m) * _penalty(sizes, theta)
        else:
            costs[e], _ = _core._mlp_cost_grad(sizes, act, theta, X, Y, None, lam)
    return theta, costs, bits
