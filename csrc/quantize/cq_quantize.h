/*
 * cq_quantize.h -- the gradient quantizers of Mayekar & Tyagi, "Limits on Gradient
 * Compression for Stochastic Optimization" (SimQ, SimQ+, CUQ, RATQ, the l_p composite of
 * Theorem 3.1) and the usual baselines, behind ONE generic interface.
 *
 * Read me first:
 *  - A quantizer is described by a small value struct `cq_qspec` (kind + parameters; d
 *    is NOT part of it). Every d-dependent quantity (SimQ+'s default k and B' = B d^(1/p),
 *    RATQ's padded dimension, rotation windows, groups and ranges, the l_p composite's
 *    Delta1/Delta2 split) is derived inside the kernels by cq_q_resolve(), so Python and C never disagree.
 *  - Messages have a fixed length for given (spec, d): cq_q_bits(). The payload is
 *    ceil(bits/8) bytes, fields LSB-first (cq_bitio.h), zero padding bits.
 *  - cq_q_encode  : y -> payload (draws randomness from `g`).
 *    cq_q_decode  : payload -> y_hat; the payload is untrusted: a wrong byte count, any
 *                   out-of-range field, non-canonical range code or non-zero padding is
 *                   CQ_EDECODE; it never reads outside payload[0..nbytes).
 *    cq_q_quantize: the fast path y -> y_hat without building the message. It makes
 *                   exactly the same draws from `g` in the same order and computes the
 *                   output with the same expressions as decode(encode(y)), so the two
 *                   are equal bit for bit for the same generator state.
 *  - `work` is caller scratch of at least cq_q_work_size(q, d) bytes (8-byte aligned,
 *    e.g. from malloc); kernels allocate nothing else of size O(d).
 *  - Inputs are validated in the same pass that reads them: non-finite entries give
 *    CQ_ENONFINITE, a norm over the quantizer's bound CQ_EDOMAIN, with a message naming
 *    the norm, the bound and the value. Norm bounds are checked with a relative slack of
 *    CQ_Q_NORM_RTOL so that vectors constructed on the boundary are admissible.
 *  - Randomness: SimQ and SimQ+ draw uniforms/exponentials from `g` directly. The
 *    per-coordinate stochastic rounding of CUQ, RATQ, QSGD, TernGrad, the RATQ rotation
 *    signs and RandK's index set use a counter-based SplitMix64 stream keyed by one
 *    64-bit draw from `g` (key + counter -> 64 bits; two 32-bit uniforms per word), which
 *    is reproducible, thread-count independent and ~10x cheaper than a bitgen call per
 *    coordinate. Rounding compares the top 31 bits of such a uniform with the fractional
 *    part f, i.e. rounds up with probability ceil(2^31 f)/2^31: a bias below 2^-31 of one
 *    quantization step. (The l_p composite's rotation, when it has at most 64 signs,
 *    takes them as the bits of one draw instead, and sends only those bits.)
 *  - No global state; all functions are thread-safe for distinct work buffers.
 *  - Layout: cq_quantize.c is a thin dispatcher over one ops table {resolve, run, decode}
 *    per kind (cq_q_internal.h), defined in the family files cq_q_simq.c,
 *    cq_q_simqplus.c, cq_q_cuq.c, cq_q_ratq.c, cq_q_lp.c and cq_q_baselines.c; shared
 *    helpers live in cq_q_helpers.c; the kinds are listed once, in cq_qkinds.h.
 */
#ifndef CQ_QUANTIZE_H
#define CQ_QUANTIZE_H

#include <stddef.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include "core/cq_common.h"
#include "quantize/cq_qkinds.h"

/* The kinds, generated from the one list in cq_qkinds.h: CQ_Q_IDENTITY = 0, CQ_Q_SIMQ,
 * CQ_Q_SIMQPLUS, CQ_Q_CUQ, CQ_Q_RATQ, CQ_Q_LP, CQ_Q_QSGD, CQ_Q_TERNGRAD, CQ_Q_SCALEDSIGN,
 * CQ_Q_TOPK, CQ_Q_RANDK. */
typedef enum cq_qkind {
#define CQ_Q_ENUM_(name, num, ops, typed, typed_avx2) CQ_Q_##name = num,
    CQ_Q_KIND_LIST(CQ_Q_ENUM_)
#undef CQ_Q_ENUM_
} cq_qkind;

#define CQ_Q_COUNT_(name, num, ops, typed, typed_avx2) +1
#define CQ_Q_NKINDS (0 CQ_Q_KIND_LIST(CQ_Q_COUNT_))

/* Largest dimension accepted: 2^48 coordinates (a 2 PiB float64 vector). Below it every
 * message length and work size fits in 63 bits, so no size computation can overflow;
 * above it cq_q_resolve refuses with CQ_EINVAL naming d. */
#define CQ_Q_DMAX ((uint64_t)1 << 48)

/* flags */
#define CQ_QF_FLOAT32 1   /* Identity: send float32 */
#define CQ_QF_NORM_INF 2  /* QSGD: scale by ||y||_inf instead of ||y||_2 */

/* Relative slack of the norm-bound checks (||y|| <= B (1 + CQ_Q_NORM_RTOL)). */
#define CQ_Q_NORM_RTOL 1e-9

/* Most RATQ dynamic ranges (h) accepted. */
#define CQ_RATQ_HMAX 64

typedef struct cq_qspec {
    cq_qkind kind;
    double B;        /* SimQ, SimQ+, RATQ, LP: the norm bound (> 0)                       */
    double M;        /* CUQ: the range [-M, M] (> 0)                                      */
    double p;        /* SimQ+ (p in [2, inf]), LP (p in [1, inf]); +INFINITY allowed      */
    int64_t k;       /* SimQ+: repetitions, 0 = ceil(d^(2/p)); TopK/RandK: coordinates kept */
    int64_t levels;  /* CUQ: points L >= 2; RATQ: points per coordinate (0 = 4);
                        QSGD: s >= 1 (levels 0, 1/s, ..., 1)                              */
    int64_t s, h;    /* RATQ: group size and number of ranges, 0 = the RATQ defaults;
                        QSGD: s = the bucket size (coordinates sharing one norm, 0 = d)   */
    int flags;       /* CQ_QF_*                                                            */
} cq_qspec;

/* Resolved RATQ parameters for one dimension. */
typedef struct cq_ratq_par {
    double B;            /* l2 bound                                                      */
    size_t dim;          /* input dimension                                               */
    size_t d2;           /* rotated (quantized) length: RATQ 2^ceil(log2 dim), the l_p
                            composite's part dim (no padding)                             */
    size_t n0;           /* rotation window, a power of two: d2 (one window), or the
                            largest power of two < d2 (windows [0, n0) and [d2-n0, d2))   */
    unsigned seedbits;   /* rotation seed field: 64, or the composite's min(64, signs)    */
    int raw_signs;       /* 1: the seed field is the signs themselves (<= 64 of them)     */
    uint64_t s, h;       /* group size, number of dynamic ranges                          */
    uint64_t ngroups;    /* ceil(d2 / s)                                                  */
    unsigned hbits;      /* ceil(log2 h)                                                  */
    unsigned lbits;      /* ceil(log2 L)                                                  */
    uint32_t L;          /* CUQ points per coordinate                                     */
    double M[CQ_RATQ_HMAX]; /* ranges M_j = sqrt(m e*^j + m0), capped at B(1+1e-6)        */
    uint64_t bits;       /* seedbits + ngroups*hbits + d2*lbits                           */
} cq_ratq_par;

/* Build levels of the typed kernels (runtime CPU dispatch, cq_q_internal.h): the portable
 * C build, the same source compiled for AVX2, and for AVX-512 (F, DQ, BW, VL). Every level
 * gives the same bytes and values. */
enum { CQ_Q_SIMD_PORTABLE = 0, CQ_Q_SIMD_AVX2 = 1, CQ_Q_SIMD_AVX512 = 2 };

/* The level cq_q_resolve picks now: the highest this CPU has and this build compiled,
 * capped by the environment (CONVQ_PORTABLE set and not "0": portable; CONVQ_SIMD =
 * "portable", "avx2" or "avx512": at most that level). Read on every call. */
int cq_q_simd_level(void);

/* Everything a kernel needs for one (spec, d); filled by cq_q_resolve. */
typedef struct cq_qpar {
    cq_qkind kind;       /* effective kind (LP with p >= 2 resolves to SimQ / SimQ+) */
    cq_qkind spec_kind;  /* the kind asked for                                       */
    size_t d;
    uint64_t bits;       /* message length                                           */
    size_t work;         /* scratch bytes                                            */
    int flags;
    double B;            /* bound given                                              */
    double p, q;         /* geometry (q = p/(p-1), INFINITY for p = 1)               */
    double Bp;           /* SimQ: B; SimQ+: B' = B d^(1/p)                           */
    uint64_t k;          /* SimQ+: repetitions; TopK/RandK: min(k, d)                */
    uint64_t type_bits;  /* SimQ+: range-coded type field                            */
    double M, delta;     /* CUQ (and the composite's CUQ part): range and step       */
    uint32_t L;          /* CUQ points / QSGD s                                      */
    unsigned lbits;      /* CUQ bits per coordinate / QSGD level bits                */
    unsigned ibits;      /* TopK: bits per index                                     */
    size_t bucket;       /* QSGD: coordinates per norm (d: one bucket)               */
    double c;            /* LP: the split threshold c = B Delta1^(1/q) / d^(1/q)     */
    int delta1, delta2;  /* LP: Delta1, Delta2 of Theorem 3.1                        */
    uint64_t dmax;       /* LP: most large coordinates, ceil(d/Delta1) - 1 (0: p=1)  */
    cq_ratq_par r;       /* RATQ / the composite's RATQ part                         */
    int simd;            /* build level of the typed kernels to run, CQ_Q_SIMD_*
                            (chosen once by cq_q_resolve: cq_q_simd_level())        */
    int threads;         /* threads of one encode / decode / quantize (cq_q_resolve
                            sets 1; the caller may raise it): the fixed-width codecs
                            split their coordinates, the result does not change     */
    int checks_first;    /* 1: the family's decoder checks every field (and reads to
                            the message's end) before it writes out, so an adding
                            decode needs no validation pass of its own (SimQ+, whose
                            validation is its whole type decode)                    */
} cq_qpar;

/* Validate the spec for dimension d (d >= 1) and derive every parameter.
 * CQ_EINVAL with a message for a bad parameter. */
int cq_q_resolve(const cq_qspec *q, size_t d, cq_qpar *par, cq_errinfo *err);

/* Fixed message length in bits (0 if the spec is invalid for d). */
uint64_t cq_q_bits(const cq_qspec *q, size_t d);

/* Scratch bytes for encode/decode/quantize (0 if none; (size_t)-1 if invalid). */
size_t cq_q_work_size(const cq_qspec *q, size_t d);

/* ---- typed vectors: float64 or float32 in and out, without conversion copies ----------
 *
 * cq_qin is the vector an encoder reads: d contiguous float64 (f32 = 0) or float32 (f32 = 1)
 * values. The kernels compute in double from the exact values (a float32 widens to double
 * exactly), so encoding a float32 y gives the same message, bit for bit, as encoding
 * (double)y.
 * cq_qout is where decoded values go: d contiguous float64 or float32 values, each either
 * set (add = CQ_QOUT_SET: out[i] = v) or accumulated (add = CQ_QOUT_ADD: out[i] = out[i] + w v,
 * the sum and the product in double, one rounding to float32 at the store), or the first term
 * of a sum (add = CQ_QOUT_START: out[i] = 0 + w v, what CQ_QOUT_ADD gives on a zeroed out,
 * without reading out). A float32 decode is therefore
 * the float64 decode rounded once to float32. p == NULL: nothing is written (a decoder run
 * only to validate). Sparse messages (SimQ, TopK, RandK) touch only their coordinates when
 * accumulating (x + 0 = x for every x but -0.0). */
typedef struct cq_qin {
    const void *p;
    int f32;
} cq_qin;

enum { CQ_QOUT_SET = 0, CQ_QOUT_ADD = 1, CQ_QOUT_START = 2 };

typedef struct cq_qout {
    void *p;
    int f32;
    int add; /* CQ_QOUT_SET, CQ_QOUT_ADD or CQ_QOUT_START */
    double w;
} cq_qout;

/* encode / quantize / decode on typed vectors (work of P->work bytes). A
 * decode with out->add set validates the whole payload before it writes anything, so a
 * malformed payload leaves out unchanged. */
int cq_q_encode_typed(const cq_qpar *P, const cq_qin *y, bitgen_t *g, void *work, uint8_t *payload, cq_errinfo *err);
int cq_q_quantize_typed(const cq_qpar *P, const cq_qin *y, bitgen_t *g, void *work, const cq_qout *out,
                        cq_errinfo *err);
/* Encode with the own decode fused: the message of cq_q_encode_typed and, in the same pass,
 * its decoded values written through dec (set, out + w v, or the
 * first term 0 + w v: exactly what cq_q_decode_typed / cq_q_decode_sum would write from the
 * message). dec NULL or dec->p NULL: a plain encode. */
int cq_q_encode_add_typed(const cq_qpar *P, const cq_qin *y, bitgen_t *g, void *work, uint8_t *payload,
                          const cq_qout *dec, cq_errinfo *err);
int cq_q_decode_typed(const cq_qpar *P, const uint8_t *payload, uint64_t nbytes, void *work, const cq_qout *out,
                      cq_errinfo *err);

/* Fused decode-accumulate: out[i] += w[k] decode(payload k)[i] for k = 0..n-1 in order
 * (w == NULL: every weight 1, and the result equals the decodes added left to right, bit
 * for bit). Every payload is validated before out is touched: on CQ_EDECODE, *bad is the
 * index of the first malformed payload and out is unchanged. out_p holds d float64
 * (out_f32 = 0) or float32 values.
 * fresh = 1: out holds nothing yet (its contents are never read; n >= 1): the result is
 * the same as on a zeroed out, but the first message is written instead of added and no
 * payload is validated ahead of its own decoding, so one pass per message is saved; on
 * CQ_EDECODE out is left partly written (the caller discards it). */
int cq_q_decode_sum(const cq_qpar *P, const uint8_t *const *payloads, const uint64_t *nbytes, size_t n,
                    const double *w, void *work, void *out_p, int out_f32, int fresh, size_t *bad,
                    cq_errinfo *err);

/* y[0..d) -> payload[0..ceil(bits/8)). */
int cq_q_encode(const cq_qspec *q, const double *y, size_t d, bitgen_t *g, void *work,
                uint8_t *payload, cq_errinfo *err);

/* payload[0..nbytes) -> out[0..d); validates everything (CQ_EDECODE). */
int cq_q_decode(const cq_qspec *q, const uint8_t *payload, uint64_t nbytes, size_t d,
                void *work, double *out, cq_errinfo *err);

/* Fast path: out = decode(encode(y)) bit for bit, same draws from g. */
int cq_q_quantize(const cq_qspec *q, const double *y, size_t d, bitgen_t *g, void *work,
                  double *out, cq_errinfo *err);

/* The same three on resolved parameters (what loops over many vectors should call:
 * resolve once, then reuse `par`). */
int cq_q_encode_par(const cq_qpar *par, const double *y, bitgen_t *g, void *work,
                    uint8_t *payload, cq_errinfo *err);
int cq_q_decode_par(const cq_qpar *par, const uint8_t *payload, uint64_t nbytes, void *work,
                    double *out, cq_errinfo *err);
int cq_q_quantize_par(const cq_qpar *par, const double *y, bitgen_t *g, void *work,
                      double *out, cq_errinfo *err);

/* ln*(a): how many times ln must be applied to a before the result is <= 1. */
int cq_q_lnstar(double a);

/* The all-reduce mode's shared-grid rounding (cq_q_grid.c): per bucket j of b coordinates,
 * ints[i] = sign(y_i) * (s |y_i| / scale[j] rounded stochastically to an integer in 0..s),
 * the uniforms from the counter-based stream `key`, stored in `width` = 1, 4 or 8 bytes
 * (int8/int32/int64); decode: out[i] (set or add, cq_qout) = scale[j] ints[i] / (s n),
 * CQ_EDECODE where |ints[i]| > s n. */
/* Per bucket j of b coordinates, norms[j] = ||y_j||_2 (the four-accumulator sum of squares
 * of cq_q_sum_sq, rescaled on overflow/underflow) or max |y_i| (inf_norm), NaN for a bucket
 * with a NaN or Inf; ceil(d / b) entries. */
int cq_q_grid_norms(cq_qin y, size_t d, size_t b, int inf_norm, double *norms, cq_errinfo *err);
int cq_q_grid_round(cq_qin y, size_t d, size_t b, const double *scale, uint32_t s, uint64_t key, int width,
                    void *ints, cq_errinfo *err);
int cq_q_grid_decode(const void *ints, int width, size_t d, size_t b, const double *scale, uint32_t s, uint32_t n,
                     const cq_qout *out, cq_errinfo *err);

#endif /* CQ_QUANTIZE_H */
