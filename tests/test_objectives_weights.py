"""Sample weights, the softmax objective and scipy.sparse X for every data objective: a
weight is a repeated row, sparse equals dense, the C softmax equals its NumPy twin."""
import numpy as np
import pytest
import scipy.sparse as sp

import convq.objectives as O
from convq.optimize import minimize
from convq.slow import objectives as slow_objectives


def _data(m=37, p=6, seed=3):
    r = np.random.default_rng(seed)
    X = r.standard_normal((m, p))
    X[np.abs(X) < 0.7] = 0.0
    X[5] = 0.0                        # an empty row
    return X, r.standard_normal(m), (r.random(m) < 0.5).astype(float), r.integers(0, 3, m).astype(float)


# name -> (constructor(X, target-set, sample_weight), which target); every data objective
FACTORIES = {
    "lsq": lambda X, t, w: O.LeastSquares(X, t["y"], 0.3, True, sample_weight=w),
    "logistic": lambda X, t, w: O.Logistic(X, t["yl"], 0.2, True, sample_weight=w),
    "logistic-noicpt": lambda X, t, w: O.Logistic(X, t["yl"], 0.0, False, sample_weight=w),
    "softmax": lambda X, t, w: O.Softmax(X, t["yk"], 3, 0.5, True, sample_weight=w),
    "softmax-noicpt": lambda X, t, w: O.Softmax(X, t["yk"], 4, 0.0, False, sample_weight=w),
    "hinge": lambda X, t, w: O.Hinge(X, t["yl"], 0.7, 2.0, True, sample_weight=w),
    "smoothed-hinge": lambda X, t, w: O.SmoothedHinge(X, t["yl"], 0.7, 2.0, True, 0.5, sample_weight=w),
    "lasso": lambda X, t, w: O.Lasso(X, t["y"], 0.1, sample_weight=w),
    "lasso-smoothed": lambda X, t, w: O.Lasso(X, t["y"], 0.1, delta=0.05, sample_weight=w),
}
SMOOTH = ("lsq", "logistic", "logistic-noicpt", "softmax", "softmax-noicpt", "smoothed-hinge", "lasso-smoothed")


def _targets(y, yl, yk):
    return {"y": y, "yl": yl, "yk": yk}


def _points(obj, seed=0):
    r = np.random.default_rng(seed)
    return [np.zeros(obj.dim), 0.3 * r.standard_normal(obj.dim), r.standard_normal(obj.dim)]


def _close(a, b, tol):
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.max(np.abs(b), initial=0.0))))


def _same_kernels(a, b, th, smooth, rows=None):
    """Two objectives agree at th: value and gradient (on rows), and for a smooth one the
    Hessian-vector product and the Hessian diagonal."""
    fa, ga = a.value_and_grad(th, rows)
    fb, gb = b.value_and_grad(th, rows)
    _close(fa, fb, 1e-12)
    _close(ga, gb, 1e-12)
    if smooth:
        v = np.random.default_rng(2).standard_normal(a.dim)
        _close(a.hessp(th, v), b.hessp(th, v), 1e-12)
        _close(a._hess_diag(th), b._hess_diag(th), 1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_integer_weights_equal_repeated_rows(name, sparse):
    X, y, yl, yk = _data()
    w = np.random.default_rng(1).integers(0, 4, X.shape[0]).astype(float)   # zeros drop rows
    rep = np.repeat(np.arange(X.shape[0]), w.astype(int))
    cast = sp.csr_matrix if sparse else np.asarray
    weighted = FACTORIES[name](cast(X), _targets(y, yl, yk), w)
    repeated = FACTORIES[name](cast(X[rep]), _targets(y[rep], yl[rep], yk[rep]), None)
    assert weighted.dim == repeated.dim and weighted.sparse == sparse
    for th in _points(weighted):
        _same_kernels(weighted, repeated, th, name in SMOOTH)
    # the line-search trials (values and slopes from a cached predictor) see the weights too
    if name in SMOOTH:
        x0 = np.full(weighted.dim, 0.05)
        rw = minimize(weighted, x0, method="lbfgs", tol=1e-9, max_iter=6)
        rr = minimize(repeated, x0, method="lbfgs", tol=1e-9, max_iter=6)
        assert rw.nit == rr.nit and rw.nfev == rr.nfev
        _close(rw.x, rr.x, 1e-10)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_sparse_equals_dense(name, fmt):
    X, y, yl, yk = _data(seed=8)
    w = np.random.default_rng(4).random(X.shape[0]) + 0.1
    t = _targets(y, yl, yk)
    dense, sparse = FACTORIES[name](X, t, w), FACTORIES[name](sp.csr_matrix(X).asformat(fmt), t, w)
    assert sparse.sparse and not dense.sparse
    rows = np.array([3, 0, 0, 36, 5])
    for th in _points(dense, 5):
        _same_kernels(sparse, dense, th, name in SMOOTH)
        _same_kernels(sparse, dense, th, False, rows)
    if name in SMOOTH:   # a solve on each reaches the same point
        x0 = np.zeros(dense.dim)
        _close(minimize(sparse, x0, method="lbfgs", tol=1e-10, max_iter=500).x,
               minimize(dense, x0, method="lbfgs", tol=1e-10, max_iter=500).x, 1e-10)


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_softmax_equals_its_twin_and_its_derivatives(intercept, sparse):
    X, _, _, yk = _data(seed=11)
    o = O.Softmax(sp.csr_matrix(X) if sparse else X, yk, 3, 0.4, intercept)
    assert o.dim == 3 * (X.shape[1] + intercept) and o.n_classes == 3
    for th in _points(o, 9) + [np.full(o.dim, 300.0)]:     # large margins: the shifted log-sum-exp
        f, g = o.value_and_grad(th)
        ft, gt = slow_objectives.value_and_grad(o, th)
        _close(f, ft, 1e-12)
        _close(g, gt, 1e-12)
    th = _points(o, 10)[2]
    v = np.random.default_rng(12).standard_normal(o.dim)
    h = 1e-6
    fd = (o.grad(th + h * v) - o.grad(th - h * v)) / (2 * h)
    _close(o.hessp(th, v), fd, 1e-6)
    E = np.eye(o.dim)
    _close(o._hess_diag(th), [o.hessp(th, E[j])[j] for j in range(o.dim)], 1e-12)
    # the Hessian bound of lipschitz() holds at th
    H = np.array([o.hessp(th, E[j]) for j in range(o.dim)])
    assert np.linalg.eigvalsh(H).max() <= o.lipschitz(rng=0) * (1 + 1e-6)


def test_two_class_softmax_is_the_logistic_cost():
    """With class 0's block fixed at 0, softmax over two classes is the logistic cost."""
    X, _, yl, _ = _data(seed=13)
    sm, lo = O.Softmax(X, yl, 2, 0.0, True), O.Logistic(X, yl, 0.0, True)
    t = np.random.default_rng(0).standard_normal(lo.dim)
    f, g = sm.value_and_grad(np.concatenate([np.zeros(lo.dim), t]))
    fl, gl = lo.value_and_grad(t)
    _close(f, fl, 1e-13)
    _close(g[lo.dim:], gl, 1e-13)


@pytest.mark.parametrize("w, match", [
    (np.ones(5), "one entry per row"), (-np.ones(37), ">= 0"), (np.zeros(37), "positive sum"),
    (np.full(37, np.nan), "finite"), ("a", "sample_weight"),
])
def test_bad_sample_weight_is_refused_by_name(w, match):
    X, y, _, _ = _data()
    with pytest.raises((ValueError, TypeError), match=match):
        O.LeastSquares(X, y, sample_weight=w)


@pytest.mark.parametrize("y, K, match", [
    (np.array([0.0, 1.5, 2.0]), None, "class indices"), (np.array([0.0, -1.0, 1.0]), None, "class indices"),
    (np.array([0.0, 1.0, 4.0]), 3, "< n_classes"), (np.array([0.0, 1.0, 1.0]), 1, "n_classes"),
])
def test_bad_softmax_labels_are_refused(y, K, match):
    with pytest.raises(ValueError, match=match):
        O.Softmax(np.ones((3, 2)), y, K)


def test_the_minibatch_oracle_refuses_weights():
    from convq.stochastic import MinibatchOracle
    X, y, _, _ = _data()
    obj = O.LeastSquares(X, y, sample_weight=np.ones(X.shape[0]))
    with pytest.raises(ValueError, match="sample weights"):
        MinibatchOracle(obj, 4)


def test_the_binding_checks_weights_and_softmax_labels():
    """The kernels index with the labels and read one weight per row: a hand-built spec
    that would read out of bounds is refused by name before any pass."""
    from convq import _core
    X, y, _, yk = _data()
    spec = O.Softmax(X, yk, 3, 0.1, True)._c_spec
    theta = np.zeros(3 * (X.shape[1] + 1))
    assert np.isfinite(_core._obj_value_grad(spec, theta, None, True)[0])
    for bad, match in ((spec._replace(w=np.ones(3)), "sample_weight"),
                       (spec._replace(y=np.where(yk == 2, 3.0, yk)), "Softmax labels"),
                       (spec._replace(y=yk + 0.5), "Softmax labels"), (spec._replace(c=1.0), "number of classes"),
                       (spec._replace(c=2.5), "number of classes")):
        with pytest.raises(ValueError, match=match):
            _core._obj_value_grad(bad, theta[:bad.c * (X.shape[1] + 1)] if bad.c == 2 else theta, None, True)
    quad = O.Quadratic(np.eye(2))._c_spec._replace(w=np.ones(2))
    with pytest.raises(TypeError, match="sample_weight"):
        _core._obj_value_grad(quad, np.zeros(2), None, False)
