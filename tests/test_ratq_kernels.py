"""RATQ's C kernels (csrc/quantize/cq_q_ratq.c) against the NumPy twin on every path of
their batched group loops: dimensions over several batches of 512 coordinates, one and two
rotation windows, groups whose fields fit one 16-bit read, one 32-bit put, or neither,
groups longer than a batch (s > 512), levels of more than 16 bits; float32 in and out; a
malformed field in a later batch.

The twin (convq.slow.quantize) computes field by field in NumPy, so equal bytes here prove
the batched kernels send the message the format defines."""
from __future__ import annotations

import numpy as np
import pytest

import convq.quantize as Q
from convq import DecodeError
from convq.slow import quantize as S

DIMS = [1, 5, 511, 513, 1100, 2048, 3001]
QS = [Q.RATQ(1.0),                        # defaults: fields of a group in one 16-bit read
      Q.RATQ(1.0, s=3, h=5, levels=5),    # 3 + 3*3 = 12 bits per group
      Q.RATQ(0.5, s=7, levels=16),        # 2 + 7*4 = 30 bits: one 32-bit get/put
      Q.RATQ(1.0, s=11, levels=16),       # 46 bits: field by field
      Q.RATQ(1.0, s=700),                 # a group longer than a batch
      Q.RATQ(2.0, levels=2 ** 17),        # 17-bit levels
      Q.RATQ(1.0, h=1, levels=2),         # no range field
      Q.LpQuantizer(1.5)]                 # the l_p composite's RATQ part
IDS = [repr(q) for q in QS]


def _y(d, B, seed=0):
    y = np.random.default_rng(seed).standard_normal(d)
    return y / np.linalg.norm(y) * B * 0.97


def _bound(q):
    return q.bound if isinstance(q, Q.RATQ) else q.bound / 4  # well inside the q-norm ball


@pytest.mark.parametrize("q", QS, ids=IDS)
@pytest.mark.parametrize("d", DIMS)
def test_messages_and_decodes_equal_the_twin(q, d):
    y = _y(d, _bound(q), seed=d)
    m = q.encode(y, rng=3)
    payload, nbits = S.encode(q, y, rng=3)
    assert (m.payload, m.nbits) == (bytes(payload), int(nbits))
    assert q.encode(y.astype(np.float32), rng=3) == q.encode(y.astype(np.float32).astype(np.float64), rng=3)
    dec = q.decode(m)
    np.testing.assert_array_equal(dec, S.decode(q, m.payload, d))
    np.testing.assert_array_equal(q(y, rng=3), dec)
    np.testing.assert_array_equal(q.decode(m, dtype=np.float32), dec.astype(np.float32))
    np.testing.assert_array_equal(q(y, rng=3, dtype=np.float32), dec.astype(np.float32))
    m2 = q.encode(y, rng=4)
    np.testing.assert_array_equal(q.decode_sum([m, m2], d, weights=[0.5, -2.0]), 0.5 * dec - 2.0 * q.decode(m2))


def _set_bits(payload, pos, width, value):
    v = int.from_bytes(payload, "little")
    v &= ~(((1 << width) - 1) << pos)
    v |= value << pos
    return v.to_bytes(len(payload), "little")


@pytest.mark.parametrize("group", [0, 300, 1000])
def test_a_bad_range_field_in_any_batch_is_named(group):
    q, d = Q.RATQ(1.0, h=3), 2048                 # ranges 0..2 in a 2-bit field: 3 is never sent
    P = q.params(d)
    gw = P["ratq_hbits"] + P["ratq_s"] * P["ratq_lbits"]
    m = q.encode(_y(d, 1.0), rng=1)
    bad = _set_bits(m.payload, P["ratq_seedbits"] + group * gw, P["ratq_hbits"], 3)
    with pytest.raises(DecodeError, match=f"range index 3 of group {group} is out of range"):
        q.decode(bad, d)
    with pytest.raises(DecodeError):
        S.decode(q, bad, d)
    out = np.ones(d)
    with pytest.raises(DecodeError):
        q.decode_sum([m, bad], d, out=out)
    np.testing.assert_array_equal(out, 1.0)      # validated before out is touched


def test_a_bad_level_in_a_long_group_is_named():
    q, d = Q.RATQ(1.0, s=700, levels=5), 2048    # 3-bit levels 0..4: 7 is never sent
    P = q.params(d)
    m = q.encode(_y(d, 1.0), rng=2)
    t = 1500                                      # group 2, the third batch of its coordinates
    pos = P["ratq_seedbits"] + 3 * P["ratq_hbits"] + t * P["ratq_lbits"]
    bad = _set_bits(m.payload, pos, P["ratq_lbits"], 7)
    with pytest.raises(DecodeError, match=f"level 7 at rotated coordinate {t} is out of range"):
        q.decode(bad, d)


@pytest.mark.parametrize("simd", ["avx512", "portable"])
@pytest.mark.parametrize("t", [1, 999, 2046, 2049])
def test_a_bad_level_in_a_group_of_two_is_named(t, simd, monkeypatch):
    """Groups of two (the AVX-512 build's own group loop, sixteen coordinates a step; the
    portable loop after it on the last coordinates): a level that is never sent (levels=3:
    3 in a 2-bit field) is named by its coordinate, at every build level."""
    monkeypatch.setenv("CONVQ_SIMD", simd)
    q, d = Q.RATQ(1.0, s=2, levels=3), 2050
    P = q.params(d)
    gw = P["ratq_hbits"] + 2 * P["ratq_lbits"]
    m = q.encode(_y(d, 1.0), rng=4)
    pos = P["ratq_seedbits"] + (t // 2) * gw + P["ratq_hbits"] + (t % 2) * P["ratq_lbits"]
    bad = _set_bits(m.payload, pos, P["ratq_lbits"], 3)
    with pytest.raises(DecodeError, match=f"level 3 at rotated coordinate {t} is out of range"):
        q.decode(bad, d)
    with pytest.raises(DecodeError):
        S.decode(q, bad, d)


@pytest.mark.parametrize("log2n", [14, 15, 19, 20, 21, 22])
def test_blocked_hadamard_equals_the_stage_by_stage_transform(log2n):
    from convq import _core                      # blocks of 2^14 .. 2^16 doubles, 1 to 64 rows
    x = np.random.default_rng(log2n).standard_normal(2 ** log2n)
    np.testing.assert_array_equal(_core._q_fwht(x), S._fwht(x))  # stage by stage: the same butterflies


@pytest.mark.parametrize("d", [2 ** 16 + 7, 2 ** 21 + 3])
def test_long_vectors_equal_the_twin(d):
    """Windows of 2^16 and 2^21 coordinates: the transform's first stage loads the signs
    block by block (several blocks, and blocks larger than 2^14 at 2^21)."""
    q = Q.RATQ(1.0)
    y = _y(d, 1.0, seed=1)
    m = q.encode(y.astype(np.float32), rng=5)
    assert (m.payload, m.nbits) == tuple(S.encode(q, y.astype(np.float32).astype(np.float64), rng=5))
    np.testing.assert_array_equal(q.decode(m), S.decode(q, m.payload, d))


@pytest.mark.parametrize("q", [Q.RATQ(1.0), Q.RATQ(1.0, s=3, h=5, levels=5)], ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fresh", [False, True])
def test_encode_add_is_encode_plus_decode_sum(q, dtype, fresh):
    """The encoder with its own decode fused (Quantizer._encode_add, the DDP hook's own
    message) adds exactly what decode_sum adds. Regression: RATQ's fused decode inverted
    the rotation of the unquantized rotated vector (the values were never written into the
    work before the inverse rotation), so the hook's own term was garbage."""
    for d in (1, 65, 4099, 2 ** 16 + 17):
        y = _y(d, 1.0, seed=d)
        m = q.encode(y, rng=9)
        start = np.random.default_rng(3).standard_normal(d).astype(dtype)
        out = start.copy()
        got = q._encode_add(y, 9, out, weight=-0.375, fresh=fresh)
        assert got.payload == m.payload and got.nbits == m.nbits
        want = q.decode_sum([m], d, weights=[-0.375], out=None if fresh else start.copy(), dtype=dtype)
        assert out.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gain_shape_leaves_the_input_alone(dtype):
    """GainShape divides its own float64 copy of a float32 input in place (one float64
    vector per call); the caller's vector, of either dtype, is never written."""
    q = Q.GainShape(Q.RATQ(1.0))
    y = (np.random.default_rng(2).standard_normal(3001) * 5).astype(dtype)
    before = y.copy()
    m = q.encode(y, rng=3)
    fast = q(y, rng=3)
    np.testing.assert_array_equal(y, before)
    assert m == q.encode(y.astype(np.float64), rng=3)
    np.testing.assert_array_equal(fast, q.decode(m))


_PATHS = r"""
import hashlib
import numpy as np
import convq.quantize as Q
h = hashlib.sha256()
# groups of two: fields of 3, 6 (the default), 10 and 16 bits (AVX-512: eight or four groups
# a 64-bit word), then other group sizes (the portable group loop at every level)
for q in (Q.RATQ(1.0, s=2, h=2, levels=2), Q.RATQ(1.0), Q.RATQ(1.0, s=2, levels=16), Q.RATQ(1.0, s=2, h=16, levels=64),
          Q.RATQ(1.0, s=3, h=5, levels=5), Q.RATQ(1.0, s=11, levels=16), Q.LpQuantizer(1.5)):
    for d in (7, 1100, 4096, 70001):
        y = np.random.default_rng(d).standard_normal(d)
        y = y / np.linalg.norm(y) * (0.97 if isinstance(q, Q.RATQ) else 0.2)
        for dt in (np.float64, np.float32):
            m = q.encode(y.astype(dt), rng=d)
            h.update(m.payload)
            h.update(q(y.astype(dt), rng=d, dtype=dt).tobytes())
            h.update(q.decode_sum([m, m], d, weights=[0.5, -1.25], dtype=dt).tobytes())
print(h.hexdigest())
"""


def test_avx2_and_portable_builds_agree():
    """RATQ's AVX-512, AVX2 and portable builds (CONVQ_SIMD) send the same messages and
    decode to the same values (the AVX-512 build's group loops have their own kernels)."""
    import os
    import subprocess
    import sys
    outs = [subprocess.run([sys.executable, "-c", _PATHS], env=dict(os.environ, CONVQ_SIMD=level), check=True,
                           capture_output=True, text=True).stdout.strip() for level in ("avx512", "avx2", "portable")]
    assert len(outs[0]) == 64 and outs[0] == outs[1] == outs[2]
