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
int cq_solver_subgradient(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                          cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it,
                          cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    assert(p->method == CQ_OPT_SUBGRADIENT && p->max_iter >= 0 && p->t > 0.0);
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, p->memory < 0 ? 0 : p->memory, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double f, F = 0.0, gnorm = 0.0, t, fnew, fbest = 0.0;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0;

    st = cq_opt_start(&L, &W, p, trace, cb, cb_ctx, &f, &gnorm);
    if (st != CQ_OK) goto done;
    F = f;
    fbest = F;
    memcpy(W.best, W.x, n * sizeof(double));

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F;
        t = p->t / sqrt((double)k);
        for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] - t * W.g[j];
        st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
        if (st != CQ_OK) goto done;
        CQ_SWAP(W.x, W.xt); CQ_SWAP(W.g, W.gt); CQ_SWAP(W.z, W.zt);
        f = fnew;
        F = f;
        gnorm = sqrt(cq_opt_dot(W.g, W.g, n));
        if (F < fbest) {
            fbest = F;
            memcpy(W.best, W.x, n * sizeof(double));
        }
        st = cq_opt_loop_end(&L, &W, k, F, Fold, gnorm, t, &stop);
        if (st != CQ_OK) goto done;
        if (stop) { status = stop; k++; break; }
    }
    if (fbest < F) { /* return the best iterate */
        memcpy(W.x, W.best, n * sizeof(double));
        F = fbest;
        st = cq_opt_eval(&W, W.x, &f, W.g, W.z, 0);
        if (st != CQ_OK) goto done;
        gnorm = sqrt(cq_opt_dot(W.g, W.g, n));
    }
    cq_opt_loop_finish(&L, &W, x, k, status, F, gnorm, res);
    st = CQ_OK;
done:
    return cq_opt_loop_done(&W, st, k);
}
