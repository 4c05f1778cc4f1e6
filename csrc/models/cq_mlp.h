/*
 * cq_mlp.h -- the multilayer perceptron classifier of M. Lagarde, "Machine Learning Algebra"
 * (2022), section 3:
 * L layers, hidden activations sigmoid / tanh / relu / leaky relu (max(0.001 x, x)),
 * sigmoid output units, the cross-entropy cost with a weight penalty (section 3.4)
 *
 *   J = -(1/m) sum_i sum_k [ y_ik ln a_ik + (1 - y_ik) ln(1 - a_ik) ] + lam/(2m) sum_l ||W[l]||_F^2,
 *
 * and its gradient by backpropagation (the chain rule, section 3.5). Biases are not
 * penalised. On a minibatch of B rows the cost is the unbiased estimate of the full cost:
 * (1/B) sum over the batch of the cross-entropy + lam/(2 m) sum ||W||^2 with m the number
 * of rows of the whole data set (argument m_reg).
 *
 * Read me first:
 *  - Parameters live in ONE flat vector theta, layer by layer: W[l] stored TRANSPOSED
 *    (n_{l-1} x n_l, row-major; so WT[k*n_l + j] = W[l]_{j,k} of section 3.1) then b[l] (n_l).
 *    The transposed layout makes the forward pass (Z = A W^T + b) and the weight gradient
 *    (dW^T += a_k delta) unit-stride axpy loops that vectorise without -ffast-math.
 *  - Data: X is (m x n_0) row-major, Y is (m x K) in {0, 1} (one-hot or multi-label).
 *  - work: cq_mlp_work_size(...) doubles, caller-provided.
 */
#ifndef CQ_MLP_H
#define CQ_MLP_H

#include <stddef.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include "core/cq_common.h"
#include "stochastic/cq_sgd.h"

enum { CQ_ACT_SIGMOID = 0, CQ_ACT_TANH = 1, CQ_ACT_RELU = 2, CQ_ACT_LEAKY_RELU = 3 };

#define CQ_MLP_MAX_LAYERS 32

typedef struct cq_mlp {
    int n_layers;                         /* L (number of weight layers) */
    size_t sizes[CQ_MLP_MAX_LAYERS + 1];  /* n_0 (inputs) .. n_L (outputs K) */
    int hidden_act;                       /* CQ_ACT_* for layers 1..L-1; layer L is sigmoid */
} cq_mlp;

/* Total number of parameters. */
size_t cq_mlp_n_params(const cq_mlp *net);
/* Offsets of W^T[l] and b[l] (l = 1..L) in theta. */
size_t cq_mlp_w_offset(const cq_mlp *net, int l);
size_t cq_mlp_b_offset(const cq_mlp *net, int l);
/* Work doubles for a batch of `batch` rows. */
size_t cq_mlp_work_size(const cq_mlp *net, size_t batch);

/* The initialisation of section 3.6: W uniform in [-0.002, 0.002], b = 0 (convq.models offers
 * Glorot's and He's scaled rules too, drawn in Python). */
void cq_mlp_init(const cq_mlp *net, double *theta, bitgen_t *g);

/* Output probabilities A[L] (m x K) for the rows of X. work: cq_mlp_work_size(net, m). */
void cq_mlp_forward(const cq_mlp *net, const double *theta, const double *X, size_t m, double *out, double *work);

/*
 * The cost and its gradient on the rows `rows[0..m)` of (X, Y) (rows == NULL: the
 * first m rows), with the penalty lam/(2 m_reg) ||W||^2. grad may be NULL (cost only).
 * Returns the cost; probabilities are clipped to [1e-300, 1 - 1e-16] inside the
 * logarithms only.
 */
double cq_mlp_cost_grad(const cq_mlp *net, const double *theta, const double *X, const double *Y,
                        const int64_t *rows, size_t m, double lam, size_t m_reg, double *grad, double *work);

/*
 * Minibatch gradient descent (section 3.6): for each epoch, shuffle the m rows
 * (Fisher-Yates over g), then for each batch: gradient of the cost on the batch, optionally
 * passed through `quant` (bits summed into *bits), theta -= lr * gradient. The cost on
 * the full data after each epoch is written to costs[epoch] (costs may be NULL).
 * With running_cost != 0, costs[epoch] is instead the mean over the epoch's minibatches
 * of their cross-entropy (at the weights each batch saw) + the penalty at the end of the
 * epoch -- scikit-learn's loss_curve_ -- which saves one forward pass per epoch.
 * Batches of >= 64 rows are split into two fixed halves computed on up to n_threads
 * threads and combined in a fixed order, so results do not depend on n_threads.
 */
int cq_mlp_train(const cq_mlp *net, double *theta, const double *X, const double *Y, size_t m, double lam,
                 double lr, size_t batch, int64_t epochs, const cq_quant_cb *quant, bitgen_t *g, double *costs,
                 uint64_t *bits, int running_cost, int n_threads, cq_interrupt *it, cq_errinfo *err);

#endif /* CQ_MLP_H */
