/*
 * cq_svm_dcd.c -- linear SVM (hinge or squared hinge) by dual coordinate descent with the
 * intercept's equality constraint handled by the method of multipliers (the math, the
 * constants U and D of each loss and the references are in cq_svm_dcd.h).
 */
#include "optimize/cq_svm_dcd.h"

#include <math.h>

#include "core/cq_rng.h"
#include "core/cq_reduce.h"

/* the inexact augmented-Lagrangian schedule (cq_svm_dcd.h) */
#define CQ_SVM_OMEGA0 1e-1
#define CQ_SVM_OMEGA_FACTOR 1e-1
#define CQ_SVM_EQ_DECREASE 0.25
#define CQ_SVM_RHO_GROWTH 2.0


int cq_svm_dcd(const double *X, const double *s, size_t m, size_t n, const cq_svm_dcd_opts *o, double *alpha,
               double *w, double *qii, size_t *perm, bitgen_t *bg, cq_svm_dcd_info *info, cq_interrupt *it,
               cq_errinfo *err)
{
    if (m == 0 || n == 0) return cq_fail(err, CQ_EINVAL, "X must have at least one row and one column");
    if (!(o->C > 0.0) || !(o->k > 0.0) || !(o->eps > 0.0) || o->max_epochs < 1 || o->max_outer < 1 ||
        (o->loss != CQ_SVM_HINGE && o->loss != CQ_SVM_SQUARED_HINGE))
        return cq_fail(err, CQ_EINVAL, "invalid dual coordinate descent options");
    const int squared = o->loss == CQ_SVM_SQUARED_HINGE;
    const double Ck = o->C * o->k, Ckk = Ck * o->k;
    /* the box bound U and the diagonal D of the dual (cq_svm_dcd.h); a_scale scales the
     * equality tolerance (a_scale: the size of a_i for a unit margin violation) */
    const double U = squared ? HUGE_VAL : Ck;
    const double D = squared ? 0.5 / Ckk : 0.0;
    const double a_scale = squared ? 2.0 * Ckk : Ck;
    if (!(isfinite(a_scale) && a_scale > 0.0 && isfinite(D)))
        return cq_fail(err, CQ_EINVAL, "C k (hinge) or C k^2 (squared hinge) must be positive and finite");
    double qmean = 0.0;
    for (size_t j = 0; j < n; j++) w[j] = 0.0;
    double S = 0.0;
    for (size_t i = 0; i < m; i++) {
        if (!(alpha[i] >= 0.0 && alpha[i] <= U && isfinite(alpha[i])))
            return cq_fail(err, CQ_EINVAL, squared ? "alpha0 must be finite and >= 0" : "alpha0 outside [0, C k]");
        const double *xi = X + i * n;
        qii[i] = cq_dot(xi, xi, n);
        qmean += qii[i] / (double)m;
        if (alpha[i] != 0.0) {
            double c = alpha[i] * s[i];
            for (size_t j = 0; j < n; j++) w[j] += c * xi[j];
            S += c;
        }
    }
    /* the default penalty: a tenth of the mean curvature ||x_i||^2 (measured: fewer passes than
     * rho = mean ||x_i||^2 or a hundredth of it on breast cancer and 20000 x 50) */
    double rho = o->intercept ? (o->rho > 0.0 ? o->rho : (qmean > 0.0 ? 0.1 * qmean : 1.0)) : 0.0;
    const double tol_eq = o->eps * (a_scale > 1.0 ? a_scale : 1.0);
    /* the inexact schedule (cq_svm_dcd.h): the inner tolerance omega falls by OMEGA_FACTOR per
     * multiplier update to eps; rho grows by RHO_GROWTH when |S| fell by less than a quarter */
    double omega = o->intercept && o->eps < CQ_SVM_OMEGA0 ? CQ_SVM_OMEGA0 : o->eps;
    double S_prev = HUGE_VAL;
    double lambda = 0.0, spread = HUGE_VAL;
    long epochs = 0, outer = 0;
    cq_progress_total(it, o->max_epochs);
    info->converged = 0;
    for (outer = 0; outer < o->max_outer && epochs < o->max_epochs; outer++) {
        /* the inner problem for this multiplier, to a projected-gradient spread of eps, with
         * Hsieh et al.'s shrinking (section 3.2): a coordinate at a bound whose gradient
         * points outwards beyond last epoch's extreme projected gradients leaves the
         * active set; when the active set has converged, every coordinate is checked
         * again once, and the inner solve ends only if the full pass converges too. */
        size_t active = m;
        double pgmax_old = HUGE_VAL, pgmin_old = -HUGE_VAL;
        for (size_t i = 0; i < m; i++) perm[i] = i;
        while (epochs < o->max_epochs) {
            for (size_t i = active; i > 1; i--) { /* Fisher-Yates: a fresh random order each epoch */
                size_t j = (size_t)cq_rng_bounded(bg, (uint64_t)i);
                size_t t = perm[i - 1];
                perm[i - 1] = perm[j];
                perm[j] = t;
            }
            double pgmax = -HUGE_VAL, pgmin = HUGE_VAL;
            for (size_t t = 0; t < active;) {
                size_t i = perm[t];
                const double *xi = X + i * n;
                double G = s[i] * (cq_dot(w, xi, n) + lambda + rho * S) - 1.0;
                double a = alpha[i];
                if (squared) G += D * a;
                double pg = 0.0;
                if (a == 0.0) {
                    if (G > pgmax_old) { /* shrink: swap out of the active prefix */
                        active--;
                        perm[t] = perm[active];
                        perm[active] = i;
                        continue;
                    }
                    if (G < 0.0) pg = G;
                } else if (a == U) { /* never for the squared hinge: U = inf */
                    if (G < pgmin_old) {
                        active--;
                        perm[t] = perm[active];
                        perm[active] = i;
                        continue;
                    }
                    if (G > 0.0) pg = G;
                } else {
                    pg = G;
                }
                t++;
                if (pg > pgmax) pgmax = pg;
                if (pg < pgmin) pgmin = pg;
                double d = squared ? qii[i] + D + rho : qii[i] + rho;
                if (pg == 0.0 || !(d > 0.0)) continue;
                double an = a - G / d;
                an = an < 0.0 ? 0.0 : (an > U ? U : an);
                double delta = an - a;
                if (delta != 0.0) {
                    double c = delta * s[i];
                    for (size_t j = 0; j < n; j++) w[j] += c * xi[j];
                    S += c;
                    alpha[i] = an;
                }
            }
            epochs++;
            if (cq_check_progress(it, epochs)) return cq_fail(err, CQ_EINTERRUPT, "interrupted");
            if (active == 0) { pgmax = 0.0; pgmin = 0.0; }
            spread = pgmax - pgmin;
            if (spread <= omega) {
                if (active == m) break;  /* converged on every coordinate */
                active = m;              /* un-shrink and check all once more */
                pgmax_old = HUGE_VAL;
                pgmin_old = -HUGE_VAL;
                continue;
            }
            pgmax_old = pgmax > 0.0 ? pgmax : HUGE_VAL;
            pgmin_old = pgmin < 0.0 ? pgmin : -HUGE_VAL;
        }
        if (!o->intercept) {
            info->converged = spread <= o->eps;
            outer++;
            break;
        }
        lambda += rho * S;
        if (spread <= o->eps && fabs(S) <= tol_eq) {
            info->converged = 1;
            outer++;
            break;
        }
        if (fabs(S) > tol_eq && fabs(S) > CQ_SVM_EQ_DECREASE * S_prev) rho *= CQ_SVM_RHO_GROWTH;
        S_prev = fabs(S);
        omega = omega * CQ_SVM_OMEGA_FACTOR > o->eps ? omega * CQ_SVM_OMEGA_FACTOR : o->eps;
    }
    info->intercept = lambda;
    info->pg_spread = spread;
    info->eq_violation = fabs(S);
    info->n_epochs = epochs;
    info->n_outer = outer;
    return CQ_OK;
}
