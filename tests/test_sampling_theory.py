"""convq.sampling.theory: condition (1), C_u, pi_u, M and Theorem 1 of Frieze and Kannan
("Log-Sobolev inequalities and sampling from log-concave distributions", sections 1-2),
computed from the problem and checked against brute force and exact TV decay."""
import math

import numpy as np
import pytest
from scipy.linalg import expm

import convq.sampling as S
from convq.sampling import exact, theory


def _brute_alpha(density, body, delta, offset, pts=41):
    """max over x in C and y on a fine sub-grid of C(x) ∩ K of |log F(y) - log F(x)|, as alpha."""
    dist = S.exact_grid_distribution(density, body, delta, offset)
    n = body.dim
    h = 0.5 * delta
    worst = 0.0
    for x, lx in zip(dist.centers, dist.logf):
        if isinstance(body, S.Box):
            a, b = np.maximum(x - h, body.lo), np.minimum(x + h, body.hi)
        else:
            a, b = x - h, x + h
        axes = np.meshgrid(*[np.linspace(a[j], b[j], pts) for j in range(n)], indexing="ij")
        y = np.stack([g.ravel() for g in axes], axis=1)
        y = y[body.contains(y)]
        if len(y):
            worst = max(worst, float(np.abs(density.logpdf(y) - lx).max()))
    return math.expm1(worst)


CASES = {
    "gauss-diag-box": (S.Gaussian([0.23, -0.41], cov=np.diag([0.5, 2.0])), S.Box([-1.0, -1.5], [1.2, 0.7]), 0.3),
    "expnorm1-box": (S.ExpNorm(1.3, 1), S.Box([-0.7, -0.4], [1.1, 0.9]), 0.25),
    "expnorm2-box": (S.ExpNorm(0.8, 2), S.Box([0.1, -0.4], [1.3, 0.9]), 0.25),
    "expnorm1-ball": (S.ExpNorm(1.3, 1), S.Ball([0.0, 0.0], 1.0), 0.25),
    "gauss-iso-ball": (S.Gaussian([0.3, -0.2], cov=0.7 * np.eye(2)), S.Ball([0.3, -0.2], 1.1), 0.3),
    "uniform-ball": (S.Uniform(), S.Ball([0.0, 0.0], 1.0), 0.3),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_condition1_alpha_is_the_brute_force_maximum(case):
    density, body, delta = CASES[case]
    off = body.start_point() + 0.37 * delta  # cubes cut by the boundary on every side
    alpha = S.condition1_alpha(density, body, delta, off)
    brute = _brute_alpha(density, body, delta, off)
    # the sub-grid points are in C(x) ∩ K: brute <= exact; they include the corners where the extremes
    # of these densities lie, or come within a sub-grid spacing of them
    assert brute <= alpha * (1 + 1e-12) + 1e-15
    assert brute >= alpha * (1 - 0.02) - 1e-12
    lip = S.condition1_alpha(density, body, delta, method="lipschitz")
    assert lip >= alpha * (1 - 1e-12)
    if isinstance(density, S.Uniform):
        assert alpha == 0.0 and lip == 0.0
    else:
        assert alpha > 0


def test_condition1_alpha_lipschitz_closed_form_and_refusals():
    # Gaussian N(0, 1) on [-1, 2]: M = sup |x| over [-1 - delta/2, 2 + delta/2], alpha = e^{M delta} - 1
    d, b = S.Gaussian([0.0]), S.Box([-1.0], [2.0])
    assert S.condition1_alpha(d, b, 0.1, method="lipschitz") == pytest.approx(math.expm1(2.05 * 0.1), rel=1e-14)
    # exact on the same problem: the worst cube is the last one, |y| up to 2 from its centre
    assert S.condition1_alpha(d, b, 0.1, [0.05]) < S.condition1_alpha(d, b, 0.1, method="lipschitz")
    dense = S.Gaussian([0.0, 0.0], cov=[[1.0, 0.5], [0.5, 1.0]])
    with pytest.raises(ValueError, match="method='lipschitz'"):
        S.condition1_alpha(dense, S.Box([-1, -1], [1, 1]), 0.2)
    assert S.condition1_alpha(dense, S.Box([-1, -1], [1, 1]), 0.2, method="lipschitz") > 0
    with pytest.raises(ValueError, match="LogDensity"):
        S.condition1_alpha(S.LogDensity(lambda x: -np.sum(x * x, 1)), S.Box([-1, -1], [1, 1]), 0.2,
                           method="lipschitz")
    with pytest.raises(ValueError, match="method must be 'exact' or 'lipschitz', got 'fast'"):
        S.condition1_alpha(d, b, 0.1, method="fast")
    with pytest.raises(TypeError, match="method"):
        S.condition1_alpha(d, b, 0.1, method=1)


def test_C_u_and_p_u_on_an_interval_are_exact():
    cs = S.C_u(S.Box([0.0], [1.0]), 0.1, 0.5, offset=[0.545])
    assert cs.exact and len(cs.volume_fraction) == 11
    np.testing.assert_allclose(np.sort(cs.volume_fraction), [0.05, 0.95] + [1.0] * 9, atol=1e-12)
    assert int(cs.in_C_u.sum()) == 10
    assert S.p_u(S.Uniform(), S.Box([0.0], [1.0]), 0.1, 0.5, offset=[0.545]) == pytest.approx(1 / 11, abs=1e-12)
    assert S.p_u(S.Uniform(), S.Box([0.0], [1.0]), 0.1, 0.01, offset=[0.545]) == 0.0
    with pytest.raises(ValueError, match=r"u must be in \[0, 1\], got 1.5"):
        S.C_u(S.Box([0.0], [1.0]), 0.1, 1.5)


@pytest.mark.parametrize("body", [S.Ball([0.1, 0.0], 1.0),
                                  S.Polytope([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], [1.0, 0.2, 0.3])])
def test_C_u_monte_carlo_fractions_hold_their_error(body):
    delta, off = 0.2, np.array([0.013, 0.021])
    cs = S.C_u(body, delta, 0.5, off, n_mc=2048, rng=3)
    assert not cs.exact and np.all(cs.error <= 0.06)
    # brute force: the fraction of a 100 x 100 midpoint grid of each cube in K
    g = (np.arange(100) + 0.5) / 100 - 0.5
    sub = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2) * delta
    brute = np.array([body.contains(c + sub).mean() for c in cs.centers])
    assert np.all(np.abs(cs.volume_fraction - brute) <= cs.error + 0.02)
    assert np.all(brute[cs.in_C_u] >= 0.5 - 0.02)  # counted in C_u only when certain
    dens = S.Uniform()
    pu = S.p_u(dens, body, delta, 0.5, off, n_mc=2048, rng=3)
    probs = S.exact_grid_distribution(dens, body, delta, off).probs
    assert pu == pytest.approx(probs[~cs.in_C_u].sum(), abs=1e-12) and 0 < pu < 1


def test_initial_M():
    assert S.initial_M([0.25, 0.25, 0.5], [0.25, 0.25, 0.5]) == 0.0
    assert S.initial_M([0.0, 0.0, 1.0], [0.25, 0.25, 0.5]) == pytest.approx(2 * math.log(2))
    with pytest.raises(ValueError, match="p0 must be a probability vector"):
        S.initial_M([0.5, 0.6, 0.0], [0.25, 0.25, 0.5])


def test_theorem1_bound_hypotheses_and_value():
    # d >= delta sqrt(n) is the hypothesis of Theorem 1
    with pytest.raises(ValueError, match=r"diameter >= delta \* sqrt\(n\) = 0.3 .*got diameter=0.2"):
        S.theorem1_bound(1.0, 9, 0.1, 0.2, 0.01)
    with pytest.raises(ValueError, match="t must be >= 0"):
        S.theorem1_bound([1.0, -2.0], 2, 0.1, 2.0, 0.01)
    # t = 0: sqrt(2 log(1/p_min)) (Pinsker on the entropy bound (2)); t -> inf: sqrt(2 M pi_u / beta)
    assert S.theorem1_bound(0.0, 2, 0.1, 2.0, 0.01) == pytest.approx(math.sqrt(2 * math.log(100)))
    beta = 0.5 * 0.1 * 0.01 / (2 * 4.0)
    assert S.theorem1_bound(1e12, 2, 0.1, 2.0, 0.01, u=0.1, M_pi_u=1e-7, gamma=0.5) == \
        pytest.approx(math.sqrt(2e-7 / beta))
    assert exact.theorem1_bound is theory.theorem1_bound is S.theorem1_bound


def _exact_tv(P, dist, p0, times):
    """sum_x |p_t(x) - pi(x)| for p_t = p0 e^{-t(I - P)}, from the eigenvectors of the symmetric
    D^{1/2} (P - I) D^{-1/2}, D = diag(pi) (P is reversible)."""
    s = np.sqrt(dist.probs)
    Q = P.toarray() - np.eye(P.shape[0])
    lam, V = np.linalg.eigh(0.5 * (s[:, None] * Q / s + (s[:, None] * Q / s).T))
    c = V.T @ (p0 / s)
    tv = np.array([np.abs(s * (V @ (np.exp(lam * t) * c)) - dist.probs).sum() for t in times])
    np.testing.assert_allclose(s * (V @ (np.exp(lam * times[1]) * c)), p0 @ expm(times[1] * Q), atol=1e-10)
    return tv


@pytest.mark.parametrize("density, body, delta", [
    (S.Gaussian([0.2, -0.1]), S.Box([-1.0, -1.0], [1.0, 1.0]), 0.25),
    (S.ExpNorm(1.0, 1), S.Ball([0.0, 0.0], 1.0), 0.25),
    (S.Uniform(), S.Box([0.0], [1.0]), 0.1),
    (S.Uniform(), S.Polytope([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]], [1.0, 0.2, 0.3]), 0.15),
])
def test_theorem1_bound_for_bounds_the_exact_tv_decay(density, body, delta):
    off = body.start_point() + 0.3 * delta
    dist = S.exact_grid_distribution(density, body, delta, off)
    P, _ = S.transition_matrix(density, body, delta, off)
    corner = dist.centers[np.argmax(dist.centers.sum(axis=1))]  # start: a point mass in a far cell
    times = np.r_[0.0, np.geomspace(0.1, 5e4, 40)]
    res = S.theorem1_bound_for(density, body, delta, corner, times, offset=off)
    tv = _exact_tv(P, dist, np.eye(len(dist.probs))[np.argmax(dist.centers.sum(axis=1))], times)
    assert res.certified is True and res.beta <= 4 * res.log_sobolev_lower
    assert np.all(res.bound >= tv), (res.bound - tv).min()
    assert np.all(np.diff(res.bound) <= 0) and res.n_cells == len(dist.probs)
    assert res.M == pytest.approx(S.initial_M(np.eye(len(dist.probs))[np.argmax(dist.centers.sum(axis=1))], dist))
    assert res.p_min == dist.probs.min() and 0 <= res.p_u < 1
    # the same start given as a law over C
    law = np.zeros(len(dist.probs))
    law[np.argmax(dist.centers.sum(axis=1))] = 1.0
    again = S.theorem1_bound_for(density, body, delta, law, times, offset=off)
    np.testing.assert_array_equal(again.bound, res.bound)


def test_theorem1_bound_for_constants_and_refusals():
    d, b = S.Gaussian([0.0, 0.0]), S.Box([-1.0, -1.0], [1.0, 1.0])
    r = S.theorem1_bound_for(d, b, 0.25, [0.0, 0.0], 3.0, u=0.2)
    assert r.alpha_method == "exact" and r.alpha == pytest.approx(S.condition1_alpha(d, b, 0.25))
    assert r.diameter == pytest.approx(math.sqrt(8)) and r.beta == pytest.approx(0.2 * 0.0625 / (2 * 8))
    assert r.p_u == 0.0  # every cube has at least a quarter of its volume in K (u = 0.2)
    assert isinstance(r.bound, float)
    with pytest.raises(ValueError, match="diameter >= delta"):
        S.theorem1_bound_for(d, S.Box([-0.05, -0.05], [0.05, 0.05]), 0.25, [0.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="t must be >= 0"):
        S.theorem1_bound_for(d, b, 0.25, [0.0, 0.0], -1.0)
    with pytest.raises(ValueError, match="p0 as a point must lie in a cube of C"):
        S.theorem1_bound_for(d, b, 0.25, [5.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="p0 must be a law over the 81 cells"):
        S.theorem1_bound_for(d, b, 0.25, [0.0, 0.0, 1.0], 1.0)
