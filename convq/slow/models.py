"""Slow NumPy twin of the MLP kernels (csrc/models/cq_mlp.c): initialisation, the forward
pass, cost (14) with its back-propagated gradient (15), and the minibatch training loop.

The network of "Machine Learning Algebra" (Lagarde), section 3: A[l] = g(A[l-1] W[l]' + b[l])
with the hidden activation g (sigmoid, tanh, ReLU, leaky ReLU max(0.001 z, z)) and sigmoid
output units; cost

    J = -(1/m) sum [Y .* ln A[L] + (1 - Y) .* ln(1 - A[L])] + lam/(2 m_reg) sum_l ||W[l]||_F^2,

gradient dJ/dW[l]' = A[l-1]' delta[l] + (lam/m_reg) W[l]', dJ/db[l] = sum_i delta[l]_i,
delta[L] = (A[L] - Y)/m, delta[l-1] = (delta[l] W[l]) .* g'(A[l-1]).

The parameters are one flat vector, layer by layer: W[l]' (n_{l-1} x n_l, row-major), then
b[l]. The draws are the C loop's: W uniform on [-0.002, 0.002) from ``Generator.random``
(section 3.6), and per epoch a Fisher-Yates shuffle whose swaps come from Lemire's bounded
integers (:func:`convq.slow.stochastic.bounded`). A minibatch of at least 64 rows is
evaluated as two fixed halves combined with weights rows_h / B, as C does for any number of
threads. The twin agrees with C up to rounding (C's matrix products use fused
multiply-adds in a different order).
"""
from __future__ import annotations

import numpy as np

from .. import _core
from .stochastic import bounded

__all__ = ["mlp_init", "mlp_forward", "mlp_cost_grad", "mlp_train"]

# the activation codes of the C core (CQ_ACT_*), read from the constants it exports
_SIGMOID, _TANH, _RELU, _LEAKY = _core.MLP_ACT_SIGMOID, _core.MLP_ACT_TANH, _core.MLP_ACT_RELU, _core.MLP_ACT_LEAKY_RELU
_SPLIT_MIN = 64      # CQ_MLP_SPLIT_MIN
_COST_CHUNK = 256    # CQ_MLP_COST_CHUNK


def _layers(sizes, theta):
    """Views (W', b) of each layer of the flat parameter vector."""
    out, off = [], 0
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        WT = theta[off:off + n_in * n_out].reshape(n_in, n_out)
        off += n_in * n_out
        out.append((WT, theta[off:off + n_out]))
        off += n_out
    return out


def _n_params(sizes):
    return sum(sizes[l - 1] * sizes[l] + sizes[l] for l in range(1, len(sizes)))


def _check(sizes, act, theta=None):
    sizes = [int(s) for s in sizes]
    if not 2 <= len(sizes) <= _core.MLP_MAX_LAYERS + 1 or min(sizes) < 1:
        raise ValueError(f"an MLP needs 2 to {_core.MLP_MAX_LAYERS + 1} layer sizes >= 1, got {sizes}")
    if act not in (_SIGMOID, _TANH, _RELU, _LEAKY):
        raise ValueError(f"unknown activation code {act}")
    if theta is not None:
        theta = np.ascontiguousarray(theta, dtype=float)
        if theta.ndim != 1 or theta.size != _n_params(sizes):
            raise ValueError(f"theta has {theta.size} entries, the network has {_n_params(sizes)} parameters")
    return sizes, theta


def _g(kind, z):
    if kind == _TANH:
        return np.tanh(z)
    if kind == _RELU:
        return np.where(z > 0, z, 0.0)
    if kind == _LEAKY:
        return np.where(z > 0, z, 0.001 * z)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _g_prime(kind, a):
    """g'(z) through a = g(z)."""
    if kind == _TANH:
        return 1.0 - a * a
    if kind == _RELU:
        return np.where(a > 0, 1.0, 0.0)
    if kind == _LEAKY:
        return np.where(a > 0, 1.0, 0.001)
    return a * (1.0 - a)


def _forward_all(sizes, act, theta, X):
    A = [X]
    layers = _layers(sizes, theta)
    for l, (WT, b) in enumerate(layers, start=1):
        A.append(_g(_SIGMOID if l == len(layers) else act, A[-1] @ WT + b))
    return A


def mlp_init(sizes, act, gen):
    """W[l] uniform on [-0.002, 0.002), b[l] = 0 (section 3.6), drawn layer by layer."""
    sizes, _ = _check(sizes, act)
    theta = np.zeros(_n_params(sizes))
    for WT, _b in _layers(sizes, theta):
        WT[...] = (0.004 * gen.random(WT.size) - 0.002).reshape(WT.shape)
    return theta


def mlp_forward(sizes, act, theta, X):
    """The output units A[L] (m x n_L) for the rows of X."""
    sizes, theta = _check(sizes, act, theta)
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"X has shape {X.shape}, expected {sizes[0]} columns")
    return _forward_all(sizes, act, theta, X)[-1]


def _cross_entropy(P, Y):
    P = np.clip(P, 1e-300, 1.0 - 1e-16)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(Y == 1.0, -np.log(P), np.where(Y == 0.0, -np.log1p(-P),
                                                          -(Y * np.log(P) + (1.0 - Y) * np.log1p(-P))))
    return float(terms.sum())


def _eval(sizes, act, theta, X, Y, lam, m_reg, want_cost=True):
    """(cost, gradient) of the rows X, Y; the penalty lam/(2 m_reg) ||W||^2."""
    m = X.shape[0]
    A = _forward_all(sizes, act, theta, X)
    layers = _layers(sizes, theta)
    pen = sum(float(np.sum(WT * WT)) for WT, _ in layers)
    J = (_cross_entropy(A[-1], Y) / m + lam / (2.0 * m_reg) * pen) if want_cost else 0.0
    grad = np.zeros_like(theta)
    glayers = _layers(sizes, grad)
    delta = (A[-1] - Y) * (1.0 / m)
    for l in range(len(layers), 0, -1):
        WT, _ = layers[l - 1]
        gWT, gb = glayers[l - 1]
        gWT[...] = lam / m_reg * WT + A[l - 1].T @ delta
        gb[...] = delta.sum(axis=0)
        if l > 1:
            delta = (delta @ WT.T) * _g_prime(act, A[l - 1])
    return J, grad


def mlp_cost_grad(sizes, act, theta, X, Y, rows, lam):
    """Cost (14) and its gradient on ``rows`` of (X, Y) (all rows if None), the penalty
    scaled by the number of rows of X: the twin of ``_core._mlp_cost_grad``."""
    sizes, theta = _check(sizes, act, theta)
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if X.ndim != 2 or X.shape[1] != sizes[0] or Y.shape != (X.shape[0], sizes[-1]):
        raise ValueError(f"X, Y have shapes {X.shape}, {Y.shape}; expected (m, {sizes[0]}), (m, {sizes[-1]})")
    m = X.shape[0]
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise TypeError("rows must be a 1-d integer array")
        if np.any((rows < 0) | (rows >= m)):
            raise IndexError(f"row index {int(rows[(rows < 0) | (rows >= m)][0])} out of range")
        X, Y = X[rows], Y[rows]
    if X.shape[0] < 1:
        raise ValueError("need at least one row")
    return _eval(sizes, act, theta, X, Y, float(lam), m)


def _penalty(layers):
    return sum(float(np.sum(WT * WT)) for WT, _ in layers)


def mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, quantizer, gen, threads=0, running=True):
    """Minibatch gradient descent on cost (14), the twin of ``_core._mlp_train`` (no
    quantizer: 64 bits per parameter and step are counted). Returns (theta, costs, bits)."""
    if quantizer is not None:
        raise ValueError("the NumPy twin of the MLP training loop takes no quantizer")
    sizes, theta = _check(sizes, act, theta)
    theta = theta.copy()
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    m, P = X.shape[0], theta.size
    batch = min(int(batch), m)
    layers = _layers(sizes, theta)
    wmask = np.zeros(P, dtype=bool)
    for WT, _ in _layers(sizes, wmask):
        WT[...] = True
    perm = np.arange(m)
    costs = np.empty(int(epochs))
    bits = 0
    for e in range(int(epochs)):
        for i in range(m, 1, -1):   # Fisher-Yates
            j = bounded(gen, i)
            perm[i - 1], perm[j] = perm[j], perm[i - 1]
        run_ce = 0.0
        for s in range(0, m, batch):
            rows = perm[s:s + batch]
            B = rows.size
            if B >= _SPLIT_MIN:
                sub = (B + 1) // 2
                grad = np.zeros(P)
                parts = []
                for h in range(2):
                    r = rows[h * sub:(h + 1) * sub]
                    J, g = _eval(sizes, act, theta, X[r], Y[r], 0.0, m, running)
                    parts.append((r.size, J, g))
                for mb, J, _ in parts:
                    run_ce += J * mb
                for mb, _, g in parts:
                    grad += (mb / B) * g
            else:
                J, grad = _eval(sizes, act, theta, X[rows], Y[rows], 0.0, m, running)
                run_ce += J * B
            grad[wmask] += lam / m * theta[wmask]
            bits += 64 * P
            theta -= lr * grad
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"MLP weights diverged in epoch {e + 1}; lower the learning rate")
        if running:
            J = run_ce
        else:
            J = 0.0
            for c in range(0, m, _COST_CHUNK):
                Jc, _ = _eval(sizes, act, theta, X[c:c + _COST_CHUNK], Y[c:c + _COST_CHUNK], 0.0, m)
                J += Jc * min(_COST_CHUNK, m - c)
        costs[e] = J / m + lam / (2.0 * m) * _penalty(layers)
    return theta, costs, bits
