/*
 * cq_q_grid.c -- the shared-grid integer rounding of the all-reduce mode (convq.torch's DDP
 * hook, mode="allreduce"), in one pass over the bucket each way.
 *
 * The ranks first agree on one scale per bucket of b coordinates, m_j = max over ranks of
 * the bucket's norm (QSGD's l2 norm or TernGrad's max-norm; one small all-reduce). Each
 * rank then rounds x_i = s |y_i| / m_j (in [0, s], clamped there) stochastically to the
 * integer level
 *
 *     l_i = sign(y_i) (floor(x_i) + [u_i < x_i - floor(x_i)]),
 *
 * u_i the 31-bit uniform of coordinate i of the codecs' counter-based stream (cq_q_fill_u32;
 * cq_q_round_d, the rounding of the QSGD and TernGrad codecs), so that E l_i = s y_i / m_j: the
 * grid of QSGD (Alistarh et al., "QSGD: Communication-Efficient SGD via Gradient
 * Quantization", NeurIPS 2017, section 3.1) with a scale shared by the ranks, which is what
 * makes the integers of different ranks addable. The integers are stored as int8, int32 or
 * int64 (width 1, 4 or 8 bytes), chosen by the caller wide enough for the exact sum of N
 * ranks, |sum_i| <= N s. After the all-reduce every rank decodes the sum once:
 *
 *     g_hat_i = m_j sum_i / (s N),
 *
 * the unbiased average of the ranks' gradients. A bucket with m_j = 0 is all zeros.
 * cq_q_grid_norms gives each rank's norms in one read of the bucket (NaN for a bucket with
 * a NaN or Inf, which the hook turns into the same error on every rank).
 */
#include <math.h>
#include "quantize/cq_q_internal.h"

#define GRID_STORE_(T)                                                                       \
    do {                                                                                     \
        T *o_ = (T *)ints + i0;                                                              \
        for (size_t t = 0; t < m; t++) o_[t] = (T)lv[t];                                     \
    } while (0)

static int grid_args(size_t b, int width, const double *scale, size_t nb, uint32_t s, cq_errinfo *err)
{
    if (b < 1) return cq_fail(err, CQ_EINVAL, "grid bucket size must be >= 1, got %zu", b);
    if (width != 1 && width != 4 && width != 8)
        return cq_fail(err, CQ_EINVAL, "grid integer width must be 1, 4 or 8 bytes, got %d", width);
    if (s < 1 || (width == 1 && s > 127)) return cq_fail(err, CQ_EINVAL, "grid levels s = %u do not fit width %d", s, width);
    for (size_t j = 0; j < nb; j++)
        if (!(scale[j] >= 0.0) || !isfinite(scale[j]))
            return cq_fail(err, CQ_EINVAL, "grid scale of bucket %zu must be finite and >= 0, got %g", j, scale[j]);
    return CQ_OK;
}

int cq_q_grid_norms(cq_qin y, size_t d, size_t b, int inf_norm, double *norms, cq_errinfo *err)
{
    if (b < 1) return cq_fail(err, CQ_EINVAL, "grid bucket size must be >= 1, got %zu", b);
    size_t nb = d == 0 ? 0 : (d - 1) / b + 1;
    for (size_t j = 0; j < nb; j++) {
        size_t b0 = j * b, m = d - b0 < b ? d - b0 : b;
        int finite;
        double n = inf_norm ? cq_q_v_max_abs_fin(y, b0, m, &finite)
                            : cq_q_l2_fin_from_sq(y, b0, m, cq_q_v_sum_sq(y, b0, m), &finite);
        norms[j] = finite ? n : NAN;
    }
    return CQ_OK;
}

int cq_q_grid_round(cq_qin y, size_t d, size_t b, const double *scale, uint32_t s, uint64_t key, int width,
                    void *ints, cq_errinfo *err)
{
    size_t nb = d == 0 ? 0 : (d - 1) / b + 1;
    int st = b < 1 ? grid_args(b, width, scale, 0, s, err) : grid_args(b, width, scale, nb, s, err);
    if (st) return st;
    if (!cq_q_v_finite(y, 0, d)) return cq_fail(err, CQ_EDOMAIN, "grid rounding: the vector has a NaN or Inf");
    double ybuf[CQ_Q_CHUNK];
    int32_t lv[CQ_Q_CHUNK];
    uint32_t ub[CQ_Q_CHUNK + 1];
    double hi = (double)s;
    for (size_t j = 0; j < nb; j++) {
        size_t b0 = j * b, b1 = d - b0 < b ? d : b0 + b;
        double inv = scale[j] > 0 ? hi / scale[j] : 0.0;
        for (size_t i0 = b0; i0 < b1; i0 += CQ_Q_CHUNK) {
            size_t m = b1 - i0 < CQ_Q_CHUNK ? b1 - i0 : CQ_Q_CHUNK;
            const double *yc = cq_q_chunk(y, i0, m, ybuf);
            cq_q_fill_u32(key, i0, m, ub);
            for (size_t t = 0; t < m; t++) {
                double x = fabs(yc[t]) * inv;
                x = x < hi ? x : hi;
                int32_t lev = (int32_t)cq_q_round_d(x, hi, hi - 1.0, ub[t]);
                lv[t] = yc[t] < 0.0 ? -lev : lev;
            }
            if (width == 1) GRID_STORE_(int8_t);
            else if (width == 4) GRID_STORE_(int32_t);
            else GRID_STORE_(int64_t);
        }
    }
    return CQ_OK;
}

int cq_q_grid_decode(const void *ints, int width, size_t d, size_t b, const double *scale, uint32_t s, uint32_t n,
                     const cq_qout *out, cq_errinfo *err)
{
    size_t nb = d == 0 ? 0 : (d - 1) / b + 1;
    int st = b < 1 ? grid_args(b, width, scale, 0, s, err) : grid_args(b, width, scale, nb, s, err);
    if (st) return st;
    if (n < 1) return cq_fail(err, CQ_EINVAL, "grid decode: the number of ranks must be >= 1");
    double vals[CQ_Q_CHUNK], bound = (double)s * (double)n;
    for (size_t j = 0; j < nb; j++) {
        size_t b0 = j * b, b1 = d - b0 < b ? d : b0 + b;
        double c = scale[j] / bound;
        for (size_t i0 = b0; i0 < b1; i0 += CQ_Q_CHUNK) {
            size_t m = b1 - i0 < CQ_Q_CHUNK ? b1 - i0 : CQ_Q_CHUNK;
            int bad = 0;
            for (size_t t = 0; t < m; t++) {
                double v = width == 1 ? (double)((const int8_t *)ints)[i0 + t]
                         : width == 4 ? (double)((const int32_t *)ints)[i0 + t]
                                      : (double)((const int64_t *)ints)[i0 + t];
                bad |= fabs(v) > bound;
                vals[t] = c * v;
            }
            if (bad)
                return cq_fail(err, CQ_EDECODE, "grid decode: a sum in coordinates %zu..%zu exceeds N s = %.0f", i0,
                               i0 + m - 1, bound);
            cq_q_emit(out, i0, vals, m);
        }
    }
    return CQ_OK;
}
