"""Statistical and exact tests of the sampling walks (C core).

Every random test uses a fixed seed, so it is deterministic; the thresholds are still
chosen as if the seed were random (p-values > 1e-6 for chi-square, > 1e-4 for KS), and
each test states what it can detect. Where cheap, the test also checks that a *wrong*
law is rejected by the same statistic (a direct demonstration of power).
"""
import math

import numpy as np
import pytest
from scipy import stats
from scipy.sparse.linalg import expm_multiply

from convq import sampling as S

pytestmark = pytest.mark.c_heavy


# ---- small exact problems ---------------------------------------------------------------

def _cases():
    rng = np.random.default_rng(5)
    L = np.array([[2.0, 0.6], [0.6, 1.0]])
    X = rng.normal(size=(30, 2))
    y = (X @ [1.0, -0.5] + rng.normal(size=30) > 0).astype(float)
    tri = S.Polytope(np.array([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]]), np.array([0.0, 0.0, 1.3]))
    return {
        "gauss-dense-box": (S.Gaussian([0.2, -0.1], precision=L), S.Box([-1.1, -0.9], [1.0, 1.2]), 0.23),
        "expnorm1-ball": (S.ExpNorm(1.5, 1), S.Ball([0.1, 0.0], 1.0), 0.21),
        "expnorm2-polytope": (S.ExpNorm(0.8, 2), tri, 0.17),
        "logistic-box": (S.LogisticPosterior(X, y, 0.5), S.Box([-2, -2], [2, 2]), 0.37),
        "uniform-box-ball-3d": (S.Uniform(), S.intersect(S.Box([-1, -1, -1], [1, 1, 0.5]),
                                                          S.Ball([0.1, 0, 0], 1.1)), 0.41),
    }


CASES = _cases()


def _paper_P(density, body, dist):
    """Independent dense reference of the seed's P(x, y) = (1/2n) min(1, F(y)/F(x)),
    built from NumPy log-densities and the NumPy grid test."""
    k, n = dist.indices, dist.indices.shape[1]
    pos = {tuple(r): i for i, r in enumerate(k)}
    m = len(k)
    P = np.zeros((m, m))
    lf = density.logpdf(dist.centers)
    for i in range(m):
        for j in range(n):
            for s in (-1, 1):
                yk = k[i].copy()
                yk[j] += s
                t = pos.get(tuple(yk))
                if t is not None:
                    P[i, t] += min(1.0, np.exp(lf[t] - lf[i])) / (2 * n)
        P[i, i] = 1.0 - P[i].sum()
    return P


@pytest.mark.parametrize("name", list(CASES))
def test_transition_probabilities_equal_the_paper(name):
    density, body, delta = CASES[name]
    P, dist = S.transition_matrix(density, body, delta)
    assert 10 <= P.shape[0] <= 10**4
    ref = _paper_P(density, body, dist)
    np.testing.assert_allclose(P.toarray(), ref, rtol=1e-12, atol=1e-15)
    # the grid set C of the NumPy enumeration agrees with the neighbour structure: every
    # enumerated neighbour in C is reachable (nonzero move) -- F > 0 everywhere here
    pi = dist.probs
    Pd = P.toarray()
    assert np.max(np.abs(pi @ Pd - pi)) < 1e-12 * pi.max() * 10
    flow = pi[:, None] * Pd
    assert np.max(np.abs(flow - flow.T)) < 1e-12 * pi.max()
    assert np.allclose(Pd.sum(axis=1), 1.0, atol=1e-14)


def _chi2(counts, expected_p, min_expected=5.0):
    """Chi-square p-value, pooling cells with small expected counts into one."""
    n = counts.sum()
    e = expected_p * n
    small = e < min_expected
    c = np.concatenate([counts[~small], [counts[small].sum()]])
    e = np.concatenate([e[~small], [e[small].sum()]])
    if e[-1] == 0:
        c, e = c[:-1], e[:-1]
    return stats.chisquare(c, e * c.sum() / e.sum()).pvalue


def _counts(idx, dist):
    pos = {tuple(r): i for i, r in enumerate(dist.indices)}
    counts = np.zeros(len(dist.indices))
    for r in idx:
        counts[pos[tuple(r)]] += 1
    return counts


@pytest.mark.parametrize("name", ["gauss-dense-box", "expnorm1-ball", "expnorm2-polytope", "logistic-box"])
def test_law_after_t_steps_chi_square(name):
    """20000 independent chains from one centre, t steps; chi-square against the exact
    row delta_x P^t. Power: the same counts are checked against delta_x P^(t-1), which
    the test must reject (p < 1e-6)."""
    density, body, delta = CASES[name]
    P, dist = S.transition_matrix(density, body, delta)
    start = int(np.argmin(np.abs(dist.probs - np.median(dist.probs))))
    x0 = dist.centers[start]
    t = 6
    ch = S.grid_walk(density, body, delta, x0, n_steps=t, n_chains=20000, thin=t, rng=11,
                     offset=dist.offset)
    counts = _counts(ch.indices[:, -1], dist)
    e = np.zeros(P.shape[0])
    e[start] = 1.0
    law = {}
    for s in range(1, t + 1):
        e = P.T @ e
        law[s] = e.copy()
    assert _chi2(counts, law[t]) > 1e-6
    assert _chi2(counts, law[t - 1]) < 1e-6


def test_continuous_time_law_is_expm():
    """State at time T vs delta_x exp(T (P - I)); power: exp((T-1)(P - I)) is rejected."""
    density, body, delta = CASES["gauss-dense-box"]
    P, dist = S.transition_matrix(density, body, delta)
    start = len(dist.probs) // 2
    T = 5.0
    ch = S.grid_walk(density, body, delta, dist.centers[start], n_steps=40, n_chains=20000,
                     continuous_time=True, rng=12, offset=dist.offset)
    assert ch.times.shape == (20000, 40)
    _, idx = ch.state_at(T)
    counts = _counts(idx, dist)
    e = np.zeros(P.shape[0])
    e[start] = 1.0
    Q = (P.toarray() - np.eye(P.shape[0])).T
    assert _chi2(counts, expm_multiply(T * Q, e)) > 1e-6
    assert _chi2(counts, expm_multiply((T - 1.5) * Q, e)) < 1e-6
    # holding times are Exp(1): mean time per step 1 (SE 1/sqrt(800000))
    assert abs(ch.times[:, -1].mean() / 40 - 1.0) < 5 / np.sqrt(800000)


def test_lazy_walk_law():
    density, body, delta = CASES["uniform-box-ball-3d"]
    P, dist = S.transition_matrix(density, body, delta, lazy=True)
    start = 0
    t = 7
    ch = S.grid_walk(density, body, delta, dist.centers[start], n_steps=t, n_chains=20000, thin=t,
                     lazy=True, rng=13, offset=dist.offset)
    counts = _counts(ch.indices[:, -1], dist)
    e = np.zeros(P.shape[0])
    e[start] = 1.0
    for _ in range(t):
        e = P.T @ e
    assert _chi2(counts, e) > 1e-6
    # about half the steps are lazy holds, so proposals ~ t/2 per chain (binomial SE)
    assert abs(ch.n_prop.mean() - t / 2) < 5 * np.sqrt(t / 4 / 20000)


def test_long_run_matches_stationary_law_and_tv_small():
    """Exceeds the cache resync period (65536 steps) and checks the time-average law."""
    density, body, delta = CASES["expnorm2-polytope"]
    dist = S.exact_grid_distribution(density, body, delta)
    ch = S.grid_walk(density, body, delta, None, n_steps=200_000, n_chains=2, rng=14)
    assert S.tv_distance(ch, dist) < 0.02
    # a wrong law (uniform on C) is far away
    wrong = S.GridDistribution(dist.centers, np.full(len(dist.probs), 1 / len(dist.probs)), dist.indices,
                               dist.offset, dist.delta, dist.logf)
    assert S.tv_distance(ch, wrong) > 0.1


# ---- marginals by KS tests ----------------------------------------------------------------
# With N = 3000 independent final states, the KS test at p > 1e-4 rejects (with
# probability ~1) any marginal whose CDF is off by more than ~0.05 somewhere.

def _ks(x, cdf):
    return stats.kstest(x, cdf).pvalue


def test_uniform_cube_marginals_grid_walk_refined():
    n, k = 3, 4
    body = S.Box(np.zeros(n), np.ones(n))
    ch = S.grid_walk(S.Uniform(), body, 1.0 / k, np.full(n, 0.5 / k), n_steps=1, n_chains=3000, refine=True,
                     burn_in=600, lazy=True, rng=21)
    x = ch.samples[:, -1]
    for i in range(n):
        assert _ks(x[:, i], "uniform") > 1e-4
    assert _ks(x[:, 0] ** 2, "uniform") < 1e-4  # power


@pytest.mark.parametrize("walk", ["ball", "har", "har-coord"])
def test_uniform_simplex_beta_marginal(walk):
    n = 3
    A = np.vstack([-np.eye(n), np.ones((1, n))])
    body = S.Polytope(A, np.r_[np.zeros(n), 1.0])
    if walk == "ball":
        ch = S.ball_walk(S.Uniform(), body, 0.3, None, n_steps=1, n_chains=3000, burn_in=400, rng=22)
    else:
        ch = S.hit_and_run(S.Uniform(), body, None, n_steps=1, n_chains=3000, burn_in=60, rng=22,
                           direction="random" if walk == "har" else "coordinate")
    x = ch.samples[:, -1]
    assert np.all(body.contains(x))
    for i in range(n):
        assert _ks(x[:, i], stats.beta(1, n).cdf) > 1e-4
    assert _ks(x[:, 0], stats.beta(1, n + 1).cdf) < 1e-4  # power


@pytest.mark.parametrize("walk", ["ball", "har"])
def test_uniform_ball_radial_law(walk):
    n = 4
    body = S.Ball(np.zeros(n), 1.0)
    if walk == "ball":
        ch = S.ball_walk(S.Uniform(), body, 0.6, None, n_steps=1, n_chains=3000, burn_in=300, rng=23)
    else:
        ch = S.hit_and_run(S.Uniform(), body, None, n_steps=1, n_chains=3000, burn_in=40, rng=23)
    r = np.linalg.norm(ch.samples[:, -1], axis=1)
    assert _ks(r, lambda v: np.clip(v, 0, 1) ** n) > 1e-4
    assert _ks(r, lambda v: np.clip(v, 0, 1) ** (n - 1)) < 1e-4  # power


@pytest.mark.parametrize("walk", ["grid-refine", "ball", "har-coord"])
def test_truncated_gaussian_on_box_matches_truncnorm(walk):
    mu, sd = np.array([0.3, -0.2]), np.array([0.7, 0.5])
    lo, hi = np.array([-1.0, -0.5]), np.array([1.5, 1.0])
    dens = S.Gaussian(mu, cov=np.diag(sd ** 2))
    body = S.Box(lo, hi)
    if walk == "grid-refine":
        delta = 0.05  # aligned with the box: cubes tile it exactly
        ch = S.grid_walk(dens, body, delta, lo + delta / 2, n_steps=1, n_chains=3000, burn_in=3000, refine=True,
                         rng=24)
    elif walk == "ball":
        ch = S.ball_walk(dens, body, 0.5, None, n_steps=1, n_chains=3000, burn_in=300, rng=24)
    else:
        ch = S.hit_and_run(dens, body, None, n_steps=1, n_chains=3000, burn_in=60, rng=24, direction="coordinate")
    x = ch.samples[:, -1]
    for i in range(2):
        tn = stats.truncnorm((lo[i] - mu[i]) / sd[i], (hi[i] - mu[i]) / sd[i], loc=mu[i], scale=sd[i])
        assert _ks(x[:, i], tn.cdf) > 1e-4
        assert _ks(x[:, i], stats.norm(mu[i], sd[i]).cdf) < 1e-4  # power: truncation is seen


# ---- acceptance rates, reproducibility ------------------------------------------------------

def _examples():
    n = 3
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, n))
    y = (rng.random(40) < 0.5).astype(float)
    dens = [S.Gaussian(np.zeros(n), cov=np.eye(n) + 0.3), S.ExpNorm(1.0, 1), S.ExpNorm(1.0, 2), S.Uniform(),
            S.LogisticPosterior(X, y, 1.0)]
    A = np.vstack([np.eye(n), -np.eye(n), np.ones((1, n))])
    bodies = [S.Box(-np.ones(n), np.ones(n)), S.Ball(np.zeros(n), 1.5), S.Polytope(A, np.r_[np.ones(2 * n), 1.5]),
              S.intersect(S.Box(-np.ones(n), np.ones(n)), S.Ball(np.zeros(n), 1.2))]
    return [(d, b) for d in dens for b in bodies]


def test_acceptance_rate_strictly_between_0_and_1():
    for d, b in _examples():
        for ch in (S.grid_walk(d, b, 0.3, None, 3000, n_chains=2, rng=31),
                   S.ball_walk(d, b, 0.6, None, 3000, n_chains=2, rng=31)):
            assert 0.05 < ch.acceptance_rate < 0.999, (d, b, ch)
            assert np.all((ch.acceptance_rates > 0) & (ch.acceptance_rates < 1))
            assert np.ptp(ch.samples[0], axis=0).min() > 0  # every coordinate moved
        if not isinstance(d, S.Uniform):  # uniform hit-and-run accepts everything by design
            ch = S.hit_and_run(d, b, None, 2000, n_chains=2, rng=31)
            assert 0 < ch.acceptance_rate < 1


@pytest.mark.parametrize("method", ["grid", "grid-ct", "ball", "har"])
def test_reproducible_across_thread_counts(method):
    d, b = S.Gaussian(np.zeros(4), cov=np.eye(4) + 0.5), S.Box(-np.ones(4) * 2, np.ones(4) * 2)

    def run(threads, seed=41):
        if method.startswith("grid"):
            return S.grid_walk(d, b, 0.2, None, 500, n_chains=7, thin=5, rng=seed, threads=threads,
                               continuous_time=method == "grid-ct")
        if method == "ball":
            return S.ball_walk(d, b, 0.5, None, 500, n_chains=7, thin=5, rng=seed, threads=threads)
        return S.hit_and_run(d, b, None, 500, n_chains=7, thin=5, rng=seed, threads=threads)

    a, c, e = run(1), run(2), run(None)
    for other in (c, e):
        np.testing.assert_array_equal(a.samples, other.samples)
        np.testing.assert_array_equal(a.n_accept, other.n_accept)
        if a.times is not None:
            np.testing.assert_array_equal(a.times, other.times)
    assert not np.array_equal(a.samples, run(1, seed=42).samples)
    # chains are independent streams: no two chains coincide
    assert len({a.samples[i].tobytes() for i in range(7)}) == 7


def test_refined_points_lie_in_their_cube_and_in_K():
    d = S.ExpNorm(2.0, 1)
    b = S.Ball(np.zeros(3), 1.0)
    ch = S.grid_walk(d, b, 0.25, None, 400, n_chains=4, thin=4, rng=51)
    ref = S.grid_walk(d, b, 0.25, None, 400, n_chains=4, thin=4, rng=51, refine=True)
    # accepted points lie in the cube they were drawn in (each chain made >= 100 trials)
    assert ch.samples.shape == ref.samples.shape and np.all(ref.refine_trials >= 100)
    centres = ref.offset + ref.delta * ref.indices
    assert np.all(np.abs(ref.samples - centres) <= 0.125 + 1e-12)
    assert np.all(b.contains(ref.samples.reshape(-1, 3)))


def test_c_log_density_matches_numpy():
    from convq import _core
    rng = np.random.default_rng(61)
    pts = rng.normal(size=(50, 3))
    for d, _ in _examples()[::4]:
        np.testing.assert_allclose(_core._smp_logf(d._c_dens(3), pts), d.logpdf(pts), rtol=1e-12, atol=1e-12)


def test_python_callable_is_called_once_per_step_and_has_the_right_law():
    density, body, delta = CASES["gauss-dense-box"]
    calls = []

    def logf(x):
        calls.append(x.shape)
        return density.logpdf(x)

    P, dist = S.transition_matrix(density, body, delta)
    start = len(dist.probs) // 3
    t = 5
    ld = S.LogDensity(logf)
    ch = S.grid_walk(ld, body, delta, dist.centers[start], n_steps=t, n_chains=20000, thin=t, rng=71,
                     offset=dist.offset)
    assert len(calls) == t + 1  # start + one batched call per step
    assert all(c[0] > 1000 and c[1] == 2 for c in calls)
    counts = _counts(ch.indices[:, -1], dist)
    e = np.zeros(P.shape[0])
    e[start] = 1.0
    for _ in range(t):
        e = P.T @ e
    assert _chi2(counts, e) > 1e-6
    # the callable's transition matrix equals the built-in's
    P2, _ = S.transition_matrix(S.LogDensity(density.logpdf), body, delta)
    np.testing.assert_allclose(P2.toarray(), P.toarray(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dl", [-1e-3, -0.5, -5.0])
def test_metropolis_acceptance_is_exact_on_two_cells(dl):
    """Two cells with log F(high) - log F(low) = -dl: half of the proposals leave the
    grid, moves low -> high are always accepted and high -> low with probability
    r = e^dl, so the long-run acceptance rate is exactly r / (1 + r). With 1.6e7
    proposals the 5-sigma band (sigma inflated x2 for autocorrelation) is ~1e-3 wide,
    so a bias of that size in the Metropolis test (e.g. in its squeeze or its reuse of
    the move draw's bits) would fail."""
    dens = S.Gaussian([0.0], precision=[[-dl]])  # log F(0.5) - log F(1.5) = -dl
    body = S.Box([0.0], [2.0])
    ch = S.grid_walk(dens, body, 1.0, [0.5], n_steps=2_000_000, n_chains=8, thin=2_000_000, rng=81)
    r = math.exp(dl)
    p = r / (1 + r)
    se = 2 * math.sqrt(p * (1 - p) / ch.n_prop.sum())
    assert abs(ch.acceptance_rate - p) < 5 * se
