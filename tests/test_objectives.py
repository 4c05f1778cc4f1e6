"""Objectives: C kernels vs NumPy twins and finite differences; subsets; threads; bad input."""
import numpy as np
import pytest

from convq import objectives as ob
from convq.optimize import hessian
from convq.slow.objectives import hinge as twin_hinge, lasso as twin_lasso

pytestmark = pytest.mark.c_heavy


# ---- slow NumPy twins of the seeds' costs ------------------------------------------------

def _z(X, th, icpt):
    return X @ th[1:] + th[0] if icpt else X @ th


def _r(th, icpt):
    return th[1:] if icpt else th


def twin_lsq(X, y, lam, icpt, th):
    m = len(y)
    z = _z(X, th, icpt)
    f = 0.5 / m * np.sum((z - y) ** 2) + lam / (2 * m) * np.sum(_r(th, icpt) ** 2)
    res = (z - y) / m
    g = np.concatenate([[res.sum()], X.T @ res]) if icpt else X.T @ res
    pen = lam / m * th
    if icpt:
        pen[0] = 0
    return f, g + pen


def twin_logistic(X, y, lam, icpt, th):
    m = len(y)
    z = _z(X, th, icpt)
    h = 1 / (1 + np.exp(-z))
    f = -np.mean(y * np.log(h) + (1 - y) * np.log(1 - h)) + lam / (2 * m) * np.sum(_r(th, icpt) ** 2)
    res = (h - y) / m
    g = np.concatenate([[res.sum()], X.T @ res]) if icpt else X.T @ res
    pen = lam / m * th
    if icpt:
        pen[0] = 0
    return f, g + pen


@pytest.fixture
def data(rng):
    X = rng.standard_normal((157, 9))
    y = rng.standard_normal(157)
    yl = (rng.random(157) < 0.4).astype(float)
    return X, y, yl


def fd_grad(f, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("icpt", [False, True])
@pytest.mark.parametrize("lam", [0.0, 2.5])
def test_lsq_logistic_match_twins_and_fd(data, rng, icpt, lam):
    X, y, yl = data
    for cls, twin, yy in ((ob.LeastSquares, twin_lsq, y), (ob.Logistic, twin_logistic, yl)):
        o = cls(X, yy, lam=lam, intercept=icpt)
        assert o.dim == 9 + icpt
        th = rng.standard_normal(o.dim)
        f, g = o.value_and_grad(th)
        fr, gr = twin(X, yy, lam, icpt, th)
        np.testing.assert_allclose(f, fr, rtol=1e-12)
        np.testing.assert_allclose(g, gr, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(g, fd_grad(o.value, th), rtol=1e-6, atol=1e-8)
        assert o.value(th) == f
        # hessp vs finite differences of the gradient
        v = rng.standard_normal(o.dim)
        hv = o.hessp(th, v)
        h = 1e-6
        np.testing.assert_allclose(hv, (o.grad(th + h * v) - o.grad(th - h * v)) / (2 * h), rtol=1e-5, atol=1e-7)
        # row subset = the twin on the subset (m = subset size)
        rows = rng.choice(157, size=31, replace=True)
        fs, gs = o.value_and_grad(th, rows=rows)
        fr, gr = twin(X[rows], yy[rows], lam, icpt, th)
        np.testing.assert_allclose(fs, fr, rtol=1e-12)
        np.testing.assert_allclose(gs, gr, rtol=1e-10, atol=1e-13)


def test_lsq_hessp_is_exact(data, rng):
    X, y, _ = data
    o = ob.LeastSquares(X, y, lam=1.5, intercept=True)
    Xt = np.column_stack([np.ones(len(y)), X])
    M = np.eye(10)
    M[0, 0] = 0
    H = (Xt.T @ Xt + 1.5 * M) / len(y)
    v = rng.standard_normal(10)
    np.testing.assert_allclose(o.hessp(rng.standard_normal(10), v), H @ v, rtol=1e-12)
    np.testing.assert_allclose(o.lipschitz(rng=1), np.linalg.eigvalsh(H)[-1], rtol=1e-6)


@pytest.mark.parametrize("icpt", [False, True])
def test_hinge_matches_twin(data, rng, icpt):
    X, _, yl = data
    o = ob.Hinge(X, yl, C=0.7, slope=2.0, intercept=icpt)
    th = rng.standard_normal(o.dim) * 0.3
    f, g = o.value_and_grad(th)
    fr, gr = twin_hinge(X, yl, 0.7, 2.0, icpt, th)
    np.testing.assert_allclose(f, fr, rtol=1e-12)
    np.testing.assert_allclose(g, gr, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="not twice differentiable"):
        o.hessp(th, th)
    assert o.lipschitz() == np.inf


@pytest.mark.parametrize("icpt", [False, True])
def test_smoothed_hinge_brackets_the_hinge_and_has_an_exact_hessian(data, rng, icpt):
    X, _, yl = data
    C, k, delta, m = 0.7, 2.0, 0.3, len(yl)
    hinge = ob.Hinge(X, yl, C=C, slope=k, intercept=icpt)
    o = hinge.smooth(delta)
    assert isinstance(o, ob.SmoothedHinge) and o.dim == hinge.dim
    for scale in (0.05, 0.3, 3.0):
        th = rng.standard_normal(o.dim) * scale
        # J_delta <= J <= J_delta + C k m delta / 2 (h_delta <= max(0, v) <= h_delta + delta/2)
        assert o.value(th) <= hinge.value(th) <= o.value(th) + C * k * m * delta / 2 + 1e-12
        v = rng.standard_normal(o.dim)
        fd = (o.grad(th + 1e-6 * v) - o.grad(th - 1e-6 * v)) / 2e-6
        np.testing.assert_allclose(o.hessp(th, v), fd, rtol=1e-5, atol=1e-6)
        fdg = np.array([(o.value(th + 1e-6 * e) - o.value(th - 1e-6 * e)) / 2e-6 for e in np.eye(o.dim)])
        np.testing.assert_allclose(o.grad(th), fdg, rtol=1e-5, atol=1e-5)
        H = hessian(o, th)
        np.testing.assert_allclose(H @ v, o.hessp(th, v), rtol=1e-12, atol=1e-12)
        assert np.linalg.eigvalsh(H)[-1] <= o.lipschitz(rng=0) * (1 + 1e-6)
    with pytest.raises(ValueError, match="delta"):
        hinge.smooth(0.0)
    with pytest.raises(ValueError, match="labels"):
        ob.SmoothedHinge(X, yl + 2, delta=0.1)


@pytest.mark.parametrize("delta", [0.0, 0.3])
def test_lasso_matches_twin(rng, delta):
    A = rng.standard_normal((40, 12))
    b = rng.standard_normal(40)
    o = ob.Lasso(A, b, 1.3) if delta == 0 else ob.Lasso(A, b, 1.3).smooth(delta)
    x = rng.standard_normal(12)
    x[:3] = [0.0, 0.1, -0.2]
    f, g = o.value_and_grad(x)
    fr, gr = twin_lasso(A, b, 1.3, delta, x)
    np.testing.assert_allclose(f, fr, rtol=1e-12)
    np.testing.assert_allclose(g, gr, rtol=1e-10, atol=1e-12)
    if delta:
        np.testing.assert_allclose(g, fd_grad(o.value, x), rtol=1e-5, atol=1e-6)
        L = np.linalg.eigvalsh(A.T @ A)[-1] + 1.3 / delta
        np.testing.assert_allclose(o.lipschitz(rng=0), L, rtol=1e-6)


def test_quadratic(rng):
    B = rng.standard_normal((6, 6))
    A = B @ B.T + np.eye(6)
    A[0, 1] += 0.5  # not symmetric: symmetrised
    b = rng.standard_normal(6)
    q = ob.Quadratic(A, b, c=2.0)
    x = rng.standard_normal(6)
    As = 0.5 * (A + A.T)
    f, g = q.value_and_grad(x)
    np.testing.assert_allclose(f, 0.5 * x @ As @ x - b @ x + 2.0, rtol=1e-12)
    np.testing.assert_allclose(g, As @ x - b, rtol=1e-12)
    np.testing.assert_allclose(q.hessp(x, b), As @ b, rtol=1e-12)
    np.testing.assert_allclose(q.lipschitz(rng=0), np.linalg.eigvalsh(As)[-1], rtol=1e-6)
    with pytest.raises(ValueError, match="rows"):
        q.value(x, rows=[0])


def test_threads_do_not_change_results(rng):
    # 2000 x 300 = 6e5 elements -> several row blocks
    X = rng.standard_normal((2000, 300))
    y = (rng.random(2000) < 0.5).astype(float)
    th = rng.standard_normal(301) * 0.1
    out = [ob.Logistic(X, y, lam=0.1, intercept=True, threads=t).value_and_grad(th) for t in (1, 2, 3)]
    for f, g in out[1:]:
        assert f == out[0][0]
        assert np.array_equal(g, out[0][1])


def test_input_layouts_and_no_mutation(data, rng):
    X, y, _ = data
    X0, y0 = X.copy(), y.copy()
    th = rng.standard_normal(9)
    ref = ob.LeastSquares(X, y).value_and_grad(th)
    for XX in (np.asfortranarray(X), X[:, ::-1][:, ::-1], X.tolist()):
        f, g = ob.LeastSquares(XX, y).value_and_grad(th)
        np.testing.assert_allclose(f, ref[0], rtol=1e-12)
    f32 = ob.LeastSquares(X.astype(np.float32), y).value(th)
    assert np.isfinite(f32)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    th0 = th.copy()
    ob.LeastSquares(X, y).value_and_grad(th)
    assert np.array_equal(th, th0)


def test_bad_input(data):
    X, y, yl = data
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="finite"):
        ob.LeastSquares(Xn, y)
    with pytest.raises(ValueError, match="one entry per row"):
        ob.LeastSquares(X, y[:-1])
    with pytest.raises(ValueError, match="0 or 1"):
        ob.Logistic(X, y)
    with pytest.raises(ValueError, match="lam"):
        ob.LeastSquares(X, y, lam=-1)
    with pytest.raises(TypeError):
        ob.LeastSquares("abc", y)
    with pytest.raises(TypeError, match="intercept"):
        ob.LeastSquares(X, y, intercept=1)
    o = ob.LeastSquares(X, y)
    with pytest.raises(ValueError, match="shape"):
        o.value(np.zeros(8))
    with pytest.raises(ValueError, match="finite"):
        o.value(np.full(9, np.inf))
    with pytest.raises(ValueError, match="rows"):
        o.value(np.zeros(9), rows=[0, 157])
    with pytest.raises(TypeError, match="rows"):
        o.value(np.zeros(9), rows=[0.5])
    with pytest.raises(ValueError, match="square"):
        ob.Quadratic(np.ones((2, 3)))
    with pytest.raises(ValueError, match="C"):
        ob.Hinge(X, yl, C=0)


def test_function_objective_checks():
    f = ob.Function(lambda x: float(x @ x), lambda x: 2 * x)
    assert f.value([1.0, 2.0]) == 5.0
    np.testing.assert_allclose(f.hessp([1.0, 2.0], [1.0, 0.0]), [2.0, 0.0], rtol=1e-6)
    with pytest.raises(ValueError, match="non-finite"):
        ob.Function(lambda x: np.nan).value([1.0])
    with pytest.raises(ValueError, match="shape"):
        ob.Function(lambda x: 0.0, lambda x: np.zeros(3)).grad([1.0, 2.0])
    with pytest.raises(ValueError, match="non-finite"):
        ob.Function(lambda x: 0.0, lambda x: x * np.inf).grad([1.0, 2.0])
    with pytest.raises(TypeError, match="callable"):
        ob.Function(3)
    nog = ob.Function(lambda x: float(np.sum(x ** 4)))
    np.testing.assert_allclose(nog.grad([1.0, -2.0]), [4.0, -32.0], rtol=1e-6)
    assert "Function" in repr(f) and "LeastSquares" in repr(ob.LeastSquares(np.eye(3), np.ones(3)))
