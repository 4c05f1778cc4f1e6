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


# ---- item 16: every public function, every argument, a table of bad values -----------------

NAN, INF = float("nan"), float("inf")
# bad values for each kind of argument: (value, expected exception type)
POS_REAL = [(NAN, ValueError), (INF, ValueError), (-INF, ValueError), (-1.0, ValueError), (0.0, ValueError),
            ("x", TypeError), (None, TypeError), (1j, TypeError), ([0.1], TypeError), (True, TypeError)]
NONNEG_REAL = [(NAN, ValueError), (INF, ValueError), (-1.0, ValueError), ("x", TypeError), (None, TypeError),
               (1j, TypeError)]
UNIT_REAL = [(NAN, ValueError), (INF, ValueError), (-1.0, ValueError), (0.0, ValueError), (1.5, ValueError),
             ("x", TypeError), (None, TypeError), (1j, TypeError)]
POS_INT = [(0, ValueError), (-1, ValueError), (2**63, ValueError), (2**64, ValueError), ("x", TypeError),
           (None, TypeError), (1.5, TypeError), (NAN, TypeError), (True, TypeError), (1j, TypeError)]
NONNEG_INT = [(-1, ValueError), (2**63, ValueError), (2**64, ValueError), ("x", TypeError), (None, TypeError),
              (1.5, TypeError), (NAN, TypeError)]
FLAG = [("x", TypeError), (None, TypeError), (2, TypeError), (0.5, TypeError)]
THREADS = [(0, ValueError), (-1, ValueError), (2**63, ValueError), (2**64, ValueError), ("x", TypeError),
           (1.5, TypeError)]
RNG = [(-1, ValueError), ("x", TypeError), (1.5, TypeError), (True, TypeError)]


def _vec2(allow_none=False):
    """Bad values for a real vector of length 2."""
    out = [("x", TypeError), ([1j, 1j], TypeError), ([], ValueError), ([[0.0, 0.0]], ValueError),
           ([[[0.0, 0.0]]], ValueError), ([NAN, 0.0], ValueError), ([INF, 0.0], ValueError),
           ([0.0, 0.0, 0.0], ValueError), (0.0, ValueError), ([2**64, 0], TypeError)]
    return out if allow_none else out + [(None, TypeError)]


def _points2():
    """Bad values for points: (n,) or (k, n) with n = 2."""
    return [("x", TypeError), (None, TypeError), ([1j, 1j], TypeError), (np.zeros((0, 2)), ValueError),
            (np.zeros((1, 1, 2)), ValueError), ([NAN, 0.0], ValueError), ([INF, 0.0], ValueError),
            (np.zeros((3, 3)), ValueError), (0.0, ValueError)]


def _draws():
    """Bad values for draws (n_chains, n_draws[, n])."""
    return [(np.zeros(0), ValueError), (np.zeros((2, 0)), ValueError), ("x", TypeError), (None, TypeError),
            (np.ones((2, 10), complex), TypeError), (np.zeros((2, 10, 2, 2)), ValueError),
            (np.full((2, 10), NAN), ValueError), (np.full((2, 10), INF), ValueError), (np.zeros((2, 3)), ValueError),
            (np.zeros((10, 4)), ValueError), (5.0, ValueError)]


D2, B2 = S.Gaussian([0.0, 0.0]), S.Box([-1.0, -1.0], [1.0, 1.0])
TRI = [[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0]
_P2 = np.array([[0.5, 0.5], [0.5, 0.5]])


def _walk_args(extra=()):
    out = dict(density=D2, body=B2, delta=0.2, n_steps=20, rng=1)
    out.update(extra)
    return out


def _grid_chain():
    return S.grid_walk(D2, B2, 0.5, None, 20, n_chains=2, rng=1)


def _bodies_and_densities():
    tab = {}
    not3 = [v for v in _vec2() if not (isinstance(v[0], list) and len(v[0]) == 3)]  # a 3-vector is valid alone
    tab["Box"] = (S.Box, dict(lo=[-1.0, -1.0], hi=[1.0, 1.0]), {"lo": not3, "hi": _vec2()})
    tab["Ball"] = (S.Ball, dict(center=[0.0, 0.0], radius=1.0), {"center": not3, "radius": POS_REAL})
    tab["Polytope"] = (S.Polytope, dict(A=TRI[0], b=TRI[1]), {
        "A": [("x", TypeError), (None, TypeError), (np.ones((3, 2), complex), TypeError), ([1.0, 2.0], ValueError),
              (np.zeros((0, 2)), ValueError), (np.full((3, 2), NAN), ValueError)],
        "b": [("x", TypeError), (None, TypeError), ([1j] * 3, TypeError), ([0.0, 1.0], ValueError),
              ([NAN, 0.0, 1.0], ValueError), ([[0.0, 0.0, 1.0]], ValueError)],
        "allow_unbounded": FLAG})
    tab["intersect"] = (lambda bodies: S.intersect(*bodies), dict(bodies=[B2, S.Ball([0, 0], 1.0)]), {
        "bodies": [([B2, "x"], TypeError), ([B2, None], TypeError), ([B2, 3.0], TypeError), ([], ValueError),
                   ([B2, S.Box([0.0], [1.0])], ValueError)]})
    tab["Gaussian"] = (S.Gaussian, dict(mean=[0.0, 0.0]), {
        "mean": not3,
        "cov": [("x", TypeError), (np.eye(2) * 1j, TypeError), (np.eye(3), ValueError), (-np.eye(2), ValueError),
                ([[1.0, 2.0], [0.0, 1.0]], ValueError), (np.full((2, 2), NAN), ValueError), (np.zeros(0), ValueError)],
        "precision": [("x", TypeError), (np.eye(2) * 1j, TypeError), (np.eye(3), ValueError),
                      (-np.eye(2), ValueError), (np.full((2, 2), INF), ValueError)]})
    tab["ExpNorm"] = (S.ExpNorm, dict(c=1.0), {
        "c": POS_REAL, "power": [(3, ValueError), (0, ValueError), (NAN, ValueError), (2**63, ValueError),
                                 (2**64, ValueError), ("x", TypeError), (None, TypeError), (True, TypeError),
                                 (1j, TypeError)]})
    X = np.random.default_rng(0).normal(size=(6, 2))
    y = [0, 1, 0, 1, 1, 0]
    tab["LogisticPosterior"] = (S.LogisticPosterior, dict(X=X, y=y), {
        "X": [("x", TypeError), (None, TypeError), (X * 1j, TypeError), (X[0], ValueError),
              (np.zeros((0, 2)), ValueError), (np.full((6, 2), NAN), ValueError)],
        "y": [("x", TypeError), (None, TypeError), ([1j] * 6, TypeError), (y[:5], ValueError),
              ([0, 1, 2, 0, 1, 0], ValueError), ([NAN] * 6, ValueError), (np.zeros((6, 1)), ValueError)],
        "prior_precision": POS_REAL[:-2] + [(np.zeros(0), ValueError), ([1.0, -1.0], ValueError),
                                            ([1.0, 1.0, 1.0], ValueError), (-np.eye(2), ValueError),
                                            (np.ones((2, 2, 2)), ValueError), ([NAN, 1.0], ValueError),
                                            ([1j, 1j], TypeError)]})
    f = lambda x: -np.sum(x * x, axis=1)  # noqa: E731
    tab["LogDensity"] = (S.LogDensity, dict(fun=f), {
        "fun": [("x", TypeError), (None, TypeError), (3.0, TypeError)],
        "dim": [v for v in POS_INT if v[0] is not None], "grad": [("x", TypeError), (3.0, TypeError)],
        "vectorized": FLAG})
    return tab


def _methods():
    tab = {}
    for name, body in [("Box", B2), ("Polytope", S.Polytope(*TRI))]:
        tab[f"{name}.contains"] = (body.contains, dict(x=[0.1, 0.1]), {"x": _points2()})
        tab[f"{name}.grid_contains"] = (body.grid_contains, dict(centers=[0.1, 0.1], delta=0.2),
                                        {"centers": _points2(), "delta": POS_REAL})
    for name, dens in [("Gaussian", D2), ("ExpNorm", S.ExpNorm(1.0)), ("Uniform", S.Uniform()),
                       ("LogisticPosterior", S.LogisticPosterior(np.eye(2), [0, 1])),
                       ("LogDensity", S.LogDensity(lambda x: -np.sum(x * x, axis=1), grad=lambda x: -2 * x))]:
        pts = _points2() if name in ("Gaussian", "LogisticPosterior") else \
            [p for p in _points2() if not (isinstance(p[0], np.ndarray) and p[0].shape == (3, 3))]
        tab[f"{name}.logpdf"] = (dens.logpdf, dict(x=[0.1, 0.1]), {"x": pts})
        tab[f"{name}.grad"] = (dens.grad, dict(x=[0.1, 0.1]), {"x": pts})
    ch = S.grid_walk(D2, B2, 0.5, None, 20, n_chains=2, continuous_time=True, rng=1)
    tab["Chain.state_at"] = (ch.state_at, dict(t=1.0), {"t": NONNEG_REAL})
    return tab


def _walks():
    tab = {}
    common = {
        "density": [(lambda x: 0.0, TypeError), ("x", TypeError), (None, TypeError),
                    (S.Gaussian([0.0] * 3), ValueError)],
        "body": [([0, 1], TypeError), ("x", TypeError), (None, TypeError), (S.Box([0.0] * 3, [1.0] * 3), ValueError),
                 (S.Polytope([[1.0, 0.0], [0.0, 1.0]], [1.0, 1.0], allow_unbounded=True), ValueError)],
        "x0": [p for p in _vec2(allow_none=True) if p[0] != [[0.0, 0.0]]] + [([3.0, 0.0], ValueError),
                                                                           (np.zeros((3, 2)), ValueError)],
        "n_steps": POS_INT, "n_chains": POS_INT, "thin": POS_INT + [(21, ValueError)], "burn_in": NONNEG_INT,
        "rng": RNG, "threads": THREADS,
    }
    tab["grid_walk"] = (S.grid_walk, _walk_args(), dict(common, delta=POS_REAL, offset=_vec2(allow_none=True),
                                                        continuous_time=FLAG, refine=FLAG, lazy=FLAG))
    tab["grid_walk(LogDensity)"] = (S.grid_walk, _walk_args({"density": S.LogDensity(lambda x: -np.sum(x * x, 1))}),
                                    {"delta": POS_REAL, "n_steps": POS_INT, "n_chains": POS_INT, "thin": POS_INT,
                                     "offset": _vec2(allow_none=True), "lazy": FLAG})
    tab["ball_walk"] = (S.ball_walk, _walk_args(), dict(common, delta=POS_REAL, continuous_time=FLAG, adapt=FLAG,
                                                        target_acceptance=UNIT_REAL))
    tab["volume"] = (S.volume, dict(body=B2, eps=0.5, rng=1), {
        "body": common["body"][:3] + common["body"][4:], "eps": UNIT_REAL, "level": UNIT_REAL,
        "n_chains": POS_INT + [(3, ValueError)], "rng": RNG, "threads": THREADS,
        # None is the default of burn_in and max_steps
        "burn_in": [v for v in NONNEG_INT if v[0] is not None] + [(1, ValueError)],
        "max_steps": [v for v in POS_INT if v[0] is not None]})
    har = _walk_args()
    del har["delta"]
    tab["hit_and_run"] = (S.hit_and_run, har, dict(common, direction=[("x", ValueError), (None, TypeError),
                                                                      (1, TypeError)],
                                                   rounding=[("yes", TypeError), (1.5, TypeError)],
                                                   equality=[(np.ones(2), TypeError), ("x", TypeError)]))
    bil = {k: v for k, v in common.items() if k != "density"}
    bil["body"] = [p for p in common["body"] if not isinstance(p[0], S.Box)]   # no density: any dimension is fine
    tab["billiard_walk"] = (S.billiard_walk, dict(body=B2, n_steps=20, rng=1), dict(
        bil, tau=[p for p in POS_REAL if p[0] is not None], continuous_time=FLAG, rounding=[("yes", TypeError)]))
    return tab


def _rounding():
    tab = {}
    tri = S.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])
    bodies = [([0, 1], TypeError), ("x", TypeError), (None, TypeError)]
    amap = S.AffineMap(np.eye(2), np.zeros(2))
    maps = [("x", TypeError), (None, TypeError), (np.eye(2), TypeError)]
    tab["chebyshev_center"] = (S.chebyshev_center, dict(body=tri), {"body": bodies})
    tab["round_body"] = (S.round_body, dict(body=tri, n_samples=100), {
        "body": bodies, "refine": NONNEG_INT, "n_samples": [p for p in POS_INT if p[0] is not None],
        "rng": RNG, "threads": THREADS})
    tab["reduce_equality"] = (S.reduce_equality, dict(body=B2, E=[[1.0, 1.0]], f=[0.5]), {
        "body": bodies, "E": [("x", TypeError), (None, TypeError), ([[NAN, 1.0]], ValueError),
                              ([[1.0, 1.0, 1.0]], ValueError)],
        "f": [("x", TypeError), (None, TypeError), ([NAN], ValueError), ([0.5, 0.5], ValueError)]})
    tab["AffineMap"] = (S.AffineMap, dict(T=np.eye(2), c=np.zeros(2)), {
        "T": [("x", TypeError), (None, TypeError), ([[NAN, 0.0], [0.0, 1.0]], ValueError),
              ([[1.0, 1.0], [1.0, 1.0]], ValueError)],
        "c": [("x", TypeError), (None, TypeError), ([0.0], ValueError), ([INF, 0.0], ValueError)]})
    tab["affine_image"] = (S.affine_image, dict(body=B2, amap=amap), {"body": bodies, "amap": maps})
    tab["affine_density"] = (S.affine_density, dict(density=D2, amap=amap), {
        "density": [("x", TypeError), (None, TypeError)], "amap": maps})
    return tab


def _diagnostics():
    tab = {}
    grid = dict(density=D2, body=B2, delta=0.5)
    grid_bad = {"density": [("x", TypeError), (None, TypeError)], "body": [("x", TypeError), (None, TypeError)],
                "delta": POS_REAL, "offset": _vec2(allow_none=True), "max_cells": POS_INT + [(3, ValueError)]}
    tab["exact_grid_distribution"] = (S.exact_grid_distribution, grid, grid_bad)
    tab["transition_matrix"] = (S.transition_matrix, grid, dict(grid_bad, lazy=FLAG))
    tab["spectral_gap"] = (S.spectral_gap, dict(P=_P2, pi=[0.5, 0.5]), {
        "P": [("x", TypeError), (None, TypeError), (_P2 * 1j, TypeError), (np.eye(3), ValueError),
              (np.zeros(4), ValueError), (np.full((2, 2), NAN), ValueError), (np.zeros((0, 0)), ValueError)],
        "pi": [("x", TypeError), (None, TypeError), ([1j, 1j], TypeError), ([], ValueError),
               ([[0.5, 0.5]], ValueError), ([NAN, 0.5], ValueError), ([0.0, 1.0], ValueError),
               ([-0.5, 1.5], ValueError), ([1.0 / 3] * 3, ValueError)]})
    tab["tv_distance(arrays)"] = (S.tv_distance, dict(chain=[0.5, 0.5], exact=[0.25, 0.75]), {
        "chain": [("x", TypeError), (None, TypeError), ([1j, 1j], TypeError), ([], ValueError),
                  ([[0.5, 0.5]], ValueError), ([NAN, 0.5], ValueError), ([0.3, 0.3, 0.4], ValueError)],
        "exact": [("x", TypeError), (None, TypeError), ([1j, 1j], TypeError), ([], ValueError),
                  ([INF, 0.5], ValueError), ([0.3, 0.3, 0.4], ValueError)],
        "step": [(0, ValueError)]})
    ch = _grid_chain()
    tab["tv_distance(Chain)"] = (S.tv_distance, dict(chain=ch, exact=S.exact_grid_distribution(D2, B2, 0.5,
                                                                                         offset=ch.offset)), {
        "exact": [("x", TypeError), (None, TypeError), ([0.5, 0.5], TypeError)],
        "step": [(20, ValueError), (-21, ValueError), (2**63, ValueError), (2**64, ValueError), ("x", TypeError),
                 (1.5, TypeError)]})
    x = np.random.default_rng(1).normal(size=(2, 50))
    tab["ess"] = (S.ess, dict(samples=x), {"samples": _draws(),
                                           "kind": [("median", ValueError), (None, TypeError), (1, TypeError)],
                                           "layout": [("x", ValueError), (1, TypeError)]})
    tab["rhat"] = (S.rhat, dict(chains=x), {"chains": _draws(), "layout": [("x", ValueError), (1, TypeError)]})
    tab["theorem1_bound"] = (S.theorem1_bound, dict(t=10.0, n=2, delta=0.1, diameter=3.0, p_min=0.01), {
        "t": [(NAN, ValueError), (INF, ValueError), (-1.0, ValueError), ([1.0, -1.0], ValueError), ("x", TypeError),
              (None, TypeError), (1j, TypeError), (np.zeros(0), ValueError)],
        "n": POS_INT, "delta": POS_REAL, "diameter": POS_REAL, "p_min": UNIT_REAL, "u": UNIT_REAL,
        "M_pi_u": NONNEG_REAL, "gamma": POS_REAL})
    # convq.sampling.theory (issue 15): condition (1), C_u, pi_u, M, Theorem 1 from the problem
    u0 = [p for p in UNIT_REAL if p[0] != 0.0]  # u = 0 is allowed (C_0 = C)
    mc = {"n_mc": POS_INT, "rng": RNG, "max_cells": POS_INT + [(3, ValueError)], "offset": _vec2(allow_none=True)}
    tab["condition1_alpha"] = (S.condition1_alpha, grid, dict(grid_bad, method=[("x", ValueError), (None, TypeError),
                                                                               (1, TypeError)]))
    tab["C_u"] = (S.C_u, dict(body=B2, delta=0.5, u=0.5), dict(mc, body=grid_bad["body"], delta=POS_REAL, u=u0))
    tab["p_u"] = (S.p_u, dict(grid, u=0.5), dict(grid_bad, u=u0, **mc))
    law = [("x", TypeError), (None, TypeError), ([1j, 1j], TypeError), ([], ValueError), ([NAN, 0.5], ValueError),
           ([0.3, 0.3, 0.4], ValueError), ([-0.5, 1.5], ValueError)]
    tab["initial_M"] = (S.initial_M, dict(p0=[0.5, 0.5], pi=[0.5, 0.5]), {"p0": law,
                                                                          "pi": law[:5] + [([0.0, 1.0], ValueError)]})
    tab["theorem1_bound_for"] = (S.theorem1_bound_for, dict(grid, p0=[0.0, 0.0], t=1.0), dict(
        grid_bad, **mc, p0=[("x", TypeError), (None, TypeError), ([], ValueError), ([5.0, 0.0], ValueError),
                            ([NAN, 0.0], ValueError)], t=[(NAN, ValueError), (-1.0, ValueError), ("x", TypeError)],
        u=UNIT_REAL, gamma=POS_REAL))
    return tab


def _logsobolev():
    """The log-Sobolev toolkit and the ball-walk study."""
    tab = {}
    law = [v for v in _vec2() if v[0] != [2**64, 0]] + [([0.5, 0.6], ValueError), ([-0.5, 1.5], ValueError)]
    pi = law + [([0.0, 1.0], ValueError)]
    chain_P = [("x", TypeError), (None, TypeError), (_P2 * 1j, TypeError), (np.eye(3), ValueError),
               (np.zeros(4), ValueError), (np.full((2, 2), NAN), ValueError), ([[0.5, 0.6], [0.5, 0.5]], ValueError),
               ([[1.5, -0.5], [0.5, 0.5]], ValueError)]
    times = [(NAN, ValueError), (-1.0, ValueError), ([1.0, -1.0], ValueError), ("x", TypeError), (None, TypeError),
             (np.zeros((2, 2)), ValueError)]
    tab["entropy"] = (S.entropy, dict(mu=[0.5, 0.5], pi=[0.25, 0.75]), {
        "mu": law, "pi": pi, "kind": [("x", ValueError), (None, TypeError), (1, TypeError)]})
    tab["dirichlet_form"] = (S.dirichlet_form, dict(f=[1.0, 0.0], P=_P2, pi=[0.5, 0.5]), {
        "f": [v for v in _vec2() if v[0] != [2**64, 0]], "P": chain_P + [([[0.5, 0.5], [0.1, 0.9]], ValueError)],
        "pi": pi})
    tab["log_sobolev_constant"] = (S.log_sobolev_constant, dict(P=_P2, pi=[0.5, 0.5]), {
        "P": chain_P, "pi": pi, "random_starts": NONNEG_INT, "rng": RNG, "maxiter": POS_INT})
    tab["heat_semigroup"] = (S.heat_semigroup, dict(p0=[1.0, 0.0], P=_P2, t=1.0), {
        "p0": law, "P": chain_P, "t": times, "pi": [v for v in pi if v[0] is not None]})
    tab["check_decay"] = (S.check_decay, dict(p0=[1.0, 0.0], P=_P2, pi=[0.5, 0.5], t=1.0), {
        "p0": law, "P": chain_P, "pi": pi, "t": times, "alpha": [v for v in NONNEG_REAL if v[0] is not None]})
    grid_bad = {"density": [("x", TypeError), (None, TypeError)], "body": [("x", TypeError), (None, TypeError)],
                "delta_grid": POS_REAL, "radius": POS_REAL + [(0.25, ValueError)], "offset": _vec2(allow_none=True),
                "lazy": FLAG, "max_cells": POS_INT + [(3, ValueError)]}
    tab["ball_walk_operator"] = (S.ball_walk_operator, dict(density=D2, body=B2, delta_grid=0.5, radius=1.0), grid_bad)
    tab["ball_walk_study"] = (S.ball_walk_study, dict(problem=lambda n: (S.Gaussian([0.0] * n),
                                                                         S.Box([-1.0] * n, [1.0] * n)),
                                                      dims=(1,), deltas=(1.0,)), {
        "problem": [("x", TypeError), (None, TypeError), (lambda n: None, TypeError)],
        "dims": [([], ValueError), ([0], ValueError), ([1.5], TypeError), ("x", TypeError), (None, TypeError)],
        "deltas": [([], ValueError), ([-1.0], ValueError), ([NAN], ValueError), ("x", TypeError), (None, TypeError)],
        "refine": POS_INT, "lazy": FLAG, "max_cells": POS_INT + [(3, ValueError)], "rng": RNG})
    return tab


TABLE = {**_bodies_and_densities(), **_methods(), **_walks(), **_diagnostics(), **_rounding(), **_logsobolev()}
CASES = [(fname, arg, i) for fname, (_, _, bad) in TABLE.items() for arg, vals in bad.items()
         for i in range(len(vals))]


def test_table_covers_every_public_function_and_argument():
    import inspect
    covered = {name.split("(")[0].split(".")[0] for name in TABLE}
    public = {n for n in S.__all__ if n not in ("Uniform", "Chain", "GridDistribution", "Intersection", "CubeSet",
                                                "Theorem1Bound", "VolumeResult", "LogSobolevResult", "DecayCheck",
                                                "BallWalkStudy", "Rounding")}
    assert public <= covered, public - covered
    for fname, (fn, _, bad) in TABLE.items():
        if fname in ("intersect",):
            continue
        params = [p for p in inspect.signature(fn).parameters]
        assert set(bad) <= set(params), (fname, set(bad) - set(params))


# issue hardening item 16
@pytest.mark.parametrize("fname,arg,i", CASES, ids=[f"{f}-{a}-{i}" for f, a, i in CASES])
def test_bad_argument_raises_naming_it(fname, arg, i):
    fn, good, bad = TABLE[fname]
    value, exc = bad[arg][i]
    kw = dict(good)
    kw[arg] = value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(exc) as info:
            fn(**kw)
    assert type(info.value) is exc, f"{fname}({arg}={value!r}) raised {type(info.value).__name__}: {info.value}"
    name = {"bodies": "bodies", "fun": "fun"}.get(arg, arg)
    msg = str(info.value)
    assert name in msg or (arg == "density" and "dimension" in msg) or (arg == "body" and "unbounded" in msg) or \
        (arg == "body" and "dimension" in msg), f"{fname}({arg}={value!r}): message does not name {arg!r}: {msg}"


# issue hardening item 15
def test_c_binding_refuses_an_output_that_overflows():
    """The private entry point guards its own size arithmetic (convq.sampling checks first)."""
    from convq import _core
    from convq._spec import WalkSpec
    d, b = _gauss_box()
    walk = WalkSpec(_core.SMP_WALK_BALL, 0.1, n_steps=2**62)
    gens = [np.random.default_rng(1), np.random.default_rng(2)]
    with pytest.raises(ValueError, match="n_chains or n_steps"):
        _core._smp_run(b._c_body(), d._c_dens(2), walk, np.zeros((2, 2)), np.zeros((2, 2), np.int64), gens, 0)


@pytest.mark.parametrize("field, value, exc, message", [
    ("kind", "a", TypeError, "DensitySpec.kind: expected an integer, got str"),
    ("c", "x", TypeError, "DensitySpec.c: expected a real number, got str"),
    ("n", 2 ** 70, ValueError, f"DensitySpec.n: {2 ** 70} is out of range"),
])
def test_c_binding_names_a_bad_spec_field(field, value, exc, message):
    """The sampling binding reads spec fields by name and says which one is wrong, and how."""
    from convq import _core
    from convq._spec import DensitySpec
    spec = DensitySpec(kind=0, n=2)._replace(**{field: value})
    with pytest.raises(exc) as e:
        _core._smp_logf(spec, np.zeros((1, 2)))
    assert str(e.value) == message
