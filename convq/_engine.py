"""The one engine switch: every function with a C kernel and a slow NumPy twin
(:mod:`convq.slow`) takes ``engine={"auto", "c", "python"}`` and resolves it here.

``"auto"`` runs C whenever the inputs have a C path (e.g. a built-in objective rather than
a Python callable); ``"c"`` insists on it (ValueError naming what has no C path);
``"python"`` runs the twin, which makes the same random draws in the same order.
"""
from __future__ import annotations

ENGINES = ("auto", "c", "python")


def resolve_engine(engine, c_possible, why_not=""):
    """Return ``"c"`` or ``"python"`` for the requested ``engine``."""
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    if engine == "python":
        return "python"
    if engine == "c" and not c_possible:
        raise ValueError(f"engine='c' is not available here: {why_not or 'no C path for these inputs'}")
    return "c" if c_possible else "python"
