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


# ---- sampling ----
# The sampling kernels' parameters (csrc/sampling/cq_sampling.h: cq_smp_body, cq_smp_density,
# cq_smp_walk), read by field name by csrc/python/_sampling.c and by the NumPy twins of
# convq/slow/sampling.py; a plain tuple is refused. Arrays are float64 and C-contiguous
# (converted if not); None marks an absent part. The dimension n is the density's; the
# counts (balls, polytope rows, observations) are the arrays' lengths.

class BodySpec(NamedTuple):
    """A convex body ``K = box ∩ balls ∩ {x : A x <= b}`` as the C core sees it (``cq_smp_body``).

    Every part is optional; its dimension is the density's ``n``."""

    lo: object = None            # box lower bounds (n,); None = no box (then hi is None too)
    hi: object = None            # box upper bounds (n,)
    centers: object = None       # ball centres (n_balls, n); None = no balls (then radii is None too)
    radii: object = None         # ball radii (n_balls,)
    A: object = None             # polytope rows (m, n); None = no polytope (then AT and b are None too)
    AT: object = None            # A transposed, (n, m)
    b: object = None             # right-hand sides (m,)
    exact_cube: int = 0          # grid set: 1 = exact cube test (a lone box or a lone ball), 0 = centre test


class DensitySpec(NamedTuple):
    """A log-concave density ``log F`` as the C core sees it (``cq_smp_density``).

    ``kind`` is one of the ``_core.SMP_DENS_<NAME>`` constants; only the fields a kind uses
    matter, the others keep their defaults."""

    kind: int                    # SMP_DENS_UNIFORM, _GAUSS, _EXPNORM or _LOGISTIC
    n: int                       # the dimension
    mean: object = None          # GAUSS: (n,); None = 0
    prec: object = None          # GAUSS, LOGISTIC prior: the precision P (n, n); None when diagonal
    prec_diag: object = None     # the diagonal of P (n,); None = no quadratic part
    c: float = 0.0               # EXPNORM: log F = -c |x|^power
    power: int = 0               # EXPNORM: 1 or 2
    X: object = None             # LOGISTIC: the observations (N, n)
    XT: object = None            # LOGISTIC: X transposed, (n, N)
    y: object = None             # LOGISTIC: the labels (N,) in {0, 1}


class WalkSpec(NamedTuple):
    """A walk and its run length as the C core sees it (``cq_smp_walk``).

    ``method`` is one of the ``_core.SMP_WALK_<NAME>`` constants."""

    method: int                  # SMP_WALK_GRID, _BALL, _HAR_COORD or _HAR_DIR
    delta: float = 1.0           # grid side / ball-walk radius (unused by hit-and-run)
    offset: object = None        # grid walk: (n,), the centres are offset + delta * k
    continuous_time: int = 0     # 1: Exp(1) holding times between proposals, reported
    lazy: int = 0                # grid walk: 1 = stay put with probability 1/2 before proposing
    n_steps: int = 0             # recorded steps (after burn-in)
    thin: int = 1                # keep every thin-th step: n_steps // thin states
    burn_in: int = 0             # steps run and discarded first


__all__ += ["BodySpec", "DensitySpec", "WalkSpec"]
