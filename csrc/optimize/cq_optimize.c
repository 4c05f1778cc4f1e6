/* cq_optimize.c -- see cq_optimize.h. Variable names follow the notes: x^k, g^k, t
 * (alpha in Raydan's / Zhang-Hager's algorithms), s = x^{k+1} - x^k, y = g^{k+1} - g^k,
 * C^k, Q^k (Zhang-Hager), M (memory of the max rule). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "optimize/cq_optimize.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double dotv(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

static double norm1(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += fabs(a[j]);
    return s;
}

static inline double soft(double v, double k)
{
    return v > k ? v - k : (v < -k ? v + k : 0.0);
}

typedef struct ws {
    const cq_obj *o;
    size_t n, zl;
    double *x, *g, *z;      /* current iterate */
    double *xt, *gt, *zt;   /* trial / next iterate */
    double *w, *d;          /* X d and the direction */
    double *xp, *zp;        /* previous iterate (Nesterov / FISTA) */
    double *yv, *gy, *zy;   /* extrapolated point */
    double *best;           /* subgradient: best iterate */
    double *hist;           /* max-rule memory, M + 1 values */
    long nfev, ngev, passes;
    double f_first;         /* L-BFGS: value of the fused first trial */
    cq_interrupt *it;
    cq_errinfo *err;
} ws;

#define SWAP(a, b) do { double *tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

/* fused evaluation; a non-finite value at a trial point is reported as +inf */
static int eval(ws *W, const double *x, double *f, double *g, double *z, int trial)
{
    W->nfev++;
    if (g) W->ngev++;
    W->passes++;
    int st = cq_obj_value_grad(W->o, NULL, 0, x, f, g, z, W->it, W->err);
    if (st == CQ_ENONFINITE && trial) {
        *f = INFINITY;
        return CQ_OK;
    }
    return st;
}

/*
 * Backtracking from base point (xb, zb) along d: accept the first t = t0 beta^j with
 * f(xb + t d) <= ref + c1 t gd (gd = g'd < 0). The first trial is a fused pass (its
 * gradient is the next gradient when accepted); later trials reuse z + t X d: O(m).
 * On success the trial buffers xt, gt, zt hold the accepted point, *t the step.
 */
static int backtrack(ws *W, const double *xb, const double *zb, const double *d, double ref, double gd,
                     double c1, double beta, double *t, double *ft)
{
    size_t n = W->n, zl = W->zl;
    for (size_t j = 0; j < n; j++) W->xt[j] = xb[j] + *t * d[j];
    int st = eval(W, W->xt, ft, W->gt, W->zt, 1);
    if (st != CQ_OK) return st;
    if (*ft <= ref + c1 * *t * gd) return CQ_OK;
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
            st = eval(W, W->xt, ft, W->gt, W->zt, 0);
            return st;
        }
    }
    return -1; /* no acceptable step */
}

/* phi(t) = f(x + t d) from the cached z and w = X d (O(m)) */
static double phi(ws *W, double t)
{
    for (size_t i = 0; i < W->zl; i++) W->zt[i] = W->z[i] + t * W->w[i];
    for (size_t i = 0; i < W->n; i++) W->xt[i] = W->x[i] + t * W->d[i];
    W->nfev++;
    double v = cq_obj_value_from_z(W->o, W->zt, W->xt);
    return isfinite(v) ? v : INFINITY;
}

/* Safeguarded exact line search: bracket by doubling from t_init, then golden section
 * to a relative width 1e-12. Returns the best t evaluated (0 if none decreased f). */
static double golden(ws *W, double f0, double t_init)
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

static int exact_step(ws *W, double f0, double *t)
{
    const cq_obj *o = W->o;
    size_t n = W->n;
    int st = cq_obj_matvec(o, W->d, W->w, W->it);
    W->passes++;
    if (st != CQ_OK) return st;
    double gd = dotv(W->g, W->d, n), curv = -1.0;
    if (o->kind == CQ_OBJ_QUADRATIC) {
        curv = dotv(W->d, W->w, n);
    } else if (o->kind == CQ_OBJ_LEASTSQ) {
        size_t j0 = o->intercept ? 1 : 0;
        double dr = 0.0;
        for (size_t j = j0; j < n; j++) dr += W->d[j] * W->d[j];
        curv = (dotv(W->w, W->w, W->zl) + o->lam * dr) / (double)o->m;
    } else if (o->kind == CQ_OBJ_LASSO && o->lam == 0.0) {
        curv = dotv(W->w, W->w, W->zl);
    }
    if (curv > 0) *t = -gd / curv;
    else *t = golden(W, f0, *t > 0 ? *t : 1.0);
    return CQ_OK;
}

/* soft-thresholded step from y: xt = S_{t l1}(y - t gy); returns ||xt - y|| */
static double prox_step(ws *W, const double *y, const double *gy, double t, double l1)
{
    double s = 0.0;
    for (size_t j = 0; j < W->n; j++) {
        W->xt[j] = soft(y[j] - t * gy[j], t * l1);
        double dj = W->xt[j] - y[j];
        s += dj * dj;
    }
    return sqrt(s);
}


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
        double ai = L->rho[i] * dotv(s, d, n);
        L->a[i] = ai;
        for (size_t j = 0; j < n; j++) d[j] -= ai * y[j];
    }
    if (L->count > 0) {
        int i = (L->head - 1 + L->M) % L->M;
        const double *s = L->S + (size_t)i * n, *y = L->Y + (size_t)i * n;
        double gamma = dotv(s, y, n) / dotv(y, y, n);
        for (size_t j = 0; j < n; j++) d[j] *= gamma;
    }
    for (int c = L->count - 1; c >= 0; c--) { /* oldest to newest */
        int i = (L->head - 1 - c + 2 * L->M) % L->M;
        const double *s = L->S + (size_t)i * n, *y = L->Y + (size_t)i * n;
        double b = L->rho[i] * dotv(y, d, n);
        for (size_t j = 0; j < n; j++) d[j] += (L->a[i] - b) * s[j];
    }
    for (size_t j = 0; j < n; j++) d[j] = -d[j];
}

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
static int lb_trial(ws *W, double t, int first, int *have_w, double *phi, double *dphi)
{
    size_t n = W->n, zl = W->zl;
    if (first) {
        for (size_t j = 0; j < n; j++) W->xt[j] = W->x[j] + t * W->d[j];
        int st = eval(W, W->xt, phi, W->gt, W->zt, 1);
        if (st != CQ_OK) return st;
        W->f_first = *phi;
        *dphi = isfinite(*phi) ? dotv(W->gt, W->d, n) : NAN;
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
static int wolfe_search(ws *W, double f0, double g0, double c1, double c2, double *t, int *first_acc)
{
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

void cq_opt_trace_free(cq_opt_trace *tr)
{
    free(tr->f);
    free(tr->g);
    free(tr->t);
    free(tr->time);
    tr->f = tr->g = tr->t = tr->time = NULL;
    tr->cap = 0;
}

/* Room for `need` entries (doubling); 0 on success, -1 if out of memory (tr unchanged). */
static int trace_reserve(cq_opt_trace *tr, size_t need)
{
    if (need <= tr->cap) return 0;
    size_t cap = tr->cap ? 2 * tr->cap : 64;
    if (cap < need) cap = need;
    double **bufs[4] = {&tr->f, &tr->g, &tr->t, &tr->time};
    for (int i = 0; i < 4; i++) {
        double *nb = (double *)realloc(*bufs[i], cap * sizeof(double));
        if (nb == NULL) return -1; /* the buffers grown so far stay valid and owned */
        *bufs[i] = nb;
    }
    tr->cap = cap;
    return 0;
}

int cq_optimize(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    double *trace_f = NULL, *trace_g = NULL, *trace_t = NULL, *trace_time = NULL;
    ws W;
    memset(&W, 0, sizeof W);
    W.o = o;
    W.n = cq_obj_dim(o);
    W.zl = cq_obj_zlen(o);
    W.it = it;
    W.err = err;
    size_t n = W.n, zl = W.zl, nn = n ? n : 1, zz = zl ? zl : 1;
    int M = p->memory < 0 ? 0 : p->memory;
    double *buf = (double *)malloc((9 * nn + 6 * zz + (size_t)M + 1) * sizeof(double));
    if (buf == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory for the optimizer workspace");
    double *q = buf;
    W.x = q; q += nn;  W.g = q; q += nn;  W.xt = q; q += nn;  W.gt = q; q += nn;  W.d = q; q += nn;
    W.xp = q; q += nn; W.yv = q; q += nn; W.gy = q; q += nn;  W.best = q; q += nn;
    W.z = q; q += zz;  W.zt = q; q += zz; W.w = q; q += zz;   W.zp = q; q += zz; W.zy = q; q += zz;
    q += zz; /* spare */
    W.hist = q;

    lbfgs_mem LM = {NULL, NULL, NULL, NULL, 0, 0, 0};
    double *lbuf = NULL;
    if (p->method == CQ_OPT_LBFGS) {
        LM.M = M < 1 ? 1 : M;
        lbuf = (double *)malloc((2 * (size_t)LM.M * nn + 2 * (size_t)LM.M) * sizeof(double));
        if (lbuf == NULL) {
            free(buf);
            return cq_fail(err, CQ_ENOMEM, "out of memory for the L-BFGS memory (%d pairs of length %zu)", LM.M, n);
        }
        LM.S = lbuf;
        LM.Y = LM.S + (size_t)LM.M * nn;
        LM.rho = LM.Y + (size_t)LM.M * nn;
        LM.a = LM.rho + LM.M;
    }
    memcpy(W.x, x, n * sizeof(double));
    double t0_time = now_s();
    int prox = p->method == CQ_OPT_PROXIMAL || p->method == CQ_OPT_FISTA;
    double l1 = prox ? p->l1 : 0.0;
    double f, F, gnorm, t = p->t, Ck, Qk = 1.0, tk = 1.0, fbest;
    int status = CQ_OPT_MAXITER, st;
    long k = 0, since_poll = 0, kmom = 1;

    st = eval(&W, W.x, &f, W.g, W.z, 0);
    if (st != CQ_OK) goto done;
    F = f + (l1 > 0 ? l1 * norm1(W.x, n) : 0.0);
    if (prox) gnorm = prox_step(&W, W.x, W.g, t, l1) / t;
    else gnorm = sqrt(dotv(W.g, W.g, n));
    Ck = F;
    fbest = F;
    memcpy(W.best, W.x, n * sizeof(double));
    memcpy(W.xp, W.x, n * sizeof(double));
    memcpy(W.zp, W.z, zl * sizeof(double));
    for (int j = 0; j <= M; j++) W.hist[j] = F;
    if (trace) {
        if (trace_reserve(trace, 1)) { st = cq_fail(err, CQ_ENOMEM, "out of memory for the trace"); goto done; }
        trace_f = trace->f; trace_g = trace->g; trace_t = trace->t; trace_time = trace->time;
        trace_f[0] = F; trace_g[0] = gnorm; trace_t[0] = 0.0; trace_time[0] = now_s() - t0_time;
    }

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        if (trace) {
            if (trace_reserve(trace, (size_t)k + 1)) { st = cq_fail(err, CQ_ENOMEM, "out of memory for the trace"); goto done; }
            trace_f = trace->f; trace_g = trace->g; trace_t = trace->t; trace_time = trace->time;
        }
        since_poll += (long)(W.passes ? W.passes : 1) * (long)(zl * (o->kind == CQ_OBJ_QUADRATIC ? 1 : o->p) + n);
        W.passes = 0;
        if (since_poll > (1L << 22)) {
            since_poll = 0;
            if (cq_check_interrupt(it)) { st = CQ_EINTERRUPT; goto done; }
        }
        double fnew, Fold = F;
        switch (p->method) {
        case CQ_OPT_GD:
        case CQ_OPT_BB: {
            for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j];
            double gd = -gnorm * gnorm;
            if (p->method == CQ_OPT_GD && p->step == CQ_STEP_FIXED) {
                t = p->t;
                for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
                st = eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
            } else if (p->method == CQ_OPT_GD && p->step == CQ_STEP_EXACT) {
                st = exact_step(&W, f, &t);
                if (st != CQ_OK) goto done;
                if (!(t > 0)) { status = CQ_OPT_LINESEARCH; goto finish; }
                for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
                st = eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
            } else if (p->method == CQ_OPT_BB && p->nonmonotone == CQ_NM_NONE) {
                for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
                st = eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
            } else {
                double ref = f;
                if (p->method == CQ_OPT_GD) {
                    t = p->t;
                } else if (p->nonmonotone == CQ_NM_MAX) {
                    long L = k - 1 < M ? k - 1 : M; /* j = 0..min(k, M) over f_{k-j} */
                    ref = -INFINITY;
                    for (long j = 0; j <= L; j++) {
                        double v = W.hist[(k - 1 - j) % (M + 1)];
                        if (v > ref) ref = v;
                    }
                } else {
                    ref = Ck;
                }
                st = backtrack(&W, W.x, W.z, W.d, ref, gd, p->alpha, p->beta, &t, &fnew);
                if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
            }
            if (st != CQ_OK) goto done;
            if (p->method == CQ_OPT_BB) {
                double sy = 0.0, ss = 0.0, yy = 0.0;
                for (size_t j = 0; j < n; j++) {
                    double s = W.xt[j] - W.x[j], y = W.gt[j] - W.g[j];
                    sy += s * y; ss += s * s; yy += y * y;
                }
                double tn;
                if (sy <= 0) tn = p->t_max;
                else tn = p->bb_variant == 2 ? sy / yy : ss / sy;
                if (tn > p->t_max) tn = p->t_max;
                if (tn < p->t_min) tn = p->t_min;
                if (p->nonmonotone == CQ_NM_AVERAGE) {
                    double Qn = p->eta * Qk + 1.0;
                    Ck = (p->eta * Qk * Ck + fnew) / Qn;
                    Qk = Qn;
                }
                W.hist[k % (M + 1)] = fnew;
                SWAP(W.x, W.xt); SWAP(W.g, W.gt); SWAP(W.z, W.zt);
                f = fnew;
                F = f;
                gnorm = sqrt(dotv(W.g, W.g, n));
                double t_used = t;
                t = tn;
                if (trace_f) { trace_t[k] = t_used; }
            } else {
                SWAP(W.x, W.xt); SWAP(W.g, W.gt); SWAP(W.z, W.zt);
                f = fnew;
                F = f;
                gnorm = sqrt(dotv(W.g, W.g, n));
                if (trace_f) trace_t[k] = t;
            }
            break;
        }
        case CQ_OPT_NESTEROV: {
            double beta_k = (double)(kmom - 1) / (double)(kmom + 2), fy;
            for (size_t j = 0; j < n; j++) W.yv[j] = W.x[j] + beta_k * (W.x[j] - W.xp[j]);
            st = eval(&W, W.yv, &fy, W.gy, W.zy, 0);
            if (st != CQ_OK) goto done;
            for (size_t j = 0; j < n; j++) W.d[j] = -W.gy[j];
            double gy2 = dotv(W.gy, W.gy, n);
            if (p->step == CQ_STEP_FIXED) {
                t = p->t;
                for (size_t j = 0; j < n; j++) W.xt[j] = W.yv[j] + t * W.d[j];
                st = eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
            } else {
                st = backtrack(&W, W.yv, W.zy, W.d, fy, -gy2, p->alpha, p->beta, &t, &fnew);
                if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
            }
            if (st != CQ_OK) goto done;
            SWAP(W.xp, W.x); SWAP(W.x, W.xt); SWAP(W.g, W.gt); SWAP(W.z, W.zt);
            kmom = (p->restart && fnew > f) ? 1 : kmom + 1;
            f = fnew;
            F = f;
            gnorm = sqrt(dotv(W.g, W.g, n));
            if (trace_f) trace_t[k] = t;
            break;
        }
        case CQ_OPT_PROXIMAL:
        case CQ_OPT_FISTA: {
            double fy, *y, *gy;
            if (p->method == CQ_OPT_FISTA) {
                double tk1 = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk)), mom = (tk - 1.0) / tk1;
                tk = tk1;
                for (size_t j = 0; j < n; j++) W.yv[j] = W.x[j] + mom * (W.x[j] - W.xp[j]);
                st = eval(&W, W.yv, &fy, W.gy, W.zy, 0);
                if (st != CQ_OK) goto done;
                y = W.yv; gy = W.gy;
            } else {
                fy = f; y = W.x; gy = W.g;
            }
            double dn = 0.0;
            for (int j = 0; j < 400; j++) {
                dn = prox_step(&W, y, gy, t, l1);
                st = eval(&W, W.xt, &fnew, W.gt, W.zt, p->step != CQ_STEP_FIXED);
                if (st != CQ_OK) goto done;
                if (p->step == CQ_STEP_FIXED) break;
                double lin = 0.0;
                for (size_t i = 0; i < n; i++) lin += gy[i] * (W.xt[i] - y[i]);
                if (fnew <= fy + lin + dn * dn / (2.0 * t)) break;
                t *= p->beta;
                if (j == 399 || !(t > 0)) { status = CQ_OPT_LINESEARCH; goto finish; }
            }
            if (p->method == CQ_OPT_FISTA) {
                double *tmp = W.xp; W.xp = W.x; W.x = W.xt; W.xt = tmp;
            } else {
                SWAP(W.x, W.xt);
            }
            SWAP(W.g, W.gt); SWAP(W.z, W.zt);
            f = fnew;
            F = f + l1 * norm1(W.x, n);
            if (p->restart && p->method == CQ_OPT_FISTA && F > Fold) tk = 1.0;
            gnorm = dn / t;
            if (trace_f) trace_t[k] = t;
            break;
        }
        case CQ_OPT_LBFGS: {
            /* Algorithm 7.5: d = -H_k g (7.4), strong-Wolfe step, store (s, y) if s'y > 0 */
            two_loop(&LM, W.g, W.d, n);
            double gd = dotv(W.g, W.d, n);
            if (!(gd < 0.0)) { /* not a descent direction (rounding): restart from -g */
                LM.count = 0;
                for (size_t j = 0; j < n; j++) W.d[j] = -W.g[j];
                gd = -gnorm * gnorm;
            }
            t = LM.count > 0 ? 1.0 : 1.0 / sqrt(-gd); /* no pair yet: ||t d|| = 1 (d = -g) */
            int first_acc = 0;
            st = wolfe_search(&W, f, gd, p->alpha, p->c2, &t, &first_acc);
            if (st == -1) { status = CQ_OPT_LINESEARCH; goto finish; }
            if (st != CQ_OK) goto done;
            if (first_acc) {
                fnew = W.f_first; /* (xt, gt, zt) hold the fused pass of the first trial */
            } else {
                for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + t * W.d[j];
                st = eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
                if (st != CQ_OK) goto done;
            }
            double sy = 0.0, yy = 0.0;
            for (size_t j = 0; j < n; j++) {
                double sj = W.xt[j] - W.x[j], yj = W.gt[j] - W.g[j];
                sy += sj * yj;
                yy += yj * yj;
            }
            if (sy > 2.220446049250313e-16 * yy && sy > 0.0) { /* else keep the memory as it is */
                double *S = LM.S + (size_t)LM.head * n, *Y = LM.Y + (size_t)LM.head * n;
                for (size_t j = 0; j < n; j++) {
                    S[j] = W.xt[j] - W.x[j];
                    Y[j] = W.gt[j] - W.g[j];
                }
                LM.rho[LM.head] = 1.0 / sy;
                LM.head = (LM.head + 1) % LM.M;
                if (LM.count < LM.M) LM.count++;
            }
            SWAP(W.x, W.xt); SWAP(W.g, W.gt); SWAP(W.z, W.zt);
            f = fnew;
            F = f;
            gnorm = sqrt(dotv(W.g, W.g, n));
            if (trace_f) trace_t[k] = t;
            break;
        }
        case CQ_OPT_SUBGRADIENT: {
            t = p->t / sqrt((double)k);
            for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] - t * W.g[j];
            st = eval(&W, W.xt, &fnew, W.gt, W.zt, 0);
            if (st != CQ_OK) goto done;
            SWAP(W.x, W.xt); SWAP(W.g, W.gt); SWAP(W.z, W.zt);
            f = fnew;
            F = f;
            gnorm = sqrt(dotv(W.g, W.g, n));
            if (F < fbest) {
                fbest = F;
                memcpy(W.best, W.x, n * sizeof(double));
            }
            if (trace_f) trace_t[k] = t;
            break;
        }
        default:
            st = cq_fail(err, CQ_EINVAL, "unknown method %d", p->method);
            goto done;
        }
        if (trace_f) {
            trace_f[k] = F; trace_g[k] = gnorm; trace_time[k] = now_s() - t0_time;
        }
        if (cb != NULL) {
            int r = cb(cb_ctx, k, W.x, n, F, gnorm, trace_f ? trace_t[k] : t);
            if (r < 0) { st = CQ_ECALLBACK; goto done; }
            if (r > 0) { status = CQ_OPT_CALLBACK; k++; break; }
        }
        if (p->ftol > 0 && fabs(F - Fold) < p->ftol) { status = CQ_OPT_FTOL; k++; break; }
    }
finish:
    if (k > p->max_iter) k = p->max_iter + 1;
    if (p->method == CQ_OPT_SUBGRADIENT && fbest < F) {
        memcpy(W.x, W.best, n * sizeof(double));
        F = fbest;
        st = eval(&W, W.x, &f, W.g, W.z, 0);
        if (st != CQ_OK) goto done;
        gnorm = sqrt(dotv(W.g, W.g, n));
    }
    memcpy(x, W.x, n * sizeof(double));
    res->nit = k - 1;
    res->nfev = W.nfev;
    res->ngev = W.ngev;
    res->status = status;
    res->f = F;
    res->gnorm = gnorm;
    st = CQ_OK;
done:
    if (st == CQ_ENONFINITE)
        cq_fail(err, st, "the iteration diverged at iteration %ld: f or its gradient is not finite "
                "(is the step too large?)", k);
    free(buf);
    free(lbuf);
    return st;
}
