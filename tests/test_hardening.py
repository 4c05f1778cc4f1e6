"""Regression tests for defects found in the hardening review: each test failed before
its fix (the item it covers is named in its docstring)."""
import math

import numpy as np
import pytest

from convq import stochastic as S


# ---- l_p ball projections at extreme scales (item 8) ------------------------------------------

def _l1_kkt(x, z, R, tol):
    """z is the Euclidean projection of x onto {||z||_1 <= R} (x outside the ball) iff
    ||z||_1 = R and, with tau >= 0, z_i = sign(x_i) (|x_i| - tau) where z_i != 0 and
    |x_i| <= tau where z_i = 0 (the KKT conditions of the problem)."""
    assert np.abs(z).sum() == pytest.approx(R, rel=1e-12)
    on = z != 0
    assert on.any()
    assert np.all(np.sign(z[on]) == np.sign(x[on]))
    tau = np.abs(x[on]) - np.abs(z[on])
    assert tau.min() >= -tol and tau.max() - tau.min() <= tol
    assert np.all(np.abs(x[~on]) <= tau.max() + tol)


@pytest.mark.parametrize("e", list(range(-300, 301, 50)))
def test_l1_projection_is_exact_at_every_scale(e, rng):
    """item 8: LpBall(1, R).project(x) at scales 1e-300 .. 1e300 is in the ball and meets
    the KKT conditions; scaling x and R together scales the projection."""
    s = 10.0 ** e
    for trial in range(20):
        v = rng.normal(size=9) * rng.choice([1.0, 1e-8, 1e4], size=9)
        v[rng.integers(0, 9)] = v[0]       # a tie
        R = float(np.abs(v).sum() * (rng.uniform(0.01, 0.9) if trial % 4 else 1e-17))
        x = s * v
        z = S.LpBall(1, s * R).project(x)
        assert np.abs(z).sum() <= s * R * (1 + 1e-12)
        _l1_kkt(x, z, s * R, tol=1e-12 * np.abs(x).max())
        z1 = S.LpBall(1, R).project(v)
        np.testing.assert_allclose(z / s, z1, rtol=1e-12, atol=1e-12 * np.abs(v).max())


def test_l1_projection_of_a_huge_point_onto_a_small_ball():
    """item 8: x = 1e16 e_1, R = 1 kept tau = 0 (the threshold rounded away): the point came
    back unchanged, 1e16 outside the ball."""
    np.testing.assert_array_equal(S.LpBall(1, 1.0).project(np.array([1e16, 0, 0])), [1.0, 0, 0])
    np.testing.assert_array_equal(S.LpBall(1, 1.0).project(np.array([-1e300, 1e300 / 3, 2.0])),
                                  [-1.0, 0, 0])
    z = S.LpBall(1, 1.0).project(np.array([1e16, 1e16 - 2, 3.0]))
    np.testing.assert_array_equal(z, [1.0, 0, 0])
    for big in (1e20, 1e100, 1e300, 1.7e308):
        for R in (1e-3, 1.0, 7.0):
            x = np.array([big, -big / 2, big / 4, 1.0])
            z = S.LpBall(1, R).project(x)
            assert np.abs(z).sum() <= R * (1 + 1e-12)
            assert z[0] == pytest.approx(R, rel=1e-12)


@pytest.mark.parametrize("p", [2.0, 1.5, 3.0, math.inf])
def test_other_lp_projections_at_extreme_scales(p, rng):
    """item 8 (audit): the l_2 scaling overflowed to ||x||_2 = inf for entries near the
    double limit and returned 0; every l_p projection stays in the ball and scales."""
    for e in range(-300, 301, 100):
        s = 10.0 ** e
        v = rng.normal(size=6)
        R = 0.3 * float(np.linalg.norm(v, ord=p))
        z = S.LpBall(p, s * R).project(s * v)
        assert np.linalg.norm(z / s, ord=p) <= R * (1 + 1e-12)
        np.testing.assert_allclose(z / s, S.LpBall(p, R).project(v), rtol=1e-9, atol=1e-12)
    x = np.array([1.7e308, -1.7e308, 3.0])
    z = S.LpBall(p, 1.0).project(x)
    assert np.linalg.norm(z, ord=p) <= 1.0 + 1e-12 and z[0] > 0.5
    if p == 2.0:
        np.testing.assert_allclose(z, [2 ** -0.5, -(2 ** -0.5), 0.0], atol=1e-15)


# ---- convq.torch.quantized_hook takes rng= like the rest of the library (item 6) --------------

def test_quantized_hook_accepts_a_generator():
    """item 6: rng=np.random.default_rng(0) was rejected with TypeError."""
    pytest.importorskip("torch")
    from convq.torch import quantized_hook
    for rng in (None, 3, 2 ** 70, np.random.SeedSequence(5), np.random.default_rng(0), np.random.PCG64(1)):
        quantized_hook(None, rng=rng)
    # rank r of N gets child r of convq._rng.spawn(rng, N): equally seeded Generators give
    # every rank the same family of streams, distinct across ranks
    draws = [quantized_hook(None, rng=np.random.default_rng(0))._generator(r, 3).random(4) for r in range(3)]
    again = quantized_hook(None, rng=np.random.default_rng(0))._generator(1, 3).random(4)
    np.testing.assert_array_equal(draws[1], again)
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[1], draws[2])
    for bad, exc in [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError),
                     (np.random.RandomState(0), TypeError)]:
        with pytest.raises(exc, match="rng"):
            quantized_hook(None, rng=bad)


# ---- models refuse non-finite labels (item 11) ---------------------------------------------------

@pytest.mark.parametrize("name", ["LogisticRegression", "LinearSVM", "MLPClassifier", "LinearRegression", "Ridge"])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_models_refuse_non_finite_y(name, bad):
    """item 11: LogisticRegression().fit(np.eye(3), [1, inf, 0]) made inf a class."""
    from convq import models
    X = np.eye(3)
    for y in ([1.0, bad, 0.0], np.array([1, bad, 0], dtype=object)):
        with pytest.raises(ValueError, match="Input y contains NaN or infinity"):
            getattr(models, name)().fit(X, y)


# ---- convexity.check validates the sampler and never reports convex from NaN (item 12) ----------

def test_convexity_check_validates_sampler_output():
    """item 12: a sampler with the wrong output dimension was accepted, and degenerate points
    gave convex=True with NaN estimates of mu and L."""
    from convq import convexity
    from convq import objectives as ob
    sq = lambda x: float(x @ x)  # noqa: E731
    bad_samplers = [
        (dict(f=ob.Quadratic(np.eye(2)), sampler=lambda g, n: g.standard_normal((n, 3))), "shape \\(1000, 2\\)"),
        (dict(f=sq, dim=3, sampler=lambda g, n: g.standard_normal(n)), "shape \\(1000, 3\\)"),
        (dict(f=sq, dim=2, sampler=lambda g, n: g.standard_normal((5, 2))), "got shape \\(5, 2\\)"),
        (dict(f=sq, dim=3, sampler=lambda g, n: np.zeros((n, 0))), "empty"),
        (dict(f=sq, sampler=lambda g, n: np.ones((n, 2))), "distinct"),
    ]
    for kw, msg in bad_samplers:
        with pytest.raises(ValueError, match="sampler") as info:
            convexity.check(**kw, rng=0)
        assert info.match(msg)
    with pytest.raises(ValueError, match="points.*distinct"):
        convexity.check(sq, points=np.ones((5, 2)))
    with pytest.raises(ValueError, match="points must have 3 columns"):
        convexity.check(sq, dim=3, points=np.ones((4, 2)))
    rep = convexity.check(sq, lambda x: 2 * x, dim=2, sampler=lambda g, n: g.standard_normal((n, 2)), n=50, rng=0)
    assert rep.convex and np.isfinite(rep.strongly_convex_mu) and np.isfinite(rep.smoothness_L)
    assert rep.strongly_convex_mu == pytest.approx(2.0, rel=1e-6)


# ---- sgd never expands a constant step and checks its sizes first (item 15) ----------------------

def _small_oracle():
    from convq import objectives as ob
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    obj = ob.LeastSquares(X, X @ np.ones(4))
    return S.MinibatchOracle(obj, 5, domain=S.LpBall(2, 3.0))


@pytest.mark.parametrize("engine", ["c", "python"])
def test_sgd_constant_step_is_not_expanded(engine):
    """item 15: a fixed step was expanded to a length-T array (8 GB at T = 10^9) before the
    run; now C reads one double, and the result's step is a stride-0 view."""
    orc = _small_oracle()
    a = S.sgd(orc, np.zeros(4), 2000, 0.01, rng=1, engine=engine)
    b = S.sgd(orc, np.zeros(4), 2000, np.full(2000, 0.01), rng=1, engine=engine)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.x_last, b.x_last)
    assert a.step.shape == (2000,) and a.step.strides == (0,) and np.all(a.step == 0.01)
    assert a.nit == 2000


def test_sgd_refuses_unallocatable_sizes_before_building_anything():
    """item 15: T = 10^9 with record_every = 1, or with a callable step, needs more memory than
    exists: ValueError naming T at once (the callable is never called)."""
    orc = _small_oracle()
    calls = []

    def step(t):
        calls.append(t)
        return 0.01

    for T in (10**12, 2**62):
        with pytest.raises(ValueError, match="T = "):
            S.sgd(orc, np.zeros(4), T, 0.01, record_every=1, rng=0)
        with pytest.raises(ValueError, match="T = .*step sizes"):
            S.sgd(orc, np.zeros(4), T, step, rng=0)
        with pytest.raises(ValueError, match="T = "):
            S.mirror_descent(orc, np.zeros(4), T, 1.5, step, domain=S.LpBall(1, 3.0), rng=0)
    assert calls == []
    with pytest.raises(ValueError, match=r"T must be .*2\^63 - 1"):
        S.sgd(orc, np.zeros(4), 2**63, 0.01, rng=0)
