/* cq_linesearch.c -- the solvers' line searches; see cq_linesearch.h. */
#include <math.h>

#include "optimize/cq_linesearch.h"

double cq_ls_nonmonotone_max(const cq_opt_ws *W, long k)
{
    int M = W->M;
    assert(k >= 1 && M >= 0);
    long L = k - 1 < M ? k - 1 : M; /* j = 0..min(k, M) over f_{k-j} */
    double ref = -INFINITY;
    for (long j = 0; j <= L; j++) {
        double v = W->hist[(k - 1 - j) % (M + 1)];
        if (v > ref) ref = v;
    }
    return ref;
}

void cq_ls_nonmonotone_average(double eta, double f_new, double *C, double *Q)
{
    assert(eta >= 0.0 && eta <= 1.0);
    double Qn = eta * *Q + 1.0;
    *C = (eta * *Q * *C + f_new) / Qn;
    *Q = Qn;
}

/*
 * Hager & Zhang's approximate Armijo condition (Hager & Zhang, "A new conjugate gradient
 * method with guaranteed descent and an efficient line search", SIAM J. Optim. 16 (2005),
 * section 4: the approximate Wolfe conditions). Near a minimiser the decrease c1 t g'd falls
 * below the rounding of f itself, so the test f(x + t d) <= ref + c1 t g'd only accepts steps
 * by rounding luck (the gradient method then creeps with t ~ 1e-9 until max_iter). Where
 * f(x + t d) is within CQ_LS_APPROX_EPS |ref| of ref, the decrease is judged from the slope
 * instead:  d' grad f(x + t d) <= (2 c1 - 1) g'd,  which on a quadratic is exactly the
 * Armijo condition (phi(t) <= phi(0) + c1 t phi'(0) <=> phi'(t) <= (2 c1 - 1) phi'(0)) and
 * keeps its accuracy at the rounding of f. W->gt must hold grad f(x + t d).
 */
#define CQ_LS_APPROX_EPS 1e-10

static int approx_armijo(const cq_opt_ws *W, const double *d, double ft, double ref, double gd, double c1)
{
    return fabs(ft - ref) <= CQ_LS_APPROX_EPS * fabs(ref) && cq_opt_dot(W->gt, d, W->n) <= (2.0 * c1 - 1.0) * gd;
}

/*
 * Backtracking from base point (xb, zb) along d: accept the first t = t0 beta^j with
 * f(xb + t d) <= ref + c1 t gd (gd = g'd < 0), or the approximate Armijo condition above.
 * The first trial is a fused pass (its gradient is the next gradient when accepted); later
 * trials reuse z + t X d: O(m), plus a fused pass where the approximate condition is tried.
 * On success the trial buffers xt, gt, zt hold the accepted point, *t the step.
 */
int cq_ls_backtrack(cq_opt_ws *W, const double *xb, const double *zb, const double *d, double ref, double gd,
                     double c1, double beta, double *t, double *ft)
{
    assert(W != NULL && xb != NULL && zb != NULL && d != NULL && t != NULL && ft != NULL);
    assert(c1 > 0.0 && c1 < 1.0 && beta > 0.0 && beta < 1.0);
    size_t n = W->n, zl = W->zl;
    for (size_t j = 0; j < n; j++) W->xt[j] = xb[j] + *t * d[j];
    int st = cq_opt_eval(W, W->xt, ft, W->gt, W->zt, 1);
    if (st != CQ_OK) return st;
    if (*ft <= ref + c1 * *t * gd || approx_armijo(W, d, *ft, ref, gd, c1)) return CQ_OK;
    st = cq_obj_matvec(W->o, d, W->w, W->it);
    W->passes++;
    if (st != CQ_OK) return st;
    for (int j = 0; j < 400; j++) {
        *t *= beta;
        if (!(*t > 0)) break;
        for (size_t i = 0; i < zl; i++) W->zt[i] = zb[i] + *t * W->w[i];
        for (size_t i = 0; i < n; i++) W->xt[i] = xb[i] + *t * d[i];
        double fv = cq_obj_value_from_z(W->o, W->zt, W->xt);
        W->nfev++;
        if (fv <= ref + c1 * *t * gd) {
            st = cq_opt_eval(W, W->xt, ft, W->gt, W->zt, 0);
            return st;
        }
        if (fabs(fv - ref) <= CQ_LS_APPROX_EPS * fabs(ref)) {
            st = cq_opt_eval(W, W->xt, ft, W->gt, W->zt, 0);
            if (st != CQ_OK || approx_armijo(W, d, *ft, ref, gd, c1)) return st;
        }
    }
    return -1; /* no acceptable step */
}

/* phi(t) = f(x + t d) from the cached z and w = X d (O(m)) */
static double phi(cq_opt_ws *W, double t)
{
    for (size_t i = 0; i < W->zl; i++) W->zt[i] = W->z[i] + t * W->w[i];
    for (size_t i = 0; i < W->n; i++) W->xt[i] = W->x[i] + t * W->d[i];
    W->nfev++;
    double v = cq_obj_value_from_z(W->o, W->zt, W->xt);
    return isfinite(v) ? v : INFINITY;
}

/* Safeguarded exact line search: bracket by doubling from t_init, then golden section
 * to a relative width 1e-12. Returns the best t evaluated (0 if none decreased f). */
static double golden(cq_opt_ws *W, double f0, double t_init)
{
    double a = 0.0, b = t_init, fb = phi(W, b), best_t = 0.0, best_f = f0, lo, hi;
    if (fb < best_f) { best_f = fb; best_t = b; }
    if (fb < f0) {
        double c = 2.0 * b, fc = phi(W, c);
        for (int i = 0; i < 200 && fc < fb; i++) {
            a = b; b = c; fb = fc;
            c = 2.0 * c;
            fc = phi(W, c);
        }
        if (fb < best_f) { best_f = fb; best_t = b; }
        lo = a; hi = c;
    } else {
        lo = 0.0; hi = b;
    }
    const double r = 0.6180339887498949;
    double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo);
    double f1 = phi(W, x1), f2 = phi(W, x2);
    for (int i = 0; i < 300 && hi - lo > 1e-12 * hi; i++) {
        if (f1 < best_f) { best_f = f1; best_t = x1; }
        if (f2 < best_f) { best_f = f2; best_t = x2; }
        if (f1 <= f2) {
            hi = x2; x2 = x1; f2 = f1;
            x1 = hi - r * (hi - lo);
            f1 = phi(W, x1);
        } else {
            lo = x1; x1 = x2; f1 = f2;
            x2 = lo + r * (hi - lo);
            f2 = phi(W, x2);
        }
    }
    if (f1 < best_f) { best_f = f1; best_t = x1; }
    if (f2 < best_f) { best_t = x2; }
    return best_t;
}

int cq_ls_exact(cq_opt_ws *W, double f0, double *t)
{
    assert(W != NULL && t != NULL);
    const cq_obj *o = W->o;
    size_t n = W->n;
    int st = cq_obj_matvec(o, W->d, W->w, W->it);
    W->passes++;
    if (st != CQ_OK) return st;
    double gd = cq_opt_dot(W->g, W->d, n), curv = -1.0;
    if (o->kind == CQ_OBJ_QUADRATIC) {
        curv = cq_opt_dot(W->d, W->w, n);
    } else if (o->kind == CQ_OBJ_LEASTSQ) {
        size_t j0 = o->intercept ? 1 : 0;
        double dr = 0.0;
        for (size_t j = j0; j < n; j++) dr += W->d[j] * W->d[j];
        curv = (cq_opt_dot(W->w, W->w, W->zl) + o->lam * dr) / (double)o->m;
    } else if (o->kind == CQ_OBJ_LASSO && o->lam == 0.0) {
        curv = cq_opt_dot(W->w, W->w, W->zl);
    }
    if (curv > 0) *t = -gd / curv;
    else *t = golden(W, f0, *t > 0 ? *t : 1.0);
    return CQ_OK;
}

#define LB_MAXEVAL 40   /* function evaluations per line search */

/* minimiser of the cubic through (a, fa, da), (b, fb, db) (N&W eq. 3.59); NAN if none */
static double cubic_min(double a, double fa, double da, double b, double fb, double db)
{
    double d1 = da + db - 3.0 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    if (!(disc >= 0.0) || !isfinite(d1)) return NAN;
    double d2 = (b > a ? 1.0 : -1.0) * sqrt(disc);
    double den = db - da + 2.0 * d2;
    if (!(fabs(den) > 0.0)) return NAN;
    return b - (b - a) * (db + d2 - d1) / den;
}

/* phi(t), phi'(t) along d from x. The first trial is a fused pass into (xt, gt, zt) (the
 * next gradient if accepted); the others use z + t w (w = X d formed once): O(m). A
 * non-finite value is reported as +inf. */
static int lb_trial(cq_opt_ws *W, double t, int first, int *have_w, double *phi, double *dphi)
{
    size_t n = W->n, zl = W->zl;
    if (first) {
        for (size_t j = 0; j < n; j++) W->xt[j] = W->x[j] + t * W->d[j];
        int st = cq_opt_eval(W, W->xt, phi, W->gt, W->zt, 1);
        if (st != CQ_OK) return st;
        W->f_first = *phi;
        *dphi = isfinite(*phi) ? cq_opt_dot(W->gt, W->d, n) : NAN;
        return CQ_OK;
    }
    if (!*have_w) {
        int st = cq_obj_matvec(W->o, W->d, W->w, W->it);
        W->passes++;
        if (st != CQ_OK) return st;
        *have_w = 1;
    }
    for (size_t i = 0; i < zl; i++) W->zy[i] = W->z[i] + t * W->w[i];
    for (size_t j = 0; j < n; j++) W->yv[j] = W->x[j] + t * W->d[j];
    W->nfev++;
    double sl = 0.0, v = cq_obj_value_slope_from_z(W->o, W->zy, W->w, W->yv, W->d, &sl);
    if (!isfinite(v) || !isfinite(sl)) {
        v = INFINITY;
        sl = NAN;
    }
    *phi = v;
    *dphi = sl;
    return CQ_OK;
}

/* Strong-Wolfe line search from t (Algorithm 3.5 with zoom, Algorithm 3.6): find t with
 * phi(t) <= phi(0) + c1 t phi'(0) and |phi'(t)| <= c2 |phi'(0)|; phi(0) is taken with its
 * rounding error 16 eps |phi(0)|, so that near the solution, where f can no longer resolve
 * the decrease, the (accurate) slope still decides. Extrapolation: the cubic step clipped
 * to [t + 1.1 (t - t_prev), t + 4 (t - t_prev)]; zoom: the secant step on phi' when phi'
 * changes sign over the bracket (it does not use the values, whose rounding dominates near
 * the solution), else the cubic step (3.59); bisection when that step is outside the middle
 * 80 % of the bracket. After LB_MAXEVAL evaluations or
 * a collapsed bracket the best sufficient-decrease point found (if any) is accepted.
 * Returns CQ_OK (*t, *first_acc: the accepted trial is the fused first one), -1 (no
 * acceptable step) or an error status. */
int cq_ls_wolfe(cq_opt_ws *W, double f0, double g0, double c1, double c2, double *t, int *first_acc)
{
    assert(W != NULL && t != NULL && first_acc != NULL && *t > 0.0);
    assert(!(g0 > 0.0) && c1 > 0.0 && c1 < c2 && c2 < 1.0);
    double tp = 0.0, fp = f0, dp = g0, tc = *t, fc = 0.0, dc = 0.0;
    double lo, flo, dlo, hi, fhi, dhi;
    double fa = f0 + 16.0 * 2.220446049250313e-16 * fabs(f0); /* f0 plus its rounding error */
    int neval = 0, prev_first = 0, lo_first, have_w = 0, st;
    for (;;) {
        int first = neval == 0;
        st = lb_trial(W, tc, first, &have_w, &fc, &dc);
        if (st != CQ_OK) return st;
        neval++;
        if (fc > fa + c1 * tc * g0 || (neval > 1 && fc >= fp)) {
            lo = tp; flo = fp; dlo = dp; lo_first = prev_first;
            hi = tc; fhi = fc; dhi = dc;
            break;
        }
        if (fabs(dc) <= -c2 * g0) {
            *t = tc;
            *first_acc = first;
            return CQ_OK;
        }
        if (dc >= 0.0) {
            lo = tc; flo = fc; dlo = dc; lo_first = first;
            hi = tp; fhi = fp; dhi = dp;
            break;
        }
        if (neval >= LB_MAXEVAL) {
            *t = tc;
            *first_acc = first;
            return CQ_OK;
        }
        double lo_e = tc + 1.1 * (tc - tp), hi_e = tc + 4.0 * (tc - tp);
        double tn = cubic_min(tp, fp, dp, tc, fc, dc);
        if (isnan(tn)) tn = hi_e;
        else if (tn < lo_e) tn = lo_e;
        else if (tn > hi_e) tn = hi_e;
        tp = tc; fp = fc; dp = dc; prev_first = first;
        tc = tn;
    }
    /* zoom: lo satisfies sufficient decrease with the lowest value so far */
    for (;;) {
        double a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
        if (neval >= LB_MAXEVAL || !(b - a > 1e-15 * b)) break;
        double tn = (dlo < 0.0 && dhi > 0.0) || (dlo > 0.0 && dhi < 0.0)
                        ? lo + (hi - lo) * (dlo / (dlo - dhi)) /* secant on phi' */
                        : cubic_min(lo, flo, dlo, hi, fhi, dhi);
        if (!(tn >= a + 0.1 * (b - a) && tn <= b - 0.1 * (b - a))) tn = 0.5 * (lo + hi);
        st = lb_trial(W, tn, 0, &have_w, &fc, &dc);
        if (st != CQ_OK) return st;
        neval++;
        if (fc > fa + c1 * tn * g0 || fc >= flo) {
            hi = tn; fhi = fc; dhi = dc;
        } else {
            if (fabs(dc) <= -c2 * g0) {
                *t = tn;
                *first_acc = 0;
                return CQ_OK;
            }
            if (dc * (hi - lo) >= 0.0) {
                hi = lo; fhi = flo; dhi = dlo;
            }
            lo = tn; flo = fc; dlo = dc; lo_first = 0;
        }
    }
    if (lo > 0.0 && flo < f0) {
        *t = lo;
        *first_acc = lo_first;
        return CQ_OK;
    }
    return -1;
}

int cq_ls_exact_step(cq_opt_ws *W, double f0, double *t, double *fnew)
{
    int st = cq_ls_exact(W, f0, t);
    if (st != CQ_OK) return st;
    if (!(*t > 0)) return -1;
    return cq_opt_trial(W, W->x, *t, fnew);
}

int cq_ls_wolfe_step(cq_opt_ws *W, double f0, double g0, double c1, double c2, double *t, double *fnew)
{
    int first_acc = 0;
    int st = cq_ls_wolfe(W, f0, g0, c1, c2, t, &first_acc);
    if (st != CQ_OK) return st;
    if (first_acc) {
        *fnew = W->f_first; /* (xt, gt, zt) hold the fused pass of the first trial */
        return CQ_OK;
    }
    return cq_opt_trial(W, W->x, *t, fnew);
}
