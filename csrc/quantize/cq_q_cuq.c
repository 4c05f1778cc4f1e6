/*
 * cq_q_cuq.c -- CUQ, the coordinate-wise unbiased uniform quantizer (Mayekar & Tyagi,
 * "Limits on Gradient Compression for Stochastic Optimization", section 5, eq. (7),
 * Lemma 5.1).
 *
 * CUQ(M, L), admissible input ||y||_inf <= M: the grid -M + j 2M/(L-1), j = 0..L-1;
 * each coordinate is rounded to one of its two neighbouring points with the
 * probabilities that make the mean exact (E Q(y)_i = y_i, |Q(y)_i - y_i| <= 2M/(L-1));
 * ceil(log2 L) bits per coordinate. The block kernels are also the l_p composite's
 * CUQ part (cq_q_lp.c).
 */
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

static int cuq_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    if (!(q->M > 0) || !isfinite(q->M)) return cq_fail(err, CQ_EINVAL, "M must be finite and > 0, got %g", q->M);
    if (q->levels < 2 || q->levels > ((int64_t)1 << 24))
        return cq_fail(err, CQ_EINVAL, "levels must be in 2..2^24, got %lld", (long long)q->levels);
    P->M = q->M;
    P->L = (uint32_t)q->levels;
    P->delta = 2.0 * q->M / (double)(P->L - 1);
    P->lbits = cq_q_clog2(P->L);
    P->bits = (uint64_t)P->d * P->lbits;
    return CQ_OK;
}

#define CUQ_CHUNK 256

/* The level of x on the grid (M, 1/delta = inv, hi = L-1, lm2 = L-2) with the uniform u:
 * cq_q_round_d of t = (x + M)/delta (the AVX-512 loop makes the same operations). */
static inline uint32_t cuq_level(double x, double M, double inv, double hi, double lm2, uint32_t u)
{
    return (uint32_t)(int32_t)cq_q_round_d((x + M) * inv, hi, lm2, u);
}

#ifdef CQ_Q_AVX512_VARIANT
/* cuq_block's levels of x[i0..i0+m) (i0 even, m a multiple of 16, no cut) into lv, in one
 * pass: the stream's words, the input (float64, or float32 widened in register), the range
 * check and cq_q_round_d's arithmetic sixteen coordinates at a time -- the same double
 * operations in the same order as the portable loops (the integer-valued floor, cap and
 * round-up on int32 lanes), so the same levels; to dst packed (cq_q_store16_avx512), or to
 * lv. cut_on: as in cuq_block. Returns non-zero if some |x_i| > M (cut) or x_i is NaN. */
static int cuq_levels_avx512(cq_qin x, size_t i0, size_t m, double M, double inv, double hi, double lm2, uint64_t key,
                             int cut_on, double cut, uint32_t *lv, uint8_t *dst, unsigned lbits)
{
    const __m512i kv = _mm512_set1_epi64((long long)key);
    const __m512d vM = _mm512_set1_pd(M), vinv = _mm512_set1_pd(inv), vhi = _mm512_set1_pd(hi);
    const __m512d vcut = _mm512_set1_pd(cut), vcheck = cut_on ? vcut : vM;
    const __m512d zero = _mm512_setzero_pd();
    const __m256i ilm2 = _mm256_set1_epi32((int32_t)lm2);
    const __m512d absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
    __m512i ctr1 = cq_q_ctr_avx512(i0);
    __mmask8 ok = 0xFF;
    __m512d uu[2];
    __m256i lvh[2];
    for (size_t t = 0; t < m; t += 16) {
        cq_q_uu16_avx512(kv, &ctr1, &uu[0], &uu[1]);
        for (int h = 0; h < 2; h++) {
            __m512d xv = cq_q_load8_avx512(x, i0 + t + 8 * (size_t)h);
            if (cut_on) xv = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(_mm512_and_pd(xv, absm), vcut, _CMP_LE_OQ), xv);
            ok &= _mm512_cmp_pd_mask(_mm512_and_pd(xv, absm), vcheck, _CMP_LE_OQ);
            __m512d tv = _mm512_mul_pd(_mm512_add_pd(xv, vM), vinv); /* clamped at 0 (NaN too) */
            tv = _mm512_mask_mov_pd(zero, _mm512_cmp_pd_mask(tv, zero, _CMP_GT_OQ), tv);
            lvh[h] = cq_q_round8_avx512(tv, vhi, ilm2, uu[h]);
        }
        cq_q_store16_avx512(lvh[0], lvh[1], lbits, dst, lv, t);
    }
    return ok != 0xFF;
}
#endif

/* The levels lv[0..m) of coordinates i0.. as fields (w) and / or values (out). */
static void cuq_emit_levels(cq_bitwriter *w, const cq_qout *out, const uint32_t *lv, size_t i0, size_t m, double M,
                            double delta, unsigned lbits, double *vals)
{
    if (w != NULL) {
        if (lbits <= 16) cq_q_put_fields(w, lv, m, lbits);
        else
            for (size_t t = 0; t < m; t++) cq_bw_put(w, lv[t], lbits);
    }
    if (out != NULL) {
        for (size_t t = 0; t < m; t++) vals[t] = cq_q_level_value(M, delta, lv[t]);
        cq_q_emit(out, i0, vals, m);
    }
}

/* CUQ levels of x[a..n) (a even) with uniforms from stream `key` (uniform i = half i&1 of
 * word i>>1). Returns non-zero if some |x_i| > M or x_i is NaN (the caller then reports it);
 * the check is fused into the same pass. Chunked so the rounding loop vectorises. */
static int cuq_block(cq_qin x, size_t a, size_t n, double M, double delta, uint32_t L, unsigned lbits, uint64_t key,
                     int cut_on, double cut, cq_bitwriter *w, const cq_qout *out)
{
    /* cut_on: coordinates with |x_i| > cut are quantized as 0 (the l_p composite's Y1),
     * and the range check is against cut instead of M */
    double mcheck = cut_on ? cut : M;
    double hi = (double)(L - 1), lm2 = (double)(L - 2);
    double inv = 1.0 / delta;
    uint32_t ub[CUQ_CHUNK], lv[CUQ_CHUNK];
    double xbuf[CUQ_CHUNK], vals[CUQ_CHUNK];
    int bad = 0;
    for (size_t i0 = a; i0 < n; i0 += CUQ_CHUNK) {
        size_t m = n - i0 < CUQ_CHUNK ? n - i0 : CUQ_CHUNK;
#ifdef CQ_Q_AVX512_VARIANT
        if (m % 16 == 0) {
            /* fields of 4, 8 or 16 bits go straight into the message (no pending bits) */
            int direct = out == NULL && cq_q_direct_ok(w, m, lbits);
            bad |= cuq_levels_avx512(x, i0, m, M, inv, hi, lm2, key, cut_on, cut, lv, direct ? w->p : NULL, lbits);
            if (direct) w->p += m / 8 * lbits;
            else cuq_emit_levels(w, out, lv, i0, m, M, delta, lbits, vals);
            continue;
        }
#endif
        for (size_t t = 0; t < m; t += 2) {
            uint64_t r = cq_q_mix(key, (i0 + t) >> 1);
            ub[t] = (uint32_t)r;
            ub[t + 1] = (uint32_t)(r >> 32);
        }
        const double *xc = cq_q_chunk(x, i0, m, xbuf);
        double av[CUQ_CHUNK];
        if (cut_on) {
            for (size_t t = 0; t < m; t++) av[t] = fabs(xc[t]) <= cut ? xc[t] : 0.0;
            xc = av;
        }
        int nb = 0;
        for (size_t t = 0; t < m; t++) nb |= !(fabs(xc[t]) <= mcheck);
        bad |= nb;
        /* the rounding of cq_q_round, written in double lanes so that it vectorises */
        for (size_t t = 0; t < m; t++) lv[t] = cuq_level(xc[t], M, inv, hi, lm2, ub[t]);
        cuq_emit_levels(w, out, lv, i0, m, M, delta, lbits, vals);
    }
    return bad;
}

#ifndef CQ_Q_SIMD_VARIANT
/* The value cuq_block gives coordinate i of stream `key` when its input there is 0 (a cut
 * coordinate of the l_p composite). */
double cq_q_cuq_zero_value(double M, double delta, uint32_t L, uint64_t key, size_t i)
{
    uint32_t lev = cuq_level(0.0, M, 1.0 / delta, (double)(L - 1), (double)(L - 2), cq_q_u32(key, i));
    return cq_q_level_value(M, delta, lev);
}
#endif

/* the l_p composite's entry points, one per build level (cq_q_internal.h) */
int CQ_Q_LEVEL(cq_q_cuq_block)(cq_qin x, size_t a, size_t n, double M, double delta, uint32_t L, unsigned lbits,
                               uint64_t key, int cut_on, double cut, cq_bitwriter *w, const cq_qout *out)
{
    return cuq_block(x, a, n, M, delta, L, lbits, key, cut_on, cut, w, out);
}

/* What CUQ's ranges share (cq_q_split). */
typedef struct cuq_ctx {
    const cq_qpar *P;
    cq_qin y;
    const cq_qout *out;
    uint64_t key;
} cuq_ctx;

/* CUQ's coordinates [g->i0, g->i1); CQ_EDOMAIN (no message) when one is out of range. */
static int cuq_part(void *vc, const cq_q_range *g)
{
    const cuq_ctx *c = (const cuq_ctx *)vc;
    const cq_qpar *P = c->P;
    return cuq_block(c->y, g->i0, g->i1, P->M, P->delta, P->L, P->lbits, c->key, 0, 0.0, g->w, c->out) ? CQ_EDOMAIN
                                                                                                        : CQ_OK;
}

static int cuq_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                   cq_errinfo *err)
{
    (void)work;
    size_t d = P->d;
    double M = P->M;
    cuq_ctx c = {P, y, out, cq_rng_u64(g)};
    if (cq_q_split(P->threads, d, P->lbits, P->bits, w, NULL, cuq_part, &c, err) != CQ_OK) {
        /* admissibility: every |y_i| <= M (checked in the same pass; report here) */
        double mx = cq_q_v_max_abs(y, 0, d);
        for (size_t i = 0; i < d; i++) {
            double yi = cq_q_at(y, i);
            if (!isfinite(yi)) return cq_q_fail_nonfinite_v(y, d, err);
            if (fabs(yi) > M)
                return cq_fail(err, CQ_EDOMAIN, "CUQ needs ||y||_inf <= M = %.15g, got ||y||_inf = %.15g (|y[%zu]| = %.15g)",
                               M, mx, i, fabs(yi));
        }
        return cq_q_fail_nonfinite_v(y, d, err);
    }
    return CQ_OK;
}

/* CUQ levels of coordinates [a, n) -> out, rejecting levels >= L. */
static int cuq_decode_block(cq_bitreader *r, size_t a, size_t n, double M, double delta, uint32_t L, unsigned lbits,
                            const cq_qout *out, cq_errinfo *err)
{
    uint32_t lv[CQ_Q_CHUNK];
    double vbuf[CQ_Q_CHUNK];
    for (size_t i0 = a; i0 < n; i0 += CQ_Q_CHUNK) {
        size_t m = n - i0 < CQ_Q_CHUNK ? n - i0 : CQ_Q_CHUNK;
        if (lbits <= 16) cq_q_get_fields(r, lv, m, lbits);
        else
            for (size_t t = 0; t < m; t++) lv[t] = cq_q_get(r, lbits);
        uint32_t mx = 0;
        for (size_t t = 0; t < m; t++) mx = lv[t] > mx ? lv[t] : mx;
        if (mx >= L) {
            for (size_t t = 0; t < m; t++)
                if (lv[t] >= L)
                    return cq_fail(err, CQ_EDECODE, "CUQ level %u at coordinate %zu is out of range 0..%u", lv[t], i0 + t,
                                   L - 1);
        }
        if (out->p == NULL) continue;
        double *vals = cq_q_emit_buf(out, i0, vbuf);
        for (size_t t = 0; t < m; t++) vals[t] = cq_q_level_value(M, delta, lv[t]);
        cq_q_emit(out, i0, vals, m);
    }
    assert(r->truncated || r->pos <= r->nbits);
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "CUQ message truncated");
    return CQ_OK;
}

int CQ_Q_LEVEL(cq_q_cuq_decode_block)(cq_bitreader *r, size_t a, size_t n, double M, double delta, uint32_t L,
                                      unsigned lbits, const cq_qout *out, cq_errinfo *err)
{
    return cuq_decode_block(r, a, n, M, delta, L, lbits, out, err);
}

static int cuq_dpart(void *vc, const cq_q_range *g)
{
    const cuq_ctx *c = (const cuq_ctx *)vc;
    return cuq_decode_block(g->r, g->i0, g->i1, c->P->M, c->P->delta, c->P->L, c->P->lbits, c->out, g->err);
}

static int cuq_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    cuq_ctx c = {P, {NULL, 0}, out, 0};
    return cq_q_split(P->threads, P->d, P->lbits, P->bits, NULL, r, cuq_dpart, &c, err);
}

CQ_Q_TYPED_OPS(cuq)
