/* cq_mlp_real.h -- the MLP kernels of cq_mlp.h in one precision. Included only by cq_mlp.c,
 * once per type, with R (the type), F(name) (the name in that precision), R_EXP, R_TANH,
 * R_SQRT and the AVX2 vector macros V_* defined. No include guard on purpose. */

/* ---- dense products C = A B (row-major, leading dimensions), the three products of
 * backpropagation: Z = A W^T, dW^T = A^T delta (via a transpose of A), delta W.
 * A portable version and an AVX2+FMA version (4 x 2 vector register tile) chosen at run time. */

/* C[i][j] (acc ? += : =) sum_k A[i][k] B[k][j], i < M, j < N, k < K. */
static void F(gemm_ref)(size_t M, size_t N, size_t K, const R *A, size_t lda, const R *B, size_t ldb, R *C,
                        size_t ldc, int acc)
{
    for (size_t i = 0; i < M; i++) {
        R *c = C + i * ldc;
        const R *a = A + i * lda;
        if (!acc) memset(c, 0, sizeof(R) * N);
        for (size_t k = 0; k < K; k++) {
            R ak = a[k];
            const R *b = B + k * ldb;
            for (size_t j = 0; j < N; j++) c[j] += ak * b[j];
        }
    }
}

#ifdef CQ_MLP_AVX2
__attribute__((target("avx2,fma"))) static void F(gemm_avx2)(size_t M, size_t N, size_t K, const R *A, size_t lda,
                                                             const R *B, size_t ldb, R *C, size_t ldc, int acc)
{
    size_t i = 0;
    for (; i + 4 <= M; i += 4) {
        const R *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        R *c0 = C + i * ldc, *c1 = c0 + ldc, *c2 = c1 + ldc, *c3 = c2 + ldc;
        size_t j = 0;
        for (; j + 2 * V_W <= N; j += 2 * V_W) {
            V_T x00, x01, x10, x11, x20, x21, x30, x31;
            if (acc) {
                x00 = V_LOAD(c0 + j); x01 = V_LOAD(c0 + j + V_W);
                x10 = V_LOAD(c1 + j); x11 = V_LOAD(c1 + j + V_W);
                x20 = V_LOAD(c2 + j); x21 = V_LOAD(c2 + j + V_W);
                x30 = V_LOAD(c3 + j); x31 = V_LOAD(c3 + j + V_W);
            } else {
                x00 = x01 = x10 = x11 = x20 = x21 = x30 = x31 = V_ZERO();
            }
            for (size_t k = 0; k < K; k++) {
                const R *b = B + k * ldb + j;
                V_T b0 = V_LOAD(b), b1 = V_LOAD(b + V_W), v;
                v = V_BCAST(a0 + k); x00 = V_FMA(v, b0, x00); x01 = V_FMA(v, b1, x01);
                v = V_BCAST(a1 + k); x10 = V_FMA(v, b0, x10); x11 = V_FMA(v, b1, x11);
                v = V_BCAST(a2 + k); x20 = V_FMA(v, b0, x20); x21 = V_FMA(v, b1, x21);
                v = V_BCAST(a3 + k); x30 = V_FMA(v, b0, x30); x31 = V_FMA(v, b1, x31);
            }
            V_STORE(c0 + j, x00); V_STORE(c0 + j + V_W, x01);
            V_STORE(c1 + j, x10); V_STORE(c1 + j + V_W, x11);
            V_STORE(c2 + j, x20); V_STORE(c2 + j + V_W, x21);
            V_STORE(c3 + j, x30); V_STORE(c3 + j + V_W, x31);
        }
        for (; j < N; j++) {
            R s0 = acc ? c0[j] : 0, s1 = acc ? c1[j] : 0, s2 = acc ? c2[j] : 0, s3 = acc ? c3[j] : 0;
            for (size_t k = 0; k < K; k++) {
                R b = B[k * ldb + j];
                s0 += a0[k] * b; s1 += a1[k] * b; s2 += a2[k] * b; s3 += a3[k] * b;
            }
            c0[j] = s0; c1[j] = s1; c2[j] = s2; c3[j] = s3;
        }
    }
    for (; i < M; i++) {
        const R *a = A + i * lda;
        R *c = C + i * ldc;
        size_t j = 0;
        for (; j + V_W <= N; j += V_W) {
            V_T x = acc ? V_LOAD(c + j) : V_ZERO();
            for (size_t k = 0; k < K; k++) x = V_FMA(V_BCAST(a + k), V_LOAD(B + k * ldb + j), x);
            V_STORE(c + j, x);
        }
        for (; j < N; j++) {
            R s = acc ? c[j] : 0;
            for (size_t k = 0; k < K; k++) s += a[k] * B[k * ldb + j];
            c[j] = s;
        }
    }
}
#endif

static void F(gemm)(size_t M, size_t N, size_t K, const R *A, size_t lda, const R *B, size_t ldb, R *C, size_t ldc,
                    int acc)
{
#ifdef CQ_MLP_AVX2
    if (mlp_cpu_avx2()) {
        F(gemm_avx2)(M, N, K, A, lda, B, ldb, C, ldc, acc);
        return;
    }
#endif
    F(gemm_ref)(M, N, K, A, lda, B, ldb, C, ldc, acc);
}

/* T (cols x rows) = S^T for S (rows x cols), in cache-sized tiles. */
static void F(transpose)(const R *S, size_t rows, size_t cols, R *T)
{
    for (size_t i0 = 0; i0 < rows; i0 += 32)
        for (size_t j0 = 0; j0 < cols; j0 += 32) {
            size_t i1 = i0 + 32 < rows ? i0 + 32 : rows, j1 = j0 + 32 < cols ? j0 + 32 : cols;
            for (size_t i = i0; i < i1; i++)
                for (size_t j = j0; j < j1; j++) T[j * rows + i] = S[i * cols + j];
        }
}

static inline R F(act)(int kind, R z)
{
    switch (kind) {
    case CQ_ACT_TANH: return R_TANH(z);
    case CQ_ACT_RELU: return z > 0 ? z : 0;
    case CQ_ACT_LEAKY_RELU: return z > 0 ? z : (R)0.001 * z;
    default: return z >= 0 ? 1 / (1 + R_EXP(-z)) : R_EXP(z) / (1 + R_EXP(z));
    }
}

/* g'(z) expressed through a = g(z) (and z's sign for the ReLUs). */
static inline R F(act_deriv)(int kind, R a)
{
    switch (kind) {
    case CQ_ACT_TANH: return 1 - a * a;
    case CQ_ACT_RELU: return a > 0 ? 1 : 0;
    case CQ_ACT_LEAKY_RELU: return a > 0 ? 1 : (R)0.001;
    default: return a * (1 - a);
    }
}

/* A[l] (B x n_l) = g(A[l-1] W^T + b): one dense product, then bias and activation. */
static void F(layer_forward)(const cq_mlp *net, int l, const R *theta, const R *in, R *out, size_t B)
{
    size_t n_in = net->sizes[l - 1], n_out = net->sizes[l];
    const R *WT = theta + cq_mlp_w_offset(net, l);
    const R *b = theta + cq_mlp_b_offset(net, l);
    int last = l == net->n_layers;
    int kind = last ? CQ_ACT_SIGMOID : net->hidden_act;
    F(gemm)(B, n_out, n_in, in, n_in, WT, n_out, out, n_out, 0);
    if (last && net->output == CQ_MLP_OUT_SOFTMAX && n_out > 1) {
        /* softmax, shifted by the row maximum so that no exponential overflows */
        for (size_t i = 0; i < B; i++) {
            R *z = out + i * n_out, zmax = z[0] + b[0];
            for (size_t j = 0; j < n_out; j++) {
                z[j] += b[j];
                if (z[j] > zmax) zmax = z[j];
            }
            R sum = 0;
            for (size_t j = 0; j < n_out; j++) sum += (z[j] = R_EXP(z[j] - zmax));
            for (size_t j = 0; j < n_out; j++) z[j] /= sum;
        }
        return;
    }
    /* one loop per activation kind, so that the ReLUs vectorise */
    for (size_t i = 0; i < B; i++) {
        R *z = out + i * n_out;
        switch (kind) {
        case CQ_ACT_RELU:
            for (size_t j = 0; j < n_out; j++) { R v = z[j] + b[j]; z[j] = v > 0 ? v : 0; }
            break;
        case CQ_ACT_LEAKY_RELU:
            for (size_t j = 0; j < n_out; j++) { R v = z[j] + b[j]; z[j] = v > 0 ? v : (R)0.001 * v; }
            break;
        default:
            for (size_t j = 0; j < n_out; j++) z[j] = F(act)(kind, z[j] + b[j]);
        }
    }
}

/* Forward pass over B rows (rows[i], or first + i when rows == NULL); A[l] points at each
 * layer's activations. Dense contiguous rows are read in place; otherwise the rows are
 * copied (dense) or scattered (CSR) into A[0]. */
static void F(forward_all)(const cq_mlp *net, const R *theta, const F(cq_mlp_data) *d, const int64_t *rows,
                           size_t first, size_t B, R *work, R **A)
{
    size_t off = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        A[l] = work + off;
        off += B * net->sizes[l];
    }
    size_t n0 = net->sizes[0];
    if (d->X != NULL && rows == NULL) {
        A[0] = (R *)(d->X + first * n0);  /* read in place (A[0] is never written) */
    } else if (d->X != NULL) {
        for (size_t i = 0; i < B; i++) memcpy(A[0] + i * n0, d->X + (size_t)rows[i] * n0, sizeof(R) * n0);
    } else {
        memset(A[0], 0, sizeof(R) * B * n0);
        for (size_t i = 0; i < B; i++) {
            size_t r = rows ? (size_t)rows[i] : first + i;
            R *a = A[0] + i * n0;
            for (int64_t p = d->ptr[r]; p < d->ptr[r + 1]; p++) a[d->col[p]] += d->val[p];
        }
    }
    for (int l = 1; l <= net->n_layers; l++) F(layer_forward)(net, l, theta, A[l - 1], A[l], B);
}

void F(cq_mlp_forward)(const cq_mlp *net, const R *theta, const F(cq_mlp_data) *d, R *out, R *work)
{
    R *A[CQ_MLP_MAX_LAYERS + 1];
    size_t K = net->sizes[net->n_layers], step = cq_mlp_forward_rows(d->m, d->X == NULL);
    for (size_t s = 0; s < d->m; s += step) {
        size_t B = d->m - s < step ? d->m - s : step;
        F(forward_all)(net, theta, d, NULL, s, B, work, A);
        memcpy(out + s * K, A[net->n_layers], sizeof(R) * B * K);
    }
}

/* The weighted cross-entropy sum_i w_i CE_i of the B rows (their outputs a = A[L]). */
static double F(cross_entropy)(const cq_mlp *net, const F(cq_mlp_data) *d, const int64_t *rows, size_t first,
                               size_t B, const R *AL)
{
    const size_t K = net->sizes[net->n_layers];
    const int softmax = net->output == CQ_MLP_OUT_SOFTMAX && K > 1;
    double ce = 0;
    for (size_t i = 0; i < B; i++) {
        size_t r = rows ? (size_t)rows[i] : first + i;
        const R *y = d->Y + r * K, *a = AL + i * K;
        double rc = 0, *acc = d->w ? &rc : &ce;  /* unweighted rows add straight into ce */
        /* labels are 0/1 in practice: -ln p for y = 1, and (sigmoid outputs) the y = 0 terms
         * sum_k ln(1 - p_k) as the logarithm of a product (flushed every 16 factors, each
         * >= 1e-16, so it cannot underflow): a couple of logarithms per row instead of 2K */
        double prod0 = 1.0;
        int nprod = 0;
        for (size_t k = 0; k < K; k++) {
            double p = a[k], yk = y[k];
            p = p < 1e-300 ? 1e-300 : (p > 1.0 - 1e-16 ? 1.0 - 1e-16 : p);
            if (yk == 1.0) {
                *acc -= log(p);
            } else if (softmax) {
                if (yk != 0.0) *acc -= yk * log(p);
            } else if (yk == 0.0) {
                prod0 *= 1.0 - p;
                if (++nprod == 16) { *acc -= log(prod0); prod0 = 1.0; nprod = 0; }
            } else {
                *acc -= yk * log(p) + (1.0 - yk) * log1p(-p);
            }
        }
        if (nprod) *acc -= log(prod0);
        if (d->w) ce += (double)d->w[r] * rc;
    }
    return ce;
}

static double F(penalty)(const cq_mlp *net, const R *theta)
{
    double pen = 0;
    for (int l = 1; l <= net->n_layers; l++) {
        const R *w = theta + cq_mlp_w_offset(net, l);
        size_t nw = net->sizes[l - 1] * net->sizes[l];
        for (size_t i = 0; i < nw; i++) pen += (double)w[i] * w[i];
    }
    return pen;
}

/* The cost J_S (if want_cost; else 0) of the B rows and its gradient (if grad != NULL). */
static double F(mlp_eval)(const cq_mlp *net, const R *theta, const F(cq_mlp_data) *d, const int64_t *rows,
                          size_t first, size_t m, double lam, R *grad, R *work, int want_cost)
{
    const int L = net->n_layers;
    const size_t K = net->sizes[L];
    R *A[CQ_MLP_MAX_LAYERS + 1];
    F(forward_all)(net, theta, d, rows, first, m, work, A);
    size_t widest = 0, units = 0;
    for (int l = 0; l <= L; l++) {
        units += net->sizes[l];
        if (net->sizes[l] > widest) widest = net->sizes[l];
    }
    R *delta = work + m * units, *delta_prev = delta + m * widest;
    R *AT = delta_prev + m * widest, *Wn = AT + m * widest;
    /* rows count w_i / wbar, wbar = W / m_all the mean weight (1 when unweighted) */
    const double wbar = d->w ? d->w_total / (double)d->m : 1.0;
    double J = 0;
    if (want_cost)
        J = F(cross_entropy)(net, d, rows, first, m, A[L]) / ((double)m * wbar)
            + lam / (2.0 * d->w_total) * F(penalty)(net, theta);
    if (grad == NULL) return J;

    /* Backpropagation. Output layer (sigmoid or softmax + cross-entropy): delta = w (A[L] - Y) / (m wbar). */
    const double inv_m = 1.0 / ((double)m * wbar);
    for (size_t i = 0; i < m; i++) {
        size_t r = rows ? (size_t)rows[i] : first + i;
        const R sc = (R)(d->w ? (double)d->w[r] * inv_m : inv_m);
        for (size_t k = 0; k < K; k++) delta[i * K + k] = (A[L][i * K + k] - d->Y[r * K + k]) * sc;
    }
    for (int l = L; l >= 1; l--) {
        size_t n_in = net->sizes[l - 1], n_out = net->sizes[l];
        R *gWT = grad + cq_mlp_w_offset(net, l), *gb = grad + cq_mlp_b_offset(net, l);
        const R *WT = theta + cq_mlp_w_offset(net, l);
        /* dJ/dW^T = A[l-1]^T delta + (lam/W) W^T ; dJ/db = sum_i delta_i */
        const R pen_g = (R)(lam / d->w_total);
        for (size_t t = 0; t < n_in * n_out; t++) gWT[t] = pen_g * WT[t];
        memset(gb, 0, sizeof(R) * n_out);
        for (size_t i = 0; i < m; i++) {
            const R *dl = delta + i * n_out;
            for (size_t j = 0; j < n_out; j++) gb[j] += dl[j];
        }
        F(transpose)(A[l - 1], m, n_in, AT);                               /* A[l-1]^T: n_in x m */
        F(gemm)(n_in, n_out, m, AT, m, delta, n_out, gWT, n_out, 1);        /* += A^T delta */
        if (l == 1) break;
        /* delta[l-1] = (delta W) .* g'(A[l-1]), W = (W^T)^T: n_out x n_in */
        F(transpose)(WT, n_in, n_out, Wn);
        F(gemm)(m, n_in, n_out, delta, n_out, Wn, n_in, delta_prev, n_in, 0);
        for (size_t i = 0; i < m; i++) {
            const R *a = A[l - 1] + i * n_in;
            R *dp = delta_prev + i * n_in;
            switch (net->hidden_act) {
            case CQ_ACT_RELU:
                for (size_t k = 0; k < n_in; k++) dp[k] = a[k] > 0 ? dp[k] : 0;
                break;
            default:
                for (size_t k = 0; k < n_in; k++) dp[k] *= F(act_deriv)(net->hidden_act, a[k]);
            }
        }
        R *tmp = delta;
        delta = delta_prev;
        delta_prev = tmp;
    }
    return J;
}

/* grad[W entries] += c * theta (the penalty's gradient, c = lam / W) */
static void F(add_penalty_grad)(const cq_mlp *net, const R *theta, double c, R *grad)
{
    for (int l = 1; l <= net->n_layers; l++) {
        size_t off = cq_mlp_w_offset(net, l), nw = net->sizes[l - 1] * net->sizes[l];
        for (size_t q = 0; q < nw; q++) grad[off + q] += c * theta[off + q];
    }
}

double F(cq_mlp_cost_grad)(const cq_mlp *net, const R *theta, const F(cq_mlp_data) *d, const int64_t *rows,
                           size_t n, double lam, R *grad, R *work)
{
    size_t step = cq_mlp_forward_rows(n, d->X == NULL);
    if (step >= n) return F(mlp_eval)(net, theta, d, rows, 0, n, lam, grad, work, 1);
    /* sparse X: chunks of CQ_MLP_CHUNK rows, each weighted by its share of the rows */
    size_t P = cq_mlp_n_params(net);
    R *gc = work + cq_mlp_work_size(net, step);
    double J = 0;
    if (grad != NULL) memset(grad, 0, sizeof(R) * P);
    for (size_t s0 = 0; s0 < n; s0 += step) {
        size_t B = n - s0 < step ? n - s0 : step;
        double share = (double)B / (double)n;
        J += share * F(mlp_eval)(net, theta, d, rows ? rows + s0 : NULL, rows ? 0 : s0, B, 0.0,
                                 grad ? gc : NULL, work, 1);
        if (grad != NULL)
            for (size_t q = 0; q < P; q++) grad[q] += (R)share * gc[q];
    }
    if (grad != NULL) F(add_penalty_grad)(net, theta, lam / d->w_total, grad);
    return J + lam / (2.0 * d->w_total) * F(penalty)(net, theta);
}

/* Parallel pieces of the training loop. A minibatch of B >= CQ_MLP_SPLIT_MIN rows is split
 * into CQ_MLP_SPLIT fixed halves whose gradients are combined in a fixed order, and the
 * epoch cost is a sum of fixed chunks in chunk order: the results are identical for any
 * number of threads. */
#ifndef CQ_MLP_SPLIT
#define CQ_MLP_SPLIT 2
#define CQ_MLP_SPLIT_MIN 64
#endif

typedef struct {
    const cq_mlp *net;
    const R *theta;
    const F(cq_mlp_data) *d;
    const int64_t *rows;   /* batch rows (training) */
    size_t B, sub;         /* batch rows, rows per sub-batch */
    size_t P, wsz;
    R *grads;              /* CQ_MLP_SPLIT x P */
    R *works;              /* n_threads x wsz */
    double *chunk_cost;    /* epoch cost per chunk */
    double sub_cost[CQ_MLP_SPLIT]; /* cross-entropy of each half (running cost) */
    int want_cost;
} F(mlp_par);

static int F(mlp_sub_task)(void *ctx, size_t task, int thread)
{
    F(mlp_par) *p = (F(mlp_par) *)ctx;
    size_t off = task * p->sub;
    size_t mb = off >= p->B ? 0 : (p->B - off < p->sub ? p->B - off : p->sub);
    R *g = p->grads + task * p->P;
    p->sub_cost[task] = 0.0;
    if (mb == 0) {
        memset(g, 0, sizeof(R) * p->P);
        return CQ_OK;
    }
    p->sub_cost[task] = F(mlp_eval)(p->net, p->theta, p->d, p->rows + off, 0, mb, 0.0, g,
                                    p->works + (size_t)thread * p->wsz, p->want_cost) * (double)mb;
    return CQ_OK;
}

static int F(mlp_cost_task)(void *ctx, size_t task, int thread)
{
    F(mlp_par) *p = (F(mlp_par) *)ctx;
    size_t off = task * CQ_MLP_CHUNK;
    size_t mb = p->d->m - off < CQ_MLP_CHUNK ? p->d->m - off : CQ_MLP_CHUNK;
    p->chunk_cost[task] = F(mlp_eval)(p->net, p->theta, p->d, NULL, off, mb, 0.0, NULL,
                                      p->works + (size_t)thread * p->wsz, 1) * (double)mb;
    return CQ_OK;
}

/* One step of the rule o on theta with the gradient g (see cq_mlp_opt). */
static void F(mlp_step)(const cq_mlp_opt *o, size_t P, R *theta, const R *g, R *v, R *s, int64_t t)
{
    if (o->solver == CQ_MLP_ADAM) {
        const R b1 = (R)o->beta1, b2 = (R)o->beta2, eps = (R)o->eps, lr = (R)o->lr;
        const R c1 = (R)(1.0 - pow(o->beta1, (double)t)), c2 = (R)(1.0 - pow(o->beta2, (double)t));
        for (size_t i = 0; i < P; i++) {
            v[i] = b1 * v[i] + (1 - b1) * g[i];
            s[i] = b2 * s[i] + (1 - b2) * g[i] * g[i];
            theta[i] -= lr * (v[i] / c1) / (R_SQRT(s[i] / c2) + eps);
        }
    } else if (o->momentum == 0.0) {
        for (size_t i = 0; i < P; i++) theta[i] -= (R)o->lr * g[i];
    } else {
        const R mu = (R)o->momentum, lr = (R)o->lr;
        for (size_t i = 0; i < P; i++) {
            v[i] = mu * v[i] - lr * g[i];
            theta[i] += o->nesterov ? mu * v[i] - lr * g[i] : v[i];
        }
    }
}

int F(cq_mlp_train)(const cq_mlp *net, R *theta, const F(cq_mlp_data) *d, const cq_mlp_opt *o, R *v, R *s,
                    int64_t *t, int64_t epochs, bitgen_t *g, double *costs, int64_t *n_run, uint64_t *bits,
                    cq_interrupt *it, cq_errinfo *err)
{
    const size_t m = d->m, P = cq_mlp_n_params(net);
    const double lam = o->lam;
    size_t batch = o->batch > m ? m : o->batch;
    int n_threads = o->n_threads < 1 ? 1 : (o->n_threads > CQ_MLP_SPLIT ? CQ_MLP_SPLIT : o->n_threads);
    size_t rows_max = batch > CQ_MLP_CHUNK ? batch : CQ_MLP_CHUNK;
    size_t wsz = cq_mlp_work_size(net, rows_max);
    size_t n_chunks = (m + CQ_MLP_CHUNK - 1) / CQ_MLP_CHUNK;
    R *work = (R *)malloc(sizeof(R) * ((size_t)n_threads * wsz + (1 + CQ_MLP_SPLIT) * P));
    double *chunk_cost = (double *)malloc(sizeof(double) * n_chunks);
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * m);
    if (work == NULL || perm == NULL || chunk_cost == NULL) {
        free(work);
        free(perm);
        free(chunk_cost);
        return cq_fail(err, CQ_ENOMEM, "out of memory for MLP training buffers");
    }
    R *grad = work + (size_t)n_threads * wsz, *grads = grad + P;
    F(mlp_par) par = {net, theta, d, perm, 0, 0, P, wsz, grads, work, chunk_cost, {0.0}, o->running_cost != 0};
    for (size_t i = 0; i < m; i++) perm[i] = (int64_t)i;
    int st = CQ_OK;
    uint64_t total_bits = 0;
    double best = INFINITY;
    int64_t count = 0, e = 0;
    const int64_t n_batches = (int64_t)((m + batch - 1) / batch);
    cq_progress_total(it, epochs * n_batches);
    for (e = 0; e < epochs && st == CQ_OK; e++) {
        mlp_shuffle(perm, m, g);
        double run_ce = 0.0; /* sum over the epoch's batches of B * (batch cross-entropy) */
        for (size_t s0 = 0; s0 < m; s0 += batch) {
            if (cq_check_progress(it, e * n_batches + (int64_t)(s0 / batch))) { st = CQ_EINTERRUPT; break; }
            size_t B = m - s0 < batch ? m - s0 : batch;
            if (B >= CQ_MLP_SPLIT_MIN) {
                /* gradient of the cost on the batch = sum over the halves of (rows_h / B) grad_h + lam/W W */
                par.rows = perm + s0;
                par.B = B;
                par.sub = (B + CQ_MLP_SPLIT - 1) / CQ_MLP_SPLIT;
                st = cq_parallel_for(CQ_MLP_SPLIT, n_threads, F(mlp_sub_task), &par, it);
                if (st != CQ_OK) break;
                for (size_t q = 0; q < P; q++) grad[q] = 0;
                for (int h = 0; h < CQ_MLP_SPLIT; h++) run_ce += par.sub_cost[h];
                for (int h = 0; h < CQ_MLP_SPLIT; h++) {
                    size_t off = (size_t)h * par.sub;
                    size_t mb = off >= B ? 0 : (B - off < par.sub ? B - off : par.sub);
                    R wh = (R)((double)mb / (double)B);
                    const R *gh = grads + (size_t)h * P;
                    for (size_t q = 0; q < P; q++) grad[q] += wh * gh[q];
                }
            } else {
                /* lam = 0 inside: the batch cost is the cross-entropy alone; penalty gradient added below */
                run_ce += F(mlp_eval)(net, theta, d, perm + s0, 0, B, 0.0, grad, work, o->running_cost != 0)
                          * (double)B;
            }
            F(add_penalty_grad)(net, theta, lam / d->w_total, grad);
            if (o->solver == CQ_MLP_ADAM) ++*t;
            F(mlp_step)(o, P, theta, grad, v, s, *t);
            total_bits += 8u * sizeof(R) * (uint64_t)P;
        }
        if (st != CQ_OK) break;
        for (size_t q = 0; q < P; q++)
            if (!isfinite(theta[q])) { st = cq_fail(err, CQ_ENONFINITE, "MLP weights diverged in epoch %lld; lower the learning rate", (long long)e + 1); break; }
        if (st != CQ_OK) break;
        if (costs != NULL) {
            double J = 0;
            if (o->running_cost) {
                J = run_ce; /* the minibatch cross-entropies of the epoch, weighted by batch size */
            } else {
                /* full-data cost: fixed chunks of rows, summed in chunk order */
                st = cq_parallel_for(n_chunks, n_threads, F(mlp_cost_task), &par, it);
                if (st != CQ_OK) break;
                for (size_t c = 0; c < n_chunks; c++) J += chunk_cost[c];
            }
            costs[e] = J / (double)m + lam / (2.0 * d->w_total) * F(penalty)(net, theta);
            if (mlp_no_improvement(costs[e], o->tol, o->n_iter_no_change, &best, &count)) { e++; break; }
        }
    }
    if (n_run != NULL) *n_run = e;
    if (bits != NULL) *bits = total_bits;
    free(work);
    free(perm);
    free(chunk_cost);
    return st;
}
