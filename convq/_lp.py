"""l_p geometry helpers shared by the quantizers, the bounds, the stochastic methods and
the gain-shape wrappers: the exponent check and the Hoelder conjugate q = p/(p-1)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import check_real

__all__ = ["check_p", "conjugate", "norm_order_of"]


def check_p(p, name="p", minimum=1.0) -> float:
    """An l_p exponent in [minimum, inf]; "inf"/"infinity" and +inf accepted."""
    if isinstance(p, str) and p.lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(p, numbers.Real) and not isinstance(p, (bool, np.bool_)) and math.isinf(float(p)) and p > 0:
        return math.inf
    p = check_real(p, name)
    if p < minimum:
        raise ValueError(f"{name} must be in [{minimum:g}, inf], got {p}")
    return p


def conjugate(p) -> float:
    """The Hoelder conjugate q = p/(p-1): 1 for p = inf, inf for p = 1."""
    if math.isinf(p):
        return 1.0
    if p == 1.0:
        return math.inf
    return p / (p - 1.0)


def norm_order_of(quantizer) -> float:
    """The norm in which a quantizer's bound B holds: its ``q`` attribute, else the
    conjugate of its ``p`` (default 2, the l_2 norm)."""
    q = getattr(quantizer, "q", None)
    return float(q) if q is not None else conjugate(getattr(quantizer, "p", 2.0))
