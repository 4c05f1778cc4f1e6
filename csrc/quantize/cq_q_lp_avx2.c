/* cq_q_lp_avx2.c -- cq_q_lp.c compiled a second time with AVX2 enabled, for the
 * dispatcher's runtime CPU dispatch (cq_q_internal.h, CQ_Q_TYPED_OPS): the same source, so
 * the same arithmetic and the same results; only the vector width of the chunk loops
 * differs (and the CUQ part runs CUQ's AVX2 block kernel). The condition is
 * CQ_Q_HAVE_AVX2's (cq_q_internal.h), tested here before the header so that its inline
 * helpers are compiled for AVX2 too. Empty elsewhere. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#pragma GCC target("avx2")
#define CQ_Q_AVX2_VARIANT 1
#include "cq_q_lp.c"
#else
typedef int cq_q_lp_avx2_unused; /* ISO C: no empty translation unit */
#endif
