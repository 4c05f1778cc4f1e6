/* cq_domains.c -- projections and the mirror step; see cq_domains.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "stochastic/cq_domains.h"

double cq_norm_p(const double *x, size_t d, double p)
{
    if (isinf(p)) {
        double m = 0;
        for (size_t i = 0; i < d; i++) m = fmax(m, fabs(x[i]));
        return m;
    }
    if (p == 1.0) {
        double s = 0;
        for (size_t i = 0; i < d; i++) s += fabs(x[i]);
        return s;
    }
    if (p == 2.0) {
        /* one pass; fall back to the scaled two-pass form only on overflow/underflow */
        double s2 = 0;
        for (size_t i = 0; i < d; i++) s2 += x[i] * x[i];
        if (s2 > 1e-290 && s2 < 1e290) return sqrt(s2);
    }
    /* Scale by the max first so that |x_i|^p neither overflows nor underflows. */
    double m = 0;
    for (size_t i = 0; i < d; i++) m = fmax(m, fabs(x[i]));
    if (m == 0) return 0;
    double s = 0;
    if (p == 2.0) {
        for (size_t i = 0; i < d; i++) { double t = x[i] / m; s += t * t; }
        return m * sqrt(s);
    }
    for (size_t i = 0; i < d; i++) s += pow(fabs(x[i]) / m, p);
    return m * pow(s, 1.0 / p);
}

void cq_proj_box(double *x, size_t d, const double *lo, const double *hi)
{
    for (size_t i = 0; i < d; i++) x[i] = fmin(fmax(x[i], lo[i]), hi[i]);
}

void cq_proj_linfball(double *x, size_t d, double radius)
{
    for (size_t i = 0; i < d; i++) x[i] = fmin(fmax(x[i], -radius), radius);
}

void cq_proj_l2ball(double *x, size_t d, double radius)
{
    double n = cq_norm_p(x, d, 2.0);
    if (!(n > radius)) return;
    double s = radius / n;
    if (isfinite(n) && s >= 1e-290) {
        for (size_t i = 0; i < d; i++) x[i] *= s;
        return;
    }
    /* ||x||_2 overflowed, or radius / ||x||_2 underflows: scale by m = max|x_i| first,
     * x_i <- (x_i / m) * (radius / ||x / m||_2), where ||x / m||_2 lies in [1, sqrt(d)]. */
    double m = 0;
    for (size_t i = 0; i < d; i++) m = fmax(m, fabs(x[i]));
    double ns = 0;
    for (size_t i = 0; i < d; i++) { double t = x[i] / m; ns += t * t; }
    s = radius / sqrt(ns);
    for (size_t i = 0; i < d; i++) x[i] = (x[i] / m) * s;
}

static int cmp_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* s + e = a + b exactly (Knuth's TwoSum; needs round-to-nearest, no -ffast-math). */
static void two_sum(double a, double b, double *s, double *e)
{
    double x = a + b, bv = x - a;
    *e = (a - (x - bv)) + (b - bv);
    *s = x;
}

/*
 * Threshold tau >= 0 with sum max(a_i - tau, 0) = R for a_i = |x_i| (Duchi et al. 2008,
 * "Efficient projections onto the l1-ball for learning in high dimensions", Figure 1),
 * returned as tau = 2^e (tau_hi + tau_lo). The |x_i| are first scaled by the power of two
 * 2^-e that brings max|x_i| into [0.5, 1) (exact), so that no partial sum overflows; the
 * partial sums and t_j = (cumsum_j - R) / j are carried in double-double, so that a radius
 * far below max|x_i| (R = 1 against x = 1e16 e_1) is not lost to rounding: the
 * support always keeps j = 1 (u_1 - t_1 = R > 0) and the kept coordinates
 * (a_i - tau_hi) - tau_lo are exact whenever a_i is within a factor 2 of tau.
 */
static void l1_threshold(const double *x, size_t d, double radius, double *work, int *e, double *tau_hi,
                         double *tau_lo)
{
    double m = 0;
    for (size_t i = 0; i < d; i++) m = fmax(m, fabs(x[i]));
    frexp(m, e);
    for (size_t i = 0; i < d; i++) work[i] = ldexp(fabs(x[i]), -*e);
    double r = ldexp(radius, -*e);
    qsort(work, d, sizeof(double), cmp_desc);
    double cum_hi = 0, cum_lo = 0;
    *tau_hi = *tau_lo = 0;
    for (size_t j = 0; j < d; j++) {
        double a, b;
        two_sum(cum_hi, work[j], &cum_hi, &b);
        cum_lo += b;
        two_sum(cum_hi, -r, &a, &b);          /* cumsum_j - R = a + b + cum_lo */
        b += cum_lo;
        two_sum(a, b, &a, &b);
        double k = (double)(j + 1);
        double t_hi = a / k;
        double t_lo = (fma(-t_hi, k, a) + b) / k; /* the division's exact remainder, then b */
        /* the largest j with u_j > (cumsum_j - R) / j; j = 1 always qualifies */
        if (j == 0 || (work[j] - t_hi) - t_lo > 0) { *tau_hi = t_hi; *tau_lo = t_lo; }
    }
}

void cq_proj_l1ball(double *x, size_t d, double radius, double *work)
{
    if (cq_norm_p(x, d, 1.0) <= radius) return;
    int e;
    double tau_hi, tau_lo;
    l1_threshold(x, d, radius, work, &e, &tau_hi, &tau_lo);
    if (tau_hi + tau_lo <= 0) return;  /* cannot happen for ||x||_1 > R; kept as a guard */
    for (size_t i = 0; i < d; i++) {
        double a = (ldexp(fabs(x[i]), -e) - tau_hi) - tau_lo;
        x[i] = a > 0 ? copysign(ldexp(a, e), x[i]) : 0.0;
    }
}

/* Root w in [0, a] of w + nu w^(p-1) = a (increasing in w): safeguarded Newton. */
static double lp_coord(double a, double nu, double p)
{
    if (a == 0) return 0;
    double lo = 0, hi = a;
    /* A good start: w = a / (1 + nu a^(p-2)) solves the equation with w^(p-2) frozen at a. */
    double w = a / (1.0 + nu * pow(a, p - 2.0));
    for (int it = 0; it < 100; it++) {
        double wp = pow(w, p - 2.0);
        double f = w + nu * wp * w - a;
        if (f > 0) hi = w; else lo = w;
        double df = 1.0 + nu * (p - 1.0) * wp;
        double next = w - f / df;
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (fabs(next - w) <= 1e-15 * w || hi - lo <= 1e-15 * hi) return next;
        w = next;
    }
    return w;
}

static double lp_mass(const double *x, size_t d, double p, double nu, double m)
{
    /* sum (w_i / m)^p for the coordinates scaled by m = max |x_i| */
    double s = 0;
    for (size_t i = 0; i < d; i++) s += pow(lp_coord(fabs(x[i]) / m, nu, p), p);
    return s;
}

void cq_proj_lpball(double *x, size_t d, double p, double radius, double *work)
{
    if (p == 1.0) { cq_proj_l1ball(x, d, radius, work); return; }
    if (isinf(p)) { cq_proj_linfball(x, d, radius); return; }
    if (p == 2.0) { cq_proj_l2ball(x, d, radius); return; }
    if (cq_norm_p(x, d, p) <= radius) return;
    /* Work in units of m = max|x_i|, so the equation is scale-free: target (R/m)^p. */
    double m = 0;
    for (size_t i = 0; i < d; i++) m = fmax(m, fabs(x[i]));
    double target = pow(radius / m, p);
    /* Bracket nu: mass(nu) decreases from ||x/m||_p^p (nu = 0) to 0. */
    double lo = 0, hi = 1;
    while (lp_mass(x, d, p, hi, m) > target && hi < 1e300) { lo = hi; hi *= 16; }
    for (int it = 0; it < 200; it++) {
        double mid = lo == 0 ? hi / 2 : sqrt(lo * hi);
        if (lo > 0 && hi / lo < 1 + 1e-15) break;
        if (lo == 0 && hi < 1e-300) break;
        if (lp_mass(x, d, p, mid, m) > target) lo = mid; else hi = mid;
    }
    double nu = hi;
    for (size_t i = 0; i < d; i++) x[i] = copysign(m * lp_coord(fabs(x[i]) / m, nu, p), x[i]);
    /* Final radial touch-up: removes the bisection's last ~1e-15 relative excess. */
    double n = cq_norm_p(x, d, p);
    if (n > radius) for (size_t i = 0; i < d; i++) x[i] *= radius / n;
}

void cq_project(const cq_domain *dom, double *x, size_t d, double *work)
{
    if (dom == NULL) return;
    switch (dom->kind) {
    case CQ_DOM_BOX: cq_proj_box(x, d, dom->lo, dom->hi); break;
    case CQ_DOM_LPBALL: cq_proj_lpball(x, d, dom->p, dom->radius, work); break;
    default: break;
    }
}

/* out = grad psi^*(theta) for psi^*(theta) = (r-1) ||theta||_s^2 / 2, s = r/(r-1). */
static void grad_conj(const double *theta, size_t d, double r, double *out)
{
    double s = r / (r - 1.0);
    double n = cq_norm_p(theta, d, s);
    if (n == 0) { memset(out, 0, sizeof(double) * d); return; }
    /* (r-1) ||theta||^(2-s) |theta_i|^(s-1) = (r-1) ||theta|| (|theta_i|/||theta||)^(s-1) */
    for (size_t i = 0; i < d; i++) out[i] = copysign((r - 1.0) * n * pow(fabs(theta[i]) / n, s - 1.0), theta[i]);
}

int cq_mirror_step(double *x, const double *g, size_t d, double r, double eta, const cq_domain *dom,
                   double *work, cq_errinfo *err)
{
    if (!(r > 1.0 && r <= 2.0))
        return cq_fail(err, CQ_EINVAL, "mirror-map exponent r must be in (1, 2], got %g", r);
    int kind = dom == NULL ? CQ_DOM_NONE : (int)dom->kind;
    if (kind == CQ_DOM_BOX || (kind == CQ_DOM_LPBALL && dom->p != r && dom->p != 1.0))
        return cq_fail(err, CQ_EINVAL,
                       "mirror descent supports the l_r ball of its own mirror map (r = %g), the l_1 ball "
                       "or no constraint", r);
    /* theta = grad psi(x) - eta g, kept in work */
    double n = cq_norm_p(x, d, r);
    for (size_t i = 0; i < d; i++) {
        double gp = n == 0 ? 0.0 : copysign(n * pow(fabs(x[i]) / n, r - 1.0) / (r - 1.0), x[i]);
        work[i] = gp - eta * g[i];
    }
    grad_conj(work, d, r, x);
    if (kind == CQ_DOM_NONE) return CQ_OK;
    if (dom->p == r) {
        double nx = cq_norm_p(x, d, r);
        if (nx > dom->radius) for (size_t i = 0; i < d; i++) x[i] *= dom->radius / nx;
        return CQ_OK;
    }
    /* l_1 ball: x(mu) = grad psi^*(soft(theta, mu)); ||x(mu)||_1 decreases in mu. */
    if (cq_norm_p(x, d, 1.0) <= dom->radius) return CQ_OK;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < d; i++) hi = fmax(hi, fabs(work[i]));
    double *theta = work;
    double *tmp = x;
    /* Bisection on mu in [0, max|theta|]; 200 halvings reach the double resolution. */
    double *soft = (double *)malloc(sizeof(double) * (d ? d : 1));
    if (soft == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory");
    for (int it = 0; it < 200 && hi - lo > 1e-16 * hi; it++) {
        double mu = 0.5 * (lo + hi);
        for (size_t i = 0; i < d; i++) {
            double a = fabs(theta[i]) - mu;
            soft[i] = a > 0 ? copysign(a, theta[i]) : 0.0;
        }
        grad_conj(soft, d, r, tmp);
        if (cq_norm_p(tmp, d, 1.0) > dom->radius) lo = mu; else hi = mu;
    }
    for (size_t i = 0; i < d; i++) {
        double a = fabs(theta[i]) - hi;
        soft[i] = a > 0 ? copysign(a, theta[i]) : 0.0;
    }
    grad_conj(soft, d, r, x);
    free(soft);
    return CQ_OK;
}
