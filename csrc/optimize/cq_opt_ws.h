/*
 * cq_opt_ws.h -- what the solvers of cq_optimize share (private to csrc/optimize/):
 * the workspace of iterate buffers with the fused evaluation, and the loop helpers that
 * record the trace, poll for Ctrl-C, call the callback and fill the result. No solver
 * calls back into the dispatcher (cq_optimize.c); each solver is one function
 * cq_solver_<name>() with the signature cq_solver_fn.
 *
 * Variable names follow the "Gradient method" slides: x^k, g^k, t (alpha in Raydan's / Zhang-Hager's
 * algorithms), s = x^{k+1} - x^k, y = g^{k+1} - g^k, C^k, Q^k (Zhang-Hager), M (memory).
 */
#ifndef CQ_OPT_WS_H
#define CQ_OPT_WS_H

#include <assert.h>
#include <stddef.h>

#include "optimize/cq_optimize.h"

/* A solver: minimise o from x (in: x0, out: the result) with the parameters p; the
 * same contract as cq_optimize(). */
typedef int (*cq_solver_fn)(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                            cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it,
                            cq_errinfo *err);

int cq_solver_gd(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_bb(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_nesterov(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                       cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_proximal(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                       cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_fista(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                    void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_subgradient(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                          cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it,
                          cq_errinfo *err);
int cq_solver_newton_cg(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                        cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_cg(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                 void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);
int cq_solver_lbfgs(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                    void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);

/* The workspace: the current iterate (x, g, z = X x), the trial / next one, the search
 * direction d with w = X d, the previous and extrapolated points, and counters. */
typedef struct cq_opt_ws {
    const cq_obj *o;        /* the objective */
    size_t n, zl;           /* dim(x), length of the linear predictor z */
    double *x, *g, *z;      /* current iterate */
    double *xt, *gt, *zt;   /* trial / next iterate */
    double *w, *d;          /* X d and the direction */
    double *xp, *zp;        /* previous iterate (Nesterov / FISTA) */
    double *yv, *gy, *zy;   /* extrapolated point */
    double *best;           /* subgradient: best iterate */
    double *hist;           /* max-rule memory, M + 1 values */
    int M;                  /* memory length of hist (M + 1 values), >= 0 */
    long nfev, ngev, passes;/* function / gradient evaluations, passes over the data */
    double f_first;         /* L-BFGS: value of the fused first trial */
    double *buf;            /* the one allocation behind the buffers */
    cq_interrupt *it;       /* Ctrl-C hook */
    cq_errinfo *err;        /* error detail */
} cq_opt_ws;

/* The loop bookkeeping every solver shares: the trace, the clock, the poll counter and
 * the callback. */
typedef struct cq_opt_loop {
    const cq_opt_params *p; /* the run's parameters */
    cq_opt_trace *trace;    /* NULL: no trace */
    cq_opt_callback cb;     /* NULL: no callback */
    void *cb_ctx;           /* its context */
    double t0_time;         /* start time (monotonic seconds) */
    long since_poll;        /* work since the last interrupt poll */
} cq_opt_loop;

#define CQ_SWAP(a, b) do { double *tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

double cq_opt_dot(const double *a, const double *b, size_t n);
double cq_opt_norm1(const double *a, size_t n);
static inline double cq_opt_soft(double v, double k)
{
    return v > k ? v - k : (v < -k ? v + k : 0.0);
}

/* Allocate the workspace for o with max-rule memory M and copy x0 into W->x. */
int cq_opt_ws_init(cq_opt_ws *W, const cq_obj *o, int M, const double *x0, cq_interrupt *it, cq_errinfo *err);
void cq_opt_ws_free(cq_opt_ws *W);

/* Fused evaluation f(x), g = grad f(x), z = X x; a non-finite value at a trial point is
 * reported as +inf (CQ_OK). Counts one f (and g) evaluation and one pass. */
int cq_opt_eval(cq_opt_ws *W, const double *x, double *f, double *g, double *z, int trial);

/* Start the loop: the clock, and trace entry 0 = (F, gnorm, 0). */
int cq_opt_loop_begin(cq_opt_loop *L, cq_opt_ws *W, const cq_opt_params *p, cq_opt_trace *trace,
                      cq_opt_callback cb, void *cb_ctx, double F, double gnorm);
/* The usual start: f, g, z at W->x, *gnorm = ||g||_2, then cq_opt_loop_begin with F = f. */
int cq_opt_start(cq_opt_loop *L, cq_opt_ws *W, const cq_opt_params *p, cq_opt_trace *trace,
                 cq_opt_callback cb, void *cb_ctx, double *f, double *gnorm);
/* The usual bottom of iteration k for a gradient step: the trial (xt, gt, zt) becomes the
 * iterate, *f = fnew, *gnorm = ||g||_2, then cq_opt_loop_end with F = fnew and step t. */
int cq_opt_next(cq_opt_loop *L, cq_opt_ws *W, long k, double fnew, double Fold, double t, double *f,
                double *gnorm, int *stop);
/* Top of iteration k: room for trace entry k, and an interrupt poll about every 4M
 * flops of work. CQ_OK or a failing status. */
int cq_opt_loop_poll(cq_opt_loop *L, cq_opt_ws *W, long k);
/* Bottom of iteration k: record (F, gnorm, t), call the callback with step t, test
 * |F - Fold| < ftol. Returns CQ_OK with *stop = 0 (go on) or the stopping status
 * (CQ_OPT_CALLBACK / CQ_OPT_FTOL), or CQ_ECALLBACK. */
int cq_opt_loop_end(cq_opt_loop *L, cq_opt_ws *W, long k, double F, double Fold, double gnorm, double t,
                    int *stop);
/* Copy the final iterate W->x out and fill res (nit = k - 1, k clipped to max_iter + 1). */
void cq_opt_loop_finish(cq_opt_loop *L, cq_opt_ws *W, double *x, long k, int status, double F, double gnorm,
                        cq_opt_result *res);
/* The common exit: a diverged iteration gets its message; frees the workspace. */
int cq_opt_loop_done(cq_opt_ws *W, int st, long k);

#endif /* CQ_OPT_WS_H */
