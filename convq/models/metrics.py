"""The F-score (appendix 5.1) and the orthogonal projection (section 4.4) of M. Lagarde,
"Machine Learning Algebra" (2022)."""
from __future__ import annotations

import numpy as np

from .._validation import as_vector

__all__ = ["f1_score", "project"]


def f1_score(y_true, y_pred, positive=1) -> float:
    """F1 = 2 P R / (P + R) with precision P = tp/(tp+fp) and recall R = tp/(tp+fn) for the
    `positive` label (Lagarde, "Machine Learning Algebra", appendix 5.1). Returns 0.0 when there is no true or predicted
    positive (P + R = 0)."""
    y_true = np.asarray(y_true).ravel()
    y_pred = np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.size} vs {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("y_true must not be empty")
    t, p = y_true == positive, y_pred == positive
    tp = int(np.sum(t & p))
    fp = int(np.sum(~t & p))
    fn = int(np.sum(t & ~p))
    if tp == 0:
        return 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return 2.0 * precision * recall / (precision + recall)


def project(x, onto) -> np.ndarray:
    """Orthogonal projection of x onto the line spanned by `onto` (section 4.4):
    p(x) = <x, y> / ||y||^2 * y."""
    x = as_vector(x, "x")
    y = as_vector(onto, "onto", size=x.size)
    yy = float(y @ y)
    if yy == 0.0:
        raise ValueError("cannot project onto the zero vector")
    return (x @ y) / yy * y
