"""LpQuantizer for p in [1, 2) (Mayekar & Tyagi, "Limits on Gradient Compression for
Stochastic Optimization", section 5) against Theorem 3.1: its message length is within the
theorem's upper bound for every d, it is unbiased, and its second moment is within alpha0.

Statistics: every (p, d, input) draws n = 20000 quantizations with a fixed seed.
Unbiasedness is one aggregate test per input over all d coordinates at once: Hotelling's
T^2 = n (mean - y)^T S^-1 (mean - y) with the sample covariance S (the rotation correlates
the coordinates, so the coordinate-wise z-scores are not independent), whose null law is
(n-1) k / (n-k) F(k, n-k) (k = the rank kept); and, per configuration, the sum over its
inputs of the F-scaled statistics against chi-square with the summed degrees of freedom.
Each is compared at level alpha = 1e-6; the seeds are fixed, so the tests are
deterministic and a correct quantizer passes them for all but ~1e-6 of the seeds. Power
(printed per case): at alpha = 1e-6 with k = 200 coordinates, a bias b is detected with
probability 0.99 once n b^T Sigma^-1 b >= 184, i.e. a bias of 0.096 standard deviations
along one whitened direction, or 0.0068 along each of the 200 (k = 40: 106, 0.073 and
0.011). Second moments are one-sided, mean + 6 standard errors (a correct quantizer fails
with probability ~1e-9).
"""
import functools
import math

import numpy as np
import pytest
from scipy import optimize, stats

from convq import bounds
from convq import quantize as Q

N = 20000
ALPHA = 1e-6
Z = 6.0
PS = [1.0, 1.2, 1.5, 1.9]


def lq(Y, order):
    A = np.abs(Y)
    if math.isinf(order):
        return A.max(axis=-1)
    return (A ** order).sum(axis=-1) ** (1.0 / order)


# ---- message length ----------------------------------------------------------------------

def closed_form_bits(d, p):
    """The LpQuantizer docstring's bits(d), from bounds.lp_deltas / bounds.ln_star alone:
    d ceil(log L_c) + [d' > 0] (d + min(64, signs) + ceil(d'/s) log h + d' Delta1)."""
    if p >= 2:
        raise ValueError("the closed form is the composite's (p < 2)")
    delta1, _ = bounds.lp_deltas(d, p)
    invq = (p - 1.0) / p
    lb = math.ceil(math.log2(2 * math.sqrt(2) * delta1 ** invq + 2))
    dp = 0 if p == 1 else -(-d // delta1) - 1
    if dp == 0:
        return d * lb
    n0 = 1 << (dp.bit_length() - 1)
    logh = math.ceil(math.log2(1 + bounds.ln_star(n0 / 3.0)))
    s = max(1, logh)
    signs = n0 if dp == n0 else 2 * n0
    return d * lb + d + min(64, signs) + -(-dp // s) * logh + dp * delta1


@pytest.mark.parametrize("p", PS + [1.0001, 1.37, 1.75, 1.999])
def test_bits_within_theorem_3_1_for_every_d_up_to_4096(p):
    q = Q.LpQuantizer(p, 1.0)
    over = [(d, q.bits(d), bounds.precision_upper(d, p)) for d in range(2, 4097)
            if q.bits(d) > bounds.precision_upper(d, p)]
    assert not over, over[:5]


@pytest.mark.parametrize("p", PS)
def test_bits_within_theorem_3_1_beyond_4096(p):
    """Up to 2^16 (every 7th d, and the d around every power of two and around the d where
    d' = ceil(d/Delta1) - 1 crosses one, where a window doubles), and a few huge d."""
    q = Q.LpQuantizer(p, 1.0)
    ds = set(range(4097, 2 ** 16 + 1, 7)) | {2 ** k + j for k in range(12, 17) for j in (-1, 0, 1)}
    for k in range(10, 15):      # d' = 2^k: d around 2^k Delta1
        delta1 = bounds.lp_deltas(2 ** k * 4, p)[0]
        ds |= {2 ** k * delta1 + j for j in range(-2 * delta1, 2 * delta1)}
    ds |= {10 ** 6 + 1, 2 ** 24 + 3, 10 ** 9}
    over = [d for d in sorted(ds) if q.bits(d) > bounds.precision_upper(d, p)]
    assert not over, over[:5]


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("d", [1, 2, 3, 7, 64, 1000, 4097])
def test_message_length_is_exactly_bits(p, d):
    """The encoder writes exactly bits(d) bits, the docstring's closed form, for an input
    that fills the RATQ part (a spike) and one that leaves it empty (zero)."""
    q = Q.LpQuantizer(p, 1.0)
    nbits = q.bits(d)
    assert nbits == closed_form_bits(d, p)
    spike = np.zeros(d)
    spike[d // 2] = 1.0
    for y in (spike, np.zeros(d)):
        msg = q.encode(y, rng=d)
        assert msg.nbits == nbits and len(msg.payload) == (nbits + 7) // 8
        np.testing.assert_array_equal(q.decode(msg), q(y, rng=d))
    if d >= 2:
        assert nbits <= bounds.precision_upper(d, p)


# ---- unbiasedness and second moment --------------------------------------------------------

# (p, d): windowed RATQ part with d' = params(d)["dmax"] coordinates in windows of n0:
# p = 1: no RATQ part; (1.2, 64): d' = 12, two windows of 8 (16 raw signs); (1.5, 100):
# d' = 24, two of 16; (1.9, 121): d' = 40, two of 32 (64 raw signs); (1.9, 200): d' = 66,
# two of 64 (a 64-bit seed).
CONFIGS = [(1.0, 40), (1.2, 64), (1.5, 100), (1.9, 121), (1.9, 200)]


def _to_boundary(v, q):
    return v / lq(v, q.q) * q.B * (1 - 1e-12)


def adversarial(q, d):
    """Inputs on (or inside) ||y||_q <= B that stress each part of the composite."""
    P = q.params(d)
    c, dmax = P["c"], P["dmax"]
    rng = np.random.default_rng(d)
    out = {"zero": np.zeros(d)}
    spike = np.zeros(d)
    spike[d // 2] = -q.B
    out["spike"] = spike                                     # one coordinate carries all of B
    out["boundary"] = _to_boundary(rng.standard_normal(d), q)
    out["flat"] = _to_boundary(np.where(np.arange(d) % 2, 1.0, -1.0), q)   # every coordinate small
    if dmax > 0:
        full = np.zeros(d)
        full[rng.choice(d, dmax, replace=False)] = rng.choice([-1.0, 1.0], dmax)
        out["full"] = _to_boundary(full, q)                  # the most large coordinates there can be
        ramp = np.zeros(d)
        ramp[-dmax:] = np.linspace(1.0, 3.0, dmax) * np.where(np.arange(dmax) % 3, 1.0, -1.0)
        out["ramp"] = _to_boundary(ramp, q)                  # the largest in the second window
        # half the large coordinates, and small ones spread over (-c, c) with the rest of B
        k = max(1, dmax // 2)
        mixed = rng.uniform(-0.95, 0.95, d) * c
        mixed[:k] = 0.0
        budget = q.B ** q.q - np.sum(np.abs(mixed) ** q.q)
        while budget / k <= (1.01 * c) ** q.q:               # keep the large ones above c
            mixed[k:] *= 0.5
            budget = q.B ** q.q - np.sum(np.abs(mixed) ** q.q)
        mixed[:k] = (budget / k) ** (1 / q.q) * (1 - 1e-12) * rng.choice([-1.0, 1.0], k)
        out["mixed"] = mixed
    for name, y in out.items():
        assert lq(y, q.q) <= q.B, name
        if name in ("full", "ramp", "mixed"):
            assert 0 < np.sum(np.abs(y) > c) <= dmax, name
    return out


def hotelling(S, y):
    """(F-scaled T^2, k): T^2 = n (mean - y)^T S^-1 (mean - y) on the k directions of
    non-zero sample variance, scaled by (n-k)/(n-1) so that it is k F(k, n-k) under the
    null; coordinates without variance must be exact."""
    n = S.shape[0]
    dev = S.mean(axis=0) - y
    C = S - S.mean(axis=0)
    w, V = np.linalg.eigh(C.T @ C / (n - 1))
    keep = w > 1e-12 * max(w.max(), 1e-300)
    proj = V.T @ dev
    assert np.all(np.abs(proj[~keep]) <= 1e-12 * (1 + np.abs(y).max())), "bias in a direction without variance"
    k = int(keep.sum())
    t2 = n * float(np.sum(proj[keep] ** 2 / w[keep]))
    return t2 * (n - k) / (n - 1), k


@pytest.mark.parametrize("p,d", CONFIGS)
def test_unbiased_aggregate_chi_square(p, d):
    q = Q.LpQuantizer(p, 1.0)
    total, dof = 0.0, 0
    for i, (name, y) in enumerate(adversarial(q, d).items()):
        S = q.sample(y, N, rng=100 * d + i)
        stat, k = hotelling(S, y)
        if k == 0:          # deterministic (p = 1, every |y_i| = c on the grid): exact, checked
            continue
        crit = k * stats.f.isf(ALPHA, k, N - k)
        lam = _power_lambda(k)
        print(f"p={p} d={d} {name}: T2*(n-k)/(n-1) = {stat:.1f} on k = {k}, critical {crit:.1f} "
              f"(99% power at n b'S^-1 b >= {lam:.0f})")
        assert stat <= crit, (name, stat, crit)
        total += stat
        dof += k
    crit = stats.chi2.isf(ALPHA, dof)
    print(f"p={p} d={d} aggregate: {total:.1f} on {dof} degrees of freedom, critical {crit:.1f}")
    assert total <= crit


@functools.lru_cache(maxsize=None)
def _power_lambda(k):
    """The non-centrality at which the level-ALPHA chi-square test on k degrees of freedom
    has power 0.99."""
    crit = stats.chi2.isf(ALPHA, k)
    return optimize.brentq(lambda lam: stats.ncx2.sf(crit, k, lam) - 0.99, 1.0, 10.0 * k + 200.0, xtol=0.5)


def cuq_variance(q, d, y):
    """E||e1||_2^2 exactly: the CUQ part's variance f(1-f) step^2 per coordinate, the
    large coordinates (|y_i| > c) sent as 0."""
    P = q.params(d)
    x = np.where(np.abs(y) > P["c"] * (1 + 2e-9), 0.0, y)
    t = (x + P["M"]) / P["delta"]
    f = t - np.floor(t)
    return float(np.sum(f * (1 - f))) * P["delta"] ** 2


@pytest.mark.parametrize("p,d", CONFIGS)
def test_second_moment_within_alpha0(p, d):
    """E||Q(y)||_q^2 <= alpha0(d)^2 = 12 B^2 (section 5), and the docstring's sharper
    ((2 + 1/sqrt2) B)^2; the windowed RATQ part's error E||e2||_2^2 =
    E||Q(y) - y||_2^2 - E||e1||_2^2 <= B^2 (e1, e2 independent and zero-mean)."""
    q = Q.LpQuantizer(p, 1.0)
    assert q.alpha0(d) == pytest.approx(math.sqrt(12.0) * q.B)
    for i, (name, y) in enumerate(adversarial(q, d).items()):
        S = q.sample(y, N, rng=200 * d + i)
        m2 = lq(S, q.q) ** 2
        m, se = float(m2.mean()), float(m2.std(ddof=1) / math.sqrt(N))
        assert m <= q.alpha0(d) ** 2 + Z * se, (name, m)
        assert m <= ((2 + 1 / math.sqrt(2)) * q.B) ** 2 + Z * se, (name, m)
        err = ((S - y) ** 2).sum(axis=1)
        e2, se2 = float(err.mean()) - cuq_variance(q, d, y), float(err.std(ddof=1) / math.sqrt(N))
        print(f"p={p} d={d} {name}: E||Q||_q^2 = {m:.4f} +- {se:.4f}, E||e2||_2^2 = {e2:.4f} +- {se2:.4f}")
        assert e2 <= q.B ** 2 + Z * se2, (name, e2)
