/* cq_quantize.c -- the thin dispatcher of the quantizers (see cq_quantize.h): the generic
 * checks of cq_q_resolve, the kind -> ops table generated from cq_qkinds.h, and the
 * encode / decode / quantize entry points, which only frame the family kernels (payload
 * length, bit count, end-of-message checks). Family logic lives in the cq_q_<family>.c
 * files; this file calls them only through their ops tables. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "quantize/cq_q_internal.h"

static const cq_qops *const ops_table[CQ_Q_NKINDS] = {
#define CQ_Q_TABLE_ROW_(name, num, ops, typed, typed_avx2) [num] = &ops,
    CQ_Q_KIND_LIST(CQ_Q_TABLE_ROW_)
#undef CQ_Q_TABLE_ROW_
};

/* kind -> typed kernels, and the same for the AVX2 build; both generated from cq_qkinds.h. */
static const cq_qtops *const typed_table[CQ_Q_NKINDS] = {
#define CQ_Q_TYPED_ROW_(name, num, ops, typed, typed_avx2) [num] = &typed,
    CQ_Q_KIND_LIST(CQ_Q_TYPED_ROW_)
#undef CQ_Q_TYPED_ROW_
};

#if CQ_Q_HAVE_AVX2
static const cq_qtops *const typed_table_avx2[CQ_Q_NKINDS] = {
#define CQ_Q_TYPED_AVX2_ROW_(name, num, ops, typed, typed_avx2) [num] = &typed_avx2,
    CQ_Q_KIND_LIST(CQ_Q_TYPED_AVX2_ROW_)
#undef CQ_Q_TYPED_AVX2_ROW_
};
/* the AVX-512 kernels T_avx512 of the typed column T (weak: NULL where a family has no
 * AVX-512 twin, which then runs its AVX2 column; cq_q_internal.h) */
static const cq_qtops *const typed_table_avx512[CQ_Q_NKINDS] = {
#define CQ_Q_TYPED_AVX512_ROW_(name, num, ops, typed, typed_avx2) [num] = &typed##_avx512,
    CQ_Q_KIND_LIST(CQ_Q_TYPED_AVX512_ROW_)
#undef CQ_Q_TYPED_AVX512_ROW_
};
#endif

int cq_q_simd_level(void)
{
#if CQ_Q_HAVE_AVX2
    const char *e = getenv("CONVQ_PORTABLE");
    if (e != NULL && e[0] != '\0' && !(e[0] == '0' && e[1] == '\0')) return CQ_Q_SIMD_PORTABLE;
    int cap = CQ_Q_SIMD_AVX512;
    const char *c = getenv("CONVQ_SIMD");
    if (c != NULL && strcmp(c, "portable") == 0) cap = CQ_Q_SIMD_PORTABLE;
    else if (c != NULL && strcmp(c, "avx2") == 0) cap = CQ_Q_SIMD_AVX2;
    int level = CQ_Q_SIMD_PORTABLE;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        level = CQ_Q_SIMD_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
            level = CQ_Q_SIMD_AVX512;
    }
    return level < cap ? level : cap;
#else
    return CQ_Q_SIMD_PORTABLE;
#endif
}

/* The typed kernels of P's kind, of the build level P->simd chose. */
static const cq_qtops *typed_kernels(const cq_qpar *P)
{
    const cq_qtops *t = typed_table[P->kind];
#if CQ_Q_HAVE_AVX2
    if (P->simd >= CQ_Q_SIMD_AVX2) t = typed_table_avx2[P->kind];
    if (P->simd >= CQ_Q_SIMD_AVX512 && typed_table_avx512[P->kind] != NULL) t = typed_table_avx512[P->kind];
#endif
    return t;
}

/* Largest message accepted: 2^63 - 1 bits, so that byte counts fit a signed 64-bit size. */
#define CQ_Q_MAX_BITS (UINT64_MAX >> 1)

int cq_q_resolve(const cq_qspec *q, size_t d, cq_qpar *P, cq_errinfo *err)
{
    memset(P, 0, sizeof *P);
    if (q == NULL) return cq_fail(err, CQ_EINVAL, "no quantizer spec");
    if (d < 1) return cq_fail(err, CQ_EINVAL, "dimension d must be >= 1, got %zu", d);
    if ((uint64_t)d > CQ_Q_DMAX)
        return cq_fail(err, CQ_EINVAL, "dimension d must be at most 2^48 = %llu, got d=%llu",
                       (unsigned long long)CQ_Q_DMAX, (unsigned long long)d);
    if ((int)q->kind < 0 || (int)q->kind >= CQ_Q_NKINDS)
        return cq_fail(err, CQ_EINVAL, "unknown quantizer kind %d", (int)q->kind);
    P->kind = q->kind;
    P->spec_kind = q->kind;
    P->d = d;
    P->flags = q->flags;
    P->B = q->B;
    P->p = q->p;
    int st = ops_table[q->kind]->resolve(q, P, err);
    if (st != CQ_OK) return st;
    assert((int)P->kind >= 0 && (int)P->kind < CQ_Q_NKINDS);
    /* d <= CQ_Q_DMAX keeps every family's sizes far below these (asserted, and checked
     * so that a new family cannot overflow silently) */
    assert(P->bits >= 1 && P->bits <= CQ_Q_MAX_BITS);
    if (P->bits > CQ_Q_MAX_BITS || P->work > ((size_t)-1) / 4)
        return cq_fail(err, CQ_EINVAL, "dimension d=%zu is too large for this quantizer (message or work size overflows)",
                       d);
    P->work = cq_q_round8(P->work);
    P->simd = cq_q_simd_level();
    P->threads = 1;
    return CQ_OK;
}

uint64_t cq_q_bits(const cq_qspec *q, size_t d)
{
    cq_qpar P;
    return cq_q_resolve(q, d, &P, NULL) == CQ_OK ? P.bits : 0;
}

size_t cq_q_work_size(const cq_qspec *q, size_t d)
{
    cq_qpar P;
    return cq_q_resolve(q, d, &P, NULL) == CQ_OK ? P.work : (size_t)-1;
}

/* ---- typed vectors ---------------------------------------------------------------------
 * Every family's typed kernels (run_t, decode_t) read and write the caller's float64 or
 * float32 vectors directly; the work is the family's own (P->work). */

static int run_typed(const cq_qpar *P, cq_qin y, bitgen_t *g, void *work, cq_bitwriter *w, const cq_qout *out,
                     cq_errinfo *err)
{
    return typed_kernels(P)->run_t(P, y, g, work, w, out, err);
}

/* One message: length, the family decoder, the end-of-message checks. */
static int decode_frame(const cq_qpar *P, const uint8_t *payload, uint64_t nbytes, void *work, const cq_qout *out,
                        cq_errinfo *err)
{
    uint64_t need = (P->bits + 7) / 8;
    if (nbytes != need)
        return cq_fail(err, CQ_EDECODE, "payload has %llu bytes, a %llu-bit message for d=%zu needs %llu",
                       (unsigned long long)nbytes, (unsigned long long)P->bits, P->d, (unsigned long long)need);
    cq_bitreader r;
    cq_br_init(&r, payload, P->bits);
    int st = typed_kernels(P)->decode_t(P, &r, work, out, err);
    if (st != CQ_OK) return st;
    return cq_q_check_end(&r, err);
}

int cq_q_encode_typed(const cq_qpar *P, const cq_qin *y, bitgen_t *g, void *work, uint8_t *payload, cq_errinfo *err)
{
    return cq_q_encode_add_typed(P, y, g, work, payload, NULL, err);
}

int cq_q_encode_add_typed(const cq_qpar *P, const cq_qin *y, bitgen_t *g, void *work, uint8_t *payload,
                          const cq_qout *dec, cq_errinfo *err)
{
    size_t nbytes = (size_t)((P->bits + 7) / 8);
    cq_bitwriter w;
    cq_bw_init(&w, payload, nbytes);
    /* the family writes the message and the decoded values in the same pass (its fast
     * path is decode(encode) bit for bit) */
    int st = run_typed(P, *y, g, work, &w, dec != NULL && dec->p != NULL ? dec : NULL, err);
    if (st != CQ_OK) return st;
    uint64_t n = cq_bw_finish(&w);
    if (n != P->bits)
        return cq_fail(err, CQ_EINTERNAL, "encoder wrote %llu bits, the message has %llu", (unsigned long long)n,
                       (unsigned long long)P->bits);
    return CQ_OK;
}

int cq_q_quantize_typed(const cq_qpar *P, const cq_qin *y, bitgen_t *g, void *work, const cq_qout *out,
                        cq_errinfo *err)
{
    return run_typed(P, *y, g, work, NULL, out, err);
}

int cq_q_decode_typed(const cq_qpar *P, const uint8_t *payload, uint64_t nbytes, void *work, const cq_qout *out,
                      cq_errinfo *err)
{
    if (out->add != CQ_QOUT_SET && out->p != NULL && !P->checks_first) { /* validate first: a malformed
                                                                           * payload leaves out unchanged */
        cq_qout check = *out;
        check.p = NULL;
        int st = decode_frame(P, payload, nbytes, work, &check, err);
        if (st != CQ_OK) return st;
    }
    return decode_frame(P, payload, nbytes, work, out, err);
}

int cq_q_decode_sum(const cq_qpar *P, const uint8_t *const *payloads, const uint64_t *nbytes, size_t n,
                    const double *w, void *work, void *out_p, int out_f32, int fresh, size_t *bad,
                    cq_errinfo *err)
{
    assert(!fresh || n >= 1);
    cq_qout o = {NULL, out_f32, CQ_QOUT_ADD, 1.0};
    /* every payload validated before out is touched; the first one, decoded first, by its own
     * decode where the family checks every field before it writes (P->checks_first) */
    for (size_t k = P->checks_first ? 1 : 0; k < n && !fresh; k++) {
        int st = decode_frame(P, payloads[k], nbytes[k], work, &o, err);
        if (st != CQ_OK) {
            *bad = k;
            return st;
        }
    }
    o.p = out_p;
    for (size_t k = 0; k < n; k++) {
        o.add = fresh && k == 0 ? CQ_QOUT_START : CQ_QOUT_ADD;
        o.w = w != NULL ? w[k] : 1.0;
        int st = decode_frame(P, payloads[k], nbytes[k], work, &o, err);
        if (st != CQ_OK) { /* only if a payload changed during the call */
            *bad = k;
            return st;
        }
    }
    return CQ_OK;
}

/* ---- the float64 entry points ------------------------------------------------------------ */

int cq_q_encode_par(const cq_qpar *P, const double *y, bitgen_t *g, void *work, uint8_t *payload, cq_errinfo *err)
{
    cq_qin v = {y, 0};
    return cq_q_encode_typed(P, &v, g, work, payload, err);
}

int cq_q_quantize_par(const cq_qpar *P, const double *y, bitgen_t *g, void *work, double *out, cq_errinfo *err)
{
    cq_qin v = {y, 0};
    cq_qout o = {out, 0, 0, 1.0};
    return run_typed(P, v, g, work, NULL, &o, err);
}

int cq_q_decode_par(const cq_qpar *P, const uint8_t *payload, uint64_t nbytes, void *work, double *out,
                    cq_errinfo *err)
{
    cq_qout o = {out, 0, 0, 1.0};
    return decode_frame(P, payload, nbytes, work, &o, err);
}

int cq_q_encode(const cq_qspec *q, const double *y, size_t d, bitgen_t *g, void *work, uint8_t *payload,
                cq_errinfo *err)
{
    cq_qpar P;
    int st = cq_q_resolve(q, d, &P, err);
    return st ? st : cq_q_encode_par(&P, y, g, work, payload, err);
}

int cq_q_decode(const cq_qspec *q, const uint8_t *payload, uint64_t nbytes, size_t d, void *work, double *out,
                cq_errinfo *err)
{
    cq_qpar P;
    int st = cq_q_resolve(q, d, &P, err);
    return st ? st : cq_q_decode_par(&P, payload, nbytes, work, out, err);
}

int cq_q_quantize(const cq_qspec *q, const double *y, size_t d, bitgen_t *g, void *work, double *out,
                  cq_errinfo *err)
{
    cq_qpar P;
    int st = cq_q_resolve(q, d, &P, err);
    return st ? st : cq_q_quantize_par(&P, y, g, work, out, err);
}
