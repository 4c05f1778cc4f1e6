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
int cq_solver_nesterov(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                       cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    assert(p->method == CQ_OPT_NESTEROV && p->max_iter >= 0);
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, p->memory < 0 ? 0 : p->memory, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double f, F = 0.0, gnorm = 0.0, t = p->t, fnew;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0, kmom = 1;

    st = cq_opt_start(&L, &W, p, trace, cb, cb_ctx, &f, &gnorm);
    if (st != CQ_OK) goto done;
    F = f;
    memcpy(W.xp, W.x, n * sizeof(double));
    memcpy(W.zp, W.z, W.zl * sizeof(double));

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F;
        double beta_k = (double)(kmom - 1) / (double)(kmom + 2), fy;
        for (size_t j = 0; j < n; j++) W.yv[j] = W.x[j] + beta_k * (W.x[j] - W.xp[j]);
        st = cq_opt_eval(&W, W.yv, &fy, W.gy, W.zy, 0);
        if (st != CQ_OK) goto done;
        for (size_t j = 0; j < n; j++) W.d[j] = -W.gy[j];
        double gy2 = cq_opt_dot(W.gy, W.gy, n);
        if (p->step == CQ_STEP_FIXED) {
            t = p->t;
            for (size_t j = 0; j < n; j++) W.xt[j] = W.yv[j] + t * W.d[j];
            st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
        } else {
            st = cq_ls_backtrack(&W, W.yv, W.zy, W.d, fy, -gy2, p->alpha, p->beta, &t, &fnew);
            if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
        }
        if (st != CQ_OK) goto done;
        CQ_SWAP(W.xp, W.x);   /* the previous iterate; cq_opt_next makes the trial the current one */
        kmom = (p->restart && fnew > f) ? 1 : kmom + 1;
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
