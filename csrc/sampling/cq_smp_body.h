/*
 * cq_smp_body.h -- the convex body K = box ∩ balls ∩ {x : A x <= b} of the sampling
 * kernels: plain membership, the grid set C of the grid walk (incremental along axis
 * moves), and chords (internal to csrc/sampling/; static inline so that the walks of
 * cq_smp_walks.c inline every step).
 *
 * The grid set (A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from
 * log-concave distributions", section 1): a centre y is in C when its cube C(y) of side
 * delta meets K in positive volume. For a lone box this is an overlap test per axis
 * (box_cube_meets), for a lone ball the squared distance of the cube to the centre,
 * sum_i max(|y_i - c_i| - delta/2, 0)^2 < r^2 (exact_cube = 1); otherwise the centre test
 * y in K (a subset of C).
 *
 * Caches per chain (bstate): the per-ball sums above and the slack s = b - A x, updated in
 * O(n_balls + m) per axis move, in O(m + n n_balls) per random-direction move (body_move,
 * from the step's A d) and recomputed by body_init every CQ_SMP_RESYNC proposals.
 *
 * Chords {t : x + t d in K} (hit-and-run, R. L. Smith, "Efficient Monte Carlo procedures for
 * generating points uniformly distributed over bounded regions", 1984): the intersection of
 * the box's slab intervals, each ball's root interval of t^2 + 2 p t + |x - c|^2 - r^2 <= 0
 * (|d| = 1, p = (x - c)'d), and t a_k'd <= s_k for each polytope row.
 *
 * The NumPy twin (convq/slow/sampling.py, _Body) evaluates the same expressions in the
 * same order: keep the two in step.
 */
#ifndef CQ_SMP_BODY_H
#define CQ_SMP_BODY_H

#include <math.h>
#include <stddef.h>

#include "sampling/cq_sampling.h"

/* Per-chain cached state of the body. */
typedef struct bstate {
    double *bq;   /* per ball: sum of (clipped) squared distances to the centre */
    double *s;    /* slack b - A x, m */
    double *sy;   /* scratch: the slack at the proposal (grid walk), swapped in on accept */
} bstate;

/* Does the interval [v - h, v + h] overlap [lo, hi] by more than 1e-9 h on each side?
 * (a positive-volume intersection, robust to rounding when the grid is aligned with the
 * box; convq/sampling/bodies.py and the twin in
 * convq/slow/sampling.py evaluate the same expressions). */
static inline int box_cube_meets(double v, double h, double lo, double hi)
{
    double eps = 1e-9 * h;
    return (hi - (v - h)) > eps && ((v + h) - lo) > eps;
}

/* Squared distance of the interval [v - h, v + h] to c along one axis (h = delta/2). */
static inline double clip_sq(double v, double c, double h)
{
    double a = fabs(v - c) - h;
    return a > 0 ? a * a : 0.0;
}

static inline double ball_term(const cq_smp_body *b, double v, double c, double delta)
{
    if (b->exact_cube) return clip_sq(v, c, 0.5 * delta);
    return (v - c) * (v - c);
}

/* Fill the body caches at x. `delta` is used by the exact cube test (grid walk) only;
 * pass 0 for plain membership. */
static inline void body_init(const cq_smp_body *b, const double *x, double delta, bstate *bs)
{
    size_t n = b->n;
    for (size_t q = 0; q < b->n_balls; q++) {
        const double *c = b->centers + q * n;
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) acc += ball_term(b, x[i], c[i], delta);
        bs->bq[q] = acc;
    }
    for (size_t k = 0; k < b->m; k++) {
        const double *row = b->A + k * n;
        double ax = 0.0;
        for (size_t i = 0; i < n; i++) ax += row[i] * x[i];
        bs->s[k] = b->b[k] - ax;
    }
}

/* The caches after the move x <- x + h d of a continuous walk (x is already the new point):
 * the slack in O(m) from the A d of the step, s_k <- s_k - h (A d)_k, instead of the O(mn)
 * product b - A x; the ball sums |x - c|^2 afresh (O(n) each). The drift of the slack
 * (about one rounding unit of |s| per move) is reset by the full body_init that every walk
 * runs each CQ_SMP_RESYNC proposals. */
static inline void body_move(const cq_smp_body *b, const double *x, double h, const double *Ad, bstate *bs)
{
    size_t n = b->n;
    for (size_t q = 0; q < b->n_balls; q++) {
        const double *c = b->centers + q * n;
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) acc += (x[i] - c[i]) * (x[i] - c[i]);
        bs->bq[q] = acc;
    }
    for (size_t k = 0; k < b->m; k++) bs->s[k] -= h * Ad[k];
}

/* Is the grid point x in C (full test)? */
static inline int grid_contains(const cq_smp_body *b, const double *x, double delta, bstate *bs)
{
    size_t n = b->n;
    double h = 0.5 * delta;
    body_init(b, x, delta, bs);
    if (b->lo != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (b->exact_cube) {
                if (!box_cube_meets(x[i], h, b->lo[i], b->hi[i])) return 0;
            } else if (!(x[i] >= b->lo[i] && x[i] <= b->hi[i])) {
                return 0;
            }
        }
    }
    for (size_t q = 0; q < b->n_balls; q++) {
        double r2 = b->radii[q] * b->radii[q];
        if (b->exact_cube ? !(bs->bq[q] < r2) : !(bs->bq[q] <= r2)) return 0;
    }
    for (size_t k = 0; k < b->m; k++)
        if (!(bs->s[k] >= 0)) return 0;
    return 1;
}

/* Is x + h e_j (new coordinate yj) in C, given the caches at x? */
static inline int grid_axis_ok(const cq_smp_body *b, bstate *bs, const double *x, size_t j, double yj,
                               double h, double delta)
{
    if (b->lo != NULL) {
        if (b->exact_cube) {
            if (!box_cube_meets(yj, 0.5 * delta, b->lo[j], b->hi[j])) return 0;
        } else if (!(yj >= b->lo[j] && yj <= b->hi[j])) {
            return 0;
        }
    }
    for (size_t q = 0; q < b->n_balls; q++) {
        double cj = b->centers[q * b->n + j];
        double v = bs->bq[q] - ball_term(b, x[j], cj, delta) + ball_term(b, yj, cj, delta);
        double r2 = b->radii[q] * b->radii[q];
        if (b->exact_cube ? !(v < r2) : !(v <= r2)) return 0;
    }
    if (b->m) {
        /* one fused pass: the proposal's slack into the scratch buffer (swapped in by
         * body_axis_commit) and a branch-free and-reduction of its signs */
        const double *col = b->AT + j * b->m;
        const double *s = bs->s;
        double *sy = bs->sy;
        int ok = 1;
        for (size_t k = 0; k < b->m; k++) {
            double v = s[k] - h * col[k];
            sy[k] = v;
            ok &= (v >= 0);
        }
        return ok;
    }
    return 1;
}

static inline void body_axis_commit(const cq_smp_body *b, bstate *bs, const double *x, size_t j, double yj,
                                    double h, double delta)
{
    for (size_t q = 0; q < b->n_balls; q++) {
        double cj = b->centers[q * b->n + j];
        bs->bq[q] += ball_term(b, yj, cj, delta) - ball_term(b, x[j], cj, delta);
    }
    if (b->m) { /* grid_axis_ok left the new slack in sy */
        double *t = bs->s;
        bs->s = bs->sy;
        bs->sy = t;
    }
    (void)h;
}

/* Plain membership y in K (closed body). */
static inline int body_contains(const cq_smp_body *b, const double *y)
{
    size_t n = b->n;
    if (b->lo != NULL)
        for (size_t i = 0; i < n; i++)
            if (!(y[i] >= b->lo[i] && y[i] <= b->hi[i])) return 0;
    for (size_t q = 0; q < b->n_balls; q++) {
        const double *c = b->centers + q * n;
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) acc += (y[i] - c[i]) * (y[i] - c[i]);
        if (!(acc <= b->radii[q] * b->radii[q])) return 0;
    }
    for (size_t k = 0; k < b->m; k++) {
        const double *row = b->A + k * n;
        double ax = 0.0;
        for (size_t i = 0; i < n; i++) ax += row[i] * y[i];
        if (!(ax <= b->b[k])) return 0;
    }
    return 1;
}

/* Chord {t : x + t d in K} = [*tlo, *thi] (x in K). `Ad` = A d (m) or NULL to compute it
 * from the column `jcol` (coordinate direction, d = e_j). `bq` = |x - c_q|^2 per ball. */
static inline void chord(const cq_smp_body *b, const double *x, const double *d, long jcol, const double *Ad,
                  const bstate *bs, double *tlo, double *thi)
{
    size_t n = b->n;
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    if (b->lo != NULL) {
        size_t i0 = jcol >= 0 ? (size_t)jcol : 0, i1 = jcol >= 0 ? (size_t)jcol + 1 : n;
        for (size_t i = i0; i < i1; i++) {
            double di = jcol >= 0 ? 1.0 : d[i];
            if (di > 0) {
                double a = (b->lo[i] - x[i]) / di, c = (b->hi[i] - x[i]) / di;
                if (a > lo) lo = a;
                if (c < hi) hi = c;
            } else if (di < 0) {
                double a = (b->hi[i] - x[i]) / di, c = (b->lo[i] - x[i]) / di;
                if (a > lo) lo = a;
                if (c < hi) hi = c;
            }
        }
    }
    for (size_t q = 0; q < b->n_balls; q++) {
        const double *c = b->centers + q * n;
        /* |x - c + t d|^2 <= r^2, |d| = 1: t^2 + 2 p t + (Q - r^2) <= 0 */
        double p;
        if (jcol >= 0) {
            p = x[jcol] - c[jcol];
        } else {
            p = 0.0;
            for (size_t i = 0; i < n; i++) p += (x[i] - c[i]) * d[i];
        }
        double disc = p * p - (bs->bq[q] - b->radii[q] * b->radii[q]);
        if (disc < 0) disc = 0;
        double sq = sqrt(disc);
        if (-p - sq > lo) lo = -p - sq;
        if (-p + sq < hi) hi = -p + sq;
    }
    for (size_t k = 0; k < b->m; k++) {
        double a = jcol >= 0 ? b->AT[(size_t)jcol * b->m + k] : Ad[k];
        double s = bs->s[k] < 0 ? 0.0 : bs->s[k];
        if (a > 0) {
            if (s / a < hi) hi = s / a;
        } else if (a < 0) {
            if (s / a > lo) lo = s / a;
        }
    }
    *tlo = lo;
    *thi = hi;
}

#endif /* CQ_SMP_BODY_H */
