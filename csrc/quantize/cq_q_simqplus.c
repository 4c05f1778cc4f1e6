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
 * positions walked) work instead of one coder decision per position. Where the string is
 * dense (>= 16 stars and >= 16 bars left, s/n between ~0.34 and ~0.66), the BLOCK CODE
 * (below, "the block code") codes 16 positions per step instead, with their exact joint
 * probability; each step of the loop (sqp_type_code) decides between the two on (n, s,
 * range) alone. The gap code:
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
 *  2^-23 bits per coded step (a block step: < 2^-29). The field is the old fixed-weight
 *  field plus one bit,
 *  T = ceil(log2 C(N, k) + 1e-6) + 2, which holds the termination (< 1 bit, see
 *  cq_rangecoder.h) and these losses; the encoder checks it and fails with
 *  CQ_EINTERNAL instead of emitting a longer field. Fixed length: T depends on (d, k)
 *  only; the code is zero-padded to T.
 *  Unique and canonical decoding: the decoder replays the same splits (the same integer
 *  and IEEE double operations, no FMA contraction: the build uses no -march), so it finds
 *  the one gap (or block) whose sub-interval holds its code value; the s = 1 step rejects
 *  a code value >= n q and the block step one >= F_17 (values the encoder cannot emit).
 *  After the k-th star the field must be
 *  exactly the encoder's termination followed by zeros (cq_rc_dec_canonical); every
 *  other field value is CQ_EDECODE. The reader never looks past the field (bytes past
 *  it read as zeros).
 *
 * Encoder passes: the admissibility check (for 2 < p < inf the exact ||y||_q pass, one
 * pow() per coordinate, is skipped where the Hoelder bound sum|y|^q <= (sum|y|)^(2-q)
 * (sum y^2)^(q-1) already decides it, see simqplus_check), the k + 1 exponentials, the
 * walk, which writes the stars-and-bars string as bits (blocks of SQP_BLOCK coordinates
 * that no draw lands in are skipped with the running l1 sums the check recorded: the same
 * sums, so the same landing points; a dense type from d = SQP_DENSE_D on is walked in
 * SQP_SEGS stretches in lockstep, sqp_walk_dense, which marks one bar per coordinate and
 * complements the string at the end), then the type code over the string. The decoder: the
 * type code into the string; the canonical and sign-padding checks (the coordinates with
 * draws counted as the runs of stars after a bar); then the values, written from the string
 * in one walk over its stars (sqp_star_walk: each star overwrites its coordinate with the run
 * so far) or, for an accumulating output, added from the list of counts (sqp_emit_add).
 * Typed kernels (cq_qtops): float32 input is read in place and decoded values are written
 * or added as float32 or float64.
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
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SQP_BLOCK 256 /* coordinates per block of the encoder walk's skip table */

#define SQP_SEGS 4                    /* stretches of the dense encoder walk (sqp_walk_lockstep's four) */
#define SQP_DENSE_D ((size_t)1 << 14) /* from this d on, a dense type takes the stretches */

/* 64-bit words of the stars-and-bars string of N positions, with two spare words:
 * sqp_set_run's branch-free case and sqp_get16 touch the word after the one holding
 * `pos`, and the walk's last coordinate may start an empty run at pos = N (with N a
 * multiple of 64, that is word N/64 + 1). */
static inline size_t sqp_words(uint64_t N) { return (size_t)((N + 63) / 64 + 2); }

/* The string and, where d and k are both >= SQP_TAB_MIN (so that a dense type has enough
 * blocks to pay for them), the colex tables after it (sqp_colex_init). */
#define SQP_TAB_MIN ((uint64_t)1 << 16)
#define SQP_TAB_BYTES ((size_t)2 * 65536 * sizeof(uint16_t))
static inline int sqp_tables(uint64_t N, uint64_t k) { return k >= SQP_TAB_MIN && N - k >= SQP_TAB_MIN; }
static inline size_t sqp_str_bytes(uint64_t N, uint64_t k)
{
    return sqp_words(N) * sizeof(uint64_t) + (sqp_tables(N, k) ? SQP_TAB_BYTES : 0);
}

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
    P->checks_first = 1; /* simqplus_decode writes nothing before its last check */
    /* the sorted draws, the sign bits, the walk's skip table, the string (and the dense walk's
     * sign bits); the decoder: the string, then the sign bits as words and an accumulating
     * output's lists of coordinates and counts (sqp_emit_add) */
    size_t str = sqp_str_bytes((uint64_t)d + P->k, P->k);
    size_t enc = (P->k + 4) * sizeof(double) + cq_q_round8(P->k / 8 + 1) + (d / SQP_BLOCK + 2) * sizeof(double) + str +
                 (d >= SQP_DENSE_D ? cq_q_round8(d / 8 + 8 * SQP_SEGS + 8) : 0); /* the stretches' sign bits */
    size_t dec = str + cq_q_round8((P->k / 64 + 1) * sizeof(uint64_t) + 2 * (P->k + 1) * sizeof(uint32_t));
    P->work = enc > dec ? enc : dec;
    return CQ_OK;
}

/* cq_q_sum_pow (cq_q_internal.h) of a typed vector, in its order (two accumulators over the
 * pairs (i, i+1), integer q by multiplication), so float32 input decides as its float64 copy. */
static double sqp_sum_pow(cq_qin y, size_t d, double mx, double q)
{
    if (!y.f32) return cq_q_sum_pow((const double *)y.p, d, mx, q);
    double buf[CQ_Q_CHUNK], acc[2] = {0.0, 0.0}, inv = 1.0 / mx;
    int iq = q == floor(q) && q >= 1.0 && q <= 16.0 ? (int)q : 0;
    size_t even = d & ~(size_t)1;
    for (size_t i0 = 0; i0 < d; i0 += CQ_Q_CHUNK) { /* CQ_Q_CHUNK is even: pairs stay in a chunk */
        size_t m = d - i0 < CQ_Q_CHUNK ? d - i0 : CQ_Q_CHUNK;
        const double *v = cq_q_chunk(y, i0, m, buf);
        for (size_t t = 0; t < m; t++) {
            double u = fabs(v[t]) * inv, pu = u;
            if (iq)
                for (int e = 1; e < iq; e++) pu *= u;
            else
                pu = pow(u, q);
            acc[iq && i0 + t < even ? (i0 + t) & 1 : 0] += pu;
        }
    }
    return iq ? acc[0] + acc[1] : acc[0];
}

/* ||y||_q for the admissibility check, with the sequential l1 sum the walk reproduces;
 * pre (optional, one entry per block of SQP_BLOCK coordinates and one more) receives that
 * running sum at every block start and at the end, so that the encoder's walk can skip
 * the blocks no draw lands in (they end exactly at the next entry). */
static int simqplus_check(const cq_qpar *P, cq_qin y, double *l1_out, double *pre, cq_errinfo *err)
{
    size_t d = P->d;
    double s1 = 0.0, s2 = 0.0;
    for (size_t i0 = 0; i0 < d; i0 += SQP_BLOCK) {
        size_t i1 = d - i0 < SQP_BLOCK ? d : i0 + SQP_BLOCK;
        if (pre) pre[i0 / SQP_BLOCK] = s1; /* the running sum before the block */
        for (size_t i = i0; i < i1; i++) {
            double a = fabs(cq_q_at(y, i));
            s1 += a;
            s2 += a * a;
        }
    }
    if (pre) pre[(d + SQP_BLOCK - 1) / SQP_BLOCK] = s1;
    if (!isfinite(s1) || !isfinite(s2)) {
        for (size_t t = 0; t < d; t++)
            if (!isfinite(cq_q_at(y, t))) return cq_q_fail_nonfinite_v(y, d, err);
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
        double mx = cq_q_v_max_abs(y, 0, d); /* finite here: the same maximum as any order */
        nq = mx > 0 ? mx * pow(sqp_sum_pow(y, d, mx, q), 1.0 / q) : 0.0;
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

/* ---- the block code (dense types) ---------------------------------------------------------
 * Where at least SQP_B stars and SQP_B bars are left, the next SQP_B = 16 positions are coded
 * as one symbol: a block with v stars among the n positions left (s stars, a = n - s bars)
 * has, for a uniformly random string, the probability
 *     pi_v = C(n - 16, s - v) / C(n, s) = (s)_v (a)_(16-v) / (n)_16       ((x)_m falling),
 * the same for each of its C(16, v) patterns (Cover 1973, section 3: the enumerative code of
 * the block is its weight and its rank among the patterns of that weight). The range is split
 * by q_v = 2 floor(h pi'_v) (h as in the gap code, pi'_v = fl(fl(Ps_v Pa_(16-v)) fl(c / Pn)),
 * c = 1 - 2^-44, Ps, Pa, Pn the falling factorials as IEEE double products of exact integer
 * pairs), pattern x of weight v taking [F_v + rank(x) q_v, F_v + (rank(x) + 1) q_v), with
 * F_v = sum_{u<v} C(16, u) q_u and rank(x) the colex rank (patterns of weight v in
 * increasing order of the 16-bit word, bit t = position t of the block). The block code is
 * used iff q_0 >= 2^30 and q_16 >= 2^30 (pi_v is log-concave in v, so every pattern then has
 * a width >= 2^30 and loses < 2^-29 bits; the widths fit: see sqp_blk); otherwise one gap is
 * coded (gap_code) and the test is made again at the next star. Both sides decide on
 * (n, s, range) alone, so they agree; a decoded code value >= F_17 is rejected. A type whose
 * blocks all fail the test (sparse: s/n below ~0.34 or above ~0.66) is coded
 * exactly as by the gap code alone. */
#define SQP_B 16
#define SQP_BLOCK_MINW ((uint64_t)1 << 30)
#define SQP_BLOCK_SAFE (1.0 - 0x1p-44)

static const uint32_t sqp_c16[SQP_B + 1] = {1,     16,    120,  560,  1820, 4368, 8008, 11440, 12870,
                                            11440, 8008,  4368, 1820, 560,  120,  16,   1};

/* The number of ones of a word (no popcnt instruction in the portable build, and
 * __builtin_popcount would call libgcc). */
static inline unsigned sqp_ones(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    return (unsigned)((((x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full) * 0x0101010101010101ull) >> 56);
}

/* The colex rank of a 16-bit word among the words of its weight (Knuth, TAOCP 7.2.1.3: the
 * combinatorial number system; colex order = increasing value for words of one weight), and
 * its inverse: rank[x], and word[off[w] + r] = the word of weight w and rank r. Types with d, k
 * >= 2^16 use these tables (built in the work buffer in one pass over the 2^16 words); others
 * the loops, which give the same values. */
typedef struct sqp_colex {
    uint32_t c[SQP_B][SQP_B + 1]; /* C(t, i), t < 16 (0 for i > t) */
    uint16_t off[SQP_B + 1];      /* sum_{u < w} C(16, u), the first word of weight w; off[16] = 65535 */
    uint16_t *rank, *word;        /* NULL: no tables */
} sqp_colex;

/* tab: NULL, or 2^17 uint16 of the work buffer */
static void sqp_colex_init(sqp_colex *b, uint16_t *tab)
{
    for (int t = 0; t < SQP_B; t++) {
        b->c[t][0] = 1;
        for (int i = 1; i <= SQP_B; i++) b->c[t][i] = t == 0 ? 0 : b->c[t - 1][i - 1] + b->c[t - 1][i];
    }
    uint32_t o = 0;
    for (int w = 0; w <= SQP_B; w++) {
        b->off[w] = (uint16_t)o;
        o += sqp_c16[w];
    }
    b->rank = b->word = NULL;
    if (tab) {
        uint16_t cnt[SQP_B + 1] = {0};
        b->rank = tab;
        b->word = tab + 65536;
        for (uint32_t x = 0; x < 65536; x++) {
            unsigned w = sqp_ones(x);
            b->rank[x] = cnt[w];
            b->word[b->off[w] + cnt[w]++] = (uint16_t)x;
        }
    }
}

static inline uint64_t sqp_rank(const sqp_colex *b, uint32_t x)
{
    if (b->rank) return b->rank[x];
    uint64_t r = 0;
    for (int i = 1; x; i++, x &= x - 1) r += b->c[__builtin_ctz(x)][i];
    return r;
}

/* The word of weight w and colex rank r < C(16, w). */
static inline uint32_t sqp_unrank(const sqp_colex *b, unsigned w, uint64_t r)
{
    if (b->word) return b->word[b->off[w] + r];
    uint32_t x = 0;
    int c = SQP_B - 1;
    for (unsigned i = w; i >= 1; i--, c--) {
        while (b->c[c][i] > r) c--;
        x |= 1u << c;
        r -= b->c[c][i];
    }
    return x;
}

/* P[m] = x (x-1) ... (x-m+1), m <= 16 (x >= 16 < 2^24), as IEEE double products of the exact
 * pairs (x - 2u)(x - 2u - 1) < 2^48 in a fixed tree of depth <= 5 (the decoder's latency).
 * The pairs are formed in double (x - 2u and its product with x - 2u - 1 are exact there),
 * one conversion instead of sixteen on the decoder's chain. */
static inline void sqp_pairs(double o[8], double p[8], uint64_t x)
{
    double xd = (double)(int64_t)x;
    for (int u = 0; u < 8; u++) {
        o[u] = xd - (double)(2 * u);
        p[u] = o[u] * (o[u] - 1.0);
    }
}

/* P[16] of sqp_falling alone, by the same products. */
static inline double sqp_falling16(uint64_t x)
{
    double o[8], p[8];
    sqp_pairs(o, p, x);
    double A = p[0] * p[1], B = p[2] * p[3], C = p[4] * p[5], D = p[6] * p[7];
    return (A * B) * (C * D);
}

static inline void sqp_falling(double P[SQP_B + 1], uint64_t x)
{
    double o[8], p[8];
    sqp_pairs(o, p, x);
    double A = p[0] * p[1], B = p[2] * p[3], C = p[4] * p[5], D = p[6] * p[7];
    P[0] = 1.0;
    P[1] = o[0];
    P[2] = p[0];
    P[3] = p[0] * o[1];
    P[4] = A;
    P[5] = A * o[2];
    P[6] = A * p[2];
    P[7] = P[6] * o[3];
    P[8] = A * B;
    P[9] = P[8] * o[4];
    P[10] = P[8] * p[4];
    P[11] = P[10] * o[5];
    P[12] = P[8] * C;
    P[13] = P[12] * o[6];
    P[14] = P[12] * p[6];
    P[15] = P[14] * o[7];
    P[16] = P[8] * (C * D);
}

/* The block code at (n, s) for the current range: q_v = sqp_q(B, v). F_17 <= range always:
 * each pi'_v has at most 30 roundings (relative error < 2^-48), so c = 1 - 2^-44 keeps every
 * q_v <= 2 h pi_v and sum_v C(16, v) q_v <= 2 h sum_v C(16, v) pi_v = 2 h <= range
 * (Vandermonde's identity). */
typedef struct sqp_blk {
    double Ps[SQP_B + 1], Pa[SQP_B + 1], inv, half;
} sqp_blk;

static inline uint64_t sqp_q(const sqp_blk *B, int v)
{
    return gap_split(B->half, (B->Ps[v] * B->Pa[SQP_B - v]) * B->inv);
}

/* Fills *B; returns 0 where the block code does not apply (fewer than 16 stars or bars left,
 * or q_0 or q_16 below 2^30). */
static inline int sqp_block_init(sqp_blk *B, uint64_t range, uint64_t n, uint64_t s)
{
    uint64_t a = n - s;
    if (s < SQP_B || a < SQP_B) return 0;
    sqp_falling(B->Ps, s);
    sqp_falling(B->Pa, a);
    B->inv = SQP_BLOCK_SAFE / sqp_falling16(n);
    B->half = gap_half_range(range);
    return sqp_q(B, 0) >= SQP_BLOCK_MINW && sqp_q(B, SQP_B) >= SQP_BLOCK_MINW;
}

/* The stars-and-bars string as bits (1 = star) in 64-bit words, bit t of word w = position
 * 64 w + t. */
static inline uint32_t sqp_get16(const uint64_t *S, uint64_t pos)
{
    uint64_t w = pos >> 6;
    unsigned o = (unsigned)(pos & 63);
    uint64_t x = S[w] >> o;
    if (o > 48) x |= S[w + 1] << (64 - o);
    return (uint32_t)(x & 0xFFFFu);
}

static inline void sqp_or16(uint64_t *S, uint64_t pos, uint32_t x)
{
    uint64_t w = pos >> 6;
    unsigned o = (unsigned)(pos & 63);
    S[w] |= (uint64_t)x << o;
    if (o > 48) S[w + 1] |= (uint64_t)x >> (64 - o);
}

/* Positions [pos, pos + c) become stars. */
static inline void sqp_set_run(uint64_t *S, uint64_t pos, uint64_t c)
{
    if (c < 58) { /* the dense case, without a branch on c */
        uint64_t m = ((uint64_t)1 << c) - 1, w = pos >> 6;
        unsigned o = (unsigned)(pos & 63);
        S[w] |= m << o;
        S[w + 1] |= (m >> 1) >> (63 - o);
        return;
    }
    for (; c; pos++, c--) S[pos >> 6] |= (uint64_t)1 << (pos & 63);
}

/* The number of bars from pos to the next star (the string has one). */
static inline uint64_t sqp_gap_at(const uint64_t *S, uint64_t pos)
{
    uint64_t w = pos >> 6, x = S[w] >> (pos & 63), g = 0;
    if (x) return (uint64_t)__builtin_ctzll(x);
    g = 64 - (pos & 63);
    while (!S[++w]) g += 64;
    return g + (uint64_t)__builtin_ctzll(S[w]);
}

/* Code the string S of N positions with k stars (encoder e) or decode it into S (decoder dc,
 * S zeroed). Returns -1 for a field value that is no code (decoder only). */
static int sqp_type_code(cq_rc_encoder *e, cq_rc_decoder *dc, uint64_t *S, uint64_t N, uint64_t k)
{
    sqp_colex bn;
    sqp_colex_init(&bn, sqp_tables(N, k) ? (uint16_t *)(S + sqp_words(N)) : NULL);
    gap_recips rc;
    gap_recips_init(&rc);
    uint64_t pos = 0, n = N, s = k;
    sqp_blk B;
    while (s > 0 && s < n) {
        if (sqp_block_init(&B, e ? e->range : dc->range, n, s)) {
            uint32_t x;
            unsigned w;
            if (e) {
                x = sqp_get16(S, pos);
                w = sqp_ones(x);
                /* every q_v, so that no loop exit depends on the data: F = sum_{v < w} C(16, v) q_v */
                uint64_t F = 0, qw = 0;
                for (unsigned v = 0; v <= SQP_B; v++) {
                    uint64_t qv = sqp_q(&B, (int)v), lt = 0 - (uint64_t)(v < w);
                    F += lt & ((uint64_t)sqp_c16[v] * qv);
                    qw = v == w ? qv : qw;
                }
                cq_rc_enc_interval(e, F + sqp_rank(&bn, x) * qw, qw);
            } else {
                uint64_t c = dc->code, q[SQP_B + 1], F[SQP_B + 2];
                F[0] = 0;
                for (int v = 0; v <= SQP_B; v++) {
                    q[v] = sqp_q(&B, v);
                    F[v + 1] = F[v] + (uint64_t)sqp_c16[v] * q[v];
                }
                w = 0;
                for (int v = 1; v <= SQP_B + 1; v++) w += F[v] <= c;
                if (w > SQP_B) return -1; /* c >= F_17: a value no block owns */
                uint64_t off = c - F[w], r = (uint64_t)((double)(int64_t)(off >> 1) / (double)(int64_t)(q[w] >> 1));
                while (r * q[w] > off) r--;
                while ((r + 1) * q[w] <= off) r++;
                cq_rc_dec_interval(dc, F[w] + r * q[w], q[w]);
                x = sqp_unrank(&bn, w, r);
                sqp_or16(S, pos, x);
            }
            pos += SQP_B;
            n -= SQP_B;
            s -= w;
        } else {
            uint64_t g = e ? sqp_gap_at(S, pos) : 0;
            if (gap_code(e, dc, &rc, n, s, &g)) return -1;
            if (dc) S[(pos + g) >> 6] |= (uint64_t)1 << ((pos + g) & 63);
            pos += g + 1;
            n -= g + 1;
            s--;
        }
    }
    if (dc && s) sqp_set_run(S, pos, s); /* s = n: the rest are stars */
    return 0;
}

/* The walk over the sorted points T[j] = U_(j) B' of [0, B'): adds |y_i| to the running l1
 * sum *s and returns c_i, the number of points below it not yet counted (*j advances by c_i).
 * T[kk..kk+4) hold +inf (the walk's sentinels): *j stops at kk. Up to 3 points are counted
 * without a branch on the data (the dense case), more by a loop. */
static inline uint64_t stars_at(double yi, const double *T, double *s, uint64_t *j)
{
    *s += fabs(yi);
    const double *t = T + *j;
    double v = *s;
#if defined(__SSE2__)
    /* the four comparisons in two SSE2 instructions (the same IEEE < ), counted from the masks */
    __m128d vv = _mm_set1_pd(v);
    unsigned m1 = (unsigned)_mm_movemask_pd(_mm_cmplt_pd(_mm_loadu_pd(t), vv)),
             m2 = (unsigned)_mm_movemask_pd(_mm_cmplt_pd(_mm_loadu_pd(t + 2), vv));
    uint64_t c = (uint64_t)(m1 - (m1 >> 1) + m2 - (m2 >> 1)); /* 2-bit popcounts */
#else
    uint64_t c = (uint64_t)(t[0] < v) + (t[1] < v) + (t[2] < v) + (t[3] < v);
#endif
    if (c == 4)
        while (t[c] < v) c++;
    *j += c;
    return c;
}

/* One stretch of the encoder's walk: coordinates [i, end) from the running sum s and the
 * point index j, writing the stars into the string S and a sign bit per coordinate with
 * draws into the words sb (bit nsg on; acc holds the word being filled, stored whole at
 * every step, so that no step reads what the one before it stored). */
typedef struct sqp_walk {
    double s;
    uint64_t j, nsg, acc;
    size_t i, end;
    uint64_t *sb;
} sqp_walk;

#if defined(__GNUC__)
#define SQP_INLINE static inline __attribute__((always_inline))
#else
#define SQP_INLINE static inline
#endif

/* One step: coordinate i's draws counted, its stars written into S (bar = 0) or, for the
 * dense walk (bar = 1, one bit per coordinate instead of a run of any length), the bar
 * before them (sqp_bars_to_stars then turns the bars into the string); its sign bit if it
 * has draws. A constant bar in each inlined copy. */
SQP_INLINE void sqp_walk_step(sqp_walk *W, cq_qin y, const double *T, uint64_t n0, uint64_t *S, int bar)
{
    size_t i = W->i++;
    uint64_t pos = n0 + W->j + (uint64_t)i + 1; /* coordinate i's first star */
    double yi = cq_q_at(y, i);
    uint64_t c = stars_at(yi, T, &W->s, &W->j), some = c != 0, b = W->nsg & 63;
    if (bar) S[(pos - 1) >> 6] |= (uint64_t)1 << ((pos - 1) & 63);
    else sqp_set_run(S, pos, c);
    W->acc = (b ? W->acc : 0) | ((some & (uint64_t)(yi < 0)) << b);
    W->sb[W->nsg >> 6] = W->acc;
    W->nsg += some;
}

/* The bars of all d coordinates -> the stars of the N positions (the rest of the words zero). */
static void sqp_bars_to_stars(uint64_t *S, uint64_t N)
{
    uint64_t full = N / 64, nw = sqp_words(N);
    for (uint64_t w = 0; w < full; w++) S[w] = ~S[w];
    if (N % 64) {
        S[full] = ~S[full] & (((uint64_t)1 << (N % 64)) - 1);
        full++;
    }
    for (uint64_t w = full; w < nw; w++) S[w] = 0;
}

/* #{j < kk : T[j] < v} (T increasing). */
static uint64_t sqp_below(const double *T, uint64_t kk, double v)
{
    uint64_t lo = 0, hi = kk;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (T[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* The lockstep loop of the dense walk: m steps of each of the four stretches, their states
 * in locals (registers) so that the four dependency chains overlap; f32: y's type, a
 * constant in each inlined copy. */
SQP_INLINE void sqp_walk_lockstep(sqp_walk W[4], size_t m, cq_qin y, const double *T, uint64_t n0, uint64_t *S,
                                  int f32)
{
    sqp_walk A = W[0], B = W[1], C = W[2], D = W[3];
    y.f32 = f32;
    for (size_t t = 0; t < m; t++) {
        sqp_walk_step(&A, y, T, n0, S, 1);
        sqp_walk_step(&B, y, T, n0, S, 1);
        sqp_walk_step(&C, y, T, n0, S, 1);
        sqp_walk_step(&D, y, T, n0, S, 1);
    }
    W[0] = A;
    W[1] = B;
    W[2] = C;
    W[3] = D;
}

/* The dense walk: SQP_SEGS stretches of whole blocks of SQP_BLOCK coordinates, each starting
 * from the exact running sum pre[] recorded at its first block and j = #{T[j] < pre[]} (what
 * the sequential walk reaches there: the running sums only grow), stepped in lockstep so that
 * their dependency chains overlap; sign bits go to one buffer of words per stretch (sbuf,
 * d/8 + 8 SQP_SEGS + 8 bytes) and are appended in order. Same string and signs as the
 * sequential walk. Returns 0, or -1 where the stretches do not join (y changed during the call). */
static int sqp_walk_dense(cq_qin y, size_t d, const double *T, uint64_t n0, uint64_t kk, const double *pre,
                          uint64_t *S, uint64_t *sbuf, sqp_walk W[SQP_SEGS])
{
    size_t nb = (d + SQP_BLOCK - 1) / SQP_BLOCK;
    uint64_t j0[SQP_SEGS + 1], *b = sbuf;
    for (int g = 0; g < SQP_SEGS; g++) {
        size_t b0 = nb * (size_t)g / SQP_SEGS, b1 = nb * (size_t)(g + 1) / SQP_SEGS;
        W[g].i = b0 * SQP_BLOCK;
        W[g].end = b1 * SQP_BLOCK < d ? b1 * SQP_BLOCK : d;
        W[g].s = pre[b0];
        W[g].j = j0[g] = g ? sqp_below(T, kk, pre[b0]) : 0;
        W[g].nsg = W[g].acc = 0;
        W[g].sb = b;
        b += (W[g].end - W[g].i) / 64 + 1;
    }
    j0[SQP_SEGS] = kk;
    size_t m = (size_t)-1;
    for (int g = 0; g < SQP_SEGS; g++) m = W[g].end - W[g].i < m ? W[g].end - W[g].i : m;
    if (y.f32) sqp_walk_lockstep(W, m, y, T, n0, S, 1);
    else sqp_walk_lockstep(W, m, y, T, n0, S, 0);
    for (int g = 0; g < SQP_SEGS; g++) {
        while (W[g].i < W[g].end) sqp_walk_step(&W[g], y, T, n0, S, 1);
        if (W[g].j != j0[g + 1]) return -1;
    }
    sqp_bars_to_stars(S, n0 + kk + d);
    return 0;
}

/* The decoded values from the walk over the points T[0..kk) (+inf sentinels after them):
 * coordinate i gets c_i B'/k with y_i's sign, c_i the points it takes -- the decoder's
 * values (it reads c_i from the type and the sign bit), written as the decoder writes them
 * (an accumulating output only where c_i > 0). */
static int sqp_emit_walk(const cq_qpar *P, cq_qin y, const double *T, uint64_t kk, const cq_qout *out,
                         cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t j = 0;
    double s = 0.0, unit = P->Bp / (double)P->k, buf[CQ_Q_CHUNK];
    int sparse = out->add == CQ_QOUT_ADD;
    for (size_t i0 = 0; i0 < d; i0 += CQ_Q_CHUNK) {
        size_t m = d - i0 < CQ_Q_CHUNK ? d - i0 : CQ_Q_CHUNK;
        for (size_t t = 0; t < m; t++) {
            double yi = cq_q_at(y, i0 + t);
            uint64_t c = stars_at(yi, T, &s, &j);
            double v = (double)c * unit;
            buf[t] = c ? (yi < 0 ? -v : v) : 0.0;
            if (sparse && c) cq_q_emit1(out, i0 + t, buf[t]);
        }
        if (!sparse) cq_q_emit(out, i0, buf, m);
    }
    if (j != kk) return cq_q_fail_changed("SimQ+", err); /* the walk saw another y than the check */
    return CQ_OK;
}

static int simqplus_run(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                        cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t k = P->k;
    double l1 = 0.0, *C = (double *)work;
    uint64_t *sb = (uint64_t *)(C + k + 4);
    double *pre = w ? (double *)((uint8_t *)sb + cq_q_round8(k / 8 + 1)) : NULL;
    int st = simqplus_check(P, y, &l1, pre, err);
    if (st) return st;
    /* the k + 1 exponentials in one call (NumPy's ziggurat: the values of k + 1 calls of
     * cq_rng_exponential), then their running sums */
    random_standard_exponential_fill(g, (npy_intp)(k + 1), C);
    double acc = 0.0;
    for (uint64_t j = 0; j < k; j++) {
        acc += C[j];
        C[j] = acc;
    }
    acc += C[k];
    double scale = P->Bp / acc; /* U_(j) B' = C[j] * scale */
    double *T = C;              /* the points themselves, in place */
    for (uint64_t j = 0; j < k; j++) T[j] = C[j] * scale;
    uint64_t n0 = 0;
    while (n0 < k && T[k - 1 - n0] >= l1) n0++;
    uint64_t kk = k - n0;
    for (uint64_t t = 0; t < 4; t++) T[kk + t] = INFINITY; /* sentinels (the draws past l1 are counted in n0) */
    if (w == NULL) return sqp_emit_walk(P, y, T, kk, out, err);
    /* the walk: the stars-and-bars string (the n0 stars of index 0 first; coordinate i's
     * stars start at position n0 + j + i + 1, j the stars before it) */
    uint64_t N = (uint64_t)d + k, *S = (uint64_t *)(pre + d / SQP_BLOCK + 2);
    uint64_t *sbuf = (uint64_t *)((uint8_t *)S + sqp_str_bytes(N, k));
    memset(S, 0, sqp_words(N) * sizeof(uint64_t));
    sqp_walk W[SQP_SEGS];
    int nseg = 1;
    if (d >= SQP_DENSE_D && kk >= d / 8) { /* dense: the stretches in lockstep */
        if (sqp_walk_dense(y, d, T, n0, kk, pre, S, sbuf, W)) return cq_q_fail_changed("SimQ+", err);
        nseg = SQP_SEGS;
    } else { /* one stretch that skips the blocks no draw lands in (s ends at pre[]) */
        sqp_set_run(S, 0, n0);
        W[0] = (sqp_walk){0.0, 0, 0, 0, 0, d, sb};
        while (W[0].i < d) {
            size_t b0 = W[0].i / SQP_BLOCK, i1 = W[0].i + SQP_BLOCK < d ? W[0].i + SQP_BLOCK : d;
            if (!(W[0].j < kk && T[W[0].j] < pre[b0 + 1])) {
                W[0].s = pre[b0 + 1];
                W[0].i = i1;
                continue;
            }
            while (W[0].i < i1) sqp_walk_step(&W[0], y, T, n0, S, 0);
        }
        if (W[0].j != kk) return cq_q_fail_changed("SimQ+", err); /* the walk saw another y than the check */
    }
    /* the type code */
    cq_rc_encoder e;
    cq_rc_enc_init(&e, w);
    (void)sqp_type_code(&e, NULL, S, N, k);
    uint64_t used = cq_rc_enc_finish(&e);
    if (used > P->type_bits)
        return cq_fail(err, CQ_EINTERNAL, "SimQ+ type code used %llu bits, field has %llu", (unsigned long long)used,
                       (unsigned long long)P->type_bits);
    cq_bw_zeros(w, P->type_bits - used);
    uint64_t nsg = 0; /* the sign bits of the stretches, in order, then zeros up to k */
    for (int g = 0; g < nseg; g++) {
        uint64_t m = W[g].nsg;
        for (uint64_t t = 0; t < m; t += 32) {
            unsigned n = m - t < 32 ? (unsigned)(m - t) : 32;
            cq_bw_put(w, (W[g].sb[t >> 6] >> (t & 63)) & (((uint64_t)1 << n) - 1), n);
        }
        nsg += m;
    }
    cq_bw_zeros(w, k - nsg);
    /* the message's decode too (Quantizer._encode_add): the same points walked again */
    return out != NULL && out->p != NULL ? sqp_emit_walk(P, y, T, kk, out, err) : CQ_OK;
}

/* The decoded values of the coordinates with draws, from the string S (index 0's n0 stars
 * first) and the sign bits sw (bit t: the t-th coordinate with draws, increasing): coordinate
 * i with c_i draws gets c_i B'/k with its sign. One walk over the stars: the star at position
 * b with t stars before it is a draw of index b - t (i + 1: coordinate i), and its run so
 * far is counted without a branch on the data. set != 0 (a set or first-term output): each
 * star overwrites its coordinate's value with the run so far, so the last star of a run
 * leaves c_i there. set == 0 (an accumulating output, which must add each value once): the
 * first star of a run opens entry nnz of the lists nz, cnt (k + 1 entries each) and the
 * later ones overwrite its count; returns nnz. A constant set in each inlined copy. */
SQP_INLINE uint64_t sqp_star_walk(const cq_qout *out, const uint64_t *S, uint64_t n0, uint64_t k, const uint64_t *sw,
                                  double unit, int set, uint32_t *nz, uint32_t *cnt)
{
    uint64_t ns = n0, nnz = 0, last = 0, first = 0;
    double w = out->w;
    int f32 = out->f32, start = out->add == CQ_QOUT_START;
    for (uint64_t wi = n0 >> 6; ns < k; wi++) {
        uint64_t z = S[wi];
        if (wi == n0 >> 6) z &= ~(uint64_t)0 << (n0 & 63); /* index 0's stars are no coordinate's */
        for (; z; z &= z - 1, ns++) {
            uint64_t idx = 64 * wi + (uint64_t)__builtin_ctzll(z) - ns, fresh = idx != last;
            uint64_t mask = 0 - fresh; /* a mask, not a branch: fresh is the data's coin */
            nnz += fresh;
            first = (ns & mask) | (first & ~mask);
            last = idx;
            if (!set) {
                nz[nnz] = (uint32_t)(idx - 1);
                cnt[nnz] = (uint32_t)(ns - first + 1);
                continue;
            }
            uint64_t sg = (sw[(nnz - 1) >> 6] >> ((nnz - 1) & 63)) & 1u;
            double v = cq_q_bitsd(cq_q_dbits((double)(int64_t)(ns - first + 1) * unit) ^ (sg << 63));
            if (start) v = 0.0 + w * v;
            if (f32) ((float *)out->p)[idx - 1] = (float)v;
            else ((double *)out->p)[idx - 1] = v;
        }
    }
    return nnz;
}

/* An accumulating output: the lists first, then one add per coordinate. */
static void sqp_emit_add(const cq_qout *out, const uint64_t *S, uint64_t n0, uint64_t k, const uint64_t *sw,
                         double unit, uint32_t *nz, uint32_t *cnt)
{
    uint64_t nnz = sqp_star_walk(out, S, n0, k, sw, unit, 0, nz, cnt);
    for (uint64_t t = 1; t <= nnz; t++) {
        uint64_t sg = (sw[(t - 1) >> 6] >> ((t - 1) & 63)) & 1u;
        cq_q_emit1(out, nz[t], cq_q_bitsd(cq_q_dbits((double)(int64_t)cnt[t] * unit) ^ (sg << 63)));
    }
}

/* The stars before the first bar (index 0's draws). */
static uint64_t sqp_leading_stars(const uint64_t *S)
{
    uint64_t w = 0;
    while (S[w] == ~(uint64_t)0) w++;
    return 64 * w + (uint64_t)__builtin_ctzll(~S[w]);
}

/* The coordinates with draws: the runs of stars that start right after a bar (index 0's run,
 * from position 0, follows none: position -1 counts as a star). */
static uint64_t sqp_count_runs(const uint64_t *S, uint64_t N)
{
    uint64_t nnz = 0, carry = 1;
    for (uint64_t wi = 0; wi < (N + 63) / 64; wi++) {
        uint64_t z = S[wi];
        nnz += sqp_ones(z & ~((z << 1) | carry));
        carry = z >> 63;
    }
    return nnz;
}

static int simqplus_decode(const cq_qpar *P, cq_bitreader *r, void *work, const cq_qout *out, cq_errinfo *err)
{
    size_t d = P->d;
    uint64_t k = P->k, F = P->type_bits;
    if (r->nbits < F + k) return cq_fail(err, CQ_EDECODE, "SimQ+ message truncated");
    uint64_t N = (uint64_t)d + k, *S = (uint64_t *)work;
    cq_rc_decoder dc;
    cq_rc_dec_init(&dc, r, F);
    if (dc.bad) return cq_fail(err, CQ_EDECODE, "SimQ+ type field is not a valid range code");
    memset(S, 0, sqp_words(N) * sizeof(uint64_t));
    if (sqp_type_code(NULL, &dc, S, N, k))
        return cq_fail(err, CQ_EDECODE, "SimQ+ type field does not decode to a type");
    /* canonical check: the field must be exactly the encoder's code for this type */
    if (!cq_rc_dec_canonical(&dc))
        return cq_fail(err, CQ_EDECODE, "SimQ+ type field is not the canonical code of a type");
    cq_rc_dec_finish(&dc);
    uint64_t nnz = sqp_count_runs(S, N);
    /* signs (every field is checked before out is written) */
    r->pos = F + nnz;
    for (uint64_t t = nnz; t < k;) {
        unsigned m = k - t >= 32 ? 32 : (unsigned)(k - t);
        uint32_t word = cq_q_get(r, m);
        if (word)
            return cq_fail(err, CQ_EDECODE, "SimQ+ sign padding bit %llu is not zero",
                           (unsigned long long)(t + (uint64_t)__builtin_ctz(word)));
        t += m;
    }
    cq_q_emit_zero(out, d);
    if (out->p == NULL) return CQ_OK;
    /* the sign bits as words (after the string, where the gathered counts go too) */
    uint64_t *sw = (uint64_t *)((uint8_t *)S + sqp_str_bytes(N, k)), nw = nnz / 64 + 1;
    cq_bitreader sr = *r;
    sr.pos = F;
    for (uint64_t t = 0; t < nw; t++) {
        uint64_t m = nnz - 64 * t < 64 ? nnz - 64 * t : 64;
        sw[t] = cq_q_get_wide(&sr, (unsigned)m);
    }
    uint32_t *nz = (uint32_t *)(sw + nw), *cnt = nz + k + 1;
    double unit = P->Bp / (double)k;
    uint64_t n0 = sqp_leading_stars(S);
    if (out->add == CQ_QOUT_ADD) sqp_emit_add(out, S, n0, k, sw, unit, nz, cnt);
    else (void)sqp_star_walk(out, S, n0, k, sw, unit, 1, NULL, NULL);
    return CQ_OK;
}

CQ_Q_TYPED_OPS(simqplus)

