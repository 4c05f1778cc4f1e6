/*
 * cq_q_ratq.c -- RATQ, random rotation + adaptive tetra-iterated uniform quantization
 * (Mayekar & Tyagi 2019, "RATQ: A Universal Fixed-Length Quantizer for Stochastic
 * Optimization"; used in "Limits on Gradient Compression for Stochastic Optimization"
 * with parameters (8), Lemma 5.2).
 *
 * RATQ(B), admissible input ||y||_2 <= B: z = H D y / sqrt(d2) (y zero-padded to
 * d2 = 2^ceil(log2 d), D = diag of random signs from a 64-bit seed sent in the message,
 * H the Walsh-Hadamard matrix); groups of s consecutive coordinates; each group sends the
 * index j of the smallest range M_j >= max |z_i| (ceil(log2 h) bits), then CUQ(M_j, L)
 * of its coordinates. Ranges M_j^2 = m e*^j + m0 (e*^0 = 1, e*^(j+1) = exp(e*^j)),
 * m = 3 B^2/d2, m0 = 2 (B^2/d2) ln s, capped at B(1 + 1e-6); the top range is the cap.
 * Message: seed (64 bits), then per group [j, levels...]. Decode inverts the rotation.
 * The core on an explicit parameter block is also the l_p composite's RATQ part.
 */
#include <math.h>
#include <string.h>
#include "core/cq_hadamard.h"
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

/* RATQ parameters: the defaults of parameters (8) of "Limits on Gradient Compression for
 * Stochastic Optimization" (s = log h, levels = 4), from the RATQ paper. */
int cq_q_ratq_params(double B, size_t dim, int64_t s, int64_t h, int64_t L, cq_ratq_par *r, cq_errinfo *err)
{
    memset(r, 0, sizeof *r);
    if (!(B > 0) || !isfinite(B)) return cq_fail(err, CQ_EINVAL, "RATQ bound B must be finite and > 0, got %g", B);
    if (dim < 1) return cq_fail(err, CQ_EINVAL, "RATQ dimension must be >= 1");
    size_t d2 = 1;
    while (d2 < dim) d2 <<= 1;
    unsigned logh = cq_q_clog2(1 + (uint64_t)cq_q_lnstar((double)d2 / 3.0));
    if (h == 0) h = (int64_t)1 << logh;
    if (s == 0) s = logh > 0 ? (int64_t)logh : 1;
    if (L == 0) L = 4;
    if (s < 1) return cq_fail(err, CQ_EINVAL, "RATQ group size s must be >= 1, got %lld", (long long)s);
    if (h < 1 || h > CQ_RATQ_HMAX)
        return cq_fail(err, CQ_EINVAL, "RATQ number of ranges h must be in 1..%d, got %lld", CQ_RATQ_HMAX, (long long)h);
    if (L < 2 || L > ((int64_t)1 << 24))
        return cq_fail(err, CQ_EINVAL, "RATQ levels must be in 2..2^24, got %lld", (long long)L);
    r->B = B;
    r->dim = dim;
    r->d2 = d2;
    r->s = (uint64_t)s;
    r->h = (uint64_t)h;
    r->L = (uint32_t)L;
    r->ngroups = (d2 + r->s - 1) / r->s;
    r->hbits = cq_q_clog2(r->h);
    r->lbits = cq_q_clog2(r->L);
    double m = 3.0 * B * B / (double)d2;
    double m0 = 2.0 * (B * B / (double)d2) * log((double)r->s);
    double cap = B * (1.0 + 1e-6), e = 1.0, prev = 0.0;
    for (uint64_t j = 0; j < r->h; j++) {
        double v = sqrt(m * e + m0);
        if (!(v <= cap)) v = cap; /* also catches e = inf */
        if (v < prev) v = prev;
        r->M[j] = v;
        prev = v;
        e = exp(e);               /* e*^(j+1) = exp(e*^j): tetration of e */
    }
    r->M[r->h - 1] = cap;         /* the top range always covers ||z||_inf <= ||y||_2 <= B */
    r->bits = 64 + r->ngroups * r->hbits + (uint64_t)d2 * r->lbits;
    return CQ_OK;
}

static int ratq_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    st = cq_q_ratq_params(q->B, P->d, q->s, q->h, q->levels, &P->r, err);
    if (st) return st;
    P->q = 2.0;
    P->bits = P->r.bits;
    P->work = P->r.d2 * sizeof(double);
    return CQ_OK;
}

static inline double ratq_delta(const cq_ratq_par *r, uint64_t j) { return 2.0 * r->M[j] / (double)(r->L - 1); }

/* z (d2 doubles, the quantized rotated vector) -> out[0..dim): D H z / sqrt(d2). */
static void ratq_inverse(const cq_ratq_par *r, uint64_t seed, double *z, double *out)
{
    cq_hadamard_fwht(z, r->d2);
    double scale = 1.0 / sqrt((double)r->d2);
    for (size_t i = 0, b = 0; i < r->dim; b++) {
        uint64_t sg = cq_q_mix(seed, b); /* signs of coordinates 64 b .. 64 b + 63 */
        size_t end = i + 64 < r->dim ? i + 64 : r->dim;
        for (unsigned t = 0; i < end; i++, t++) {
            double v = z[i] * scale;
            out[i] = ((sg >> t) & 1u) ? -v : v;
        }
    }
}

int cq_q_ratq_core(const cq_ratq_par *r, const double *x, size_t n_in, bitgen_t *g, double *z, cq_bitwriter *w,
                   double *out, cq_errinfo *err)
{
    uint64_t seed = cq_rng_u64(g);
    uint64_t key = cq_rng_u64(g);
    size_t d2 = r->d2, i = 0;
    for (size_t b = 0; i < n_in; b++) {
        uint64_t sg = cq_q_mix(seed, b);
        size_t end = i + 64 < n_in ? i + 64 : n_in;
        for (unsigned t = 0; i < end; i++, t++) z[i] = ((sg >> t) & 1u) ? -x[i] : x[i];
    }
    for (; i < d2; i++) z[i] = 0.0;
    cq_hadamard_fwht(z, d2);
    double scale = 1.0 / sqrt((double)d2);
    if (w != NULL) cq_q_put64(w, seed);
    uint32_t L = r->L;
    for (uint64_t gi = 0; gi < r->ngroups; gi++) {
        size_t lo = (size_t)(gi * r->s), hi = lo + (size_t)r->s;
        if (hi > d2) hi = d2;
        double mx = 0.0;
        for (size_t t = lo; t < hi; t++) {
            z[t] *= scale;
            mx = fmax(mx, fabs(z[t]));
        }
        uint64_t j = 0;
        while (j + 1 < r->h && !(mx <= r->M[j])) j++;
        if (!(mx <= r->M[j]))
            return cq_fail(err, CQ_EDOMAIN, "RATQ: rotated coordinate %.15g exceeds the top range %.15g (||y||_2 > B = %.15g)",
                           mx, r->M[j], r->B);
        assert(j < r->h && mx <= r->M[j]);
        if (w != NULL && r->hbits) cq_bw_put(w, j, r->hbits);
        double Mj = r->M[j], delta = ratq_delta(r, j), inv = 1.0 / delta;
        uint64_t word = cq_q_mix(key, lo >> 1);
        for (size_t t = lo; t < hi; t++) {
            if (t != lo && (t & 1) == 0) word = cq_q_mix(key, t >> 1);
            uint32_t u = (t & 1) ? (uint32_t)(word >> 32) : (uint32_t)word;
            uint32_t lev = cq_q_round((z[t] + Mj) * inv, L, u);
            assert(lev < L);
            if (w != NULL) cq_bw_put(w, lev, r->lbits);
            else z[t] = cq_q_level_value(Mj, delta, lev);
        }
    }
    if (out != NULL) ratq_inverse(r, seed, z, out);
    return CQ_OK;
}

int cq_q_ratq_core_decode(const cq_ratq_par *r, cq_bitreader *rd, int zero_input, double *z, double *out,
                          cq_errinfo *err)
{
    uint64_t seed = cq_q_get64(rd);
    size_t d2 = r->d2;
    for (uint64_t gi = 0; gi < r->ngroups; gi++) {
        size_t lo = (size_t)(gi * r->s), hi = lo + (size_t)r->s;
        if (hi > d2) hi = d2;
        uint64_t j = r->hbits ? cq_q_get(rd, r->hbits) : 0;
        if (j >= r->h)
            return cq_fail(err, CQ_EDECODE, "RATQ range index %llu of group %llu is out of range 0..%llu",
                           (unsigned long long)j, (unsigned long long)gi, (unsigned long long)(r->h - 1));
        /* the encoder sends the smallest range that fits: a range equal to the one below
         * it (ranges capped at B(1 + 1e-6)) is never sent */
        if (j > 0 && !(r->M[j] > r->M[j - 1]))
            return cq_fail(err, CQ_EDECODE, "RATQ range index %llu of group %llu is never sent (range %llu is equal)",
                           (unsigned long long)j, (unsigned long long)gi, (unsigned long long)(j - 1));
        if (zero_input && j != 0)
            return cq_fail(err, CQ_EDECODE, "RATQ of a zero vector uses range 0, group %llu says %llu",
                           (unsigned long long)gi, (unsigned long long)j);
        double Mj = r->M[j], delta = ratq_delta(r, j);
        for (size_t t = lo; t < hi; t++) {
            uint32_t lev = cq_q_get(rd, r->lbits);
            if (lev >= r->L)
                return cq_fail(err, CQ_EDECODE, "RATQ level %u at rotated coordinate %zu is out of range 0..%u", lev, t,
                               r->L - 1);
            /* 0 sits at t = (L-1)/2 on the grid: rounded to L/2 - 1 or L/2 (L even) */
            if (zero_input && lev != r->L / 2 - 1 && lev != r->L / 2)
                return cq_fail(err, CQ_EDECODE, "RATQ of a zero vector: level %u at rotated coordinate %zu is not "
                               "a rounding of 0", lev, t);
            z[t] = cq_q_level_value(Mj, delta, lev);
        }
        if (rd->truncated) return cq_fail(err, CQ_EDECODE, "RATQ message truncated");
    }
    ratq_inverse(r, seed, z, out);
    return CQ_OK;
}

static int ratq_run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
                    cq_errinfo *err)
{
    int nf;
    double n2 = cq_q_l2norm_checked(y, P->d, &nf);
    if (nf) return cq_q_fail_nonfinite(y, P->d, err);
    if (!(n2 <= P->r.B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "RATQ needs ||y||_2 <= B = %.15g, got ||y||_2 = %.15g", P->r.B, n2);
    return cq_q_ratq_core(&P->r, y, P->d, g, (double *)work, w, out, err);
}

static int ratq_decode(const cq_qpar *P, cq_bitreader *r, void *work, double *out, cq_errinfo *err)
{
    return cq_q_ratq_core_decode(&P->r, r, 0, (double *)work, out, err);
}

const cq_qops cq_q_ratq_ops = {ratq_resolve, ratq_run, ratq_decode};
