"""Fuzz worker for convq.coding's two decoders (run by tests/test_coding_fuzz.py in a
subprocess, so that a crash fails the test instead of killing pytest).

For the fixed-weight range decoder and the bit-field reader it feeds random and mutated
payloads (valid codes with one flipped bit, truncated or extended by a byte, random bytes of
the right length) and checks what a decoder may do: raise DecodeError, or return a value
that the encoder maps back to the very same payload (the code is canonical, so an accepted
payload is the encoder's own output). Valid codes must always be accepted.

Usage: python fuzz_coding_worker.py N   (N payloads per decoder at least)
"""
import sys

import numpy as np

from convq import DecodeError, coding


def _flipped(good, count, rng):
    """count copies of the payload good, each with one random bit flipped (unchanged if empty)."""
    out = []
    for _ in range(count):
        b = bytearray(good)
        if b:
            i = int(rng.integers(0, 8 * len(b)))
            b[i // 8] ^= 1 << (i % 8)
        out.append(bytes(b))
    return out


def _accepted(cands, decode):
    """The (candidate, decoded value) pairs among cands that decode does not refuse."""
    for c in cands:
        try:
            out = decode(c)
        except DecodeError:
            continue
        yield c, out


def fuzz_fixed_weight(n_payloads, rng):
    tried = accepted = 0
    while tried < n_payloads:
        n = int(rng.integers(1, 200))
        k = int(rng.integers(0, n + 1))
        s = np.zeros(n, np.uint8)
        s[rng.choice(n, k, replace=False)] = 1
        payload, nbits = coding.encode_fixed_weight(s)
        assert np.array_equal(coding.decode_fixed_weight(payload, n, k), s), "valid code rejected or changed"
        good = bytearray(payload)
        cands = _flipped(good, 8, rng)
        cands += [bytes(good[:-1]), bytes(good) + bytes([int(rng.integers(0, 256))]),
                  rng.bytes(len(good)), rng.bytes(len(good))]
        tried += len(cands)
        for c, out in _accepted(cands, lambda c: coding.decode_fixed_weight(c, n, k)):
            accepted += 1
            assert out.shape == (n,) and int(out.sum()) == k and set(np.unique(out)) <= {0, 1}
            again, nb = coding.encode_fixed_weight(out)
            assert again == c and nb == nbits, "an accepted payload is not the encoder's own output"
    return tried, accepted


def fuzz_fields(n_payloads, rng):
    tried = accepted = 0
    while tried < n_payloads:
        m = int(rng.integers(1, 40))
        widths = rng.integers(1, 33, m)
        values = (rng.integers(0, 2**32, m, dtype=np.uint64) & ((np.uint64(1) << widths.astype(np.uint64)) - np.uint64(1)))
        payload, nbits = coding.pack_fields(values, widths)
        assert np.array_equal(coding.unpack_fields(payload, nbits, widths), values)
        good = bytearray(payload)
        cands = [(bytes(good[:-1]), nbits), (bytes(good) + b"\x00", nbits), (rng.bytes(len(good)), nbits),
                 (bytes(good), nbits + int(rng.integers(1, 9))), (bytes(good), max(0, nbits - int(rng.integers(1, 9))))]
        cands += [(c, nbits) for c in _flipped(good, 5, rng)]
        tried += len(cands)
        for (c, nb), out in _accepted(cands, lambda c: coding.unpack_fields(c[0], c[1], widths)):
            accepted += 1
            again, nb2 = coding.pack_fields(out, widths)
            assert again == c and nb2 == nb, "an accepted payload is not the packer's own output"
    return tried, accepted


def main():
    n = int(sys.argv[1])
    rng = np.random.default_rng(2026)
    for name, f in (("decode_fixed_weight", fuzz_fixed_weight), ("unpack_fields", fuzz_fields)):
        tried, accepted = f(n, rng)
        print(f"{name}\t{tried}\t{accepted / tried:.4f}")
    print("FUZZ OK")


if __name__ == "__main__":
    main()
