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
 * Typed kernels (cq_qin / cq_qout, cq_q_internal.h): the input is read in place, float32
 * or float64, in chunks of LP_CHUNK coordinates; each chunk is read for the q-norm's sums,
 * the support bitmap and the gather of the large coordinates, and by CUQ's typed block
 * kernel of the same build level, while it is in cache (one pass over the vector for an
 * encode; a quantize checks the norm in a pass of its own first, so that a rejected input
 * leaves its output untouched). The large coordinates, at most dmax, are gathered into a
 * double buffer for RATQ's float64 core. A large coordinate's output is CUQ's value of 0
 * plus its RATQ value, added in double and rounded once to the output type, so that a
 * float32 output is the float64 one rounded.
 *
 * This file calls the CUQ and RATQ block kernels and the SimQ/SimQ+ ops tables; none of
 * them calls back (a one-way dependency). It is compiled at the three build levels
 * (cq_q_lp_avx2.c, cq_q_lp_avx512.c) with the same results.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rng.h"

/* Coordinates per chunk: a multiple of 64 (the bitmap's words) and of 4 (the norm's four
 * accumulators), so that every chunk but the last is whole words. */
#define LP_CHUNK 1024

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
        uint64_t words = ((uint64_t)d + 63) / 64, zn = P->r.d2 > words ? P->r.d2 : words;
        P->work = P->dmax * (2 * sizeof(double) + sizeof(uint64_t)) + zn * sizeof(double);
    }
    return CQ_OK;
}

/* The work buffer (P->work bytes): the large coordinates' values, indices and the output's
 * values there before the CUQ part was written (an accumulated output), then the RATQ
 * part's rotation scratch, which first holds the encoder's bitmap words. */
typedef struct lp_work {
    double *vals;
    uint64_t *idx;
    double *old;
    double *z;
} lp_work;

static lp_work lp_carve(const cq_qpar *P, void *work)
{
    lp_work ws;
    ws.vals = (double *)work;
    ws.idx = (uint64_t *)(ws.vals + P->dmax);
    ws.old = (double *)(ws.idx + P->dmax);
    ws.z = ws.old + P->dmax;
    return ws;
}

/* ---- the q-norm ------------------------------------------------------------------------
 * ||y||_q for the admissibility check, from the chunks the encoder reads anyway: four
 * running sums of |y_i|^q (coordinate t of a chunk into a[t % 4], the last chunk's tail
 * into a[0]; |y_i|^q by multiplication for integer q <= 16, else pow), combined as
 * (a0+a1)+(a2+a3); q = inf: the running max |y_i| and finiteness. When the sum is not a
 * normal double far from underflow (an overflow, a NaN or Inf in y, or a tiny vector) the
 * norm is computed again with the max factored out (max |y_i| (sum (|y_i|/max)^q)^(1/q)),
 * which also finds a non-finite y_i. The same chunks at every build level, so the same
 * value. */
typedef struct lp_norm {
    double a[4];
    int iq;  /* integer q in 2..16, else 0 */
    int fin; /* q = inf: every y_i so far finite */
} lp_norm;

static void lp_norm_init(lp_norm *nm, double q)
{
    memset(nm, 0, sizeof *nm);
    nm->iq = q == floor(q) && q >= 2.0 && q <= 16.0 ? (int)q : 0;
    nm->fin = 1;
}

static inline double lp_pow(double x, int iq, double q)
{
    double u = fabs(x);
    if (iq == 0) return pow(u, q);
    double r = u;
    for (int k = 1; k < iq; k++) r *= u;
    return r;
}

static inline void lp_sum_pow(lp_norm *nm, const double *x, size_t m, int iq, double q)
{
    double a0 = nm->a[0], a1 = nm->a[1], a2 = nm->a[2], a3 = nm->a[3];
    size_t t = 0;
    for (; t + 4 <= m; t += 4) {
        a0 += lp_pow(x[t], iq, q);
        a1 += lp_pow(x[t + 1], iq, q);
        a2 += lp_pow(x[t + 2], iq, q);
        a3 += lp_pow(x[t + 3], iq, q);
    }
    for (; t < m; t++) a0 += lp_pow(x[t], iq, q);
    nm->a[0] = a0;
    nm->a[1] = a1;
    nm->a[2] = a2;
    nm->a[3] = a3;
}

/* Add chunk x[0..m) to the norm's sums (q = P->q). */
static void lp_norm_chunk(lp_norm *nm, const double *x, size_t m, double q)
{
    if (isinf(q)) {
        int fin;
        double mx = cq_q_max_abs_fin_d(x, m, &fin);
        nm->a[0] = mx > nm->a[0] ? mx : nm->a[0];
        nm->fin &= fin;
        return;
    }
    switch (nm->iq) { /* the common exponents with a constant trip count */
    case 2: lp_sum_pow(nm, x, m, 2, q); break;
    case 3: lp_sum_pow(nm, x, m, 3, q); break;
    case 4: lp_sum_pow(nm, x, m, 4, q); break;
    default: lp_sum_pow(nm, x, m, nm->iq, q); break;
    }
}

/* ||y||_q from the sums; *nonfinite = 1 (result meaningless) if some y_i is NaN or Inf. */
static double lp_norm_finish(const lp_norm *nm, cq_qin y, size_t d, double q, int *nonfinite)
{
    *nonfinite = 0;
    if (isinf(q)) {
        *nonfinite = !nm->fin;
        return nm->a[0];
    }
    double s = (nm->a[0] + nm->a[1]) + (nm->a[2] + nm->a[3]);
    if (s <= DBL_MAX && s >= 0x1p-900) return q == 2.0 ? sqrt(s) : pow(s, 1.0 / q);
    int fin;
    double mx = cq_q_v_max_abs_fin(y, 0, d, &fin);
    if (!fin) {
        *nonfinite = 1;
        return NAN;
    }
    if (mx == 0.0) return 0.0;
    double acc = 0.0, buf[LP_CHUNK];
    for (size_t i0 = 0; i0 < d; i0 += LP_CHUNK) {
        size_t m = d - i0 < LP_CHUNK ? d - i0 : LP_CHUNK;
        acc += cq_q_sum_pow(cq_q_chunk(y, i0, m, buf), m, mx, q);
    }
    return mx * pow(acc, 1.0 / q);
}

/* The admissibility check ||y||_q <= B (1 + CQ_Q_NORM_RTOL) on the finished sums. */
static int lp_check_norm(const cq_qpar *P, const lp_norm *nm, cq_qin y, cq_errinfo *err)
{
    int nf;
    double nq = lp_norm_finish(nm, y, P->d, P->q, &nf);
    if (nf) return cq_q_fail_nonfinite_v(y, P->d, err);
    if (!(nq <= P->B * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "l_p quantizer (p=%g) needs ||y||_q <= B = %.15g with q = %g, got ||y||_q = %.15g",
                       P->p, P->B, P->q, nq);
    return CQ_OK;
}

/* ---- encoder ---------------------------------------------------------------------------- */

/* Bit t of the result: |x_t| > c, t < m <= 64 (NaN: 0). */
static inline uint64_t lp_big_word(const double *x, size_t m, double c)
{
    uint64_t word = 0;
#ifdef CQ_Q_AVX512_VARIANT
    if (m == 64) {
        const __m512d vc = _mm512_set1_pd(c), absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
        for (unsigned j = 0; j < 8; j++)
            word |= (uint64_t)_mm512_cmp_pd_mask(_mm512_and_pd(_mm512_loadu_pd(x + 8 * j), absm), vc, _CMP_GT_OQ)
                    << (8 * j);
        return word;
    }
#endif
    for (size_t t = 0; t < m; t++) word |= (uint64_t)(fabs(x[t]) > c) << t;
    return word;
}

/* The bitmap words of chunk x[0..m) (coordinates i0..) into bits[i0/64..], and its large
 * coordinates gathered (value, index, and the output's value there when out accumulates)
 * after the *n2 already gathered. Returns non-zero if there are more than dmax. */
static int lp_gather(const cq_qpar *P, const double *x, size_t i0, size_t m, double c, const lp_work *ws, uint64_t *bits,
                     const cq_qout *out, uint64_t *n2)
{
    int keep_old = out != NULL && out->p != NULL && out->add == CQ_QOUT_ADD;
    uint64_t n = *n2;
    for (size_t k = 0; k < m; k += 64) {
        size_t mm = m - k < 64 ? m - k : 64;
        uint64_t word = lp_big_word(x + k, mm, c);
        bits[(i0 + k) >> 6] = word;
        for (; word != 0; word &= word - 1) {
            size_t t = k + (size_t)__builtin_ctzll(word), i = i0 + t;
            if (n == P->dmax) return 1;
            ws->vals[n] = x[t];
            ws->idx[n] = i;
            if (keep_old) ws->old[n] = out->f32 ? (double)((const float *)out->p)[i] : ((const double *)out->p)[i];
            n++;
        }
    }
    *n2 = n;
    return 0;
}

/* The large coordinates' outputs: CUQ's value there (value(i), the level the CUQ part
 * wrote) plus the RATQ value vals[t], in double, written once through out; an accumulated
 * output first gets back the value it had before the CUQ part was added. */
static void lp_emit_large(const cq_qout *out, const lp_work *ws, uint64_t n2, double (*value)(const void *, size_t),
                          const void *ctx)
{
    for (uint64_t t = 0; t < n2; t++) {
        size_t i = (size_t)ws->idx[t];
        if (out->add == CQ_QOUT_ADD) {
            if (out->f32) ((float *)out->p)[i] = (float)ws->old[t]; /* exact: it was a float */
            else ((double *)out->p)[i] = ws->old[t];
        }
        cq_q_emit1(out, i, value(ctx, i) + ws->vals[t]);
    }
}

/* The encoder's CUQ value of a cut coordinate. */
typedef struct lp_zero {
    const cq_qpar *P;
    uint64_t key;
} lp_zero;

static double lp_zero_value(const void *ctx, size_t i)
{
    const lp_zero *z = (const lp_zero *)ctx;
    return cq_q_cuq_zero_value(z->P->M, z->P->delta, z->P->L, z->key, i);
}

/* The bitmap words bits[0..ceil(d/64)) into the message, the last one d mod 64 bits wide. */
static void lp_put_bitmap(cq_bitwriter *w, const uint64_t *bits, size_t d)
{
    for (size_t k = 0; 64 * k < d; k++) {
        size_t nb = d - 64 * k < 64 ? d - 64 * k : 64;
        cq_q_put_wide(w, bits[k], (unsigned)nb);
    }
}

static int lp_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err);

static int lp_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                  cq_errinfo *err)
{
    size_t d = P->d;
    if (w != NULL && out != NULL && out->p != NULL && P->dmax > 0) {
        /* the message and its decode: RATQ's core gives its fields or its values, not both,
         * so the message is encoded, then decoded from the payload (the pending bits stored
         * by a copy of the writer; the caller's finish stores the same bytes) */
        int st = lp_run(P, y, g, work, w, NULL, err);
        if (st) return st;
        cq_bitwriter fin = *w;
        uint64_t nbits = cq_bw_finish(&fin);
        if (nbits != P->bits)
            return cq_fail(err, CQ_EINTERNAL, "l_p encoder wrote %llu bits, the message has %llu",
                           (unsigned long long)nbits, (unsigned long long)P->bits);
        cq_bitreader rd;
        cq_br_init(&rd, w->start, nbits);
        return lp_decode(P, &rd, work, out, err);
    }
    double buf[LP_CHUNK];
    lp_norm nm;
    lp_norm_init(&nm, P->q);
    /* an encode sums the norm in its one pass and drops the message if the check fails; a
     * quantize (out) checks first, so that a rejected input leaves out untouched */
    int fused = out == NULL || out->p == NULL;
    if (!fused) {
        for (size_t i0 = 0; i0 < d; i0 += LP_CHUNK) {
            size_t m = d - i0 < LP_CHUNK ? d - i0 : LP_CHUNK;
            lp_norm_chunk(&nm, cq_q_chunk(y, i0, m, buf), m, P->q);
        }
        int st = lp_check_norm(P, &nm, y, err);
        if (st) return st;
    }
    double c = P->c * (1.0 + 2.0 * CQ_Q_NORM_RTOL);
    uint64_t key = cq_rng_u64(g);
    lp_work ws = lp_carve(P, work);
    uint64_t *bits = (uint64_t *)(void *)ws.z, n2 = 0;
    int over = 0, changed = 0;
    for (size_t i0 = 0; i0 < d; i0 += LP_CHUNK) {
        size_t m = d - i0 < LP_CHUNK ? d - i0 : LP_CHUNK;
        const double *xc = cq_q_chunk(y, i0, m, buf);
        if (fused) lp_norm_chunk(&nm, xc, m, P->q);
        /* the gather reads out before the CUQ part adds to it */
        if (P->dmax > 0 && !over) over = lp_gather(P, xc, i0, m, c, &ws, bits, out, &n2);
        /* CUQ reads each y_i twice: a small coordinate over c means y changed between them */
        changed |= CQ_Q_LEVEL(cq_q_cuq_block)(y, i0, i0 + m, P->M, P->delta, P->L, P->lbits, key, 1, c, w, out);
    }
    if (fused) {
        int st = lp_check_norm(P, &nm, y, err);
        if (st) return st;
    }
    if (changed) return cq_q_fail_changed("l_p quantizer", err);
    if (over)
        return cq_fail(err, CQ_EDOMAIN, "l_p quantizer: more than floor(d/Delta1) = %llu coordinates exceed c = %.15g "
                       "(||y||_q is over the bound B = %.15g)", (unsigned long long)P->dmax, c, P->B);
    if (P->dmax == 0) return CQ_OK;
    if (w != NULL) lp_put_bitmap(w, bits, d);
    assert(n2 <= P->dmax && P->r.dim == P->dmax);
    int emit = out != NULL && out->p != NULL; /* then w is NULL */
    int st = cq_q_ratq_core(&P->r, ws.vals, (size_t)n2, g, ws.z, w, emit ? ws.vals : NULL, err);
    if (st) return st;
    if (emit) {
        lp_zero zc = {P, key};
        lp_emit_large(out, &ws, n2, lp_zero_value, &zc);
    }
    return CQ_OK;
}

/* ---- decoder ----------------------------------------------------------------------------
 * The support bitmap and the RATQ part are read first (the bitmap starts d lbits bits in),
 * then the CUQ part, so that an accumulated output's values at the large coordinates can
 * be kept before the CUQ part is added. A validation (out->p NULL) reads no CUQ level but
 * the large coordinates' (every lbits-bit level is valid: L = 2^lbits). */

/* The decoder's CUQ value of coordinate i: its level in the message. */
typedef struct lp_levels {
    const cq_qpar *P;
    cq_bitreader r; /* at the message's first bit */
} lp_levels;

static uint32_t lp_level(const lp_levels *lv, size_t i)
{
    cq_bitreader r = lv->r;
    r.pos += (uint64_t)i * lv->P->lbits;
    return cq_q_get(&r, lv->P->lbits);
}

static double lp_level_value(const void *ctx, size_t i)
{
    const lp_levels *lv = (const lp_levels *)ctx;
    return cq_q_level_value(lv->P->M, lv->P->delta, lp_level(lv, i));
}

static int lp_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    size_t d = P->d;
    if (P->dmax == 0) return CQ_Q_LEVEL(cq_q_cuq_decode_block)(r, 0, d, P->M, P->delta, P->L, P->lbits, out, err);
    assert(P->L == (uint32_t)1 << P->lbits && P->r.L % 2 == 0);
    lp_work ws = lp_carve(P, work);
    lp_levels lv = {P, *r};
    r->pos += (uint64_t)d * P->lbits; /* the bitmap */
    uint32_t zlo = P->L / 2 - 1, zhi = P->L / 2;
    uint64_t n2 = 0;
    for (size_t k = 0; 64 * k < d; k++) {
        size_t nb = d - 64 * k < 64 ? d - 64 * k : 64;
        for (uint64_t word = cq_q_get_wide(r, (unsigned)nb); word != 0; word &= word - 1) {
            size_t i = 64 * k + (size_t)__builtin_ctzll(word);
            if (n2 == P->dmax)
                return cq_fail(err, CQ_EDECODE, "l_p support bitmap has more than floor(d/Delta1) = %llu ones",
                               (unsigned long long)P->dmax);
            /* a large coordinate went through CUQ as 0, i.e. t = (L-1)/2 rounded: level
             * L/2 - 1 or L/2 (L is a power of two) */
            uint32_t lev = lp_level(&lv, i);
            if (lev != zlo && lev != zhi)
                return cq_fail(err, CQ_EDECODE,
                               "l_p coordinate %zu is in the support bitmap but its CUQ level is not that of 0", i);
            if (out->p != NULL && out->add == CQ_QOUT_ADD)
                ws.old[n2] = out->f32 ? (double)((const float *)out->p)[i] : ((const double *)out->p)[i];
            ws.idx[n2++] = i;
        }
    }
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "l_p support bitmap truncated");
    /* no large coordinate: the RATQ part is the encoding of 0 */
    int st = cq_q_ratq_core_decode(&P->r, r, n2 == 0, ws.z, out->p != NULL ? ws.vals : NULL, err);
    if (st || out->p == NULL) return st;
    cq_bitreader rc = lv.r;
    st = CQ_Q_LEVEL(cq_q_cuq_decode_block)(&rc, 0, d, P->M, P->delta, P->L, P->lbits, out, err);
    if (st) return st;
    lp_emit_large(out, &ws, n2, lp_level_value, &lv);
    return CQ_OK;
}

/* Only the composite (p < 2) reaches these: for p >= 2 the effective kind is SimQ or
 * SimQ+ and the dispatcher uses their tables. */
CQ_Q_TYPED_OPS(lp)
