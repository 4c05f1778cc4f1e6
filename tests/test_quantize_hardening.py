"""Regression tests for the quantizer layer's hardening: the norm each quantizer's bound
is in (gain-shape with SimQ), sizes at huge d, decoders that accept only what their
encoder can emit, refusals before allocation, quantizer classes passed as instances,
and input rewritten by another thread during an encode."""
import math
import struct
import threading

import numpy as np
import pytest

import convq.quantize as Q
from convq import DecodeError, _core
from convq._lp import norm_order_of
from convq._spec import DMAX, Kind, QuantizerSpec
from convq.coding import pack_fields

ALL = [Q.Identity(), Q.Identity("float32"), Q.SimQ(1.0), Q.SimQPlus(1.0, p=2), Q.SimQPlus(1.0, p=math.inf, k=3),
       Q.CUQ(1.0, 5), Q.RATQ(1.0), Q.LpQuantizer(1.0), Q.LpQuantizer(1.5), Q.LpQuantizer(3.0),
       Q.LpQuantizer(math.inf), Q.QSGD(4), Q.QSGD(2, norm="inf"), Q.TernGrad(), Q.ScaledSign(), Q.TopK(5),
       Q.RandK(5)]


def f32(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


# ---- the spec crosses by name; kinds come from the C list ------------------------------------

def test_kinds_come_from_the_core_and_specs_are_named():
    assert [k.name for k in Kind] == ["IDENTITY", "SIMQ", "SIMQPLUS", "CUQ", "RATQ", "LP", "QSGD", "TERNGRAD",
                                      "SCALEDSIGN", "TOPK", "RANDK"]
    assert all(int(getattr(_core, f"Q_KIND_{k.name}")) == k for k in Kind)
    for q in ALL:
        assert isinstance(q._spec, QuantizerSpec) and isinstance(q._spec.kind, Kind)
    assert Q.SimQPlus(2.0, p=4, k=7)._spec == QuantizerSpec(kind=Kind.SIMQPLUS, B=2.0, p=4.0, k=7)
    # a spec is read by field name: the binding takes a QuantizerSpec directly, and a
    # positional tuple is refused
    assert _core._q_bits(QuantizerSpec(kind=Kind.CUQ, M=1.0, levels=5), 10) == 30
    with pytest.raises(TypeError, match="QuantizerSpec"):
        _core._q_bits((int(Kind.CUQ), 0.0, 1.0, 0.0, 0, 5, 0, 0, 0), 10)
    with pytest.raises(ValueError, match="unknown quantizer kind"):
        _core._q_bits(QuantizerSpec(kind=len(Kind)), 10)
    with pytest.raises(TypeError, match="QuantizerSpec.levels must be an int"):
        _core._q_bits(QuantizerSpec(kind=Kind.CUQ, M=1.0, levels=5.0), 10)


# ---- item 4: one public norm_order, used by every gain-shape path ---------------------------

def test_norm_order_of_every_quantizer():
    expect = {Q.SimQ(1.0): 1.0, Q.SimQPlus(1.0, p=2): 2.0, Q.SimQPlus(1.0, p=4): 4 / 3,
              Q.SimQPlus(1.0, p=math.inf): 1.0, Q.CUQ(1.0, 4): math.inf, Q.RATQ(1.0): 2.0,
              Q.LpQuantizer(1.0): math.inf, Q.LpQuantizer(1.5): 3.0, Q.LpQuantizer(math.inf): 1.0,
              Q.QSGD(2): 2.0, Q.QSGD(2, norm="inf"): math.inf, Q.TernGrad(): math.inf, Q.ScaledSign(): 1.0,
              Q.TopK(2): 2.0, Q.RandK(2): 2.0, Q.Identity(): 2.0}
    for q, r in expect.items():
        assert q.norm_order == pytest.approx(r) and norm_order_of(q) == q.norm_order, q
    # the shape g / ||g||_r is admissible for the quantizer with B = 1 (the gain-shape premise)
    y = np.random.default_rng(0).standard_normal(50)
    for q in (Q.SimQ(1.0), Q.SimQPlus(1.0, p=3), Q.CUQ(1.0, 4), Q.RATQ(1.0), Q.LpQuantizer(1.3)):
        q.encode(y / np.linalg.norm(y, ord=q.norm_order), rng=0)


def test_logistic_regression_with_simq_fits():
    from convq.models import LogisticRegression
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)
    m = LogisticRegression(quantizer=Q.SimQ(1.0)).fit(X, y)
    assert m.score(X, y) > 0.8


def test_distributed_train_gain_shape_with_simq():
    from convq.distributed import train
    from convq.objectives import Logistic

    from _distributed_problem import SelfComm   # one rank, no MPI

    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(float)
    obj = Logistic(X, y, lam=1.0)
    res = train(obj, np.zeros(obj.dim), 40, 0.1, Q.SimQ(1.0), comm=SelfComm(), gain_shape=True, rng=0, batch=8)
    assert np.all(np.isfinite(res.x_last))
    assert res.summary()["payload_bits_per_step"] == 32 + Q.SimQ(1.0).bits(obj.dim)


def test_torch_hook_gain_shape_with_simq():
    pytest.importorskip("torch")
    import convq.torch as ct
    hook = ct.quantized_hook(Q.SimQ(1.0), rng=0)
    hook._generator(0, 1)
    g = np.array([3.0, -4.0, 0.5, 0.0, 2.0])  # ||g||_1 = 9.5 > B: only gain-shape makes it admissible
    buf, off, err = hook._encode(g)
    assert err is None and buf[0] == 0 and off == 1   # [status | GainShape payload: float32 gain, shape]
    gain = float(np.frombuffer(buf[1:5].tobytes(), dtype="<f4")[0])
    assert gain == pytest.approx(9.5, rel=1e-6)
    shape = Q.SimQ(1.0).decode(buf[5:].tobytes(), g.size)
    assert np.count_nonzero(shape) <= 1 and np.abs(shape).sum() <= 1.0


# ---- item 16: a class or a non-quantizer where an instance is expected -------------------------

def test_class_or_non_quantizer_gives_type_error_naming_the_argument():
    with pytest.raises(TypeError, match=r"quantizer must be a quantizer instance, got the class SimQ"):
        norm_order_of(Q.SimQ)
    with pytest.raises(TypeError, match=r"quantizer must be a convq quantizer"):
        norm_order_of(object())
    with pytest.raises(TypeError, match=r"q\.norm_order must be a real number"):
        norm_order_of(type("Odd", (), {"norm_order": "l2"})(), name="q")
    class Unstated(Q.Quantizer):  # a subclass that forgot norm_order
        pass

    with pytest.raises(NotImplementedError, match="Unstated does not state its norm_order"):
        Unstated().norm_order
    with pytest.raises(TypeError, match="norm_order attribute"):
        norm_order_of(Unstated())
    with pytest.raises(TypeError, match="class"):
        _core._q_bits(Q.SimQ, 3)
    with pytest.raises(TypeError, match="convq quantizer"):
        _core._q_bits(object(), 3)
    from convq.models import LogisticRegression
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(TypeError, match="quantizer"):
        LogisticRegression(quantizer=Q.SimQ).fit(X, (X[:, 0] > 0).astype(int))


# ---- item 10: bits(d) at huge d, never a wrapped integer ----------------------------------------

def clog2(n):
    return (n - 1).bit_length()


def expected_bits(q, d):
    """bits(d) from the formulas of the class docstrings, in Python integers."""
    if isinstance(q, Q.Identity):
        return d * (32 if q.dtype == np.float32 else 64)
    if isinstance(q, Q.SimQ):
        return clog2(2 * d + 1)
    if isinstance(q, Q.CUQ):
        return d * clog2(q.levels)
    if isinstance(q, Q.QSGD):
        return 32 * -(-d // (q.bucket or d)) + d * (clog2(q.levels + 1) + 1)
    if isinstance(q, Q.TernGrad):
        return 32 + 2 * d
    if isinstance(q, Q.ScaledSign):
        return 32 + d
    if isinstance(q, Q.TopK):
        return min(q.k, d) * (clog2(d) + 64)
    if isinstance(q, Q.RandK):
        return 64 + 64 * min(q.k, d)
    if isinstance(q, Q.RATQ):
        P = q.params(d)
        n0 = 1 << (d.bit_length() - 1)               # windows of n0, nothing padded
        signs = d if d == n0 else 2 * n0
        return min(64, signs) + -(-d // P["ratq_s"]) * clog2(P["ratq_h"]) + d * clog2(q.levels)
    return None


@pytest.mark.parametrize("d", [2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 40, DMAX])
def test_bits_at_huge_d_are_exact(d):
    for q in ALL:
        if range_coded(q):
            with pytest.raises(ValueError, match=f"d={d}"):  # the range coder's d + k <= 2^24
                q.bits(d)
            continue
        b = q.bits(d)
        assert isinstance(b, int) and 0 < b < 2 ** 63, (q, d, b)
        e = expected_bits(q, d)
        if e is not None:
            assert b == e, (q, d, b, e)
    assert Q.SimQ(1.0).bits(2 ** 31) == 33 and Q.SimQ(1.0).bits(2 ** 32) == 34  # past the 32-bit field
    assert Q.Identity().bits(2 ** 40) == 2 ** 46


@pytest.mark.parametrize("d", [DMAX + 1, 2 ** 58, 2 ** 63 - 1, 2 ** 63, 2 ** 64])
def test_bits_beyond_the_limit_raise_value_error_naming_d(d):
    for q in ALL:
        with pytest.raises(ValueError, match=rf"d must be <= {DMAX}, got {d}"):
            q.bits(d)
        with pytest.raises(ValueError, match=r"\bd\b"):
            q.decode(b"", d)
    with pytest.raises(ValueError, match="at most 2\\^48"):  # the C core itself refuses too
        _core._q_bits(Q.Identity()._spec, DMAX + 1)


# ---- item 15: sizes checked before anything is built --------------------------------------------

def range_coded(q):
    return isinstance(q, Q.SimQPlus) or (isinstance(q, Q.LpQuantizer) and 2 <= q.p < math.inf)


def test_decode_checks_the_payload_length_before_allocating():
    for q in ALL:
        if range_coded(q):  # refused for d + k > 2^24 before anything else
            with pytest.raises(ValueError, match="d=1099511627776"):
                q.decode(b"", 2 ** 40)
            continue
        with pytest.raises(DecodeError, match="payload has 0 bytes"):
            q.decode(b"", 2 ** 40)  # the output alone would be 8 TiB
        with pytest.raises(DecodeError, match="payload has 0 bytes"):
            q.decode(b"", DMAX)


def test_impossible_outputs_raise_memory_error_before_building_anything(monkeypatch):
    def no_spawn(*a, **k):
        raise AssertionError("spawned generators for an impossible request")

    monkeypatch.setattr(Q, "spawn", no_spawn)
    y = np.zeros(3)
    with pytest.raises(MemoryError, match=r"n=\d+ rows of d=3"):
        Q.SimQ(1.0).sample(y, 2 ** 40)
    with pytest.raises(MemoryError, match="rows of d=3"):
        Q.SimQ(1.0).sample(y, 2 ** 62)
    with pytest.raises(MemoryError, match=r"n=1 rows of d=1099511627776"):
        Q.SimQ(1.0).decode(bytes(6), 2 ** 40)  # a valid 42-bit message whose output is 8 TiB
    # the binding checks too (callers of _core directly: torch hook, distributed)
    with pytest.raises(MemoryError, match=r"n=1099511627776 rows of d=3 coordinates needs 2\.458e\+04 GiB, more"):
        _core._q_batch(Q.SimQ(1.0)._spec, y, 2 ** 40, 256, [], 1, False)


# ---- item 13: decoders reject what the encoder cannot emit --------------------------------------

def test_qsgd_and_terngrad_reject_a_zero_scale_with_nonzero_levels():
    # QSGD(2), d = 2: 32-bit norm, then per coordinate 2 level bits + 1 sign bit
    payload, nbits = pack_fields([0, 1, 0, 0, 0], [32, 2, 1, 2, 1])
    with pytest.raises(DecodeError, match="zero norm"):
        Q.QSGD(2).decode(payload, 2)
    payload, nbits = pack_fields([0, 1, 1, 0, 0], [32, 2, 1, 2, 1])  # would decode to -0.0
    with pytest.raises(DecodeError, match="zero norm"):
        Q.QSGD(2).decode(payload, 2)
    ok, _ = pack_fields([f32(1.0), 1, 1, 0, 0], [32, 2, 1, 2, 1])
    np.testing.assert_array_equal(Q.QSGD(2).decode(ok, 2), [-0.5, 0.0])
    # TernGrad, d = 2: 32-bit scale then 2-bit codes (1 = +S, 2 = -S)
    for code in (1, 2):
        payload, _ = pack_fields([0, code, 0], [32, 2, 2])
        with pytest.raises(DecodeError, match="zero scale"):
            Q.TernGrad().decode(payload, 2)
    ok, _ = pack_fields([f32(2.0), 2, 0], [32, 2, 2])
    np.testing.assert_array_equal(Q.TernGrad().decode(ok, 2), [-2.0, 0.0])
    # what the encoders emit for y = 0 still decodes, to +0.0
    for q in (Q.QSGD(2), Q.QSGD(3, norm="inf"), Q.TernGrad()):
        out = q.decode(q.encode(np.zeros(7), rng=0))
        assert np.all(out == 0) and not np.any(np.signbit(out))


def test_topk_rejects_a_kept_zero_above_an_unkept_index():
    zero = 0  # the float64 bit pattern of +0.0
    one = struct.unpack("<Q", struct.pack("<d", 1.0))[0]
    # d = 4, k = 2: 2-bit index + 64-bit value (as two 32-bit halves)
    w = [2, 32, 32, 2, 32, 32]
    bad, _ = pack_fields([1, zero, zero, 3, one & 0xFFFFFFFF, one >> 32], w)  # keeps y_1 = 0 but not y_0
    with pytest.raises(DecodeError, match="zero at index 1"):
        Q.TopK(2).decode(bad, 4)
    ok, _ = pack_fields([0, zero, zero, 3, one & 0xFFFFFFFF, one >> 32], w)
    np.testing.assert_array_equal(Q.TopK(2).decode(ok, 4), [0.0, 0.0, 0.0, 1.0])
    assert Q.TopK(2).encode(np.array([0.0, 0.0, 0.0, 1.0])).payload == ok
    for y in (np.zeros(4), np.array([0.0, -0.0, 0.0, 2.0]), np.array([0.0, 1.0, 0.0, 0.0])):
        Q.TopK(3).decode(Q.TopK(3).encode(y))


def test_ratq_rejects_a_range_index_equal_to_the_one_below():
    q = Q.RATQ(1.0)
    P = q.params(16)
    ranges = P["ratq_ranges"]
    assert P["ratq_hbits"] == 2 and P["ratq_s"] == 2 and ranges[3] == ranges[2]  # the capped top ranges
    groups = 16 // 2

    def payload(j0):
        vals, widths = [0], [16]     # d = 16: the 16 rotation signs themselves
        for g in range(groups):
            vals += [j0 if g == 0 else 0, 1, 2]
            widths += [2, 2, 2]
        return pack_fields(vals, widths)[0]

    q.decode(payload(2), 16)
    with pytest.raises(DecodeError, match="never sent"):
        q.decode(payload(3), 16)


def test_lp_composite_rejects_a_large_coordinate_whose_cuq_level_is_not_zero():
    q = Q.LpQuantizer(1.5)
    d = 64
    P = q.params(d)
    L, lbits, dmax = P["L"], P["lbits"], P["dmax"]
    assert dmax > 0 and L == 8
    msg = q.encode(np.r_[0.9, np.zeros(d - 1)], rng=0)  # y_0 > c: sent through the RATQ part
    from convq.coding import unpack_fields
    widths = [lbits] * d + [1] * d
    rest = msg.nbits - sum(widths)
    f = [int(v) for v in unpack_fields(msg.payload, msg.nbits, widths + [1] * rest)]
    assert f[d] == 1 and f[0] in (L // 2 - 1, L // 2)
    np.testing.assert_allclose(q.decode(msg)[0], 0.9, atol=0.5)
    for lev in range(L):
        g = list(f)
        g[0] = lev
        payload, _ = pack_fields(g, widths + [1] * rest)
        if lev in (L // 2 - 1, L // 2):
            q.decode(payload, d)
        else:
            with pytest.raises(DecodeError, match="support bitmap but its CUQ level"):
                q.decode(payload, d)


@pytest.mark.parametrize("q", ALL, ids=repr)
def test_every_encoder_output_passes_its_decoder(q):
    """The new canonical checks reject nothing the encoders emit: zeros, tiny and huge
    entries, ties, single spikes and vectors on the admissible boundary."""
    rng = np.random.default_rng(5)
    d = 37
    cases = [np.zeros(d), np.r_[1.0, np.zeros(d - 1)], np.r_[np.zeros(d - 1), -1.0], np.full(d, 1e-300),
             np.tile([1.0, -1.0], d)[:d], rng.standard_normal(d), rng.standard_normal(d) * 1e-30]
    for i, y in enumerate(cases):
        r = getattr(q, "norm_order", 2.0)
        n = np.linalg.norm(y, ord=r)
        y = y / n if n > 0 and not isinstance(q, (Q.Identity, Q.QSGD, Q.TernGrad, Q.ScaledSign, Q.TopK, Q.RandK)) \
            else y
        for seed in range(6):
            msg = q.encode(y, rng=seed + 10 * i)
            np.testing.assert_array_equal(q.decode(msg), q(y, rng=seed + 10 * i))


# ---- item 17: input rewritten by another thread during an encode --------------------------------

@pytest.mark.parametrize("q", [Q.SimQPlus(1.0, p=2, k=2000), Q.TopK(500)], ids=repr)
def test_input_changed_during_the_call_is_reported_as_such(q):
    """A writer thread flips y between two vectors of different l1 norms and supports while
    encodes run (the GIL is released during them). Every encode either succeeds with a
    message its decoder accepts or raises ValueError saying the input changed; never the
    internal-error RuntimeError."""
    d = 100_000
    a = np.full(d, 1.0 / d)
    b = np.zeros(d)
    b[::3] = 0.9 / d
    y = a.copy()
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            y[:] = b
            y[:] = a

    t = threading.Thread(target=writer)
    t.start()
    outcomes = {"ok": 0, "changed": 0}
    try:
        for i in range(120):
            try:
                msg = q.encode(y, rng=i)
            except ValueError as e:
                assert "changed during the call" in str(e)
                outcomes["changed"] += 1
            else:
                q.decode(msg)
                outcomes["ok"] += 1
    finally:
        stop.set()
        t.join()
    assert outcomes["ok"] + outcomes["changed"] == 120


def test_lp_composite_rejects_a_ratq_part_that_is_not_the_encoding_of_zero():
    """With no large coordinate the RATQ part encodes the zero vector: range 0 in every
    group and levels L/2 - 1 or L/2 (the two roundings of 0 on an even grid)."""
    from convq.coding import unpack_fields
    q = Q.LpQuantizer(1.5)
    d = 64
    P = q.params(d)
    L, hb, lb, s, d2 = P["ratq_L"], P["ratq_hbits"], P["ratq_lbits"], P["ratq_s"], P["ratq_d2"]
    assert (L, hb, lb, s, d2, P["ratq_seedbits"]) == (16, 1, 4, 1, 15, 16)   # the windowed RATQ part
    widths = [P["lbits"]] * d + [1] * d + [16] + [hb, lb] * d2
    assert sum(widths) == P["bits"]
    msg = q.encode(np.full(d, 0.01), rng=3)
    f = [int(v) for v in unpack_fields(msg.payload, msg.nbits, widths)]
    head = 2 * d + 1
    assert not any(f[d:2 * d]) and f[head] == 0 and f[head + 1] in (7, 8)

    def with_fields(changes):
        g = list(f)
        for i, v in changes.items():
            g[head + i] = v
        return pack_fields(g, widths)[0]

    q.decode(with_fields({1: 15 - f[head + 1]}), d)  # the other rounding of 0
    with pytest.raises(DecodeError, match="zero vector: level 0"):
        q.decode(with_fields({1: 0}), d)
    with pytest.raises(DecodeError, match="zero vector uses range 0"):
        q.decode(with_fields({0: 1}), d)


def test_scaledsign_zero_scale_with_signs_is_emitted_so_it_is_accepted():
    """The audit's other side: ScaledSign's scale is ||y||_1/d rounded to float32, which is
    0 for a tiny non-zero y whose signs are still sent; such a payload is the encoder's
    own, so the decoder accepts it (and agrees with the fast path, -0.0 included)."""
    q = Q.ScaledSign()
    y = np.array([-1e-300, 2e-300, -3e-300])
    msg = q.encode(y)
    assert msg.payload[:4] == bytes(4) and msg.payload[4] == 0b101
    out = q.decode(msg)
    np.testing.assert_array_equal(np.signbit(out), [True, False, True])
    np.testing.assert_array_equal(np.signbit(q(y)), np.signbit(out))


def test_every_quantizer_states_its_bound_and_gain_shape_uses_it():
    """bound is the radius of the admissible set in norm_order (CUQ's is M, not B): the
    gain-shape callers scale the shape to it, so CUQ(M = 4) sees shapes of l_inf norm 4."""
    import convq.quantize as Q
    from convq._lp import gain_bound
    assert Q.SimQ(2.0).bound == 2.0 and Q.CUQ(4.0, 8).bound == 4.0 and Q.RATQ(0.5).bound == 0.5
    assert Q.SimQPlus(3.0).bound == 3.0 and Q.LpQuantizer(1.5, 2.5).bound == 2.5
    for q in (Q.QSGD(4), Q.TernGrad(), Q.ScaledSign(), Q.TopK(2), Q.RandK(2), Q.Identity()):
        assert q.bound == math.inf and gain_bound(q) == 1.0
    assert gain_bound(Q.CUQ(4.0, 8)) == 4.0


@pytest.mark.parametrize("q", [Q.LpQuantizer(1.5), Q.LpQuantizer(1.2, B=2.0), Q.SimQPlus(1.0, p=3)], ids=repr)
def test_subnormal_vectors_pass_the_q_norm_check(q):
    """A vector whose largest |y_i| is subnormal is admissible (its q-norm is tiny): the exact
    q-norm pass divides by that maximum, whose reciprocal overflows to inf. It used to give
    ||y||_q = NaN and reject the vector; now y and the maximum are scaled by 2^1000 first."""
    y = np.array([3e-310, -1e-310, 2e-310, 0.0, 5e-324])
    for engine in ("c", "python"):
        msg = q.encode(y, rng=0, engine=engine)
        assert msg.payload == q.encode(y, rng=0, engine="c").payload
        assert np.all(np.isfinite(q.decode(msg)))
    # the reference q-norm: the largest |y_i| is the whole of it up to a factor (1 + ...)^(1/q)
    y_big = y * 2.0 ** 1000
    assert np.linalg.norm(y_big, ord=q.norm_order) * 2.0 ** -1000 < 1e-300


def test_a_reused_large_scratch_gives_the_twins_messages_in_any_order_and_thread():
    """A kernel scratch of 4 MiB or more is kept per thread for its next call (a larger
    call replaces it, a smaller one reuses it; nothing is zeroed in between). Calls of
    growing and shrinking sizes, on the main thread and on four threads at once, still
    send the NumPy twin's messages and decode to its values: no kernel reads what a
    previous call left in its scratch."""
    from concurrent.futures import ThreadPoolExecutor

    from convq.slow import quantize as S
    q = Q.RATQ(1.0)
    sizes = [(1 << 19) + 5, (1 << 20) + 3, (1 << 19) + 5, (1 << 19) + 777]   # d2 * 8 bytes >= 4 MiB
    assert all(q.params(d)["work"] >= 4 << 20 for d in sizes)
    ys = {d: np.random.default_rng(d).standard_normal(d) for d in sizes}
    ys = {d: y / np.linalg.norm(y) * 0.9 for d, y in ys.items()}
    want = {d: S.encode(q, ys[d], rng=d) for d in set(sizes)}
    values = {d: S.decode(q, want[d][0], d) for d in set(sizes)}

    def run(order):
        out = []
        for d in order:
            m = q.encode(ys[d], rng=d, threads=1)
            out.append(((m.payload, m.nbits) == want[d], np.array_equal(q.decode(m, threads=1), values[d])))
        return out

    assert run(sizes) == [(True, True)] * len(sizes)
    with ThreadPoolExecutor(4) as ex:
        for res in ex.map(run, [sizes, sizes[::-1], sizes[1:] + sizes[:1], sizes[::2] * 2]):
            assert res == [(True, True)] * 4



def test_a_thread_does_not_keep_a_large_scratch_it_no_longer_needs():
    """Regression: one large call pinned its scratch (up to 512 MiB) for the thread's life.
    A kept block over 64 MiB is freed by the first call that needs less than a quarter of
    it, a small call included; blocks the size of the DDP hook's (tens of MiB) are kept
    across calls of any size; and the calls still give the twin's messages."""
    import sys
    import threading

    from convq import _core
    from convq.slow import quantize as S
    if not sys.platform.startswith("linux"):
        pytest.skip("the per-thread scratch cache is built on Linux only (huge-page advice)")
    q = Q.RATQ(1.0)
    big, mid, small = 1 << 24, 1 << 20, 1 << 10       # scratch 128 MiB, 8 MiB, 8 KiB
    assert q.params(big)["work"] == 128 << 20 and q.params(mid)["work"] == 8 << 20
    ys = {d: np.random.default_rng(d).standard_normal(d) for d in (big, mid, small)}
    ys = {d: y / np.linalg.norm(y) * 0.9 for d, y in ys.items()}
    want = {d: S.encode(q, ys[d], rng=d)[0] for d in (mid, small)}
    kept = []

    def run():
        for d in (big, mid, small, big, small, mid, small):
            m = q.encode(ys[d], rng=d, threads=1)
            if d in want:
                assert m.payload == want[d]
            kept.append(_core._q_scratch_kept() >> 20)

    t = threading.Thread(target=run)   # a fresh thread: its own, empty cache
    t.start()
    t.join()
    assert kept == [128, 8, 8, 128, 0, 8, 8]
