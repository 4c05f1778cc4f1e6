/*
 * cq_qkinds.h -- THE list of quantizer kinds:
 *     X(NAME, number, ops table, typed kernels, typed kernels of the AVX2 build).
 * The typed columns name the family's cq_qtops (float32/float64 kernels, cq_q_internal.h);
 * a family without an AVX2 build names its portable cq_qtops in both columns. The AVX-512 build has no column: its
 * kernels are <typed column>_avx512 by convention, optional (cq_q_internal.h).
 *
 * Everything that enumerates the kinds is generated from this one list:
 *  - the enum cq_qkind (CQ_Q_<NAME> = number) and CQ_Q_NKINDS in cq_quantize.h;
 *  - the extern declarations of the families' ops tables and typed kernels (cq_q_internal.h);
 *  - the dispatcher's kind -> ops and kind -> typed kernels tables (cq_quantize.c);
 *  - the constants Q_KIND_<NAME> that convq._core exports (csrc/python/_quantize.c), from
 *    which convq._spec.Kind is built.
 * Numbers are contiguous from 0 and are part of nothing persistent (messages do not carry
 * them), but keep them stable: golden tests and users' pickled specs name them.
 * To add a quantizer: append one line here and define its `const cq_qops` in its family
 * file (ARCHITECTURE.md, "How to add a quantizer").
 */
#ifndef CQ_QKINDS_H
#define CQ_QKINDS_H

#define CQ_Q_KIND_LIST(X)                                                                    \
    X(IDENTITY, 0, cq_q_identity_ops, cq_q_identity_typed, cq_q_identity_typed_avx2)             \
    /* raw float64 (float32 with CQ_QF_FLOAT32) */                                              \
    X(SIMQ, 1, cq_q_simq_ops, cq_q_simq_typed, cq_q_simq_typed_avx2)                             \
    /* SimQ(B): ||y||_1 <= B (Alg. 1, 2) */                                                     \
    X(SIMQPLUS, 2, cq_q_simqplus_ops, cq_q_simqplus_typed, cq_q_simqplus_typed)                    \
    /* SimQ+(B, p, k): ||y||_q <= B (eq. (5)) */                                                \
    X(CUQ, 3, cq_q_cuq_ops, cq_q_cuq_typed, cq_q_cuq_typed_avx2)                                 \
    /* CUQ(M, levels): ||y||_inf <= M (eq. (7)) */                                              \
    X(RATQ, 4, cq_q_ratq_ops, cq_q_ratq_typed, cq_q_ratq_typed_avx2)                                \
    /* RATQ(B): ||y||_2 <= B (parameters (8)) */                                                \
    X(LP, 5, cq_q_lp_ops, cq_q_lp_typed, cq_q_lp_typed_avx2)                                     \
    /* the l_p composite of Theorem 3.1 */                                                      \
    X(QSGD, 6, cq_q_qsgd_ops, cq_q_qsgd_typed, cq_q_qsgd_typed_avx2)                             \
    /* QSGD(s): float32 norm + level and sign */                                                \
    X(TERNGRAD, 7, cq_q_terngrad_ops, cq_q_terngrad_typed, cq_q_terngrad_typed_avx2)             \
    /* TernGrad: float32 max-norm + 2-bit ternary */                                            \
    X(SCALEDSIGN, 8, cq_q_scaledsign_ops, cq_q_scaledsign_typed, cq_q_scaledsign_typed_avx2)     \
    /* ||y||_1/d sign(y) */                                                                     \
    X(TOPK, 9, cq_q_topk_ops, cq_q_topk_typed, cq_q_topk_typed_avx2)                             \
    /* k largest |y_i| (biased) */                                                              \
    X(RANDK, 10, cq_q_randk_ops, cq_q_randk_typed, cq_q_randk_typed_avx2)                        \
    /* k random coordinates scaled by d/k */

#endif /* CQ_QKINDS_H */
