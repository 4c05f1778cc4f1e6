/* cq_hadamard.c -- cache-blocked in-place fast Walsh-Hadamard transform; see cq_hadamard.h. */
#include "core/cq_hadamard.h"

#ifndef CQ_WHT_BLK
#define CQ_WHT_BLK ((size_t)16384)  /* doubles per in-cache block (128 KiB, L2) */
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

/* Full transform of a block of n <= BLK doubles (all stages). */
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

void cq_hadamard_fwht(double *x, size_t n) { cq_hadamard_fwht_load(x, n, NULL, NULL); }

void cq_hadamard_fwht_load(double *x, size_t n, cq_hadamard_load load, void *ctx)
{
    if (n <= CQ_WHT_BLK) {
        if (load != NULL) load(ctx, x, 0, n);
        fwht_small(x, n);
        return;
    }
    for (size_t i = 0; i < n; i += CQ_WHT_BLK) {
        if (load != NULL) load(ctx, x + i, i, CQ_WHT_BLK);
        fwht_small(x + i, CQ_WHT_BLK);
    }
    size_t R = n / CQ_WHT_BLK;
    for (size_t c0 = 0; c0 < CQ_WHT_BLK; c0 += CQ_WHT_STRIP) fwht_columns(x, R, CQ_WHT_BLK, c0, CQ_WHT_STRIP);
}
