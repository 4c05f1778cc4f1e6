/* cq_solver_subgradient.c -- the subgradient method with diminishing steps. */
#include <math.h>
#include <string.h>

#include "optimize/cq_opt_ws.h"

/*
 * Problem: min_x f(x), f convex, possibly non-differentiable (e.g. Hinge); g^k is the
 * subgradient the objective returns.
 *
 * Iteration (the subgradient method, Shor; Boyd's EE364b notes): x^{k+1} = x^k - t_k g^k, t_k = t0 / sqrt(k).
 * Not a descent method: the best iterate f_best = min_k f(x^k) is kept and returned.
 */
static int subgradient_start(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    int st = cq_opt_first(ctx, W, p, s);
    if (st != CQ_OK) return st;
    *(double *)ctx = s->F;
    memcpy(W->best, W->x, W->n * sizeof(double));
    return CQ_OK;
}

static int subgradient_step(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    double *fbest = (double *)ctx, fnew;
    s->t = p->t / sqrt((double)k);
    for (size_t j = 0; j < W->n; j++) W->d[j] = -W->g[j];
    int st = cq_opt_trial(W, W->x, s->t, &fnew);
    if (st != CQ_OK) return st;
    cq_opt_accept(W, fnew, s);
    if (s->F < *fbest) {
        *fbest = s->F;
        memcpy(W->best, W->x, W->n * sizeof(double));
    }
    return CQ_OK;
}

static int subgradient_stop(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    (void)p;
    double fbest = *(double *)ctx;
    if (!(fbest < s->F)) return CQ_OK;
    memcpy(W->x, W->best, W->n * sizeof(double)); /* return the best iterate */
    s->F = fbest;
    int st = cq_opt_eval(W, W->x, &s->f, W->g, W->z, 0);
    if (st != CQ_OK) return st;
    s->gnorm = sqrt(cq_opt_dot(W->g, W->g, W->n));
    return CQ_OK;
}

int cq_solver_subgradient(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                          cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it,
                          cq_errinfo *err)
{
    assert(p != NULL && p->method == CQ_OPT_SUBGRADIENT && p->t > 0.0);
    static const cq_opt_rule rule = {subgradient_start, subgradient_step, subgradient_stop};
    double fbest = 0.0;
    return cq_opt_run(&rule, &fbest, p->memory < 0 ? 0 : p->memory, o, p, x, trace, cb, cb_ctx, res, it, err);
}
