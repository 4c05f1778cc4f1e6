"""LeastSquares and Logistic with a scipy.sparse X: the CSR kernels against the dense C
objective and the NumPy twin, the solvers on a sparse problem against the dense one and
scikit-learn, and what is refused."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from convq import _core, _spec
from convq import objectives as O
from convq import stochastic as S
from convq.optimize import hessian, minimize
from convq.slow import objectives as slow_objectives
from convq.slow import optimize as slow_optimize

FORMATS = ("csr", "csc", "coo")


def _data(seed=0, m=60, p=12):
    """A sparse design with empty rows and columns, labels in {0, 1}, real targets."""
    r = np.random.default_rng(seed)
    X = r.standard_normal((m, p)) * (r.random((m, p)) < 0.3)
    X[[4, 17, 18]] = 0.0        # empty rows
    X[:, [0, 7]] = 0.0          # empty columns
    yl = (r.random(m) < 0.4).astype(float)
    return X, yl, X @ r.standard_normal(p) + 0.1 * r.standard_normal(m)


def _close(a, b, rtol):
    """a == b to rtol relative to the size of b (entrywise for vectors, by the norm)."""
    b = np.asarray(b, dtype=float)
    scale = max(np.linalg.norm(b.ravel()), np.finfo(float).tiny)
    assert np.linalg.norm(np.asarray(a, dtype=float).ravel() - b.ravel()) <= rtol * scale


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cls", [O.LeastSquares, O.Logistic])
@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_sparse_equals_dense_and_the_twin(fmt, cls, intercept, lam):
    X, yl, yr = _data()
    y = yl if cls is O.Logistic else yr
    sparse = cls(sp.csr_matrix(X).asformat(fmt), y, lam, intercept)
    dense = cls(X, y, lam, intercept)
    assert sparse.sparse and not dense.sparse and sparse.dim == dense.dim
    r = np.random.default_rng(1)
    for th in (np.zeros(dense.dim), r.standard_normal(dense.dim), 30 * r.standard_normal(dense.dim)):
        v = r.standard_normal(dense.dim)
        fs, gs = sparse.value_and_grad(th)
        fd, gd = dense.value_and_grad(th)
        ft, gt = slow_objectives.value_and_grad(sparse, th)
        _close(fs, fd, 1e-12)
        _close(fs, ft, 1e-12)
        _close(gs, gd, 1e-12)
        _close(gs, gt, 1e-12)
        _close(sparse.hessp(th, v), dense.hessp(th, v), 1e-12)
        _close(sparse.hessp(th, v), slow_objectives.hessp(sparse, th, v), 1e-12)
        _close(sparse._hess_diag(th), dense._hess_diag(th), 1e-12)
        _close(sparse._hess_diag(th), slow_optimize.hess_diag(sparse, th), 1e-12)
        rows = np.array([4, 0, 17, 59, 3, 3])
        _close(sparse.value_and_grad(th, rows)[1], dense.value_and_grad(th, rows)[1], 1e-12)
        _close(sparse.hessp(th, v, rows), dense.hessp(th, v, rows), 1e-12)
    _close(hessian(sparse, th), hessian(dense, th), 1e-12)


def test_canonical_csr_sums_duplicates_and_takes_int64_indices():
    """COO duplicates are summed (as scipy's toarray does); int64 indices are taken as they are."""
    rows, cols = np.array([0, 2, 2, 2, 5]), np.array([1, 3, 3, 0, 1])
    vals = np.array([1.0, 2.0, -5.0, 4.0, 3.0])  # integers: the int32 copy below is exact
    Xc = sp.coo_matrix((vals, (rows, cols)), shape=(6, 4))
    y = np.arange(6.0)
    o = O.LeastSquares(Xc, y, 0.1, True)
    assert sp.isspmatrix_csr(o.X) and o.X.has_canonical_format and o.X.nnz == 4
    X64 = sp.csr_matrix(Xc)
    X64.indptr, X64.indices = X64.indptr.astype(np.int64), X64.indices.astype(np.int64)
    d = O.LeastSquares(Xc.toarray(), y, 0.1, True)
    th = np.array([0.3, -1.0, 2.0, 0.5, -0.25])
    for obj in (o, O.LeastSquares(X64, y, 0.1, True), O.LeastSquares(Xc.astype(np.int32), y, 0.1, True)):
        _close(obj.value_and_grad(th)[1], d.value_and_grad(th)[1], 1e-15)


def test_sparse_passes_are_bit_identical_across_threads():
    """Several blocks (60000 rows): the per-block partial sums are reduced in block order."""
    r = np.random.default_rng(3)
    X = sp.random(60000, 40, density=0.25, format="csr", random_state=4)
    y = (r.random(60000) < 0.5).astype(float)
    th, v = r.standard_normal(41), r.standard_normal(41)
    one = O.Logistic(X, y, 0.5, True, threads=1)
    f1, g1 = one.value_and_grad(th)
    h1 = one.hessp(th, v)
    for threads in (2, 3, 8):
        o = O.Logistic(X, y, 0.5, True, threads=threads)
        f, g = o.value_and_grad(th)
        assert f == f1 and np.array_equal(g, g1) and np.array_equal(o.hessp(th, v), h1)


def _kkt_residual(obj, x):
    return float(np.linalg.norm(obj.grad(x)))


@pytest.mark.parametrize("method", ["newton-cg", "lbfgs"])
def test_sparse_logistic_reaches_the_dense_and_sklearn_optimum(method):
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y, _ = _data(seed=5, m=300, p=25)
    lam = 2.0
    sparse, dense = O.Logistic(sp.csr_matrix(X), y, lam, True), O.Logistic(X, y, lam, True)
    x0 = np.zeros(sparse.dim)
    rs = minimize(sparse, x0, method=method, tol=1e-11, max_iter=2000)
    rd = minimize(dense, x0, method=method, tol=1e-11, max_iter=2000)
    # (newton-cg's line search stops at a gradient norm near 1e-10 here, dense or sparse alike)
    assert _kkt_residual(dense, rs.x) < 1e-9 and _kkt_residual(dense, rd.x) < 1e-9
    _close(rs.x, rd.x, 1e-8)
    # sklearn: C sum_i loss_i + 1/2 ||w||^2 (intercept unpenalised) is m/lam times ours with C = 1/lam
    clf = sklearn.LogisticRegression(C=1.0 / lam, solver="newton-cholesky", tol=1e-14, max_iter=1000)
    clf.fit(X, y)
    xs = np.r_[clf.intercept_, clf.coef_.ravel()]
    assert _kkt_residual(dense, xs) < 1e-10, "sklearn's point is not optimal enough to compare against"
    _close(rs.x, xs, 1e-8)


@pytest.mark.parametrize("method", ["gd", "bb", "nesterov", "cg", "lbfgs", "newton-cg", "newton"])
@pytest.mark.parametrize("cls", [O.LeastSquares, O.Logistic])
def test_every_method_runs_the_dense_iteration_on_a_sparse_x(method, cls):
    X, yl, yr = _data(seed=2)
    y = yl if cls is O.Logistic else yr
    sparse, dense = cls(sp.csc_matrix(X), y, 0.3, True), cls(X, y, 0.3, True)
    x0 = np.full(sparse.dim, 0.1)
    rs = minimize(sparse, x0, method=method, tol=1e-10, max_iter=8)
    rd = minimize(dense, x0, method=method, tol=1e-10, max_iter=8)
    assert rs.nit == rd.nit
    _close(rs.x, rd.x, 1e-9)


def _csr_spec(**change):
    X, yl, _ = _data()
    A = sp.csr_matrix(X)
    fields = dict(indptr=A.indptr.astype(np.int64), indices=A.indices.astype(np.int64), data=A.data, n_cols=12)
    fields.update(change)
    return _spec.ObjectiveSpec(_core.OBJ_LOGISTIC, _spec.CSRSpec(**fields), yl), A


def test_the_binding_checks_a_hand_built_csr_in_full():
    """The C entry points index with the CSR arrays: anything that would read out of
    bounds is a ValueError naming X, before any pass."""
    good, A = _csr_spec()
    theta = np.zeros(12)
    assert _core._obj_value_grad(good, theta, None, False)[0] == pytest.approx(np.log(2.0))
    bad_indices = A.indices.astype(np.int64)
    bad_indices[5] = 12
    negative = A.indices.astype(np.int64)
    negative[0] = -3
    decreasing = A.indptr.astype(np.int64)
    decreasing[10] = decreasing[12] + 1
    short_end = A.indptr.astype(np.int64)
    short_end[-1] -= 1
    for change in (dict(indices=bad_indices), dict(indices=negative), dict(indptr=decreasing),
                   dict(indptr=short_end), dict(data=A.data[:-1]), dict(n_cols=-1), dict(indptr=np.zeros(0, np.int64))):
        spec, _ = _csr_spec(**change)
        for call in (lambda: _core._obj_value_grad(spec, theta, None, True),
                     lambda: _core._obj_hessp(spec, theta, theta, None), lambda: _core._obj_hess_diag(spec, theta),
                     lambda: _core._obj_matvec(spec, theta)):
            with pytest.raises(ValueError, match="X"):
                call()
    with pytest.raises(TypeError, match="X"):      # CSR is for the objectives with data rows only
        _core._obj_value_grad(good._replace(kind=_core.OBJ_QUADRATIC), theta, None, False)
    with pytest.raises(TypeError, match="X.indices"):
        _core._obj_value_grad(_csr_spec(indices=A.indices.astype(float))[0], theta, None, False)


def test_what_takes_only_a_dense_x_refuses_a_sparse_objective():
    # the stochastic oracles take sparse objectives (tests/test_stochastic_oracles.py), as
    # convq.distributed.train takes sparse shards (tests/test_distributed.py)
    X, y, _ = _data()
    obj = O.Logistic(sp.csr_matrix(X), y, 0.1, True)
    dense, ball = O.Logistic(X, y, 0.1, True), S.LpBall(2, 1.0)
    assert S.MinibatchOracle(obj, 5, domain=ball).q_bound == pytest.approx(S.MinibatchOracle(dense, 5, domain=ball).q_bound)
    with pytest.raises(TypeError, match="A must be a dense array"):
        O.Quadratic(sp.csr_matrix(np.eye(3)))
