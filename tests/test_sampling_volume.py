"""convq.sampling.volume: the multiphase Monte Carlo volume and its confidence interval.

Coverage tests use a 99.9% interval and one fixed seed per body. Why this is honest and
not flaky: the interval is exp(log V +- t_31 * jackknife SE) over 32 independent chains;
in a calibration run of 60 seeds per body (cube and simplex at n = 5, eps = 0.2, 95%
level) it covered in 95% of runs and the standardised errors (log V_hat - log V)/SE had
mean -0.1 and standard deviation 0.94 and 1.04. A 99.9% interval (t_31 = 3.6) then
misses a given seed with probability about 0.001, all eight bodies together about 0.008;
the seed is fixed, so the outcome is deterministic, and it was not searched for (seed 0).
"""
import itertools
import math

import numpy as np
import pytest

import convq.sampling as S


def _simplex(n):
    return S.Polytope(np.vstack([-np.eye(n), np.ones((1, n))]), np.r_[np.zeros(n), 1.0])


def _cross(n):
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    return S.Polytope(signs, np.ones(len(signs)))


def _disk_in_square(rho):
    """[-1, 1]^2 cut by the disk of radius rho in (1, sqrt 2): pi rho^2 minus 4 caps."""
    return math.pi * rho ** 2 - 4 * (rho ** 2 * math.acos(1 / rho) - math.sqrt(rho ** 2 - 1))


BODIES = [
    ("cube", 5, lambda n: S.Box(np.zeros(n), np.ones(n)), lambda n: 1.0),
    ("cube", 10, lambda n: S.Box(np.zeros(n), np.ones(n)), lambda n: 1.0),
    ("simplex", 5, _simplex, lambda n: 1 / math.factorial(n)),
    ("simplex", 10, _simplex, lambda n: 1 / math.factorial(n)),
    ("cross-polytope", 5, _cross, lambda n: 2.0 ** n / math.factorial(n)),
    ("cross-polytope", 8, _cross, lambda n: 2.0 ** n / math.factorial(n)),
    ("box-disk", 2, lambda n: S.intersect(S.Box(-np.ones(2), np.ones(2)), S.Ball(np.zeros(2), 1.2)),
     lambda n: _disk_in_square(1.2)),
    ("stretched box", 6, lambda n: S.Box(np.arange(n), np.arange(n) + np.linspace(0.5, 3.0, n)),
     lambda n: float(np.prod(np.linspace(0.5, 3.0, n)))),
]


@pytest.mark.parametrize("name, n, make, exact", BODIES, ids=[f"{b[0]}-{b[1]}" for b in BODIES])
def test_volume_interval_covers_exact_value(name, n, make, exact):
    res = S.volume(make(n), eps=0.25, level=0.999, rng=0)
    v = exact(n)
    assert res.ci[0] <= v <= res.ci[1], (name, n, res.volume / v, res.ci)
    assert res.converged and res.level == 0.999
    assert res.ci[0] < res.volume < res.ci[1]
    # the interval is not vacuous: relative half-width near eps (the target), never huge
    assert math.log(res.ci[1] / res.volume) < 2 * 3.6 / 1.96 * 0.25 * 1.5
    # every ratio is a fraction of states, and >= 1/2 in theory (a few SE below allowed)
    ratios = res.phases["ratio"]
    assert len(ratios) == res.n_phases and np.all(ratios <= 1) and np.all(ratios > 0.4)
    assert res.n_steps == 32 * int(np.sum(res.phases["steps"]))


def test_volume_of_a_ball_is_exact():
    """The inscribed ball is the body: no phase, the exact volume, a zero-width interval."""
    res = S.volume(S.Ball(np.ones(7), 2.0), rng=0)
    exact = math.pi ** 3.5 * 2.0 ** 7 / math.gamma(4.5)
    assert res.n_phases == 0 and res.n_steps == 0
    assert res.volume == pytest.approx(exact, rel=1e-12)
    assert res.ci[0] == pytest.approx(exact, rel=1e-12) and res.ci[1] == pytest.approx(exact, rel=1e-12)


def test_volume_reproducible_and_thread_independent():
    body = _simplex(4)
    a = S.volume(body, eps=0.3, rng=5, threads=1)
    b = S.volume(body, eps=0.3, rng=5, threads=2)
    assert a.volume == b.volume and a.ci == b.ci
    np.testing.assert_array_equal(a.phases["ratio"], b.phases["ratio"])


def test_volume_eps_controls_the_width():
    """A smaller eps buys a narrower interval: its half-width on the log scale is about
    eps (t_31 / z_0.975 = 1.04 times it) once eps, not the pilot's minimum, sizes the phases."""
    body = S.Box(np.zeros(4), np.ones(4))
    wide, narrow = (S.volume(body, eps=e, rng=1) for e in (0.3, 0.03))
    w = [math.log(r.ci[1] / r.ci[0]) / 2 for r in (wide, narrow)]
    assert w[1] < w[0] / 2
    assert 0.5 * 0.03 < w[1] < 1.5 * 0.03
    assert narrow.n_steps > 4 * wide.n_steps


def test_volume_warns_when_max_steps_cuts_a_phase():
    with pytest.warns(RuntimeWarning, match="max_steps=50"):
        res = S.volume(S.Box(np.zeros(3), np.ones(3)), eps=0.01, max_steps=50, burn_in=20, rng=0)
    assert not res.converged


def test_volume_refuses_unbounded_half_spaces():
    with pytest.raises(ValueError, match="unbounded"):
        S.volume(S.Polytope([[1.0, 0.0]], [1.0], allow_unbounded=True))


def test_volume_beyond_float64_keeps_the_log():
    """A volume past the float64 range: inf, with log_volume exact (math.exp raised
    OverflowError before)."""
    res = S.volume(S.Box(np.zeros(3), np.full(3, 1e120)), eps=0.3, rng=0)
    assert res.volume == math.inf and res.ci[1] == math.inf
    assert res.log_volume == pytest.approx(3 * math.log(1e120), abs=4 * res.log_se + 1e-9)


def test_phase_bodies_match_intersect():
    """K ∩ B(c, r) as the phases build it has the membership of intersect(K, Ball(c, r))."""
    from convq.sampling.volumes import _cut_by_ball
    body = S.intersect(_simplex(3), S.Ball([0.2, 0.2, 0.2], 0.5))
    c = body.start_point()
    pts = np.random.default_rng(0).uniform(-0.2, 1.0, (2000, 3))
    ours, ref = _cut_by_ball(body, c, 0.3), S.intersect(body, S.Ball(c, 0.3))
    np.testing.assert_array_equal(ours.contains(pts), ref.contains(pts))
    assert ours.contains(pts).any() and not ours.contains(pts).all()
