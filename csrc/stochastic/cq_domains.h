/*
 * cq_domains.h -- Euclidean projections onto convex domains and the mirror-descent step
 * of Mayekar & Tyagi, Remark 3 (mirror map ||x||_r^2 / (2 (r - 1)), r = p' in (1, 2]).
 *
 * Read me first:
 *  - Domains: a box [lo_i, hi_i]; an l_p ball {||x||_p <= R} for p in [1, inf].
 *  - Projections are exact up to floating point: clipping (box, l_inf), scaling (l_2),
 *    the sort-based simplex/l_1 projection (Duchi, Shalev-Shwartz, Singer, Chandra 2008,
 *    O(d log d)), and for 1 < p < inf (p != 2) the KKT system
 *        z_i = sign(x_i) w_i,   w_i + nu w_i^(p-1) = |x_i|,   sum w_i^p = R^p,
 *    solved by bisection on log(nu) (outer) and a safeguarded Newton iteration per
 *    coordinate (inner), to relative accuracy ~1e-14 in the constraint.
 *  - Extreme scales: the l_1 projection scales |x| by the power of two that brings max|x_i|
 *    into [0.5, 1) and carries its threshold in double-double, so a radius far below
 *    max|x_i| (R = 1, x = 1e16 e_1) still gives the exact projection; the l_2 scaling falls
 *    back to max-scaled arithmetic when ||x||_2 overflows or R / ||x||_2 underflows; the
 *    general-p bisection works in units of max|x_i| throughout.
 *  - In-place: x is overwritten by its projection. `work` needs d doubles (l_1 only).
 */
#ifndef CQ_DOMAINS_H
#define CQ_DOMAINS_H

#include <stddef.h>
#include "core/cq_common.h"

/* The domain kinds, one list: the enum below and the constants DOM_<NAME> of convq._core
 * (csrc/python/_stochastic.c) are generated from it. */
#define CQ_DOM_KINDS(X) \
    X(NONE, 0)          \
    X(BOX, 1)           \
    X(LPBALL, 2)

#define CQ_DOM_ENUM_(name, num) CQ_DOM_##name = num,
typedef enum { CQ_DOM_KINDS(CQ_DOM_ENUM_) } cq_domain_kind;
#undef CQ_DOM_ENUM_

typedef struct cq_domain {
    cq_domain_kind kind;
    const double *lo, *hi;   /* box bounds (length d), CQ_DOM_BOX */
    double p;                /* l_p ball exponent in [1, inf] (INFINITY allowed) */
    double radius;           /* l_p ball radius > 0 */
} cq_domain;

/* ||x||_p for p in [1, inf]. */
double cq_norm_p(const double *x, size_t d, double p);

void cq_proj_box(double *x, size_t d, const double *lo, const double *hi);
void cq_proj_l2ball(double *x, size_t d, double radius);
void cq_proj_linfball(double *x, size_t d, double radius);
void cq_proj_l1ball(double *x, size_t d, double radius, double *work);
/* Any p in [1, inf]; work: d doubles (used for p = 1). */
void cq_proj_lpball(double *x, size_t d, double p, double radius, double *work);

/* Project onto any cq_domain (work: d doubles). */
void cq_project(const cq_domain *dom, double *x, size_t d, double *work);

/*
 * One step of stochastic mirror descent with psi(x) = ||x||_r^2 / (2 (r-1)), r in (1, 2]:
 *     theta = grad psi(x) - eta g,   x+ = argmin_{z in K} D_psi(z, grad psi^*(theta)).
 * grad psi(x)_i = ||x||_r^(2-r) sign(x_i)|x_i|^(r-1) / (r-1); psi^*(theta) = (r-1)||theta||_s^2/2,
 * s = r/(r-1). Supported K: the l_r ball (the Bregman projection is a radial scaling), the
 * l_1 ball (x+ = grad psi^*(soft(theta, mu)), mu >= 0 found by bisection so that ||x+||_1 = R),
 * and no constraint. Returns CQ_EINVAL for other domains. `work`: d doubles.
 */
int cq_mirror_step(double *x, const double *g, size_t d, double r, double eta, const cq_domain *dom,
                   double *work, cq_errinfo *err);

#endif /* CQ_DOMAINS_H */
