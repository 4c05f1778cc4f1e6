/*
 * cq_oracles.h -- the stochastic first-order oracles of Mayekar & Tyagi, section 6
 * (the lower-bound constructions), as samplers over a numpy bitgen_t.
 *
 * Both serve the linear functions f_alpha(x) = c <alpha, x> with a sign vector alpha in
 * {-1, +1}^d, and are unbiased: E[g] = grad f_alpha = c alpha.
 *  - Bernoulli product (second construction): independent coordinates
 *        g_i = +s w.p. (1 + 2 delta alpha_i)/2,  -s otherwise,   s = B / d^(1/q),
 *    so ||g||_q = B surely and c = 2 delta s. Dense: a quantizer has work to do.
 *  - Paninski type (first construction): g = +B e_i w.p. (1 + 2 delta alpha_i)/(2d),
 *    -B e_i w.p. (1 - 2 delta alpha_i)/(2d); ||g||_q = B, c = 2 delta B / d. 1-sparse.
 * delta in (0, 1/2].
 */
#ifndef CQ_ORACLES_H
#define CQ_ORACLES_H

#include <stddef.h>
#include <numpy/random/bitgen.h>

void cq_oracle_bernoulli(const double *alpha, size_t d, double s, double delta, bitgen_t *g, double *out);
void cq_oracle_paninski(const double *alpha, size_t d, double B, double delta, bitgen_t *g, double *out);

#endif
