"""The closed-form bounds of the source documents.

Two families live here:

* quantization: the precision and bit counts of Mayekar & Tyagi, "Limits on Gradient
  Compression for Stochastic Optimization" (Theorem 3.1, Theorems 4.1 and 4.2, the
  minimax rate U(T, p)) -- section "Quantization bounds" below;
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
    """The benchmark accuracy U(T, p) of eq. (4):

    * p in [2, inf]: 4 c1 d^(1/2 - 1/p) D B / sqrt(T)
    * p in [1, 2):   4 c1 sqrt(log2 d) D B / sqrt(T)
    """
    T = check_int(T, "T", minimum=1)
    d = check_int(d, "d", minimum=1)
    p = _p_value(p)
    D = check_positive(D, "D")
    B = check_positive(B, "B")
    c1 = check_positive(c1, "c1")
    if p >= 2:
        e = 0.5 if math.isinf(p) else 0.5 - 1.0 / p
        return 4 * c1 * d ** e * D * B / math.sqrt(T)
    return 4 * c1 * math.sqrt(math.log2(d)) * D * B / math.sqrt(T)


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

