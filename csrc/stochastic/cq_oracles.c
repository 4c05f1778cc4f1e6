/* cq_oracles.c -- section-6 oracles; see cq_oracles.h. */
#include <math.h>
#include <string.h>
#include "stochastic/cq_oracles.h"
#include "stochastic/cq_domains.h"
#include "core/cq_rng.h"

void cq_oracle_bernoulli(const double *alpha, size_t d, double s, double delta, bitgen_t *g, double *out)
{
    /* P(+) = (1 + 2 delta alpha_i)/2 by comparing a 32-bit uniform integer u with
     * floor(P(+) 2^32): exact up to 2^-32 in each probability; one 64-bit draw serves two
     * coordinates. alpha_i is +-1, so only two thresholds exist. */
    const double two32 = 4294967296.0;
    const uint64_t th_plus = (uint64_t)(0.5 * (1.0 + 2.0 * delta) * two32);
    const uint64_t th_minus = (uint64_t)(0.5 * (1.0 - 2.0 * delta) * two32);
    size_t i = 0;
    for (; i + 1 < d; i += 2) {
        uint64_t r = cq_rng_u64(g);
        uint64_t u0 = r & 0xFFFFFFFFu, u1 = r >> 32;
        out[i] = u0 < (alpha[i] > 0 ? th_plus : th_minus) ? s : -s;
        out[i + 1] = u1 < (alpha[i + 1] > 0 ? th_plus : th_minus) ? s : -s;
    }
    if (i < d) {
        uint64_t u0 = cq_rng_u64(g) & 0xFFFFFFFFu;
        out[i] = u0 < (alpha[i] > 0 ? th_plus : th_minus) ? s : -s;
    }
}

void cq_oracle_paninski(const double *alpha, size_t d, double B, double delta, bitgen_t *g, double *out)
{
    memset(out, 0, sizeof(double) * d);
    size_t i = (size_t)cq_rng_bounded(g, (uint64_t)d);
    double p_plus = 0.5 * (1.0 + 2.0 * delta * alpha[i]);
    out[i] = cq_rng_uniform(g) < p_plus ? B : -B;
}

int cq_oracle_minibatch(const cq_minibatch_oracle *o, const double *x, bitgen_t *g, double *out, cq_errinfo *err)
{
    const cq_obj *obj = o->obj;
    if (obj->kind == CQ_OBJ_QUADRATIC)
        return cq_fail(err, CQ_EINVAL, "a minibatch oracle needs an objective with data rows");
    if (obj->w != NULL) /* its rescaling below assumes unit row weights */
        return cq_fail(err, CQ_EINVAL, "a minibatch oracle needs an objective without sample weights");
    size_t dim = cq_obj_dim(obj), B = o->batch;
    for (size_t i = 0; i < B; i++) o->rows[i] = (int64_t)cq_rng_bounded(g, (uint64_t)obj->m);
    double f;
    int st = cq_obj_value_grad(obj, o->rows, B, x, &f, out, NULL, NULL, err);
    if (st != CQ_OK) return st;
    /* loss part = batch gradient - batch penalty gradient; rescale; add the full penalty */
    memset(o->work, 0, sizeof(double) * dim);
    cq_obj_penalty(obj, B, x, o->work);
    double s = (obj->kind == CQ_OBJ_HINGE || obj->kind == CQ_OBJ_HUBER_HINGE || obj->kind == CQ_OBJ_LASSO)
                   ? (double)obj->m / (double)B : 1.0;
    for (size_t j = 0; j < dim; j++) out[j] = s * (out[j] - o->work[j]);
    cq_obj_penalty(obj, obj->m, x, out);
    return CQ_OK;
}

int cq_oracle_noisy(const cq_noisy_oracle *o, const double *x, bitgen_t *g, double *out, cq_errinfo *err)
{
    size_t dim = cq_obj_dim(o->obj);
    double f;
    int st = cq_obj_value_grad(o->obj, NULL, 0, x, &f, out, NULL, NULL, err);
    if (st != CQ_OK) return st;
    for (size_t j = 0; j < dim; j++) out[j] += o->noise * (2.0 * cq_rng_uniform(g) - 1.0);
    double n = cq_norm_p(out, dim, o->q);
    if (!(n <= o->B))
        return cq_fail(err, CQ_EDOMAIN,
                       "NoisyOracle output has ||g||_q = %.6g > B = %.6g (q = %g): the oracle violates the "
                       "almost-sure bound (2); raise B or lower the noise", n, o->B, o->q);
    return CQ_OK;
}
