"""One result type for every function that returns several named values.

Modelled on SciPy's ``OptimizeResult`` (``scipy._lib._util._RichResult``): a ``dict``
whose keys are also attributes, with an ordered, readable ``repr`` (arrays summarised,
floats to 10 significant digits, long dicts such as traces described by their size).
Subclasses set ``_order`` (the keys shown first) and may add properties and methods.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Result"]


def _fmt(v):
    if isinstance(v, np.ndarray):
        return np.array2string(v, precision=6, threshold=8, edgeitems=3)
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.10g}"
    if isinstance(v, dict) and v and all(isinstance(a, np.ndarray) for a in v.values()):
        n = len(next(iter(v.values())))
        return f"dict of {n} entries x ({', '.join(map(str, v))})"
    return repr(v)


class Result(dict):
    """Named results with attribute and key access (``r.x == r["x"]``)."""

    _order: tuple = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.keys()))

    def _keys_in_order(self):
        first = [k for k in self._order if k in self]
        return first + [k for k in self if k not in self._order]

    def _repr_value(self, key, value):
        """How one value is shown in the repr (subclasses summarise long entries)."""
        return _fmt(value)

    def __repr__(self):
        keys = self._keys_in_order()
        if not keys:
            return f"{type(self).__name__}()"
        w = max(len(k) for k in keys)
        body = "\n".join(f"{k:>{w}}: {self._repr_value(k, self[k])}" for k in keys)
        return f"{type(self).__name__}(\n{body}\n)"

    def _repr_pretty_(self, p, cycle):  # IPython
        p.text(repr(self) if not cycle else "...")

    # pickling and copying keep the subclass
    def __reduce__(self):
        return (type(self), (), None, None, iter(self.items()))

    def copy(self):
        return type(self)(self)
