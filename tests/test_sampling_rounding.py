"""Rounding, the Chebyshev centre, equality constraints and the billiard walk
(convq.sampling.rounding, billiard_walk). Statistical checks use fixed seeds and tolerances
in standard errors (from the effective sample size), so they are deterministic."""
import numpy as np
import pytest

import convq.sampling as S

scipy_stats = pytest.importorskip("scipy.stats")
optimize = pytest.importorskip("scipy.optimize")

TRI = S.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])


def _rotated_box(n, ratio, seed):
    """{x : |(Q'x)_i| <= h_i}, h = (ratio, 1, ..., 1), Q a fixed random rotation."""
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    h = np.ones(n)
    h[0] = ratio
    M = np.diag(1 / h) @ Q.T
    return S.Polytope(np.vstack([M, -M]), np.ones(2 * n)), Q, h


# ---- Chebyshev centre --------------------------------------------------------------------------

@pytest.mark.parametrize("body, centre, radius", [
    (TRI, [1 - 2 ** -0.5] * 2, 1 - 2 ** -0.5),                  # inradius of the right triangle, legs 1
    (S.Box([0.0, 0.0], [4.0, 1.0]), None, 0.5),                  # half the shortest side (centre not unique)
    (S.Ball([1.0, 2.0], 3.0), [1.0, 2.0], 3.0),
    (S.intersect(S.Box([0.0, 0.0], [2.0, 2.0]), S.Ball([0.0, 0.0], 2.0)), None, None),
])
def test_chebyshev_center_hand_cases(body, centre, radius):
    c, r = S.chebyshev_center(body)
    if centre is not None:
        np.testing.assert_allclose(c, centre, atol=1e-7)
    if radius is not None:
        assert r == pytest.approx(radius, abs=1e-7)
    # the ball of radius r about c lies in K: its points along many directions are members
    u = np.random.default_rng(0).standard_normal((200, 2))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    assert body.contains(c + (r * (1 - 1e-6)) * u).all()
    if radius is None:   # quarter disc of radius 2 within the box: r = 2 / (1 + sqrt 2)
        assert r == pytest.approx(2 / (1 + np.sqrt(2)), abs=1e-5)


def test_chebyshev_center_satisfies_kkt_on_a_random_polytope():
    rng = np.random.default_rng(3)
    n, m = 6, 30
    A = rng.standard_normal((m, n))
    b = 1.0 + rng.random(m)
    c, r = S.chebyshev_center(S.Polytope(A, b))
    nrm = np.linalg.norm(A, axis=1)
    slack = b - A @ c - r * nrm
    assert slack.min() > -1e-9                                   # primal feasibility
    active = slack < 1e-7
    # dual: lambda >= 0 on the active rows with A' lambda = 0 and |a|' lambda = 1
    M = np.vstack([A[active].T, nrm[active][None, :]])
    lam, res = optimize.nnls(M, np.concatenate([np.zeros(n), [1.0]]))
    assert res < 1e-7 and lam.sum() > 0


def test_chebyshev_center_rejects_a_non_body():
    with pytest.raises(TypeError, match="body must be"):
        S.chebyshev_center([[0.0, 1.0]])


# ---- affine maps and exact density transforms ---------------------------------------------------

def test_affine_map_round_trip_and_compose():
    m = S.AffineMap([[2.0, 1.0], [0.0, 3.0]], [1.0, -1.0])
    z = np.random.default_rng(1).standard_normal((5, 2))
    np.testing.assert_allclose(m.inverse(m(z)), z, atol=1e-12)
    inner = S.AffineMap(np.eye(2) * 0.5, [0.2, 0.0])
    np.testing.assert_allclose(m.compose(inner)(z), m(inner(z)), atol=1e-12)
    with pytest.raises(ValueError, match="independent columns"):
        S.AffineMap([[1.0, 2.0], [2.0, 4.0]], [0.0, 0.0])


@pytest.mark.parametrize("density, builtin", [
    (S.Gaussian([0.3, -1.0, 2.0], cov=[[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]]), S.Gaussian),
    (S.ExpNorm(0.7, 2), S.Gaussian),
    (S.ExpNorm(0.7, 1), S.LogDensity),
    (S.Uniform(), S.Uniform),
])
def test_affine_density_is_exact_up_to_a_constant(density, builtin):
    rng = np.random.default_rng(2)
    amap = S.AffineMap(rng.standard_normal((3, 3)) + 2 * np.eye(3), rng.standard_normal(3))
    dz = S.affine_density(density, amap)
    assert isinstance(dz, builtin)
    z = rng.standard_normal((20, 3))
    diff = density.logpdf(amap(z)) - dz.logpdf(z)
    np.testing.assert_allclose(diff, diff[0], atol=1e-10 * (1 + np.abs(diff).max()))


# ---- rounding -----------------------------------------------------------------------------------

def test_round_body_makes_a_skinny_box_near_isotropic():
    body, Q, h = _rotated_box(8, 100.0, seed=4)
    rd = S.round_body(body, rng=0)
    # the covariance of the uniform law on K_z: sample it and compare the spread
    ch = S.hit_and_run(S.Uniform(), rd.body, n_steps=40000, thin=20, direction="coordinate", rng=1)
    ev = np.linalg.eigvalsh(np.cov(ch.samples.reshape(-1, 8), rowvar=False))
    assert ev.max() / ev.min() < 3.0            # the original body has ratio 100^2 = 10^4
    assert body.contains(rd.map(ch.samples.reshape(-1, 8))).all()


@pytest.mark.filterwarnings("ignore:ess. the estimate:RuntimeWarning")   # near-independent billiard draws
@pytest.mark.parametrize("walk", ["hit_and_run:coordinate", "hit_and_run:random", "billiard"])
def test_rounding_leaves_the_uniform_law_on_a_rotated_box_unchanged(walk):
    n = 5
    body, Q, h = _rotated_box(n, 20.0, seed=6)
    if walk == "billiard":
        ch = S.billiard_walk(body, n_steps=4000, n_chains=4, thin=2, rounding=True, rng=7)
    else:
        ch = S.hit_and_run(S.Uniform(), body, n_steps=40000, n_chains=4, thin=10, rounding=True, rng=7,
                           direction=walk.split(":")[1])
    assert isinstance(ch.map, S.AffineMap)
    x = ch.samples
    assert body.contains(x.reshape(-1, n)).all()
    u = (x @ Q) / h                      # the box coordinates scaled to [-1, 1]: uniform, mean 0, E u^2 = 1/3
    ess = S.ess(u)
    se_mean = np.sqrt(1 / 3 / ess)
    se_sq = np.sqrt(4 / 45 / S.ess(u ** 2))
    mean = u.reshape(-1, n).mean(axis=0)
    sq = (u ** 2).reshape(-1, n).mean(axis=0)
    assert np.all(np.abs(mean) < 5 * se_mean), (mean, se_mean)
    assert np.all(np.abs(sq - 1 / 3) < 5 * se_sq), (sq, se_sq)


def test_rounding_with_a_gaussian_keeps_the_c_path_and_its_law():
    # N(0, I) on the box [-50, 50] x [-0.5, 0.5] (axis-skinny): the z-density is a built-in Gaussian
    body = S.Polytope(np.vstack([np.eye(2), -np.eye(2)]), [50.0, 0.5, 50.0, 0.5])
    rd = S.round_body(body, rng=0)
    dens = S.Gaussian([0.0, 0.0])
    assert isinstance(S.affine_density(dens, rd.map), S.Gaussian)
    ch = S.hit_and_run(dens, body, n_steps=40000, n_chains=4, thin=5, direction="coordinate", rounding=rd, rng=3)
    x0 = ch.samples[..., 0]
    se = np.sqrt(1.0 / S.ess(x0[..., None]))[0]
    assert abs(x0.mean()) < 5 * se and abs((x0 ** 2).mean() - 1.0) < 5 * np.sqrt(2) * se


@pytest.mark.parametrize("walk", ["grid", "ball"])
def test_grid_and_ball_walks_take_rounding_and_return_original_coordinates(walk):
    body, _, _ = _rotated_box(3, 10.0, seed=8)
    rd = S.round_body(body, rng=0)
    f = S.grid_walk if walk == "grid" else S.ball_walk
    ch = f(S.Uniform(), body, 0.2, n_steps=500, n_chains=2, rounding=rd, rng=5)
    assert ch.samples.shape == (2, 500, 3)
    assert body.contains(ch.samples.reshape(-1, 3)).all() or walk == "grid"   # grid centres: cubes meet K
    np.testing.assert_allclose(ch.map.inverse(ch.samples), f(S.Uniform(), rd.body, 0.2, n_steps=500, n_chains=2,
                                                             rng=5).samples, atol=1e-9)


def test_rounding_a_body_with_a_ball_uses_a_similarity():
    body = S.intersect(S.Box([-1.0, -1.0], [1.0, 1.0]), S.Ball([0.5, 0.0], 1.2))
    rd = S.round_body(body)
    assert rd.method == "similarity" and rd.map._similarity() is not None
    ch = S.hit_and_run(S.Uniform(), body, n_steps=300, rounding=rd, rng=1)
    assert body.contains(ch.samples[0]).all()


def test_rounding_argument_is_checked():
    with pytest.raises(TypeError, match="rounding must be"):
        S.hit_and_run(S.Uniform(), TRI, n_steps=10, rounding="yes")
    with pytest.raises(ValueError, match="dimension"):
        S.hit_and_run(S.Uniform(), TRI, n_steps=10, rounding=S.AffineMap(np.eye(3), np.zeros(3)))


def _assert_beta_1_2_marginals(x):
    """Chi-square on 8 cells: every column has the density 2(1 - t) on [0, 1] (a coordinate
    of the uniform law on a simplex), at the 1e-6 level (thinned draws, fixed seeds)."""
    edges = np.linspace(0, 1, 9)
    expected = len(x) * np.diff(1 - (1 - edges) ** 2)
    for j in range(x.shape[1]):
        counts = np.histogram(x[:, j], edges)[0]
        stat = float(np.sum((counts - expected) ** 2 / expected))
        assert stat < scipy_stats.chi2.ppf(1 - 1e-6, len(counts) - 1), (j, stat)


# ---- equality constraints -----------------------------------------------------------------------

def test_equality_constraints_sample_the_uniform_law_on_a_simplex_slice():
    # {x in [0, 1]^3 : x1 + x2 + x3 = 1} is the 2-simplex; x1 ~ Beta(1, 2) under the uniform law
    E, f = np.ones((1, 3)), np.array([1.0])
    ch = S.hit_and_run(S.Uniform(), S.Box(np.zeros(3), np.ones(3)), n_steps=60000, n_chains=2, thin=15,
                       equality=(E, f), rng=9)
    x = ch.samples.reshape(-1, 3)
    assert np.abs(x @ E.T - f).max() < 1e-10
    assert (x >= -1e-12).all()
    _assert_beta_1_2_marginals(x)


def test_reduce_equality_and_its_errors():
    box = S.Box(np.zeros(3), np.ones(3))
    red = S.reduce_equality(box, [[1.0, -1.0, 0.0]], [0.0])
    assert red.body.dim == 2
    np.testing.assert_allclose(red.map.T.T @ red.map.T, np.eye(2), atol=1e-12)   # an isometry
    with pytest.raises(ValueError, match="no solution"):
        S.reduce_equality(box, [[1.0, 0, 0], [1.0, 0, 0]], [0.2, 0.3])
    with pytest.raises(ValueError, match="rank 3"):
        S.reduce_equality(box, np.eye(3), [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="columns"):
        S.reduce_equality(box, [[1.0, 1.0]], [1.0])
    with pytest.raises(ValueError, match="empty|misses"):
        S.reduce_equality(box, [[1.0, 1.0, 1.0]], [5.0])
    with pytest.raises(TypeError, match="equality must be a pair"):
        S.hit_and_run(S.Uniform(), box, n_steps=10, equality=np.ones(3))


def test_equality_with_a_ball_keeps_a_ball():
    ball = S.Ball([0.0, 0.0, 0.0], 1.0)
    ch = S.ball_walk(S.Uniform(), ball, 0.3, n_steps=500, equality=([[0.0, 0.0, 1.0]], [0.6]), rng=2)
    x = ch.samples[0]
    assert np.abs(x[:, 2] - 0.6).max() < 1e-10 and (np.sum(x ** 2, axis=1) <= 1 + 1e-12).all()


# ---- the billiard walk --------------------------------------------------------------------------

def test_billiard_walk_is_uniform_on_a_triangle():
    ch = S.billiard_walk(TRI, n_steps=40000, n_chains=2, thin=5, rng=11)
    x = ch.samples.reshape(-1, 2)
    assert TRI.contains(x).all()
    _assert_beta_1_2_marginals(x)


def test_billiard_walk_is_uniform_on_a_box():
    box = S.Box([0.0, 0.0, 0.0], [1.0, 2.0, 0.5])
    ch = S.billiard_walk(box, n_steps=30000, n_chains=2, thin=5, rng=12)
    u = (ch.samples.reshape(-1, 3) - box.lo) / (box.hi - box.lo)
    cells = np.minimum((u * 3).astype(int), 2)
    idx = cells[:, 0] * 9 + cells[:, 1] * 3 + cells[:, 2]
    counts = np.bincount(idx, minlength=27)
    expected = len(u) / 27
    stat = float(np.sum((counts - expected) ** 2 / expected))
    assert stat < scipy_stats.chi2.ppf(1 - 1e-6, 26), stat


def test_billiard_walk_checks_its_arguments():
    with pytest.raises(ValueError, match="tau"):
        S.billiard_walk(TRI, n_steps=10, tau=-1.0)
    with pytest.raises(ValueError, match="outside the body"):
        S.billiard_walk(TRI, [2.0, 2.0], n_steps=10)
    with pytest.raises(TypeError, match="body must be"):
        S.billiard_walk("triangle", n_steps=10)


def test_random_hit_and_run_slack_updates_stay_in_the_body():
    # the O(m) slack updates (s -= t A d) over many accepted moves: every sample in K
    rng = np.random.default_rng(13)
    A = rng.standard_normal((60, 10))
    body = S.Polytope(A, 1.0 + rng.random(60))
    ch = S.hit_and_run(S.Uniform(), body, n_steps=100000, thin=50, rng=14)
    assert ch.acceptance_rate == 1.0 and body.contains(ch.samples[0]).all()
