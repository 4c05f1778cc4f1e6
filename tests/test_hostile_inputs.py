"""Table-driven bad-input sweep (hardening issue, acceptance): every public function of the
optimisation, objective, bound and coding modules, each argument fed the hostile values of its
kind (NaN, Inf, empty, wrong ndim/length, complex/str/object dtypes, non-contiguous views,
negative/zero/huge numbers, integers >= 2^63, wrong types). Each must raise ValueError or
TypeError (DecodeError for malformed payloads) whose message names the argument; none may
crash, hang, overflow or answer. A second table below does the same for convq.models (fit,
predict, score... of every estimator and every constructor parameter), convq.stochastic,
convq.convexity and convq.torch. The sampling module has its own sweep
(test_hardening_sampling.py)."""
import math
import re

import numpy as np
import pytest

from convq import bounds as B
from convq import coding as C
from convq import objectives as O
from convq import optimize as OPT

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 3))
Y = RNG.standard_normal(12)
Y01 = (RNG.random(12) < 0.5).astype(float)
A = X.T @ X + np.eye(3)

HUGE_INTS = [2**63, 2**64 + 3, -(2**63) - 1]
BAD_REAL = [math.nan, math.inf, -math.inf, "x", None, 1j, [1.0]]
BAD_OPTIONAL = [math.nan, math.inf, -math.inf, "x", 1j, [1.0]]  # None means "the default"


def _bad_arrays(shape, *, length_fixed=True, none_ok=False):
    """Hostile arrays for an argument that must be a finite real array of `shape`
    (`length_fixed`: its last length is dictated by another argument)."""
    good = np.ones(shape)
    out = [np.full(shape, np.nan), np.full(shape, np.inf), np.zeros((0,) + shape[1:]),
           good.astype(complex), good.astype(str), np.array([object()] * int(np.prod(shape)), dtype=object).reshape(shape),
           "abc", np.ones(shape + (2,))] + ([] if none_ok else [None])
    if len(shape) >= 1 and length_fixed:
        out.append(np.ones(shape[:-1] + (shape[-1] + 1,)))   # wrong length
    if len(shape) == 2:
        out.append(np.ones(shape[0]))                         # wrong ndim
    return out


def _bad_sparse():
    """Hostile scipy.sparse X for LeastSquares/Logistic (X is 12 x 3)."""
    import scipy.sparse as sp
    good = sp.csr_matrix(X)
    nan, inf = good.copy(), good.copy()
    nan.data[4] = np.nan
    inf.data[0] = -np.inf
    out_of_range = good.copy()        # scipy checks no column index on construction: the layer does
    out_of_range.indices[2] = 7
    negative = good.copy()
    negative.indices[0] = -1
    return [nan, inf, out_of_range, negative, sp.csr_matrix(np.ones((13, 3))), sp.csr_matrix((12, 2**40)),
            good.astype(complex), sp.random(12, 3, density=0.5, format="coo", random_state=0).astype(complex)]


def _cases():
    cases = []

    def add(fn, kwargs, arg, bads, ok=(ValueError, TypeError)):
        for i, bad in enumerate(bads):
            cases.append(pytest.param(fn, kwargs, arg, bad, ok, id=f"{getattr(fn, '__qualname__', fn)}-{arg}-{i}"))

    # objectives: constructors
    add(O.LeastSquares, dict(X=X, y=Y), "X", _bad_arrays(X.shape, length_fixed=False))
    add(O.LeastSquares, dict(X=X, y=Y), "X", _bad_sparse())
    add(O.LeastSquares, dict(X=X, y=Y), "y", _bad_arrays(Y.shape))
    add(O.LeastSquares, dict(X=X, y=Y), "lam", BAD_REAL + [-1.0])
    add(O.LeastSquares, dict(X=X, y=Y), "threads", [0, -1, 2**63, 1.5, "x"])
    add(O.Logistic, dict(X=X, y=Y01), "X", _bad_arrays(X.shape, length_fixed=False))
    add(O.Logistic, dict(X=X, y=Y01), "X", _bad_sparse())
    add(O.Logistic, dict(X=X, y=Y01), "y", _bad_arrays(Y.shape) + [np.full(12, 0.5), np.full(12, 2.0)])
    add(O.Logistic, dict(X=X, y=Y01), "lam", BAD_REAL + [-1.0])
    add(O.Hinge, dict(X=X, y=Y01), "C", BAD_REAL + [-1.0, 0.0])
    add(O.Hinge, dict(X=X, y=Y01), "slope", BAD_REAL + [-1.0, 0.0])
    add(O.Hinge, dict(X=X, y=Y01), "y", _bad_arrays(Y.shape))
    for arg in ("C", "slope", "delta"):
        add(O.SmoothedHinge, dict(X=X, y=Y01), arg, BAD_REAL + [-1.0, 0.0])
    add(O.SmoothedHinge, dict(X=X, y=Y01), "y", _bad_arrays(Y.shape) + [np.full(12, 0.5)])
    add(O.Hinge(X, Y01).smooth, {}, "delta", BAD_REAL + [-1.0, 0.0])
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "A", _bad_arrays(X.shape, length_fixed=False))
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "b", _bad_arrays(Y.shape))
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "mu", BAD_REAL + [-1.0])
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "delta", BAD_REAL + [-1.0])
    bad_w = _bad_arrays(Y.shape, none_ok=True) + [-np.ones(12), np.zeros(12)]
    add(O.LeastSquares, dict(X=X, y=Y), "sample_weight", bad_w)
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "sample_weight", bad_w)
    YK = np.arange(12) % 3.0
    add(O.Softmax, dict(X=X, y=YK), "X", _bad_arrays(X.shape, length_fixed=False))
    add(O.Softmax, dict(X=X, y=YK), "X", _bad_sparse())
    add(O.Softmax, dict(X=X, y=YK), "y", _bad_arrays(Y.shape) + [YK + 0.5, YK - 1.0])
    add(O.Softmax, dict(X=X, y=YK), "n_classes", [1, 2, -1, 1.5, "x"])
    add(O.Softmax, dict(X=X, y=YK), "lam", BAD_REAL + [-1.0])
    add(O.Softmax, dict(X=X, y=YK), "sample_weight", bad_w)
    add(O.Quadratic, dict(A=A), "A", _bad_arrays(A.shape) + [np.ones((3, 4))])
    add(O.Quadratic, dict(A=A, b=np.ones(3)), "b", _bad_arrays((3,), none_ok=True))
    add(O.Quadratic, dict(A=A), "c", BAD_REAL)
    add(O.Function, dict(fun=lambda x: float(x @ x), dim=3), "fun", [None, 3, "x"])
    add(O.Function, dict(fun=lambda x: float(x @ x), dim=3), "dim", [0, -1, 2**63, 1.5, "x"])
    add(O.nesterov_hard, dict(n=5), "n", [0, -1, 2**63, 2**64 + 3, 1.5, "x", None])
    add(O.nesterov_hard, dict(n=5), "L", BAD_REAL + [-1.0, 0.0])
    add(O.nesterov_hard, dict(n=5), "k", [-1, 3, 2**63, 1.5, "x"])
    add(O.NesterovHard, dict(n=5), "p", [0, 6, 2**63, 1.5, "x"])
    # objectives: evaluation
    ls = O.LeastSquares(X, Y)
    add(ls.value, dict(x=np.zeros(3)), "x", _bad_arrays((3,)))
    add(ls.grad, dict(x=np.zeros(3)), "x", _bad_arrays((3,)))
    add(ls.value_and_grad, dict(x=np.zeros(3)), "x", _bad_arrays((3,)))
    # optimize
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "x0", _bad_arrays((3,)))
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "fun", [None, 3, "x", lambda x: np.zeros(3)])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "method", ["BFGS", None, 3])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "step", ["wolfe", None, 3])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "tol", BAD_OPTIONAL + [-1.0])  # None: the default, as in SciPy
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "max_iter", [-1, 2**63, 2**64, 1.5, "x"])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "engine", ["fast", None, 3])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3)), "callback", [3, "x"])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), step="fixed"), "t", BAD_OPTIONAL + [-1.0, 0.0])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="cg"), "variant", ["PR", None, 3, "bb1"])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="cg"), "step", ["fixed", None, 3])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="cg"), "c2", BAD_REAL + [0.0, 1.0, 1e-5])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="cg"), "memory", [3])
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "A", _bad_arrays(X.shape, length_fixed=False))
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "b", _bad_arrays(Y.shape))
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "mu", BAD_REAL + [-1.0])
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "method", ["newton", None, 3])
    add(OPT.box_qp, dict(Q=np.eye(3), c=np.ones(3)), "Q", _bad_arrays((3, 3)) + [np.ones((3, 4))])
    add(OPT.box_qp, dict(Q=np.eye(3), c=np.ones(3)), "c", _bad_arrays((3,)))
    add(OPT.box_qp, dict(Q=np.eye(3), c=np.ones(3)), "lo", [[0.0, 0.0], [math.nan] * 3, [math.inf] * 3, "x",
                                                             [[0.0] * 3], 1j])
    add(OPT.box_qp, dict(Q=np.eye(3), c=np.ones(3)), "hi", [[0.0, 0.0], [math.nan] * 3, [-math.inf] * 3, "x"])
    add(OPT.box_qp, dict(Q=np.eye(3), c=np.ones(3)), "tol", BAD_REAL + [-1.0, 0.0])
    add(OPT.box_qp, dict(Q=np.eye(3), c=np.ones(3)), "max_iter", [0, 2**63, 1.5, "x"])
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0, method="admm"), "rho", BAD_OPTIONAL + [-1.0, 0.0])
    add(OPT.lasso_path, dict(A=X, b=Y), "A", _bad_arrays(X.shape, length_fixed=False))
    add(OPT.lasso_path, dict(A=X, b=Y), "b", _bad_arrays(Y.shape))
    add(OPT.lasso_path, dict(A=X, b=Y), "mus", [[], [1.0, -1.0], [math.nan], [math.inf], "x", [[1.0]]])
    add(OPT.lasso_path, dict(A=X, b=Y), "n_mus", [0, -1, 2**63, 1.5, "x"])
    add(OPT.lasso_path, dict(A=X, b=Y), "eps", BAD_REAL + [0.0, 1.0, -1.0])
    add(OPT.lasso_path, dict(A=X, b=Y), "tol", BAD_REAL + [-1.0, 0.0])
    add(OPT.lasso_path, dict(A=X, b=Y), "max_iter", [0, 2**63, 1.5, "x"])
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "x0", _bad_arrays((3,), none_ok=True))
    for method in ("cd", "continuation"):
        add(OPT.lasso, dict(A=X, b=Y, mu=1.0, method=method), "tol", BAD_OPTIONAL + [-1.0, 0.0])
        add(OPT.lasso, dict(A=X, b=Y, mu=1.0, method=method), "max_iter", [-1, 0, 2**63, 1.5, "x"])
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "ws_start", [-1, 0, 2**63, 1.5, "x", None])
    add(OPT.lasso, dict(A=X, b=Y, mu=1.0), "anderson", [-1, 11, 2**63, 1.5, "x", None])
    cont = dict(A=X, b=Y, mu=1.0, method="continuation")
    add(OPT.lasso, cont, "eta", BAD_REAL + [0.0, 1.0, 2.0])
    add(OPT.lasso, cont, "mu0", BAD_OPTIONAL + [-1.0])
    add(OPT.lasso, cont, "delta_factor", BAD_REAL + [-1.0, 0.0])
    add(OPT.hessian, dict(obj=ls, x=np.zeros(3)), "x", _bad_arrays((3,)))
    add(OPT.hessian, dict(obj=O.Hinge(X, Y01), x=np.zeros(3)), "obj", [O.Hinge(X, Y01)])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="newton"), "tol", BAD_OPTIONAL + [-1.0])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="newton"), "alpha", BAD_REAL + [0.0, 0.5, 1.0])
    add(OPT.minimize, dict(fun=ls, x0=np.zeros(3), method="newton"), "beta", BAD_REAL + [0.0, 1.0])
    svm = dict(X=X, y=Y01)
    add(OPT.svm_dual_cd, svm, "X", _bad_arrays(X.shape, length_fixed=False))
    add(OPT.svm_dual_cd, svm, "y", _bad_arrays(Y.shape) + [np.full(12, 0.5), np.full(12, 2.0)])
    add(OPT.svm_dual_cd, svm, "C", BAD_REAL + [-1.0, 0.0])
    add(OPT.svm_dual_cd, svm, "slope", BAD_REAL + [-1.0, 0.0])
    add(OPT.svm_dual_cd, svm, "intercept", [1, "yes", None])
    add(OPT.svm_dual_cd, svm, "tol", BAD_REAL + [-1.0, 0.0])
    add(OPT.svm_dual_cd, svm, "max_iter", [-1, 0, 2**63, 1.5, "x", None])
    add(OPT.svm_dual_cd, svm, "rho", BAD_OPTIONAL + [-1.0, 0.0])
    add(OPT.svm_dual_cd, svm, "rng", ["x", 1.5, -1, object()])
    # bounds: closed forms
    for fn, kw in [(B.lp_deltas, dict(d=16, p=1.5)), (B.precision_upper, dict(d=16, p=1.5)),
                   (B.simq_bits, dict(d=16)), (B.simqplus_bits, dict(d=16, k=4)),
                   (B.simqplus_alpha0, dict(d=16, k=4)), (B.lp_alpha0, dict(d=16, p=1.5)),
                   (B.minimax_rate, dict(T=100, d=16, p=2.0, D=1.0, B=1.0))]:
        for arg in ("d", "k", "T"):
            if arg in kw:
                add(fn, kw, arg, [0, -1, 1.5, "x", None] + HUGE_INTS[2:])
    add(B.ln_star, dict(a=10.0), "a", BAD_REAL)
    add(B.lp_deltas, dict(d=16, p=1.5), "p", [math.nan, -math.inf, "x", None, 1j, 0.5, -1.0])
    add(B.precision_lower, dict(d=16, p=1.5, ratio=0.5), "ratio", BAD_REAL + [-1.0])
    add(B.simq_alpha0, dict(B=1.0), "B", BAD_REAL + [-1.0, 0.0])
    add(B.ratq_mse_bound, dict(B=1.0, s=4, levels=8), "B", BAD_REAL + [-1.0, 0.0])
    add(B.ratq_mse_bound, dict(B=1.0, s=4, levels=8), "s", [0, -1, "x", 2**63])
    add(B.ratq_mse_bound, dict(B=1.0, s=4, levels=8), "levels", [0, -1, "x", 2**63])
    add(B.minimax_rate, dict(T=100, d=16, p=2.0, D=1.0, B=1.0), "D", BAD_REAL + [-1.0, 0.0])
    add(B.minimax_rate, dict(T=100, d=16, p=2.0, D=1.0, B=1.0), "p", [math.nan, -math.inf, "x", None, 1j, 0.5])
    # bounds: the error bounds (Theorems 2.2, 2.3, section 6, r*, section 7)
    err = dict(T=100, d=16, p=2.0, D=1.0, B=1.0)
    for fn, kw in [(B.unquantized_upper, err), (B.unquantized_lower, err),
                   (B.quantized_upper, dict(T=100, d=16, p=2.0, D=1.0, alpha0=1.0)),
                   (B.quantized_lower, dict(err, r=8)), (B.tradeoff_lower, dict(err, r=8)),
                   (B.tradeoff_upper, dict(err, r=64)),
                   (B.hard_instance_lower, dict(err, kind="bernoulli", r=8)),
                   (B.rstar_lower, dict(T=100, d=16, p=2.0)), (B.rstar_upper, dict(T=100, d=16, p=2.0))]:
        for arg in ("T", "d", "r"):
            if arg in kw:
                add(fn, kw, arg, [0, -1, 1.5, "x", None] + HUGE_INTS[2:])
        for arg in ("D", "B", "alpha0", "c0", "c1", "delta"):
            if arg in kw:
                add(fn, kw, arg, BAD_REAL + [-1.0, 0.0])
        add(fn, kw, "p", [math.nan, -math.inf, "x", None, 1j, 0.5])
    add(B.tradeoff_upper, dict(err, r=64), "r", [1, 5])                 # no quantizer fits
    add(B.hard_instance_lower, dict(err, kind="bernoulli", r=8), "kind", ["x", None, 3])
    add(B.hard_instance_lower, dict(err, kind="bernoulli", r=8), "delta", [math.nan, math.inf, "x", 1j, -1.0, 0.0, 0.6])
    add(B.hard_instance_lower, dict(err, kind="bernoulli", r=8), "c2", BAD_REAL + [-1.0, 0.0, 1.5])
    add(B.hard_instance_delta, dict(kind="paninski", T=100, r=8, d=16), "kind", ["x", None, 3])
    add(B.hard_instance_delta, dict(kind="paninski", T=100, r=8, d=16), "r", [0, -1, 1.5, "x", None])
    add(B.rstar_lower, dict(T=100, d=16, p=2.0), "c0", BAD_REAL + [-1.0, 0.0, 2.0])
    add(B.rstar_lower, dict(T=100, d=1, p=1.5), "d", [1])            # U(T, p) = 0 for p < 2, d = 1
    add(B.mi_paninski, dict(delta=0.1, r=8, d=16), "delta", BAD_REAL + [-1.0, 0.0, 0.6])
    add(B.mi_bernoulli, dict(delta=0.1, r=8, d=16), "r", [0, -1, 1.5, "x", None])
    add(B.mi_bernoulli, dict(delta=0.1, r=8, d=16), "d", [0, -1, 1.5, "x", None])
    add(B.fano_lower, dict(scale=1.0, T=10, mi=0.1, d=16), "scale", BAD_REAL + [-1.0])
    add(B.fano_lower, dict(scale=1.0, T=10, mi=0.1, d=16), "mi", BAD_REAL + [-1.0])
    add(B.fano_lower, dict(scale=1.0, T=10, mi=0.1, d=16), "T", [0, -1, 1.5, "x", None])
    add(B.fano_lower, dict(scale=1.0, T=10, mi=0.1, d=16), "c2", BAD_REAL + [-1.0, 0.0, 1.5])
    add(B.gd_sublinear_bound, dict(k=10, t=0.1, r0=1.0), "k", [-1, "x", 2**63])
    add(B.gd_sublinear_bound, dict(k=10, t=0.1, r0=1.0), "t", BAD_REAL + [-1.0, 0.0])
    add(B.gd_sublinear_bound, dict(k=10, t=0.1, r0=1.0), "r0", BAD_REAL + [-1.0])
    add(B.gd_linear_rate, dict(m=1.0, L=2.0, t=0.5), "m", BAD_REAL + [-1.0, 0.0])
    add(B.gd_linear_rate, dict(m=1.0, L=2.0, t=0.5), "L", BAD_REAL + [-1.0, 0.5])
    add(B.gd_linear_rate, dict(m=1.0, L=2.0, t=0.5), "t", BAD_REAL + [-1.0, 0.0])
    add(B.gd_linear_bound, dict(k=10, m=1.0, L=2.0, t=0.5, r0=1.0), "k", [-1, "x", 2**63])
    add(B.nesterov_lower_bound, dict(k=10, L=2.0, r0=1.0), "k", [-1, "x", 2**63])
    add(B.nesterov_lower_bound, dict(k=10, L=2.0, r0=1.0), "L", BAD_REAL + [-1.0, 0.0])
    add(B.exact_line_search_rate, dict(gamma=0.5), "gamma", BAD_REAL + [-1.0, 0.0])
    # coding
    add(C.pack_fields, dict(values=[1, 2], widths=[3, 3]), "values",
        [[1.5, 2], ["a", 2], [-1, 2], [8, 2], [2**64, 1], np.array([np.nan, 1.0]), [[1, 2]], None, 3])
    add(C.pack_fields, dict(values=[1, 2], widths=[3, 3]), "widths",
        [[0, 3], [-1, 3], [65, 3], [2**63, 3], [1.5, 3], ["a", 3], [3], None, [[3, 3]]])
    add(C.unpack_fields, dict(payload=b"\x05", nbits=6, widths=[3, 3]), "nbits",
        [-1, 2**63, 2**64 + 3, 1.5, "x", None])
    add(C.unpack_fields, dict(payload=b"\x05", nbits=6, widths=[3, 3]), "widths", [[0, 3], [-1, 3], [65, 3], [2**63, 3], None])
    add(C.unpack_fields, dict(payload=b"\x05", nbits=6, widths=[3, 3]), "payload", [None, 3, "x", [5]])
    add(C.fixed_weight_bits, dict(n=10, k=3), "n", [-1, 2**63, 2**64, 1.5, "x", None])
    add(C.fixed_weight_bits, dict(n=10, k=3), "k", [-1, 11, 2**63, 1.5, "x", None])
    add(C.log2_binomial, dict(n=10, k=3), "n", [-1, 2**63, 1.5, "x", None])
    add(C.log2_binomial, dict(n=10, k=3), "k", [-1, 11, 2**63, 1.5, "x", None])
    add(C.encode_fixed_weight, dict(bits=[1, 0, 1]), "bits", [[2, 0], [-1, 0], [0.5, 1], ["a"], None, [[1, 0]], np.array([np.nan])])
    add(C.decode_fixed_weight, dict(payload=b"\x00", n=10, k=3), "n", [-1, 2**63, 2**64, 1.5, "x", None])
    add(C.decode_fixed_weight, dict(payload=b"\x00", n=10, k=3), "k", [-1, 11, 2**63, 1.5, "x", None])
    add(C.decode_fixed_weight, dict(payload=b"\x00", n=10, k=3), "payload", [None, 3, "x"])
    return cases


CASES = _cases()


def check_named(fn, kwargs, arg, bad, ok):
    """fn(**kwargs, arg=bad) raises one of `ok` and the message names `arg` (every sweep table)."""
    kw = dict(kwargs)
    kw[arg] = bad
    with pytest.raises(ok) as info:
        fn(**kw)
    assert arg in str(info.value), f"{fn.__qualname__}({arg}={bad!r}) raised {info.value!r} without naming {arg!r}"


@pytest.mark.parametrize("fn, kwargs, arg, bad, ok", CASES)
def test_bad_argument_is_named(fn, kwargs, arg, bad, ok):
    check_named(fn, kwargs, arg, bad, ok)


def test_sweep_covers_every_public_function():
    covered = {getattr(c.values[0], "__qualname__", "") for c in CASES}
    for mod in (O, OPT, B, C):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if name in ("Objective", "OptimizeResult", "LassoPath") or (isinstance(obj, type) and issubclass(obj, BaseException)):
                continue  # an abstract base, a result record, an exception class
            assert name in covered, f"{mod.__name__}.{name} is not in the sweep"
    assert len(CASES) > 500


# ---- inputs that are unusual but valid: same answer as the plain float64 C-contiguous array ----

def _layouts(a):
    """The same values as a Fortran-ordered copy, a strided view, float32 (when exact), ints."""
    out = {"fortran": np.asfortranarray(a)}
    big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],))
    big[..., ::2] = a
    out["strided"] = big[..., ::2]
    if np.all(a.astype(np.float32) == a):
        out["float32"] = a.astype(np.float32)
    if np.all(np.round(a) == a):
        out["int32"] = a.astype(np.int32)
        out["int64"] = a.astype(np.int64)
    return out


@pytest.mark.parametrize("make", [
    lambda X, y: O.LeastSquares(X, y, lam=0.5),
    lambda X, y: O.Logistic(X, (y > 0).astype(float), lam=0.5, intercept=True),
    lambda X, y: O.Hinge(X, (y > 0).astype(float)),
    lambda X, y: O.Lasso(X, y, 0.3),
], ids=["least_squares", "logistic", "hinge", "lasso"])
def test_layouts_and_dtypes_give_the_same_objective(make):
    Xi = np.round(RNG.standard_normal((20, 4)) * 4)  # integer-valued: exact in every dtype
    yi = np.round(RNG.standard_normal(20) * 4)
    ref = make(Xi, yi)
    x = RNG.standard_normal(ref.dim)
    v0, g0 = ref.value_and_grad(x)
    for name, Xv in _layouts(Xi).items():
        o = make(Xv, yi)
        v, g = o.value_and_grad(x)
        assert v == pytest.approx(v0, rel=1e-14), name
        np.testing.assert_allclose(g, g0, rtol=1e-13, atol=1e-14, err_msg=name)
    for name, xv in _layouts(np.round(x * 8) / 8).items():
        np.testing.assert_allclose(ref.grad(xv), ref.grad(np.round(x * 8) / 8), rtol=1e-14, err_msg=name)


def test_layouts_give_the_same_minimiser_and_lasso():
    Xi = np.round(RNG.standard_normal((30, 5)) * 4)
    yi = np.round(RNG.standard_normal(30) * 4)
    ref = OPT.lasso(Xi, yi, 2.0, tol=1e-10)
    for name, Xv in _layouts(Xi).items():
        np.testing.assert_allclose(OPT.lasso(Xv, yi, 2.0, tol=1e-10).x, ref.x, rtol=1e-9, atol=1e-12, err_msg=name)
    o = O.LeastSquares(Xi, yi)
    r0 = OPT.minimize(o, np.zeros(5), method="bb", tol=1e-10)
    for name, x0 in _layouts(np.zeros(5)).items():
        np.testing.assert_array_equal(OPT.minimize(o, x0, method="bb", tol=1e-10).x, r0.x, err_msg=name)


# ---- the same sweep over convq.models, convq.stochastic, convq.convexity, convq.torch -----------

from convq import convexity as CVX  # noqa: E402
from convq import models as M  # noqa: E402
from convq import stochastic as S  # noqa: E402
from convq.quantize import SimQ  # noqa: E402

XC = RNG.standard_normal((30, 3))
YC = (XC[:, 0] + 0.5 * RNG.standard_normal(30) > 0).astype(int)
YR = XC @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.standard_normal(30)
BAD_INT = [0, -1, 2**63, 2**64 + 3, 1.5, "x", None]
BAD_INT_OR_NONE = [0, -1, 2**63, 2**64 + 3, 1.5, "x"]
BAD_QUANTIZER = [object(), SimQ, "simq", 3]
BAD_RNG = ["x", 1.5, -1, object(), np.random.RandomState(0)]
_ESTIMATORS = {
    "LinearRegression": (M.LinearRegression, dict(), YR),
    "Ridge": (M.Ridge, dict(), YR),
    "LogisticRegression": (M.LogisticRegression, dict(max_iter=50), YC),
    "LinearSVM": (M.LinearSVM, dict(max_iter=50), YC),
    "MLPClassifier": (M.MLPClassifier, dict(hidden=(4,), epochs=2), YC),
    "Lasso": (M.Lasso, dict(alpha=0.1), YR),
}
_LINEAR = ("LinearRegression", "Ridge", "LogisticRegression", "LinearSVM")


def _fitter(name):
    """est(**params).fit(X, y) as one function whose parameters are the sweep's arguments."""
    cls, base, y_default = _ESTIMATORS[name]

    def fit(X=XC, y=y_default, **params):
        return cls(**{**base, **params}).fit(X, y)
    fit.__qualname__ = f"{name}.fit"
    return fit


def _weighted_fitter(name):
    """est.fit(X, y, sample_weight) as a function of the weights."""
    cls, base, y_default = _ESTIMATORS[name]

    def fit(sample_weight=None):
        return cls(**base).fit(XC, y_default, sample_weight=sample_weight)
    fit.__qualname__ = f"{name}.fit"
    return fit


def _method(name, meth):
    """The fitted estimator's method `meth` (predict, score, ...) with keyword X (and y)."""
    cls, base, y_default = _ESTIMATORS[name]
    est = cls(**base).fit(XC, y_default)
    bound = getattr(est, meth)

    def call(X=XC, y=y_default):
        return bound(X) if meth in ("predict", "predict_proba", "predict_log_proba", "decision_function") \
            else bound(X, y)
    call.__qualname__ = f"{name}.{meth}"
    return call


def _oracle():
    return S.MinibatchOracle(O.LeastSquares(XC, YR), 5, domain=S.LpBall(2, 3.0))


def _cases_models_stochastic():
    cases = []

    def add(fn, kwargs, arg, bads, ok=(ValueError, TypeError)):
        for i, bad in enumerate(bads):
            cases.append(pytest.param(fn, kwargs, arg, bad, ok, id=f"{getattr(fn, '__qualname__', fn)}-{arg}-{i}"))

    # models: fit(X, y) and every constructor parameter, then predict/score/... on a fitted model
    y_bad_cls = _bad_arrays((30,)) + [np.full(30, 0.5), np.ones(30)]
    for name in _ESTIMATORS:
        fit = _fitter(name)
        add(fit, {}, "X", _bad_arrays(XC.shape, length_fixed=False))
        add(fit, {}, "y", _bad_arrays((30,)) if name in ("LinearRegression", "Ridge", "Lasso") else y_bad_cls)
        if name != "Lasso":    # (it takes no quantizer, rng, threads, method or step)
            add(fit, {}, "quantizer", BAD_QUANTIZER)
            add(fit, {}, "rng", BAD_RNG)
            add(fit, {}, "threads", BAD_INT_OR_NONE)
        if name != "MLPClassifier":
            add(fit, {}, "fit_intercept", [1, "yes", None])
            add(fit, {}, "tol", BAD_REAL + [-1.0])
            add(fit, {}, "max_iter", BAD_INT_OR_NONE if name == "LinearSVM" else BAD_INT)
            add(fit, {}, "warm_start", [1, "yes", None])
            add(_weighted_fitter(name), {}, "sample_weight", _bad_arrays((30,), none_ok=True) + [-np.ones(30), np.zeros(30)])
        if name in _LINEAR:
            add(fit, {}, "method", ["adam", 3])
            add(fit, {}, "step", ["wolfe", 3])
            add(fit, {}, "random_state", [b for b in BAD_RNG if not isinstance(b, np.random.RandomState)])
            add(fit, dict(rng=1), "random_state", [0])     # both it and its alias rng given
        for meth in ("predict", "score") + (("predict_proba",) if name in ("LogisticRegression", "MLPClassifier")
                                           else ()) + (("decision_function",) if name in ("LogisticRegression",
                                                                                           "LinearSVM") else ()):
            add(_method(name, meth), {}, "X", _bad_arrays(XC.shape))
        if name in ("LinearRegression", "Ridge", "LogisticRegression", "MLPClassifier"):
            add(_method(name, "cost"), {}, "X", _bad_arrays(XC.shape))
    add(_fitter("LinearRegression"), {}, "solver", ["svd", None, 3])
    add(_fitter("Ridge"), {}, "lam", BAD_REAL + [-1.0])
    add(_fitter("LogisticRegression"), {}, "lam", BAD_REAL + [-1.0])
    add(_fitter("LinearSVM"), {}, "C", BAD_REAL + [-1.0, 0.0])
    add(_fitter("LinearSVM"), {}, "slope", BAD_REAL + [-1.0, 0.0])
    add(_fitter("LinearSVM"), {}, "delta_min", BAD_REAL + [-1.0, 0.0])
    add(_fitter("LinearSVM"), {}, "loss", ["log", None, 3])
    add(_fitter("Lasso"), {}, "alpha", BAD_REAL + [-1.0])
    add(_fitter("LogisticRegression"), {}, "multi_class", ["softmax", None, 3])
    for name in ("LogisticRegression", "LinearSVM"):
        add(_fitter(name), {}, "class_weight", ["uniform", {7: 1.0}, {0: -1.0}, {0: math.nan}, 3])
    mlp = _fitter("MLPClassifier")
    add(mlp, {}, "hidden", [(0,), (-1,), (2**63,), (1.5,), ("x",), None, "x", (4,) * 40, (2**40,)])
    add(mlp, {}, "activation", ["gelu", None, 3])
    add(mlp, {}, "lam", BAD_REAL + [-1.0])
    add(mlp, {}, "learning_rate", [v for v in BAD_REAL if v is not None] + [-1.0, 0.0])  # None: the default
    add(mlp, {}, "batch_size", BAD_INT)
    add(mlp, {}, "epochs", BAD_INT)
    add(mlp, {}, "init", ["xavier", None, 3])
    add(mlp, {}, "method", ["newton", 3])
    add(mlp, {}, "solver", ["newton", None, 3])
    add(mlp, {}, "output", ["tanh", None, 3])
    add(mlp, {}, "momentum", BAD_REAL + [-0.1, 1.0])
    add(mlp, {}, "beta_2", BAD_REAL + [1.0])
    add(mlp, {}, "epsilon", BAD_REAL + [0.0])
    add(mlp, {}, "tol", [v for v in BAD_REAL if v is not None] + [-1.0])
    add(mlp, {}, "n_iter_no_change", BAD_INT)
    add(mlp, {}, "dtype", ["float16", "int32", None, 3])
    add(mlp, {}, "class_weight", ["auto", 3, {"x": -1.0}])
    add(mlp, {"early_stopping": True}, "validation_fraction", BAD_REAL + [0.0, 1.0])
    add(mlp, {}, "warm_start", ["yes", None])
    add(mlp, {}, "step", [0.1, "fixed"])
    add(mlp, {}, "epoch_cost", ["last", None, 3])
    add(M.f1_score, dict(y_true=[1, 0, 1], y_pred=[1, 1, 0]), "y_true", [[], [1, 0], None])
    add(M.f1_score, dict(y_true=[1, 0, 1], y_pred=[1, 1, 0]), "y_pred", [[1, 0], [[1, 0, 1, 1]], None])
    add(M.project, dict(x=[1.0, 2.0], onto=[1.0, 0.0]), "x", _bad_arrays((2,), length_fixed=False))
    add(M.project, dict(x=[1.0, 2.0], onto=[1.0, 0.0]), "onto", _bad_arrays((2,)) + [[0.0, 0.0]])

    # stochastic: domains
    add(S.LpBall, dict(p=2.0, radius=1.0), "p", [math.nan, -math.inf, "x", None, 1j, 0.5, -1.0])
    add(S.LpBall, dict(p=2.0, radius=1.0), "radius", BAD_REAL + [-1.0, 0.0])
    ball = S.LpBall(1, 1.0)
    add(ball.project, dict(x=np.ones(3)), "x", _bad_arrays((3,), length_fixed=False))
    add(ball.contains, dict(x=np.ones(3)), "x", _bad_arrays((3,), length_fixed=False))
    add(ball.diameter, dict(d=3), "d", BAD_INT)
    add(ball.diameter, dict(d=3), "norm", [math.nan, "x", None, 0.5])
    add(S.Box, dict(lo=np.zeros(3), hi=np.ones(3)), "lo", [[math.nan] * 3, "x", None, [[0.0] * 3], 1j, [2.0] * 3])
    add(S.Box, dict(lo=np.zeros(3), hi=np.ones(3)), "hi", [[math.nan] * 3, "x", None, [0.0, 0.0], 1j, [-1.0] * 3])
    add(S.Box, dict(lo=0.0, hi=1.0, d=3), "d", BAD_INT)
    box = S.Box(np.zeros(3), np.ones(3))
    add(box.project, dict(x=np.ones(3)), "x", _bad_arrays((3,)))
    add(box.contains, dict(x=np.ones(3)), "x", _bad_arrays((3,)))
    add(box.diameter, dict(), "norm", [math.nan, "x", None, 0.5])
    add(S.mirror_exponent, dict(p=1.5, d=10), "p", [math.nan, "x", None, 0.5, 3.0])
    add(S.mirror_exponent, dict(p=1.5, d=10), "d", BAD_INT)
    add(S.mirror_step, dict(x=np.ones(3) * 0.1, g=np.ones(3), r=1.5, eta=0.1), "x", _bad_arrays((3,), length_fixed=False))
    add(S.mirror_step, dict(x=np.ones(3) * 0.1, g=np.ones(3), r=1.5, eta=0.1), "g", _bad_arrays((3,)))
    add(S.mirror_step, dict(x=np.ones(3) * 0.1, g=np.ones(3), r=1.5, eta=0.1), "r", BAD_REAL + [1.0, 3.0])
    add(S.mirror_step, dict(x=np.ones(3) * 0.1, g=np.ones(3), r=1.5, eta=0.1), "eta", BAD_REAL + [-1.0, 0.0])
    add(S.mirror_step, dict(x=np.ones(3) * 0.1, g=np.ones(3), r=1.5, eta=0.1), "domain", ["ball", 3, box])
    # stochastic: problems and oracles
    for fn in (S.bernoulli_product_problem, S.paninski_problem):
        add(fn, dict(d=8, p=2.0), "d", BAD_INT)
        add(fn, dict(d=8, p=2.0), "p", [math.nan, "x", None, 0.5])
        add(fn, dict(d=8, p=2.0), "B", BAD_REAL + [-1.0, 0.0])
        add(fn, dict(d=8, p=2.0), "D", BAD_REAL + [-1.0, 0.0])
        add(fn, dict(d=8, p=2.0), "delta", BAD_REAL + [-1.0, 0.0, 0.75])
        add(fn, dict(d=8, p=2.0), "domain", ["sphere", None, 3])
        add(fn, dict(d=8, p=2.0), "rng", BAD_RNG)
    add(S.LinearSignProblem, dict(kind="bernoulli", d=3, p=2.0, B=1.0, D=1.0, delta=0.25, alpha=np.ones(3)), "alpha",
        [np.zeros(3), np.ones(4), "x", None, [math.nan] * 3])
    add(S.LinearSignProblem, dict(kind="bernoulli", d=3, p=2.0, B=1.0, D=1.0, delta=0.25, alpha=np.ones(3)), "kind",
        ["gauss", None, 3])
    prob = S.bernoulli_product_problem(8, 2.0, rng=0)
    add(prob.sample, dict(), "n", [-1, 2**63, 1.5, "x"])
    add(prob.sample, dict(), "rng", BAD_RNG)
    add(S.MinibatchOracle, dict(objective=O.LeastSquares(XC, YR), batch=5, domain=S.LpBall(2, 3.0)), "objective",
        [None, 3, "x", O.Quadratic(np.eye(3)), lambda x: 0.0])
    add(S.MinibatchOracle, dict(objective=O.LeastSquares(XC, YR), batch=5, domain=S.LpBall(2, 3.0)), "batch", BAD_INT)
    add(S.MinibatchOracle, dict(objective=O.LeastSquares(XC, YR), batch=5, domain=S.LpBall(2, 3.0)), "p",
        [math.nan, "x", None, 0.5])
    add(S.MinibatchOracle, dict(objective=O.LeastSquares(XC, YR), batch=5, domain=S.LpBall(2, 3.0)), "domain",
        ["ball", 3, None])
    add(S.MinibatchOracle, dict(objective=O.LeastSquares(XC, YR), batch=5, domain=S.LpBall(2, 3.0)), "f_star",
        [math.nan, math.inf, "x", 1j])
    add(S.NoisyOracle, dict(objective=O.LeastSquares(XC, YR), noise=0.1, B=10.0), "noise", BAD_REAL + [-1.0])
    add(S.NoisyOracle, dict(objective=O.LeastSquares(XC, YR), noise=0.1, B=10.0), "B", BAD_REAL + [-1.0, 0.0])
    ms = dict(objective=O.LeastSquares(XC, YR), noise=0.1, domain=S.LpBall(2, 3.0))
    add(S.MeanSquareOracle, ms, "objective", [None, 3, "x", O.Quadratic(np.eye(3))])
    add(S.MeanSquareOracle, ms, "noise", BAD_REAL + [-1.0])
    add(S.MeanSquareOracle, ms, "df", BAD_REAL + [2.0, 1.0, -3.0])
    add(S.MeanSquareOracle, ms, "domain", ["ball", 3, None])
    mso = S.MeanSquareOracle(**ms)
    add(mso.sample, dict(x=np.zeros(3)), "x", _bad_arrays((3,)))
    add(mso.sample, dict(x=np.zeros(3)), "n", [0, -1, 2**63, 1.5, "x"])
    add(mso.sample, dict(x=np.zeros(3)), "rng", BAD_RNG)
    orc = _oracle()
    add(orc.sample, dict(x=np.zeros(3)), "x", _bad_arrays((3,)))
    add(orc.sample, dict(x=np.zeros(3)), "n", [0, -1, 2**63, 1.5, "x"])
    add(orc.sample, dict(x=np.zeros(3)), "rng", BAD_RNG)
    add(orc.value, dict(x=np.zeros(3)), "x", _bad_arrays((3,)))
    # stochastic: the methods
    sg = dict(oracle=orc, x0=np.zeros(3), T=20, step=0.01)
    add(S.sgd, sg, "oracle", [None, 3, "x", lambda x: 0.0])
    add(S.sgd, sg, "x0", _bad_arrays((3,)) + [np.full(3, 10.0)])
    add(S.sgd, sg, "T", BAD_INT)
    add(S.sgd, sg, "step", [math.nan, math.inf, -1.0, 0.0, "fast", None, 1j, [0.1, 0.2], np.full(20, np.nan),
                            lambda t: -1.0])
    add(S.sgd, sg, "domain", ["ball", 3])
    add(S.sgd, sg, "quantizer", BAD_QUANTIZER)
    add(S.sgd, sg, "rng", BAD_RNG)
    add(S.sgd, sg, "record_every", [0, -1, 2**63, 1.5, "x"])
    add(S.sgd, sg, "engine", ["fast", None, 3])
    md = dict(oracle=orc, x0=np.zeros(3), T=20, p=1.5, step=0.01, domain=S.LpBall(1, 3.0))
    add(S.mirror_descent, md, "x0", _bad_arrays((3,)))
    add(S.mirror_descent, md, "T", BAD_INT)
    add(S.mirror_descent, md, "p", [math.nan, "x", None, 0.5, 3.0])
    add(S.mirror_descent, md, "step", [math.nan, -1.0, 0.0, "fast", None])
    add(S.mirror_descent, md, "domain", ["ball", 3, box])
    add(S.mirror_descent, md, "quantizer", BAD_QUANTIZER)
    add(S.mirror_descent, md, "rng", BAD_RNG)
    add(S.mirror_descent, md, "r", [math.nan, "x", 1.0, 3.0])
    th = dict(method="sgd", oracle=orc, domain=S.LpBall(2, 3.0), quantizer=None, T=100, d=3)
    add(S.theory_step, th, "method", ["adam", None, 3])
    add(S.theory_step, th, "T", BAD_INT)
    add(S.theory_step, th, "d", BAD_INT)
    add(S.theory_step, th, "quantizer", BAD_QUANTIZER)
    add(S.theory_step, th, "domain", ["ball", 3])
    cmp = dict(problem=prob, quantizers=[None], T=10, repeats=2)
    add(S.compare, cmp, "problem", [None, 3, "x", orc])
    add(S.compare, cmp, "quantizers", [[], None, 3, [object()], [SimQ]])
    add(S.compare, cmp, "T", BAD_INT)
    add(S.compare, cmp, "repeats", BAD_INT)
    add(S.compare, cmp, "rng", BAD_RNG)
    add(S.compare, cmp, "step", ["fast", -1.0, math.nan])
    add(S.compare, cmp, "method", ["adam", 3])
    add(S.compare, cmp, "x0", _bad_arrays((8,), none_ok=True))
    add(S.compare, cmp, "record_every", [-1, 2**63, 1.5, "x"])
    add(S.compare, cmp, "progress", [3, "x"])
    cb = dict(problem=prob, budgets=[16], T=10, repeats=2)
    add(S.compare_budgets, cb, "budgets", [[], None, 3, "x", [0], [1.5], [2**63]])
    add(S.compare_budgets, cb, "T", BAD_INT)
    add(S.compare_budgets, cb, "repeats", BAD_INT)
    add(S.compare_budgets, cb, "c0", [math.nan, -1.0, 0.0, "x", 2.0])   # 2.0: c0 > c1 = 1
    add(S.compare_budgets, cb, "c1", [math.nan, -1.0, 0.0, "x", 0.5])
    # convexity
    quad = O.Quadratic(np.eye(3))
    add(CVX.check, dict(f=quad, n=10, rng=0), "f", [None, 3, "x"])
    add(CVX.check, dict(f=lambda x: float(x @ x), n=10, dim=3, rng=0), "grad", [3, "x"])
    add(CVX.check, dict(f=lambda x: float(x @ x), n=10, dim=3, rng=0), "hess", [3, "x"])
    add(CVX.check, dict(f=quad, n=10, rng=0), "sampler", [3, "x", lambda g, n: np.ones((n, 2)),
                                                          lambda g, n: np.full((n, 3), np.nan),
                                                          lambda g, n: np.ones((n, 3)), lambda g, n: "x"])
    add(CVX.check, dict(f=quad, n=10, rng=0), "points", _bad_arrays((10, 3), none_ok=True))
    add(CVX.check, dict(f=quad, n=10, rng=0), "n", [1, -1, 2**63, 1.5, "x", None])
    add(CVX.check, dict(f=quad, n=10, rng=0), "rng", BAD_RNG)
    add(CVX.check, dict(f=quad, n=10, rng=0), "f_star", [math.nan, "x", 1j])
    add(CVX.check, dict(f=lambda x: float(x @ x), n=10, rng=0), "dim", [0, -1, 2**63, 1.5, "x"])
    add(CVX.check, dict(f=quad, n=10, rng=0), "scale", BAD_REAL + [-1.0, 0.0])
    add(CVX.check, dict(f=quad, n=10, rng=0), "rtol", BAD_REAL + [-1.0])
    add(CVX.check, dict(f=quad, n=10, rng=0), "max_violations", [-1, 2**63, 1.5, "x", None])
    add(CVX.check, dict(f=quad, n=10, rng=0), "L", BAD_OPTIONAL + [0.0, -1.0])
    add(CVX.check, dict(f=quad, n=10, rng=0), "mu", BAD_OPTIONAL)
    lcv = dict(logdensity=lambda x: -np.sum(x * x, axis=1), dim=2, n=10, rng=0)
    add(CVX.check_log_concave, lcv, "logdensity", [None, 3, "x"])
    for arg, bad in (("n", [1, -1, 1.5, "x", None]), ("dim", [0, -1, 1.5, "x"]), ("rng", BAD_RNG),
                     ("scale", BAD_REAL + [0.0]), ("rtol", BAD_REAL + [-1.0]), ("points", _bad_arrays((10, 2), none_ok=True)),
                     ("vectorized", ["x", 2]), ("max_violations", [-1, 1.5, None])):
        add(CVX.check_log_concave, lcv, arg, bad)
    for arg, bad in (("mu", BAD_REAL + [0.0, 9.0]), ("L", BAD_REAL + [0.0]), ("k", [-1, 1.5, "x", None]),
                     ("gap0", BAD_REAL + [-1.0]), ("form", ["x", 3, None])):
        add(CVX.pl_rate, dict(mu=1.0, L=2.0, k=3), arg, bad)
    # torch
    try:
        import torch  # noqa: F401
        from convq import torch as CT
    except ImportError:  # pragma: no cover - optional dependency
        CT = None
    if CT is not None:
        add(CT.quantized_hook, dict(), "quantizer", BAD_QUANTIZER)
        add(CT.quantized_hook, dict(), "rng", BAD_RNG + [2**64 * -1])
        add(CT.quantized_hook, dict(), "gain_shape", ["yes", None, 2])
    return cases


CASES2 = _cases_models_stochastic()


@pytest.mark.parametrize("fn, kwargs, arg, bad, ok", CASES2)
def test_bad_argument_is_named_models_stochastic(fn, kwargs, arg, bad, ok):
    import warnings
    kw = dict(kwargs)
    kw[arg] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ok) as info:
            fn(**kw)
    # the name as a word: a one-letter argument (X, y, T, d, p, r, n) must not match inside other words
    named = re.search(r"(?<![A-Za-z0-9_])" + re.escape(arg) + r"(?![A-Za-z0-9])", str(info.value))
    assert named, f"{fn.__qualname__}({arg}={bad!r}) raised {info.value!r} without naming {arg!r}"


def test_sweep_covers_models_stochastic_convexity_torch():
    covered = {getattr(c.values[0], "__qualname__", "") for c in CASES2}
    for name in M.__all__:
        obj = getattr(M, name)
        if isinstance(obj, type) and issubclass(obj, (BaseException, Warning)):
            continue
        if name in _ESTIMATORS:
            for meth in ("fit", "predict", "score"):
                assert f"{name}.{meth}" in covered, f"convq.models.{name}.{meth} is not in the sweep"
        else:
            assert name in covered, f"convq.models.{name} is not in the sweep"
    for name in S.__all__:
        if name in ("SGDResult", "Comparison", "BudgetComparison"):
            continue  # result records
        assert name in covered, f"convq.stochastic.{name} is not in the sweep"
    for meth in ("LpBall.project", "LpBall.contains", "LpBall.diameter", "Box.project", "Box.contains",
                 "Box.diameter", "_ObjectiveOracle.sample", "_ObjectiveOracle.value", "LinearSignProblem.sample"):
        assert meth in covered, f"{meth} is not in the sweep"
    assert {"check", "check_log_concave", "pl_rate"} <= covered
    try:
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover
        return
    assert "quantized_hook" in covered
