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
int cq_solver_gd(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    assert(p->method == CQ_OPT_GD && p->max_iter >= 0);
    assert(p->step == CQ_STEP_FIXED || p->step == CQ_STEP_ARMIJO || p->step == CQ_STEP_EXACT);
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, p->memory < 0 ? 0 : p->memory, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double f, F = 0.0, gnorm = 0.0, t = p->t, fnew;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0;

    st = cq_opt_start(&L, &W, p, trace, cb, cb_ctx, &f, &gnorm);
    if (st != CQ_OK) goto done;
    F = f;

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F;
        for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j];
        double gd = -gnorm * gnorm;
        if (p->step == CQ_STEP_FIXED) {
            t = p->t;
            for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
            st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
        } else if (p->step == CQ_STEP_EXACT) {
            st = cq_ls_exact(&W, f, &t);
            if (st != CQ_OK) goto done;
            if (!(t > 0)) { status = CQ_OPT_LINESEARCH; goto finish; }
            for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
            st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
        } else {
            t = p->t;
            st = cq_ls_backtrack(&W, W.x, W.z, W.d, f, gd, p->alpha, p->beta, &t, &fnew);
            if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
        }
        if (st != CQ_OK) goto done;
        st = cq_opt_next(&L, &W, k, fnew, Fold, t, &f, &gnorm, &stop);
        F = f;
        if (st != CQ_OK) goto done;
        if (stop) { status = stop; k++; break; }
    }
finish:
    cq_opt_loop_finish(&L, &W, x, k, status, F, gnorm, res);
    st = CQ_OK;
done:
    return cq_opt_loop_done(&W, st, k);
}
