"""The estimators of M. Lagarde's lecture notes "Machine Learning Algebra" (2022), with
scikit-learn conventions: ``fit`` returns self, fitted attributes end in ``_``,
``get_params``/``set_params``; usable in ``Pipeline`` and ``GridSearchCV``.

``LinearRegression``, ``Ridge`` (section 1), ``Lasso`` (the LASSO with an intercept),
``LogisticRegression`` (section 2),
``MLPClassifier`` (section 3), ``LinearSVM`` (section 4), ``f1_score`` (appendix) and
``project`` (section 4.4). Every iterative model takes ``method=``, ``step=`` and
``quantizer=`` (gradients through a convq quantizer; bits reported in ``bits_``).
"""
from ._base import NotFittedError
from .lasso import Lasso
from .linear import ConvergenceWarning, LinearRegression, LinearSVM, LogisticRegression, Ridge
from .metrics import f1_score, project
from .mlp import MLPClassifier

__all__ = ["LinearRegression", "Ridge", "Lasso", "LogisticRegression", "LinearSVM", "MLPClassifier", "f1_score",
           "project", "NotFittedError", "ConvergenceWarning"]
