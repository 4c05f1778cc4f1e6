/* cq_q_ratq_avx512.c -- cq_q_ratq.c compiled a third time with AVX-512 (F, DQ, BW, VL)
 * enabled, for the dispatcher's runtime CPU dispatch (cq_q_internal.h, CQ_Q_TYPED_OPS): the
 * same source, so the same arithmetic and the same results; 64-bit lane multiplies let the
 * counter-based stream cq_q_mix vectorise. The condition is CQ_Q_HAVE_AVX512's
 * (cq_q_internal.h), tested here before the header so that its inline helpers are compiled
 * for AVX-512 too. Empty elsewhere. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl")
#define CQ_Q_AVX512_VARIANT 1
#include "cq_q_ratq.c"
#else
typedef int cq_q_ratq_avx512_unused; /* ISO C: no empty translation unit */
#endif
