"""hit_and_run for a Python log-density (slice move along the chord) and the ball walk's
step-size adaptation during burn-in.

Statistical checks use fixed seeds and tolerances of 5 standard errors, the standard
error from the chains' effective sample size (convq.sampling.ess), so they are
deterministic and far from their threshold.
"""
import warnings

import numpy as np
import pytest
from scipy import stats

import convq
import convq.sampling as S
from convq.sampling._slice import _chords

BOX3 = S.Box([-1.0, -0.5, -2.0], [1.5, 2.0, 0.5])
MU3 = np.array([0.3, -0.2, 0.1])
PREC3 = np.array([2.0, 1.0, 3.0])


def _truncnorm_moments(mu, prec, lo, hi):
    """Exact means and variances of the product of truncated normals."""
    sd = 1.0 / np.sqrt(prec)
    law = stats.truncnorm((lo - mu) / sd, (hi - mu) / sd, loc=mu, scale=sd)
    return law.mean(), law.var()


def _assert_moments(samples, mean, var, k=5.0):
    """Means and variances of the chains within k standard errors (ESS-based)."""
    flat = samples.reshape(-1, samples.shape[-1])
    e = S.ess(samples)
    m_hat = flat.mean(axis=0)
    assert np.all(np.abs(m_hat - mean) < k * np.sqrt(var / e)), (m_hat, mean)
    sq = (flat - mean) ** 2
    e2 = S.ess(((samples - mean) ** 2))
    assert np.all(np.abs(sq.mean(axis=0) - var) < k * sq.std(axis=0) / np.sqrt(e2)), (sq.mean(axis=0), var)


@pytest.mark.parametrize("direction", ["random", "coordinate"])
def test_hit_and_run_logdensity_matches_truncated_gaussian(direction):
    """The slice chain's law is the Gaussian restricted to the box: moments against the
    exact truncated normals (fails before the fix: hit_and_run raised TypeError)."""
    g = S.Gaussian(MU3, precision=np.diag(PREC3))
    f = S.LogDensity(g.logpdf)
    ch = S.hit_and_run(f, BOX3, n_steps=1000, n_chains=16, rng=7, burn_in=50, direction=direction)
    assert ch.method == f"hit_and_run:{direction}:slice"
    assert ch.acceptance_rate == 1.0 and np.all(ch.n_evals >= ch.n_prop)
    mean, var = _truncnorm_moments(MU3, PREC3, BOX3.lo, BOX3.hi)
    _assert_moments(ch.samples, mean, var)


def test_hit_and_run_logdensity_matches_builtin_gaussian():
    """A correlated Gaussian on an intersection (box, ball, half-space): the slice chain of
    the LogDensity against the built-in Gaussian's C chain, means within 5 combined SEs."""
    P = np.array([[2.0, 0.8, 0.0], [0.8, 1.0, 0.3], [0.0, 0.3, 1.5]])
    g = S.Gaussian(MU3, precision=P)
    body = S.intersect(BOX3, S.Ball(np.zeros(3), 1.8), S.Polytope([[1.0, 1.0, 1.0]], [1.2], allow_unbounded=True))
    a = S.hit_and_run(S.LogDensity(g.logpdf), body, n_steps=1500, n_chains=16, rng=3, burn_in=50).samples
    b = S.hit_and_run(g, body, n_steps=20000, n_chains=8, rng=4, burn_in=200).samples
    se2 = [x.reshape(-1, 3).var(axis=0) / S.ess(x) for x in (a, b)]
    diff = a.reshape(-1, 3).mean(axis=0) - b.reshape(-1, 3).mean(axis=0)
    assert np.all(np.abs(diff) < 5 * np.sqrt(se2[0] + se2[1])), diff
    assert np.all(body.contains(a.reshape(-1, 3)))


def test_chords_reach_the_boundary():
    """The chord ends lie on the boundary of K: inside, and 1e-9 further out is outside."""
    body = S.intersect(BOX3, S.Ball([0.2, 0.3, -0.5], 1.6), S.Polytope([[1.0, -1.0, 2.0]], [1.0],
                                                                        allow_unbounded=True))
    gen = np.random.default_rng(0)
    x = S.hit_and_run(S.Uniform(), body, n_steps=200, rng=1).samples[0]
    d = gen.standard_normal(x.shape)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    lo, hi = _chords(body, x, d)
    assert np.all(lo < 0) and np.all(hi > 0)
    for t, out in ((lo, lo - 1e-9), (hi, hi + 1e-9)):
        assert np.all(body.contains(x + (t - np.sign(t) * 1e-12)[:, None] * d))
        assert not np.any(body.contains(x + out[:, None] * d))


def test_hit_and_run_logdensity_warns_when_not_log_concave():
    f = S.LogDensity(lambda x: 3.0 * np.sin(5.0 * x[:, 0]))
    with pytest.warns(convq.NotLogConcaveWarning, match="hit_and_run"):
        S.hit_and_run(f, BOX3, n_steps=5, rng=0)


def test_hit_and_run_logdensity_reproducible_and_no_c_engine():
    f = S.LogDensity(lambda x: -np.sum(x * x, axis=1))
    a = S.hit_and_run(f, BOX3, n_steps=50, n_chains=3, rng=11)
    b = S.hit_and_run(f, BOX3, n_steps=50, n_chains=3, rng=11, engine="python")
    np.testing.assert_array_equal(a.samples, b.samples)
    with pytest.raises(ValueError, match="engine='c'"):
        S.hit_and_run(f, BOX3, n_steps=5, engine="c")


# ---- ball walk: step-size adaptation during burn-in --------------------------------------

G5 = S.Gaussian(np.zeros(5))
BOX5 = S.Box(-2 * np.ones(5), 2 * np.ones(5))


@pytest.mark.parametrize("density, delta0, target", [(G5, 0.01, 0.234), (G5, 10.0, 0.5),
                                                     (S.LogDensity(G5.logpdf), 0.1, 0.3)])
def test_ball_walk_adapt_reaches_target_and_keeps_law(density, delta0, target):
    """From a radius far too small or too large, the kept acceptance rate is within 0.05
    of the target; the kept chain moves by at most the reported radius (one fixed kernel)
    and has the truncated normal's moments."""
    ch = S.ball_walk(density, BOX5, delta0, n_steps=3000, n_chains=8, burn_in=3000, adapt=True,
                     target_acceptance=target, rng=5)
    assert abs(ch.acceptance_rate - target) < 0.05
    assert ch.delta == pytest.approx(np.exp(np.mean(np.log(ch.delta_trace[-5:]))), rel=0.5)
    steps = np.linalg.norm(np.diff(ch.samples, axis=1), axis=2)
    assert steps.max() <= ch.delta * (1 + 1e-12) and steps.max() > 0.8 * ch.delta
    mean, var = _truncnorm_moments(np.zeros(5), np.ones(5), BOX5.lo, BOX5.hi)
    _assert_moments(ch.samples, mean, var)


def test_ball_walk_without_adapt_is_unchanged():
    """adapt=False keeps the chains of the plain walk (same seed, same samples)."""
    a = S.ball_walk(G5, BOX5, 0.5, n_steps=100, rng=2, burn_in=10)
    b = S.ball_walk(G5, BOX5, 0.5, n_steps=100, rng=2, burn_in=10, adapt=False)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.delta == 0.5 and "delta_trace" not in a


@pytest.mark.parametrize("kw, exc, match", [
    (dict(adapt=True, burn_in=0), ValueError, "burn_in > 0"),
    (dict(adapt=True, burn_in=10, continuous_time=True), ValueError, "continuous_time=False"),
    (dict(adapt=True, burn_in=10, target_acceptance=1.5), ValueError, "target_acceptance"),
    (dict(adapt="yes", burn_in=10), TypeError, "adapt"),
])
def test_ball_walk_adapt_bad_arguments(kw, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            S.ball_walk(G5, BOX5, 0.5, n_steps=10, **kw)
