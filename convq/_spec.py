"""Named quantizer specs: what a Python quantizer hands to the C core.

``Kind`` is built from the ``Q_KIND_<NAME>`` constants that ``convq._core`` exports from
the one kind list of the C core (``csrc/quantize/cq_qkinds.h``); the numbers are never
typed in Python. ``QuantizerSpec`` names every field the C struct ``cq_qspec`` has, with
the defaults in one place; the binding reads it by field name.
"""
from __future__ import annotations

import enum
from typing import NamedTuple

from . import _core

__all__ = ["Kind", "QuantizerSpec", "FLOAT32", "NORM_INF", "DMAX"]

Kind = enum.IntEnum(
    "Kind",
    sorted(((name[len("Q_KIND_"):], getattr(_core, name)) for name in dir(_core) if name.startswith("Q_KIND_")),
           key=lambda item: item[1]),
    module=__name__,
)
Kind.__doc__ = "The quantizer kinds of the C core (``csrc/quantize/cq_qkinds.h``)."

FLOAT32 = int(_core.Q_FLAG_FLOAT32)    # Identity: send float32
NORM_INF = int(_core.Q_FLAG_NORM_INF)  # QSGD: scale by ||y||_inf
DMAX = int(_core.Q_DMAX)               # the largest dimension d the C core accepts


class QuantizerSpec(NamedTuple):
    """A quantizer's parameters as the C core sees them (``cq_qspec``); d is not part of it.

    Only the fields a kind uses matter; the others keep their defaults."""

    kind: Kind
    B: float = 0.0      # SimQ, SimQ+, RATQ, LP: the norm bound
    M: float = 0.0      # CUQ: the range [-M, M]
    p: float = 0.0      # SimQ+ (p in [2, inf]), LP (p in [1, inf])
    k: int = 0          # SimQ+: repetitions (0 = ceil(d^(2/p))); TopK/RandK: coordinates kept
    levels: int = 0     # CUQ: points L; RATQ: points per coordinate (0 = 4); QSGD: s
    s: int = 0          # RATQ: group size (0 = default)
    h: int = 0          # RATQ: number of ranges (0 = default)
    flags: int = 0      # FLOAT32 (Identity), NORM_INF (QSGD)
