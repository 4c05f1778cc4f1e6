/*
 * cq_smp_density.h -- the log-density log F of the sampling kernels, evaluated in full
 * and incrementally along axis moves (internal to csrc/sampling/; static inline so that
 * the walks of cq_smp_walks.c inline every step).
 *
 * The densities (cq_smp_density, cq_sampling.h), all log-concave:
 *   UNIFORM   log F = 0;
 *   GAUSS     log F(x) = -1/2 (x - mu)' P (x - mu);
 *   EXPNORM   log F(x) = -c |x|^p, p in {1, 2} (the examples e^{-c|x|} and e^{-c|x|^2} of
 *             A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from
 *             log-concave distributions", section 1);
 *   LOGISTIC  log F(x) = sum_i [y_i z_i - log(1 + e^{z_i})] - 1/2 x' P x, z = X x (a
 *             Bayesian logistic-regression posterior with a Gaussian prior).
 *
 * Incremental evaluation for x_j += h, from a per-chain cache (dstate):
 *   quadratic part, g = P (x - mu):  Delta = -(h g_j + h^2 P_jj / 2); on accept g += h P e_j;
 *   EXPNORM, r2 = |x|^2:             r2' = r2 + 2 h x_j + h^2, Delta = -c (f(r2') - f(r2))
 *                                    with f = sqrt (p = 1) or the identity (p = 2);
 *   LOGISTIC, z = X x:               Delta = sum_i [y_i dz_i - s(z_i + dz_i) + s(z_i)],
 *                                    dz = h X e_j, s(t) = log(1 + e^t) (softplus).
 * The walks recompute the caches with dens_full every CQ_SMP_RESYNC proposals so that
 * rounding errors cannot accumulate. The NumPy twin (convq/slow/sampling.py, _Dens) does
 * the same floating-point operations in the same order: keep the two in step.
 */
#ifndef CQ_SMP_DENSITY_H
#define CQ_SMP_DENSITY_H

#include <math.h>
#include <stddef.h>

#include "sampling/cq_sampling.h"

static inline double softplus(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

static inline int has_quad(const cq_smp_density *d)
{
    return (d->kind == CQ_DENS_GAUSS || d->kind == CQ_DENS_LOGISTIC) && d->prec_diag != NULL;
}

/* Per-chain cached state of the density. */
typedef struct dstate {
    double *g;    /* P (x - mean), n (quadratic part) */
    double r2;    /* |x|^2 (EXPNORM) */
    double *z;    /* X x, N (LOGISTIC) */
} dstate;

/* Full log F(x); fills the caches if `ds` is non-NULL (g, z must then be allocated). */
static inline double dens_full(const cq_smp_density *d, const double *x, dstate *ds, double *gbuf, double *zbuf)
{
    size_t n = d->n;
    double lf = 0.0;
    if (has_quad(d)) {
        double *g = ds ? ds->g : gbuf;
        double q = 0.0;
        for (size_t i = 0; i < n; i++) {
            double gi;
            if (d->prec != NULL) {
                const double *row = d->prec + i * n;
                gi = 0.0;
                for (size_t l = 0; l < n; l++) gi += row[l] * (x[l] - (d->mean ? d->mean[l] : 0.0));
            } else {
                gi = d->prec_diag[i] * (x[i] - (d->mean ? d->mean[i] : 0.0));
            }
            g[i] = gi;
            q += (x[i] - (d->mean ? d->mean[i] : 0.0)) * gi;
        }
        lf -= 0.5 * q;
    }
    if (d->kind == CQ_DENS_EXPNORM) {
        double r2 = 0.0;
        for (size_t i = 0; i < n; i++) r2 += x[i] * x[i];
        if (ds) ds->r2 = r2;
        lf -= d->c * (d->power == 1 ? sqrt(r2) : r2);
    } else if (d->kind == CQ_DENS_LOGISTIC) {
        double *z = ds ? ds->z : zbuf;
        double ll = 0.0;
        for (size_t r = 0; r < d->N; r++) {
            const double *row = d->X + r * n;
            double zr = 0.0;
            for (size_t l = 0; l < n; l++) zr += row[l] * x[l];
            z[r] = zr;
            ll += d->y[r] * zr - softplus(zr);
        }
        lf += ll;
    }
    return lf;
}

/* log F(x + h e_j) - log F(x) from the caches (x is the current point). */
static inline double dens_axis_delta(const cq_smp_density *d, const dstate *ds, const double *x, size_t j, double h)
{
    double dl = 0.0;
    if (d->kind == CQ_DENS_UNIFORM) return 0.0;
    if (has_quad(d)) dl -= h * ds->g[j] + 0.5 * h * h * d->prec_diag[j];
    if (d->kind == CQ_DENS_EXPNORM) {
        if (d->power == 2) {
            dl -= d->c * (2.0 * h * x[j] + h * h);
        } else {
            double r2n = ds->r2 + 2.0 * h * x[j] + h * h;
            if (r2n < 0) r2n = 0;
            dl -= d->c * (sqrt(r2n) - sqrt(ds->r2));
        }
    } else if (d->kind == CQ_DENS_LOGISTIC) {
        const double *col = d->XT + j * d->N;
        double ll = 0.0;
        for (size_t r = 0; r < d->N; r++) {
            double dz = h * col[r];
            ll += d->y[r] * dz - softplus(ds->z[r] + dz) + softplus(ds->z[r]);
        }
        dl += ll;
    }
    return dl;
}

/* Update the caches for the accepted move x_j += h (call before x_j changes). */
static inline void dens_axis_commit(const cq_smp_density *d, dstate *ds, const double *x, size_t j, double h)
{
    size_t n = d->n;
    if (has_quad(d)) {
        if (d->prec != NULL) {
            const double *col = d->prec + j * n; /* symmetric: row j == column j */
            double *g = ds->g;
            for (size_t i = 0; i < n; i++) g[i] += h * col[i];
        } else {
            ds->g[j] += h * d->prec_diag[j];
        }
    }
    if (d->kind == CQ_DENS_EXPNORM) {
        double r2n = ds->r2 + 2.0 * h * x[j] + h * h;
        ds->r2 = r2n < 0 ? 0 : r2n;
    } else if (d->kind == CQ_DENS_LOGISTIC) {
        const double *col = d->XT + j * d->N;
        for (size_t r = 0; r < d->N; r++) ds->z[r] += h * col[r];
    }
}

#endif /* CQ_SMP_DENSITY_H */
