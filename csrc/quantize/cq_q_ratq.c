/*
 * cq_q_ratq.c -- RATQ, random rotation + adaptive tetra-iterated uniform quantization
 * (Mayekar & Tyagi 2019, "RATQ: A Universal Fixed-Length Quantizer for Stochastic
 * Optimization"; used in "Limits on Gradient Compression for Stochastic Optimization"
 * with parameters (8), Lemma 5.2).
 *
 * RATQ(B), admissible input ||y||_2 <= B: a random rotation z = R y, groups of s
 * consecutive coordinates; each group sends the index j of the smallest range
 * M_j >= max |z_i| (ceil(log2 h) bits), then CUQ(M_j, L) of its coordinates. Ranges
 * M_j^2 = m e*^j + m0 (e*^0 = 1, e*^(j+1) = exp(e*^j)), m = 3 B^2/n0,
 * m0 = 2 (B^2/n0) ln s, capped at B(1 + 1e-6); the top range is the cap. Message: the
 * sign field, then per group [j, levels...]. Decode inverts the rotation.
 *
 * The paper pads y to d2 = 2^ceil(log2 d) and rotates by H D / sqrt(d2); here the rotation
 * is "windowed" so that nothing is padded (a d = 2^20 + 1 vector would otherwise be sent
 * as 2^21 coordinates): for d not a power of two and n0 = 2^floor(log2 d) > d/2, R = R2 R1
 * with R1 = H D1 / sqrt(n0) on coordinates [0, n0) and R2 = H D2 / sqrt(n0) on
 * [d - n0, d) (the two windows overlap; D1, D2 independent signs; H Walsh-Hadamard); R is
 * orthogonal, the decoder applies R1^T R2^T. Every rotated coordinate is a Rademacher
 * sum with sum of squared weights <= ||y||_2^2 / n0, so the ranges and h are those of
 * dimension n0 (h from ln*(n0/3)), and the paper's error bound holds with the factor
 * d/n0 < 2 (d coordinates of variance sigma^2 = B^2/n0 instead of d2 of B^2/d2; see
 * convq.quantize.LpQuantizer for the second-moment argument). With d = n0 there is one
 * window: the paper's rotation. The signs come from a field of min(64, number of signs)
 * bits: the signs themselves when there are at most 64 of them, else a seed expanded by
 * SplitMix64. The l_p composite's RATQ part uses the same core on its own parameters.
 */
#include <math.h>
#include <string.h>
#include "core/cq_hadamard.h"
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

#ifndef CQ_Q_SIMD_VARIANT /* defined once (the AVX2 and AVX-512 builds of this file include it again) */
/* RATQ parameters: the defaults of parameters (8) of "Limits on Gradient Compression for
 * Stochastic Optimization" (s = log h, levels = 4), from the RATQ paper; the ranges and h
 * are those of the rotation window n0. */
int cq_q_ratq_params(double B, size_t dim, int64_t s, int64_t h, int64_t L, int windowed, cq_ratq_par *r,
                     cq_errinfo *err)
{
    memset(r, 0, sizeof *r);
    if (!(B > 0) || !isfinite(B)) return cq_fail(err, CQ_EINVAL, "RATQ bound B must be finite and > 0, got %g", B);
    if (dim < 1) return cq_fail(err, CQ_EINVAL, "RATQ dimension must be >= 1");
    size_t n0 = 1;
    while (n0 < dim) n0 <<= 1;
    size_t d2 = n0;
    uint64_t nsigns = n0;
    if (windowed) {
        if (n0 > dim) n0 >>= 1;  /* the largest power of two <= dim */
        d2 = dim;
        nsigns = d2 == n0 ? n0 : 2 * (uint64_t)n0;
    }
    unsigned logh = cq_q_clog2(1 + (uint64_t)cq_q_lnstar((double)n0 / 3.0));
    if (h == 0) h = (int64_t)1 << logh;
    if (s == 0) s = logh > 0 ? (int64_t)logh : 1;
    if (L == 0) L = 4;
    if (s < 1) return cq_fail(err, CQ_EINVAL, "RATQ group size s must be >= 1, got %lld", (long long)s);
    if (h < 1 || h > CQ_RATQ_HMAX)
        return cq_fail(err, CQ_EINVAL, "RATQ number of ranges h must be in 1..%d, got %lld", CQ_RATQ_HMAX, (long long)h);
    if (L < 2 || L > ((int64_t)1 << 24))
        return cq_fail(err, CQ_EINVAL, "RATQ levels must be in 2..2^24, got %lld", (long long)L);
    r->B = B;
    r->dim = dim;
    r->d2 = d2;
    r->n0 = n0;
    r->raw_signs = windowed && nsigns <= 64;
    r->seedbits = windowed && nsigns < 64 ? (unsigned)nsigns : 64;
    r->s = (uint64_t)s;
    r->h = (uint64_t)h;
    r->L = (uint32_t)L;
    r->ngroups = (d2 + r->s - 1) / r->s;
    r->hbits = cq_q_clog2(r->h);
    r->lbits = cq_q_clog2(r->L);
    double m = 3.0 * B * B / (double)n0;
    double m0 = 2.0 * (B * B / (double)n0) * log((double)r->s);
    double cap = B * (1.0 + 1e-6), e = 1.0, prev = 0.0;
    for (uint64_t j = 0; j < r->h; j++) {
        double v = sqrt(m * e + m0);
        if (!(v <= cap)) v = cap; /* also catches e = inf */
        if (v < prev) v = prev;
        r->M[j] = v;
        prev = v;
        e = exp(e);               /* e*^(j+1) = exp(e*^j): tetration of e */
    }
    r->M[r->h - 1] = cap;         /* the top range always covers ||z||_inf <= ||y||_2 <= B */
    r->bits = r->seedbits + r->ngroups * r->hbits + (uint64_t)d2 * r->lbits;
    return CQ_OK;
}
#endif

static int ratq_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    st = cq_q_ratq_params(q->B, P->d, q->s, q->h, q->levels, 1, &P->r, err);
    if (st) return st;
    P->q = 2.0;
    P->bits = P->r.bits;
    P->work = P->r.d2 * sizeof(double);
    return CQ_OK;
}

/* ---- the kernels ---------------------------------------------------------------------
 * Typed (cq_qin / cq_qout): a float32 input is read in place (widened to double, so its
 * message is that of its float64 copy) and decode writes or adds float32 directly.
 * Encode: the transform(s) of the work z, each loading its input with the signs applied
 * block by block into its first, in-cache stage (cq_hadamard_fwht_load), window 1's load
 * also making the norm check's sum of squares (the only read of y), then the norm check,
 * then one pass of the group loop over z (scale, group maxima and range indices, rounding
 * and packing, a batch of groups at a time in the cache; with the own decode fused, the
 * quantized values back into z for the inverse rotation). Decode: the group fields
 * unpacked a batch at a time into z (only checked when the decode only validates), the
 * inverse transform(s), window 1's signs and scale fused into the write of the output.
 * The AVX-512 build has its own group loops for groups of two (the default group size
 * up to n0 ~ 1.1e7: ratq_enc2_avx512, ratq_dec2_avx512) and applies the signs under a
 * mask; the same operations in the same order, so the same bits at every level. */

#define RATQ_CHUNK 512 /* coordinates per batch of the group loops */

/* The transform of this build level (cq_hadamard.h): the same result at every level. */
#ifdef CQ_Q_AVX512_VARIANT
#define RATQ_FWHT cq_hadamard_fwht_load_avx512
#else
#define RATQ_FWHT cq_hadamard_fwht_load
#endif

/* delta_j = 2 M_j/(L-1) and 1/delta_j, j < h (the step and its inverse of range j). */
typedef struct ratq_tab {
    double delta[CQ_RATQ_HMAX], inv[CQ_RATQ_HMAX];
} ratq_tab;

static void ratq_table(const cq_ratq_par *r, ratq_tab *t)
{
    memset(t, 0, sizeof *t); /* the vector lookups load 16 entries */
    for (uint64_t j = 0; j < r->h; j++) {
        t->delta[j] = 2.0 * r->M[j] / (double)(r->L - 1);
        t->inv[j] = 1.0 / t->delta[j];
    }
}

/* out[i] = +-(x[i0 + i] * scale), i < n, with the rotation sign number u0 + i: bit u % 64 of
 * word u / 64, the word being the seed itself (raw signs) or SplitMix64 word u / 64 of
 * the stream keyed by the seed (1 = minus). The sign is applied by flipping the sign bit
 * (what negation does), a word's run of coordinates at a time, so the loop vectorises.
 * x may be out itself, coordinate for coordinate (float64, x.p + i0 == out). */
static void ratq_signs(const cq_ratq_par *r, uint64_t seed, size_t u0, cq_qin x, size_t i0, double *out, size_t n,
                       double scale)
{
    for (size_t i = 0; i < n;) {
        size_t u = u0 + i;
        unsigned b = (unsigned)(u & 63);
        size_t m = 64 - b < n - i ? 64 - b : n - i;
        uint64_t word = (r->raw_signs ? seed : cq_q_mix(seed, (uint64_t)(u >> 6))) >> b;
        double *o = out + i;
#ifdef CQ_Q_AVX512_VARIANT
        if (m == 64) { /* a whole word: the sign bits flipped under a mask, eight lanes a step */
            const __m512d vs = _mm512_set1_pd(scale), sb = _mm512_set1_pd(-0.0);
            for (size_t t = 0; t < 64; t += 8) {
                __m512d v = _mm512_mul_pd(cq_q_load8_avx512(x, i0 + i + t), vs);
                _mm512_storeu_pd(o + t, _mm512_mask_xor_pd(v, (__mmask8)(word >> t), v, sb));
            }
            i += m;
            continue;
        }
#endif
        if (x.f32) {
            const float *f = (const float *)x.p + i0 + i;
            for (size_t t = 0; t < m; t++)
                o[t] = cq_q_bitsd(cq_q_dbits((double)f[t] * scale) ^ (((word >> t) & 1u) << 63));
        } else {
            const double *v = (const double *)x.p + i0 + i;
            for (size_t t = 0; t < m; t++) o[t] = cq_q_bitsd(cq_q_dbits(v[t] * scale) ^ (((word >> t) & 1u) << 63));
        }
        i += m;
    }
}

/* The norm check's sum of squares, made while the rotation reads the input: y_i^2 added
 * to a[i & 3] for i < d4 = d & ~3 and to a[0] after it, in increasing i, the summation
 * order of cq_q_sum_sq_d / _f (whose four accumulators end as (a0 + a1) + (a2 + a3)), so
 * the same sum; coordinates [i0, i0 + k) here, the calls in increasing i0. */
static void ratq_sumsq(double *a, cq_qin x, size_t i0, size_t k, size_t d4)
{
    size_t i = i0, e = i0 + k;
    for (; i < e && (i & 3); i++) {
        double v = cq_q_at(x, i);
        a[i < d4 ? (i & 3) : 0] += v * v;
    }
#ifdef CQ_Q_AVX512_VARIANT
    /* the four accumulators as the lanes of one vector (cq_q_sum_sq's AVX-512 form) */
    __m256d acc = _mm256_loadu_pd(a);
    if (x.f32) {
        const float *f = (const float *)x.p;
        for (; i + 4 <= e && i + 4 <= d4; i += 4) {
            __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(f + i));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(v, v));
        }
    } else {
        const double *p = (const double *)x.p;
        for (; i + 4 <= e && i + 4 <= d4; i += 4) {
            __m256d v = _mm256_loadu_pd(p + i);
            acc = _mm256_add_pd(acc, _mm256_mul_pd(v, v));
        }
    }
    _mm256_storeu_pd(a, acc);
#endif
    double a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    if (x.f32) {
        const float *f = (const float *)x.p;
        for (; i + 4 <= e && i + 4 <= d4; i += 4) {
            a0 += (double)f[i] * (double)f[i];
            a1 += (double)f[i + 1] * (double)f[i + 1];
            a2 += (double)f[i + 2] * (double)f[i + 2];
            a3 += (double)f[i + 3] * (double)f[i + 3];
        }
    } else {
        const double *v = (const double *)x.p;
        for (; i + 4 <= e && i + 4 <= d4; i += 4) {
            a0 += v[i] * v[i];
            a1 += v[i + 1] * v[i + 1];
            a2 += v[i + 2] * v[i + 2];
            a3 += v[i + 3] * v[i + 3];
        }
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
    for (; i < e; i++) {
        double v = cq_q_at(x, i);
        a[i < d4 ? (i & 3) : 0] += v * v;
    }
}

/* What the transforms of ratq_rotate read, block by block (cq_hadamard_fwht_load). */
typedef struct ratq_load_ctx {
    const cq_ratq_par *r;
    uint64_t seed;
    cq_qin x;      /* window 1: the input; window 2: z itself (float64) */
    size_t n_in;   /* window 1: coordinates of x inside the window (the rest are 0)      */
    size_t o;      /* window 2: its offset d2 - n0                                        */
    double scale;  /* window 2: window 1's scale, applied where the windows overlap       */
    double *ss;    /* window 1: the norm check's four accumulators (ratq_sumsq)           */
} ratq_load_ctx;

/* Window 1's input: D1 x on [i0, i0 + m), zero past the input. */
static void ratq_load1(void *ctx, double *blk, size_t i0, size_t m)
{
    const ratq_load_ctx *c = (const ratq_load_ctx *)ctx;
    size_t k = c->n_in > i0 ? c->n_in - i0 : 0;
    k = k < m ? k : m;
    /* the sum's dependency chain beside the signs' work, 256 coordinates at a time */
    for (size_t t = 0; t < k; t += 256) {
        size_t e = k - t < 256 ? k - t : 256;
        ratq_sumsq(c->ss, c->x, i0 + t, e, c->n_in & ~(size_t)3);
        ratq_signs(c->r, c->seed, i0 + t, c->x, i0 + t, blk + t, e, 1.0);
    }
    for (size_t t = k; t < m; t++) blk[t] = 0.0;
}

/* Window 2's input, in place: D2 (window 1's output times its scale on the overlap, the
 * untouched coordinates after it), sign number n0 + i for coordinate o + i. */
static void ratq_load2(void *ctx, double *blk, size_t i0, size_t m)
{
    const ratq_load_ctx *c = (const ratq_load_ctx *)ctx;
    size_t n0 = c->r->n0, ov = n0 - c->o; /* the overlap's length */
    size_t k = ov > i0 ? ov - i0 : 0;
    k = k < m ? k : m;
    cq_qin b = {blk, 0};
    ratq_signs(c->r, c->seed, n0 + i0, b, 0, blk, k, c->scale);
    ratq_signs(c->r, c->seed, n0 + i0 + k, b, k, blk + k, m - k, 1.0);
}

/* z[0..d2) <- R x (x[0..n_in) zero-padded), all but the final scale: window 1, then
 * window 2 if there are two (window 1's scale folded into window 2's signs where the
 * windows overlap), each window's signs applied as its transform loads a block;
 * ss[0..4) <- the accumulators of the sum of the squares of x (ratq_sumsq), made on the
 * way. Returns the scale 1/sqrt(n0) the group loop applies to every z[i] (with two
 * windows: window 1's to [0, d2 - n0), window 2's to the rest). */
static double ratq_rotate(const cq_ratq_par *r, uint64_t seed, cq_qin x, size_t n_in, double *z, double *ss)
{
    size_t n0 = r->n0, o = r->d2 - r->n0;
    double scale = 1.0 / sqrt((double)n0);
    ratq_load_ctx c = {r, seed, x, n_in, o, scale, ss};
    ss[0] = ss[1] = ss[2] = ss[3] = 0.0;
    RATQ_FWHT(z, n0, ratq_load1, &c);
    /* outside window 1 (R1 leaves them), after it: the sum's order */
    if (n_in > n0) ratq_sumsq(ss, x, n0, n_in - n0, n_in & ~(size_t)3);
    for (size_t i = n0; i < n_in; i++) z[i] = cq_q_at(x, i);
    for (size_t i = n_in > n0 ? n_in : n0; i < r->d2; i++) z[i] = 0.0;
    if (o == 0) return scale;
    RATQ_FWHT(z + o, n0, ratq_load2, &c);
    return scale;
}

/* z (d2 doubles, the quantized rotated vector) -> out: R^T z, i.e. window 2's
 * D2 H / sqrt(n0) first (two windows), then window 1's D1 H / sqrt(n0), written through
 * cq_q_emit a chunk at a time. */
static void ratq_inverse(const cq_ratq_par *r, uint64_t seed, double *z, const cq_qout *out)
{
    size_t n0 = r->n0, o = r->d2 - r->n0, m = r->dim < n0 ? r->dim : n0;
    double scale = 1.0 / sqrt((double)n0), buf[RATQ_CHUNK];
    cq_qin zv = {z, 0};
    if (o > 0) {
        RATQ_FWHT(z + o, n0, NULL, NULL);
        ratq_signs(r, seed, n0, zv, o, z + o, n0, scale);
    }
    RATQ_FWHT(z, n0, NULL, NULL);
    for (size_t i0 = 0; i0 < m; i0 += RATQ_CHUNK) {
        size_t c = m - i0 < RATQ_CHUNK ? m - i0 : RATQ_CHUNK;
        double *v = cq_q_emit_buf(out, i0, buf); /* a float64 output being set: itself */
        ratq_signs(r, seed, i0, zv, i0, v, c, scale);
        cq_q_emit(out, i0, v, c);
    }
    if (r->dim > n0) cq_q_emit(out, n0, z + n0, r->dim - n0);
}

/* Append n fields of `width` bits (1..32): gathered in a 64-bit accumulator and stored 32
 * bits at a time (the bit writer's order, so the bits are those of one put per field). */
static void ratq_put_fields(cq_bitwriter *w, const uint32_t *v, size_t n, unsigned width)
{
    uint64_t acc = 0;
    unsigned nacc = 0; /* < 32 between fields */
    for (size_t t = 0; t < n; t++) {
        acc |= (uint64_t)v[t] << nacc;
        nacc += width;
        if (nacc >= 32) {
            cq_bw_put(w, acc & 0xFFFFFFFFull, 32);
            acc >>= 32;
            nacc -= 32;
        }
    }
    if (nacc) cq_bw_put(w, acc, nacc);
}

/* A 64-bit bit packer over a cq_bitwriter, for the fast group loops: it takes over the
 * writer's pending bits, stores whole 64-bit words (LSB first, what cq_bw_put stores) and
 * hands the last < 64 bits back to the writer. The caller has checked the room. */
typedef struct ratq_pack {
    uint64_t acc;
    unsigned n; /* < 64 */
    uint8_t *p;
} ratq_pack;

static inline void ratq_pack_begin(ratq_pack *k, const cq_bitwriter *w)
{
    k->acc = w->acc;
    k->n = w->nacc;
    k->p = w->p;
}

/* Append the low n bits of v (1 <= n <= 64, the bits of v above n zero). */
static inline void ratq_pack_put(ratq_pack *k, uint64_t v, unsigned n)
{
    k->acc |= v << k->n;
    if (k->n + n < 64) {
        k->n += n;
        return;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(k->p, &k->acc, 8);
#else
    for (unsigned i = 0; i < 8; i++) k->p[i] = (uint8_t)(k->acc >> (8 * i));
#endif
    k->p += 8;
    k->acc = k->n ? v >> (64 - k->n) : 0;
    k->n = k->n + n - 64;
}

static inline void ratq_pack_end(const ratq_pack *k, cq_bitwriter *w)
{
    w->p = k->p;
    w->acc = 0;
    w->nacc = 0;
    cq_q_put_wide(w, k->acc, k->n);
}

/* Inlined into each caller, so that a constant argument (the group size s) is propagated. */
#if defined(__GNUC__)
#define RATQ_INLINE static inline __attribute__((always_inline))
#else
#define RATQ_INLINE static inline
#endif

/* The values of m levels lv on the grids of their groups: coordinate t of a batch of
 * several groups is in group t / s (its range M = mg[group], step dg[group]) for the nf
 * full groups, the rest in group nf; a chunk of one long group has nf = 0. */
RATQ_INLINE void ratq_values(double *zc, const uint32_t *lv, const double *mg, const double *dg, size_t nf, size_t s,
                             size_t m)
{
    for (size_t i = 0; i < s && nf > 0; i++)
        for (size_t k = 0; k < nf; k++) zc[k * s + i] = cq_q_level_value(mg[k], dg[k], lv[k * s + i]);
    for (size_t t = nf * s; t < m; t++) zc[t] = cq_q_level_value(mg[nf], dg[nf], lv[t]);
}

/* The group loop of the encoder over z (the rotated vector before its final scale), from
 * group g_start on: per group the smallest range M_j >= max |z_i| (the number of ranges
 * below max |z_i|, since the M_j increase), then CUQ(M_j, L) of its coordinates with
 * uniform i = half i&1 of SplitMix64 word i>>1 of the stream `key`; w != NULL: the fields
 * [j, levels...] of each group (gathered into 32-bit puts when a group's fields fit 32
 * bits); vals: z <- the quantized values (what decode writes before the inverse
 * rotation). Each step runs over a whole batch of groups, so that it vectorises. */
RATQ_INLINE int ratq_encode_groups_s(const cq_ratq_par *r, const ratq_tab *tb, double *z, double scale, uint64_t key,
                                     cq_bitwriter *w, int vals, uint64_t g_start, size_t s, cq_errinfo *err)
{
    size_t d2 = r->d2;
    unsigned hb = r->hbits, lb = r->lbits;
    double hi = (double)(r->L - 1), lm2 = (double)(r->L - 2), top = r->M[r->h - 1];
    int packed = s <= 32 && hb + s * lb <= 32;
    size_t gmax = s <= RATQ_CHUNK ? RATQ_CHUNK / s : 1, ng;
    uint32_t jb[RATQ_CHUNK], ub[RATQ_CHUNK], lv[RATQ_CHUNK], vb[RATQ_CHUNK];
    double mxb[RATQ_CHUNK], mg[RATQ_CHUNK], ig[RATQ_CHUNK], dg[RATQ_CHUNK], zs[RATQ_CHUNK];
    for (uint64_t g0 = g_start; g0 < r->ngroups; g0 += ng) {
        ng = r->ngroups - g0 < gmax ? (size_t)(r->ngroups - g0) : gmax;
        size_t lo = (size_t)g0 * s, end = lo + ng * s < d2 ? lo + ng * s : d2, nfull = (end - lo) / s;
        size_t nf = ng == 1 ? 0 : nfull; /* full groups of a batch of several */
        const double *zb = z + lo;
        /* the group maxima of |z_i scale| (coordinate i of every full group, then the last) */
        for (size_t k = 0; k < ng; k++) mxb[k] = 0.0;
        for (size_t i = 0; i < s && nf > 0; i++)
            for (size_t k = 0; k < nf; k++) {
                double v = fabs(zb[k * s + i] * scale);
                mxb[k] = v > mxb[k] ? v : mxb[k];
            }
        for (size_t t = nf * s; t < end - lo; t++) {
            double v = fabs(zb[t] * scale);
            mxb[nf] = v > mxb[nf] ? v : mxb[nf];
        }
        for (size_t k = 0; k < ng; k++) jb[k] = 0;
        for (uint64_t q = 0; q + 1 < r->h; q++) {
            double Mq = r->M[q];
            for (size_t k = 0; k < ng; k++) jb[k] += !(mxb[k] <= Mq);
        }
        int bad = 0;
        for (size_t k = 0; k < ng; k++) bad |= !(mxb[k] <= top);
        for (size_t k = 0; bad && k < ng; k++)
            if (!(mxb[k] <= top))
                return cq_fail(err, CQ_EDOMAIN,
                               "RATQ: rotated coordinate %.15g exceeds the top range %.15g (||y||_2 > B = %.15g)",
                               mxb[k], top, r->B);
        for (size_t c0 = lo; c0 < end; c0 += RATQ_CHUNK) {
            size_t m = end - c0 < RATQ_CHUNK ? end - c0 : RATQ_CHUNK;
            size_t t = 0;
            if (c0 & 1) ub[t++] = (uint32_t)(cq_q_mix(key, c0 >> 1) >> 32);
            for (; t + 2 <= m; t += 2) {
                uint64_t x = cq_q_mix(key, (c0 + t) >> 1);
                ub[t] = (uint32_t)x;
                ub[t + 1] = (uint32_t)(x >> 32);
            }
            if (t < m) ub[t] = (uint32_t)cq_q_mix(key, (c0 + t) >> 1);
            /* a batch of groups in this one chunk (coordinate i of every full group, then
             * the last group), or a chunk of one long group */
            double *zc = z + c0;
            for (t = 0; t < m; t++) zs[t] = zc[t] * scale;
            for (size_t k = 0; k < ng; k++) {
                mg[k] = r->M[jb[k]];
                ig[k] = tb->inv[jb[k]];
                dg[k] = tb->delta[jb[k]];
            }
            for (size_t i = 0; i < s && nf > 0; i++)
                for (size_t k = 0; k < nf; k++)
                    lv[k * s + i] = (uint32_t)(int32_t)cq_q_round_d((zs[k * s + i] + mg[k]) * ig[k], hi, lm2, ub[k * s + i]);
            for (t = nf * s; t < m; t++)
                lv[t] = (uint32_t)(int32_t)cq_q_round_d((zs[t] + mg[nf]) * ig[nf], hi, lm2, ub[t]);
            if (vals) ratq_values(zc, lv, mg, dg, nf, s, m);
            if (w == NULL) continue;
            if (packed) { /* s <= 32: the whole batch is this one chunk; a group's fields
                           * [j, levels...] as one value, several values per put */
                for (size_t k = 0; k < nfull; k++) vb[k] = jb[k];
                for (size_t i = 0; i < s; i++)
                    for (size_t k = 0; k < nfull; k++) vb[k] |= lv[k * s + i] << (hb + i * lb);
                ratq_put_fields(w, vb, nfull, hb + (unsigned)s * lb);
                if (nfull < ng) {
                    uint64_t v = jb[nfull];
                    for (t = nfull * s; t < m; t++) v |= (uint64_t)lv[t] << (hb + (t - nfull * s) * lb);
                    cq_bw_put(w, v, hb + (unsigned)(m - nfull * s) * lb);
                }
                continue;
            }
            for (size_t k = 0; k < ng; k++) {
                size_t a = lo + k * s, b = a + s < end ? a + s : end;
                if (a >= c0 && hb) cq_bw_put(w, jb[k], hb);
                a = a > c0 ? a : c0;
                b = b < c0 + m ? b : c0 + m;
                if (b > a) ratq_put_fields(w, lv + (a - c0), b - a, lb);
            }
        }
    }
    return CQ_OK;
}

#ifdef CQ_Q_AVX512_VARIANT
/* The encoder's group loop for groups of two coordinates (s = 2: the default up to
 * n0 ~ 1.1e7), h <= 16 and fields of at most 16 bits a group, on coordinates [0, n) (n a
 * multiple of 16), sixteen coordinates (eight groups) a step in AVX-512 lanes with the
 * portable loop's double operations in the same order: the group's max |z_i scale| (the
 * larger of the lane and its pair's), the range index (the count of ranges below it), the
 * range and its step looked up in two registers (vpermt2pd), cq_q_round_d as in CUQ's
 * kernel with the stream's uniforms made in register (cq_q_uu16_avx512), the fields of
 * four groups shifted into one word (vpsllvq, an OR reduction) and stored 64 bits at a
 * time (ratq_pack). Returns the coordinates done: n, or the start of the step that holds
 * a group over the top range (nothing of it written; the portable loop reports it). */
static size_t ratq_enc2_avx512(const cq_ratq_par *r, const ratq_tab *tb, double *z, size_t n, double scale,
                               uint64_t key, cq_bitwriter *w, int vals)
{
    const unsigned hb = r->hbits, lb = r->lbits, gw = hb + 2 * lb;
    if (w != NULL && 8 * (uint64_t)(w->end - w->p) < w->nacc + (uint64_t)(n / 2) * gw) return 0;
    const __m512d Mlo = _mm512_loadu_pd(r->M), Mhi = _mm512_loadu_pd(r->M + 8);
    const __m512d Ilo = _mm512_loadu_pd(tb->inv), Ihi = _mm512_loadu_pd(tb->inv + 8);
    const __m512d Dlo = _mm512_loadu_pd(tb->delta), Dhi = _mm512_loadu_pd(tb->delta + 8);
    const __m512d vscale = _mm512_set1_pd(scale), zero = _mm512_setzero_pd();
    const __m512d absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
    const __m512d vhi = _mm512_set1_pd((double)(r->L - 1)), top = _mm512_set1_pd(r->M[r->h - 1]);
    const __m256i ilm2 = _mm256_set1_epi32((int32_t)(r->L - 2));
    const __m512i one = _mm512_set1_epi64(1), kv = _mm512_set1_epi64((long long)key);
    /* lane 2k: level 0 of group k after j; lane 2k+1: level 1; j at the even lanes */
    const __m512i lsh = _mm512_set_epi64(3 * gw + hb + lb, 3 * gw + hb, 2 * gw + hb + lb, 2 * gw + hb,
                                         gw + hb + lb, gw + hb, hb + lb, hb);
    const __m512i jsh = _mm512_set_epi64(0, 3 * gw, 0, 2 * gw, 0, gw, 0, 0);
    __m512d Mq[16];
    for (uint64_t q = 0; q < 16; q++) Mq[q] = _mm512_set1_pd(q + 1 < r->h ? r->M[q] : 0.0);
    __m512i ctr1 = cq_q_ctr_avx512(0);
    ratq_pack pk = {0, 0, NULL};
    if (w != NULL) ratq_pack_begin(&pk, w);
    size_t i = 0;
    for (; i < n; i += 16) {
        __m512d uu[2], val[2];
        __m512i f[2];
        __mmask8 ok = 0xFF;
        cq_q_uu16_avx512(kv, &ctr1, &uu[0], &uu[1]);
        for (int h = 0; h < 2; h++) {
            __m512d zs = _mm512_mul_pd(_mm512_loadu_pd(z + i + 8 * h), vscale);
            __m512d a = _mm512_and_pd(zs, absm);
            __m512d mx = _mm512_max_pd(a, _mm512_permute_pd(a, 0x55));
            __m512i jv = _mm512_setzero_si512();
            for (uint64_t q = 0; q + 1 < r->h; q++)
                jv = _mm512_mask_add_epi64(jv, _mm512_cmp_pd_mask(mx, Mq[q], _CMP_NLE_UQ), jv, one);
            ok &= _mm512_cmp_pd_mask(mx, top, _CMP_LE_OQ);
            __m512d Mj = _mm512_permutex2var_pd(Mlo, jv, Mhi);
            __m512d tv = _mm512_mul_pd(_mm512_add_pd(zs, Mj), _mm512_permutex2var_pd(Ilo, jv, Ihi));
            tv = _mm512_mask_mov_pd(zero, _mm512_cmp_pd_mask(tv, zero, _CMP_GT_OQ), tv);
            __m256i lv = cq_q_round8_avx512(tv, vhi, ilm2, uu[h]);
            if (vals) /* cq_q_level_value: -M + lev delta */
                val[h] = _mm512_add_pd(_mm512_xor_pd(Mj, _mm512_set1_pd(-0.0)),
                                       _mm512_mul_pd(_mm512_cvtepi32_pd(lv), _mm512_permutex2var_pd(Dlo, jv, Dhi)));
            f[h] = _mm512_or_si512(_mm512_sllv_epi64(_mm512_cvtepu32_epi64(lv), lsh),
                                   _mm512_maskz_sllv_epi64(0x55, jv, jsh));
        }
        if (ok != 0xFF) break;
        if (vals) {
            _mm512_storeu_pd(z + i, val[0]);
            _mm512_storeu_pd(z + i + 8, val[1]);
        }
        if (w == NULL) continue;
        if (8 * gw <= 64) { /* the eight groups in one word */
            __m512i v = _mm512_or_si512(f[0], _mm512_sll_epi64(f[1], _mm_cvtsi32_si128((int)(4 * gw))));
            ratq_pack_put(&pk, (uint64_t)_mm512_reduce_or_epi64(v), 8 * gw);
        } else {
            ratq_pack_put(&pk, (uint64_t)_mm512_reduce_or_epi64(f[0]), 4 * gw);
            ratq_pack_put(&pk, (uint64_t)_mm512_reduce_or_epi64(f[1]), 4 * gw);
        }
    }
    if (w != NULL) ratq_pack_end(&pk, w);
    return i;
}
#endif

/* The encoder's group loop: the AVX-512 kernel where it applies, the rest (and all of it
 * elsewhere) compiled apart for the default group sizes 1, 2, 3. */
static int ratq_encode_groups(const cq_ratq_par *r, const ratq_tab *tb, double *z, double scale, uint64_t key,
                              cq_bitwriter *w, int vals, cq_errinfo *err)
{
    uint64_t g = 0;
#ifdef CQ_Q_AVX512_VARIANT
    if (r->s == 2 && r->h <= 16 && r->hbits + 2 * r->lbits <= 16)
        g = ratq_enc2_avx512(r, tb, z, r->d2 / 16 * 16, scale, key, w, vals) / 2;
#endif
    switch (r->s) {
    case 1: return ratq_encode_groups_s(r, tb, z, scale, key, w, vals, g, 1, err);
    case 2: return ratq_encode_groups_s(r, tb, z, scale, key, w, vals, g, 2, err);
    case 3: return ratq_encode_groups_s(r, tb, z, scale, key, w, vals, g, 3, err);
    default: return ratq_encode_groups_s(r, tb, z, scale, key, w, vals, g, (size_t)r->s, err);
    }
}

/* The decoder's group loop one field at a time: groups [g0, g0 + ng), with every check
 * in message order (the first offending field is the one reported); z NULL: check only. */
static int ratq_decode_slow(const cq_ratq_par *r, const ratq_tab *tb, cq_bitreader *rd, int zero_input, uint64_t g0,
                            size_t ng, double *z, cq_errinfo *err)
{
    size_t d2 = r->d2;
    for (uint64_t gi = g0; gi < g0 + ng; gi++) {
        size_t lo = (size_t)(gi * r->s), hi = lo + (size_t)r->s;
        if (hi > d2) hi = d2;
        uint64_t j = r->hbits ? cq_q_get(rd, r->hbits) : 0;
        if (j >= r->h)
            return cq_fail(err, CQ_EDECODE, "RATQ range index %llu of group %llu is out of range 0..%llu",
                           (unsigned long long)j, (unsigned long long)gi, (unsigned long long)(r->h - 1));
        /* the encoder sends the smallest range that fits: a range equal to the one below
         * it (ranges capped at B(1 + 1e-6)) is never sent */
        if (j > 0 && !(r->M[j] > r->M[j - 1]))
            return cq_fail(err, CQ_EDECODE, "RATQ range index %llu of group %llu is never sent (range %llu is equal)",
                           (unsigned long long)j, (unsigned long long)gi, (unsigned long long)(j - 1));
        if (zero_input && j != 0)
            return cq_fail(err, CQ_EDECODE, "RATQ of a zero vector uses range 0, group %llu says %llu",
                           (unsigned long long)gi, (unsigned long long)j);
        for (size_t t = lo; t < hi; t++) {
            uint32_t lev = cq_q_get(rd, r->lbits);
            if (lev >= r->L)
                return cq_fail(err, CQ_EDECODE, "RATQ level %u at rotated coordinate %zu is out of range 0..%u", lev, t,
                               r->L - 1);
            /* 0 sits at t = (L-1)/2 on the grid: rounded to L/2 - 1 or L/2 (L even) */
            if (zero_input && lev != r->L / 2 - 1 && lev != r->L / 2)
                return cq_fail(err, CQ_EDECODE, "RATQ of a zero vector: level %u at rotated coordinate %zu is not "
                               "a rounding of 0", lev, t);
            if (z != NULL) z[t] = cq_q_level_value(r->M[j], tb->delta[j], lev);
        }
        if (rd->truncated) return cq_fail(err, CQ_EDECODE, "RATQ message truncated");
    }
    return CQ_OK;
}

/* The decoder's group loop: a batch of groups at a time, the fields of a group read with
 * one get when they fit 16 bits (several groups per read), checked with flags; a batch with
 * a bad field is read again by ratq_decode_slow, which names the first one. z NULL: the
 * fields are checked and no value is computed. */
RATQ_INLINE int ratq_decode_groups_s(const cq_ratq_par *r, const ratq_tab *tb, cq_bitreader *rd, int zero_input,
                                     double *z, uint64_t g_start, size_t s, cq_errinfo *err)
{
    size_t d2 = r->d2;
    unsigned hb = r->hbits, lb = r->lbits;
    uint32_t L = r->L, hmask = (1u << hb) - 1u, lmask = lb >= 32 ? 0xFFFFFFFFu : (1u << lb) - 1u;
    int packed = s <= 32 && hb + s * lb <= 32;
    size_t gmax = s <= RATQ_CHUNK ? RATQ_CHUNK / s : 1, ng;
    uint8_t okj[CQ_RATQ_HMAX];
    for (uint64_t j = 0; j < CQ_RATQ_HMAX; j++)
        okj[j] = j < r->h && (j == 0 || r->M[j] > r->M[j - 1]) && (!zero_input || j == 0);
    uint32_t vb[RATQ_CHUNK], lv[RATQ_CHUNK];
    double mg[RATQ_CHUNK], dg[RATQ_CHUNK];
    for (uint64_t g0 = g_start; g0 < r->ngroups; g0 += ng) {
        ng = r->ngroups - g0 < gmax ? (size_t)(r->ngroups - g0) : gmax;
        size_t lo = (size_t)g0 * s, end = lo + ng * s < d2 ? lo + ng * s : d2, nfull = (end - lo) / s;
        size_t nf = ng == 1 ? 0 : nfull; /* full groups of a batch of several */
        uint64_t pos0 = rd->pos;
        uint32_t bad = 0;
        for (size_t c0 = lo; c0 < end; c0 += RATQ_CHUNK) {
            size_t m = end - c0 < RATQ_CHUNK ? end - c0 : RATQ_CHUNK;
            if (packed) { /* the batch is this one chunk */
                unsigned gw = hb + (unsigned)s * lb;
                if (gw <= 16) cq_q_get_fields(rd, vb, nfull, gw);
                else
                    for (size_t k = 0; k < nfull; k++) vb[k] = cq_q_get(rd, gw);
                if (nfull < ng) vb[nfull] = cq_q_get(rd, hb + (unsigned)(end - lo - nfull * s) * lb);
                for (size_t i = 0; i < s; i++)
                    for (size_t k = 0; k < nfull; k++) lv[k * s + i] = (vb[k] >> (hb + i * lb)) & lmask;
                for (size_t t = nfull * s; t < m; t++) lv[t] = (vb[nfull] >> (hb + (t - nfull * s) * lb)) & lmask;
                for (size_t k = 0; k < ng; k++) vb[k] &= hmask;
            } else {
                for (size_t k = 0; k < ng; k++) {
                    size_t a = lo + k * s, b = a + s < end ? a + s : end;
                    if (a >= c0) vb[k] = hb ? cq_q_get(rd, hb) : 0;
                    a = a > c0 ? a : c0;
                    b = b < c0 + m ? b : c0 + m;
                    if (b <= a) continue;
                    if (lb <= 16) cq_q_get_fields(rd, lv + (a - c0), b - a, lb);
                    else
                        for (size_t t = a; t < b; t++) lv[t - c0] = cq_q_get(rd, lb);
                }
            }
            for (size_t k = 0; k < ng; k++) { /* range indices (valid ones only past here) */
                uint32_t j = vb[k] < CQ_RATQ_HMAX && okj[vb[k]] ? vb[k] : 0;
                bad |= j != vb[k];
                mg[k] = r->M[j];
                dg[k] = tb->delta[j];
            }
            uint32_t half = L / 2;
            for (size_t t = 0; t < m; t++) {
                bad |= lv[t] >= L;
                if (zero_input) bad |= lv[t] != half - 1 && lv[t] != half;
            }
            if (z != NULL) ratq_values(z + c0, lv, mg, dg, nf, s, m);
        }
        if (bad || rd->truncated) {
            rd->pos = pos0;
            rd->truncated = 0;
            int st = ratq_decode_slow(r, tb, rd, zero_input, g0, ng, z, err);
            return st != CQ_OK ? st : cq_fail(err, CQ_EINTERNAL, "RATQ decoder: a batch flagged bad passed the checks");
        }
    }
    return CQ_OK;
}

#ifdef CQ_Q_AVX512_VARIANT
/* The decoder's group loop for groups of two (ratq_enc2_avx512's case, fields of at most
 * 14 bits a group) on coordinates [0, n) (n a multiple of 16), sixteen coordinates a step:
 * the fields of four groups read with one unaligned 64-bit load, spread over the lanes
 * (vpsrlvq), checked (range index sent, levels < L, a zero input's levels) and turned into
 * the values of ratq_values (z NULL: checked only). Returns the coordinates done: n, or the
 * start of the first step with a bad field or too near the end of the buffer for the
 * 64-bit loads (the reader then stands at it; the portable loop goes on from there). */
static size_t ratq_dec2_avx512(const cq_ratq_par *r, const ratq_tab *tb, cq_bitreader *rd, int zero_input,
                               double *z, size_t n)
{
    const unsigned hb = r->hbits, lb = r->lbits, gw = hb + 2 * lb;
    if (rd->truncated || rd->pos + (uint64_t)(n / 2) * gw > rd->nbits) return 0;
    uint64_t okbits = 0; /* bit j: range index j may be sent */
    for (uint64_t j = 0; j < r->h; j++)
        okbits |= (uint64_t)(j == 0 || (r->M[j] > r->M[j - 1] && !zero_input)) << j;
    const __m512d Mlo = _mm512_loadu_pd(r->M), Mhi = _mm512_loadu_pd(r->M + 8);
    const __m512d Dlo = _mm512_loadu_pd(tb->delta), Dhi = _mm512_loadu_pd(tb->delta + 8);
    const __m512i lsh = _mm512_set_epi64(3 * gw + hb + lb, 3 * gw + hb, 2 * gw + hb + lb, 2 * gw + hb,
                                         gw + hb + lb, gw + hb, hb + lb, hb);
    const __m512i jsh = _mm512_set_epi64(3 * gw, 3 * gw, 2 * gw, 2 * gw, gw, gw, 0, 0);
    const __m512i lmask = _mm512_set1_epi64((long long)((1u << lb) - 1u));
    const __m512i hmask = _mm512_set1_epi64((long long)((1u << hb) - 1u));
    const __m512i vL = _mm512_set1_epi64(r->L), one = _mm512_set1_epi64(1), okv = _mm512_set1_epi64((long long)okbits);
    const __m512i zlo = _mm512_set1_epi64(r->L / 2 - 1), zhi = _mm512_set1_epi64(r->L / 2);
    const uint64_t total = (rd->nbits + 7) >> 3, fmask = ((uint64_t)1 << (4 * gw)) - 1u;
    uint64_t pos = rd->pos;
    size_t i = 0;
    for (; i < n; i += 16) {
        if (((pos + 4 * gw) >> 3) + 8 > total) break;
        __m512d val[2];
        __mmask8 ok = 0xFF;
        for (int h = 0; h < 2; h++) {
            uint64_t p = pos + (uint64_t)h * 4 * gw, x;
            memcpy(&x, rd->buf + (p >> 3), 8);
            __m512i f = _mm512_set1_epi64((long long)((x >> (p & 7)) & fmask));
            __m512i lv = _mm512_and_si512(_mm512_srlv_epi64(f, lsh), lmask);
            __m512i jv = _mm512_and_si512(_mm512_srlv_epi64(f, jsh), hmask);
            ok &= _mm512_test_epi64_mask(_mm512_srlv_epi64(okv, jv), one);
            ok &= _mm512_cmplt_epu64_mask(lv, vL);
            if (zero_input) ok &= _mm512_cmpeq_epi64_mask(lv, zlo) | _mm512_cmpeq_epi64_mask(lv, zhi);
            /* cq_q_level_value: -M + lev delta */
            val[h] = _mm512_add_pd(_mm512_xor_pd(_mm512_permutex2var_pd(Mlo, jv, Mhi), _mm512_set1_pd(-0.0)),
                                   _mm512_mul_pd(_mm512_cvtepu64_pd(lv), _mm512_permutex2var_pd(Dlo, jv, Dhi)));
        }
        if (ok != 0xFF) break;
        if (z != NULL) {
            _mm512_storeu_pd(z + i, val[0]);
            _mm512_storeu_pd(z + i + 8, val[1]);
        }
        pos += 8 * (uint64_t)gw;
    }
    rd->pos = pos;
    return i;
}
#endif

/* The decoder's group loop: the AVX-512 kernel where it applies, the rest (and all of it
 * elsewhere) compiled apart for the default group sizes 1, 2, 3. */
static int ratq_decode_groups(const cq_ratq_par *r, const ratq_tab *tb, cq_bitreader *rd, int zero_input, double *z,
                              cq_errinfo *err)
{
    uint64_t g = 0;
#ifdef CQ_Q_AVX512_VARIANT
    if (r->s == 2 && r->h <= 16 && r->hbits + 2 * r->lbits <= 14)
        g = ratq_dec2_avx512(r, tb, rd, zero_input, z, r->d2 / 16 * 16) / 2;
#endif
    switch (r->s) {
    case 1: return ratq_decode_groups_s(r, tb, rd, zero_input, z, g, 1, err);
    case 2: return ratq_decode_groups_s(r, tb, rd, zero_input, z, g, 2, err);
    case 3: return ratq_decode_groups_s(r, tb, rd, zero_input, z, g, 3, err);
    default: return ratq_decode_groups_s(r, tb, rd, zero_input, z, g, (size_t)r->s, err);
    }
}

/* RATQ's norm check, ||y||_2 <= B (1 + CQ_Q_NORM_RTOL), from the sum of squares ss the
 * rotation made (ratq_sumsq): non-finite, the input is checked again as it was before the
 * rotation read it (an Inf or NaN, else squares that overflow: the rescaled norm). */
static int ratq_check_norm(const cq_ratq_par *r, cq_qin y, size_t d, double ss, cq_errinfo *err)
{
    double n2 = sqrt(ss);
    if (!isfinite(ss)) {
        if (y.f32) return cq_q_fail_nonfinite_v(y, d, err); /* float32 squares cannot overflow a double */
        int nf;
        n2 = cq_q_l2norm_checked((const double *)y.p, d, &nf);
        if (nf) return cq_q_fail_nonfinite_v(y, d, err);
    }
    if (!(n2 <= r->B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "RATQ needs ||y||_2 <= B = %.15g, got ||y||_2 = %.15g", r->B, n2);
    return CQ_OK;
}

/* RATQ of x[0..n_in) (the rest of the window zero), the norm check made before anything
 * is written (the l_p composite's part comes through here too, via ratq_run). */
static int ratq_core(const cq_ratq_par *r, cq_qin x, size_t n_in, bitgen_t *g, double *z,
                     cq_bitwriter *w, const cq_qout *out, cq_errinfo *err)
{
    uint64_t seed = cq_rng_u64(g);
    uint64_t key = cq_rng_u64(g);
    if (r->seedbits < 64) seed &= ((uint64_t)1 << r->seedbits) - 1u;
    /* quantizing into a float64 output being set (not the input itself): the output holds
     * the rotated vector (the work is not touched) */
    if (w == NULL && out != NULL && out->p != NULL && !out->f32 && out->add == CQ_QOUT_SET && r->d2 == r->dim &&
        out->p != x.p)
        z = (double *)out->p;
    double ss[4];
    double scale = ratq_rotate(r, seed, x, n_in, z, ss);
    int st = ratq_check_norm(r, x, n_in, (ss[0] + ss[1]) + (ss[2] + ss[3]), err);
    if (st != CQ_OK) return st;
    if (w != NULL) cq_q_put_wide(w, seed, r->seedbits);
    ratq_tab tb;
    ratq_table(r, &tb);
    st = ratq_encode_groups(r, &tb, z, scale, key, w, out != NULL, err);
    if (st == CQ_OK && out != NULL) ratq_inverse(r, seed, z, out);
    return st;
}

static int ratq_core_decode(const cq_ratq_par *r, cq_bitreader *rd, int zero_input, double *z, const cq_qout *out,
                            cq_errinfo *err)
{
    uint64_t seed = cq_q_get_wide(rd, r->seedbits);
    ratq_tab tb;
    ratq_table(r, &tb);
    /* a float64 output being set holds the rotated vector itself (the inverse rotation
     * runs in place): the work is not touched, and the output is written only once */
    if (out->p != NULL && !out->f32 && out->add == CQ_QOUT_SET && r->d2 == r->dim) z = (double *)out->p;
    /* a validation-only decode (out->p NULL) checks the fields and computes nothing */
    int st = ratq_decode_groups(r, &tb, rd, zero_input, out->p != NULL ? z : NULL, err);
    if (st == CQ_OK && out->p != NULL) ratq_inverse(r, seed, z, out);
    return st;
}

#ifndef CQ_Q_SIMD_VARIANT /* the l_p composite's zero-input decoder: defined once */
int cq_q_ratq_core_decode(const cq_ratq_par *r, cq_bitreader *rd, int zero_input, double *z, double *out,
                          cq_errinfo *err)
{
    cq_qout o = {out, 0, CQ_QOUT_SET, 1.0};
    return ratq_core_decode(r, rd, zero_input, z, &o, err);
}
#endif

static int ratq_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                    cq_errinfo *err)
{
    return ratq_core(&P->r, y, P->d, g, (double *)work, w, out, err);
}

static int ratq_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    return ratq_core_decode(&P->r, r, 0, (double *)work, out, err);
}

CQ_Q_TYPED_OPS(ratq)
