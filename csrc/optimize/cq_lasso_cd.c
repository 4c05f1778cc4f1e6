/*
 * cq_lasso_cd.c -- LASSO by working-set coordinate descent with Anderson extrapolation
 * and duality-gap stopping (the math and the references are in cq_lasso_cd.h), over a
 * dense design (its transpose, one column of A per row) or a CSC one.
 *
 * Work layout (doubles): r[m] residual b - A x, re[m] extrapolated residual, colsq[n]
 * squared column norms, c[n] correlations A_j' r and then the priorities d_j,
 * X[(K+1) n] the last K+1 iterates on the working set, G[K K] and z[K] the Anderson system.
 */
#include "optimize/cq_lasso_cd.h"
#include "core/cq_reduce.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t cq_lasso_cd_work(size_t m, size_t n, int anderson_k)
{
    size_t K = anderson_k > 0 ? (size_t)anderson_k : 0;
    return 2 * m + 2 * n + (K + 1) * n + K * K + 2 * K + 1;
}


static void axpy(double alpha, const double *x, double *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

/* The columns of A: dense (AT != NULL: column j is AT[j m .. (j + 1) m)) or CSC (column j
 * holds data[k] at row indices[k] for k in [indptr[j], indptr[j + 1])). */
typedef struct {
    const double *AT;
    const int64_t *indptr, *indices;
    const double *data;
    size_t m;
} cols;

static double col_dot(const cols *A, size_t j, const double *v)
{
    if (A->AT) return cq_dot(A->AT + j * A->m, v, A->m);
    double s = 0.0;
    for (int64_t k = A->indptr[j]; k < A->indptr[j + 1]; k++) s += A->data[k] * v[A->indices[k]];
    return s;
}

static double col_sq(const cols *A, size_t j)
{
    if (A->AT) return cq_dot(A->AT + j * A->m, A->AT + j * A->m, A->m);
    double s = 0.0;
    for (int64_t k = A->indptr[j]; k < A->indptr[j + 1]; k++) s += A->data[k] * A->data[k];
    return s;
}

static void col_axpy(const cols *A, size_t j, double alpha, double *v)
{
    if (A->AT) {
        axpy(alpha, A->AT + j * A->m, v, A->m);
        return;
    }
    for (int64_t k = A->indptr[j]; k < A->indptr[j + 1]; k++) v[A->indices[k]] += alpha * A->data[k];
}

static double soft(double z, double t)
{
    return z > t ? z - t : (z < -t ? z + t : 0.0);
}

static double l1(const double *x, const size_t *idx, size_t k)
{
    double s = 0.0;
    for (size_t i = 0; i < k; i++) s += fabs(x[idx[i]]);
    return s;
}

/* Move the k indices with the smallest key to idx[0..k) (quickselect, Hoare partition),
 * then sort those k ascending by index, so that the epochs walk memory forwards. */
static int cmp_size(const void *a, const void *b)
{
    size_t u = *(const size_t *)a, v = *(const size_t *)b;
    return (u > v) - (u < v);
}

#define CQ_SELECT_NAME select_by_key
#define CQ_SELECT_T size_t
#define CQ_SELECT_KEY(a, i) key[(a)[i]]
#define CQ_SELECT_PIVOT(a, lo, mid, hi) key[(a)[mid]]
#include "core/cq_select.h"

static void select_smallest(size_t *idx, size_t n, size_t k, const double *key)
{
    select_by_key(idx, n, k, key); /* key[idx[t]] <= key[idx[k]] <= key[idx[u]] for t < k < u */
    qsort(idx, k, sizeof(size_t), cmp_size);
}

/* Solve (G + ridge I) z = 1 by Cholesky in place (K x K, K small); 0 on success. */
static int solve_spd_ones(double *G, double *z, size_t K)
{
    double tr = 0.0;
    for (size_t i = 0; i < K; i++) tr += G[i * K + i];
    if (!(tr > 0.0) || !isfinite(tr)) return -1;
    for (size_t i = 0; i < K; i++) G[i * K + i] += 1e-10 * tr;
    for (size_t j = 0; j < K; j++) {
        double d = G[j * K + j];
        for (size_t k = 0; k < j; k++) d -= G[j * K + k] * G[j * K + k];
        if (!(d > 0.0)) return -1;
        d = sqrt(d);
        G[j * K + j] = d;
        for (size_t i = j + 1; i < K; i++) {
            double s = G[i * K + j];
            for (size_t k = 0; k < j; k++) s -= G[i * K + k] * G[j * K + k];
            G[i * K + j] = s / d;
        }
    }
    for (size_t i = 0; i < K; i++) { /* L y = 1 */
        double s = 1.0;
        for (size_t k = 0; k < i; k++) s -= G[i * K + k] * z[k];
        z[i] = s / G[i * K + i];
    }
    for (size_t ii = K; ii-- > 0;) { /* L' z = y */
        double s = z[ii];
        for (size_t k = ii + 1; k < K; k++) s -= G[k * K + ii] * z[k];
        z[ii] = s / G[ii * K + ii];
    }
    return 0;
}

/* Primal value, dual value at theta(x) restricted to the features in idx[0..k). */
static void gap_on(const cols *A, const double *b, const double *r, const double *x, size_t m,
                   const size_t *idx, size_t k, double mu, double *c, double *P, double *D)
{
    double cmax = 0.0;
    for (size_t t = 0; t < k; t++) {
        size_t j = idx[t];
        c[j] = col_dot(A, j, r);
        if (fabs(c[j]) > cmax) cmax = fabs(c[j]);
    }
    double rr = cq_dot(r, r, m), rb = cq_dot(r, b, m);
    double scale = cmax > mu ? cmax / mu : 1.0;
    *P = 0.5 * rr + mu * l1(x, idx, k);
    *D = rb / scale - 0.5 * rr / (scale * scale);
}

static int lasso_cd(const cols *A, const double *b, size_t m, size_t n, const cq_lasso_cd_opts *o,
                    double *x, double *work, size_t *iwork, cq_lasso_cd_info *info, cq_interrupt *it,
                    cq_errinfo *err)
{
    if (m == 0 || n == 0) return cq_fail(err, CQ_EINVAL, "A must have at least one row and one column");
    if (!(o->mu > 0.0) || !(o->tol >= 0.0) || o->max_outer < 1 || o->max_epochs < 1 || o->ws_start < 1 ||
        o->anderson_k < 0 || o->anderson_k > CQ_LASSO_MAX_K)
        return cq_fail(err, CQ_EINVAL, "invalid coordinate-descent options");
    const double mu = o->mu;
    const size_t K = (size_t)o->anderson_k;
    double *r = work, *re = r + m, *colsq = re + m, *c = colsq + n, *X = c + n;
    double *G = X + (K + 1) * n, *z = G + K * K;
    size_t *idx = iwork;
    memset(info, 0, sizeof *info);

    memcpy(r, b, m * sizeof(double));
    for (size_t j = 0; j < n; j++) {
        colsq[j] = col_sq(A, j);
        if (x[j] != 0.0) col_axpy(A, j, -x[j], r);
    }
    size_t ws = 0;
    long epochs = 0;
    cq_progress_total(it, o->max_epochs);
    for (long outer = 0; outer < o->max_outer; outer++) {
        /* the full gap, and the priorities */
        for (size_t j = 0; j < n; j++) idx[j] = j;
        double P, D;
        gap_on(A, b, r, x, m, idx, n, mu, c, &P, &D);
        if (!isfinite(P) || !isfinite(D))
            return cq_fail(err, CQ_ENONFINITE, "the LASSO objective became non-finite");
        info->primal = P;
        info->dual = D;
        info->gap = P - D;
        info->n_outer = outer;
        if (P - D <= o->tol) {
            info->converged = 1;
            break;
        }
        if (epochs >= o->max_epochs) break;
        double cmax = 0.0;
        for (size_t j = 0; j < n; j++)
            if (fabs(c[j]) > cmax) cmax = fabs(c[j]);
        double scale = cmax > mu ? cmax / mu : 1.0;
        size_t nnz = 0;
        for (size_t j = 0; j < n; j++) {
            if (x[j] != 0.0) {
                c[j] = -1.0;  /* the support is always in the working set */
                nnz++;
            } else if (colsq[j] == 0.0) {
                c[j] = HUGE_VAL;
            } else {
                c[j] = (mu - fabs(c[j]) / scale) / sqrt(colsq[j]);
            }
        }
        size_t want = 2 * nnz > 2 * ws ? 2 * nnz : 2 * ws;
        if (want < o->ws_start) want = o->ws_start;
        ws = want < n ? want : n;
        select_smallest(idx, n, ws, c);
        info->ws_size = ws;

        /* the subproblem on idx[0..ws), to a gap of 0.3 times the full one */
        const double tol_in = 0.3 * (P - D) > o->tol ? 0.3 * (P - D) : o->tol;
        const size_t check_every = K > 0 ? K : 5;
        size_t stored = 0;
        for (size_t t = 0; t < ws; t++) X[t] = x[idx[t]];
        if (K > 0) stored = 1;
        for (size_t ep = 1; epochs < o->max_epochs; ep++) {
            for (size_t t = 0; t < ws; t++) {
                size_t j = idx[t];
                if (colsq[j] == 0.0) { /* an empty column: mu |x_j| alone, minimised at 0 (r does not move) */
                    x[j] = 0.0;
                    continue;
                }
                double old = x[j];
                double nw = soft(old + col_dot(A, j, r) / colsq[j], mu / colsq[j]);
                if (nw != old) {
                    col_axpy(A, j, old - nw, r);
                    x[j] = nw;
                }
            }
            epochs++;
            if (cq_check_progress(it, epochs)) return cq_fail(err, CQ_EINTERRUPT, "interrupted");
            if (K > 0) {
                double *slot = X + stored * ws;
                for (size_t t = 0; t < ws; t++) slot[t] = x[idx[t]];
                stored++;
                if (stored == K + 1) {
                    /* U_i = X_{i+1} - X_i; G = U'U; c = z / sum z with G z = 1;
                     * x_e = sum_i c_i X_{i+1} */
                    for (size_t a = 0; a < K; a++)
                        for (size_t bq = 0; bq <= a; bq++) {
                            double s = 0.0;
                            const double *ua1 = X + (a + 1) * ws, *ua0 = X + a * ws;
                            const double *ub1 = X + (bq + 1) * ws, *ub0 = X + bq * ws;
                            for (size_t t = 0; t < ws; t++) s += (ua1[t] - ua0[t]) * (ub1[t] - ub0[t]);
                            G[a * K + bq] = G[bq * K + a] = s;
                        }
                    if (solve_spd_ones(G, z, K) == 0) {
                        double zs = 0.0;
                        for (size_t a = 0; a < K; a++) zs += z[a];
                        if (zs != 0.0 && isfinite(zs)) {
                            /* x_e in X[0..ws) (X_0 is no longer needed) */
                            double *xe = X;
                            for (size_t t = 0; t < ws; t++) {
                                double s = 0.0;
                                for (size_t a = 0; a < K; a++) s += (z[a] / zs) * X[(a + 1) * ws + t];
                                xe[t] = s;
                            }
                            memcpy(re, r, m * sizeof(double));
                            double l1e = 0.0;
                            for (size_t t = 0; t < ws; t++) {
                                size_t j = idx[t];
                                if (xe[t] != x[j]) col_axpy(A, j, x[j] - xe[t], re);
                                l1e += fabs(xe[t]);
                            }
                            double Pe = 0.5 * cq_dot(re, re, m) + mu * l1e;
                            double Pc = 0.5 * cq_dot(r, r, m) + mu * l1(x, idx, ws);
                            if (Pe < Pc) {
                                for (size_t t = 0; t < ws; t++) x[idx[t]] = xe[t];
                                memcpy(r, re, m * sizeof(double));
                                info->n_extrapolated++;
                            }
                        }
                    }
                    for (size_t t = 0; t < ws; t++) X[t] = x[idx[t]];
                    stored = 1;
                }
            }
            if (ep % check_every == 0) {
                double Pi, Di;
                gap_on(A, b, r, x, m, idx, ws, mu, c, &Pi, &Di);
                if (!isfinite(Pi)) return cq_fail(err, CQ_ENONFINITE, "the LASSO objective became non-finite");
                if (Pi - Di <= tol_in) break;
            }
        }
        info->n_outer = outer + 1;
    }
    info->n_epochs = epochs;
    if (!info->converged) { /* the final certificate, when a limit ended the run */
        for (size_t j = 0; j < n; j++) idx[j] = j;
        double P, D;
        gap_on(A, b, r, x, m, idx, n, mu, c, &P, &D);
        info->primal = P;
        info->dual = D;
        info->gap = P - D;
        info->converged = P - D <= o->tol;
    }
    return CQ_OK;
}

int cq_lasso_cd(const double *AT, const double *b, size_t m, size_t n, const cq_lasso_cd_opts *o,
                double *x, double *work, size_t *iwork, cq_lasso_cd_info *info, cq_interrupt *it,
                cq_errinfo *err)
{
    cols A = {AT, NULL, NULL, NULL, m};
    return lasso_cd(&A, b, m, n, o, x, work, iwork, info, it, err);
}

int cq_lasso_cd_csc(const int64_t *indptr, const int64_t *indices, const double *data, const double *b, size_t m,
                    size_t n, const cq_lasso_cd_opts *o, double *x, double *work, size_t *iwork,
                    cq_lasso_cd_info *info, cq_interrupt *it, cq_errinfo *err)
{
    if (m == 0 || n == 0) return cq_fail(err, CQ_EINVAL, "A must have at least one row and one column");
    if (indptr[0] != 0) return cq_fail(err, CQ_EINVAL, "A (CSC): indptr must start at 0");
    for (size_t j = 0; j < n; j++) {
        if (indptr[j + 1] < indptr[j]) return cq_fail(err, CQ_EINVAL, "A (CSC): indptr must be non-decreasing");
        for (int64_t k = indptr[j]; k < indptr[j + 1]; k++)
            if (indices[k] < 0 || (uint64_t)indices[k] >= (uint64_t)m)
                return cq_fail(err, CQ_EINVAL, "A (CSC): a row index is outside [0, m)");
    }
    cols A = {NULL, indptr, indices, data, m};
    return lasso_cd(&A, b, m, n, o, x, work, iwork, info, it, err);
}
