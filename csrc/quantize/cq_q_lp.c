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

/* Coordinates per chunk: a multiple of 64 (the bitmap's words) and of 16 (the norm's
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
        P->work = P->dmax * (sizeof(double) + sizeof(uint64_t)) + zn * sizeof(double);
    }
    return CQ_OK;
}

/* The work buffer (P->work bytes): the large coordinates' values and indices, then the
 * RATQ part's rotation scratch, which first holds the encoder's bitmap words. */
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

/* ---- the q-norm ------------------------------------------------------------------------
 * ||y||_q for the admissibility check, from the chunks the encoder reads anyway: sixteen
 * running sums of |y_i|^q (coordinate t of a chunk into a[t % 16], the last chunk's tail
 * into a[0]; |y_i|^q by multiplication for integer q <= 16, else pow), combined pairwise
 * (lp_norm_finish), so that the sixteen chains pipeline (and are the lanes of two AVX-512
 * vectors: the same additions in the same order); q = inf: the running max |y_i| and
 * finiteness. When the sum is not a normal double far from underflow (an overflow, a NaN
 * or Inf in y, or a tiny vector) the norm is computed again with the max factored out
 * (max |y_i| (sum (|y_i|/max)^q)^(1/q)), which also finds a non-finite y_i. The same chunks
 * at every build level, so the same value. */
#define LP_NACC 16
typedef struct lp_norm {
    double a[LP_NACC];
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
    size_t t = 0;
#ifdef CQ_Q_AVX512_VARIANT
    if (iq > 0) {
        const __m512d absm = _mm512_castsi512_pd(_mm512_set1_epi64(0x7FFFFFFFFFFFFFFFll));
        __m512d a0 = _mm512_loadu_pd(nm->a), a1 = _mm512_loadu_pd(nm->a + 8);
        for (; t + LP_NACC <= m; t += LP_NACC) {
            __m512d u0 = _mm512_and_pd(_mm512_loadu_pd(x + t), absm), u1 = _mm512_and_pd(_mm512_loadu_pd(x + t + 8), absm);
            __m512d r0 = u0, r1 = u1;
            for (int k = 1; k < iq; k++) {
                r0 = _mm512_mul_pd(r0, u0);
                r1 = _mm512_mul_pd(r1, u1);
            }
            a0 = _mm512_add_pd(a0, r0);
            a1 = _mm512_add_pd(a1, r1);
        }
        _mm512_storeu_pd(nm->a, a0);
        _mm512_storeu_pd(nm->a + 8, a1);
    }
#endif
    double a[LP_NACC];
    memcpy(a, nm->a, sizeof a);
    for (; t + LP_NACC <= m; t += LP_NACC)
        for (size_t j = 0; j < LP_NACC; j++) a[j] += lp_pow(x[t + j], iq, q);
    for (; t < m; t++) a[0] += lp_pow(x[t], iq, q);
    memcpy(nm->a, a, sizeof a);
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
    double b[LP_NACC];
    memcpy(b, nm->a, sizeof b);
    for (size_t n = LP_NACC / 2; n >= 1; n /= 2) /* pairwise: b[j] = b[2j] + b[2j+1] */
        for (size_t j = 0; j < n; j++) b[j] = b[2 * j] + b[2 * j + 1];
    double s = b[0];
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

/* The bitmap words of chunk x[0..m) (coordinates i0..) into bits[i0/64..] (bits NULL:
 * none), and its large coordinates gathered (value, index) after the *n2 already
 * gathered. Returns non-zero if there are more than dmax. */
static int lp_gather(const cq_qpar *P, const double *x, size_t i0, size_t m, double c, const lp_work *ws, uint64_t *bits,
                     uint64_t *n2)
{
    uint64_t n = *n2;
    for (size_t k = 0; k < m; k += 64) {
        size_t mm = m - k < 64 ? m - k : 64;
        uint64_t word = lp_big_word(x + k, mm, c);
        if (bits != NULL) bits[(i0 + k) >> 6] = word;
        for (; word != 0; word &= word - 1) {
            size_t t = k + (size_t)__builtin_ctzll(word);
            if (n == P->dmax) return 1;
            ws->vals[n] = x[t];
            ws->idx[n] = i0 + t;
            n++;
        }
    }
    *n2 = n;
    return 0;
}

/* The output of the whole vector, a chunk at a time while it is in cache: the CUQ part's
 * values of chunk [i0, i1) through out (part: the CUQ block of the encoder or the
 * decoder), then each large coordinate i of the chunk (idx[0..n2) ascending) set to its
 * CUQ value (value: the level the CUQ part used) plus its RATQ value vals[t], in double,
 * written once through out; an accumulated output first gets back the value it had before
 * the CUQ part was added. */
typedef struct lp_out_ops {
    int (*part)(void *ctx, size_t i0, size_t i1, const cq_qout *out, cq_errinfo *err);
    double (*value)(void *ctx, size_t i);
} lp_out_ops;

static int lp_output(const cq_qpar *P, const lp_work *ws, uint64_t n2, const cq_qout *out, const lp_out_ops *ops,
                     void *ctx, cq_errinfo *err)
{
    double old[LP_CHUNK];
    int add = out->add == CQ_QOUT_ADD;
    uint64_t t0 = 0;
    for (size_t i0 = 0; i0 < P->d; i0 += LP_CHUNK) {
        size_t i1 = P->d - i0 < LP_CHUNK ? P->d : i0 + LP_CHUNK;
        uint64_t t1 = t0;
        while (t1 < n2 && ws->idx[t1] < i1) t1++;
        for (uint64_t t = t0; add && t < t1; t++) {
            size_t i = (size_t)ws->idx[t];
            old[t - t0] = out->f32 ? (double)((const float *)out->p)[i] : ((const double *)out->p)[i];
        }
        int st = ops->part(ctx, i0, i1, out, err);
        if (st) return st;
        for (uint64_t t = t0; t < t1; t++) {
            size_t i = (size_t)ws->idx[t];
            if (add) {
                if (out->f32) ((float *)out->p)[i] = (float)old[t - t0]; /* exact: it was a float */
                else ((double *)out->p)[i] = old[t - t0];
            }
            cq_q_emit1(out, i, ops->value(ctx, i) + ws->vals[t]);
        }
        t0 = t1;
    }
    return CQ_OK;
}

/* The encoder's CUQ part (quantize) and its value at a cut coordinate. */
typedef struct lp_enc {
    const cq_qpar *P;
    cq_qin y;
    uint64_t key;
    double c;
} lp_enc;

static int lp_enc_part(void *ctx, size_t i0, size_t i1, const cq_qout *out, cq_errinfo *err)
{
    const lp_enc *e = (const lp_enc *)ctx;
    const cq_qpar *P = e->P;
    /* CUQ reads each y_i twice: a small coordinate over c means y changed between them */
    if (CQ_Q_LEVEL(cq_q_cuq_block)(e->y, i0, i1, P->M, P->delta, P->L, P->lbits, e->key, 1, e->c, NULL, out))
        return cq_q_fail_changed("l_p quantizer", err);
    return CQ_OK;
}

static double lp_enc_value(void *ctx, size_t i)
{
    const lp_enc *e = (const lp_enc *)ctx;
    return cq_q_cuq_zero_value(e->P->M, e->P->delta, e->P->L, e->key, i);
}

static const lp_out_ops lp_enc_ops = {lp_enc_part, lp_enc_value};

/* The bitmap words bits[0..ceil(d/64)) into the message, the last one d mod 64 bits wide. */
static void lp_put_bitmap(cq_bitwriter *w, const uint64_t *bits, size_t d)
{
    for (size_t k = 0; 64 * k < d; k++) {
        size_t nb = d - 64 * k < 64 ? d - 64 * k : 64;
        cq_q_put_wide(w, bits[k], (unsigned)nb);
    }
}

/* ---- the RATQ part ------------------------------------------------------------------------
 * Through RATQ's typed kernels of this build level (its AVX-512 build where the CPU has
 * one; the same bytes and values at every level): a RATQ of dimension dmax with the
 * composite's parameters P->r, the gathered values zero-padded to dmax. The decoder of a
 * message with no large coordinate uses RATQ's core with the zero-input check. */
static const cq_qtops *lp_ratq_kernels(void)
{
#if defined(CQ_Q_AVX512_VARIANT)
    return &cq_q_ratq_typed_avx512 != NULL ? &cq_q_ratq_typed_avx512 : &cq_q_ratq_typed_avx2;
#elif defined(CQ_Q_AVX2_VARIANT)
    return &cq_q_ratq_typed_avx2;
#else
    return &cq_q_ratq_typed;
#endif
}

/* The resolved parameters of the RATQ part as a RATQ quantizer's (cq_q_ratq.c's resolve). */
static cq_qpar lp_ratq_par(const cq_qpar *P)
{
    cq_qpar R = *P;
    R.kind = R.spec_kind = CQ_Q_RATQ;
    R.d = (size_t)P->dmax;
    R.B = P->r.B;
    R.q = 2.0;
    R.bits = P->r.bits;
    R.work = P->r.d2 * sizeof(double);
    R.threads = 1;
    return R;
}

static int lp_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err);

/* Encode (w, out NULL): one pass of chunks -- the norm's sums, the bitmap and the gather,
 * the CUQ part's fields -- then the bitmap and the RATQ part; the norm is checked at the
 * end (a rejected input's message is dropped). Quantize (out, w NULL): the norm's sums and
 * the gather, the check, the RATQ part, then the CUQ part and the output (lp_output), so
 * that a rejected input leaves out untouched. Both: encode, then decode the message. */
static int lp_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                  cq_errinfo *err)
{
    size_t d = P->d;
    if (out != NULL && out->p == NULL) out = NULL;
    if (w != NULL && out != NULL) {
        /* RATQ's core gives its fields or its values, not both: the message is encoded,
         * then decoded from the payload (the pending bits stored by a copy of the writer;
         * the caller's finish stores the same bytes) */
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
    lp_enc e = {P, y, 0, P->c * (1.0 + 2.0 * CQ_Q_NORM_RTOL)};
    if (w != NULL) e.key = cq_rng_u64(g);
    lp_work ws = lp_carve(P, work);
    uint64_t *bits = w != NULL ? (uint64_t *)(void *)ws.z : NULL, n2 = 0;
    int over = 0, changed = 0;
    for (size_t i0 = 0; i0 < d; i0 += LP_CHUNK) {
        size_t m = d - i0 < LP_CHUNK ? d - i0 : LP_CHUNK;
        const double *xc = cq_q_chunk(y, i0, m, buf);
        lp_norm_chunk(&nm, xc, m, P->q);
        if (P->dmax > 0 && !over) over = lp_gather(P, xc, i0, m, e.c, &ws, bits, &n2);
        if (w != NULL) /* CUQ reads each y_i twice: a small coordinate over c means y changed */
            changed |= CQ_Q_LEVEL(cq_q_cuq_block)(y, i0, i0 + m, P->M, P->delta, P->L, P->lbits, e.key, 1, e.c, w, NULL);
    }
    int st = lp_check_norm(P, &nm, y, err);
    if (st) return st;
    if (changed) return cq_q_fail_changed("l_p quantizer", err);
    if (over)
        return cq_fail(err, CQ_EDOMAIN, "l_p quantizer: more than floor(d/Delta1) = %llu coordinates exceed c = %.15g "
                       "(||y||_q is over the bound B = %.15g)", (unsigned long long)P->dmax, e.c, P->B);
    if (w == NULL) e.key = cq_rng_u64(g);
    if (P->dmax > 0) {
        if (w != NULL) lp_put_bitmap(w, bits, d);
        assert(n2 <= P->dmax && P->r.dim == P->dmax && P->r.d2 == P->dmax);
        memset(ws.vals + n2, 0, (size_t)(P->dmax - n2) * sizeof(double));
        cq_qpar R = lp_ratq_par(P);
        cq_qin v = {ws.vals, 0};
        cq_qout o = {ws.vals, 0, CQ_QOUT_SET, 1.0}; /* in place: RATQ reads its input first */
        st = lp_ratq_kernels()->run_t(&R, v, g, ws.z, w, w == NULL ? &o : NULL, err);
        if (st) return st;
    }
    return w == NULL ? lp_output(P, &ws, n2, out, &lp_enc_ops, &e, err) : CQ_OK;
}

/* ---- decoder ----------------------------------------------------------------------------
 * The support bitmap (d lbits bits in) and the RATQ part are read first, then the CUQ part
 * with the output (lp_output), so that an accumulated output's values at the large
 * coordinates can be kept before the CUQ part is added. A validation (out->p NULL) reads no
 * CUQ level but the large coordinates' (every lbits-bit level is valid: L = 2^lbits). */

/* The decoder's CUQ part (a reader at its next level) and its value at coordinate i (the
 * level in the message, read by a copy of the reader at the message's first bit). */
typedef struct lp_dec {
    const cq_qpar *P;
    cq_bitreader first, r;
} lp_dec;

static uint32_t lp_level(const lp_dec *dc, size_t i)
{
    cq_bitreader r = dc->first;
    r.pos += (uint64_t)i * dc->P->lbits;
    return cq_q_get(&r, dc->P->lbits);
}

static int lp_dec_part(void *ctx, size_t i0, size_t i1, const cq_qout *out, cq_errinfo *err)
{
    lp_dec *dc = (lp_dec *)ctx;
    const cq_qpar *P = dc->P;
    return CQ_Q_LEVEL(cq_q_cuq_decode_block)(&dc->r, i0, i1, P->M, P->delta, P->L, P->lbits, out, err);
}

static double lp_dec_value(void *ctx, size_t i)
{
    const lp_dec *dc = (const lp_dec *)ctx;
    return cq_q_level_value(dc->P->M, dc->P->delta, lp_level(dc, i));
}

static const lp_out_ops lp_dec_ops = {lp_dec_part, lp_dec_value};

/* The support bitmap at r: the large coordinates' indices, ascending, into idx[0..*n2),
 * checked: at most dmax of them, each with CUQ's level of 0 (a large coordinate went
 * through CUQ as 0, i.e. t = (L-1)/2 rounded: level L/2 - 1 or L/2, L a power of two).
 * The indices first, then the levels in a loop of their own with the errors flagged;
 * a flagged bitmap is read again one coordinate at a time, which reports the first error
 * in index order. */
static int lp_read_bitmap(const cq_qpar *P, cq_bitreader *r, const lp_dec *dc, uint64_t *idx, uint64_t *n2p,
                          cq_errinfo *err)
{
    size_t d = P->d;
    uint32_t zlo = P->L / 2 - 1;
    uint64_t pos0 = r->pos, n2 = 0;
    for (int slow = 0; slow < 2; slow++) {
        n2 = 0;
        for (size_t k = 0; 64 * k < d; k++) {
            size_t nb = d - 64 * k < 64 ? d - 64 * k : 64;
            for (uint64_t word = cq_q_get_wide(r, (unsigned)nb); word != 0; word &= word - 1) {
                size_t i = 64 * k + (size_t)__builtin_ctzll(word);
                if (!slow) {
                    if (n2 < P->dmax) idx[n2] = i;
                    n2++;
                    continue;
                }
                if (n2 == P->dmax)
                    return cq_fail(err, CQ_EDECODE, "l_p support bitmap has more than floor(d/Delta1) = %llu ones",
                                   (unsigned long long)P->dmax);
                if (lp_level(dc, i) - zlo > 1u)
                    return cq_fail(err, CQ_EDECODE,
                                   "l_p coordinate %zu is in the support bitmap but its CUQ level is not that of 0", i);
                n2++;
            }
        }
        if (r->truncated) return cq_fail(err, CQ_EDECODE, "l_p support bitmap truncated");
        if (slow) break;
        uint32_t bad = n2 > P->dmax;
        for (uint64_t t = 0; t < n2 && !bad; t++) bad |= lp_level(dc, (size_t)idx[t]) - zlo > 1u;
        if (!bad) {
            *n2p = n2;
            return CQ_OK;
        }
        r->pos = pos0;
    }
    return cq_fail(err, CQ_EINTERNAL, "l_p decoder: a support bitmap flagged bad passed the checks");
}

static int lp_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    size_t d = P->d;
    assert(P->L == (uint32_t)1 << P->lbits);
    if (P->dmax == 0) {
        if (out->p != NULL) return CQ_Q_LEVEL(cq_q_cuq_decode_block)(r, 0, d, P->M, P->delta, P->L, P->lbits, out, err);
        r->pos += (uint64_t)d * P->lbits; /* every level is valid (the dispatcher checked the length) */
        return CQ_OK;
    }
    assert(P->r.L % 2 == 0);
    lp_work ws = lp_carve(P, work);
    lp_dec dc = {P, *r, *r};
    r->pos += (uint64_t)d * P->lbits; /* the bitmap */
    uint64_t n2 = 0;
    int st = lp_read_bitmap(P, r, &dc, ws.idx, &n2, err);
    if (st) return st;
    if (n2 == 0) { /* no large coordinate: the RATQ part is the encoding of 0 */
        st = cq_q_ratq_core_decode(&P->r, r, 1, ws.z, out->p != NULL ? ws.vals : NULL, err);
    } else {
        cq_qpar R = lp_ratq_par(P);
        cq_qout o = {out->p != NULL ? ws.vals : NULL, 0, CQ_QOUT_SET, 1.0};
        st = lp_ratq_kernels()->decode_t(&R, r, ws.z, &o, err);
    }
    if (st || out->p == NULL) return st;
    return lp_output(P, &ws, n2, out, &lp_dec_ops, &dc, err);
}

/* Only the composite (p < 2) reaches these: for p >= 2 the effective kind is SimQ or
 * SimQ+ and the dispatcher uses their tables. */
CQ_Q_TYPED_OPS(lp)
