/*
 * cq_q_internal.h -- private to csrc/quantize/: the ops table every quantizer family
 * defines, the helpers the family files share (inline here, the rest in cq_q_helpers.c),
 * and the few family entry points the l_p composite reuses. Not part of the C API.
 *
 * Dependencies point one way: cq_quantize.c (dispatcher) -> family files -> helpers.
 * No family file calls the dispatcher; the only family-to-family calls are the l_p
 * composite's (cq_q_lp.c) into CUQ, RATQ, SimQ and SimQ+ through the declarations below.
 */
#ifndef CQ_Q_INTERNAL_H
#define CQ_Q_INTERNAL_H

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "core/cq_bitio.h"
#include "core/cq_reduce.h"
#include "quantize/cq_quantize.h"
#ifdef CQ_Q_AVX512_VARIANT
#include <immintrin.h>
#endif

/* SplitMix64 (Steele, Lea, Flood 2014) used counter-based: word `ctr` of the stream
 * keyed by `key` is the SplitMix64 output after ctr+1 increments of the state. */
static inline uint64_t cq_q_mix(uint64_t key, uint64_t ctr)
{
    uint64_t z = key + (ctr + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 32-bit uniform number i of the stream `key` (two per SplitMix64 word). */
static inline uint32_t cq_q_u32(uint64_t key, uint64_t i)
{
    uint64_t w = cq_q_mix(key, i >> 1);
    return (i & 1) ? (uint32_t)(w >> 32) : (uint32_t)w;
}

/* 32-bit uniforms ub[0..m) for coordinates i0.. of stream `key` (cq_q_u32's, a word per
 * two coordinates): coordinate i takes the low (i even) or high (i odd) half of word i/2,
 * whatever i0 is (QSGD buckets may start odd). ub must hold m + 1 entries when i0 is even
 * and m is odd. */
static inline void cq_q_fill_u32(uint64_t key, size_t i0, size_t m, uint32_t *ub)
{
    size_t t = 0;
    if (m > 0 && (i0 & 1)) {
        ub[0] = (uint32_t)(cq_q_mix(key, i0 >> 1) >> 32);
        t = 1;
    }
    for (; t < m; t += 2) {
        uint64_t r = cq_q_mix(key, (i0 + t) >> 1);
        ub[t] = (uint32_t)r;
        ub[t + 1] = (uint32_t)(r >> 32);
    }
}

/* The dense reductions, written once and instantiated for float64 and float32 input
 * (cq_q_<name>_d, cq_q_<name>_f): every value is widened to double and the arithmetic is
 * the same in both, so a float32 vector gives exactly the result of its float64 copy.
 *  sum_abs: sum |y_i|; sum_sq: sum y_i^2 -- four accumulators combined as (a0+a1)+(a2+a3)
 *           (cq_dot's order), so the loop pipelines without -ffast-math and the summation
 *           order is fixed;
 *  max_abs: max |y_i| (NaN ignored);
 *  finite:  non-zero iff every y_i is finite (y - y is NaN exactly for NaN/Inf). */
/* A sum of TERM(y_i) over four accumulators, combined as (a0+a1)+(a2+a3). The AVX-512
 * build keeps the four accumulators as the lanes of one 256-bit vector (VTERM: TERM on
 * four lanes, LOAD: four values widened to double), which makes the same additions in the
 * same order (the compiler's own vectorisation of the scalar loop interleaves eight groups
 * and ends in scalar shuffles, twice slower). */
#ifdef CQ_Q_AVX512_VARIANT
#define CQ_Q_SUM4_(name, T, TERM, VTERM, LOAD)                                               \
    static inline double name(const T *y, size_t n)                                          \
    {                                                                                        \
        __m256d acc = _mm256_setzero_pd();                                                   \
        size_t i = 0;                                                                        \
        for (; i + 4 <= n; i += 4) acc = _mm256_add_pd(acc, VTERM(LOAD(y + i)));            \
        double a[4];                                                                         \
        _mm256_storeu_pd(a, acc);                                                            \
        for (; i < n; i++) a[0] += TERM(y[i]);                                               \
        return (a[0] + a[1]) + (a[2] + a[3]);                                                \
    }
#define CQ_Q_LOAD4_d(p) _mm256_loadu_pd(p)
#define CQ_Q_LOAD4_f(p) _mm256_cvtps_pd(_mm_loadu_ps(p))
#define CQ_Q_VABS_(v) _mm256_andnot_pd(_mm256_set1_pd(-0.0), (v))
#define CQ_Q_VSQ_(v) _mm256_mul_pd((v), (v))
#define CQ_Q_VNAN_(v) _mm256_sub_pd((v), (v))
#else
#define CQ_Q_SUM4_(name, T, TERM, VTERM, LOAD)                                               \
    static inline double name(const T *y, size_t n)                                          \
    {                                                                                        \
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                               \
        size_t i = 0;                                                                        \
        for (; i + 4 <= n; i += 4) {                                                         \
            a0 += TERM(y[i]);                                                                \
            a1 += TERM(y[i + 1]);                                                            \
            a2 += TERM(y[i + 2]);                                                            \
            a3 += TERM(y[i + 3]);                                                            \
        }                                                                                    \
        for (; i < n; i++) a0 += TERM(y[i]);                                                 \
        return (a0 + a1) + (a2 + a3);                                                        \
    }
#endif
#define CQ_Q_ABS_(x) fabs((double)(x))
#define CQ_Q_SQ_(x) ((double)(x) * (double)(x))
#define CQ_Q_NAN_(x) ((double)(x) - (double)(x)) /* 0, or NaN for NaN/Inf */

#define CQ_Q_REDUCERS_(T, sfx, U, ABSMASK, INFBITS)                                          \
    CQ_Q_SUM4_(cq_q_sum_abs_##sfx, T, CQ_Q_ABS_, CQ_Q_VABS_, CQ_Q_LOAD4_##sfx)                \
    CQ_Q_SUM4_(cq_q_sum_sq_##sfx, T, CQ_Q_SQ_, CQ_Q_VSQ_, CQ_Q_LOAD4_##sfx)                   \
    CQ_Q_SUM4_(cq_q_nan_sum_##sfx, T, CQ_Q_NAN_, CQ_Q_VNAN_, CQ_Q_LOAD4_##sfx)                \
    static inline int cq_q_finite_##sfx(const T *y, size_t n)                                \
    {                                                                                        \
        double s = cq_q_nan_sum_##sfx(y, n);                                                 \
        return s == s;                                                                       \
    }                                                                                        \
    static inline double cq_q_max_abs_##sfx(const T *y, size_t n)                            \
    {                                                                                        \
        double m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0; /* max is order-free: 4 chains */       \
        size_t i = 0;                                                                        \
        for (; i + 4 <= n; i += 4) {                                                         \
            double a0 = fabs((double)y[i]), a1 = fabs((double)y[i + 1]);                     \
            double a2 = fabs((double)y[i + 2]), a3 = fabs((double)y[i + 3]);                 \
            m0 = a0 > m0 ? a0 : m0;                                                          \
            m1 = a1 > m1 ? a1 : m1;                                                          \
            m2 = a2 > m2 ? a2 : m2;                                                          \
            m3 = a3 > m3 ? a3 : m3;                                                          \
        }                                                                                    \
        for (; i < n; i++) {                                                                 \
            double a = fabs((double)y[i]);                                                   \
            m0 = a > m0 ? a : m0;                                                            \
        }                                                                                    \
        m0 = m1 > m0 ? m1 : m0;                                                              \
        m2 = m3 > m2 ? m3 : m2;                                                              \
        return m2 > m0 ? m2 : m0;                                                            \
    }                                                                                        \
    /* max_abs and finite in one pass, exactly: the bits of |y_i| (sign cleared) order as the \
     * values, NaN and Inf above every finite value, so one unsigned max reduction (order-free, \
     * it vectorises) gives both; *finite = 0 iff some y_i is NaN or infinite */             \
    static inline double cq_q_max_abs_fin_##sfx(const T *y, size_t n, int *finite)           \
    {                                                                                        \
        U m = 0;                                                                             \
        for (size_t i = 0; i < n; i++) {                                                     \
            U b;                                                                             \
            memcpy(&b, &y[i], sizeof b);                                                     \
            b &= ABSMASK;                                                                    \
            m = b > m ? b : m;                                                               \
        }                                                                                    \
        *finite = m < INFBITS;                                                               \
        T v;                                                                                 \
        memcpy(&v, &m, sizeof v);                                                            \
        return (double)v;                                                                    \
    }
CQ_Q_REDUCERS_(double, d, uint64_t, 0x7FFFFFFFFFFFFFFFull, 0x7FF0000000000000ull)
CQ_Q_REDUCERS_(float, f, uint32_t, 0x7FFFFFFFu, 0x7F800000u)
#undef CQ_Q_REDUCERS_
#undef CQ_Q_SUM4_
#undef CQ_Q_ABS_
#undef CQ_Q_SQ_
#undef CQ_Q_NAN_
#undef CQ_Q_LOAD4_d
#undef CQ_Q_LOAD4_f
#undef CQ_Q_VABS_
#undef CQ_Q_VSQ_
#undef CQ_Q_VNAN_

static inline double cq_q_sum_abs(const double *y, size_t n) { return cq_q_sum_abs_d(y, n); }
static inline double cq_q_sum_sq(const double *y, size_t n) { return cq_q_sum_sq_d(y, n); }

/* ---- typed input and output (cq_qin / cq_qout, cq_quantize.h) --------------------------
 * Kernels read a typed vector at a few sites only: one coordinate (cq_q_at), a chunk of at
 * most CQ_Q_CHUNK coordinates as doubles (cq_q_chunk: a pointer into y for float64, a
 * widened copy in the caller's stack buffer for float32), or a reduction (cq_q_v_*); they
 * write decoded values a chunk (cq_q_emit) or a coordinate (cq_q_emit1) at a time. The
 * vector is passed by value so that its type flag is a loop invariant the compiler can
 * hoist. */
static inline double cq_q_at(cq_qin y, size_t i)
{
    return y.f32 ? (double)((const float *)y.p)[i] : ((const double *)y.p)[i];
}

static inline const double *cq_q_chunk(cq_qin y, size_t i0, size_t m, double *buf)
{
    if (!y.f32) return (const double *)y.p + i0;
    const float *f = (const float *)y.p + i0;
    for (size_t t = 0; t < m; t++) buf[t] = (double)f[t];
    return buf;
}

#define CQ_Q_V_REDUCER_(name, R)                                                             \
    static inline R cq_q_v_##name(cq_qin y, size_t i0, size_t n)                             \
    {                                                                                        \
        return y.f32 ? cq_q_##name##_f((const float *)y.p + i0, n)                           \
                     : cq_q_##name##_d((const double *)y.p + i0, n);                         \
    }
CQ_Q_V_REDUCER_(sum_abs, double)
CQ_Q_V_REDUCER_(sum_sq, double)
CQ_Q_V_REDUCER_(max_abs, double)
CQ_Q_V_REDUCER_(finite, int)
#undef CQ_Q_V_REDUCER_
static inline double cq_q_v_max_abs_fin(cq_qin y, size_t i0, size_t n, int *finite)
{
    return y.f32 ? cq_q_max_abs_fin_f((const float *)y.p + i0, n, finite)
                 : cq_q_max_abs_fin_d((const double *)y.p + i0, n, finite);
}

/* ||y[i0..i0+d)||_2 of a finite y from its sum of squares s2 (cq_q_v_sum_sq), rescaled by
 * the largest |y_i| when the squares overflow or underflow (QSGD's bucket norms, the
 * all-reduce mode's scales). */
static inline double cq_q_l2_from_sq(cq_qin y, size_t i0, size_t d, double s2)
{
    if (isfinite(s2) && s2 > 1e-280) return sqrt(s2);
    double mx = cq_q_v_max_abs(y, i0, d), acc = 0.0;
    if (!(mx > 0)) return 0.0;
    for (size_t i = i0; i < i0 + d; i++) acc += (cq_q_at(y, i) / mx) * (cq_q_at(y, i) / mx);
    return mx * sqrt(acc);
}

/* A bucket's l2 norm from its sum of squares s2 (cq_q_v_sum_sq), the bucket read again
 * only where s2 is not finite: *finite = 0 (and norm 0) for a NaN or Inf in it, else an
 * overflow rescaled by cq_q_l2_from_sq (QSGD's bucket norms, the all-reduce mode's). */
static inline double cq_q_l2_fin_from_sq(cq_qin y, size_t i0, size_t m, double s2, int *finite)
{
    *finite = isfinite(s2) || cq_q_v_finite(y, i0, m);
    return *finite ? cq_q_l2_from_sq(y, i0, m, s2) : 0.0;
}

/* out[i0 + t] <- v[t] for t < m: set, out + w v, or 0 + w v (the first term of a sum: the
 * +0.0 turns -0.0 into +0.0 exactly as adding onto a zeroed out does); in double, rounded
 * once for float32. */
static inline void cq_q_emit(const cq_qout *o, size_t i0, const double *v, size_t m)
{
    if (o->p == NULL) return;
    double w = o->w;
    if (o->f32) {
        float *dst = (float *)o->p + i0;
        if (o->add == CQ_QOUT_ADD) {
            for (size_t t = 0; t < m; t++) dst[t] = (float)((double)dst[t] + w * v[t]);
        } else if (o->add == CQ_QOUT_START) {
            for (size_t t = 0; t < m; t++) dst[t] = (float)(0.0 + w * v[t]);
        } else {
            for (size_t t = 0; t < m; t++) dst[t] = (float)v[t];
        }
    } else {
        double *dst = (double *)o->p + i0;
        if (o->add == CQ_QOUT_ADD) {
            for (size_t t = 0; t < m; t++) dst[t] = dst[t] + w * v[t];
        } else if (o->add == CQ_QOUT_START) {
            for (size_t t = 0; t < m; t++) dst[t] = 0.0 + w * v[t];
        } else if (dst != v) {
            memcpy(dst, v, m * sizeof(double));
        }
    }
}

/* Where a decoder may put the m values it then emits at out[i0..]: out's own memory when
 * out is a float64 vector being set (cq_q_emit then has nothing left to do), else buf. */
static inline double *cq_q_emit_buf(const cq_qout *o, size_t i0, double *buf)
{
    return o->p != NULL && !o->f32 && o->add == CQ_QOUT_SET ? (double *)o->p + i0 : buf;
}

static inline void cq_q_emit1(const cq_qout *o, size_t i, double v) { cq_q_emit(o, i, &v, 1); }

/* A sparse decoder's start: a set-mode or first-term output of d values is zeroed
 * (accumulation leaves the coordinates the message does not name untouched). */
static inline void cq_q_emit_zero(const cq_qout *o, size_t d)
{
    if (o->p != NULL && o->add != CQ_QOUT_ADD) memset(o->p, 0, d * (o->f32 ? sizeof(float) : sizeof(double)));
}

/* v[t] = tab[idx[t]] for t < m (every idx[t] < n, tab of max(n, 16) entries). The AVX-512
 * build looks up tables of at most 16 entries in two registers (vpermt2pd: eight lanes per
 * instruction instead of a gather); the same values. */
static inline void cq_q_lookup(const double *tab, uint32_t n, const uint32_t *idx, size_t m, double *v)
{
    size_t t = 0;
#ifdef CQ_Q_AVX512_VARIANT
    if (n <= 16) {
        __m512d lo = _mm512_loadu_pd(tab), hi = _mm512_loadu_pd(tab + 8);
        for (; t + 8 <= m; t += 8) {
            __m512i ix = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(const void *)(idx + t)));
            _mm512_storeu_pd(v + t, _mm512_permutex2var_pd(lo, ix, hi));
        }
    }
#else
    (void)n;
#endif
    for (; t < m; t++) v[t] = tab[idx[t]];
}

#define CQ_Q_INV_TWO31 (1.0 / 2147483648.0)

#ifdef CQ_Q_AVX512_VARIANT
/* The AVX-512 pieces of the fused rounding loops (CUQ, QSGD): sixteen coordinates at a time.
 * cq_q_uu16_avx512: the uniforms (double)(int32_t)(u >> 1) * 2^-31 of coordinates 2c..2c+15,
 * u being cq_q_u32's 32-bit halves of the stream words c..c+7 given as *ctr1 = c+1..c+8
 * (advanced by 8), cq_q_mix's arithmetic in 64-bit lanes; lo: coordinates 2c..2c+7. */
static inline void cq_q_uu16_avx512(__m512i kv, __m512i *ctr1, __m512d *lo, __m512d *hi)
{
    __m512i z = _mm512_add_epi64(kv, _mm512_mullo_epi64(*ctr1, _mm512_set1_epi64((long long)0x9E3779B97F4A7C15ull)));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)), _mm512_set1_epi64((long long)0xBF58476D1CE4E5B9ull));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)), _mm512_set1_epi64((long long)0x94D049BB133111EBull));
    z = _mm512_srli_epi32(_mm512_xor_si512(z, _mm512_srli_epi64(z, 31)), 1); /* lane 2k: low half of word k */
    *ctr1 = _mm512_add_epi64(*ctr1, _mm512_set1_epi64(8));
    const __m512d i31 = _mm512_set1_pd(CQ_Q_INV_TWO31);
    *lo = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(z)), i31);
    *hi = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(z, 1)), i31);
}

/* The counters c+1..c+8 of stream words c = i0/2.. (i0 even) for cq_q_uu16_avx512. */
static inline __m512i cq_q_ctr_avx512(size_t i0)
{
    return _mm512_add_epi64(_mm512_set1_epi64((long long)(i0 >> 1) + 1), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
}

/* Eight coordinates i.. of y as doubles (float32 widened in register). */
static inline __m512d cq_q_load8_avx512(cq_qin y, size_t i)
{
    return y.f32 ? _mm512_cvtps_pd(_mm256_loadu_ps((const float *)y.p + i)) : _mm512_loadu_pd((const double *)y.p + i);
}

/* Sixteen fields lo (coordinates 0..7), hi (8..15) of width 4, 8 or 16 bits (each below
 * 2^width), packed LSB first as cq_q_put_fields stores them, to dst (2 * width bytes). */
static inline void cq_q_pack16_avx512(__m256i lo, __m256i hi, unsigned width, uint8_t *dst)
{
    __m512i l16 = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    if (width == 16) {
        _mm256_storeu_si256((__m256i *)(void *)dst, _mm512_cvtepi32_epi16(l16));
    } else {
        __m128i b = _mm512_cvtepi32_epi8(l16);
        if (width == 8) _mm_storeu_si128((__m128i *)(void *)dst, b);
        else _mm_storel_epi64((__m128i *)(void *)dst, _mm_cvtepi16_epi8(_mm_or_si128(b, _mm_srli_epi16(b, 4))));
    }
}

/* cq_q_round_d on eight lanes, from t >= 0 (or clamped at 0 already): t clamped to hi,
 * floor capped at lm2 (both integers: done on the int32 lanes), up iff the uniform uu is
 * below the fraction; the level as int32 lanes. */
static inline __m256i cq_q_round8_avx512(__m512d t, __m512d vhi, __m256i ilm2, __m512d uu)
{
    __m512d tc = _mm512_mask_mov_pd(vhi, _mm512_cmp_pd_mask(t, vhi, _CMP_LT_OQ), t);
    __m256i fi = _mm256_min_epi32(_mm512_cvttpd_epi32(tc), ilm2);
    __mmask8 up = _mm512_cmp_pd_mask(uu, _mm512_sub_pd(tc, _mm512_cvtepi32_pd(fi)), _CMP_LT_OQ);
    return _mm256_mask_add_epi32(fi, up, fi, _mm256_set1_epi32(1));
}

/* Sixteen fields of coordinates t..t+15 of a chunk: packed into dst (dst != NULL, see
 * cq_q_pack16_avx512) or stored to lv[t..t+15]. */
static inline void cq_q_store16_avx512(__m256i lo, __m256i hi, unsigned width, uint8_t *dst, uint32_t *lv, size_t t)
{
    if (dst != NULL) {
        cq_q_pack16_avx512(lo, hi, width, dst + t / 8 * width);
    } else {
        _mm256_storeu_si256((__m256i *)(void *)(lv + t), lo);
        _mm256_storeu_si256((__m256i *)(void *)(lv + t + 8), hi);
    }
}

/* Whether m fields of `width` bits may be stored by cq_q_pack16_avx512 straight into w (a
 * width it packs, no pending bits, room for them): then the caller advances w->p itself. */
static inline int cq_q_direct_ok(const cq_bitwriter *w, size_t m, unsigned width)
{
    return w != NULL && (width == 4 || width == 8 || width == 16) && w->nacc == 0 &&
           (size_t)(w->end - w->p) >= m / 8 * width;
}
#endif

/* Stochastic rounding of t in [0, L-1] to an integer level: floor(t) + Bernoulli(frac)
 * with the top 31 bits of the 32-bit uniform u (P(up) = ceil(frac 2^31)/2^31). Clamped
 * so the result is always in [0, L-1] (NaN -> 0); branch-free, no libm call, so loops
 * over it vectorise. */
static inline uint32_t cq_q_round(double t, uint32_t L, uint32_t u)
{
    double hi = (double)(L - 1);
    double tc = t > 0.0 ? t : 0.0;
    tc = tc < hi ? tc : hi;
    int32_t f = (int32_t)tc;
    f = f < (int32_t)L - 2 ? f : (int32_t)L - 2;
    double frac = tc - (double)f;
    return (uint32_t)f + ((double)(int32_t)(u >> 1) * CQ_Q_INV_TWO31 < frac ? 1u : 0u);
}

/* cq_q_round in double lanes (vectorisable): t clamped to [0, hi = L-1], floor capped at
 * lm2 = L-2, rounded up iff the top 31 bits of u, as a fraction, are below frac. Same
 * distribution as cq_q_round. */
static inline double cq_q_round_d(double t, double hi, double lm2, uint32_t u)
{
    double tc = t > 0.0 ? t : 0.0;
    tc = tc < hi ? tc : hi;
    double f = (double)(int32_t)tc;
    f = f < lm2 ? f : lm2;
    double uu = (double)(int32_t)(u >> 1) * CQ_Q_INV_TWO31;
    return f + (uu < tc - f ? 1.0 : 0.0);
}

/* Value of level `lev` of the uniform grid -M + lev * delta (same expression in every
 * encoder fast path and decoder, so they agree bit for bit). */
static inline double cq_q_level_value(double M, double delta, uint32_t lev)
{
    return -M + (double)lev * delta;
}

/* An n-bit field, 0 <= n <= 64 (low 32 bits first; bits of v above n must be zero). */
static inline void cq_q_put_wide(cq_bitwriter *w, uint64_t v, unsigned n)
{
    if (n > 32) {
        cq_bw_put(w, v & 0xFFFFFFFFull, 32);
        cq_bw_put(w, v >> 32, n - 32);
    } else if (n > 0) {
        cq_bw_put(w, v, n);
    }
}

static inline void cq_q_put64(cq_bitwriter *w, uint64_t v) { cq_q_put_wide(w, v, 64); }

static inline uint32_t cq_q_get(cq_bitreader *r, unsigned n);
static inline uint64_t cq_q_get_wide(cq_bitreader *r, unsigned n)
{
    if (n > 32) {
        uint64_t lo = cq_q_get(r, 32);
        uint64_t hi = cq_q_get(r, n - 32);
        return lo | (hi << 32);
    }
    return n > 0 ? cq_q_get(r, n) : 0;
}

static inline uint64_t cq_q_get64(cq_bitreader *r) { return cq_q_get_wide(r, 64); }

/* The bits of a double / float as an integer and back (memcpy: no aliasing trouble). */
#define CQ_Q_PUN(name, To, From) \
    static inline To name(From x) { To u; memcpy(&u, &x, sizeof u); return u; }
CQ_Q_PUN(cq_q_dbits, uint64_t, double)
CQ_Q_PUN(cq_q_bitsd, double, uint64_t)
CQ_Q_PUN(cq_q_fbits, uint32_t, float)
CQ_Q_PUN(cq_q_bitsf, float, uint32_t)
#undef CQ_Q_PUN

/* ceil(log2 n) for n >= 1. */
static inline unsigned cq_q_clog2(uint64_t n)
{
    unsigned b = 0;
    while (b < 64 && ((uint64_t)1 << b) < n) b++;
    return b;
}

/* cq_br_get with one unaligned 8-byte load (same semantics: n <= 32, sticky truncation). */
static inline uint32_t cq_q_get(cq_bitreader *r, unsigned n)
{
    if (r->pos + n > r->nbits) {
        r->truncated = 1;
        r->pos = r->nbits;
        return 0;
    }
    uint64_t byte = r->pos >> 3, total = (r->nbits + 7) >> 3, x = 0;
    unsigned shift = (unsigned)(r->pos & 7);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (total - byte >= 8) memcpy(&x, r->buf + byte, 8);
    else
#endif
        for (unsigned i = 0; i < 8 && byte + i < total; i++) x |= (uint64_t)r->buf[byte + i] << (8 * i);
    r->pos += n;
    return (uint32_t)((x >> shift) & ((n == 32) ? 0xFFFFFFFFull : ((1ull << n) - 1)));
}

/* Read m fields of `width` bits (1 <= width <= 16) into v, several per 32-bit read. */
static inline void cq_q_get_fields(cq_bitreader *r, uint32_t *v, size_t m, unsigned width)
{
    uint32_t mask = (1u << width) - 1u;
    size_t t = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* whole 64-bit words at a byte-aligned position (width divides 64): the same fields */
    if (64 % width == 0 && (r->pos & 7) == 0) {
        unsigned per64 = 64 / width;
        size_t nw = m / per64;
        if (nw > 0 && r->pos + 64 * (uint64_t)nw <= r->nbits) {
            const uint8_t *src = r->buf + (r->pos >> 3);
            for (size_t k = 0; k < nw; k++) {
                uint64_t x;
                memcpy(&x, src + 8 * k, 8);
                for (unsigned j = 0; j < per64; j++) v[k * per64 + j] = (uint32_t)(x >> (j * width)) & mask;
            }
            r->pos += 64 * (uint64_t)nw;
            t = nw * per64;
        }
    }
#endif
    unsigned per = 32 / width;
    for (; t + per <= m; t += per) {
        uint32_t word = cq_q_get(r, per * width);
        for (unsigned j = 0; j < per; j++) v[t + j] = (word >> (j * width)) & mask;
    }
    for (; t < m; t++) v[t] = cq_q_get(r, width);
}

/* Append m fields of `width` bits (1 <= width <= 16), LSB first as cq_bw_put would. Where
 * width divides 64 the fields are packed 64 / width to a 64-bit word (a loop of variable
 * shifts and ORs that vectorises) and whole words are stored with one memcpy when the
 * writer has no pending bits (a little-endian host); otherwise several fields per 32-bit
 * put. The same bits either way. */
static inline void cq_q_put_fields(cq_bitwriter *w, const uint32_t *v, size_t m, unsigned width)
{
    size_t t = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (64 % width == 0 && w->nacc == 0) {
        unsigned per = 64 / width;
        size_t nw = m / per;
        if (nw > 64) nw = 64;
        uint64_t words[64];
        if (nw > 0 && (size_t)(w->end - w->p) >= nw * 8) {
            for (size_t k = 0; k < nw; k++) {
                uint64_t acc = 0;
                for (unsigned j = 0; j < per; j++) acc |= (uint64_t)v[k * per + j] << (j * width);
                words[k] = acc;
            }
            memcpy(w->p, words, nw * 8);
            w->p += nw * 8;
            t = nw * per;
            if (t < m) {
                cq_q_put_fields(w, v + t, m - t, width);
                return;
            }
        }
    }
#endif
    unsigned per = 32 / width;
    for (; t + per <= m; t += per) {
        uint64_t acc = 0;
        for (unsigned j = 0; j < per; j++) acc |= (uint64_t)v[t + j] << (j * width);
        cq_bw_put(w, acc, per * width);
    }
    for (; t < m; t++) cq_bw_put(w, v[t], width);
}

#define CQ_Q_CHUNK 256

/* Non-zero iff every y[0..d) is finite. */
static inline int cq_q_all_finite(const double *y, size_t d) { return cq_q_finite_d(y, d); }

/* sum_i (|y_i| / mx)^q for the q-norm checks: integer q (2..16) by multiplication, else pow.
 * |y_i| / mx is computed as (|y_i| sc) inv, sc = 1 and inv = 1/mx, except for a subnormal
 * mx, whose reciprocal overflows: then sc = 2^1000 (exact) and inv = 1/(mx sc). */
static inline double cq_q_sum_pow(const double *y, size_t d, double mx, double q)
{
    double acc = 0.0, sc = 1.0, inv = 1.0 / mx;
    if (!isfinite(inv)) {
        sc = 0x1p1000;
        inv = 1.0 / (mx * sc);
    }
    if (q == floor(q) && q >= 1.0 && q <= 16.0) {
        int iq = (int)q;
        double a0 = 0, a1 = 0;
        size_t i = 0;
        for (; i + 2 <= d; i += 2) {
            double u = fabs(y[i]) * sc * inv, v = fabs(y[i + 1]) * sc * inv, pu = u, pv = v;
            for (int t = 1; t < iq; t++) {
                pu *= u;
                pv *= v;
            }
            a0 += pu;
            a1 += pv;
        }
        for (; i < d; i++) {
            double u = fabs(y[i]) * sc * inv, pu = u;
            for (int t = 1; t < iq; t++) pu *= u;
            a0 += pu;
        }
        return a0 + a1;
    }
    for (size_t i = 0; i < d; i++) acc += pow(fabs(y[i]) * sc * inv, q);
    return acc;
}

/* ---- the ops table ------------------------------------------------------------------- */

/* One per kind (cq_qkinds.h). The dispatcher has already zeroed *P, checked d (1..CQ_Q_DMAX)
 * and the kind, and set P->kind, P->spec_kind, P->d, P->flags, P->B, P->p from the spec.
 *  resolve: check the family's parameters (CQ_EINVAL with a message naming the parameter),
 *           set P->bits (the message length) and P->work (scratch bytes, rounded up to 8
 *           by the dispatcher) and whatever the kernels need; may change P->kind to the
 *           effective kind (the l_p composite with p >= 2 becomes SimQ or SimQ+).
 *  run:     encode (w != NULL, out == NULL) or quantize (w == NULL, out != NULL) y[0..d).
 *  decode:  read the fields of a payload whose length the dispatcher has checked; reject
 *           (CQ_EDECODE) every field value the encoder cannot emit. The dispatcher checks
 *           truncation, that every bit was used and the zero padding afterwards. */
typedef struct cq_qops {
    int (*resolve)(const cq_qspec *q, cq_qpar *P, cq_errinfo *err);
} cq_qops;

#define CQ_Q_DECLARE_OPS_(name, num, ops, typed, typed_avx2) extern const cq_qops ops;
CQ_Q_KIND_LIST(CQ_Q_DECLARE_OPS_)
#undef CQ_Q_DECLARE_OPS_

/* The typed kernels (cq_qin / cq_qout) of a family that reads float64 and float32 input
 * and writes either output directly: run_t encodes (w != NULL, out == NULL), quantizes
 * (w == NULL, out != NULL), or both (the message and, through out, exactly what decode_t
 * writes for it: the dispatcher's fused encode-decode, Quantizer._encode_add; every typed
 * family must support it, tests/test_feedback.py checks each); decode_t writes through out
 * (whose p may be NULL: validate only). Every family has them and names its cq_qtops in
 * its line of cq_qkinds.h; its cq_qops holds only its resolve. */
typedef struct cq_qtops {
    int (*run_t)(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                 cq_errinfo *err);
    int (*decode_t)(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err);
} cq_qtops;

/* The ops table and typed kernels of a typed family from its functions <name>_resolve,
 * <name>_run (the cq_qtops run_t) and <name>_decode.
 *
 * Runtime CPU dispatch, three build levels of the same source (CQ_Q_SIMD_PORTABLE,
 * CQ_Q_SIMD_AVX2, CQ_Q_SIMD_AVX512, cq_quantize.h): cq_q_<family>_avx2.c defines
 * CQ_Q_AVX2_VARIANT, enables AVX2 with `#pragma GCC target` and includes the family file
 * again; cq_q_<family>_avx512.c does the same with CQ_Q_AVX512_VARIANT and AVX-512
 * (F, DQ, BW, VL: 64-bit lane multiplies for the counter-based stream cq_q_mix, mask
 * registers for the comparisons). Both are CQ_Q_SIMD_VARIANT, where the family file leaves
 * out what must be defined once. No FMA, no reassociation: the arithmetic and the results
 * are identical at every level; explicit intrinsics, where a family has them, sit in
 * `#ifdef CQ_Q_AVX512_VARIANT` blocks beside the portable loop they replace, which stays the
 * reference. The macro names the tables cq_q_<name>_ops_avx2 / cq_q_<name>_typed_avx2, or
 * cq_q_<name>_ops_avx512 / cq_q_<name>_typed_avx512. The dispatcher runs the highest level
 * the CPU has (__builtin_cpu_supports), capped by the environment: CONVQ_PORTABLE set and
 * not "0" forces the portable build, CONVQ_SIMD = portable | avx2 | avx512 caps the level
 * (tests/test_quantize_float32.py compares every level byte for byte).
 *
 * The AVX-512 tables follow a naming convention instead of a column of cq_qkinds.h: the
 * AVX-512 kernels of the kind whose typed column is T are T_avx512, declared weak, so that a
 * family without an AVX-512 twin file has none and runs its AVX2 column there. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CQ_Q_HAVE_AVX2 1
#else
#define CQ_Q_HAVE_AVX2 0
#endif
#define CQ_Q_HAVE_AVX512 CQ_Q_HAVE_AVX2
#if defined(CQ_Q_AVX2_VARIANT) || defined(CQ_Q_AVX512_VARIANT)
#define CQ_Q_SIMD_VARIANT 1
#endif
#ifdef CQ_Q_AVX512_VARIANT
#define CQ_Q_TYPED_OPS(name)                                                                 \
    const cq_qops cq_q_##name##_ops_avx512 = {name##_resolve};                   \
    const cq_qtops cq_q_##name##_typed_avx512 = {name##_run, name##_decode};
#elif defined(CQ_Q_AVX2_VARIANT)
#define CQ_Q_TYPED_OPS(name)                                                                 \
    const cq_qops cq_q_##name##_ops_avx2 = {name##_resolve};                     \
    const cq_qtops cq_q_##name##_typed_avx2 = {name##_run, name##_decode};
#else
#define CQ_Q_TYPED_OPS(name)                                                                 \
    const cq_qops cq_q_##name##_ops = {name##_resolve};                          \
    const cq_qtops cq_q_##name##_typed = {name##_run, name##_decode};
#endif

/* The typed kernels of every kind, from the list. */
#define CQ_Q_DECLARE_TYPED_(name, num, ops, typed, typed_avx2) extern const cq_qtops typed;
CQ_Q_KIND_LIST(CQ_Q_DECLARE_TYPED_)
#undef CQ_Q_DECLARE_TYPED_
#if CQ_Q_HAVE_AVX2
#define CQ_Q_DECLARE_TYPED_AVX2_(name, num, ops, typed, typed_avx2) extern const cq_qtops typed_avx2;
CQ_Q_KIND_LIST(CQ_Q_DECLARE_TYPED_AVX2_)
#undef CQ_Q_DECLARE_TYPED_AVX2_
/* weak: the address is NULL where no AVX-512 twin defines it (hidden: resolved at link
 * time inside the extension, never against another library) */
#define CQ_Q_DECLARE_TYPED_AVX512_(name, num, ops, typed, typed_avx2)                         \
    extern const cq_qtops typed##_avx512 __attribute__((weak, visibility("hidden")));
CQ_Q_KIND_LIST(CQ_Q_DECLARE_TYPED_AVX512_)
#undef CQ_Q_DECLARE_TYPED_AVX512_
#endif

/* ---- shared helpers (cq_q_helpers.c) -------------------------------------------------- */

static inline size_t cq_q_round8(size_t n) { return (n + 7) & ~(size_t)7; }

/* Error for a non-finite input: finds the first offending index. */
int cq_q_fail_nonfinite(const double *y, size_t d, cq_errinfo *err);
int cq_q_fail_nonfinite_v(cq_qin y, size_t d, cq_errinfo *err);

/* Check reader state at the end of a decode: no truncation, all bits used, zero padding. */
int cq_q_check_end(const cq_bitreader *r, cq_errinfo *err);

/* The norm bound B of SimQ, SimQ+, RATQ and the composite: finite and > 0. */
int cq_q_check_B(double B, cq_errinfo *err);

/* ||y||_2 with a rescaled second pass when the squares overflow; *nonfinite = 1 (result
 * meaningless) if some y_i is NaN or infinite. */
double cq_q_l2norm_checked(const double *y, size_t d, int *nonfinite);

/* Error for an input that another thread changed while the kernel read it (two reads
 * of the same coordinates disagreed). */
int cq_q_fail_changed(const char *who, cq_errinfo *err);

/* Deterministic multi-threaded ranges for the fixed-width codecs: fn(ctx, g) does units
 * [g->i0, g->i1) (coordinates, or QSGD's buckets) of n, each bpu bits long but the last,
 * the n units total_bits long, writing through g->w (encode), reading through g->r
 * (decode) or neither (quantize, norms), reporting into g->err. With threads > 1 the units are cut into at most
 * CQ_Q_SPLIT_MAX ranges whose starts are multiples of 64 bits, each run on its own writer
 * or reader over its own bytes, on up to `threads` threads (core/cq_parallel.h); the bits
 * and values are those of the one call fn(ctx, 0, n, w, r, err), which is what runs with
 * one thread, or when w has pending bits or r is not on a byte. An error is the lowest
 * failing range's (its first offending unit). Afterwards w / r stand after the n units. */
#define CQ_Q_SPLIT_MAX 16
typedef struct cq_q_range {
    size_t i0, i1;
    cq_bitwriter *w;
    cq_bitreader *r;
    cq_errinfo *err;
} cq_q_range;
typedef int (*cq_q_part_fn)(void *ctx, const cq_q_range *g);
int cq_q_split(int threads, size_t n, uint64_t bpu, uint64_t total_bits, cq_bitwriter *w, cq_bitreader *r,
               cq_q_part_fn fn, void *ctx, cq_errinfo *err);

/* ---- family entry points the l_p composite reuses --------------------------------------- */

/* An entry point defined at every build level (the family file compiled three times):
 * CQ_Q_LEVEL(name) is name, name_avx2 or name_avx512, the one of the level being
 * compiled, so that a caller compiled at a level calls the same level; CQ_Q_LEVELS_
 * declares the three. */
#ifdef CQ_Q_AVX512_VARIANT
#define CQ_Q_LEVEL(name) name##_avx512
#elif defined(CQ_Q_AVX2_VARIANT)
#define CQ_Q_LEVEL(name) name##_avx2
#else
#define CQ_Q_LEVEL(name) name
#endif
#if CQ_Q_HAVE_AVX2
#define CQ_Q_LEVELS_(ret, name, args) ret name args; ret name##_avx2 args; ret name##_avx512 args;
#else
#define CQ_Q_LEVELS_(ret, name, args) ret name args;
#endif

/* CUQ (cq_q_cuq.c), typed: levels of x[a..n) (a even) on the grid of (M, delta, L) with
 * uniforms from the stream `key` (coordinate i's, whatever a is), to w and / or out
 * (NULL: none); cut_on: coordinates with |x_i| > cut are quantized as 0 and the range
 * check is against cut. Returns non-zero if some coordinate failed the range check. */
CQ_Q_LEVELS_(int, cq_q_cuq_block, (cq_qin x, size_t a, size_t n, double M, double delta, uint32_t L, unsigned lbits,
                                   uint64_t key, int cut_on, double cut, cq_bitwriter *w, const cq_qout *out))
/* The value cq_q_cuq_block gives coordinate i of stream `key` when x_i is 0 (or cut). */
double cq_q_cuq_zero_value(double M, double delta, uint32_t L, uint64_t key, size_t i);
/* CUQ levels of coordinates [a, n) -> out (out->p NULL: checked only), rejecting levels
 * >= L (CQ_EDECODE). */
CQ_Q_LEVELS_(int, cq_q_cuq_decode_block, (cq_bitreader *r, size_t a, size_t n, double M, double delta, uint32_t L,
                                          unsigned lbits, const cq_qout *out, cq_errinfo *err))

/* RATQ (cq_q_ratq.c), float64 only (the composite gathers its part into a double
 * buffer): the parameters for bound B and dimension dim (s, h, L = 0: the
 * defaults of parameters (8)). windowed = 0: the paper's form (dim zero-padded to a power
 * of two, one rotation, 64-bit seed); windowed = 1: what RATQ and the l_p composite's part
 * use (no padding, two overlapping rotation windows of the largest power of two <= dim,
 * see cq_q_ratq.c). */
int cq_q_ratq_params(double B, size_t dim, int64_t s, int64_t h, int64_t L, int windowed, cq_ratq_par *r,
                     cq_errinfo *err);
/* RATQ's decoder on an explicit parameter block (z = work of r->d2 doubles; out NULL:
 * checked only), for the l_p composite, which otherwise encodes and decodes its RATQ part
 * with RATQ's typed kernels (cq_q_ratq_typed...). zero_input (L even): the encoder's input was the zero vector, so every group must use
 * range 0 and levels L/2 - 1 or L/2 (what the l_p composite sends with no large
 * coordinate); anything else is CQ_EDECODE. */
int cq_q_ratq_core_decode(const cq_ratq_par *r, cq_bitreader *rd, int zero_input, double *z, double *out,
                          cq_errinfo *err);

#endif /* CQ_Q_INTERNAL_H */
