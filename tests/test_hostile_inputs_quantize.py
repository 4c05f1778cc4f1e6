"""Table-driven bad-input sweep, third table: convq.quantize (every constructor parameter and
every method of every quantizer, Message), convq.distributed.train (single process, the
one-rank communicator) and convq.cutting_plane. Each hostile value must raise ValueError or
TypeError (DecodeError, a ValueError, for malformed payloads) whose message names the
argument; none may crash, hang or answer. The same runner and hostile values as
tests/test_hostile_inputs.py."""
import math

import numpy as np
import pytest

import convq.quantize as Q
from _distributed_problem import SelfComm
from convq import cutting_plane as CP
from convq import objectives as O
from convq.distributed import train
from test_hostile_inputs import BAD_OPTIONAL, BAD_REAL, HUGE_INTS, _bad_arrays, check_named

Y = np.array([0.2, -0.1, 0.05, 0.0])          # inside every l_q ball of radius 1
BAD_INT = [0, -1, 1.5, "x", None, 1j] + HUGE_INTS
BAD_POS = BAD_REAL + [-1.0, 0.0]
_QUANTIZERS = [Q.SimQ(1.0), Q.SimQPlus(1.0), Q.CUQ(1.0, 8), Q.RATQ(1.0), Q.LpQuantizer(1.5), Q.QSGD(4),
               Q.TernGrad(), Q.ScaledSign(), Q.TopK(2), Q.RandK(2), Q.Identity(), Q.GainShape(Q.SimQ(1.0)),
               Q.CoordinateSampling(Q.LpQuantizer(1.5), 2), Q.GainShape(Q.CUQ(1.0, 8), gain=Q.AGUQ())]
_ANY_FINITE = (Q.QSGD, Q.TernGrad, Q.ScaledSign, Q.TopK, Q.RandK, Q.Identity, Q.GainShape)


def _cases():
    cases = []

    def add(fn, kwargs, arg, bads, ok=(ValueError, TypeError)):
        for i, bad in enumerate(bads):
            cases.append(pytest.param(fn, kwargs, arg, bad, ok, id=f"{getattr(fn, '__qualname__', fn)}-{arg}-{i}"))

    # constructors
    for cls in (Q.SimQ, Q.RATQ):
        add(cls, dict(B=1.0), "B", BAD_POS)
    add(Q.SimQPlus, dict(B=1.0), "B", BAD_POS)
    add(Q.SimQPlus, dict(B=1.0), "p", [math.nan, -math.inf, "x", None, 1j, [1.0], 1.5, 0.0, -2.0])
    add(Q.SimQPlus, dict(B=1.0), "k", [0, -1, 1.5, "x", 1j] + HUGE_INTS)
    add(Q.CUQ, dict(M=1.0, levels=8), "M", BAD_POS)
    add(Q.CUQ, dict(M=1.0, levels=8), "levels", BAD_INT + [1])
    add(Q.RATQ, dict(B=1.0), "levels", [-1, 1, 1.5, "x", 1j] + HUGE_INTS)
    add(Q.RATQ, dict(B=1.0), "s", [-1, 1.5, "x", 1j] + HUGE_INTS)
    add(Q.RATQ, dict(B=1.0), "h", [-1, 1.5, "x", 1j] + HUGE_INTS)
    add(Q.LpQuantizer, dict(p=1.5), "p", [math.nan, -math.inf, "x", None, 1j, [1.0], 0.5, -1.0])
    add(Q.LpQuantizer, dict(p=1.5), "B", BAD_POS)
    add(Q.for_geometry, dict(p=2.0, B=1.0, d=4), "p", [math.nan, -math.inf, "x", None, 1j, [1.0], 0.5])
    add(Q.for_geometry, dict(p=2.0, B=1.0, d=4), "B", BAD_POS)
    add(Q.for_geometry, dict(p=2.0, B=1.0, d=4), "d", BAD_INT)
    add(Q.CoordinateSampling, dict(inner=Q.LpQuantizer(1.5), s=2), "inner",
        [None, 3, "x", Q.SimQ, Q.CoordinateSampling(Q.SimQ(1.0), 2)])
    add(Q.CoordinateSampling, dict(inner=Q.LpQuantizer(1.5), s=2), "s", BAD_INT)
    add(Q.for_budget, dict(r=64, p=1.5, d=4, B=1.0), "r", BAD_INT + [1, 2])      # 1, 2: nothing fits
    add(Q.for_budget, dict(r=64, p=2.0, d=4, B=1.0), "r", [1, 3])
    add(Q.for_budget, dict(r=64, p=1.5, d=4, B=1.0), "p", [math.nan, -math.inf, "x", None, 1j, [1.0], 0.5])
    add(Q.for_budget, dict(r=64, p=1.5, d=4, B=1.0), "d", BAD_INT)
    add(Q.for_budget, dict(r=10**9, p=2.0, d=2**24, B=1.0), "d", [2**24 + 5])  # SimQ+ needs d + k <= 2**24
    add(Q.for_budget, dict(r=64, p=1.5, d=4, B=1.0), "B", BAD_POS)
    add(Q.QSGD, dict(levels=4), "levels", BAD_INT)
    add(Q.QSGD, dict(levels=4), "norm", ["l3", 3, None, math.nan])
    add(Q.QSGD, dict(levels=4), "bucket", [b for b in BAD_INT if b is not None])
    add(Q.TopK, dict(k=2), "k", BAD_INT)
    add(Q.RandK, dict(k=2), "k", BAD_INT)
    add(Q.Identity, dict(), "dtype", ["float16", 3, None, np.int64])
    add(Q.AGUQ, dict(), "B", BAD_POS + [1e-320])
    add(Q.AGUQ, dict(), "a", BAD_REAL + [1.0, 0.5, -2.0, 1.0 + 1e-9])
    add(Q.AGUQ, dict(), "levels", BAD_INT + [1])
    add(Q.AGUQ, dict(), "h", [0, -1, 1.5, "x", 1j, 2000] + HUGE_INTS)   # None: the default
    add(Q.GainShape, dict(shape=Q.SimQ(1.0)), "shape", [None, 3, "simq", Q.SimQ, object(), Q.GainShape(Q.SimQ(1.0))])
    add(Q.GainShape, dict(shape=Q.SimQ(1.0)), "gain", ["float16", "f32", 3, None, Q.SimQ(1.0), Q.AGUQ])
    a = Q.AGUQ()
    add(a.encode, dict(x=1.0), "x", BAD_REAL + [-1.0, 1e308, np.ones(2)])
    add(a.encode, dict(x=1.0), "rng", [-1, "x", 1.5, object()])
    add(a.decode, dict(msg=a.encode(1.0, rng=0)), "msg", [None, 3, "abc", np.zeros(3)])
    add(a.sample, dict(x=1.0, n=3), "n", [-1, 1.5, "x", None, 1j] + HUGE_INTS)
    add(a.step, dict(x=1.0), "x", BAD_REAL + [-1.0])
    add(a.mse_bound, dict(), "S", BAD_OPTIONAL + [-1.0])
    add(Q.estimate_alpha0, dict(q=Q.SimQ(1.0), sampler=Y, n=10), "q", [None, 3, Q.SimQ, object()])
    add(Q.estimate_alpha0, dict(q=Q.SimQ(1.0), sampler=Y, n=10), "sampler",
        [None, "abc", np.full(4, np.nan), np.ones((2, 2)), lambda g: None, lambda g: "abc"])
    add(Q.estimate_alpha0, dict(q=Q.SimQ(1.0), sampler=Y, n=10), "n", [1, 0, -1, 1.5, "x", None] + HUGE_INTS)
    add(Q.estimate_alpha0, dict(q=Q.SimQ(1.0), sampler=Y, n=10), "confidence", BAD_REAL + [0.0, 1.0, 2.0])
    add(Q.estimate_alpha0, dict(q=Q.SimQ(1.0), sampler=Y, n=10), "norm", [math.nan, "x", None, 0.5, -1.0])
    add(Q.estimate_alpha0, dict(q=Q.SimQ(1.0), sampler=Y, n=10), "rng", [-1, "x", 1.5, object()])
    # methods, on every quantizer
    for q in _QUANTIZERS:
        msg = q.encode(Y, rng=0)
        add(q.encode, dict(y=Y), "y", _bad_arrays((4,), length_fixed=False)[1:] + [np.ones((2, 2))]
            if not isinstance(q, _ANY_FINITE)
            else [np.full(4, np.nan), np.full(4, np.inf), "abc", np.ones((2, 2)), Y.astype(complex), None])
        add(q.encode, dict(y=Y), "rng", [-1, "x", 1.5, object()])
        add(q.decode, dict(msg=msg.payload, d=4), "d", BAD_INT)
        add(q.decode, dict(msg=msg.payload, d=4), "msg", [None, 3, "abc", np.zeros(3)])
        add(q.bits, dict(d=4), "d", BAD_INT + [2**49])
        add(q.sample, dict(y=Y, n=3), "n", [-1, 1.5, "x", None, 1j] + HUGE_INTS)
        add(q.sample, dict(y=Y, n=3), "threads", [-1, 0, 1.5, "x", 2**63])
        add(q.quantize_batch, dict(Y=np.tile(Y, (2, 1))), "Y", [np.ones(4), "abc", None, np.ones((2, 2, 2))])
    add(Q.Message.from_bytes, dict(data=b"\x00" * 9, d=4), "d", [-1, 1.5, "x", None] + HUGE_INTS)
    add(Q.Message.from_bytes, dict(data=b"\x00" * 9, d=4), "data", [None, 3, "abc", b"\x00"])
    # distributed.train, one rank
    r = np.random.default_rng(0)
    obj = O.Logistic(r.standard_normal((20, 3)), (r.random(20) < 0.5).astype(float), lam=1.0)
    base = dict(objective_shard=obj, x0=np.zeros(3), T=5, step=0.1, comm=SelfComm(), batch=4, rng=0)
    add(train, base, "objective_shard", [None, 3, "x", lambda x: x])
    add(train, base, "x0", _bad_arrays((3,)))
    add(train, base, "T", BAD_INT)
    add(train, base, "step", BAD_POS + ["theory-ish"])
    add(train, base, "quantizer", [3, "simq", Q.SimQ, object()])
    add(train, base, "batch", [0, -1, 1.5, "x", 1j] + HUGE_INTS)   # None: the whole shard
    add(train, base, "method", ["adam", 3, None])
    add(train, base, "gain_shape", ["yes", 2, None])
    add(train, base, "record_every", [0, -1, 1.5, "x"] + HUGE_INTS)
    add(train, base, "rng", [-1, "x", 1.5, object()])
    # cutting planes
    fg = lambda x: (float(np.abs(x).sum()), np.sign(x))  # noqa: E731
    add(CP.kelley, dict(f=fg, x0=np.zeros(2), bounds=(-1.0, 1.0)), "x0", _bad_arrays((2,), length_fixed=False))
    add(CP.kelley, dict(f=fg, x0=np.zeros(2), bounds=(-1.0, 1.0)), "bounds", [None, 3.0, (-math.inf, 1.0), (1.0, -1.0)])
    add(CP.kelley, dict(f=fg, x0=np.zeros(2), bounds=(-1.0, 1.0)), "tol", BAD_POS)
    add(CP.kelley, dict(f=fg, x0=np.zeros(2), bounds=(-1.0, 1.0)), "max_iter", BAD_INT)
    add(CP.proximal_bundle, dict(f=fg, x0=np.zeros(2)), "x0", _bad_arrays((2,), length_fixed=False))
    add(CP.proximal_bundle, dict(f=fg, x0=np.zeros(2)), "tau", BAD_POS)
    add(CP.proximal_bundle, dict(f=fg, x0=np.zeros(2)), "tol", BAD_POS)
    add(CP.proximal_bundle, dict(f=fg, x0=np.zeros(2)), "max_iter", BAD_INT)
    add(CP.proximal_bundle, dict(f=fg, x0=np.zeros(2)), "max_cuts", BAD_INT + [1])
    add(CP.proximal_bundle, dict(f=fg, x0=np.zeros(2)), "f", [None, 3, "x"])
    return cases


CASES3 = _cases()


@pytest.mark.parametrize("fn, kwargs, arg, bad, ok", CASES3)
def test_bad_argument_is_named_quantize_distributed_cutting_plane(fn, kwargs, arg, bad, ok):
    check_named(fn, kwargs, arg, bad, ok)


def test_sweep_covers_quantize_distributed_cutting_plane():
    covered = {getattr(c.values[0], "__qualname__", "") for c in CASES3}
    for name in Q.__all__:
        if name in ("Quantizer", "DecodeError", "TernGrad", "ScaledSign", "Alpha0Estimate"):
            continue  # the base (its methods are swept on every subclass), the exception, no parameters, a result
        if name == "Message":
            assert "Message.from_bytes" in covered
            continue
        assert name in covered, f"convq.quantize.{name} is not in the sweep"
    for meth in ("encode", "decode", "bits", "sample", "quantize_batch"):
        assert f"Quantizer.{meth}" in covered, meth
    assert {"train", "kelley", "proximal_bundle"} <= covered
