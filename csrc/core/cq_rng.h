/*
 * cq_rng.h -- random variates drawn from a numpy BitGenerator (`bitgen_t`).
 *
 * Read me first:
 *  - The only source of randomness in csrc/ is a caller-provided `bitgen_t *`, the
 *    struct behind `numpy.random.Generator.bit_generator.capsule` ("BitGenerator").
 *    The caller (binding layer) holds `bit_generator.lock` for the whole call, so the
 *    Python-side stream continues exactly where C left it.
 *  - cq_rng_uniform() is `next_double`, i.e. exactly what `Generator.random()` returns
 *    for the same state (numpy's random_standard_uniform).
 *  - Parallel work uses one bitgen_t per chain/task (SeedSequence.spawn in Python), never
 *    one shared stream, so results do not depend on the number of threads.
 *  - Normal and exponential variates are NumPy's own ziggurat samplers (libnpyrandom, the
 *    static library NumPy ships for C extensions), so they equal Generator.standard_normal()
 *    and Generator.standard_exponential() for the same state.
 */
#ifndef CQ_RNG_H
#define CQ_RNG_H

#include <math.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include <numpy/random/distributions.h>

/* U[0, 1) with 53 random bits; identical to Generator.random(). */
static inline double cq_rng_uniform(bitgen_t *g) { return g->next_double(g->state); }

/* (0, 1]: never 0, for logarithms. */
static inline double cq_rng_uniform_pos(bitgen_t *g) { return 1.0 - g->next_double(g->state); }

static inline uint64_t cq_rng_u64(bitgen_t *g) { return g->next_uint64(g->state); }
static inline uint32_t cq_rng_u32(bitgen_t *g) { return g->next_uint32(g->state); }

/*
 * Uniform integer in [0, n), n >= 1, by Lemire's multiply-and-reject method
 * (D. Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019).
 * Unbiased; usually one draw and no division.
 */
uint64_t cq_rng_bounded(bitgen_t *g, uint64_t n);

/* Standard exponential (ziggurat; == Generator.standard_exponential()). */
static inline double cq_rng_exponential(bitgen_t *g) { return random_standard_exponential(g); }

/* Standard normal (ziggurat; == Generator.standard_normal()). */
static inline double cq_rng_normal(bitgen_t *g) { return random_standard_normal(g); }

/* Fill out[0..n) with standard normals (== Generator.standard_normal(n)). */
void cq_rng_normal_fill(bitgen_t *g, size_t n, double *out);

/* Fill out[0..n) with U[0,1) (= Generator.random(n)). */
void cq_rng_uniform_fill(bitgen_t *g, size_t n, double *out);

#endif /* CQ_RNG_H */
