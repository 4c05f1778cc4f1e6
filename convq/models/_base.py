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
           "check_feature_names", "check_n_features", "check_y", "check_sample_weight", "check_regression_y"]

BaseEstimator = _Base
ClassifierMixin = _ClassifierMixin
RegressorMixin = _RegressorMixin


def _check_sparse(X, dtype):
    """A scipy.sparse X as canonical CSR of dtype (sorted indices, duplicates summed; a copy,
    so the caller's matrix is never modified, and never densified); finite stored entries."""
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D sparse input instead")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must be numeric, got dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: found array with shape {X.shape} while a minimum of 1 sample and 1 feature "
                         "is required.")
    X = X.tocsr().astype(dtype)
    X.sum_duplicates()
    X.sort_indices()
    if not np.all(np.isfinite(X.data)):
        raise ValueError("Input X contains NaN or infinity (in its stored entries).")
    return X


def check_X(X, estimator=None, reset=False, dtype=np.float64, accept_sparse=False):
    """X as a finite 2-D C-contiguous array of dtype (float64 or float32; converted once,
    straight from the input) or, with ``accept_sparse``, a scipy.sparse X as canonical CSR of
    dtype; checks/sets n_features_in_ and feature_names_in_ (with an estimator)."""
    if estimator is not None:
        check_feature_names(estimator, X, reset)
    if is_sparse(X) or hasattr(X, "tocsr") or hasattr(X, "toarray"):
        if not accept_sparse or not hasattr(X, "tocsr"):
            raise TypeError("sparse input is not supported: convert it with X.toarray()")
        arr = _check_sparse(X, dtype)
        if estimator is not None:
            check_n_features(estimator, arr.shape[1], reset)
        return arr
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
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr.sum()) and not np.all(np.isfinite(arr)):  # fast path: one sum, no mask
        try:
            check_finite(arr, "X")
        except ValueError as exc:
            raise ValueError(f"Input X contains NaN or infinity: {exc}") from None
    if estimator is not None:
        check_n_features(estimator, arr.shape[1], reset)
    return arr


def check_n_features(estimator, n, reset):
    """Set (reset) or check the estimator's n_features_in_ against n columns."""
    if reset:
        estimator.n_features_in_ = n
    elif n != estimator.n_features_in_:
        raise ValueError(f"X has {n} features, but {type(estimator).__name__} is expecting "
                         f"{estimator.n_features_in_} features as input.")


def check_feature_names(estimator, X, reset):
    """Set (reset) or check ``feature_names_in_`` from a DataFrame's string column names, as
    scikit-learn's estimators do: fitted with names, X must carry the same names in the same
    order (ValueError); a mismatch between having names and not is a UserWarning."""
    import warnings
    cols = getattr(X, "columns", None)
    names = None
    if cols is not None:
        kinds = {isinstance(c, str) for c in cols}
        if kinds == {True, False}:
            raise TypeError("Feature names are only supported if all input features have string names, but X has "
                            f"column names of types {sorted({type(c).__name__ for c in cols})}")
        names = np.asarray(list(cols), dtype=object) if kinds == {True} else None
    name = type(estimator).__name__
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    if names is not None and fitted is None:
        warnings.warn(f"X has feature names, but {name} was fitted without feature names", UserWarning, stacklevel=3)
    elif names is None and fitted is not None:
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with feature names", UserWarning,
                      stacklevel=3)
    elif names is not None and (names.shape != fitted.shape or np.any(names != fitted)):
        raise ValueError("The feature names should match those that were passed during fit: expected "
                         f"{list(fitted)}, got {list(names)}")


def check_X_y(X, y, estimator=None, accept_sparse=False):
    if y is None:
        check_y(y, 0, estimator)
    X = check_X(X, estimator, reset=True, accept_sparse=accept_sparse)
    return X, check_y(y, X.shape[0], estimator)


def check_y(y, n_rows, estimator=None):
    """y as a 1-d array of n_rows labels (a column vector is raveled with a warning)."""
    if y is None:
        name = type(estimator).__name__ if estimator is not None else "this estimator"
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        import warnings
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape "
                      "of y to (n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=5)
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    if y.shape[0] != n_rows:
        raise ValueError(f"X and y have inconsistent lengths: found input variables with inconsistent numbers of "
                         f"samples: [{n_rows}, {y.shape[0]}]")
    return y


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
