/* cq_solver_gd.c -- the gradient method with a fixed, backtracking (Armijo) or exact step. */
#include <math.h>

#include "optimize/cq_linesearch.h"

/*
 * Problem: min_x f(x), f smooth (a cq_obj).
 *
 * Iteration (gradient-method notes, pages "Gradient method" and "Backtracking line
 * search"): d^k = -grad f(x^k), x^{k+1} = x^k + t_k d^k with
 *   step "fixed":  t_k = t (default 1/L);
 *   step "armijo": t_k = t0 beta^j, j the smallest with
 *                  f(x^k + t d^k) <= f(x^k) + alpha t grad f(x^k)'d^k  (cq_ls_backtrack);
 *   step "exact":  t_k = argmin_t f(x^k + t d^k): -g'd / d'Hd on quadratic models, else
 *                  a safeguarded golden-section search (cq_ls_exact).
 * Stops when ||grad f(x^k)|| <= tol, |f_k - f_{k-1}| < ftol, at max_iter or by the callback.
 */
static int gd_step(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    (void)ctx;
    (void)k;
    double fnew, gd = cq_opt_steepest(W, s->gnorm);
    int st;
    if (p->step == CQ_STEP_FIXED) {
        s->t = p->t;
        st = cq_opt_trial(W, W->x, s->t, &fnew);
    } else if (p->step == CQ_STEP_EXACT) {
        st = cq_ls_exact_step(W, s->f, &s->t, &fnew);
    } else {
        s->t = p->t;
        st = cq_ls_backtrack(W, W->x, W->z, W->d, s->f, gd, p->alpha, p->beta, &s->t, &fnew);
    }
    if (st != CQ_OK) return st;
    cq_opt_accept(W, fnew, s);
    return CQ_OK;
}

int cq_solver_gd(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(p != NULL && p->method == CQ_OPT_GD);
    assert(p->step == CQ_STEP_FIXED || p->step == CQ_STEP_ARMIJO || p->step == CQ_STEP_EXACT);
    static const cq_opt_rule rule = {NULL, gd_step, NULL};
    return cq_opt_run(&rule, NULL, p->memory < 0 ? 0 : p->memory, o, p, x, trace, cb, cb_ctx, res, it, err);
}
