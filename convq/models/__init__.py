"""The estimators of the ML-algebra notes (ml-algebra-regression-nn-svm.txt), with
scikit-learn conventions: ``fit`` returns self, fitted attributes end in ``_``,
``get_params``/``set_params``; usable in ``Pipeline`` and ``GridSearchCV``."""
from ._base import NotFittedError
from .metrics import f1_score, project
from .mlp import MLPClassifier

__all__ = ["MLPClassifier", "f1_score", "project", "NotFittedError"]
