"""SimQ+'s type code on dense types: the block code (16 positions of the stars-and-bars string
per range-coder step, csrc/quantize/cq_q_simqplus.c) and the encoder's dense walk.

References used here are independent of the coder's floating-point arithmetic: the block
probabilities are checked against exact rationals C(n-16, s-v) / C(n, s) (Python integers),
the colex rank against the definition (the position of the word among the words of its
weight in increasing order), and the code's exactness by re-encoding every field value the
decoder accepts (the NumPy twin equals the C encoder bit for bit: tests/test_twins.py).
"""
import math
from fractions import Fraction

import numpy as np
import pytest

import convq.quantize as Q
import convq.slow.quantize as slow
from convq import DecodeError


def _falling(x, m):
    return math.prod(range(x - m + 1, x + 1))


def _pi(n, s, v):
    """C(n-16, s-v) / C(n, s) exactly: (s)_v (n-s)_(16-v) / (n)_16."""
    return Fraction(_falling(s, v) * _falling(n - s, 16 - v), _falling(n, 16))


def _admissible(y, p):
    q = 1.0 if math.isinf(p) else p / (p - 1.0)
    return y / np.sum(np.abs(y) ** q) ** (1.0 / q) * (1 - 1e-9)


def test_colex_rank_is_the_position_among_words_of_the_same_weight():
    by_weight = {}
    for x in range(1 << 16):
        by_weight.setdefault(bin(x).count("1"), []).append(x)
    for w, words in by_weight.items():
        assert len(words) == math.comb(16, w)
        for r in range(0, len(words), max(1, len(words) // 257)):
            x = words[r]
            assert slow._colex_rank(x) == r
            assert slow._colex_unrank(w, r) == x


@pytest.mark.parametrize("seed", range(4))
def test_block_widths_are_the_exact_probabilities_rounded_down(seed):
    """Wherever the block code applies, each pattern's width q_v is at most range * pi_v and
    loses less than 2^-28 of it (pi_v = C(n-16, s-v) / C(n, s) exactly), so the C(16, v) q_v
    sum to at most the range: the sub-intervals are disjoint and inside it."""
    rng = np.random.default_rng(seed)
    applied = 0
    for _ in range(60):
        n = int(rng.integers(32, 1 << 24))
        s = int(rng.integers(16, n - 15))
        rg = int(rng.integers(1 << 56, 1 << 63)) * 2 + int(rng.integers(0, 2))
        q = slow._block_q(rg, n, s)
        if q is None:
            continue
        applied += 1
        total = 0
        for v in range(17):
            pi = _pi(n, s, v)
            assert q[v] <= rg * pi
            assert q[v] >= rg * pi * (1 - Fraction(1, 1 << 28))
            assert q[v] >= 1 << 30
            total += math.comb(16, v) * q[v]
        assert total <= rg
    assert applied >= 10


def test_block_code_applies_exactly_where_every_width_is_large():
    """The test q_0, q_16 >= 2^30 is the test on every v (pi_v is log-concave in v)."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(32, 1 << 20))
        s = int(rng.integers(16, n - 15))
        rg = (1 << 64) - 1 - int(rng.integers(0, 1 << 62))
        q = slow._block_q(rg, n, s)
        h = float((rg >> 1) & ~0x3FF)
        exact = [int(h * float(_pi(n, s, v))) * 2 for v in range(17)]
        if q is not None:
            assert min(q) >= 1 << 30
        elif min(exact) > 1 << 31:         # far from the threshold: must have applied
            pytest.fail(f"block code refused at n={n}, s={s} with widths >= 2^31")


def _type_field(q, d, payload):
    P = q.params(d)
    bits = np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")
    return bits[:P["type_bits"]]


@pytest.mark.parametrize("d,k", [(40, 40), (64, 70), (100, 100)])
def test_every_accepted_field_value_is_the_code_of_its_type(d, k):
    """Random type fields (signs zero): the decoder accepts a value only if re-encoding the
    decoded type gives that value back (canonical: one field value per type), and a
    dense type's field is accepted with the rate C(d+k, k) / 2^T >= 1/8."""
    q = Q.SimQPlus(1.0, p=2, k=k)
    P = q.params(d)
    T, Bp = P["type_bits"], P["Bp"]
    nbytes = (T + k + 7) // 8
    rng = np.random.default_rng(d + k)
    accepted = 0
    for _ in range(400):
        bits = np.concatenate([rng.integers(0, 2, T), np.zeros(8 * nbytes - T, np.int64)]).astype(np.uint8)
        payload = np.packbits(bits, bitorder="little").tobytes()
        try:
            yh = q.decode(payload, d)
        except DecodeError:
            continue
        accepted += 1
        counts = np.rint(yh * k / Bp).astype(int)
        full = np.concatenate(([k - counts.sum()], counts))
        string = np.zeros(d + k, np.uint8)
        string[np.repeat(np.arange(d + 1), full) + np.arange(k)] = 1
        enc = slow._coding.RangeEncoder()
        slow._type_encode(enc, string, k)
        code = enc.bits()
        np.testing.assert_array_equal(bits[:T], np.array(code + [0] * (T - len(code)), np.uint8))
    assert accepted >= 400 * 2.0 ** (math.log2(math.comb(d + k, k)) - T) / 2


@pytest.mark.parametrize("d", [20000, 1 << 17])
def test_dense_encoder_equals_the_twin_and_the_fast_path(d):
    """d >= 2^14: the encoder's walk runs in stretches (and from d, k >= 2^16 on the coder
    uses the colex tables): the message is the twin's, and it decodes to the fast path's
    value."""
    q = Q.SimQPlus(1.0, p=2)
    y = _admissible(np.random.default_rng(d).standard_normal(d), 2)
    y[7] = -0.3  # one large coordinate
    y = _admissible(y, 2)
    msg = q.encode(y, rng=np.random.default_rng(11))
    payload, nbits = slow.encode(q, y, rng=np.random.default_rng(11))
    assert msg.payload == payload and msg.nbits == nbits == q.bits(d)
    np.testing.assert_array_equal(q.decode(msg), q(y, rng=np.random.default_rng(11)))
    np.testing.assert_array_equal(q.decode(msg), slow.decode(q, payload, d))


@pytest.mark.parametrize("d,k", [(1 << 14, None), (20000, 3000), (20000, 80000)])
def test_dense_walk_is_the_sequential_walk(d, k):
    """The dense walk's message decodes to exactly what the sequential walk of the fast path
    draws (same generator state), on spiky, flat and boundary inputs: same law."""
    q = Q.SimQPlus(1.0, p=2, k=k)
    Bp = q.params(d)["Bp"]
    ys = [np.zeros(d), np.full(d, Bp / d * (1 - 1e-12))]
    y = np.zeros(d)
    y[[0, 255, 256, d // 2, d - 1]] = [0.5, -0.3, 0.2, -0.6, 0.4]
    ys.append(_admissible(y, 2))
    ys.append(_admissible(np.random.default_rng(1).standard_cauchy(d), 2))
    for y in ys:
        for seed in range(2):
            msg = q.encode(y, rng=seed)
            assert msg.nbits == q.bits(d)
            np.testing.assert_array_equal(q.decode(msg), q(y, rng=seed))


def test_dense_encoder_is_unbiased_across_stretches():
    """E decode(encode(y)) = y coordinate-wise, 6 standard errors, at coordinates in each of
    the four stretches of the dense walk (d = 2^14, k = d, 3000 messages)."""
    d, n = 1 << 14, 3000
    q = Q.SimQPlus(1.0, p=2)
    y = np.zeros(d)
    idx = [3, 4100, 8200, 12300, d - 2]
    y[idx] = [0.4, -0.5, 0.3, -0.45, 0.5]
    y = _admissible(y, 2)
    g = np.random.default_rng(5)
    acc, acc2 = np.zeros(len(idx)), np.zeros(len(idx))
    for _ in range(n):
        x = q.decode(q.encode(y, rng=g))[idx]
        acc += x
        acc2 += x * x
    mean = acc / n
    se = np.sqrt((acc2 / n - mean ** 2) / n)
    assert np.all(np.abs(mean - y[idx]) <= 6 * se + 1e-12)


@pytest.mark.parametrize("p", [3, 4, 2.5])
def test_float32_input_on_the_norm_boundary_decides_as_its_float64_copy(p):
    """Typed kernels: a float32 vector whose ||y||_q is within 1e-6 of B takes the exact
    ||y||_q pass (float32 read in place); accepted or rejected as its float64 copy, and an
    accepted one gives the float64 copy's message; decode to float32 is the float64 decode
    rounded once."""
    q = Q.SimQPlus(1.0, p=p)
    r = p / (p - 1.0)
    y = np.random.default_rng(int(10 * p)).standard_normal(4099)
    for scale in (1 - 3e-7, 1 + 1e-8, 1 + 3e-6):
        y32 = (y / np.sum(np.abs(y) ** r) ** (1 / r) * scale).astype(np.float32)
        y64 = y32.astype(np.float64)
        try:
            m64 = q.encode(y64, rng=3)
        except ValueError as e:
            with pytest.raises(ValueError, match=str(e).split(",")[0]):
                q.encode(y32, rng=3)
            continue
        assert q.encode(y32, rng=3) == m64
        np.testing.assert_array_equal(q.decode(m64, dtype=np.float32), q.decode(m64).astype(np.float32))


@pytest.mark.parametrize("d,k", [(20000, None), (20011, 4001)])
def test_dense_walk_of_float32_input_and_every_output_mode(d, k):
    """The dense walk reads float32 input in place (its own compiled copy of the lockstep
    loop): the message is the float64 copy's. The decoder's outputs from the string (float64
    and float32, a fresh one, decode_sum's first term with a weight, and accumulation onto a
    buffer) are the float64 decode, scaled and added as NumPy does it in double, rounded once
    for float32. N = d + k is not a multiple of 64 in the second case (the last word of the
    complemented string of bars)."""
    q = Q.SimQPlus(1.0, p=2, k=k)
    y = np.random.default_rng(d).standard_normal(d)
    y[[1, d // 3, d - 1]] = [2.0, -3.0, 2.5]  # several draws on a few coordinates
    y32 = _admissible(y, 2).astype(np.float32)
    msgs = [q.encode(y32, rng=s) for s in range(3)]
    assert msgs[0] == q.encode(y32.astype(np.float64), rng=0)
    vals = [q.decode(m) for m in msgs]
    kq = q.params(d)["k"]
    landed = [round(float(np.sum(np.abs(v))) * kq / q.params(d)["Bp"]) for v in vals]
    assert min(landed) >= d // 8  # the encoder took its dense walk
    np.testing.assert_array_equal(q.decode(msgs[0], dtype=np.float32), vals[0].astype(np.float32))
    w = [0.5, -1.25, 3.0]
    total = 0.0 + w[0] * vals[0] + w[1] * vals[1] + w[2] * vals[2]
    np.testing.assert_array_equal(q.decode_sum(msgs, d, weights=w), total)
    base = np.random.default_rng(1).standard_normal(d)
    out = base.copy()
    q.decode_sum(msgs, d, weights=w, out=out)
    np.testing.assert_array_equal(out, base + w[0] * vals[0] + w[1] * vals[1] + w[2] * vals[2])
    out32 = base.astype(np.float32)
    q.decode_sum(msgs[:1], d, out=out32)
    np.testing.assert_array_equal(out32, (base.astype(np.float32).astype(np.float64) + vals[0]).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_adding_decode_checks_every_field_before_it_writes(dtype):
    """SimQ+'s decoder checks every field before it writes, so an adding decode_sum takes no
    separate validation pass for the message it adds first (the one that pass would cost a
    whole type decode): a message bad in its last checked field (a sign padding bit), in its
    type field, or in the canonical tail still leaves out unchanged, first or later in the
    list, and a good one is added exactly as before."""
    d = 3000
    q = Q.SimQPlus(1.0, p=2)
    y = _admissible(np.random.default_rng(2).standard_normal(d), 2)
    good = [q.encode(y, rng=s).payload for s in range(2)]
    nbits = q.bits(d)

    def flipped(payload, bit):
        b = bytearray(payload)
        b[bit // 8] ^= 1 << (bit % 8)
        return bytes(b)

    T = q.params(d)["type_bits"]
    bads = [flipped(good[0], nbits - 1),                 # the last sign padding bit
            bytes(b"\xff" * (T // 8)) + good[0][T // 8:],  # the type field
            flipped(good[0], T - 1)]                     # the field's zero tail
    start = np.random.default_rng(3).standard_normal(d).astype(dtype)
    for bad in bads:
        with pytest.raises(DecodeError):
            q.decode(bad, d)
        for msgs in ([bad], [bad, good[1]], [good[1], bad]):
            out = start.copy()
            with pytest.raises(DecodeError):
                q.decode_sum(msgs, d, out=out)
            np.testing.assert_array_equal(out, start)
    out = start.copy()
    q.decode_sum(good, d, weights=[0.5, 2.0], out=out)
    ref = start.astype(np.float64)
    for w, m in zip([0.5, 2.0], good):
        ref = ref + w * q.decode(m, d)
        ref = ref.astype(dtype).astype(np.float64)
    np.testing.assert_array_equal(out, ref.astype(dtype))
