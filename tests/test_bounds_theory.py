"""convq.bounds, error section (Mayekar & Tyagi, "Limits on Gradient Compression for
Stochastic Optimization": Theorems 2.2 and 2.3, the section 6 lower bounds, r*(T, p), the
section 7 trade-off), convq.quantize.for_budget / CoordinateSampling and
convq.stochastic.compare_budgets.

Every expected value is typed from the paper's formula with the arithmetic in a comment.
Statistical checks use fixed seeds and Z = 6 standard errors (a correct implementation
fails one comparison with probability ~2e-9), or an aggregate chi-square p-value > 1e-6.
"""
import math

import numpy as np
import pytest
from scipy import stats

from convq import bounds
from convq import quantize as Q
from convq import stochastic as S

Z = 6.0
PS = [1.0, 1.5, 2.0, 3.0, math.inf]


# ---- Theorems 2.2 and 2.3 ------------------------------------------------------------------

def test_theorem_2_2_upper_and_lower():
    # p = 4, d = 16: d^(1/2 - 1/4) = 16^(1/4) = 2;  T = 100: sqrt(T) = 10
    assert bounds.unquantized_upper(100, 16, 4, D=2.0, B=3.0, c1=1.5) == pytest.approx(1.5 * 2 * 2 * 3 / 10)  # 1.8
    assert bounds.unquantized_lower(100, 16, 4, D=2.0, B=3.0, c0=0.5) == pytest.approx(0.5 * 2 * 2 * 3 / 10)  # 0.6
    # p = 1.5, d = 256: sqrt(log2 256) = sqrt(8); the lower bound has no dimension factor
    assert bounds.unquantized_upper(100, 256, 1.5, D=2.0, B=3.0, c1=1.5) == pytest.approx(0.9 * math.sqrt(8))
    assert bounds.unquantized_lower(100, 256, 1.5, D=2.0, B=3.0, c0=0.5) == pytest.approx(0.5 * 2 * 3 / 10)  # 0.3
    # p = inf, d = 9: d^(1/2) = 3;  T = 4: 3 * 1 * 1 / 2
    assert bounds.unquantized_upper(4, 9, math.inf, 1.0, 1.0) == pytest.approx(1.5)
    # U(T, p) of eq. (4) is the upper bound with 4 c1
    assert bounds.minimax_rate(100, 16, 4, 2.0, 3.0, c1=1.5) == pytest.approx(4 * 1.8)


def test_theorem_2_3_replaces_B_by_alpha0():
    # p = 4, d = 16, T = 25: 16^(1/4) * D * alpha0 / 5 = 2 * 1 * 2.5 / 5
    assert bounds.quantized_upper(25, 16, 4, 1.0, alpha0=2.5) == pytest.approx(1.0)
    # p = 1, d = 4: sqrt(log2 4) = sqrt(2);  1 * sqrt(2) * 2 * 3 / 10
    assert bounds.quantized_upper(100, 4, 1, 2.0, alpha0=3.0) == pytest.approx(0.6 * math.sqrt(2))


# ---- section 6 -------------------------------------------------------------------------------

@pytest.mark.parametrize("p, r, expected", [
    # d = 64, T = 100, D = B = c0 = 1: base = 1/10
    (2.0, 3, math.sqrt(64 / 3) / 10),            # max(64^0 sqrt(64/8), sqrt(64/3)) / 10 = 0.4619
    (4.0, 3, 64 ** 0.25 * math.sqrt(8) / 10),    # max(2.83 * sqrt(64/8), sqrt(64/3)) / 10 = 0.8
    (4.0, 100, 64 ** 0.25 / 10),                 # r >= d: max(2.83 * 1, 1) / 10
    (math.inf, 3, 8 * math.sqrt(8) / 10),        # 64^(1/2) sqrt(64/8) / 10 = 2.26
    (1.5, 3, math.sqrt(64 / 3) / 10),            # Theorem 6.2: sqrt(64/3) / 10
    (1.0, 200, 0.1),                             # min(d, r) = d
])
def test_theorems_6_1_and_6_2(p, r, expected):
    assert bounds.quantized_lower(100, r, 64, p, 1.0, 1.0) == pytest.approx(expected)
    assert bounds.tradeoff_lower(100, r, 64, p, 1.0, 1.0) == bounds.quantized_lower(100, r, 64, p, 1.0, 1.0)


def test_quantized_lower_is_theorem_2_2_at_full_precision():
    for p in PS:
        assert bounds.quantized_lower(100, 10 ** 6, 64, p, 2.0, 3.0, c0=0.5) == pytest.approx(
            bounds.unquantized_lower(100, 64, p, 2.0, 3.0, c0=0.5) if p >= 2 else 0.5 * 6 / 10)


def test_information_steps():
    # Paninski: delta^2 min(2^r, d) / d = 0.01 * 8 / 64;  r = 10: min(1024, 64) = 64 -> 0.01
    assert bounds.mi_paninski(0.1, 3, 64) == pytest.approx(0.00125)
    assert bounds.mi_paninski(0.1, 10, 64) == pytest.approx(0.01)
    assert bounds.mi_paninski(0.1, 2 ** 62, 64) == pytest.approx(0.01)
    # Bernoulli: 360 delta^2 min(r, d) = 360 * 0.01 * 3;  r = 100 > d: 360 * 0.01 * 64
    assert bounds.mi_bernoulli(0.1, 3, 64) == pytest.approx(10.8)
    assert bounds.mi_bernoulli(0.1, 100, 64) == pytest.approx(230.4)
    # Fano: scale (1 - (T I + 1)/(c2 d)) = 2 (1 - (10 * 0.01 + 1) / 50) = 1.956; vacuous -> 0
    assert bounds.fano_lower(2.0, 10, 0.01, 100, c2=0.5) == pytest.approx(1.956)
    assert bounds.fano_lower(2.0, 10, 10.0, 100, c2=0.5) == 0.0
    # c2 = 1 - h(1/4) = 1 - (1/4 log2 4 + 3/4 log2(4/3)) = 1 - 0.5 - 0.311278 = 0.188722
    assert bounds.PACKING_C2 == pytest.approx(0.1887219, abs=1e-7)


def test_hard_instance_bounds_by_hand():
    # Bernoulli, T = 100, r = 8, d = 64, c2 = 1/2: b = 1/(c2 d) = 1/32,
    # c = 360 T min(r, d) / (c2 d) = 360 * 100 * 8 / 32 = 9000, delta* = sqrt((31/32) / 27000)
    delta = math.sqrt((31 / 32) / 27000)                               # 0.0059900
    assert bounds.hard_instance_delta("bernoulli", 100, 8, 64, c2=0.5) == pytest.approx(delta)
    # at delta*: (D B delta / 4) (1 - b - c delta^2) = (delta / 4) (2/3) (31/32)
    assert bounds.hard_instance_lower("bernoulli", 100, 8, 64, 2, 1.0, 1.0, c2=0.5) == pytest.approx(
        delta / 4 * 2 / 3 * 31 / 32)
    # Paninski, r = 3: c = 100 * (8/64) / 32 = 0.390625, sqrt((31/32)/(3c)) = 0.909 -> capped at 1/2;
    # D B delta / (4 d^(1/2)) (1 - (T delta^2 8/64 + 1)/32) = 0.5/32 * (1 - 4.125/32) = 0.0136108
    assert bounds.hard_instance_delta("paninski", 100, 3, 64, c2=0.5) == 0.5
    assert bounds.hard_instance_lower("paninski", 100, 3, 64, 2, 1.0, 1.0, c2=0.5) == pytest.approx(
        0.5 / 32 * (1 - 4.125 / 32))
    # a given delta: Fano at delta = 0.1 (Bernoulli): 0.1/4 (1 - (100 * 360 * 0.01 * 8 + 1)/32) < 0 -> 0
    assert bounds.hard_instance_lower("bernoulli", 100, 8, 64, 2, 1.0, 1.0, delta=0.1, c2=0.5) == 0.0


@pytest.mark.parametrize("kind, p", [("bernoulli", 2.0), ("bernoulli", 1.5), ("paninski", 2.0), ("paninski", 4.0)])
def test_maximised_hard_instance_is_theorem_6_1_shape(kind, p):
    """Maximised over delta (uncapped), the proof's bound is c0 * (Theorem 6.1's term) with
    one constant c0 for every T and r < log2 d (resp. r < d)."""
    d = 4096
    term = (lambda T, r: math.sqrt(d / min(d, 2 ** r)) * d ** (0.5 - 1 / p) / math.sqrt(T)) if kind == "paninski" \
        else (lambda T, r: math.sqrt(d / min(d, r)) / math.sqrt(T))
    ratios = [bounds.hard_instance_lower(kind, T, r, d, p, 1.0, 1.0) / term(T, r)
              for T in (10 ** 7, 10 ** 9) for r in (2, 5, 11)]
    assert bounds.hard_instance_delta(kind, 10 ** 7, 2, d) < 0.5
    assert max(ratios) == pytest.approx(min(ratios), rel=1e-12)
    # and the constant is (2/3)(1 - b)^(3/2) sqrt(c2 / (3 * 360)) / 4 (Bernoulli), / 4 * sqrt(c2/3) d^0 (Paninski)
    b = 1 / (bounds.PACKING_C2 * d)
    c0 = (2 / 3) * (1 - b) ** 1.5 * math.sqrt(bounds.PACKING_C2 / (3 * (360 if kind == "bernoulli" else 1))) / 4
    assert ratios[0] == pytest.approx(c0, rel=1e-12)


# ---- r*(T, p) -----------------------------------------------------------------------------

@pytest.mark.parametrize("d, p, expected", [
    (1024, 2.0, 64),         # ratio = 1/4: max((32/4)^2 = 64, log2(1024/16) = 6)
    (1024, math.inf, 6),     # max((1/4)^2, 6) = 6
    (4096, 4.0, 8),          # max((8/4)^2 = 4, log2(4096/16) = 8)
    (1024, 1.5, 7),          # 1024 / 16 / log2 1024 = 6.4 -> 7
])
def test_rstar_lower(d, p, expected):
    assert bounds.rstar_lower(100, d, p) == expected
    assert bounds.rstar_lower(100, d, p) == math.ceil(bounds.precision_lower(d, p, 0.25))
    # it is the least r at which the section 6 bound reaches U(T, p)
    U = bounds.minimax_rate(100, d, p, 1.0, 1.0)
    assert bounds.quantized_lower(100, expected, d, p, 1.0, 1.0) <= U * (1 + 1e-12)
    assert bounds.quantized_lower(100, expected - 1, d, p, 1.0, 1.0) > U if expected > 1 else True


def test_rstar_upper():
    # p = 2, d = 1024: 1024^(2/2) log2(2e * 1 + 2e) = 1024 log2(4e) = 3525.3 -> 3526 ... per d^(2/p) = d
    assert bounds.rstar_upper(7, 1024, 2) == math.ceil(1024 * math.log2(4 * math.e))
    # p = inf: log2(2e d + 2e) = log2(2e * 1025) = 12.44 -> 13 (Remark 6: O(log d))
    assert bounds.rstar_upper(7, 1024, math.inf) == 13
    for p in PS:
        assert bounds.rstar_lower(1, 512, p) <= bounds.rstar_upper(1, 512, p)
        assert bounds.rstar_upper(1, 512, p) == bounds.rstar_upper(10 ** 6, 512, p)   # Remark 5


# ---- section 7 ------------------------------------------------------------------------------

def test_tradeoff_upper_by_hand():
    # p = 2, d = 64, r = 64: SimQ+ with the largest k of <= 64 bits, alpha0 = sqrt(64/k + 1);
    # upper = 64^0 * D * alpha0 / sqrt(100)
    q = Q.for_budget(64, 2, 64, 1.0)
    k = q.k
    assert q.bits(64) <= 64 < Q.SimQPlus(1.0, 2, k + 1).bits(64)
    assert bounds.tradeoff_upper(100, 64, 64, 2, 1.0, 1.0) == pytest.approx(math.sqrt(64 / k + 1) / 10)
    # p = inf: SimQ, alpha0 = B: sqrt(64) * 1 * 1 / 10
    assert bounds.tradeoff_upper(100, 64, 64, math.inf, 1.0, 1.0) == pytest.approx(0.8)
    # p = 1.5, enough bits for the section 5 quantizer: sqrt(log2 64) * sqrt(12) / 10
    assert bounds.tradeoff_upper(100, 10 ** 5, 64, 1.5, 1.0, 1.0) == pytest.approx(math.sqrt(6 * 12) / 10)


GRID_R = [4, 8, 12, 16, 24, 40, 64, 100, 200, 400, 1000, 4000, 20000]


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("d", [2, 8, 64, 300])
def test_tradeoff_monotone_and_lower_below_upper(p, d):
    """Over a grid of r: both bounds are non-increasing in r and in T, and lower <= upper
    (c0 = c1 = 1; Theorem 2.2 needs c0 <= c1). d >= 2: for p < 2 and d = 1, sqrt(log2 d) = 0."""
    prev_lo = prev_up = math.inf
    for r in GRID_R:
        lo = bounds.tradeoff_lower(100, r, d, p, 1.0, 1.0)
        try:
            up = bounds.tradeoff_upper(100, r, d, p, 1.0, 1.0)
        except ValueError as e:
            assert "r=" in str(e)
            continue
        assert lo <= up * (1 + 1e-12), (r, lo, up)
        assert lo <= prev_lo * (1 + 1e-12) and up <= prev_up * (1 + 1e-12), r
        assert bounds.tradeoff_upper(400, r, d, p, 1.0, 1.0) == pytest.approx(up / 2)   # 1/sqrt(T)
        assert bounds.tradeoff_lower(400, r, d, p, 1.0, 1.0) == pytest.approx(lo / 2)
        prev_lo, prev_up = lo, up
    assert prev_up < math.inf
    assert bounds.unquantized_lower(100, d, p, 1.0, 1.0) <= bounds.unquantized_upper(100, d, p, 1.0, 1.0)


# ---- for_budget --------------------------------------------------------------------------

@pytest.mark.parametrize("p", PS)
def test_for_budget_meets_the_budget(p):
    for d in (1, 2, 3, 10, 64, 257, 1000):
        for r in GRID_R:
            try:
                q = Q.for_budget(r, p, d, 2.0)
            except ValueError as e:
                assert "r=" in str(e)
                # then not even the smallest quantizer fits
                least = Q.SimQ(2.0) if math.isinf(p) else Q.SimQPlus(2.0, p, 1) if p >= 2 \
                    else Q.CoordinateSampling(Q.LpQuantizer(p, 2.0), 1)
                assert least.bits(d) > r
                continue
            assert q.bits(d) <= r, (p, d, r, q)
            assert q.unbiased and q.bound == 2.0
            if math.isinf(p):
                assert isinstance(q, Q.SimQ)
            elif p >= 2:    # the largest admissible k
                assert isinstance(q, Q.SimQPlus) and Q.SimQPlus(2.0, p, q.k + 1).bits(d) > r
            elif isinstance(q, Q.CoordinateSampling):   # the largest s
                assert Q.LpQuantizer(p, 2.0).bits(d) > r
                assert all(Q.CoordinateSampling(q.inner, s).bits(d) > r for s in range(q.s + 1, d))
            else:
                assert q == Q.LpQuantizer(p, 2.0)


def test_for_budget_alpha0():
    q = Q.for_budget(60, 1.5, 200, 1.0)
    assert isinstance(q, Q.CoordinateSampling)
    assert q.alpha0(200) == pytest.approx(200 / q.s * math.sqrt(12))       # (d/s) sqrt(12) B
    q = Q.for_budget(100, 3, 50, 2.0)
    assert q.alpha0(50) == pytest.approx(math.sqrt(4 * 50 ** (2 / 3) / q.k + 4))   # Theorem 4.2


# ---- CoordinateSampling -------------------------------------------------------------------

def test_subset_rank_is_a_bijection():
    import itertools
    ranks = sorted(Q._subset_rank(c) for c in itertools.combinations(range(7), 3))
    assert ranks == list(range(math.comb(7, 3)))
    for rank in range(math.comb(7, 3)):
        assert Q._subset_rank(Q._subset_unrank(rank, 7, 3)) == rank


@pytest.mark.parametrize("d, s, code", [(10, 3, "rank"), (40, 39, "rank"), (200, 100, "seed"), (5, 9, "rank")])
def test_coordinate_sampling_round_trip(d, s, code):
    q = Q.CoordinateSampling(Q.LpQuantizer(1.5), s)
    rng = np.random.default_rng(d)
    y = rng.standard_normal(d)
    y /= np.linalg.norm(y, 3)
    m = q.encode(y, rng=7)
    assert m.nbits == q.bits(d) == q.params(d)["bits"] and q.params(d)["index_code"] == code
    out = q.decode(m)
    assert np.array_equal(out, q(y, rng=7))
    assert np.array_equal(out, q.decode(m, engine="python"))
    assert np.count_nonzero(out) <= min(s, d)
    S = q.sample(y, 3, rng=1)
    E = q.encode_batch(np.tile(y, (3, 1)), rng=1)
    assert np.array_equal(S, np.stack([q.decode(e) for e in E]))


def test_coordinate_sampling_is_unbiased():
    """Aggregate chi-square over the coordinates of three inputs: sum_i ((mean_i - y_i)/se_i)^2
    ~ chi2 with d degrees of freedom."""
    d, n = 6, 4000
    q = Q.CoordinateSampling(Q.LpQuantizer(1.5), 2)
    qn = 3.0
    rng = np.random.default_rng(0)
    ys = [np.eye(d)[0], np.full(d, d ** (-1 / qn)), rng.standard_normal(d)]
    ys[2] /= np.linalg.norm(ys[2], qn) * 1.1
    chi, dof = 0.0, 0
    for i, y in enumerate(ys):
        X = q.sample(y, n, rng=100 + i)
        sd = X.std(axis=0, ddof=1)
        live = sd > 0
        assert np.array_equal(X[:, ~live].mean(axis=0), y[~live])
        chi += float((((X.mean(axis=0) - y)[live] / (sd[live] / math.sqrt(n))) ** 2).sum())
        dof += int(live.sum())
    assert stats.chi2.sf(chi, dof) > 1e-6


def test_coordinate_sampling_alpha0_against_monte_carlo():
    # exact second moment of the sampling step with inner SimQ (||Q_in||_2 = B surely unless 0):
    # y = B e_1: E||Q||_2^2 = (d/s)^2 B^2 P(1 in S) = (d/s) B^2 = 8/2 * 4 = 16
    d, s, B, n = 8, 2, 2.0, 8000
    q = Q.CoordinateSampling(Q.SimQ(B), s)
    X = q.sample(B * np.eye(d)[0], n, rng=3)
    sq = (X ** 2).sum(axis=1)
    assert abs(sq.mean() - d / s * B * B) <= Z * sq.std(ddof=1) / math.sqrt(n)
    assert q.alpha0(d) == pytest.approx(d / s * B)       # the closed form bounds the sup ...
    assert math.sqrt(sq.mean()) <= q.alpha0(d)
    # ... and for the section 7 quantizer, sqrt(E||Q(y)||_q^2) <= (d/s) sqrt(12) B on adversarial inputs
    q = Q.CoordinateSampling(Q.LpQuantizer(1.5), 3)
    for y in (np.eye(d)[0], np.full(d, d ** (-1 / 3)), -np.eye(d)[3] * 0.5):
        X = q.sample(y, 2000, rng=5)
        m2 = (np.abs(X) ** 3).sum(axis=1) ** (2 / 3)
        assert m2.mean() - Z * m2.std(ddof=1) / math.sqrt(2000) <= q.alpha0(d) ** 2


def test_coordinate_sampling_rejects_malformed_payloads():
    q = Q.CoordinateSampling(Q.LpQuantizer(1.5), 3)
    d = 10
    nb = q.bits(d)
    ib = q.index_bits(d)                       # ceil(log2 C(10, 3)) = ceil(log2 120) = 7
    assert ib == 7
    good = q.encode(np.full(d, 0.1), rng=0).payload
    with pytest.raises(Q.DecodeError):         # rank 127 >= C(10, 3) = 120
        q.decode((int.from_bytes(good, "little") | 127).to_bytes(len(good), "little"), d)
    if nb % 8:
        with pytest.raises(Q.DecodeError):     # a padding bit set
            q.decode((int.from_bytes(good, "little") | (1 << nb)).to_bytes(len(good), "little"), d)
    for bad in (good[:-1], good + b"\0"):
        with pytest.raises(Q.DecodeError):
            q.decode(bad, d)
    with pytest.raises(Q.DecodeError):         # a Message of the wrong length
        q.decode(Q.Message(good + b"\0", nb + 8, d))


def test_coordinate_sampling_checks_its_input():
    q = Q.CoordinateSampling(Q.LpQuantizer(1.5), 2)
    with pytest.raises(ValueError, match="y"):
        q.encode(np.full(5, 1.0))              # ||y||_3 = 5^(1/3) > 1, even where S misses it
    with pytest.raises(ValueError, match="y"):
        q(np.array([0.1, np.nan, 0.0]))
    assert q == Q.CoordinateSampling(Q.LpQuantizer(1.5), 2) != Q.CoordinateSampling(Q.LpQuantizer(1.5), 3)
    assert len({q, Q.CoordinateSampling(Q.LpQuantizer(1.5), 2)}) == 1
    assert q.norm_order == 3.0 and q._spec is None


# ---- the section 7 experiment ----------------------------------------------------------------

@pytest.mark.parametrize("p, domain", [(2.0, "box"), (1.5, "ball")])
def test_compare_budgets_tiny(p, domain):
    prob = S.bernoulli_product_problem(8, p, B=1.0, D=1.0, delta=0.25, domain=domain, rng=0)
    res = S.compare_budgets(prob, [12, 40], T=30, repeats=2, rng=1)
    assert [row["r"] for row in res.rows] == [12, 40]
    D = prob.domain.diameter(8, norm=p)
    for row in res.rows:
        assert row["bits_per_step"] <= row["r"]
        assert row["name"] == repr(Q.for_budget(row["r"], p, 8, 1.0))
        assert row["lower"] == bounds.tradeoff_lower(30, row["r"], 8, p, D, 1.0)
        assert row["upper"] == bounds.tradeoff_upper(30, row["r"], 8, p, D, 1.0)
        assert 0 <= row["lower_explicit"] <= row["lower"]
        assert 0 <= row["subopt_mean"] <= 2 * prob.c * D * 8   # within the range of f on the domain
    assert res.rows[0]["upper"] >= res.rows[1]["upper"]
    assert "r" in res.table() and res.comparison.T == 30
