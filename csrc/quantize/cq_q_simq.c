/*
 * cq_q_simq.c -- SimQ (Mayekar & Tyagi, "Limits on Gradient Compression for Stochastic
 * Optimization", Algorithms 1 and 2, Theorem 4.1).
 *
 * SimQ(B), admissible input ||y||_1 <= B: i* = i w.p. |y_i|/B, 0 w.p. 1 - ||y||_1/B; j* = sign(y_i*); the message is the
 * integer i* j* + d in ceil(log2(2d+1)) bits. One pass: a uniform u = U B is drawn first,
 * the prefix sums of |y_i| are walked (block sums of 64, then a scan inside the block
 * where the sum passes u) until they exceed u, and the rest of the pass only finishes
 * ||y||_1 for the admissibility check.

 * The field is written LSB-first in one put when it has at most 32 bits, else as its
 * low 32 bits then the rest (d >= 2^31).
 */
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

#define SIMQ_BLK 64

static int simq_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    P->Bp = q->B;
    P->q = 1.0;
    P->bits = cq_q_clog2(2 * (uint64_t)P->d + 1); /* d <= CQ_Q_DMAX: at most 50 bits */
    return CQ_OK;
}

/* The field v of `bits` bits (1..64), in one put when it fits 32 bits. */
static inline void simq_put(cq_bitwriter *w, uint64_t v, unsigned bits)
{
    if (bits <= 32) {
        cq_bw_put(w, v, bits);
    } else {
        cq_bw_put(w, v & 0xFFFFFFFFull, 32);
        cq_bw_put(w, v >> 32, bits - 32);
    }
}

static inline uint64_t simq_get(cq_bitreader *r, unsigned bits)
{
    if (bits <= 32) return cq_q_get(r, bits);
    uint64_t lo = cq_q_get(r, 32);
    return lo | ((uint64_t)cq_q_get(r, bits - 32) << 32);
}

static int simq_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                    cq_errinfo *err)
{
    (void)work;
    size_t d = P->d, i = 0, istar = 0;
    double B = P->Bp;
    double u = cq_rng_uniform(g) * B;
    /* Walk the prefix sums a block at a time: a vectorisable block sum, and a sequential
     * scan only inside the block where the running sum passes u. */
    double s = 0.0, buf[SIMQ_BLK];
    for (; i < d && istar == 0; i += SIMQ_BLK) {
        size_t m = d - i < SIMQ_BLK ? d - i : SIMQ_BLK;
        const double *b = cq_q_chunk(y, i, m, buf);
        double bs = cq_q_sum_abs(b, m);
        if (s + bs > u) {
            double r = s;
            for (size_t t = 0; t < m; t++) {
                r += fabs(b[t]);
                if (r > u) {
                    istar = i + t + 1;
                    break;
                }
            }
        }
        s += bs;
    }
    double l1 = s + (i < d ? cq_q_v_sum_abs(y, i, d - i) : 0.0); /* the block loop may stop past d */
    if (!isfinite(l1) && !cq_q_v_finite(y, 0, d)) return cq_q_fail_nonfinite_v(y, d, err);
    if (!(l1 <= B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "SimQ needs ||y||_1 <= B = %.15g, got ||y||_1 = %.15g", B, l1);
    int neg = istar > 0 && cq_q_at(y, istar - 1) < 0;
    if (w != NULL) {
        uint64_t v = neg ? (uint64_t)d - istar : (uint64_t)d + istar;
        assert(v <= 2 * (uint64_t)d);
        simq_put(w, v, (unsigned)P->bits);
    }
    if (out != NULL) {
        cq_q_emit_zero(out, d);
        if (istar > 0) cq_q_emit1(out, istar - 1, neg ? -B : B);
    }
    return CQ_OK;
}

static int simq_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    (void)work;
    size_t d = P->d;
    uint64_t v = simq_get(r, (unsigned)P->bits);
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "SimQ message truncated");
    if (v > 2 * (uint64_t)d)
        return cq_fail(err, CQ_EDECODE, "SimQ field %llu out of range 0..2d = %llu", (unsigned long long)v,
                       (unsigned long long)(2 * (uint64_t)d));
    cq_q_emit_zero(out, d); /* O(1) when accumulating: the message names one coordinate */
    double B = P->Bp;
    if (v > d) cq_q_emit1(out, (size_t)(v - d - 1), B);
    else if (v < d) cq_q_emit1(out, (size_t)(d - v - 1), -B);
    return CQ_OK;
}

CQ_Q_TYPED_OPS(simq)
