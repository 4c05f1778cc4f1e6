/* cq_rng.c -- variates over a numpy bitgen_t; see cq_rng.h. */
#include "core/cq_rng.h"

uint64_t cq_rng_bounded(bitgen_t *g, uint64_t n)
{
    if (n <= 1) return 0;
    if (n <= UINT32_MAX) {
        /* Lemire 32-bit: m = x * n; reject the low part below (2^32 - n) mod n. */
        uint32_t n32 = (uint32_t)n;
        uint64_t m = (uint64_t)cq_rng_u32(g) * n32;
        uint32_t lo = (uint32_t)m;
        if (lo < n32) {
            uint32_t t = (uint32_t)(-n32) % n32;
            while (lo < t) {
                m = (uint64_t)cq_rng_u32(g) * n32;
                lo = (uint32_t)m;
            }
        }
        return m >> 32;
    }
#if defined(__SIZEOF_INT128__)
    {
        __extension__ typedef unsigned __int128 u128;
        u128 m = (u128)cq_rng_u64(g) * n;
        uint64_t lo = (uint64_t)m;
        if (lo < n) {
            uint64_t t = (-n) % n;
            while (lo < t) {
                m = (u128)cq_rng_u64(g) * n;
                lo = (uint64_t)m;
            }
        }
        return (uint64_t)(m >> 64);
    }
#else
    {
        /* Portable fallback: masked rejection (expected < 2 draws). */
        uint64_t mask = n - 1, x;
        mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4;
        mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32;
        do { x = cq_rng_u64(g) & mask; } while (x >= n);
        return x;
    }
#endif
}

void cq_rng_normal_fill(bitgen_t *g, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = random_standard_normal(g);
}

void cq_rng_uniform_fill(bitgen_t *g, size_t n, double *out)
{
    for (size_t i = 0; i < n; i++) out[i] = g->next_double(g->state);
}
