"""Table-driven bad-input sweep (hardening issue, acceptance): every public function of the
optimisation, objective, bound and coding modules, each argument fed the hostile values of its
kind (NaN, Inf, empty, wrong ndim/length, complex/str/object dtypes, non-contiguous views,
negative/zero/huge numbers, integers >= 2^63, wrong types). Each must raise ValueError or
TypeError (DecodeError for malformed payloads) whose message names the argument; none may
crash, hang, overflow or answer. The sampling, models and stochastic modules have their own
sweeps (test_hardening_sampling.py, test_hardening_models.py)."""
import math

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


def _cases():
    cases = []

    def add(fn, kwargs, arg, bads, ok=(ValueError, TypeError)):
        for i, bad in enumerate(bads):
            cases.append(pytest.param(fn, kwargs, arg, bad, ok, id=f"{getattr(fn, '__qualname__', fn)}-{arg}-{i}"))

    # objectives: constructors
    add(O.LeastSquares, dict(X=X, y=Y), "X", _bad_arrays(X.shape, length_fixed=False))
    add(O.LeastSquares, dict(X=X, y=Y), "y", _bad_arrays(Y.shape))
    add(O.LeastSquares, dict(X=X, y=Y), "lam", BAD_REAL + [-1.0])
    add(O.LeastSquares, dict(X=X, y=Y), "threads", [0, -1, 2**63, 1.5, "x"])
    add(O.Logistic, dict(X=X, y=Y01), "X", _bad_arrays(X.shape, length_fixed=False))
    add(O.Logistic, dict(X=X, y=Y01), "y", _bad_arrays(Y.shape) + [np.full(12, 0.5), np.full(12, 2.0)])
    add(O.Logistic, dict(X=X, y=Y01), "lam", BAD_REAL + [-1.0])
    add(O.Hinge, dict(X=X, y=Y01), "C", BAD_REAL + [-1.0, 0.0])
    add(O.Hinge, dict(X=X, y=Y01), "slope", BAD_REAL + [-1.0, 0.0])
    add(O.Hinge, dict(X=X, y=Y01), "y", _bad_arrays(Y.shape))
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "A", _bad_arrays(X.shape, length_fixed=False))
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "b", _bad_arrays(Y.shape))
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "mu", BAD_REAL + [-1.0])
    add(O.Lasso, dict(A=X, b=Y, mu=1.0), "delta", BAD_REAL + [-1.0])
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
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "x0", _bad_arrays((3,)))
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "obj", [None, 3, "x", lambda x: 0.0])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "method", ["Newton-CG", None, 3])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "step", ["wolfe", None, 3])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "tol", BAD_REAL + [-1.0])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "max_iter", [-1, 2**63, 2**64, 1.5, "x", None])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "engine", ["fast", None, 3])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3)), "callback", [3, "x"])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), step="fixed"), "t", BAD_OPTIONAL + [-1.0, 0.0])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="cg"), "variant", ["PR", None, 3, "bb1"])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="cg"), "step", ["fixed", None, 3])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="cg"), "c2", BAD_REAL + [0.0, 1.0, 1e-5])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="cg"), "memory", [3])
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
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="newton"), "tol", BAD_REAL + [-1.0])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="newton"), "alpha", BAD_REAL + [0.0, 0.5, 1.0])
    add(OPT.minimize, dict(obj=ls, x0=np.zeros(3), method="newton"), "beta", BAD_REAL + [0.0, 1.0])
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


@pytest.mark.parametrize("fn, kwargs, arg, bad, ok", CASES)
def test_bad_argument_is_named(fn, kwargs, arg, bad, ok):
    kw = dict(kwargs)
    kw[arg] = bad
    with pytest.raises(ok) as info:
        fn(**kw)
    assert arg in str(info.value), f"{fn.__qualname__}({arg}={bad!r}) raised {info.value!r} without naming {arg!r}"


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
