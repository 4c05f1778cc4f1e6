/*
 * cq_mlp.h -- the multilayer perceptron classifier of M. Lagarde, "Machine Learning Algebra"
 * (2022), section 3, with a softmax output and the momentum / Nesterov / Adam updates.
 *
 * L layers A[l] = g[l](A[l-1] W[l]^T + b[l]); hidden activations sigmoid / tanh / relu /
 * leaky relu (max(0.001 x, x)); the output layer is either
 *  - CQ_MLP_OUT_SIGMOID: K sigmoid units with the cross-entropy of section 3.4
 *      CE_i = - sum_k [ y_ik ln a_ik + (1 - y_ik) ln(1 - a_ik) ],
 *  - CQ_MLP_OUT_SOFTMAX: a_ik = exp(z_ik) / sum_j exp(z_ij) with the multinomial
 *    cross-entropy CE_i = - sum_k y_ik ln a_ik (Bishop, "Pattern Recognition and Machine
 *    Learning", 2006, section 5.2); with K = 1 output it is the sigmoid unit.
 * In both cases dCE_i/dz_i = a_i - y_i, so backpropagation (the chain rule, section 3.5)
 * starts from the same output delta. With row weights w_i (all 1 when w == NULL) and
 * W = sum_i w_i over all m rows, the cost of the rows S is
 *
 *   J_S = 1/(|S| W/m) sum_{i in S} w_i CE_i + lam/(2 W) sum_l ||W[l]||_F^2,
 *
 * an unbiased estimate of the full cost J = (1/W) sum_i w_i CE_i + lam/(2W) sum ||W[l]||^2,
 * which equals the unweighted cost of the data with row i repeated w_i times (integer w).
 * Biases are not penalised.
 *
 * Read me first:
 *  - Everything exists in two precisions: double (names as written) and float (the same
 *    names with the suffix _f32: cq_mlp_data_f32, cq_mlp_train_f32, ...), generated from one
 *    body (cq_mlp_real.h). Parameters, data, optimiser state and work are all of the one type;
 *    costs are accumulated in double.
 *  - Parameters live in ONE flat vector theta, layer by layer: W[l] stored TRANSPOSED
 *    (n_{l-1} x n_l, row-major; so WT[k*n_l + j] = W[l]_{j,k} of section 3.1) then b[l] (n_l).
 *    The transposed layout makes the forward pass (Z = A W^T + b) and the weight gradient
 *    (dW^T += a_k delta) unit-stride loops that vectorise without -ffast-math.
 *  - Data (cq_mlp_data): X dense (m x n_0, row-major) or, when X == NULL, CSR
 *    (val, col, ptr: the rows' nonzeros). Only the rows of one minibatch (or of one chunk of
 *    CQ_MLP_CHUNK rows) are ever scattered into a dense buffer; X is never densified.
 *    Y is (m x K) in {0, 1} (one-hot or multi-label).
 *  - work: cq_mlp_work_size(...) numbers of the type, caller-provided.
 */
#ifndef CQ_MLP_H
#define CQ_MLP_H

#include <stddef.h>
#include <stdint.h>
#include <numpy/random/bitgen.h>
#include "core/cq_common.h"

enum { CQ_ACT_SIGMOID = 0, CQ_ACT_TANH = 1, CQ_ACT_RELU = 2, CQ_ACT_LEAKY_RELU = 3 };
enum { CQ_MLP_OUT_SIGMOID = 0, CQ_MLP_OUT_SOFTMAX = 1 };
enum { CQ_MLP_SGD = 0, CQ_MLP_ADAM = 1 };

#define CQ_MLP_MAX_LAYERS 32
/* rows per chunk of the forward pass on sparse X and of the full-data epoch cost */
#define CQ_MLP_CHUNK 256

typedef struct cq_mlp {
    int n_layers;                         /* L (number of weight layers) */
    size_t sizes[CQ_MLP_MAX_LAYERS + 1];  /* n_0 (inputs) .. n_L (outputs K) */
    int hidden_act;                       /* CQ_ACT_* for layers 1..L-1 */
    int output;                           /* CQ_MLP_OUT_* for layer L */
} cq_mlp;

/*
 * The training rule. SGD (Lagarde, section 3.6, with momentum as scikit-learn's
 * MLPClassifier): v <- mu v - lr g, theta <- theta + v, or with Nesterov's momentum
 * (Sutskever et al., "On the importance of initialization and momentum in deep learning",
 * ICML 2013, section 2) theta <- theta + mu v - lr g; mu = 0 is plain gradient descent
 * theta <- theta - lr g. Adam (Kingma & Ba, "Adam: a method for stochastic optimization",
 * ICLR 2015, Algorithm 1): t <- t + 1, m <- b1 m + (1 - b1) g, s <- b2 s + (1 - b2) g^2,
 * theta <- theta - lr (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps).
 * Stopping (scikit-learn's rule): after each epoch, an epoch cost above best - tol counts
 * one epoch without improvement (any other resets the count); the run stops once the count
 * exceeds n_iter_no_change. tol = -inf never stops.
 */
typedef struct cq_mlp_opt {
    int solver;               /* CQ_MLP_SGD or CQ_MLP_ADAM */
    double lam, lr;
    size_t batch;
    double momentum;          /* SGD: mu in [0, 1) */
    int nesterov;
    double beta1, beta2, eps; /* Adam */
    double tol;
    int64_t n_iter_no_change;
    int running_cost;         /* epoch cost: mean of the minibatch costs (1) or full-data cost (0) */
    int n_threads;
} cq_mlp_opt;

/* Total number of parameters. */
size_t cq_mlp_n_params(const cq_mlp *net);
/* Offsets of W^T[l] and b[l] (l = 1..L) in theta. */
size_t cq_mlp_w_offset(const cq_mlp *net, int l);
size_t cq_mlp_b_offset(const cq_mlp *net, int l);
/* Work numbers for a batch of `batch` rows. */
size_t cq_mlp_work_size(const cq_mlp *net, size_t batch);
/* Rows processed at once by cq_mlp_forward and cq_mlp_cost_grad for m rows (m when dense, <= CQ_MLP_CHUNK
 * when sparse). */
size_t cq_mlp_forward_rows(size_t m, int sparse);
/* Work numbers of cq_mlp_cost_grad on n rows: the work of one chunk (+ one chunk gradient when sparse X
 * is processed in chunks). */
size_t cq_mlp_cost_work_size(const cq_mlp *net, size_t n, int sparse);

/* The initialisation of section 3.6: W uniform in [-0.002, 0.002], b = 0 (convq.models offers
 * Glorot's and He's scaled rules too, drawn in Python). */
void cq_mlp_init(const cq_mlp *net, double *theta, bitgen_t *g);

#define CQ_MLP_DECLARE(R, SFX)                                                                                 \
    typedef struct cq_mlp_data##SFX {                                                                          \
        const R *X;                /* m x n_0 dense rows, or NULL: CSR below */                                \
        const R *val;              /* CSR nonzeros */                                                          \
        const int64_t *col, *ptr;  /* their columns; row i is val[ptr[i] .. ptr[i+1]) */                       \
        const R *Y;                /* m x K targets (may be NULL for the forward pass) */                      \
        const R *w;                /* m row weights, or NULL: all 1 */                                         \
        size_t m;                                                                                              \
        double w_total;            /* sum of the weights (m when w == NULL) */                                 \
    } cq_mlp_data##SFX;                                                                                        \
    /* Outputs A[L] (m x K) of all rows. work: cq_mlp_work_size(net, cq_mlp_forward_rows(m, X == NULL)). */  \
    void cq_mlp_forward##SFX(const cq_mlp *net, const R *theta, const cq_mlp_data##SFX *d, R *out, R *work);  \
    /* The cost J_S of the rows rows[0..n) (rows == NULL: the first n rows) and its gradient (grad may be      \
     * NULL: cost only); sparse X in chunks of CQ_MLP_CHUNK rows. work: cq_mlp_cost_work_size(net, n, X == NULL). \
     * Probabilities are clipped to [1e-300, 1 - 1e-16] inside the logarithms only. */                        \
    double cq_mlp_cost_grad##SFX(const cq_mlp *net, const R *theta, const cq_mlp_data##SFX *d,                \
                                 const int64_t *rows, size_t n, double lam, R *grad, R *work);                \
    /* Minibatch training: for each epoch, shuffle the m rows (Fisher-Yates over g), then for each batch:   \
     * the gradient of J_batch and one step of the rule `o` (state v, s: P numbers each, zero at the start; \
     * *t: Adam's step count; they carry over between calls). costs[epoch] (if costs != NULL) is the        \
     * cost after the epoch: with running_cost, the weighted mean over the epoch's minibatches of their     \
     * cross-entropy (at the weights each batch saw) + the penalty at the epoch's end (scikit-learn's       \
     * loss_curve_), else the full-data cost. Batches of >= 64 rows are split into two fixed halves        \
     * computed on up to n_threads threads and combined in a fixed order, so results do not depend on      \
     * n_threads. *n_run: epochs run (fewer than `epochs` when the stopping rule fired); *bits: the bits of \
     * the raw gradients used (8 sizeof(R) P per step). */                                                 \
    int cq_mlp_train##SFX(const cq_mlp *net, R *theta, const cq_mlp_data##SFX *d, const cq_mlp_opt *o, R *v,  \
                          R *s, int64_t *t, int64_t epochs, bitgen_t *g, double *costs, int64_t *n_run,       \
                          uint64_t *bits, cq_interrupt *it, cq_errinfo *err);

CQ_MLP_DECLARE(double, )
CQ_MLP_DECLARE(float, _f32)

#endif /* CQ_MLP_H */
