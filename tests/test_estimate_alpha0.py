"""estimate_alpha0: the Monte-Carlo estimate of sqrt(E||Q(Y)||^2) and its CLT interval,
against each quantizer's closed form alpha0 on its worst-case input family (Mayekar &
Tyagi, section 2.2; Theorems 4.1, 4.2, Lemma 5.1, section 5). Fixed seeds throughout."""
import math

import numpy as np
import pytest

import convq.quantize as Q

D = 16


def _flat(B, order):
    """sampler: a random-sign vector with equal |y_i| and ||y||_order = B."""
    def draw(g):
        s = np.where(g.random(D) < 0.5, -1.0, 1.0)
        return s * B / (D ** (1.0 / order) if math.isfinite(order) else 1.0)
    return draw


def _l1_sphere(B):
    def draw(g):
        u = g.standard_normal(D)
        return B * u / np.abs(u).sum()
    return draw


def _simqplus_sup(B, k):
    """The exact sup over ||y||_2 <= B of E||SimQ+(B, 2, k)(y)||_2^2: E = ||y||^2 (1 - 1/k) +
    B sqrt(d) ||y||_1 / k (k SimQ(B sqrt d) draws averaged), both terms largest at the flat
    vectors of norm B."""
    return math.sqrt(B ** 2 * (1 - 1 / k) + B ** 2 * D / k)


# (quantizer, worst-case sampler, exact sup of sqrt(E||Q(Y)||^2) there, norm)
EXACT = [
    (Q.SimQ(2.0), _l1_sphere(2.0), 2.0, 2.0),                          # Theorem 4.1: alpha0 = B, attained
    (Q.CUQ(0.5, 6), _flat(0.5, math.inf), math.sqrt(D) * 0.5, 2.0),    # grid end points: Q(y) = y
    (Q.SimQPlus(1.0, p=2, k=4), _flat(1.0, 2.0), _simqplus_sup(1.0, 4), 2.0),
    (Q.SimQPlus(1.5, p=2, k=1), _flat(1.5, 2.0), _simqplus_sup(1.5, 1), 2.0),
]


@pytest.mark.parametrize("q, sampler, exact, norm", EXACT, ids=lambda v: repr(v) if isinstance(v, Q.Quantizer) else "")
def test_interval_covers_the_closed_form_on_the_worst_case_family(q, sampler, exact, norm):
    r = Q.estimate_alpha0(q, sampler, 4000, rng=1, norm=norm)
    assert r.low <= exact * (1 + 1e-12) and exact * (1 - 1e-12) <= r.high, r
    assert r.low <= r.alpha0 <= r.high and r.n == 4000 and r.confidence == 0.95
    # the class's closed form is this sup (SimQ, CUQ) or an upper bound on it (SimQ+: B^2/k above)
    assert exact <= q.alpha0(D) * (1 + 1e-12)
    if isinstance(q, (Q.SimQ, Q.CUQ)):
        assert q.alpha0(D) == pytest.approx(exact, rel=1e-12)
    else:
        assert r.high < q.alpha0(D)          # the bound is visibly loose by B^2/k


@pytest.mark.parametrize("q, order", [(Q.RATQ(1.0), 2.0), (Q.LpQuantizer(1.5, 1.0), 3.0),
                                      (Q.LpQuantizer(1.2, 2.0), 6.0), (Q.SimQPlus(1.0, p=4), 4.0 / 3)], ids=repr)
def test_the_closed_form_bounds_hold_where_they_are_not_attained(q, order):
    # alpha0 in the l_2 norm for p >= 2 and in the l_q norm for p < 2 (section 2.2)
    norm = 2.0 if order <= 2 else order
    for sampler in (_flat(q.bound, order), np.r_[q.bound, np.zeros(D - 1)]):
        r = Q.estimate_alpha0(q, sampler, 2000, rng=2, norm=norm)
        assert r.low <= q.alpha0(D), r


def test_interval_reaches_its_nominal_coverage():
    # 200 independent 95% intervals of n = 400 on SimQ+ (a non-degenerate law of ||Q(Y)||^2):
    # the count that covers the exact value is Binomial(200, ~0.95), mean 190, sd 3.1
    q = Q.SimQPlus(1.0, p=2, k=4)
    y = _flat(1.0, 2.0)(np.random.default_rng(0))
    exact = _simqplus_sup(1.0, 4)
    hits = sum(r.low <= exact <= r.high for r in (Q.estimate_alpha0(q, y, 400, rng=s) for s in range(200)))
    assert 180 <= hits <= 199, hits


def test_fixed_input_and_sampler_paths_and_duck_typed_quantizers():
    q = Q.QSGD(2)
    y = np.linspace(-1.0, 1.0, D)
    a = Q.estimate_alpha0(q, y, 3000, rng=3)
    b = Q.estimate_alpha0(q, lambda g: y, 3000, rng=4)

    class Duck:                                   # encode/decode/bits only
        def bits(self, d):
            return q.bits(d)

        def encode(self, v, rng=None):
            return q.encode(v, rng=rng)

        def decode(self, m):
            return q.decode(m)

    c = Q.estimate_alpha0(Duck(), y, 3000, rng=5)
    for r in (a, b, c):
        assert r.method.startswith("CLT") and r.se > 0 and r.norm == 2.0
    # the three estimate the same quantity: each pair within 5 combined standard errors of the mean square
    for r, s in ((a, b), (a, c)):
        assert abs(r.mean_sq - s.mean_sq) <= 5 * math.hypot(r.se, s.se)
    assert 0.0 < Q.estimate_alpha0(q, y, 3000, rng=3, confidence=0.5).high - a.alpha0 < a.high - a.alpha0
    assert "alpha0" in repr(a)


def test_bad_arguments_name_them():
    y = np.ones(3) / 3
    for kw, err, name in [(dict(q=Q.SimQ), TypeError, "q"), (dict(n=1), ValueError, "n"),
                          (dict(confidence=1.0), ValueError, "confidence"), (dict(norm=0.5), ValueError, "norm"),
                          (dict(sampler="abc"), (TypeError, ValueError), "sampler"),
                          (dict(sampler=lambda g: "abc"), (TypeError, ValueError), "sampler"),
                          (dict(rng=-1), ValueError, "rng")]:
        args = dict(q=Q.SimQ(1.0), sampler=y, n=10)
        args.update(kw)
        with pytest.raises(err, match=name):
            Q.estimate_alpha0(**args)
    with pytest.raises(ValueError, match="overflow"):
        Q.estimate_alpha0(Q.Identity(), np.full(3, 1e200), 10, rng=0)
