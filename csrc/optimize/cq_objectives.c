/* cq_objectives.c -- see cq_objectives.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "optimize/cq_objectives.h"
#include "core/cq_parallel.h"
#include "core/cq_reduce.h"

/* outputs per row: K linear predictors for Softmax, one otherwise */
static size_t n_out(const cq_obj *o)
{
    return o->kind == CQ_OBJ_SOFTMAX ? o->n_classes : 1;
}

static int has_icpt(const cq_obj *o)
{
    return (o->kind == CQ_OBJ_LEASTSQ || o->kind == CQ_OBJ_LOGISTIC || o->kind == CQ_OBJ_HINGE ||
            o->kind == CQ_OBJ_HUBER_HINGE || o->kind == CQ_OBJ_SOFTMAX) && o->intercept;
}

/* entries of one output's block of theta: p + intercept */
static size_t block_width(const cq_obj *o)
{
    return o->p + (size_t)has_icpt(o);
}

size_t cq_obj_dim(const cq_obj *o)
{
    return n_out(o) * block_width(o);
}

size_t cq_obj_zlen(const cq_obj *o)
{
    return o->kind == CQ_OBJ_QUADRATIC ? o->p : o->m * n_out(o);
}

/* is theta[j] penalised by the l2 penalty (not an intercept)? */
static int l2_pen(const cq_obj *o, size_t j)
{
    return !has_icpt(o) || j % block_width(o) != 0;
}

/* W: the total weight of the rows used (their number without weights) */
static double weight_total(const cq_obj *o, const int64_t *rows, size_t n_rows)
{
    if (o->w == NULL) return (double)n_rows;
    double s = 0.0;
    for (size_t i = 0; i < n_rows; i++) s += o->w[rows ? (size_t)rows[i] : i];
    return s;
}

static inline double row_weight(const cq_obj *o, size_t r)
{
    return o->w ? o->w[r] : 1.0;
}

/* ln sum_k e^{z_k} and the softmax probabilities s_k (one pass of exps, shifted by max z) */
static double log_softmax(const double *z, size_t K, double *s)
{
    double zmax = z[0], se = 0.0;
    for (size_t k = 1; k < K; k++)
        if (z[k] > zmax) zmax = z[k];
    for (size_t k = 0; k < K; k++) {
        s[k] = exp(z[k] - zmax);
        se += s[k];
    }
    for (size_t k = 0; k < K; k++) s[k] /= se;
    return zmax + log(se);
}

/* the hinge's penalty 1/2 ||theta_r||^2 has weight 1 (C scales the loss instead) */
static int hinge_like(const cq_obj *o)
{
    return o->kind == CQ_OBJ_HINGE || o->kind == CQ_OBJ_HUBER_HINGE;
}

/* ---- per-row loss and its derivative in z ------------------------------------------ */

static inline double sigmoid(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

/* loss_i(z) and r = d loss_i / dz (before the loss scale) */
static inline double row_loss(const cq_obj *o, double z, double y, double *r)
{
    switch (o->kind) {
    case CQ_OBJ_LOGISTIC: {
        /* one exp: e = exp(-|z|), softplus(z) = max(z, 0) + log1p(e), sigmoid from e */
        double e = exp(-fabs(z)), inv = 1.0 / (1.0 + e);
        *r = (z >= 0 ? inv : e * inv) - y;
        return (z > 0 ? z : 0.0) + log1p(e) - y * z;
    }
    case CQ_OBJ_HINGE: {
        double k = o->c;
        if (y > 0.5) {
            if (z >= 1.0) { *r = 0.0; return 0.0; }
            *r = -k;
            return k * (1.0 - z);
        }
        if (z < -1.0) { *r = 0.0; return 0.0; }
        *r = k;
        return k * (1.0 + z);
    }
    case CQ_OBJ_HUBER_HINGE: {
        /* v = 1 - s z, h_delta(v); r = dh/dz = -s min(max(v / delta, 0), 1) */
        double s = y > 0.5 ? 1.0 : -1.0, v = 1.0 - s * z, d = o->c;
        if (v <= 0.0) { *r = 0.0; return 0.0; }
        if (v < d) { *r = -s * v / d; return v * v / (2.0 * d); }
        *r = -s;
        return v - 0.5 * d;
    }
    default: { /* least squares, lasso */
        double d = z - y;
        *r = d;
        return 0.5 * d * d;
    }
    }
}

/* second derivative of loss_i in z (for hessp) */
static inline double row_curv(const cq_obj *o, double z, double y)
{
    if (o->kind == CQ_OBJ_LOGISTIC) {
        double s = sigmoid(z);
        return s * (1.0 - s);
    }
    if (o->kind == CQ_OBJ_HUBER_HINGE) {
        double v = 1.0 - (y > 0.5 ? z : -z);
        return v > 0.0 && v < o->c ? 1.0 / o->c : 0.0;
    }
    return 1.0;
}

static double loss_scale(const cq_obj *o, double w_used)
{
    switch (o->kind) {
    case CQ_OBJ_LEASTSQ:
    case CQ_OBJ_LOGISTIC:
    case CQ_OBJ_SOFTMAX: return w_used > 0.0 ? 1.0 / w_used : 0.0;
    case CQ_OBJ_HINGE:
    case CQ_OBJ_HUBER_HINGE: return o->lam;
    default: return 1.0;
    }
}

/* the weight of the l2 penalty 1/2 ||theta_r||^2: 1 (hinge-type), lam/W otherwise */

/* The Huber-smoothed |x| of the smoothed LASSO (delta > 0: x^2/(2 delta) for |x| < delta,
 * |x| - delta/2 beyond; delta = 0: |x|) and its (sub)gradient in *g (0 at x = 0). */
static inline double huber_l1(double x, double delta, double *g)
{
    double a = fabs(x);
    if (delta > 0 && a < delta) {
        *g = x / delta;
        return x * x / (2.0 * delta);
    }
    *g = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
    return delta > 0 ? a - 0.5 * delta : a;
}

static double l2_weight(const cq_obj *o, double w_used)
{
    return hinge_like(o) ? 1.0 : (w_used > 0.0 ? o->lam / w_used : 0.0);
}

/* One pass over theta for the penalty: its value (1/2 w ||theta_r||^2 with w = l2_weight for
 * the l2 kinds, mu sum_j huber_l1(theta_j) for the LASSO, 0 for the others), its gradient
 * added to grad (unless NULL) and its slope along d stored in *slope (unless d is NULL). */
static double penalty_pass(const cq_obj *o, double w_used, const double *theta, double *grad, const double *d,
                           double *slope)
{
    size_t dim = cq_obj_dim(o);
    double s = 0.0, sd = 0.0;
    if (d) *slope = 0.0;
    switch (o->kind) {
    case CQ_OBJ_LEASTSQ:
    case CQ_OBJ_LOGISTIC:
    case CQ_OBJ_SOFTMAX:
    case CQ_OBJ_HINGE:
    case CQ_OBJ_HUBER_HINGE: {
        double w = l2_weight(o, w_used);
        if (w == 0.0) return 0.0;
        for (size_t j = 0; j < dim; j++) {
            if (!l2_pen(o, j)) continue;
            s += theta[j] * theta[j];
            if (grad) grad[j] += w * theta[j];
            if (d) sd += theta[j] * d[j];
        }
        if (d) *slope = w * sd;
        return 0.5 * w * s;
    }
    case CQ_OBJ_LASSO: {
        double mu = o->lam, delta = o->c;
        if (mu == 0.0) return 0.0;
        for (size_t j = 0; j < dim; j++) {
            double gj;
            s += huber_l1(theta[j], delta, &gj);
            if (grad) grad[j] += mu * gj;
            if (d) sd += gj * d[j];
        }
        if (d) *slope = mu * sd;
        return mu * s;
    }
    default: return 0.0;
    }
}

double cq_obj_penalty(const cq_obj *o, double w_used, const double *theta, double *grad)
{
    return penalty_pass(o, w_used, theta, grad, NULL, NULL);
}

/* ---- dense helpers: explicit accumulators (no -ffast-math needed to vectorise) ------ */


/* g += r0 a0 + r1 a1 + r2 a2 + r3 a3 */
static inline void axpy4(double r0, const double *a0, double r1, const double *a1, double r2,
                         const double *a2, double r3, const double *a3, double *g, size_t n)
{
    for (size_t j = 0; j < n; j++) g[j] += ((r0 * a0[j] + r1 * a1[j]) + (r2 * a2[j] + r3 * a3[j]));
}

static inline void axpy(double r, const double *a, double *g, size_t n)
{
    for (size_t j = 0; j < n; j++) g[j] += r * a[j];
}


/* ---- AVX2 + FMA versions, chosen at run time (the build itself stays portable) ---- */
#if defined(__GNUC__) && defined(__x86_64__)
#define CQ_OBJ_AVX2 1
#include <immintrin.h>

__attribute__((target("avx2,fma"))) static double hsum256(__m256d v)
{
    __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
    lo = _mm_add_pd(lo, hi);
    return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

__attribute__((target("avx2,fma"))) static double dot_avx2(const double *a, const double *b, size_t n)
{
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd(), s2 = _mm256_setzero_pd(),
            s3 = _mm256_setzero_pd();
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j), _mm256_loadu_pd(b + j), s0);
        s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j + 4), _mm256_loadu_pd(b + j + 4), s1);
        s2 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j + 8), _mm256_loadu_pd(b + j + 8), s2);
        s3 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j + 12), _mm256_loadu_pd(b + j + 12), s3);
    }
    for (; j + 4 <= n; j += 4) s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + j), _mm256_loadu_pd(b + j), s0);
    double s = hsum256(_mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

__attribute__((target("avx2,fma"))) static void axpy4_avx2(double r0, const double *a0, double r1, const double *a1,
                                                           double r2, const double *a2, double r3, const double *a3,
                                                           double *g, size_t n)
{
    __m256d v0 = _mm256_set1_pd(r0), v1 = _mm256_set1_pd(r1), v2 = _mm256_set1_pd(r2), v3 = _mm256_set1_pd(r3);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d acc = _mm256_loadu_pd(g + j);
        acc = _mm256_fmadd_pd(v0, _mm256_loadu_pd(a0 + j), acc);
        acc = _mm256_fmadd_pd(v1, _mm256_loadu_pd(a1 + j), acc);
        acc = _mm256_fmadd_pd(v2, _mm256_loadu_pd(a2 + j), acc);
        acc = _mm256_fmadd_pd(v3, _mm256_loadu_pd(a3 + j), acc);
        _mm256_storeu_pd(g + j, acc);
    }
    for (; j < n; j++) g[j] += ((r0 * a0[j] + r1 * a1[j]) + (r2 * a2[j] + r3 * a3[j]));
}

__attribute__((target("avx2,fma"))) static void axpy_avx2(double r, const double *a, double *g, size_t n)
{
    __m256d v = _mm256_set1_pd(r);
    size_t j = 0;
    for (; j + 4 <= n; j += 4) _mm256_storeu_pd(g + j, _mm256_fmadd_pd(v, _mm256_loadu_pd(a + j), _mm256_loadu_pd(g + j)));
    for (; j < n; j++) g[j] += r * a[j];
}

static int cpu_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#define DOT(simd, a, b, n) ((simd) ? dot_avx2(a, b, n) : cq_dot(a, b, n))
#define AXPY4(simd, r0, a0, r1, a1, r2, a2, r3, a3, g, n) \
    ((simd) ? axpy4_avx2(r0, a0, r1, a1, r2, a2, r3, a3, g, n) : axpy4(r0, a0, r1, a1, r2, a2, r3, a3, g, n))
#define AXPY(simd, r, a, g, n) ((simd) ? axpy_avx2(r, a, g, n) : axpy(r, a, g, n))
#else
static int cpu_avx2(void) { return 0; }
#define DOT(simd, a, b, n) cq_dot(a, b, n)
#define AXPY4(simd, r0, a0, r1, a1, r2, a2, r3, a3, g, n) axpy4(r0, a0, r1, a1, r2, a2, r3, a3, g, n)
#define AXPY(simd, r, a, g, n) axpy(r, a, g, n)
#endif

/* ---- blocked passes ----------------------------------------------------------------- */

enum { PASS_VALUE_GRAD, PASS_HESSP, PASS_MATVEC };

typedef struct pass_ctx {
    const cq_obj *o;
    int what;
    const int64_t *rows;   /* NULL = all */
    size_t n_rows;         /* rows used */
    size_t block;          /* rows per block */
    const double *theta;   /* value_grad: theta; hessp: theta; matvec: d */
    const double *v;       /* hessp: v */
    int want_grad;
    double *partial;       /* n_blocks x (dim) partial gradients / hessp */
    double *fpart;         /* n_blocks partial loss sums */
    double *z;             /* per-row output (z or w), may be NULL */
    int simd;              /* use the AVX2/FMA kernels */
    double *scratch;       /* Softmax: 3 K doubles per block */
} pass_ctx;

static inline size_t row_index(const pass_ctx *c, size_t i)
{
    return c->rows ? (size_t)c->rows[i] : i;
}

static inline const double *row_ptr(const pass_ctx *c, size_t i)
{
    return c->o->X + row_index(c, i) * c->o->p;
}

static inline double row_y(const pass_ctx *c, size_t i)
{
    return c->o->y[row_index(c, i)];
}

static inline double row_w(const pass_ctx *c, size_t i)
{
    return row_weight(c->o, row_index(c, i));
}

/* The two row operations every pass is made of, for either layout of X:
 * row_dot = x_i . th (no intercept), row_axpy: g += r x_i. */
static inline double row_dot(const pass_ctx *c, size_t i, const double *th)
{
    const cq_csr *s = c->o->csr;
    if (s == NULL) return DOT(c->simd, row_ptr(c, i), th, c->o->p);
    size_t r = row_index(c, i);
    double z = 0.0;
    for (int64_t k = s->indptr[r]; k < s->indptr[r + 1]; k++) z += s->data[k] * th[s->indices[k]];
    return z;
}

static inline void row_axpy(const pass_ctx *c, size_t i, double r, double *g)
{
    const cq_csr *s = c->o->csr;
    if (s == NULL) {
        AXPY(c->simd, r, row_ptr(c, i), g, c->o->p);
        return;
    }
    size_t ri = row_index(c, i);
    for (int64_t k = s->indptr[ri]; k < s->indptr[ri + 1]; k++) g[s->indices[k]] += r * s->data[k];
}

/* A block of a Softmax pass: per row the K predictors z_ik (K row dots while the row is in
 * cache), then matvec: z; value/grad: w_i (ln sum e^z - z_{i,y_i}) and g_k += w_i (s_ik -
 * [k = y_i]) x~_i; hessp: (H v)_k += w_i s_ik (u_ik - sum_l s_il u_il) x~_i with u_ik = v_k . x~_i. */
static void softmax_block(pass_ctx *c, size_t task, size_t lo, size_t hi, double *g)
{
    const cq_obj *o = c->o;
    size_t K = o->n_classes, ic = (size_t)has_icpt(o), bw = block_width(o);
    double *zk = c->scratch + task * 3 * K, *sk = zk + K, *uk = sk + K, fsum = 0.0;
    for (size_t i = lo; i < hi; i++) {
        for (size_t k = 0; k < K; k++)
            zk[k] = row_dot(c, i, c->theta + k * bw + ic) + (ic ? c->theta[k * bw] : 0.0);
        if (c->what == PASS_MATVEC) {
            memcpy(c->z + i * K, zk, K * sizeof(double));
            continue;
        }
        double wi = row_w(c, i), lse = log_softmax(zk, K, sk);
        if (c->what == PASS_HESSP) {
            double su = 0.0;
            for (size_t k = 0; k < K; k++) {
                uk[k] = row_dot(c, i, c->v + k * bw + ic) + (ic ? c->v[k * bw] : 0.0);
                su += sk[k] * uk[k];
            }
            for (size_t k = 0; k < K; k++) {
                double q = wi * sk[k] * (uk[k] - su);
                if (ic) g[k * bw] += q;
                row_axpy(c, i, q, g + k * bw + ic);
            }
            continue;
        }
        size_t yi = (size_t)row_y(c, i);
        fsum += wi * (lse - zk[yi]);
        if (c->z) memcpy(c->z + i * K, zk, K * sizeof(double));
        if (g)
            for (size_t k = 0; k < K; k++) {
                double r = wi * (sk[k] - (k == yi ? 1.0 : 0.0));
                if (ic) g[k * bw] += r;
                row_axpy(c, i, r, g + k * bw + ic);
            }
    }
    if (c->what == PASS_VALUE_GRAD) c->fpart[task] = fsum;
}

static int pass_block(void *vctx, size_t task, int thread)
{
    (void)thread;
    pass_ctx *c = (pass_ctx *)vctx;
    const cq_obj *o = c->o;
    size_t p = o->p, ic = (size_t)has_icpt(o), dim = cq_obj_dim(o);
    size_t lo = task * c->block, hi = lo + c->block;
    if (hi > c->n_rows) hi = c->n_rows;
    const double *th = c->theta + ic;   /* coefficients acting on the columns of X */
    double b0 = ic ? c->theta[0] : 0.0;
    double *g = c->partial ? c->partial + task * dim : NULL;
    double *gx = g ? g + ic : NULL;
    double fsum = 0.0, rsum = 0.0;
    if (g) memset(g, 0, dim * sizeof(double));
    size_t i = lo;
    if (o->kind == CQ_OBJ_SOFTMAX) {
        softmax_block(c, task, lo, hi, g);
        return CQ_OK;
    }

    /* Rows are read one after the other (one sequential stream per pass): dot products
     * over four rows at once (DOT4) interleave four streams n doubles apart, which the
     * hardware prefetchers serve far worse (measured: 35-65 % of the single-thread read
     * bandwidth vs 80-100 % row by row). */
    if (c->what == PASS_MATVEC) {
        for (; i < hi; i++) c->z[i] = row_dot(c, i, th) + b0;
        return CQ_OK;
    }

    if (c->what == PASS_HESSP) {
        const double *vx = c->v + ic;
        double v0 = ic ? c->v[0] : 0.0;
        for (; i < hi; i++) {
            double curv = row_w(c, i);
            if (o->kind == CQ_OBJ_LOGISTIC || o->kind == CQ_OBJ_HUBER_HINGE)
                curv *= row_curv(o, row_dot(c, i, th) + b0, row_y(c, i));
            double r = curv * (row_dot(c, i, vx) + v0);
            rsum += r;
            row_axpy(c, i, r, gx);
        }
        if (ic) g[0] = rsum;
        return CQ_OK;
    }

    /* value (and gradient); dense rows in groups of four, CSR rows one by one */
    for (; o->csr == NULL && i + 4 <= hi; i += 4) {
        const double *a0 = row_ptr(c, i), *a1 = row_ptr(c, i + 1), *a2 = row_ptr(c, i + 2), *a3 = row_ptr(c, i + 3);
        double z4[4], r4[4];
        z4[0] = DOT(c->simd, a0, th, p);
        z4[1] = DOT(c->simd, a1, th, p);
        z4[2] = DOT(c->simd, a2, th, p);
        z4[3] = DOT(c->simd, a3, th, p);
        for (int q = 0; q < 4; q++) {
            double wq = row_w(c, i + q);
            z4[q] += b0;
            fsum += wq * row_loss(o, z4[q], row_y(c, i + q), &r4[q]);
            r4[q] *= wq;
            if (c->z) c->z[i + q] = z4[q];
        }
        if (gx) {
            rsum += (r4[0] + r4[1]) + (r4[2] + r4[3]);
            AXPY4(c->simd, r4[0], a0, r4[1], a1, r4[2], a2, r4[3], a3, gx, p);
        }
    }
    for (; i < hi; i++) {
        double z = row_dot(c, i, th) + b0, r, wi = row_w(c, i);
        fsum += wi * row_loss(o, z, row_y(c, i), &r);
        r *= wi;
        if (c->z) c->z[i] = z;
        if (gx) {
            rsum += r;
            row_axpy(c, i, r, gx);
        }
    }
    if (g && ic) g[0] = rsum;
    c->fpart[task] = fsum;
    return CQ_OK;
}

/* Blocks: a function of (n_rows, p) only (CSR: of n_rows, p and the number of stored
 * entries), so results do not depend on the threads. */
static size_t choose_block(const cq_obj *o, size_t n_rows, size_t *n_blocks)
{
    size_t per = (size_t)1 << 18; /* elements per block, at least */
    size_t width = o->p, max_nb = 32;
    if (o->csr) {
        /* the mean stored entries per row; and each block's partial (dim entries) is
         * reduced after the pass, so blocks are capped at nnz / dim to keep that cheaper
         * than the pass itself */
        size_t nnz = (size_t)o->csr->indptr[o->m], cap = nnz / (o->p + 1);
        width = o->m ? nnz / o->m : 0;
        if (cap < max_nb) max_nb = cap ? cap : 1;
    }
    size_t rows_min = per / (width ? width : 1) + 1;
    size_t nb = n_rows / rows_min;
    if (nb < 1) nb = 1;
    if (nb > max_nb) nb = max_nb;
    size_t block = (n_rows + nb - 1) / nb;
    block = (block + 3) & ~(size_t)3; /* groups of four rows stay inside one block */
    if (block == 0) block = 4;
    *n_blocks = (n_rows + block - 1) / block;
    if (*n_blocks == 0) *n_blocks = 1;
    return block;
}

static int run_pass(pass_ctx *c, size_t n_blocks, cq_interrupt *it)
{
    int nt = c->o->n_threads < 1 ? 1 : c->o->n_threads;
    if (n_blocks == 1 || nt == 1) {
        for (size_t b = 0; b < n_blocks; b++) {
            if (n_blocks > 1 && cq_check_interrupt(it)) return CQ_EINTERRUPT;
            pass_block(c, b, 0);
        }
        return CQ_OK;
    }
    return cq_parallel_for(n_blocks, nt, pass_block, c, it);
}

/* a CSR X is implemented for every kind but Quadratic (whose X is the matrix A) */
static int csr_ok(const cq_obj *o)
{
    return o->csr == NULL || o->kind != CQ_OBJ_QUADRATIC;
}

static int check_rows(const cq_obj *o, const int64_t *rows, size_t n_rows, cq_errinfo *err)
{
    if (!csr_ok(o)) return cq_fail(err, CQ_EINVAL, "a CSR X is not implemented for Quadratic objectives");
    if (rows == NULL) return CQ_OK;
    if (o->kind == CQ_OBJ_QUADRATIC) return cq_fail(err, CQ_EINVAL, "Quadratic objectives have no rows to subsample");
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i] < 0 || (uint64_t)rows[i] >= (uint64_t)o->m)
            return cq_fail(err, CQ_EINVAL, "row index %lld at position %zu is outside [0, %zu)", (long long)rows[i], i,
                           o->m);
    return CQ_OK;
}

static int finite_vec(const double *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!isfinite(v[j])) return 0;
    return 1;
}

/* A blocked pass over n_rows rows: allocates the per-block partial sums (dim each, when
 * want) and losses, runs the blocks and reduces the partials in block order into out
 * (scaled by s_out) and the loss sum into *fsum. */
static int blocked_pass(const cq_obj *o, int what, const int64_t *rows, size_t n_rows, const double *theta,
                        const double *v, double *out, double *fsum, double *z, cq_interrupt *it, cq_errinfo *err)
{
    size_t dim = cq_obj_dim(o), nb, K = n_out(o);
    size_t block = choose_block(o, n_rows, &nb);
    double *part = NULL, *fpart = (double *)malloc(nb * sizeof(double));
    double *scratch = K > 1 ? (double *)malloc(nb * 3 * K * sizeof(double)) : NULL;
    if (out) part = (double *)malloc(nb * dim * sizeof(double) + 1);
    if (fpart == NULL || (out && part == NULL) || (K > 1 && scratch == NULL)) {
        free(fpart);
        free(part);
        free(scratch);
        return cq_fail(err, CQ_ENOMEM, "out of memory");
    }
    pass_ctx c = {o, what, rows, n_rows, block, theta, v, out != NULL, part, fpart, z, cpu_avx2(), scratch};
    int st = CQ_OK;
    if (n_rows == 0) {
        nb = 1;
        fpart[0] = 0.0;
        if (part) memset(part, 0, dim * sizeof(double));
    } else {
        st = run_pass(&c, nb, it);
    }
    if (st == CQ_OK) {
        double fs = 0.0;
        for (size_t b = 0; b < nb; b++) fs += fpart[b];
        if (fsum) *fsum = fs;
        if (out) {
            memcpy(out, part, dim * sizeof(double));
            for (size_t b = 1; b < nb; b++) {
                const double *pb = part + b * dim;
                for (size_t j = 0; j < dim; j++) out[j] += pb[j];
            }
        }
    }
    free(fpart);
    free(part);
    free(scratch);
    return st;
}

int cq_obj_value_grad(const cq_obj *o, const int64_t *rows, size_t n_rows, const double *theta,
                      double *f, double *grad, double *z, cq_interrupt *it, cq_errinfo *err)
{
    size_t dim = cq_obj_dim(o);
    int st = check_rows(o, rows, n_rows, err);
    if (st != CQ_OK) return st;
    if (rows == NULL) n_rows = o->kind == CQ_OBJ_QUADRATIC ? o->p : o->m;

    if (o->kind == CQ_OBJ_QUADRATIC) {
        /* z = A x; f = 1/2 x'z - b'x + c; grad = z - b */
        double *zz = z ? z : (double *)malloc((dim ? dim : 1) * sizeof(double));
        if (zz == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory");
        st = cq_obj_matvec(o, theta, zz, it);
        if (st == CQ_OK) {
            double s = 0.0, bx = 0.0;
            for (size_t j = 0; j < dim; j++) {
                s += theta[j] * zz[j];
                bx += o->y[j] * theta[j];
                if (grad) grad[j] = zz[j] - o->y[j];
            }
            *f = 0.5 * s - bx + o->c;
        }
        if (zz != z) free(zz);
        if (st != CQ_OK) return st;
    } else {
        double fs = 0.0, W = weight_total(o, rows, n_rows);
        st = blocked_pass(o, PASS_VALUE_GRAD, rows, n_rows, theta, NULL, grad, &fs, z, it, err);
        if (st != CQ_OK) return st;
        double s = loss_scale(o, W);
        if (grad)
            for (size_t j = 0; j < dim; j++) grad[j] *= s;
        *f = s * fs + cq_obj_penalty(o, W, theta, grad);
    }
    if (!isfinite(*f) || (grad && !finite_vec(grad, dim)))
        return cq_fail(err, CQ_ENONFINITE, "the objective or its gradient is not finite at this point (overflow)");
    return CQ_OK;
}

/* out += (Hessian of the penalty) v; v = NULL: out += its diagonal */
static void penalty_hessp(const cq_obj *o, double w_used, const double *theta, const double *v, double *out)
{
    size_t dim = cq_obj_dim(o);
    if (o->kind == CQ_OBJ_LASSO) {
        if (o->c > 0)
            for (size_t j = 0; j < dim; j++)
                if (fabs(theta[j]) < o->c) out[j] += o->lam / o->c * (v ? v[j] : 1.0);
        return;
    }
    double w = l2_weight(o, w_used);
    for (size_t j = 0; j < dim; j++)
        if (l2_pen(o, j)) out[j] += w * (v ? v[j] : 1.0);
}

int cq_obj_hessp(const cq_obj *o, const int64_t *rows, size_t n_rows, const double *theta,
                 const double *v, double *out, cq_interrupt *it, cq_errinfo *err)
{
    size_t dim = cq_obj_dim(o);
    if (o->kind == CQ_OBJ_HINGE) return cq_fail(err, CQ_EINVAL, "the hinge loss is not twice differentiable");
    int st = check_rows(o, rows, n_rows, err);
    if (st != CQ_OK) return st;
    if (o->kind == CQ_OBJ_QUADRATIC) return cq_obj_matvec(o, v, out, it);
    if (rows == NULL) n_rows = o->m;
    st = blocked_pass(o, PASS_HESSP, rows, n_rows, theta, v, out, NULL, NULL, it, err);
    if (st != CQ_OK) return st;
    double W = weight_total(o, rows, n_rows), s = loss_scale(o, W);
    for (size_t j = 0; j < dim; j++) out[j] *= s;
    penalty_hessp(o, W, theta, v, out);
    return CQ_OK;
}

int cq_obj_hess_diag(const cq_obj *o, const double *theta, const double *z, double *diag, cq_errinfo *err)
{
    size_t dim = cq_obj_dim(o), p = o->p, j0 = (size_t)has_icpt(o), K = n_out(o), bw = block_width(o);
    if (o->kind == CQ_OBJ_HINGE) return cq_fail(err, CQ_EINVAL, "the hinge loss is not twice differentiable");
    if (!csr_ok(o)) return cq_fail(err, CQ_EINVAL, "a CSR X is not implemented for Quadratic objectives");
    if (o->kind == CQ_OBJ_QUADRATIC) {
        for (size_t j = 0; j < dim; j++) diag[j] = o->X[j * p + j];
        return CQ_OK;
    }
    double *sk = K > 1 ? (double *)malloc(K * sizeof(double)) : NULL;
    if (K > 1 && sk == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory");
    for (size_t j = 0; j < dim; j++) diag[j] = 0.0;
    for (size_t i = 0; i < o->m; i++) {
        if (K > 1) log_softmax(z + i * K, K, sk);
        for (size_t k = 0; k < K; k++) {
            /* the loss curvature of row i: 1 (squares), h (1 - h) (logistic, h the sigmoid;
             * softmax: s_k (1 - s_k)), 1/delta inside the Huber hinge's quadratic zone */
            double w = 1.0;
            if (o->kind == CQ_OBJ_LOGISTIC) {
                double h = 0.5 * (1.0 + tanh(0.5 * z[i]));
                w = h * (1.0 - h);
            } else if (o->kind == CQ_OBJ_SOFTMAX) {
                w = sk[k] * (1.0 - sk[k]);
            } else if (o->kind == CQ_OBJ_HUBER_HINGE) {
                w = row_curv(o, z[i], o->y[i]);
            }
            w *= row_weight(o, i);
            double *dr = diag + k * bw + j0;
            if (o->csr) {
                const cq_csr *s = o->csr;
                for (int64_t q = s->indptr[i]; q < s->indptr[i + 1]; q++)
                    dr[s->indices[q]] += w * s->data[q] * s->data[q];
            } else {
                const double *xi = o->X + i * p;
                for (size_t j = 0; j < p; j++) dr[j] += w * xi[j] * xi[j];
            }
            if (j0) diag[k * bw] += w;
        }
    }
    free(sk);
    double W = weight_total(o, NULL, o->m), sc = loss_scale(o, W);
    for (size_t j = 0; j < dim; j++) diag[j] *= sc;
    penalty_hessp(o, W, theta, NULL, diag);
    return CQ_OK;
}

int cq_obj_matvec(const cq_obj *o, const double *d, double *w, cq_interrupt *it)
{
    size_t n_rows = o->kind == CQ_OBJ_QUADRATIC ? o->p : o->m, nb, K = n_out(o);
    if (!csr_ok(o)) return CQ_EINVAL;
    size_t block = choose_block(o, n_rows, &nb);
    if (n_rows == 0) return CQ_OK;
    double *scratch = K > 1 ? (double *)malloc(nb * 3 * K * sizeof(double)) : NULL;
    if (K > 1 && scratch == NULL) return CQ_ENOMEM;
    pass_ctx c = {o, PASS_MATVEC, NULL, n_rows, block, d, NULL, 0, NULL, NULL, w, cpu_avx2(), scratch};
    /* Quadratic: rows of A, no intercept (has_icpt is 0) */
    int st = run_pass(&c, nb, it);
    free(scratch);
    return st;
}

/* sum_i w_i loss_i from the cached predictors z (m of them, m K for Softmax) and, when
 * dz is non-NULL, the slope sum_i w_i sum_k dloss_i/dz_ik dz_ik */
static double loss_from_z(const cq_obj *o, const double *z, const double *dz, double *slope)
{
    double fs = 0.0, ss = 0.0, r;
    size_t K = n_out(o);
    if (K > 1) {
        double *sk = (double *)malloc(K * sizeof(double));
        if (sk == NULL) {
            if (slope) *slope = NAN;
            return NAN; /* a failed trial: the line search treats it as a non-finite value */
        }
        for (size_t i = 0; i < o->m; i++) {
            const double *zi = z + i * K;
            size_t yi = (size_t)o->y[i];
            double wi = row_weight(o, i), lse = log_softmax(zi, K, sk);
            fs += wi * (lse - zi[yi]);
            if (dz) {
                double t = 0.0;
                for (size_t k = 0; k < K; k++) t += (sk[k] - (k == yi ? 1.0 : 0.0)) * dz[i * K + k];
                ss += wi * t;
            }
        }
        free(sk);
    } else {
        for (size_t i = 0; i < o->m; i++) {
            double wi = row_weight(o, i);
            fs += wi * row_loss(o, z[i], o->y[i], &r);
            if (dz) ss += wi * r * dz[i];
        }
    }
    if (slope) *slope = ss;
    return fs;
}

double cq_obj_value_from_z(const cq_obj *o, const double *z, const double *theta)
{
    size_t dim = cq_obj_dim(o);
    if (o->kind == CQ_OBJ_QUADRATIC) {
        double s = 0.0, bx = 0.0;
        for (size_t j = 0; j < dim; j++) {
            s += theta[j] * z[j];
            bx += o->y[j] * theta[j];
        }
        return 0.5 * s - bx + o->c;
    }
    double W = weight_total(o, NULL, o->m);
    return loss_scale(o, W) * loss_from_z(o, z, NULL, NULL) + cq_obj_penalty(o, W, theta, NULL);
}

double cq_obj_value_slope_from_z(const cq_obj *o, const double *z, const double *w, const double *theta,
                                 const double *d, double *slope)
{
    size_t dim = cq_obj_dim(o);
    if (o->kind == CQ_OBJ_QUADRATIC) {
        /* z = A x, w = A d: f = 1/2 x'z - b'x + c, grad f = z - b */
        double s = 0.0, bx = 0.0, sl = 0.0;
        for (size_t j = 0; j < dim; j++) {
            s += theta[j] * z[j];
            bx += o->y[j] * theta[j];
            sl += (z[j] - o->y[j]) * d[j];
        }
        (void)w;
        *slope = sl;
        return 0.5 * s - bx + o->c;
    }
    double ss, W = weight_total(o, NULL, o->m);
    double fs = loss_from_z(o, z, w, &ss);
    double sc = loss_scale(o, W), psl;
    double pen = penalty_pass(o, W, theta, NULL, d, &psl);
    *slope = sc * ss + psl;
    return sc * fs + pen;
}
