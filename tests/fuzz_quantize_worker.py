"""Decoder fuzzing worker, run in a subprocess by tests/test_quantize_fuzz.py so that a
crash fails the test instead of killing pytest.

    python tests/fuzz_quantize_worker.py PER_DECODER

For every decoder: valid messages (encoded from random admissible vectors), then mutated
copies (1-4 random bit flips, random tails, all-zero/all-ones payloads) and fully random
payloads, all of the right length, plus payloads one byte too short/long; every one goes
through the C decoder (convq._core._q_decode_many), or for the Python composites
(GainShape, with a float32 or an AGUQ gain) through ``q.decode`` one payload at a time.
The decoder must return OK or DecodeError, never produce a non-finite value, and accept
every valid message. Prints one line per decoder: name, payloads tried, fraction accepted.
"""
import math
import sys

import numpy as np

from convq import _core
from convq import quantize as Q

DECODERS = [
    Q.SimQ(1.0), Q.SimQPlus(1.0), Q.SimQPlus(1.0, p=4, k=9), Q.SimQPlus(1.0, p=2, k=2), Q.SimQPlus(1.0, p=math.inf),
    Q.SimQPlus(1.0, p=2, k=300), Q.CUQ(1.0, 5), Q.RATQ(1.0, levels=8, h=5, s=3),
    Q.RATQ(1.0), Q.LpQuantizer(1.5, 1.0), Q.LpQuantizer(1.9, 2.0), Q.LpQuantizer(1.0, 1.0), Q.QSGD(3), Q.TernGrad(),
    Q.ScaledSign(), Q.TopK(4), Q.RandK(4), Q.Identity(), Q.Identity("float32"),
    Q.CoordinateSampling(Q.LpQuantizer(1.5, 1.0), 3),
]
# composites decoded in Python (the AGUQ's top range kept small, so that gain * shape stays finite)
COMPOSITES = [Q.GainShape(Q.SimQ(1.0)), Q.GainShape(Q.RATQ(1.0, levels=8, h=5, s=3), gain=Q.AGUQ(2.0, levels=5, h=40))]
DIMS = [1, 2, 3, 7, 33, 100]
# the l_p composite also where its windowed RATQ part has two windows with 64 raw signs
# (d = 193 for p = 1.5) and a 64-bit seed (d = 385)
LP_DIMS = [193, 385]


def admissible(q, d, rng, n):
    Y = rng.standard_normal((n, d)) * rng.exponential(1.0, (n, 1))
    Y[: n // 4] *= rng.random((n // 4, d)) < 0.2  # sparse rows
    if isinstance(q, Q.SimQ):
        order, bound = 1.0, q.B
    elif isinstance(q, (Q.SimQPlus, Q.LpQuantizer, Q.CoordinateSampling)):
        order, bound = q.norm_order, q.bound
    elif isinstance(q, Q.CUQ):
        order, bound = math.inf, q.M
    elif isinstance(q, Q.RATQ):
        order, bound = 2.0, q.B
    else:
        return Y * rng.exponential(10.0, (n, 1)) if isinstance(q, Q.GainShape) else Y
    A = np.abs(Y)
    nrm = A.max(axis=1) if math.isinf(order) else (A ** order).sum(axis=1) ** (1 / order)
    nrm[nrm == 0] = 1.0
    return Y / nrm[:, None] * bound * rng.uniform(0.3, 1.0, (n, 1))


def decode_many(q, P, d):
    """Status per payload row (0 OK, 5 DecodeError): the C batch decoder, or q.decode for a
    composite without a C kernel of its own (GainShape, CoordinateSampling; accepted outputs
    must be finite)."""
    if q._spec is not None:
        return _core._q_decode_many(q._spec, P, d)
    st = np.zeros(P.shape[0], dtype=np.int64)
    for i, row in enumerate(P):
        try:
            out = q.decode(row.tobytes(), d)
        except Q.DecodeError:
            st[i] = 5
            continue
        assert np.all(np.isfinite(out)), (q, d, "an accepted payload decoded to a non-finite value")
    return st


def fuzz(q, per_decoder, rng):
    tried = accepted = 0
    dims = DIMS + LP_DIMS if isinstance(q, Q.LpQuantizer) else DIMS
    per_d = max(1, per_decoder // len(dims))
    for d in dims:
        nbytes = (q.bits(d) + 7) // 8
        Y = admissible(q, d, rng, 64)
        valid = np.stack([np.frombuffer(m.payload, np.uint8) for m in q.encode_batch(Y, rng=rng)])
        st = decode_many(q, valid, d)
        assert (st == 0).all(), (q, d, "a valid message was rejected", st)
        n = per_d
        P = valid[rng.integers(0, valid.shape[0], n)].copy()
        nb_bits = nbytes * 8
        kind = rng.integers(0, 10, n)
        # 0-5: 1-4 bit flips; 6: random bytes; 7: random tail; 8: all zero; 9: all ones
        for f in range(4):
            rows = np.flatnonzero((kind <= 5) & (f <= kind % 4))
            pos = rng.integers(0, nb_bits, rows.size)
            P[rows, pos // 8] ^= (1 << (pos % 8)).astype(np.uint8)
        rows = np.flatnonzero(kind == 6)
        P[rows] = rng.integers(0, 256, (rows.size, nbytes), dtype=np.uint8)
        rows = np.flatnonzero(kind == 7)
        for r in rows:
            cut = rng.integers(0, nbytes)
            P[r, cut:] = rng.integers(0, 256, nbytes - cut, dtype=np.uint8)
        P[kind == 8] = 0
        P[kind == 9] = 255
        st = decode_many(q, P, d)
        bad = np.setdiff1d(np.unique(st), [0, 5])
        assert bad.size == 0, (q, d, "decoder returned status", bad)
        tried += n
        accepted += int((st == 0).sum())
        # wrong lengths are always rejected
        for delta in (-1, 1):
            if nbytes + delta < 0:
                continue
            W = rng.integers(0, 256, (200, nbytes + delta), dtype=np.uint8)
            st = decode_many(q, W, d)
            assert (st == 5).all(), (q, d, "wrong length accepted")
            tried += 200
    return tried, accepted


def main():
    per_decoder = int(sys.argv[1])
    rng = np.random.default_rng(2026)
    for q in DECODERS + COMPOSITES:
        tried, accepted = fuzz(q, per_decoder, rng)
        print(f"{q!r}\t{tried}\t{accepted / tried:.4f}")
    print("FUZZ OK")


if __name__ == "__main__":
    main()
