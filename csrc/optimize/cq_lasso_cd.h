/*
 * cq_lasso_cd.h -- LASSO by coordinate descent with working sets, extrapolation and
 * duality-gap stopping.
 *
 *     min_x  P(x) = 1/2 ||A x - b||^2 + mu ||x||_1,        A: m x n,  mu > 0.
 *
 * Its dual is  max_theta  D(theta) = <theta, b> - 1/2 ||theta||^2  s.t. ||A' theta||_inf <= mu;
 * for any x, theta(x) = r / max(1, ||A' r||_inf / mu) with r = b - A x is dual feasible and
 * P(x) - D(theta(x)) >= P(x) - P* is a certificate of suboptimality (the gap every stop uses).
 *
 * The outer loop (Massias, Gramfort & Salmon, "Celer: a Fast Solver for the Lasso with Dual
 * Extrapolation", ICML 2018, section 4) ranks the features by how close their dual
 * constraint is to being tight, d_j = (mu - |A_j' theta|) / ||A_j||, keeps every non-zero
 * coordinate, and solves the LASSO restricted to the p_t best (p_t at least doubles each
 * outer step) to a gap of 0.3 times the current one. The inner solver is cyclic coordinate
 * descent (x_j <- S(x_j + A_j' r / ||A_j||^2, mu / ||A_j||^2), S the soft threshold, the
 * residual r updated in O(m)), with Anderson extrapolation of the iterates every K epochs,
 * kept only when it lowers the objective (Bertrand & Massias, "Anderson acceleration of
 * coordinate descent", AISTATS 2021, Algorithm 1).
 */
#ifndef CQ_LASSO_CD_H
#define CQ_LASSO_CD_H

#include <stddef.h>
#include <stdint.h>

#include "core/cq_common.h"

typedef struct cq_lasso_cd_opts {
    double mu;           /* > 0 */
    double tol;          /* stop when P(x) - D(theta(x)) <= tol (absolute) */
    long max_outer;      /* working-set iterations (>= 1) */
    long max_epochs;     /* coordinate-descent epochs in all (>= 1) */
    size_t ws_start;     /* first working-set size (>= 1); n means plain cyclic CD */
    int anderson_k;      /* extrapolation memory K in [0, CQ_LASSO_MAX_K]; 0: none */
} cq_lasso_cd_opts;

#define CQ_LASSO_MAX_K 10

typedef struct cq_lasso_cd_info {
    double primal, dual, gap;
    long n_outer, n_epochs, n_extrapolated;
    size_t ws_size;      /* the last working set's size */
    int converged;       /* 1: gap <= tol; 0: an iteration limit */
} cq_lasso_cd_info;

/* doubles of work cq_lasso_cd needs for an m x n problem with memory K */
size_t cq_lasso_cd_work(size_t m, size_t n, int anderson_k);

/* AT: the n x m row-major transpose of A (row j = column j of A); b: length m; x: length n,
 * the start on entry and the solution on return; work: cq_lasso_cd_work(m, n, K) doubles;
 * iwork: n size_t. Returns CQ_OK (converged or not: see info), CQ_EINVAL, CQ_ENONFINITE
 * or CQ_EINTERRUPT. */
int cq_lasso_cd(const double *AT, const double *b, size_t m, size_t n, const cq_lasso_cd_opts *o,
                double *x, double *work, size_t *iwork, cq_lasso_cd_info *info, cq_interrupt *it,
                cq_errinfo *err);

/* The same on a sparse A in compressed sparse column form: column j holds data[k] at row
 * indices[k], k in [indptr[j], indptr[j + 1]) (indptr: n + 1 entries; row indices in [0, m),
 * no duplicates within a column); every column operation costs O(nnz of the column)
 * instead of O(m). The layout is checked first (CQ_EINVAL). */
int cq_lasso_cd_csc(const int64_t *indptr, const int64_t *indices, const double *data, const double *b, size_t m,
                    size_t n, const cq_lasso_cd_opts *o, double *x, double *work, size_t *iwork,
                    cq_lasso_cd_info *info, cq_interrupt *it, cq_errinfo *err);

#endif /* CQ_LASSO_CD_H */
