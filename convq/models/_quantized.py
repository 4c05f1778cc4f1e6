"""Training models from quantized gradients.

A convq quantizer needs its input inside an admissible set (||y||_q <= B). Model gradients
have no a-priori bound, so the models use the gain-shape scheme of Mayekar & Tyagi
(section 7): the gain n = ||g||_q is sent as a float32 (rounded up, 32 bits) and the shape
g / n (||.||_q <= 1) through the quantizer built with B = 1, so that

    Q_gs(g) = n * Q(g / n),   E[Q_gs(g)] = g,   bits = 32 + Q.bits(d).
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .._lp import gain_bound, norm_order_of

__all__ = ["GainShape", "train_mlp_quantized"]


class GainShape:
    """Unbiased gain-shape wrapper around a unit-bound quantizer (see module docstring).

    The wrapped quantizer's norm bound B is used as the shape's bound: the shape is scaled
    to ||.||_q = B (q from the quantizer's attribute ``q`` or ``p``, default 2)."""

    def __init__(self, quantizer):
        self.quantizer = quantizer

    def _norm_order(self):
        return norm_order_of(self.quantizer)

    def _bound(self):
        return gain_bound(self.quantizer)

    def bits(self, d):
        return 32 + int(self.quantizer.bits(d))

    def __call__(self, g, rng):
        g = np.asarray(g, dtype=float)
        n = float(np.linalg.norm(g, ord=self._norm_order()))
        if n == 0.0:
            # The shape is 0: quantize the zero vector (still a real message, same length).
            return self.quantizer.decode(self.quantizer.encode(np.zeros_like(g), rng=rng)), self.bits(g.size)
        gain = float(np.nextafter(np.float32(n / self._bound()), np.float32(np.inf)))  # float32, rounded up
        msg = self.quantizer.encode(g / gain, rng=rng)
        return gain * self.quantizer.decode(msg), 32 + int(msg.nbits)


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
    gs = GainShape(quantizer)
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
            qg, nb = gs(g, gen)
            bits += nb
            theta -= lr * qg
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"MLP weights diverged in epoch {e + 1}; lower the learning rate")
        if running:
            costs[e] = run_ce / m + lam / (2 * m) * _penalty(sizes, theta)
        else:
            costs[e], _ = _core._mlp_cost_grad(sizes, act, theta, X, Y, None, lam)
    return theta, costs, bits
