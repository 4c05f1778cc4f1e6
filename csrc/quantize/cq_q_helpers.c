/* cq_q_helpers.c -- the helpers the quantizer family files share (declared in
 * cq_q_internal.h): error reports for non-finite and concurrently modified input, the
 * end-of-message check, the bound check, and ln*. No family logic here. */
#include <math.h>
#include "quantize/cq_q_internal.h"

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
