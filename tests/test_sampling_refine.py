"""grid_walk(refine=True): the rejection step of Frieze and Kannan ("Log-Sobolev
inequalities and sampling from log-concave distributions", section 1) gives points whose
law is F on K, boundary layer included, checked against exact laws.

Every statistical check compares the pooled samples of many independent chains with the
exact law, with the standard error estimated from the spread of the per-chain averages
(valid for correlated samples within a chain) and a 5.5-SE tolerance; chains start from
the exact stationary law of the grid walk (a product law on a box), so no burn-in is
needed. Seeds are fixed.
"""
import numpy as np
import pytest
from scipy import stats

import convq.sampling as S

Z_TOL = 5.5


def _grid_1d(lo, hi, delta, off):
    """Centres of the cubes (intervals) of side delta on off + delta Z meeting (lo, hi)."""
    k = np.arange(np.floor((lo - off) / delta) - 1, np.ceil((hi - off) / delta) + 2)
    c = off + k * delta
    return c[(c + delta / 2 > lo) & (c - delta / 2 < hi)]


def _stationary_start(logf_1d, lo, hi, delta, off, n_chains, seed):
    """Start states drawn from the grid walk's stationary law pi(x) ∝ F(x) on C for a
    product density on a box (C is a product of per-coordinate grids)."""
    rng = np.random.default_rng(seed)
    x0 = np.empty((n_chains, len(lo)))
    for j in range(len(lo)):
        c = _grid_1d(lo[j], hi[j], delta, off[j])
        w = np.exp(logf_1d(c, j))
        x0[:, j] = rng.choice(c, size=n_chains, p=w / w.sum())
    return x0


def _z_scores(x, points, cdf_values):
    """z-scores of the pooled fraction of x[:, :, j] <= points[j] against cdf_values[j],
    SE from the per-chain fractions (chains independent)."""
    z = []
    for j in range(x.shape[2]):
        frac = (x[:, :, j][:, :, None] <= points[j]).mean(axis=1)
        se = frac.std(axis=0, ddof=1) / np.sqrt(len(frac))
        z.append((frac.mean(axis=0) - cdf_values[j]) / np.maximum(se, 1.0 / frac.size))
    return np.array(z)


def test_uniform_interval_boundary_cube_gets_its_share_of_K():
    # regression (issue 15): delta 0.1, offset 0.545: the last cube [0.995, 1.095] meets K = [0, 1] in
    # [0.995, 1]; it must carry mass 0.005, not a full cube's 1/11 (a retry in the same cube gave 0.091)
    ch = S.grid_walk(S.Uniform(), S.Box([0.0], [1.0]), 0.1, x0=[0.545], n_steps=20_000, n_chains=20, rng=1,
                     refine=True)
    x = ch.samples[:, :, 0]
    assert np.all((x >= 0) & (x <= 1))
    frac = (x >= 0.995).mean(axis=1)
    se = frac.std(ddof=1) / np.sqrt(len(frac))
    assert abs(frac.mean() - 0.005) < Z_TOL * se + 1e-4
    assert abs(frac.mean() - 0.005) < 0.0015
    # the cost: the expected acceptance is vol(K) / (11 cubes x delta) = 1/1.1
    assert ch.refined and abs(ch.refine_acceptance - 1 / 1.1) < 0.01
    assert np.all(ch.refine_trials >= 20_000) and ch.refine_log_envelope == 0.0


@pytest.mark.parametrize("n, delta", [(1, 0.1), (5, 0.1), (20, 0.05), (50, 0.025)])
def test_uniform_cube_with_boundary_layer(n, delta):
    lo, hi = np.zeros(n), np.ones(n)
    off = np.full(n, 0.3 * delta)  # cubes stick out of K by 0.2 delta at 0 and 0.3 delta at 1
    chains, kept = 64, 3000 // n + 20
    x0 = _stationary_start(lambda c, j: np.zeros(len(c)), lo, hi, delta, off, chains, seed=n)
    ch = S.grid_walk(S.Uniform(), S.Box(lo, hi), delta, x0, n_steps=kept * n, n_chains=chains, thin=n, rng=n,
                     refine=True, offset=off)
    x = ch.samples
    assert np.all((x >= 0) & (x <= 1))
    # the boundary layers of width delta/4 and the deciles: uniform marginals
    pts = np.r_[delta / 4, np.arange(1, 10) / 10, 1 - delta / 4]
    z = _z_scores(x, np.tile(pts, (n, 1)), np.tile(pts, (n, 1)))
    assert np.abs(z).max() < Z_TOL, np.abs(z).max()
    # the acceptance: vol(K) / (cubes x delta^n) per coordinate
    per_coord = 1.0 / (len(_grid_1d(0.0, 1.0, delta, off[0])) * delta)
    assert abs(ch.refine_acceptance / per_coord ** n - 1) < 0.1


def _truncated_gaussian(n):
    j = np.arange(n)
    mu, sd = 0.2 * np.cos(j), 0.8 + 0.2 * np.sin(j)
    return mu, sd, np.full(n, -0.8), np.full(n, 1.1)


@pytest.mark.parametrize("n, delta, thin", [(1, 0.1, 1), (1, 0.5, 1), (5, 0.1, 5), (20, 0.07, 20), (50, 0.07, 50)])
def test_truncated_gaussian_marginals_match_truncnorm(n, delta, thin):
    # delta = 0.5 at n = 1: the cube weights integral of F over C(x) ∩ K differ visibly from F(x) delta
    mu, sd, lo, hi = _truncated_gaussian(n)
    off = lo + 0.37 * delta  # not aligned with the box: partial boundary cubes on both sides
    chains, kept = 64, max(50, 2000 // n)
    x0 = _stationary_start(lambda c, j: -0.5 * ((c - mu[j]) / sd[j]) ** 2, lo, hi, delta, off, chains, seed=7 + n)
    ch = S.grid_walk(S.Gaussian(mu, cov=np.diag(sd ** 2)), S.Box(lo, hi), delta, x0, n_steps=kept * thin,
                     n_chains=chains, thin=thin, rng=7 + n, refine=True, offset=off)
    x = ch.samples
    assert np.all((x >= lo) & (x <= hi))
    laws = [stats.truncnorm((lo[i] - mu[i]) / sd[i], (hi[i] - mu[i]) / sd[i], loc=mu[i], scale=sd[i])
            for i in range(n)]
    probs = np.r_[0.01, np.arange(1, 10) / 10, 0.99]
    pts = np.array([law.ppf(probs) for law in laws])
    z = _z_scores(x, pts, np.tile(probs, (n, 1)))
    assert np.abs(z).max() < Z_TOL, np.abs(z).max()
    assert 0 < ch.refine_acceptance < 1 and ch.refine_log_envelope > 0


def test_uniform_ball_radial_law_exact_cube_test():
    # a lone Ball: C holds every cube meeting K, so the refined law is uniform on K itself: |x| has CDF r^n
    n, delta = 3, 0.25
    body = S.Ball(np.zeros(n), 1.0)
    off = np.full(n, 0.1)
    dist = S.exact_grid_distribution(S.Uniform(), body, delta, off)
    rng = np.random.default_rng(5)
    x0 = dist.centers[rng.choice(len(dist.probs), size=64, p=dist.probs)]
    ch = S.grid_walk(S.Uniform(), body, delta, x0, n_steps=400 * n, n_chains=64, thin=n, rng=5, refine=True,
                     offset=off)
    r = np.linalg.norm(ch.samples, axis=2)[:, :, None]
    assert r.max() <= 1.0
    pts = np.array([[0.3, 0.5, 0.7, 0.9, 0.97, 0.99]])
    z = _z_scores(r, pts, pts ** n)
    assert np.abs(z).max() < Z_TOL


def test_log_density_refine_needs_grad_and_matches_builtin_law():
    mu, sd, lo, hi = _truncated_gaussian(2)
    body = S.Box(lo, hi)
    plain = S.LogDensity(lambda x: -0.5 * np.sum(((x - mu) / sd) ** 2, axis=1))
    with pytest.raises(ValueError, match="refine=True.*grad"):
        S.grid_walk(plain, body, 0.1, refine=True, n_steps=10)
    dens = S.LogDensity(plain.fun, grad=lambda x: -(x - mu) / sd ** 2)
    ch = S.grid_walk(dens, body, 0.1, n_steps=4000, n_chains=16, thin=2, rng=3, refine=True, burn_in=2000)
    assert ch.samples.shape == (16, 2000, 2) and np.all(body.contains(ch.samples.reshape(-1, 2)))
    probs = np.array([0.1, 0.5, 0.9])
    pts = np.array([stats.truncnorm((lo[i] - mu[i]) / sd[i], (hi[i] - mu[i]) / sd[i], loc=mu[i],
                                    scale=sd[i]).ppf(probs) for i in range(2)])
    assert np.abs(_z_scores(ch.samples, pts, np.tile(probs, (2, 1)))).max() < Z_TOL


def test_refine_continuous_time_threads_and_engines():
    d, b = S.Gaussian([0.2, -0.1, 0.0]), S.Box(-np.ones(3), np.ones(3))

    def run(**kw):
        return S.grid_walk(d, b, 0.3, n_steps=300, n_chains=5, thin=3, rng=9, refine=True, continuous_time=True,
                           **kw)
    a = run(threads=1)
    for other in (run(threads=2), run(engine="python")):
        for key in ("samples", "indices", "times", "n_accept", "n_prop", "refine_trials"):
            np.testing.assert_array_equal(a[key], other[key])
    assert np.all(np.diff(a.times, axis=1) > 0)  # accepted trials in time order
    assert np.all(np.abs(a.samples - (a.offset + a.delta * a.indices)) <= 0.15 + 1e-12)
    assert np.all(a.n_prop > 300)  # the walk ran past n_steps to replace rejected trials
    with pytest.raises(ValueError, match="refined"):
        a.state_at(1.0)


def test_refine_refuses_a_hopeless_envelope():
    # a very peaked density on coarse cubes: acceptance below 1e-6 after 1e6 trials is a ValueError naming delta
    d = S.Gaussian([0.25], cov=[[1e-4]])  # the mean on a cube face: the envelope is exp(625)
    with pytest.raises(ValueError, match="delta=.*smaller delta"):
        S.grid_walk(d, S.Box([-1.0], [1.0]), 0.5, x0=[0.0], n_steps=10, rng=0, refine=True, lazy=True)
