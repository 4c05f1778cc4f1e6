"""Named specs: what the Python layer hands to the C core.

Every parameter set that crosses from Python to C is one NamedTuple here, read by the
binding BY FIELD NAME (a positional plain tuple is refused with TypeError):

* ``QuantizerSpec`` -- a quantizer (the C struct ``cq_qspec``);
* ``ObjectiveSpec`` -- a built-in objective (``cq_obj``);
* ``DomainSpec`` -- a projection domain (``cq_domain``);
* ``OracleSpec`` -- a C stochastic oracle (the section-6 sign oracles, the minibatch and
  the noisy oracle over an objective);
* ``SolverSpec`` -- the options of a :func:`convq.optimize.minimize` run in C
  (``cq_opt_params``);
* ``BodySpec``, ``DensitySpec``, ``WalkSpec`` -- a convex body, a log-concave density and a
  walk of :mod:`convq.sampling` (``cq_smp_body``, ``cq_smp_density``, ``cq_smp_walk``).

The kinds are read from the constants ``convq._core`` exports from the C lists
(``Q_KIND_<NAME>`` from ``csrc/quantize/cq_qkinds.h``, ``OBJ_<NAME>``,
``DOM_<NAME>`` and ``ORACLE_<NAME>``); the numbers are never typed in Python.
"""
from __future__ import annotations

import enum
from typing import Any, NamedTuple

from . import _core

__all__ = ["Kind", "QuantizerSpec", "FLOAT32", "NORM_INF", "DMAX", "CSRSpec", "ObjectiveSpec", "DomainSpec",
           "NO_DOMAIN", "OracleSpec", "SolverSpec", "BodySpec", "DensitySpec", "WalkSpec"]

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
    s: int = 0          # RATQ: group size (0 = default); QSGD: bucket size (0 = one bucket)
    h: int = 0          # RATQ: number of ranges (0 = default)
    flags: int = 0      # FLOAT32 (Identity), NORM_INF (QSGD)


class CSRSpec(NamedTuple):
    """A sparse X as the C core reads it (``cq_csr``, csrc/optimize/cq_objectives.h): row i
    holds ``data[k]`` in column ``indices[k]`` for k in [indptr[i], indptr[i + 1]); int64
    indptr and indices, float64 data. ``shape`` is (m, n_cols), as for a dense X."""

    indptr: Any
    indices: Any
    data: Any
    n_cols: int

    @property
    def shape(self):
        return (len(self.indptr) - 1, self.n_cols)


class ObjectiveSpec(NamedTuple):
    """A built-in objective as the C core sees it (``cq_obj``, csrc/optimize/cq_objectives.h).

    ``kind`` is one of ``_core.OBJ_QUADRATIC``, ``OBJ_LEASTSQ``, ``OBJ_LOGISTIC``,
    ``OBJ_HINGE``, ``OBJ_LASSO``."""

    kind: int
    X: Any               # (m, p) float64 data (A for Quadratic and Lasso); LeastSquares/Logistic: or a CSRSpec
    y: Any               # (m,) targets (b for Quadratic and Lasso)
    intercept: bool = False   # theta[0] is an unpenalised intercept
    lam: float = 0.0     # LeastSquares/Logistic: lam; Hinge: C; Lasso: mu
    c: float = 0.0       # Quadratic: the constant; Hinge: the slope k; Lasso: the Huber delta
    threads: int = 0     # 0 = all cores


class DomainSpec(NamedTuple):
    """A projection domain as the C core sees it (``cq_domain``, csrc/stochastic/cq_domains.h).

    ``kind`` is ``_core.DOM_NONE`` (unconstrained), ``DOM_BOX`` (lo, hi) or
    ``DOM_LPBALL`` (p, radius)."""

    kind: int
    p: float = 2.0       # LPBALL: the exponent in [1, inf]
    radius: float = 1.0  # LPBALL: the radius > 0
    lo: Any = None       # BOX: (d,) lower bounds
    hi: Any = None       # BOX: (d,) upper bounds


NO_DOMAIN = DomainSpec(_core.DOM_NONE)


# One OracleSpec with a kind field (as QuantizerSpec), not one NamedTuple per family: the
# binding dispatches on the integer kind exported from the C list (csrc/stochastic/
# cq_oracles.h, CQ_ORACLE_KINDS) instead of on Python type names or strings, and every
# field has its default in one place; a kind reads only the fields it uses.
class OracleSpec(NamedTuple):
    """A C stochastic oracle: ``kind`` is ``_core.ORACLE_BERNOULLI`` or ``ORACLE_PANINSKI``
    (the section-6 sign oracles: alpha, scale, delta), ``ORACLE_MINIBATCH`` (objective,
    batch) or ``ORACLE_NOISY`` (objective, noise, B, q)."""

    kind: int
    alpha: Any = None    # sign oracles: the sign vector (d,)
    scale: float = 0.0   # sign oracles: +-scale outputs (B / d^(1/q) for Bernoulli, B for Paninski)
    delta: float = 0.0   # sign oracles: the bias in (0, 1/2]
    objective: Any = None  # minibatch/noisy: the objective's ObjectiveSpec
    batch: int = 0       # minibatch: rows per draw >= 1
    noise: float = 0.0   # noisy: half-width of the uniform noise
    B: float = 0.0       # noisy: the almost-sure bound on ||g||_q
    q: float = 2.0       # noisy: the norm of that bound


class SolverSpec(NamedTuple):
    """The options of a C solver run (``cq_opt_params``, csrc/optimize/cq_optimize.h); the
    method, step rule, nonmonotone rule and CG rule are the constants ``_core.OPT_*``,
    ``STEP_*``, ``NM_*`` and ``CG_*``. Only the fields a method reads matter."""

    method: int
    step: int = int(_core.STEP_ARMIJO)
    t: float = 1.0            # fixed step, or a line search's first trial
    alpha: float = 1e-4       # sufficient decrease (Armijo alpha, BB and L-BFGS/CG c1)
    beta: float = 0.5         # backtracking factor
    bb_variant: int = 1       # 1: s's/s'y, 2: s'y/y'y
    nonmonotone: int = int(_core.NM_NONE)
    memory: int = 10          # max-type rule's M; L-BFGS pairs
    eta: float = 0.85         # Zhang-Hager average
    t_min: float = 1e-10      # BB step clip
    t_max: float = 1e10
    l1: float = 0.0           # proximal / FISTA: weight of ||x||_1
    tol: float = 1e-6         # gradient-norm tolerance
    ftol: float = 0.0         # |f_k - f_(k-1)| tolerance, 0 = off
    restart: int = 0          # Nesterov / FISTA momentum restart
    c2: float = 0.9           # strong-Wolfe curvature constant (L-BFGS, CG)
    cg_rule: int = int(_core.CG_PRPLUS)


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


