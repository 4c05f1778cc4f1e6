/* cq_q_lp_avx512.c -- cq_q_lp.c compiled a third time with AVX-512 (F, DQ, BW, VL)
 * enabled, for the dispatcher's runtime CPU dispatch (cq_q_internal.h, CQ_Q_TYPED_OPS): the
 * same source, so the same arithmetic and the same results; the support bitmap's comparisons
 * go to mask registers, and the CUQ part runs CUQ's AVX-512 block kernel. The condition is CQ_Q_HAVE_AVX512's
 * (cq_q_internal.h), tested here before the header so that its inline helpers are compiled
 * for AVX-512 too. Empty elsewhere. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
#define CQ_Q_AVX512_VARIANT 1
#include "cq_q_lp.c"
#else
typedef int cq_q_lp_avx512_unused; /* ISO C: no empty translation unit */
#endif
