/* cq_q_helpers.c -- the helpers the quantizer family files share (declared in
 * cq_q_internal.h): error reports for non-finite and concurrently modified input, the
 * end-of-message check, the bound check, and ln*. No family logic here. */
#include <math.h>
#include <stdlib.h>
#include "quantize/cq_q_internal.h"
#include "core/cq_parallel.h"

int cq_q_lnstar(double a)
{
    int n = 0;
    while (a > 1.0 && n < 64) {
        a = log(a);
        n++;
    }
    return n;
}

int cq_q_fail_nonfinite_v(cq_qin y, size_t d, cq_errinfo *err)
{
    for (size_t i = 0; i < d; i++) {
        double v = cq_q_at(y, i);
        if (!isfinite(v)) return cq_fail(err, CQ_ENONFINITE, "y must be finite, got %g at index %zu", v, i);
    }
    return cq_fail(err, CQ_ENONFINITE, "y must be finite");
}

int cq_q_fail_nonfinite(const double *y, size_t d, cq_errinfo *err)
{
    cq_qin v = {y, 0};
    return cq_q_fail_nonfinite_v(v, d, err);
}

int cq_q_fail_changed(const char *who, cq_errinfo *err)
{
    return cq_fail(err, CQ_EINVAL,
                   "%s: the input y changed during the call (another thread wrote to it while it was being "
                   "quantized); pass a vector nobody modifies until the call returns",
                   who);
}

int cq_q_check_end(const cq_bitreader *r, cq_errinfo *err)
{
    return cq_br_check_end(r, err);
}

int cq_q_check_B(double B, cq_errinfo *err)
{
    if (!(B > 0) || !isfinite(B)) return cq_fail(err, CQ_EINVAL, "B must be finite and > 0, got %g", B);
    return CQ_OK;
}

double cq_q_l2norm_checked(const double *y, size_t d, int *nonfinite)
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

/* ---- deterministic multi-threaded ranges (cq_q_split) ----------------------------------- */

typedef struct split_ctx {
    size_t n, per;
    uint64_t bpu, total_bits;
    const cq_bitwriter *w;
    const cq_bitreader *r;
    cq_q_part_fn fn;
    void *ctx;
    cq_errinfo errs[CQ_Q_SPLIT_MAX];
} split_ctx;

static int split_task(void *vc, size_t k, int thread)
{
    (void)thread;
    split_ctx *c = (split_ctx *)vc;
    size_t i0 = k * c->per, i1 = i0 + c->per < c->n ? i0 + c->per : c->n;
    uint64_t b0 = (uint64_t)i0 * c->bpu, b1 = i1 == c->n ? c->total_bits : (uint64_t)i1 * c->bpu;
    cq_errinfo *err = &c->errs[k];
    err->msg[0] = '\0';
    cq_bitwriter w;
    cq_bitreader r;
    cq_q_range g = {i0, i1, NULL, NULL, err};
    if (c->w != NULL) { /* b0 is a multiple of 64 bits: the range starts on a whole byte */
        cq_bw_init(&w, c->w->p + b0 / 8, (size_t)((b1 - b0 + 7) / 8));
        g.w = &w;
    } else if (c->r != NULL) {
        cq_br_init(&r, c->r->buf + (c->r->pos + b0) / 8, b1 - b0);
        g.r = &r;
    }
    int st = c->fn(c->ctx, &g);
    if (st == CQ_OK && g.w != NULL && cq_bw_finish(&w) != b1 - b0)
        st = cq_fail(err, CQ_EINTERNAL, "a range of the encoder wrote the wrong number of bits");
    if (st == CQ_OK && g.r != NULL && (r.truncated || r.pos != b1 - b0))
        st = cq_fail(err, CQ_EINTERNAL, "a range of the decoder read the wrong number of bits");
    return st;
}

int cq_q_split(int threads, size_t n, uint64_t bpu, uint64_t total_bits, cq_bitwriter *w, cq_bitreader *r,
               cq_q_part_fn fn, void *ctx, cq_errinfo *err)
{
    /* g units are a whole number of 64-bit words: ranges of multiples of g start on one */
    size_t g = 1;
    while (((uint64_t)g * bpu) % 64 != 0 && g < 64) g *= 2;
    int serial = threads <= 1 || n < 2 * g || ((uint64_t)g * bpu) % 64 != 0;
    if (w != NULL) serial |= w->nacc != 0 || (uint64_t)(w->end - w->p) < (total_bits + 7) / 8;
    if (r != NULL) serial |= (r->pos & 7) != 0 || r->pos + total_bits > r->nbits;
    if (serial) {
        cq_q_range g = {0, n, w, r, err};
        return fn(ctx, &g);
    }
    size_t tasks = (size_t)threads < CQ_Q_SPLIT_MAX ? (size_t)threads : CQ_Q_SPLIT_MAX;
    if (tasks > n / g) tasks = n / g;
    split_ctx *c = (split_ctx *)malloc(sizeof *c);
    if (c == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory for the threads' error reports");
    size_t per = ((n + tasks - 1) / tasks + g - 1) / g * g;
    *c = (split_ctx){.n = n, .per = per, .bpu = bpu, .total_bits = total_bits, .w = w, .r = r, .fn = fn, .ctx = ctx};
    tasks = (n + per - 1) / per;
    int st = cq_parallel_for(tasks, threads, split_task, c, NULL);
    if (st != CQ_OK) { /* the lowest failing range: the first offending coordinate */
        for (size_t k = 0; k < tasks; k++)
            if (c->errs[k].msg[0] != '\0') {
                if (err != NULL) *err = c->errs[k];
                break;
            }
        free(c);
        return st;
    }
    free(c);
    if (w != NULL) { /* the whole bytes are written; the last partial byte stays pending */
        w->p += total_bits / 8;
        w->nacc = (unsigned)(total_bits % 8);
        w->acc = w->nacc ? (uint64_t)w->p[0] : 0;
    }
    if (r != NULL) r->pos += total_bits;
    return CQ_OK;
}
