"""The Twin record shared by the twin tables (``tests/_twins_*.py``) and the harness
(``tests/test_twins.py``)."""
from __future__ import annotations

from typing import Callable, NamedTuple


class Twin(NamedTuple):
    name: str
    c: Callable
    slow: Callable
    cases: Callable     # rng -> iterable of argument tuples
    bad: Callable       # () -> iterable of argument tuples that must raise
    rtol: float = 0.0   # 0: bit-identical
