/*
 * cq_svm_dcd.h -- the linear SVM by dual coordinate descent, with an exact, unpenalised
 * intercept.
 *
 * Primal (the hinge cost of Lagarde, "Machine Learning Algebra", section 4.2, labels s_i = +-1, slope k):
 *     min_{w, t}  1/2 ||w||^2 + U sum_i max(0, 1 - s_i (t + w'x_i)),      U = C k.
 * Dual:
 *     min_a  f(a) = 1/2 ||sum_i a_i s_i x_i||^2 - sum_i a_i   s.t. 0 <= a_i <= U,
 *            sum_i a_i s_i = 0   (the intercept's condition; absent without one),
 * with w = sum_i a_i s_i x_i. Without an intercept this is the dual coordinate descent of
 * Hsieh, Chang, Lin, Keerthi & Sundararajan, "A Dual Coordinate Descent Method for
 * Large-scale Linear SVM" (ICML 2008), Algorithm 1: one coordinate at a time in random
 * order, its exact minimiser clipped to [0, U], w updated in O(n), stopped when the spread
 * max PG - min PG of the projected gradient is below eps, with the shrinking of its
 * Algorithm 3 (coordinates stuck at a bound leave the active set, all are re-checked
 * before the solver stops).
 *
 * The equality constraint is handled by the method of multipliers (Hestenes, Powell;
 * Nocedal & Wright, "Numerical Optimization", section 17.3): the inner problem
 *     min_a f(a) + lambda S + rho/2 S^2,   S = sum_i a_i s_i,   0 <= a <= U
 * keeps coordinate descent's O(n) step (S is one running scalar: coordinate i's gradient
 * is s_i (w'x_i + lambda + rho S) - 1 and its curvature ||x_i||^2 + rho), followed by
 * lambda <- lambda + rho S. At a solution the KKT conditions of the primal hold with the
 * intercept t = lambda: free coordinates lie exactly on the margin s_i (t + w'x_i) = 1.
 */
#ifndef CQ_SVM_DCD_H
#define CQ_SVM_DCD_H

#include <stddef.h>

#include <numpy/random/bitgen.h>

#include "core/cq_common.h"

typedef struct cq_svm_dcd_opts {
    double U;            /* box bound C k > 0 */
    double eps;          /* stop: PG spread <= eps and |S| <= eps (times max(1, U)) */
    long max_epochs;     /* passes over the data in all */
    long max_outer;      /* multiplier updates (intercept only) */
    int intercept;       /* 1: the unpenalised intercept t */
    double rho;          /* penalty of the multiplier method; <= 0: mean ||x_i||^2 / 10 */
} cq_svm_dcd_opts;

typedef struct cq_svm_dcd_info {
    double intercept;    /* t = lambda */
    double pg_spread;    /* max PG - min PG of the last epoch */
    double eq_violation; /* |sum_i a_i s_i| */
    long n_epochs, n_outer;
    int converged;
} cq_svm_dcd_info;

/* X: m x n row-major; s: m labels +-1; alpha: m, the start on entry (0 <= alpha_i <= U)
 * and the dual solution on return; w: n, written; qii: m doubles of work; perm: m.
 * Returns CQ_OK (converged or not: see info), CQ_EINVAL or CQ_EINTERRUPT. */
int cq_svm_dcd(const double *X, const double *s, size_t m, size_t n, const cq_svm_dcd_opts *o, double *alpha,
               double *w, double *qii, size_t *perm, bitgen_t *bg, cq_svm_dcd_info *info, cq_interrupt *it,
               cq_errinfo *err);

#endif /* CQ_SVM_DCD_H */
