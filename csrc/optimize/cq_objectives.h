/*
 * cq_objectives.h -- the smooth (and piecewise-linear) objectives of convq, evaluated
 * with one fused, row-blocked pass over the data.
 *
 * Read me first
 * -------------
 * An objective is a plain description `cq_obj` of borrowed arrays and scalars. X is an
 * m x p row-major float64 matrix; theta has dim = p + intercept entries; with
 * intercept = 1, theta[0] is the intercept (the linear predictor of row i is
 * z_i = theta[0] + X_i . theta[1:]) and is never penalised. theta_r below means theta
 * without the intercept (all of theta when intercept = 0).
 *
 * Costs (m = number of rows used: all rows, or the size of a row subset):
 *   CQ_OBJ_QUADRATIC  f = 1/2 x'Ax - b'x + c          (X = A, p x p symmetric; y = b; c = c)
 *   CQ_OBJ_LEASTSQ    f = 1/(2m) ||X theta - y||^2 + lam/(2m) ||theta_r||^2
 *   CQ_OBJ_LOGISTIC   f = 1/m sum_i [ln(1 + e^{z_i}) - y_i z_i] + lam/(2m) ||theta_r||^2
 *                       (= the cross-entropy cost of Lagarde, "Machine Learning Algebra", section 2.3,
 *                       y_i in {0, 1}, z_i = linear predictor)
 *   CQ_OBJ_HINGE      f = C sum_i [y_i cost_1(z_i) + (1 - y_i) cost_0(z_i)] + 1/2 ||theta_r||^2
 *                       (Lagarde, sections 4.2-4.3: cost_1(z) = k max(0, 1 - z), cost_0(z) = k (1 + z) for
 *                       z >= -1 else 0; `lam` holds C, `c` holds the slope k; the returned
 *                       "gradient" is the subgradient with the case split of cost_1 and cost_0)
 *   CQ_OBJ_LASSO      f = 1/2 ||A x - b||^2 + mu sum_j l_delta(x_j)   (`lam` = mu, `c` = delta;
 *                       l_delta(x) = x^2/(2 delta) if |x| < delta else |x| - delta/2; delta = 0
 *                       means the plain |x|, whose subgradient uses sign(0) = 0). No intercept.
 *   CQ_OBJ_SOFTMAX    f = 1/m sum_i [ln sum_k e^{z_ik} - z_{i,y_i}] + lam/(2m) sum_k ||theta_{k,r}||^2
 *                       (multinomial logistic regression, the cross-entropy of the softmax; y_i in
 *                       {0, ..., K-1}, z_ik = theta_k . [1, x_i]; theta holds K blocks of p + intercept
 *                       entries, class k's block first entry its unpenalised intercept; Bishop,
 *                       "Pattern Recognition and Machine Learning", section 4.3.4)
 *   CQ_OBJ_HUBER_HINGE  f = C k sum_i h_delta(1 - s_i z_i) + 1/2 ||theta_r||^2, s_i = 2 y_i - 1
 *                       (the hinge cost above with its kink smoothed: h_delta(v) = 0 for v <= 0,
 *                       v^2/(2 delta) for 0 < v < delta, v - delta/2 beyond, so
 *                       f <= hinge cost <= f + C k m delta/2; the smoothing of the LASSO notes
 *                       applied to the hinge); `lam` holds C k, `c` holds delta > 0.
 *
 * Sample weights: with w non-NULL every row's loss is multiplied by w_i and the m of the
 * 1/m and lam/(2m) factors becomes W = sum_i w_i over the rows used, so an integer weight
 * is exactly a repeated row (the convention of scikit-learn's Lasso/ElasticNet, which
 * rescale their weights to sum to the number of samples). The hinge-type costs have no 1/m:
 * there the weights only scale each row's loss (scikit-learn's LinearSVC convention).
 *
 * Layouts: X is dense row-major (`X`), or, for every kind but Quadratic, a CSR matrix
 * (`csr` non-NULL, `X` unused): row i holds data[k] in column indices[k] for k in
 * [indptr[i], indptr[i + 1]). Every kernel reads a row through two helpers, the row dot
 * product z_i = x_i . theta and the row update g += r_i x_i, which have a dense and a CSR
 * side; a CSR pass costs O(nnz + m) instead of O(m p). The CSR arrays must be valid
 * (indptr[0] = 0, non-decreasing, indptr[m] = nnz, indices in [0, p)): the binding checks.
 *
 * Every pass reads each row once: for a group of rows the kernel forms z = X_b theta,
 * the loss derivative r, and accumulates X_b' r while the rows are still in cache.
 * Parallel passes split the rows into a number of blocks that depends only on (m, p),
 * and reduce the per-block partial sums in block order, so results never depend on the
 * number of threads.
 */
#ifndef CQ_OBJECTIVES_H
#define CQ_OBJECTIVES_H

#include <stddef.h>
#include <stdint.h>
#include "core/cq_common.h"

enum cq_obj_kind {
    CQ_OBJ_QUADRATIC = 0,
    CQ_OBJ_LEASTSQ = 1,
    CQ_OBJ_LOGISTIC = 2,
    CQ_OBJ_HINGE = 3,
    CQ_OBJ_LASSO = 4,
    CQ_OBJ_HUBER_HINGE = 5,
    CQ_OBJ_SOFTMAX = 6
};

/* A CSR matrix (borrowed arrays; see "Layouts" above). */
typedef struct cq_csr {
    const int64_t *indptr;   /* m + 1 row starts */
    const int64_t *indices;  /* nnz column indices, each in [0, p) */
    const double *data;      /* nnz values */
} cq_csr;

typedef struct cq_obj {
    int kind;          /* enum cq_obj_kind */
    const double *X;   /* m x p, row-major (Quadratic: A, p x p, symmetric) */
    const double *y;   /* length m: targets / labels (Quadratic: b, length p) */
    size_t m;          /* number of rows of X */
    size_t p;          /* number of columns of X */
    int intercept;     /* 1: theta[0] is an unpenalised intercept (LeastSquares/Logistic/(Huber) hinge) */
    double lam;        /* LeastSquares/Logistic: lam; Hinge: C; Huber hinge: C k; Lasso: mu; Quadratic: unused */
    double c;          /* Quadratic: constant c; Hinge: slope k; Lasso, Huber hinge: delta (Lasso: 0 = |x|) */
    int n_threads;     /* threads for a pass (>= 1) */
    const cq_csr *csr; /* non-NULL: X is this m x p CSR matrix (every kind but Quadratic); NULL: dense X */
    const double *w;   /* NULL: every row has weight 1; else m row weights w_i >= 0 (not Quadratic) */
    size_t n_classes;  /* Softmax: the number of classes K >= 2 (y_i in {0, ..., K-1}); unused otherwise */
} cq_obj;

/* Number of parameters: p + intercept (Softmax: K (p + intercept)). */
size_t cq_obj_dim(const cq_obj *o);

/* Length of the cached linear predictor z of a full pass: m (Quadratic: p, z = A x; Softmax:
 * m K, z[i K + k] = z_ik). */
size_t cq_obj_zlen(const cq_obj *o);

/* Fused value and gradient at theta (length dim).
 * rows: optional subset of row indices (each in [0, m)), n_rows of them; NULL = all rows
 * (then n_rows is ignored); m in the cost is the number of rows used. Not allowed for
 * Quadratic. grad (length dim) may be NULL (value only). z, if non-NULL, receives the
 * linear predictor of every row used (length n_rows, or zlen for all rows).
 * Returns CQ_OK, CQ_EINVAL (bad subset), CQ_ENOMEM, CQ_ENONFINITE (the value or the
 * gradient overflowed), CQ_EINTERRUPT. */
int cq_obj_value_grad(const cq_obj *o, const int64_t *rows, size_t n_rows, const double *theta,
                      double *f, double *grad, double *z, cq_interrupt *it, cq_errinfo *err);

/* Hessian-vector product out = H(theta) v (all rows, or a row subset as above). For
 * Lasso it is the Hessian of the smoothed cost (of 1/2||Ax-b||^2 when delta = 0);
 * Hinge has no Hessian (CQ_EINVAL). */
int cq_obj_hessp(const cq_obj *o, const int64_t *rows, size_t n_rows, const double *theta,
                 const double *v, double *out, cq_interrupt *it, cq_errinfo *err);

/* The diagonal of the Hessian at theta (all rows), given the cached linear predictor z = X theta
 * (+ theta[0]; length zlen; unused for Quadratic): one sequential pass over X. The
 * preconditioner of Newton-CG. Hinge: CQ_EINVAL. */
int cq_obj_hess_diag(const cq_obj *o, const double *theta, const double *z, double *diag, cq_errinfo *err);

/* w = X d (+ d[0] with an intercept); Quadratic: w = A d. All rows, length zlen. */
int cq_obj_matvec(const cq_obj *o, const double *d, double *w, cq_interrupt *it);

/* The value from a cached full-data linear predictor z (length zlen) and theta: O(m + p)
 * (Quadratic: O(p)). This is what a line-search trial costs: z(theta + t d) = z + t X d. */
double cq_obj_value_from_z(const cq_obj *o, const double *z, const double *theta);

/* Value and slope phi'(t) = grad f(theta)'d from a cached linear predictor z (as above)
 * and w = X d (+ d[0] with an intercept; Quadratic: A d): O(m + p). With z = z0 + t w and
 * theta = theta0 + t d this is phi(t) = f(theta0 + t d) and its derivative, without a pass
 * over X (the trials of a Wolfe line search). Hinge: the slope of its subgradient. */
double cq_obj_value_slope_from_z(const cq_obj *o, const double *z, const double *w, const double *theta,
                                 const double *d, double *slope);

/* Penalty part only (see the table above) and its gradient added to grad (if non-NULL);
 * w_used is the total weight of the rows used (their number without weights; the W of
 * the lam/(2W) scaling). */
double cq_obj_penalty(const cq_obj *o, double w_used, const double *theta, double *grad);

#endif /* CQ_OBJECTIVES_H */
