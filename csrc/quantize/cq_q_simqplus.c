/*
 * cq_q_simqplus.c -- SimQ+ (Mayekar & Tyagi, "Limits on Gradient Compression for
 * Stochastic Optimization", section 4.2, eq. (5), Theorem 4.2).
 *
 * SimQ+(B, p, k), admissible input ||y||_q <= B (q = p/(p-1)): k independent SimQ(B')
 * draws, B' = B d^(1/p), averaged. The k draws are sorted
 * uniforms U_(1) <= ... <= U_(k) obtained from k+1 exponential spacings
 * (U_(j) = (E_0 + ... + E_(j-1)) / (E_0 + ... + E_k)), then matched against the prefix
 * sums of |y_i| in one merge walk: O(d + k). Message: the type (n_0, n_1, ..., n_d) as
 * the stars-and-bars string of length d + k with k stars (n_0 stars, bar, n_1 stars,
 * bar, ..., n_d stars), coded with the fixed-weight range coder (cq_rangecoder.h) and
 * zero-padded to its fixed field length; then one sign bit (1 = negative) per index with
 * n_i > 0, in increasing index order, zero-padded to k bits.
 *
 * The walk re-reads y after the admissibility pass; if the two reads disagree (another
 * thread wrote to y meanwhile) the draws do not all land and the call fails with
 * "the input y changed during the call" instead of emitting a wrong type.
 */
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rangecoder.h"
#include "core/cq_rng.h"

static int simqplus_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    size_t d = P->d;
    double p = q->p;
    if (!(p >= 2.0)) return cq_fail(err, CQ_EINVAL, "SimQ+ needs p in [2, inf], got %g", p);
    double invp = isinf(p) ? 0.0 : 1.0 / p;
    P->q = isinf(p) ? 1.0 : p / (p - 1.0);
    P->Bp = q->B * pow((double)d, invp);
    int64_t k = q->kind == CQ_Q_LP ? 0 : q->k;
    if (k == 0) k = (int64_t)ceil(pow((double)d, 2.0 * invp)); /* <= d <= CQ_Q_DMAX: no overflow */
    if (k < 1) return cq_fail(err, CQ_EINVAL, "SimQ+ needs k >= 1, got %lld", (long long)k);
    if ((uint64_t)k + d > ((uint64_t)1 << 24))
        return cq_fail(err, CQ_EINVAL,
                       "SimQ+ needs d + k <= 2^24 (the range coder's exactness limit), got d=%zu, k=%lld", d,
                       (long long)k);
    P->k = (uint64_t)k;
    P->type_bits = cq_fwrc_field_bits((uint64_t)d + P->k, P->k);
    P->bits = P->type_bits + P->k;
    size_t enc = P->k * sizeof(double) + cq_q_round8((P->k + 7) / 8);
    size_t dec = cq_q_round8((size_t)(P->type_bits + 7) / 8 + 8);
    P->work = enc > dec ? enc : dec;
    return CQ_OK;
}

/* ||y||_q for the admissibility check, with the sequential l1 sum the walk reproduces. */
static int simqplus_check(const cq_qpar *P, const double *y, double *l1_out, cq_errinfo *err)
{
    size_t d = P->d;
    double s1 = 0.0, s2 = 0.0;
    for (size_t i = 0; i < d; i++) {
        double a = fabs(y[i]);
        s1 += a;
        s2 += a * a;
    }
    if (!isfinite(s1) || !isfinite(s2)) {
        for (size_t t = 0; t < d; t++)
            if (!isfinite(y[t])) return cq_q_fail_nonfinite(y, d, err);
    }
    double q = P->q, nq;
    if (q == 1.0) nq = s1;
    else if (q == 2.0) nq = sqrt(s2);
    else {
        double mx = 0.0;
        for (size_t i = 0; i < d; i++) mx = fmax(mx, fabs(y[i]));
        nq = mx > 0 ? mx * pow(cq_q_sum_pow(y, d, mx, q), 1.0 / q) : 0.0;
    }
    if (!(nq <= P->B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "SimQ+ (p=%g) needs ||y||_q <= B = %.15g with q = %g, got ||y||_q = %.15g",
                       P->p, P->B, q, nq);
    if (!(s1 <= P->Bp * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "SimQ+ needs ||y||_1 <= B' = B d^(1/p) = %.15g, got ||y||_1 = %.15g", P->Bp,
                       s1);
    *l1_out = s1;
    return CQ_OK;
}

typedef struct fw_enc {
    cq_rc_encoder e;
    uint64_t stars, pos;
} fw_enc;

static inline void fw_put(fw_enc *f, int bit)
{
    cq_rc_enc_bit(&f->e, bit, f->stars, f->pos);
    f->stars -= (uint64_t)bit;
    f->pos--;
}

static inline void fw_stars(fw_enc *f, uint64_t c)
{
    for (uint64_t t = 0; t < c; t++) fw_put(f, 1);
}

/* The walk over the sorted points C[j] scale of [0, B'): adds |y_i| to the running l1 sum
 * *s and returns c_i, the number of points below it not yet counted (*j advances by c_i). */
static inline uint64_t stars_at(double yi, const double *C, double scale, uint64_t kk, double *s, uint64_t *j)
{
    uint64_t c = 0;
    *s += fabs(yi);
    while (*j < kk && C[*j] * scale < *s) {
        c++;
        (*j)++;
    }
    return c;
}

static int simqplus_run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
                        cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t k = P->k;
    double l1 = 0.0;
    int st = simqplus_check(P, y, &l1, err);
    if (st) return st;
    double *C = (double *)work;
    double acc = 0.0;
    for (uint64_t j = 0; j < k; j++) {
        acc += cq_rng_exponential(g);
        C[j] = acc;
    }
    acc += cq_rng_exponential(g);
    double scale = P->Bp / acc; /* U_(j) B' = C[j] * scale */
    uint64_t n0 = 0;
    while (n0 < k && C[k - 1 - n0] * scale >= l1) n0++;
    uint64_t kk = k - n0, j = 0;
    double s = 0.0;
    if (w == NULL) {
        double unit = P->Bp / (double)k;
        for (size_t i = 0; i < d; i++) {
            uint64_t c = stars_at(y[i], C, scale, kk, &s, &j);
            double v = (double)c * unit;
            out[i] = c ? (y[i] < 0 ? -v : v) : 0.0;
        }
        if (j != kk) return cq_q_fail_changed("SimQ+", err); /* the walk saw another y than the check */
        return CQ_OK;
    }
    uint8_t *sb = (uint8_t *)(C + k);
    memset(sb, 0, (size_t)((k + 7) / 8));
    uint64_t nsg = 0;
    fw_enc f;
    uint64_t start = cq_bw_tell(w);
    cq_rc_enc_init(&f.e, w);
    f.stars = k;
    f.pos = (uint64_t)d + k;
    fw_stars(&f, n0);
    fw_put(&f, 0);
    for (size_t i = 0; i < d; i++) {
        uint64_t c = stars_at(y[i], C, scale, kk, &s, &j);
        fw_stars(&f, c);
        if (c) {
            assert(nsg < k);
            if (y[i] < 0) sb[nsg >> 3] |= (uint8_t)(1u << (nsg & 7));
            nsg++;
        }
        if (i + 1 < d) fw_put(&f, 0);
    }
    if (j != kk) return cq_q_fail_changed("SimQ+", err); /* the walk saw another y than the check */
    if (f.stars != 0 || f.pos != 0)
        return cq_fail(err, CQ_EINTERNAL, "SimQ+ walk assigned %llu of %llu draws", (unsigned long long)j,
                       (unsigned long long)kk);
    uint64_t used = cq_rc_enc_finish(&f.e);
    if (used > P->type_bits)
        return cq_fail(err, CQ_EINTERNAL, "SimQ+ type code used %llu bits, field has %llu", (unsigned long long)used,
                       (unsigned long long)P->type_bits);
    cq_bw_zeros(w, P->type_bits - used);
    (void)start;
    uint64_t t = 0;
    for (; t + 8 <= k; t += 8) cq_bw_put(w, sb[t >> 3], 8);
    if (t < k) cq_bw_put(w, sb[t >> 3], (unsigned)(k - t));
    return CQ_OK;
}

static int simqplus_decode(const cq_qpar *P, cq_bitreader *r, void *work, double *out, cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t k = P->k, F = P->type_bits;
    if (r->nbits < F + k) return cq_fail(err, CQ_EDECODE, "SimQ+ message truncated");
    cq_rc_decoder dc;
    cq_rc_dec_init(&dc, r, F);
    if (dc.bad) return cq_fail(err, CQ_EDECODE, "SimQ+ type field is not a valid range code");
    memset(out, 0, d * sizeof(double));
    (void)work; /* the canonical check needs no scratch (cq_rc_dec_canonical) */
    uint64_t stars = k, pos = (uint64_t)d + k;
    size_t part = 0; /* 0: the zero index; i+1: coordinate i */
    while (pos > 0) {
        int bit = cq_rc_dec_bit(&dc, stars, pos);
        pos--;
        if (bit) {
            stars--;
            if (part > 0) out[part - 1] += 1.0; /* stars before the first bar: index 0 */
        } else {
            part++;
        }
    }
    if (part != d || stars != 0) return cq_fail(err, CQ_EDECODE, "SimQ+ type field does not decode to a type");
    /* canonical check: the field must be exactly the encoder's code for this type */
    if (!cq_rc_dec_canonical(&dc))
        return cq_fail(err, CQ_EDECODE, "SimQ+ type field is not the canonical code of a type");
    cq_rc_dec_finish(&dc);
    /* signs */
    r->pos = F;
    double unit = P->Bp / (double)k;
    uint64_t nsg = 0;
    for (size_t i = 0; i < d; i++) {
        double c = out[i];
        if (c != 0.0) {
            uint32_t neg = cq_q_get(r, 1);
            double v = c * unit;
            out[i] = neg ? -v : v;
            nsg++;
        }
    }
    for (; nsg < k; nsg++)
        if (cq_q_get(r, 1)) return cq_fail(err, CQ_EDECODE, "SimQ+ sign padding bit %llu is not zero",
                                           (unsigned long long)nsg);
    return CQ_OK;
}

const cq_qops cq_q_simqplus_ops = {simqplus_resolve, simqplus_run, simqplus_decode};
