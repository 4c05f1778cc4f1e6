r"""Slow NumPy twins of the quantizers of :mod:`convq.quantize`.

For a quantizer ``q`` (any of :class:`~convq.quantize.SimQ`, ``SimQPlus``, ``CUQ``,
``RATQ``, ``LpQuantizer``, ``QSGD``, ``TernGrad``, ``ScaledSign``, ``TopK``, ``RandK``,
``Identity``):

* ``encode(q, y, rng) -> (payload, nbits)`` equals ``q.encode(y, rng)`` (its payload and
  nbits) byte for byte,
* ``decode(q, payload, d)`` equals ``q.decode(payload, d)`` bit for bit and raises
  :class:`convq.DecodeError` for every payload the C decoder rejects,
* ``quantize(q, y, rng)`` equals ``q(y, rng)`` bit for bit,
* ``decode_sum(q, payloads, d, weights, out)`` equals ``q.decode_sum(...)`` bit for bit,
* a float32 ``y`` is read as ``y.astype(float64)`` (the C kernels compute in double from
  its exact values), and ``dtype=float32`` outputs are the float64 results rounded once,
* ``bits(q, d)`` and ``params(q, d)`` equal ``q.bits(d)`` and ``q.params(d)``,

and each makes the same random draws from ``rng`` in the same order, so the Generator
continues from the same state afterwards. The parameters (message length, RATQ ranges,
the split of the l_p composite, ...) are derived here from the quantizer's public
attributes with the same formulas and the same libm functions as the C core (Python's
``math`` module calls them), except the log-gamma behind SimQ+'s type-field length, which
CPython computes itself; that length is rounded up with a 1e-6 guard on both sides.

How the draws are replayed
--------------------------
* SimQ draws one ``Generator.random()``; SimQ+ draws ``k + 1`` standard exponentials
  (``Generator.standard_exponential``, the same ziggurat sampler as the C core) whose
  normalised partial sums are the k sorted uniforms of its draws.
* CUQ, RATQ, the l_p composite, QSGD and TernGrad round coordinate i with the 32-bit
  uniform i of a counter-based SplitMix64 stream (Steele, Lea and Flood, "Fast splittable
  pseudorandom number generators", OOPSLA 2014): word w of the stream keyed by ``key``
  is the SplitMix64 output after w + 1 increments of the state ``key``; uniform i is the
  low (i even) or high (i odd) half of word i // 2. The key is one 64-bit draw
  (``Generator.integers(0, 2**64, dtype=uint64)``, i.e. the BitGenerator's
  ``next_uint64``). Rounding up happens iff the top 31 bits of the uniform, as a fraction
  of 2^31, are below the fractional part. RATQ's rotation signs (bit i % 64 of word
  i // 64 of the stream keyed by its seed; the l_p composite's, when there are at most 64,
  are the bits of its sign field itself) and RandK's index set (Floyd's algorithm over
  the stream keyed by its seed, Lemire's multiply-and-reject bounded integers) are
  replayed the same way, all in uint64 NumPy arithmetic (or Python integers).
* Sums are taken in the C core's order: NumPy's ``add.accumulate`` is a sequential sum,
  so the four-accumulator sums of the C kernels are four strided accumulations. The
  Walsh-Hadamard transform is computed stage by stage (strides 1, 2, 4, ...), the same
  additions as the C core's cache-blocked radix-4 passes.

Message format (every quantizer): fields least-significant bit first, ``ceil(nbits/8)``
bytes, zero padding bits; SimQ+'s type is coded by the gap code below over the range coder
of :mod:`convq.slow.coding`.

One difference on purpose: a QSGD or TernGrad payload with a zero norm (scale) field and
a non-zero level is rejected here (no encoder emits it).
"""
from __future__ import annotations

import math
import sys
from types import SimpleNamespace

import numpy as np

from .. import quantize as _q
from .._errors import DecodeError
from .._rng import as_generator
from .._spec import FLOAT32, NORM_INF, Kind
from .._validation import as_float_array, check_int
from . import coding as _coding

__all__ = ["encode", "decode", "decode_sum", "quantize", "bits", "params"]

# cq_qkind and the flags of csrc/quantize/cq_quantize.h, read from the constants the C core exports
(IDENTITY, SIMQ, SIMQPLUS, CUQ, RATQ, LP, QSGD, TERNGRAD, SCALEDSIGN, TOPK,
 RANDK) = (int(Kind[name]) for name in ("IDENTITY", "SIMQ", "SIMQPLUS", "CUQ", "RATQ", "LP", "QSGD", "TERNGRAD",
                                         "SCALEDSIGN", "TOPK", "RANDK"))
_FLOAT32, _NORM_INF = FLOAT32, NORM_INF

NORM_RTOL = 1e-9      # relative slack of the norm-bound checks
RATQ_HMAX = 64        # most RATQ ranges
_FLT_MAX = float(np.finfo(np.float32).max)
_U64 = np.uint64
_INV_TWO31 = 1.0 / 2147483648.0


# ---- the spec: what each quantizer asks the C core for ------------------------------------

def _spec(q):
    """(kind, B, M, p, k, levels, s, h, flags) of a quantizer, from its public attributes."""
    S = SimpleNamespace(kind=None, B=0.0, M=0.0, p=0.0, k=0, levels=0, s=0, h=0, flags=0)
    if isinstance(q, _q.SimQ):
        S.kind, S.B, S.p = SIMQ, float(q.B), math.inf
    elif isinstance(q, _q.SimQPlus):
        S.kind, S.B, S.p, S.k = SIMQPLUS, float(q.B), float(q.p), 0 if q.k is None else int(q.k)
    elif isinstance(q, _q.CUQ):
        S.kind, S.M, S.levels = CUQ, float(q.M), int(q.levels)
    elif isinstance(q, _q.RATQ):
        S.kind, S.B, S.p, S.levels = RATQ, float(q.B), 2.0, int(q.levels)
        S.s, S.h = int(q.s or 0), int(q.h or 0)
    elif isinstance(q, _q.LpQuantizer):
        S.kind, S.B, S.p = LP, float(q.B), float(q.p)
    elif isinstance(q, _q.QSGD):
        S.kind, S.levels, S.flags = QSGD, int(q.levels), _NORM_INF if q.norm == "inf" else 0
        S.s = int(q.bucket or 0)
    elif isinstance(q, _q.TernGrad):
        S.kind = TERNGRAD
    elif isinstance(q, _q.ScaledSign):
        S.kind = SCALEDSIGN
    elif isinstance(q, _q.TopK):
        S.kind, S.k = TOPK, int(q.k)
    elif isinstance(q, _q.RandK):
        S.kind, S.k = RANDK, int(q.k)
    elif isinstance(q, _q.Identity):
        S.kind, S.flags = IDENTITY, _FLOAT32 if q.dtype == np.float32 else 0
    else:
        raise TypeError(f"q must be a convq quantizer, got {type(q).__name__}")
    return S


# ---- parameter resolution (cq_q_resolve) ----------------------------------------------------

def _clog2(n):
    """ceil(log2 n) for n >= 1."""
    return (int(n) - 1).bit_length() if n > 1 else 0


def _round8(n):
    return (n + 7) & ~7


def _lnstar(a):
    """ln*(a): how many times ln must be applied to a before the result is <= 1."""
    n = 0
    while a > 1.0 and n < 64:
        a = math.log(a)
        n += 1
    return n


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _ratq_resolve(B, dim, s, h, L, windowed=False):
    """RATQ's parameters; ``windowed`` (RATQ itself and the l_p composite's part): no padding,
    rotation windows [0, n0) and [dim - n0, dim), n0 = 2^floor(log2 dim), sign field of
    min(64, signs) bits, the signs themselves when there are at most 64."""
    if not (B > 0) or not math.isfinite(B):
        raise ValueError(f"RATQ bound B must be finite and > 0, got {B:g}")
    n0 = 1
    while n0 < dim:
        n0 <<= 1
    d2 = nsigns = n0
    if windowed:
        n0 = n0 if n0 == dim else n0 >> 1
        d2, nsigns = dim, (n0 if n0 == dim else 2 * n0)
    logh = _clog2(1 + _lnstar(n0 / 3.0))
    h = h or (1 << logh)
    s = s or (logh if logh > 0 else 1)
    L = L or 4
    if s < 1:
        raise ValueError(f"RATQ group size s must be >= 1, got {s}")
    if h < 1 or h > RATQ_HMAX:
        raise ValueError(f"RATQ number of ranges h must be in 1..{RATQ_HMAX}, got {h}")
    if L < 2 or L > 1 << 24:
        raise ValueError(f"RATQ levels must be in 2..2^24, got {L}")
    r = SimpleNamespace(B=B, dim=dim, d2=d2, n0=n0, raw_signs=windowed and nsigns <= 64,
                        seedbits=nsigns if windowed and nsigns < 64 else 64, s=s, h=h, L=L, ngroups=-(-d2 // s),
                        hbits=_clog2(h), lbits=_clog2(L))
    m = 3.0 * B * B / n0
    m0 = 2.0 * (B * B / n0) * math.log(s)
    cap, e, prev, M = B * (1.0 + 1e-6), 1.0, 0.0, []
    for _ in range(h):
        v = math.sqrt(m * e + m0)
        if not (v <= cap):
            v = cap
        if v < prev:
            v = prev
        M.append(v)
        prev = v
        e = _exp(e)            # e*^(j+1) = exp(e*^j)
    M[-1] = cap                # the top range covers ||z||_inf <= ||y||_2 <= B
    r.M = np.array(M)
    r.bits = r.seedbits + r.ngroups * r.hbits + d2 * r.lbits
    return r


def _resolve(q, d):
    """Every parameter for dimension d (ValueError for a spec that is invalid there)."""
    S = _spec(q)
    P = SimpleNamespace(kind=S.kind, spec_kind=S.kind, d=d, bits=0, work=0, flags=S.flags, B=S.B, p=S.p,
                        q=0.0, Bp=0.0, k=0, type_bits=0, M=0.0, delta=0.0, L=0, lbits=0, ibits=0, c=0.0,
                        delta1=0, delta2=0, dmax=0, bucket=0, r=None)
    kind = S.kind
    if kind in (SIMQ, SIMQPLUS, RATQ, LP) and (not (S.B > 0) or not math.isfinite(S.B)):
        raise ValueError(f"B must be finite and > 0, got {S.B:g}")
    if kind == LP:
        if not (S.p >= 1.0):
            raise ValueError(f"p must be in [1, inf], got {S.p:g}")
        if S.p >= 2.0:
            kind = SIMQ if math.isinf(S.p) else SIMQPLUS
        P.kind = kind
    if kind == IDENTITY:
        P.bits = d * (32 if S.flags & _FLOAT32 else 64)
    elif kind == SIMQ:
        P.Bp, P.q, P.bits = S.B, 1.0, _clog2(2 * d + 1)
    elif kind == SIMQPLUS:
        p = S.p
        if not (p >= 2.0):
            raise ValueError(f"SimQ+ needs p in [2, inf], got {p:g}")
        invp = 0.0 if math.isinf(p) else 1.0 / p
        P.q = 1.0 if math.isinf(p) else p / (p - 1.0)
        P.Bp = S.B * math.pow(d, invp)
        k = 0 if S.kind == LP else S.k
        if k == 0:
            k = int(math.ceil(math.pow(d, 2.0 * invp)))
        if k < 1:
            raise ValueError(f"SimQ+ needs k >= 1, got {k}")
        if k + d > 1 << 24:
            raise ValueError(f"SimQ+ needs d + k <= 2^24 (the range coder's exactness limit), got d={d}, k={k}")
        P.k = k
        P.type_bits = _coding.fixed_weight_bits(d + k, k) + 1     # the gap code's field, see _gap_encode
        P.bits = P.type_bits + k
        nstr = ((d + k + 63) // 64 + 2) * 8 + (2 * 65536 * 2 if min(d, k) >= 1 << 16 else 0)   # string (two spare words), colex tables
        sgn = _round8(d // 8 + 8 * 4 + 8) if d >= 1 << 14 else 0          # the dense walk's sign bits
        P.work = max((k + 4) * 8 + _round8(k // 8 + 1) + (d // 256 + 2) * 8 + nstr + sgn, nstr + _round8(2 * (k + 2) * 4))
    elif kind == CUQ:
        if not (S.M > 0) or not math.isfinite(S.M):
            raise ValueError(f"M must be finite and > 0, got {S.M:g}")
        if S.levels < 2 or S.levels > 1 << 24:
            raise ValueError(f"levels must be in 2..2^24, got {S.levels}")
        P.M, P.L = S.M, S.levels
        P.delta = 2.0 * S.M / (P.L - 1)
        P.lbits = _clog2(P.L)
        P.bits = d * P.lbits
    elif kind == RATQ:
        P.r = _ratq_resolve(S.B, d, S.s, S.h, S.levels, windowed=True)
        P.q, P.bits, P.work = 2.0, P.r.bits, P.r.d2 * 8
    elif kind == LP:        # p in [1, 2): CUQ on the small coordinates + bitmap + RATQ
        p = S.p
        invq = (p - 1.0) / p
        P.q = math.inf if p == 1.0 else p / (p - 1.0)
        dd = float(d)
        d2 = _clog2(1 + _lnstar(dd / 3.0))
        lnd2 = math.log(d2) if d2 >= 1 else 0.0
        d1 = int(math.ceil(math.log2(2.0 + math.sqrt(18.0 + 6.0 * lnd2) * math.pow(dd, 0.5 - invq))))
        d1 = max(d1, 1)
        P.delta1, P.delta2 = d1, d2
        P.c = S.B * math.pow(d1, invq) / math.pow(dd, invq)
        cbits = int(math.ceil(math.log2(2.0 * math.sqrt(2.0) * math.pow(d1, invq) + 2.0)))
        if cbits > 24:
            raise ValueError(f"l_p composite: CUQ would need {cbits} bits per coordinate")
        P.L, P.lbits, P.M = 1 << cbits, cbits, P.c
        P.delta = 2.0 * P.c / (P.L - 1)
        P.dmax = 0 if p == 1.0 else (d + d1 - 1) // d1 - 1
        P.bits = d * P.lbits
        if P.dmax > 0:
            if d1 > 24:
                raise ValueError(f"l_p composite: Delta1 = {d1} is too large")
            P.r = _ratq_resolve(S.B * math.pow(dd, 0.5 - invq), P.dmax, 0, 0, 1 << d1, windowed=True)
            P.bits += d + P.r.bits
            # values, indices; rotation scratch (first the encoder's bitmap words)
            P.work = P.dmax * 16 + max(P.r.d2, -(-d // 64)) * 8
    elif kind == QSGD:
        if S.levels < 1 or S.levels > 1 << 24:
            raise ValueError(f"QSGD levels s must be in 1..2^24, got {S.levels}")
        if S.s < 0:
            raise ValueError(f"QSGD bucket size must be >= 1 (or 0: one bucket), got {S.s}")
        P.L, P.lbits = S.levels, _clog2(S.levels + 1)
        P.bucket = d if S.s == 0 or S.s > d else S.s
        nb = -(-d // P.bucket)
        P.bits = 32 * nb + d * (P.lbits + 1)
        P.work = 4 * nb if nb > 1 else 0
    elif kind == TERNGRAD:
        P.bits = 32 + 2 * d
    elif kind == SCALEDSIGN:
        P.bits = 32 + d
    elif kind in (TOPK, RANDK):
        if S.k < 1:
            raise ValueError(f"k must be >= 1, got {S.k}")
        P.k = min(S.k, d)
        if kind == TOPK:
            P.ibits = _clog2(d)
            P.bits, P.work = P.k * (P.ibits + 64), d * 8
        else:
            P.bits, P.work = 64 + 64 * P.k, -(-d // 64) * 8
    P.work = _round8(P.work)
    return P


def params(q, d) -> dict:
    """Twin of ``q.params(d)``: every parameter derived for dimension ``d``."""
    d = check_int(d, "d", minimum=1)
    P = _resolve(q, d)
    out = {key: getattr(P, key) for key in ("kind", "d", "bits", "work", "B", "p", "q", "Bp", "k", "type_bits",
                                             "M", "delta", "L", "lbits", "ibits", "c", "delta1", "delta2", "dmax", "bucket")}
    for key in ("B", "p", "q", "Bp", "M", "delta", "c"):
        out[key] = float(out[key])
    if P.r is not None:
        r = P.r
        out.update(ratq_B=float(r.B), ratq_dim=r.dim, ratq_d2=r.d2, ratq_window=r.n0, ratq_seedbits=r.seedbits,
                   ratq_s=r.s, ratq_h=r.h, ratq_groups=r.ngroups, ratq_hbits=r.hbits, ratq_lbits=r.lbits, ratq_L=r.L, ratq_bits=r.bits,
                   ratq_ranges=[float(v) for v in r.M])
    return out


def bits(q, d) -> int:
    """Twin of ``q.bits(d)``."""
    return int(_resolve(q, check_int(d, "d", minimum=1)).bits)


# ---- bit fields ---------------------------------------------------------------------------

def _field_bits(values, width):
    """(n, width) uint8: the low ``width`` bits of each uint64 value, bit 0 first."""
    v = np.ascontiguousarray(np.asarray(values, dtype=np.uint64).reshape(-1), dtype="<u8")
    nb = (width + 7) // 8
    b = np.unpackbits(v.view(np.uint8).reshape(-1, 8)[:, :nb], axis=1, bitorder="little")
    return b[:, :width]


def _fields_to_bits(values, widths):
    """The bit sequence of fields ``values`` (widths per field, each <= 64), in order."""
    values = np.asarray(values, dtype=np.uint64).reshape(-1)
    widths = np.broadcast_to(np.asarray(widths, dtype=np.int64), values.shape)
    wmax = int(widths.max(initial=0))
    return _field_bits(values, wmax)[np.arange(wmax) < widths[:, None]]


def _rows_to_u64(m):
    """(n, w) bits, bit 0 first, w <= 64 -> n uint64 values."""
    b = np.packbits(m, axis=1, bitorder="little")
    full = np.zeros((m.shape[0], 8), np.uint8)
    full[:, :b.shape[1]] = b
    return full.view("<u8").reshape(-1).astype(np.uint64)


def _bits_to_fields(bits, pos, widths):
    """Fields of ``widths`` (each <= 64) read from ``bits`` starting at ``pos``, as uint64
    (the message length is checked first, so every field lies inside ``bits``)."""
    widths = np.asarray(widths, dtype=np.int64).reshape(-1)
    out = np.zeros(widths.size, np.uint64)
    if widths.size == 0:
        return out
    if (widths == widths[0]).all():                     # equal widths: one reshape
        w = int(widths[0])
        if w in (8, 16, 32, 64) and pos % 8 == 0:        # whole little-endian bytes
            seg = np.packbits(bits[pos:pos + widths.size * w], bitorder="little")
            return seg.view(f"<u{w // 8}").astype(np.uint64)
        return _rows_to_u64(bits[pos:pos + widths.size * w].reshape(-1, w)) if w else out
    starts = pos + np.concatenate(([0], np.cumsum(widths)[:-1]))
    for w in np.unique(widths):                          # a few distinct widths: one gather each
        sel = np.flatnonzero(widths == w)
        if w:
            out[sel] = _rows_to_u64(bits[starts[sel][:, None] + np.arange(w)])
    return out


def _mix(key, ctr):
    """SplitMix64 word ``ctr`` (array) of the stream keyed by ``key``."""
    with np.errstate(over="ignore"):
        z = _U64(key) + (np.asarray(ctr, dtype=np.uint64) + _U64(1)) * _U64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
        return z ^ (z >> _U64(31))


def _mix1(key, ctr):
    return int(_mix(key, np.array([ctr], np.uint64))[0])


def _uniforms(key, i0, n):
    """32-bit uniforms i0 .. i0+n-1 of the stream ``key`` as uint64: coordinate i takes the
    low (i even) or high (i odd) half of word i // 2."""
    w = _mix(key, np.arange(i0 // 2, (i0 + n + 1) // 2, dtype=np.uint64))
    u = np.empty(2 * w.size, np.uint64)
    u[0::2] = w & _U64(0xFFFFFFFF)
    u[1::2] = w >> _U64(32)
    return u[i0 % 2:i0 % 2 + n]


def _draw_u64(g):
    """One next_uint64 of the Generator's BitGenerator."""
    return int(g.integers(0, 2 ** 64, dtype=np.uint64))


def _round(t, L, u):
    """Stochastic rounding of t to a level in 0..L-1 (cq_q_round): floor, capped at L-2,
    plus one iff the top 31 bits of u (as a fraction of 2^31) are below the fraction."""
    tc = np.where(t > 0.0, t, 0.0)
    hi = float(L - 1)
    tc = np.where(tc < hi, tc, hi)
    f = np.minimum(np.trunc(tc), float(L - 2))
    uu = (u >> _U64(1)).astype(np.float64) * _INV_TWO31
    return (f + (uu < tc - f)).astype(np.int64)


def _seqsum(x, start=0.0):
    """start + x[0] + x[1] + ... evaluated left to right (as a C loop)."""
    if x.size == 0:
        return float(start)
    return float(np.add.accumulate(np.concatenate(([start], x)))[-1])


def _sum4(x):
    """The C core's four-accumulator sum (cq_q_sum_abs / cq_q_sum_sq on the terms x)."""
    n = x.size
    m = n - n % 4
    blk = x[:m].reshape(-1, 4)
    a0 = _seqsum(np.concatenate((blk[:, 0], x[m:])))
    a1, a2, a3 = (_seqsum(blk[:, j]) for j in (1, 2, 3))
    return (a0 + a1) + (a2 + a3)


def _sum_pow(y, mx, q):
    """cq_q_sum_pow: sum_i (|y_i| / mx)^q; integer q (1..16) by repeated products in two
    accumulators, else pow() term by term; a subnormal mx (1/mx overflows) with y and mx
    scaled by 2^1000 first (exact)."""
    sc = 1.0
    with np.errstate(over="ignore", divide="ignore"):
        inv = 1.0 / mx
    if not math.isfinite(inv):
        sc = 2.0 ** 1000
        inv = 1.0 / (mx * sc)
    u = np.abs(y) * sc * inv
    if q == math.floor(q) and 1.0 <= q <= 16.0:
        pu = u.copy()
        for _ in range(int(q) - 1):
            pu = pu * u
        n = pu.size
        m = n - n % 2
        a0 = _seqsum(np.concatenate((pu[:m:2], pu[m:])))
        a1 = _seqsum(pu[1:m:2])
        return a0 + a1
    return _seqsum(np.array([math.pow(float(t), q) for t in u]))


def _f32_up(x):
    """The float32 not below x (x >= 0 finite, <= FLT_MAX)."""
    f = np.float32(x)
    if float(f) < x:
        f = np.nextafter(f, np.float32(np.inf))
    return f


def _fwht(x):
    """Walsh-Hadamard transform (unnormalised), stages h = 1, 2, 4, ... of a + b, a - b."""
    x = np.array(x, dtype=np.float64)
    n, h = x.size, 1
    while h < n:
        v = x.reshape(-1, 2, h)
        a, b = v[:, 0, :], v[:, 1, :]
        s, t = a + b, a - b
        v[:, 0, :] = s
        v[:, 1, :] = t
        h *= 2
    return x


def _nonfinite(y):
    bad = np.flatnonzero(~np.isfinite(y))
    return ValueError(f"y must be finite, got {y[bad[0]]} at index {bad[0]}")


def _check_finite(y):
    if not np.isfinite(y).all():
        raise _nonfinite(y)


class _Msg:
    """A message under construction: a list of parts in order, each a uint8 array of bits
    (0/1) or, for whole bytes starting on a byte boundary, the little-endian bytes."""

    def __init__(self):
        self.parts = []
        self.nbits = 0

    def put(self, values, width):
        """Fields of ``width`` bits (<= 64), each value bit 0 first."""
        if width <= 0:
            return
        v = np.asarray(values, dtype=np.uint64).reshape(-1)
        if width in (8, 16, 32, 64) and self.nbits % 8 == 0:     # whole little-endian bytes
            self.parts.append(v.astype(f"<u{width // 8}").tobytes())
            self.nbits += v.size * width
        else:
            self.put_bits(_field_bits(v, width))

    def put_bits(self, b):
        b = np.asarray(b, dtype=np.uint8).reshape(-1)
        self.parts.append(b)
        self.nbits += b.size

    def finish(self, nbits):
        """The payload: ceil(nbits/8) bytes, zero padding bits."""
        if self.nbits != nbits:
            raise RuntimeError(f"convq internal error: encoder wrote {self.nbits} bits, the message has {nbits}")
        out, bits = [], []
        for part in self.parts:
            if isinstance(part, bytes):        # starts on a byte boundary: the bits before are whole bytes
                if bits:
                    out.append(np.packbits(np.concatenate(bits), bitorder="little").tobytes())
                    bits = []
                out.append(part)
            else:
                bits.append(part)
        if bits:
            out.append(np.packbits(np.concatenate(bits), bitorder="little").tobytes())
        return b"".join(out)


# ---- SimQ and SimQ+ ----------------------------------------------------------------------
# Mayekar & Tyagi, "Limits on Gradient Compression for Stochastic Optimization":
#   SimQ(B) (Algorithms 1 and 2, Theorem 4.1): i* = i w.p. |y_i|/B, i* = 0 w.p.
#     1 - ||y||_1/B; Q(y) = B sign(y_i*) e_i*; message i* sign(y_i*) + d in
#     ceil(log2(2d+1)) bits. Drawn with one uniform u B against the prefix sums of |y_i|.
#   SimQ+(B, p, k) (section 4.2, eq. (5), Theorem 4.2): the mean of k SimQ(B d^(1/p))
#     draws, taken as k sorted uniforms (partial sums of k + 1 exponentials, normalised)
#     merged with the prefix sums. Message: the type (n_0, ..., n_d) as its stars-and-bars
#     string range-coded (_type_encode: 16 positions per step where the string is dense,
#     _block_q, else the gap before the next star, _gap_encode; zero-padded to its fixed
#     field), then one sign bit (1 = negative) per index with n_i > 0, padded to k bits.
# Every _<kind>_run(P, y, g, w) takes the resolved parameters, the input, the generator
# and the message under construction w: with w it appends the message's fields (its
# return value is then not used), with w = None it returns Q(y) (the fast path).

_SIMQ_BLK = 64


def _simq_run(P, y, g, w):
    d, B = P.d, P.Bp
    u = g.random() * B
    a = np.abs(y)
    nfull = d // _SIMQ_BLK
    # block sums of 64 (four accumulators of 16 terms each, as cq_q_sum_abs), then their
    # running sum s: block b is entered with s_b, and the walk scans it iff s_b + bs_b > u
    blk = a[:nfull * _SIMQ_BLK].reshape(nfull, 16, 4)
    acc = np.add.accumulate(np.concatenate((np.zeros((nfull, 1, 4)), blk), axis=1), axis=1)[:, -1, :]
    bs = list((acc[:, 0] + acc[:, 1]) + (acc[:, 2] + acc[:, 3]))
    if d % _SIMQ_BLK:
        bs.append(_sum4(a[nfull * _SIMQ_BLK:]))
    bs = np.array(bs)
    s_after = np.add.accumulate(np.concatenate(([0.0], bs)))[1:]
    s_before = np.concatenate(([0.0], s_after[:-1]))
    istar, nb = 0, bs.size
    b = int(np.argmax(s_after > u)) if (s_after > u).any() else nb
    while b < nb:
        if s_after[b] > u:
            lo = b * _SIMQ_BLK
            r = np.add.accumulate(np.concatenate(([s_before[b]], a[lo:lo + _SIMQ_BLK])))[1:]
            hit = np.flatnonzero(r > u)
            if hit.size:
                istar = lo + int(hit[0]) + 1
                break
        b += 1
    if istar:
        i, s = (b + 1) * _SIMQ_BLK, s_after[b]
    else:
        i, s = nb * _SIMQ_BLK, (s_after[-1] if nb else 0.0)
    l1 = s + (_sum4(a[i:]) if i < d else 0.0)
    if not math.isfinite(l1):
        _check_finite(y)
    if not (l1 <= B * (1.0 + NORM_RTOL)):
        raise ValueError(f"SimQ needs ||y||_1 <= B = {B:.15g}, got ||y||_1 = {l1:.15g}")
    neg = istar > 0 and y[istar - 1] < 0
    if w is not None:
        w.put(d - istar if neg else d + istar, P.bits)
    out = np.zeros(d)
    if istar:
        out[istar - 1] = -B if neg else B
    return out


def _simq_decode(P, bits):
    d = P.d
    v = int(_bits_to_fields(bits, 0, [P.bits])[0])
    if v > 2 * d:
        raise DecodeError(f"SimQ field {v} out of range 0..2d = {2 * d}")
    out = np.zeros(d)
    if v > d:
        out[v - d - 1] = P.Bp
    elif v < d:
        out[d - v - 1] = -P.Bp
    return out


def _simqplus_check(P, y):
    a = np.abs(y)
    s1, s2 = _seqsum(a), _seqsum(a * a)
    if not (math.isfinite(s1) and math.isfinite(s2)):
        _check_finite(y)
    q, thr = P.q, P.B * (1.0 + NORM_RTOL)
    if q == 1.0:
        nq = s1
    elif q == 2.0:
        nq = math.sqrt(s2)
    elif math.pow(s1, (2.0 - q) / q) * math.pow(s2, (q - 1.0) / q) <= thr * (1.0 - 1e-6):
        nq = 0.0        # Hoelder: ||y||_q <= ||y||_1^((2-q)/q) ||y||_2^(2(q-1)/q), decided without the pow pass
    else:
        mx = float(a.max())
        nq = mx * math.pow(_sum_pow(y, mx, q), 1.0 / q) if mx > 0 else 0.0
    if not (nq <= thr):
        raise ValueError(f"SimQ+ (p={P.p:g}) needs ||y||_q <= B = {P.B:.15g} with q = {q:g}, got ||y||_q = {nq:.15g}")
    if not (s1 <= P.Bp * (1.0 + NORM_RTOL)):
        raise ValueError(f"SimQ+ needs ||y||_1 <= B' = B d^(1/p) = {P.Bp:.15g}, got ||y||_1 = {s1:.15g}")
    return s1


# The SimQ+ type code (csrc/quantize/cq_q_simqplus.c): per star, the number g of bars before
# it in the stars-and-bars string, with s stars among n positions left, coded by the range
# coder with P(g >= r) = E(r) = prod_{t<r} (n-t-s)/(n-t): s = n forced, s = 1 uniform on
# [0, n), else segments of the running product E' of fl((m - s) fl(1/m)), m = n - t (IEEE
# double, from 1 at the segment start) with R(r) = 2 floor(h E'(r)), h the range halved
# and rounded down to 53 bits; gap r takes [R - R(r), R - R(r+1)); a segment ends at the
# first E' < 2^-8 with an escape [R - R(r_b), R).
_GAP_SEGMENT_END = 0.00390625


def _gap_splits(rng, n, s):
    """The segment walk shared by encoder and decoder: yields (r, R(r), R(r+1), end) for
    r = r_a, r_a + 1, ...; end is True where the segment ends after r (an escape follows)."""
    h, E, Rr, r = float((rng >> 1) & ~0x3FF), 1.0, rng, 0
    while True:
        E *= float(n - r - s) * (1.0 / float(n - r))
        R1 = int(h * E) << 1
        yield r, Rr, R1, E < _GAP_SEGMENT_END
        r, Rr = r + 1, R1


def _gap_encode(enc, n, s, g):
    if s == n:
        return
    if s == 1:
        q = enc.range // n
        enc.interval(q * g, q)
        return
    r0 = 0
    while True:
        rng = enc.range
        for r, Rr, R1, end in _gap_splits(rng, n - r0, s):
            if r0 + r == g:
                enc.interval(rng - Rr, Rr - R1)
                return
            if end:
                enc.interval(rng - R1, R1)
                r0 += r + 1
                break


def _gap_decode(dec, n, s):
    if s == n:
        return 0
    if s == 1:
        q = dec.range // n
        v = dec.code // q
        if v >= n:
            raise DecodeError("SimQ+ type field does not decode to a type")
        dec.interval(q * v, q)
        return v
    r0 = 0
    while True:
        rng = dec.range
        v = rng - dec.code
        for r, Rr, R1, end in _gap_splits(rng, n - r0, s):
            if v > R1:
                dec.interval(rng - Rr, Rr - R1)
                return r0 + r
            if end:
                dec.interval(rng - R1, R1)
                r0 += r + 1
                break


# The block code (dense types): where >= 16 stars and >= 16 bars are left, the next 16 positions
# are one symbol; a pattern of v stars has pi_v = (s)_v (a)_(16-v) / (n)_16 (falling factorials as
# IEEE double products of exact pairs in _falling's tree), q_v = 2 floor(h fl(fl(Ps_v Pa_(16-v))
# fl(c / Pn_16))), c = 1 - 2^-44; pattern x of weight v takes [F_v + rank(x) q_v, + q_v), F_v =
# sum_{u<v} C(16, u) q_u, rank the colex rank; used iff q_0 >= 2^30 and q_16 >= 2^30, else one gap.
_SQP_B = 16                     # positions per block
_SQP_MINW = 1 << 30             # the smallest pattern width the block code takes
_SQP_SAFE = 1.0 - 2.0 ** -44
_SQP_C16 = [math.comb(16, v) for v in range(17)]


def _falling(x):
    """[x (x-1) ... (x-m+1) for m = 0..16] as cq_q_simqplus.c's sqp_falling computes them."""
    o = [float(x - 2 * u) for u in range(8)]
    p = [float((x - 2 * u) * (x - 2 * u - 1)) for u in range(8)]
    A, B, C, D = p[0] * p[1], p[2] * p[3], p[4] * p[5], p[6] * p[7]
    P = [1.0, o[0], p[0], p[0] * o[1], A, A * o[2], A * p[2], 0.0, A * B]
    P[7] = P[6] * o[3]
    P += [P[8] * o[4], P[8] * p[4]]
    P += [P[10] * o[5], P[8] * C]
    P += [P[12] * o[6], P[12] * p[6]]
    P += [P[14] * o[7], P[8] * (C * D)]
    return P


def _block_q(rng, n, s):
    """[q_0 .. q_16] of the block code at (n, s), or None where it does not apply."""
    a = n - s
    if s < _SQP_B or a < _SQP_B:
        return None
    Ps, Pa = _falling(s), _falling(a)
    inv, h = _SQP_SAFE / _falling(n)[_SQP_B], float((rng >> 1) & ~0x3FF)
    q = [int(h * ((Ps[v] * Pa[_SQP_B - v]) * inv)) << 1 for v in range(_SQP_B + 1)]
    return q if q[0] >= _SQP_MINW and q[_SQP_B] >= _SQP_MINW else None


def _colex_rank(x):
    r, i, t = 0, 1, 0
    while x:
        if x & 1:
            r, i = r + math.comb(t, i), i + 1
        x, t = x >> 1, t + 1
    return r


def _colex_unrank(w, r):
    x, c = 0, _SQP_B - 1
    for i in range(w, 0, -1):
        while math.comb(c, i) > r:
            c -= 1
        x, r, c = x | (1 << c), r - math.comb(c, i), c - 1
    return x


def _type_encode(enc, string, k):
    """The type code of the stars-and-bars string (a 0/1 array, 1 = star) with k stars."""
    N = string.size
    ones = np.flatnonzero(string)
    pos, n, s = 0, N, k
    while 0 < s < n:
        q = _block_q(enc.range, n, s)
        if q is not None:
            blk = string[pos:pos + _SQP_B]
            x = int(np.dot(blk.astype(np.int64), 1 << np.arange(_SQP_B, dtype=np.int64)))
            v = int(blk.sum())
            F = sum(_SQP_C16[u] * q[u] for u in range(v))
            enc.interval(F + _colex_rank(x) * q[v], q[v])
            pos, n, s = pos + _SQP_B, n - _SQP_B, s - v
        else:
            gap = int(ones[k - s]) - pos
            _gap_encode(enc, n, s, gap)
            pos, n, s = pos + gap + 1, n - gap - 1, s - 1


def _type_decode(dec, N, k):
    """The stars-and-bars string (uint8, 1 = star) of the type field, or DecodeError."""
    string = np.zeros(N, np.uint8)
    pos, n, s = 0, N, k
    while 0 < s < n:
        q = _block_q(dec.range, n, s)
        if q is not None:
            F = [0]
            for v in range(_SQP_B + 1):
                F.append(F[-1] + _SQP_C16[v] * q[v])
            c = dec.code
            v = sum(1 for f in F[1:] if f <= c)
            if v > _SQP_B:
                raise DecodeError("SimQ+ type field does not decode to a type")
            r = (c - F[v]) // q[v]
            dec.interval(F[v] + r * q[v], q[v])
            x = _colex_unrank(v, r)
            string[pos:pos + _SQP_B] = (x >> np.arange(_SQP_B)) & 1
            pos, n, s = pos + _SQP_B, n - _SQP_B, s - v
        else:
            gap = _gap_decode(dec, n, s)
            string[pos + gap] = 1
            pos, n, s = pos + gap + 1, n - gap - 1, s - 1
    string[pos:pos + s] = 1                     # s = n: the rest are stars
    return string


def _simqplus_run(P, y, g, w):
    d, k = P.d, P.k
    l1 = _simqplus_check(P, y)
    E = g.standard_exponential(k + 1)
    C = np.add.accumulate(E[:k])
    scale = P.Bp / (float(C[-1]) + float(E[k]))
    t = C * scale                               # U_(j) B', sorted
    n0 = k - int(np.searchsorted(t, l1, side="left"))   # draws past ||y||_1: index 0
    kk = k - n0
    s = np.add.accumulate(np.abs(y))            # the walk's prefix sums
    upto = np.searchsorted(t[:kk], s, side="left")
    c = np.diff(np.concatenate(([0], upto)))    # draws landing on each coordinate
    if int(upto[-1]) != kk:
        raise RuntimeError(f"convq internal error: SimQ+ walk assigned {int(upto[-1])} of {kk} draws")
    if w is not None:
        # the stars-and-bars string: n_0 stars, a bar, n_1 stars, a bar, ..., n_d stars
        counts = np.concatenate(([n0], c))
        string = np.zeros(d + k, np.uint8)
        star_pos = np.repeat(np.arange(d + 1), counts) + np.arange(k)   # index + stars before
        string[star_pos] = 1
        enc = _coding.RangeEncoder()
        _type_encode(enc, string, k)
        code = enc.bits()
        if len(code) > P.type_bits:
            raise RuntimeError(f"convq internal error: SimQ+ type code used {len(code)} bits, "
                               f"field has {P.type_bits}")
        w.put_bits(np.array(code + [0] * (P.type_bits - len(code)), np.uint8))
        signs = np.zeros(k, np.uint8)
        nz = np.flatnonzero(c)
        signs[:nz.size] = y[nz] < 0
        w.put_bits(signs)
    unit = P.Bp / k
    v = c.astype(np.float64) * unit
    return np.where(c > 0, np.where(y < 0, -v, v), 0.0)


def _simqplus_decode(P, bits):
    d, k, F = P.d, P.k, P.type_bits
    dec = _coding.RangeDecoder(bits[:F])
    if dec.bad:
        raise DecodeError("SimQ+ type field is not a valid range code")
    string = _type_decode(dec, d + k, k)
    if not dec.canonical():
        raise DecodeError("SimQ+ type field is not the canonical code of a type")
    star = np.flatnonzero(string)
    idx = star - np.arange(k)                   # bars before each star: its index
    c = np.bincount(idx, minlength=d + 1)[1:]
    nz = np.flatnonzero(c)
    signs = bits[F:F + k]
    if signs[nz.size:].any():
        raise DecodeError(f"SimQ+ sign padding bit {nz.size + int(np.argmax(signs[nz.size:]))} is not zero")
    v = c.astype(np.float64) * (P.Bp / k)
    neg = np.zeros(d, bool)
    neg[nz] = signs[:nz.size] == 1
    return np.where(c > 0, np.where(neg, -v, v), 0.0)


# ---- CUQ, RATQ and the l_p composite -----------------------------------------------------------
# CUQ(M, L) (Mayekar & Tyagi, "Limits on Gradient Compression for Stochastic Optimization",
#   section 5, eq. (7)): the grid -M + j 2M/(L-1), j = 0..L-1; each coordinate rounded to
#   a neighbouring point with the probabilities that keep the mean; ceil(log2 L) bits each.
# RATQ(B) (Mayekar & Tyagi, "RATQ: A Universal Fixed-Length Quantizer for Stochastic
#   Optimization", AISTATS 2020; the parameters (8) of the paper above): z = H D y / sqrt(d2)
#   with D random signs from a 64-bit seed sent first; per group of s rotated coordinates
#   the smallest range M_j >= max |z_i| (ceil(log2 h) bits), then CUQ(M_j, L) of the group.
# The l_p composite, p in [1, 2) (section 5, Theorem 3.1): CUQ(c, L_c) of the coordinates
#   with |y_i| <= c (the others sent as 0), a d-bit support bitmap of the others, and
#   RATQ of those, zero-padded to the most there can be (dmax), in its windowed form: no
#   padding to a power of two, the rotation H D1 / sqrt(n0) on [0, n0) followed by
#   H D2 / sqrt(n0) on [dmax - n0, dmax) (n0 = 2^floor(log2 dmax)), ranges of dimension n0,
#   a sign field of min(64, signs) bits.

def _cuq_levels(x, M, delta, L, key):
    return _round((x + M) * (1.0 / delta), L, _uniforms(key, 0, x.size))


def _level_value(M, delta, lev):
    return -M + lev.astype(np.float64) * delta


def _cuq_run(P, y, g, w):
    key = _draw_u64(g)
    lev = _cuq_levels(y, P.M, P.delta, P.L, key)
    if not (np.abs(y) <= P.M).all():
        _check_finite(y)
        i = int(np.argmax(np.abs(y) > P.M))
        raise ValueError(f"CUQ needs ||y||_inf <= M = {P.M:.15g}, got ||y||_inf = {float(np.abs(y).max()):.15g} "
                         f"(|y[{i}]| = {abs(float(y[i])):.15g})")
    if w is not None:
        w.put(lev, P.lbits)
    return _level_value(P.M, P.delta, lev)


def _cuq_decode_levels(bits, pos, n, M, delta, L, lbits):
    lev = _bits_to_fields(bits, pos, np.full(n, lbits)).astype(np.int64)
    if (lev >= L).any():
        i = int(np.argmax(lev >= L))
        raise DecodeError(f"CUQ level {lev[i]} at coordinate {i} is out of range 0..{L - 1}")
    return _level_value(M, delta, lev), pos + n * lbits


def _cuq_decode(P, bits):
    return _cuq_decode_levels(bits, 0, P.d, P.M, P.delta, P.L, P.lbits)[0]


def _ratq_signs(r, seed, u0, n):
    """Rotation signs number u0 .. u0+n-1 (True = minus): bit u % 64 of word u // 64, the
    word being the seed itself (raw signs) or SplitMix64 word u // 64 keyed by the seed."""
    u = np.arange(u0, u0 + n, dtype=np.uint64)
    words = np.full(n, _U64(seed)) if r.raw_signs else _mix(seed, u >> _U64(6))
    return ((words >> (u & _U64(63))) & _U64(1)).astype(bool)


def _ratq_rotate(r, seed, x):
    """(z, scale): R x (x zero-padded to r.d2), window 1 then window 2 (cq_q_ratq.c's
    ratq_rotate), and the scale the group loop still applies (1/sqrt(n0) with one window)."""
    n0, o = r.n0, r.d2 - r.n0
    z = np.zeros(r.d2)
    z[:x.size] = x
    m = min(x.size, n0)            # R1 flips signs in window 1 only
    z[:m] = np.where(_ratq_signs(r, seed, 0, m), -x[:m], x[:m])
    z[:n0] = _fwht(z[:n0])
    scale = 1.0 / math.sqrt(n0)
    if o == 0:
        return z, scale
    z[:n0] *= scale
    z[o:] = _fwht(np.where(_ratq_signs(r, seed, n0, n0), -z[o:], z[o:])) * scale
    return z, 1.0


def _ratq_inverse(r, seed, z):
    """R^T z: window 2's D2 H / sqrt(n0) (two windows), then window 1's D1 H / sqrt(n0)."""
    n0, o = r.n0, r.d2 - r.n0
    scale = 1.0 / math.sqrt(n0)
    z = np.array(z, dtype=np.float64)
    if o > 0:
        v = _fwht(z[o:]) * scale
        z[o:] = np.where(_ratq_signs(r, seed, n0, n0), -v, v)
    m = min(r.dim, n0)
    v = _fwht(z[:n0])[:m] * scale
    return np.concatenate((np.where(_ratq_signs(r, seed, 0, m), -v, v), z[n0:r.dim]))


def _ratq_core(r, x, g, w):
    """RATQ of x (len(x) <= r.dim, the rest zero): the message parts into w (then None is
    returned), else Q(x) of length r.dim."""
    seed = _draw_u64(g) & ((1 << r.seedbits) - 1)
    key = _draw_u64(g)
    z, scale = _ratq_rotate(r, seed, x)
    z = z * scale
    grp = np.arange(r.d2) // r.s
    pad = np.zeros(r.ngroups * r.s)
    pad[:r.d2] = np.abs(z)
    mx = pad.reshape(r.ngroups, r.s).max(axis=1)
    j = np.minimum(np.searchsorted(r.M, mx, side="left"), r.h - 1)
    bad = ~(mx <= r.M[j])
    if bad.any():
        gi = int(np.argmax(bad))
        raise ValueError(f"RATQ: rotated coordinate {mx[gi]:.15g} exceeds the top range {r.M[j[gi]]:.15g} "
                         f"(||y||_2 > B = {r.B:.15g})")
    Mj = r.M[j][grp]
    delta = 2.0 * Mj / (r.L - 1)
    lev = _round((z + Mj) * (1.0 / delta), r.L, _uniforms(key, 0, r.d2))
    if w is not None:
        w.put(seed, r.seedbits)
        starts = np.arange(r.ngroups) * r.s
        vals = np.insert(lev.astype(np.uint64), starts, j.astype(np.uint64))
        wid = np.insert(np.full(r.d2, r.lbits), starts, r.hbits)
        w.put_bits(_fields_to_bits(vals, wid))
        return None
    return _ratq_inverse(r, seed, _level_value(Mj, delta, lev))


def _ratq_decode_core(r, bits, pos, zero_input=False):
    seed = int(_bits_to_fields(bits, pos, [r.seedbits])[0])
    starts = np.arange(r.ngroups) * r.s
    wid = np.insert(np.full(r.d2, r.lbits), starts, r.hbits)
    f = _bits_to_fields(bits, pos + r.seedbits, wid).astype(np.int64)
    isj = np.zeros(wid.size, bool)
    isj[starts + np.arange(r.ngroups)] = True
    j, lev = f[isj], f[~isj]
    if (j >= r.h).any():
        gi = int(np.argmax(j >= r.h))
        raise DecodeError(f"RATQ range index {j[gi]} of group {gi} is out of range 0..{r.h - 1}")
    # the encoder sends the smallest range that fits: a range equal to the one below it is
    # never sent
    never = np.r_[False, ~(r.M[1:] > r.M[:-1])]
    if never[j].any():
        gi = int(np.argmax(never[j]))
        raise DecodeError(f"RATQ range index {j[gi]} of group {gi} is never sent (range {j[gi] - 1} is equal)")
    if (lev >= r.L).any():
        t = int(np.argmax(lev >= r.L))
        raise DecodeError(f"RATQ level {lev[t]} at rotated coordinate {t} is out of range 0..{r.L - 1}")
    if zero_input:   # the encoding of 0: range 0, and 0 = t (L-1)/2 rounded to level L/2 - 1 or L/2
        if (j != 0).any():
            raise DecodeError(f"RATQ of a zero vector uses range 0, a group says {int(j[np.argmax(j != 0)])}")
        if ((lev != r.L // 2 - 1) & (lev != r.L // 2)).any():
            raise DecodeError("RATQ of a zero vector: a level is not a rounding of 0")
    Mj = r.M[j][np.arange(r.d2) // r.s]
    return _ratq_inverse(r, seed, _level_value(Mj, 2.0 * Mj / (r.L - 1), lev)), pos + r.bits


def _l2norm_checked(y):
    s = _sum4(y * y)
    if not math.isfinite(s):
        _check_finite(y)
        mx = float(np.abs(y).max())       # overflow of the squares: rescale
        return mx * math.sqrt(_seqsum((y / mx) * (y / mx)))
    return math.sqrt(s)


def _ratq_run(P, y, g, w):
    n2 = _l2norm_checked(y)
    if not (n2 <= P.r.B * (1.0 + NORM_RTOL)):
        raise ValueError(f"RATQ needs ||y||_2 <= B = {P.r.B:.15g}, got ||y||_2 = {n2:.15g}")
    return _ratq_core(P.r, y, g, w)


def _ratq_decode(P, bits):
    return _ratq_decode_core(P.r, bits, 0)[0]


LP_CHUNK = 1024  # cq_q_lp.c's chunk


def _sum16(x):
    """cq_q_lp.c's sum: term i into accumulator i % 16 (the tail of x, past the last whole
    16, into accumulator 0), each summed in order, then added pairwise."""
    n = x.size
    m = n - n % 16
    blk = x[:m].reshape(-1, 16)
    acc = np.add.accumulate(blk, axis=0)[-1].copy() if m else np.zeros(16)
    acc[0] = _seqsum(x[m:], acc[0])
    while acc.size > 1:
        acc = acc[0::2] + acc[1::2]
    return float(acc[0])


def _lp_qnorm(y, q):
    """cq_q_lp.c's q-norm: the sixteen-accumulator sum of |y_i|^q (repeated products for
    integer q in 2..16, else pow), its q-th root; when that sum is not finite or below
    2^-900, max |y_i| times the q-th root of the chunks' sums of (|y_i|/max)^q."""
    _check_finite(y)
    a = np.abs(y)
    if math.isinf(q):
        return float(a.max())
    if q == math.floor(q) and 2.0 <= q <= 16.0:
        t = a.copy()
        for _ in range(int(q) - 1):
            t = t * a
    else:
        t = np.array([math.pow(float(u), q) for u in a])
    s = _sum16(t)
    if 2.0 ** -900 <= s <= sys.float_info.max:
        return math.sqrt(s) if q == 2.0 else math.pow(s, 1.0 / q)
    mx = float(a.max())
    if mx == 0.0:
        return 0.0
    acc = 0.0
    for i0 in range(0, y.size, LP_CHUNK):
        acc += _sum_pow(y[i0:i0 + LP_CHUNK], mx, q)
    return mx * math.pow(acc, 1.0 / q)


def _lp_run(P, y, g, w):
    d = P.d
    nq = _lp_qnorm(y, P.q)
    if not (nq <= P.B * (1.0 + NORM_RTOL)):
        raise ValueError(f"l_p quantizer (p={P.p:g}) needs ||y||_q <= B = {P.B:.15g} with q = {P.q:g}, "
                         f"got ||y||_q = {nq:.15g}")
    c = P.c * (1.0 + 2.0 * NORM_RTOL)
    key = _draw_u64(g)
    big = np.abs(y) > c
    lev = _cuq_levels(np.where(big, 0.0, y), P.M, P.delta, P.L, key)
    if w is not None:
        w.put(lev, P.lbits)
    out = _level_value(P.M, P.delta, lev)
    if P.dmax == 0:
        return out
    idx = np.flatnonzero(big)
    if idx.size > P.dmax:
        raise ValueError(f"l_p quantizer: more than floor(d/Delta1) = {P.dmax} coordinates exceed c = {c:.15g} "
                         f"(||y||_q is over the bound B = {P.B:.15g})")
    if w is not None:
        w.put_bits(big)
    vals = _ratq_core(P.r, y[idx], g, w)
    if w is None:
        out[idx] += vals[:idx.size]
    return out


def _lp_decode(P, bits):
    d = P.d
    out, pos = _cuq_decode_levels(bits, 0, d, P.M, P.delta, P.L, P.lbits)
    if P.dmax == 0:
        return out
    idx = np.flatnonzero(bits[pos:pos + d])
    if idx.size > P.dmax:
        raise DecodeError(f"l_p support bitmap has more than floor(d/Delta1) = {P.dmax} ones")
    # a large coordinate went through CUQ as 0: level L/2 - 1 or L/2
    zero = _level_value(P.M, P.delta, np.array([P.L // 2 - 1, P.L // 2]))
    bad = (out[idx] != zero[0]) & (out[idx] != zero[1])
    if bad.any():
        raise DecodeError(f"l_p coordinate {int(idx[np.argmax(bad)])} is in the support bitmap but its CUQ level "
                          "is not that of 0")
    vals, _ = _ratq_decode_core(P.r, bits, pos + d, zero_input=idx.size == 0)
    out[idx] += vals[:idx.size]
    return out


# ---- the baselines --------------------------------------------------------------------------
# QSGD (Alistarh, Grubic, Li, Tomioka and Vojnovic, "QSGD: Communication-Efficient SGD via
#   Gradient Quantization and Encoding", NeurIPS 2017): n = ||y||_2 (or
#   ||y||_inf) as a float32 rounded up; level l_i = stochastic rounding of s |y_i| / n;
#   per coordinate ceil(log2(s+1)) level bits, then a sign bit (0 on a zero level).
# TernGrad (Wen et al., "TernGrad: Ternary Gradients to Reduce Communication in Distributed
#   Deep Learning", NeurIPS 2017): S = ||y||_inf (float32 rounded up),
#   t_i in {-1, 0, 1} with P(|t_i| = 1) = |y_i|/S; 2-bit codes 0, 1 (+1), 2 (-1).
# ScaledSign (Karimireddy et al., "Error Feedback Fixes SignSGD and other Gradient
#   Compression Schemes", ICML 2019): ||y||_1/d sign(y), sign(0) = +1.
# TopK and RandK (Stich, Cordonnier and Jaggi, "Sparsified SGD with Memory", NeurIPS 2018):
#   the k largest |y_i| (ties to the lower index) as [index, float64 value]
#   pairs; k uniform indices without replacement (Floyd's algorithm: Bentley and Floyd,
#   "Programming Pearls: A Sample of Brilliance", CACM 1987) from a 64-bit seed sent
#   first, values y_i d/k as float64 in increasing index order.
# Identity: the float64 (or float32, rounded to nearest) values.

def _maxabs(y):
    return float(np.abs(y).max())


def _qsgd_norm(y, flags):
    if flags & _NORM_INF:
        return _maxabs(y)
    s2 = _sum4(y * y)
    if math.isfinite(s2) and s2 > 1e-280:
        return math.sqrt(s2)
    mx = _maxabs(y)                # overflow or underflow of the squares: rescale
    return mx * math.sqrt(_seqsum((y / mx) * (y / mx))) if mx > 0 else 0.0


def _qsgd_run(P, y, g, w):
    _check_finite(y)
    b = P.bucket
    starts = range(0, P.d, b)
    norms = []
    for j, b0 in enumerate(starts):      # every norm is checked before the stream is drawn
        n = _qsgd_norm(y[b0:b0 + b], P.flags)
        if not (n <= _FLT_MAX):
            raise ValueError(f"QSGD: the norm {n:.15g} of bucket {j} exceeds the float32 range of the norm field")
        norms.append(_f32_up(n))
    key = _draw_u64(g)
    out = np.empty(P.d)
    for b0, nf in zip(starts, norms):
        yb = y[b0:b0 + b]
        nd = float(nf)
        sc = P.L / nd if nd > 0 else 0.0
        lev = _round(np.abs(yb) * sc, P.L + 1, _uniforms(key, b0, yb.size))
        neg = (lev > 0) & (yb < 0)
        if w is not None:
            w.put(np.array([nf]).view(np.uint32).astype(np.uint64), 32)
            w.put(lev.astype(np.uint64) | (neg.astype(np.uint64) << _U64(P.lbits)), P.lbits + 1)
        v = nd * (lev.astype(np.float64) / P.L)
        out[b0:b0 + b] = np.where(neg, -v, v)
    return out


def _scale_field(bits, what):
    u = np.array([_bits_to_fields(bits, 0, [32])[0]], np.uint32)
    f = u.view(np.float32)[0]
    if not np.isfinite(f) or int(u[0]) >> 31:
        raise DecodeError(f"{what} is not a finite float32 >= 0")
    return float(f)


def _qsgd_decode(P, bits):
    out = np.empty(P.d)
    pos, width = 0, P.lbits + 1
    for b0 in range(0, P.d, P.bucket):
        m = min(P.bucket, P.d - b0)
        nd = _scale_field(bits[pos:pos + 32], f"QSGD norm field of bucket {b0 // P.bucket}")
        f = _bits_to_fields(bits, pos + 32, np.full(m, width))
        pos += 32 + m * width
        lev = (f & _U64((1 << P.lbits) - 1)).astype(np.int64)
        neg = (f >> _U64(P.lbits)).astype(bool)
        if (lev > P.L).any():
            i = int(np.argmax(lev > P.L))
            raise DecodeError(f"QSGD level {lev[i]} at coordinate {b0 + i} exceeds s = {P.L}")
        if (neg & (lev == 0)).any():
            raise DecodeError(f"QSGD sign bit set on a zero level at coordinate {b0 + int(np.argmax(neg & (lev == 0)))}")
        if nd == 0.0 and (lev > 0).any():
            raise DecodeError("QSGD norm field is zero but a level is not (no encoder sends this)")
        v = nd * (lev.astype(np.float64) / P.L)
        out[b0:b0 + m] = np.where(neg, -v, v)
    return out


def _terngrad_run(P, y, g, w):
    _check_finite(y)
    S = _maxabs(y)
    if not (S <= _FLT_MAX):
        raise ValueError(f"TernGrad: ||y||_inf = {S:.15g} exceeds the float32 range")
    sf = _f32_up(S)
    sd = float(sf)
    inv = 1.0 / sd if sd > 0 else 0.0
    key = _draw_u64(g)
    b = _round(np.abs(y) * inv, 2, _uniforms(key, 0, P.d))
    code = b << (y < 0).astype(np.int64)       # 0, 1 (+1) or 2 (-1)
    if w is not None:
        w.put(np.array([sf]).view(np.uint32).astype(np.uint64), 32)
        w.put(code, 2)
    return np.array([0.0, sd, -sd, 0.0])[code]


def _terngrad_decode(P, bits):
    sd = _scale_field(bits, "TernGrad scale field")
    code = _bits_to_fields(bits, 32, np.full(P.d, 2)).astype(np.int64)
    if (code == 3).any():
        raise DecodeError(f"TernGrad code 3 at coordinate {int(np.argmax(code == 3))} is invalid")
    if sd == 0.0 and (code > 0).any():
        raise DecodeError("TernGrad scale field is zero but a code is not (no encoder sends this)")
    return np.array([0.0, sd, -sd, 0.0])[code]


def _scaledsign_run(P, y, g, w):
    l1 = _sum4(np.abs(y))
    if not math.isfinite(l1):
        _check_finite(y)
    sc = l1 / P.d
    if not (sc <= _FLT_MAX):
        raise ValueError(f"ScaledSign: ||y||_1/d = {sc:.15g} exceeds the float32 range")
    sf = np.float32(sc)
    sd = float(sf)
    if w is not None:
        w.put(np.array([sf]).view(np.uint32).astype(np.uint64), 32)
        w.put_bits(y < 0)
    return np.where(y < 0, -sd, sd)


def _scaledsign_decode(P, bits):
    sd = _scale_field(bits, "ScaledSign scale field")
    return np.where(bits[32:32 + P.d] == 1, -sd, sd)


def _topk_run(P, y, g, w):
    _check_finite(y)
    d, k = P.d, P.k
    a = np.abs(y)
    thr = np.partition(a, d - k)[d - k]            # the k-th largest |y_i|
    ties = k - int(np.count_nonzero(a > thr))
    take = a > thr
    take[np.flatnonzero(a == thr)[:ties]] = True   # ties to the lower index
    idx = np.flatnonzero(take)
    if w is not None:
        vals = np.empty(2 * idx.size, np.uint64)
        vals[0::2] = idx
        vals[1::2] = y[idx].view(np.uint64)
        w.put_bits(_fields_to_bits(vals, np.tile([P.ibits, 64], idx.size)))
    out = np.zeros(d)
    out[idx] = y[idx]
    return out


def _topk_decode(P, bits):
    d, k = P.d, P.k
    f = _bits_to_fields(bits, 0, np.tile([P.ibits, 64], k))    # [index, value] per entry
    idx, v = f[0::2].astype(np.int64), f[1::2].view(np.float64)
    for t in range(k):
        i = int(idx[t])
        if i >= d:
            raise DecodeError(f"TopK index {i} is out of range 0..{d - 1}")
        if t > 0 and i <= int(idx[t - 1]):
            raise DecodeError(f"TopK indices must increase strictly, got {i} after {int(idx[t - 1])}")
        if not math.isfinite(float(v[t])):
            raise DecodeError(f"TopK value at index {i} is not finite")
        # a kept 0 means the k-th largest |y_i| is 0, so every index below it was kept too
        if float(v[t]) == 0.0 and i != t:
            raise DecodeError(f"TopK keeps a zero at index {i} but not every index below it")
    out = np.zeros(d)
    out[idx] = v
    return out


def _randk_set(seed, d, k):
    """Floyd's uniform k-subset of 0..d-1 over the stream ``seed`` (sorted indices); the
    integers in [0, n) by Lemire's multiply-and-reject ("Fast Random Integer Generation in
    an Interval", ACM TOMACS 2019) on successive 64-bit words of the stream."""
    words = _mix(seed, np.arange(k + 8, dtype=np.uint64))
    ctr, chosen = 0, set()
    for j in range(d - k, d):
        n = j + 1
        while True:      # Lemire's bounded integer in [0, n), with rejection
            x = int(words[ctr]) if ctr < words.size else _mix1(seed, ctr)
            ctr += 1
            m = x * n
            lo = m & 0xFFFFFFFFFFFFFFFF
            if lo >= n or lo >= (2 ** 64 - n) % n:
                t = m >> 64
                break
        if t in chosen:
            t = j
        chosen.add(t)
    return np.array(sorted(chosen), dtype=np.int64)


def _randk_run(P, y, g, w):
    _check_finite(y)
    d, k = P.d, P.k
    seed = _draw_u64(g)
    idx = _randk_set(seed, d, k)
    with np.errstate(over="ignore"):
        v = y[idx] * (d / k)
    if not np.isfinite(v).all():
        i = int(idx[np.argmax(~np.isfinite(v))])
        raise ValueError(f"RandK: y[{i}] * d/k overflows")
    if w is not None:
        w.put(seed, 64)
        w.put(v.view(np.uint64), 64)
    out = np.zeros(d)
    out[idx] = v
    return out


def _randk_decode(P, bits):
    d, k = P.d, P.k
    seed = int(_bits_to_fields(bits, 0, [64])[0])
    idx = _randk_set(seed, d, k)
    v = _bits_to_fields(bits, 64, np.full(k, 64)).view(np.float64)
    if not np.isfinite(v).all():
        raise DecodeError(f"RandK value at index {int(idx[np.argmax(~np.isfinite(v))])} is not finite")
    out = np.zeros(d)
    out[idx] = v
    return out


def _identity_run(P, y, g, w):
    _check_finite(y)
    if P.flags & _FLOAT32:
        if (np.abs(y) > _FLT_MAX).any():
            i = int(np.argmax(np.abs(y) > _FLT_MAX))
            raise ValueError(f"Identity(float32): |y[{i}]| = {y[i]:.15g} exceeds the float32 range")
        f = y.astype(np.float32)
        if w is not None:
            w.put(f.view(np.uint32).astype(np.uint64), 32)
        return f.astype(np.float64)
    if w is not None:
        w.put(y.view(np.uint64), 64)
    return y.copy()


def _identity_decode(P, bits):
    if P.flags & _FLOAT32:
        v = _bits_to_fields(bits, 0, np.full(P.d, 32)).astype(np.uint32).view(np.float32).astype(np.float64)
    else:
        v = _bits_to_fields(bits, 0, np.full(P.d, 64)).view(np.float64).copy()
    if not np.isfinite(v).all():
        raise DecodeError(f"Identity value at coordinate {int(np.argmax(~np.isfinite(v)))} is not finite")
    return v


_RUN = {SIMQ: _simq_run, SIMQPLUS: _simqplus_run, CUQ: _cuq_run, RATQ: _ratq_run, LP: _lp_run, QSGD: _qsgd_run,
        TERNGRAD: _terngrad_run, SCALEDSIGN: _scaledsign_run, TOPK: _topk_run, RANDK: _randk_run,
        IDENTITY: _identity_run}
_DECODE = {SIMQ: _simq_decode, SIMQPLUS: _simqplus_decode, CUQ: _cuq_decode, RATQ: _ratq_decode, LP: _lp_decode,
           QSGD: _qsgd_decode, TERNGRAD: _terngrad_decode, SCALEDSIGN: _scaledsign_decode, TOPK: _topk_decode,
           RANDK: _randk_decode, IDENTITY: _identity_decode}


# ---- the public twins -------------------------------------------------------------------------

def _prepare(q, y, rng):
    y = as_float_array(y, "y", ndim=1, finite=False)
    g = as_generator(rng)
    return y, g, _resolve(q, y.shape[0])


def encode(q, y, rng=None):
    """Twin of ``q.encode(y, rng)``: ``(payload bytes, nbits)``, the same bytes as the C
    encoder for the same generator state, leaving the generator in the same state."""
    y, g, P = _prepare(q, y, rng)
    w = _Msg()
    with np.errstate(all="ignore"):     # IEEE arithmetic, as in C: overflow is checked, not warned
        _RUN[P.kind](P, y, g, w)
    return w.finish(P.bits), P.bits


def quantize(q, y, rng=None, dtype=np.float64) -> np.ndarray:
    """Twin of ``q(y, rng, dtype=dtype)`` (the fast path): equal to
    ``decode(q, *encode(q, y, rng), dtype=dtype)``."""
    y, g, P = _prepare(q, y, rng)
    with np.errstate(all="ignore"):   # float32 outputs: beyond its range is +-inf, as in C
        return _RUN[P.kind](P, y, g, None).astype(dtype, copy=False)


def decode(q, payload, d, dtype=np.float64) -> np.ndarray:
    """Twin of ``q.decode(payload, d, dtype=dtype)``; raises :class:`convq.DecodeError` for a wrong byte
    count, an out-of-range field, a non-canonical SimQ+ type code, non-zero padding, or a
    payload no encoder emits."""
    d = check_int(d, "d", minimum=1)
    if isinstance(payload, (bytearray, memoryview)):
        payload = bytes(payload)
    if not isinstance(payload, bytes):
        if isinstance(payload, np.ndarray) and payload.dtype == np.uint8 and payload.ndim == 1:
            payload = payload.tobytes()
        else:
            raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
    P = _resolve(q, d)
    need = (P.bits + 7) // 8
    if len(payload) != need:
        raise DecodeError(f"payload has {len(payload)} bytes, a {P.bits}-bit message for d={d} needs {need}")
    b = np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")
    with np.errstate(all="ignore"):
        out = _DECODE[P.kind](P, b)
    if b[P.bits:].any():
        raise DecodeError(f"non-zero padding bits after bit {P.bits}")
    with np.errstate(over="ignore"):
        return out.astype(dtype, copy=False)


def decode_sum(q, payloads, d, weights=None, out=None, dtype=np.float64) -> np.ndarray:
    """Twin of ``q.decode_sum(payloads, d, weights, out, dtype=dtype)``: every payload
    decoded (and so validated) first, then ``out + w_k y_k`` message by message, in double,
    rounded once to float32 for a float32 ``out``."""
    ys = [decode(q, p, d) for p in payloads]
    if out is None:
        out = np.zeros(d, dtype=dtype)
    with np.errstate(over="ignore"):
        for k, y in enumerate(ys):
            w = 1.0 if weights is None else float(weights[k])
            out[...] = (out.astype(np.float64) + w * y).astype(out.dtype)
    return out


def quantize_batch(q, Y, rng=None, encode=False):
    """The twin of ``q.quantize_batch(Y, rng)`` (``encode=True``: the payloads of
    ``q.encode_batch``, an (n, bytes) uint8 array): rows in blocks of
    ``_rows_per_stream(d)``, block b quantized one row after the other with the b-th child of
    ``convq._rng.spawn(rng, n_blocks)``, exactly as the C batch entry assigns its streams."""
    from .._rng import spawn
    Y = as_float_array(Y, "Y", ndim=2, finite=False)
    n, d = Y.shape
    r = _q._rows_per_stream(d)
    gens = spawn(rng, -(-n // r))
    if encode:
        out = np.zeros((n, (bits(q, d) + 7) // 8), np.uint8)
        for i in range(n):
            payload, _ = globals()["encode"](q, Y[i], gens[i // r])
            out[i] = np.frombuffer(payload, np.uint8)
        return out
    out = np.empty((n, d))
    for i in range(n):
        out[i] = quantize(q, Y[i], gens[i // r])
    return out


def sample(q, y, n, rng=None):
    """The twin of ``q.sample(y, n, rng)``: ``quantize_batch`` of n copies of y."""
    y = as_float_array(y, "y", ndim=1, finite=False)
    n = check_int(n, "n", minimum=0)
    if n == 0:   # no rows: no streams, nothing drawn
        return np.empty((0, y.size))
    return quantize_batch(q, np.broadcast_to(y, (n, y.size)), rng)


def _sum_sq4(v):
    """The C reductions' sum of squares (cq_q_sum_sq): four accumulators over the
    coordinates 4t, 4t+1, 4t+2, 4t+3 added in order, the tail onto the first, combined as
    (a0 + a1) + (a2 + a3)."""
    n4 = v.size // 4 * 4
    sq = v * v
    acc = np.cumsum(sq[:n4].reshape(-1, 4), axis=0)[-1].copy() if n4 else np.zeros(4)
    for x in sq[n4:]:
        acc[0] += x
    return (acc[0] + acc[1]) + (acc[2] + acc[3])


def grid_norms(y, b, inf_norm):
    """Twin of the all-reduce mode's bucket norms (cq_q_grid_norms): per bucket of b
    coordinates the l2 norm (rescaled by the largest |y_i| where the squares overflow or
    underflow) or max |y_i|; NaN for a bucket with a NaN or Inf."""
    yd = np.asarray(y).astype(np.float64)
    out = []
    for j in range(0, yd.size, b):
        v = yd[j:j + b]
        if not np.isfinite(v).all():
            out.append(np.nan)
            continue
        mx = float(np.max(np.abs(v))) if v.size else 0.0
        if inf_norm:
            out.append(mx)
            continue
        with np.errstate(over="ignore", under="ignore"):
            s2 = _sum_sq4(v)
        if np.isfinite(s2) and s2 > 1e-280:
            out.append(float(np.sqrt(s2)))
        elif mx > 0:
            out.append(mx * float(np.sqrt(np.cumsum((v / mx) * (v / mx))[-1])))
        else:
            out.append(0.0)
    return np.array(out, dtype=np.float64)


def grid_round(y, b, scale, s, key, width):
    """Twin of the all-reduce mode's shared-grid rounding (csrc/quantize/cq_q_grid.c): per
    bucket j of b coordinates, sign(y_i) times s |y_i| / scale[j] (clamped to s) rounded
    stochastically with uniform i of the stream ``key``; int8/int32/int64 for width 1/4/8."""
    y = np.asarray(y)
    d = y.size
    yd = y.astype(np.float64)
    sc = np.repeat(np.asarray(scale, dtype=np.float64), b)[:d]
    inv = np.where(sc > 0, float(s) / np.where(sc > 0, sc, 1.0), 0.0)
    x = np.minimum(np.abs(yd) * inv, float(s))
    lev = _round(x, int(s) + 1, _uniforms(key, 0, d))
    return np.where(yd < 0.0, -lev, lev).astype({1: np.int8, 4: np.int32, 8: np.int64}[width])


def grid_decode(ints, b, scale, s, n, dtype=np.float64):
    """Twin of the all-reduce mode's decode: scale[j] * ints[i] / (s n), in double, rounded
    once to ``dtype``."""
    ints = np.asarray(ints)
    c = np.repeat(np.asarray(scale, dtype=np.float64) / (float(s) * float(n)), b)[:ints.size]
    return (c * ints.astype(np.float64)).astype(dtype)
