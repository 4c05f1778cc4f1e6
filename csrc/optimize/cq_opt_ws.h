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

/* ---- the shared solver frame: a solver is its update rule --------------------------
 * cq_opt_run() owns everything around the update of iteration k: the workspace, the
 * start, the trace, the stopping tests (gnorm <= tol, |F - Fold| < ftol, max_iter, the
 * callback), the interrupt poll and the result. A solver hands it a cq_opt_rule and its
 * own state ctx. */

/* What the frame records each iteration; a rule reads and updates it. */
typedef struct cq_opt_state {
    double f;     /* f(x^k), the smooth part */
    double F;     /* the objective value recorded and tested (f, or f + l1 ||x||_1) */
    double gnorm; /* the stopping measure recorded and tested against tol */
    double t;     /* the step recorded for iteration k; p->t before the start */
} cq_opt_state;

/* CQ_OK, CQ_OPT_STEP_FAIL (no acceptable step: the run ends with CQ_OPT_LINESEARCH), or a
 * failing status. */
#define CQ_OPT_STEP_FAIL (-1)

typedef struct cq_opt_rule {
    /* start: set s->f, s->F, s->gnorm at W->x (NULL: cq_opt_first) */
    int (*start)(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s);
    /* iteration k >= 1: move W->x (with W->g, W->z) to x^{k+1} and update s */
    int (*step)(void *ctx, cq_opt_ws *W, const cq_opt_params *p, long k, cq_opt_state *s);
    /* after the loop, unless a step failed (NULL: nothing) */
    int (*stop)(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s);
} cq_opt_rule;

/* Run the rule R with state ctx and max-rule memory M; the contract of cq_solver_fn. */
int cq_opt_run(const cq_opt_rule *R, void *ctx, int M, const cq_obj *o, const cq_opt_params *p, double *x,
               cq_opt_trace *trace, cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it,
               cq_errinfo *err);

/* The usual start: f, g, z at W->x, s->F = s->f, s->gnorm = ||g||_2. */
int cq_opt_first(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s);
/* The usual end of a step: the trial (xt, gt, zt) becomes the iterate, s->f = s->F = fnew,
 * s->gnorm = ||g||_2. */
void cq_opt_accept(cq_opt_ws *W, double fnew, cq_opt_state *s);
/* W->d = -W->g; returns g'd = -gnorm^2. */
double cq_opt_steepest(cq_opt_ws *W, double gnorm);
/* g'd for the direction W->d, or, when it is not a descent direction (g'd >= 0, e.g. by
 * rounding), W->d = -W->g with *restarted = 1 and g'd = -gnorm^2. */
double cq_opt_descent(cq_opt_ws *W, double gnorm, int *restarted);
/* The trial point xt = base + t d with its fused pass (f into *fnew, gt, zt). */
int cq_opt_trial(cq_opt_ws *W, const double *base, double t, double *fnew);

#endif /* CQ_OPT_WS_H */
