"""The twin harness (Bottleneck's ``unit_maker`` is the model).

For every public C-backed entry point and its slow NumPy twin in :mod:`convq.slow`:
- equal results on adversarial inputs (bit-identical where the twin replays the same
  operations, else within a stated tolerance),
- the same exception type on bad input,
- inputs not modified,
- reference counts of the inputs unchanged.

Each entry of ``TWINS`` is ``Twin(name, c, slow, cases, bad, rtol)``: ``cases`` yields
argument tuples, ``bad`` argument tuples that must raise; ``c`` and ``slow`` take the same
arguments (small lambdas adapt signatures where the public API and the twin differ).
"""
from __future__ import annotations

import sys
from typing import Callable, NamedTuple

import numpy as np
import pytest

import convq.coding as coding
import convq.objectives as objectives
import convq.slow.coding as slow_coding
import convq.slow.objectives as slow_objectives


class Twin(NamedTuple):
    name: str
    c: Callable
    slow: Callable
    cases: Callable     # rng -> iterable of argument tuples
    bad: Callable       # () -> iterable of argument tuples that must raise
    rtol: float = 0.0   # 0: bit-identical


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
    return [objectives.LeastSquares(X, y, 0.3, True, threads=1), objectives.Logistic(X, yl, 0.2, True, threads=1),
            objectives.Logistic(X, yl, 0.0, False, threads=2), objectives.Hinge(X, yl, 0.7, 2.0, True, threads=1),
            objectives.Lasso(X, y, 0.1, threads=1), objectives.Lasso(X, y, 0.1, delta=0.01, threads=1),
            objectives.Quadratic(X.T @ X, np.ones(5), 0.5, threads=1)]


def _objective_points(rng):
    for o in _objectives():
        d = o.dim
        for th in (np.zeros(d), np.full(d, 1e3), np.full(d, -1e3), rng.standard_normal(d),
                   np.full(d, 1e-300), rng.standard_normal(d)[::-1]):
            yield (o, th, None)
            if not isinstance(o, objectives.Quadratic):
                yield (o, th, np.array([3, 0, 0, 39]))
            if isinstance(o, (objectives.Hinge, objectives.Lasso)):   # sums, not means: defined on no rows
                yield (o, th, np.zeros(0, np.int64))


def _objective_bad():
    o = _objectives()[1]
    return [(o, np.zeros(4), None), (o, np.full(6, np.nan), None), (o, np.zeros((6, 1)), None), (o, "x", None),
            (o, np.zeros(6), np.array([40])), (o, np.zeros(6), np.array([0.5])), (o, np.zeros(6), np.array([-1]))]


TWINS = [
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


def _same(a, b, rtol):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, rtol)
        return
    if isinstance(a, (bytes, bytearray)):
        assert a == b
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    if rtol == 0:
        np.testing.assert_array_equal(a, b)
    else:   # relative to the scale of the whole result (gradients have cancelling entries)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b), initial=0))))


def _outcome(f, args):
    try:
        return f(*args), None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return None, type(e)


def _refs(args):
    # Arrays only: ints and short bytes are shared with other objects (cached small ints,
    # earlier results), so their counts move for reasons that have nothing to do with C.
    return [sys.getrefcount(a) if isinstance(a, np.ndarray) else None for a in args]


def _snap(args):
    # arrays are copied; everything else passed here is immutable (bytes, int, str)
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    return before, _refs(args)


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.name)
def test_c_equals_twin_on_adversarial_inputs(twin):
    rng = np.random.default_rng(2026)
    n = 0
    for args in twin.cases(rng):
        before, refs = _snap(args)
        got, e1 = _outcome(twin.c, args)
        refs_after = _refs(args)
        want, e2 = _outcome(twin.slow, args)
        assert e1 is e2, f"{twin.name}{tuple(type(a).__name__ for a in args)}: C raised {e1}, twin {e2}"
        if e1 is None:
            _same(got, want, twin.rtol)
            n += 1
        for a, b in zip(args, before):   # inputs not modified
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b
        assert refs_after == refs, f"{twin.name}: reference counts of the inputs changed"
    assert n > 0


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.name)
def test_c_and_twin_raise_the_same_type_on_bad_input(twin):
    for args in twin.bad():
        _, e1 = _outcome(twin.c, args)
        _, e2 = _outcome(twin.slow, args)
        assert e1 is not None, f"{twin.name}{args!r} did not raise"
        assert e1 is e2, f"{twin.name}{args!r}: C raised {e1.__name__}, twin {e2 and e2.__name__}"
        assert issubclass(e1, (ValueError, TypeError)), f"{twin.name}{args!r} raised {e1.__name__}"
