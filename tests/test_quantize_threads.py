"""One vector's encode / decode / quantize / decode_sum on several threads (the fixed-width
codecs cut their coordinates into ranges of whole 64-bit words of the message, cq_q_split):
the bytes, the decodes, the sums and the error messages are those of one thread; and the
encoder with its own decode fused (Quantizer._encode_add) adds exactly what decode_sum adds.
"""
from __future__ import annotations

import numpy as np
import pytest

from convq import DecodeError
from convq import _threads
from convq import quantize as Q

QUANTIZERS = [
    Q.CUQ(M=1.0, levels=16), Q.CUQ(M=1.0, levels=5), Q.QSGD(levels=4), Q.QSGD(levels=2, bucket=100),
    Q.QSGD(levels=4, bucket=None), Q.QSGD(levels=3, norm="inf", bucket=64), Q.TernGrad(), Q.ScaledSign(),
    Q.Identity(), Q.Identity("float32"), Q.SimQ(1.0), Q.TopK(3), Q.RandK(3),
]
DIMS = [1, 63, 64, 65, 1000, (1 << 20) + 3]


def _admissible(q, y):
    if isinstance(q, Q.CUQ):
        return y / np.abs(y).max() * 0.99
    if isinstance(q, Q.SimQ):
        return y / np.abs(y).sum() * 0.99
    return y


def _ids(q):
    return repr(q)


@pytest.mark.parametrize("q", QUANTIZERS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_results_do_not_depend_on_threads(q, dtype):
    for d in DIMS:
        y = _admissible(q, np.random.default_rng(d).standard_normal(d)).astype(dtype)
        ref = None
        for t in (1, 2, 3):
            m = q.encode(y, rng=5, threads=t)
            got = (m.payload, q.decode(m, dtype=dtype, threads=t).tobytes(),
                   q(y, rng=5, dtype=dtype, threads=t).tobytes(),
                   q.decode_sum([m, m], d, weights=[0.5, -1.25], dtype=dtype, threads=t).tobytes(),
                   q.decode_sum([m, m], d, out=np.full(d, 0.25, dtype), threads=t).tobytes())
            if ref is None:
                ref = got
                assert got[1] == got[2]  # the fast path is decode(encode) at every thread count
            else:
                assert got == ref, (d, t)


@pytest.mark.parametrize("q", QUANTIZERS, ids=_ids)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fresh", [False, True])
def test_encode_add_is_encode_plus_decode_sum(q, dtype, fresh):
    for d in (1, 65, 4099):
        y = _admissible(q, np.random.default_rng(d + 1).standard_normal(d))
        m = q.encode(y, rng=9)
        for t in (1, 2):
            start = np.random.default_rng(3).standard_normal(d).astype(dtype)
            out = start.copy()
            got = q._encode_add(y, 9, out, weight=-0.375, fresh=fresh, threads=t)
            assert got.payload == m.payload and got.nbits == m.nbits
            want = q.decode_sum([m], d, weights=[-0.375], out=None if fresh else start.copy(), dtype=dtype)
            assert out.tobytes() == want.tobytes()


def test_encode_add_composite_and_bad_out():
    q = Q.GainShape(Q.TernGrad())
    y = np.random.default_rng(0).standard_normal(100)
    out = np.ones(100)
    m = q._encode_add(y, 2, out, weight=2.0)
    assert m.payload == q.encode(y, rng=2).payload
    assert np.array_equal(out, q.decode_sum([m], 100, weights=[2.0], out=np.ones(100)))
    with pytest.raises(TypeError, match="out must be a writeable C-contiguous"):
        Q.TernGrad()._encode_add(y, 2, np.ones(99))
    with pytest.raises(TypeError, match="out must be a writeable C-contiguous"):
        Q.TernGrad()._encode_add(y, 2, np.ones(100, dtype=np.int64))


@pytest.mark.parametrize("q", [Q.CUQ(1.0, 16), Q.QSGD(4), Q.TernGrad(), Q.ScaledSign(), Q.Identity()], ids=_ids)
def test_errors_do_not_depend_on_threads(q):
    d = 5000
    y = _admissible(q, np.random.default_rng(1).standard_normal(d))
    y[3100] = np.nan
    y[4000] = np.inf
    msgs = set()
    for t in (1, 2, 3):
        with pytest.raises(ValueError) as e:
            q.encode(y, rng=1, threads=t)
        msgs.add(str(e.value))
    assert len(msgs) == 1 and "3100" in msgs.pop()
    bad = bytearray(q.encode(_admissible(q, np.random.default_rng(1).standard_normal(d)), rng=1).payload)
    bad[-40] = 0xFF  # near the end: TernGrad codes 3 and an Identity NaN are rejected, the rest decode
    results = set()
    for t in (1, 2, 3):
        try:
            results.add(q.decode(bytes(bad), d, threads=t).tobytes())
        except DecodeError as e:
            results.add(str(e))
    assert len(results) == 1


def test_cuq_range_error_names_the_first_coordinate_at_any_thread_count():
    q = Q.CUQ(M=1.0, levels=4)
    y = np.zeros(10000)
    y[7000], y[9000] = 2.0, 3.0
    for t in (1, 2, 3):
        with pytest.raises(ValueError, match=r"\|y\[7000\]\| = 2"):
            q.encode(y, rng=0, threads=t)


def test_threads_argument_is_checked():
    q = Q.TernGrad()
    y = np.ones(10)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="threads must be >= 1"):
            q.encode(y, threads=bad)
        with pytest.raises(ValueError, match="threads must be >= 1"):
            q.decode(q.encode(y), threads=bad)
    with pytest.raises(TypeError):
        q(y, threads=1.5)


def test_codec_default_threads():
    assert _threads.default_threads("codec", _threads.CODEC_PARALLEL_MIN - 1) == 1
    assert _threads.default_threads("codec", _threads.CODEC_PARALLEL_MIN) == _threads.available_cpus()
    assert _threads.default_threads("codec") == 1


def test_small_vectors_do_not_read_the_cpu_limits(monkeypatch):
    """threads=None on a vector below CODEC_PARALLEL_MIN is 1 thread without reading the
    affinity mask and the cgroup files: that read cost more than a small encode, and the
    quantized models encode every gradient (their check_estimator runs took 3-4x longer)."""
    import convq.quantize as Q

    def boom():
        raise AssertionError("available_cpus() read for a small vector")
    monkeypatch.setattr(_threads, "available_cpus", boom)
    y = np.full(8, 0.01)
    for q in (Q.SimQ(1.0), Q.TernGrad(), Q.QSGD(4)):
        m = q.encode(y, rng=0)
        q.decode(m)
        q.decode_sum([m, m], 8)
    with pytest.raises(AssertionError, match="available_cpus"):
        Q.TernGrad().encode(np.zeros(_threads.CODEC_PARALLEL_MIN), rng=0)
