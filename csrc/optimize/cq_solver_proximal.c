/* cq_solver_proximal.c -- the proximal gradient method and FISTA for f + l1 ||x||_1. */
#include <math.h>
#include <string.h>

#include "optimize/cq_opt_ws.h"

/* soft-thresholded step from y: xt = S_{t l1}(y - t gy); returns ||xt - y|| */
static double prox_step(cq_opt_ws *W, const double *y, const double *gy, double t, double l1)
{
    double s = 0.0;
    for (size_t j = 0; j < W->n; j++) {
        W->xt[j] = cq_opt_soft(y[j] - t * gy[j], t * l1);
        double dj = W->xt[j] - y[j];
        s += dj * dj;
    }
    return sqrt(s);
}

/* The two methods share everything but the extrapolation; fista = 0 or 1. */
static int prox_run(int fista, const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                    cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL && p->max_iter >= 0);
    assert(p->l1 >= 0.0 && p->t > 0.0);
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, p->memory < 0 ? 0 : p->memory, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double l1 = p->l1;
    double f, F = 0.0, gnorm = 0.0, t = p->t, tk = 1.0, fnew;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0;

    st = cq_opt_eval(&W, W.x, &f, W.g, W.z, 0);
    if (st != CQ_OK) goto done;
    F = f + (l1 > 0 ? l1 * cq_opt_norm1(W.x, n) : 0.0);
    gnorm = prox_step(&W, W.x, W.g, t, l1) / t;
    memcpy(W.xp, W.x, n * sizeof(double));
    memcpy(W.zp, W.z, W.zl * sizeof(double));
    st = cq_opt_loop_begin(&L, &W, p, trace, cb, cb_ctx, F, gnorm);
    if (st != CQ_OK) goto done;

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F;
        double fy, *y, *gy;
        if (fista) {
            double tk1 = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk)), mom = (tk - 1.0) / tk1;
            tk = tk1;
            for (size_t j = 0; j < n; j++) W.yv[j] = W.x[j] + mom * (W.x[j] - W.xp[j]);
            st = cq_opt_eval(&W, W.yv, &fy, W.gy, W.zy, 0);
            if (st != CQ_OK) goto done;
            y = W.yv; gy = W.gy;
        } else {
            fy = f; y = W.x; gy = W.g;
        }
        double dn = 0.0;
        for (int j = 0; j < 400; j++) {
            dn = prox_step(&W, y, gy, t, l1);
            st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, p->step != CQ_STEP_FIXED);
            if (st != CQ_OK) goto done;
            if (p->step == CQ_STEP_FIXED) break;
            double lin = 0.0;
            for (size_t i = 0; i < n; i++) lin += gy[i] * (W.xt[i] - y[i]);
            if (fnew <= fy + lin + dn * dn / (2.0 * t)) break;
            t *= p->beta;
            if (j == 399 || !(t > 0)) { status = CQ_OPT_LINESEARCH; goto finish; }
        }
        if (fista) {
            double *tmp = W.xp; W.xp = W.x; W.x = W.xt; W.xt = tmp;
        } else {
            CQ_SWAP(W.x, W.xt);
        }
        CQ_SWAP(W.g, W.gt); CQ_SWAP(W.z, W.zt);
        f = fnew;
        F = f + l1 * cq_opt_norm1(W.x, n);
        if (p->restart && fista && F > Fold) tk = 1.0;
        gnorm = dn / t;
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

/*
 * Problem: min_x F(x) = f(x) + l1 ||x||_1, f smooth.
 *
 * Iteration (proximal gradient, ISTA; Beck & Teboulle, SIAM J. Imaging Sci. 2009): x^{k+1} = prox_{t l1 ||.||_1}(x^k - t grad f(x^k))
 * = S_{t l1}(x^k - t g^k), soft-thresholding S_k(v) = sign(v) max(|v| - k, 0); t = 1/L
 * (step "fixed") or backtracking t := beta t until
 *   f(x+) <= f(x) + g'(x+ - x) + ||x+ - x||^2 / (2t)   (Beck & Teboulle 2009, backtracking).
 * The stopping measure is the gradient mapping ||x^k - x^{k+1}|| / t.
 */
int cq_solver_proximal(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                       cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(p != NULL && p->method == CQ_OPT_PROXIMAL);
    return prox_run(0, o, p, x, trace, cb, cb_ctx, res, it, err);
}

/*
 * Problem: min_x F(x) = f(x) + l1 ||x||_1, f smooth.
 *
 * Iteration (Beck & Teboulle 2009, FISTA): t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2,
 *   y^k = x^k + (t_k - 1)/t_{k+1} (x^k - x^{k-1}),  x^{k+1} = S_{t l1}(y^k - t grad f(y^k)),
 * with the same fixed / backtracking step as the proximal gradient method (the test taken
 * at y^k). With restart, t_k := 1 whenever F(x^{k+1}) > F(x^k) (O'Donoghue & Candes).
 */
int cq_solver_fista(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                    void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(p != NULL && p->method == CQ_OPT_FISTA);
    return prox_run(1, o, p, x, trace, cb, cb_ctx, res, it, err);
}
