"""convq.quantize: the statistical claims of the paper, checked by Monte Carlo.

Unbiasedness (E Q(y) = y) and the second-moment bounds of Theorem 4.1, Theorem 4.2,
Lemma 5.1, Lemma 5.2 and the RATQ paper's MSE bound, on adversarial admissible inputs:
a single spike, flat vectors, vectors on the boundary of the admissible set, random
directions inside it, and the zero vector.

Tolerances: every estimate is compared with Z = 6 standard errors (sample standard
deviation / sqrt(n)), so a correct quantizer fails a single comparison with probability
~2e-9 (Gaussian approximation; n >= 20000 keeps it accurate) -- and the seeds are fixed,
so the tests are deterministic. Power: with n = 20000 a bias of 6 standard errors is
detected, i.e. for SimQ on a flat vector in d = 16 (sd ~ 0.25 B per coordinate) any bias
above ~0.011 B per coordinate, about 17% of |y_i|; for the one-sided second-moment bounds
an excess of 6 standard errors of ||Q||^2 (~1-3% of the bound here) is detected, and the
two-sided exact second moments of SimQ and SimQ+ pin the distributions much tighter.
"""
import math

import numpy as np
import pytest

from convq import bounds
from convq import quantize as Q

Z = 6.0
N = 20000


def lq(Y, order, axis=-1):
    A = np.abs(Y)
    if math.isinf(order):
        return A.max(axis=axis)
    return (A ** order).sum(axis=axis) ** (1.0 / order)


def admissible_set(q):
    if math.isfinite(q.bound):
        return q.norm_order, q.bound
    return 2.0, 1.0  # baselines: any finite y; use the unit l2 sphere


def adversarial(q, d, seed):
    order, bound = admissible_set(q)
    rng = np.random.default_rng(seed)
    spike = np.zeros(d)
    spike[d // 3] = -1.0
    flat = np.ones(d)
    flat[1::2] = -1.0
    g = rng.standard_normal(d)
    vs = {"spike": spike, "flat": flat, "boundary": g, "inside": rng.standard_normal(d)}
    out = {k: v / lq(v, order) * bound for k, v in vs.items()}
    out["inside"] *= 0.4
    out["zero"] = np.zeros(d)
    return out


def assert_mean_close(S, y, what):
    n = S.shape[0]
    mean = S.mean(axis=0)
    se = S.std(axis=0, ddof=1) / math.sqrt(n)
    # + Z * range / n: an outcome of probability eps < ~Z/n may never show up in the
    # sample (sample sd 0), yet shifts the mean by eps * range (e.g. TernGrad's largest
    # coordinate, rounded to 0 with probability 1 - |y_i|/S ~ 1e-8).
    rng_i = np.abs(S).max(axis=0) + np.abs(y)
    tol = Z * se + Z * rng_i / n + 1e-12 * (1.0 + np.abs(y))
    bad = np.abs(mean - y) > tol
    assert not bad.any(), (what, np.flatnonzero(bad)[:5], (mean - y)[bad][:5], tol[bad][:5])


def moment(values):
    """(mean, standard error) of a sample."""
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


UNBIASED = [
    Q.SimQ(1.0), Q.SimQ(3.0), Q.SimQPlus(1.0), Q.SimQPlus(2.0, p=4), Q.SimQPlus(1.0, p=3, k=3),
    Q.SimQPlus(1.0, p=math.inf), Q.CUQ(1.0, 4), Q.CUQ(0.5, 3), Q.RATQ(1.0), Q.RATQ(2.0, levels=8),
    Q.LpQuantizer(1.0, 1.0), Q.LpQuantizer(1.5, 1.0), Q.LpQuantizer(1.2, 2.0), Q.LpQuantizer(3, 1.0),
    Q.QSGD(2), Q.QSGD(1, norm="inf"), Q.TernGrad(), Q.RandK(3), Q.Identity(),
]


@pytest.mark.parametrize("q", UNBIASED, ids=repr)
@pytest.mark.parametrize("d", [5, 16])
def test_unbiased_on_adversarial_inputs(q, d):
    assert q.unbiased
    for name, y in adversarial(q, d, seed=d).items():
        S = q.sample(y, N, rng=1000 + d)
        assert_mean_close(S, y, (repr(q), d, name))


def test_unbiased_composite_with_large_coordinates():
    """Inputs that exercise both parts of the l_p composite (|y_i| > c and <= c)."""
    for p, B, d in [(1.5, 1.0, 64), (1.2, 2.0, 40), (1.9, 1.0, 30)]:
        q = Q.LpQuantizer(p, B)
        P = q.params(d)
        rng = np.random.default_rng(d)
        y = 0.05 * rng.standard_normal(d)
        y[:3] = [1.0, -2.0, 1.5]
        y = y / lq(y, q.q) * B
        assert 0 < np.sum(np.abs(y) > P["c"]) <= P["dmax"]
        S = q.sample(y, N, rng=7)
        assert_mean_close(S, y, (p, d))
        m, se = moment(lq(S, q.q) ** 2)
        assert m <= 12 * B * B + Z * se  # alpha0 <= sqrt(12) B (section 5)


@pytest.mark.parametrize("d", [1, 16, 100])
def test_simq_theorem_4_1(d):
    q = Q.SimQ(2.0)
    for name, y in adversarial(q, d, seed=d).items():
        S = q.sample(y, N, rng=d)
        norms = np.linalg.norm(S, axis=1)
        assert norms.max() <= q.B  # ||Q(y)||_2 <= B surely
        assert set(np.unique(norms)) <= {0.0, q.B}
        # E||Q||^2 = B ||y||_1 exactly: two-sided check, alpha0 <= B
        m, se = moment(norms ** 2)
        exact = q.B * np.abs(y).sum()
        assert abs(m - exact) <= Z * se + 1e-12, (name, m, exact)
        assert m <= q.alpha0(d) ** 2 + Z * se


@pytest.mark.parametrize("p,k", [(2, None), (4, None), (3, 3), (2, 1), (math.inf, None)])
@pytest.mark.parametrize("d", [8, 50])
def test_simqplus_theorem_4_2(p, k, d):
    q = Q.SimQPlus(1.5, p=p, k=k)
    kk = q.k_for(d)
    Bp = q.params(d)["Bp"]
    bound = bounds.simqplus_alpha0(d, kk, p, q.B) ** 2
    assert bound == pytest.approx(q.alpha0(d) ** 2)
    for name, y in adversarial(q, d, seed=d).items():
        S = q.sample(y, N, rng=3 * d)
        m, se = moment((S ** 2).sum(axis=1))
        # exact: E||Q||^2 = ||y||^2 + (B' ||y||_1 - ||y||^2) / k
        exact = (y @ y) + (Bp * np.abs(y).sum() - y @ y) / kk
        assert abs(m - exact) <= Z * se + 1e-9, (name, m, exact)
        assert m <= bound + Z * se  # Theorem 4.2


@pytest.mark.parametrize("M,levels", [(1.0, 2), (1.0, 4), (0.3, 7), (2.0, 16)])
def test_cuq_error_never_exceeds_the_step(M, levels):
    q = Q.CUQ(M, levels)
    step = 2 * M / (levels - 1)
    for name, y in adversarial(q, 20, seed=levels).items():
        S = q.sample(y, 5000, rng=levels)
        assert np.abs(S - y).max() <= step * (1 + 1e-12), name
        grid = (S + M) / step
        np.testing.assert_allclose(grid, np.rint(grid), atol=1e-9)
        assert np.abs(S).max() <= M * (1 + 1e-12)


@pytest.mark.parametrize("d", [7, 64, 200])
@pytest.mark.parametrize("levels", [4, 8])
def test_ratq_mse_bound(d, levels):
    q = Q.RATQ(1.0, levels=levels)
    P = q.params(d)
    # the paper's bound, times d/n0 < 2 for the windowed (unpadded) rotation
    bound = bounds.ratq_mse_bound(q.B, P["ratq_s"], levels) * d / P["ratq_window"]
    assert bound == pytest.approx(q.mse_bound(d))
    for name, y in adversarial(q, d, seed=d).items():
        S = q.sample(y, 4000 if d == 200 else N, rng=d + levels)
        m, se = moment(((S - y) ** 2).sum(axis=1))
        assert m <= bound + Z * se, (name, m, bound)
        m2, se2 = moment((S ** 2).sum(axis=1))
        assert m2 <= q.alpha0(d) ** 2 + Z * se2


@pytest.mark.parametrize("p,d", [(1.5, 64), (1.2, 100), (1.9, 50), (1.0, 30)])
def test_lemmas_5_1_and_5_2(p, d):
    """Split y as in eq. (6) and check each part's q-norm second moment <= 3 B^2 with the
    parameters of eq. (7) and (8), using the standalone CUQ and RATQ classes."""
    B = 1.0
    lp = Q.LpQuantizer(p, B)
    P = lp.params(d)
    qn, c = lp.q, P["c"]
    rng = np.random.default_rng(d)
    y = 0.02 * rng.standard_normal(d)
    if P["dmax"] > 0:
        y[: min(3, P["dmax"])] = [1.0, -1.5, 2.0][: min(3, P["dmax"])]
    y = y / lq(y, qn) * B
    small = np.abs(y) <= c
    Y1 = np.where(small, y, 0.0)
    # Lemma 5.1: CUQ(M = c, levels = 2^ceil(log2(2 sqrt2 Delta1^(1/q) + 2)))
    cuq = Q.CUQ(c, P["L"])
    assert P["L"] == 2 ** math.ceil(math.log2(2 * math.sqrt(2) * P["delta1"] ** (1 / qn if qn != math.inf else 0) + 2))
    S1 = cuq.sample(Y1, N, rng=1)
    m, se = moment(lq(S1, qn) ** 2)
    assert m <= 3 * B * B + Z * se, ("Lemma 5.1", m)
    assert np.abs(S1 - Y1).max() <= 2 * c / (P["L"] - 1) * (1 + 1e-12)
    if P["dmax"] == 0:
        assert small.all()
        return
    # Lemma 5.2: RATQ(B' = B d^(1/2-1/q)) with log(k+1) = Delta1 on the restriction Y2'
    Y2 = np.zeros(P["dmax"])
    big = y[~small]
    assert 0 < big.size <= P["dmax"]
    Y2[: big.size] = big
    ratq = Q.RATQ(P["ratq_B"], levels=2 ** P["delta1"])
    # the composite sends the windowed form of this RATQ (no padding, a shorter sign field)
    assert P["ratq_bits"] <= ratq.bits(P["dmax"])
    assert np.linalg.norm(Y2) <= P["ratq_B"] * (1 + 1e-12)
    S2 = ratq.sample(Y2, N, rng=2)
    assert_mean_close(S2, Y2, "Lemma 5.2 unbiased")
    m, se = moment(lq(S2, qn) ** 2)
    assert m <= 3 * B * B + Z * se, ("Lemma 5.2", m)
