/*
 * cq_smp_chain.h -- one chain's working memory for the sampling kernels (internal to
 * csrc/sampling/): the current point and proposal, the density and body caches and the
 * grid indices, carved from one malloc block (freed with free(cm->block)).
 */
#ifndef CQ_SMP_CHAIN_H
#define CQ_SMP_CHAIN_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/cq_rng.h"

#include "sampling/cq_sampling.h"

typedef struct chain_mem {
    double *x, *y, *g, *gy, *z, *zy, *bq, *s, *sy, *d, *Ad;
    int64_t *k;
    void *block;
} chain_mem;

static inline int chain_alloc(const cq_smp_body *b, const cq_smp_density *d, chain_mem *cm)
{
    size_t n = b->n, m = b->m, N = d->N, nb = b->n_balls;
    size_t total = 6 * n + 2 * N + nb + 3 * m + 8;
    cm->block = malloc(sizeof(double) * total + sizeof(int64_t) * (n + 1));
    if (cm->block == NULL) return CQ_ENOMEM;
    double *p = (double *)cm->block;
    cm->x = p; p += n;
    cm->y = p; p += n;
    cm->g = p; p += n;
    cm->gy = p; p += n;
    cm->d = p; p += n;
    cm->Ad = p; p += m + 1;
    cm->z = p; p += N + 1;
    cm->zy = p; p += N + 1;
    cm->bq = p; p += nb + 1;
    cm->s = p; p += m + 1;
    cm->sy = p; p += m + 1;
    p += 2;
    cm->k = (int64_t *)(void *)((double *)cm->block + total);
    return CQ_OK;
}

/* Unit vector uniform on the sphere, into d (normalised Gaussian draws). */
static inline void random_direction(bitgen_t *g, size_t n, double *d)
{
    double nrm;
    do {
        cq_rng_normal_fill(g, n, d);
        nrm = 0.0;
        for (size_t i = 0; i < n; i++) nrm += d[i] * d[i];
    } while (nrm == 0.0);
    nrm = 1.0 / sqrt(nrm);
    for (size_t i = 0; i < n; i++) d[i] *= nrm;
}

#endif /* CQ_SMP_CHAIN_H */
