"""Quantized stochastic optimisation (Mayekar & Tyagi, section 2): projected SGD for
p >= 2 and stochastic mirror descent for p in [1, 2), with gradients passed through a
convq quantizer and the bits counted from the real messages.

Submodules: :mod:`.domains` (l_p balls and boxes, exact projections, the mirror step),
:mod:`.problems` (the section-6 oracle constructions), :mod:`.oracles` (minibatch and
noisy oracles over convq objectives, with computed almost-sure bounds, and a mean-square
bounded oracle with heavy-tailed noise), :mod:`.methods`
(``sgd``, ``mirror_descent``).
"""
from .domains import Box, LpBall, mirror_exponent, mirror_step
from .compare import BudgetComparison, Comparison, compare, compare_budgets
from .oracles import MeanSquareOracle, MinibatchOracle, NoisyOracle
from .methods import SGDResult, mirror_descent, sgd, theory_step
from .problems import LinearSignProblem, bernoulli_product_problem, paninski_problem

__all__ = [
    "Box", "LpBall", "mirror_exponent", "mirror_step",
    "LinearSignProblem", "bernoulli_product_problem", "paninski_problem",
    "SGDResult", "sgd", "mirror_descent", "theory_step",
    "MinibatchOracle", "NoisyOracle", "MeanSquareOracle", "Comparison", "compare", "BudgetComparison", "compare_budgets",
]
