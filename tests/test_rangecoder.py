"""The fixed-weight range coder (csrc/core/cq_rangecoder.h).

Stated constant: the code of a length-N string with K ones (0 < K < N) has exactly
fixed_weight_bits(N, K) = ceil(log2 C(N,K) + 1e-6) + 1 <= ceil(log2 C(N,K)) + 2 bits.
"""
import itertools
import math

import numpy as np
import pytest

from convq import DecodeError
from convq.coding import decode_fixed_weight, encode_fixed_weight, fixed_weight_bits, log2_binomial

pytestmark = pytest.mark.c_heavy

CONSTANT = 2


def test_exhaustive_round_trip_n_up_to_16():
    for n in range(0, 17):
        for k in range(n + 1):
            bound = 0 if k in (0, n) else math.ceil(math.log2(math.comb(n, k))) + CONSTANT
            codes = set()
            for ones in itertools.combinations(range(n), k):
                s = np.zeros(n, np.uint8)
                s[list(ones)] = 1
                payload, nbits = encode_fixed_weight(s)
                assert nbits == fixed_weight_bits(n, k) <= bound
                np.testing.assert_array_equal(decode_fixed_weight(payload, n, k), s)
                codes.add(payload)
            assert len(codes) == math.comb(n, k)  # a bijection onto its codes


@pytest.mark.parametrize("k", [1, 2, 17, 1000, 999_999, 1_000_000, 1_999_000, 1_999_999])
def test_large_random_strings(k):
    n = 2_000_000
    rng = np.random.default_rng(k)
    s = np.zeros(n, np.uint8)
    s[rng.choice(n, size=k, replace=False)] = 1
    payload, nbits = encode_fixed_weight(s)
    assert nbits == fixed_weight_bits(n, k)
    assert nbits <= math.ceil(log2_binomial(n, k)) + CONSTANT
    np.testing.assert_array_equal(decode_fixed_weight(payload, n, k), s)


def test_log2_binomial_matches_exact():
    for n, k in [(10, 3), (60, 30), (61, 30), (1000, 10), (10**6, 12345)]:
        assert log2_binomial(n, k) == pytest.approx(
            (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2), rel=1e-12)
    assert log2_binomial(60, 30) == pytest.approx(math.log2(math.comb(60, 30)), rel=1e-15)


def test_forced_strings_cost_nothing():
    assert encode_fixed_weight(np.zeros(5, np.uint8)) == (b"", 0)
    assert encode_fixed_weight(np.ones(5, np.uint8)) == (b"", 0)
    np.testing.assert_array_equal(decode_fixed_weight(b"", 5, 5), np.ones(5, np.uint8))


def test_non_canonical_codes_rejected():
    # Every one of the 2^nbits field values decodes to a valid string or is rejected;
    # exactly C(n, k) of them are accepted (the canonical codes).
    n, k = 9, 4
    nbits = fixed_weight_bits(n, k)
    accepted = 0
    for v in range(2**nbits):
        payload = int(v).to_bytes((nbits + 7) // 8, "little")
        try:
            s = decode_fixed_weight(payload, n, k)
        except DecodeError:
            continue
        accepted += 1
        assert s.sum() == k
        assert encode_fixed_weight(s)[0] == payload
    assert accepted == math.comb(n, k)


def test_fuzz_random_payloads_never_crash():
    rng = np.random.default_rng(0)
    for _ in range(3000):
        n = int(rng.integers(2, 300))
        k = int(rng.integers(1, n))
        nbits = fixed_weight_bits(n, k)
        length = (nbits + 7) // 8 + int(rng.integers(-1, 2))
        payload = rng.integers(0, 256, size=max(length, 0), dtype=np.uint8).tobytes()
        try:
            s = decode_fixed_weight(payload, n, k)
            assert s.sum() == k
        except DecodeError:
            pass


def test_bad_arguments():
    with pytest.raises(ValueError, match="only 0 and 1"):
        encode_fixed_weight([0, 2, 1])
    with pytest.raises(ValueError):
        decode_fixed_weight(b"\0", 3, 4)
    with pytest.raises(DecodeError, match="bytes"):
        decode_fixed_weight(b"\0\0\0\0\0", 10, 3)
