"""Checks and helpers shared by the modules of :mod:`convq.sampling` (private)."""
from __future__ import annotations

import numbers
import os

import numpy as np

from .. import _core

# The C enums, read from the constants the extension exports (csrc/sampling/cq_sampling.h
# lists them once); never re-typed here.
DENS_UNIFORM = _core.SMP_DENS_UNIFORM
DENS_GAUSS = _core.SMP_DENS_GAUSS
DENS_EXPNORM = _core.SMP_DENS_EXPNORM
DENS_LOGISTIC = _core.SMP_DENS_LOGISTIC
WALK_GRID = _core.SMP_WALK_GRID
WALK_BALL = _core.SMP_WALK_BALL
WALK_HAR_COORD = _core.SMP_WALK_HAR_COORD
WALK_HAR_DIR = _core.SMP_WALK_HAR_DIR
WALK_BILLIARD = _core.SMP_WALK_BILLIARD


def _fmt_vec(v, k=4):
    v = np.asarray(v)
    if v.size <= k:
        return np.array2string(v, precision=4, separator=", ")
    return "[" + ", ".join(f"{x:.4g}" for x in v[:k]) + f", ...] (n={v.size})"


def _check_flag(value, name):
    """A bool (or numpy bool, or the integers 0 and 1)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")


def _memory_limit():
    """The machine's physical memory in bytes (no output may be larger)."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    except (AttributeError, ValueError, OSError):
        pass
    return 2 ** 46


# Grid indices k (centre = offset + delta k) are kept below 2^53: exact integers in
# float64 and far from the int64 range, so no float -> int64 cast can wrap.
_INDEX_LIMIT = 2.0 ** 53


def _check_grid_resolution(delta, offset, where):
    """The centres offset + delta k must be distinct floats: delta above the rounding
    unit of every offset coordinate."""
    if np.any(offset + delta == offset) or np.any(offset - delta == offset):
        j = int(np.flatnonzero((offset + delta == offset) | (offset - delta == offset))[0])
        raise ValueError(f"{where}: delta={delta:.6g} is below the float64 resolution of offset[{j}]={offset[j]:.6g}: "
                         "the grid centres offset + delta*k would coincide; use a larger delta")
