"""The l_p composite's typed kernels (p in [1, 2): CUQ part, support bitmap, RATQ part),
float32 and float64 in and out (issue 14):

* a float32 vector gives the message of its float64 copy;
* a float32 decode / fast path is the float64 one rounded once (a large coordinate's value
  is CUQ's value of 0 plus the RATQ value, added in double);
* decode_sum and the encoder's fused decode (``_encode_add``) add exactly the decodes, also
  at the large coordinates, where the CUQ and RATQ parts meet;
* every case at p = 1 (no RATQ part), at tiny d (no bitmap: dmax = 0), at d not a multiple
  of 64 (the bitmap's last word) and across the encoder's chunks;
* the admissibility check ||y||_q <= B agrees with an independent computation, also where
  the direct sum of |y_i|^q over- or underflows.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import convq.quantize as Q
from convq import DecodeError

LPS = [Q.LpQuantizer(1.0), Q.LpQuantizer(1.2, 3.0), Q.LpQuantizer(1.5), Q.LpQuantizer(1.9, 2.0),
       Q.LpQuantizer(1.3)]  # q = 4.33...: pow() terms
DIMS = [1, 3, 4, 7, 64, 65, 777, 3000]


def _admissible(q, d, seed, scale=0.99):
    y = np.random.default_rng(seed).standard_normal(d)
    y[::7] *= 6.0  # some coordinates over c (the RATQ part)
    r = q.norm_order
    n = np.abs(y).max() if math.isinf(r) else np.sum(np.abs(y) ** r) ** (1 / r)
    return (y / n * q.bound * scale).astype(np.float32)


def _n_large(q, y):
    return int(np.sum(np.abs(y.astype(np.float64)) > q.params(y.size)["c"] * (1 + 2e-9)))


@pytest.mark.parametrize("q", LPS, ids=repr)
def test_float32_message_and_outputs(q):
    for d in DIMS:
        y32 = _admissible(q, d, d)
        m = q.encode(y32, rng=d)
        assert m == q.encode(y32.astype(np.float64), rng=d)
        d64 = q.decode(m)
        np.testing.assert_array_equal(q.decode(m, dtype=np.float32), d64.astype(np.float32))
        np.testing.assert_array_equal(q(y32, rng=d), d64)
        np.testing.assert_array_equal(q(y32, rng=d, dtype=np.float32), d64.astype(np.float32))
        if q.p > 1 and d >= 64:
            assert _n_large(q, y32) > 0, (q, d)  # the RATQ part carries something


@pytest.mark.parametrize("q", LPS, ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_decode_sum_and_encode_add_are_the_decodes_added(q, dtype):
    for d in DIMS:
        msgs = [q.encode(_admissible(q, d, 10 * d + s), rng=s) for s in range(3)]
        w = [0.75, -1.25, 3.0]
        start = np.random.default_rng(d).standard_normal(d).astype(dtype)
        ref = start.copy()
        for wk, m in zip(w, msgs):  # each step in double, rounded once
            ref = (ref.astype(np.float64) + wk * q.decode(m)).astype(dtype)
        out = start.copy()
        q.decode_sum(msgs, d, weights=w, out=out)
        assert out.tobytes() == ref.tobytes(), d
        fresh = q.decode_sum(msgs, d, weights=w, dtype=dtype)
        ref0 = np.zeros(d, dtype)
        for wk, m in zip(w, msgs):
            ref0 = (ref0.astype(np.float64) + wk * q.decode(m)).astype(dtype)
        assert fresh.tobytes() == ref0.tobytes(), d
        y = _admissible(q, d, d + 5)
        m = q.encode(y, rng=9)
        for fr in (False, True):
            out = start.copy()
            assert q._encode_add(y, 9, out, weight=-0.375, fresh=fr) == m
            want = q.decode_sum([m], d, weights=[-0.375], out=None if fr else start.copy(), dtype=dtype)
            assert out.tobytes() == want.tobytes(), (d, fr)


def test_tiny_dimensions_have_no_bitmap():
    for q in LPS:
        for d in (1, 2, 3):
            P = q.params(d)
            assert P["dmax"] == 0 and P["bits"] == d * int(math.log2(P["L"]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_bad_bitmap_leaves_out_unchanged(dtype):
    q, d = Q.LpQuantizer(1.5), 777
    msgs = [q.encode(_admissible(q, d, s), rng=s).payload for s in range(2)]
    P = q.params(d)
    lb = int(math.log2(P["L"]))
    b = bytearray(msgs[1])
    for i in range(d * lb, d * lb + d):  # every coordinate in the support bitmap
        b[i >> 3] |= 1 << (i & 7)
    with pytest.raises(DecodeError, match="support bitmap"):
        q.decode(bytes(b), d)
    start = np.random.default_rng(0).standard_normal(d).astype(dtype)
    out = start.copy()
    with pytest.raises(DecodeError, match=r"payloads\[1\]"):
        q.decode_sum([msgs[0], bytes(b)], d, out=out)
    np.testing.assert_array_equal(out, start)


def _qnorm(y, r):
    """||y||_r in exact rational arithmetic on the float values (the reference)."""
    from fractions import Fraction
    a = [abs(Fraction(float(v))) for v in y]
    if math.isinf(r):
        return float(max(a))
    mx = max(a)
    s = sum((v / mx) ** int(r) for v in a)
    return float(s) ** (1.0 / r) * float(mx)


@pytest.mark.parametrize("scale", [1e-120, 1.0, 1e120])
def test_norm_check_at_every_magnitude(scale):
    """Accept at 0.999 B, reject at 1.001 B (B = the norm times these), where |y_i|^q
    underflows (1e-120: q = 3) or overflows (1e120) and the check rescales by max |y_i|."""
    q0 = Q.LpQuantizer(1.5)
    y = _admissible(q0, 500, 3).astype(np.float64) * scale
    n = _qnorm(y, 3.0)
    for f, ok in ((1.001, True), (0.999, False)):
        q = Q.LpQuantizer(1.5, n * f)
        if ok:
            assert q.encode(y, rng=1).nbits == q.bits(y.size)
            assert q(y, rng=1).shape == y.shape
        else:
            with pytest.raises(ValueError, match="needs"):
                q.encode(y, rng=1)
            with pytest.raises(ValueError, match="needs"):
                q(y, rng=1)


def test_nonfinite_input_names_the_index():
    q = Q.LpQuantizer(1.5)
    for bad in (np.nan, np.inf):
        for dt in (np.float64, np.float32):
            y = np.zeros(3000, dt)
            y[2049] = bad
            with pytest.raises(ValueError, match="2049"):
                q.encode(y, rng=0)
            with pytest.raises(ValueError, match="2049"):
                q(y, rng=0)


def _bits(payload, n):
    return np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")[:n].astype(np.int64)


@pytest.mark.parametrize("extra", [0, 1])
def test_bitmap_errors_are_reported_in_index_order(extra):
    """More than dmax ones in the bitmap, each at a coordinate whose CUQ level is that of 0,
    is 'more than floor(d/Delta1)'; a wrong level before that one is reported first."""
    q, d = Q.LpQuantizer(1.5), 3000
    P = q.params(d)
    lb, L, dmax = int(math.log2(P["L"])), P["L"], P["dmax"]
    pay = q.encode(_admissible(q, d, 1), rng=1).payload
    bits = _bits(pay, 8 * len(pay))
    lev = (bits[:d * lb].reshape(d, lb) << np.arange(lb)).sum(axis=1)
    zero = np.flatnonzero((lev == L // 2 - 1) | (lev == L // 2))
    assert zero.size > dmax + 1
    bits[d * lb:d * lb + d] = 0
    bits[d * lb + zero[:dmax + 1]] = 1
    if extra:  # a coordinate with another level, before the (dmax+1)-th one
        i = int(np.flatnonzero((lev != L // 2 - 1) & (lev != L // 2) & (np.arange(d) < zero[dmax]))[-1])
        bits[d * lb + i] = 1
    bad = np.packbits(bits, bitorder="little").tobytes()
    with pytest.raises(DecodeError, match=f"coordinate {i} is in the support bitmap" if extra else "more than floor"):
        q.decode(bad, d)
