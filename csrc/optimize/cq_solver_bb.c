/* cq_solver_bb.c -- the Barzilai-Borwein gradient method with nonmonotone line searches. */
#include <math.h>

#include "optimize/cq_linesearch.h"

/*
 * Problem: min_x f(x), f smooth.
 *
 * Iteration (gradient-method notes, pages "Barzilai-Borwein (BB) gradient method" and
 * "Globalization strategy for BB method", Algorithms 1 and 2): d^k = -g^k,
 * x^{k+1} = x^k + alpha_k d^k, then with s^k = x^{k+1} - x^k, y^k = g^{k+1} - g^k the
 * next trial step is
 *   BB1: alpha = (s'^k s^k) / (s'^k y^k),   BB2: alpha = (s'^k y^k) / (y'^k y^k)
 * (t_max when s'y <= 0), clipped to [t_min, t_max]. alpha_k is accepted
 *   nonmonotone "none":    as it is;
 *   nonmonotone "max":     after backtracking alpha := delta alpha until
 *                          f(x^k + alpha d^k) <= max_{0<=j<=min(k,M)} f(x^{k-j}) + c1 alpha g'd
 *                          (Raydan 1997, Algorithm 1);
 *   nonmonotone "average": the same against C^k, C^{k+1} = (eta Q^k C^k + f^{k+1}) / Q^{k+1},
 *                          Q^{k+1} = eta Q^k + 1, C^0 = f^0, Q^0 = 1 (Zhang & Hager 2004, Algorithm 2).
 * The trace records the step used, alpha_k.
 */
int cq_solver_bb(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    assert(p->method == CQ_OPT_BB && p->max_iter >= 0);
    assert(p->bb_variant == 1 || p->bb_variant == 2);
    assert(p->nonmonotone == CQ_NM_NONE || p->nonmonotone == CQ_NM_MAX || p->nonmonotone == CQ_NM_AVERAGE);
    cq_opt_ws W;
    cq_opt_loop L;
    int M = p->memory < 0 ? 0 : p->memory;
    int st = cq_opt_ws_init(&W, o, M, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double f, F = 0.0, gnorm = 0.0, t = p->t, Ck, Qk = 1.0, fnew;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0;

    st = cq_opt_start(&L, &W, p, trace, cb, cb_ctx, &f, &gnorm);
    if (st != CQ_OK) goto done;
    F = f;
    Ck = F;
    for (int j = 0; j <= M; j++) W.hist[j] = F;

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F;
        for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j];
        double gd = -gnorm * gnorm;
        if (p->nonmonotone == CQ_NM_NONE) {
            for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
            st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
        } else {
            double ref = p->nonmonotone == CQ_NM_MAX ? cq_ls_nonmonotone_max(&W, k) : Ck;
            st = cq_ls_backtrack(&W, W.x, W.z, W.d, ref, gd, p->alpha, p->beta, &t, &fnew);
            if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
        }
        if (st != CQ_OK) goto done;
        double sy = 0.0, ss = 0.0, yy = 0.0;
        for (size_t j = 0; j < n; j++) {
            double s = W.xt[j] - W.x[j], y = W.gt[j] - W.g[j];
            sy += s * y; ss += s * s; yy += y * y;
        }
        double tn;
        if (sy <= 0) tn = p->t_max;
        else tn = p->bb_variant == 2 ? sy / yy : ss / sy;
        if (tn > p->t_max) tn = p->t_max;
        if (tn < p->t_min) tn = p->t_min;
        if (p->nonmonotone == CQ_NM_AVERAGE) cq_ls_nonmonotone_average(p->eta, fnew, &Ck, &Qk);
        W.hist[k % (M + 1)] = fnew;
        double t_used = t;
        t = tn;
        st = cq_opt_next(&L, &W, k, fnew, Fold, t_used, &f, &gnorm, &stop);
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
