/*
 * cq_q_lp.c -- the quantizer Theorem 3.1 of Mayekar & Tyagi, "Limits on Gradient
 * Compression for Stochastic Optimization" prescribes for l_p geometry, p in [1, inf];
 * admissible input ||y||_q <= B, q = p/(p-1).
 *
 * p = inf resolves to SimQ(B), p in [2, inf) to SimQ+(B, p, ceil(d^(2/p))) (their ops
 * tables; the effective kind is stored in the resolved parameters). p in [1, 2) is the
 * composite of section 5: Y1 = coordinates with |y_i| <= c -> CUQ(c, L_c) for all d
 * coordinates (a large coordinate is sent as CUQ of 0); then a d-bit support bitmap of
 * Y2 = the others; then RATQ of the restriction Y2' zero-padded to dmax = ceil(d/Delta1) - 1
 * coordinates (the most there can be; 0 for p = 1), in its windowed form (cq_q_ratq.c: two
 * overlapping Hadamard windows instead of padding dmax to a power of two, and a sign field
 * of min(64, signs) bits), so that the message fits Theorem 3.1's bound for every d.
 * Output = Q(Y1) + Q(Y2). Message: [CUQ levels][bitmap][RATQ]. When dmax = 0 (tiny d) no
 * coordinate can exceed c and the last two parts are absent.
 *
 * This file calls the CUQ and RATQ block kernels and the SimQ/SimQ+ ops tables; none of
 * them calls back (a one-way dependency).
 */
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

static int lp_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    size_t d = P->d;
    if (!(q->p >= 1.0)) return cq_fail(err, CQ_EINVAL, "p must be in [1, inf], got %g", q->p);
    if (q->p >= 2.0) {
        P->kind = isinf(q->p) ? CQ_Q_SIMQ : CQ_Q_SIMQPLUS;
        return isinf(q->p) ? cq_q_simq_ops.resolve(q, P, err) : cq_q_simqplus_ops.resolve(q, P, err);
    }
    double p = q->p, invq = (p - 1.0) / p; /* 1/q; 0 for p = 1 */
    P->q = p == 1.0 ? INFINITY : p / (p - 1.0);
    double dd = (double)d;
    int d2 = (int)cq_q_clog2(1 + (uint64_t)cq_q_lnstar(dd / 3.0));
    double lnd2 = d2 >= 1 ? log((double)d2) : 0.0; /* Delta2 = 0 (d <= 3): take ln 1 */
    int d1 = (int)ceil(log2(2.0 + sqrt(18.0 + 6.0 * lnd2) * pow(dd, 0.5 - invq)));
    if (d1 < 1) d1 = 1;
    P->delta1 = d1;
    P->delta2 = d2;
    P->c = q->B * pow((double)d1, invq) / pow(dd, invq);
    int cbits = (int)ceil(log2(2.0 * sqrt(2.0) * pow((double)d1, invq) + 2.0));
    if (cbits > 24) return cq_fail(err, CQ_EINVAL, "l_p composite: CUQ would need %d bits per coordinate", cbits);
    P->L = (uint32_t)1 << cbits;
    P->lbits = (unsigned)cbits;
    P->M = P->c;
    P->delta = 2.0 * P->c / (double)(P->L - 1);
    /* Large coordinates satisfy n2 c^q < ||y||_q^q <= B^q, so n2 < d/Delta1, i.e.
     * n2 <= ceil(d/Delta1) - 1; none at all for p = 1 (|y_i| <= ||y||_inf <= B = c).
     * The split uses c (1 + 2 CQ_Q_NORM_RTOL) so that this holds under the norm
     * slack too (CUQ then clamps |y_i| in (c, c(1+2e-9)] to the end points). */
    P->dmax = p == 1.0 ? 0 : ((uint64_t)d + (uint64_t)d1 - 1) / (uint64_t)d1 - 1;
    P->bits = (uint64_t)d * P->lbits;
    if (P->dmax > 0) {
        if (d1 > 24) return cq_fail(err, CQ_EINVAL, "l_p composite: Delta1 = %d is too large", d1);
        double Bp = q->B * pow(dd, 0.5 - invq);
        st = cq_q_ratq_params(Bp, (size_t)P->dmax, 0, 0, (int64_t)1 << d1, 1, &P->r, err);
        if (st) return st;
        P->bits += d + P->r.bits;
        P->work = P->dmax * (sizeof(double) + sizeof(uint64_t)) + P->r.d2 * sizeof(double);
    }
    return CQ_OK;
}

static double qnorm(const double *y, size_t d, double q, int *nonfinite)
{
    *nonfinite = 0;
    double mx = 0.0;
    for (size_t i = 0; i < d; i++) {
        if (!isfinite(y[i])) {
            *nonfinite = 1;
            return NAN;
        }
        mx = fmax(mx, fabs(y[i]));
    }
    if (isinf(q) || mx == 0.0) return mx;
    if (q == 2.0) return cq_q_l2norm_checked(y, d, nonfinite);
    return mx * pow(cq_q_sum_pow(y, d, mx, q), 1.0 / q);
}

/* The work buffer (P->work bytes): the large coordinates' values and indices, then the
 * RATQ part's rotation scratch. */
typedef struct lp_work {
    double *vals;
    uint64_t *idx;
    double *z;
} lp_work;

static lp_work lp_carve(const cq_qpar *P, void *work)
{
    lp_work ws;
    ws.vals = (double *)work;
    ws.idx = (uint64_t *)(ws.vals + P->dmax);
    ws.z = (double *)(ws.idx + P->dmax);
    return ws;
}

static int lp_run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
                  cq_errinfo *err)
{
    size_t d = P->d;
    int nf;
    double nq = qnorm(y, d, P->q, &nf);
    if (nf) return cq_q_fail_nonfinite(y, d, err);
    if (!(nq <= P->B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "l_p quantizer (p=%g) needs ||y||_q <= B = %.15g with q = %g, got ||y||_q = %.15g",
                       P->p, P->B, P->q, nq);
    double c = P->c * (1.0 + 2.0 * CQ_Q_NORM_RTOL);
    uint64_t key = cq_rng_u64(g);
    /* the cut reads each y_i twice: a small coordinate over c means y changed between them */
    if (cq_q_cuq_block(y, d, P->M, P->delta, P->L, P->lbits, key, 1, c, w, out))
        return cq_q_fail_changed("l_p quantizer", err);
    if (P->dmax == 0) return CQ_OK;
    lp_work ws = lp_carve(P, work);
    uint64_t n2 = 0;
    for (size_t i = 0; i < d; i++) {
        int big = fabs(y[i]) > c;
        if (w != NULL) cq_bw_put(w, (uint64_t)big, 1);
        if (big) {
            if (n2 == P->dmax)
                return cq_fail(err, CQ_EDOMAIN, "l_p quantizer: more than floor(d/Delta1) = %llu coordinates exceed c = %.15g "
                               "(||y||_q is over the bound B = %.15g)", (unsigned long long)P->dmax, c, P->B);
            ws.vals[n2] = y[i];
            ws.idx[n2] = i;
            n2++;
        }
    }
    assert(n2 <= P->dmax && P->r.dim == P->dmax);
    int st = cq_q_ratq_core(&P->r, ws.vals, (size_t)n2, g, ws.z, w, w == NULL ? ws.vals : NULL, err);
    if (st) return st;
    if (w == NULL)
        for (uint64_t t = 0; t < n2; t++) out[ws.idx[t]] += ws.vals[t];
    return CQ_OK;
}

static int lp_decode(const cq_qpar *P, cq_bitreader *r, void *work, double *out, cq_errinfo *err)
{
    size_t d = P->d;
    int st0 = cq_q_cuq_decode_block(r, d, P->M, P->delta, P->L, P->lbits, out, err);
    if (st0) return st0;
    if (P->dmax == 0) return CQ_OK;
    lp_work ws = lp_carve(P, work);
    uint64_t n2 = 0;
    for (size_t i = 0; i < d; i++) {
        if (cq_q_get(r, 1)) {
            if (n2 == P->dmax)
                return cq_fail(err, CQ_EDECODE, "l_p support bitmap has more than floor(d/Delta1) = %llu ones",
                               (unsigned long long)P->dmax);
            /* a large coordinate went through CUQ as 0, i.e. t = (L-1)/2 rounded: level
             * L/2 - 1 or L/2 (L is a power of two) */
            double v = out[i];
            if (v != cq_q_level_value(P->M, P->delta, P->L / 2 - 1) && v != cq_q_level_value(P->M, P->delta, P->L / 2))
                return cq_fail(err, CQ_EDECODE,
                               "l_p coordinate %zu is in the support bitmap but its CUQ level is not that of 0", i);
            ws.idx[n2++] = i;
        }
    }
    /* no large coordinate: the RATQ part is the encoding of 0 */
    assert(P->r.L % 2 == 0);
    int st = cq_q_ratq_core_decode(&P->r, r, n2 == 0, ws.z, ws.vals, err);
    if (st) return st;
    for (uint64_t t = 0; t < n2; t++) out[ws.idx[t]] += ws.vals[t];
    return CQ_OK;
}

/* Only the composite (p < 2) reaches these: for p >= 2 the effective kind is SimQ or
 * SimQ+ and the dispatcher uses their tables. */
const cq_qops cq_q_lp_ops = {lp_resolve, lp_run, lp_decode};
