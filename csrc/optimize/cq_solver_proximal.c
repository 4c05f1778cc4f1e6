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

typedef struct prox_state {
    int fista; /* 0: proximal gradient, 1: FISTA */
    double tk; /* FISTA's t_k */
} prox_state;

static int prox_start(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    (void)ctx;
    int st = cq_opt_eval(W, W->x, &s->f, W->g, W->z, 0);
    if (st != CQ_OK) return st;
    s->F = s->f + (p->l1 > 0 ? p->l1 * cq_opt_norm1(W->x, W->n) : 0.0);
    s->gnorm = prox_step(W, W->x, W->g, s->t, p->l1) / s->t;
    memcpy(W->xp, W->x, W->n * sizeof(double));
    memcpy(W->zp, W->z, W->zl * sizeof(double));
    return CQ_OK;
}

/* The two methods share everything but the extrapolation. */
static int prox_iter(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    prox_state *P = (prox_state *)ctx;
    size_t n = W->n;
    double l1 = p->l1, fnew, fy, *y, *gy;
    int st;
    (void)k;
    if (P->fista) {
        double tk1 = 0.5 * (1.0 + sqrt(1.0 + 4.0 * P->tk * P->tk)), mom = (P->tk - 1.0) / tk1;
        P->tk = tk1;
        for (size_t j = 0; j < n; j++) W->yv[j] = W->x[j] + mom * (W->x[j] - W->xp[j]);
        st = cq_opt_eval(W, W->yv, &fy, W->gy, W->zy, 0);
        if (st != CQ_OK) return st;
        y = W->yv; gy = W->gy;
    } else {
        fy = s->f; y = W->x; gy = W->g;
    }
    double dn = 0.0;
    for (int j = 0; j < 400; j++) {
        dn = prox_step(W, y, gy, s->t, l1);
        st = cq_opt_eval(W, W->xt, &fnew, W->gt, W->zt, p->step != CQ_STEP_FIXED);
        if (st != CQ_OK) return st;
        if (p->step == CQ_STEP_FIXED) break;
        double lin = 0.0;
        for (size_t i = 0; i < n; i++) lin += gy[i] * (W->xt[i] - y[i]);
        if (fnew <= fy + lin + dn * dn / (2.0 * s->t)) break;
        s->t *= p->beta;
        if (j == 399 || !(s->t > 0)) return CQ_OPT_STEP_FAIL;
    }
    if (P->fista) {
        double *tmp = W->xp; W->xp = W->x; W->x = W->xt; W->xt = tmp;
    } else {
        CQ_SWAP(W->x, W->xt);
    }
    CQ_SWAP(W->g, W->gt); CQ_SWAP(W->z, W->zt);
    double Fold = s->F;
    s->f = fnew;
    s->F = fnew + l1 * cq_opt_norm1(W->x, n);
    if (p->restart && P->fista && s->F > Fold) P->tk = 1.0;
    s->gnorm = dn / s->t;
    return CQ_OK;
}

static int prox_run(int fista, const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                    cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(p != NULL && p->l1 >= 0.0 && p->t > 0.0);
    static const cq_opt_rule rule = {prox_start, prox_iter, NULL};
    prox_state P = {fista, 1.0};
    return cq_opt_run(&rule, &P, p->memory < 0 ? 0 : p->memory, o, p, x, trace, cb, cb_ctx, res, it, err);
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
