/* cq_mlp.c -- see cq_mlp.h. The precision-independent pieces live here; the kernels are
 * generated twice from cq_mlp_real.h, for double and for float. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "models/cq_mlp.h"
#include "core/cq_rng.h"
#include "core/cq_parallel.h"

size_t cq_mlp_w_offset(const cq_mlp *net, int l)
{
    size_t off = 0;
    for (int k = 1; k < l; k++) off += net->sizes[k - 1] * net->sizes[k] + net->sizes[k];
    return off;
}

size_t cq_mlp_b_offset(const cq_mlp *net, int l)
{
    return cq_mlp_w_offset(net, l) + net->sizes[l - 1] * net->sizes[l];
}

size_t cq_mlp_n_params(const cq_mlp *net)
{
    return cq_mlp_w_offset(net, net->n_layers + 1);
}

/* Activations A[0..L] (A[0] holds the batch rows), one delta buffer pair, and the
 * transposes used by the backward pass (A[l-1]^T: widest x batch; W[l]: widest^2). */
size_t cq_mlp_work_size(const cq_mlp *net, size_t batch)
{
    size_t units = 0, widest = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        units += net->sizes[l];
        if (net->sizes[l] > widest) widest = net->sizes[l];
    }
    return batch * units + 3 * batch * widest + widest * widest;
}

size_t cq_mlp_forward_rows(size_t m, int sparse)
{
    return sparse && m > CQ_MLP_CHUNK ? CQ_MLP_CHUNK : m;
}

size_t cq_mlp_cost_work_size(const cq_mlp *net, size_t n, int sparse)
{
    size_t rows = cq_mlp_forward_rows(n, sparse);
    return cq_mlp_work_size(net, rows) + (rows < n ? cq_mlp_n_params(net) : 0);
}

void cq_mlp_init(const cq_mlp *net, double *theta, bitgen_t *g)
{
    for (int l = 1; l <= net->n_layers; l++) {
        double *w = theta + cq_mlp_w_offset(net, l);
        size_t nw = net->sizes[l - 1] * net->sizes[l];
        for (size_t i = 0; i < nw; i++) w[i] = 0.004 * cq_rng_uniform(g) - 0.002;
        memset(theta + cq_mlp_b_offset(net, l), 0, sizeof(double) * net->sizes[l]);
    }
}

/* Fisher-Yates shuffle of perm[0..m) over g (the draws of the NumPy twin). */
static void mlp_shuffle(int64_t *perm, size_t m, bitgen_t *g)
{
    for (size_t i = m; i > 1; i--) {
        size_t j = (size_t)cq_rng_bounded(g, (uint64_t)i);
        int64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

/* scikit-learn's stopping rule on the epoch costs (see cq_mlp_opt); 1 when the run stops. */
static int mlp_no_improvement(double cost, double tol, int64_t n_iter_no_change, double *best, int64_t *count)
{
    if (!(tol > -INFINITY)) return 0;
    if (cost > *best - tol) ++*count;
    else *count = 0;
    if (cost < *best) *best = cost;
    return *count > n_iter_no_change;
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define CQ_MLP_AVX2 1

static int mlp_cpu_avx2(void)
{
    static int cached = -1;  /* benign race: every thread computes the same value */
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#endif

/* double */
#define R double
#define F(name) name
#define R_EXP exp
#define R_TANH tanh
#define R_SQRT sqrt
#define V_T __m256d
#define V_W 4
#define V_LOAD _mm256_loadu_pd
#define V_STORE _mm256_storeu_pd
#define V_BCAST _mm256_broadcast_sd
#define V_FMA _mm256_fmadd_pd
#define V_ZERO _mm256_setzero_pd
#include "models/cq_mlp_real.h"
#undef R
#undef F
#undef R_EXP
#undef R_TANH
#undef R_SQRT
#undef V_T
#undef V_W
#undef V_LOAD
#undef V_STORE
#undef V_BCAST
#undef V_FMA
#undef V_ZERO

/* float */
#define R float
#define F(name) name##_f32
#define R_EXP expf
#define R_TANH tanhf
#define R_SQRT sqrtf
#define V_T __m256
#define V_W 8
#define V_LOAD _mm256_loadu_ps
#define V_STORE _mm256_storeu_ps
#define V_BCAST _mm256_broadcast_ss
#define V_FMA _mm256_fmadd_ps
#define V_ZERO _mm256_setzero_ps
#include "models/cq_mlp_real.h"
