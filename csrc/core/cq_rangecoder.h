/*
 * cq_rangecoder.h -- exact enumerative code for fixed-weight binary strings by a
 * binary range coder.
 *
 * Read me first:
 *  - Problem: code a string s of length N with exactly K ones. Position i is coded with
 *    P(one) = ones_left / positions_left, so the product of the coded probabilities is
 *    exactly 1 / C(N, K): an enumerative code (Cover 1973) without big integers.
 *    Positions where the symbol is forced (no ones left, or only ones left) cost nothing.
 *  - State: `range` in [2^56, 2^64) after each symbol (renormalised a byte at a time),
 *    `low` a 65-bit value (64 bits + `carry`), LZMA-style carry handling with one cached
 *    byte and a count of pending 0xFF bytes. The split is r1 = floor(range / n) * a,
 *    whose rounding loss is at most n / 2^56 of the range: far below one bit in total
 *    for any N < 2^24.
 *  - The one-symbol takes the upper part [r0, range) of the interval.
 *  - Termination is bit-exact: the final value is low rounded up to a multiple of
 *    2^j, j = floor(log2 range), so only the top 64 - j <= 8 bits of the last window
 *    are sent. Total length < log2 C(N, K) + 1 + 2^-20 bits; see cq_fwrc_field_bits.
 *  - Output bytes go into a cq_bitwriter MSB-first within each byte (bit 7 first), so
 *    that a code truncated after its last significant bit is followed by zero bits in
 *    the LSB-first stream; the decoder reads bits the same way and sees zeros past
 *    the field's end.
 *  - Canonical check without re-encoding (cq_rc_dec_canonical): the encoder sends
 *    V = low rounded up to a multiple of 2^j, j = floor(log2 range), i.e. the unique
 *    multiple of 2^j in [low, low + 2^j), as its first L = 8 shifts + 64 - j bits, then
 *    zeros. The decoder ends with code = V - low and the same range and shift count, so
 *    the field is the encoder's own output iff code < 2^j and every field bit from L on
 *    is zero. Every other field value is rejected.
 */
#ifndef CQ_RANGECODER_H
#define CQ_RANGECODER_H

#include <stdint.h>
#include "core/cq_bitio.h"
#include "core/cq_common.h"

#define CQ_RC_TOP ((uint64_t)1 << 56)

/* Reverse the bits of a byte (MSB-first bytes inside the LSB-first stream). */
static inline uint8_t cq_rev8(uint8_t b)
{
    b = (uint8_t)(((b & 0xF0u) >> 4) | ((b & 0x0Fu) << 4));
    b = (uint8_t)(((b & 0xCCu) >> 2) | ((b & 0x33u) << 2));
    b = (uint8_t)(((b & 0xAAu) >> 1) | ((b & 0x55u) << 1));
    return b;
}

/* cq_rev8 as a table (the decoder's renormalisation reads a byte per step). */
static const uint8_t cq_rc_rev8_tab_[256] = {
    0x00, 0x80, 0x40, 0xC0, 0x20, 0xA0, 0x60, 0xE0, 0x10, 0x90, 0x50, 0xD0, 0x30, 0xB0, 0x70, 0xF0,
    0x08, 0x88, 0x48, 0xC8, 0x28, 0xA8, 0x68, 0xE8, 0x18, 0x98, 0x58, 0xD8, 0x38, 0xB8, 0x78, 0xF8,
    0x04, 0x84, 0x44, 0xC4, 0x24, 0xA4, 0x64, 0xE4, 0x14, 0x94, 0x54, 0xD4, 0x34, 0xB4, 0x74, 0xF4,
    0x0C, 0x8C, 0x4C, 0xCC, 0x2C, 0xAC, 0x6C, 0xEC, 0x1C, 0x9C, 0x5C, 0xDC, 0x3C, 0xBC, 0x7C, 0xFC,
    0x02, 0x82, 0x42, 0xC2, 0x22, 0xA2, 0x62, 0xE2, 0x12, 0x92, 0x52, 0xD2, 0x32, 0xB2, 0x72, 0xF2,
    0x0A, 0x8A, 0x4A, 0xCA, 0x2A, 0xAA, 0x6A, 0xEA, 0x1A, 0x9A, 0x5A, 0xDA, 0x3A, 0xBA, 0x7A, 0xFA,
    0x06, 0x86, 0x46, 0xC6, 0x26, 0xA6, 0x66, 0xE6, 0x16, 0x96, 0x56, 0xD6, 0x36, 0xB6, 0x76, 0xF6,
    0x0E, 0x8E, 0x4E, 0xCE, 0x2E, 0xAE, 0x6E, 0xEE, 0x1E, 0x9E, 0x5E, 0xDE, 0x3E, 0xBE, 0x7E, 0xFE,
    0x01, 0x81, 0x41, 0xC1, 0x21, 0xA1, 0x61, 0xE1, 0x11, 0x91, 0x51, 0xD1, 0x31, 0xB1, 0x71, 0xF1,
    0x09, 0x89, 0x49, 0xC9, 0x29, 0xA9, 0x69, 0xE9, 0x19, 0x99, 0x59, 0xD9, 0x39, 0xB9, 0x79, 0xF9,
    0x05, 0x85, 0x45, 0xC5, 0x25, 0xA5, 0x65, 0xE5, 0x15, 0x95, 0x55, 0xD5, 0x35, 0xB5, 0x75, 0xF5,
    0x0D, 0x8D, 0x4D, 0xCD, 0x2D, 0xAD, 0x6D, 0xED, 0x1D, 0x9D, 0x5D, 0xDD, 0x3D, 0xBD, 0x7D, 0xFD,
    0x03, 0x83, 0x43, 0xC3, 0x23, 0xA3, 0x63, 0xE3, 0x13, 0x93, 0x53, 0xD3, 0x33, 0xB3, 0x73, 0xF3,
    0x0B, 0x8B, 0x4B, 0xCB, 0x2B, 0xAB, 0x6B, 0xEB, 0x1B, 0x9B, 0x5B, 0xDB, 0x3B, 0xBB, 0x7B, 0xFB,
    0x07, 0x87, 0x47, 0xC7, 0x27, 0xA7, 0x67, 0xE7, 0x17, 0x97, 0x57, 0xD7, 0x37, 0xB7, 0x77, 0xF7,
    0x0F, 0x8F, 0x4F, 0xCF, 0x2F, 0xAF, 0x6F, 0xEF, 0x1F, 0x9F, 0x5F, 0xDF, 0x3F, 0xBF, 0x7F, 0xFF,
};

typedef struct cq_rc_encoder {
    uint64_t low;
    uint64_t range;
    int carry;          /* bit 64 of low */
    int have_cache;     /* a byte is held back in `cache` (it may still get a carry) */
    uint8_t cache;
    uint64_t pending;   /* 0xFF bytes after `cache`, also waiting for a carry */
    uint64_t nbits;     /* bits emitted so far */
    cq_bitwriter *bw;
} cq_rc_encoder;

static inline void cq_rc_emit_(cq_rc_encoder *e, uint8_t byte)
{
    cq_bw_put(e->bw, cq_rev8(byte), 8);
    e->nbits += 8;
}

static inline void cq_rc_enc_init(cq_rc_encoder *e, cq_bitwriter *bw)
{
    e->low = 0;
    e->range = UINT64_MAX;
    e->carry = 0;
    e->have_cache = 0;
    e->cache = 0;
    e->pending = 0;
    e->nbits = 0;
    e->bw = bw;
}

/* Move the top byte of low out of the window (LZMA's ShiftLow with a 65-bit low). */
static inline void cq_rc_shift_low_(cq_rc_encoder *e)
{
    uint8_t top = (uint8_t)(e->low >> 56);
    if (top != 0xFF || e->carry) {
        if (e->have_cache) cq_rc_emit_(e, (uint8_t)(e->cache + e->carry));
        for (; e->pending; e->pending--) cq_rc_emit_(e, (uint8_t)(0xFF + e->carry));
        e->cache = top;
        e->have_cache = 1;
    } else {
        e->pending++;
    }
    e->carry = 0;
    e->low <<= 8;
}

/* Code the sub-interval [start, start + width) of the current range (width >= 1,
 * start + width <= range): low += start, range = width, renormalise. Any coder that
 * splits the range into disjoint sub-intervals by its own rule (cq_rc_enc_bit below, the
 * SimQ+ gap code) shares this step, the carry handling and the termination. */
static inline void cq_rc_enc_interval(cq_rc_encoder *e, uint64_t start, uint64_t width)
{
    uint64_t old = e->low;
    e->low += start;
    e->carry |= (e->low < old);
    e->range = width;
    while (e->range < CQ_RC_TOP) {
        cq_rc_shift_low_(e);
        e->range <<= 8;
    }
}

/* Code one position: `bit` with `ones` ones among the `n` remaining positions
 * (0 <= ones <= n, n >= 1). Forced positions emit nothing. */
static inline void cq_rc_enc_bit(cq_rc_encoder *e, int bit, uint64_t ones, uint64_t n)
{
    if (ones == 0 || ones == n) return;
    uint64_t r1 = (e->range / n) * ones;
    uint64_t r0 = e->range - r1;
    if (bit) cq_rc_enc_interval(e, r0, r1);
    else cq_rc_enc_interval(e, 0, r0);
}

/* Send the shortest tail that pins a value inside [low, low + range). Returns the
 * total number of bits this encoder emitted. */
static inline uint64_t cq_rc_enc_finish(cq_rc_encoder *e)
{
    if (!e->have_cache && e->pending == 0 && e->low == 0 && e->range == UINT64_MAX) {
        return 0; /* nothing was coded: every position was forced */
    }
    unsigned j = 63;
    while (!((e->range >> j) & 1u)) j--;           /* j = floor(log2 range) >= 56 */
    uint64_t mask = ((uint64_t)1 << j) - 1;
    uint64_t sum = e->low + mask;                   /* round up to a multiple of 2^j */
    e->carry |= (sum < e->low);
    uint64_t v = sum & ~mask;
    unsigned tail = 64 - j;                         /* 1..8 significant bits left */
    if (e->have_cache) cq_rc_emit_(e, (uint8_t)(e->cache + e->carry));
    for (; e->pending; e->pending--) cq_rc_emit_(e, (uint8_t)(0xFF + e->carry));
    uint8_t top = (uint8_t)(v >> 56);
    uint8_t rev = cq_rev8(top);                     /* its top `tail` bits, MSB first */
    cq_bw_put(e->bw, rev & ((1u << tail) - 1u), tail);
    e->nbits += tail;
    return e->nbits;
}

typedef struct cq_rc_decoder {
    uint64_t code;        /* value - low, inside the window */
    uint64_t range;
    cq_bitreader *br;
    uint64_t field_start; /* bit position where the field starts */
    uint64_t field_end;   /* bit position where the field ends; zeros are read after it */
    uint64_t nshift;      /* renormalisation bytes read (= the encoder's shifts) */
    int bad;              /* code fell outside the interval: not a valid code */
} cq_rc_decoder;

static inline uint8_t cq_rc_next_byte_(cq_rc_decoder *d)
{
    cq_bitreader *r = d->br;
    if (r->pos >= d->field_end) return 0;
    if ((r->pos & 7) == 0 && r->pos + 8 <= d->field_end && r->pos + 8 <= r->nbits) { /* a whole byte */
        uint8_t b = cq_rc_rev8_tab_[r->buf[r->pos >> 3]];
        r->pos += 8;
        return b;
    }
    uint64_t avail = d->field_end - r->pos;
    unsigned n = avail >= 8 ? 8 : (unsigned)avail;
    uint32_t bits = cq_br_get(r, n);                /* MSB of the byte first */
    return cq_rev8((uint8_t)bits);
}

/* Start decoding a field of `field_bits` bits at the reader's position. */
static inline void cq_rc_dec_init(cq_rc_decoder *d, cq_bitreader *br, uint64_t field_bits)
{
    d->br = br;
    d->field_start = br->pos;
    d->field_end = br->pos + field_bits;
    d->nshift = 0;
    d->range = UINT64_MAX;
    d->code = 0;
    d->bad = 0;
    for (int i = 0; i < 8; i++) d->code = (d->code << 8) | cq_rc_next_byte_(d);
    if (d->code >= d->range) d->bad = 1;
}

/* The decoder's side of cq_rc_enc_interval: the caller has found that code lies in
 * [start, start + width); consume that sub-interval and renormalise. */
static inline void cq_rc_dec_interval(cq_rc_decoder *d, uint64_t start, uint64_t width)
{
    d->code -= start;
    d->range = width;
    while (d->range < CQ_RC_TOP) {
        d->code = (d->code << 8) | cq_rc_next_byte_(d);
        d->range <<= 8;
        d->nshift++;
    }
}

static inline int cq_rc_dec_bit(cq_rc_decoder *d, uint64_t ones, uint64_t n)
{
    if (ones == 0) return 0;
    if (ones == n) return 1;
    uint64_t r1 = (d->range / n) * ones;
    uint64_t r0 = d->range - r1;
    int bit = d->code >= r0;
    if (bit) cq_rc_dec_interval(d, r0, r1);
    else cq_rc_dec_interval(d, 0, r0);
    return bit;
}

/* After the last symbol (before cq_rc_dec_finish): non-zero iff the field is exactly the
 * encoder's output for the decoded string (see the read-me-first note). */
static inline int cq_rc_dec_canonical(const cq_rc_decoder *d)
{
    uint64_t field_bits = d->field_end - d->field_start, L = 0;
    if (!(d->range == UINT64_MAX && d->nshift == 0)) { /* some symbol was coded */
        unsigned j = 63;
        while (!((d->range >> j) & 1u)) j--;
        if (d->code >> j) return 0;                 /* code >= 2^j: V is not low rounded up */
        L = 8u * d->nshift + 64u - j;
    }
    if (L > field_bits) return 0;
    cq_bitreader b = *d->br;                        /* the tail of the field must be zeros */
    b.pos = d->field_start + L;
    for (uint64_t left = field_bits - L; left > 0;) {
        unsigned m = left >= 32 ? 32 : (unsigned)left;
        if (cq_br_get(&b, m) != 0) return 0;
        left -= m;
    }
    return 1;
}

/* Leave the reader at the end of the field. */
static inline void cq_rc_dec_finish(cq_rc_decoder *d)
{
    if (d->br->pos < d->field_end) cq_br_skip(d->br, d->field_end - d->br->pos);
}

/* Fixed field length for strings of length n with k ones:
 * 0 if k == 0 or k == n, else ceil(log2 C(n, k) + 1e-6) + 1 <= ceil(log2 C(n,k)) + 2.
 * The encoder's output is always shorter than log2 C(n,k) + 1 + 2^-20. */
uint64_t cq_fwrc_field_bits(uint64_t n, uint64_t k);

/* log2 C(n, k) in double precision (lgamma; exact-integer path for n <= 60). */
double cq_log2_binom(uint64_t n, uint64_t k);

/* Whole-string helpers (tests, benchmarks and simple callers).
 * encode: s[0..n) in {0,1} with exactly k ones -> field of cq_fwrc_field_bits(n,k) bits
 * appended to w (zero-padded to the field length).
 * decode: reads the field from r into s[0..n); CQ_EDECODE if the field is not the
 * canonical code of a string with k ones. */
int cq_fwrc_encode(const uint8_t *s, uint64_t n, uint64_t k, cq_bitwriter *w, cq_errinfo *err);
int cq_fwrc_decode(cq_bitreader *r, uint64_t n, uint64_t k, uint8_t *s, cq_errinfo *err);

#endif /* CQ_RANGECODER_H */
