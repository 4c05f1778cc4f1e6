"""scikit-learn conventions without a scikit-learn dependency.

When scikit-learn is installed the estimators derive from ``sklearn.base.BaseEstimator``
and the matching mixins, so they work in ``Pipeline``, ``GridSearchCV``, ``clone`` and
pass ``check_estimator``. Without it, :class:`_MiniBase` provides the same
``get_params``/``set_params``/``repr`` behaviour (parameters are the ``__init__``
arguments, stored unchanged; fitted attributes end in ``_``).
"""
from __future__ import annotations

import inspect

import numpy as np

from .._validation import check_finite, is_sparse

try:  # optional dependency
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
    from sklearn.exceptions import DataConversionWarning, NotFittedError
    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised in the no-sklearn CI job of the demo
    HAVE_SKLEARN = False

    class NotFittedError(ValueError, AttributeError):
        """Raised when predict/score is called before fit (as scikit-learn's)."""

    class DataConversionWarning(UserWarning):
        """y was converted to the expected shape (as scikit-learn's)."""

    class _Base:
        @classmethod
        def _get_param_names(cls):
            sig = inspect.signature(cls.__init__)
            return sorted(p.name for p in sig.parameters.values()
                          if p.name != "self" and p.kind != p.VAR_KEYWORD)

        def get_params(self, deep=True):
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"invalid parameter {key!r} for estimator {type(self).__name__}; "
                                     f"valid parameters are {valid}")
                setattr(self, key, value)
            return self

        def __repr__(self):
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class _ClassifierMixin:
        _estimator_type = "classifier"

        def score(self, X, y):
            return float(np.mean(self.predict(X) == np.asarray(y)))

    class _RegressorMixin:
        _estimator_type = "regressor"

        def score(self, X, y):
            y = np.asarray(y, dtype=float)
            resid = y - self.predict(X)
            return float(1.0 - (resid ** 2).sum() / ((y - y.mean()) ** 2).sum())


__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin", "NotFittedError", "DataConversionWarning",
           "HAVE_SKLEARN", "check_X", "check_X_y", "check_fitted", "check_classification_targets",
           "check_sample_weight", "check_regression_y"]

BaseEstimator = _Base
ClassifierMixin = _ClassifierMixin
RegressorMixin = _RegressorMixin


def _feature_names(estimator, X, reset):
    """Set (reset) or check ``feature_names_in_`` from a pandas DataFrame's columns, with
    scikit-learn's own rule and messages when it is installed."""
    if estimator is None:
        return
    if HAVE_SKLEARN:
        from sklearn.utils.validation import _check_feature_names
        _check_feature_names(estimator, X, reset=reset)
        return
    cols = getattr(X, "columns", None)
    names = None if cols is None else np.asarray([str(c) for c in cols], dtype=object)
    if reset:
        if names is not None and all(isinstance(c, str) for c in cols):
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif names is not None and hasattr(estimator, "feature_names_in_") and \
            list(names) != list(estimator.feature_names_in_):
        raise ValueError("The feature names should match those that were passed during fit.")


def _check_sparse(X, estimator, reset):
    """A scipy.sparse X as CSR with float64 values, sorted and summed duplicates (never
    densified); finite stored entries."""
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D sparse input instead")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: found array with shape {X.shape} while a minimum of 1 sample and 1 feature "
                         "is required.")
    X = X.tocsr().astype(np.float64)   # a copy: the caller's matrix is never modified
    X.sum_duplicates()
    X.sort_indices()
    if not np.all(np.isfinite(X.data)):
        raise ValueError("Input X contains NaN or infinity (in its stored entries).")
    return X


def check_X(X, estimator=None, reset=False, accept_sparse=False):
    """X as a finite 2-D float64 C-contiguous array (or, with ``accept_sparse``, a
    scipy.sparse X as canonical CSR); checks/sets n_features_in_ and feature_names_in_."""
    _feature_names(estimator, X, reset)
    if is_sparse(X) or hasattr(X, "tocsr"):
        if not accept_sparse:
            raise TypeError("sparse input is not supported: convert it with X.toarray()")
        arr = _check_sparse(X, estimator, reset)
        _check_n_features(arr, estimator, reset)
        return arr
    if hasattr(X, "toarray"):
        raise TypeError("sparse input is not supported: convert it with X.toarray()")
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise ValueError("Complex data not supported: X has dtype {}".format(arr.dtype))
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:  # TypeError for non-numbers, as scikit-learn does
            raise type(exc)(f"X must hold real numbers: {exc}") from None
    elif arr.dtype.kind not in "fiub":
        raise ValueError(f"X must be numeric, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"Expected 2D array, got {arr.ndim}D array instead: X.shape = {arr.shape}. "
                         "Reshape your data either using array.reshape(-1, 1) if your data has a single "
                         "feature or array.reshape(1, -1) if it contains a single sample.")
    if arr.shape[0] == 0:
        raise ValueError(f"X is empty: found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
                         "required.")
    if arr.shape[1] == 0:
        raise ValueError(f"X is empty: found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                         "required.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr.sum()) and not np.all(np.isfinite(arr)):  # fast path: one sum, no mask
        try:
            check_finite(arr, "X")
        except ValueError as exc:
            raise ValueError(f"Input X contains NaN or infinity: {exc}") from None
    _check_n_features(arr, estimator, reset)
    return arr


def _check_n_features(arr, estimator, reset):
    if estimator is not None:
        if reset:
            estimator.n_features_in_ = arr.shape[1]
        elif arr.shape[1] != estimator.n_features_in_:
            raise ValueError(f"X has {arr.shape[1]} features, but {type(estimator).__name__} is expecting "
                             f"{estimator.n_features_in_} features as input.")


def check_sample_weight(sample_weight, n):
    """None (every sample weighs 1) or the weights as float64, one per sample, finite,
    >= 0 and not all 0 (ValueError naming sample_weight otherwise)."""
    from ..objectives import _sample_weight
    if sample_weight is not None and not isinstance(sample_weight, str):
        sample_weight = np.asarray(sample_weight)      # (array-likes such as sklearn's _NotAnArray)
        if sample_weight.ndim == 0 and sample_weight.dtype.kind in "biuf":
            sample_weight = np.full(n, float(sample_weight))
    return _sample_weight(sample_weight, n)


def check_regression_y(y):
    """A regression target as finite float64 (ValueError naming y otherwise)."""
    if y.dtype.kind not in "biuf":
        if y.dtype.kind in "cUSV":
            raise ValueError(f"y must be real numbers for a regression, got dtype {y.dtype}")
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"y must be numeric for a regression, got dtype {y.dtype}") from None
    y = np.ascontiguousarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity.")
    return y


def check_X_y(X, y, estimator=None, accept_sparse=False):
    if y is None:
        name = type(estimator).__name__ if estimator is not None else "this estimator"
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    X = check_X(X, estimator, reset=True, accept_sparse=accept_sparse)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        import warnings
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape "
                      "of y to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=3)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have inconsistent lengths: found input variables with inconsistent numbers of "
                         f"samples: [{X.shape[0]}, {y.shape[0]}]")
    return X, y


def check_classification_targets(y):
    """Reject non-finite and continuous targets (as scikit-learn's check_classification_targets).

    NaN and +-inf are never class labels: a float (or object) y holding one raises
    ValueError naming y, before any label is made of it."""
    if y.dtype.kind in "fc":
        finite = np.isfinite(y)
    elif y.dtype.kind == "O":
        finite = np.array([not (isinstance(v, (float, complex, np.floating, np.complexfloating))
                                and not np.isfinite(v)) for v in y.ravel()], dtype=bool)
    else:
        finite = None
    if finite is not None and not np.all(finite):
        i = int(np.flatnonzero(~np.asarray(finite).ravel())[0])
        raise ValueError(f"Input y contains NaN or infinity: a class label must be finite, got "
                         f"{y.ravel()[i]} at index {i}")
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError("Unknown label type: continuous (y holds non-integer values). Maybe you are trying to "
                         "fit a classifier, "
                         "which expects discrete classes on a regression target with continuous values.")
    if y.dtype.kind not in "biufUSO":
        raise ValueError(f"Unknown label type: {y.dtype} (y must hold integers, strings or whole floats)")
    if y.dtype.kind == "O":
        try:
            np.unique(y)
        except TypeError:
            raise TypeError("y holds labels that cannot be compared with each other (class labels must be "
                            "numbers or strings)") from None


def check_fitted(estimator, attribute):
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
                             "appropriate arguments before using this estimator.")
