"""Slow NumPy twins of the fused C objectives (:mod:`convq.objectives`).

Each twin evaluates the cost and its gradient in two plain NumPy passes, in the form the
sources write them: least squares with an l2 penalty (m = number of rows used)
``(1/2m) ||X th - y||^2 + (lam/2m) ||th_w||^2`` (the intercept is not penalised); the
logistic cost ``-(1/m) sum [y log h + (1-y) log(1-h)] + (lam/2m) ||th_w||^2``,
h = sigmoid(X th); the SVM cost with the piecewise-linear hinge of slope k,
``C sum [y cost1(z) + (1-y) cost0(z)] + (1/2) ||th_w||^2`` ("Machine learning algebra:
regression, neural networks and support vector machines", the SVM section); and LASSO
``(1/2) ||A x - b||^2 + mu sum l_delta(x_i)`` with the Huber smoothing l_delta of |x|
("Gradient method, line search and Barzilai-Borwein", LASSO by smoothing).
"""
from __future__ import annotations

import numpy as np

from .._validation import as_vector

__all__ = ["lsq", "logistic", "softmax", "hinge", "huber_hinge", "lasso", "quadratic", "value_and_grad"]


def _z(X, th, icpt):
    return X @ th[1:] + th[0] if icpt else X @ th


def _w(th, icpt):
    return th[1:] if icpt else th


def _grad_rows(X, res, icpt):
    return np.concatenate([[res.sum()], X.T @ res]) if icpt else X.T @ res


def _penalty_grad(th, scale, icpt):
    pen = scale * th
    if icpt:
        pen[0] = 0
    return pen


def lsq(X, y, lam, icpt, th):
    m = len(y)
    z = _z(X, th, icpt)
    f = 0.5 / m * np.sum((z - y) ** 2) + lam / (2 * m) * np.sum(_w(th, icpt) ** 2)
    return f, _grad_rows(X, (z - y) / m, icpt) + _penalty_grad(th, lam / m, icpt)


def logistic(X, y, lam, icpt, th):
    m = len(y)
    z = _z(X, th, icpt)
    h = np.exp(-np.logaddexp(0.0, -z))
    # -[y log h + (1-y) log(1-h)] = log(1 + e^z) - y z, in the form that does not overflow
    f = np.mean(np.logaddexp(0.0, z) - y * z) + lam / (2 * m) * np.sum(_w(th, icpt) ** 2)
    return f, _grad_rows(X, (h - y) / m, icpt) + _penalty_grad(th, lam / m, icpt)


def softmax(X, y, K, lam, icpt, th):
    """(1/m) sum [log sum_k e^{z_ik} - z_{i,y_i}] + (lam/2m) sum_k ||th_{k,w}||^2 with
    z = X~ Th' (Th = th as K rows), the multinomial cross-entropy."""
    m = len(y)
    T = th.reshape(K, -1)
    Z = np.stack([_z(X, T[k], icpt) for k in range(K)], axis=1)
    lse = np.logaddexp.reduce(Z, axis=1)
    yi = y.astype(int)
    P = np.exp(Z - lse[:, None])
    P[np.arange(m), yi] -= 1.0
    W = T[:, 1:] if icpt else T
    f = np.sum(lse - Z[np.arange(m), yi]) / m + lam / (2 * m) * np.sum(W ** 2)
    G = np.stack([_grad_rows(X, P[:, k] / m, icpt) + _penalty_grad(T[k].copy(), lam / m, icpt) for k in range(K)])
    return f, G.ravel()


def hinge(X, y, C, k, icpt, th):
    z = _z(X, th, icpt)
    c1 = np.where(z >= 1, 0.0, k * (1 - z))
    c0 = np.where(z < -1, 0.0, k * (1 + z))
    f = C * np.sum(y * c1 + (1 - y) * c0) + 0.5 * np.sum(_w(th, icpt) ** 2)
    d1 = np.where(z >= 1, 0.0, -k)
    d0 = np.where(z < -1, 0.0, k)
    return f, _grad_rows(X, C * (y * d1 + (1 - y) * d0), icpt) + _penalty_grad(th, 1.0, icpt)


def huber_hinge(X, y, Ck, delta, icpt, th):
    """C k sum h_delta(1 - s z) + 1/2 ||th_w||^2, s = 2y - 1, h_delta the Huber-smoothed max(0, v)."""
    s = 2.0 * y - 1.0
    v = 1.0 - s * _z(X, th, icpt)
    h = np.where(v <= 0, 0.0, np.where(v < delta, v * v / (2 * delta), v - delta / 2))
    f = Ck * np.sum(h) + 0.5 * np.sum(_w(th, icpt) ** 2)
    return f, _grad_rows(X, -Ck * s * np.clip(v / delta, 0.0, 1.0), icpt) + _penalty_grad(th, 1.0, icpt)


def lasso(A, b, mu, delta, x):
    r = A @ x - b
    if delta > 0:
        l = np.where(np.abs(x) < delta, x ** 2 / (2 * delta), np.abs(x) - delta / 2)
        dl = np.where(np.abs(x) < delta, x / delta, np.sign(x))
    else:
        l, dl = np.abs(x), np.sign(x)
    return 0.5 * r @ r + mu * l.sum(), A.T @ r + mu * dl


def quadratic(A, b, c, x):
    """(1/2) x'A x - b'x + c with A symmetric (A is symmetrised on construction)."""
    bx = 0.0 if b is None else b @ x
    g = A @ x - (0.0 if b is None else b)
    return 0.5 * x @ (A @ x) - bx + c, g


def value_and_grad(obj, x, rows=None):
    """The twin of ``obj.value_and_grad(x, rows)`` for a built-in objective."""
    from .. import objectives as O

    x = as_vector(x, "x", size=obj.dim)
    rows = obj._rows(rows)
    if getattr(obj, "sample_weight", None) is not None:
        raise NotImplementedError("the twins take unweighted objectives (a weight is a repeated row)")
    if isinstance(obj, O.Quadratic):
        return quadratic(obj.A, obj.b, obj.c, x)
    if isinstance(obj, O.Lasso):
        A, b = (obj.A, obj.b) if rows is None else (obj.A[rows], obj.b[rows])
        return lasso(A, b, obj.mu, obj.delta, x)
    X, y = (obj.X, obj.y) if rows is None else (obj.X[rows], obj.y[rows])
    if isinstance(obj, O.Hinge):
        return hinge(X, y, obj.C, obj.slope, obj.intercept, x)
    if isinstance(obj, O.SmoothedHinge):
        return huber_hinge(X, y, obj.C * obj.slope, obj.delta, obj.intercept, x)
    if isinstance(obj, O.Logistic):
        return logistic(X, y, obj.lam, obj.intercept, x)
    if isinstance(obj, O.Softmax):
        return softmax(X, y, obj.n_classes, obj.lam, obj.intercept, x)
    if isinstance(obj, O.LeastSquares):
        return lsq(X, y, obj.lam, obj.intercept, x)
    raise TypeError(f"no twin for {type(obj).__name__}")


def hessp(obj, x, v, rows=None):
    """The twin of ``obj.hessp(x, v, rows)`` (``cq_obj_hessp``): the Hessian of the built-in
    objective at x times v, on the rows given (all if None), in plain NumPy. Least squares
    and logistic: (1/m) X' D X v (D = I, or h(1 - h) for the logistic sigmoid h) plus the
    penalty lam/m on the non-intercept entries; the smoothed LASSO: A'A v plus mu/delta on
    the coordinates inside the quadratic zone; a quadratic: A v. The hinge loss has none."""
    from .. import objectives as O

    x = as_vector(x, "x", size=obj.dim)
    v = as_vector(v, "v", size=obj.dim)
    rows = obj._rows(rows)
    if isinstance(obj, O.Hinge):
        raise ValueError("the hinge loss is not twice differentiable")
    if isinstance(obj, O.Quadratic):
        return obj.A @ v
    if isinstance(obj, O.Lasso):
        A = obj.A if rows is None else obj.A[rows]
        out = A.T @ (A @ v)
        if obj.delta > 0:
            out = out + np.where(np.abs(x) < obj.delta, obj.mu / obj.delta * v, 0.0)
        return out
    X = obj.X if rows is None else obj.X[rows]
    m = X.shape[0]
    icpt = bool(obj.intercept)
    Xv = _z(X, v, icpt)
    if isinstance(obj, O.SmoothedHinge):   # C k / delta on the rows inside the quadratic zone
        y = obj.y if rows is None else obj.y[rows]
        u = 1.0 - (2.0 * y - 1.0) * _z(X, x, icpt)
        Xv = np.where((u > 0) & (u < obj.delta), obj.C * obj.slope / obj.delta, 0.0) * Xv
        return _grad_rows(X, Xv, icpt) + _penalty_grad(v.copy(), 1.0, icpt)
    if isinstance(obj, O.Logistic):
        h = np.exp(-np.logaddexp(0.0, -_z(X, x, icpt)))
        Xv = h * (1.0 - h) * Xv
    out = _grad_rows(X, Xv, icpt) / m if m else np.zeros(obj.dim)
    return out + _penalty_grad(v.copy(), obj.lam / m if m else 0.0, icpt)
