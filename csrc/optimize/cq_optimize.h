/*
 * cq_optimize.h -- the first-order methods of the gradient-method notes, iterated in C
 * (one solver function per file, cq_solver_<name>.c, dispatched by cq_optimize.c through a
 * table; line searches in cq_linesearch.c; shared loop helpers in cq_opt_ws.c)
 * over a cq_obj (lecture slides "Gradient method", after L. Vandenberghe's EE236C notes).
 *
 * Read me first
 * -------------
 * - State per iterate: x, g = grad f(x), f, and the cached linear predictor z = X x.
 *   A line-search trial x + t d costs O(m): z(x + t d) = z + t w with w = X d computed
 *   once per line search (only when the first trial, evaluated by a fused pass that
 *   also yields the new gradient, is rejected).
 * - Methods: gradient (fixed / Armijo / exact step), Barzilai-Borwein (BB1/BB2 with
 *   Raydan's max-type or Zhang-Hager's average-type nonmonotone line search, or none),
 *   Nesterov (constant step or backtracking), proximal gradient and FISTA for
 *   f + l1 ||x||_1 (both optionally with function-value momentum restart), subgradient with t_k = t0 / sqrt(k + 1),
 *   trust-region Newton-CG (TRON: Lin, Weng & Keerthi 2008; cq_solver_newton_cg.c),
 *   linear and nonlinear conjugate gradients (FR, PR+, Hager-Zhang; cq_solver_cg.c),
 *   and L-BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 7.4 (two-loop
 *   recursion, H_k^0 = gamma_k I with gamma_k = s'y / y'y, eq. (7.20)) and Algorithm 7.5)
 *   with a strong-Wolfe line search (N&W Algorithms 3.5 and 3.6, cubic interpolation
 *   (3.59)). L-BFGS trials: the first (t = 1, or 1/||g|| without curvature pairs)
 *   is a fused pass that also yields the next gradient; when it is rejected, w = X d is
 *   formed once and every further trial, value AND slope phi'(t) = r(z + t w)'w / m + ...,
 *   costs O(m) (cq_obj_value_slope_from_z); the accepted point then gets one fused pass.
 * - Stopping: ||g|| <= tol (proximal methods: the gradient mapping ||y - x+|| / t),
 *   |f_k - f_{k-1}| < ftol when ftol > 0, max_iter, or the callback asking to stop.
 *
 * Adding a solver
 * ---------------
 * 1. Add its enum value to cq_opt_method below (before CQ_OPT_N_METHODS) and any new
 *    parameter, with a comment, to cq_opt_params.
 * 2. Write csrc/optimize/cq_solver_<name>.c: one function cq_solver_<name>() with the
 *    cq_solver_fn signature (declared in cq_opt_ws.h), opening with a block comment (problem,
 *    iteration in words and formulas, source), built from the cq_opt_ws / cq_opt_loop helpers
 *    (init, eval, loop_begin/poll/end/finish/done) and the line searches of cq_linesearch.h.
 * 3. Add it to the table in cq_optimize.c.
 * 4. Export the enum in cqb_optimize_constants (csrc/python/_optimize.c) and add the name to
 *    _METHODS in convq/optimize.py, its options to the constraint tables there, and the NumPy
 *    twin to convq/slow/optimize.py (python_loop).
 * 5. Tests: C vs twin (engine="c" / "python"), and a golden case if its output is seeded.
 */
#ifndef CQ_OPTIMIZE_H
#define CQ_OPTIMIZE_H

#include "optimize/cq_objectives.h"

enum cq_opt_method { CQ_OPT_GD = 0, CQ_OPT_BB = 1, CQ_OPT_NESTEROV = 2, CQ_OPT_PROXIMAL = 3,
                     CQ_OPT_FISTA = 4, CQ_OPT_SUBGRADIENT = 5, CQ_OPT_LBFGS = 6, CQ_OPT_NEWTON_CG = 7,
                     CQ_OPT_CG = 8,
                     CQ_OPT_N_METHODS /* number of methods; keep last */ };
enum cq_opt_step { CQ_STEP_FIXED = 0, CQ_STEP_ARMIJO = 1, CQ_STEP_EXACT = 2 };
enum cq_opt_nonmono { CQ_NM_NONE = 0, CQ_NM_MAX = 1, CQ_NM_AVERAGE = 2 };
/* the beta_k of nonlinear conjugate gradients (cq_solver_cg.c) */
enum cq_cg_rule { CQ_CG_FR = 0, CQ_CG_PRPLUS = 1, CQ_CG_HZ = 2 };
/* result status */
enum cq_opt_status { CQ_OPT_CONVERGED = 0, CQ_OPT_MAXITER = 1, CQ_OPT_CALLBACK = 2,
                     CQ_OPT_LINESEARCH = 3, CQ_OPT_FTOL = 4 };

typedef struct cq_opt_params {
    int method;       /* enum cq_opt_method */
    int step;         /* enum cq_opt_step (gd; nesterov/proximal/fista: fixed or armijo) */
    double t;         /* fixed step, or the initial trial step t0 of a line search */
    double alpha;     /* sufficient-decrease constant (Armijo alpha, BB and L-BFGS c1) in (0, 1) */
    double beta;      /* backtracking factor (Armijo beta, BB delta) in (0, 1) */
    int bb_variant;   /* 1: s's/s'y, 2: s'y/y'y */
    int nonmonotone;  /* enum cq_opt_nonmono */
    int memory;       /* M of the max-type rule (>= 0); L-BFGS: number of (s, y) pairs (>= 1) */
    double eta;       /* Zhang-Hager eta in [0, 1] */
    double t_min, t_max; /* BB step clip */
    double l1;        /* proximal/fista: weight of ||x||_1 (>= 0) */
    double tol;       /* gradient-norm tolerance */
    double ftol;      /* |f_k - f_{k-1}| tolerance, 0 = off */
    long max_iter;
    int restart;      /* nesterov/fista: reset the momentum when f increases (O'Donoghue-Candes) */
    double c2;        /* L-BFGS, CG: curvature constant of the strong Wolfe conditions, alpha < c2 < 1 */
    int cg_rule;      /* CG: enum cq_cg_rule */
} cq_opt_params;

typedef struct cq_opt_result {
    long nit, nfev, ngev;
    int status;       /* enum cq_opt_status */
    double f, gnorm;
} cq_opt_result;

/* Called after every iteration k (1-based) with the new iterate; returns 0 to go on,
 * 1 to stop, -1 on error (the caller keeps the error; the run returns CQ_ECALLBACK). */
typedef int (*cq_opt_callback)(void *ctx, long k, const double *x, size_t n, double f, double gnorm, double t);

/* The trace of iterates 0..nit: f, gradient norm, step and elapsed seconds. The loop grows
 * the four buffers as it goes (realloc, doubling), so a large max_iter costs nothing up
 * front. Start from a zeroed struct; release with cq_opt_trace_free. */
typedef struct cq_opt_trace {
    double *f, *g, *t, *time;
    size_t cap;
} cq_opt_trace;

void cq_opt_trace_free(cq_opt_trace *tr);

/* Minimise from x (in: x0, out: the result); `trace` (or NULL) receives iterates 0..nit. */
int cq_optimize(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err);

#endif /* CQ_OPTIMIZE_H */
