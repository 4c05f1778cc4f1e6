/*
 * cq_q_simqplus.c -- SimQ+ (Mayekar & Tyagi, "Limits on Gradient Compression for
 * Stochastic Optimization", section 4.2, eq. (5), Theorem 4.2).
 *
 * SimQ+(B, p, k), admissible input ||y||_q <= B (q = p/(p-1)): k independent SimQ(B')
 * draws, B' = B d^(1/p), averaged. The k draws are sorted
 * uniforms U_(1) <= ... <= U_(k) obtained from k+1 exponential spacings
 * (U_(j) = (E_0 + ... + E_(j-1)) / (E_0 + ... + E_k)), then matched against the prefix
 * sums of |y_i| in one merge walk: O(d + k). The draws past ||y||_1 go to "index 0"
 * (the zero vector); the others to the coordinate they land on.
 *
 * Message: the TYPE (n_0, n_1, ..., n_d), the number of draws per index (n_0 for index 0,
 * n_{i+1} for coordinate i), sent with a fixed-length code of T(d, k) bits, then one sign
 * bit (1 = negative) per coordinate with n_{i+1} > 0, in increasing coordinate order,
 * zero-padded to k bits. The paper sends the type with a fixed-length code of
 * ceil(log2 C(d+k, k)) bits (section 4.2: the number of types of k draws over d+1 indices).
 *
 * The type code. Read the type as the stars-and-bars string of N = d + k positions
 * (n_0 stars, bar, n_1 stars, bar, ..., n_d stars); a uniformly random type is a uniformly
 * random placement of k stars among N positions. With s stars and n positions left, the
 * number g of bars before the next star has
 *     P(g >= r) = E(r) = prod_{t<r} (n - t - s) / (n - t),    g in [0, n - s],
 * and P(g = r) = E(r) - E(r+1) = E(r) s / (n - r). Coding g with these probabilities for
 * each of the k stars in turn gives the type probability exactly 1 / C(N, k) (the product
 * telescopes into k! (N-k)! / N!), so an arithmetic code of the gaps is an enumerative
 * code of the type (Cover, "Enumerative Source Encoding", IEEE Trans. IT 1973, section 3;
 * Rissanen, "Arithmetic codings as number representations", 1979) with O(k + number of
 * positions walked) work instead of one coder decision per position:
 *  - s = n (only stars left): g = 0, nothing is coded.
 *  - s = 1: g is uniform on [0, n): q = floor(range / n), g takes [g q, (g+1) q).
 *  - s >= 2: the range coder of cq_rangecoder.h splits its current range R by
 *    R(r) = 2 floor(h E'(r)), h = floor(R / 2) with its bits below the top 53 cleared
 *    (exact in double, < 2^63), E'(r) the running product, in IEEE double, of the factors
 *    f_t = fl((m - s) fl(1 / m)), m = n - t, from the segment start r_a (E'(r_a) = 1,
 *    R(r_a) = R exactly). Gap r takes
 *    [R - R(r), R - R(r+1)). A segment ends at the first r_b > r_a with E'(r_b) < 2^-8:
 *    a gap >= r_b is sent as the escape [R - R(r_b), R) and a new segment starts at r_b
 *    with the renormalised range. R(.) is non-increasing (E' is, and floor and rounding
 *    are monotone) and reaches 0 at r = n - s + 1 (f = 0 exactly), so the sub-intervals
 *    are disjoint and cover [0, R): every code value decodes to exactly one gap.
 *  Precision: inside a segment E' >= 2^-8 and 1 - f_t = s/(n-t) >= 2^-24 (n <= 2^24),
 *  so each coded width is >= 2^24 and within a relative 2^-24 + 2^-28 of R P(g = r) /
 *  E(r_a), and the escape width within 2^-24 of R E(r_b) / E(r_a): the loss is below
 *  2^-23 bits per coded step. The field is the old fixed-weight field plus one bit,
 *  T = ceil(log2 C(N, k) + 1e-6) + 2, which holds the termination (< 1 bit, see
 *  cq_rangecoder.h) and these losses; the encoder checks it and fails with
 *  CQ_EINTERNAL instead of emitting a longer field. Fixed length: T depends on (d, k)
 *  only; the code is zero-padded to T.
 *  Unique and canonical decoding: the decoder replays the same splits (the same integer
 *  and IEEE double operations, no FMA contraction: the build uses no -march), so it finds
 *  the one gap whose sub-interval holds its code value; the s = 1 step rejects a code
 *  value >= n q (a gap the encoder cannot emit). After the k-th star the field must be
 *  exactly the encoder's termination followed by zeros (cq_rc_dec_canonical); every
 *  other field value is CQ_EDECODE. The reader never looks past the field (bytes past
 *  it read as zeros).
 *
 * Encoder passes: the admissibility check (for 2 < p < inf the exact ||y||_q pass, one
 * pow() per coordinate, is skipped where the Hoelder bound sum|y|^q <= (sum|y|)^(2-q)
 * (sum y^2)^(q-1) already decides it, see simqplus_check), the k + 1 exponentials, the
 * walk (blocks of SQP_BLOCK coordinates that no draw lands in are skipped with the running
 * l1 sums the check recorded: the same sums, so the same landing points), then the type
 * code over the list of gaps. The decoder: the type code, then the signs.
 *
 * The walk re-reads y after the admissibility pass; if the two reads disagree (another
 * thread wrote to y meanwhile) the draws do not all land and the call fails with
 * "the input y changed during the call" instead of emitting a wrong type.
 */
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rangecoder.h"
#include "core/cq_rng.h"

#define SQP_BLOCK 256 /* coordinates per block of the encoder walk's skip table */

/* T(d, k): the type field, see the header. 0 when the type is forced (d = 0 cannot occur). */
static uint64_t simqplus_type_bits(uint64_t d, uint64_t k)
{
    uint64_t f = cq_fwrc_field_bits(d + k, k);
    return f ? f + 1 : 0;
}

static int simqplus_resolve(const cq_qspec *q, cq_qpar *P, cq_errinfo *err)
{
    int st = cq_q_check_B(q->B, err);
    if (st) return st;
    size_t d = P->d;
    double p = q->p;
    if (!(p >= 2.0)) return cq_fail(err, CQ_EINVAL, "SimQ+ needs p in [2, inf], got %g", p);
    double invp = isinf(p) ? 0.0 : 1.0 / p;
    P->q = isinf(p) ? 1.0 : p / (p - 1.0);
    P->Bp = q->B * pow((double)d, invp);
    int64_t k = q->kind == CQ_Q_LP ? 0 : q->k;
    if (k == 0) k = (int64_t)ceil(pow((double)d, 2.0 * invp)); /* <= d <= CQ_Q_DMAX: no overflow */
    if (k < 1) return cq_fail(err, CQ_EINVAL, "SimQ+ needs k >= 1, got %lld", (long long)k);
    if ((uint64_t)k + d > ((uint64_t)1 << 24))
        return cq_fail(err, CQ_EINVAL,
                       "SimQ+ needs d + k <= 2^24 (the range coder's exactness limit), got d=%zu, k=%lld", d,
                       (long long)k);
    P->k = (uint64_t)k;
    P->type_bits = simqplus_type_bits((uint64_t)d, P->k);
    P->bits = P->type_bits + P->k;
    /* the sorted draws, the sign bits, the walk's skip table, the gaps */
    size_t enc = (P->k + 4) * sizeof(double) + cq_q_round8(P->k / 8 + 1) + (d / SQP_BLOCK + 2) * sizeof(double) +
                 cq_q_round8((P->k + 4) * sizeof(uint32_t));
    size_t dec = cq_q_round8(P->k * sizeof(uint32_t)); /* the coordinates with draws */
    P->work = enc > dec ? enc : dec;
    return CQ_OK;
}

/* ||y||_q for the admissibility check, with the sequential l1 sum the walk reproduces;
 * pre (optional, one entry per block of SQP_BLOCK coordinates and one more) receives that
 * running sum at every block start and at the end, so that the encoder's walk can skip
 * the blocks no draw lands in (they end exactly at the next entry). */
static int simqplus_check(const cq_qpar *P, const double *y, double *l1_out, double *pre, cq_errinfo *err)
{
    size_t d = P->d;
    double s1 = 0.0, s2 = 0.0;
    for (size_t i0 = 0; i0 < d; i0 += SQP_BLOCK) {
        size_t i1 = d - i0 < SQP_BLOCK ? d : i0 + SQP_BLOCK;
        if (pre) pre[i0 / SQP_BLOCK] = s1; /* the running sum before the block */
        for (size_t i = i0; i < i1; i++) {
            double a = fabs(y[i]);
            s1 += a;
            s2 += a * a;
        }
    }
    if (pre) pre[(d + SQP_BLOCK - 1) / SQP_BLOCK] = s1;
    if (!isfinite(s1) || !isfinite(s2)) {
        for (size_t t = 0; t < d; t++)
            if (!isfinite(y[t])) return cq_q_fail_nonfinite(y, d, err);
    }
    double q = P->q, nq, thr = P->B * (1.0 + CQ_Q_NORM_RTOL);
    if (q == 1.0) nq = s1;
    else if (q == 2.0) nq = sqrt(s2);
    else if (pow(s1, (2.0 - q) / q) * pow(s2, (q - 1.0) / q) <= thr * (1.0 - 1e-6)) {
        /* 1 < q < 2, Hoelder with exponents 1/(2-q), 1/(q-1) on |y|^(2-q) |y|^(2q-2):
         * sum |y|^q <= (sum |y|)^(2-q) (sum |y|^2)^(q-1). Below the threshold by 1e-6,
         * far more than the rounding of these sums and of the exact pass (d eps <= 2^-29),
         * the exact norm passes too: the pow() pass below is skipped, same decision. */
        nq = 0.0;
    } else {
        double mx = 0.0;
        for (size_t i = 0; i < d; i++) mx = fmax(mx, fabs(y[i]));
        nq = mx > 0 ? mx * pow(cq_q_sum_pow(y, d, mx, q), 1.0 / q) : 0.0;
    }
    if (!(nq <= thr))
        return cq_fail(err, CQ_EDOMAIN, "SimQ+ (p=%g) needs ||y||_q <= B = %.15g with q = %g, got ||y||_q = %.15g",
                       P->p, P->B, q, nq);
    if (!(s1 <= P->Bp * (1.0 + CQ_Q_NORM_RTOL)))
        return cq_fail(err, CQ_EDOMAIN, "SimQ+ needs ||y||_1 <= B' = B d^(1/p) = %.15g, got ||y||_1 = %.15g", P->Bp,
                       s1);
    *l1_out = s1;
    return CQ_OK;
}

#define GAP_SEGMENT_END 0.00390625 /* 2^-8: a segment ends when E' drops below it */
#define GAP_INV 64                 /* reciprocals computed ahead, a block at a time */

/* rD / 2: the current range halved and rounded down to 53 significant bits (exact as a
 * double, < 2^63 so that the products below convert as signed integers). */
static inline double gap_half_range(uint64_t range) { return (double)(int64_t)((range >> 1) & ~(uint64_t)0x3FF); }

/* R = 2 floor(rD/2 * E') <= range for 0 <= E' <= 1. */
static inline uint64_t gap_split(double half, double E) { return (uint64_t)(int64_t)(half * E) << 1; }

/* 1 / m for the positions m = n - t, which both coders visit in (almost) decreasing order:
 * computed GAP_INV at a time, ahead of the multiply chain; a block is refilled whenever m
 * falls outside it, so the values never depend on the order. */
typedef struct gap_recips {
    uint64_t hi;          /* v[j] = 1 / (hi - j) */
    int avx2;             /* fill with 4-wide divisions (the same IEEE quotients) */
    double v[GAP_INV];
} gap_recips;

/* v[t] = 1 / (md - t), t < GAP_INV: correctly rounded quotients, so every instruction set
 * gives the same values (the build uses no -march; AVX2 is chosen at run time). */
static void gap_fill(double *v, double md)
{
    for (int t = 0; t < GAP_INV; t++) v[t] = 1.0 / (md - (double)t);
}

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2"))) static void gap_fill_avx2(double *v, double md)
{
    for (int t = 0; t < GAP_INV; t++) v[t] = 1.0 / (md - (double)t);
}
#define GAP_CPU_AVX2() __builtin_cpu_supports("avx2")
#else
#define gap_fill_avx2 gap_fill
#define GAP_CPU_AVX2() 0
#endif

static void gap_recips_init(gap_recips *c)
{
    c->hi = 0;
    c->avx2 = GAP_CPU_AVX2() != 0;
}

static inline double gap_recip(gap_recips *c, uint64_t m)
{
    uint64_t j = c->hi - m; /* m > hi (the first call: hi = 0) wraps to a large j */
    if (j >= GAP_INV) {
        double md = (double)(int64_t)m; /* m - t is exact in double: m <= 2^24 */
        c->hi = m;
        if (m >= GAP_INV) {
            if (c->avx2) gap_fill_avx2(c->v, md);
            else gap_fill(c->v, md);
        } else {
            for (int t = 0; t < (int)m; t++) c->v[t] = 1.0 / (md - (double)t);
        }
        j = 0;
    }
    return c->v[j];
}

/* f_t = P(bar at position m = n - t | s stars among m positions) = (m - s) * fl(1 / m). */
static inline double gap_factor(gap_recips *c, uint64_t m, uint64_t s)
{
    return (double)(int64_t)(m - s) * gap_recip(c, m);
}

/* The first three splits of a segment that starts at gap 0, computed without a branch on
 * the code value (the dense case: most gaps are 0, 1 or 2). R[0] = range, R[i] = R(i);
 * *E = E'(3). Returns 0 where the segment could end before gap 2 (E'(2) < 2^-8, which
 * covers a zero factor: n - s < 2); the caller then walks from gap 0. */
static inline int gap_head(gap_recips *rc, uint64_t range, uint64_t n, uint64_t s, double half, uint64_t R[4],
                           double *E)
{
    if (n - s < 2) return 0;
    double E1 = 1.0 * gap_factor(rc, n, s);
    double E2 = E1 * gap_factor(rc, n - 1, s);
    double E3 = E2 * gap_factor(rc, n - 2, s);
    if (E2 < GAP_SEGMENT_END) return 0; /* E'(1) >= E'(2) */
    R[0] = range;
    R[1] = gap_split(half, E1);
    R[2] = gap_split(half, E2);
    R[3] = gap_split(half, E3);
    *E = E3;
    return 1;
}

/* The least double >= ceil(v / 2) (v < 2^64). */
static inline double gap_vup(uint64_t v)
{
    uint64_t N = (v >> 1) + (v & 1);
    double x = (double)N;
    return (uint64_t)x < N ? nextafter(x, INFINITY) : x;
}

/* Consume the sub-interval [start, start + width) on the coding side in use. */
static inline void gap_step(cq_rc_encoder *e, cq_rc_decoder *dc, uint64_t start, uint64_t width)
{
    if (e) cq_rc_enc_interval(e, start, width);
    else cq_rc_dec_interval(dc, start, width);
}

/* One gap (bars before the next star; 0 <= gap <= n - s) with s >= 1 stars among n
 * positions left, coded by the encoder (e != NULL; the gap is *g) or decoded (dc != NULL;
 * the gap is stored in *g). Both sides run this one function, so they make the same splits.
 * Returns -1 for a code value that no gap owns (decoder only), else 0. */
static inline int gap_code(cq_rc_encoder *e, cq_rc_decoder *dc, gap_recips *rc, uint64_t n, uint64_t s, uint64_t *g)
{
    assert(s >= 1 && s <= n && (dc || *g <= n - s));
    if (s == n) { /* forced: gap 0 */
        *g = 0;
        return 0;
    }
    uint64_t range = e ? e->range : dc->range;
    if (s == 1) { /* uniform on [0, n) */
        uint64_t q = range / n, h = e ? *g : dc->code / q;
        if (h >= n) return -1;
        gap_step(e, dc, q * h, q);
        *g = h;
        return 0;
    }
    uint64_t Rr = range, v = e ? 0 : range - dc->code, R[4], r = 0; /* decoder: code < range, v >= 1 */
    double half = gap_half_range(range), E = 1.0;
    int walk = 1; /* inside a segment: walk on from gap r */
    /* the decoder's shortcut for gaps 0..2 (the walk below makes the same splits; the
     * encoder, which knows the gap, walks only as far as it) */
    if (dc && gap_head(rc, range, n, s, half, R, &E)) {
        uint64_t h = (uint64_t)(v <= R[1]) + (v <= R[2]) + (v <= R[3]); /* R(h+1) < v <= R(h) if h < 3 */
        if (h < 3) {
            gap_step(e, dc, range - R[h], R[h] - R[h + 1]);
            *g = h;
            return 0;
        }
        r = 3;
        Rr = R[3];
        walk = !(E < GAP_SEGMENT_END);
    }
    /* The decoder tests v > R(r+1) = 2 floor(z), z = fl(half E'(r+1)), as z < Vup, Vup the
     * least double >= ceil(v/2) (floor(z) < N iff z < N for an integer N, and z < N iff
     * z < Vup for a double z): one product and one comparison per position. R(.) itself
     * is formed only where the walk stops; rk is the gap whose R(rk) = Rr is known. */
    double Vup = dc ? gap_vup(v) : 0.0;
    uint64_t rk = r;
    for (;;) {
        while (walk) {
            double Ep = E;
            E *= gap_factor(rc, n - r, s);
            if (e ? r == *g : half * E < Vup) { /* the gap is r: [range - R(r), range - R(r+1)) */
                uint64_t R0 = r == rk ? Rr : gap_split(half, Ep), R1 = gap_split(half, E);
                gap_step(e, dc, range - R0, R0 - R1);
                *g = r;
                return 0;
            }
            r++;
            walk = !(E < GAP_SEGMENT_END);
        }
        Rr = gap_split(half, E); /* R(r) */
        gap_step(e, dc, range - Rr, Rr); /* escape: gap >= r; a new segment starts at r */
        range = e ? e->range : dc->range;
        Rr = range;
        rk = r;
        if (dc) {
            v = range - dc->code;
            Vup = gap_vup(v);
        }
        half = gap_half_range(range);
        E = 1.0;
        walk = 1;
    }
}

/* The walk over the sorted points C[j] scale of [0, B'): adds |y_i| to the running l1 sum
 * *s and returns c_i, the number of points below it not yet counted (*j advances by c_i).
 * C[kk..kk+4) hold +inf (the walk's sentinels): *j stops at kk. Up to 3 points are counted
 * without a branch on the data (the dense case), more by a loop. */
static inline uint64_t stars_at(double yi, const double *C, double scale, double *s, uint64_t *j)
{
    *s += fabs(yi);
    const double *T = C + *j;
    double v = *s;
    uint64_t c = (uint64_t)(T[0] * scale < v) + (T[1] * scale < v) + (T[2] * scale < v) + (T[3] * scale < v);
    if (c == 4)
        while (T[c] * scale < v) c++;
    *j += c;
    return c;
}

static int simqplus_run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
                        cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t k = P->k;
    double l1 = 0.0, *C = (double *)work;
    uint8_t *sb = (uint8_t *)(C + k + 4);
    double *pre = w ? (double *)(sb + cq_q_round8(k / 8 + 1)) : NULL;
    int st = simqplus_check(P, y, &l1, pre, err);
    if (st) return st;
    double acc = 0.0;
    for (uint64_t j = 0; j < k; j++) {
        acc += cq_rng_exponential(g);
        C[j] = acc;
    }
    acc += cq_rng_exponential(g);
    double scale = P->Bp / acc; /* U_(j) B' = C[j] * scale */
    uint64_t n0 = 0;
    while (n0 < k && C[k - 1 - n0] * scale >= l1) n0++;
    uint64_t kk = k - n0, j = 0;
    for (uint64_t t = 0; t < 4; t++) C[kk + t] = INFINITY; /* sentinels (the draws past l1 are counted in n0) */
    double s = 0.0;
    if (w == NULL) {
        double unit = P->Bp / (double)k;
        for (size_t i = 0; i < d; i++) {
            uint64_t c = stars_at(y[i], C, scale, &s, &j);
            double v = (double)c * unit;
            out[i] = c ? (y[i] < 0 ? -v : v) : 0.0;
        }
        if (j != kk) return cq_q_fail_changed("SimQ+", err); /* the walk saw another y than the check */
        return CQ_OK;
    }
    memset(sb, 0, (size_t)(k / 8 + 1));
    /* the walk: the gap before every star, in order (the n0 stars of index 0 first) */
    uint32_t *G = (uint32_t *)(pre + d / SQP_BLOCK + 2);
    uint64_t nsg = 0, ng = 0, prev = 0; /* prev: the index of the last star */
    for (; ng < n0; ng++) G[ng] = 0;
    for (size_t i = 0; i < d; i++) {
        if (i % SQP_BLOCK == 0) { /* skip the blocks that no draw lands in: s ends at pre[] */
            size_t b = i / SQP_BLOCK;
            while (i < d && !(j < kk && C[j] * scale < pre[b + 1])) {
                s = pre[++b];
                i += SQP_BLOCK;
            }
            if (i >= d) break;
        }
        /* branch-free for c <= 3: G has 4 spare entries, sb one spare byte */
        uint64_t c = stars_at(y[i], C, scale, &s, &j), some = c != 0;
        G[ng] = (uint32_t)((uint64_t)i + 1 - prev); /* d <= 2^24 */
        G[ng + 1] = G[ng + 2] = G[ng + 3] = 0;
        for (uint64_t t = 4; t < c; t++) G[ng + t] = 0;
        ng += c;
        prev = some ? (uint64_t)i + 1 : prev;
        sb[nsg >> 3] |= (uint8_t)((some & (uint64_t)(y[i] < 0)) << (nsg & 7));
        nsg += some;
    }
    if (j != kk) return cq_q_fail_changed("SimQ+", err); /* the walk saw another y than the check */
    if (ng != k)
        return cq_fail(err, CQ_EINTERNAL, "SimQ+ walk assigned %llu of %llu draws", (unsigned long long)j,
                       (unsigned long long)kk);
    /* the type code */
    cq_rc_encoder e;
    cq_rc_enc_init(&e, w);
    gap_recips rc;
    gap_recips_init(&rc);
    uint64_t n = (uint64_t)d + k; /* positions left */
    for (uint64_t t = 0; t < k; t++) {
        uint64_t gap = G[t];
        (void)gap_code(&e, NULL, &rc, n, k - t, &gap);
        n -= gap + 1;
    }
    uint64_t used = cq_rc_enc_finish(&e);
    if (used > P->type_bits)
        return cq_fail(err, CQ_EINTERNAL, "SimQ+ type code used %llu bits, field has %llu", (unsigned long long)used,
                       (unsigned long long)P->type_bits);
    cq_bw_zeros(w, P->type_bits - used);
    uint64_t t = 0;
    for (; t + 8 <= k; t += 8) cq_bw_put(w, sb[t >> 3], 8);
    if (t < k) cq_bw_put(w, sb[t >> 3], (unsigned)(k - t));
    return CQ_OK;
}

static int simqplus_decode(const cq_qpar *P, cq_bitreader *r, void *work, double *out, cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t k = P->k, F = P->type_bits;
    if (r->nbits < F + k) return cq_fail(err, CQ_EDECODE, "SimQ+ message truncated");
    cq_rc_decoder dc;
    cq_rc_dec_init(&dc, r, F);
    if (dc.bad) return cq_fail(err, CQ_EDECODE, "SimQ+ type field is not a valid range code");
    memset(out, 0, d * sizeof(double));
    uint32_t *nz = (uint32_t *)work; /* coordinates with draws, increasing (d <= 2^24) */
    uint64_t n = (uint64_t)d + k, nnz = 0, idx = 0; /* idx: 0 the zero index, i+1 coordinate i */
    gap_recips rc;
    gap_recips_init(&rc);
    for (uint64_t left = k; left > 0; left--) {
        uint64_t gap;
        if (gap_code(NULL, &dc, &rc, n, left, &gap))
            return cq_fail(err, CQ_EDECODE, "SimQ+ type field does not decode to a type");
        idx += gap;
        n -= gap + 1;
        if (gap) nz[nnz++] = (uint32_t)(idx - 1);
        if (idx) out[idx - 1] += 1.0;
    }
    /* canonical check: the field must be exactly the encoder's code for this type */
    if (!cq_rc_dec_canonical(&dc))
        return cq_fail(err, CQ_EDECODE, "SimQ+ type field is not the canonical code of a type");
    cq_rc_dec_finish(&dc);
    /* signs */
    r->pos = F;
    double unit = P->Bp / (double)k;
    uint64_t t = 0;
    while (t < nnz) {
        unsigned m = nnz - t >= 32 ? 32 : (unsigned)(nnz - t);
        uint32_t word = cq_q_get(r, m);
        for (unsigned b = 0; b < m; b++, t++) {
            double v = out[nz[t]] * unit;
            out[nz[t]] = (word >> b) & 1u ? -v : v;
        }
    }
    for (; t < k;) {
        unsigned m = k - t >= 32 ? 32 : (unsigned)(k - t);
        uint32_t word = cq_q_get(r, m);
        for (unsigned b = 0; b < m; b++, t++)
            if ((word >> b) & 1u)
                return cq_fail(err, CQ_EDECODE, "SimQ+ sign padding bit %llu is not zero", (unsigned long long)t);
    }
    return CQ_OK;
}

const cq_qops cq_q_simqplus_ops = {simqplus_resolve, simqplus_run, simqplus_decode};
