"""The closed-form bounds of the source documents.

Two families live here:

* quantization: the precision and bit counts of Mayekar & Tyagi, "Limits on Gradient
  Compression for Stochastic Optimization" (Theorem 3.1, Theorems 4.1 and 4.2, the
  minimax rate U(T, p)) -- section "Quantization bounds" below -- and its error bounds
  (Theorems 2.2 and 2.3, the section 6 lower bounds with the steps of their proofs,
  r*(T, p) both ways, the section 7 trade-off for a bit budget) -- section "Error bounds";
* first-order methods: the rates of the lecture slides "Gradient method" (after
  L. Vandenberghe's EE236C notes, "Analysis of gradient method") -- section "Rate bounds"
  at the end.

Every function validates its arguments and works on Python scalars (floats/ints).
"""
from __future__ import annotations

import math

from ._lp import check_p
from ._validation import check_int, check_positive, check_real

__all__ = [
    "ln_star",
    "lp_deltas",
    "precision_upper",
    "precision_lower",
    "simq_bits",
    "simqplus_bits",
    "simq_alpha0",
    "simqplus_alpha0",
    "lp_alpha0",
    "ratq_mse_bound",
    "minimax_rate",
    "unquantized_upper",
    "unquantized_lower",
    "quantized_upper",
    "quantized_lower",
    "mi_paninski",
    "mi_bernoulli",
    "fano_lower",
    "hard_instance_delta",
    "hard_instance_lower",
    "rstar_lower",
    "rstar_upper",
    "tradeoff_upper",
    "tradeoff_lower",
    "gd_sublinear_bound",
    "gd_linear_rate",
    "gd_linear_bound",
    "nesterov_lower_bound",
    "exact_line_search_rate",
]

# ---------------------------------------------------------------------------------------
# Quantization bounds (Mayekar & Tyagi): Theorem 3.1, Theorems 4.1/4.2, U(T, p).
# ---------------------------------------------------------------------------------------

def _p_value(p):
    return check_p(p, "p")


def ln_star(a):
    """ln*(a): the number of times ln must be applied to a before the result is <= 1
    (the paper's notation section)."""
    a = check_real(a, "a")
    n = 0
    while a > 1.0:
        a = math.log(a)
        n += 1
    return n


def lp_deltas(d, p):
    """(Delta1, Delta2) of Theorem 3.1 for p in [1, 2):

        Delta2 = ceil(log2(1 + ln*(d/3))),
        Delta1 = ceil(log2(2 + sqrt(18 + 6 ln Delta2) d^(1/2 - 1/q))),  q = p/(p-1).

    For Delta2 = 0 (d <= 3) the term ln Delta2 is taken as 0 (the theorem's formula is
    undefined there)."""
    d = check_int(d, "d", minimum=1)
    p = _p_value(p)
    if p >= 2:
        raise ValueError(f"Delta1/Delta2 are defined for p in [1, 2), got p={p}")
    invq = (p - 1.0) / p
    delta2 = math.ceil(math.log2(1 + ln_star(d / 3.0)))
    ln_d2 = math.log(delta2) if delta2 >= 1 else 0.0
    delta1 = max(1, math.ceil(math.log2(2 + math.sqrt(18 + 6 * ln_d2) * d ** (0.5 - invq))))
    return delta1, delta2


def precision_upper(d, p):
    """Theorem 3.1, upper bound on r*(T, p) in bits (independent of T, Remark 5):

    * p >= 2:       d^(2/p) log2(2e d^(1-2/p) + 2e)
    * p in [1, 2):  d (ceil(log2(2 sqrt2 Delta1^(1/q) + 2)) + 3) + Delta2   (see lp_deltas)

    p = inf gives log2(2e d + 2e) (Remark 6: O(log d))."""
    d = check_int(d, "d", minimum=1)
    p = _p_value(p)
    if p >= 2:
        e = 0.0 if math.isinf(p) else 2.0 / p
        return d ** e * math.log2(2 * math.e * d ** (1 - e) + 2 * math.e)
    delta1, delta2 = lp_deltas(d, p)
    invq = (p - 1.0) / p
    return d * (math.ceil(math.log2(2 * math.sqrt(2) * delta1 ** invq + 2)) + 3) + delta2


def precision_lower(d, p, ratio):
    """Theorem 3.1, lower bound on r*(T, p) in bits, with ratio = c0 / (4 c1):

    * p >= 2:       max((ratio d^(1/p))^2, 2 log2(ratio d^(1/2)))
    * p in [1, 2):  (ratio / sqrt(log2 d))^2 d            (needs d >= 2)
    """
    d = check_int(d, "d", minimum=1)
    p = _p_value(p)
    ratio = check_positive(ratio, "ratio")
    if p >= 2:
        e = 0.0 if math.isinf(p) else 1.0 / p
        return max((ratio * d ** e) ** 2, 2 * math.log2(ratio * math.sqrt(d)))
    if d < 2:
        raise ValueError(f"the p < 2 lower bound divides by log2 d and needs d >= 2, got d={d}")
    return ratio ** 2 / math.log2(d) * d


def simq_bits(d):
    """Theorem 4.1: SimQ's message is an integer in {-d..d}, i.e. ceil(log2(2d + 1)) bits."""
    d = check_int(d, "d", minimum=1)
    return (2 * d).bit_length()  # == ceil(log2(2d+1)) since 2d+1 is odd


def simqplus_bits(d, k):
    """Theorem 4.2: SimQ+ needs at most k log2 e + k log2(d/k + 1) + k bits (type:
    log2 C(d+k, k) <= k log2(e(d+k)/k); signs: k)."""
    d = check_int(d, "d", minimum=1)
    k = check_int(k, "k", minimum=1)
    return k * math.log2(math.e) + k * math.log2(d / k + 1) + k


def simq_alpha0(B=1.0):
    """Theorem 4.1: alpha0(SimQ; inf) <= B."""
    return check_positive(B, "B")


def simqplus_alpha0(d, k, p=2, B=1.0):
    """Theorem 4.2: alpha0(SimQ+; p) <= sqrt(B^2 d^(2/p) / k + B^2)."""
    d = check_int(d, "d", minimum=1)
    k = check_int(k, "k", minimum=1)
    p = _p_value(p)
    if p < 2:
        raise ValueError(f"SimQ+ is the quantizer for p >= 2, got p={p}")
    B = check_positive(B, "B")
    e = 0.0 if math.isinf(p) else 2.0 / p
    return math.sqrt(B * B * d ** e / k + B * B)


def lp_alpha0(d, p, B=1.0):
    """alpha0 of the quantizer Theorem 3.1 prescribes: B (p = inf, Theorem 4.1),
    Theorem 4.2 with k = ceil(d^(2/p)) (2 <= p < inf), sqrt(12) B (p < 2, section 5)."""
    d = check_int(d, "d", minimum=1)
    p = _p_value(p)
    B = check_positive(B, "B")
    if math.isinf(p):
        return B
    if p >= 2:
        return simqplus_alpha0(d, math.ceil(d ** (2.0 / p)), p, B)
    return math.sqrt(12.0) * B


def ratq_mse_bound(B, s, levels):
    """The RATQ paper's bound used in the proof of Lemma 5.2:
    E||Q(y) - y||_2^2 <= B^2 (9 + 3 ln s) / (k - 1)^2, with k + 1 = levels."""
    B = check_positive(B, "B")
    s = check_int(s, "s", minimum=1)
    levels = check_int(levels, "levels", minimum=2)
    k = levels - 1
    return math.inf if k <= 1 else B * B * (9 + 3 * math.log(s)) / (k - 1) ** 2


def minimax_rate(T, d, p, D, B, c1=1.0):
    """The benchmark accuracy U(T, p) of eq. (4): Theorem 2.2's upper bound with 4 c1,

    * p in [2, inf]: 4 c1 d^(1/2 - 1/p) D B / sqrt(T)
    * p in [1, 2):   4 c1 sqrt(log2 d) D B / sqrt(T)
    """
    return unquantized_upper(T, d, p, D, B, 4 * check_positive(c1, "c1"))


# ---------------------------------------------------------------------------------------
# Error bounds (Mayekar & Tyagi): Theorems 2.2 and 2.3 (unquantized and quantized upper
# bounds), the section 6 lower bounds (Theorems 6.1 and 6.2 with the steps of their proof),
# r*(T, p) both ways, and the section 7 trade-off E0*(T, r, p) for a bit budget r.
# ---------------------------------------------------------------------------------------

#: c2 of section 6: a d/4-packing of {-1, 1}^d in Hamming distance with 2^(c2 d) points.
#: The Gilbert-Varshamov argument gives c2 = 1 - h(1/4) (h the binary entropy): a maximal
#: packing's Hamming balls of radius d/4 cover {-1, 1}^d and each holds at most
#: 2^(d h(1/4)) points.
PACKING_C2 = 1.0 + 0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)

_KINDS = ("paninski", "bernoulli")


def _rate_factor(d, p):
    """The dimension factor of Theorem 2.2's rates: d^(1/2 - 1/p) for p >= 2 (d^(1/2) for
    p = inf), sqrt(log2 d) for p in [1, 2)."""
    if p >= 2:
        return d ** (0.5 if math.isinf(p) else 0.5 - 1.0 / p)
    return math.sqrt(math.log2(d))


def _TdpDB(T, d, p, D, B):
    return (check_int(T, "T", minimum=1), check_int(d, "d", minimum=1), _p_value(p),
            check_positive(D, "D"), check_positive(B, "B"))


def _budget(r):
    """A bit budget: an int >= 1."""
    return check_int(r, "r", minimum=1)


def _min_pow2(r, d):
    """min(2^r, d) without forming 2^r for a huge r."""
    return d if r >= d.bit_length() else min(d, 1 << r)


def _kind(kind):
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    return kind


def unquantized_upper(T, d, p, D, B, c1=1.0):
    """Theorem 2.2, upper bound on E0*(T, inf, p) (no quantization):

    * p >= 2:       c1 d^(1/2 - 1/p) D B / sqrt(T)
    * p in [1, 2):  c1 sqrt(log2 d) D B / sqrt(T)

    Attained by projected SGD (p >= 2, Remark 4) and mirror descent (p < 2, Remark 3).
    ``minimax_rate`` (U(T, p), eq. (4)) is this bound with c1 replaced by 4 c1. For p < 2
    and d = 1 the formula's sqrt(log2 d) is 0 (the theorem is meant for d >= 2)."""
    T, d, p, D, B = _TdpDB(T, d, p, D, B)
    c1 = check_positive(c1, "c1")
    return c1 * _rate_factor(d, p) * D * B / math.sqrt(T)


def unquantized_lower(T, d, p, D, B, c0=1.0):
    """Theorem 2.2, lower bound on E0*(T, inf, p):

    * p >= 2:       c0 d^(1/2 - 1/p) D B / sqrt(T)
    * p in [1, 2):  c0 D B / sqrt(T)
    """
    T, d, p, D, B = _TdpDB(T, d, p, D, B)
    c0 = check_positive(c0, "c0")
    f = _rate_factor(d, p) if p >= 2 else 1.0
    return c0 * f * D * B / math.sqrt(T)


def quantized_upper(T, d, p, D, alpha0, c1=1.0):
    """Theorem 2.3: the error of the algorithm of Remarks 3/4 fed gradients quantized by
    an unbiased Q is at most

    * p >= 2:       c1 d^(1/2 - 1/p) D alpha0(Q; p) / sqrt(T)
    * p in [1, 2):  c1 sqrt(log2 d) D alpha0(Q; p) / sqrt(T)

    i.e. Theorem 2.2's upper bound with B replaced by alpha0 (``q.alpha0(d)`` of a convq
    quantizer)."""
    return unquantized_upper(T, d, p, D, check_positive(alpha0, "alpha0"), c1)


def quantized_lower(T, r, d, p, D, B, c0=1.0):
    """Lower bound on E0*(T, r, p) for r-bit quantizers, section 6:

    * p >= 2 (Theorem 6.1):
      max(c0 D B d^(1/2 - 1/p) / sqrt(T) * sqrt(d / min(d, 2^r)),
          c0 D B / sqrt(T) * sqrt(d / min(d, r)))
    * p in [1, 2) (Theorem 6.2):  c0 D B / sqrt(T) * sqrt(d / min(d, r))

    The first term comes from the Paninski-type construction, the second from the
    Bernoulli-product one (:func:`hard_instance_lower` gives each with the explicit
    constants of the proof). For r >= d it is Theorem 2.2's lower bound (p >= 2)."""
    T, d, p, D, B = _TdpDB(T, d, p, D, B)
    r = _budget(r)
    c0 = check_positive(c0, "c0")
    base = c0 * D * B / math.sqrt(T)
    second = base * math.sqrt(d / min(d, r))
    if p < 2:
        return second
    return max(base * _rate_factor(d, p) * math.sqrt(d / _min_pow2(r, d)), second)


def mi_paninski(delta, r, d):
    """First lower bound of Theorem 6.1, the information step: an r-bit quantizer of the
    Paninski-type oracle (outputs +-B e_i w.p. (1 +- 2 delta alpha_i)/(2d)) leaks

        I(V; Q(Y)) <= delta^2 min(2^r, d) / d

    per sample (the chi-square contraction bound of Acharya, Canonne & Tyagi, "Inference
    under Information Constraints I")."""
    delta = _delta(delta)
    r = _budget(r)
    d = check_int(d, "d", minimum=1)
    return delta * delta * _min_pow2(r, d) / d


def mi_bernoulli(delta, r, d):
    """Second lower bound of Theorem 6.1, the information step: an r-bit quantizer of the
    Bernoulli-product oracle (independent coordinates +-B/d^(1/q), P(+) = (1 + 2 delta
    alpha_i)/2) leaks

        I(V; Q(Y)) <= 360 delta^2 min(r, d)

    per sample (the strong data processing inequality of Duchi, Jordan, Wainwright & Zhang,
    "Optimality guarantees for distributed statistical estimation", Proposition 2)."""
    delta = _delta(delta)
    r = _budget(r)
    d = check_int(d, "d", minimum=1)
    return 360.0 * delta * delta * min(r, d)


def _delta(delta):
    delta = check_positive(delta, "delta")
    if delta > 0.5:
        raise ValueError(f"delta must be in (0, 1/2] (the oracle's probabilities (1 +- 2 delta)/2), got {delta}")
    return delta


def _c2(c2):
    c2 = check_positive(c2, "c2")
    if c2 > 1:
        raise ValueError(f"c2 must be in (0, 1] (a packing of {{-1, 1}}^d has at most 2^d points), got {c2}")
    return c2


def fano_lower(scale, T, mi, d, c2=PACKING_C2):
    """The Fano step of Theorem 6.1's proof:

        E[f_alpha(x_T) - f_alpha(x*)] >= scale (1 - (T I(V; Q(Y)) + 1) / log|V|),

    log|V| = c2 d, with ``scale`` = D B delta / (4 d^(1/p)) (first bound) or D B delta / 4
    (second bound) and ``mi`` the per-sample information. Clipped at 0 (the bound is
    vacuous once T I + 1 >= log|V|)."""
    scale = check_positive(scale, "scale", allow_zero=True)
    T = check_int(T, "T", minimum=1)
    mi = check_positive(mi, "mi", allow_zero=True)
    d = check_int(d, "d", minimum=1)
    c2 = _c2(c2)
    return max(0.0, scale * (1.0 - (T * mi + 1.0) / (c2 * d)))


def _info_per_delta2(kind, r, d):
    """I(V; Q(Y)) / delta^2 of the construction ``kind`` (both bounds are quadratic in delta)."""
    return mi_paninski(0.5, r, d) / 0.25 if kind == "paninski" else mi_bernoulli(0.5, r, d) / 0.25


def hard_instance_delta(kind, T, r, d, c2=PACKING_C2):
    """The delta in (0, 1/2] that maximises :func:`hard_instance_lower` ("the proof is
    completed by maximizing the right-side over delta"): with the bound written
    a delta (1 - b - c delta^2), b = 1/(c2 d) and c = T I(V; Q(Y))/(delta^2 c2 d), the
    maximiser is sqrt((1 - b) / (3 c)), capped at 1/2 (and 1/2 when 1 - b <= 0)."""
    kind = _kind(kind)
    T = check_int(T, "T", minimum=1)
    r = _budget(r)
    d = check_int(d, "d", minimum=1)
    c2 = _c2(c2)
    b = 1.0 / (c2 * d)
    c = T * _info_per_delta2(kind, r, d) / (c2 * d)
    if b >= 1.0:
        return 0.5
    return min(0.5, math.sqrt((1.0 - b) / (3.0 * c)))


def hard_instance_lower(kind, T, r, d, p, D, B, delta=None, c2=PACKING_C2):
    """Theorem 6.1's two lower bounds with the explicit constants of their proofs, for the
    hard instance ``kind`` with bias ``delta`` (default: :func:`hard_instance_delta`):

    * ``"paninski"`` (first bound; the instance of
      :func:`convq.stochastic.paninski_problem` with ``domain="box"``):
      D B delta / (4 d^(1/p)) (1 - (T delta^2 min(2^r, d)/d + 1) / (c2 d));
    * ``"bernoulli"`` (second bound, also Theorem 6.2 for p in [1, 2); the instance of
      :func:`convq.stochastic.bernoulli_product_problem` with ``domain="box"``):
      D B delta / 4 (1 - (360 T delta^2 min(r, d) + 1) / (c2 d)).

    Every T-step protocol whose oracle outputs pass through an r-bit quantizer has an
    expected error at least this large on the instance for some sign vector in the packing
    (on average over a uniform one). The paper's display after the first bound drops
    Fano's "+1"; it is kept here, so the value is the (smaller) one the argument proves.
    Maximised over delta it is Theorem 6.1's ``c0 ... sqrt(d / min(d, .))`` form."""
    kind = _kind(kind)
    T, d, p, D, B = _TdpDB(T, d, p, D, B)
    r = _budget(r)
    delta = hard_instance_delta(kind, T, r, d, c2) if delta is None else _delta(delta)
    if kind == "paninski":
        scale = D * B * delta / (4.0 * d ** (0.0 if math.isinf(p) else 1.0 / p))
        mi = mi_paninski(delta, r, d)
    else:
        scale = D * B * delta / 4.0
        mi = mi_bernoulli(delta, r, d)
    return fano_lower(scale, T, mi, d, c2)


def _ratio(c0, c1):
    c0 = check_positive(c0, "c0")
    c1 = check_positive(c1, "c1")
    if c0 > c1:
        raise ValueError(f"Theorem 2.2 has c1 >= c0 > 0, got c0={c0} > c1={c1}")
    return c0 / (4.0 * c1)


def rstar_lower(T, d, p, c0=1.0, c1=1.0):
    """Lower bound on r*(T, p) of eq. (3), the least r with E0*(T, r, p) <= U(T, p): the
    least integer r >= 1 at which :func:`quantized_lower` drops to U(T, p) =
    :func:`minimax_rate` (section 6 -> Theorem 3.1). With ratio = c0/(4 c1) that is

    * p >= 2:       r >= (ratio d^(1/p))^2  and  2^r >= ratio^2 d;
    * p in [1, 2):  r >= ratio^2 d / log2 d  (d >= 2);

    the ceiling of :func:`precision_lower`. Independent of T (Remark 5)."""
    check_int(T, "T", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = _p_value(p)
    ratio = _ratio(c0, c1)
    if p < 2:
        if d < 2:
            raise ValueError(f"U(T, p) is 0 for p < 2 and d = 1 (sqrt(log2 d)); r* needs d >= 2, got d={d}")
        need = ratio * ratio * d / math.log2(d)
    else:
        need = max((ratio * d ** (0.0 if math.isinf(p) else 1.0 / p)) ** 2, math.log2(ratio * ratio * d))
    return max(1, math.ceil(need * (1 - 1e-12)))


def rstar_upper(T, d, p):
    """Upper bound on r*(T, p) (Theorem 3.1): the quantizers of sections 4 and 5 reach
    U(T, p) with ceil(:func:`precision_upper`) bits. Independent of T (Remark 5)."""
    check_int(T, "T", minimum=1)
    return math.ceil(precision_upper(d, p))


def tradeoff_upper(T, r, d, p, D, B, c1=1.0):
    """Section 7, upper bound on E0*(T, r, p) for a budget of r bits per gradient:
    Theorem 2.3 with alpha0 of :func:`convq.quantize.for_budget` (r, p, d, B) -- SimQ+
    with the largest k that fits r (p >= 2), coordinate sampling without replacement
    composed with the section 5 quantizer (p in [1, 2)):

        c1 d^(1/2 - 1/p) D alpha0 / sqrt(T)   or   c1 sqrt(log2 d) D alpha0 / sqrt(T).

    Raises ValueError naming r when no quantizer fits r bits."""
    from .quantize import for_budget
    T, d, p, D, B = _TdpDB(T, d, p, D, B)
    q = for_budget(_budget(r), p, d, B)
    return quantized_upper(T, d, p, D, q.alpha0(d), c1)


def tradeoff_lower(T, r, d, p, D, B, c0=1.0):
    """Section 7, lower bound on E0*(T, r, p): the section 6 bound (Theorems 6.1/6.2),
    which holds for every r (:func:`quantized_lower`)."""
    return quantized_lower(T, r, d, p, D, B, c0)


# ---------------------------------------------------------------------------------------
# Rate bounds of the gradient method (slides "Gradient method", "Analysis of gradient method").
# ---------------------------------------------------------------------------------------

def gd_sublinear_bound(k, t, r0):
    """Gradient method with fixed step 0 < t <= 1/L on a convex L-smooth f:

        f(x_k) - f* <= ||x_0 - x*||^2 / (2 k t)        (notes, "convergence analysis")

    With Armijo backtracking (alpha = 1/2) the same holds with t replaced by
    t_min = min(t0, beta / L).

    Parameters
    ----------
    k : int >= 1, iteration count.
    t : float > 0, the step (or t_min).
    r0 : float >= 0, ||x_0 - x*||_2.
    """
    k = check_int(k, "k", minimum=1)
    t = check_positive(t, "t")
    r0 = check_positive(r0, "r0", allow_zero=True)
    return r0 * r0 / (2.0 * k * t)


def gd_linear_rate(m, L, t):
    """Contraction factor c = 1 - t 2 m L / (m + L) of ||x_k - x*||^2 per step for an
    m-strongly convex, L-smooth f and 0 < t <= 2/(m+L) (notes, "distance to optimum");
    at t = 2/(m+L), c = ((L/m - 1)/(L/m + 1))^2."""
    m = check_positive(m, "m")
    L = check_positive(L, "L")
    t = check_positive(t, "t")
    if m > L:
        raise ValueError(f"strong convexity m must not exceed smoothness L, got m={m} > L={L}")
    if t > 2.0 / (m + L) * (1 + 1e-12):
        raise ValueError(f"the linear rate needs 0 < t <= 2/(m+L) = {2.0 / (m + L)}, got t={t}")
    return 1.0 - t * 2.0 * m * L / (m + L)


def gd_linear_bound(k, m, L, t, r0):
    """||x_k - x*||^2 <= c^k ||x_0 - x*||^2 with c = gd_linear_rate(m, L, t)."""
    k = check_int(k, "k", minimum=0)
    r0 = check_positive(r0, "r0", allow_zero=True)
    return gd_linear_rate(m, L, t) ** k * r0 * r0


def nesterov_lower_bound(k, L, r0):
    """Nesterov's lower bound for first-order methods on L-smooth convex functions
    (k <= (n-1)/2):  f(x_k) - f* >= 3 L ||x_0 - x*||^2 / (32 (k+1)^2). The function that
    attains it is :func:`convq.objectives.nesterov_hard`."""
    k = check_int(k, "k", minimum=0)
    L = check_positive(L, "L")
    r0 = check_positive(r0, "r0", allow_zero=True)
    return 3.0 * L * r0 * r0 / (32.0 * (k + 1) ** 2)


def exact_line_search_rate(gamma):
    """Per-step contraction (gamma - 1)/(gamma + 1) of ||x_k - x*|| for exact line search
    on f = (x1^2 + gamma x2^2)/2 started at (gamma, 1) (notes, "quadratic example")."""
    gamma = check_real(gamma, "gamma")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    return abs(gamma - 1.0) / (gamma + 1.0)

