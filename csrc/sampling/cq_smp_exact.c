/*
 * cq_smp_exact.c -- the kernels behind convq.sampling's exact computations: the grid walk's
 * one-step move probabilities (cq_smp_grid_moves: P(x, x + s delta e_j) =
 * (1/2n) min(1, F(y)/F(x)) for y in C, A. Frieze and R. Kannan, "Log-Sobolev inequalities
 * and sampling from log-concave distributions", section 1) from which
 * exact_grid_distribution and transition_matrix are built, and the full log-density
 * (cq_smp_logf). They evaluate the same body and density steps as the walks
 * (cq_smp_body.h, cq_smp_density.h), so the numbers are the kernel's own.
 */
#include <math.h>
#include <stdlib.h>

#include "sampling/cq_sampling.h"
#include "sampling/cq_smp_body.h"
#include "sampling/cq_smp_chain.h"
#include "sampling/cq_smp_density.h"

int cq_smp_logf(const cq_smp_density *dens, size_t rows, const double *x, double *out, cq_errinfo *err)
{
    double *g = (double *)malloc(sizeof(double) * (dens->n + 1));
    double *z = (double *)malloc(sizeof(double) * (dens->N + 1));
    if (g == NULL || z == NULL) {
        free(g);
        free(z);
        return cq_fail(err, CQ_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < rows; r++) out[r] = dens_full(dens, x + r * dens->n, NULL, g, z);
    free(g);
    free(z);
    return CQ_OK;
}

int cq_smp_grid_moves(const cq_smp_body *body, const cq_smp_density *dens, double delta,
                      const double *offset, size_t rows, const int64_t *k, double *out,
                      uint8_t *in_grid, cq_errinfo *err)
{
    size_t n = body->n;
    if (n == 0 || n != dens->n) return cq_fail(err, CQ_EINVAL, "dimension mismatch");
    chain_mem cm;
    if (chain_alloc(body, dens, &cm) != CQ_OK) return cq_fail(err, CQ_ENOMEM, "out of memory");
    dstate ds = {cm.g, 0.0, cm.z};
    bstate bs = {cm.bq, cm.s, cm.sy};
    double inv = 1.0 / (double)(2 * n);
    for (size_t r = 0; r < rows; r++) {
        const int64_t *kr = k + r * n;
        for (size_t i = 0; i < n; i++) cm.x[i] = offset[i] + (double)kr[i] * delta;
        in_grid[r] = (uint8_t)grid_contains(body, cm.x, delta, &bs);
        dens_full(dens, cm.x, &ds, NULL, NULL);
        for (size_t j = 0; j < n; j++) {
            for (int sp = 0; sp < 2; sp++) {
                int64_t sgn = sp ? 1 : -1;
                double h = (double)sgn * delta;
                double yj = offset[j] + (double)(kr[j] + sgn) * delta;
                double p = 0.0;
                if (grid_axis_ok(body, &bs, cm.x, j, yj, h, delta)) {
                    double dl = dens_axis_delta(dens, &ds, cm.x, j, h);
                    p = (dl >= 0 ? 1.0 : exp(dl)) * inv;
                }
                out[r * 2 * n + 2 * j + (size_t)sp] = p;
            }
        }
    }
    free(cm.block);
    return CQ_OK;
}
