"""The closed-form bounds of the source documents.

Two families live here:

* quantization: the precision and bit counts of Mayekar & Tyagi, "Limits on Gradient
  Compression for Stochastic Optimization" (Theorem 3.1, Theorems 4.1 and 4.2, the
  minimax rate U(T, p)) -- section "Quantization bounds" below;
* first-order methods: the rates of the gradient-method notes
  (gradient-method-line-search-bb.txt) -- section "Rate bounds" at the end.

Every function validates its arguments and works on Python scalars (floats/ints).
"""
from __future__ import annotations

import math

from ._validation import check_int, check_positive, check_real

__all__ = [
    "gd_sublinear_bound",
    "gd_linear_rate",
    "gd_linear_bound",
    "nesterov_lower_bound",
    "exact_line_search_rate",
]

# ---------------------------------------------------------------------------------------
# Quantization bounds (Mayekar & Tyagi): Theorem 3.1, Theorems 4.1/4.2, U(T, p).
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Rate bounds of the gradient method (gradient-method-line-search-bb.txt).
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
    (k <= (n-1)/2):  f(x_k) - f* >= 3 L ||x_0 - x*||^2 / (32 (k+1)^2)."""
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


_ = math  # math is used by the quantization bounds
