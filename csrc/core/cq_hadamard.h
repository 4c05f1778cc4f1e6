/*
 * cq_hadamard.h -- in-place fast Walsh-Hadamard transform (Sylvester / natural order).
 *
 * Read me first:
 *  - cq_hadamard_fwht(x, n) overwrites x[0..n) with H_n x, where H_1 = [1] and
 *    H_{2m} = [[H_m, H_m], [H_m, -H_m]]; unnormalised, so H_n H_n = n I.
 *    n must be a power of two (n = 1 is the identity).
 *  - O(n log n) additions, no allocation. Cache-blocked: the low log2(BLK) stages run
 *    inside blocks of BLK doubles that stay in L1/L2, and the remaining high stages run
 *    as a length-(n/BLK) transform down the columns of the (n/BLK) x BLK row-major
 *    matrix, a strip of columns at a time, so the array crosses the memory bus about
 *    twice instead of log2(n) times. Butterflies are done two stages at a time (radix 4).
 *  - The result is bit-for-bit deterministic (fixed operation order).
 */
#ifndef CQ_HADAMARD_H
#define CQ_HADAMARD_H

#include <stddef.h>

/* Non-zero iff n is a power of two (n >= 1). */
int cq_hadamard_is_pow2(size_t n);

/* x <- H_n x, n a power of two. */
void cq_hadamard_fwht(double *x, size_t n);

#endif /* CQ_HADAMARD_H */
