/* cq_hadamard.c -- cache-blocked in-place fast Walsh-Hadamard transform; see cq_hadamard.h. */
#include "core/cq_hadamard.h"
#if CQ_HADAMARD_HAVE_AVX512
#include <immintrin.h>
#endif

/* Doubles per in-cache block: n / CQ_WHT_ROWS, clamped to [CQ_WHT_BLK, CQ_WHT_BLK_MAX]. The
 * column stages read CQ_WHT_ROWS rows a power of two apart, which the hardware prefetchers
 * do not follow: at d = 2^22, 64 rows of 512 KiB took 9.2 ms where 256 rows of 128 KiB
 * took 12.4 (one thread, AVX-512 EPYC); larger blocks still run from L2. The block size
 * changes the order of the passes, not the butterflies: the result is the same. */
#ifndef CQ_WHT_BLK
#define CQ_WHT_BLK ((size_t)16384)      /* 128 KiB */
#endif
#ifndef CQ_WHT_BLK_MAX
#define CQ_WHT_BLK_MAX ((size_t)262144) /* 2 MiB */
#endif
#ifndef CQ_WHT_ROWS
#define CQ_WHT_ROWS ((size_t)64)
#endif
#ifndef CQ_WHT_STRIP
#define CQ_WHT_STRIP ((size_t)32)   /* columns per strip in the high stages (256 B rows) */
#endif

int cq_hadamard_is_pow2(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

/* One 4-point butterfly (two radix-2 stages at once) over w lanes of four disjoint rows. */
static inline void butterfly4(double *restrict a, double *restrict b, double *restrict c, double *restrict d,
                              size_t w)
{
    for (size_t j = 0; j < w; j++) {
        double s0 = a[j] + b[j], d0 = a[j] - b[j];
        double s1 = c[j] + d[j], d1 = c[j] - d[j];
        a[j] = s0 + s1;
        b[j] = d0 + d1;
        c[j] = s0 - s1;
        d[j] = d0 - d1;
    }
}

/* Stages with strides h and 2h at once on x[0..n): 4-point butterflies. */
static void radix4_pass(double *restrict x, size_t n, size_t h)
{
    for (size_t i = 0; i < n; i += 4 * h) {
        double *a = x + i, *b = a + h, *c = b + h, *d = c + h;
        butterfly4(a, b, c, d, h);
    }
}

static void radix2_pass(double *restrict x, size_t n, size_t h)
{
    for (size_t i = 0; i < n; i += 2 * h) {
        double *a = x + i, *b = a + h;
        for (size_t j = 0; j < h; j++) {
            double u = a[j], v = b[j];
            a[j] = u + v;
            b[j] = u - v;
        }
    }
}

/* Full transform of a block of n doubles (all stages). */
static void fwht_small(double *restrict x, size_t n)
{
    if (n < 2) return;
    size_t h = 1;
    if (n >= 4) {
        /* strides 1 and 2 together, unrolled */
        for (size_t i = 0; i < n; i += 4) {
            double a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3];
            double s0 = a + b, d0 = a - b, s1 = c + d, d1 = c - d;
            x[i] = s0 + s1;
            x[i + 1] = d0 + d1;
            x[i + 2] = s0 - s1;
            x[i + 3] = d0 - d1;
        }
        h = 4;
    }
    for (; 4 * h <= n; h *= 4) radix4_pass(x, n, h);
    if (h < n) radix2_pass(x, n, h);
}

/* Column transform: rows R (power of two), row length C, on columns [c0, c0 + w). */
static void fwht_columns(double *restrict x, size_t R, size_t C, size_t c0, size_t w)
{
    size_t h = 1;
    for (; 4 * h <= R; h *= 4) {
        for (size_t i = 0; i < R; i += 4 * h) {
            for (size_t r = i; r < i + h; r++) {
                double *a = x + r * C + c0, *b = a + h * C, *c = b + h * C, *d = c + h * C;
                butterfly4(a, b, c, d, w);
            }
        }
    }
    if (h < R) {
        for (size_t i = 0; i < R; i += 2 * h) {
            for (size_t r = i; r < i + h; r++) {
                double *a = x + r * C + c0, *b = a + h * C;
                for (size_t j = 0; j < w; j++) {
                    double u = a[j], v = b[j];
                    a[j] = u + v;
                    b[j] = u - v;
                }
            }
        }
    }
}

#if CQ_HADAMARD_HAVE_AVX512
/* The AVX-512 build of fwht_small (target attributes on these functions only: the column
 * stages stay the portable code, which the wider build made slower): strides 1, 2, 4
 * inside a register and 8 across two in one pass (lane pairs exchanged by permutes, the
 * sum kept in the lower lane and the difference in the upper: the same a + b and a - b),
 * then the radix-4 passes eight lanes at a time. The same butterflies, the same result. */
#define CQ_WHT_T512 __attribute__((target("avx512f")))
CQ_WHT_T512 static inline __m512d stage512(__m512d v, __m512d p, __mmask8 upper)
{
    return _mm512_mask_blend_pd(upper, _mm512_add_pd(v, p), _mm512_sub_pd(p, v));
}

CQ_WHT_T512 static void radix4_pass512(double *restrict x, size_t n, size_t h)
{
    for (size_t i = 0; i < n; i += 4 * h) {
        double *a = x + i, *b = a + h, *c = b + h, *d = c + h;
        for (size_t j = 0; j < h; j += 8) {
            __m512d A = _mm512_loadu_pd(a + j), B = _mm512_loadu_pd(b + j);
            __m512d C = _mm512_loadu_pd(c + j), D = _mm512_loadu_pd(d + j);
            __m512d s0 = _mm512_add_pd(A, B), d0 = _mm512_sub_pd(A, B);
            __m512d s1 = _mm512_add_pd(C, D), d1 = _mm512_sub_pd(C, D);
            _mm512_storeu_pd(a + j, _mm512_add_pd(s0, s1));
            _mm512_storeu_pd(b + j, _mm512_add_pd(d0, d1));
            _mm512_storeu_pd(c + j, _mm512_sub_pd(s0, s1));
            _mm512_storeu_pd(d + j, _mm512_sub_pd(d0, d1));
        }
    }
}

CQ_WHT_T512 static void fwht_small512(double *restrict x, size_t n)
{
    if (n < 16) {
        fwht_small(x, n);
        return;
    }
    for (size_t i = 0; i < n; i += 16) {
        __m512d v[2];
        for (int k = 0; k < 2; k++) {
            __m512d u = _mm512_loadu_pd(x + i + 8 * k);
            u = stage512(u, _mm512_permute_pd(u, 0x55), 0xAA);                            /* stride 1 */
            u = stage512(u, _mm512_permutex_pd(u, _MM_SHUFFLE(1, 0, 3, 2)), 0xCC);         /* stride 2 */
            u = stage512(u, _mm512_shuffle_f64x2(u, u, _MM_SHUFFLE(1, 0, 3, 2)), 0xF0);    /* stride 4 */
            v[k] = u;
        }
        _mm512_storeu_pd(x + i, _mm512_add_pd(v[0], v[1]));                                /* stride 8 */
        _mm512_storeu_pd(x + i + 8, _mm512_sub_pd(v[0], v[1]));
    }
    size_t h = 16;
    for (; 4 * h <= n; h *= 4) radix4_pass512(x, n, h);
    if (h < n) radix2_pass(x, n, h);
}
#endif

/* The transform with `small` for the in-cache blocks. */
static void fwht_load(double *x, size_t n, cq_hadamard_load load, void *ctx, void (*small)(double *, size_t))
{
    if (n <= CQ_WHT_BLK) {
        if (load != NULL) load(ctx, x, 0, n);
        small(x, n);
        return;
    }
    size_t blk = n / CQ_WHT_ROWS;
    blk = blk < CQ_WHT_BLK ? CQ_WHT_BLK : blk > CQ_WHT_BLK_MAX ? CQ_WHT_BLK_MAX : blk;
    for (size_t i = 0; i < n; i += blk) {
        if (load != NULL) load(ctx, x + i, i, blk);
        small(x + i, blk);
    }
    size_t R = n / blk;
    for (size_t c0 = 0; c0 < blk; c0 += CQ_WHT_STRIP) fwht_columns(x, R, blk, c0, CQ_WHT_STRIP);
}

void cq_hadamard_fwht(double *x, size_t n) { fwht_load(x, n, NULL, NULL, fwht_small); }

void cq_hadamard_fwht_load(double *x, size_t n, cq_hadamard_load load, void *ctx)
{
    fwht_load(x, n, load, ctx, fwht_small);
}

#if CQ_HADAMARD_HAVE_AVX512
void cq_hadamard_fwht_load_avx512(double *x, size_t n, cq_hadamard_load load, void *ctx)
{
    fwht_load(x, n, load, ctx, fwht_small512);
}
#endif
