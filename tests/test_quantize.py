"""convq.quantize: exact properties (message lengths, fast path == decode(encode), formats,
validation, malformed payloads, reproducibility, thread independence).

The statistical claims (unbiasedness, second moments) live in test_quantize_stats.py and
the decoder fuzzing in test_quantize_fuzz.py.
"""
import itertools
import math

import numpy as np
import pytest

from convq import DecodeError, bounds
from convq import quantize as Q
from convq._rng import spawn
from convq.coding import fixed_weight_bits, log2_binomial, unpack_fields

pytestmark = pytest.mark.c_heavy

DIMS = [1, 2, 3, 7, 64, 1000, 2 ** 16 + 1]


def quantizers():
    return [
        Q.SimQ(1.0), Q.SimQPlus(1.0), Q.SimQPlus(2.0, p=4), Q.SimQPlus(1.0, p=math.inf), Q.SimQPlus(1.0, p=3, k=5),
        Q.CUQ(1.0, 16), Q.CUQ(0.5, 5), Q.RATQ(1.0), Q.RATQ(2.0, levels=8, s=3, h=5),
        Q.LpQuantizer(1, 1.0), Q.LpQuantizer(1.5, 1.0), Q.LpQuantizer(1.2, 3.0), Q.LpQuantizer(2, 1.0),
        Q.LpQuantizer(3, 1.0), Q.LpQuantizer(math.inf, 1.0),
        Q.QSGD(4), Q.QSGD(1, norm="inf"), Q.TernGrad(), Q.ScaledSign(), Q.TopK(5), Q.RandK(5),
        Q.Identity(), Q.Identity("float32"), Q.CoordinateSampling(Q.LpQuantizer(1.5, 1.0), 3),
    ]


def norm_of(q):
    """(norm order, bound) of the admissible set, or None for 'any finite y'."""
    return (q.norm_order, q.bound) if math.isfinite(q.bound) else None


def lq(y, order):
    if math.isinf(order):
        return float(np.max(np.abs(y)))
    return float(np.sum(np.abs(y) ** order) ** (1.0 / order))


def on_boundary(q, y):
    """Scale y to the boundary of q's admissible set (unchanged for baselines)."""
    nb = norm_of(q)
    if nb is None:
        return y
    order, bound = nb
    return y / lq(y, order) * bound


def inputs(q, d, rng):
    """Adversarial admissible inputs: a spike, a flat vector, a random direction on the
    boundary, one inside, and zero."""
    spike = np.zeros(d)
    spike[d // 2] = -1.0
    flat = np.ones(d)
    flat[::2] = -1.0
    out = [on_boundary(q, spike), on_boundary(q, flat), on_boundary(q, rng.standard_normal(d))]
    out.append(0.5 * on_boundary(q, rng.standard_normal(d)))
    out.append(np.zeros(d))
    return out


@pytest.mark.parametrize("d", DIMS)
def test_every_message_has_exactly_bits_d(d):
    rng = np.random.default_rng(d)
    for q in quantizers():
        nbits = q.bits(d)
        for y in inputs(q, d, rng)[:3] if d > 1000 else inputs(q, d, rng):
            msg = q.encode(y, rng=rng)
            assert msg.nbits == nbits, (q, d)
            assert len(msg.payload) == (nbits + 7) // 8
            assert msg.d == d


@pytest.mark.parametrize("d", DIMS)
def test_simq_length_is_ceil_log2_2d_plus_1(d):
    assert Q.SimQ(3.0).bits(d) == math.ceil(math.log2(2 * d + 1)) == bounds.simq_bits(d)


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("p,k", [(2, None), (4, None), (3, 7), (math.inf, None)])
def test_simqplus_length_within_16_bits_of_the_exact_type_code(d, p, k):
    q = Q.SimQPlus(1.0, p=p, k=k)
    k = q.k_for(d)
    nbits = q.bits(d)
    exact = math.ceil(log2_binomial(d + k, k)) + k
    paper = bounds.simqplus_bits(d, k)  # Theorem 4.2: k log e + k log(d/k + 1) + k
    print(f"SimQ+ d={d} p={p} k={k}: bits={nbits}, ceil(log2 C(d+k,k)) + k = {exact}, Theorem 4.2: {paper:.1f}")
    assert nbits == fixed_weight_bits(d + k, k) + 1 + k  # the gap code's field: the fixed-weight one + 1
    assert nbits <= exact + 16
    assert nbits <= paper + 17  # API.md: at most 17 bits above the paper's bound


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("p", [1, 1.2, 1.5, 1.9, 2, 3, math.inf])
def test_lp_composite_length_vs_theorem_3_1(d, p):
    q = Q.LpQuantizer(p, 1.0)
    P = q.params(d)
    upper = bounds.precision_upper(d, p)
    nbits = q.bits(d)
    if p >= 2:
        assert nbits <= upper + 17  # SimQ / SimQ+ with k = ceil(d^(2/p))
        return
    # The composite: CUQ levels, then (d' > 0) the bitmap and the windowed RATQ part, whose
    # rotated length is d' itself (no padding); within the bound for every d
    # (tests/test_lp_quantizer_bound.py sweeps d).
    if P["dmax"] > 0:
        assert P["bits"] == d * P["lbits"] + d + P["ratq_bits"] and P["ratq_d2"] == P["dmax"]
    print(f"l_p composite d={d} p={p}: bits={nbits}, Theorem 3.1 upper bound {upper:.0f}")
    assert nbits <= upper


@pytest.mark.parametrize("d", [1, 2, 3, 7, 64, 1000])
def test_fast_path_equals_decode_encode_bit_for_bit(d):
    rng = np.random.default_rng(100 + d)
    for q in quantizers():
        for y in inputs(q, d, rng):
            for seed in range(3):
                g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
                a = q.decode(q.encode(y, rng=g1))
                b = q(y, rng=g2)
                assert a.dtype == b.dtype == np.float64 and a.shape == b.shape == (d,)
                assert a.tobytes() == b.tobytes(), (q, d, seed)
                # same draws: both generators are left in the same state
                assert g1.random() == g2.random()


def test_seeded_runs_are_reproducible():
    rng = np.random.default_rng(1)
    for q in quantizers():
        y = on_boundary(q, rng.standard_normal(50))
        assert q.encode(y, rng=7) == q.encode(y, rng=7)
        np.testing.assert_array_equal(q(y, rng=7), q(y, rng=7))
        np.testing.assert_array_equal(q.sample(y, 5, rng=3), q.sample(y, 5, rng=3))


def test_input_variants_give_the_same_result():
    rng = np.random.default_rng(2)
    for q in quantizers():
        y = (0.999 * on_boundary(q, rng.standard_normal(40))).astype(np.float32).astype(np.float64)
        ref = q(y, rng=5)
        np.testing.assert_array_equal(q(y.astype(np.float32), rng=5), ref)
        np.testing.assert_array_equal(q(list(y), rng=5), ref)
        wide = np.zeros(80)
        wide[::2] = y
        np.testing.assert_array_equal(q(wide[::2], rng=5), ref)  # non-contiguous
        before = y.copy()
        q.encode(y, rng=5)
        np.testing.assert_array_equal(y, before)  # input not modified


def test_sample_and_batches_do_not_depend_on_threads():
    rng = np.random.default_rng(3)
    for q in [Q.SimQ(), Q.SimQPlus(), Q.CUQ(1.0, 4), Q.RATQ(), Q.LpQuantizer(1.5), Q.QSGD(2), Q.RandK(3)]:
        y = on_boundary(q, rng.standard_normal(33))
        a = q.sample(y, 700, rng=11, threads=1)
        b = q.sample(y, 700, rng=11, threads=2)
        c = q.sample(y, 700, rng=11)
        assert a.shape == (700, 33)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
        # rows of a block are successive fast-path calls on that block's child stream
        r = Q._rows_per_stream(33)
        child = spawn(11, -(-700 // r))[0]
        for i in range(5):
            np.testing.assert_array_equal(a[i], q(y, rng=child))
        Y = np.stack([on_boundary(q, rng.standard_normal(33)) for _ in range(300)])
        A = q.quantize_batch(Y, rng=4, threads=1)
        np.testing.assert_array_equal(A, q.quantize_batch(Y, rng=4, threads=2))
        msgs = q.encode_batch(Y, rng=4, threads=2)
        assert all(m.nbits == q.bits(33) for m in msgs)
        np.testing.assert_array_equal(np.stack([q.decode(m) for m in msgs]), A)


def test_large_d_fast_path_equals_decode_encode():
    d = 2 ** 16 + 1
    rng = np.random.default_rng(4)
    for q in [Q.SimQ(), Q.SimQPlus(), Q.RATQ(), Q.LpQuantizer(1.5), Q.CUQ(1.0, 8)]:
        y = on_boundary(q, rng.standard_normal(d))
        assert q.decode(q.encode(y, rng=9)).tobytes() == q(y, rng=9).tobytes()


# ---- formats against independent references ------------------------------------------

def bits_of(payload, nbits):
    return np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")[:nbits]


def test_simq_message_is_index_times_sign_plus_d():
    d, B = 5, 2.0
    y = np.array([0.0, -0.5, 0.25, 0.0, 1.0])
    q = Q.SimQ(B)
    for seed in range(40):
        msg = q.encode(y, rng=seed)
        v = int(unpack_fields(msg.payload, msg.nbits, [msg.nbits])[0])
        yh = q.decode(msg)
        i = v - d
        expect = np.zeros(d)
        if i != 0:
            expect[abs(i) - 1] = B * np.sign(i)
            assert np.sign(y[abs(i) - 1]) == np.sign(i)
        np.testing.assert_array_equal(yh, expect)


@pytest.mark.parametrize("d,p,k", [(1, 2, None), (6, 2, None), (50, 2, None), (300, 4, None), (40, 2, 200)])
def test_simqplus_message_is_the_type_field_then_the_signs(d, p, k):
    q = Q.SimQPlus(1.0, p=p, k=k)
    P = q.params(d)
    k, F, Bp = P["k"], P["type_bits"], P["Bp"]
    assert F == fixed_weight_bits(d + k, k) + 1 and q.bits(d) == F + k
    rng = np.random.default_rng(d)
    y = on_boundary(q, rng.standard_normal(d)) * 0.7
    for seed in range(5):
        msg = q.encode(y, rng=seed)
        yh = q.decode(msg)
        np.testing.assert_array_equal(yh, q(y, rng=seed))
        counts = np.rint(np.abs(yh) * k / Bp).astype(int)
        np.testing.assert_allclose(np.abs(yh), counts * Bp / k, rtol=1e-15)
        assert counts.sum() <= k
        # one sign bit per distinct non-zero index, increasing, padded to k bits
        signs = bits_of(msg.payload, msg.nbits)[F:]
        nz = np.flatnonzero(counts)
        np.testing.assert_array_equal(signs[:nz.size], (yh[nz] < 0).astype(np.uint8))
        assert not signs[nz.size:].any()


def _compositions(total, parts):
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first,) + rest


# (d, k): the uniform step (k = 1), dense types, k > d, and gaps long enough for the
# segment escape (s = 2 among 42 positions: E' falls below 2^-8 at gap 37)
@pytest.mark.parametrize("d,k", [(8, 1), (2, 4), (5, 3), (1, 6), (6, 6), (40, 2)])
def test_simqplus_type_field_is_a_bijection_onto_the_types(d, k):
    """Every value of the T-bit type field (sign bits zero) either raises DecodeError or
    decodes to a type, and each of the C(d+k, k) types (n_0, ..., n_d) is decoded from
    exactly one field value: the code is exactly decodable, canonical and of fixed length."""
    q = Q.SimQPlus(1.0, p=2, k=k)
    P = q.params(d)
    T, Bp = P["type_bits"], P["Bp"]
    assert T == math.ceil(math.log2(math.comb(d + k, k)) + 1e-6) + 2
    nbytes = (T + k + 7) // 8
    seen = {}
    for v in range(2 ** T):
        try:
            yh = q.decode(v.to_bytes(nbytes, "little"), d)
        except DecodeError:
            continue
        assert (yh >= 0).all()
        counts = np.rint(yh * k / Bp).astype(int)
        t = (k - int(counts.sum()),) + tuple(counts.tolist())
        assert t not in seen, f"type {t} decoded from fields {seen[t]} and {v}"
        seen[t] = v
    assert set(seen) == set(_compositions(k, d + 1))
    assert len(seen) == math.comb(d + k, k)


@pytest.mark.parametrize("k", [1, 2, 7, 300, 5000])
def test_simqplus_extreme_types_fit_the_field(k):
    """Types far from the typical one (every draw on the last coordinate, on the first, on
    the zero index, spread evenly) are coded within the fixed field and decode back."""
    d = 1000
    q = Q.SimQPlus(1.0, p=2, k=k)
    Bp = q.params(d)["Bp"]
    cases = [np.zeros(d), np.full(d, Bp / d * (1 - 1e-12))]
    for i in (0, d - 1):
        y = np.zeros(d)
        y[i] = -1.0
        cases.append(y)
    for y in cases:
        for seed in range(3):
            msg = q.encode(y, rng=seed)
            assert msg.nbits == q.bits(d)
            np.testing.assert_array_equal(q.decode(msg), q(y, rng=seed))


@pytest.mark.parametrize("p", [3, 4, 6])
@pytest.mark.parametrize("shape", ["gaussian", "flat"])
def test_simqplus_norm_check_decides_as_the_exact_norm(p, shape):
    """For 2 < p < inf the encoder accepts without the exact ||y||_q pass where the Hoelder
    bound (sum|y|)^(2-q) (sum y^2)^(q-1) is far enough inside; the accept/reject decision
    and the message must be those of the exact check (the NumPy twin always computes it).
    The flat vector makes the bound tight, the Gaussian one leaves it ~3% loose."""
    from convq.slow import quantize as S
    d = 600
    q = Q.SimQPlus(1.0, p=p)
    qn = p / (p - 1)
    y = np.random.default_rng(p).standard_normal(d) if shape == "gaussian" else np.full(d, -1.0)
    y = y / lq(y, qn)
    for scale in [0.5, 0.9, 1 - 2e-6, 1 - 1e-7, 1 + 5e-10, 1 + 3e-9, 1.1]:
        ys = y * scale
        try:
            want = S.encode(q, ys, rng=1)
        except ValueError:
            with pytest.raises(ValueError, match="needs"):
                q.encode(ys, rng=1)
            assert scale > 1 + 1e-9
            continue
        assert scale < 1 + 1e-9
        msg = q.encode(ys, rng=1)
        assert (msg.payload, msg.nbits) == want


def test_simqplus_accepts_a_subnormal_input_inside_the_ball():
    """y = (5e-324,) has ||y||_q = 5e-324 <= B; the exact pass scales by 1 / max|y_i| = inf
    and used to reject it with ||y||_q = inf. The Hoelder bound decides it (C and twin)."""
    from convq.slow import quantize as S
    y = np.array([5e-324])
    for p in (3, 4):
        q = Q.SimQPlus(1.0, p=p)
        msg = q.encode(y, rng=0)
        assert (msg.payload, msg.nbits) == S.encode(q, y, rng=0)
        np.testing.assert_array_equal(q.decode(msg), q(y, rng=0))


def test_simqplus_encoder_skips_blocks_without_draws():
    """The encoder's walk jumps over blocks of 256 coordinates that no draw lands in (the
    running l1 sum recorded by the admissibility pass); the message and the decoded vector
    are those of the full walk (the twin, and the quantize path, which walks every
    coordinate)."""
    from convq.slow import quantize as S
    d = 5000
    y = np.zeros(d)
    y[[0, 255, 256, 1999, 2047, 2048, 4999]] = [0.3, -0.2, 0.1, -0.05, 0.15, -0.1, 0.05]
    for q in [Q.SimQPlus(1.0, p=math.inf), Q.SimQPlus(1.0, p=4), Q.SimQPlus(1.0, p=2, k=3),
              Q.SimQPlus(1.0, p=2, k=40)]:
        for seed in range(4):
            msg = q.encode(y, rng=seed)
            assert (msg.payload, msg.nbits) == S.encode(q, y, rng=seed)
            np.testing.assert_array_equal(q.decode(msg), q(y, rng=seed))


def splitmix(key, ctr):
    m = 2 ** 64 - 1
    z = (key + (ctr + 1) * 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    return z ^ (z >> 31)


@pytest.mark.parametrize("d", [1, 5, 64, 100, 300])
def test_ratq_decoder_matches_a_numpy_twin(d):
    """Parse the message with unpack_fields, rebuild z-hat from the ranges and levels, and
    rotate back with dense matrices built from scipy's Hadamard matrix: R = R2 R1 with
    R1 = H D1 / sqrt(n0) on [0, n0) and R2 = H D2 / sqrt(n0) on [d - n0, d) (one window
    when d = n0), y = R^T z."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    q = Q.RATQ(1.5, levels=8)
    P = q.params(d)
    d2, s, h, L = P["ratq_d2"], P["ratq_s"], P["ratq_h"], P["ratq_L"]
    n0, sb = P["ratq_window"], P["ratq_seedbits"]
    hb, lb, ranges = P["ratq_hbits"], P["ratq_lbits"], P["ratq_ranges"]
    assert d2 == d and n0 <= d < 2 * n0                 # nothing is padded
    rng = np.random.default_rng(d)
    y = on_boundary(q, rng.standard_normal(d))
    msg = q.encode(y, rng=1)
    widths = [min(32, sb)] + ([sb - 32] if sb > 32 else [])
    ngroups = -(-d2 // s)
    for g in range(ngroups):
        widths += ([hb] if hb else []) + [lb] * (min(d2, (g + 1) * s) - g * s)
    f = [int(v) for v in unpack_fields(msg.payload, msg.nbits, widths)]
    nhead = 1 if sb <= 32 else 2                        # the sign field, in 32-bit parts
    seed = f[0] | (f[1] << 32 if nhead == 2 else 0)
    pos, z = nhead, np.zeros(d2)
    for g in range(ngroups):
        j = f[pos] if hb else 0
        pos += 1 if hb else 0
        M = ranges[j]
        for t in range(g * s, min(d2, (g + 1) * s)):
            z[t] = -M + f[pos] * (2 * M / (L - 1))
            pos += 1
    nsigns = n0 if d == n0 else 2 * n0
    if nsigns <= 64:     # the field is the signs themselves
        bits = [(seed >> u) & 1 for u in range(nsigns)]
    else:
        bits = [(splitmix(seed, u >> 6) >> (u & 63)) & 1 for u in range(nsigns)]
    D = np.where(np.array(bits) == 1, -1.0, 1.0)
    H = scipy_linalg.hadamard(n0) / math.sqrt(n0)
    R = np.eye(d)
    R[:n0, :n0] = H * D[:n0]
    if d > n0:
        R2 = np.eye(d)
        R2[d - n0:, d - n0:] = H * D[n0:]
        R = R2 @ R
    np.testing.assert_allclose(R @ R.T, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(q.decode(msg), R.T @ z, rtol=1e-12, atol=1e-12)
    # the encoder's range choice is the smallest covering one
    zt = R @ y
    pos = nhead
    for g in range(ngroups):
        mx = np.max(np.abs(zt[g * s:(g + 1) * s]))
        j = f[pos] if hb else 0
        assert mx <= ranges[j] * (1 + 1e-12)
        assert j == 0 or mx > ranges[j - 1] * (1 - 1e-12)
        pos += (1 if hb else 0) + min(d2, (g + 1) * s) - g * s


def test_cuq_decoder_matches_the_grid():
    q = Q.CUQ(2.0, 5)
    y = np.linspace(-2, 2, 17)
    msg = q.encode(y, rng=3)
    lev = unpack_fields(msg.payload, msg.nbits, [3] * 17)
    np.testing.assert_allclose(q.decode(msg), -2.0 + lev * 1.0, rtol=0, atol=1e-15)
    # grid points are reproduced exactly, the neighbours otherwise
    assert np.all(np.abs(q.decode(msg) - y) <= q.step)
    np.testing.assert_array_equal(q(np.array([-2.0, 0.0]), rng=1), [-2.0, 0.0])


@pytest.mark.parametrize("n", [1, 2, 4, 8, 64, 1024, 4096, 8192])
def test_fwht_matches_scipy_hadamard(n):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    from convq import _core
    x = np.random.default_rng(n).standard_normal(n)
    np.testing.assert_allclose(_core._q_fwht(x), scipy_linalg.hadamard(n) @ x, rtol=1e-12, atol=1e-10)


def numpy_fwht(x):
    """Slow twin: the Sylvester recursion by reshaping."""
    x = x.copy()
    n, h = x.size, 1
    while h < n:
        x = x.reshape(-1, 2, h)
        x = np.stack([x[:, 0] + x[:, 1], x[:, 0] - x[:, 1]], axis=1).reshape(n)
        h *= 2
    return x


@pytest.mark.parametrize("n", [2 ** 13, 2 ** 14, 2 ** 15, 2 ** 16, 2 ** 17, 2 ** 18])
def test_fwht_blocked_path_matches_numpy_twin(n):
    from convq import _core
    x = np.random.default_rng(n).standard_normal(n)
    np.testing.assert_allclose(_core._q_fwht(x), numpy_fwht(x), rtol=1e-11, atol=1e-9)
    with pytest.raises(ValueError, match="power of two"):
        _core._q_fwht(np.ones(3))


def test_baselines_against_numpy():
    rng = np.random.default_rng(5)
    y = rng.standard_normal(30)
    y[7] = y[8] = 10.0  # a tie in |y|
    # TopK: the k largest |y_i|, ties to the lower index
    yh = Q.TopK(4)(y)
    order = sorted(range(30), key=lambda i: (-abs(y[i]), i))[:4]
    expect = np.zeros(30)
    expect[order] = y[order]
    np.testing.assert_array_equal(yh, expect)
    assert Q.TopK(4).bits(30) == 4 * (5 + 64)
    assert Q.TopK(100).bits(30) == 30 * (5 + 64)
    np.testing.assert_array_equal(Q.TopK(100)(y), y)
    # ScaledSign
    sc = np.float32(np.abs(y).sum() / 30)
    np.testing.assert_array_equal(Q.ScaledSign()(y), np.where(y < 0, -1.0, 1.0) * float(sc))
    # Identity
    np.testing.assert_array_equal(Q.Identity()(y), y)
    np.testing.assert_array_equal(Q.Identity("float32")(y), y.astype(np.float32).astype(np.float64))
    assert Q.Identity().bits(30) == 64 * 30 and Q.Identity(np.float32).bits(30) == 32 * 30
    # RandK keeps exactly k coordinates, scaled by d/k
    yh = Q.RandK(6)(y, rng=1)
    nz = np.flatnonzero(yh)
    assert nz.size == 6
    np.testing.assert_allclose(yh[nz], y[nz] * 5.0, rtol=1e-15)
    # QSGD / TernGrad values lie on their grids
    n = np.float32(np.linalg.norm(y))
    n = np.nextafter(n, np.float32(np.inf)) if float(n) < np.linalg.norm(y) else n
    yh = Q.QSGD(4)(y, rng=2)
    lev = np.abs(yh) / float(n) * 4
    np.testing.assert_allclose(lev, np.rint(lev), atol=1e-12)
    assert np.all(np.abs(lev - np.abs(y) / float(n) * 4) < 1 + 1e-12)
    yh = Q.TernGrad()(y, rng=2)
    assert set(np.unique(np.abs(yh))) <= {0.0, float(np.float32(np.abs(y).max()))}


# ---- validation --------------------------------------------------------------------------

@pytest.mark.parametrize("q,y,words", [
    (Q.SimQ(1.0), [0.5, -0.75], ["||y||_1", "B = 1", "1.25"]),
    (Q.SimQPlus(1.0), [0.8, 0.8], ["||y||_q", "B = 1", "q = 2", "1.13"]),
    (Q.SimQPlus(1.0, p=math.inf), [0.8, 0.8], ["||y||_q", "q = 1", "1.6"]),
    (Q.CUQ(0.5, 4), [0.1, -0.7], ["||y||_inf", "M = 0.5", "0.7"]),
    (Q.RATQ(2.0), [3.0, 0.0], ["||y||_2", "B = 2", "3"]),
    (Q.LpQuantizer(1.5, 1.0), [1.0, 1.0, 1.0], ["||y||_q", "B = 1", "q = 3", "1.44"]),
    (Q.LpQuantizer(1, 1.0), [1.5, 0.0], ["||y||_q", "q = inf", "1.5"]),
])
def test_norm_over_the_bound_raises_with_norm_bound_and_value(q, y, words):
    for fn in (q.encode, q, lambda v: q.sample(v, 3)):
        with pytest.raises(ValueError) as exc:
            fn(np.array(y))
        for w in words:
            assert w in str(exc.value), (str(exc.value), w)


def test_boundary_vectors_are_admissible():
    rng = np.random.default_rng(6)
    for q in quantizers():
        for d in (3, 100, 777):
            for y in inputs(q, d, rng):
                q.encode(y, rng=1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(bad):
    for q in quantizers():
        y = np.full(9, 0.01)
        y[4] = bad
        with pytest.raises(ValueError, match="finite"):
            q.encode(y, rng=0)
        with pytest.raises(ValueError, match="finite"):
            q(y, rng=0)


def test_wrong_shapes_and_types_raise():
    q = Q.SimQ()
    with pytest.raises(ValueError, match="1-dimensional"):
        q(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="empty"):
        q(np.zeros(0))
    with pytest.raises(TypeError):
        q(np.zeros(3, complex))
    with pytest.raises(TypeError):
        q("abc")
    with pytest.raises(ValueError, match="2-dimensional"):
        q.quantize_batch(np.zeros(3))
    with pytest.raises(ValueError):
        q.bits(0)
    with pytest.raises(TypeError):
        q(np.zeros(3), rng="seed")


def test_bad_parameters_raise():
    with pytest.raises(ValueError):
        Q.SimQ(0)
    with pytest.raises(ValueError):
        Q.SimQ(-1)
    with pytest.raises(ValueError, match="p must be in"):
        Q.SimQPlus(1.0, p=1.5)
    with pytest.raises(ValueError):
        Q.SimQPlus(1.0, k=0)
    with pytest.raises(ValueError):
        Q.CUQ(1.0, 1)
    with pytest.raises(TypeError):
        Q.CUQ(1.0, 2.5)
    with pytest.raises(ValueError):
        Q.RATQ(1.0, h=65)
    with pytest.raises(ValueError):
        Q.LpQuantizer(0.5)
    with pytest.raises(ValueError):
        Q.QSGD(2, norm=3)
    with pytest.raises(ValueError):
        Q.Identity("int32")
    with pytest.raises(ValueError, match="2\\^24"):
        Q.SimQPlus(1.0, k=2 ** 24).bits(10)


# ---- malformed payloads (exact cases; random ones in test_quantize_fuzz.py) -----------------

def test_wrong_payload_length_raises_decode_error():
    for q in quantizers():
        for d in (1, 7, 64):
            msg = q.encode(np.zeros(d), rng=0)
            for payload in (msg.payload + b"\0", msg.payload[:-1], b""):
                if len(payload) == len(msg.payload):
                    continue
                with pytest.raises(DecodeError, match="bytes"):
                    q.decode(payload, d)


def test_message_nbits_is_not_trusted():
    q = Q.SimQ()
    msg = q.encode(np.zeros(5), rng=0)
    with pytest.raises(DecodeError):
        q.decode(Q.Message(msg.payload, msg.nbits - 1, 5))
    with pytest.raises(DecodeError):
        Q.CUQ(1.0, 4).decode(msg)


def test_specific_malformed_fields():
    # SimQ: value > 2d (d = 3: 3 bits, 7 > 6)
    with pytest.raises(DecodeError, match="out of range"):
        Q.SimQ().decode(bytes([7]), 3)
    # non-zero padding (d = 1: 2 bits)
    with pytest.raises(DecodeError, match="padding"):
        Q.SimQ().decode(bytes([0b100]), 1)
    # CUQ level 5..7 with L = 5
    with pytest.raises(DecodeError, match="level"):
        Q.CUQ(1.0, 5).decode(bytes([6]), 1)
    # TopK: index out of range, then indices not increasing
    with pytest.raises(DecodeError, match="out of range"):
        Q.TopK(1).decode(bytes([3]) + bytes(8), 3)
    import struct
    two = (1 | (struct.unpack("<Q", struct.pack("<d", 1.0))[0] << 2)) | \
          ((1 | (struct.unpack("<Q", struct.pack("<d", 1.0))[0] << 2)) << 66)
    with pytest.raises(DecodeError, match="increase"):
        Q.TopK(2).decode(two.to_bytes(17, "little"), 3)
    # QSGD level > s, and a sign on a zero level
    nf = struct.unpack("<I", struct.pack("<f", 1.0))[0]
    with pytest.raises(DecodeError, match="exceeds"):
        Q.QSGD(2).decode((nf | (3 << 32)).to_bytes(5, "little"), 1)
    with pytest.raises(DecodeError, match="sign"):
        Q.QSGD(2).decode((nf | (0b100 << 32)).to_bytes(5, "little"), 1)
    with pytest.raises(DecodeError, match="norm field"):
        Q.QSGD(2).decode((0x7FC00000).to_bytes(5, "little"), 1)
    # TernGrad code 3
    with pytest.raises(DecodeError, match="code 3"):
        Q.TernGrad().decode((nf | (3 << 32)).to_bytes(5, "little"), 1)
    # Identity: NaN payload
    with pytest.raises(DecodeError, match="not finite"):
        Q.Identity().decode(struct.pack("<d", math.nan), 1)
    # RATQ: range index >= h (h = 5 -> 3 bits, after d = 1's one-bit sign field)
    q = Q.RATQ(1.0, h=5, s=1)
    assert q.params(1)["ratq_seedbits"] == 1
    msg = q.encode(np.array([0.3]), rng=0)
    raw = bytearray(msg.payload)
    raw[0] |= 0b1110
    with pytest.raises(DecodeError, match="range index"):
        q.decode(bytes(raw), 1)


def test_simqplus_accepts_exactly_the_canonical_messages():
    """d = 2, k = 2: enumerate every payload; the accepted ones are exactly the
    sum over types of 2^(#distinct non-zero indices) encoder outputs."""
    q = Q.SimQPlus(1.0, p=2, k=2)
    d = 2
    nbits = q.bits(d)
    accepted = set()
    for v in range(2 ** nbits):
        try:
            yh = q.decode(v.to_bytes((nbits + 7) // 8, "little"), d)
        except DecodeError:
            continue
        accepted.add(tuple(yh))
    expect = 0
    for n1, n2 in itertools.product(range(3), repeat=2):
        if n1 + n2 <= 2:
            expect += 2 ** ((n1 > 0) + (n2 > 0))
    assert len(accepted) == expect


# ---- Message, repr, for_geometry ---------------------------------------------------------------

def test_message_round_trips():
    q = Q.CUQ(1.0, 3)
    msg = q.encode(np.array([0.1, -0.2, 0.3]), rng=0)
    b = msg.to_bytes()
    assert b[:8] == msg.nbits.to_bytes(8, "little")
    back = Q.Message.from_bytes(b, 3)
    assert back == msg
    np.testing.assert_array_equal(q.decode(back), q.decode(msg))
    np.testing.assert_array_equal(q.decode((msg.payload, 3)), q.decode(msg.payload, 3))
    with pytest.raises(DecodeError):
        Q.Message.from_bytes(b[:-1], 3)
    with pytest.raises(DecodeError):
        Q.Message.from_bytes(b"\1\2", 3)
    with pytest.raises(ValueError):
        Q.Message(b"\0\0", 3, 3)
    assert "nbits=6" in repr(msg) and "d=3" in repr(msg)


def test_reprs_and_attributes():
    for q in quantizers():
        r = repr(q)
        assert r.startswith(type(q).__name__ + "(")
        assert isinstance(q.unbiased, bool)
        a = q.alpha0(10)
        assert a is None or a > 0
    assert not Q.ScaledSign().unbiased and not Q.TopK(2).unbiased and not Q.Identity("float32").unbiased
    assert Q.SimQ(2.0).alpha0(5) == 2.0
    assert Q.SimQPlus(1.0).alpha0(100) == pytest.approx(math.sqrt(2.0))
    assert Q.LpQuantizer(1.5, 2.0).alpha0(100) == pytest.approx(2 * math.sqrt(12))


def test_for_geometry():
    assert isinstance(Q.for_geometry(math.inf, 1.0, 100), Q.SimQ)
    q = Q.for_geometry(4, 2.0, 100)
    assert isinstance(q, Q.SimQPlus) and q.k == 10 and q.p == 4 and q.B == 2.0
    assert isinstance(Q.for_geometry(1.5, 1.0, 100), Q.LpQuantizer)
    assert Q.for_geometry("inf", 1.0, 10) == Q.SimQ(1.0)
    assert Q.for_geometry(2, 1.0, 100).bits(100) == Q.LpQuantizer(2, 1.0).bits(100)


@pytest.mark.parametrize("kind", ["normal", "sorted", "ties", "periodic", "spiky"])
@pytest.mark.parametrize("d,dtype", [(2 ** 15, np.float64), (2 ** 15 + 5, np.float32)])
def test_topk_sampled_selection_is_exact(kind, d, dtype):
    """d >= 32768 uses a sample-bracketed selection (whose passes the AVX-512 build makes
    eight values a compare, with a scalar tail where d is not a multiple of 8); it must
    equal the exact top k (ties to the lower index) on adversarial layouts too, for
    float32 input as for float64."""
    rng = np.random.default_rng(8)
    y = rng.standard_normal(d)
    if kind == "sorted":
        y = np.sort(y)
    elif kind == "ties":
        y = np.round(y, 1)
    elif kind == "periodic":
        y = np.resize(np.arange(8.0), d) * (1 + (np.arange(d) % 4096 == 0))
    elif kind == "spiky":
        y = np.zeros(d)
        y[rng.choice(d, 50, replace=False)] = 1.0
    y = y.astype(dtype).astype(np.float64) if dtype == np.float32 else y
    yin = y.astype(dtype)
    for k in [1, 7, d // 100, d // 2, d - 1, d]:
        order = np.lexsort((np.arange(d), -np.abs(y)))[:k]
        expect = np.zeros(d)
        expect[order] = y[order]
        np.testing.assert_array_equal(Q.TopK(k)(yin), expect)
        assert Q.TopK(k).decode(Q.TopK(k).encode(yin)).tobytes() == expect.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_topk_sampled_selection_reports_the_first_non_finite_value(dtype):
    """The sample-bracketed pass checks finiteness as it counts (no separate pass): the
    error still names the first non-finite coordinate, whether or not the strided sample
    saw one, and nothing is encoded."""
    d = 2 ** 15 + 5
    for bad in ({12345: np.nan, 20000: np.inf}, {0: np.inf, 5: np.nan}, {d - 1: -np.inf}):
        y = np.random.default_rng(0).standard_normal(d)
        for i, v in bad.items():
            y[i] = v
        first = min(bad)
        with pytest.raises(ValueError, match=rf"y must be finite, got {bad[first]} at index {first}$"):
            Q.TopK(300).encode(y.astype(dtype))
