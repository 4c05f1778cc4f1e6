"""convexity: strict and strong convexity against exact eigenvalues (x^4 strictly but not
strongly convex), the quadratic bounds and co-coercivity, pl_rate on a PL function that is
not convex, check_log_concave and the samplers' NotLogConcaveWarning."""
import warnings

import numpy as np
import pytest

import convq
from convq import convexity
from convq import objectives as ob
from convq import optimize
from convq import sampling as S
from convq.slow import sampling as slow_sampling

_R = np.random.default_rng(7)
_X = _R.standard_normal((50, 3))
_YL = (_R.random(50) < 0.5).astype(float)
_YR = _R.standard_normal(50)
_XD = _X.copy()
_XD[:, 2] = _X[:, 0] - 2 * _X[:, 1]          # rank 2


def _x4(kind):
    f = lambda x: float(np.sum(x ** 4))  # noqa: E731
    g = lambda x: 4 * x ** 3  # noqa: E731
    if kind == "hess":
        return dict(f=ob.Function(f, g, lambda x: np.diag(12 * x ** 2), dim=3))
    return dict(f=f, grad=g if kind == "grad" else None, dim=3)


_EXP = dict(f=ob.Function(lambda x: float(np.exp(x[0])), lambda x: np.exp(x), lambda x: np.exp(x)[None, :], dim=1))
_LSE = dict(f=lambda v: float(np.log(np.sum(np.exp(v)))), dim=3)   # affine along (1, 1, 1)

# (arguments of check, strictly convex, strongly convex, exact mu or None)
CASES = {
    "quadratic": (dict(f=ob.Quadratic(_X.T @ _X / 50 + 0.2 * np.eye(3))), True, True,
                  np.linalg.eigvalsh(_X.T @ _X / 50 + 0.2 * np.eye(3))[0]),
    "logistic-lam": (dict(f=ob.Logistic(_X, _YL, lam=2.0)), True, True, 2.0 / 50),   # Hessian -> lam/m I far out
    "least-squares": (dict(f=ob.LeastSquares(_X, _YR)), True, True, np.linalg.eigvalsh(_X.T @ _X / 50)[0]),
    "x4-hess": (_x4("hess"), True, False, 0.0),
    "x4-grad": (_x4("grad"), True, False, 0.0),
    "x4-plain": (_x4("plain"), True, False, 0.0),
    "exp": (_EXP, True, False, 0.0),
    "logistic-no-lam": (dict(f=ob.Logistic(_X, _YL)), True, False, 0.0),
    "logistic-intercept": (dict(f=ob.Logistic(_X, _YL, lam=2.0, intercept=True)), True, False, 0.0),
    "least-squares-rank-2": (dict(f=ob.LeastSquares(_XD, _YR)), False, False, 0.0),
    "log-sum-exp": (_LSE, False, False, 0.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_strict_and_strong_convexity_against_exact_values(name):
    kw, strict, strong, mu = CASES[name]
    rep = convexity.check(**kw, n=300, rng=3)
    assert rep.convex and rep.violations == []
    assert rep.strictly_convex is strict, rep.evidence
    assert rep.strongly_convex is strong, rep.evidence
    assert rep.strongly_convex_mu == pytest.approx(mu, rel=1e-6, abs=1e-12)
    assert rep.bounds_hold                                      # no false alarm with the estimates
    assert set(rep.evidence) == {"strict", "strong"}
    text = rep.summary()
    assert f"strictly convex: {strict}" in text and f"strongly convex: {strong}" in text


def test_x4_is_strictly_but_not_strongly_convex():
    """The acceptance point: sum x_i^4 (today "convex, mu ~ 2e-4")."""
    rep = convexity.check(**_x4("hess"), n=1000, rng=0)
    assert rep.convex and rep.strictly_convex is True and rep.strongly_convex is False
    assert rep.strongly_convex_mu == 0.0
    ev = rep.evidence["strong"]
    assert "zero within the resolution" in ev and "search" in ev
    # the point the search reached has a singular Hessian: one coordinate (numerically) zero
    x = np.array([float(t) for t in ev.split("x = [")[1].rstrip("]").split()])
    assert np.min(np.abs(x)) < 1e-4 and 12 * np.min(x ** 2) <= 1e-6
    assert "strictly monotone" in rep.evidence["strict"]


def test_not_convex_is_neither_strictly_nor_strongly():
    f = lambda x: float(x[0] ** 2 + 3 * np.sin(x[0]) ** 2)  # noqa: E731
    rep = convexity.check(f, lambda x: np.array([2 * x[0] + 3 * np.sin(2 * x[0])]), dim=1, n=300, rng=1, scale=2.0)
    assert not rep.convex and rep.strictly_convex is False and rep.strongly_convex is False


def test_the_search_can_find_a_hessian_witness_outside_the_sample():
    """x^2 - 1e-3 x^4 per coordinate is convex for |x| < 12.9, where the normal sample lies;
    the search along the flattest direction walks out to negative curvature."""
    h = lambda x: np.diag(2 - 12e-3 * x ** 2)  # noqa: E731
    f = ob.Function(lambda x: float(np.sum(x ** 2 - 1e-3 * x ** 4)), lambda x: 2 * x - 4e-3 * x ** 3, h, dim=2)
    rep = convexity.check(f, n=100, rng=0)
    assert not rep.convex and rep.strictly_convex is False and rep.strongly_convex is False
    (x, _, crit, margin), = rep.violations
    assert crit == "hessian" and np.max(np.abs(x)) > 12.9
    assert margin == pytest.approx(np.linalg.eigvalsh(h(x))[0]) and margin < 0
    assert rep.strongly_convex_mu <= margin


def test_affine_piece_is_not_strictly_convex():
    """max(0, x)^2 is convex, affine (zero) on x < 0: sampled pairs there are flat."""
    f = lambda x: float(max(0.0, x[0]) ** 2)  # noqa: E731
    rep = convexity.check(f, lambda x: np.array([2 * max(0.0, x[0])]), dim=1, n=200, rng=2)
    assert rep.convex and rep.strictly_convex is False and rep.strongly_convex is False
    assert "affine on the sampled segment" in rep.evidence["strict"]


def test_no_second_order_information_leaves_strict_and_strong_undecided():
    d = 201
    rep = convexity.check(lambda x: float(x @ x), lambda x: 2 * x, dim=d, n=50, rng=0)
    assert rep.convex and rep.strictly_convex is None and rep.strongly_convex is None
    assert "no second-order information" in rep.evidence["strong"]
    assert rep.strongly_convex_mu == pytest.approx(2.0)


def test_search_stays_in_the_box_of_given_points():
    """exp on points in [0, 1]: the curvature there is >= 1, so strongly convex on them."""
    pts = np.random.default_rng(0).random((100, 1))
    rep = convexity.check(**_EXP, points=pts, rng=0)
    assert rep.strongly_convex is True
    assert rep.strongly_convex_mu >= 1.0 and rep.strongly_convex_mu <= np.exp(pts.min()) + 1e-12
    # a rank-deficient least squares on given points: the probe segments shrink into their box
    pts = np.random.default_rng(1).random((100, 3))
    rep = convexity.check(ob.LeastSquares(_XD, _YR), points=pts, rng=0)
    assert rep.convex and rep.strictly_convex is False and rep.strongly_convex is False
    assert "probe segment" in rep.evidence["strict"]
    x, y = (np.array([float(t) for t in part.split("]")[0].split()])
            for part in rep.evidence["strict"].split("= [")[1:3])
    assert np.all((x >= pts.min(0)) & (x <= pts.max(0)) & (y >= pts.min(0)) & (y <= pts.max(0)))


def test_quadratic_bounds_and_co_coercivity_witnesses():
    A = np.diag([1.0, 10.0])
    q = ob.Quadratic(A)
    exact = convexity.check(q, n=300, rng=5, L=10.0, mu=1.0)
    assert exact.bounds_hold and exact.tested_L == 10.0 and exact.tested_mu == 1.0
    rep = convexity.check(q, n=300, rng=5, L=5.0, mu=2.0)
    assert rep.convex and not rep.bounds_hold             # the constants are wrong, f is still convex
    crits = {v[2] for v in rep.violations}
    assert crits == {"upper-bound", "lower-bound", "co-coercivity"}
    f, g = q.value, q.grad
    for x, y, crit, margin in rep.violations:
        d = y - x
        assert margin < 0
        if crit == "upper-bound":
            assert f(y) > f(x) + g(x) @ d + 5.0 / 2 * d @ d
        elif crit == "lower-bound":
            assert f(y) < f(x) + g(x) @ d + 2.0 / 2 * d @ d
        else:
            assert (g(x) - g(y)) @ (x - y) < (g(x) - g(y)) @ (g(x) - g(y)) / 5.0
    assert "VIOLATED" in rep.summary() and "upper-bound" in rep.summary()
    with pytest.raises(ValueError, match="L"):
        convexity.check(q, n=10, rng=0, L=0.0)


def test_pl_rate_values_and_forms():
    assert convexity.pl_rate(1.0, 4.0, 3, 2.0) == pytest.approx(0.75 ** 3 * 2.0)
    assert convexity.pl_rate(1.0, 4.0) == pytest.approx(0.75)
    assert convexity.pl_rate(2.0, 4.0, 5, form="merkulov") == convexity.pl_rate(1.0, 4.0, 5)
    assert convexity.pl_rate(1.0, 1.0, 0, 3.0) == 3.0
    for kw, exc, name in [(dict(mu=0.0, L=1.0), ValueError, "mu"), (dict(mu=2.0, L=1.0), ValueError, "mu"),
                          (dict(mu=1.0, L=-1.0), ValueError, "L"), (dict(mu=1.0, L=1.0, k=-1), ValueError, "k"),
                          (dict(mu=1.0, L=1.0, gap0=-1.0), ValueError, "gap0"),
                          (dict(mu=1.0, L=1.0, form="pl"), ValueError, "form"),
                          (dict(mu=1.0, L=1.0, form=2), TypeError, "form")]:
        with pytest.raises(exc, match=name):
            convexity.pl_rate(**kw)


@pytest.mark.parametrize("x0", [3.0, -7.5, 0.9])
def test_gradient_descent_on_a_pl_function_obeys_pl_rate(x0):
    """f = x^2 + 3 sin^2 x: not convex, L = max |f''| = 8, PL (Karimi form) with
    mu = min (1/2) f'^2 / f, computed on a fine grid (f'^2 / (2 f) -> 2 as |x| -> inf)."""
    f = lambda x: float(x[0] ** 2 + 3 * np.sin(x[0]) ** 2)  # noqa: E731
    g = lambda x: np.array([2 * x[0] + 3 * np.sin(2 * x[0])])  # noqa: E731
    xs = np.linspace(-30, 30, 600001)
    fx, gx = xs ** 2 + 3 * np.sin(xs) ** 2, 2 * xs + 3 * np.sin(2 * xs)
    mu = float(np.min(0.5 * gx[fx > 0] ** 2 / fx[fx > 0]))
    L = 8.0
    res = optimize.minimize(ob.Function(f, g, dim=1), np.array([x0]), method="gd", step="fixed", t=1 / L,
                            max_iter=60, tol=0.0)
    vals = np.asarray(res.trace["fun"])
    assert vals[0] == pytest.approx(f([x0])) and len(vals) > 5
    bound = np.array([convexity.pl_rate(mu, L, k, vals[0]) for k in range(len(vals))])
    assert np.all(vals <= bound * (1 + 1e-12) + 1e-15)
    # check's pl_mu is Merkulov's form of the same constant, sampled: at least 2 mu
    rep = convexity.check(f, g, dim=1, n=400, rng=1, scale=3.0, f_star=0.0)
    assert not rep.convex and rep.pl_mu >= 2 * mu * (1 - 1e-9)


def _mixture(x):
    a = np.array([1.5, 0.0])
    return np.logaddexp(-0.5 * np.sum((x - a) ** 2, axis=1), -0.5 * np.sum((x + a) ** 2, axis=1))


def test_check_log_concave_flags_a_mixture_with_witnesses():
    rep = convexity.check_log_concave(_mixture, dim=2, n=300, rng=0, scale=2.0)
    assert not rep.log_concave and rep.violations and rep.n_tests["log-concavity"] == 300
    th = np.linspace(0.05, 0.95, 181)
    for x, y, crit, margin in rep.violations:
        assert crit == "log-concavity" and margin < 0
        z = th[:, None] * x + (1 - th)[:, None] * y
        below = _mixture(z) - (th * _mixture(x[None])[0] + (1 - th) * _mixture(y[None])[0])
        assert below.min() < 0                      # log F really falls below the chord
    assert "NOT log-concave" in rep.summary()


def test_check_log_concave_no_false_alarm_on_the_built_in_densities():
    rng = np.random.default_rng(1)
    dens = [S.Gaussian([0.3, -0.2], np.array([[1.0, 0.4], [0.4, 0.5]])), S.ExpNorm(2.0), S.ExpNorm(1.0, power=2),
            S.Uniform(), S.LogisticPosterior(rng.standard_normal((30, 2)), np.arange(30) % 2, 0.5),
            S.LogDensity(lambda x: -np.sum(np.abs(x) ** 1.5, axis=1)),
            lambda v: -float(v @ v) / 2]                   # a function of one point
    for d in dens:
        rep = convexity.check_log_concave(d, dim=2, n=400, rng=2, scale=3.0, vectorized=d is not dens[-1])
        assert rep.log_concave and rep.violations == [] and rep.n_skipped == 0, d


def test_check_log_concave_support():
    """F = 0 at an end tests nothing; F = 0 inside a chord with positive ends is a violation."""
    half = lambda x: np.where(x[:, 0] > 0, -np.sum(x * x, axis=1), -np.inf)  # noqa: E731
    rep = convexity.check_log_concave(half, dim=2, n=200, rng=0)
    assert rep.log_concave and rep.n_skipped > 0 and rep.n_tests["log-concavity"] + rep.n_skipped == 200
    ring = lambda x: np.where(np.linalg.norm(x, axis=1) > 1, 0.0, -np.inf)  # noqa: E731
    rep = convexity.check_log_concave(ring, dim=2, n=200, rng=0, scale=2.0)
    assert not rep.log_concave and any(v[3] == -np.inf for v in rep.violations)


def test_check_log_concave_bad_input():
    with pytest.raises(TypeError, match="logdensity"):
        convexity.check_log_concave(3, dim=2)
    with pytest.raises(ValueError, match="dim"):
        convexity.check_log_concave(_mixture)
    with pytest.raises(ValueError, match="points must have 3 columns"):
        convexity.check_log_concave(S.LogDensity(_mixture, dim=3), points=np.zeros((4, 2)))


@pytest.mark.parametrize("walk, delta", [(S.grid_walk, 0.2), (S.ball_walk, 0.5)])
def test_walks_warn_on_a_density_that_is_not_log_concave(walk, delta):
    box = S.Box([-3.0, -3.0], [3.0, 3.0])
    with pytest.warns(convq.NotLogConcaveWarning, match=f"{walk.__name__}: the log-density .* not log-concave"):
        walk(S.LogDensity(_mixture), box, delta, None, 50, n_chains=2, rng=1)
    ring = lambda x: np.where(np.linalg.norm(x, axis=1) > 1, 0.0, -np.inf)  # noqa: E731
    with pytest.warns(convq.NotLogConcaveWarning, match="support in K is not convex"):
        walk(S.LogDensity(ring), box, delta, [2.5, 2.5], 50, rng=1)
    # log-concave Python densities on a box, a ball and a polytope: silent
    g = S.Gaussian([0.3, 0.1], np.diag([1.0, 0.5]))
    tri = S.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for body in (box, S.Ball([0.0, 0.0], 2.0), tri):
            walk(S.LogDensity(g.logpdf), body, delta / 4, None, 50, n_chains=2, rng=1)
            walk(S.LogDensity(lambda v: -float(np.abs(v).sum()), vectorized=False), body, delta / 4, None, 20, rng=1)


def test_the_set_up_test_does_not_touch_the_walks_random_stream():
    """The chains equal those of the walk loop run alone with the same generator."""
    g = S.Gaussian([0.3, 0.1], np.diag([1.0, 0.5]))
    box = S.Box([-2.0, -2.0], [2.0, 2.0])
    x0 = box.start_point()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", convq.NotLogConcaveWarning)
        for dens in (S.LogDensity(g.logpdf), S.LogDensity(_mixture)):
            ch = S.grid_walk(dens, box, 0.25, None, 200, n_chains=3, rng=11)
            k0 = np.zeros((3, 2), np.int64)
            ref = slow_sampling.grid_walk_callable(dens, box, 0.25, x0, k0, 200, 1, 0, False, False,
                                                   np.random.default_rng(11))
            np.testing.assert_array_equal(ch.samples, ref[0])
            ch = S.ball_walk(dens, box, 0.5, None, 200, n_chains=3, rng=12)
            ref = slow_sampling.ball_walk_callable(dens, box, 0.5, np.tile(x0, (3, 1)), 200, 1, 0, False,
                                                   np.random.default_rng(12))
            np.testing.assert_array_equal(ch.samples, ref[0])


def test_legacy_positional_report_still_summarises():
    rep = convexity.ConvexityReport(True, 1.0, 2.0, None, [], {"jensen": 3})
    text = rep.summary()
    assert "no violation found" in text and "strictly" not in text and "quadratic bounds" not in text
