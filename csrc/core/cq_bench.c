/* cq_bench.c -- see cq_bench.h. */
#include <stdlib.h>
#include "core/cq_bench.h"
#include "core/cq_parallel.h"

double cq_bench_read_sum(const double *x, size_t n)
{
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        a0 += x[i]; a1 += x[i + 1]; a2 += x[i + 2]; a3 += x[i + 3];
        a4 += x[i + 4]; a5 += x[i + 5]; a6 += x[i + 6]; a7 += x[i + 7];
    }
    for (; i < n; i++) a0 += x[i];
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

typedef struct slices {
    const double *x;
    size_t n;
    size_t parts;
    double *out;
} slices;

static int read_slice(void *ctx, size_t task, int thread)
{
    (void)thread;
    slices *s = (slices *)ctx;
    size_t lo = s->n * task / s->parts, hi = s->n * (task + 1) / s->parts;
    s->out[task] = cq_bench_read_sum(s->x + lo, hi - lo);
    return 0;
}

double cq_bench_read_sum_threads(const double *x, size_t n, int n_threads)
{
    if (n_threads <= 1) return cq_bench_read_sum(x, n);
    double part[256];
    if (n_threads > 256) n_threads = 256;
    slices s = {x, n, (size_t)n_threads, part};
    cq_parallel_for((size_t)n_threads, n_threads, read_slice, &s, NULL);
    double total = 0;
    for (int t = 0; t < n_threads; t++) total += part[t];
    return total;
}
