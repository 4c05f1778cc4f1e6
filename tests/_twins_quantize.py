"""Twin table: every quantizer of :mod:`convq.quantize` against :mod:`convq.slow.quantize`.

For each quantizer class: ``encode``, ``decode`` and the fast path ``quantize`` (plus
``bits`` and ``params`` for all of them). The random entry points take ``(q, y, seed)``;
the adapters seed a fresh ``np.random.default_rng(seed)`` on each side and return, with
the result, one draw made from the generator afterwards, so the two sides must also leave
the generator in the same state (the same number of draws). A seed ``("MT19937", 5)``
runs on that BitGenerator instead of PCG64; any other seed that is not a non-negative int
is passed through as ``rng`` unchanged (bad-``rng`` cases). Everything is compared bit
for bit (rtol=0).

QSGD and TernGrad payloads with a zero norm (scale) field and a non-zero level are in
the cases: no encoder emits them, and both decoders reject them (DecodeError).
"""
from __future__ import annotations

import math

import numpy as np

import convq.coding as coding
import convq.quantize as Q
import convq.slow.quantize as slow
from _twin import Twin

DIMS = (1, 2, 3, 7, 64, 1000)
# LpQuantizer p < 2 also at dimensions whose windowed RATQ part has two windows of 16 or 32
# (its sign field: 32 or exactly 64 raw signs) and of 64 (a 64-bit seed expanded).
LP_DIMS = (121, 193, 385)


def _dims(name):
    return DIMS + LP_DIMS if name == "LpQuantizer" else DIMS
SEEDS = (0, 12345678901234567890)

QUANTIZERS = {
    "SimQ": [Q.SimQ(1.0), Q.SimQ(2.5)],
    "SimQPlus": [Q.SimQPlus(1.0), Q.SimQPlus(1.0, p=3), Q.SimQPlus(2.0, p=math.inf), Q.SimQPlus(0.5, p=4, k=3),
                 Q.SimQPlus(1.0, p=2, k=37)],
    "CUQ": [Q.CUQ(1.0, 16), Q.CUQ(0.5, 2), Q.CUQ(2.0, 1000), Q.CUQ(1.0, 2 ** 17 + 3)],
    "RATQ": [Q.RATQ(1.0), Q.RATQ(1.0, s=3, h=5, levels=5), Q.RATQ(2.0, levels=2), Q.RATQ(0.7, h=1),
             Q.RATQ(1e200)],
    "LpQuantizer": [Q.LpQuantizer(1.0), Q.LpQuantizer(1.5), Q.LpQuantizer(1.9, B=2.0), Q.LpQuantizer(2.0),
                    Q.LpQuantizer(3.0), Q.LpQuantizer(math.inf)],
    "QSGD": [Q.QSGD(1), Q.QSGD(4), Q.QSGD(4, norm="inf"), Q.QSGD(2 ** 16), Q.QSGD(3, bucket=7),
             Q.QSGD(2, norm="inf", bucket=2)],
    "TernGrad": [Q.TernGrad()],
    "ScaledSign": [Q.ScaledSign()],
    "TopK": [Q.TopK(1), Q.TopK(5), Q.TopK(5000)],
    "RandK": [Q.RandK(1), Q.RandK(7), Q.RandK(5000)],
    "Identity": [Q.Identity(), Q.Identity("float32")],
}


def _bound(q):
    """(order of the norm, bound) of the admissible set, or None for any finite y."""
    return (q.norm_order, q.bound) if math.isfinite(q.bound) else None


def _norm(y, order):
    a = np.abs(y)
    if math.isinf(order):
        return float(a.max())
    mx = float(a.max())
    return mx * float(np.sum((a / mx) ** order)) ** (1.0 / order) if mx > 0 else 0.0


def _on_boundary(q, v):
    b = _bound(q)
    if b is None or not np.any(v):
        return v
    return v / _norm(v, b[0]) * b[1]


def _vectors(q, d, rng):
    """Adversarial admissible (and some inadmissible) inputs of dimension d."""
    b = _bound(q)
    scale = 1.0 if b is None else b[1]
    v = rng.standard_normal(d)
    edge = _on_boundary(q, v)
    yield np.zeros(d)
    yield edge                                     # on the norm boundary
    yield 0.5 * edge
    e = np.zeros(d)
    e[d // 2] = scale
    yield e                                        # one coordinate carries the whole bound
    yield -e
    t = 1e-12 * scale * rng.standard_normal(d)
    t[-1] = -0.999 * scale                         # one huge coordinate, the rest tiny
    yield t
    ties = np.resize(np.array([1.0, -1.0, -0.0, 0.5, 0.0, -0.5, 1.0]), d)
    yield _on_boundary(q, ties)                    # ties, signed zeros
    with np.errstate(over="ignore"):
        yield (0.99 * edge).astype(np.float32)     # float32 input (inf for RATQ(1e200))
    big = np.empty(2 * d)
    big[::2] = 0.7 * edge
    yield big[::2]                                 # strided
    yield edge[::-1]                               # negative stride
    yield np.asfortranarray(np.vstack([edge, 0.3 * edge, edge]))[1]   # a row of a Fortran array
    yield _on_boundary(q, 1e-150 * v)              # squares underflow
    yield np.resize(np.array([5e-324, -5e-324, 0.0, 2.2e-308]), d)   # subnormals (admissible everywhere)
    if b is None:                                  # unbounded quantizers: extreme magnitudes
        yield 3e38 * np.sign(v)                    # just inside float32
        yield 1e18 * v
        yield 1e300 * v                            # norm over float32: ValueError for some
        u = 1e-3 * v
        u[0] = 1e300
        yield u


def _threshold_pair(q, y):
    """(f_lo y, f_hi y) with adjacent floats f_lo < f_hi such that C accepts f_lo y and
    rejects f_hi y: the vectors that straddle C's norm-bound check, where a twin that sums
    in another order (or compares another way) disagrees."""
    def ok(f):
        try:
            q.encode(y * f, rng=0)
            return True
        except ValueError:
            return False
    lo, hi = 1.0 - 1e-6, 1.0 + 1e-6
    assert ok(lo) and not ok(hi), f"{q!r}: C does not switch from accepting to rejecting near the bound"
    while np.nextafter(lo, 2.0) < hi:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return (y * lo, y * hi)


def _inputs(name):
    def cases(rng):
        for q in QUANTIZERS[name]:
            for d in _dims(name):
                for y in _vectors(q, d, rng):
                    for seed in SEEDS:
                        yield (q, y, seed)
            y = _on_boundary(q, rng.standard_normal(64))
            for bitgen in ("MT19937", "Philox", "SFC64"):    # other BitGenerators: next_uint64 and
                yield (q, y, (bitgen, 5))                   # next_double are drawn differently
            if _bound(q) is not None:          # vectors at the exact edge of the bound check
                for d in (7, 64, 1000):
                    v = rng.standard_normal(d) * 10.0 ** rng.uniform(-8, 0, d)   # a wide dynamic range
                    for y in _threshold_pair(q, _on_boundary(q, v)):
                        yield (q, y, 0)
    return cases


def _bad_inputs(name):
    def bad():
        for q in QUANTIZERS[name]:
            b = _bound(q)
            y = _on_boundary(q, np.array([0.3, -0.4, 0.2]))
            for i in (0, 2):
                for x in (np.nan, np.inf, -np.inf):
                    z = y.copy()
                    z[i] = x
                    yield (q, z, 0)
            yield (q, np.zeros((2, 2)), 0)
            yield (q, np.float64(0.1), 0)
            yield (q, np.zeros(0), 0)
            yield (q, "abc", 0)
            yield (q, np.array([1j, 0]), 0)
            yield (q, np.array([0.1, None]), 0)
            for rng in (-1, "x", 1.5, np.random.RandomState(0)):
                yield (q, y, rng)
            if b is not None:
                yield (q, 2.0 * y, 0)                            # over the bound
                yield (q, y * (1 + 1e-6), 0)                     # over the bound plus the slack
                yield (q, _on_boundary(q, np.ones(1000)) * 1.001, 0)
            if name in ("QSGD", "TernGrad", "ScaledSign") or q == Q.Identity("float32"):
                yield (q, np.array([1e39, 1.0]), 0)              # the norm or scale field overflows float32
            if name in ("QSGD", "TernGrad", "ScaledSign") or q == Q.RandK(1):
                yield (q, np.array([1.7e308, -1.7e308, 1.7e308]), 0)   # the norm or y_i d/k overflows
        if name == "SimQPlus":
            yield (Q.SimQPlus(1.0, k=2 ** 24), np.zeros(1), 0)   # d + k over the range coder's limit
        if name == "CUQ":
            yield (Q.CUQ(1.0, 16), np.array([0.5, 1.0 + 1e-15]), 0)   # CUQ has no slack
    return bad


def _generator(seed):
    """A fresh generator for a seed, or for ("MT19937", seed) and the like; anything else is
    passed through as ``rng`` (the bad-rng cases)."""
    if isinstance(seed, int) and seed >= 0:
        return np.random.default_rng(seed)
    if isinstance(seed, tuple):
        return np.random.Generator(getattr(np.random, seed[0])(seed[1]))
    return seed


def _c_encode(q, y, seed):
    g = _generator(seed)
    m = q.encode(y, rng=g)
    return m.payload, m.nbits, _after(g)


def _slow_encode(q, y, seed):
    g = _generator(seed)
    payload, nbits = slow.encode(q, y, g)
    return payload, nbits, _after(g)


def _c_quantize(q, y, seed):
    g = _generator(seed)
    return q(y, rng=g), _after(g)


def _slow_quantize(q, y, seed):
    g = _generator(seed)
    return slow.quantize(q, y, g), _after(g)


def _c_quantize32(q, y, seed):
    g = _generator(seed)
    return q(y, rng=g, dtype=np.float32), _after(g)


def _slow_quantize32(q, y, seed):
    g = _generator(seed)
    return slow.quantize(q, y, g, dtype=np.float32), _after(g)


def _after(g):
    """One draw after the call: equal iff both sides left the generator in the same state."""
    return g.integers(0, 2 ** 63) if isinstance(g, np.random.Generator) else None


# ---- decode ------------------------------------------------------------------------------

def _flip(p, bit):
    b = bytearray(p)
    b[bit >> 3] ^= 1 << (bit & 7)
    return bytes(b)


def _payloads(name):
    def cases(rng):
        for q in QUANTIZERS[name]:
            for d in _dims(name):
                nbits = q.bits(d)
                nbytes = (nbits + 7) // 8
                good = []
                for y in list(_vectors(q, d, rng))[:3]:
                    try:
                        good.append(q.encode(y, rng=int(rng.integers(2 ** 32))).payload)
                    except ValueError:
                        pass
                for p in good:
                    yield (q, p, d)
                p = good[-1]                                   # the message of a non-zero vector
                yield (q, bytearray(p), d)
                yield (q, np.frombuffer(p, np.uint8), d)
                yield (q, memoryview(p), d)
                yield (q, p + b"\x00", d)                      # wrong byte counts
                yield (q, p[:-1], d)
                if nbits % 8:
                    yield (q, _flip(p, nbytes * 8 - 1), d)     # a padding bit set
                if d <= 7:                                     # every single-bit corruption
                    for bit in range(min(nbits, 320)):
                        yield (q, _flip(p, bit), d)
                for _ in range(8 if d <= 64 else 3):           # random fields, zero padding
                    r = bytearray(rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes())
                    if nbits % 8:
                        r[-1] &= (1 << (nbits % 8)) - 1
                    yield (q, bytes(r), d)
                for rep in range(3):                           # random fields, sparse ones
                    r = np.zeros(nbits, np.uint8)
                    r[rng.integers(0, nbits, 3)] = 1
                    if name in ("QSGD", "TernGrad"):           # norm field 1.0, or 0 with levels set
                        r[:32] = np.unpackbits(np.array([float(rep < 2)], "<f4").view(np.uint8), bitorder="little")
                        if rep == 2 and nbits > 32:
                            r[32] = 1
                    yield (q, np.packbits(r, bitorder="little").tobytes(), d)
    return cases


def _pack(values, widths):
    """LSB-first fields (64-bit ones split in two) -> payload bytes."""
    v, w = [], []
    for x, n in zip(values, widths):
        x = int(x)
        while n > 32:
            v.append(x & 0xFFFFFFFF)
            w.append(32)
            x >>= 32
            n -= 32
        if n:
            v.append(x)
            w.append(n)
    return coding.pack_fields(np.array(v, np.int64), np.array(w, np.int64))[0]


def _f32(x):
    return int(np.array([x], np.float32).view(np.uint32)[0])


def _f64(x):
    return int(np.array([x], np.float64).view(np.uint64)[0])


def _bad_payloads(name):
    def bad():
        for q in QUANTIZERS[name]:
            p = q.encode(_on_boundary(q, np.array([0.3, -0.4, 0.2])), rng=1).payload
            yield (q, p, 0)
            yield (q, p, -3)
            yield (q, p, 2.5)
            yield (q, p, "3")
            yield (q, "abc", 3)
            yield (q, list(p), 3)
            yield (q, np.frombuffer(p, np.uint8).astype(np.float64), 3)
            yield (q, np.frombuffer(p, np.uint8).reshape(1, -1), 3)
            yield (q, p + b"\x00", 3)
            yield (q, p[:-1], 3)
            yield (q, b"", 3)
            nbits = q.bits(3)
            if nbits % 8:
                yield (q, _flip(p, ((nbits + 7) // 8) * 8 - 1), 3)
        if name == "SimQ":
            yield (Q.SimQ(1.0), _pack([7], [3]), 3)                       # i* j* + d > 2d
        if name == "SimQPlus":
            q = Q.SimQPlus(1.0)
            P = q.params(3)
            yield (q, _pack([2 ** P["type_bits"] - 1, 0], [P["type_bits"], P["k"]]), 3)   # not a code
            p = q.encode(np.array([0.9, 0.0, 0.0]), rng=3).payload      # one coordinate: signs 2, 3 pad
            yield (q, _flip(p, P["type_bits"] + P["k"] - 1), 3)          # a sign padding bit
        if name == "CUQ":
            yield (Q.CUQ(2.0, 1000), _pack([3, 1023, 5], [10] * 3), 3)   # level >= L
        if name == "RATQ":
            q = Q.RATQ(1.0, s=3, h=5, levels=5)             # d = 3: d2 = 4, groups of 3 and 1
            yield (q, _pack([0, 7, 1, 1, 1, 0, 1], [64, 3, 3, 3, 3, 3, 3]), 3)   # range index >= h
            yield (q, _pack([0, 1, 6, 1, 1, 0, 1], [64, 3, 3, 3, 3, 3, 3]), 3)   # level >= L
        if name == "LpQuantizer":
            q = Q.LpQuantizer(1.5)
            P = q.params(1000)
            ones = [1] * (P["dmax"] + 1) + [0] * (1000 - P["dmax"] - 1)
            yield (q, _pack([0] * 1000 + ones + [0] * (P["bits"] - 1000 * P["lbits"] - 1000),
                            [P["lbits"]] * 1000 + [1] * 1000 + [1] * (P["bits"] - 1000 * P["lbits"] - 1000)), 1000)
        if name == "QSGD":
            q = Q.QSGD(4)
            yield (q, _pack([_f32(1.0), 7, 1, 1], [32, 4, 4, 4]), 3)     # level > s
            yield (q, _pack([_f32(1.0), 8, 1, 1], [32, 4, 4, 4]), 3)     # sign on a zero level
            for s in (-1.0, -0.0, np.inf, np.nan):
                yield (q, _pack([_f32(s), 1, 1, 1], [32, 4, 4, 4]), 3)   # bad norm field
        if name == "TernGrad":
            yield (Q.TernGrad(), _pack([_f32(1.0), 1, 3, 2], [32, 2, 2, 2]), 3)
            yield (Q.TernGrad(), _pack([_f32(-2.0), 1, 0, 2], [32, 2, 2, 2]), 3)
        if name == "ScaledSign":
            yield (Q.ScaledSign(), _pack([_f32(np.inf), 5], [32, 3]), 3)
            yield (Q.ScaledSign(), _pack([_f32(-0.0), 5], [32, 3]), 3)
        if name == "TopK":
            q = Q.TopK(2)                                                # 2 bits per index at d = 3
            yield (q, _pack([3, _f64(1.0), 0, _f64(1.0)], [2, 64, 2, 64]), 3)          # index >= d
            yield (q, _pack([2, _f64(1.0), 1, _f64(1.0)], [2, 64, 2, 64]), 3)          # decreasing
            yield (q, _pack([1, _f64(1.0), 1, _f64(1.0)], [2, 64, 2, 64]), 3)          # repeated
            yield (q, _pack([0, _f64(np.nan), 1, _f64(1.0)], [2, 64, 2, 64]), 3)       # NaN value
            yield (q, _pack([0, _f64(1.0), 1, _f64(-np.inf)], [2, 64, 2, 64]), 3)
        if name == "RandK":
            yield (Q.RandK(2), _pack([99, _f64(1.0), _f64(np.inf)], [64, 64, 64]), 3)
        if name == "Identity":
            yield (Q.Identity(), _pack([_f64(1.0), _f64(np.nan), 0], [64] * 3), 3)
            yield (Q.Identity("float32"), _pack([_f32(1.0), 0, _f32(-np.inf)], [32] * 3), 3)
    return bad


# ---- bits and params -----------------------------------------------------------------------

def _all_sizes(rng):
    for qs in QUANTIZERS.values():
        for q in qs:
            for d in DIMS + (4, 5, 17, 1023, 1025, 65536):
                yield (q, d)


def _size_bad():
    return [(Q.SimQ(1.0), 0), (Q.SimQ(1.0), 2.5), (Q.CUQ(1.0, 4), "3"), (Q.SimQPlus(1.0, k=2 ** 24), 1),
            (Q.TopK(3), -1)]


def _items(dct):
    return tuple((k, dct[k]) for k in sorted(dct))


TWINS = []
for _name in QUANTIZERS:
    TWINS += [
        Twin(f"{_name}.encode", _c_encode, _slow_encode, _inputs(_name), _bad_inputs(_name)),
        Twin(f"{_name}.quantize", _c_quantize, _slow_quantize, _inputs(_name), _bad_inputs(_name)),
        Twin(f"{_name}.decode", lambda q, p, d: q.decode(p, d), slow.decode, _payloads(_name), _bad_payloads(_name)),
        # float32 in and out: the float32 input cases are among _inputs; the outputs here
        Twin(f"{_name}.quantize(dtype=float32)", _c_quantize32, _slow_quantize32, _inputs(_name),
             _bad_inputs(_name)),
        Twin(f"{_name}.decode(dtype=float32)", lambda q, p, d: q.decode(p, d, dtype=np.float32),
             lambda q, p, d: slow.decode(q, p, d, dtype=np.float32), _payloads(_name), _bad_payloads(_name)),
        # the fused decode-accumulate: two messages, weighted, into float64 and float32
        Twin(f"{_name}.decode_sum", lambda q, p, d: q.decode_sum([p, p], d, weights=[1.0, -0.375]),
             lambda q, p, d: slow.decode_sum(q, [p, p], d, weights=[1.0, -0.375]), _payloads(_name),
             _bad_payloads(_name)),
        Twin(f"{_name}.decode_sum(float32)", lambda q, p, d: q.decode_sum([p, p, p], d, dtype=np.float32),
             lambda q, p, d: slow.decode_sum(q, [p, p, p], d, dtype=np.float32), _payloads(_name),
             _bad_payloads(_name)),
    ]
TWINS += [
    Twin("Quantizer.bits", lambda q, d: q.bits(d), slow.bits, _all_sizes, _size_bad),
    Twin("Quantizer.params", lambda q, d: _items(q.params(d)), lambda q, d: _items(slow.params(q, d)), _all_sizes,
         _size_bad),
]


# ---- the batch entry points: rows in blocks, one spawned stream per block ---------------------

def _batch_cases(rng):
    for qs in QUANTIZERS.values():
        for q in qs[:2]:
            for n, d in ((0, 5), (1, 1), (3, 7), (300, 3), (2, 70000)):
                if isinstance(q, (Q.TopK, Q.RandK)) and q.k > d:
                    continue
                Y = rng.uniform(-1, 1, (n, d))
                Y *= 0.5 / np.maximum(np.abs(Y).sum(axis=1, keepdims=True), 1e-300)   # ||y||_1 = 0.5: admissible
                yield (q, Y, int(rng.integers(2**31)))


def _batch_bad():
    q = QUANTIZERS["SimQ"][0]
    return [(q, np.zeros(5), 0), (q, np.full((2, 3), np.nan), 0), (q, np.ones((2, 3)), 0), (q, "Y", 0),
            (q, np.zeros((2, 3)), -1)]


TWINS += [
    Twin("Quantizer.quantize_batch", lambda q, Y, s: q.quantize_batch(Y, rng=s),
         lambda q, Y, s: slow.quantize_batch(q, Y, s), _batch_cases, _batch_bad),
    Twin("Quantizer.encode_batch", lambda q, Y, s: np.array([np.frombuffer(m.payload, np.uint8)
                                                             for m in q.encode_batch(Y, rng=s)]).reshape(len(Y), -1),
         lambda q, Y, s: slow.quantize_batch(q, Y, s, encode=True), _batch_cases, _batch_bad),
    Twin("Quantizer.sample", lambda q, Y, s: q.sample(Y[0], 5, rng=s) if len(Y) else q.sample(np.zeros(3), 0, rng=s),
         lambda q, Y, s: slow.sample(q, Y[0], 5, s) if len(Y) else slow.sample(q, np.zeros(3), 0, s),
         _batch_cases, lambda: [(QUANTIZERS["SimQ"][0], np.full((1, 3), np.inf), 0)]),
]
