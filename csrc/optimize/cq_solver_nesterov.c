/* cq_solver_nesterov.c -- Nesterov's accelerated gradient method. */
#include <math.h>
#include <string.h>

#include "optimize/cq_linesearch.h"

/*
 * Problem: min_x f(x), f smooth (L-Lipschitz gradient).
 *
 * Iteration (Nesterov 1983, accelerated gradient):
 *   y^k     = x^k + (k-1)/(k+2) (x^k - x^{k-1}),
 *   x^{k+1} = y^k - t grad f(y^k),
 * with t = 1/L (step "fixed") or backtracking f(y - t g_y) <= f(y) - alpha t ||g_y||^2
 * (step "armijo", t carried over between iterations). With restart, the momentum counter
 * k is reset to 1 whenever f(x^{k+1}) > f(x^k) (O'Donoghue & Candes' function restart).
 */
static int nesterov_start(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    int st = cq_opt_first(ctx, W, p, s);
    if (st != CQ_OK) return st;
    memcpy(W->xp, W->x, W->n * sizeof(double));
    memcpy(W->zp, W->z, W->zl * sizeof(double));
    return CQ_OK;
}

static int nesterov_step(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    long *kmom = (long *)ctx; /* the momentum counter */
    size_t n = W->n;
    (void)k;
    double beta_k = (double)(*kmom - 1) / (double)(*kmom + 2), fy, fnew;
    for (size_t j = 0; j < n; j++) W->yv[j] = W->x[j] + beta_k * (W->x[j] - W->xp[j]);
    int st = cq_opt_eval(W, W->yv, &fy, W->gy, W->zy, 0);
    if (st != CQ_OK) return st;
    for (size_t j = 0; j < n; j++) W->d[j] = -W->gy[j];
    double gy2 = cq_opt_dot(W->gy, W->gy, n);
    if (p->step == CQ_STEP_FIXED) {
        s->t = p->t;
        st = cq_opt_trial(W, W->yv, s->t, &fnew);
    } else {
        st = cq_ls_backtrack(W, W->yv, W->zy, W->d, fy, -gy2, p->alpha, p->beta, &s->t, &fnew);
    }
    if (st != CQ_OK) return st;
    CQ_SWAP(W->xp, W->x); /* the previous iterate; cq_opt_accept makes the trial the current one */
    *kmom = (p->restart && fnew > s->f) ? 1 : *kmom + 1;
    cq_opt_accept(W, fnew, s);
    return CQ_OK;
}

int cq_solver_nesterov(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                       cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(p != NULL && p->method == CQ_OPT_NESTEROV);
    static const cq_opt_rule rule = {nesterov_start, nesterov_step, NULL};
    long kmom = 1;
    return cq_opt_run(&rule, &kmom, p->memory < 0 ? 0 : p->memory, o, p, x, trace, cb, cb_ctx, res, it, err);
}
