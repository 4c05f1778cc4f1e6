/* cq_solver_cg.c -- conjugate gradients: linear CG by exact steps on quadratic models,
 * nonlinear CG (Fletcher-Reeves, Polak-Ribiere+, Hager-Zhang) with a strong-Wolfe search. */
#include <math.h>

#include "optimize/cq_linesearch.h"

/*
 * Problem: min_x f(x), f smooth (not for Hinge).
 *
 * Iteration (Nocedal & Wright, Numerical Optimization, 2nd ed., ch. 5: Algorithm 5.2 for
 * linear CG, Algorithm 5.4 and section 5.2 for nonlinear CG; Hager & Zhang, "A New
 * Conjugate Gradient Method with Guaranteed Descent and an Efficient Line Search",
 * SIAM J. Optim. 16 (2005), eq. (1.2) and the truncation (2.2)):
 *   d_0 = -g_0;  x_{k+1} = x_k + t_k d_k;  d_{k+1} = -g_{k+1} + beta_{k+1} d_k with
 *   y_k = g_{k+1} - g_k and
 *     FR  beta = g_{k+1}'g_{k+1} / g_k'g_k                                  (N&W 5.41a)
 *     PR+ beta = max(0, g_{k+1}'y_k / g_k'g_k)                               (N&W 5.45)
 *     HZ  beta = max((y_k - 2 d_k ||y_k||^2 / d_k'y_k)'g_{k+1} / d_k'y_k,
 *                    -1 / (||d_k|| min(0.01, ||g_k||)))
 *   step "exact": t_k = -g_k'd_k / d_k'H d_k on Quadratic / LeastSquares (then FR is
 *     exactly linear CG, Algorithm 5.2, finite termination in n steps in exact arithmetic),
 *     a golden-section search otherwise (cq_ls_exact);
 *   otherwise the strong-Wolfe search (cq_ls_wolfe; c2 = 0.1 by default, N&W section 5.2)
 *     from t = 1/||g_0|| at k = 0 and t_{k-1} g_{k-1}'d_{k-1} / g_k'd_k later (N&W eq. 3.60).
 *   A direction that is not a descent direction (g'd >= 0), or every n iterations, restarts
 *   with d = -g (N&W section 5.2, "restarts").
 */
int cq_solver_cg(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    assert(p->method == CQ_OPT_CG && p->max_iter >= 0);
    assert(p->cg_rule == CQ_CG_FR || p->cg_rule == CQ_CG_PRPLUS || p->cg_rule == CQ_CG_HZ);
    if (o->kind == CQ_OBJ_HINGE) return cq_fail(err, CQ_EINVAL, "conjugate gradients need a differentiable objective");
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, 0, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double f, F = 0.0, gnorm = 0.0, t = 0.0, fnew, gd = 0.0, gd_prev = 0.0, t_prev = 0.0;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0, since_restart = 0;

    st = cq_opt_start(&L, &W, p, trace, cb, cb_ctx, &f, &gnorm);
    if (st != CQ_OK) goto done;
    F = f;
    for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j];

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F;
        gd = cq_opt_dot(W.g, W.d, n);
        if (!(gd < 0.0)) { /* not a descent direction (rounding, or PR+/FR without Wolfe): restart */
            for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j];
            gd = -gnorm * gnorm;
            since_restart = 0;
        }
        if (p->step == CQ_STEP_EXACT) {
            st = cq_ls_exact(&W, f, &t);
            if (st != CQ_OK) goto done;
            if (!(t > 0)) { status = CQ_OPT_LINESEARCH; goto finish; }
            for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
            st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
            if (st != CQ_OK) goto done;
        } else {
            t = k == 1 ? 1.0 / gnorm : t_prev * gd_prev / gd;
            if (!(t > 0.0) || !isfinite(t)) t = 1.0 / gnorm;
            int first_acc = 0;
            st = cq_ls_wolfe(&W, f, gd, p->alpha, p->c2, &t, &first_acc);
            if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
            if (st != CQ_OK) goto done;
            if (first_acc) {
                fnew = W.f_first; /* (xt, gt, zt) hold the fused pass of the first trial */
            } else {
                for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
                st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
                if (st != CQ_OK) goto done;
            }
        }
        /* beta from g = W.gt (new) and g_old = W.g, before the swap */
        double gg_old = gnorm * gnorm, gg = 0.0, gy = 0.0, yy = 0.0, dy = 0.0, dd = 0.0;
        for (size_t j = 0; j < n; j++) {
            double gn = W.gt[j], yj = gn - W.g[j];
            gg += gn * gn;
            gy += gn * yj;
            yy += yj * yj;
            dy += W.d[j] * yj;
            dd += W.d[j] * W.d[j];
        }
        double beta;
        if (p->cg_rule == CQ_CG_FR) {
            beta = gg / gg_old;
        } else if (p->cg_rule == CQ_CG_PRPLUS) {
            beta = gy / gg_old;
            if (!(beta > 0.0)) beta = 0.0;
        } else {
            double dg = cq_opt_dot(W.d, W.gt, n);
            beta = dy != 0.0 ? (gy - 2.0 * yy * dg / dy) / dy : 0.0;
            double lo = -1.0 / (sqrt(dd) * fmin(0.01, gnorm));
            if (!(beta > lo)) beta = lo;
        }
        if (!isfinite(beta)) beta = 0.0;
        since_restart++;
        if (since_restart >= (long)n) { beta = 0.0; since_restart = 0; }
        CQ_SWAP(W.x, W.xt); CQ_SWAP(W.g, W.gt); CQ_SWAP(W.z, W.zt);
        for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j] + beta * W.d[j];
        t_prev = t;
        gd_prev = gd;
        f = fnew;
        F = f;
        gnorm = sqrt(gg);
        st = cq_opt_loop_end(&L, &W, k, F, Fold, gnorm, t, &stop);
        if (st != CQ_OK) goto done;
        if (stop) { status = stop; k++; break; }
    }
finish:
    cq_opt_loop_finish(&L, &W, x, k, status, F, gnorm, res);
    st = CQ_OK;
done:
    return cq_opt_loop_done(&W, st, k);
}
