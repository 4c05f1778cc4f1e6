/* cq_mlp.c -- see cq_mlp.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "cq_mlp.h"
#include "cq_rng.h"

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

/* Activations A[0..L] (A[0] is a copy of the batch rows) and one delta buffer pair. */
size_t cq_mlp_work_size(const cq_mlp *net, size_t batch)
{
    size_t units = 0, widest = 0;
    for (int l = 0; l <= net->n_layers; l++) {
        units += net->sizes[l];
        if (net->sizes[l] > widest) widest = net->sizes[l];
    }
    return batch * units + 2 * batch * widest;
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

/* A[l] (B x n_l) = g(A[l-1] W^T + b), row by row with unit-stride axpys. */
static void layer_forward(const cq_mlp *net, int l, const double *theta, const double *in, double *out, size_t B)
{
    size_t n_in = net->sizes[l - 1], n_out = net->sizes[l];
    const double *WT = theta + cq_mlp_w_offset(net, l);
    const double *b = theta + cq_mlp_b_offset(net, l);
    int kind = l == net->n_layers ? CQ_ACT_SIGMOID : net->hidden_act;
    for (size_t i = 0; i < B; i++) {
        double *z = out + i * n_out;
        const double *a = in + i * n_in;
        memcpy(z, b, sizeof(double) * n_out);
        for (size_t k = 0; k < n_in; k++) {
            double ak = a[k];
            if (ak == 0.0) continue; /* ReLU zeros and sparse inputs cost nothing */
            const double *w = WT + k * n_out;
            for (size_t j = 0; j < n_out; j++) z[j] += ak * w[j];
        }
        for (size_t j = 0; j < n_out; j++) z[j] = act(kind, z[j]);
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
    for (size_t i = 0; i < B; i++) {
        size_t r = rows ? (size_t)rows[i] : i;
        memcpy(A[0] + i * n0, X + r * n0, sizeof(double) * n0);
    }
    for (int l = 1; l <= net->n_layers; l++) layer_forward(net, l, theta, A[l - 1], A[l], B);
}

void cq_mlp_forward(const cq_mlp *net, const double *theta, const double *X, size_t m, double *out, double *work)
{
    double *A[CQ_MLP_MAX_LAYERS + 1];
    forward_all(net, theta, X, NULL, m, work, A);
    memcpy(out, A[net->n_layers], sizeof(double) * m * net->sizes[net->n_layers]);
}

double cq_mlp_cost_grad(const cq_mlp *net, const double *theta, const double *X, const double *Y,
                        const int64_t *rows, size_t m, double lam, size_t m_reg, double *grad, double *work)
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

    /* Cost (14): cross-entropy of the sigmoid outputs, then the weight penalty. */
    double ce = 0;
    for (size_t i = 0; i < m; i++) {
        size_t r = rows ? (size_t)rows[i] : i;
        const double *y = Y + r * K, *a = A[L] + i * K;
        for (size_t k = 0; k < K; k++) {
            double p = fmin(fmax(a[k], 1e-300), 1.0 - 1e-16);
            ce -= y[k] * log(p) + (1.0 - y[k]) * log1p(-p);
        }
    }
    double pen = 0;
    for (int l = 1; l <= L; l++) {
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
            const double *d = delta + i * n_out, *a = A[l - 1] + i * n_in;
            for (size_t j = 0; j < n_out; j++) gb[j] += d[j];
            for (size_t k = 0; k < n_in; k++) {
                double ak = a[k];
                if (ak == 0.0) continue;
                double *gw = gWT + k * n_out;
                for (size_t j = 0; j < n_out; j++) gw[j] += ak * d[j];
            }
        }
        if (l == 1) break;
        /* delta[l-1] = (delta W) .* g'(A[l-1]) */
        for (size_t i = 0; i < m; i++) {
            const double *d = delta + i * n_out, *a = A[l - 1] + i * n_in;
            double *dp = delta_prev + i * n_in;
            for (size_t k = 0; k < n_in; k++) {
                const double *w = WT + k * n_out;
                double s = 0;
                for (size_t j = 0; j < n_out; j++) s += w[j] * d[j];
                dp[k] = s * act_deriv(net->hidden_act, a[k]);
            }
        }
        double *tmp = delta;
        delta = delta_prev;
        delta_prev = tmp;
    }
    return J;
}

int cq_mlp_train(const cq_mlp *net, double *theta, const double *X, const double *Y, size_t m, double lam,
                 double lr, size_t batch, int64_t epochs, const cq_quant_cb *quant, bitgen_t *g, double *costs,
                 uint64_t *bits, cq_interrupt *it, cq_errinfo *err)
{
    size_t P = cq_mlp_n_params(net);
    if (batch > m) batch = m;
    size_t wsz = cq_mlp_work_size(net, batch);
    double *work = (double *)malloc(sizeof(double) * (wsz + 2 * P));
    int64_t *perm = (int64_t *)malloc(sizeof(int64_t) * m);
    if (work == NULL || perm == NULL) {
        free(work);
        free(perm);
        return cq_fail(err, CQ_ENOMEM, "out of memory for MLP training buffers");
    }
    double *grad = work + wsz, *qgrad = grad + P;
    for (size_t i = 0; i < m; i++) perm[i] = (int64_t)i;
    int st = CQ_OK;
    uint64_t total_bits = 0;
    for (int64_t e = 0; e < epochs && st == CQ_OK; e++) {
        for (size_t i = m; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)cq_rng_bounded(g, (uint64_t)i);
            int64_t t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        for (size_t s = 0; s < m; s += batch) {
            if (cq_check_interrupt(it)) { st = CQ_EINTERRUPT; break; }
            size_t B = m - s < batch ? m - s : batch;
            cq_mlp_cost_grad(net, theta, X, Y, perm + s, B, lam, m, grad, work);
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
            /* full-data cost in chunks of `batch` rows, weighted by chunk size */
            double J = 0;
            for (size_t s = 0; s < m; s += batch) {
                size_t B = m - s < batch ? m - s : batch;
                J += cq_mlp_cost_grad(net, theta, X, Y, perm + s, B, 0.0, m, NULL, work) * (double)B;
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
