/*
 * cq_q_ratq.c -- RATQ, random rotation + adaptive tetra-iterated uniform quantization
 * (Mayekar & Tyagi 2019, "RATQ: A Universal Fixed-Length Quantizer for Stochastic
 * Optimization"; used in "Limits on Gradient Compression for Stochastic Optimization"
 * with parameters (8), Lemma 5.2).
 *
 * RATQ(B), admissible input ||y||_2 <= B: a random rotation z = R y, groups of s
 * consecutive coordinates; each group sends the index j of the smallest range
 * M_j >= max |z_i| (ceil(log2 h) bits), then CUQ(M_j, L) of its coordinates. Ranges
 * M_j^2 = m e*^j + m0 (e*^0 = 1, e*^(j+1) = exp(e*^j)), m = 3 B^2/n0,
 * m0 = 2 (B^2/n0) ln s, capped at B(1 + 1e-6); the top range is the cap. Message: the
 * sign field, then per group [j, levels...]. Decode inverts the rotation.
 *
 * The paper pads y to d2 = 2^ceil(log2 d) and rotates by H D / sqrt(d2); here the rotation
 * is "windowed" so that nothing is padded (a d = 2^20 + 1 vector would otherwise be sent
 * as 2^21 coordinates): for d not a power of two and n0 = 2^floor(log2 d) > d/2, R = R2 R1
 * with R1 = H D1 / sqrt(n0) on coordinates [0, n0) and R2 = H D2 / sqrt(n0) on
 * [d - n0, d) (the two windows overlap; D1, D2 independent signs; H Walsh-Hadamard); R is
 * orthogonal, the decoder applies R1^T R2^T. Every rotated coordinate is a Rademacher
 * sum with sum of squared weights <= ||y||_2^2 / n0, so the ranges and h are those of
 * dimension n0 (h from ln*(n0/3)), and the paper's error bound holds with the factor
 * d/n0 < 2 (d coordinates of variance sigma^2 = B^2/n0 instead of d2 of B^2/d2; see
 * convq.quantize.LpQuantizer for the second-moment argument). With d = n0 there is one
 * window: the paper's rotation. The signs come from a field of min(64, number of signs)
 * bits: the signs themselves when there are at most 64 of them, else a seed expanded by
 * SplitMix64. The l_p composite's RATQ part uses the same core on its own parameters.
 */
#include <math.h>
#include <string.h>
#include "core/cq_hadamard.h"
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

/* RATQ parameters: the defaults of parameters (8) of "Limits on Gradient Compression for
 * Stochastic Optimization" (s = log h, levels = 4), from the RATQ paper; the ranges and h
 * are those of the rotation window n0. */
int cq_q_ratq_params(double B, size_t dim, int64_t s, int64_t h, int64_t L, int windowed, cq_ratq_par *r,
                     cq_errinfo *err)
{
    memset(r, 0, sizeof *r);
    if (!(B > 0) || !isfinite(B)) return cq_fail(err, CQ_EINVAL, "RATQ bound B must be finite and > 0, got %g", B);
    if (dim < 1) return cq_fail(err, CQ_EINVAL, "RATQ dimension must be >= 1");
    size_t n0 = 1;
    while (n0 < dim) n0 <<= 1;
    size_t d2 = n0;
    uint64_t nsigns = n0;
    if (windowed) {
        if (n0 > dim) n0 >>= 1;  /* the largest power of two <= dim */
        d2 = dim;
        nsigns = d2 == n0 ? n0 : 2 * (uint64_t)n0;
    }
    unsigned logh = cq_q_clog2(1 + (uint64_t)cq_q_lnstar((double)n0 / 3.0));
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
    r->n0 = n0;
    r->raw_signs = windowed && nsigns <= 64;
    r->seedbits = windowed && nsigns < 64 ? (unsigned)nsigns : 64;
    r->s = (uint64_t)s;
    r->h = (uint64_t)h;
    r->L = (uint32_t)L;
    r->ngroups = (d2 + r->s - 1) / r->s;
    r->hbits = cq_q_clog2(r->h);
    r->lbits = cq_q_clog2(r->L);
    double m = 3.0 * B * B / (double)n0;
    double m0 = 2.0 * (B * B / (double)n0) * log((double)r->s);
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
    r->bits = r->seedbits + r->ngroups * r->hbits + (uint64_t)d2 * r->lbits;
    return CQ_OK;
}

static int ratq_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    st = cq_q_ratq_params(q->B, P->d, q->s, q->h, q->levels, 1, &P->r, err);
    if (st) return st;
    P->q = 2.0;
    P->bits = P->r.bits;
    P->work = P->r.d2 * sizeof(double);
    return CQ_OK;
}

static inline double ratq_delta(const cq_ratq_par *r, uint64_t j) { return 2.0 * r->M[j] / (double)(r->L - 1); }

/* out[i] = +-(x[i] * scale), i < n, with the rotation sign number u0 + i: bit u % 64 of
 * word u / 64, the word being the seed itself (raw signs) or SplitMix64 word u / 64 of
 * the stream keyed by the seed (1 = minus). x == out is allowed. */
static void ratq_signs(const cq_ratq_par *r, uint64_t seed, size_t u0, const double *x, double *out, size_t n,
                       double scale)
{
    uint64_t word = 0;
    for (size_t i = 0; i < n; i++) {
        size_t u = u0 + i;
        if (i == 0 || (u & 63) == 0) word = r->raw_signs ? seed : cq_q_mix(seed, (uint64_t)(u >> 6));
        double v = x[i] * scale;
        out[i] = ((word >> (u & 63)) & 1u) ? -v : v;
    }
}

/* z[0..d2) <- R x (x[0..n_in) zero-padded): window 1, then window 2 if there are two.
 * Returns the scale still to be applied to every z[i]: 1/sqrt(n0) with one window (the
 * group loop applies it, as RATQ always has), 1 with two (applied here). */
static double ratq_rotate(const cq_ratq_par *r, uint64_t seed, const double *x, size_t n_in, double *z)
{
    size_t n0 = r->n0, o = r->d2 - r->n0, m = n_in < n0 ? n_in : n0;
    ratq_signs(r, seed, 0, x, z, m, 1.0);
    for (size_t i = m; i < n_in; i++) z[i] = x[i];  /* outside window 1: R1 leaves them */
    for (size_t i = n_in; i < r->d2; i++) z[i] = 0.0;
    cq_hadamard_fwht(z, n0);
    double scale = 1.0 / sqrt((double)n0);
    if (o == 0) return scale;
    for (size_t i = 0; i < n0; i++) z[i] *= scale;
    ratq_signs(r, seed, n0, z + o, z + o, n0, 1.0);
    cq_hadamard_fwht(z + o, n0);
    for (size_t i = o; i < r->d2; i++) z[i] *= scale;
    return 1.0;
}

/* z (d2 doubles, the quantized rotated vector) -> out[0..dim): R^T z, i.e. window 2's
 * D2 H / sqrt(n0) first (two windows), then window 1's D1 H / sqrt(n0). */
static void ratq_inverse(const cq_ratq_par *r, uint64_t seed, double *z, double *out)
{
    size_t n0 = r->n0, o = r->d2 - r->n0;
    double scale = 1.0 / sqrt((double)n0);
    if (o > 0) {
        cq_hadamard_fwht(z + o, n0);
        ratq_signs(r, seed, n0, z + o, z + o, n0, scale);
    }
    cq_hadamard_fwht(z, n0);
    ratq_signs(r, seed, 0, z, out, r->dim < n0 ? r->dim : n0, scale);
    for (size_t i = n0; i < r->dim; i++) out[i] = z[i];
}

int cq_q_ratq_core(const cq_ratq_par *r, const double *x, size_t n_in, bitgen_t *g, double *z, cq_bitwriter *w,
                   double *out, cq_errinfo *err)
{
    uint64_t seed = cq_rng_u64(g);
    uint64_t key = cq_rng_u64(g);
    if (r->seedbits < 64) seed &= ((uint64_t)1 << r->seedbits) - 1u;
    size_t d2 = r->d2;
    double scale = ratq_rotate(r, seed, x, n_in, z);
    if (w != NULL) cq_q_put_wide(w, seed, r->seedbits);
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
    uint64_t seed = cq_q_get_wide(rd, r->seedbits);
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
