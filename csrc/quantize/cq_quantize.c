/* cq_quantize.c -- the thin dispatcher of the quantizers (see cq_quantize.h): the generic
 * checks of cq_q_resolve, the kind -> ops table generated from cq_qkinds.h, and the
 * encode / decode / quantize entry points, which only frame the family kernels (payload
 * length, bit count, end-of-message checks). Family logic lives in the cq_q_<family>.c
 * files; this file calls them only through their ops tables. */
#include <assert.h>
#include <string.h>
#include "quantize/cq_q_internal.h"

static const cq_qops *const ops_table[CQ_Q_NKINDS] = {
#define CQ_Q_TABLE_ROW_(name, num, ops) [num] = &ops,
    CQ_Q_KIND_LIST(CQ_Q_TABLE_ROW_)
#undef CQ_Q_TABLE_ROW_
};

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

int cq_q_encode_par(const cq_qpar *P, const double *y, bitgen_t *g, void *work, uint8_t *payload, cq_errinfo *err)
{
    size_t nbytes = (size_t)((P->bits + 7) / 8);
    cq_bitwriter w;
    cq_bw_init(&w, payload, nbytes);
    int st = ops_table[P->kind]->run(P, y, g, work, &w, NULL, err);
    if (st != CQ_OK) return st;
    uint64_t n = cq_bw_finish(&w);
    if (n != P->bits)
        return cq_fail(err, CQ_EINTERNAL, "encoder wrote %llu bits, the message has %llu", (unsigned long long)n,
                       (unsigned long long)P->bits);
    return CQ_OK;
}

int cq_q_quantize_par(const cq_qpar *P, const double *y, bitgen_t *g, void *work, double *out, cq_errinfo *err)
{
    return ops_table[P->kind]->run(P, y, g, work, NULL, out, err);
}

int cq_q_decode_par(const cq_qpar *P, const uint8_t *payload, uint64_t nbytes, void *work, double *out,
                    cq_errinfo *err)
{
    uint64_t need = (P->bits + 7) / 8;
    if (nbytes != need)
        return cq_fail(err, CQ_EDECODE, "payload has %llu bytes, a %llu-bit message for d=%zu needs %llu",
                       (unsigned long long)nbytes, (unsigned long long)P->bits, P->d, (unsigned long long)need);
    cq_bitreader r;
    cq_br_init(&r, payload, P->bits);
    int st = ops_table[P->kind]->decode(P, &r, work, out, err);
    if (st != CQ_OK) return st;
    return cq_q_check_end(&r, err);
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
