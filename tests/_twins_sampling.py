"""Twin table: the sampling kernels (``_core._smp_run``, ``_smp_grid_moves``, ``_smp_logf``)
and the public walks against :mod:`convq.slow.sampling`.

The public entries run ``engine="auto"`` (the C kernel for a built-in density) against
``engine="python"`` (the NumPy twin, same spawned generators, same draws): the chains must
be bit-identical, on adversarial cases: starts on the boundary of the body, tiny and large
delta, n = 1, intersections, every density kind, lazy and continuous-time runs, burn-in and
thinning. A :class:`LogDensity` has no C path (both engines run NumPy); the C
transition matrix of a Gaussian is checked against the one computed from the same
Gaussian given as a LogDensity.
"""
from __future__ import annotations

import collections
import warnings

import numpy as np

import convq.slow.sampling as slow
from convq import _core
from convq import sampling as S
from convq._spec import BodySpec, DensitySpec, WalkSpec
from _twin import Twin


def _quiet(f):
    """Run f with the walks' RuntimeWarnings (delta too large, nothing accepted) silenced:
    the outcome, not the warning, is compared."""
    def g(*a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return f(*a)
    return g


def _arrays(*xs):
    return tuple(np.zeros(0) if x is None else np.asarray(x) for x in xs)


def _chain_out(ch):
    return _arrays(ch.samples, ch.indices, ch.times, ch.n_accept, ch.n_prop, ch.acceptance_rates)


def _grid(engine):
    return _quiet(lambda d, b, delta, x0, opts: _chain_out(
        S.grid_walk(d, b, delta, x0, rng=11, engine=engine, **dict(opts))))


def _ball(engine):
    return _quiet(lambda d, b, delta, x0, opts: _chain_out(
        S.ball_walk(d, b, delta, x0, rng=12, engine=engine, **dict(opts))))


def _har(engine):
    return _quiet(lambda d, b, x0, opts: _chain_out(S.hit_and_run(d, b, x0, rng=13, engine=engine, **dict(opts))))


def _densities(n, rng):
    A = rng.standard_normal((n, n))
    cov = A @ A.T + 0.5 * np.eye(n)
    X = rng.standard_normal((12, n))
    y = (rng.random(12) < 0.5).astype(float)
    return [S.Uniform(), S.Gaussian(0.1 * rng.standard_normal(n)), S.Gaussian(np.zeros(n), cov=cov),
            S.ExpNorm(1.5, 1), S.ExpNorm(0.7, 2), S.LogisticPosterior(X, y, 0.5),
            S.LogisticPosterior(X, y, np.linalg.inv(cov))]


def _bodies(n, rng):
    A = rng.standard_normal((2 * n, n))
    b = 0.5 + np.abs(A).sum(axis=1) * 0.2
    box = S.Box(-np.ones(n), np.linspace(1.0, 2.0, n))
    return [box, S.Ball(np.full(n, 0.1), 1.2),
            S.intersect(S.Box(-np.ones(n), np.ones(n)), S.Ball(np.zeros(n), 1.3)),
            S.intersect(box, S.Polytope(A, b, allow_unbounded=True))]


_OPTS = [(("n_steps", 60), ("n_chains", 2)),
         (("n_steps", 60), ("n_chains", 3), ("thin", 4), ("burn_in", 7), ("lazy", True), ("continuous_time", True))]


def _grid_cases(rng):
    for n in (1, 3):
        for d in _densities(n, rng):
            for b in _bodies(n, rng):
                for delta in (1e-6, 0.3):
                    for opts in _OPTS:
                        yield (d, b, delta, None, opts)
    box = S.Box([-1.0, -1.0], [1.0, 1.0])
    g = S.Gaussian([0.3, -0.2])
    yield (g, box, 0.25, np.array([1.0, 1.0]), _OPTS[0])            # start on the corner of the box
    yield (g, box, 0.25, np.array([[1.0, -1.0], [-1.0, 1.0]]), _OPTS[0])
    yield (g, box, 5.0, None, _OPTS[0])                            # delta larger than the body
    yield (g, S.Ball([0.0, 0.0], 1.0), 0.5, np.array([1.0, 0.0]), _OPTS[0])   # on the sphere
    yield (g, box, 0.25, None, (("n_steps", 50), ("offset", (0.125, 0.125))))  # grid not aligned with x0
    yield (S.LogDensity(g.logpdf), box, 0.25, None, _OPTS[1])      # no C path: NumPy on both sides


def _ball_cases(rng):
    for n in (1, 3):
        for d in _densities(n, rng):
            for b in _bodies(n, rng):
                for delta in (1e-6, 0.4, 50.0):
                    yield (d, b, delta, None, (("n_steps", 40), ("n_chains", 2), ("continuous_time", True)))
    yield (S.Gaussian([0.0, 0.0]), S.Ball([0.0, 0.0], 1.0), 0.3, np.array([0.0, 1.0]),
           (("n_steps", 60), ("thin", 3), ("burn_in", 5)))          # start on the sphere
    yield (S.Uniform(), S.Box([-1.0, -1.0], [1.0, 1.0]), 0.3, np.array([[1.0, 1.0], [-1.0, 0.0]]),
           (("n_steps", 60), ("n_chains", 2)))


def _har_cases(rng):
    for n in (1, 3):
        for d in _densities(n, rng):
            for b in _bodies(n, rng):
                for direction in ("random", "coordinate"):
                    yield (d, b, None, (("n_steps", 40), ("n_chains", 2), ("direction", direction)))
    tri = S.Polytope([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 1.0])
    yield (S.Uniform(), tri, np.array([1.0, 0.0]), (("n_steps", 60), ("thin", 2)))   # on a vertex
    yield (S.Gaussian([0.0, 0.0]), tri, np.array([0.5, 0.5]), (("n_steps", 60), ("direction", "coordinate")))


def _billiard(engine):
    return _quiet(lambda b, x0, opts: _chain_out(S.billiard_walk(b, x0, rng=14, engine=engine, **dict(opts))))


def _billiard_cases(rng):
    for n in (1, 3):
        for b in _bodies(n, rng):
            for tau in (1e-3, 1.0, 25.0):   # short, diameter-sized, and many reflections
                yield (b, None, (("n_steps", 40), ("n_chains", 2), ("tau", tau), ("thin", 2), ("burn_in", 3),
                                 ("continuous_time", True)))
    tri = S.Polytope([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [1.0, 1.0, 1.0])
    yield (tri, np.array([1.0, 0.0]), (("n_steps", 60),))                       # start on a vertex
    yield (S.Ball([0.0, 0.0], 1.0), np.array([1.0, 0.0]), (("n_steps", 60), ("tau", 1e6)))  # too many reflections


def _billiard_bad():
    box = S.Box([-1.0, -1.0], [1.0, 1.0])
    ok = (("n_steps", 10),)
    return [(box, None, (("tau", 0.0),)), (box, None, (("tau", np.nan),)), (box, np.array([2.0, 0.0]), ok),
            ("box", None, ok), (box, None, (("n_steps", 0),))]


def _walk_bad(with_delta):
    g, box = S.Gaussian([0.0, 0.0]), S.Box([-1.0, -1.0], [1.0, 1.0])
    ok = (("n_steps", 10),)
    pre = (lambda *a: a) if with_delta else (lambda d, b, delta, x0, o: (d, b, x0, o))
    bad = [(g, box, 0.0, None, ok), (g, box, np.nan, None, ok), (g, box, 0.25, np.array([2.0, 0.0]), ok),
           (g, box, 0.25, np.array([0.0, 0.0, 0.0]), ok), (g, box, 0.25, None, (("n_steps", 0),)),
           (g, box, 0.25, None, (("n_steps", 5), ("thin", 6))), (g, S.Box([-1.0], [1.0]), 0.25, None, ok),
           ("gauss", box, 0.25, None, ok), (g, "box", 0.25, None, ok), (g, box, 0.25, None, (("n_chains", 0),)),
           (g, box, 0.25, np.array(["a", "b"]), ok)]
    if not with_delta:
        bad = [a for a in bad if a[2] == 0.25]
    return [pre(*a) for a in bad]


# ---- the kernel entry points, called with the named specs the Python layer builds --------

def _run_args(d, b, walk, x0, k0):
    return (b._c_body(), d._c_dens(b.dim), walk, x0, k0)


def _gens(seed, c):
    return [np.random.default_rng([seed, i]) for i in range(c)]


def _run_c(body, dens, walk, x0, k0):
    return _arrays(*_core._smp_run(body, dens, walk, x0, k0, _gens(5, len(x0)), 1))


def _run_slow(body, dens, walk, x0, k0):
    return _arrays(*slow.smp_run(body, dens, walk, x0, k0, _gens(5, len(x0)), 1))


def _kernel_cases(rng):
    for n in (1, 2, 4):
        for d in _densities(n, rng):
            for b in _bodies(n, rng):
                x0 = np.tile(b.start_point(), (2, 1))
                for delta in (1e-3, 0.35):
                    off = x0[0].copy()
                    grid = WalkSpec(_core.SMP_WALK_GRID, delta, off, continuous_time=1, lazy=1, n_steps=40, thin=3,
                                    burn_in=2)
                    yield _run_args(d, b, grid, x0, np.zeros((2, n), np.int64))
                    yield _run_args(d, b, WalkSpec(_core.SMP_WALK_BALL, delta, n_steps=40), x0,
                                    np.zeros((2, n), np.int64))
                if isinstance(d, S.Uniform):
                    yield _run_args(d, b, WalkSpec(_core.SMP_WALK_BILLIARD, 1.5, continuous_time=1, n_steps=40,
                                                   thin=2, burn_in=3), x0, np.zeros((2, n), np.int64))
                for m in (_core.SMP_WALK_HAR_COORD, _core.SMP_WALK_HAR_DIR):
                    yield _run_args(d, b, WalkSpec(m, continuous_time=1, n_steps=40, thin=2, burn_in=3), x0,
                                    np.zeros((2, n), np.int64))
    # a grid start whose cube does not meet the body: both refuse (ValueError)
    g, box = S.Gaussian([0.0, 0.0]), S.Box([-1.0, -1.0], [1.0, 1.0])
    yield _run_args(g, box, WalkSpec(_core.SMP_WALK_GRID, 0.5, np.zeros(2), n_steps=10), np.zeros((1, 2)),
                    np.array([[5, 0]], np.int64))
    # a start on the boundary of a ball, for the continuous walks
    for m in (_core.SMP_WALK_BALL, _core.SMP_WALK_HAR_DIR, _core.SMP_WALK_HAR_COORD):
        yield _run_args(g, S.Ball([0.0, 0.0], 1.0), WalkSpec(m, 0.3, n_steps=30), np.array([[1.0, 0.0]]),
                        np.zeros((1, 2), np.int64))
    # a body with no parts (every BodySpec field at its default: K = R^n) and a Gaussian
    for m in (_core.SMP_WALK_GRID, _core.SMP_WALK_BALL, _core.SMP_WALK_HAR_DIR, _core.SMP_WALK_HAR_COORD):
        yield (BodySpec(), g._c_dens(2), WalkSpec(m, 0.4, np.zeros(2), n_steps=30), np.zeros((1, 2)),
               np.zeros((1, 2), np.int64))


def _kernel_bad():
    g, box = S.Gaussian([0.0, 0.0]), S.Box([-1.0, -1.0], [1.0, 1.0])
    x0, k0 = np.zeros((1, 2)), np.zeros((1, 2), np.int64)
    walk = WalkSpec(_core.SMP_WALK_GRID, 0.5, np.zeros(2), n_steps=10)
    b, d = box._c_body(), g._c_dens(2)
    fake = collections.namedtuple("Fake", "method delta")(_core.SMP_WALK_GRID, 0.5)
    return [(b, d, walk, np.zeros((1, 3)), k0),                                   # x0 of the wrong width
            (b, d, walk, x0, np.zeros((2, 2), np.int64)),                         # k0 of other chains
            (b, d, walk._replace(method=99), x0, k0),                              # no such walk
            (b, d._replace(kind=99), walk, x0, k0),                                # no such density
            (b, d, walk._replace(offset=None), x0, k0),                            # grid walk without offset
            (b, d, walk._replace(thin=0), x0, k0),                                 # thin = 0
            (b, d, walk._replace(n_steps=2**70), x0, k0),                          # n_steps beyond any size
            (b, d, WalkSpec(_core.SMP_WALK_BALL, -1.0, n_steps=10), x0, k0),       # delta < 0
            (b, d, WalkSpec(_core.SMP_WALK_BILLIARD, 1.0, n_steps=10), x0, k0),    # billiard: uniform only
            (tuple(b), d, walk, x0, k0),                                           # plain tuples: TypeError
            (b, tuple(d), walk, x0, k0),
            (b, d, tuple(walk), x0, k0),
            (b, d, fake, x0, k0),                                                  # a named tuple without the fields
            (b, d, walk._replace(method=1.0), x0, k0),                             # a float where an int belongs
            (b, d, walk._replace(delta="0.5"), x0, k0),                            # a string where a float belongs
            (b, d._replace(n="2"), walk, x0, k0),
            (b, d._replace(power=None), walk, x0, k0),
            (b._replace(exact_cube=0.5), d, walk, x0, k0),
            (b._replace(radii=None), d, walk, x0, k0),                             # centers without radii
            (b._replace(AT=None), d, walk, x0, k0),                                # a polytope part missing
            (b._replace(hi=None), d, walk, x0, k0)]                                # a box bound missing


def _moves_cases(rng):
    for n in (1, 2, 3):
        for d in _densities(n, rng):
            for b in _bodies(n, rng):
                off = b.start_point()
                for delta in (1e-4, 0.3, 3.0):
                    k = rng.integers(-4, 5, size=(25, n)).astype(np.int64)
                    yield (b._c_body(), d._c_dens(n), delta, off, k)


def _logf_cases(rng):
    for n in (1, 3):
        for d in _densities(n, rng):
            x = np.vstack([rng.standard_normal((5, n)), np.zeros((1, n)), np.full((1, n), 40.0),
                           np.full((1, n), -40.0)])
            yield (d._c_dens(n), x)


def _tm_cases(rng):
    for n in (1, 2):
        g = S.Gaussian(0.2 * rng.standard_normal(n), precision=np.eye(n) * 2.0)
        for b in _bodies(n, rng)[:3]:
            for delta in (0.2, 0.45):
                yield (g, b, delta)


def _tm(as_callable):
    def f(g, b, delta):
        d = S.LogDensity(g.logpdf) if as_callable else g
        P, dist = S.transition_matrix(d, b, delta)
        return P.toarray(), dist.probs
    return f


TWINS = [
    Twin("grid_walk", _grid("auto"), _grid("python"), _grid_cases, lambda: _walk_bad(True)),
    Twin("ball_walk", _ball("auto"), _ball("python"), _ball_cases, lambda: _walk_bad(True)),
    Twin("hit_and_run", _har("auto"), _har("python"), _har_cases, lambda: _walk_bad(False)),
    Twin("billiard_walk", _billiard("auto"), _billiard("python"), _billiard_cases, _billiard_bad),
    Twin("_smp_run", _run_c, _run_slow, _kernel_cases, _kernel_bad),
    Twin("_smp_grid_moves", lambda *a: _core._smp_grid_moves(*a), slow.smp_grid_moves, _moves_cases,
         lambda: [(S.Box([-1.0], [1.0])._c_body(), S.Uniform()._c_dens(1), 0.0, np.zeros(1),
                   np.zeros((1, 1), np.int64)),
                  (S.Box([-1.0], [1.0])._c_body(), S.Uniform()._c_dens(1), 0.5, np.zeros(2),
                   np.zeros((1, 1), np.int64)),
                  (tuple(S.Box([-1.0], [1.0])._c_body()), S.Uniform()._c_dens(1), 0.5, np.zeros(1),
                   np.zeros((1, 1), np.int64))]),
    Twin("_smp_logf", _core._smp_logf, slow.smp_logf, _logf_cases,
         lambda: [(S.Uniform()._c_dens(2), np.zeros((3, 3))), (S.Uniform()._c_dens(2), np.zeros(2)),
                  (DensitySpec(7, 2), np.zeros((1, 2))),
                  (tuple(S.Uniform()._c_dens(2)), np.zeros((1, 2))),
                  (DensitySpec(_core.SMP_DENS_EXPNORM, 2, c=1.0, power=3), np.zeros((1, 2))),
                  (DensitySpec(_core.SMP_DENS_EXPNORM, 2, c="1", power=1), np.zeros((1, 2))),
                  (DensitySpec(_core.SMP_DENS_UNIFORM, -2**70), np.zeros((1, 2)))]),
    # the callable path against the C path: the same Gaussian, as a LogDensity (NumPy
    # log F, evaluated in full) and built in (C, incremental): equal up to rounding
    Twin("transition_matrix(LogDensity)", _tm(False), _tm(True), _tm_cases,
         lambda: [(S.Gaussian([0.0]), S.Box([-1.0], [1.0]), 0.0), (S.Gaussian([0.0]), S.Box([-1.0], [1.0]), 1e-19),
                  (S.Gaussian([0.0, 0.0]), S.Box([-1.0], [1.0]), 0.5)], rtol=1e-12),
]
