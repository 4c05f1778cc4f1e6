/*
 * cq_sampling.h -- random walks for sampling a log-concave density F over a convex body K
 * (A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from log-concave
 * distributions", section 1, and the ball walk at the end of the paper).
 *
 * Read me first:
 *  - A body is the intersection of at most one axis box, any number of Euclidean balls
 *    and one polytope {x : A x <= b}. Continuous walks (ball walk, hit-and-run) test
 *    plain membership x in K.
 *  - The grid walk lives on centres offset + delta * k, k in Z^n. A centre y belongs to
 *    the grid set C when its cube C(y) (side delta) meets K in a set of positive volume.
 *    For a lone box or a lone ball this test is exact (`exact_cube` = 1); otherwise the
 *    centre test y in K is used (a subset of the exact C), see cq_smp_body.
 *  - Densities are log F, evaluated incrementally for an axis move x_j += h from a cached
 *    state: a quadratic part keeps g = P (x - mean) (O(1) per proposal, O(n) per accepted
 *    move, O(1) for a diagonal P), the norm part keeps |x|^2, the logistic part keeps
 *    z = X theta (O(N) per proposal). The caches are recomputed from scratch every
 *    CQ_SMP_RESYNC proposals so that rounding errors cannot accumulate.
 *  - One bitgen_t per chain; chains are distributed with cq_parallel_for, so results are
 *    bit-identical for any number of threads.
 */
#ifndef CQ_SAMPLING_H
#define CQ_SAMPLING_H

#include <stddef.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include "core/cq_common.h"

#define CQ_SMP_RESYNC 65536

/* A convex body K = box ∩ balls ∩ polytope (every part optional). */
typedef struct cq_smp_body {
    size_t n;               /* dimension */
    const double *lo, *hi;  /* box bounds (n each) or NULL for no box */
    size_t n_balls;         /* number of balls */
    const double *centers;  /* n_balls x n, row-major */
    const double *radii;    /* n_balls */
    size_t m;               /* number of polytope rows (0: no polytope) */
    const double *A;        /* m x n, row-major */
    const double *AT;       /* n x m: column j of A is AT + j*m */
    const double *b;        /* m */
    int exact_cube;         /* grid set: 1 = exact cube test (lone box or lone ball), 0 = centre test */
} cq_smp_body;

/* The one list of density kinds (X-macro): the enum below numbers them 0, 1, ... in this
 * order, and csrc/python/_sampling.c exports each as _core.SMP_DENS_<NAME>, which
 * convq.sampling reads (never re-types). Add a kind here, not anywhere else. */
#define CQ_SMP_DENSITY_KINDS(X) \
    X(UNIFORM)                  \
    X(GAUSS)                    \
    X(EXPNORM)                  \
    X(LOGISTIC)

#define CQ_SMP_DENS_ENUM_(name) CQ_DENS_##name,
enum cq_smp_dens_kind { CQ_SMP_DENSITY_KINDS(CQ_SMP_DENS_ENUM_) CQ_DENS_COUNT };
#undef CQ_SMP_DENS_ENUM_

/* log F. GAUSS: -1/2 (x-mean)' P (x-mean). EXPNORM: -c |x|^power, power in {1, 2}.
 * LOGISTIC: sum_i [y_i z_i - log(1 + e^{z_i})] - 1/2 x' P x with z = X x. */
typedef struct cq_smp_density {
    int kind;
    size_t n;
    const double *mean;      /* GAUSS: n (NULL = 0) */
    const double *prec;      /* n x n symmetric, row-major; NULL when diagonal */
    const double *prec_diag; /* n: diagonal of P (GAUSS, LOGISTIC prior); NULL = no quadratic part */
    double c;                /* EXPNORM */
    int power;               /* EXPNORM: 1 or 2 */
    size_t N;                /* LOGISTIC: number of observations */
    const double *X;         /* N x n row-major */
    const double *XT;        /* n x N: column j of X is XT + j*N */
    const double *y;         /* N labels in {0, 1} */
} cq_smp_density;

/* The one list of walk methods (X-macro), exported as _core.SMP_WALK_<NAME>; a new walk
 * adds one line here and its case in cq_smp_walks.c (see ARCHITECTURE.md, "How to add a
 * walk"). */
#define CQ_SMP_WALK_METHODS(X) \
    X(GRID)                    \
    X(BALL)                    \
    X(HAR_COORD)               \
    X(HAR_DIR)                 \
    X(BILLIARD)

#define CQ_SMP_WALK_ENUM_(name) CQ_WALK_##name,
enum cq_smp_walk_method { CQ_SMP_WALK_METHODS(CQ_SMP_WALK_ENUM_) CQ_WALK_COUNT };
#undef CQ_SMP_WALK_ENUM_

typedef struct cq_smp_walk {
    int method;
    double delta;           /* grid side / ball-walk radius / billiard mean trajectory length */
    const double *offset;   /* grid: n, centres are offset + delta * k */
    int continuous_time;    /* add Exp(1) holding times, report them */
    int lazy;               /* grid: stay put with probability 1/2 before proposing */
    size_t n_steps;         /* recorded steps (after burn-in) */
    size_t thin;            /* keep every thin-th step: n_kept = n_steps / thin */
    size_t burn_in;         /* steps run and discarded first */
} cq_smp_walk;

/* Run n_chains independent chains.
 *   x0: n_chains x n start points (continuous walks; ignored by the grid walk)
 *   k0: n_chains x n grid indices (grid walk; the start centres, which must lie in C)
 *   streams[c]: the chain's own generator
 * Outputs (n_kept = n_steps / thin): samples n_chains x n_kept x n; indices (grid only, may
 * be NULL) n_chains x n_kept x n; times (may be NULL) n_chains x n_kept; n_accept and
 * n_prop per chain (accepted moves, proposals; lazy holds are not proposals). */
int cq_smp_run(const cq_smp_body *body, const cq_smp_density *dens, const cq_smp_walk *walk,
               size_t n_chains, const double *x0, const int64_t *k0, bitgen_t **streams,
               int n_threads, double *samples, int64_t *indices, double *times, int64_t *n_accept,
               int64_t *n_prop, cq_interrupt *it, cq_errinfo *err);

/* For each of `rows` grid points k (rows x n), the probability of each of the 2n axis
 * moves of the grid walk as the kernel computes it: out[r*2n + 2j + (s>0)] =
 * (1/2n) min(1, F(y)/F(x)) if y = x + s delta e_j is in C, else 0. in_grid[r] says whether
 * the point itself is in C. */
int cq_smp_grid_moves(const cq_smp_body *body, const cq_smp_density *dens, double delta,
                      const double *offset, size_t rows, const int64_t *k, double *out,
                      uint8_t *in_grid, cq_errinfo *err);

/* Full log F at each of `rows` points (rows x n). */
int cq_smp_logf(const cq_smp_density *dens, size_t rows, const double *x, double *out, cq_errinfo *err);

#endif /* CQ_SAMPLING_H */
