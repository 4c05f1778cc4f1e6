/*
 * cq_q_cuq.c -- CUQ (Mayekar & Tyagi, section 5, eq. (7), Lemma 5.1), RATQ (Mayekar &
 * Tyagi 2019, "RATQ", used with parameters (8), Lemma 5.2) and the l_p composite for
 * p in [1, 2) (section 5, Theorem 3.1).
 *
 * CUQ(M, L): the grid -M + j 2M/(L-1), j = 0..L-1; each coordinate is rounded to one
 * of its two neighbouring points with the probabilities that make the mean exact;
 * ceil(log2 L) bits per coordinate.
 *
 * RATQ(B): z = H D y / sqrt(d2) (y zero-padded to d2 = 2^ceil(log2 d), D = diag of
 * random signs from a 64-bit seed sent in the message, H the Walsh-Hadamard matrix);
 * groups of s consecutive coordinates; each group sends the index j of the smallest
 * range M_j >= max |z_i| (ceil(log2 h) bits), then CUQ(M_j, L) of its coordinates.
 * Message: seed (64 bits), then per group [j, levels...]. Decode inverts the rotation.
 *
 * l_p composite (p < 2): Y1 = coordinates with |y_i| <= c -> CUQ(c, L_c) for all d
 * coordinates (a large coordinate is sent as CUQ of 0); then a d-bit support bitmap of
 * Y2 = the others; then RATQ of the restriction Y2' zero-padded to dmax = ceil(d/Delta1) - 1
 * coordinates (the most there can be; 0 for p = 1). Output = Q(Y1) + Q(Y2). Message: [CUQ levels][bitmap][RATQ].
 * When dmax = 0 (tiny d) no coordinate can exceed c and the last two parts are absent.
 */
#include <math.h>
#include <string.h>
#include "core/cq_hadamard.h"
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

/* ---- CUQ ----------------------------------------------------------------------------- */

#define CUQ_CHUNK 256

/* CUQ levels of x[0..n) with uniforms from stream `key` (uniform i = half i&1 of word
 * i>>1). Returns non-zero if some |x_i| > M or x_i is NaN (the caller then reports it);
 * the check is fused into the same pass. Chunked so the rounding loop vectorises. */
static int cuq_block(const double *x, size_t n, double M, double delta, uint32_t L, unsigned lbits, uint64_t key,
                     int cut_on, double cut, cq_bitwriter *w, double *out)
{
    /* cut_on: coordinates with |x_i| > cut are quantized as 0 (the l_p composite's Y1),
     * and the range check is against cut instead of M */
    double mcheck = cut_on ? cut : M;
    double hi = (double)(L - 1), lm2 = (double)(L - 2);
    double inv = 1.0 / delta;
    uint32_t ub[CUQ_CHUNK], lv[CUQ_CHUNK];
    int bad = 0;
    for (size_t i0 = 0; i0 < n; i0 += CUQ_CHUNK) {
        size_t m = n - i0 < CUQ_CHUNK ? n - i0 : CUQ_CHUNK;
        for (size_t t = 0; t < m; t += 2) {
            uint64_t r = cq_q_mix(key, (i0 + t) >> 1);
            ub[t] = (uint32_t)r;
            ub[t + 1] = (uint32_t)(r >> 32);
        }
        const double *xc = x + i0;
        double av[CUQ_CHUNK];
        if (cut_on) {
            for (size_t t = 0; t < m; t++) av[t] = fabs(xc[t]) <= cut ? xc[t] : 0.0;
            xc = av;
        }
        int nb = 0;
        for (size_t t = 0; t < m; t++) nb |= !(fabs(xc[t]) <= mcheck);
        bad |= nb;
        /* the rounding of cq_q_round, written in double lanes so that it vectorises */
        for (size_t t = 0; t < m; t++) lv[t] = (uint32_t)(int32_t)cq_q_round_d((xc[t] + M) * inv, hi, lm2, ub[t]);
        if (w != NULL) {
            size_t t = 0;
            if (lbits <= 8) {
                unsigned per = 32 / lbits;
                for (; t + per <= m; t += per) {
                    uint64_t acc = 0;
                    for (unsigned j = 0; j < per; j++) acc |= (uint64_t)lv[t + j] << (j * lbits);
                    cq_bw_put(w, acc, per * lbits);
                }
            }
            for (; t < m; t++) cq_bw_put(w, lv[t], lbits);
        } else {
            double *oc = out + i0;
            for (size_t t = 0; t < m; t++) oc[t] = cq_q_level_value(M, delta, lv[t]);
        }
    }
    return bad;
}

int cq_q_cuq_run(const cq_qpar *P, const double *y, bitgen_t *g, cq_bitwriter *w, double *out, cq_errinfo *err)
{
    size_t d = P->d;
    double M = P->M;
    uint64_t key = cq_rng_u64(g);
    if (cuq_block(y, d, M, P->delta, P->L, P->lbits, key, 0, 0.0, w, out)) {
        /* admissibility: every |y_i| <= M (checked in the same pass; report here) */
        double mx = 0.0;
        for (size_t i = 0; i < d; i++) mx = fabs(y[i]) > mx ? fabs(y[i]) : mx;
        for (size_t i = 0; i < d; i++) {
            if (!isfinite(y[i])) return cq_q_fail_nonfinite(y, d, err);
            if (fabs(y[i]) > M)
                return cq_fail(err, CQ_EDOMAIN, "CUQ needs ||y||_inf <= M = %.15g, got ||y||_inf = %.15g (|y[%zu]| = %.15g)",
                               M, mx, i, fabs(y[i]));
        }
        return cq_q_fail_nonfinite(y, d, err);
    }
    return CQ_OK;
}

/* CUQ levels of n coordinates -> out, rejecting levels >= L. */
static int cuq_decode_block(cq_bitreader *r, size_t n, double M, double delta, uint32_t L, unsigned lbits, double *out,
                            cq_errinfo *err)
{
    uint32_t lv[CQ_Q_CHUNK];
    for (size_t i0 = 0; i0 < n; i0 += CQ_Q_CHUNK) {
        size_t m = n - i0 < CQ_Q_CHUNK ? n - i0 : CQ_Q_CHUNK;
        if (lbits <= 16) cq_q_get_fields(r, lv, m, lbits);
        else
            for (size_t t = 0; t < m; t++) lv[t] = cq_q_get(r, lbits);
        uint32_t mx = 0;
        for (size_t t = 0; t < m; t++) mx = lv[t] > mx ? lv[t] : mx;
        if (mx >= L) {
            for (size_t t = 0; t < m; t++)
                if (lv[t] >= L)
                    return cq_fail(err, CQ_EDECODE, "CUQ level %u at coordinate %zu is out of range 0..%u", lv[t], i0 + t,
                                   L - 1);
        }
        for (size_t t = 0; t < m; t++) out[i0 + t] = cq_q_level_value(M, delta, lv[t]);
    }
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "CUQ message truncated");
    return CQ_OK;
}

int cq_q_cuq_decode(const cq_qpar *P, cq_bitreader *r, double *out, cq_errinfo *err)
{
    return cuq_decode_block(r, P->d, P->M, P->delta, P->L, P->lbits, out, err);
}

/* ---- RATQ ---------------------------------------------------------------------------- */

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
        if (w != NULL && r->hbits) cq_bw_put(w, j, r->hbits);
        double Mj = r->M[j], delta = ratq_delta(r, j), inv = 1.0 / delta;
        uint64_t word = cq_q_mix(key, lo >> 1);
        for (size_t t = lo; t < hi; t++) {
            if (t != lo && (t & 1) == 0) word = cq_q_mix(key, t >> 1);
            uint32_t u = (t & 1) ? (uint32_t)(word >> 32) : (uint32_t)word;
            uint32_t lev = cq_q_round((z[t] + Mj) * inv, L, u);
            if (w != NULL) cq_bw_put(w, lev, r->lbits);
            else z[t] = cq_q_level_value(Mj, delta, lev);
        }
    }
    if (out != NULL) ratq_inverse(r, seed, z, out);
    return CQ_OK;
}

int cq_q_ratq_core_decode(const cq_ratq_par *r, cq_bitreader *rd, double *z, double *out, cq_errinfo *err)
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
        double Mj = r->M[j], delta = ratq_delta(r, j);
        for (size_t t = lo; t < hi; t++) {
            uint32_t lev = cq_q_get(rd, r->lbits);
            if (lev >= r->L)
                return cq_fail(err, CQ_EDECODE, "RATQ level %u at rotated coordinate %zu is out of range 0..%u", lev, t,
                               r->L - 1);
            z[t] = cq_q_level_value(Mj, delta, lev);
        }
        if (rd->truncated) return cq_fail(err, CQ_EDECODE, "RATQ message truncated");
    }
    ratq_inverse(r, seed, z, out);
    return CQ_OK;
}

static double l2norm_checked(const double *y, size_t d, int *nonfinite)
{
    double s = cq_q_sum_sq(y, d);
    *nonfinite = 0;
    if (!isfinite(s)) {
        for (size_t t = 0; t < d; t++)
            if (!isfinite(y[t])) *nonfinite = 1;
        if (!*nonfinite) { /* overflow of the squares: rescale */
            double mx = 0.0, acc = 0.0;
            for (size_t t = 0; t < d; t++) mx = fmax(mx, fabs(y[t]));
            for (size_t t = 0; t < d; t++) acc += (y[t] / mx) * (y[t] / mx);
            return mx * sqrt(acc);
        }
    }
    return sqrt(s);
}

int cq_q_ratq_run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
                  cq_errinfo *err)
{
    int nf;
    double n2 = l2norm_checked(y, P->d, &nf);
    if (nf) return cq_q_fail_nonfinite(y, P->d, err);
    if (!(n2 <= P->r.B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "RATQ needs ||y||_2 <= B = %.15g, got ||y||_2 = %.15g", P->r.B, n2);
    return cq_q_ratq_core(&P->r, y, P->d, g, (double *)work, w, out, err);
}

int cq_q_ratq_decode(const cq_qpar *P, cq_bitreader *r, void *work, double *out, cq_errinfo *err)
{
    return cq_q_ratq_core_decode(&P->r, r, (double *)work, out, err);
}

/* ---- l_p composite, p in [1, 2) ---------------------------------------------------------- */

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
    if (q == 2.0) return l2norm_checked(y, d, nonfinite);
    return mx * pow(cq_q_sum_pow(y, d, mx, q), 1.0 / q);
}

int cq_q_lp_run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
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
    if (cuq_block(y, d, P->M, P->delta, P->L, P->lbits, key, 1, c, w, out))
        return cq_fail(err, CQ_EINTERNAL, "l_p composite: a small coordinate exceeds c");
    if (P->dmax == 0) return CQ_OK;
    double *vals = (double *)work;
    uint64_t *idx = (uint64_t *)(vals + P->dmax);
    double *z = (double *)(idx + P->dmax);
    uint64_t n2 = 0;
    for (size_t i = 0; i < d; i++) {
        int big = fabs(y[i]) > c;
        if (w != NULL) cq_bw_put(w, (uint64_t)big, 1);
        if (big) {
            if (n2 == P->dmax)
                return cq_fail(err, CQ_EDOMAIN, "l_p quantizer: more than floor(d/Delta1) = %llu coordinates exceed c = %.15g "
                               "(||y||_q is over the bound B = %.15g)", (unsigned long long)P->dmax, c, P->B);
            vals[n2] = y[i];
            idx[n2] = i;
            n2++;
        }
    }
    int st = cq_q_ratq_core(&P->r, vals, (size_t)n2, g, z, w, w == NULL ? vals : NULL, err);
    if (st) return st;
    if (w == NULL)
        for (uint64_t t = 0; t < n2; t++) out[idx[t]] += vals[t];
    return CQ_OK;
}

int cq_q_lp_decode(const cq_qpar *P, cq_bitreader *r, void *work, double *out, cq_errinfo *err)
{
    size_t d = P->d;
    int st0 = cuq_decode_block(r, d, P->M, P->delta, P->L, P->lbits, out, err);
    if (st0) return st0;
    if (P->dmax == 0) return CQ_OK;
    double *vals = (double *)work;
    uint64_t *idx = (uint64_t *)(vals + P->dmax);
    double *z = (double *)(idx + P->dmax);
    uint64_t n2 = 0;
    for (size_t i = 0; i < d; i++) {
        if (cq_q_get(r, 1)) {
            if (n2 == P->dmax)
                return cq_fail(err, CQ_EDECODE, "l_p support bitmap has more than floor(d/Delta1) = %llu ones",
                               (unsigned long long)P->dmax);
            idx[n2++] = i;
        }
    }
    int st = cq_q_ratq_core_decode(&P->r, r, z, vals, err);
    if (st) return st;
    for (uint64_t t = 0; t < n2; t++) out[idx[t]] += vals[t];
    return CQ_OK;
}
