"""Declarative parameter checks (scikit-learn's ``_parameter_constraints`` is the model).

A function or estimator declares, once, what each parameter may be::

    _CONSTRAINTS = {
        "method": [Options({"gd", "bb"})],
        "tol": [Interval(float, 0, None, closed="neither")],
        "max_iter": [Interval(int, 1, None)],
        "callback": [callable, None],
    }
    validate(_CONSTRAINTS, {"method": method, "tol": tol, ...})

``validate`` raises ``TypeError`` or ``ValueError`` naming the parameter, what was
expected and what was given. Integers are Python ints of any size (``>= 2**63`` is a
``ValueError`` when an upper bound is exceeded, never an ``OverflowError``); bools are not
numbers; floats must be finite unless the interval allows an infinite end.
"""
from __future__ import annotations

import math
import numbers

__all__ = ["Interval", "Options", "InstanceOf", "validate", "check"]

INT64_MAX = 2**63 - 1


class Interval:
    """``kind`` (int or float) in [left, right] (``closed``: 'both', 'left', 'right', 'neither';
    ``None`` for an unbounded end)."""

    def __init__(self, kind, left, right, closed="both"):
        if kind is int and right is None:
            right = INT64_MAX  # integers cross into C as int64: larger is a ValueError, not a wrap
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def _type_ok(self, v):
        if isinstance(v, bool):
            return False
        if self.kind is int:
            return isinstance(v, numbers.Integral)
        return isinstance(v, numbers.Real)

    def accepts(self, v):
        if not self._type_ok(v):
            return False
        x = int(v) if self.kind is int else float(v)
        if self.kind is float and math.isnan(x):
            return False
        lo_ok = self.left is None or (x >= self.left if self.closed in ("both", "left") else x > self.left)
        hi_ok = self.right is None or (x <= self.right if self.closed in ("both", "right") else x < self.right)
        if self.kind is float and math.isinf(x) and (self.left is None or self.right is None):
            return lo_ok and hi_ok and ((x > 0 and self.right is None) or (x < 0 and self.left is None))
        return lo_ok and hi_ok

    def describe(self):
        if self.kind is int and self.right == INT64_MAX and self.left is not None:
            return f"an integer >= {self.left} (at most 2^63 - 1)"
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        lo = "-inf" if self.left is None else f"{self.left}" if self.kind is int else f"{self.left:g}"
        hi = ("inf" if self.right is None else "2^63 - 1" if self.right == INT64_MAX
              else f"{self.right}" if self.kind is int else f"{self.right:g}")
        return f"{'an int' if self.kind is int else 'a real number'} in {lb}{lo}, {hi}{rb}"


class Options:
    """One of a fixed set of values (strings are compared exactly)."""

    def __init__(self, values):
        self.values = tuple(values)

    def accepts(self, v):
        return any(v is o or (type(v) is type(o) and v == o) for o in self.values)

    def describe(self):
        return "one of " + ", ".join(repr(o) for o in self.values)


class InstanceOf:
    def __init__(self, *types, name=None):
        self.types, self.name = types, name

    def accepts(self, v):
        return isinstance(v, self.types)

    def describe(self):
        return self.name or ("an instance of " + " or ".join(t.__name__ for t in self.types))


def _accepts(c, v):
    if c is None:
        return v is None
    if c is callable:
        return callable(v)
    if isinstance(c, type):
        return isinstance(v, c) and not (c in (int, float) and isinstance(v, bool))
    return c.accepts(v)


def _describe(c):
    if c is None:
        return "None"
    if c is callable:
        return "a callable"
    if isinstance(c, type):
        return f"a {c.__name__}"
    return c.describe()


def check(name, value, constraints):
    """Raise unless ``value`` meets one of ``constraints``; TypeError when no constraint of
    the value's kind exists (a string where a number is expected), else ValueError."""
    if any(_accepts(c, value) for c in constraints):
        return value
    expected = " or ".join(_describe(c) for c in constraints)
    type_fits = any(
        (isinstance(c, Interval) and c._type_ok(value))
        or (isinstance(c, Options) and any(type(value) is type(o) for o in c.values))
        for c in constraints
    )
    exc = ValueError if type_fits else TypeError
    shown = repr(value) if not isinstance(value, type) else f"the class {value.__name__}"
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise exc(f"{name} must be {expected}, got {shown}")


def validate(constraints, params):
    """Check every entry of ``params`` that has a constraint in ``constraints``."""
    for name, value in params.items():
        if name in constraints:
            check(name, value, constraints[name])
    return params
