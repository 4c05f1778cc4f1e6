r"""Sampling log-concave densities over convex bodies.

A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from log-concave
distributions" (Annals of Applied Probability 9(1), 1999), section 1 (the
discretisation, the random walk, its transition probabilities and stationary law,
Theorem 1) and the ball walk at the end of the paper.

Space is cut into cubes of side :math:`\delta` centred on :math:`\delta\mathbb Z^n +
\mathrm{offset}`; :math:`C` is the set of centres whose cube meets the body :math:`K`.
The *grid walk* proposes :math:`y = x \pm \delta e_j` and moves with probability
:math:`\min(1, F(y)/F(x))`, so

.. math:: P(x, y) = \frac{1}{2n}\min\Bigl(1, \frac{F(y)}{F(x)}\Bigr),\quad y \in G(x),
          \qquad \pi(x) = F(x) / \textstyle\sum_{z\in C} F(z).

The built-in densities run in the C core: many chains at once, one spawned random
stream per chain, all cores, identical results for any thread count. Every walk takes
``engine="auto" | "c" | "python"``; ``"python"`` runs the slow NumPy twin
(:mod:`convq.slow.sampling`), which makes the same random draws in the same order and
gives the same chains.

The package is laid out as :mod:`~convq.sampling.bodies`, :mod:`~convq.sampling.densities`,
:mod:`~convq.sampling.walks`, :mod:`~convq.sampling.exact`, :mod:`~convq.sampling.theory`,
:mod:`~convq.sampling.logsobolev` and :mod:`~convq.sampling.diagnostics`; every public name is importable from
:mod:`convq.sampling` itself.

Bodies: :class:`Box`, :class:`Ball`, :class:`Polytope`, :func:`intersect`.
Densities (:math:`\log F`): :class:`Gaussian`, :class:`ExpNorm`, :class:`Uniform`,
:class:`LogisticPosterior`, :class:`LogDensity` (a Python callable).
Walks: :func:`grid_walk`, :func:`ball_walk`, :func:`hit_and_run`, :func:`billiard_walk`
-> :class:`Chain`; each takes ``rounding=`` and ``equality=``.
Affine changes of variables (:mod:`~convq.sampling.rounding`): :func:`chebyshev_center`,
:func:`round_body`, :func:`reduce_equality`, :class:`AffineMap`.
Volume: :func:`volume` -> :class:`VolumeResult` (multiphase Monte Carlo, with a
confidence interval).
Diagnostics: :func:`exact_grid_distribution`, :func:`tv_distance`,
:func:`transition_matrix`, :func:`spectral_gap`, :func:`ess`, :func:`rhat`.
Theorem 1 from the problem (section 2): :func:`condition1_alpha`, :func:`C_u`, :func:`p_u`,
:func:`initial_M`, :func:`theorem1_bound`, :func:`theorem1_bound_for`.
Log-Sobolev toolkit (section 2 and the appendix): :func:`entropy`, :func:`dirichlet_form`,
:func:`log_sobolev_constant`, :func:`heat_semigroup`, :func:`check_decay`; the ball-walk
PROBLEM as a numerical study: :func:`ball_walk_operator`, :func:`ball_walk_study`.
"""
from __future__ import annotations

from .bodies import Ball, Box, Intersection, Polytope, intersect
from .densities import ExpNorm, Gaussian, LogDensity, LogisticPosterior, Uniform
from .diagnostics import ess, rhat
from .exact import GridDistribution, exact_grid_distribution, spectral_gap, transition_matrix, tv_distance
from .logsobolev import (BallWalkStudy, DecayCheck, LogSobolevResult, ball_walk_operator, ball_walk_study,
                         check_decay, dirichlet_form, entropy, heat_semigroup, log_sobolev_constant)
from .theory import (C_u, CubeSet, Theorem1Bound, condition1_alpha, initial_M, p_u, theorem1_bound,
                     theorem1_bound_for)
from .volumes import VolumeResult, volume
from .rounding import AffineMap, Rounding, affine_density, affine_image, chebyshev_center, reduce_equality, round_body
from .walks import Chain, ball_walk, billiard_walk, grid_walk, hit_and_run

__all__ = [
    "Box", "Ball", "Polytope", "Intersection", "intersect",
    "Gaussian", "ExpNorm", "Uniform", "LogisticPosterior", "LogDensity",
    "Chain", "grid_walk", "ball_walk", "hit_and_run", "billiard_walk",
    "AffineMap", "Rounding", "chebyshev_center", "affine_image", "affine_density", "round_body", "reduce_equality",
    "GridDistribution", "exact_grid_distribution", "tv_distance", "transition_matrix",
    "spectral_gap", "ess", "rhat", "theorem1_bound",
    "condition1_alpha", "C_u", "CubeSet", "p_u", "initial_M", "theorem1_bound_for", "Theorem1Bound",
    "volume", "VolumeResult",
    "entropy", "dirichlet_form", "log_sobolev_constant", "LogSobolevResult", "heat_semigroup", "check_decay",
    "DecayCheck", "ball_walk_operator", "ball_walk_study", "BallWalkStudy",
]
