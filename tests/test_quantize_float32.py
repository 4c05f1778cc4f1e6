"""float32 in and out, and the fused decode-accumulate (issue 14).

Contracts, for every quantizer (GainShape included):
* encode(y32) sends the same bytes as encode(y32.astype(float64)) with the same rng (the
  kernels compute in double from the exact float32 values);
* a float32 decode / fast path is the float64 one rounded once to float32;
* decode_sum(payloads, d) equals the decodes added left to right, bit for bit; with weights
  out + w_k y_k per message; into float32, each step in double rounded once;
* a malformed payload anywhere in decode_sum raises DecodeError naming it and leaves out
  unchanged.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import convq.quantize as Q
from convq import DecodeError

D = 777


def _quantizers():
    return [Q.SimQ(1.0), Q.SimQPlus(1.0), Q.SimQPlus(1.0, p=3), Q.SimQPlus(1.0, p=4, k=5000), Q.CUQ(1.0, 16), Q.RATQ(1.0),
            Q.LpQuantizer(1.5), Q.LpQuantizer(1.0), Q.LpQuantizer(1.2, 3.0), Q.LpQuantizer(math.inf), Q.QSGD(4), Q.QSGD(4, bucket=64), Q.QSGD(3, norm="inf"),
            Q.TernGrad(), Q.ScaledSign(), Q.TopK(9), Q.RandK(9), Q.Identity(), Q.Identity("float32"),
            Q.GainShape(Q.TernGrad()), Q.GainShape(Q.SimQPlus(1.0)), Q.GainShape(Q.RATQ(1.0)),
            Q.GainShape(Q.QSGD(4))]


QS = _quantizers()
IDS = [repr(q) for q in QS]


def _input(q, d=D, seed=0):
    """An admissible float32 vector for q (strictly inside its bound after the rounding)."""
    y = np.random.default_rng(seed).standard_normal(d)
    if math.isfinite(q.bound):
        r = q.norm_order
        n = np.abs(y).max() if math.isinf(r) else np.sum(np.abs(y) ** r) ** (1 / r)
        y = y / n * q.bound * 0.99
    return y.astype(np.float32)


@pytest.mark.parametrize("q", QS, ids=IDS)
def test_float32_input_gives_the_float64_message(q):
    y32 = _input(q)
    m32 = q.encode(y32, rng=5)
    m64 = q.encode(y32.astype(np.float64), rng=5)
    assert m32 == m64


@pytest.mark.parametrize("q", QS, ids=IDS)
def test_float32_outputs_are_the_float64_ones_rounded(q):
    y32 = _input(q)
    m = q.encode(y32, rng=7)
    d64 = q.decode(m)
    d32 = q.decode(m, dtype=np.float32)
    assert d64.dtype == np.float64 and d32.dtype == np.float32
    np.testing.assert_array_equal(d32, d64.astype(np.float32))
    f32 = q(y32, rng=7, dtype="float32")
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, d64.astype(np.float32))
    np.testing.assert_array_equal(q(y32, rng=7), d64)   # the fast path == decode(encode) from float32 too


def _weighted(q, w, m):
    """w decode(m), the way decode_sum forms it: for a GainShape the weight is folded into
    the gain first, (w gain) shape (its docstring)."""
    if isinstance(q, Q.GainShape):
        f, s = q._decode_parts(m.payload, D)
        return (f * w) * s
    return w * q.decode(m)


def _messages(q, n=4):
    return [q.encode(_input(q, seed=s), rng=100 + s) for s in range(n)]


@pytest.mark.parametrize("q", QS, ids=IDS)
def test_decode_sum_equals_the_sum_of_decodes(q):
    msgs = _messages(q)
    ref = np.zeros(D)
    for m in msgs:
        ref = ref + q.decode(m)
    np.testing.assert_array_equal(q.decode_sum([m.payload for m in msgs], D), ref)
    # weighted, into a given float64 buffer: out + w_k decode_k, in order
    w = np.array([0.25, -1.5, 3.0, 1.0])
    start = np.random.default_rng(1).standard_normal(D)
    ref = start.copy()
    for wk, m in zip(w, msgs):
        ref = ref + _weighted(q, float(wk), m)
    out = start.copy()
    assert q.decode_sum(msgs, D, weights=w, out=out) is out
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("q", QS, ids=IDS)
def test_decode_sum_into_float32(q):
    msgs = _messages(q)
    w = np.array([0.5, 1.0, -2.0, 1.0])
    start = np.random.default_rng(2).standard_normal(D).astype(np.float32)
    ref = start.copy()
    for wk, m in zip(w, msgs):      # each step in double, rounded once
        ref = (ref.astype(np.float64) + _weighted(q, float(wk), m)).astype(np.float32)
    out = start.copy()
    q.decode_sum([np.frombuffer(m.payload, np.uint8) for m in msgs], D, weights=w, out=out)
    np.testing.assert_array_equal(out, ref)
    new = q.decode_sum(msgs, D, dtype=np.float32)
    assert new.dtype == np.float32
    ref = np.zeros(D, np.float32)
    for m in msgs:
        ref = (ref.astype(np.float64) + q.decode(m)).astype(np.float32)
    np.testing.assert_array_equal(new, ref)


def _corrupt(q, payload):
    """A payload of the right length that q's decoder rejects."""
    b = bytearray(payload)
    if isinstance(q, Q.GainShape):
        b[0:4] = np.array([-1.0], dtype="<f4").tobytes()          # a negative gain
    elif isinstance(q, (Q.TernGrad, Q.QSGD, Q.ScaledSign)):
        b[0:4] = np.array([np.nan], dtype="<f4").tobytes()        # the scale field
    elif isinstance(q, Q.Identity):
        b[-8:] = np.array([np.inf], dtype="<f8").tobytes()[-8:] if q.dtype == "float64" else b[-8:]
        if q.dtype != "float64":
            b[-4:] = np.array([np.inf], dtype="<f4").tobytes()
    elif isinstance(q, (Q.TopK, Q.RandK)):
        b[-8:] = np.array([np.nan], dtype="<f8").tobytes()        # the last value
    else:
        b[:] = b"\xff" * len(b)                                   # every field at its maximum
    return bytes(b)


@pytest.mark.parametrize("q", QS, ids=lambda q: repr(q))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_bad_message_leaves_out_unchanged(q, dtype):
    msgs = [m.payload for m in _messages(q, 3)]
    bad = _corrupt(q, msgs[2])
    with pytest.raises(DecodeError):
        q.decode(bad, D)
    start = np.random.default_rng(3).standard_normal(D).astype(dtype)
    out = start.copy()
    with pytest.raises(DecodeError, match=r"payloads\[2\]" if not isinstance(q, Q.GainShape) else "gain"):
        q.decode_sum([msgs[0], msgs[1], bad], D, out=out)
    np.testing.assert_array_equal(out, start)
    with pytest.raises(DecodeError):      # a wrong length, first
        q.decode_sum([msgs[0][:-1], msgs[1]], D, out=out)
    np.testing.assert_array_equal(out, start)
    # a new buffer (out=None) is written message by message, each validated as it is decoded
    with pytest.raises(DecodeError, match=r"payloads\[2\]" if not isinstance(q, Q.GainShape) else "gain"):
        q.decode_sum([msgs[0], msgs[1], bad], D, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_decode_sum_into_a_new_buffer_is_the_sum_onto_zeros(dtype):
    # the first message is written as 0 + w v, not added: -0.0 becomes +0.0 as it does on zeros
    q = Q.Identity("float64")
    msgs = [q.encode(np.array([-0.0, 1.5, -2.0]), rng=0), q.encode(np.array([-0.0, -0.0, 2.0]), rng=0)]
    for ms, w in (([msgs[0]], None), (msgs, None), (msgs, [2.0, -1.0])):
        ref = np.zeros(3)
        for k, m in enumerate(ms):
            ref = (ref + (1.0 if w is None else w[k]) * q.decode(m)).astype(dtype).astype(np.float64)
        got = q.decode_sum(ms, 3, weights=w, dtype=dtype)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ref.astype(dtype))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))
    assert q.decode_sum([], 3).tolist() == [0.0, 0.0, 0.0]


def test_bad_dtype_and_out_arguments():
    q = Q.TernGrad()
    m = q.encode(np.ones(5), rng=0)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        q.decode(m, dtype=np.int32)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        q(np.ones(5), rng=0, dtype="float16")
    with pytest.raises(TypeError, match="out must be a writeable C-contiguous float64 or float32"):
        q.decode_sum([m], 5, out=np.zeros(5, np.float16))
    with pytest.raises(TypeError, match="out must be"):
        q.decode_sum([m], 5, out=np.zeros(10)[::2])
    with pytest.raises(TypeError, match=r"payloads\[1\]"):
        q.decode_sum([m.payload, 3.5], 5)


def test_float32_input_is_not_copied_and_not_modified():
    """The encoder reads a float32 vector in place (a strided one is made contiguous first)."""
    q = Q.QSGD(4)
    y = np.random.default_rng(4).standard_normal(2001).astype(np.float32)
    keep = y.copy()
    assert q._vector(y) is y
    a = q.encode(y[::2], rng=1)
    b = q.encode(np.ascontiguousarray(y[::2]).astype(np.float64), rng=1)
    assert a == b
    np.testing.assert_array_equal(y, keep)


def test_float32_nonfinite_input_is_rejected():
    y = np.ones(10, np.float32)
    y[3] = np.nan
    for q in (Q.QSGD(4), Q.TernGrad(), Q.TopK(2), Q.RandK(2), Q.Identity(), Q.ScaledSign(), Q.CUQ(1.0, 4)):
        with pytest.raises(ValueError, match="index 3|finite"):
            q.encode(y, rng=0)


_PATHS_SCRIPT = r"""
import hashlib, sys
import numpy as np
import convq.quantize as Q
h = hashlib.sha256()
for q in (Q.SimQ(1.0), Q.CUQ(1.0, 16), Q.CUQ(2.0, 1000), Q.CUQ(1.0, 4), Q.CUQ(0.5, 256), Q.CUQ(3.0, 40000), Q.QSGD(4), Q.QSGD(3, bucket=7, norm="inf"),
          Q.QSGD(1), Q.QSGD(127, bucket=100), Q.QSGD(32767, bucket=64), Q.QSGD(4, bucket=36), Q.QSGD(4, bucket=None), Q.TernGrad(),
          Q.ScaledSign(), Q.TopK(50), Q.TopK(1400), Q.RandK(50), Q.Identity(), Q.Identity("float32"), Q.RATQ(1.0),
          Q.LpQuantizer(1.5), Q.LpQuantizer(1.0), Q.LpQuantizer(1.3, 2.0)):
    for d in (1, 7, 1000, 70001):
        for dt in (np.float64, np.float32):
            y = np.random.default_rng(d).standard_normal(d)
            if q.norm_order == 1:
                y = y / np.abs(y).sum() * 0.99
            elif isinstance(q, Q.RATQ):
                y = y / np.linalg.norm(y) * 0.99
            elif isinstance(q, Q.LpQuantizer):
                r = q.norm_order
                y[::9] *= 5.0  # coordinates over c: the RATQ part
                n = np.abs(y).max() if r == np.inf else np.sum(np.abs(y) ** r) ** (1 / r)
                y = y / n * q.B * 0.99
            elif isinstance(q, Q.CUQ):
                y = y / np.abs(y).max() * q.M * 0.99
                y[::5] = np.float32(q.M) * np.sign(y[::5])  # the grid's ends (and 0) exactly
            y = y.astype(dt)
            m = q.encode(y, rng=d)
            h.update(m.payload)
            h.update(q(y, rng=d, dtype=dt).tobytes())
            h.update(q.decode(m, dtype=dt).tobytes())
            h.update(q.decode_sum([m, m], d, weights=[0.5, -1.25], dtype=dt).tobytes())
for q in (Q.QSGD(4), Q.QSGD(4, bucket=36), Q.CUQ(1.0, 16)):  # rescaled norms; rejected inputs
    for dt in (np.float64, np.float32):
        y = np.random.default_rng(5).standard_normal(70001) * (1e-30 if dt is np.float32 else 1e-170)
        if isinstance(q, Q.CUQ):
            y = y / np.abs(y).max()
        h.update(q.encode(y.astype(dt), rng=3).payload)
        for bad in (np.nan, np.inf, 1.5):
            z = y.astype(dt)
            z[40001] = bad
            try:
                q.encode(z, rng=3)
            except ValueError as e:
                h.update(str(e).encode())
print(h.hexdigest())
"""


_LEVELS = {"portable": 0, "avx2": 1, "avx512": 2}


def _paths_digest(env_extra):
    """(build level run, digest of _PATHS_SCRIPT's bytes) in a subprocess with env_extra."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("CONVQ_PORTABLE", "CONVQ_SIMD")}
    env.update(env_extra)
    script = "from convq import _core; print(_core._q_simd_level())\n" + _PATHS_SCRIPT
    level, digest = subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True,
                                   text=True).stdout.split()
    return int(level), digest


@pytest.mark.parametrize("level", ["avx2", "avx512"])
def test_cpu_dispatch_paths_give_identical_bytes(level):
    """Each SIMD build of the typed kernels (AVX2, AVX-512 F/DQ/BW/VL; picked at run time,
    capped with CONVQ_SIMD) gives the messages and outputs of the portable build (forced
    with CONVQ_PORTABLE=1, or CONVQ_SIMD=portable)."""
    ran, digest = _paths_digest({"CONVQ_SIMD": level})
    if ran != _LEVELS[level]:
        pytest.skip(f"this CPU (or compiler) has no {level} build: level {ran} ran instead")
    pl, portable = _paths_digest({"CONVQ_PORTABLE": "1", "CONVQ_SIMD": level})
    assert pl == 0 and len(portable) == 64 and digest == portable
    assert _paths_digest({"CONVQ_SIMD": "portable"}) == (0, portable)
