"""Slow NumPy/Python twins of :mod:`convq.coding` (bit fields and the fixed-weight coder).

The fixed-weight range coder is replayed with Python integers: ``low`` is kept at full
precision, so the carry propagation of the C coder (LZMA's cache byte and pending 0xFF
bytes, ``csrc/core/cq_rangecoder.h``) is simply integer addition. Position i with
``a`` ones among ``m`` remaining positions splits the range ``R`` as
``r1 = floor(R / m) a`` (the one-symbol, upper part) and ``r0 = R - r1``; the range is
renormalised a byte at a time below 2^56; the code ends with the value ``low`` rounded up
to a multiple of 2^j, j = floor(log2 R), sent MSB-first up to its last significant bit.
"""
from __future__ import annotations

import math

import numpy as np

from .._errors import DecodeError
from .._validation import check_int
from ..coding import MAX_LENGTH, as_bit_string, field_values, field_widths, payload_bytes

_TOP = 1 << 56


def _bits_of(values, widths):
    out = []
    for v, w in zip(values, widths):
        out.extend((int(v) >> i) & 1 for i in range(int(w)))
    return np.array(out, dtype=np.uint8)


def pack_fields(values, widths):
    widths = field_widths(widths)
    values = field_values(values, widths)
    bits = _bits_of(values, widths)
    return np.packbits(bits, bitorder="little").tobytes(), int(widths.sum())


def unpack_fields(payload, nbits, widths):
    nbits = check_int(nbits, "nbits", minimum=0, maximum=MAX_LENGTH)
    widths = field_widths(widths)
    payload = payload_bytes(payload)
    if len(payload) != (nbits + 7) // 8:
        raise DecodeError("wrong payload length")
    bits = np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")
    if int(widths.sum()) > nbits:
        raise DecodeError("message truncated")
    if int(widths.sum()) != nbits:
        raise DecodeError("unread bits")
    if bits[nbits:].any():
        raise DecodeError("non-zero padding bits")
    out = np.empty(widths.size, np.int64)
    pos = 0
    for i, w in enumerate(widths):
        out[i] = sum(int(bits[pos + t]) << t for t in range(int(w)))
        pos += int(w)
    return out


def log2_binomial(n, k):
    n = check_int(n, "n", minimum=0, maximum=MAX_LENGTH)
    k = check_int(k, "k", minimum=0, maximum=n)
    return math.log2(math.comb(n, k))


def fixed_weight_bits(n, k):
    """``ceil(log2 C(n, k) + 1e-6) + 1`` (0 for a forced string), as the C coder; the
    log is taken as the C core takes it (exact below n = 61, lgamma above)."""
    n = check_int(n, "n", minimum=0, maximum=MAX_LENGTH)
    k = check_int(k, "k", minimum=0, maximum=n)
    if k == 0 or k >= n:
        return 0
    kk = min(k, n - k)
    if n <= 60:
        l2 = math.log2(float(math.comb(n, kk)))
    else:
        l2 = (math.lgamma(n + 1.0) - math.lgamma(kk + 1.0) - math.lgamma(n - kk + 1.0)) / math.log(2.0)
    return int(math.ceil(l2 + 1e-6)) + 1


class RangeEncoder:
    """The encoder of ``csrc/core/cq_rangecoder.h`` with ``low`` as a Python integer (the
    carry is integer addition): ``interval(start, width)`` is ``cq_rc_enc_interval``,
    ``bits()`` the significant bits of ``cq_rc_enc_finish``, MSB-first."""

    def __init__(self):
        self.low, self.range, self.shifts = 0, (1 << 64) - 1, 0

    def interval(self, start, width):
        self.low, self.range = self.low + start, width
        while self.range < _TOP:
            self.low, self.range, self.shifts = self.low << 8, self.range << 8, self.shifts + 1

    def bits(self):
        low, rng, shifts = self.low, self.range, self.shifts
        if shifts == 0 and low == 0 and rng == (1 << 64) - 1:
            return []                           # nothing was coded
        j = rng.bit_length() - 1
        v = ((low + (1 << j) - 1) >> j) << j
        width, used = 64 + 8 * shifts, 8 * shifts + 64 - j
        return [(v >> (width - 1 - t)) & 1 for t in range(used)]


class RangeDecoder:
    """The decoder of ``csrc/core/cq_rangecoder.h`` over a field given as its bits in
    stream order (bytes past the field read as zeros): ``code`` is the value minus
    ``low`` inside the window, ``interval`` is ``cq_rc_dec_interval``, ``canonical()``
    is ``cq_rc_dec_canonical``."""

    def __init__(self, field_bits):
        self.field = np.asarray(field_bits, np.uint8)
        self.bytes = np.packbits(self.field, bitorder="big").tobytes()   # zero-padded last byte
        self.pos, self.range, self.nshift, self.code = 0, (1 << 64) - 1, 0, 0
        for _ in range(8):
            self.code = (self.code << 8) | self._next()
        self.bad = self.code >= self.range

    def _next(self):
        b = self.bytes[self.pos] if self.pos < len(self.bytes) else 0
        self.pos += 1
        return b

    def interval(self, start, width):
        self.code, self.range = self.code - start, width
        while self.range < _TOP:
            self.code, self.range, self.nshift = (self.code << 8) | self._next(), self.range << 8, self.nshift + 1

    def canonical(self):
        L = 0
        if not (self.range == (1 << 64) - 1 and self.nshift == 0):
            j = self.range.bit_length() - 1
            if self.code >> j:
                return False
            L = 8 * self.nshift + 64 - j
        return L <= self.field.size and not self.field[L:].any()


def _code_bits(s, k):
    """The significant bits of the code of ``s`` (a list of 0/1), MSB-first."""
    n = len(s)
    enc, ones = RangeEncoder(), k
    for i, b in enumerate(s):
        m = n - i
        if 0 < ones < m:
            r1 = (enc.range // m) * ones
            r0 = enc.range - r1
            enc.interval(*((r0, r1) if b else (0, r0)))
        ones -= b
    return enc.bits()


def encode_fixed_weight(bits):
    s = [int(b) for b in as_bit_string(bits)]
    k = sum(s)
    field = fixed_weight_bits(len(s), k)
    stream = _code_bits(s, k)
    stream = np.array(stream + [0] * (field - len(stream)), dtype=np.uint8)
    return np.packbits(stream, bitorder="little").tobytes(), field


def decode_fixed_weight(payload, n, k):
    """Decode by replaying the coder against the field value, then accept only the
    canonical code (the re-encoding must give the payload back)."""
    n = check_int(n, "n", minimum=0, maximum=MAX_LENGTH)
    k = check_int(k, "k", minimum=0, maximum=n)
    payload = payload_bytes(payload)
    field = fixed_weight_bits(n, k)
    if len(payload) != (field + 7) // 8:
        raise DecodeError("wrong payload length")
    bits = np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")
    if bits[field:].any():
        raise DecodeError("non-zero padding bits")
    F = 0
    for b in bits[:field]:
        F = (F << 1) | int(b)
    low, rng, shifts, ones = 0, (1 << 64) - 1, 0, k
    out = np.zeros(n, np.uint8)
    for i in range(n):
        m = n - i
        if ones == 0:
            continue
        if ones == m:
            out[i:] = 1
            break
        r1 = (rng // m) * ones
        r0 = rng - r1
        width = 64 + 8 * shifts
        W = F >> (field - width) if field >= width else F << (width - field)
        if W >= low + r0:
            out[i] = 1
            ones -= 1
            low, rng = low + r0, r1
        else:
            rng = r0
        while rng < _TOP:
            low, rng, shifts = low << 8, rng << 8, shifts + 1
    if encode_fixed_weight(out)[0] != payload:
        raise DecodeError("not the canonical code of a fixed-weight string")
    return out
