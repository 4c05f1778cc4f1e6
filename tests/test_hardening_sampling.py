"""Hardening regressions for convq.sampling (the project's hardening issue, items 9, 14,
15 and 16): bad input raises ValueError/TypeError naming the argument, before anything
large is built; nothing wraps, hangs or returns a silently wrong answer."""
import warnings

import numpy as np
import pytest

from convq import sampling as S


def _gauss_box():
    return S.Gaussian([0.0, 0.0]), S.Box([-1, -1], [1, 1])


# ---- item 9: grid shapes in floats, checked before the int64 cast --------------------------

# issue hardening item 9
@pytest.mark.parametrize("delta", [1e-19, 1e-300, 5e-324, 1e-5])
@pytest.mark.parametrize("fn", ["exact_grid_distribution", "transition_matrix"])
def test_tiny_delta_grid_is_refused_not_wrapped(fn, delta):
    d, b = _gauss_box()
    with pytest.raises(ValueError, match="delta") as info:
        getattr(S, fn)(d, b, delta)
    assert "max_cells" in str(info.value)


# issue hardening item 9
def test_tiny_delta_grid_walk_start_index_and_resolution():
    d, b = _gauss_box()
    with pytest.raises(ValueError, match="delta"):  # index (x0 - offset)/delta beyond int64
        S.grid_walk(d, b, 1e-300, [[0, 0], [0.5, 0.5]], 10, n_chains=2, rng=1)
    with pytest.raises(ValueError, match="delta"):  # offset + delta == offset in float64
        S.grid_walk(d, b, 1e-17, None, 10, offset=[1.0, 1.0], rng=1)
    with pytest.raises(ValueError, match="delta"):
        S.exact_grid_distribution(d, b, 1e-17, offset=[1.0, 1.0])
    # a normal delta is untouched
    g = S.exact_grid_distribution(d, b, 0.25)
    assert len(g.probs) == 81 and abs(g.probs.sum() - 1) < 1e-12
