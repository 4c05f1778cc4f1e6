/*
 * cq_oracles.h -- the stochastic first-order oracles of Mayekar & Tyagi, section 6
 * (the lower-bound constructions), as samplers over a numpy bitgen_t.
 *
 * Both serve the linear functions f_alpha(x) = c <alpha, x> with a sign vector alpha in
 * {-1, +1}^d, and are unbiased: E[g] = grad f_alpha = c alpha.
 *  - Bernoulli product (second construction): independent coordinates
 *        g_i = +s w.p. (1 + 2 delta alpha_i)/2,  -s otherwise,   s = B / d^(1/q),
 *    so ||g||_q = B surely and c = 2 delta s. Dense: a quantizer has work to do. The
 *    coin flips compare 32-bit uniforms (two per 64-bit draw) with floor(P(+) 2^32):
 *    each probability is exact to within 2^-32.
 *  - Paninski type (first construction): g = +B e_i w.p. (1 + 2 delta alpha_i)/(2d),
 *    -B e_i w.p. (1 - 2 delta alpha_i)/(2d); ||g||_q = B, c = 2 delta B / d. 1-sparse.
 * delta in (0, 1/2].
 */
#ifndef CQ_ORACLES_H
#define CQ_ORACLES_H

#include <stddef.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include "core/cq_common.h"
#include "optimize/cq_objectives.h"

/* The oracle kinds the binding adapts to the SGD loop's callback (cq_sgd.h), one list:
 * the enum below and the constants ORACLE_<NAME> of convq._core (csrc/python/_stochastic.c)
 * are generated from it. BERNOULLI and PANINSKI are the two section-6 constructions;
 * MINIBATCH and NOISY the oracles over an objective below. */
#define CQ_ORACLE_KINDS(X) \
    X(BERNOULLI, 0)        \
    X(PANINSKI, 1)         \
    X(MINIBATCH, 2)        \
    X(NOISY, 3)

#define CQ_ORACLE_ENUM_(name, num) CQ_ORACLE_##name = num,
typedef enum { CQ_ORACLE_KINDS(CQ_ORACLE_ENUM_) } cq_oracle_kind;
#undef CQ_ORACLE_ENUM_

void cq_oracle_bernoulli(const double *alpha, size_t d, double s, double delta, bitgen_t *g, double *out);
void cq_oracle_paninski(const double *alpha, size_t d, double B, double delta, bitgen_t *g, double *out);

/*
 * Minibatch oracle over a convq objective (LeastSquares, Logistic, Hinge, Lasso): draw
 * `batch` rows i.i.d. uniformly (with replacement) and return an UNBIASED estimate of the
 * gradient of the full-data cost: the loss part of the batch gradient is rescaled to the
 * full data (x1 for the mean-type losses of LeastSquares/Logistic, x m/batch for the
 * sum-type losses of Hinge/Lasso) and the penalty gradient is the full-data one
 * (lam/m theta_r, theta_r, mu grad l_delta). rows: `batch` int64s, work: dim doubles.
 */
typedef struct cq_minibatch_oracle {
    const cq_obj *obj;
    size_t batch;
    int64_t *rows;
    double *work;
} cq_minibatch_oracle;

int cq_oracle_minibatch(const cq_minibatch_oracle *o, const double *x, bitgen_t *g, double *out, cq_errinfo *err);

/*
 * Noisy oracle: the full gradient plus independent uniform noise on [-noise, noise] in
 * each coordinate (zero mean, so unbiased), with assumption (2) enforced: a draw with
 * ||g||_q > B is refused with CQ_EDOMAIN (q in [1, inf]).
 */
typedef struct cq_noisy_oracle {
    const cq_obj *obj;
    double noise, B, q;
} cq_noisy_oracle;

int cq_oracle_noisy(const cq_noisy_oracle *o, const double *x, bitgen_t *g, double *out, cq_errinfo *err);

#endif
