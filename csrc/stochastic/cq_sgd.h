/*
 * cq_sgd.h -- quantized stochastic first-order methods (Mayekar & Tyagi, section 2,
 * Theorem 2.3; Remarks 3 and 4): the loop  oracle -> quantizer -> update.
 *
 *   projected SGD (p >= 2):   x_{t+1} = P_K(x_t - eta_t Q(g_t)),
 *   mirror descent (p < 2):   x_{t+1} = argmin_{z in K} D_psi(z, grad psi^*(grad psi(x_t) - eta_t Q(g_t))),
 *                             psi = ||.||_r^2 / (2 (r-1)),
 *
 * with g_t an oracle draw at x_t and Q a quantizer, both drawing from one bitgen_t in
 * that order (oracle first), and the running average xbar_t = (1/t) sum_{s<t} x_s.
 * The oracle and the quantizer are callbacks, so this loop knows nothing of their
 * internals; the binding layer adapts convq's C oracles and quantizers to them.
 */
#ifndef CQ_SGD_H
#define CQ_SGD_H

#include <stddef.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include "core/cq_common.h"
#include "stochastic/cq_domains.h"

typedef struct cq_oracle_cb {
    /* out = an oracle draw at x (length d). */
    int (*sample)(void *ctx, const double *x, size_t d, bitgen_t *g, double *out, cq_errinfo *err);
    void *ctx;
} cq_oracle_cb;

typedef struct cq_quant_cb {
    /* out = Q(y) (length d) and *nbits = the length of the message that carries it;
     * NULL apply means no quantization (out = y, 64 d bits: raw float64). */
    int (*apply)(void *ctx, const double *y, size_t d, bitgen_t *g, double *out, uint64_t *nbits, cq_errinfo *err);
    void *ctx;
} cq_quant_cb;

enum { CQ_SGD_PROJECTED = 0, CQ_SGD_MIRROR = 1 };

typedef struct cq_sgd_params {
    size_t d;
    int64_t T;               /* iterations >= 1 */
    int method;              /* CQ_SGD_PROJECTED or CQ_SGD_MIRROR */
    double r;                /* mirror-map exponent in (1, 2] (mirror descent only) */
    const double *steps;     /* eta_t, length T (length 1 when constant_step) */
    const cq_domain *dom;    /* NULL: unconstrained */
    int64_t record_every;    /* snapshot period >= 1 */
    int average;             /* snapshots of the running average (1) or of the iterate (0) */
    int constant_step;       /* 1: eta_t = steps[0] for every t (a fixed step is never expanded to T doubles) */
} cq_sgd_params;

/* Number of snapshots the loop writes: ceil(T / record_every). */
int64_t cq_sgd_n_records(const cq_sgd_params *P);

/*
 * Run the loop. x: in x_0, out x_T. xbar: out, the average of x_0..x_{T-1}.
 * snapshots: (n_records x d) row-major, the running average (or iterate) after
 * t_j = min(j * record_every, T) steps; bits: (n_records) the bits communicated up to
 * t_j, summed from the messages. work: 3 d doubles.
 */
int cq_sgd_run(const cq_sgd_params *P, const cq_oracle_cb *oracle, const cq_quant_cb *quant, bitgen_t *g,
               double *x, double *xbar, double *snapshots, uint64_t *bits, double *work, cq_interrupt *it,
               cq_errinfo *err);

#endif /* CQ_SGD_H */
