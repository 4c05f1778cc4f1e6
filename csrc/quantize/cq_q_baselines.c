/*
 * cq_q_baselines.c -- the baselines users compare against:
 *  Identity   raw float64 (64 d bits) or float32 (32 d bits, round to nearest).
 *  QSGD(s)    Alistarh et al. 2017, with buckets of b coordinates (section 3.1: "bucketing";
 *             b = d is one bucket): per bucket n = ||y_bucket||_2 (or ||.||_inf) sent as
 *             float32 rounded UP (so |y_i|/n <= 1), then per coordinate a level l in 0..s,
 *             stochastic rounding of s|y_i|/n, ceil(log2(s+1)) bits, then a sign bit (0 when
 *             l = 0). Q(y)_i = sign n l / s. Unbiased; E||Q(y) - y||^2 <= min(b/s^2,
 *             sqrt(b)/s) ||y||^2 (their Lemma 3.1 per bucket). The message is the buckets in
 *             order, [norm | levels]: 32 ceil(d/b) + d (ceil(log2(s+1)) + 1) bits.
 *  TernGrad   Wen et al. 2017: S = ||y||_inf as float32 rounded up; t_i in {-1, 0, 1} with
 *             P(|t_i| = 1) = |y_i|/S; 2-bit codes 0 -> 0, 1 -> +1, 2 -> -1 (3 invalid).
 *             Unbiased. 32 + 2d bits.
 *  ScaledSign ||y||_1/d sign(y) (sign(0) = +1), float32 scale + d sign bits. Biased.
 *  TopK(k)    the k largest |y_i| (ties broken by the lower index), sent as increasing
 *             indices (ceil(log2 d) bits) each followed by its float64 value. Biased.
 *  RandK(k)   k indices uniformly without replacement from a 64-bit seed sent in the
 *             message (Floyd's algorithm over a SplitMix64 stream), values y_i d/k as
 *             float64 in increasing index order. Unbiased. 64 + 64 k bits.
 * k > d is treated as k = d.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

static int check_finite(cq_qin y, size_t d, cq_errinfo *err)
{
    return cq_q_v_finite(y, 0, d) ? CQ_OK : cq_q_fail_nonfinite_v(y, d, err);
}

/* float32 not below x (x >= 0 finite, <= FLT_MAX). */
static float f32_up(double x)
{
    float f = (float)x;
    if ((double)f < x) f = nextafterf(f, INFINITY);
    return f;
}

/* ---- resolve: message length and scratch for dimension d -------------------------------- */

static int identity_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    (void)err;
    P->bits = (uint64_t)P->d * ((q->flags & CQ_QF_FLOAT32) ? 32u : 64u);
    return CQ_OK;
}

static int qsgd_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    if (q->levels < 1 || q->levels > ((int64_t)1 << 24))
        return cq_fail(err, CQ_EINVAL, "QSGD levels s must be in 1..2^24, got %lld", (long long)q->levels);
    if (q->s < 0)
        return cq_fail(err, CQ_EINVAL, "QSGD bucket size must be >= 1 (or 0: one bucket), got %lld", (long long)q->s);
    P->L = (uint32_t)q->levels;
    P->lbits = cq_q_clog2((uint64_t)P->L + 1);
    P->bucket = (q->s == 0 || (uint64_t)q->s > P->d) ? P->d : (size_t)q->s;
    uint64_t nb = ((uint64_t)P->d + P->bucket - 1) / P->bucket;
    P->bits = 32 * nb + (uint64_t)P->d * (P->lbits + 1);
    P->work = nb > 1 ? (size_t)nb * sizeof(float) : 0; /* the bucket norms, all found before any draw */
    return CQ_OK;
}

static int terngrad_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    (void)q;
    (void)err;
    P->bits = 32 + 2 * (uint64_t)P->d;
    return CQ_OK;
}

static int scaledsign_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    (void)q;
    (void)err;
    P->bits = 32 + (uint64_t)P->d;
    return CQ_OK;
}

static int sparse_k(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    if (q->k < 1) return cq_fail(err, CQ_EINVAL, "k must be >= 1, got %lld", (long long)q->k);
    P->k = (uint64_t)q->k < P->d ? (uint64_t)q->k : P->d;
    return CQ_OK;
}

static int topk_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = sparse_k(q, P, err);
    if (st) return st;
    P->ibits = cq_q_clog2(P->d);
    P->bits = P->k * (P->ibits + 64);
    P->work = P->d * sizeof(double);
    return CQ_OK;
}

static int randk_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = sparse_k(q, P, err);
    if (st) return st;
    P->bits = 64 + 64 * P->k;
    P->work = ((P->d + 63) / 64) * sizeof(uint64_t);
    return CQ_OK;
}

/* ---- shared ------------------------------------------------------------------------------ */

static int scale_field_ok(uint32_t bits, float *out)
{
    float f = cq_q_bitsf(bits);
    if (!isfinite(f) || (bits >> 31)) return 0;
    *out = f;
    return 1;
}

/* ---- QSGD ------------------------------------------------------------------------------ */

static inline double qsgd_value(double n, uint32_t lev, uint32_t s, int neg)
{
    double v = n * ((double)lev / (double)s);
    return neg ? -v : v;
}

#define QB_CHUNK CQ_Q_CHUNK

/* What the ranges of a fixed-width codec share (cq_q_split): the parameters, the input or
 * the output, the stream key, the scale and its inverse, QSGD's bucket norms. */
typedef struct fw_ctx {
    const cq_qpar *P;
    cq_qin y;
    const cq_qout *out;
    uint64_t key;
    double s, inv;
    float *norms;
} fw_ctx;

#ifdef CQ_Q_AVX512_VARIANT
/* cq_q_v_sum_sq of the four whole buckets y[b0 + k b .. b0 + (k+1) b), k < 4 (b a multiple
 * of 4), into s2[k]: the same four accumulators per bucket, the same additions in the same
 * order, but four buckets' chains side by side in two registers, so that the adds pipeline
 * (one bucket's chain waits on each add's latency). Worth it where the input comes from the
 * caches: from main memory the four streams a bucket apart read slower than one sequential
 * stream (measured: 4.93e6 float64, 5.2 ms one bucket at a time, 5.6-6.0 ms four, software
 * prefetch no better), so qsgd_norms_part uses it for inputs of at most QSGD_SIDE_BYTES. */
#define QSGD_SIDE_BYTES ((size_t)16 << 20)
static void qsgd_sum_sq4_avx512(cq_qin y, size_t b0, size_t b, double *s2)
{
    __m512d acc01 = _mm512_setzero_pd(), acc23 = _mm512_setzero_pd();
    for (size_t i = 0; i < b; i += 4) {
        __m256d v[4];
        for (int k = 0; k < 4; k++) {
            size_t at = b0 + (size_t)k * b + i;
            v[k] = y.f32 ? _mm256_cvtps_pd(_mm_loadu_ps((const float *)y.p + at)) : _mm256_loadu_pd((const double *)y.p + at);
        }
        __m512d x01 = _mm512_insertf64x4(_mm512_castpd256_pd512(v[0]), v[1], 1);
        __m512d x23 = _mm512_insertf64x4(_mm512_castpd256_pd512(v[2]), v[3], 1);
        acc01 = _mm512_add_pd(acc01, _mm512_mul_pd(x01, x01));
        acc23 = _mm512_add_pd(acc23, _mm512_mul_pd(x23, x23));
    }
    double a[16];
    _mm512_storeu_pd(a, acc01);
    _mm512_storeu_pd(a + 8, acc23);
    for (int k = 0; k < 4; k++) s2[k] = (a[4 * k] + a[4 * k + 1]) + (a[4 * k + 2] + a[4 * k + 3]);
}
#endif

/* QSGD's norms of buckets [g->i0, g->i1), every one checked (before any draw). */
static int qsgd_norms_part(void *vc, const cq_q_range *g)
{
    const fw_ctx *c = (const fw_ctx *)vc;
    const cq_qpar *P = c->P;
    size_t d = P->d, b = P->bucket;
    cq_errinfo *err = g->err;
    double s2q[4];
#ifdef CQ_Q_AVX512_VARIANT
    int side = b % 4 == 0 && d <= QSGD_SIDE_BYTES / (c->y.f32 ? sizeof(float) : sizeof(double));
#endif
    for (size_t j = g->i0; j < g->i1; j++) {
        size_t b0 = j * b, m = d - b0 < b ? d - b0 : b;
        int finite = 1;
        double n;
        if (P->flags & CQ_QF_NORM_INF) {
            n = cq_q_v_max_abs_fin(c->y, b0, m, &finite);
        } else {
            /* a NaN/Inf makes the sum of squares non-finite: only then is the bucket checked */
#ifdef CQ_Q_AVX512_VARIANT
            size_t q = (j - g->i0) % 4;
            if (side && (j - g->i0) - q + 4 <= g->i1 - g->i0 && (j - q + 4) * b <= d) {
                if (q == 0) qsgd_sum_sq4_avx512(c->y, b0, b, s2q);
            } else {
                s2q[q] = cq_q_v_sum_sq(c->y, b0, m);
            }
            double s2 = s2q[q];
#else
            (void)s2q;
            double s2 = cq_q_v_sum_sq(c->y, b0, m);
#endif
            n = cq_q_l2_fin_from_sq(c->y, b0, m, s2, &finite);
        }
        /* the first non-finite coordinate of y, wherever it is, is what gets reported */
        if (!finite) return cq_q_fail_nonfinite_v(c->y, d, err);
        if (!(n <= FLT_MAX)) {
            int st = check_finite(c->y, d, err); /* a non-finite later coordinate is reported first */
            if (st) return st;
            return cq_fail(err, CQ_EDOMAIN, "QSGD: the norm %.15g of bucket %zu exceeds the float32 range of the norm field",
                           n, j);
        }
        c->norms[j] = f32_up(n);
    }
    return CQ_OK;
}

/* QSGD's fields lv[0..m) of coordinates i0.. (norm nd) into w and / or as values to c->out. */
static void qsgd_emit_fields(const fw_ctx *c, cq_bitwriter *w, const uint32_t *lv, size_t i0, size_t m, double nd,
                             double *vals)
{
    const cq_qpar *P = c->P;
    if (w != NULL) {
        if (P->lbits + 1 <= 16) cq_q_put_fields(w, lv, m, P->lbits + 1);
        else
            for (size_t t = 0; t < m; t++) {
                cq_bw_put(w, lv[t] & ((1u << P->lbits) - 1u), P->lbits);
                cq_bw_put(w, lv[t] >> P->lbits, 1);
            }
    }
    if (c->out != NULL) {
        for (size_t t = 0; t < m; t++)
            vals[t] = qsgd_value(nd, lv[t] & ((1u << P->lbits) - 1u), P->L, (int)(lv[t] >> P->lbits));
        cq_q_emit(c->out, i0, vals, m);
    }
}

#ifdef CQ_Q_AVX512_VARIANT
/* qsgd_part's fields lev | neg << lbits of y[i0..i0+m) (i0 even, m a multiple of 16) in one
 * pass, sixteen coordinates at a time with the portable loop's double operations in the
 * same order (the integer-valued floor, cap and round-up on int32 lanes), so the same
 * fields: to dst packed (cq_q_store16_avx512), or to lv. */
static void qsgd_fields_avx512(cq_qin y, size_t i0, size_t m, double sc, double hi, double lm2, unsigned lbits,
                               uint64_t key, uint32_t *lv, uint8_t *dst)
{
    const __m512i kv = _mm512_set1_epi64((long long)key);
    const __m512d vsc = _mm512_set1_pd(sc), vhi = _mm512_set1_pd(hi);
    const __m256i ilm2 = _mm256_set1_epi32((int32_t)lm2);
    const __m512d zero = _mm512_setzero_pd();
    const __m512d absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
    const __m256i sbit = _mm256_set1_epi32((int)(1u << lbits));
    __m512i ctr1 = cq_q_ctr_avx512(i0);
    for (size_t t = 0; t < m; t += 16) {
        __m512d uu[2];
        __m256i lvh[2];
        cq_q_uu16_avx512(kv, &ctr1, &uu[0], &uu[1]);
        for (int h = 0; h < 2; h++) {
            __m512d yv = cq_q_load8_avx512(y, i0 + t + 8 * (size_t)h);
            __m256i li = cq_q_round8_avx512(_mm512_mul_pd(_mm512_and_pd(yv, absm), vsc), vhi, ilm2, uu[h]);
            __mmask8 neg = _mm256_test_epi32_mask(li, li) & _mm512_cmp_pd_mask(yv, zero, _CMP_LT_OQ);
            lvh[h] = _mm256_mask_or_epi32(li, neg, li, sbit);
        }
        cq_q_store16_avx512(lvh[0], lvh[1], lbits + 1, dst, lv, t);
    }
}
#endif

/* QSGD's buckets [j0, j1): norm field and fields (w), or values (c->out). */
static int qsgd_part(void *vc, const cq_q_range *g)
{
    size_t j0 = g->i0, j1 = g->i1;
    cq_bitwriter *w = g->w;
    const fw_ctx *c = (const fw_ctx *)vc;
    const cq_qpar *P = c->P;
    size_t d = P->d, b = P->bucket;
    uint32_t s = P->L;
    uint32_t ub[QB_CHUNK + 1], lv[QB_CHUNK];
    double ybuf[QB_CHUNK], vals[QB_CHUNK];
    double hi = (double)s, lm2 = (double)s - 1.0;
    for (size_t j = j0; j < j1; j++) {
        size_t b0 = j * b, b1 = d - b0 < b ? d : b0 + b;
        double nd = (double)c->norms[j], sc = nd > 0 ? (double)s / nd : 0.0;
        if (w != NULL) cq_bw_put(w, cq_q_fbits(c->norms[j]), 32);
        for (size_t i0 = b0; i0 < b1; i0 += QB_CHUNK) {
            size_t m = b1 - i0 < QB_CHUNK ? b1 - i0 : QB_CHUNK;
#ifdef CQ_Q_AVX512_VARIANT
            if (i0 % 2 == 0 && m % 16 == 0) {
                unsigned width = P->lbits + 1;
                int direct = c->out == NULL && cq_q_direct_ok(w, m, width);
                qsgd_fields_avx512(c->y, i0, m, sc, hi, lm2, P->lbits, c->key, lv, direct ? w->p : NULL);
                if (direct) {
                    w->p += m / 8 * width;
                    continue;
                }
                qsgd_emit_fields(c, w, lv, i0, m, nd, vals);
                continue;
            }
#endif
            cq_q_fill_u32(c->key, i0, m, ub);
            const double *yc = cq_q_chunk(c->y, i0, m, ybuf);
            /* cq_q_round_d on t = s|y_i|/n >= 0 (no clamp at 0 needed), its comparisons as
             * integer masks so that the loop has no branch (signs and levels are random) */
            for (size_t t = 0; t < m; t++) {
                double a = fabs(yc[t]) * sc, tc = a < hi ? a : hi;
                double f = (double)(int32_t)tc;
                f = f < lm2 ? f : lm2;
                double uu = (double)(int32_t)(ub[t] >> 1) * CQ_Q_INV_TWO31;
                uint32_t lev = (uint32_t)(int32_t)f + (uint32_t)(uu < tc - f);
                uint32_t neg = (uint32_t)(lev != 0) & (uint32_t)(yc[t] < 0.0);
                lv[t] = lev | (neg << P->lbits);
            }
            qsgd_emit_fields(c, w, lv, i0, m, nd, vals);
        }
    }
    return CQ_OK;
}

/* Bits of one whole QSGD bucket: its norm field and b fields. */
static uint64_t qsgd_bucket_bits(const cq_qpar *P) { return 32 + (uint64_t)P->bucket * (P->lbits + 1); }

static int qsgd_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                    cq_errinfo *err)
{
    size_t d = P->d, b = P->bucket, nb = (d + b - 1) / b;
    float one;
    fw_ctx c = {P, y, out, 0, 0.0, 0.0, nb > 1 ? (float *)work : &one};
    int st = cq_q_split(P->threads, nb, 0, 0, NULL, NULL, qsgd_norms_part, &c, err);
    if (st) return st;
    c.key = cq_rng_u64(g);
    return cq_q_split(P->threads, nb, qsgd_bucket_bits(P), P->bits, w, NULL, qsgd_part, &c, err);
}

/* Report the first invalid QSGD field of a chunk (called only when the chunk has one). */
static int qsgd_bad_field(const uint32_t *lv, size_t m, size_t i0, unsigned lbits, uint32_t s, double nd,
                          cq_errinfo *err)
{
    uint32_t lmask = (1u << lbits) - 1u;
    for (size_t t = 0; t < m; t++) {
        uint32_t lev = lv[t] & lmask, neg = lv[t] >> lbits;
        if (lev > s) return cq_fail(err, CQ_EDECODE, "QSGD level %u at coordinate %zu exceeds s = %u", lev, i0 + t, s);
        if (lev == 0 && neg)
            return cq_fail(err, CQ_EDECODE, "QSGD sign bit set on a zero level at coordinate %zu", i0 + t);
        /* a zero norm comes only from a zero bucket, whose levels are all 0 */
        if (lev != 0 && nd == 0.0)
            return cq_fail(err, CQ_EDECODE, "QSGD level %u at coordinate %zu with a zero norm field", lev, i0 + t);
    }
    return cq_fail(err, CQ_EINTERNAL, "QSGD: a field was flagged invalid but none is");
}

/* Fields of at most QSGD_TAB_BITS bits (level and sign) decode through a table of their
 * values qsgd_value(n, lev, s, neg), built per bucket (2^bits entries, the same expression). */
#define QSGD_TAB_BITS 9

/* QSGD's buckets [j0, j1) from r. */
static int qsgd_dpart(void *vc, const cq_q_range *g)
{
    size_t j0 = g->i0, j1 = g->i1;
    cq_bitreader *r = g->r;
    cq_errinfo *err = g->err;
    const fw_ctx *c = (const fw_ctx *)vc;
    const cq_qpar *P = c->P;
    const cq_qout *out = c->out;
    size_t d = P->d, b = P->bucket;
    uint32_t s = P->L, lmask = (1u << P->lbits) - 1u;
    unsigned width = P->lbits + 1;
    int use_tab = width <= QSGD_TAB_BITS && ((size_t)1 << width) <= 2 * b;
    uint32_t lv[CQ_Q_CHUNK];
    double vbuf[CQ_Q_CHUNK], tab[1u << QSGD_TAB_BITS];
    for (size_t j = j0; j < j1; j++) {
        size_t b0 = j * b, b1 = d - b0 < b ? d : b0 + b;
        float nf;
        if (!scale_field_ok(cq_q_get(r, 32), &nf))
            return cq_fail(err, CQ_EDECODE, "QSGD norm field of bucket %zu is not a finite float32 >= 0", b0 / b);
        double nd = (double)nf;
        if (use_tab) /* (at least 16 entries: cq_q_lookup reads 16; codes >= 2^width never occur) */
            for (uint32_t c = 0; c < (1u << width) || c < 16; c++) {
                uint32_t lev = c & lmask;
                tab[c] = c < (1u << width) && lev <= s ? qsgd_value(nd, lev, s, (int)(c >> P->lbits)) : 0.0;
            }
        for (size_t i0 = b0; i0 < b1; i0 += CQ_Q_CHUNK) {
            size_t m = b1 - i0 < CQ_Q_CHUNK ? b1 - i0 : CQ_Q_CHUNK;
            if (width <= 16) cq_q_get_fields(r, lv, m, width);
            else
                for (size_t t = 0; t < m; t++) {
                    uint32_t lev = cq_q_get(r, P->lbits);
                    lv[t] = lev | (cq_q_get(r, 1) << P->lbits);
                }
            uint32_t bad = 0, zero_norm = nd == 0.0;
            for (size_t t = 0; t < m; t++) { /* branch-free validation of the chunk */
                uint32_t lev = lv[t] & lmask, neg = lv[t] >> P->lbits;
                bad |= (uint32_t)(lev > s) | ((uint32_t)(lev == 0) & neg) | ((uint32_t)(lev != 0) & zero_norm);
            }
            if (bad) return qsgd_bad_field(lv, m, i0, P->lbits, s, nd, err);
            if (out->p == NULL) continue;
            double *vals = cq_q_emit_buf(out, i0, vbuf);
            if (use_tab)
                cq_q_lookup(tab, 1u << width, lv, m, vals);
            else
                for (size_t t = 0; t < m; t++) vals[t] = qsgd_value(nd, lv[t] & lmask, s, (int)(lv[t] >> P->lbits));
            cq_q_emit(out, i0, vals, m);
        }
    }
    return CQ_OK;
}

static int qsgd_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    fw_ctx c = {P, {NULL, 0}, out, 0, 0.0, 0.0, NULL};
    return cq_q_split(P->threads, (P->d + P->bucket - 1) / P->bucket, qsgd_bucket_bits(P), P->bits, NULL, r, qsgd_dpart,
                      &c, err);
}

/* ---- TernGrad -------------------------------------------------------------------------- */

/* TernGrad's coordinates [a, b): 2-bit codes (w) or values (c->out). */
static int terngrad_part(void *vc, const cq_q_range *g)
{
    size_t a = g->i0, b = g->i1;
    cq_bitwriter *w = g->w;
    const fw_ctx *c = (const fw_ctx *)vc;
    const double tab[4] = {0.0, c->s, -c->s, 0.0}, inv = c->inv;
    uint32_t ub[QB_CHUNK], lv[QB_CHUNK];
    double ybuf[QB_CHUNK], vals[QB_CHUNK];
    for (size_t i0 = a; i0 < b; i0 += QB_CHUNK) {
        size_t m = b - i0 < QB_CHUNK ? b - i0 : QB_CHUNK;
        cq_q_fill_u32(c->key, i0, m, ub);
        const double *yc = cq_q_chunk(c->y, i0, m, ybuf);
        /* cq_q_round_d with L = 2: t = |y_i|/S is in [0, 1] (S >= max|y_i|), the floor is 0,
         * so the level is 1 iff the 31-bit uniform, as a fraction, is below t -- written as
         * comparisons that the compiler turns into vector masks (no branch, no clamp) */
        for (size_t t = 0; t < m; t++) {
            double x = fabs(yc[t]) * inv, uu = (double)(int32_t)(ub[t] >> 1) * CQ_Q_INV_TWO31;
            uint32_t up = uu < x, neg = yc[t] < 0.0;
            lv[t] = up + (up & neg); /* 0, 1 (+1) or 2 (-1) */
        }
        if (w != NULL) cq_q_put_fields(w, lv, m, 2);
        if (c->out != NULL) {
            for (size_t t = 0; t < m; t++) vals[t] = tab[lv[t]]; /* same values as the decoder's table */
            cq_q_emit(c->out, i0, vals, m);
        }
    }
    return CQ_OK;
}

static int terngrad_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                        cq_errinfo *err)
{
    (void)work;
    size_t d = P->d;
    int finite;
    double S = cq_q_v_max_abs_fin(y, 0, d, &finite); /* one pass: the scale and the check */
    if (!finite) return cq_q_fail_nonfinite_v(y, d, err);
    if (!(S <= FLT_MAX)) return cq_fail(err, CQ_EDOMAIN, "TernGrad: ||y||_inf = %.15g exceeds the float32 range", S);
    float sf = f32_up(S);
    double sd = (double)sf;
    fw_ctx c = {P, y, out, cq_rng_u64(g), sd, sd > 0 ? 1.0 / sd : 0.0, NULL};
    if (w != NULL) cq_bw_put(w, cq_q_fbits(sf), 32);
    return cq_q_split(P->threads, d, 2, 2 * (uint64_t)d, w, NULL, terngrad_part, &c, err);
}

/* The 32-bit scale field of TernGrad and ScaledSign: a finite float32 >= 0, as a double. */
static int read_scale(cq_bitreader *r, const char *who, double *sd, cq_errinfo *err)
{
    float sf;
    if (!scale_field_ok(cq_q_get(r, 32), &sf))
        return cq_fail(err, CQ_EDECODE, "%s scale field is not a finite float32 >= 0", who);
    *sd = (double)sf;
    return CQ_OK;
}

/* TernGrad's coordinates [a, b) from r. */
static int terngrad_dpart(void *vc, const cq_q_range *g)
{
    size_t a = g->i0, b = g->i1;
    cq_bitreader *r = g->r;
    cq_errinfo *err = g->err;
    const fw_ctx *c = (const fw_ctx *)vc;
    double sd = c->s;
    const double tab[4] = {0.0, sd, -sd, 0.0};
    uint32_t lv[CQ_Q_CHUNK];
    double vbuf[CQ_Q_CHUNK];
    for (size_t i0 = a; i0 < b; i0 += CQ_Q_CHUNK) {
        size_t m = b - i0 < CQ_Q_CHUNK ? b - i0 : CQ_Q_CHUNK;
        cq_q_get_fields(r, lv, m, 2);
        uint32_t bad = 0;
        for (size_t t = 0; t < m; t++) bad |= (lv[t] == 3);
        if (sd == 0.0) /* a zero scale comes only from y = 0, whose codes are all 0 */
            for (size_t t = 0; t < m; t++) bad |= (lv[t] != 0);
        if (bad)
            for (size_t t = 0; t < m; t++) {
                if (lv[t] == 3) return cq_fail(err, CQ_EDECODE, "TernGrad code 3 at coordinate %zu is invalid", i0 + t);
                if (lv[t] != 0 && sd == 0.0)
                    return cq_fail(err, CQ_EDECODE, "TernGrad code %u at coordinate %zu with a zero scale field", lv[t],
                                   i0 + t);
            }
        if (c->out->p == NULL) continue;
        double *vals = cq_q_emit_buf(c->out, i0, vbuf);
        /* the table's values as selects (vector blends; codes are random, no branch) */
        for (size_t t = 0; t < m; t++) vals[t] = lv[t] == 1 ? tab[1] : (lv[t] == 2 ? tab[2] : tab[0]);
        cq_q_emit(c->out, i0, vals, m);
    }
    return CQ_OK;
}

static int terngrad_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    fw_ctx c = {P, {NULL, 0}, out, 0, 0.0, 0.0, NULL};
    if (read_scale(r, "TernGrad", &c.s, err)) return CQ_EDECODE;
    return cq_q_split(P->threads, P->d, 2, 2 * (uint64_t)P->d, NULL, r, terngrad_dpart, &c, err);
}

/* ---- ScaledSign ------------------------------------------------------------------------ */

/* ScaledSign's coordinates [a, b) (a a multiple of 64): sign bits (w) or values (c->out). */
static int scaledsign_part(void *vc, const cq_q_range *g)
{
    size_t a = g->i0, b = g->i1;
    cq_bitwriter *w = g->w;
    const fw_ctx *c = (const fw_ctx *)vc;
    double sd = c->s, ybuf[32], vals[32];
    for (size_t i = a; i < b; i += 32) {
        size_t m = b - i < 32 ? b - i : 32;
        const double *yc = cq_q_chunk(c->y, i, m, ybuf);
        if (w != NULL) {
            uint64_t word = 0;
            for (size_t t = 0; t < m; t++) word |= (uint64_t)(yc[t] < 0) << t;
            cq_bw_put(w, word, (unsigned)m);
        }
        if (c->out != NULL) {
            for (size_t t = 0; t < m; t++) vals[t] = yc[t] < 0 ? -sd : sd;
            cq_q_emit(c->out, i, vals, m);
        }
    }
    return CQ_OK;
}

static int scaledsign_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                          cq_errinfo *err)
{
    (void)g;
    (void)work;
    size_t d = P->d;
    double l1 = cq_q_v_sum_abs(y, 0, d);
    if (!isfinite(l1)) {
        int st = check_finite(y, d, err);
        if (st) return st;
    }
    double sc = l1 / (double)d;
    if (!(sc <= FLT_MAX)) return cq_fail(err, CQ_EDOMAIN, "ScaledSign: ||y||_1/d = %.15g exceeds the float32 range", sc);
    float sf = (float)sc;
    fw_ctx c = {P, y, out, 0, (double)sf, 0.0, NULL};
    if (w != NULL) cq_bw_put(w, cq_q_fbits(sf), 32);
    return cq_q_split(P->threads, d, 1, (uint64_t)d, w, NULL, scaledsign_part, &c, err);
}

/* ScaledSign's coordinates [a, b) from r. */
static int scaledsign_dpart(void *vc, const cq_q_range *g)
{
    size_t a = g->i0, b = g->i1;
    cq_bitreader *r = g->r;
    const fw_ctx *c = (const fw_ctx *)vc;
    double vbuf[CQ_Q_CHUNK];
    const double tab[2] = {c->s, -c->s};
    for (size_t i0 = a; i0 < b; i0 += CQ_Q_CHUNK) { /* the sign bits, 32 per read */
        size_t n = b - i0 < CQ_Q_CHUNK ? b - i0 : CQ_Q_CHUNK;
        double *vals = cq_q_emit_buf(c->out, i0, vbuf);
        for (size_t i = 0; i < n; i += 32) {
            size_t m = n - i < 32 ? n - i : 32;
            uint32_t word = cq_q_get(r, (unsigned)m);
            for (size_t t = 0; t < m; t++) vals[i + t] = (word >> t) & 1u ? tab[1] : tab[0]; /* a blend */
        }
        cq_q_emit(c->out, i0, vals, n);
    }
    return CQ_OK;
}

static int scaledsign_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    fw_ctx c = {P, {NULL, 0}, out, 0, 0.0, 0.0, NULL};
    if (read_scale(r, "ScaledSign", &c.s, err)) return CQ_EDECODE;
    return cq_q_split(P->threads, P->d, 1, (uint64_t)P->d, NULL, r, scaledsign_dpart, &c, err);
}

/* ---- TopK ------------------------------------------------------------------------------ */

#define CQ_SELECT_NAME select_doubles
#define CQ_SELECT_T double
#define CQ_SELECT_KEY(a, i) ((a)[i])
#define CQ_SELECT_PIVOT(a, lo, mid, hi) cq_median3((a)[lo], (a)[mid], (a)[hi])
#include "core/cq_select.h"

/* Value at position kth of a[0..n) sorted ascending (a is permuted; quickselect, median-of-3 pivot). */
static double select_kth(double *a, size_t n, size_t kth)
{
    select_doubles(a, n, kth, NULL);
    return a[kth];
}

#ifdef CQ_Q_AVX512_VARIANT
/* topk_threshold's pass over y[0..m) (m a multiple of 8), eight values a compare: clears
 * *fin at a non-finite value, adds to *above the values over hi, and appends the values in
 * [lo, hi] to a[*nc..] in index order (the portable loop's comparisons, so the same count
 * and the same candidates). */
static void topk_bracket_avx512(cq_qin y, size_t m, double lo, double hi, int *fin, size_t *above, double *a,
                                size_t *nc)
{
    const __m512d absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
    const __m512d vlo = _mm512_set1_pd(lo), vhi = _mm512_set1_pd(hi), vmax = _mm512_set1_pd(DBL_MAX);
    __mmask8 ok = 0xFF;
    size_t ab = 0, n = *nc;
    for (size_t i = 0; i < m; i += 8) {
        __m512d v = _mm512_and_pd(cq_q_load8_avx512(y, i), absm);
        ok &= _mm512_cmp_pd_mask(v, vmax, _CMP_LE_OQ);
        ab += (size_t)__builtin_popcount(_mm512_cmp_pd_mask(v, vhi, _CMP_GT_OQ));
        unsigned in = _mm512_cmp_pd_mask(v, vlo, _CMP_GE_OQ) & _mm512_cmp_pd_mask(v, vhi, _CMP_LE_OQ);
        if (in) { /* rare (the bracket holds a few % of the values): no compress-store */
            double t[8];
            _mm512_storeu_pd(t, v);
            for (; in; in &= in - 1) a[n++] = t[__builtin_ctz(in)];
        }
    }
    *fin &= ok == 0xFF;
    *above += ab;
    *nc = n;
}

/* The first i in [i0, m) (m - i0 a multiple of 8) with |y_i| >= thr, else m. */
static size_t topk_next_avx512(cq_qin y, size_t i0, size_t m, double thr)
{
    const __m512d absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
    const __m512d vt = _mm512_set1_pd(thr);
    for (size_t i = i0; i < m; i += 8) {
        unsigned hit = _mm512_cmp_pd_mask(_mm512_and_pd(cq_q_load8_avx512(y, i), absm), vt, _CMP_GE_OQ);
        if (hit) return i + (size_t)__builtin_ctz(hit);
    }
    return m;
}
#endif

/* The k-th largest |y_i| (*thr) and the number of |y_i| above it (*greater), every y_i
 * checked finite. For large d: a strided sample of 4096 values brackets it ([lo, hi],
 * +-4 sqrt(r) + 32 sample ranks); one pass checks y, counts the values above hi and gathers
 * those inside the bracket, and the selection runs on that small set, whose values above
 * the threshold complete the count (every value above hi is counted, every one in
 * [lo, hi] gathered, every one below lo is below the threshold). If the bracket misses
 * (adversarial periodic data), the full selection and a counting pass run. Exact either
 * way; the same threshold and count as the full selection. */
static int topk_threshold(cq_qin y, size_t d, size_t k, double *a, double *thr, size_t *greater, cq_errinfo *err)
{
    const size_t ns = 4096;
    int checked = 0;
    if (d >= 8 * ns) {
        int fin = 1;
        for (size_t t = 0; t < ns; t++) {
            a[t] = fabs(cq_q_at(y, (size_t)((double)t * (double)d / (double)ns)));
            fin &= a[t] <= DBL_MAX;
        }
        if (!fin) return check_finite(y, d, err);
        double r = (double)k * (double)ns / (double)d; /* expected descending rank in the sample */
        double margin = 4.0 * sqrt(r + 1.0) + 32.0;
        double rhi = r - margin, rlo = r + margin;
        size_t ihi = rhi <= 0 ? ns - 1 : ns - 1 - (size_t)rhi;           /* ascending index of hi */
        size_t ilo = rlo >= (double)(ns - 1) ? 0 : ns - 1 - (size_t)rlo; /* ascending index of lo */
        double hi = rhi <= 0 ? INFINITY : select_kth(a, ns, ihi);
        double lo = rlo >= (double)(ns - 1) ? 0.0 : select_kth(a, ns, ilo);
        size_t above = 0, nc = 0, i = 0;
#ifdef CQ_Q_AVX512_VARIANT
        i = d / 8 * 8;
        topk_bracket_avx512(y, i, lo, hi, &fin, &above, a, &nc);
#endif
        for (; i < d; i++) {
            double v = fabs(cq_q_at(y, i));
            fin &= v <= DBL_MAX; /* NaN and Inf fail it */
            above += v > hi;
            if (v >= lo && v <= hi) a[nc++] = v;
        }
        if (!fin) return check_finite(y, d, err);
        checked = 1;
        if (above < k && k <= above + nc) {
            *thr = select_kth(a, nc, nc - (k - above));
            size_t g = above;
            for (size_t t = 0; t < nc; t++) g += a[t] > *thr;
            *greater = g;
            return CQ_OK;
        }
    }
    if (!checked) {
        int st = check_finite(y, d, err);
        if (st) return st;
    }
    for (size_t i = 0; i < d; i++) a[i] = fabs(cq_q_at(y, i));
    *thr = select_kth(a, d, d - k);
    size_t g = 0;
    for (size_t i = 0; i < d; i++) g += fabs(cq_q_at(y, i)) > *thr;
    *greater = g;
    return CQ_OK;
}

static int topk_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                    cq_errinfo *err)
{
    (void)g;
    size_t d = P->d, k = (size_t)P->k, greater = 0;
    double *a = (double *)work, thr = 0.0;
    int st = topk_threshold(y, d, k, a, &thr, &greater, err);
    if (st) return st;
    /* y is read once for the threshold and the count, and once to select: if another
     * thread writes to it meanwhile the counts disagree; report that, never a message
     * with the wrong number of fields */
    if (greater > k) return cq_q_fail_changed("TopK", err);
    size_t ties = k - greater, taken = 0;
    if (out != NULL) cq_q_emit_zero(out, d);
#ifdef CQ_Q_AVX512_VARIANT
    size_t m8 = d / 8 * 8; /* the runs of values below thr skipped eight at a time */
#endif
    for (size_t i = 0; i < d; i++) {
#ifdef CQ_Q_AVX512_VARIANT
        if (i < m8 && (i & 7) == 0) {
            i = topk_next_avx512(y, i, m8, thr);
            if (i == m8 && i == d) break;
        }
#endif
        double yi = cq_q_at(y, i), v = fabs(yi);
        int take = v > thr || (v == thr && ties > 0);
        if (!take) continue;
        if (v == thr && !(v > thr)) ties--;
        if (taken == k || !isfinite(yi)) return cq_q_fail_changed("TopK", err);
        taken++;
        if (w != NULL) {
            if (P->ibits) cq_bw_put(w, i, P->ibits);
            cq_q_put64(w, cq_q_dbits(yi));
        }
        if (out != NULL) cq_q_emit1(out, i, yi);
    }
    if (taken != k) return cq_q_fail_changed("TopK", err);
    return CQ_OK;
}

static int topk_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    size_t d = P->d;
    cq_q_emit_zero(out, d);
    uint64_t prev = 0;
    for (uint64_t t = 0; t < P->k; t++) {
        uint64_t i = P->ibits ? cq_q_get(r, P->ibits) : 0;
        double v = cq_q_bitsd(cq_q_get64(r));
        if (r->truncated) return cq_fail(err, CQ_EDECODE, "TopK message truncated");
        if (i >= d) return cq_fail(err, CQ_EDECODE, "TopK index %llu is out of range 0..%zu", (unsigned long long)i, d - 1);
        if (t > 0 && i <= prev)
            return cq_fail(err, CQ_EDECODE, "TopK indices must increase strictly, got %llu after %llu",
                           (unsigned long long)i, (unsigned long long)prev);
        if (!isfinite(v)) return cq_fail(err, CQ_EDECODE, "TopK value at index %llu is not finite", (unsigned long long)i);
        /* a kept 0 means the k-th largest |y_i| is 0, so every index below it (|y_j| >= 0,
         * ties go to the lower index) was kept too */
        if (v == 0.0 && i != t)
            return cq_fail(err, CQ_EDECODE, "TopK keeps a zero at index %llu but not every index below it",
                           (unsigned long long)i);
        cq_q_emit1(out, (size_t)i, v);
        prev = i;
    }
    return CQ_OK;
}

/* ---- RandK ----------------------------------------------------------------------------- */

/* Uniform integer in [0, n) from the SplitMix64 stream `seed` (Lemire, with rejection). */
static uint64_t stream_bounded(uint64_t seed, uint64_t *ctr, uint64_t n)
{
    for (;;) {
        uint64_t x = cq_q_mix(seed, (*ctr)++);
        __extension__ unsigned __int128 m = (unsigned __int128)x * n;
        uint64_t lo = (uint64_t)m;
        if (lo >= n || lo >= (uint64_t)(-n) % n) return (uint64_t)(m >> 64);
    }
}

/* Floyd's algorithm: a uniform k-subset of 0..d-1 as a bitmap (work of ceil(d/64) words). */
static void randk_set(uint64_t seed, size_t d, size_t k, uint64_t *bm)
{
    memset(bm, 0, ((d + 63) / 64) * sizeof(uint64_t));
    uint64_t ctr = 0;
    for (size_t j = d - k; j < d; j++) {
        uint64_t t = stream_bounded(seed, &ctr, (uint64_t)j + 1);
        if ((bm[t >> 6] >> (t & 63)) & 1u) t = j;
        bm[t >> 6] |= (uint64_t)1 << (t & 63);
    }
}

static int randk_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                     cq_errinfo *err)
{
    size_t d = P->d, k = (size_t)P->k;
    int st = check_finite(y, d, err);
    if (st) return st;
    uint64_t seed = cq_rng_u64(g);
    uint64_t *bm = (uint64_t *)work;
    randk_set(seed, d, k, bm);
    double factor = (double)d / (double)k;
    if (w != NULL) cq_q_put64(w, seed);
    if (out != NULL) cq_q_emit_zero(out, d);
    for (size_t b = 0; b < (d + 63) / 64; b++) {
        uint64_t word = bm[b];
        while (word) {
            size_t i = b * 64 + (size_t)__builtin_ctzll(word);
            word &= word - 1;
            double v = cq_q_at(y, i) * factor;
            if (!isfinite(v)) return cq_fail(err, CQ_EDOMAIN, "RandK: y[%zu] * d/k = %g overflows", i, v);
            if (w != NULL) cq_q_put64(w, cq_q_dbits(v));
            if (out != NULL) cq_q_emit1(out, i, v);
        }
    }
    return CQ_OK;
}

static int randk_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t seed = cq_q_get64(r);
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "RandK message truncated");
    uint64_t *bm = (uint64_t *)work;
    randk_set(seed, d, (size_t)P->k, bm);
    cq_q_emit_zero(out, d);
    for (size_t b = 0; b < (d + 63) / 64; b++) {
        uint64_t word = bm[b];
        while (word) {
            size_t i = b * 64 + (size_t)__builtin_ctzll(word);
            word &= word - 1;
            double v = cq_q_bitsd(cq_q_get64(r));
            if (r->truncated) return cq_fail(err, CQ_EDECODE, "RandK message truncated");
            if (!isfinite(v)) return cq_fail(err, CQ_EDECODE, "RandK value at index %zu is not finite", i);
            cq_q_emit1(out, i, v);
        }
    }
    return CQ_OK;
}

/* ---- Identity --------------------------------------------------------------------------
 * The uncompressed baseline: every coordinate as a float64 (64 bits) or, with
 * CQ_QF_FLOAT32, rounded to the nearest float32 (32 bits). */

/* Identity's coordinates [g->i0, g->i1): the raw values (w) or the values (c->out). */
static int identity_part(void *vc, const cq_q_range *g)
{
    size_t a = g->i0, b = g->i1;
    cq_bitwriter *w = g->w;
    cq_errinfo *err = g->err;
    const fw_ctx *c = (const fw_ctx *)vc;
    int f32 = (c->P->flags & CQ_QF_FLOAT32) != 0;
    double ybuf[CQ_Q_CHUNK], vals[CQ_Q_CHUNK];
    for (size_t i0 = a; i0 < b; i0 += CQ_Q_CHUNK) {
        size_t m = b - i0 < CQ_Q_CHUNK ? b - i0 : CQ_Q_CHUNK;
        const double *yc = cq_q_chunk(c->y, i0, m, ybuf);
        if (f32) {
            for (size_t t = 0; t < m; t++)
                if (fabs(yc[t]) > FLT_MAX)
                    return cq_fail(err, CQ_EDOMAIN, "Identity(float32): |y[%zu]| = %.15g exceeds the float32 range",
                                   i0 + t, yc[t]);
            for (size_t t = 0; t < m; t++) vals[t] = (double)(float)yc[t];
            yc = vals;
        }
        if (c->out != NULL) cq_q_emit(c->out, i0, yc, m);
        if (w == NULL) {
            continue;
        } else if (f32) {
            for (size_t t = 0; t < m; t++) cq_bw_put(w, cq_q_fbits((float)yc[t]), 32);
        } else {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            if (cq_bw_tell(w) == 64 * (uint64_t)(i0 - a) && (size_t)(w->end - w->p) >= m * 8) {
                memcpy(w->p, yc, m * sizeof(double)); /* the message is the raw little-endian doubles */
                w->p += m * 8;
                continue;
            }
#endif
            for (size_t t = 0; t < m; t++) cq_q_put64(w, cq_q_dbits(yc[t]));
        }
    }
    return CQ_OK;
}

static uint64_t identity_width(const cq_qpar *P) { return (P->flags & CQ_QF_FLOAT32) ? 32u : 64u; }

static int identity_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                        cq_errinfo *err)
{
    (void)g;
    (void)work;
    int st = check_finite(y, P->d, err);
    if (st) return st;
    fw_ctx c = {P, y, out, 0, 0.0, 0.0, NULL};
    return cq_q_split(P->threads, P->d, identity_width(P), P->bits, w, NULL, identity_part, &c, err);
}

/* Identity's coordinates [g->i0, g->i1) from r. */
static int identity_dpart(void *vc, const cq_q_range *g)
{
    const fw_ctx *c = (const fw_ctx *)vc;
    int f32 = (c->P->flags & CQ_QF_FLOAT32) != 0;
    double vbuf[CQ_Q_CHUNK];
    size_t a = g->i0, b = g->i1;
    cq_bitreader *r = g->r;
    for (size_t i0 = a; i0 < b; i0 += CQ_Q_CHUNK) {
        size_t m = b - i0 < CQ_Q_CHUNK ? b - i0 : CQ_Q_CHUNK;
        double *vals = cq_q_emit_buf(c->out, i0, vbuf);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (!f32 && r->pos == 64 * (uint64_t)(i0 - a) && r->nbits - r->pos >= 64 * (uint64_t)m) {
            memcpy(vals, r->buf + 8 * (i0 - a), m * sizeof(double)); /* whole little-endian doubles */
            r->pos += 64 * (uint64_t)m;
        } else
#endif
            for (size_t t = 0; t < m; t++)
                vals[t] = f32 ? (double)cq_q_bitsf(cq_q_get(r, 32)) : cq_q_bitsd(cq_q_get64(r));
        if (!cq_q_finite_d(vals, m)) {
            for (size_t t = 0; t < m; t++)
                if (!isfinite(vals[t]))
                    return cq_fail(g->err, CQ_EDECODE, "Identity value at coordinate %zu is not finite", i0 + t);
        }
        cq_q_emit(c->out, i0, vals, m);
    }
    return CQ_OK;
}

static int identity_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    fw_ctx c = {P, {NULL, 0}, out, 0, 0.0, 0.0, NULL};
    return cq_q_split(P->threads, P->d, identity_width(P), P->bits, NULL, r, identity_dpart, &c, err);
}

/* ---- ops tables ---------------------------------------------------------------------------- */

CQ_Q_TYPED_OPS(identity)
CQ_Q_TYPED_OPS(qsgd)
CQ_Q_TYPED_OPS(terngrad)
CQ_Q_TYPED_OPS(scaledsign)
CQ_Q_TYPED_OPS(topk)
CQ_Q_TYPED_OPS(randk)
