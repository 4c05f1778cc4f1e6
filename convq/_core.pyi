"""Type stub of convq._core, the C extension (written by `python tests/test_typing.py`)."""
from typing import Any

CG_FR: int
CG_HZ: int
CG_PRPLUS: int
DOM_BOX: int
DOM_LPBALL: int
DOM_NONE: int
MLP_ACT_LEAKY_RELU: int
MLP_ACT_RELU: int
MLP_ACT_SIGMOID: int
MLP_ACT_TANH: int
MLP_CHUNK: int
MLP_MAX_LAYERS: int
MLP_OUT_SIGMOID: int
MLP_OUT_SOFTMAX: int
MLP_SOLVER_ADAM: int
MLP_SOLVER_SGD: int
NM_AVERAGE: int
NM_MAX: int
NM_NONE: int
OBJ_HINGE: int
OBJ_HUBER_HINGE: int
OBJ_LASSO: int
OBJ_LEASTSQ: int
OBJ_LOGISTIC: int
OBJ_QUADRATIC: int
OBJ_SOFTMAX: int
OPT_BB: int
OPT_CALLBACK: int
OPT_CG: int
OPT_CONVERGED: int
OPT_FISTA: int
OPT_FTOL: int
OPT_GD: int
OPT_LBFGS: int
OPT_LINESEARCH: int
OPT_MAXITER: int
OPT_NESTEROV: int
OPT_NEWTON_CG: int
OPT_PROXIMAL: int
OPT_SUBGRADIENT: int
ORACLE_BERNOULLI: int
ORACLE_MINIBATCH: int
ORACLE_NOISY: int
ORACLE_PANINSKI: int
Q_DMAX: int
Q_FLAG_FLOAT32: int
Q_FLAG_NORM_INF: int
Q_KIND_CUQ: int
Q_KIND_IDENTITY: int
Q_KIND_LP: int
Q_KIND_QSGD: int
Q_KIND_RANDK: int
Q_KIND_RATQ: int
Q_KIND_SCALEDSIGN: int
Q_KIND_SIMQ: int
Q_KIND_SIMQPLUS: int
Q_KIND_TERNGRAD: int
Q_KIND_TOPK: int
SANITIZED: int
SGD_MIRROR: int
SGD_PROJECTED: int
SMP_DENS_EXPNORM: int
SMP_DENS_GAUSS: int
SMP_DENS_LOGISTIC: int
SMP_DENS_UNIFORM: int
SMP_RESYNC: int
SMP_WALK_BALL: int
SMP_WALK_BILLIARD: int
SMP_WALK_GRID: int
SMP_WALK_HAR_COORD: int
SMP_WALK_HAR_DIR: int
STEP_ARMIJO: int
STEP_EXACT: int
STEP_FIXED: int
SVM_HINGE: int
SVM_SQUARED_HINGE: int
# _bench_read(x, threads): streaming sum (bandwidth probe).
def _bench_read(*args: Any, **kwargs: Any) -> Any: ...
# _bits_read(payload, nbits, widths) -> values.
def _bits_read(*args: Any, **kwargs: Any) -> Any: ...
# _bits_write(values, widths) -> (bytes, nbits).
def _bits_write(*args: Any, **kwargs: Any) -> Any: ...
# _fwrc_decode(payload, n, k) -> string.
def _fwrc_decode(*args: Any, **kwargs: Any) -> Any: ...
# _fwrc_encode(string, k) -> (bytes, nbits).
def _fwrc_encode(*args: Any, **kwargs: Any) -> Any: ...
# _fwrc_field_bits(n, k): field length in bits.
def _fwrc_field_bits(*args: Any, **kwargs: Any) -> Any: ...
# _lasso_cd(AT or (indptr, indices, data, m), b, x0, mu, tol, max_outer, max_epochs, ws_start, anderson_k) -> (x, primal, dual, gap, n_outer, n_epochs, n_extrapolated, ws_size, converged).
def _lasso_cd(*args: Any, **kwargs: Any) -> Any: ...
# _log2_binom(n, k): log2 C(n, k).
def _log2_binom(*args: Any, **kwargs: Any) -> Any: ...
# _minimize(ObjectiveSpec, x0, SolverSpec, callback, max_iter) -> (x, f, gnorm, nit, nfev, ngev, status, trace_f, trace_g, trace_t, trace_time).
def _minimize(*args: Any, **kwargs: Any) -> Any: ...
# _mirror_step(x, g, r, eta, domain_spec): mirror descent step.
def _mirror_step(*args: Any, **kwargs: Any) -> Any: ...
# _mlp_cost_grad(sizes, act, theta, X, Y, rows, lam, output=0, sample_weight=None): cross-entropy cost + penalty, gradient.
def _mlp_cost_grad(*args: Any, **kwargs: Any) -> Any: ...
# _mlp_forward(sizes, act, theta, X, output=0): output probabilities.
def _mlp_forward(*args: Any, **kwargs: Any) -> Any: ...
# _mlp_init(sizes, act, gen): W uniform in [-0.002, 0.002], b = 0 (Lagarde, section 3.6).
def _mlp_init(*args: Any, **kwargs: Any) -> Any: ...
# _mlp_n_params(sizes): number of parameters.
def _mlp_n_params(*args: Any, **kwargs: Any) -> Any: ...
# _mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, None, gen, threads=0, running_cost=False, output=0, sample_weight=None, solver=0, momentum=0, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8, v=None, s=None, t=0, tol=-inf, n_iter_no_change=10) -> (theta, costs, bits, n_run, t): minibatch training in C.
def _mlp_train(*args: Any, **kwargs: Any) -> Any: ...
# _obj_hess_diag(spec, theta) -> diag H(theta) (the Newton-CG preconditioner).
def _obj_hess_diag(*args: Any, **kwargs: Any) -> Any: ...
# _obj_hessp(spec, theta, v, rows) -> H(theta) v.
def _obj_hessp(*args: Any, **kwargs: Any) -> Any: ...
# _obj_matvec(spec, d) -> X d (+ d0).
def _obj_matvec(*args: Any, **kwargs: Any) -> Any: ...
# _obj_value_grad(spec, theta, rows, want_grad) -> (f, grad|None): one fused pass.
def _obj_value_grad(*args: Any, **kwargs: Any) -> Any: ...
# _oracle_draw(spec, x, gen, n): draws of a C oracle.
def _oracle_draw(*args: Any, **kwargs: Any) -> Any: ...
# _project(x, domain_spec): Euclidean projection.
def _project(*args: Any, **kwargs: Any) -> Any: ...
# _q_batch(spec, Y, n, rows_per_stream, gens, threads, encode) -> (n, d) y_hat or (n, nbytes) payloads.
def _q_batch(*args: Any, **kwargs: Any) -> Any: ...
# _q_bits(spec, d) -> message length in bits.
def _q_bits(*args: Any, **kwargs: Any) -> Any: ...
# _q_decode(spec, payload, d) -> y_hat.
def _q_decode(*args: Any, **kwargs: Any) -> Any: ...
# _q_decode_many(spec, P, d) -> uint8 status per row.
def _q_decode_many(*args: Any, **kwargs: Any) -> Any: ...
# _q_encode(spec, y, gen) -> (payload, nbits).
def _q_encode(*args: Any, **kwargs: Any) -> Any: ...
# _q_fwht(x) -> H x (unnormalised Walsh-Hadamard).
def _q_fwht(*args: Any, **kwargs: Any) -> Any: ...
# _q_fwht_inplace(x): x <- H x.
def _q_fwht_inplace(*args: Any, **kwargs: Any) -> Any: ...
# _q_grid_decode(ints, b, scale, s, n, out[, add]) -> out (all-reduce mode).
def _q_grid_decode(*args: Any, **kwargs: Any) -> Any: ...
# _q_grid_norms(y, b, inf_norm) -> float64 bucket norms (all-reduce mode).
def _q_grid_norms(*args: Any, **kwargs: Any) -> Any: ...
# _q_grid_round(y, b, scale, s, key, width) -> integer levels (all-reduce mode).
def _q_grid_round(*args: Any, **kwargs: Any) -> Any: ...
# _q_info(spec, d) -> dict of resolved parameters.
def _q_info(*args: Any, **kwargs: Any) -> Any: ...
# _q_quantize(spec, y, gen) -> y_hat (fast path).
def _q_quantize(*args: Any, **kwargs: Any) -> Any: ...
# _q_scratch_kept() -> bytes of kernel scratch this thread keeps for its next call.
def _q_scratch_kept(*args: Any, **kwargs: Any) -> Any: ...
# _q_simd_level() -> build level of the typed kernels (0 portable, 1 AVX2, 2 AVX-512).
def _q_simd_level(*args: Any, **kwargs: Any) -> Any: ...
# _rng_bounded(gen, bound, n): n uniform integers in [0, bound) (Lemire).
def _rng_bounded(*args: Any, **kwargs: Any) -> Any: ...
# _rng_exponential(gen, n): n standard exponentials.
def _rng_exponential(*args: Any, **kwargs: Any) -> Any: ...
# _rng_normal(gen, n): n standard normals (polar method).
def _rng_normal(*args: Any, **kwargs: Any) -> Any: ...
# _rng_uniform(gen, n): n U[0,1) draws (== Generator.random(n)).
def _rng_uniform(*args: Any, **kwargs: Any) -> Any: ...
# _rng_uniform_streams(gens, n, threads): one row of n uniforms per generator, in parallel.
def _rng_uniform_streams(*args: Any, **kwargs: Any) -> Any: ...
# _sgd_run(...): the quantized SGD / mirror-descent loop in C.
def _sgd_run(*args: Any, **kwargs: Any) -> Any: ...
# _smp_grid_moves(body, dens, delta, offset, k) -> (move probabilities (rows, 2n), in_grid).
def _smp_grid_moves(*args: Any, **kwargs: Any) -> Any: ...
# _smp_logf(dens, x) -> log F(x) per row.
def _smp_logf(*args: Any, **kwargs: Any) -> Any: ...
# _smp_run(body, dens, walk, x0, k0, generators, threads) -> (samples, indices, times, n_accept, n_prop).
def _smp_run(*args: Any, **kwargs: Any) -> Any: ...
# _svm_dcd(X, s, alpha0, C, k, loss, eps, max_epochs, max_outer, intercept, rho, gen) -> (alpha, w, t, pg_spread, eq_violation, n_epochs, n_outer, converged).
def _svm_dcd(*args: Any, **kwargs: Any) -> Any: ...
# num_threads(n=0): threads used for n (0 = all cores).
def num_threads(*args: Any, **kwargs: Any) -> Any: ...
