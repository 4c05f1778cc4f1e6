"""What :func:`convq.optimize.minimize` needs to take SciPy's calling conventions.

- :class:`CallableObjective`: ``fun(x, *args)`` with ``jac`` (a callable, ``True`` when
  ``fun`` returns ``(f, g)``, or ``None`` for forward differences), and ``hessp(x, p, *args)``,
  as an objective the NumPy loops of :mod:`convq.slow.optimize` iterate. Unlike
  :class:`convq.objectives.Function` it hands non-finite values back to the loop (which then
  stops with ``success=False``) instead of raising.
- :func:`parse_bounds`: ``scipy.optimize.Bounds`` or a sequence of ``(lo, hi)`` pairs.
- :func:`state_callback`: the three callback forms as convq's ``callback(xk, state)``.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Optional

import numpy as np

from ._validation import as_vector
from .objectives import Function

__all__ = ["CallableObjective", "parse_bounds", "state_callback"]

_SQRT_EPS = math.sqrt(np.finfo(float).eps)
_CBRT_EPS = np.finfo(float).eps ** (1.0 / 3.0)


def _scalar(v, what):
    """A Python float from what ``fun`` returned (a number or a size-1 array, as SciPy accepts)."""
    a = np.asarray(v)
    if a.size != 1 or a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must return a real scalar, got {type(v).__name__}"
                        + (f" of shape {a.shape}" if a.ndim else ""))
    return float(a.reshape(()))


class CallableObjective(Function):
    """``fun(x, *args)`` (and optionally its gradient and Hessian-vector product) as an objective.

    Counts the calls of ``fun`` (``nfev``, including those of finite differences), of the
    gradient (``njev``) and of ``hessp`` (``nhev``). With ``jac=None`` the gradient is
    SciPy's default 2-point forward difference: g_i = (f(x + h_i e_i) - f(x)) / h_i with
    h_i = sqrt(eps) max(1, |x_i|) sign(x_i), stepping backwards where x_i + h_i would
    leave the upper bound; ``jac="3-point"``: central differences (f(x + h_i e_i) -
    f(x - h_i e_i)) / (2 h_i) with h_i = eps^(1/3) max(1, |x_i|) sign(x_i).
    """

    def __init__(self, fun, args, jac, hessp, dim, hi=None):
        super().__init__(fun, dim=dim)
        if not isinstance(args, tuple):
            args = (args,)
        if isinstance(jac, str) and jac in ("2-point", "3-point"):
            self.central, jac = jac == "3-point", None
        else:
            self.central = False
        if not (jac is None or jac is True or callable(jac)):
            raise TypeError(f"jac must be a callable, True (fun returns (f, g)), None or '2-point' (forward "
                            f"differences) or '3-point' (central differences), got {jac!r}")
        if hessp is not None and not callable(hessp):
            raise TypeError(f"hessp must be a callable hessp(x, p, *args) or None, got {type(hessp).__name__}")
        self.args, self.jac, self.hessp_fun, self.hi = args, jac, hessp, hi
        self.nfev = self.njev = self.nhev = 0
        self._last = None  # (x, f, g) of the last point whose gradient was computed

    def _x(self, x, name="x"):
        # iterates may overflow mid-run: only the start x0 is checked for finiteness (by minimize)
        return as_vector(x, name, size=self.dim, finite=False)

    def _call(self, x):
        self.nfev += 1
        out = self.fun(x.copy(), *self.args)
        if self.jac is True:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"with jac=True, fun must return a pair (f, g), got {type(out).__name__}")
            self.njev += 1
            return _scalar(out[0], "fun"), self._check_grad(out[1], x, "fun (the gradient of its pair)")
        return _scalar(out, "fun"), None

    def _check_grad(self, g, x, what):
        g = np.asarray(g, dtype=float)
        if g.shape != x.shape:
            g = g.reshape(-1) if g.size == x.size else g
        if g.shape != x.shape:
            raise ValueError(f"{what} must return an array of shape {x.shape}, got shape {g.shape}")
        return g

    def value(self, x, rows=None):
        x = self._x(x)
        self._rows(rows)
        return self._call(x)[0]

    def value_and_grad(self, x, rows=None):
        x = self._x(x)
        self._rows(rows)
        f, g = self._call(x)
        if g is None:
            if callable(self.jac):
                self.njev += 1
                g = self._check_grad(self.jac(x.copy(), *self.args), x, "jac")
            else:
                g = self._forward_difference(x, f)
        self._last = (x.copy(), f, g)
        return f, g

    def grad(self, x, rows=None):
        return self.value_and_grad(x, rows)[1]

    def last_grad(self, x):
        """The gradient at x: the last one computed if it was at x, else a new one."""
        if self._last is not None and np.array_equal(self._last[0], x):
            return self._last[2]
        return self.grad(x)

    def _forward_difference(self, x, f):
        g = np.empty_like(x)
        for i in range(x.size):
            sign = 1.0 if x[i] >= 0 else -1.0
            xh = x.copy()
            if self.central:   # SciPy's '3-point': h = eps^(1/3) max(1, |x_i|), central differences
                h = _CBRT_EPS * max(1.0, abs(x[i])) * sign
                xh[i] = x[i] + h
                xl = x.copy()
                xl[i] = x[i] - h
                g[i] = (self._call(xh)[0] - self._call(xl)[0]) / (xh[i] - xl[i])
                continue
            h = _SQRT_EPS * max(1.0, abs(x[i])) * sign
            if self.hi is not None and x[i] + h > self.hi[i]:
                h = -h
            xh[i] = x[i] + h
            g[i] = (self._call(xh)[0] - f) / (xh[i] - x[i])
        return g

    def hessp(self, x, v, rows=None):
        if self.hessp_fun is None:
            return super().hessp(x, v, rows)
        x, v = self._x(x), self._x(v, "p")
        self.nhev += 1
        return self._check_grad(self.hessp_fun(x.copy(), v.copy(), *self.args), x, "hessp")


def parse_bounds(bounds, n):
    """(lo, hi) arrays of length n from ``scipy.optimize.Bounds`` (anything with ``lb`` and
    ``ub``) or a sequence of n pairs (None for an infinite side); None when no side is finite."""
    if bounds is None:
        return None
    if hasattr(bounds, "lb") and hasattr(bounds, "ub"):
        lo, hi = (np.broadcast_to(np.asarray(b, dtype=float), (n,)).copy() for b in (bounds.lb, bounds.ub))
    else:
        try:
            pairs = list(bounds)
        except TypeError:
            raise TypeError(f"bounds must be a scipy.optimize.Bounds or a sequence of (lo, hi) pairs, "
                            f"got {type(bounds).__name__}") from None
        if len(pairs) != n or not all(isinstance(p, (tuple, list, np.ndarray)) and len(p) == 2 for p in pairs):
            raise ValueError(f"bounds must hold one (lo, hi) pair per variable: expected {n} pairs, got {pairs!r}")
        try:
            lo = np.array([-np.inf if p[0] is None else float(p[0]) for p in pairs])
            hi = np.array([np.inf if p[1] is None else float(p[1]) for p in pairs])
        except (TypeError, ValueError):
            raise TypeError(f"bounds: each pair must hold numbers or None, got {pairs!r}") from None
    if np.isnan(lo).any() or np.isnan(hi).any():
        raise ValueError(f"bounds must not hold NaN, got lo={lo}, hi={hi}")
    if np.any(lo > hi):
        raise ValueError(f"bounds: need lo <= hi, got lo > hi at indices {np.flatnonzero(lo > hi)[:5].tolist()}")
    if np.all(np.isneginf(lo)) and np.all(np.isposinf(hi)):
        return None
    return lo, hi


def _form(callback):
    """"result" for callback(intermediate_result=...), "state" for callback(xk, state), else "x"."""
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):   # some built-ins have no signature: the one-argument form
        return "x"
    if "intermediate_result" in params:
        return "result"
    kinds = [p.kind for p in params.values()]
    positional = sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                     for k in kinds)
    return "state" if positional >= 2 or inspect.Parameter.VAR_POSITIONAL in kinds else "x"


class _StateCallback:
    """A callback in any of the three forms, called as ``cb(xk, state) -> stop``."""

    def __init__(self, callback, result_type):
        self.callback, self.result_type, self.form = callback, result_type, _form(callback)
        self.stop_iteration = False     # set when the callback raised StopIteration

    def __call__(self, xk, state) -> bool:
        try:
            if self.form == "result":
                self.callback(intermediate_result=self.result_type(
                    x=xk, fun=state["fun"], grad_norm=state["grad_norm"], nit=state["k"], step=state["step"]))
                return False
            if self.form == "x":
                self.callback(xk)
                return False
            return bool(self.callback(xk, state))
        except StopIteration:           # stops the run, as in SciPy >= 1.11
            self.stop_iteration = True
            return True


def state_callback(callback, result_type) -> Optional[_StateCallback]:
    """The user's callback as ``cb(xk, state) -> stop`` (None for None); its attribute
    ``stop_iteration`` tells whether it stopped the run by raising StopIteration."""
    return None if callback is None else _StateCallback(callback, result_type)


class Monitor:
    """Wraps the state callback: remembers the last iterate with a finite value and gradient
    norm (and its trace entries), and stops the run at the first non-finite one."""

    def __init__(self, user: Any, x0, f0=math.nan):
        self.user = user
        self.last = (0, x0.copy(), f0, math.nan)
        self.trace: list = []
        self.diverged = False

    def __call__(self, xk, state):
        f, gn = state["fun"], state["grad_norm"]
        if not (math.isfinite(f) and math.isfinite(gn)):
            self.diverged = True
            return True
        self.last = (state["k"], xk, f, gn)
        self.trace.append((f, gn, state["step"]))
        return bool(self.user(xk, state)) if self.user is not None else False
