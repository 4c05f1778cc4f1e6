/*
 * cq_linesearch.h -- the line searches of the solvers (private to csrc/optimize/), over
 * the workspace of cq_opt_ws.h: every trial after the first reuses z = X x and w = X d,
 * so it costs O(m) instead of a pass over X.
 *
 * - cq_ls_backtrack: Armijo backtracking against a reference value ("Backtracking line
 *   search"; with ref = f(x^k) the monotone rule, with ref = max_{0<=j<=min(k,M)} f(x^{k-j})
 *   Raydan's max-type rule (Algorithm 1), with ref = C^k Zhang-Hager's average (Algorithm 2)).
 * - cq_ls_nonmonotone_max / cq_ls_nonmonotone_average: those two reference values.
 * - cq_ls_exact: the exact step on quadratic models, else a safeguarded golden-section search.
 * - cq_ls_wolfe: the strong-Wolfe search of L-BFGS (Nocedal & Wright Algorithms 3.5, 3.6).
 */
#ifndef CQ_LINESEARCH_H
#define CQ_LINESEARCH_H

#include "optimize/cq_opt_ws.h"

/* Backtracking from base point (xb, zb) along d: accept the first t = t0 beta^j with
 * f(xb + t d) <= ref + c1 t gd (gd = g'd < 0), or, where f(xb + t d) is within 1e-10 |ref|
 * of ref (the rounding of f swamps the decrease), Hager & Zhang's approximate Armijo
 * condition d' grad f(xb + t d) <= (2 c1 - 1) gd. The first trial is a fused pass (its
 * gradient is the next gradient when accepted); later trials reuse z + t X d: O(m).
 * On success the trial buffers xt, gt, zt hold the accepted point, *t the step, *ft its
 * value. Returns CQ_OK, -1 (no acceptable step in 400 halvings) or a failing status. */
int cq_ls_backtrack(cq_opt_ws *W, const double *xb, const double *zb, const double *d, double ref, double gd,
                    double c1, double beta, double *t, double *ft);

/* Raydan's reference max_{0 <= j <= min(k-1, M)} f_{k-1-j} from the ring W->hist (M + 1). */
double cq_ls_nonmonotone_max(const cq_opt_ws *W, long k);

/* Zhang-Hager's update after accepting f_new: Q+ = eta Q + 1, C+ = (eta Q C + f_new) / Q+. */
void cq_ls_nonmonotone_average(double eta, double f_new, double *C, double *Q);

/* Exact step along W->d from W->x (f0 = f(x)): t = -g'd / d'Hd on Quadratic,
 * LeastSquares and unpenalised Lasso; else golden section from *t (or 1). *t <= 0: none. */
int cq_ls_exact(cq_opt_ws *W, double f0, double *t);

/* Strong-Wolfe line search along W->d from W->x, f0 = f(x), g0 = g'd < 0, from *t; see
 * cq_linesearch.c. CQ_OK (*t; *first_acc: the accepted trial is the fused first one,
 * whose point is in (xt, gt, zt) and value in W->f_first), -1 (no acceptable step) or a
 * failing status. */
int cq_ls_wolfe(cq_opt_ws *W, double f0, double g0, double c1, double c2, double *t, int *first_acc);

/* cq_ls_exact, then the accepted point into (xt, gt, zt) and *fnew: CQ_OK, -1 (no
 * positive step) or a failing status. */
int cq_ls_exact_step(cq_opt_ws *W, double f0, double *t, double *fnew);

/* cq_ls_wolfe, then the accepted point into (xt, gt, zt) and *fnew (one more fused pass
 * unless the accepted trial is the first): CQ_OK, -1 or a failing status. */
int cq_ls_wolfe_step(cq_opt_ws *W, double f0, double g0, double c1, double c2, double *t, double *fnew);

#endif /* CQ_LINESEARCH_H */
