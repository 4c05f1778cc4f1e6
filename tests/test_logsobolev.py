"""The log-Sobolev toolkit (Frieze and Kannan, section 2 and the appendix) and the ball-walk
operator: closed forms (two-point space, hypercube), the certified bracket, the decay
inequalities on random small grids, hand computations and bad inputs."""
import itertools
import math

import numpy as np
import pytest

from convq import sampling as S


def _two_point(theta):
    """The two-point space with P(x, y) = pi(y), pi = (theta, 1 - theta): gap 1."""
    pi = np.array([theta, 1.0 - theta])
    return np.tile(pi, (2, 1)), pi


def _hypercube(n):
    """The simple random walk on {0,1}^n (P(x, y) = 1/n for neighbours): gap 2/n."""
    X = np.array(list(itertools.product([0, 1], repeat=n)))
    P = (np.abs(X[:, None, :] - X[None, :, :]).sum(-1) == 1) / n
    return P, np.full(2 ** n, 2.0 ** -n)


@pytest.mark.parametrize("theta", [0.5, 0.4, 0.2, 0.05, 1e-3])
def test_two_point_space_against_its_closed_form(theta):
    """The two-point space of Diaconis and Saloff-Coste's appendix: alpha = (1 - 2 theta)/log((1 - theta)/theta),
    1/2 in the limit theta = 1/2; their lower bound is exact here, so the bracket is tight."""
    P, pi = _two_point(theta)
    exact = 0.5 if theta == 0.5 else (1 - 2 * theta) / math.log((1 - theta) / theta)
    res = S.log_sobolev_constant(P, pi)
    assert res.gap == pytest.approx(1.0, rel=1e-12)
    assert res.estimate == pytest.approx(exact, rel=1e-9)
    assert res.lower <= exact * (1 + 1e-12) and res.upper >= exact * (1 - 1e-9)
    assert res.upper <= res.gap / 2
    assert res.attained == (theta != 0.5)


def test_two_point_chain_scales_with_its_rate():
    """A general two-state chain P(0,1) = a, P(1,0) = b has alpha = (a + b) times the
    constant of the two-point space with theta = min(a, b)/(a + b)."""
    a, b = 0.3, 0.06
    P = np.array([[1 - a, a], [b, 1 - b]])
    pi = np.array([b, a]) / (a + b)
    theta = b / (a + b)
    res = S.log_sobolev_constant(P, pi)
    assert res.estimate == pytest.approx((a + b) * (1 - 2 * theta) / math.log((1 - theta) / theta), rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_hypercube_walk_has_half_its_gap(n):
    """alpha = lambda/2 = 1/n for the simple random walk on {0,1}^n: no function tried beats
    lambda/2 (up to rounding), and the lower bound lies below."""
    P, pi = _hypercube(n)
    res = S.log_sobolev_constant(P, pi)
    assert res.gap == pytest.approx(2.0 / n, rel=1e-12)
    assert res.estimate == pytest.approx(1.0 / n, rel=1e-12)
    assert res.ratio >= (1.0 / n) * (1 - 1e-9)
    assert res.lower <= 1.0 / n


def _random_reversible(m, seed):
    """A random reversible chain: pi(x)P(x, y) = W(x, y)/c for random symmetric conductances W
    over a connected graph and a random law pi."""
    rng = np.random.default_rng(seed)
    W = rng.exponential(size=(m, m)) * (rng.random((m, m)) < 0.6)
    W = np.triu(W, 1)
    W[np.arange(m - 1), np.arange(1, m)] += 0.1          # a path keeps it connected
    W = W + W.T
    pi = rng.dirichlet(np.ones(m))
    P = W / pi[:, None]
    P /= 1.5 * P.sum(1).max()
    P[np.diag_indices(m)] = 1 - P.sum(1)
    return P, pi


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bracket_contains_a_brute_force_minimum_on_three_states(seed):
    """On three states E/L depends on two ratios f1/f0, f2/f0: a grid search gives an upper
    bound on alpha, which the estimate must not exceed; the lower bound stays below both."""
    P, pi = _random_reversible(3, seed)
    res = S.log_sobolev_constant(P, pi)
    a = np.exp(np.linspace(-6, 6, 481))
    F = np.stack(np.broadcast_arrays(1.0, a[:, None], a[None, :]), -1).reshape(-1, 3)   # rows f = (1, x, y)
    E = 0.5 * np.einsum("x,xy,kxy->k", pi, P, (F[:, :, None] - F[:, None, :]) ** 2)
    F2 = F * F
    norm = F2 @ pi
    L = (F2 * np.log(F2 / norm[:, None])) @ pi
    ok = L > 1e-8
    best = float(np.min(E[ok] / L[ok]))
    assert res.lower <= res.estimate <= min(best, res.gap / 2) * (1 + 1e-9)
    assert best <= res.estimate * 1.01       # the grid search comes close to it
    f = res.f
    assert float(pi @ (f * f)) == pytest.approx(1.0)
    assert S.dirichlet_form(f, P, pi) / S.entropy(f * f, pi, kind="function") == pytest.approx(res.ratio, rel=1e-9)


def test_entropy_and_dirichlet_form_against_hand_computation():
    pi = np.array([0.2, 0.3, 0.5])
    mu = np.array([0.5, 0.5, 0.0])
    hand = 0.5 * math.log(0.5 / 0.2) + 0.5 * math.log(0.5 / 0.3)
    assert S.entropy(mu, pi) == pytest.approx(hand, rel=1e-14)
    assert S.entropy(mu / pi, pi, kind="function") == pytest.approx(hand, rel=1e-14)
    assert S.entropy(pi, pi) == 0.0
    h = np.array([1.0, 2.0, 3.0])
    m = float(pi @ h)
    assert S.entropy(h, pi, kind="function") == pytest.approx(float(pi @ (h * np.log(h))) - m * math.log(m), rel=1e-13)
    # nearly pi: Ent ~ (1/2) chi^2, computed without cancellation
    eps = 1e-9 * np.array([1.0, -1.0, 0.2])
    eps -= (pi @ eps) / pi.sum()
    assert S.entropy(pi * (1 + eps), pi) == pytest.approx(0.5 * float(pi @ eps ** 2), rel=1e-6)
    P = np.array([[0.5, 0.3, 0.2], [0.2, 0.4, 0.4], [0.08, 0.24, 0.68]])
    f = np.array([1.0, -2.0, 0.5])
    hand = 0.5 * sum(pi[x] * P[x, y] * (f[x] - f[y]) ** 2 for x in range(3) for y in range(3))
    assert S.dirichlet_form(f, P, pi) == pytest.approx(hand, rel=1e-14)
    assert S.dirichlet_form(f, P, pi) == pytest.approx(float(f @ (np.diag(pi) @ (np.eye(3) - P)) @ f), rel=1e-13)


def test_heat_semigroup_spectral_and_expm_agree():
    P, pi = _random_reversible(6, 4)
    p0 = np.eye(6)[2]
    t = np.array([0.0, 0.3, 2.0, 10.0])
    a = S.heat_semigroup(p0, P, t, pi=pi)
    b = S.heat_semigroup(p0, P, t)
    assert a.shape == (4, 6)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    np.testing.assert_allclose(a[0], p0, atol=1e-15)
    np.testing.assert_allclose(a.sum(1), 1.0, rtol=1e-13)
    # two states flipping: p_t(0) = (1 + e^{-2t})/2
    flip = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert S.heat_semigroup([1.0, 0.0], flip, 0.7)[0] == pytest.approx((1 + math.exp(-1.4)) / 2, rel=1e-13)


def _small_grid_problem(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3))
    dens = S.Gaussian(rng.uniform(-0.5, 0.5, n), cov=np.diag(rng.uniform(0.1, 1.0, n)))
    body = S.Box(-np.ones(n), np.ones(n))
    delta = float(rng.choice([0.25, 0.4, 0.5]))
    return dens, body, delta, rng


@pytest.mark.parametrize("seed", range(5))
def test_decay_inequalities_on_random_small_grids(seed):
    """(2), (3), the first inequality of (6) and Ent(p_t) <= e^{-4 alpha t} Ent(p_0) along the
    grid walk's continuous-time law, from a point mass and from a random law; the decay also
    holds at the (upper) estimate of alpha, and fails at four times it."""
    dens, body, delta, rng = _small_grid_problem(seed)
    P, dist = S.transition_matrix(dens, body, delta)
    m = len(dist.probs)
    res = S.log_sobolev_constant(P, dist)
    t = np.linspace(0.0, 3.0 / res.gap, 13)
    for p0 in (np.eye(m)[int(rng.integers(m))], rng.dirichlet(np.full(m, 0.5))):
        for alpha in (None, res.estimate):
            chk = S.check_decay(p0, P, dist, t, alpha=alpha)
            assert chk.holds, chk
        assert chk.alpha == res.estimate
        assert np.all(np.diff(chk.entropy) <= 1e-15)
        bad = S.check_decay(p0, P, dist, t, alpha=4 * res.gap)
        assert not bad.holds and np.any(bad.margin_decay < 0)


def test_ball_walk_operator_with_radius_delta_is_the_grid_walk():
    dens = S.Gaussian([0.3, -0.2], cov=np.diag([0.4, 0.7]))
    box = S.Box([-1.0, -1.0], [1.0, 1.2])
    Pg, dg = S.transition_matrix(dens, box, 0.25)
    Pb, db = S.ball_walk_operator(dens, box, 0.25, 0.25)
    np.testing.assert_array_equal(dg.indices, db.indices)
    assert abs(Pg - Pb).max() < 1e-14
    Pl, _ = S.ball_walk_operator(dens, box, 0.25, 0.25, lazy=True)
    assert abs(Pl - 0.5 * (Pb + np.eye(Pb.shape[0]))).max() < 1e-15


def test_ball_walk_operator_is_reversible_with_the_grid_law():
    dens = S.ExpNorm(1.5)
    ball = S.Ball([0.1, 0.0], 1.0)
    P, dist = S.ball_walk_operator(dens, ball, 0.2, 0.5)
    A = P.toarray()
    assert np.all(A >= -1e-15)
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-13)
    Q = dist.probs[:, None] * A
    np.testing.assert_allclose(Q, Q.T, atol=1e-15)
    # from an interior cell: the 20 nonzero grid vectors of length <= 2.5 steps, each 1/20 at most
    offs = [(i, j) for i in range(-2, 3) for j in range(-2, 3) if 0 < i * i + j * j <= 6.25]
    assert len(offs) == 20
    i0 = int(np.argmin(np.abs(dist.centers - [0.1, 0.0]).sum(1)))
    row = A[i0]
    assert np.count_nonzero(row) == 21 and row[np.arange(len(row)) != i0].max() <= 1 / 20 + 1e-15


def test_ball_walk_study_refine_one_is_the_grid_walk():
    def problem(n):
        return S.Gaussian(np.zeros(n)), S.Box(-np.ones(n), np.ones(n))
    same = S.ball_walk_study(problem, dims=(1, 2), deltas=(0.5,), refine=1)
    np.testing.assert_allclose(same.table["gap_ratio"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(same.table["alpha_ratio"], 1.0, rtol=1e-9)
    study = S.ball_walk_study(problem, dims=(1,), deltas=(0.5, 0.25), refine=2)
    rows = study.rows()
    assert [r["delta"] for r in rows] == [0.5, 0.25] and all(r["states_ball"] > r["states_grid"] for r in rows)
    tab = study.table
    assert np.all(tab["alpha_ball_lower"] <= tab["alpha_ball"]) and np.all(tab["alpha_ball"] <= tab["gap_ball"] / 2)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: S.entropy([0.5, 0.6], [0.5, 0.5]), ValueError, ["mu", "sum"]),
    (lambda: S.entropy([0.5, 0.5], [1.0, 0.0]), ValueError, ["pi", "> 0"]),
    (lambda: S.entropy([1.0, -0.5], [0.5, 0.5], kind="function"), ValueError, ["mu", ">= 0"]),
    (lambda: S.entropy([0.5, 0.5], [0.5, 0.5], kind="density"), ValueError, ["kind", "density"]),
    (lambda: S.entropy([0.5, 0.5, 0.0], [0.5, 0.5]), ValueError, ["mu", "2 entries", "3"]),
    (lambda: S.entropy("ab", [0.5, 0.5]), TypeError, ["mu"]),
    (lambda: S.dirichlet_form([1.0, 0.0], [[0.5, 0.6], [0.5, 0.5]], [0.5, 0.5]), ValueError, ["P", "rows", "1.1"]),
    (lambda: S.dirichlet_form([1.0, 0.0], [[1.5, -0.5], [0.5, 0.5]], [0.5, 0.5]), ValueError, ["P", ">= 0"]),
    (lambda: S.dirichlet_form([1.0, 0.0], [[0.5, 0.5], [0.1, 0.9]], [0.5, 0.5]), ValueError, ["reversible", "pi"]),
    (lambda: S.dirichlet_form([1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]], [0.4, 0.5]), ValueError, ["pi", "sum"]),
    (lambda: S.dirichlet_form([1.0], [[0.5, 0.5], [0.5, 0.5]], [0.5, 0.5]), ValueError, ["f", "2 entries"]),
    (lambda: S.dirichlet_form([1.0, np.nan], [[0.5, 0.5], [0.5, 0.5]], [0.5, 0.5]), ValueError, ["f", "finite"]),
    (lambda: S.log_sobolev_constant(np.eye(3)[:2], [0.5, 0.5]), ValueError, ["P", "(2, 2)"]),
    (lambda: S.log_sobolev_constant([[0.5, 0.5], [0.5, 0.5]], [0.5, 0.5], random_starts=-1), ValueError,
     ["random_starts"]),
    (lambda: S.heat_semigroup([1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]], -1.0), ValueError, ["t", ">= 0"]),
    (lambda: S.heat_semigroup([1.0, 0.1], [[0.5, 0.5], [0.5, 0.5]], 1.0), ValueError, ["p0", "sum"]),
    (lambda: S.heat_semigroup([1.0, 0.0], [[0.5, 0.6], [0.5, 0.5]], 1.0), ValueError, ["P", "stochastic"]),
    (lambda: S.check_decay([1.0, 0.0], [[0.5, 0.5], [0.5, 0.5]], [0.5, 0.5], 1.0, alpha=-1.0), ValueError,
     ["alpha", ">= 0"]),
    (lambda: S.ball_walk_operator(S.Uniform(), S.Box([0.0], [1.0]), 0.25, 0.1), ValueError,
     ["radius", "delta_grid", "0.1"]),
    (lambda: S.ball_walk_operator(S.Uniform(), S.Box([0.0], [1.0]), -0.25, 0.5), ValueError, ["delta_grid", "> 0"]),
    (lambda: S.ball_walk_operator(S.Uniform(), "box", 0.25, 0.5), TypeError, ["body"]),
    (lambda: S.ball_walk_study(3, dims=(1,)), TypeError, ["problem", "callable"]),
    (lambda: S.ball_walk_study(lambda n: S.Uniform(), dims=(1,)), TypeError, ["problem(1)", "pair"]),
    (lambda: S.ball_walk_study(lambda n: (S.Uniform(), S.Box([0.0], [1.0])), dims=(0,)), ValueError, ["dims"]),
])
def test_bad_inputs_raise_naming_the_argument(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
