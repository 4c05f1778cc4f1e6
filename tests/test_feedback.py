"""Fused decode-accumulate (Quantizer.decode_sum) and error feedback (convq.feedback).

References: Karimireddy et al., "Error Feedback Fixes SignSGD and other Gradient Compression
Schemes" (ICML 2019), Algorithm 2; Richtarik et al., "EF21" (NeurIPS 2021), Algorithm 1.
"""
import pickle

import numpy as np
import pytest

from convq import DecodeError
from convq.feedback import EF21, ErrorFeedback
from convq.quantize import (CUQ, QSGD, RATQ, CoordinateSampling, GainShape, Identity, LpQuantizer, RandK,
                            ScaledSign, SimQ, SimQPlus, TernGrad, TopK)
from convq.stochastic import sgd

D = 37
QUANTIZERS = [SimQ(1.0), SimQPlus(1.0, p=2), SimQPlus(1.0, p=4, k=5), CUQ(1.0, levels=8), RATQ(1.0),
              LpQuantizer(1.5), QSGD(4), TernGrad(), ScaledSign(), TopK(5), RandK(6), Identity("float64"),
              Identity("float32"), GainShape(SimQ(1.0)), CoordinateSampling(SimQPlus(1.0), 9)]


def _admissible(q, d, seed):
    """A vector inside q's admissible set (norm_order-ball of radius bound / 2)."""
    y = np.random.default_rng(seed).standard_normal(d)
    b = q.bound if np.isfinite(q.bound) else 1.0
    return y * (0.5 * b / np.linalg.norm(y, ord=q.norm_order))


@pytest.mark.parametrize("q", QUANTIZERS, ids=repr)
def test_decode_sum_equals_sum_of_decodes_bit_for_bit(q):
    msgs = [q.encode(_admissible(q, D, s), rng=100 + s) for s in range(5)]
    ref = np.zeros(D)
    for m in msgs:
        ref = ref + q.decode(m)
    got = q.decode_sum([m.payload for m in msgs], D)
    assert np.array_equal(got.view(np.int64), ref.view(np.int64))
    # Messages and receive-buffer rows (uint8 views) are accepted as well
    rows = np.stack([np.frombuffer(m.payload, np.uint8) for m in msgs])
    assert np.array_equal(q.decode_sum(msgs, D), ref)
    assert np.array_equal(q.decode_sum(rows, D), ref)
    # out= adds into the given buffer, in place, in the same order
    out = np.full(D, 0.25)
    back = q.decode_sum(msgs, D, out=out)
    assert back is out
    ref2 = np.full(D, 0.25)
    for m in msgs:
        ref2 = ref2 + q.decode(m)
    assert np.array_equal(out, ref2)


@pytest.mark.parametrize("q", QUANTIZERS, ids=repr)
def test_decode_into_out_equals_decode(q):
    """decode(msg, out=buf) writes exactly decode(msg, dtype=buf.dtype) into buf and returns it."""
    msg = q.encode(_admissible(q, D, 3), rng=7)
    for dt in (np.float64, np.float32):
        buf = np.full(D, np.nan, dtype=dt)
        back = q.decode(msg, out=buf)
        assert back is buf
        assert buf.tobytes() == q.decode(msg, dtype=dt).tobytes()
        assert q.decode(msg.payload, D, out=buf, dtype=dt) is buf
        if not isinstance(q, CoordinateSampling):   # the NumPy twin writes the same values
            buf[:] = np.nan
            assert q.decode(msg, out=buf, engine="python").tobytes() == q.decode(msg, dtype=dt).tobytes()
    with pytest.raises(TypeError, match="out must be a writeable C-contiguous"):
        q.decode(msg, out=np.zeros(D + 1))
    with pytest.raises(TypeError, match="out must be a writeable C-contiguous"):
        q.decode(msg, out=np.zeros(2 * D)[::2])
    with pytest.raises(TypeError, match="out must be a writeable C-contiguous"):
        q.decode(msg, out=np.zeros(D, dtype=np.int64))
    with pytest.raises(ValueError, match="does not match out's dtype"):
        q.decode(msg, out=np.zeros(D), dtype=np.float32)
    with pytest.raises(DecodeError):
        q.decode(msg.payload + b"\0", D, out=np.zeros(D))


@pytest.mark.parametrize("q", QUANTIZERS + [SimQPlus(1.0, p=2, k=300), LpQuantizer(1.0)], ids=repr)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_encode_add_is_encode_then_decode_sum_for_every_quantizer(q, dtype):
    """The DDP hook's own term (Quantizer._encode_add: the encoder writes its message's
    decode) is exactly decode_sum of the message it sends, for every kind and composite."""
    for d in (D, 300):
        y = _admissible(q, d, 11)
        m = q.encode(y, rng=4)
        for fresh in (False, True):
            start = np.random.default_rng(5).standard_normal(d).astype(dtype)
            out = start.copy()
            got = q._encode_add(y, 4, out, weight=0.5, fresh=fresh)
            assert got.payload == m.payload
            want = q.decode_sum([m], d, weights=[0.5], out=None if fresh else start.copy(), dtype=dtype)
            assert out.tobytes() == want.tobytes(), (d, fresh)


def test_decode_sum_weights_fold_into_the_gain():
    q = GainShape(SimQPlus(1.0))
    msgs = [q.encode(np.random.default_rng(s).standard_normal(D), rng=s) for s in range(3)]
    w = np.array([0.2, 0.3, 0.5])
    ref = np.zeros(D)
    for wk, m in zip(w, msgs):
        gain, shape = q._decode_parts(m.payload, D)
        ref += (wk * gain) * shape
    assert np.array_equal(q.decode_sum(msgs, D, weights=w), ref)
    plain = SimQ(1.0)
    pm = [plain.encode(_admissible(plain, D, s), rng=s) for s in range(3)]
    ref = np.zeros(D)
    for wk, m in zip(w, pm):
        ref += wk * plain.decode(m)
    assert np.array_equal(plain.decode_sum(pm, D, weights=w), ref)


def test_decode_sum_rejects_bad_input():
    q = SimQ(1.0)
    m = q.encode(_admissible(q, D, 0), rng=0)
    with pytest.raises(TypeError, match="sequence of messages"):
        q.decode_sum(m.payload, D)
    with pytest.raises(ValueError, match="one entry per payload"):
        q.decode_sum([m.payload], D, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="weights"):
        q.decode_sum([m.payload], D, weights=[np.nan])
    with pytest.raises(TypeError, match="out must be"):
        q.decode_sum([m.payload], D, out=np.zeros(D, np.float16))
    with pytest.raises(TypeError, match="out must be"):
        q.decode_sum([m.payload], D, out=np.zeros(D + 1))
    with pytest.raises(DecodeError):
        q.decode_sum([m.payload[:-1]], D)
    with pytest.raises(ValueError, match="d"):
        q.decode_sum([m.payload], 0)
    assert np.array_equal(q.decode_sum([], D), np.zeros(D))


# ---- error feedback -------------------------------------------------------------------------

def test_error_feedback_recursion_by_hand():
    """e <- (g + e) - C(g + e) with C = TopK(1): nothing is lost, only delayed."""
    ef = ErrorFeedback(TopK(1))
    assert np.array_equal(ef([3.0, 2.0, -1.0]), [3.0, 0.0, 0.0])
    assert np.array_equal(ef.error(), [0.0, 2.0, -1.0])
    assert np.array_equal(ef([1.0, 0.5, 0.0]), [0.0, 2.5, 0.0])
    assert np.array_equal(ef.error(), [1.0, 0.0, -1.0])


def test_ef21_recursion_by_hand():
    ef = EF21(TopK(1))
    assert np.array_equal(ef([3.0, 2.0]), [3.0, 0.0])       # g_1 = C(y - 0)
    assert np.array_equal(ef.estimate(), [3.0, 0.0])
    assert np.array_equal(ef([3.0, 2.0]), [3.0, 2.0])       # g += C(y - g_1)
    assert np.array_equal(ef([3.0, 2.0]), [3.0, 2.0])       # the estimate is exact now


def _two_worker_run(wrap, T=400, eta=0.3):
    """The counterexample to plain TopK: worker gradients (x0 + 5, x1) and (x0 - 5, x1) of
    f(x) = ||x||^2 / 2 (mean gradient x). TopK(1) on each worker sends only the +-5
    coordinate, which cancels in the average: x1 never moves."""
    x = np.array([1.0, 1.0])
    ef = wrap(TopK(1)) if wrap is not None else None
    q = TopK(1)
    for _ in range(T):
        grads = [np.array([x[0] + 5.0, x[1]]), np.array([x[0] - 5.0, x[1]])]
        if ef is None:
            msgs = [q.encode(g) for g in grads]
            avg = q.decode_sum(msgs, 2) / 2
        else:
            msgs = [ef.encode(g, key=k) for k, g in enumerate(grads)]
            avg = ef.aggregate(q.decode_sum(msgs, 2) / 2)
        x = x - eta * avg
    return np.linalg.norm(x)


def test_feedback_converges_where_plain_topk_stalls():
    assert _two_worker_run(None, 2000, 0.01) >= 1.0 - 1e-12     # x1 = 1 for ever
    # EF-SGD with a constant step reaches an O(step) neighbourhood (Karimireddy et al.,
    # Theorem II); it is ~0.0125 here at step 0.01 and shrinks with the step
    assert _two_worker_run(ErrorFeedback, 2000, 0.01) < 0.02
    assert _two_worker_run(ErrorFeedback, 8000, 0.002) < 0.004
    # EF21's estimates become exact on deterministic gradients: linear convergence
    assert _two_worker_run(EF21, 2000, 0.01) < 1e-6


class _NoisyQuadratic:
    """f(x) = ||x||^2 / 2 with gradient noise of s.d. 20 on coordinate 0 only: TopK(1)
    almost always sends the noise and coordinate 1 almost never moves."""
    d = 2
    domain = None

    def sample(self, x, rng):
        g = np.array(x, dtype=float)
        g[0] += 20.0 * rng.standard_normal()
        return g

    def value(self, X):
        X = np.atleast_2d(X)
        return 0.5 * np.sum(X * X, axis=1)


def test_sgd_with_error_feedback_converges_where_topk_stalls():
    o = _NoisyQuadratic()
    plain = sgd(o, [0.0, 5.0], T=3000, step=0.01, quantizer=TopK(1), average=False, rng=3)
    fed = sgd(o, [0.0, 5.0], T=3000, step=0.01, quantizer=ErrorFeedback(TopK(1)), average=False, rng=3)
    # plain: coordinate 1 moves only when |x1| > |x0 + noise| (rare once x1 < 1): a
    # deterministic check with this seed; EF carries every dropped x1 until it is sent
    assert abs(plain.x_last[1]) > 0.5
    assert abs(fed.x_last[1]) < 0.05
    assert fed.engine == "python" and fed.bits_per_step == TopK(1).bits(2)


@pytest.mark.parametrize("cls", [ErrorFeedback, EF21])
def test_state_dict_round_trip(cls, tmp_path):
    a = cls(RandK(3))
    g = np.random.default_rng(0)
    for k in range(3):
        a(g.standard_normal(10), rng=k, key=0)
        a.encode(g.standard_normal(10), rng=k, key="rank1")
    state = a.state_dict()
    b = cls(RandK(3))
    b.load_state_dict(pickle.loads(pickle.dumps(state)))
    y = g.standard_normal(10)
    assert np.array_equal(a(y, rng=9), b(y, rng=9))
    assert np.array_equal(a.state_dict()["worker"]["rank1"], b.state_dict()["worker"]["rank1"])
    # the checkpoint is a copy, not a view of the live state
    state["worker"][0][:] = 123.0
    assert not np.any(a.state_dict()["worker"][0] == 123.0)
    with pytest.raises(ValueError, match="state is for"):
        cls(RandK(4)).load_state_dict(a.state_dict())
    with pytest.raises(TypeError, match="state must be"):
        b.load_state_dict({"kind": cls.__name__})
    b.reset()
    assert b.state_dict()["worker"] == {}


def test_feedback_rejects_bad_input():
    with pytest.raises(TypeError, match="quantizer must be"):
        ErrorFeedback(TopK)
    with pytest.raises(TypeError, match="quantizer must be"):
        EF21(None)
    with pytest.raises(TypeError, match="cannot wrap"):
        EF21(ErrorFeedback(TopK(1)))
    ef = ErrorFeedback(TopK(1))
    ef(np.ones(3))
    with pytest.raises(ValueError, match="length 3"):
        ef(np.ones(4))
    with pytest.raises(ValueError):
        ef([1.0, np.nan, 0.0])
    assert ef.bits(3) == TopK(1).bits(3)
    assert repr(ef) == f"ErrorFeedback({TopK(1)!r})"


@pytest.mark.parametrize("cls", [ErrorFeedback, EF21])
def test_float32_vectors_keep_a_float32_state(cls):
    """A float32 worker vector (a DDP hook's float32 bucket) runs the recursion in float32:
    the state is float32, and each step is the float32 arithmetic of the by-hand formula."""
    q = RandK(3)
    a = cls(q)
    g = np.random.default_rng(1)
    e = np.zeros(10, dtype=np.float32)
    for k in range(4):
        y = g.standard_normal(10).astype(np.float32)
        msg = a.encode(y, rng=k)
        if cls is ErrorFeedback:    # m = C(y + e), e <- (y + e) - decode(m), in float32
            p = y + e
            assert msg.payload == q.encode(p, rng=k).payload
            e = p - q.decode(msg, dtype=np.float32)
        else:                       # m = C(y - g_i), g_i <- g_i + decode(m)
            assert msg.payload == q.encode(y - e, rng=k).payload
            e = e + q.decode(msg, dtype=np.float32)
        state = a.state_dict()["worker"][0]
        assert state.dtype == np.float32 and np.array_equal(state, e)
    out = a(g.standard_normal(10).astype(np.float32), rng=9, key="other")
    assert out.dtype == np.float32
    # a checkpoint keeps the dtype; a float64 vector converts the state once
    b = cls(q)
    b.load_state_dict(a.state_dict())
    assert b.state_dict()["worker"][0].dtype == np.float32
    b.encode(np.ones(10), rng=0)
    assert b.state_dict()["worker"][0].dtype == np.float64
    with pytest.raises(ValueError, match="finite"):
        a.encode(np.array([1.0, np.nan] * 5, dtype=np.float32))
