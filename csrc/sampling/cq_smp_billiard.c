/*
 * cq_smp_billiard.c -- the billiard walk for the uniform law on a convex body
 * K = box ∩ balls ∩ {A x <= b} (B. T. Polyak and E. N. Gryazina, "Billiard walk - a new
 * sampling algorithm for control and optimization", IFAC Proceedings 47(3), 2014,
 * section 3, "Billiard walk").
 *
 * One step from x in K: draw a trajectory length L = -tau log u (u uniform on (0, 1]: L is
 * exponential with mean tau, a diameter-sized length) and a direction d uniform on the
 * sphere; move along the ray x + t d; on reaching the boundary of K at the first hit t*
 * move there, shorten L by t* and reflect d in the tangent plane, d <- d - 2 (d'nu) nu with
 * nu the unit normal of the face hit (e_i for a box side, (y - c)/r for a ball,
 * a_k / |a_k| for a polytope row); stop when L is used up. The end point is the next
 * state. A trajectory with more than R = 100 n reflections (a corner trap), or whose end
 * point fails the membership test through rounding, is discarded and the chain stays at
 * x (as in the paper's algorithm, which restarts from x). The kernel is symmetric
 * (reflection preserves the Lebesgue measure on the phase space and the law of (L, d) is
 * invariant under time reversal), so the uniform law on K is stationary.
 *
 * Cost per segment: O(mn) for A d (recomputed after each reflection), O(m) to advance the
 * slack s = b - A x by s -= t A d (cached across steps, saved in cm->sy before each
 * trajectory and restored when it is discarded, recomputed in full every CQ_SMP_RESYNC
 * steps), O(n) per ball and per box.
 *
 * The NumPy twin (convq/slow/sampling.py, _billiard_chain) makes the same draws and the
 * same floating-point operations in the same order: keep the two in step.
 */
#include <math.h>
#include <string.h>

#include "core/cq_rng.h"
#include "sampling/cq_smp_billiard.h"

/* The first boundary hit along x + t d, t > 0: returns t* (HUGE_VAL if none) and the face
 * in *kind (0 box, 1 ball, 2 row) and *idx. Ad = A d. Faces whose normal points away
 * from d (or is orthogonal) are never hit. */
static double first_hit(const cq_smp_body *b, const double *x, const double *d, const double *Ad, const double *s,
                        int *kind, size_t *idx)
{
    size_t n = b->n;
    double best = HUGE_VAL;
    *kind = -1;
    *idx = 0;
    if (b->lo != NULL) {
        for (size_t i = 0; i < n; i++) {
            double t;
            if (d[i] > 0) t = (b->hi[i] - x[i]) / d[i];
            else if (d[i] < 0) t = (b->lo[i] - x[i]) / d[i];
            else continue;
            if (t < 0) t = 0;
            if (t < best) {
                best = t;
                *kind = 0;
                *idx = i;
            }
        }
    }
    for (size_t q = 0; q < b->n_balls; q++) {
        const double *c = b->centers + q * n;
        double p = 0.0, qq = 0.0;
        for (size_t i = 0; i < n; i++) {
            p += (x[i] - c[i]) * d[i];
            qq += (x[i] - c[i]) * (x[i] - c[i]);
        }
        double disc = p * p - (qq - b->radii[q] * b->radii[q]);
        if (disc < 0) disc = 0;
        double t = -p + sqrt(disc);
        if (t < 0) t = 0;
        if (t < best) {
            best = t;
            *kind = 1;
            *idx = q;
        }
    }
    for (size_t k = 0; k < b->m; k++) {
        if (Ad[k] > 0) {
            double sk = s[k] < 0 ? 0.0 : s[k];
            double t = sk / Ad[k];
            if (t < best) {
                best = t;
                *kind = 2;
                *idx = k;
            }
        }
    }
    return best;
}

static void mat_vec(const cq_smp_body *b, const double *d, double *Ad)
{
    for (size_t k = 0; k < b->m; k++) {
        const double *row = b->A + k * b->n;
        double a = 0.0;
        for (size_t i = 0; i < b->n; i++) a += row[i] * d[i];
        Ad[k] = a;
    }
}

/* Reflect d in the face (kind, idx) at the point x: d <- d - 2 (d'nu) nu. */
static void reflect(const cq_smp_body *b, const double *x, int kind, size_t idx, double *d)
{
    size_t n = b->n;
    if (kind == 0) {
        d[idx] = -d[idx];
        return;
    }
    const double *a = kind == 1 ? b->centers + idx * n : b->A + idx * n;
    double dot = 0.0, nn = 0.0;
    for (size_t i = 0; i < n; i++) {
        double v = kind == 1 ? x[i] - a[i] : a[i];
        dot += v * d[i];
        nn += v * v;
    }
    if (!(nn > 0)) return;
    double f = 2.0 * dot / nn;
    for (size_t i = 0; i < n; i++) d[i] -= f * (kind == 1 ? x[i] - a[i] : a[i]);
}

int cq_smp_billiard(const cq_smp_body *b, const cq_smp_walk *w, const double *x0, size_t n_kept, bitgen_t *g,
                    chain_mem *cm, bstate *bs, double *samples, double *times, int64_t *acc, int64_t *prop,
                    int (*poll)(void *), void *poll_arg, cq_errinfo *err)
{
    size_t n = b->n, m = b->m;
    double *x = cm->x, *y = cm->y, *d = cm->d, *Ad = cm->Ad, *s0 = cm->sy;
    memcpy(x, x0, sizeof(double) * n);
    if (!body_contains(b, x)) return cq_fail(err, CQ_EDOMAIN, "the start point is not in the body");
    body_init(b, x, 0.0, bs);
    const double tau = w->delta;
    const size_t max_refl = 100 * n;
    const size_t total = w->burn_in + w->n_steps;
    int64_t na = 0, np = 0;
    double t = 0.0;
    size_t kept = 0;
    for (size_t step = 0; step < total; step++) {
        if ((step & 1023) == 1023 && poll(poll_arg)) return CQ_EINTERRUPT;
        if ((step & (CQ_SMP_RESYNC - 1)) == CQ_SMP_RESYNC - 1) body_init(b, x, 0.0, bs);
        if (w->continuous_time) t += cq_rng_exponential(g);
        np++;
        double L = -tau * log(cq_rng_uniform_pos(g));
        random_direction(g, n, d);
        memcpy(y, x, sizeof(double) * n);
        if (m) memcpy(s0, bs->s, sizeof(double) * m);
        int done = 0;
        for (size_t r = 0; r <= max_refl; r++) {
            int kind;
            size_t idx;
            mat_vec(b, d, Ad);
            double th = first_hit(b, y, d, Ad, bs->s, &kind, &idx);
            double tt = L < th ? L : th;
            for (size_t i = 0; i < n; i++) y[i] += tt * d[i];
            for (size_t k = 0; k < m; k++) bs->s[k] -= tt * Ad[k];
            if (L <= th) {
                done = 1;
                break;
            }
            L -= th;
            if (kind == 0) y[idx] = d[idx] > 0 ? b->hi[idx] : b->lo[idx];
            else if (kind == 2) bs->s[idx] = 0.0;
            reflect(b, y, kind, idx, d);
        }
        if (done && body_contains(b, y)) {
            memcpy(x, y, sizeof(double) * n);
            na++;
        } else if (m) {
            memcpy(bs->s, s0, sizeof(double) * m);
        }
        if (step >= w->burn_in && (step - w->burn_in + 1) % w->thin == 0 && kept < n_kept) {
            memcpy(samples + kept * n, x, sizeof(double) * n);
            if (times) times[kept] = t;
            kept++;
        }
    }
    *acc = na;
    *prop = np;
    return CQ_OK;
}
