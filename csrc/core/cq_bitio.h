/*
 * cq_bitio.h -- header-only forward bit writer and reader, LSB-first.
 *
 * Read me first (the format every convq message uses):
 *  - Bits are appended least-significant-bit first: the first bit written is bit 0 of
 *    byte 0, the ninth is bit 0 of byte 1. A field `v` of width n is written with its
 *    bit 0 first, so a field never needs reversing and numpy.packbits(bits,
 *    bitorder="little") of the bit sequence gives the same bytes.
 *  - A message of nbits bits occupies exactly ceil(nbits/8) bytes; the unused high bits
 *    of the last byte are zero ("padding"). The reader rejects non-zero padding.
 *  - The writer keeps a 64-bit accumulator (zstd's bitstream.h idea): `put` only ORs into
 *    the accumulator; whole bytes are flushed when 32 or more bits are pending. Fields
 *    are at most 32 bits wide; wider values are written as several fields.
 *  - Both sides know the buffer size up front and never touch memory outside it:
 *    overflow (writer) and truncation (reader) are sticky error flags, checked once.
 */
#ifndef CQ_BITIO_H
#define CQ_BITIO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/cq_common.h"

typedef struct cq_bitwriter {
    uint64_t acc;     /* pending bits, bit 0 = next bit to store */
    unsigned nacc;    /* number of pending bits, < 32 between calls */
    uint8_t *p;       /* next byte to store */
    uint8_t *start;
    uint8_t *end;     /* one past the last byte we may write */
    int overflow;     /* set if a write would pass `end`; output then incomplete */
} cq_bitwriter;

static inline void cq_bw_init(cq_bitwriter *w, uint8_t *buf, size_t cap_bytes)
{
    w->acc = 0;
    w->nacc = 0;
    w->p = buf;
    w->start = buf;
    w->end = buf + cap_bytes;
    w->overflow = 0;
}

/* Store the whole pending bytes (nacc >> 3 of them). */
static inline void cq_bw_flush_(cq_bitwriter *w)
{
    unsigned nbytes = w->nacc >> 3;
    if ((size_t)(w->end - w->p) < nbytes) {
        w->overflow = 1;
        w->nacc = 0;
        w->acc = 0;
        return;
    }
    for (unsigned i = 0; i < nbytes; i++) w->p[i] = (uint8_t)(w->acc >> (8 * i));
    w->p += nbytes;
    w->acc = nbytes >= 8 ? 0 : w->acc >> (8 * nbytes);
    w->nacc &= 7;
}

/* Append the low n bits of v (1 <= n <= 32; bits of v above n must be zero). */
static inline void cq_bw_put(cq_bitwriter *w, uint64_t v, unsigned n)
{
    w->acc |= v << w->nacc;
    w->nacc += n;
    if (w->nacc >= 32) cq_bw_flush_(w);
}

/* Append n zero bits (any n). */
static inline void cq_bw_zeros(cq_bitwriter *w, uint64_t n)
{
    while (n >= 32) { cq_bw_put(w, 0, 32); n -= 32; }
    if (n) cq_bw_put(w, 0, (unsigned)n);
}

/* Number of bits written so far. */
static inline uint64_t cq_bw_tell(const cq_bitwriter *w)
{
    return 8u * (uint64_t)(w->p - w->start) + w->nacc;
}

/* Store the tail (zero padding up to the byte). Returns the total number of bits
 * written, or UINT64_MAX if the buffer overflowed. */
static inline uint64_t cq_bw_finish(cq_bitwriter *w)
{
    uint64_t nbits = cq_bw_tell(w);
    w->nacc = (w->nacc + 7) & ~7u;
    cq_bw_flush_(w);
    return w->overflow ? UINT64_MAX : nbits;
}

typedef struct cq_bitreader {
    const uint8_t *buf;
    uint64_t nbits;   /* message length in bits; buffer holds ceil(nbits/8) bytes */
    uint64_t pos;     /* next bit to read */
    int truncated;    /* set if a read went past nbits; reads then return zeros */
} cq_bitreader;

static inline void cq_br_init(cq_bitreader *r, const uint8_t *buf, uint64_t nbits)
{
    r->buf = buf;
    r->nbits = nbits;
    r->pos = 0;
    r->truncated = 0;
}

/* Read an n-bit field (1 <= n <= 32). */
static inline uint32_t cq_br_get(cq_bitreader *r, unsigned n)
{
    if (r->pos + n > r->nbits) {
        r->truncated = 1;
        r->pos = r->nbits;
        return 0;
    }
    uint64_t byte = r->pos >> 3;
    unsigned shift = (unsigned)(r->pos & 7);
    uint64_t nbytes_total = (r->nbits + 7) >> 3;
    uint64_t x = 0;
    if (nbytes_total - byte >= 8) {
        /* Fast path: eight bytes in little-endian order. */
        for (unsigned i = 0; i < 8; i++) x |= (uint64_t)r->buf[byte + i] << (8 * i);
    } else {
        for (unsigned i = 0; byte + i < nbytes_total; i++) x |= (uint64_t)r->buf[byte + i] << (8 * i);
    }
    r->pos += n;
    return (uint32_t)((x >> shift) & ((n == 32) ? 0xFFFFFFFFull : ((1ull << n) - 1)));
}

/* Skip n bits. */
static inline void cq_br_skip(cq_bitreader *r, uint64_t n)
{
    if (r->pos + n > r->nbits) { r->truncated = 1; r->pos = r->nbits; return; }
    r->pos += n;
}

/* Non-zero if the padding bits after nbits (up to the byte boundary) are all zero. */
static inline int cq_br_padding_ok(const cq_bitreader *r)
{
    unsigned used = (unsigned)(r->nbits & 7);
    if (used == 0) return 1;
    uint8_t last = r->buf[(r->nbits >> 3)];
    return (last >> used) == 0;
}

/* The checks every decoder makes once a message is read: CQ_EDECODE (with the reason in
 * err) if the reader ran past nbits, left bits unread, or found non-zero padding;
 * CQ_OK otherwise. */
static inline int cq_br_check_end(const cq_bitreader *r, cq_errinfo *err)
{
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "message truncated: fields need more than its %llu bits",
                                     (unsigned long long)r->nbits);
    if (r->pos != r->nbits)
        return cq_fail(err, CQ_EDECODE, "message has %llu bits, fields use %llu", (unsigned long long)r->nbits,
                       (unsigned long long)r->pos);
    if (!cq_br_padding_ok(r))
        return cq_fail(err, CQ_EDECODE, "non-zero padding bits after bit %llu", (unsigned long long)r->nbits);
    return CQ_OK;
}

#endif /* CQ_BITIO_H */
