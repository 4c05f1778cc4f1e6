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
typedef struct bb_state {
    double Ck, Qk; /* Zhang-Hager's C^k, Q^k */
    double t;      /* the next trial step alpha */
} bb_state;

static int bb_start(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    bb_state *B = (bb_state *)ctx;
    int st = cq_opt_first(ctx, W, p, s);
    if (st != CQ_OK) return st;
    B->Ck = s->F;
    for (int j = 0; j <= W->M; j++) W->hist[j] = s->F;
    return CQ_OK;
}

static int bb_step(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    bb_state *B = (bb_state *)ctx;
    size_t n = W->n;
    double fnew, gd = cq_opt_steepest(W, s->gnorm);
    int st;
    if (p->nonmonotone == CQ_NM_NONE) {
        st = cq_opt_trial(W, W->x, B->t, &fnew);
    } else {
        double ref = p->nonmonotone == CQ_NM_MAX ? cq_ls_nonmonotone_max(W, k) : B->Ck;
        st = cq_ls_backtrack(W, W->x, W->z, W->d, ref, gd, p->alpha, p->beta, &B->t, &fnew);
    }
    if (st != CQ_OK) return st;
    double sy = 0.0, ss = 0.0, yy = 0.0;
    for (size_t j = 0; j < n; j++) {
        double sj = W->xt[j] - W->x[j], yj = W->gt[j] - W->g[j];
        sy += sj * yj; ss += sj * sj; yy += yj * yj;
    }
    double tn;
    if (sy <= 0) tn = p->t_max;
    else tn = p->bb_variant == 2 ? sy / yy : ss / sy;
    if (tn > p->t_max) tn = p->t_max;
    if (tn < p->t_min) tn = p->t_min;
    if (p->nonmonotone == CQ_NM_AVERAGE) cq_ls_nonmonotone_average(p->eta, fnew, &B->Ck, &B->Qk);
    W->hist[k % (W->M + 1)] = fnew;
    s->t = B->t; /* the step used */
    B->t = tn;
    cq_opt_accept(W, fnew, s);
    return CQ_OK;
}

int cq_solver_bb(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(p != NULL && p->method == CQ_OPT_BB);
    assert(p->bb_variant == 1 || p->bb_variant == 2);
    assert(p->nonmonotone == CQ_NM_NONE || p->nonmonotone == CQ_NM_MAX || p->nonmonotone == CQ_NM_AVERAGE);
    static const cq_opt_rule rule = {bb_start, bb_step, NULL};
    bb_state B = {0.0, 1.0, p->t};
    return cq_opt_run(&rule, &B, p->memory < 0 ? 0 : p->memory, o, p, x, trace, cb, cb_ctx, res, it, err);
}
