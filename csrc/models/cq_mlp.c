/* cq_mlp.c -- see cq_mlp.h. */
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

/* Activations A[0..L] (A[0] is a copy of the batch rows), one delta buffer pair, and the
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

/* ---- dense products C = A B (row-major, leading dimensions), the three products of
 * backpropagation: Z = A W^T, dW^T = A^T delta (via a transpose of A), delta W.
 * A portable version and an AVX2+FMA version (4 x 8 register tile) chosen at run time. */

/* C[i][j] (acc ? += : =) sum_k A[i][k] B[k][j], i < M, j < N, k < K. */
static void gemm_ref(size_t M, size_t N, size_t K, const double *A, size_t lda, const double *B, size_t ldb,
                     double *C, size_t ldc, int acc)
{
    for (size_t i = 0; i < M; i++) {
        double *c = C + i * ldc;
        const double *a = A + i * lda;
        if (!acc) memset(c, 0, sizeof(double) * N);
        for (size_t k = 0; k < K; k++) {
            double ak = a[k];
            const double *b = B + k * ldb;
            for (size_t j = 0; j < N; j++) c[j] += ak * b[j];
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define CQ_MLP_AVX2 1

__attribute__((target("avx2,fma"))) static void gemm_avx2(size_t M, size_t N, size_t K, const double *A, size_t lda,
                                                          const double *B, size_t ldb, double *C, size_t ldc,
                                                          int acc)
{
    size_t i = 0;
    for (; i + 4 <= M; i += 4) {
        const double *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        double *c0 = C + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
        size_t j = 0;
        for (; j + 8 <= N; j += 8) {
            __m256d x00, x01, x10, x11, x20, x21, x30, x31;
            if (acc) {
                x00 = _mm256_loadu_pd(c0 + j); x01 = _mm256_loadu_pd(c0 + j + 4);
                x10 = _mm256_loadu_pd(c1 + j); x11 = _mm256_loadu_pd(c1 + j + 4);
                x20 = _mm256_loadu_pd(c2 + j); x21 = _mm256_loadu_pd(c2 + j + 4);
                x30 = _mm256_loadu_pd(c3 + j); x31 = _mm256_loadu_pd(c3 + j + 4);
            } else {
                x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = _mm256_setzero_pd();
            }
            for (size_t k = 0; k < K; k++) {
                const double *b = B + k * ldb + j;
                __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4), v;
                v = _mm256_broadcast_sd(a0 + k); x00 = _mm256_fmadd_pd(v, b0, x00); x01 = _mm256_fmadd_pd(v, b1, x01);
                v = _mm256_broadcast_sd(a1 + k); x10 = _mm256_fmadd_pd(v, b0, x10); x11 = _mm256_fmadd_pd(v, b1, x11);
                v = _mm256_broadcast_sd(a2 + k); x20 = _mm256_fmadd_pd(v, b0, x20); x21 = _mm256_fmadd_pd(v, b1, x21);
                v = _mm256_broadcast_sd(a3 + k); x30 = _mm256_fmadd_pd(v, b0, x30); x31 = _mm256_fmadd_pd(v, b1, x31);
            }
            _mm256_storeu_pd(c0 + j, x00); _mm256_storeu_pd(c0 + j + 4, x01);
            _mm256_storeu_pd(c1 + j, x10); _mm256_storeu_pd(c1 + j + 4, x11);
            _mm256_storeu_pd(c2 + j, x20); _mm256_storeu_pd(c2 + j + 4, x21);
            _mm256_storeu_pd(c3 + j, x30); _mm256_storeu_pd(c3 + j + 4, x31);
        }
        for (; j < N; j++) {
            double s0 = acc ? c0[j] : 0.0, s1 = acc ? c1[j] : 0.0, s2 = acc ? c2[j] : 0.0, s3 = acc ? c3[j] : 0.0;
            for (size_t k = 0; k < K; k++) {
                double b = B[k * ldb + j];
                s0 += a0[k] * b; s1 += a1[k] * b; s2 += a2[k] * b; s3 += a3[k] * b;
            }
            c0[j] = s0; c1[j] = s1; c2[j] = s2; c3[j] = s3;
        }
    }
    for (; i < M; i++) {
        const double *a = A + i * lda;
        double *c = C + i * ldc;
        size_t j = 0;
        for (; j + 4 <= N; j += 4) {
            __m256d x = acc ? _mm256_loadu_pd(c + j) : _mm256_setzero_pd();
            for (size_t k = 0; k < K; k++)
                x = _mm256_fmadd_pd(_mm256_broadcast_sd(a + k), _mm256_loadu_pd(B + k * ldb + j), x);
            _mm256_storeu_pd(c + j, x);
        }
        for (; j < N; j++) {
            double s = acc ? c[j] : 0.0;
            for (size_t k = 0; k < K; k++) s += a[k] * B[k * ldb + j];
            c[j] = s;
        }
    }
}

static int mlp_cpu_avx2(void)
{
    static int cached = -1;  /* benign race: every thread computes the same value */
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#endif

static void gemm(size_t M, size_t N, size_t K, const double *A, size_t lda, const double *B, size_t ldb, double *C,
                 size_t ldc, int acc)
{
#ifdef CQ_MLP_AVX2
    if (mlp_cpu_avx2()) {
        gemm_avx2(M, N, K, A, lda, B, ldb, C, ldc, acc);
        return;
    }
#endif
    gemm_ref(M, N, K, A, lda, B, ldb, C, ldc, acc);
}

/* T (cols x rows) = S^T for S (rows x cols), in cache-sized tiles. */
static void transpose(const double *S, size_t rows, size_t cols, double *T)
{
    for (size_t i0 = 0; i0 < rows; i0 += 32)
        for (size_t j0 = 0; j0 < cols; j0 += 32) {
            size_t i1 = i0 + 32 < rows ? i0 + 32 : rows, j1 = j0 + 32 < cols ? j0 + 32 : cols;
            for (size_t i = i0; i < i1; i++)
                for (size_t j = j0; j < j1; j++) T[j * rows + i] = S[i * cols + j];
        }
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

static inline double act(int kind, double z)
{
    switch (kind) {
    case CQ_ACT_TANH: return tanh(z);
    case CQ_ACT_RELU: return z > 0 ? z : 0.0;
    case CQ_ACT_LEAKY_RELU: return z > 0 ? z : 0.001 * z;
    default: return z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
    }
}

/* g'(z) expressed through a = g(z) (and z's sign for the ReLUs). */
static inline double act_deriv(int kind, double a)
{
    switch (kind) {
    case CQ_ACT_TANH: return 1.0 - a * a;
    case CQ_ACT_RELU: return a > 0 ? 1.0 : 0.0;
    case CQ_ACT_LEAKY_RELU: return a > 0 ? 1.0 : 0.001;
    default: return a * (1.0 - a);
    }
}

/* A[l] (B x n_l) = g(A[l-1] W^T + b): one dense product, then bias and activation. */
static void layer_forward(const cq_mlp *net, int l, const double *theta, const double *in, double *out, size_t B)
{
    size_t n_in = net->sizes[l - 1], n_out = net->sizes[l];
    const double *WT = theta + cq_mlp_w_offset(net, l);
    const double *b = theta + cq_mlp_b_offset(net, l);
    int kind = l == net->n_layers ? CQ_ACT_SIGMOID : net->hidden_act;
    gemm(B, n_out, n_in, in, n_in, WT, n_out, out, n_out, 0);
    /* one loop per activation kind, so that the ReLUs vectorise */
    for (size_t i = 0; i < B; i++) {
        double *z = out + i * n_out;
        switch (kind) {
        case CQ_ACT_RELU:
            for (size_t j = 0; j < n_out; j++) { double v = z[j] + b[j]; z[j] = v > 0 ? v : 0.0; }
            break;
        case CQ_ACT_LEAKY_RELU:
            for (size_t j = 0; j < n_out; j++) { double v = z[j] + b[j]; z[j] = v > 0 ? v : 0.001 * v; }
            break;
        default:
            for (size_t j = 0; j < n_out; j++) z[j] = act(kind, z[j] + b[j]);
        }
    }
}

/* Forward pass over the batch rows; returns a pointer to each layer's activations. */
static void forward_all(const cq_mlp *net, const double *theta, const double *X, const int64_t *rows, size_t B,
                        double *work, double **A)
{
    size_t off = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        A[l] = work + off;
        off += B * net->sizes[l];
    }
    size_t n0 = net->sizes[0];
    if (rows == NULL) {
        /* contiguous rows: read X in place (A[0] is never written) */
        A[0] = (double *)X;
    } else {
        for (size_t i = 0; i < B; i++) memcpy(A[0] + i * n0, X + (size_t)rows[i] * n0, sizeof(double) * n0);
    }
    for (int l = 1; l <= net->n_layers; l++) layer_forward(net, l, theta, A[l - 1], A[l], B);
}

void cq_mlp_forward(const cq_mlp *net, const double *theta, const double *X, size_t m, double *out, double *work)
{
    double *A[CQ_MLP_MAX_LAYERS + 1];
    forward_all(net, theta, X, NULL, m, work, A);
    memcpy(out, A[net->n_layers], sizeof(double) * m * net->sizes[net->n_layers]);
}

/* The cross-entropy cost + penalty (if want_cost; else returns 0) and gradient (if grad != NULL). */
static double mlp_eval(const cq_mlp *net, const double *theta, const double *X, const double *Y,
                       const int64_t *rows, size_t m, double lam, size_t m_reg, double *grad, double *work,
                       int want_cost)
{
    const int L = net->n_layers;
    const size_t K = net->sizes[L];
    double *A[CQ_MLP_MAX_LAYERS + 1];
    forward_all(net, theta, X, rows, m, work, A);
    size_t widest = 0, units = 0;
    for (int l = 0; l <= L; l++) {
        units += net->sizes[l];
        if (net->sizes[l] > widest) widest = net->sizes[l];
    }
    double *delta = work + m * units, *delta_prev = delta + m * widest;
    double *AT = delta_prev + m * widest, *Wn = AT + m * widest;

    /* The cost: cross-entropy of the sigmoid outputs, then the weight penalty. */
    double ce = 0;
    for (size_t i = 0; want_cost && i < m; i++) {
        size_t r = rows ? (size_t)rows[i] : i;
        const double *y = Y + r * K, *a = A[L] + i * K;
        /* labels are 0/1 in practice: -ln p for y = 1, and the y = 0 terms sum_k ln(1 - p_k)
         * as the logarithm of a product (flushed every 16 factors, each >= 1e-16, so it
         * cannot underflow): a couple of logarithms per row instead of 2K */
        double prod0 = 1.0;
        int nprod = 0;
        for (size_t k = 0; k < K; k++) {
            double p = a[k], yk = y[k];
            p = p < 1e-300 ? 1e-300 : (p > 1.0 - 1e-16 ? 1.0 - 1e-16 : p);
            if (yk == 1.0) {
                ce -= log(p);
            } else if (yk == 0.0) {
                prod0 *= 1.0 - p;
                if (++nprod == 16) { ce -= log(prod0); prod0 = 1.0; nprod = 0; }
            } else {
                ce -= yk * log(p) + (1.0 - yk) * log1p(-p);
            }
        }
        if (nprod) ce -= log(prod0);
    }
    double pen = 0;
    for (int l = 1; want_cost && l <= L; l++) {
        const double *w = theta + cq_mlp_w_offset(net, l);
        size_t nw = net->sizes[l - 1] * net->sizes[l];
        for (size_t i = 0; i < nw; i++) pen += w[i] * w[i];
    }
    double J = ce / (double)m + lam / (2.0 * (double)m_reg) * pen;
    if (grad == NULL) return J;

    /* Backpropagation. Output layer (sigmoid + cross-entropy): delta = (A[L] - Y) / m. */
    const double inv_m = 1.0 / (double)m;
    for (size_t i = 0; i < m; i++) {
        size_t r = rows ? (size_t)rows[i] : i;
        for (size_t k = 0; k < K; k++) delta[i * K + k] = (A[L][i * K + k] - Y[r * K + k]) * inv_m;
    }
    for (int l = L; l >= 1; l--) {
        size_t n_in = net->sizes[l - 1], n_out = net->sizes[l];
        double *gWT = grad + cq_mlp_w_offset(net, l), *gb = grad + cq_mlp_b_offset(net, l);
        const double *WT = theta + cq_mlp_w_offset(net, l);
        /* dJ/dW^T = A[l-1]^T delta + (lam/m) W^T ; dJ/db = sum_i delta_i */
        for (size_t t = 0; t < n_in * n_out; t++) gWT[t] = lam / (double)m_reg * WT[t];
        memset(gb, 0, sizeof(double) * n_out);
        for (size_t i = 0; i < m; i++) {
            const double *d = delta + i * n_out;
            for (size_t j = 0; j < n_out; j++) gb[j] += d[j];
        }
        transpose(A[l - 1], m, n_in, AT);                               /* A[l-1]^T: n_in x m */
        gemm(n_in, n_out, m, AT, m, delta, n_out, gWT, n_out, 1);        /* += A^T delta */
        if (l == 1) break;
        /* delta[l-1] = (delta W) .* g'(A[l-1]), W = (W^T)^T: n_out x n_in */
        transpose(WT, n_in, n_out, Wn);
        gemm(m, n_in, n_out, delta, n_out, Wn, n_in, delta_prev, n_in, 0);
        for (size_t i = 0; i < m; i++) {
            const double *a = A[l - 1] + i * n_in;
            double *dp = delta_prev + i * n_in;
            switch (net->hidden_act) {
            case CQ_ACT_RELU:
                for (size_t k = 0; k < n_in; k++) dp[k] = a[k] > 0 ? dp[k] : 0.0;
                break;
            default:
                for (size_t k = 0; k < n_in; k++) dp[k] *= act_deriv(net->hidden_act, a[k]);
            }
        }
        double *tmp = delta;
        delta = delta_prev;
        delta_prev = tmp;
    }
    return J;
}

double cq_mlp_cost_grad(const cq_mlp *net, const double *theta, const double *X, const double *Y,
                        const int64_t *rows, size_t m, double lam, size_t m_reg, double *grad, double *work)
{
    return mlp_eval(net, theta, X, Y, rows, m, lam, m_reg, grad, work, 1);
}

/* Parallel pieces of the training loop. A minibatch of B >= CQ_MLP_SPLIT_MIN rows is split
 * into CQ_MLP_SPLIT fixed halves whose gradients are combined in a fixed order, and the
 * epoch cost is a sum of fixed chunks in chunk order: the results are identical for any
 * number of threads. */
#define CQ_MLP_SPLIT 2
#define CQ_MLP_SPLIT_MIN 64
#define CQ_MLP_COST_CHUNK 256

typedef struct {
    const cq_mlp *net;
    const double *theta, *X, *Y;
    const int64_t *rows;   /* batch rows (training) */
    size_t m, B, sub;      /* data rows, batch rows, rows per sub-batch */
    size_t P, wsz;
    double *grads;         /* CQ_MLP_SPLIT x P */
    double *works;         /* n_threads x wsz */
    double *chunk_cost;    /* epoch cost per chunk */
    double sub_cost[CQ_MLP_SPLIT]; /* cross-entropy of each half (running cost) */
    int want_cost;
} mlp_par;

static int mlp_sub_task(void *ctx, size_t task, int thread)
{
    mlp_par *p = (mlp_par *)ctx;
    size_t off = task * p->sub;
    size_t mb = off >= p->B ? 0 : (p->B - off < p->sub ? p->B - off : p->sub);
    double *g = p->grads + task * p->P;
    p->sub_cost[task] = 0.0;
    if (mb == 0) {
        memset(g, 0, sizeof(double) * p->P);
        return CQ_OK;
    }
    p->sub_cost[task] = mlp_eval(p->net, p->theta, p->X, p->Y, p->rows + off, mb, 0.0, p->m, g,
                                 p->works + (size_t)thread * p->wsz, p->want_cost) * (double)mb;
    return CQ_OK;
}

static int mlp_cost_task(void *ctx, size_t task, int thread)
{
    mlp_par *p = (mlp_par *)ctx;
    size_t off = task * CQ_MLP_COST_CHUNK;
    size_t mb = p->m - off < CQ_MLP_COST_CHUNK ? p->m - off : CQ_MLP_COST_CHUNK;
    size_t n0 = p->net->sizes[0], K = p->net->sizes[p->net->n_layers];
    p->chunk_cost[task] = mlp_eval(p->net, p->theta, p->X + off * n0, p->Y + off * K, NULL, mb, 0.0, p->m, NULL,
                                   p->works + (size_t)thread * p->wsz, 1) * (double)mb;
    return CQ_OK;
}

int cq_mlp_train(const cq_mlp *net, double *theta, const double *X, const double *Y, size_t m, double lam,
                 double lr, size_t batch, int64_t epochs, const cq_quant_cb *quant, bitgen_t *g, double *costs,
                 uint64_t *bits, int running_cost, int n_threads, cq_interrupt *it, cq_errinfo *err)
{
    size_t P = cq_mlp_n_params(net);
    if (batch > m) batch = m;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > CQ_MLP_SPLIT) n_threads = CQ_MLP_SPLIT;
    size_t sub = (batch + CQ_MLP_SPLIT - 1) / CQ_MLP_SPLIT;
    size_t rows_max = batch > CQ_MLP_COST_CHUNK ? batch : CQ_MLP_COST_CHUNK;
    size_t wsz = cq_mlp_work_size(net, rows_max);
    size_t n_chunks = (m + CQ_MLP_COST_CHUNK - 1) / CQ_MLP_COST_CHUNK;
    double *work = (double *)malloc(sizeof(double) * ((size_t)n_threads * wsz + (2 + CQ_MLP_SPLIT) * P + n_chunks));
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * m);
    if (work == NULL || perm == NULL) {
        free(work);
        free(perm);
        return cq_fail(err, CQ_ENOMEM, "out of memory for MLP training buffers");
    }
    double *grad = work + (size_t)n_threads * wsz, *qgrad = grad + P, *grads = qgrad + P;
    double *chunk_cost = grads + CQ_MLP_SPLIT * P;
    mlp_par par = {net, theta, X, Y, perm, m, 0, sub, P, wsz, grads, work, chunk_cost, {0.0}, running_cost != 0};
    for (size_t i = 0; i < m; i++) perm[i] = (int64_t)i;
    int st = CQ_OK;
    uint64_t total_bits = 0;
    const int64_t n_batches = (int64_t)((m + batch - 1) / batch);
    cq_progress_total(it, epochs * n_batches);
    for (int64_t e = 0; e < epochs && st == CQ_OK; e++) {
        for (size_t i = m; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)cq_rng_bounded(g, (uint64_t)i);
            int64_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        double run_ce = 0.0; /* sum over the epoch's batches of B * (batch cross-entropy) */
        for (size_t s = 0; s < m; s += batch) {
            if (cq_check_progress(it, e * n_batches + (int64_t)(s / batch))) { st = CQ_EINTERRUPT; break; }
            size_t B = m - s < batch ? m - s : batch;
            if (B >= CQ_MLP_SPLIT_MIN) {
                /* gradient of the cost on the batch = sum over the halves of (rows_h / B) grad_h + lam/m W */
                par.rows = perm + s;
                par.B = B;
                par.sub = (B + CQ_MLP_SPLIT - 1) / CQ_MLP_SPLIT;
                st = cq_parallel_for(CQ_MLP_SPLIT, n_threads, mlp_sub_task, &par, it);
                if (st != CQ_OK) break;
                for (size_t t = 0; t < P; t++) grad[t] = 0.0;
                for (int h = 0; h < CQ_MLP_SPLIT; h++) run_ce += par.sub_cost[h];
                for (int h = 0; h < CQ_MLP_SPLIT; h++) {
                    size_t off = (size_t)h * par.sub;
                    size_t mb = off >= B ? 0 : (B - off < par.sub ? B - off : par.sub);
                    double w = (double)mb / (double)B;
                    const double *gh = grads + (size_t)h * P;
                    for (size_t t = 0; t < P; t++) grad[t] += w * gh[t];
                }
                for (int l = 1; l <= net->n_layers; l++) {
                    size_t o = cq_mlp_w_offset(net, l), nw = net->sizes[l - 1] * net->sizes[l];
                    for (size_t t = 0; t < nw; t++) grad[o + t] += lam / (double)m * theta[o + t];
                }
            } else {
                /* lam = 0 inside: the batch cost is the cross-entropy alone; penalty gradient added here */
                run_ce += mlp_eval(net, theta, X, Y, perm + s, B, 0.0, m, grad, work, running_cost != 0) * (double)B;
                for (int l = 1; l <= net->n_layers; l++) {
                    size_t o = cq_mlp_w_offset(net, l), nw = net->sizes[l - 1] * net->sizes[l];
                    for (size_t t = 0; t < nw; t++) grad[o + t] += lam / (double)m * theta[o + t];
                }
            }
            const double *step = grad;
            if (quant != NULL && quant->apply != NULL) {
                uint64_t nb = 0;
                st = quant->apply(quant->ctx, grad, P, g, qgrad, &nb, err);
                if (st != CQ_OK) break;
                total_bits += nb;
                step = qgrad;
            } else {
                total_bits += 64u * (uint64_t)P;
            }
            for (size_t t = 0; t < P; t++) theta[t] -= lr * step[t];
        }
        if (st != CQ_OK) break;
        for (size_t t = 0; t < P; t++)
            if (!isfinite(theta[t])) { st = cq_fail(err, CQ_ENONFINITE, "MLP weights diverged in epoch %lld; lower the learning rate", (long long)e + 1); break; }
        if (st == CQ_OK && costs != NULL) {
            double J = 0;
            if (running_cost) {
                J = run_ce; /* the minibatch cross-entropies of the epoch, weighted by batch size */
            } else {
                /* full-data cost: fixed chunks of rows, summed in chunk order */
                st = cq_parallel_for(n_chunks, n_threads, mlp_cost_task, &par, it);
                if (st != CQ_OK) break;
                for (size_t c = 0; c < n_chunks; c++) J += chunk_cost[c];
            }
            double pen = 0;
            for (int l = 1; l <= net->n_layers; l++) {
                const double *w = theta + cq_mlp_w_offset(net, l);
                size_t nw = net->sizes[l - 1] * net->sizes[l];
                for (size_t i = 0; i < nw; i++) pen += w[i] * w[i];
            }
            costs[e] = J / (double)m + lam / (2.0 * (double)m) * pen;
        }
    }
    if (bits != NULL) *bits = total_bits;
    free(work);
    free(perm);
    return st;
}
