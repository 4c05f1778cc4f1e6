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


def norm_order_of(quantizer, name="quantizer") -> float:
    """The norm in which a quantizer's bound holds (the gain-shape schemes normalise the
    gradient in it): the quantizer's public ``norm_order`` property (see
    :attr:`convq.quantize.Quantizer.norm_order`).

    An object that is not a convq quantizer but quacks like one (encode/decode/bits) may
    state the same with a ``norm_order`` attribute, or with ``q`` (the norm itself) or
    ``p`` (the geometry, whose conjugate is the norm). A class instead of an instance, or
    an object that states no norm, raises TypeError naming ``name``."""
    if isinstance(quantizer, type):
        raise TypeError(f"{name} must be a quantizer instance, got the class {quantizer.__name__} "
                        f"(call it, e.g. {quantizer.__name__}(...))")
    for attr, conj in (("norm_order", False), ("q", False), ("p", True)):
        try:
            v = getattr(quantizer, attr, None)
        except NotImplementedError:  # a Quantizer subclass that does not state it
            v = None
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v) >= 1.0:
            raise TypeError(f"{name}.{attr} must be a real number >= 1 (an l_p norm order), got {v!r}")
        return conjugate(float(v)) if conj else float(v)
    raise TypeError(f"{name} must be a convq quantizer (or state the norm its bound is in through a "
                    f"norm_order attribute), got {type(quantizer).__name__}")


def gain_bound(quantizer) -> float:
    """The radius a gain-shape scheme scales the shape g/||g|| to: the quantizer's public
    ``bound`` (B, or CUQ's M), or 1 for a quantizer that admits every finite vector."""
    b = getattr(quantizer, "bound", None)
    if b is None:   # a duck-typed quantizer: its B, else 1
        b = getattr(quantizer, "B", 1.0)
    b = float(b)
    return b if math.isfinite(b) and b > 0 else 1.0
