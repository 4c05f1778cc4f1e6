/* cq_quantize.c -- parameter resolution and the generic encode/decode/quantize
 * dispatch of the quantizers; see cq_quantize.h. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_rangecoder.h"

int cq_q_lnstar(double a)
{
    int n = 0;
    while (a > 1.0 && n < 64) {
        a = log(a);
        n++;
    }
    return n;
}

int cq_q_fail_nonfinite(const double *y, size_t d, cq_errinfo *err)
{
    for (size_t i = 0; i < d; i++)
        if (!isfinite(y[i])) return cq_fail(err, CQ_ENONFINITE, "y must be finite, got %g at index %zu", y[i], i);
    return cq_fail(err, CQ_ENONFINITE, "y must be finite");
}

int cq_q_check_end(const cq_bitreader *r, cq_errinfo *err)
{
    if (r->truncated) return cq_fail(err, CQ_EDECODE, "message truncated: fields need more than its %llu bits",
                                     (unsigned long long)r->nbits);
    if (r->pos != r->nbits)
        return cq_fail(err, CQ_EDECODE, "message has %llu bits, fields use %llu", (unsigned long long)r->nbits,
                       (unsigned long long)r->pos);
    if (!cq_br_padding_ok(r))
        return cq_fail(err, CQ_EDECODE, "non-zero padding bits after bit %llu", (unsigned long long)r->nbits);
    return CQ_OK;
}

static size_t round8(size_t n) { return (n + 7) & ~(size_t)7; }

/* RATQ parameters (the RATQ paper's defaults, ALGORITHMS.md section 1). */
static int ratq_resolve(double B, size_t dim, int64_t s, int64_t h, int64_t L, cq_ratq_par *r, cq_errinfo *err)
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

int cq_q_resolve(const cq_qspec *q, size_t d, cq_qpar *P, cq_errinfo *err)
{
    memset(P, 0, sizeof *P);
    if (q == NULL) return cq_fail(err, CQ_EINVAL, "no quantizer spec");
    if (d < 1) return cq_fail(err, CQ_EINVAL, "dimension d must be >= 1, got %zu", d);
    if ((int)q->kind < 0 || (int)q->kind >= CQ_Q_NKINDS)
        return cq_fail(err, CQ_EINVAL, "unknown quantizer kind %d", (int)q->kind);
    P->kind = q->kind;
    P->spec_kind = q->kind;
    P->d = d;
    P->flags = q->flags;
    P->B = q->B;
    P->p = q->p;
    cq_qkind kind = q->kind;
    if (kind == CQ_Q_SIMQ || kind == CQ_Q_SIMQPLUS || kind == CQ_Q_RATQ || kind == CQ_Q_LP) {
        if (!(q->B > 0) || !isfinite(q->B)) return cq_fail(err, CQ_EINVAL, "B must be finite and > 0, got %g", q->B);
    }
    if (kind == CQ_Q_LP) {
        if (!(q->p >= 1.0)) return cq_fail(err, CQ_EINVAL, "p must be in [1, inf], got %g", q->p);
        if (q->p >= 2.0) kind = isinf(q->p) ? CQ_Q_SIMQ : CQ_Q_SIMQPLUS;
        P->kind = kind;
    }
    switch (kind) {
    case CQ_Q_IDENTITY:
        P->bits = (uint64_t)d * ((q->flags & CQ_QF_FLOAT32) ? 32u : 64u);
        break;
    case CQ_Q_SIMQ:
        P->Bp = q->B;
        P->q = 1.0;
        P->bits = cq_q_clog2(2 * (uint64_t)d + 1);
        break;
    case CQ_Q_SIMQPLUS: {
        double p = q->p;
        if (!(p >= 2.0)) return cq_fail(err, CQ_EINVAL, "SimQ+ needs p in [2, inf], got %g", p);
        double invp = isinf(p) ? 0.0 : 1.0 / p;
        P->q = isinf(p) ? 1.0 : p / (p - 1.0);
        P->Bp = q->B * pow((double)d, invp);
        int64_t k = q->kind == CQ_Q_LP ? 0 : q->k;
        if (k == 0) k = (int64_t)ceil(pow((double)d, 2.0 * invp));
        if (k < 1) return cq_fail(err, CQ_EINVAL, "SimQ+ needs k >= 1, got %lld", (long long)k);
        if ((uint64_t)k + d > ((uint64_t)1 << 24))
            return cq_fail(err, CQ_EINVAL,
                           "SimQ+ needs d + k <= 2^24 (the range coder's exactness limit), got d=%zu, k=%lld", d,
                           (long long)k);
        P->k = (uint64_t)k;
        P->type_bits = cq_fwrc_field_bits((uint64_t)d + P->k, P->k);
        P->bits = P->type_bits + P->k;
        size_t enc = P->k * sizeof(double) + round8((P->k + 7) / 8);
        size_t dec = round8((size_t)(P->type_bits + 7) / 8 + 8);
        P->work = enc > dec ? enc : dec;
        break;
    }
    case CQ_Q_CUQ:
        if (!(q->M > 0) || !isfinite(q->M)) return cq_fail(err, CQ_EINVAL, "M must be finite and > 0, got %g", q->M);
        if (q->levels < 2 || q->levels > ((int64_t)1 << 24))
            return cq_fail(err, CQ_EINVAL, "levels must be in 2..2^24, got %lld", (long long)q->levels);
        P->M = q->M;
        P->L = (uint32_t)q->levels;
        P->delta = 2.0 * q->M / (double)(P->L - 1);
        P->lbits = cq_q_clog2(P->L);
        P->bits = (uint64_t)d * P->lbits;
        break;
    case CQ_Q_RATQ: {
        int st = ratq_resolve(q->B, d, q->s, q->h, q->levels, &P->r, err);
        if (st) return st;
        P->q = 2.0;
        P->bits = P->r.bits;
        P->work = P->r.d2 * sizeof(double);
        break;
    }
    case CQ_Q_LP: { /* p in [1, 2): CUQ on the small coordinates + bitmap + RATQ (section 5) */
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
            int st = ratq_resolve(Bp, (size_t)P->dmax, 0, 0, (int64_t)1 << d1, &P->r, err);
            if (st) return st;
            P->bits += d + P->r.bits;
            P->work = P->dmax * (sizeof(double) + sizeof(uint64_t)) + P->r.d2 * sizeof(double);
        }
        break;
    }
    case CQ_Q_QSGD:
        if (q->levels < 1 || q->levels > ((int64_t)1 << 24))
            return cq_fail(err, CQ_EINVAL, "QSGD levels s must be in 1..2^24, got %lld", (long long)q->levels);
        P->L = (uint32_t)q->levels;
        P->lbits = cq_q_clog2((uint64_t)P->L + 1);
        P->bits = 32 + (uint64_t)d * (P->lbits + 1);
        break;
    case CQ_Q_TERNGRAD:
        P->bits = 32 + 2 * (uint64_t)d;
        break;
    case CQ_Q_SCALEDSIGN:
        P->bits = 32 + (uint64_t)d;
        break;
    case CQ_Q_TOPK:
    case CQ_Q_RANDK:
        if (q->k < 1) return cq_fail(err, CQ_EINVAL, "k must be >= 1, got %lld", (long long)q->k);
        P->k = (uint64_t)q->k < d ? (uint64_t)q->k : d;
        if (kind == CQ_Q_TOPK) {
            P->ibits = cq_q_clog2(d);
            P->bits = P->k * (P->ibits + 64);
            P->work = d * sizeof(double);
        } else {
            P->bits = 64 + 64 * P->k;
            P->work = ((d + 63) / 64) * sizeof(uint64_t);
        }
        break;
    default:
        return cq_fail(err, CQ_EINVAL, "unknown quantizer kind %d", (int)kind);
    }
    P->work = round8(P->work);
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

static int run(const cq_qpar *P, const double *y, bitgen_t *g, void *work, cq_bitwriter *w, double *out,
               cq_errinfo *err)
{
    switch (P->kind) {
    case CQ_Q_SIMQ: return cq_q_simq_run(P, y, g, w, out, err);
    case CQ_Q_SIMQPLUS: return cq_q_simqplus_run(P, y, g, work, w, out, err);
    case CQ_Q_CUQ: return cq_q_cuq_run(P, y, g, w, out, err);
    case CQ_Q_RATQ: return cq_q_ratq_run(P, y, g, work, w, out, err);
    case CQ_Q_LP: return cq_q_lp_run(P, y, g, work, w, out, err);
    default: return cq_q_base_run(P, y, g, work, w, out, err);
    }
}

int cq_q_encode_par(const cq_qpar *P, const double *y, bitgen_t *g, void *work, uint8_t *payload, cq_errinfo *err)
{
    size_t nbytes = (size_t)((P->bits + 7) / 8);
    cq_bitwriter w;
    cq_bw_init(&w, payload, nbytes);
    int st = run(P, y, g, work, &w, NULL, err);
    if (st != CQ_OK) return st;
    uint64_t n = cq_bw_finish(&w);
    if (n != P->bits)
        return cq_fail(err, CQ_EINTERNAL, "encoder wrote %llu bits, the message has %llu", (unsigned long long)n,
                       (unsigned long long)P->bits);
    return CQ_OK;
}

int cq_q_quantize_par(const cq_qpar *P, const double *y, bitgen_t *g, void *work, double *out, cq_errinfo *err)
{
    return run(P, y, g, work, NULL, out, err);
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
    int st;
    switch (P->kind) {
    case CQ_Q_SIMQ: st = cq_q_simq_decode(P, &r, out, err); break;
    case CQ_Q_SIMQPLUS: st = cq_q_simqplus_decode(P, &r, work, out, err); break;
    case CQ_Q_CUQ: st = cq_q_cuq_decode(P, &r, out, err); break;
    case CQ_Q_RATQ: st = cq_q_ratq_decode(P, &r, work, out, err); break;
    case CQ_Q_LP: st = cq_q_lp_decode(P, &r, work, out, err); break;
    default: st = cq_q_base_decode(P, &r, work, out, err); break;
    }
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
