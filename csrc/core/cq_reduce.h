/*
 * cq_reduce.h -- dense reductions shared by the kernels.
 *
 * cq_dot(a, b, n) = sum_i a_i b_i with four independent accumulators, combined as
 * (s0 + s1) + (s2 + s3): the chains let the compiler vectorise without -ffast-math, and
 * the fixed order makes the result a function of the data alone (never of threads or
 * of the build), which the golden-output tests rely on.
 */
#ifndef CQ_REDUCE_H
#define CQ_REDUCE_H

#include <stddef.h>

static inline double cq_dot(const double *a, const double *b, size_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

#endif
