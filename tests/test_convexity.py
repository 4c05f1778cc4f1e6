"""convexity.check: violations with witnesses on non-convex functions, no false alarms on
convex ones (the seeds' examples), L and mu within 10% on quadratics, PL estimates."""
import numpy as np
import pytest

from convq import convexity
from convq import objectives as ob


def f1(x):  # x^2 + 3 sin^2 x: PL but not convex
    return float(x[0] ** 2 + 3 * np.sin(x[0]) ** 2)


def g1(x):
    return np.array([2 * x[0] + 3 * np.sin(2 * x[0])])


def f2(v):  # (y - sin x)^2 / 2: PL but not convex
    return float(0.5 * (v[1] - np.sin(v[0])) ** 2)


def g2(v):
    r = v[1] - np.sin(v[0])
    return np.array([-r * np.cos(v[0]), r])


def test_pl_examples_are_flagged_with_witnesses():
    for f, g, d in ((f1, g1, 1), (f2, g2, 2)):
        rep = convexity.check(f, g, dim=d, n=400, rng=1, scale=2.0, f_star=0.0)
        assert not rep.convex
        assert rep.violations
        crits = {v[2] for v in rep.violations}
        assert "jensen" in crits or "first-order" in crits
        # every Jensen witness really violates Jensen's inequality (margin recomputed below
        # for theta in (0.05, 0.95): some theta on the chord must violate it)
        for x, y, crit, margin in rep.violations:
            assert margin < 0
            if crit == "first-order":
                assert f(y) < f(x) + g(x) @ (y - x)
            if crit == "monotone-gradient":
                assert (g(x) - g(y)) @ (x - y) < 0
        assert rep.pl_mu is not None and rep.pl_mu > 0
        assert "NOT convex" in rep.summary()
    # (y - sin x)^2/2: ||g||^2 = 2 f (1 + cos^2 x) >= 2 f, so the PL estimate is >= 2
    rep = convexity.check(f2, g2, dim=2, n=400, rng=2, f_star=0.0)
    assert rep.pl_mu >= 2 - 1e-9 and rep.pl_mu < 2.5


def test_convex_examples_no_false_alarms(rng):
    X = rng.standard_normal((50, 3))
    yl = (rng.random(50) < 0.5).astype(float)
    cases = [
        ob.Logistic(X, yl, lam=0.1),
        ob.LeastSquares(X, rng.standard_normal(50), intercept=True),
        ob.Lasso(X, rng.standard_normal(50), 0.5).smooth(0.1),
        ob.Function(lambda v: float(np.log(np.sum(np.exp(v)))), dim=3),
        ob.Function(lambda v: float(np.sum(np.exp(v)) + v @ v), lambda v: np.exp(v) + 2 * v,
                    lambda v: np.diag(np.exp(v)) + 2 * np.eye(3), dim=3),
    ]
    for obj in cases:
        rep = convexity.check(obj, n=300, rng=3)
        assert rep.convex, (obj, rep.violations[:3])
        assert rep.violations == []
    # the quadratic example of the notes and x^2 + 10 y^2 (BB example)
    for A in (np.diag([1.0, 10.0]), np.diag([2.0, 20.0])):
        rep = convexity.check(ob.Quadratic(A), n=200, rng=4)
        assert rep.convex


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_L_and_mu_on_quadratics(seed):
    r = np.random.default_rng(seed)
    B = r.standard_normal((5, 5))
    A = B @ B.T + 0.3 * np.eye(5)
    w = np.linalg.eigvalsh(A)
    # as an Objective (Hessian via hessp) and as a plain callable with a gradient
    for target in (ob.Quadratic(A), (lambda x: float(0.5 * x @ A @ x), lambda x: A @ x)):
        if isinstance(target, tuple):
            rep = convexity.check(target[0], target[1], dim=5, n=300, rng=seed)
        else:
            rep = convexity.check(target, n=300, rng=seed)
        assert rep.convex
        assert abs(rep.smoothness_L - w[-1]) <= 0.1 * w[-1]
        assert abs(rep.strongly_convex_mu - w[0]) <= 0.1 * w[0]
    # non-convex quadratic: Hessian witness
    A2 = np.diag([1.0, -0.5, 2.0])
    rep = convexity.check(ob.Quadratic(A2), n=100, rng=seed)
    assert not rep.convex and rep.strongly_convex_mu < 0
    assert any(v[2] == "hessian" for v in rep.violations)


def test_check_bad_input():
    with pytest.raises(ValueError, match="dim"):
        convexity.check(lambda x: 0.0)
    with pytest.raises(TypeError):
        convexity.check(3)
    with pytest.raises(ValueError, match="columns"):
        convexity.check(ob.Quadratic(np.eye(2)), points=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="finite"):
        convexity.check(lambda x: float(x @ x), points=np.full((4, 2), np.nan))
    with pytest.raises(ValueError, match="non-finite"):
        convexity.check(lambda x: np.nan, dim=2, n=10, rng=0)
    rep = convexity.check(lambda x: float(x @ x), points=np.random.default_rng(0).standard_normal((20, 2)))
    assert "ConvexityReport" in repr(rep)
