"""Shared validation helpers: the "General rules" of the API contract.

* Arrays in: anything :func:`numpy.asarray` accepts; real data is converted to
  C-contiguous float64 (float32 accepted). Complex, object and string data raise
  ``TypeError``; NaN/Inf, wrong shapes and empty arrays raise ``ValueError``.
* Messages say what was expected and what was given.
"""
from __future__ import annotations

import numbers
import math
import sys

import numpy as np

__all__ = [
    "is_sparse",
    "as_float_array",
    "as_vector",
    "as_matrix",
    "check_finite",
    "check_positive",
    "check_open_unit",
    "check_int",
    "check_real",
    "check_threads",
    "check_quantizer",
]


def _dtype_error(name, arr):
    return TypeError(f"{name} must be real numbers (float or int), got dtype {arr.dtype}")


def as_float_array(x, name="x", *, ndim=None, shape=None, allow_empty=False, finite=True,
                   copy=False) -> np.ndarray:
    """Convert ``x`` to a C-contiguous float64 array and check it.

    Parameters
    ----------
    x : array_like
    name : str
        Used in error messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    allow_empty : bool
        Whether a zero-size array is allowed.
    finite : bool
        Reject NaN and Inf.
    copy : bool
        Always return a fresh array (so the caller may write into it).
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise _dtype_error(name, arr)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must be {want}-dimensional, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    out = np.array(arr, dtype=np.float64, order="C", copy=True) if copy else \
        np.ascontiguousarray(arr, dtype=np.float64)
    if finite:
        check_finite(out, name)
    return out


def as_vector(x, name="x", *, size=None, **kw) -> np.ndarray:
    """A 1-D float64 vector, of length ``size`` if given."""
    return as_float_array(x, name, ndim=1, shape=None if size is None else (size,), **kw)


def as_matrix(x, name="X", *, rows=None, cols=None, **kw) -> np.ndarray:
    """A 2-D float64 matrix with optional required row/column counts."""
    return as_float_array(x, name, ndim=2, shape=(rows, cols), **kw)


def is_sparse(x) -> bool:
    """True for a scipy.sparse matrix or array (without importing SciPy when it is not loaded)."""
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and sp.issparse(x)


def check_finite(arr: np.ndarray, name="x") -> None:
    """Raise ValueError naming the first non-finite entry of ``arr``."""
    if arr.size and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))
        idx = np.unravel_index(int(bad[0]), arr.shape)
        idx = idx[0] if len(idx) == 1 else idx
        raise ValueError(f"{name} must be finite, got {arr.ravel()[bad[0]]} at index {idx} "
                         f"({bad.size} non-finite value{'s' if bad.size > 1 else ''})")


def check_real(value, name) -> float:
    """A finite real scalar."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_positive(value, name, *, allow_zero=False) -> float:
    """A finite real > 0 (or >= 0)."""
    value = check_real(value, name)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def check_open_unit(value, name) -> float:
    """A real in the open interval (0, 1)."""
    value = check_real(value, name)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be in the open interval (0, 1), got {value}")
    return value


# Every integer crosses into C as a 64-bit count: larger ones are refused here with a
# ValueError naming the argument, never left to overflow (OverflowError) or wrap in C.
INT64_MAX = 2**63 - 1


def check_int(value, name, *, minimum=None, maximum=None) -> int:
    """An integer (bools rejected) within optional bounds; at most 2^63 - 1 always."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if maximum is None or maximum > INT64_MAX:
        maximum = INT64_MAX
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def check_threads(threads, family: str = "chains", work: "int | None" = None) -> int:
    """``threads=None`` -> the measured default for the kernel `family` (and, for the
    objective passes, the ``work`` per pass) within the CPUs this process may use (affinity
    and cgroup quota: :mod:`convq._threads`); else a positive int, as given."""
    from ._threads import check_threads as _check
    return _check(threads, family, work)


def check_quantizer(quantizer, name="quantizer", *, allow_none=True):
    """A quantizer *instance* (anything with ``encode``, ``decode`` and ``bits``), or None.

    A quantizer class passed uncalled (``quantizer=SimQ``) and any other object get a
    TypeError that names the argument, instead of an AttributeError deep inside a loop."""
    if quantizer is None:
        if allow_none:
            return None
        raise TypeError(f"{name} must be a quantizer instance such as SimQ(1.0), got None")
    if isinstance(quantizer, type):
        raise TypeError(f"{name} must be a quantizer instance, got the class {quantizer.__name__}; "
                        f"call it with its parameters, e.g. {quantizer.__name__}(...)")
    missing = [m for m in ("encode", "decode", "bits") if not callable(getattr(quantizer, m, None))]
    if missing:
        raise TypeError(f"{name} must be a quantizer (an object with encode, decode and bits, such as "
                        f"SimQ(1.0)), got {type(quantizer).__name__} without {', '.join(missing)}")
    return quantizer
