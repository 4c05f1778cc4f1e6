"""convq.bounds, quantization section: Theorem 3.1, Theorems 4.1/4.2, Lemma 5.2's RATQ
bound and U(T, p), against the formulas written out independently here."""
import math

import pytest

from convq import bounds
from convq import quantize as Q


def test_ln_star():
    assert bounds.ln_star(0.5) == 0
    assert bounds.ln_star(1.0) == 0
    assert bounds.ln_star(2.0) == 1            # ln 2 = 0.69
    assert bounds.ln_star(15.0) == 2           # 2.71 -> 0.997
    assert bounds.ln_star(16.0) == 3           # 2.77 -> 1.02 -> 0.02
    assert bounds.ln_star(1e6) == 3            # 13.8 -> 2.63 -> 0.97
    assert bounds.ln_star(1e300) == 4


@pytest.mark.parametrize("d", [1, 2, 3, 7, 64, 1000, 2 ** 16 + 1, 10 ** 9])
def test_simq_bits_theorem_4_1(d):
    assert bounds.simq_bits(d) == math.ceil(math.log2(2 * d + 1))
    assert bounds.simq_alpha0(2.5) == 2.5


@pytest.mark.parametrize("d,k", [(1, 1), (10, 3), (100, 100), (1000, 31), (65537, 65537), (5, 400)])
def test_simqplus_bits_theorem_4_2(d, k):
    paper = k * math.log2(math.e) + k * math.log2(d / k + 1) + k
    assert bounds.simqplus_bits(d, k) == pytest.approx(paper, rel=1e-15)
    # the proof's step: log2 C(d+k, k) <= k log2(e (d+k)/k), plus k sign bits
    exact = (math.lgamma(d + k + 1) - math.lgamma(k + 1) - math.lgamma(d + 1)) / math.log(2) + k
    assert exact <= paper + 1e-9


def test_simqplus_alpha0():
    assert bounds.simqplus_alpha0(100, 100, 2, 1.0) == pytest.approx(math.sqrt(2))
    assert bounds.simqplus_alpha0(16, 2, 4, 3.0) == pytest.approx(math.sqrt(9 * 4 / 2 + 9))
    assert bounds.simqplus_alpha0(16, 1, math.inf, 1.0) == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError):
        bounds.simqplus_alpha0(16, 1, 1.5)


@pytest.mark.parametrize("d", [1, 10, 1000, 10 ** 6])
def test_precision_upper_p_at_least_2(d):
    assert bounds.precision_upper(d, 2) == pytest.approx(d * math.log2(4 * math.e))
    assert bounds.precision_upper(d, math.inf) == pytest.approx(math.log2(2 * math.e * d + 2 * math.e))
    assert bounds.precision_upper(d, "inf") == bounds.precision_upper(d, math.inf)
    p = 4
    assert bounds.precision_upper(d, p) == pytest.approx(
        d ** 0.5 * math.log2(2 * math.e * d ** 0.5 + 2 * math.e))


def test_precision_upper_p_below_2_by_hand():
    # d = 1000, p = 1.5, q = 3: ln*(333.3) = 3 -> Delta2 = ceil(log2 4) = 2;
    # Delta1 = ceil(log2(2 + sqrt(18 + 6 ln 2) * 1000^(1/6))) = ceil(log2 16.87) = 5;
    # ceil(log2(2 sqrt2 5^(1/3) + 2)) = ceil(log2 6.84) = 3 -> 1000 (3 + 3) + 2 = 6002.
    assert bounds.lp_deltas(1000, 1.5) == (5, 2)
    assert bounds.precision_upper(1000, 1.5) == 6002
    # p = 1: q = inf, 1/q = 0: Delta1 = ceil(log2(2 + sqrt(18 + 6 ln Delta2) sqrt(d)))
    d1, d2 = bounds.lp_deltas(1000, 1)
    assert d2 == 2 and d1 == math.ceil(math.log2(2 + math.sqrt(18 + 6 * math.log(2)) * math.sqrt(1000)))
    assert bounds.precision_upper(1000, 1) == 1000 * (math.ceil(math.log2(2 * math.sqrt(2) + 2)) + 3) + 2
    # d <= 3: Delta2 = 0 and ln Delta2 is taken as 0
    assert bounds.lp_deltas(3, 1.5)[1] == 0


@pytest.mark.parametrize("d", [1, 2, 3, 7, 64, 1000, 2 ** 16 + 1])
@pytest.mark.parametrize("p", [1, 1.2, 1.5, 1.9])
def test_c_core_uses_the_same_deltas(d, p):
    P = Q.LpQuantizer(p, 2.0).params(d)
    d1, d2 = bounds.lp_deltas(d, p)
    assert (P["delta1"], P["delta2"]) == (d1, d2)
    invq = (p - 1) / p
    assert P["c"] == pytest.approx(2.0 * d1 ** invq / d ** invq, rel=1e-14)
    assert P["L"] == 2 ** math.ceil(math.log2(2 * math.sqrt(2) * d1 ** invq + 2))


def test_precision_lower():
    r = 0.1
    for d in [4, 100, 10 ** 6]:
        assert bounds.precision_lower(d, 2, r) == pytest.approx(max((r * d ** 0.5) ** 2, 2 * math.log2(r * d ** 0.5)))
        assert bounds.precision_lower(d, math.inf, r) == pytest.approx(max(r ** 2, 2 * math.log2(r * d ** 0.5)))
        assert bounds.precision_lower(d, 1.5, r) == pytest.approx((r / math.sqrt(math.log2(d))) ** 2 * d)
        for p in [1, 1.5, 2, 3, math.inf]:
            assert bounds.precision_lower(d, p, r) <= bounds.precision_upper(d, p)
    with pytest.raises(ValueError, match="d >= 2"):
        bounds.precision_lower(1, 1.5, r)
    with pytest.raises(ValueError):
        bounds.precision_lower(10, 2, -1.0)


def test_minimax_rate_eq_4():
    assert bounds.minimax_rate(100, 64, 2, 1.0, 1.0) == pytest.approx(4 / 10)
    assert bounds.minimax_rate(100, 64, 4, 2.0, 3.0, c1=0.5) == pytest.approx(4 * 0.5 * 64 ** 0.25 * 6 / 10)
    assert bounds.minimax_rate(100, 64, math.inf, 1.0, 1.0) == pytest.approx(4 * 8 / 10)
    assert bounds.minimax_rate(100, 64, 1.5, 1.0, 1.0) == pytest.approx(4 * math.sqrt(6) / 10)


def test_ratq_bound_and_lp_alpha0():
    assert bounds.ratq_mse_bound(2.0, 1, 4) == pytest.approx(4 * 9 / 4)
    assert bounds.ratq_mse_bound(1.0, 3, 8) == pytest.approx((9 + 3 * math.log(3)) / 36)  # k = 7
    assert bounds.ratq_mse_bound(1.0, 3, 3) == pytest.approx(9 + 3 * math.log(3))  # k = 2
    assert bounds.ratq_mse_bound(1.0, 3, 2) == math.inf  # k = 1
    for p in [1, 1.5, 2, 4, math.inf]:
        assert bounds.lp_alpha0(50, p, 2.0) == pytest.approx(Q.LpQuantizer(p, 2.0).alpha0(50))


def test_argument_validation():
    with pytest.raises(ValueError):
        bounds.precision_upper(0, 2)
    with pytest.raises(ValueError):
        bounds.precision_upper(10, 0.5)
    with pytest.raises(TypeError):
        bounds.simq_bits(2.5)
    with pytest.raises(TypeError):
        bounds.simqplus_bits(True, 3)
    with pytest.raises(ValueError):
        bounds.lp_deltas(10, 2)
    with pytest.raises(ValueError):
        bounds.minimax_rate(0, 10, 2, 1, 1)
