/*
 * cq_smp_walks.c -- the Frieze-Kannan grid walk, the ball walk and hit-and-run over a convex
 * body with a log-concave density, and cq_smp_run; see cq_sampling.h. The body and
 * density steps they inline are in cq_smp_body.h and cq_smp_density.h.
 *
 * The grid walk (A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from
 * log-concave distributions", section 1, "The random walk"): from the centre x pick j uniformly
 * from [n] and s from {+1, -1}; y = x + s delta e_j; if y is not in C stay, else move with
 * probability min(1, F(y)/F(x)) (compared as U < exp(log F(y) - log F(x))). Hence
 * P(x, y) = (1/2n) min(1, F(y)/F(x)) for y in G(x), and pi = F/D is stationary.
 * Continuous time adds Exp(1) holding times between proposals.
 *
 * The ball walk (end of the same paper, Steps 1', 2'): y = x + u, u uniform in the ball of
 * radius delta; reject y outside K; accept with min(1, F(y)/F(x)).
 *
 * Hit-and-run (for comparison; Metropolised; R. L. Smith, "Efficient Monte Carlo procedures
 * for generating points uniformly distributed over bounded regions", 1984): pick a direction (a coordinate axis or a
 * uniform unit vector), draw y uniformly on the chord of K through x in that direction
 * (a symmetric proposal) and accept with min(1, F(y)/F(x)). For a uniform F this is the
 * classical hit-and-run.
 *
 * The billiard walk (uniform targets) is in cq_smp_billiard.c.
 *
 * The slow NumPy twin of this file (convq/slow/sampling.py, smp_run) makes the same draws
 * and the same floating-point operations in the same order: keep the two in step.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cq_parallel.h"
#include "core/cq_rng.h"
#include "sampling/cq_sampling.h"
#include "sampling/cq_smp_billiard.h"
#include "sampling/cq_smp_body.h"
#include "sampling/cq_smp_chain.h"
#include "sampling/cq_smp_density.h"

/* Metropolis acceptance: true with probability min(1, e^dl). The uniform u is compared
 * with e^dl through the squeeze 1 + dl <= e^dl <= 1 / (1 - dl) (dl < 0), so exp() is
 * evaluated only when u falls between the two bounds (rarely, for small |dl|). */
static inline int cq_accept(bitgen_t *g, double dl)
{
    if (dl >= 0) return 1;
    double u = cq_rng_uniform(g);
    if (u < 1.0 + dl) return 1;
    if (u * (1.0 - dl) >= 1.0) return 0;
    return u < exp(dl);
}

/* One 64-bit draw: bit 0 is the lazy coin, bits 1..31 are the leading bits of the
 * Metropolis uniform (see accept_bits), the high 32 bits give a uniform integer in [0, m)
 * by Lemire's multiply-and-reject (exact; redraws with probability < m / 2^32; the
 * rejection depends on the high bits only, so the low bits stay independent of the move). */
static inline uint32_t draw_move(bitgen_t *g, uint32_t m, uint32_t thresh, int *coin, uint32_t *ubits)
{
    uint64_t x = g->next_uint64(g->state);
    *coin = (int)(x & 1u);
    *ubits = (uint32_t)(x >> 1) & 0x7fffffffu;
    uint64_t prod = (x >> 32) * (uint64_t)m;
    while ((uint32_t)prod < thresh) prod = (g->next_uint64(g->state) >> 32) * (uint64_t)m;
    return (uint32_t)(prod >> 32);
}

/* Metropolis test with a uniform u = (B + V) 2^-31 whose 31 leading bits B are already
 * drawn and whose tail V ~ U[0, 1) is drawn only when the leading bits cannot decide:
 * accept iff u < e^dl. Exact: u is uniform on [0, 1) and is compared with the same
 * squeeze 1 + dl <= e^dl <= 1/(1 - dl) as cq_accept before exp() is evaluated. */
static inline int accept_bits(bitgen_t *g, double dl, uint32_t B)
{
    const double s = 1.0 / 2147483648.0; /* 2^-31 */
    double ulo = (double)B * s, uhi = (double)(B + 1u) * s;
    if (uhi <= 1.0 + dl) return 1;       /* u < uhi <= 1 + dl <= e^dl */
    if (ulo * (1.0 - dl) >= 1.0) return 0; /* u >= ulo >= 1/(1 - dl) >= e^dl  (dl < 0 here) */
    double e = exp(dl);
    if (uhi <= e) return 1;
    if (ulo >= e) return 0;
    return ((double)B + cq_rng_uniform(g)) * s < e;
}

/* ---- the walks ------------------------------------------------------------------------- */

typedef struct run_ctx {
    const cq_smp_body *body;
    const cq_smp_density *dens;
    const cq_smp_walk *walk;
    size_t n_kept;
    const double *x0;
    const int64_t *k0;
    bitgen_t **streams;
    double *samples;
    int64_t *indices;
    double *times;
    int64_t *n_accept, *n_prop;
    cq_interrupt *it;
    cq_errinfo *errs; /* one per chain */
} run_ctx;

/* One chain's own handles, set up once by run_task for either walk: its stream, its error
 * record, and the density's and the body's running states over its memory. */
typedef struct chain {
    bitgen_t *g;
    cq_errinfo *err;
    dstate ds;
    bstate bs;
} chain;

/* Steps between interrupt polls, minus one (a power-of-two mask): about 2^22 units of
 * work per poll (a few milliseconds), at most CQ_SMP_RESYNC steps. */
static size_t poll_mask(size_t work_per_step)
{
    size_t iv = ((size_t)1 << 22) / (work_per_step + 1), p = 1;
    while (p * 2 <= iv && p * 2 <= CQ_SMP_RESYNC) p *= 2;
    return p - 1;
}

/* `done`: thread 0's estimate of the steps taken so far, chain `ch` at step `step` of its
 * `total` (the chains before it started earlier), published for the progress display. */
static inline int poll(cq_interrupt *it, int thread, size_t ch, size_t step, size_t total)
{
    return thread == 0 ? cq_check_progress(it, (int64_t)(ch * total + step)) : cq_interrupted(it);
}

static int run_grid(run_ctx *c, size_t ch, int thread, chain_mem *cm, chain *cs)
{
    const cq_smp_body *b = c->body;
    const cq_smp_density *d = c->dens;
    const cq_smp_walk *w = c->walk;
    size_t n = b->n;
    double delta = w->delta;
    const double *off = w->offset;
    double *x = cm->x;
    int64_t *k = cm->k;
    for (size_t i = 0; i < n; i++) {
        k[i] = c->k0[ch * n + i];
        x[i] = off[i] + (double)k[i] * delta;
    }
    if (!grid_contains(b, x, delta, &cs->bs))
        return cq_fail(cs->err, CQ_EDOMAIN, "chain %zu: the start cube does not meet the body", ch);
    double lf = dens_full(d, x, &cs->ds, NULL, NULL);
    if (!isfinite(lf)) return cq_fail(cs->err, CQ_ENONFINITE, "chain %zu: log-density at the start is %g", ch, lf);
    uint32_t two_n = (uint32_t)(2 * n);
    uint32_t thresh = (uint32_t)(-two_n) % two_n; /* Lemire's rejection threshold 2^32 mod 2n */
    int64_t acc = 0, prop = 0;
    double t = 0.0;
    const int ct = w->continuous_time, lazy = w->lazy;
    const size_t burn = w->burn_in, thin = w->thin, total = burn + w->n_steps, n_kept = c->n_kept;
    size_t kept = 0, countdown = burn + thin; /* steps until the next kept state */
    const size_t pmask = poll_mask(4 + b->n_balls + b->m + d->N);
    for (size_t step = 0; step < total; step++) {
        if ((step & pmask) == pmask && poll(c->it, thread, ch, step, total)) return CQ_EINTERRUPT;
        if ((step & (CQ_SMP_RESYNC - 1)) == CQ_SMP_RESYNC - 1) {
            grid_contains(b, x, delta, &cs->bs);
            lf = dens_full(d, x, &cs->ds, NULL, NULL);
            if (!isfinite(lf)) return cq_fail(cs->err, CQ_ENONFINITE, "chain %zu: log-density became %g", ch, lf);
        }
        if (ct) t += cq_rng_exponential(cs->g);
        int coin;
        uint32_t ubits;
        uint32_t r = draw_move(cs->g, two_n, thresh, &coin, &ubits);
        if (!(lazy && coin)) {
            size_t j = r >> 1;
            int64_t sgn = (r & 1u) ? 1 : -1;
            double h = (double)sgn * delta;
            double yj = off[j] + (double)(k[j] + sgn) * delta;
            prop++;
            if (grid_axis_ok(b, &cs->bs, x, j, yj, h, delta) &&
                accept_bits(cs->g, dens_axis_delta(d, &cs->ds, x, j, h), ubits)) {
                body_axis_commit(b, &cs->bs, x, j, yj, h, delta);
                dens_axis_commit(d, &cs->ds, x, j, h);
                x[j] = yj;
                k[j] += sgn;
                acc++;
            }
        }
        if (--countdown == 0) {
            countdown = thin;
            if (kept < n_kept) {
                size_t o = (ch * n_kept + kept) * n;
                memcpy(c->samples + o, x, sizeof(double) * n);
                if (c->indices) memcpy(c->indices + o, k, sizeof(int64_t) * n);
                if (c->times) c->times[ch * n_kept + kept] = t;
                kept++;
            }
        }
    }
    c->n_accept[ch] = acc;
    c->n_prop[ch] = prop;
    return CQ_OK;
}

static int run_continuous(run_ctx *c, size_t ch, int thread, chain_mem *cm, chain *cs)
{
    const cq_smp_body *b = c->body;
    const cq_smp_density *d = c->dens;
    const cq_smp_walk *w = c->walk;
    size_t n = b->n;
    double *x = cm->x, *y = cm->y;
    memcpy(x, c->x0 + ch * n, sizeof(double) * n);
    if (!body_contains(b, x)) return cq_fail(cs->err, CQ_EDOMAIN, "chain %zu: the start point is not in the body", ch);
    body_init(b, x, 0.0, &cs->bs);
    double lf = dens_full(d, x, &cs->ds, NULL, NULL);
    if (!isfinite(lf)) return cq_fail(cs->err, CQ_ENONFINITE, "chain %zu: log-density at the start is %g", ch, lf);
    int64_t acc = 0, prop = 0;
    double t = 0.0;
    size_t total = w->burn_in + w->n_steps, kept = 0;
    double inv_n = 1.0 / (double)n;
    size_t work = b->n_balls + b->m + d->N + n;
    if (w->method != CQ_WALK_HAR_COORD)
        work = n * (2 + b->n_balls + b->m + d->N) + (d->prec != NULL ? n * n : n);
    const size_t pmask = poll_mask(work);
    for (size_t step = 0; step < total; step++) {
        if ((step & pmask) == pmask && poll(c->it, thread, ch, step, total)) return CQ_EINTERRUPT;
        if ((step & (CQ_SMP_RESYNC - 1)) == CQ_SMP_RESYNC - 1) {
            body_init(b, x, 0.0, &cs->bs);
            lf = dens_full(d, x, &cs->ds, NULL, NULL);
            if (!isfinite(lf)) return cq_fail(cs->err, CQ_ENONFINITE, "chain %zu: log-density became %g", ch, lf);
        }
        if (w->continuous_time) t += cq_rng_exponential(cs->g);
        prop++;
        if (w->method == CQ_WALK_HAR_COORD) {
            size_t j = (size_t)cq_rng_bounded(cs->g, n);
            double tlo, thi;
            chord(b, x, NULL, (long)j, NULL, &cs->bs, &tlo, &thi);
            if (thi > tlo && isfinite(tlo) && isfinite(thi)) {
                double h = tlo + (thi - tlo) * cq_rng_uniform(cs->g);
                double dl = dens_axis_delta(d, &cs->ds, x, j, h);
                if (cq_accept(cs->g, dl)) {
                    for (size_t q = 0; q < b->n_balls; q++) {
                        double cj = b->centers[q * n + j];
                        cs->bs.bq[q] += (x[j] + h - cj) * (x[j] + h - cj) - (x[j] - cj) * (x[j] - cj);
                    }
                    if (b->m) {
                        const double *col = b->AT + j * b->m;
                        for (size_t kk = 0; kk < b->m; kk++) cs->bs.s[kk] -= h * col[kk];
                    }
                    dens_axis_commit(d, &cs->ds, x, j, h);
                    x[j] += h;
                    acc++;
                }
            }
        } else {
            int ok;
            double h = 0.0;
            if (w->method == CQ_WALK_BALL) {
                random_direction(cs->g, n, cm->d);
                double rad = w->delta * pow(cq_rng_uniform_pos(cs->g), inv_n);
                for (size_t i = 0; i < n; i++) y[i] = x[i] + rad * cm->d[i];
                ok = body_contains(b, y);
            } else {
                random_direction(cs->g, n, cm->d);
                for (size_t kk = 0; kk < b->m; kk++) {
                    const double *row = b->A + kk * n;
                    double a = 0.0;
                    for (size_t i = 0; i < n; i++) a += row[i] * cm->d[i];
                    cm->Ad[kk] = a;
                }
                double tlo, thi;
                chord(b, x, cm->d, -1, cm->Ad, &cs->bs, &tlo, &thi);
                ok = thi > tlo && isfinite(tlo) && isfinite(thi);
                if (ok) {
                    h = tlo + (thi - tlo) * cq_rng_uniform(cs->g);
                    for (size_t i = 0; i < n; i++) y[i] = x[i] + h * cm->d[i];
                }
            }
            if (ok) {
                double ly = dens_full(d, y, NULL, cm->gy, cm->zy);
                double dl = ly - lf;
                if (cq_accept(cs->g, dl)) {
                    memcpy(x, y, sizeof(double) * n);
                    lf = ly;
                    if (w->method == CQ_WALK_HAR_DIR)
                        body_move(b, x, h, cm->Ad, &cs->bs);
                    else
                        body_init(b, x, 0.0, &cs->bs);
                    acc++;
                }
            }
        }
        if (step >= w->burn_in && (step - w->burn_in + 1) % w->thin == 0 && kept < c->n_kept) {
            size_t o = (ch * c->n_kept + kept) * n;
            memcpy(c->samples + o, x, sizeof(double) * n);
            if (c->times) c->times[ch * c->n_kept + kept] = t;
            kept++;
        }
    }
    c->n_accept[ch] = acc;
    c->n_prop[ch] = prop;
    return CQ_OK;
}

/* The billiard kernel's poll callback: progress is reported at chain granularity (the
 * kernel does not pass its step). */
typedef struct poll_arg {
    cq_interrupt *it;
    int thread;
    size_t ch, total;
} poll_arg;

static int poll_cb(void *p)
{
    poll_arg *a = (poll_arg *)p;
    return poll(a->it, a->thread, a->ch, 0, a->total);
}

/* The billiard walk (cq_smp_billiard.c) on chain ch's slices of the outputs. */
static int run_billiard(run_ctx *c, size_t ch, int thread, chain_mem *cm, chain *cs)
{
    size_t n = c->body->n;
    poll_arg pa = {c->it, thread, ch, c->walk->burn_in + c->walk->n_steps};
    int st = cq_smp_billiard(c->body, c->walk, c->x0 + ch * n, c->n_kept, cs->g, cm, &cs->bs,
                             c->samples + ch * c->n_kept * n, c->times ? c->times + ch * c->n_kept : NULL,
                             &c->n_accept[ch], &c->n_prop[ch], poll_cb, &pa, cs->err);
    if (st == CQ_EDOMAIN) return cq_fail(cs->err, CQ_EDOMAIN, "chain %zu: the start point is not in the body", ch);
    return st;
}

static int run_task(void *ctx, size_t task, int thread)
{
    run_ctx *c = (run_ctx *)ctx;
    chain_mem cm;
    if (chain_alloc(c->body, c->dens, &cm) != CQ_OK) return cq_fail(&c->errs[task], CQ_ENOMEM, "out of memory");
    chain cs = {c->streams[task], &c->errs[task], {cm.g, 0.0, cm.z}, {cm.bq, cm.s, cm.sy}};
    int method = c->walk->method;
    int st = method == CQ_WALK_GRID       ? run_grid(c, task, thread, &cm, &cs)
             : method == CQ_WALK_BILLIARD ? run_billiard(c, task, thread, &cm, &cs)
                                          : run_continuous(c, task, thread, &cm, &cs);
    free(cm.block);
    return st;
}

int cq_smp_run(const cq_smp_body *body, const cq_smp_density *dens, const cq_smp_walk *walk,
               size_t n_chains, const double *x0, const int64_t *k0, bitgen_t **streams,
               int n_threads, double *samples, int64_t *indices, double *times, int64_t *n_accept,
               int64_t *n_prop, cq_interrupt *it, cq_errinfo *err)
{
    if (body->n == 0 || body->n != dens->n) return cq_fail(err, CQ_EINVAL, "dimension mismatch");
    if (!(walk->delta > 0) && walk->method != CQ_WALK_HAR_COORD && walk->method != CQ_WALK_HAR_DIR)
        return cq_fail(err, CQ_EINVAL, "delta must be > 0, got %g", walk->delta);
    if (walk->thin == 0) return cq_fail(err, CQ_EINVAL, "thin must be >= 1");
    if (walk->method == CQ_WALK_BILLIARD && dens->kind != CQ_DENS_UNIFORM)
        return cq_fail(err, CQ_EINVAL, "the billiard walk samples the uniform law only (density kind %d)", dens->kind);
    if (body->n > UINT32_MAX / 4) return cq_fail(err, CQ_EINVAL, "dimension too large");
    run_ctx c = {.body = body, .dens = dens, .walk = walk, .n_kept = walk->n_steps / walk->thin,
                 .x0 = x0, .k0 = k0, .streams = streams, .samples = samples, .indices = indices,
                 .times = times, .n_accept = n_accept, .n_prop = n_prop, .it = it};
    c.errs = (cq_errinfo *)calloc(n_chains ? n_chains : 1, sizeof(cq_errinfo));
    if (c.errs == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory");
    cq_progress_total(it, (int64_t)(n_chains * (walk->burn_in + walk->n_steps)));
    int st = cq_parallel_for(n_chains, n_threads, run_task, &c, it);
    if (st != CQ_OK && err != NULL) {
        for (size_t i = 0; i < n_chains; i++)
            if (c.errs[i].msg[0]) {
                memcpy(err->msg, c.errs[i].msg, sizeof(err->msg));
                break;
            }
    }
    free(c.errs);
    return st;
}
