/* cq_solver_lbfgs.c -- limited-memory BFGS with a strong-Wolfe line search. */
#include <math.h>
#include <stdlib.h>

#include "optimize/cq_linesearch.h"

/* ---- L-BFGS: Nocedal & Wright, Algorithms 7.4 / 7.5, strong-Wolfe search 3.5 / 3.6 ---- */

#define LB_MAXEVAL 40   /* function evaluations per line search */

typedef struct lbfgs_mem {
    double *S, *Y;      /* M x n ring buffers of s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i */
    double *rho, *a;    /* rho_i = 1 / y_i's_i; the alpha_i of the two-loop recursion */
    int M, count, head; /* capacity, pairs stored, slot of the next pair */
} lbfgs_mem;

/* Algorithm 7.4: d = -H_k g with H_k^0 = gamma I, gamma = s'y / y'y of the newest pair
 * (eq. 7.20; gamma = 1 without pairs). */
static void two_loop(const lbfgs_mem *L, const double *g, double *d, size_t n)
{
    for (size_t j = 0; j < n; j++) d[j] = g[j];
    for (int c = 0; c < L->count; c++) { /* newest to oldest */
        int i = (L->head - 1 - c + 2 * L->M) % L->M;
        const double *s = L->S + (size_t)i * n, *y = L->Y + (size_t)i * n;
        double ai = L->rho[i] * cq_opt_dot(s, d, n);
        L->a[i] = ai;
        for (size_t j = 0; j < n; j++) d[j] -= ai * y[j];
    }
    if (L->count > 0) {
        int i = (L->head - 1 + L->M) % L->M;
        const double *s = L->S + (size_t)i * n, *y = L->Y + (size_t)i * n;
        double gamma = cq_opt_dot(s, y, n) / cq_opt_dot(y, y, n);
        for (size_t j = 0; j < n; j++) d[j] *= gamma;
    }
    for (int c = L->count - 1; c >= 0; c--) { /* oldest to newest */
        int i = (L->head - 1 - c + 2 * L->M) % L->M;
        const double *s = L->S + (size_t)i * n, *y = L->Y + (size_t)i * n;
        double b = L->rho[i] * cq_opt_dot(y, d, n);
        for (size_t j = 0; j < n; j++) d[j] += (L->a[i] - b) * s[j];
    }
    for (size_t j = 0; j < n; j++) d[j] = -d[j];
}

/*
 * Problem: min_x f(x), f smooth (not for Hinge).
 *
 * Iteration (Nocedal & Wright, Numerical Optimization, 2nd ed., ch. 7, Algorithm 7.5):
 *   d_k = -H_k g_k by the two-loop recursion (Algorithm 7.4) over the last m pairs
 *   s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i, rho_i = 1 / y_i's_i, with H_k^0 = gamma_k I,
 *   gamma_k = s'_{k-1} y_{k-1} / y'_{k-1} y_{k-1} (eq. 7.20);
 *   x_{k+1} = x_k + alpha_k d_k, alpha_k from the strong-Wolfe search (Algorithms 3.5,
 *   3.6; cq_ls_wolfe) from alpha = 1 (1/||g|| while no pair is stored);
 *   the pair (s_k, y_k) is stored only when s'y > eps y'y (curvature), else the memory is
 *   kept; a non-descent d_k (rounding) restarts from d_k = -g_k with an empty memory.
 * The accepted first trial is a fused pass that also yields g_{k+1}; otherwise one more
 * fused pass at the accepted point.
 */
/* Algorithm 7.5: d = -H_k g (7.4), strong-Wolfe step, store (s, y) if s'y > 0 */
static int lbfgs_step(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s)
{
    lbfgs_mem *LM = (lbfgs_mem *)ctx;
    size_t n = W->n;
    double fnew;
    int restarted; /* not a descent direction (rounding): restart from -g */
    (void)k;
    two_loop(LM, W->g, W->d, n);
    double gd = cq_opt_descent(W, s->gnorm, &restarted);
    if (restarted) LM->count = 0;
    s->t = LM->count > 0 ? 1.0 : 1.0 / sqrt(-gd); /* no pair yet: ||t d|| = 1 (d = -g) */
    int st = cq_ls_wolfe_step(W, s->f, gd, p->alpha, p->c2, &s->t, &fnew);
    if (st != CQ_OK) return st;
    double sy = 0.0, yy = 0.0;
    for (size_t j = 0; j < n; j++) {
        double sj = W->xt[j] - W->x[j], yj = W->gt[j] - W->g[j];
        sy += sj * yj;
        yy += yj * yj;
    }
    if (sy > 2.220446049250313e-16 * yy && sy > 0.0) { /* else keep the memory as it is */
        double *S = LM->S + (size_t)LM->head * n, *Y = LM->Y + (size_t)LM->head * n;
        for (size_t j = 0; j < n; j++) {
            S[j] = W->xt[j] - W->x[j];
            Y[j] = W->gt[j] - W->g[j];
        }
        LM->rho[LM->head] = 1.0 / sy;
        LM->head = (LM->head + 1) % LM->M;
        if (LM->count < LM->M) LM->count++;
    }
    cq_opt_accept(W, fnew, s);
    return CQ_OK;
}

int cq_solver_lbfgs(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                    void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && p->method == CQ_OPT_LBFGS);
    int M = p->memory < 0 ? 0 : p->memory;
    size_t n = cq_obj_dim(o), nn = n ? n : 1;
    lbfgs_mem LM = {NULL, NULL, NULL, NULL, 0, 0, 0};
    LM.M = M < 1 ? 1 : M;
    double *lbuf = (double *)malloc((2 * (size_t)LM.M * nn + 2 * (size_t)LM.M) * sizeof(double));
    if (lbuf == NULL)
        return cq_fail(err, CQ_ENOMEM, "out of memory for the L-BFGS memory (%d pairs of length %zu)", LM.M, n);
    LM.S = lbuf;
    LM.Y = LM.S + (size_t)LM.M * nn;
    LM.rho = LM.Y + (size_t)LM.M * nn;
    LM.a = LM.rho + LM.M;
    static const cq_opt_rule rule = {NULL, lbfgs_step, NULL};
    int st = cq_opt_run(&rule, &LM, M, o, p, x, trace, cb, cb_ctx, res, it, err);
    free(lbuf);
    return st;
}
