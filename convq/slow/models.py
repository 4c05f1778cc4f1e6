"""Slow NumPy twin of the MLP kernels (csrc/models/cq_mlp.c): initialisation, the forward
pass, cost (14) with its back-propagated gradient (15), and the minibatch training loop with
its update rules (gradient descent with momentum or Nesterov's momentum, Adam).

The network of "Machine Learning Algebra" (Lagarde), section 3: A[l] = g(A[l-1] W[l]' + b[l])
with the hidden activation g (sigmoid, tanh, ReLU, leaky ReLU max(0.001 z, z)) and sigmoid
output units (or a softmax output with the multinomial cross-entropy); with row weights w_i
(mean wbar over all rows, total W; all 1 by default) the cost of m rows is

    J = (1/(m wbar)) sum_i w_i CE_i + lam/(2 W) sum_l ||W[l]||_F^2,
    CE_i = -sum_k [y_ik ln a_ik + (1 - y_ik) ln(1 - a_ik)]   (sigmoid)  or  -sum_k y_ik ln a_ik   (softmax),

gradient dJ/dW[l]' = A[l-1]' delta[l] + (lam/W) W[l]', dJ/db[l] = sum_i delta[l]_i,
delta[L] = w (A[L] - Y)/(m wbar), delta[l-1] = (delta[l] W[l]) .* g'(A[l-1]).

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

__all__ = ["mlp_init", "mlp_forward", "mlp_cost_grad", "mlp_train", "mlp_step", "no_improvement"]

# the activation codes of the C core (CQ_ACT_*), read from the constants it exports
_SIGMOID, _TANH, _RELU, _LEAKY = _core.MLP_ACT_SIGMOID, _core.MLP_ACT_TANH, _core.MLP_ACT_RELU, _core.MLP_ACT_LEAKY_RELU
_SPLIT_MIN = 64      # CQ_MLP_SPLIT_MIN
_COST_CHUNK = _core.MLP_CHUNK
_SOFTMAX, _ADAM = _core.MLP_OUT_SOFTMAX, _core.MLP_SOLVER_ADAM


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


def _check(sizes, act, theta=None, output=0):
    sizes = [int(s) for s in sizes]
    if output not in (0, _SOFTMAX):
        raise ValueError(f"unknown output code {output}")
    if not 2 <= len(sizes) <= _core.MLP_MAX_LAYERS + 1 or min(sizes) < 1:
        raise ValueError(f"an MLP needs 2 to {_core.MLP_MAX_LAYERS + 1} layer sizes >= 1, got {sizes}")
    if act not in (_SIGMOID, _TANH, _RELU, _LEAKY):
        raise ValueError(f"unknown activation code {act}")
    if theta is not None:
        theta = np.ascontiguousarray(theta, dtype=np.float32 if theta.dtype == np.float32 else float)
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


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _forward_all(sizes, act, theta, X, output=0):
    A = [X]
    layers = _layers(sizes, theta)
    for l, (WT, b) in enumerate(layers, start=1):
        Z = A[-1] @ WT + b
        if l < len(layers):
            A.append(_g(act, Z))
        else:
            A.append(_softmax(Z) if output == _SOFTMAX and Z.shape[1] > 1 else _g(_SIGMOID, Z))
    return A


def mlp_init(sizes, act, gen):
    """W[l] uniform on [-0.002, 0.002), b[l] = 0 (section 3.6), drawn layer by layer."""
    sizes, _ = _check(sizes, act)
    theta = np.zeros(_n_params(sizes))
    for WT, _b in _layers(sizes, theta):
        WT[...] = (0.004 * gen.random(WT.size) - 0.002).reshape(WT.shape)
    return theta


def _dense(X, n_cols, dtype):
    """X (an array or a CSR triple (data, indices, indptr)) as a dense array of dtype (the
    twin densifies; the C kernels scatter one minibatch of rows at a time)."""
    if isinstance(X, tuple):
        import scipy.sparse
        data, indices, indptr = X
        return scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_cols)).toarray().astype(dtype)
    return np.asarray(X, dtype=dtype)


def _n_rows(X):
    return len(X[2]) - 1 if isinstance(X, tuple) else X.shape[0]


def mlp_forward(sizes, act, theta, X, output=0):
    """The output units A[L] (m x n_L) for the rows of X."""
    sizes, theta = _check(sizes, act, theta, output)
    X = _dense(X, sizes[0], theta.dtype)
    if X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"X has shape {X.shape}, expected {sizes[0]} columns")
    return _forward_all(sizes, act, theta, X, output)[-1]


def _cross_entropy_rows(P, Y, output=0):
    """CE_i of each row (summed in double)."""
    P = np.clip(P.astype(float), 1e-300, 1.0 - 1e-16)
    Y = Y.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if output == _SOFTMAX and P.shape[1] > 1:
            terms = np.where(Y == 0.0, 0.0, -Y * np.log(P))
        else:
            terms = np.where(Y == 1.0, -np.log(P), np.where(Y == 0.0, -np.log1p(-P),
                                                              -(Y * np.log(P) + (1.0 - Y) * np.log1p(-P))))
    return terms.sum(axis=1)


def _eval(sizes, act, theta, X, Y, lam, w_total, want_cost=True, output=0, w=None, wbar=1.0):
    """(cost, gradient) of the rows X, Y with row weights w (None: 1); the penalty lam/(2 W)."""
    m = X.shape[0]
    A = _forward_all(sizes, act, theta, X, output)
    layers = _layers(sizes, theta)
    J = 0.0
    if want_cost:
        ce = _cross_entropy_rows(A[-1], Y, output)
        J = (ce.sum() if w is None else float(w.astype(float) @ ce)) / (m * wbar) + lam / (2.0 * w_total) * _penalty(layers)
    grad = np.zeros_like(theta)
    glayers = _layers(sizes, grad)
    inv_m = 1.0 / (m * wbar)
    scale = inv_m if w is None else (w.astype(float) * inv_m).astype(theta.dtype)[:, None]
    delta = (A[-1] - Y) * theta.dtype.type(inv_m) if w is None else (A[-1] - Y) * scale
    for l in range(len(layers), 0, -1):
        WT, _ = layers[l - 1]
        gWT, gb = glayers[l - 1]
        gWT[...] = theta.dtype.type(lam / w_total) * WT + A[l - 1].T @ delta
        gb[...] = delta.sum(axis=0)
        if l > 1:
            delta = (delta @ WT.T) * _g_prime(act, A[l - 1])
    return J, grad


def _weights(w, m, dtype):
    """(w, W, wbar) of the row weights (None: all 1)."""
    if w is None:
        return None, float(m), 1.0
    w = np.asarray(w, dtype=dtype)
    if w.shape != (m,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"sample_weight must hold {m} finite weights >= 0")
    W = float(w.astype(float).sum())
    if not W > 0:
        raise ValueError("sample_weight sums to 0")
    return w, W, W / m


def mlp_cost_grad(sizes, act, theta, X, Y, rows, lam, output=0, sample_weight=None):
    """Cost (14) and its gradient on ``rows`` of (X, Y) (all rows if None), the penalty
    scaled by the total weight of X's rows: the twin of ``_core._mlp_cost_grad``."""
    sizes, theta = _check(sizes, act, theta, output)
    m = _n_rows(X)
    Xd = _dense(X, sizes[0], theta.dtype)
    Y = np.asarray(Y, dtype=theta.dtype)
    if Xd.ndim != 2 or Xd.shape[1] != sizes[0] or Y.shape != (m, sizes[-1]):
        raise ValueError(f"X, Y have shapes {Xd.shape}, {Y.shape}; expected (m, {sizes[0]}), (m, {sizes[-1]})")
    w, W, wbar = _weights(sample_weight, m, theta.dtype)
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise TypeError("rows must be a 1-d integer array")
        if np.any((rows < 0) | (rows >= m)):
            raise IndexError(f"row index {int(rows[(rows < 0) | (rows >= m)][0])} out of range")
        Xd, Y = Xd[rows], Y[rows]
        w = None if w is None else w[rows]
    if Xd.shape[0] < 1:
        raise ValueError("need at least one row")
    return _eval(sizes, act, theta, Xd, Y, float(lam), W, True, output, w, wbar)


def _penalty(layers):
    return sum(float(np.sum(WT.astype(float) * WT)) for WT, _ in layers)


def mlp_step(theta, g, v, s, t, solver=0, lr=0.05, momentum=0.0, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8):
    """One update of theta (in place) from the gradient g, the twin of C's mlp_step: gradient
    descent theta -= lr g (momentum 0), with momentum v <- mu v - lr g, theta += v (or
    theta += mu v - lr g, Nesterov), or Adam (Kingma & Ba 2015, Algorithm 1) on step t >= 1:
    v <- b1 v + (1 - b1) g, s <- b2 s + (1 - b2) g^2, theta -= lr (v/(1 - b1^t)) / (sqrt(s/(1 - b2^t)) + eps).
    v and s are updated in place."""
    T = theta.dtype.type
    if solver == _ADAM:
        b1, b2, c1, c2 = T(beta1), T(beta2), T(1.0 - beta1 ** t), T(1.0 - beta2 ** t)
        v *= b1
        v += (T(1) - b1) * g
        s *= b2
        s += (T(1) - b2) * g * g
        theta -= T(lr) * (v / c1) / (np.sqrt(s / c2) + T(eps))
    elif momentum == 0.0:
        theta -= (lr * g).astype(theta.dtype, copy=False)
    else:
        v *= T(momentum)
        v -= T(lr) * g
        theta += T(momentum) * v - T(lr) * g if nesterov else v


def mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, quantizer, gen, threads=0, running_cost=True,
              output=0, sample_weight=None, solver=0, momentum=0.0, nesterov=False, beta1=0.9, beta2=0.999,
              eps=1e-8, v=None, s=None, t=0, tol=-np.inf, n_iter_no_change=10):
    """Minibatch training on cost (14), the twin of ``_core._mlp_train`` (no quantizer: the
    bits of the raw gradients are counted). Returns (theta, costs, bits, n_run, t); v and s
    (the update rule's state) are updated in place."""
    if quantizer is not None:
        raise ValueError("the NumPy twin of the MLP training loop takes no quantizer")
    sizes, theta = _check(sizes, act, theta, output)
    theta = theta.copy()
    m, P = _n_rows(X), theta.size
    X = _dense(X, sizes[0], theta.dtype)
    Y = np.asarray(Y, dtype=theta.dtype)
    w, W, wbar = _weights(sample_weight, m, theta.dtype)
    v = np.zeros_like(theta) if v is None else v
    s = np.zeros_like(theta) if s is None else s
    batch = min(int(batch), m)
    layers = _layers(sizes, theta)
    wmask = np.zeros(P, dtype=bool)
    for WT, _ in _layers(sizes, wmask):
        WT[...] = True
    perm = np.arange(m)
    costs = np.empty(int(epochs))
    bits, stop, e = 0, [np.inf, 0], 0
    T = theta.dtype.type

    def ev(r, want):
        return _eval(sizes, act, theta, X[r], Y[r], 0.0, W, want, output, None if w is None else w[r], wbar)

    while e < int(epochs):
        for i in range(m, 1, -1):   # Fisher-Yates
            j = bounded(gen, i)
            perm[i - 1], perm[j] = perm[j], perm[i - 1]
        run_ce = 0.0
        for s0 in range(0, m, batch):
            rows = perm[s0:s0 + batch]
            B = rows.size
            if B >= _SPLIT_MIN:
                sub = (B + 1) // 2
                grad = np.zeros_like(theta)
                parts = []
                for h in range(2):
                    r = rows[h * sub:(h + 1) * sub]
                    J, g = ev(r, running_cost)
                    parts.append((r.size, J, g))
                for mb, J, _ in parts:
                    run_ce += J * mb
                for mb, _, g in parts:
                    grad += T(mb / B) * g
            else:
                J, grad = ev(rows, running_cost)
                run_ce += J * B
            grad[wmask] += T(lam / W) * theta[wmask]
            bits += 8 * theta.itemsize * P
            if solver == _ADAM:
                t += 1
            mlp_step(theta, grad, v, s, t, solver, lr, momentum, nesterov, beta1, beta2, eps)
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"MLP weights diverged in epoch {e + 1}; lower the learning rate")
        if running_cost:
            J = run_ce
        else:
            J = 0.0
            for c in range(0, m, _COST_CHUNK):
                r = np.arange(c, min(c + _COST_CHUNK, m))
                Jc, _ = ev(r, True)
                J += Jc * r.size
        costs[e] = J / m + lam / (2.0 * W) * _penalty(layers)
        e += 1
        if no_improvement(costs[e - 1], tol, n_iter_no_change, stop):
            break
    return theta, costs, bits, e, t


def no_improvement(cost, tol, n_iter_no_change, state):
    """scikit-learn's stopping rule, the twin of C's mlp_no_improvement: a cost above
    best - tol counts one epoch without improvement (any other resets the count); True once
    the count exceeds n_iter_no_change. state = [best, count], updated in place; tol = -inf
    never stops."""
    if not tol > -np.inf:
        return False
    state[1] = state[1] + 1 if cost > state[0] - tol else 0
    state[0] = min(state[0], cost)
    return state[1] > n_iter_no_change
