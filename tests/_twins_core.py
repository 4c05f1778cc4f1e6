"""Twin table: the coding module and the fused objectives against :mod:`convq.slow`."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import convq.coding as coding
import convq.objectives as objectives
import convq.slow.coding as slow_coding
import convq.slow.objectives as slow_objectives
import convq.slow.optimize as slow_optimize
from _twin import Twin


def _strings(rng):
    yield (np.zeros(0, np.uint8),)
    yield (np.ones(5, np.uint8),)
    yield (np.array([0, 1], np.uint8),)
    for n in (1, 2, 3, 17, 64, 65, 200, 1000):
        for k in sorted({0, 1, n // 2, n - 1, n}):
            s = np.zeros(n, np.uint8)
            s[rng.choice(n, k, replace=False)] = 1
            yield (s,)
    yield (np.array([1, 0, 1, 1, 0], np.int64),)
    yield (np.array([True, False, True]),)


def _fw_payloads(rng):
    for n, k in [(1, 0), (5, 5), (2, 1), (10, 3), (33, 16), (200, 7)]:
        s = np.zeros(n, np.uint8)
        s[rng.choice(n, k, replace=False)] = 1
        p, _ = coding.encode_fixed_weight(s)
        yield (p, n, k)
        L = coding.fixed_weight_bits(n, k)
        for _ in range(20):   # random fields: mostly rejected, the canonical ones accepted
            yield (rng.integers(0, 256, (L + 7) // 8, dtype=np.uint8).tobytes(), n, k)
        if p:
            yield (p[:-1], n, k)
            yield (p + b"\x00", n, k)


def _fields(rng):
    yield (np.zeros(0, np.int64), np.zeros(0, np.int64))
    for w in (1, 7, 8, 13, 31, 32):
        v = rng.integers(0, 2 ** w, 37, dtype=np.int64)
        yield (v, np.full(37, w))
    ws = rng.integers(1, 33, 100)
    yield (np.array([rng.integers(0, 2 ** int(w)) for w in ws], np.int64), ws)


def _unpack_cases(rng):
    for v, w in _fields(rng):
        p, n = coding.pack_fields(v, w)
        yield (p, n, w)
        yield (p, n + 1, w)
        if p:
            yield (p[:-1], n, w)
            q = bytearray(p)
            q[-1] |= 0x80
            yield (bytes(q), n, w)


def _objectives():
    r = np.random.default_rng(7)
    X = r.standard_normal((40, 5))
    X[3] *= 1e3                      # one huge row: overflow-prone margins
    y = r.standard_normal(40)
    yl = (r.random(40) < 0.5).astype(float)
    Xs = np.where(np.abs(X) < 0.8, 0.0, X)
    Xs[7] = 0.0                      # an empty row
    Xs[:, 2] = 0.0                   # an empty column
    return [objectives.LeastSquares(X, y, 0.3, True, threads=1), objectives.Logistic(X, yl, 0.2, True, threads=1),
            objectives.Logistic(X, yl, 0.0, False, threads=2), objectives.Hinge(X, yl, 0.7, 2.0, True, threads=1),
            objectives.Lasso(X, y, 0.1, threads=1), objectives.Lasso(X, y, 0.1, delta=0.01, threads=1),
            objectives.Quadratic(X.T @ X, np.ones(5), 0.5, threads=1),
            objectives.Hinge(X, yl, 0.7, 2.0, True, threads=1).smooth(0.5),
            objectives.SmoothedHinge(X, yl, 3.0, 1.0, False, 1e-3, threads=2),
            # a scipy.sparse X (the CSR kernels; the twins compute with scipy.sparse products)
            objectives.LeastSquares(sp.csr_matrix(Xs), y, 0.3, True, threads=1),
            objectives.Logistic(sp.coo_matrix(Xs), yl, 0.2, False, threads=2)]


def _objective_points(rng):
    for o in _objectives():
        d = o.dim
        for th in (np.zeros(d), np.full(d, 1e3), np.full(d, -1e3), rng.standard_normal(d),
                   np.full(d, 1e-300), rng.standard_normal(d)[::-1]):
            yield (o, th, None)
            if not isinstance(o, objectives.Quadratic):
                yield (o, th, np.array([3, 0, 0, 39]))
            # sums, not means: defined on no rows
            if isinstance(o, (objectives.Hinge, objectives.SmoothedHinge, objectives.Lasso)):
                yield (o, th, np.zeros(0, np.int64))


def _objective_bad():
    o = _objectives()[1]
    return [(o, np.zeros(4), None), (o, np.full(6, np.nan), None), (o, np.zeros((6, 1)), None), (o, "x", None),
            (o, np.zeros(6), np.array([40])), (o, np.zeros(6), np.array([0.5])), (o, np.zeros(6), np.array([-1]))]


def _hessp_points(rng):
    """(objective, x, v, rows) for every objective but the hinge (it has no Hessian: both
    sides raise, which _hessp_bad checks)."""
    for o, th, rows in _objective_points(rng):
        if not isinstance(o, objectives.Hinge) and not (isinstance(o, objectives.LeastSquares) and rows is not None
                                                        and rows.size == 0):
            yield (o, th, rng.standard_normal(o.dim), rows)


def _hessp_bad():
    o, h = _objectives()[1], _objectives()[3]
    return [(o, np.zeros(6), np.zeros(5), None), (o, np.zeros(6), np.full(6, np.inf), None),
            (o, np.zeros(6), np.zeros(6), np.array([40])), (h, np.zeros(6), np.zeros(6), None)]


def _hess_diag_points(rng):
    """(objective, x) for every objective with a Hessian diagonal (not the hinge, nor the
    unsmoothed LASSO)."""
    for o, th, rows in _objective_points(rng):
        if rows is None and not isinstance(o, objectives.Hinge) and not (isinstance(o, objectives.Lasso)
                                                                         and o.delta == 0):
            yield (o, th)


TWINS = [
    Twin("Objective._hess_diag", lambda o, x: o._hess_diag(x), slow_optimize.hess_diag, _hess_diag_points,
         lambda: [(_objectives()[1], np.zeros(4)), (_objectives()[3], np.zeros(6))], rtol=1e-9),
    Twin("Objective.hessp", lambda o, x, v, rows: o.hessp(x, v, rows), slow_objectives.hessp, _hessp_points,
         _hessp_bad, rtol=1e-9),
    Twin("Objective.value_and_grad", lambda o, x, rows: o.value_and_grad(x, rows), slow_objectives.value_and_grad,
         _objective_points, _objective_bad, rtol=1e-9),
    Twin("encode_fixed_weight", coding.encode_fixed_weight, slow_coding.encode_fixed_weight, _strings,
         lambda: [(np.array([0, 2]),), (np.zeros((2, 2), np.uint8),), (np.array([0.5, 1.0]),), (np.array([-1, 1]),)]),
    Twin("decode_fixed_weight", coding.decode_fixed_weight, slow_coding.decode_fixed_weight, _fw_payloads,
         lambda: [(b"", 3, 4), (b"", -1, 0), (b"\x00", 2**70, 1), ("ab", 3, 1), (np.zeros(1, np.float64), 3, 1)]),
    Twin("fixed_weight_bits", coding.fixed_weight_bits, slow_coding.fixed_weight_bits,
         lambda rng: [(n, k) for n in (0, 1, 2, 60, 61, 1000, 10**6) for k in sorted({0, 1, n // 3, n}) if k <= n],
         lambda: [(3, 4), (-1, 0), (2.5, 1), ("3", 1), (2**64, 1)]),
    Twin("log2_binomial", coding.log2_binomial, slow_coding.log2_binomial,
         lambda rng: [(n, k) for n in (0, 1, 5, 60, 61, 300) for k in sorted({0, 1, n // 2, n}) if k <= n],
         lambda: [(3, 4), (-1, 0), (None, 1)], rtol=1e-12),
    Twin("pack_fields", coding.pack_fields, slow_coding.pack_fields, _fields,
         lambda: [(np.array([4]), np.array([2])), (np.array([1]), np.array([0])), (np.array([1]), np.array([33])),
                  (np.array([1, 2]), np.array([3])), (np.array([-1]), np.array([3])), (np.array([0.5]), np.array([3]))]),
    Twin("unpack_fields", coding.unpack_fields, slow_coding.unpack_fields, _unpack_cases,
         lambda: [(b"\x00", 8, np.array([0])), (b"\x00", -1, np.array([3])), (b"\x00", 8, np.array([1.5]))]),
]
