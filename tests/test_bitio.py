"""The LSB-first bit writer/reader (csrc/core/cq_bitio.h)."""
import numpy as np
import pytest

from convq import DecodeError
from convq.coding import pack_fields, unpack_fields

pytestmark = pytest.mark.c_heavy


def _reference_bits(values, widths):
    """Slow twin: the bit sequence, LSB of each field first."""
    bits = []
    for v, w in zip(values, widths):
        bits.extend((int(v) >> i) & 1 for i in range(int(w)))
    return np.array(bits, dtype=np.uint8)


@pytest.mark.parametrize("width", range(1, 33))
def test_round_trip_every_width(width, rng):
    n = 257
    values = rng.integers(0, 2**width, size=n, dtype=np.int64)
    values[:2] = [0, 2**width - 1]
    payload, nbits = pack_fields(values, np.full(n, width))
    assert nbits == n * width
    assert len(payload) == (nbits + 7) // 8
    np.testing.assert_array_equal(unpack_fields(payload, nbits, np.full(n, width)), values)
    golden = np.packbits(_reference_bits(values, [width] * n), bitorder="little").tobytes()
    assert payload == golden


def test_mixed_widths_golden_bytes(rng):
    widths = rng.integers(1, 33, size=1000)
    values = np.array([rng.integers(0, 2**int(w)) for w in widths], dtype=np.int64)
    payload, nbits = pack_fields(values, widths)
    assert payload == np.packbits(_reference_bits(values, widths), bitorder="little").tobytes()
    np.testing.assert_array_equal(unpack_fields(payload, nbits, widths), values)


def test_known_bytes():
    # 3 in 2 bits, 1 in 3 bits, 5 in 4 bits -> bits 1,1 | 1,0,0 | 1,0,1,0 -> 0b0_1_0_0_1_1_1 ...
    payload, nbits = pack_fields([3, 1, 5], [2, 3, 4])
    assert nbits == 9
    assert payload == bytes([0b10100111, 0b0])


def test_truncated_message_rejected():
    payload, nbits = pack_fields([5, 6], [8, 8])
    with pytest.raises(DecodeError, match="truncated"):
        unpack_fields(payload, nbits, [8, 8, 8])


def test_wrong_payload_length_rejected():
    payload, nbits = pack_fields([5, 6], [8, 8])
    with pytest.raises(DecodeError, match="bytes"):
        unpack_fields(payload + b"\0", nbits, [8, 8])
    with pytest.raises(DecodeError, match="bytes"):
        unpack_fields(payload[:1], nbits, [8, 8])


def test_unread_bits_rejected():
    payload, nbits = pack_fields([5, 6], [8, 8])
    with pytest.raises(DecodeError, match="use"):
        unpack_fields(payload, nbits, [8])


def test_nonzero_padding_rejected():
    payload, nbits = pack_fields([1], [3])
    bad = bytes([payload[0] | 0x80])
    with pytest.raises(DecodeError, match="padding"):
        unpack_fields(bad, nbits, [3])


def test_values_must_fit_width():
    with pytest.raises(ValueError, match="does not fit"):
        pack_fields([8], [3])
    with pytest.raises(ValueError, match="1..32"):
        pack_fields([1], [33])
    with pytest.raises(TypeError):
        pack_fields([1.5], [3])
