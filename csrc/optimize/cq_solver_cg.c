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
typedef struct cg_state {
    double gd_prev, t_prev; /* g'd and the step of the previous iteration */
    long since_restart;     /* iterations since d was last reset to -g */
} cg_state;

static int cg_start(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    int st = cq_opt_first(ctx, W, p, s);
    if (st != CQ_OK) return st;
    s->t = 0.0;
    for (size_t j = 0; j < W->n; j++) W->d[j] = -W->g[j];
    return CQ_OK;
}

static int cg_step(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    cg_state *C = (cg_state *)ctx;
    size_t n = W->n;
    double fnew, gnorm = s->gnorm;
    int st, restarted; /* not a descent direction (rounding, or PR+/FR without Wolfe): restart */
    double gd = cq_opt_descent(W, gnorm, &restarted);
    if (restarted) C->since_restart = 0;
    if (p->step == CQ_STEP_EXACT) {
        st = cq_ls_exact_step(W, s->f, &s->t, &fnew);
    } else {
        double t = k == 1 ? 1.0 / gnorm : C->t_prev * C->gd_prev / gd;
        if (!(t > 0.0) || !isfinite(t)) t = 1.0 / gnorm;
        st = cq_ls_wolfe_step(W, s->f, gd, p->alpha, p->c2, &t, &fnew);
        s->t = t;
    }
    if (st != CQ_OK) return st;
    /* beta from g = W->gt (new) and g_old = W->g, before the swap */
    double gg_old = gnorm * gnorm, gg = 0.0, gy = 0.0, yy = 0.0, dy = 0.0, dd = 0.0;
    for (size_t j = 0; j < n; j++) {
        double gn = W->gt[j], yj = gn - W->g[j];
        gg += gn * gn;
        gy += gn * yj;
        yy += yj * yj;
        dy += W->d[j] * yj;
        dd += W->d[j] * W->d[j];
    }
    double beta;
    if (p->cg_rule == CQ_CG_FR) {
        beta = gg / gg_old;
    } else if (p->cg_rule == CQ_CG_PRPLUS) {
        beta = gy / gg_old;
        if (!(beta > 0.0)) beta = 0.0;
    } else {
        double dg = cq_opt_dot(W->d, W->gt, n);
        beta = dy != 0.0 ? (gy - 2.0 * yy * dg / dy) / dy : 0.0;
        double lo = -1.0 / (sqrt(dd) * fmin(0.01, gnorm));
        if (!(beta > lo)) beta = lo;
    }
    if (!isfinite(beta)) beta = 0.0;
    C->since_restart++;
    if (C->since_restart >= (long)n) { beta = 0.0; C->since_restart = 0; }
    CQ_SWAP(W->x, W->xt); CQ_SWAP(W->g, W->gt); CQ_SWAP(W->z, W->zt);
    for (size_t j = 0; j < n; j++) W->d[j] = -W->g[j] + beta * W->d[j];
    C->t_prev = s->t;
    C->gd_prev = gd;
    s->f = s->F = fnew;
    s->gnorm = sqrt(gg);
    return CQ_OK;
}

int cq_solver_cg(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && p->method == CQ_OPT_CG);
    assert(p->cg_rule == CQ_CG_FR || p->cg_rule == CQ_CG_PRPLUS || p->cg_rule == CQ_CG_HZ);
    if (o->kind == CQ_OBJ_HINGE) return cq_fail(err, CQ_EINVAL, "conjugate gradients need a differentiable objective");
    static const cq_opt_rule rule = {cg_start, cg_step, NULL};
    cg_state C = {0.0, 0.0, 0};
    return cq_opt_run(&rule, &C, 0, o, p, x, trace, cb, cb_ctx, res, it, err);
}
