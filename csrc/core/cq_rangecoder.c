/* cq_rangecoder.c -- field lengths and whole-string helpers; see cq_rangecoder.h. */
#include <math.h>
#include "core/cq_rangecoder.h"

double cq_log2_binom(uint64_t n, uint64_t k)
{
    if (k > n) return -INFINITY;
    if (k > n - k) k = n - k;
    if (k == 0) return 0.0;
    if (n <= 60) {
        /* Exact: C(n, k) < 2^60 fits, computed by the multiplicative formula. */
        uint64_t c = 1;
        for (uint64_t i = 1; i <= k; i++) c = c * (n - k + i) / i;
        return log2((double)c);
    }
    return (lgamma((double)n + 1.0) - lgamma((double)k + 1.0) - lgamma((double)(n - k) + 1.0))
           / log(2.0);
}

uint64_t cq_fwrc_field_bits(uint64_t n, uint64_t k)
{
    if (k == 0 || k >= n) return 0;
    /* The 1e-6 guard absorbs lgamma's rounding (< 1e-8 bits for n < 2^32) so that a
     * value of log2 C(n,k) just below an integer never rounds the field short. */
    return (uint64_t)ceil(cq_log2_binom(n, k) + 1e-6) + 1;
}

int cq_fwrc_encode(const uint8_t *s, uint64_t n, uint64_t k, cq_bitwriter *w, cq_errinfo *err)
{
    uint64_t field = cq_fwrc_field_bits(n, k);
    uint64_t start = cq_bw_tell(w), ones = k;
    cq_rc_encoder e;
    cq_rc_enc_init(&e, w);
    for (uint64_t i = 0; i < n; i++) {
        int bit = s[i] != 0;
        if (bit && ones == 0)
            return cq_fail(err, CQ_EINVAL, "string has more than k=%llu ones", (unsigned long long)k);
        cq_rc_enc_bit(&e, bit, ones, n - i);
        ones -= (uint64_t)bit;
    }
    if (ones != 0)
        return cq_fail(err, CQ_EINVAL, "string has fewer than k=%llu ones", (unsigned long long)k);
    uint64_t used = cq_rc_enc_finish(&e);
    if (used > field)
        return cq_fail(err, CQ_EINTERNAL, "range coder used %llu bits, field has %llu",
                       (unsigned long long)used, (unsigned long long)field);
    cq_bw_zeros(w, field - used);
    if (w->overflow) return cq_fail(err, CQ_EOVERFLOW, "output buffer too small");
    (void)start;
    return CQ_OK;
}

int cq_fwrc_decode(cq_bitreader *r, uint64_t n, uint64_t k, uint8_t *s, cq_errinfo *err)
{
    uint64_t field = cq_fwrc_field_bits(n, k);
    uint64_t start = r->pos;
    if (start + field > r->nbits)
        return cq_fail(err, CQ_EDECODE, "message truncated: range-coded field needs %llu bits, %llu left",
                       (unsigned long long)field, (unsigned long long)(r->nbits - start));
    cq_rc_decoder d;
    cq_rc_dec_init(&d, r, field);
    if (d.bad) return cq_fail(err, CQ_EDECODE, "range-coded field is not a valid code");
    uint64_t ones = k;
    for (uint64_t i = 0; i < n; i++) {
        int bit = cq_rc_dec_bit(&d, ones, n - i);
        s[i] = (uint8_t)bit;
        ones -= (uint64_t)bit;
    }
    if (!cq_rc_dec_canonical(&d))
        return cq_fail(err, CQ_EDECODE, "range-coded field is not the canonical code of a weight-%llu string",
                       (unsigned long long)k);
    cq_rc_dec_finish(&d);
    return CQ_OK;
}
