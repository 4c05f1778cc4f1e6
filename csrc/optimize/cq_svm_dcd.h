/*
 * cq_svm_dcd.h -- the linear SVM by dual coordinate descent, hinge or squared hinge loss, with
 * an exact, unpenalised intercept.
 *
 * Primal (the cost of Lagarde, "Machine Learning Algebra", section 4.2, labels s_i = +-1,
 * z_i = t + w'x_i, the hinge of slope k: k max(0, 1 - s_i z_i)):
 *     hinge:          min_{w, t}  1/2 ||w||^2 + C sum_i k max(0, 1 - s_i z_i),
 *     squared hinge:  min_{w, t}  1/2 ||w||^2 + C sum_i (k max(0, 1 - s_i z_i))^2
 * (the squared hinge is the square of the slope-k cost, so only C k^2 matters, as only C k
 * matters for the hinge).
 * Dual (Hsieh et al., below, section 2, with their C replaced by the weights here):
 *     min_a  f(a) = 1/2 ||sum_i a_i s_i x_i||^2 + D/2 ||a||^2 - sum_i a_i   s.t. 0 <= a_i <= U,
 *            sum_i a_i s_i = 0   (the intercept's condition; absent without one),
 * with w = sum_i a_i s_i x_i and
 *     hinge:          U = C k,    D = 0;
 *     squared hinge:  U = +inf,   D = 1 / (2 C k^2).
 * The squared-hinge constants: with slacks xi_i >= 1 - s_i z_i the Lagrangian
 * 1/2 ||w||^2 + C k^2 sum xi_i^2 - sum a_i (s_i z_i - 1 + xi_i) is stationary in xi_i at
 * 2 C k^2 xi_i = a_i (no sign constraint on xi is needed, so no upper bound on a), and
 * substituting leaves -a_i^2 / (4 C k^2) = -D/2 a_i^2 per term. At the solution
 * a_i = 2 C k^2 max(0, 1 - s_i z_i).
 * Without an intercept this is the dual coordinate descent of Hsieh, Chang, Lin, Keerthi &
 * Sundararajan, "A Dual Coordinate Descent Method for Large-scale Linear SVM" (ICML 2008),
 * Algorithm 1 (L1- and L2-loss SVM): one coordinate at a time in random order, its exact
 * minimiser a_i - G_i / (||x_i||^2 + D) clipped to [0, U], w updated in O(n), stopped when
 * the spread max PG - min PG of the projected gradient is below eps, with the shrinking of
 * their Algorithm 3 (coordinates stuck at a bound leave the active set, all are re-checked
 * before the solver stops). For U = inf only the lower bound shrinks: a_i = 0 with
 * G_i > max PG of the previous pass.
 *
 * The equality constraint is handled by the method of multipliers (Hestenes, Powell;
 * Nocedal & Wright, "Numerical Optimization", section 17.3): the inner problem
 *     min_a f(a) + lambda S + rho/2 S^2,   S = sum_i a_i s_i,   0 <= a <= U
 * keeps coordinate descent's O(n) step (S is one running scalar: coordinate i's gradient
 * is s_i (w'x_i + lambda + rho S) - 1 + D a_i and its curvature ||x_i||^2 + D + rho),
 * followed by lambda <- lambda + rho S.
 * The inner problems are solved inexactly, by the bound-constrained augmented-Lagrangian
 * schedule of Conn, Gould & Toint ("A Globally Convergent Augmented Lagrangian Algorithm for
 * Optimization with General Constraints and Simple Bounds", SIAM J. Numer. Anal. 28, 1991;
 * Nocedal & Wright, Algorithm 17.4): subproblem k stops at a projected-gradient spread of
 *     omega_k = max(eps, omega_0 10^-k),   omega_0 = max(eps, 0.1),
 * (the spread is in units of the margin 1 - s_i z_i, so 0.1 is a tenth of a unit margin),
 * and after each multiplier update rho <- 2 rho if |S| did not fall below a quarter of its
 * previous value (and is still above the final tolerance). Solving the first subproblem to
 * eps wastes passes: the rank-one term rho s s' of its Hessian couples every coordinate, so
 * coordinate descent converges slowly on it while lambda is still far from the intercept;
 * with the inexact schedule lambda is corrected after a few cheap passes, and by the time
 * omega_k reaches eps the subproblem starts close to its solution. Measured (passes, hinge,
 * C = 1): columns scaled 10^(-1..1), 600 x 20, tol 1e-8: 100000 (not converged) -> 33197;
 * tol 1e-6: 76375 -> 22616; standardized breast cancer: 1106 -> 914; gaussian 20000 x 50:
 * 100000 (not converged) -> 32069. The growth of rho is the safeguard of Algorithm 17.4
 * that forces feasibility when the multiplier estimates alone do not; it seldom fires here
 * (the default rho = mean ||x_i||^2 / 10 is moderate), and a user's rho is its start.
 * The solver stops only when the spread of a full pass is <= eps and |S| <= the tolerance
 * of cq_svm_dcd_opts.eps. At a solution the KKT conditions of the primal hold
 * with the intercept t = lambda: for the hinge, free coordinates lie exactly on the margin
 * s_i (t + w'x_i) = 1; for the squared hinge, a_i = 2 C k^2 max(0, 1 - s_i z_i).
 */
#ifndef CQ_SVM_DCD_H
#define CQ_SVM_DCD_H

#include <stddef.h>

#include <numpy/random/bitgen.h>

#include "core/cq_common.h"

/* the loss of the primal */
typedef enum cq_svm_loss {
    CQ_SVM_HINGE = 0,          /* k max(0, 1 - s z):     U = C k, D = 0 */
    CQ_SVM_SQUARED_HINGE = 1,  /* (k max(0, 1 - s z))^2: U = inf, D = 1 / (2 C k^2) */
} cq_svm_loss;

typedef struct cq_svm_dcd_opts {
    int loss;            /* cq_svm_loss */
    double C;            /* the weight of the loss, > 0 */
    double k;            /* the slope of the hinge, > 0 */
    double eps;          /* stop: PG spread <= eps and |S| <= eps max(1, A), A = C k (hinge)
                          * or 2 C k^2 (squared hinge: a_i per unit of margin violation) */
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

/* X: m x n row-major; s: m labels +-1; alpha: m, the start on entry (0 <= alpha_i <= U, finite)
 * and the dual solution on return; w: n, written; qii: m doubles of work; perm: m.
 * Returns CQ_OK (converged or not: see info), CQ_EINVAL or CQ_EINTERRUPT. */
int cq_svm_dcd(const double *X, const double *s, size_t m, size_t n, const cq_svm_dcd_opts *o, double *alpha,
               double *w, double *qii, size_t *perm, bitgen_t *bg, cq_svm_dcd_info *info, cq_interrupt *it,
               cq_errinfo *err);

#endif /* CQ_SVM_DCD_H */
