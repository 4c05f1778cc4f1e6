"""Randomness: the ``rng=None | int | numpy.random.Generator`` convention.

Every randomised function in convq normalises its ``rng`` argument with
:func:`as_generator`. The C core draws from the Generator's BitGenerator (through its
``"BitGenerator"`` capsule, holding ``bit_generator.lock``), so a seeded call is
reproducible bit for bit, and the Python-side stream continues exactly where C stopped.

Parallel work (many chains, many rows) uses :func:`spawn`: independent child streams
derived from the parent with :class:`numpy.random.SeedSequence`, one per task, so the
result never depends on how many threads ran the tasks.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_generator", "spawn"]


def as_generator(rng=None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``rng``.

    Parameters
    ----------
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
        ``None`` draws fresh OS entropy; an int (>= 0) or SeedSequence seeds a new
        PCG64 generator; a Generator is used as is (and advanced by the call).
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)):
        raise TypeError("rng must be None, a non-negative int or a numpy.random.Generator, got a bool")
    if isinstance(rng, numbers.Integral):
        if int(rng) < 0:
            raise ValueError(f"rng seed must be non-negative, got {int(rng)}")
        return np.random.default_rng(int(rng))
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.BitGenerator):
        return np.random.Generator(rng)
    if isinstance(rng, np.random.RandomState):
        raise TypeError("rng must be a numpy.random.Generator (the legacy RandomState is not supported); "
                        "use numpy.random.default_rng(seed)")
    raise TypeError(f"rng must be None, a non-negative int or a numpy.random.Generator, got {type(rng).__name__}")


def spawn(rng, n: int) -> list[np.random.Generator]:
    """``n`` independent generators derived from ``rng``.

    The children are seeded by a :class:`~numpy.random.SeedSequence` whose entropy is
    drawn from ``rng`` (so the parent advances and two calls give different children),
    then split with ``SeedSequence.spawn``. The same parent state always gives the same
    children, whatever the number of threads that later consume them.
    """
    gen = as_generator(rng)
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    entropy = [int(v) for v in gen.integers(0, 2**32, size=4, dtype=np.uint64)]
    children = np.random.SeedSequence(entropy).spawn(n)
    bitgen_type = type(gen.bit_generator)
    return [np.random.Generator(bitgen_type(child)) for child in children]
