/*
 * cq_smp_billiard.h -- one chain of the billiard walk (internal to csrc/sampling/; called by
 * cq_smp_run in cq_smp_walks.c, implemented in cq_smp_billiard.c).
 */
#ifndef CQ_SMP_BILLIARD_H
#define CQ_SMP_BILLIARD_H

#include <stdint.h>

#include "sampling/cq_sampling.h"
#include "sampling/cq_smp_body.h"
#include "sampling/cq_smp_chain.h"

/* Run one chain of the billiard walk from x0 (in K) with mean trajectory length
 * w->delta: burn-in, then w->n_steps steps, keeping every w->thin-th state in samples
 * (n_kept x n) and its continuous time in times (or NULL). cm and bs are the chain's
 * memory; `poll` returns nonzero when the run is interrupted (checked every few thousand
 * steps). *acc counts completed trajectories, *prop steps. */
int cq_smp_billiard(const cq_smp_body *b, const cq_smp_walk *w, const double *x0, size_t n_kept, bitgen_t *g,
                    chain_mem *cm, bstate *bs, double *samples, double *times, int64_t *acc, int64_t *prop,
                    int (*poll)(void *), void *poll_arg, cq_errinfo *err);

#endif /* CQ_SMP_BILLIARD_H */
