/* cq_oracles.c -- section-6 oracles; see cq_oracles.h. */
#include <string.h>
#include "cq_oracles.h"
#include "cq_rng.h"

void cq_oracle_bernoulli(const double *alpha, size_t d, double s, double delta, bitgen_t *g, double *out)
{
    for (size_t i = 0; i < d; i++) {
        double p_plus = 0.5 * (1.0 + 2.0 * delta * alpha[i]);
        out[i] = cq_rng_uniform(g) < p_plus ? s : -s;
    }
}

void cq_oracle_paninski(const double *alpha, size_t d, double B, double delta, bitgen_t *g, double *out)
{
    memset(out, 0, sizeof(double) * d);
    size_t i = (size_t)cq_rng_bounded(g, (uint64_t)d);
    double p_plus = 0.5 * (1.0 + 2.0 * delta * alpha[i]);
    out[i] = cq_rng_uniform(g) < p_plus ? B : -B;
}
