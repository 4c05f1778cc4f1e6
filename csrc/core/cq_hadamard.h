/*
 * cq_hadamard.h -- in-place fast Walsh-Hadamard transform (Sylvester / natural order).
 *
 * Read me first:
 *  - cq_hadamard_fwht(x, n) overwrites x[0..n) with H_n x, where H_1 = [1] and
 *    H_{2m} = [[H_m, H_m], [H_m, -H_m]]; unnormalised, so H_n H_n = n I.
 *    n must be a power of two (n = 1 is the identity). The fast transform factors H_n
 *    into log2(n) stages of 2-point butterflies (a, b) -> (a + b, a - b) at strides 1, 2,
 *    4, ... (Fino & Algazi 1976, "Unified Matrix Treatment of the Fast Walsh-Hadamard
 *    Transform"); any grouping of whole stages gives the same sums in the same order.
 *  - O(n log n) additions, no allocation. Cache-blocked: the low log2(BLK) stages run
 *    inside blocks of BLK doubles that stay in L2 (BLK = n/64 within [2^14, 2^18]), and
 *    the remaining high stages run as a length-(n/BLK) transform down the columns of the
 *    (n/BLK) x BLK row-major matrix, a strip of columns at a time, so the array crosses
 *    the memory bus about twice instead of log2(n) times. Butterflies are done two
 *    stages at a time (radix 4).
 *  - The result is bit-for-bit deterministic (fixed operation order).
 *  - cq_hadamard_fwht_load_avx512 does the first four stages of a block in registers
 *    (one pass instead of two) and the rest eight lanes at a time.
 *  - cq_hadamard_fwht_load fuses the pass that produces the input (RATQ's random signs)
 *    into the transform's first, in-cache stage.
 */
#ifndef CQ_HADAMARD_H
#define CQ_HADAMARD_H

#include <stddef.h>

/* Non-zero iff n is a power of two (n >= 1). */
int cq_hadamard_is_pow2(size_t n);

/* x <- H_n x, n a power of two. */
void cq_hadamard_fwht(double *x, size_t n);

/* A block loader: writes the input's coordinates [i0, i0 + m) into blk[0..m) (blk may
 * already hold them: an in-place load); ctx is the caller's. */
typedef void (*cq_hadamard_load)(void *ctx, double *blk, size_t i0, size_t m);

/* x <- H_n v, where v is what `load` writes into x, one in-cache block at a time just
 * before that block's low stages: the input is read once on its way into the transform
 * instead of being written to x in a pass of its own. The same operations in the same
 * order as filling x and calling cq_hadamard_fwht, so the result is the same bit for bit. */
void cq_hadamard_fwht_load(double *x, size_t n, cq_hadamard_load load, void *ctx);

/* The same with the in-cache stages in AVX-512 (F) registers, for the kernels built for
 * AVX-512 (cq_q_ratq_avx512.c), which the CPU dispatch runs only where the CPU has it: the
 * same butterflies, the same result bit for bit. x86-64 GCC only. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CQ_HADAMARD_HAVE_AVX512 1
void cq_hadamard_fwht_load_avx512(double *x, size_t n, cq_hadamard_load load, void *ctx);
#else
#define CQ_HADAMARD_HAVE_AVX512 0
#endif

#endif /* CQ_HADAMARD_H */
