"""Bit-level coding primitives used by every convq message.

Format (see ``csrc/core/cq_bitio.h``): fields are written least-significant-bit first into
bytes; a message of ``nbits`` bits occupies ``ceil(nbits / 8)`` bytes whose unused high
bits are zero. ``numpy.packbits(bits, bitorder="little")`` of the bit sequence gives the
same bytes.

The fixed-weight coder (``csrc/core/cq_rangecoder.h``) codes a length-``n`` binary string with
exactly ``k`` ones by a binary range coder with P(one) = ones_left / positions_left: an
exact enumerative code in at most ``ceil(log2 C(n, k)) + 2`` bits (SimQ+ codes its
sample types this way). Decoders treat payloads as untrusted and raise
:class:`convq.DecodeError` on anything malformed.
"""
from __future__ import annotations

import numpy as np

from . import _core
from ._errors import DecodeError
from ._validation import check_int

# Lengths cross into C as uint64 counts of bits: anything at or above 2^63 is refused
# here (a ValueError) instead of wrapping around.
MAX_LENGTH = 2**63 - 1

__all__ = [
    "pack_fields",
    "unpack_fields",
    "fixed_weight_bits",
    "encode_fixed_weight",
    "decode_fixed_weight",
    "log2_binomial",
    "DecodeError",
]


def payload_bytes(payload) -> bytes:
    """A payload (bytes-like or 1-D uint8 array) as bytes."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    arr = np.asarray(payload)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise TypeError(f"payload must be bytes or a 1-D uint8 array, got {type(payload).__name__}")
    return arr.tobytes()


def field_widths(widths) -> np.ndarray:
    """Field widths as a 1-D int64 array, each in 1..32 bits (shared with the twin)."""
    arr = np.asarray(widths)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"widths must be integers, got {type(widths).__name__} of dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"widths must be a 1-D sequence of field widths, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size and arr.max() > 32:
        raise ValueError(f"widths must be in 1..32 bits, got {int(arr.max())}")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    bad = np.flatnonzero((arr < 1) | (arr > 32))
    if bad.size:
        raise ValueError(f"widths must be in 1..32 bits, got widths[{bad[0]}] = {arr[bad[0]]}")
    return arr


def field_values(values, widths) -> np.ndarray:
    """Field values as a 1-D int64 array, values[i] in [0, 2^widths[i]) (shared with the twin)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"values must be integers, got {type(values).__name__} of dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"values must be a 1-D sequence of field values, got shape {arr.shape}")
    if arr.size != widths.size:
        raise ValueError(f"values and widths must have the same length, got {arr.size} values and {widths.size} widths")
    if arr.dtype.kind == "u" and arr.size and arr.max() > 2**32:
        i = int(np.argmax(arr))
        raise ValueError(f"values[{i}] = {int(arr[i])} does not fit in widths[{i}] = {int(widths[i])} bits")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    bad = np.flatnonzero((arr < 0) | (arr >= (np.int64(1) << widths)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"values[{i}] = {int(arr[i])} does not fit in widths[{i}] = {int(widths[i])} bits")
    return arr


def pack_fields(values, widths) -> tuple[bytes, int]:
    """Pack unsigned integer fields LSB-first.

    Parameters
    ----------
    values : array_like of int
        Non-negative integers, ``values[i] < 2**widths[i]``.
    widths : array_like of int
        Field widths in 1..32 bits.

    Returns
    -------
    payload : bytes
        ``ceil(nbits / 8)`` bytes, zero padding bits.
    nbits : int
        ``sum(widths)``.
    """
    widths = field_widths(widths)
    values = field_values(values, widths)
    payload, nbits = _core._bits_write(values, widths)
    return payload, int(nbits)


def unpack_fields(payload, nbits: int, widths) -> np.ndarray:
    """Inverse of :func:`pack_fields`; raises DecodeError on a wrong payload length,
    fields that do not fill exactly ``nbits`` bits, or non-zero padding."""
    nbits = check_int(nbits, "nbits", minimum=0, maximum=MAX_LENGTH)
    widths = field_widths(widths)
    return _core._bits_read(payload_bytes(payload), nbits, widths)


def log2_binomial(n: int, k: int) -> float:
    """log2 of the binomial coefficient C(n, k)."""
    n = check_int(n, "n", minimum=0, maximum=MAX_LENGTH)
    k = check_int(k, "k", minimum=0, maximum=n)
    return float(_core._log2_binom(n, k))


def fixed_weight_bits(n: int, k: int) -> int:
    """Length in bits of the fixed-weight code of a length-``n`` string with ``k`` ones:
    0 if the string is forced (k = 0 or k = n), else ``ceil(log2 C(n,k) + 1e-6) + 1``,
    which is at most ``ceil(log2 C(n, k)) + 2``."""
    n = check_int(n, "n", minimum=0, maximum=MAX_LENGTH)
    k = check_int(k, "k", minimum=0, maximum=n)
    return int(_core._fwrc_field_bits(n, k))


def as_bit_string(bits) -> np.ndarray:
    """``bits`` as a C-contiguous uint8 0/1 vector (TypeError / ValueError otherwise)."""
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ValueError(f"bits must be 1-dimensional, got shape {arr.shape}")
    if arr.dtype.kind not in "iub":
        raise TypeError(f"bits must be integers 0/1, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise ValueError("bits must contain only 0 and 1")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def encode_fixed_weight(bits) -> tuple[bytes, int]:
    """Code a 0/1 string by the fixed-weight range coder.

    Returns ``(payload, nbits)`` with ``nbits == fixed_weight_bits(len(bits), sum(bits))``.
    The decoder must be told ``n`` and ``k``.
    """
    s = as_bit_string(bits)
    payload, nbits = _core._fwrc_encode(s, int(s.sum(dtype=np.int64)))
    return payload, int(nbits)


def decode_fixed_weight(payload, n: int, k: int) -> np.ndarray:
    """Decode a fixed-weight code; returns a uint8 0/1 array of length ``n``.

    Raises DecodeError unless ``payload`` is exactly the canonical code of a length-n
    string with k ones (the encoder's own output)."""
    n = check_int(n, "n", minimum=0, maximum=MAX_LENGTH)
    k = check_int(k, "k", minimum=0, maximum=n)
    return _core._fwrc_decode(payload_bytes(payload), n, k)
