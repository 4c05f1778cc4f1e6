/* cq_sgd.c -- see cq_sgd.h. */
#include <math.h>
#include <string.h>
#include "stochastic/cq_sgd.h"

int64_t cq_sgd_n_records(const cq_sgd_params *P)
{
    return (P->T + P->record_every - 1) / P->record_every;
}

int cq_sgd_run(const cq_sgd_params *P, const cq_oracle_cb *oracle, const cq_quant_cb *quant, bitgen_t *g,
               double *x, double *xbar, double *snapshots, uint64_t *bits, double *work, cq_interrupt *it,
               cq_errinfo *err)
{
    uint64_t total_bits = 0;
    const size_t d = P->d;
    double *gt = work, *qg = work + d, *scratch = work + 2 * d;
    int64_t rec = 0;
    int st;
    memset(xbar, 0, sizeof(double) * d);
    cq_progress_total(it, P->T);
    for (int64_t t = 0; t < P->T; t++) {
        if ((t & 1023) == 0 && cq_check_progress(it, t)) return CQ_EINTERRUPT;
        st = oracle->sample(oracle->ctx, x, d, g, gt, err);
        if (st != CQ_OK) return st;
        const double *step_dir = gt;
        if (quant != NULL && quant->apply != NULL) {
            uint64_t nb = 0;
            st = quant->apply(quant->ctx, gt, d, g, qg, &nb, err);
            if (st != CQ_OK) return st;
            total_bits += nb;
            step_dir = qg;
        } else {
            total_bits += 64u * (uint64_t)d;
        }
        /* xbar_{t+1} = xbar_t + (x_t - xbar_t) / (t + 1): the average of x_0..x_t */
        double w = 1.0 / (double)(t + 1);
        double eta = P->constant_step ? P->steps[0] : P->steps[t];
        if (P->method == CQ_SGD_MIRROR) {
            for (size_t i = 0; i < d; i++) xbar[i] += (x[i] - xbar[i]) * w;
            st = cq_mirror_step(x, step_dir, d, P->r, eta, P->dom, scratch, err);
            if (st != CQ_OK) return st;
        } else {
            /* one pass: average, step, and a cheap finiteness accumulator */
            double acc = 0.0;
            for (size_t i = 0; i < d; i++) {
                double xi = x[i];
                xbar[i] += (xi - xbar[i]) * w;
                xi -= eta * step_dir[i];
                x[i] = xi;
                acc += xi * 0.0; /* NaN iff some xi is NaN or +-Inf */
            }
            if (acc != 0.0 || acc != acc)
                return cq_fail(err, CQ_ENONFINITE, "iterate became non-finite at step %lld", (long long)t + 1);
            cq_project(P->dom, x, d, scratch);
        }
        if (P->method == CQ_SGD_MIRROR) {
            for (size_t i = 0; i < d; i++)
                if (!isfinite(x[i])) return cq_fail(err, CQ_ENONFINITE, "iterate became non-finite at step %lld", (long long)t + 1);
        }
        int64_t done = t + 1;
        if (done % P->record_every == 0 || done == P->T) {
            memcpy(snapshots + (size_t)rec * d, P->average ? xbar : x, sizeof(double) * d);
            bits[rec] = total_bits;
            rec++;
        }
    }
    return CQ_OK;
}
