/* cq_bench.h -- kernels the benchmark harness uses to measure the machine itself. */
#ifndef CQ_BENCH_H
#define CQ_BENCH_H
#include <stddef.h>

/* Sum of x[0..n) with eight independent accumulators: a pure streaming read whose
 * speed is the memory read bandwidth once x is larger than the caches. */
double cq_bench_read_sum(const double *x, size_t n);

/* The same read split into n_threads contiguous slices, one per thread. */
double cq_bench_read_sum_threads(const double *x, size_t n, int n_threads);

#endif
