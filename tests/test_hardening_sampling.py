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


# ---- item 14: ESS layout, delta larger than the body, callables returning the wrong thing ---

def _ar1(rho, m, n, seed):
    g = np.random.default_rng(seed)
    x = np.empty((m, n))
    x[:, 0] = g.normal(size=m)
    e = g.normal(size=(m, n)) * np.sqrt(1 - rho ** 2)
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    return x


# issue hardening item 14
def test_ess_refuses_more_chains_than_draws_and_says_when_above_draws():
    x = _ar1(0.5, 4, 1000, seed=3)          # 4 chains of 1000 draws
    with pytest.raises(ValueError, match="layout") as info:
        S.ess(x.T)                            # (1000, 4): formerly 1000 chains of 4 draws
    assert "samples" in str(info.value)
    with pytest.raises(ValueError, match="layout"):
        S.rhat(x.T)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = S.ess(x.T, layout="draw_chain")
        assert e == S.ess(x) and e < x.size   # rho = 0.5: ESS ~ N/3 (sd ~ 5%)
        assert S.rhat(x.T, layout="draw_chain") == S.rhat(x)
    with pytest.warns(RuntimeWarning, match="exceeds the number of draws 4000"):
        S.ess(x.T, layout="chain_draw")       # explicit: accepted as 1000 chains, but said
    # anti-correlated draws: ESS ~ 3N > N, never returned silently
    with pytest.warns(RuntimeWarning, match="exceeds the number of draws"):
        assert S.ess(_ar1(-0.5, 4, 1000, seed=4), "mean") > 4000
    # a Chain is unambiguous, even with more chains than draws
    d, b = _gauss_box()
    ch = S.ball_walk(d, b, 0.5, None, 50, n_chains=100, rng=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # short chains: ESS may exceed the draws
        assert S.ess(ch).shape == (2,) and S.rhat(ch).shape == (2,)
    with pytest.raises(ValueError, match="samples must not be empty"):
        S.ess(np.zeros(0))
    with pytest.raises(ValueError, match="layout"):
        S.ess(x, layout="chains")
    with pytest.raises(TypeError, match="layout"):
        S.ess(x, layout=1)


# issue hardening item 14
def test_walk_delta_larger_than_the_body_warns():
    d, b = _gauss_box()
    with pytest.warns(RuntimeWarning, match="delta=5 is too large"):
        ch = S.grid_walk(d, b, 5.0, None, 200, rng=1)
    assert ch.acceptance_rate == 0
    with pytest.warns(RuntimeWarning, match="delta=50 exceeds the body's diameter"):
        S.ball_walk(d, b, 50.0, None, 200, rng=1)
    tri = S.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])
    with pytest.warns(RuntimeWarning, match="no proposal was accepted"):
        S.ball_walk(S.Uniform(), tri, 1e6, None, 200, rng=1)
    with pytest.warns(RuntimeWarning, match="too large"):
        S.grid_walk(S.LogDensity(lambda x: -np.sum(x * x, axis=1)), b, 5.0, None, 200, rng=1)
    with warnings.catch_warnings():          # a sensible delta: silent
        warnings.simplefilter("error")
        S.grid_walk(d, b, 0.2, None, 200, rng=1)
        S.ball_walk(d, b, 0.5, None, 200, rng=1)


# issue hardening item 14
@pytest.mark.parametrize("fun,vectorized,exc,what", [
    (lambda x: 1.0, True, ValueError, "scalar"),
    (lambda x: x, False, ValueError, r"shape \(2,\)"),
    (lambda x: x, True, ValueError, "values for"),
    (lambda x: None, True, TypeError, "NoneType"),
    (lambda x: "a", False, TypeError, "str"),
    (lambda x: [1j] * len(x), True, TypeError, "complex"),
])
def test_log_density_returning_the_wrong_thing_is_named(fun, vectorized, exc, what):
    _, b = _gauss_box()
    for walk in (S.grid_walk, S.ball_walk):
        with pytest.raises(exc, match=what) as info:
            walk(S.LogDensity(fun, vectorized=vectorized), b, 0.1, None, 10, rng=1)
        assert "LogDensity fun <lambda>" in str(info.value)
    g = S.LogDensity(lambda x: -np.sum(x * x, axis=1), grad=lambda x: np.zeros(3))
    with pytest.raises(ValueError, match="LogDensity grad"):
        g.grad(np.zeros((2, 2)))


# ---- item 15: sizes checked before anything is built; loops interruptible ------------------

# issue hardening item 15
@pytest.mark.parametrize("walk", ["grid", "ball", "hit_and_run", "grid_callable", "ball_callable"])
def test_huge_walks_are_refused_before_building_anything(walk):
    d, b = _gauss_box()
    if walk.endswith("callable"):
        d = S.LogDensity(lambda x: -np.sum(x * x, axis=1))
    kw = dict(n_steps=10**6, n_chains=10**6, rng=1)
    with pytest.raises(ValueError, match="n_chains") as info:
        if walk.startswith("grid"):
            S.grid_walk(d, b, 0.1, None, **kw)
        elif walk.startswith("ball"):
            S.ball_walk(d, b, 0.1, None, **kw)
        else:
            S.hit_and_run(d, b, None, **kw)
    msg = str(info.value)
    assert "bytes" in msg and "n_steps" in msg and "thin" in msg
    # thinning brings the output down to what fits: the check is on n_steps // thin, and
    # the same sizes fail the same way with continuous time (times are counted too)
    with pytest.raises(ValueError, match="bytes"):
        S.grid_walk(S.Gaussian([0.0, 0.0]), b, 0.1, None, 10**9, n_chains=10**4, continuous_time=True, rng=1)


# issue hardening item 15
def test_huge_exact_grid_is_refused_by_memory_even_with_a_large_max_cells():
    d, b = _gauss_box()
    with pytest.raises(ValueError, match="max_cells") as info:
        S.exact_grid_distribution(d, b, 1e-6, max_cells=2**62)
    assert "bytes" in str(info.value) and "delta" in str(info.value)


# issue hardening item 15
def test_long_callable_walk_is_interruptible():
    """The NumPy loop of a LogDensity walk stops on Ctrl-C (simulated by interrupt_main);
    10^9 steps would otherwise run for hours."""
    import _thread
    import threading
    _, b = _gauss_box()
    d = S.LogDensity(lambda x: -np.sum(x * x, axis=1))
    for walk in (S.grid_walk, S.ball_walk):
        timer = threading.Timer(0.2, _thread.interrupt_main)
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                walk(d, b, 0.1, None, 10**9, n_chains=2, thin=10**9, rng=1)
        finally:
            timer.cancel()
