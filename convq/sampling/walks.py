r"""The walks of :mod:`convq.sampling`: the Frieze-Kannan grid walk, the ball walk and
(Metropolised) hit-and-run, and their result :class:`Chain`.

A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from log-concave
distributions", section 1 ("The random walk": from the centre :math:`x` propose
:math:`y = x \pm \delta e_j` and move with probability :math:`\min(1, F(y)/F(x))`) and
the ball walk at the end of the paper (Steps 1', 2'); hit-and-run after R. L. Smith,
"Efficient Monte Carlo procedures for generating points uniformly distributed over
bounded regions" (Operations Research 32(6), 1984).

Every walk takes ``engine="auto" | "c" | "python"`` (:func:`convq._engine.resolve_engine`):
the built-in densities run in the C kernel (``"c"``) or in its slow NumPy twin
(``"python"``, :mod:`convq.slow.sampling`), which gets the same spawned generators and
makes the same draws in the same order, so both give the same chains. A
:class:`~convq.sampling.LogDensity` (a Python callable) has no C path; it runs in NumPy,
all chains advancing together with one call of the callable per step.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _core
from .._engine import resolve_engine
from .._errors import NotLogConcaveWarning
from .._result import Result
from .._result import _fmt as _result_fmt
from .._rng import as_generator, spawn
from .._progress import progress_scope
from .._spec import WalkSpec
from .._validation import as_vector, check_int, check_open_unit, check_positive, check_threads
from ..slow import sampling as _slow
from . import _adapt, _slice
from . import rounding as _affine
from ._checks import (_INDEX_LIMIT, WALK_BALL, WALK_BILLIARD, WALK_GRID, WALK_HAR_COORD, WALK_HAR_DIR, _check_flag,
                      _check_grid_resolution, _fmt_vec, _memory_limit)
from .bodies import _Body
from .densities import LogDensity, Uniform, _Density

__all__ = ["Chain", "grid_walk", "ball_walk", "hit_and_run", "billiard_walk"]


class Chain(Result):
    """The output of a walk: a :class:`convq._result.Result` (a dict whose keys are also
    attributes, with an ordered repr).

    Attributes
    ----------
    samples : ndarray, shape (n_chains, n_kept, n)
        Kept states (after burn-in, every ``thin``-th step); with ``refine=True`` the
        accepted points of the rejection step (see :func:`grid_walk`).
    indices : ndarray of int64 or None
        Grid walk: integer grid coordinates k of the samples (centre = offset + delta k;
        refined: of the cube each point was drawn in).
    times : ndarray or None
        Continuous time: the time of each kept step (sum of Exp(1) holding times).
    refine_acceptance : float
        ``refine=True`` only: accepted / made rejection trials over all chains;
        ``1 / refine_acceptance`` is the number of chain states (kept states, each
        ``thin`` steps apart) spent per continuous sample.
    refine_trials : ndarray of int64
        ``refine=True`` only: the rejection trials made per chain (the chain ran
        ``thin * refine_trials`` steps after burn-in instead of ``n_steps``).
    refine_log_envelope : float
        ``refine=True`` only: B, the envelope exponent of the rejection step.
    acceptance_rate : float
        Accepted moves / proposals over all chains (lazy holds are not proposals).
    acceptance_rates : ndarray
        The same per chain.
    n_accept, n_prop : ndarray of int64
        Accepted moves and proposals per chain.
    method, delta, offset, n_steps, thin, burn_in, refined, start, start_indices :
        run parameters (``start``: the start states; ``start_indices``: their grid
        coordinates, grid walk only).
    """

    _order = ("method", "acceptance_rate", "samples", "indices", "times", "acceptance_rates", "n_accept", "n_prop",
              "delta", "offset", "n_steps", "thin", "burn_in", "refined", "refine_acceptance", "refine_trials",
              "refine_log_envelope", "start", "start_indices")

    def __init__(self, method=None, samples=None, acceptance_rates=None, n_accept=None, n_prop=None, *,
                 indices=None, times=None, delta=None, offset=None, n_steps=0, thin=1, burn_in=0, refined=False,
                 start=None, start_indices=None, refine_trials=None, refine_acceptance=None,
                 refine_log_envelope=None):
        super().__init__()
        if samples is None:   # Chain() or Chain(mapping): filled by unpickling / copy
            if isinstance(method, dict):
                self.update(method)
            return
        self.method = method
        self.samples = samples
        self.indices = indices
        self.times = times
        tot = float(np.sum(n_prop))
        self.acceptance_rate = float(np.sum(n_accept)) / tot if tot > 0 else float("nan")
        self.acceptance_rates = acceptance_rates
        self.n_accept, self.n_prop = n_accept, n_prop
        self.delta, self.offset = delta, offset
        self.n_steps, self.thin, self.burn_in = n_steps, thin, burn_in
        self.refined = refined
        self.start, self.start_indices = start, start_indices
        if refined:
            self.refine_trials, self.refine_acceptance = refine_trials, refine_acceptance
            self.refine_log_envelope = refine_log_envelope

    @property
    def n_chains(self):
        return self.samples.shape[0]

    def state_at(self, t):
        """States of every chain at continuous time ``t`` (needs ``continuous_time=True``
        and ``thin=1``; the chains must have run past ``t``). Returns ``(centres, indices)``."""
        if self.times is None:
            raise ValueError("state_at needs a continuous-time run (continuous_time=True)")
        if self.refined:
            raise ValueError("state_at needs an unrefined run: the samples of refine=True are accepted points at "
                             "the trial times, not the walk's state at every step")
        if self.thin != 1:
            raise ValueError(f"state_at needs thin=1, the run used thin={self.thin}")
        t = check_positive(t, "t", allow_zero=True)
        if np.any(self.times[:, -1] <= t):
            raise ValueError(f"some chains stopped before time {t} (last event at {self.times[:, -1].min():.3g}); "
                             "run more steps")
        pos = np.array([np.searchsorted(tr, t, side="right") - 1 for tr in self.times])
        if np.any(pos < 0) and self.burn_in > 0:
            raise ValueError(f"t={t} is before the first recorded step; use burn_in=0")
        rows = np.arange(self.n_chains)
        before = pos < 0  # no jump yet: still at the start point
        pos = np.maximum(pos, 0)
        x = self.samples[rows, pos]
        x[before] = self.start[before]
        idx = None
        if self.indices is not None:
            idx = self.indices[rows, pos]
            idx[before] = self.start_indices[before]
        return x, idx

    def to_inference_data(self, var_name="x"):
        """These draws as ``arviz.InferenceData`` (chain x draw x dim posterior; sample
        stats ``acceptance_rate``); needs arviz. See
        :func:`convq.sampling._arviz.to_inference_data`.

        Example: ``arviz.summary(grid_walk(Gaussian(2), Box(2), 0.1, n_chains=4).to_inference_data())``."""
        from ._arviz import to_inference_data
        return to_inference_data(self, var_name)

    def __repr__(self):
        """The ordered repr of :class:`~convq._result.Result`, with the per-step arrays
        (samples, indices, times, start points) summarised by shape and dtype."""
        keys = self._keys_in_order()
        if not keys:
            return "Chain()"
        w = max(len(k) for k in keys)

        def fmt(v):
            if isinstance(v, np.ndarray) and v.ndim >= 2:
                return f"ndarray{v.shape} {v.dtype}"
            return _result_fmt(v)
        body = "\n".join(f"{k:>{w}}: {fmt(self[k])}" for k in keys)
        return f"Chain(\n{body}\n)"

def _check_pair(density, body):
    if not isinstance(body, _Body):
        raise TypeError(f"body must be a Box, Ball, Polytope or intersect(...), got {type(body).__name__}")
    if not isinstance(density, _Density):
        raise TypeError("density must be Gaussian, ExpNorm, Uniform, LogisticPosterior or LogDensity, "
                        f"got {type(density).__name__}")
    density._check_dim(body.dim)
    body._usable()
    return body.dim


def _start_points(x0, body, n_chains, delta=None):
    """Start points in K (grid walk: in K, or a centre whose cube meets K)."""
    n = body.dim
    if x0 is None:
        x0 = body.start_point()
    x0 = as_float_array_2(x0, n, n_chains)
    inside = body.contains(x0)
    if delta is not None:
        inside |= body.grid_contains(x0, delta)
    if not np.all(inside):
        i = int(np.flatnonzero(~inside)[0])
        raise ValueError(f"the start point x0{'' if len(x0) == 1 else f'[{i}]'}={_fmt_vec(x0[i])} is outside the body")
    return np.ascontiguousarray(np.broadcast_to(x0, (n_chains, n)))


def as_float_array_2(x0, n, n_chains):
    x0 = np.asarray(x0)
    if x0.dtype.kind not in "fiub":
        raise TypeError(f"x0 must be real numbers, got dtype {x0.dtype}")
    x0 = x0.astype(float)
    if x0.ndim == 1:
        if x0.size != n:
            raise ValueError(f"x0 must have length {n} (the body's dimension), got {x0.size}")
        x0 = x0[None, :]
    elif x0.ndim == 2:
        if x0.shape[1] != n or x0.shape[0] not in (1, n_chains):
            raise ValueError(f"x0 must have shape ({n},) or ({n_chains}, {n}), got {x0.shape}")
    else:
        raise ValueError(f"x0 must be 1- or 2-dimensional, got shape {x0.shape}")
    if not np.isfinite(x0).all():
        raise ValueError("x0 must be finite")
    return x0


def _common(n_steps, n_chains, thin, burn_in):
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_chains = check_int(n_chains, "n_chains", minimum=1)
    thin = check_int(thin, "thin", minimum=1)
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    if thin > n_steps:
        raise ValueError(f"thin={thin} exceeds n_steps={n_steps}: nothing would be kept")
    return n_steps, n_chains, thin, burn_in


def _continuous_setup(where, body, x0, n_steps, n_chains, thin, burn_in, continuous_time, threads, rng):
    """The run checks shared by the continuous walks (ball, billiard): counts, the flag,
    the memory check, threads, the generator and the start points, in this order."""
    n_steps, n_chains, thin, burn_in = _common(n_steps, n_chains, thin, burn_in)
    continuous_time = _check_flag(continuous_time, "continuous_time")
    _check_walk_memory(where, n_chains, n_steps, thin, body.dim, times=continuous_time)
    return (n_steps, n_chains, thin, burn_in, continuous_time, check_threads(threads), as_generator(rng),
            _start_points(x0, body, n_chains))


# What a walk holds per chain besides its kept states: a spawned Generator with its
# PCG64 state (about 1 KiB measured), start point, grid index, counters, temporaries.
_PER_CHAIN_BYTES = 4096


def _check_walk_memory(where, n_chains, n_steps, thin, n, *, indices=False, times=False, refine=False):
    """Refuse, before anything is built, a run whose output (n_chains x n_kept x n
    float64, plus indices/times) and per-chain state exceed the machine's memory."""
    n_kept = n_steps // thin
    arrays = ["samples"] + (["indices"] if indices else []) + (["times"] if times else [])
    per_state = 8 * n * (1 + int(indices) + 3 * int(refine)) + 8 * int(times)
    need = n_chains * n_kept * per_state + n_chains * (_PER_CHAIN_BYTES + 48 * n)
    limit = _memory_limit()
    if need > limit:
        raise ValueError(f"{where} would need {need:.4g} bytes: n_chains={n_chains} chains x n_steps // thin = "
                         f"{n_steps} // {thin} = {n_kept} kept states x n={n} coordinates x 8 bytes "
                         f"({', '.join(arrays)}{', refinement' if refine else ''}), more than this machine's memory "
                         f"({limit:.4g} bytes); lower n_chains or n_steps, or raise thin")


_NO_C = "a LogDensity (a Python callable) has no C path"

# The set-up test of a Python log-density: this many chords of K, drawn from a generator of
# their own (fixed seed), never from the walk's rng; their 3 x _CHORDS points go into the
# same call of the density as the start points.
_CHORDS = 32
_CHORD_SEED = 0x10C0C4


def _chords_in(body, base, m, gen):
    """m chords of K: ends at uniform fractions of the extent of K along random rays from
    the point ``base`` of K (the extent by doubling, then bisection, of membership tests)."""
    n = body.dim
    u = gen.standard_normal((2 * m, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    t_in, t = np.zeros(2 * m), np.ones(2 * m)
    for _ in range(60):
        grow = body._contains(base + t[:, None] * u)
        if not grow.any():
            break
        t_in[grow] = t[grow]
        t[grow] *= 2
    for _ in range(30):
        mid = 0.5 * (t_in + t)
        ok = body._contains(base + mid[:, None] * u)
        t_in[ok], t[~ok] = mid[ok], mid[~ok]
    ends = base + (gen.random(2 * m) * t_in)[:, None] * u
    return ends[:m], ends[m:], gen.uniform(0.05, 0.95, m)


def _start_values(where, density, body, starts, x0=None):
    """log F at the start points of a walk with a Python log-density, from one call that
    also tests log-concavity on _CHORDS chords of K (from the first start point or x0 in
    K); NotLogConcaveWarning on a violation."""
    from ..convexity import _chord_concavity
    cand = starts if x0 is None else np.vstack([starts, x0])
    inside = np.flatnonzero(body._contains(cand))
    base = cand[inside[0]] if inside.size else body.start_point()
    X, Y, theta = _chords_in(body, base, _CHORDS, np.random.default_rng(_CHORD_SEED))
    lf0, margins, _, viol = _chord_concavity(density, X, Y, theta, extra=starts)
    if viol.any():
        i = int(np.argmin(np.where(viol, margins, np.inf)))
        gap = ("F vanishes inside the chord although it is positive at both ends (its support in K is not convex)"
               if margins[i] == -np.inf else f"log F falls {-margins[i]:.4g} below the chord at theta={theta[i]:.3f}")
        warnings.warn(f"{where}: the log-density {density._label()} is not log-concave on {int(viol.sum())} of "
                      f"{_CHORDS} sampled chords of the body: from x={_fmt_vec(X[i])} to y={_fmt_vec(Y[i])}, {gap}. "
                      "The walk still targets F, but the mixing bounds of Frieze and Kannan (and the envelope of "
                      "refine=True) assume a log-concave F; silence with "
                      "warnings.simplefilter('ignore', convq.NotLogConcaveWarning)",
                      NotLogConcaveWarning, stacklevel=3)
    return lf0


def _run(engine, density, body, walk, x0, k0, gens, threads, progress=None, name="walk"):
    """One call of the kernel entry point `_smp_run`: the C kernel or its NumPy twin, with
    the same specs (BodySpec, DensitySpec, WalkSpec) and the same generators; `progress`
    as in :func:`grid_walk`, shown as `name`."""
    run = _core._smp_run if engine == "c" else _slow.smp_run
    with progress_scope(progress, name):
        return run(body._c_body(), density._c_dens(body.dim), walk, x0, k0, gens, threads)


def grid_walk(density, body, delta, x0=None, n_steps=1000, n_chains=1, thin=1, continuous_time=False,
              refine=False, rng=None, *, burn_in=0, lazy=False, offset=None, threads=None,
              engine="auto", progress=None, rounding=False, equality=None):
    r"""The Frieze-Kannan grid walk (section 1 of the paper, "The random walk").

    From the centre :math:`x \in C` choose :math:`j` uniformly from :math:`[n]` and
    :math:`s \in \{\pm1\}`, put :math:`y = x + s\delta e_j`; if :math:`y \notin C` stay,
    otherwise move with probability :math:`\min(1, F(y)/F(x))`. So
    :math:`P(x, y) = \frac{1}{2n}\min(1, F(y)/F(x))` for :math:`y \in G(x)` and the
    stationary law is :math:`\pi(x) = F(x)/D`, :math:`D = \sum_{x\in C}F(x)`; the chain
    is reversible (the display after Step 3 of the paper).

    Parameters
    ----------
    density : Gaussian, ExpNorm, Uniform, LogisticPosterior or LogDensity
    body : Box, Ball, Polytope or intersect(...)
    delta : float > 0
        Side of the grid cubes.
    x0 : array_like (n,) or (n_chains, n), optional
        Start point(s) in K, snapped to the nearest grid centre. Default: the body's
        :meth:`~_Body.start_point`.
    n_steps : int
        Steps recorded after burn-in (each step is one proposal, or a lazy hold).
    n_chains : int
        Independent chains, each with its own spawned random stream.
    thin : int
        Keep every ``thin``-th state (``n_steps // thin`` per chain).
    continuous_time : bool
        The paper's continuous-time version: Exp(1) holding times between proposals,
        reported in ``Chain.times``; the law at time t is
        :math:`\delta_{x_0} e^{t(P - I)}`.
    refine : bool
        Return points of :math:`\mathbb R^n` instead of cube centres, by the paper's
        "standard rejection sampling" from the cube the walk gives, continuing the chain
        on rejection. At each kept state x (every ``thin``-th step after burn-in) draw z
        uniform in :math:`C(x)` and :math:`u` uniform in (0, 1); accept z when
        :math:`z \in K` and :math:`u < F(z)/(e^B F(x))`. A rejected trial is never
        retried in the same cube: the next trial is the chain's next kept state, and the
        walk runs as long as it takes (extended from its state, with generators drawn
        from ``rng``) to get ``n_steps // thin`` accepted points per chain, the first
        ones in time order. :math:`B` is the largest
        :math:`\tfrac\delta2\|\nabla\log F(x)\|_1` over the cubes of every trial of
        the run, one constant for all trials and chains; by concavity
        :math:`\log F(z) \le \log F(x) + \nabla\log F(x)\cdot(z - x) \le \log F(x) + B`
        on :math:`C(x)`, so the acceptance probability is at most 1.

        The law: given the trial cube :math:`x`, the trial is accepted with probability
        :math:`\int_{C(x)\cap K}F / (e^B F(x)\delta^n)` and the accepted z has density
        :math:`\propto F` on :math:`C(x) \cap K`. When the cube is drawn from the
        walk's stationary law :math:`\pi(x) = F(x)/D` the factor :math:`F(x)` cancels:
        :math:`P(\text{accept}, z \in A) = \int_{A \cap K \cap U} F / (e^B D\delta^n)`
        with :math:`U = \bigcup_{x\in C}C(x)`, so an accepted point has exactly the
        density :math:`F 1_{K \cap U} / \int_{K\cap U} F`, and its cube is drawn with
        the paper's weight :math:`\int_{C(x)\cap K}F = \mathrm{vol}(C(x)\cap K)
        \cdot \mathrm{avg}_{C(x)\cap K}F` instead of the walk's :math:`F(x)\delta^n`
        (boundary cubes that barely meet K are accepted as rarely as their share of K).
        No grid approximation is left: for a lone :class:`Box` or :class:`Ball`,
        :math:`C` holds every cube meeting K and :math:`K \cap U = K`; for polytopes
        and intersections (the centre test) :math:`K \cap U` misses the parts of the
        boundary layer (within :math:`\delta/2` of the boundary in the max-norm) that
        only cubes with centres outside K cover. What is approximate is the Markov
        chain's, as for its plain states: the trial cubes have the walk's law at the
        trial times, not :math:`\pi` (shrinking with ``burn_in``), and successive
        trials of a chain are correlated, so stopping at the ``n_steps // thin``-th
        acceptance selects slightly; the trial times are fixed (not chosen by earlier
        outcomes), so the empirical law of the accepted points of a run converges to the
        target as the run grows (ergodic theorem), with an error of order the chain's
        relaxation time (in trials) over the number of accepted points. The cost is
        reported as ``refine_acceptance`` (accepted / trials) and ``refine_trials``.
        A :class:`LogDensity` needs its ``grad`` for the envelope (ValueError
        otherwise).
    rng : None, int or numpy.random.Generator
    burn_in : int
        Steps run and discarded first.
    lazy : bool
        Hold with probability 1/2 before each proposal (transition :math:`(I + P)/2`;
        the plain walk can be periodic, e.g. for a uniform F).
    offset : array_like (n,), optional
        Grid offset (centres are offset + delta Z^n). Default: ``x0`` (the first chain's).
    threads : int or None
        Threads for the chains (None: every CPU this process may use,
        :func:`convq.available_cpus`). Results do not depend on it.
    engine : {"auto", "c", "python"}
        ``"c"``: the C kernel (built-in densities only); ``"python"``: its slow NumPy
        twin (:func:`convq.slow.sampling.smp_run`), the same chains; ``"auto"``: C
        whenever the density is built in. A :class:`LogDensity` always runs in NumPy.
    progress : None, bool or callable(done, total)
        Show progress over the steps of all chains, from inside the C loop (a tqdm bar, or
        ``progress(done, total)`` about 10 times a second; see :mod:`convq._progress`).
        The chains do not change.
    rounding : bool, Rounding or AffineMap
        Run the walk in rounded coordinates z, x = Tz + c (``True``: :func:`round_body`;
        or a precomputed :func:`round_body` result or map), with the density transformed
        exactly (:func:`~convq.sampling.rounding.affine_density`); the samples are
        returned in x and ``Chain.map`` holds the map. ``delta``, ``offset`` and
        ``indices`` refer to the grid in z.
    equality : (E, f), optional
        Sample on the slice :math:`\{x : Ex = f\} \cap K` through
        x = x_p + N w (:func:`reduce_equality`); a precomputed ``rounding`` then refers to
        the reduced coordinates w.

    Returns
    -------
    Chain
        ``samples`` (n_chains, n_steps // thin, n), ``indices`` (integer grid
        coordinates), ``times`` (continuous time), ``acceptance_rate``.

    Raises ``ValueError`` before anything is built when the output (n_chains x
    n_steps // thin x n float64 samples and indices, plus times) would not fit in the
    machine's memory, or when delta is so small that grid indices would pass 2^53 or the
    centres offset + delta k would coincide in float64. Warns (``RuntimeWarning``) when
    delta is so large that no start cell has a neighbour in C (no move can be accepted)
    or when no proposal was accepted. With a :class:`LogDensity`, the call of the density
    at the start points also tests log-concavity on 32 chords of K (drawn by a fixed-seed
    generator of their own: the chains are those of a run without the test) and warns
    with :class:`convq.NotLogConcaveWarning` when log F falls below a chord.
    """
    if _affine.wanted(rounding, equality):
        return _affine.affine_walk(grid_walk, density, body, rounding, equality, x0, dict(
            delta=delta, n_steps=n_steps, n_chains=n_chains, thin=thin, continuous_time=continuous_time,
            refine=refine, rng=rng, burn_in=burn_in, lazy=lazy, offset=offset, threads=threads, engine=engine,
            progress=progress))
    n = _check_pair(density, body)
    engine = resolve_engine(engine, not isinstance(density, LogDensity), _NO_C)
    delta = check_positive(delta, "delta")
    n_steps, n_chains, thin, burn_in = _common(n_steps, n_chains, thin, burn_in)
    continuous_time = _check_flag(continuous_time, "continuous_time")
    refine = _check_flag(refine, "refine")
    lazy = _check_flag(lazy, "lazy")
    _check_walk_memory("grid_walk", n_chains, n_steps, thin, n, indices=True, times=continuous_time, refine=refine)
    nthreads = check_threads(threads)
    gen = as_generator(rng)
    x0 = _start_points(x0, body, n_chains, delta)
    offset = x0[0].copy() if offset is None else as_vector(offset, "offset", size=n)
    _check_grid_resolution(delta, offset, "grid_walk")
    with np.errstate(over="ignore", invalid="ignore"):
        r0 = np.rint((x0 - offset) / delta)
    if not np.all(np.abs(r0) <= _INDEX_LIMIT):  # also catches inf / NaN: the int64 cast would wrap
        raise ValueError(f"delta={delta:.6g} is too small for the distance between x0 and offset "
                         f"({float(np.max(np.abs(x0 - offset))):.6g}): the start's grid index would exceed 2^53")
    k0 = r0.astype(np.int64)
    centres = offset + k0 * delta
    ok = body.grid_contains(centres, delta)
    if not np.all(ok):
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"the start point x0[{i}] snaps to the grid centre {_fmt_vec(centres[i])}, which is not in "
                         "the grid set C; use another offset, a smaller delta or a start point deeper inside K")
    stuck = _warn_if_grid_stuck(body, delta, offset, k0)
    if refine and isinstance(density, LogDensity) and density._grad is None:
        raise ValueError("grid_walk(refine=True) with a LogDensity needs its gradient (LogDensity(fun, grad=...)): "
                         "the rejection step's envelope exp(delta/2 |grad log F(x)|_1) bounds F on each cube; "
                         f"got density={density!r} without grad")

    def segment(k, steps, burn, lf=None):
        """The walk from the grid indices ``k`` (one row per chain): ``steps`` steps
        after ``burn`` burn-in steps, every ``thin``-th state kept."""
        if isinstance(density, LogDensity):
            return _slow.grid_walk_callable(density, body, delta, offset, k, steps, thin, burn, continuous_time,
                                            lazy, gen, lf)
        walk = WalkSpec(method=WALK_GRID, delta=delta, offset=offset, continuous_time=int(bool(continuous_time)),
                        lazy=int(bool(lazy)), n_steps=steps, thin=thin, burn_in=burn)
        return _run(engine, density, body, walk, offset + k * delta, k, spawn(gen, len(k)), nthreads, progress,
                    "grid_walk")

    lf0 = _start_values("grid_walk", density, body, centres, x0) if isinstance(density, LogDensity) else None
    s, idx, times, na, npr = out = segment(k0, n_steps, burn_in, lf0)
    extra = {}
    if refine:
        s, idx, times, na, npr, trials, accepted, log_env = _refine(
            lambda k, m: segment(k, m * thin, 0), density, body, delta, out, thin, gen)
        extra = dict(refine_trials=trials, refine_acceptance=float(accepted.sum() / trials.sum()),
                     refine_log_envelope=log_env)
    chain = Chain("grid", s, na / np.maximum(npr, 1), na, npr, indices=idx, times=times, delta=delta, offset=offset,
                  n_steps=n_steps, thin=thin, burn_in=burn_in, refined=refine, start=centres, start_indices=k0,
                  **extra)
    if not stuck:
        _warn_if_nothing_accepted("grid_walk", chain, delta)
    return chain


def _warn_if_grid_stuck(body, delta, offset, k0):
    """RuntimeWarning when no start cell has a neighbour in C: no move can ever be
    accepted (delta is larger than the body's extent around the starts)."""
    def has_neighbour(ks):
        for j in range(body.dim):
            for sgn in (-1, 1):
                yk = ks.copy()
                yk[:, j] += sgn
                if np.any(body._grid_contains(offset + yk * delta, delta)):
                    return True
        return False

    # the first chain's start usually settles it; all distinct starts only when it is stuck
    if has_neighbour(k0[:1]) or (len(k0) > 1 and has_neighbour(np.unique(k0, axis=0))):
        return False
    lo, hi = body._lo, body._hi
    extent = "" if lo is None else f" (the box's smallest side is {float(np.min(hi - lo)):.4g})"
    warnings.warn(f"grid_walk: delta={delta:.6g} is too large for the body{extent}: no start cell has a neighbouring "
                  "cell in the grid set C, so no move can be accepted and every chain stays at its start; "
                  "use a smaller delta", RuntimeWarning, stacklevel=3)
    return True


def _warn_if_nothing_accepted(where, chain, delta):
    props = int(np.sum(chain.n_prop))
    if props >= 100 and int(np.sum(chain.n_accept)) == 0:  # fewer: too few to tell
        warnings.warn(f"{where}: no proposal was accepted in {props} proposals (acceptance rate 0) with "
                      f"delta={delta:.6g}; delta is probably too large for the body", RuntimeWarning, stacklevel=3)


# grid_walk(refine=True): a segment of the extended chain holds at most this many float64
# coordinates; the run stops with a ValueError when, after _REFINE_MIN_TRIALS trials,
# fewer than a fraction _REFINE_MIN_RATE were accepted (the cubes are far too coarse).
_REFINE_CHUNK = 2 ** 22
_REFINE_MIN_TRIALS = 10 ** 6
_REFINE_MIN_RATE = 1e-6


def _refine_trials(density, body, delta, centres, gen):
    r"""One rejection trial at each row of ``centres`` (cube centres x): z uniform in the
    cube C(x), the score :math:`\log F(z) - \log F(x) - \log u` (``-inf`` when z is not in
    K) and the envelope exponent :math:`b(x) = \tfrac\delta2\|\nabla\log F(x)\|_1`. Against
    the envelope :math:`e^B` (B >= b(x)) the trial is accepted iff score > B, that is
    with probability :math:`F(z)1_K(z)/(e^B F(x))`."""
    z = centres + delta * (gen.random(centres.shape) - 0.5)
    with np.errstate(divide="ignore"):
        logu = np.log(gen.random(len(centres)))  # u = 0 gives -inf: accepted when z is in K
    inside = body._contains(z)
    lz = np.full(len(z), -np.inf)
    if inside.any():
        lz[inside] = density.logpdf(z[inside])
    b = 0.5 * delta * np.abs(density.grad(centres)).sum(axis=1)
    with np.errstate(invalid="ignore"):  # z outside K with u = 0: NaN, rejected like -inf
        return z, lz - density.logpdf(centres) - logu, b


def _refine(segment, density, body, delta, first, thin, gen):
    r"""Rejection sampling of points of K along the grid walk, continuing the chain (the
    paper's "standard rejection sampling" from the cube the walk gives).

    A trial is made at every kept state x of the chain (every ``thin``-th step after
    burn-in; ``first`` = ``(samples, indices, times, n_accept, n_prop)`` of the walk, with
    ``n_kept`` states per chain): z uniform in C(x), accepted iff z is in K and
    :math:`u < F(z)/(e^B F(x))`. A rejected trial is never retried in the same cube: the
    next trial is the chain's next kept state, and a chain with fewer than ``n_kept``
    accepted trials is extended by ``segment(k, m)`` (the same walk run further, from
    the grid indices ``k`` of the last trial states of the chains that need it, for ``m``
    more kept states, with generators drawn from ``gen``). B is the largest
    :math:`\tfrac\delta2\|\nabla\log F(x)\|_1` over every trial cube of the run: one
    constant for every trial of every chain; a trial decided before B grew is decided
    again against the final B (acceptance is monotone in B: a filter on the stored draws).

    Returns ``(samples, indices, times, n_accept, n_prop, trials, accepted, B)``: the
    first ``n_kept`` accepted points of each chain in time order, the trial cubes' grid
    indices and times, the walk's counts over the extended run, the trials made and
    accepted per chain and the envelope exponent.
    """
    s, idx, times, na, npr = first
    c, n_kept, n = s.shape
    na, npr = na.copy(), npr.copy()
    trials = np.zeros(c, np.int64)
    k_last, t_last = idx[:, -1].copy(), np.zeros(c)
    cand = []  # accepted so far: [chain, trial number, z, grid index, time, score] per segment
    B, rows = -np.inf, np.arange(c)
    while True:
        m = s.shape[1]
        z, score, b = _refine_trials(density, body, delta, s.reshape(-1, n), gen)
        B = max(B, float(b.max()))
        order = trials[rows][:, None] + np.arange(m)
        tt = None if times is None else times + t_last[rows][:, None]
        cand.append([np.repeat(rows, m), order.reshape(-1), z, idx.reshape(-1, n),
                     None if tt is None else tt.reshape(-1), score])
        cand = [[None if a is None else a[part[5] > B] for a in part] for part in cand]
        trials[rows] += m
        k_last[rows] = idx[:, -1]
        if tt is not None:
            t_last[rows] = tt[:, -1]
        got = np.bincount(np.concatenate([part[0] for part in cand]), minlength=c)
        missing = np.maximum(n_kept - got, 0)
        if not missing.any():
            break
        total, acc = int(trials.sum()), int(got.sum())
        if total >= _REFINE_MIN_TRIALS and acc < _REFINE_MIN_RATE * total:
            raise ValueError(f"grid_walk(refine=True): only {acc} of {total} rejection trials were accepted with "
                             f"delta={delta:.6g} (envelope exp({B:.4g})): the cubes are far too coarse for the "
                             "density; use a smaller delta")
        rows = np.flatnonzero(missing)
        need = 2 * int(trials[rows].max()) if acc == 0 else math.ceil(1.25 * missing.max() * total / acc) + 8
        m = max(1, min(need, _REFINE_CHUNK // (len(rows) * n)))
        s, idx, times, na_r, npr_r = segment(k_last[rows], m)
        na[rows] += na_r
        npr[rows] += npr_r
    ch, order, z, ki, tt = [None if cand[0][j] is None else np.concatenate([p[j] for p in cand]) for j in range(5)]
    first_n = np.lexsort((order, ch))
    rank = np.arange(len(ch)) - np.searchsorted(ch[first_n], ch[first_n])
    sel = first_n[rank < n_kept]
    out_t = None if tt is None else tt[sel].reshape(c, n_kept)
    return (z[sel].reshape(c, n_kept, n), ki[sel].reshape(c, n_kept, n), out_t, na, npr, trials,
            got, B)


def ball_walk(density, body, delta, x0=None, n_steps=1000, n_chains=1, thin=1, rng=None, *, burn_in=0,
              continuous_time=False, threads=None, engine="auto", adapt=False, target_acceptance=0.234,
              progress=None, rounding=False, equality=None):
    r"""The ball walk (end of Frieze and Kannan's paper, Steps 1', 2'): :math:`y = x + u` with :math:`u`
    uniform in the ball of radius ``delta``; reject :math:`y \notin K`; accept with
    probability :math:`\min(1, F(y)/F(x))`. Stationary law: F restricted to K.

    Parameters are as in :func:`grid_walk` (``delta`` is the ball radius, ``engine`` picks
    the C kernel or its NumPy twin); x0 must be
    in K. A :class:`LogDensity` runs in NumPy, one call per step over all chains. The
    same size check as :func:`grid_walk` runs first; a ``RuntimeWarning`` says when
    delta exceeds the body's diameter (checked when the bounding box needs no linear
    programme) or when no proposal was accepted; a :class:`LogDensity` is tested for
    log-concavity at set-up as in :func:`grid_walk` (:class:`convq.NotLogConcaveWarning`).
    ``rounding`` and ``equality`` are as in :func:`grid_walk` (``delta`` is then the
    radius in the rounded coordinates z).

    ``adapt=True`` tunes the radius during burn-in (``burn_in`` > 0 steps, cut into at
    most 100 rounds): dual averaging of :math:`\log\delta` on the acceptance rate of
    each round, all chains pooled, towards ``target_acceptance`` (Hoffman and Gelman,
    "The No-U-Turn Sampler", JMLR 2014, section 3.2.1, after Nesterov's primal-dual
    averaging), starting from ``delta``. The kept steps then run the ball walk with the
    averaged radius, fixed, so the kept chain is a valid (reversible) Markov chain with
    the target law; ``Chain.delta`` is that radius, ``Chain.delta_trace`` the radii
    of the rounds. The default target 0.234 is the optimal acceptance rate of random-walk
    Metropolis in high dimension (Roberts, Gelman and Gilks, "Weak convergence and optimal
    scaling of random walk Metropolis algorithms", Ann. Appl. Probab. 1997).

    Returns
    -------
    Chain

    Examples
    --------
    >>> import numpy as np
    >>> from convq.sampling import Box, Gaussian, ball_walk
    >>> ch = ball_walk(Gaussian(np.zeros(5)), Box(-2 * np.ones(5), 2 * np.ones(5)), 0.1, n_steps=2000,
    ...                burn_in=2000, adapt=True, rng=0)
    >>> bool(abs(ch.acceptance_rate - 0.234) < 0.05)
    True
    """
    if _affine.wanted(rounding, equality):
        return _affine.affine_walk(ball_walk, density, body, rounding, equality, x0, dict(
            delta=delta, n_steps=n_steps, n_chains=n_chains, thin=thin, rng=rng, burn_in=burn_in,
            continuous_time=continuous_time, threads=threads, engine=engine, adapt=adapt,
            target_acceptance=target_acceptance, progress=progress))
    n = _check_pair(density, body)
    engine = resolve_engine(engine, not isinstance(density, LogDensity), _NO_C)
    delta = check_positive(delta, "delta")
    n_steps, n_chains, thin, burn_in, continuous_time, nthreads, gen, x0 = _continuous_setup(
        "ball_walk", body, x0, n_steps, n_chains, thin, burn_in, continuous_time, threads, rng)
    adapt = _check_flag(adapt, "adapt")
    target_acceptance = check_open_unit(target_acceptance, "target_acceptance")
    if adapt and (burn_in == 0 or continuous_time):
        raise ValueError("ball_walk: adapt=True tunes delta during burn-in and needs burn_in > 0 and "
                         f"continuous_time=False, got burn_in={burn_in}, continuous_time={continuous_time}")
    warned = False
    if not adapt and (len(body._b) == 0 or body._bbox is not None):  # the bounding box is free (no LPs)
        diam = body.diameter()
        if delta > diam:
            warned = True
            warnings.warn(f"ball_walk: delta={delta:.6g} exceeds the body's diameter (at most {diam:.4g}): almost "
                          "every proposal leaves K and is rejected; use a smaller delta", RuntimeWarning, stacklevel=2)
    # log F at the states a run starts from (a LogDensity: known at x0, recomputed later)
    lf = [_start_values("ball_walk", density, body, x0)] if isinstance(density, LogDensity) else None

    def run(delta, x, steps, thin, burn):
        if lf is not None:
            return _slow.ball_walk_callable(density, body, delta, x, steps, thin, burn, continuous_time, gen,
                                            lf.pop() if lf else None)
        walk = WalkSpec(method=WALK_BALL, delta=delta, continuous_time=int(bool(continuous_time)), n_steps=steps,
                        thin=thin, burn_in=burn)
        s, _, times, na, npr = _run(engine, density, body, walk, x, np.zeros((n_chains, n), np.int64),
                                    spawn(gen, n_chains), nthreads, progress, "ball_walk")
        return s, times, na, npr

    start, trace = x0, None
    if adapt:
        def chunk(d, x, steps):
            s, _, na, npr = run(d, x, steps, steps, 0)
            return np.ascontiguousarray(s[:, -1]), int(np.sum(na)), int(np.sum(npr))
        delta, x0, burn_in_left, trace = _adapt.adapt_delta(chunk, delta, target_acceptance, burn_in, x0)
        s, times, na, npr = run(delta, x0, n_steps, thin, burn_in_left)
    else:
        s, times, na, npr = run(delta, x0, n_steps, thin, burn_in)
    rates = na / np.maximum(npr, 1)
    chain = Chain("ball", s, rates, na, npr, times=times, delta=delta, n_steps=n_steps, thin=thin, burn_in=burn_in,
                  start=start)
    if adapt:
        chain.delta_trace = np.array(trace)
    if not warned:
        _warn_if_nothing_accepted("ball_walk", chain, delta)
    return chain


def hit_and_run(density, body, x0=None, n_steps=1000, n_chains=1, thin=1, rng=None, *, direction="random",
                burn_in=0, threads=None, engine="auto", progress=None, rounding=False, equality=None):
    r"""Hit-and-run: Metropolised for the built-in densities, with an exact slice move
    along the chord for a :class:`LogDensity`.

    Pick a direction :math:`d` (``"random"``: uniform on the sphere; ``"coordinate"``:
    a uniform axis). Built-in densities: draw :math:`y` uniformly on the chord
    :math:`K \cap \{x + td\}` (a symmetric proposal) and accept with
    :math:`\min(1, F(y)/F(x))`; for :class:`Uniform` every proposal is accepted:
    classical hit-and-run (Smith 1984). ``engine`` picks the C kernel or its NumPy twin
    (the same chains), as in :func:`grid_walk`. A :class:`LogDensity` runs in NumPy
    (all chains together): the move along the chord is a slice-sampling update of the
    law :math:`\propto F(x + td)` on the chord, with the whole chord as the initial
    interval and shrinkage (Neal, "Slice sampling", Annals of Statistics 2003,
    section 4), so every step moves, F needs no bound and the chain is reversible with
    stationary law :math:`\propto F` on K; ``Chain.n_evals`` counts the density
    evaluations per chain. Its log-concavity is tested at set-up as in :func:`grid_walk`
    (:class:`convq.NotLogConcaveWarning`). ``rounding`` and ``equality`` are as in
    :func:`grid_walk`; on a skinny body, ``rounding=True`` with ``direction="coordinate"``
    mixes in far fewer steps (coordinate moves in the rounded coordinates are O(m) each on
    a polytope).

    Examples
    --------
    >>> import numpy as np
    >>> from convq.sampling import Box, LogDensity, hit_and_run
    >>> f = LogDensity(lambda x: -0.5 * np.sum(x * x, axis=1))
    >>> ch = hit_and_run(f, Box(-np.ones(2), np.ones(2)), n_steps=200, rng=0)
    >>> ch.samples.shape
    (1, 200, 2)

    Returns
    -------
    Chain
    """
    if _affine.wanted(rounding, equality):
        return _affine.affine_walk(hit_and_run, density, body, rounding, equality, x0, dict(
            n_steps=n_steps, n_chains=n_chains, thin=thin, rng=rng, direction=direction, burn_in=burn_in,
            threads=threads, engine=engine, progress=progress))
    n = _check_pair(density, body)
    engine = resolve_engine(engine, not isinstance(density, LogDensity), _NO_C)
    if not isinstance(direction, str):
        raise TypeError(f"direction must be 'random' or 'coordinate', got {type(direction).__name__}")
    if direction not in ("random", "coordinate"):
        raise ValueError(f"direction must be 'random' or 'coordinate', got {direction!r}")
    n_steps, n_chains, thin, burn_in = _common(n_steps, n_chains, thin, burn_in)
    _check_walk_memory("hit_and_run", n_chains, n_steps, thin, n)
    nthreads = check_threads(threads)
    gen = as_generator(rng)
    x0 = _start_points(x0, body, n_chains)
    if isinstance(density, LogDensity):
        lf0 = _start_values("hit_and_run", density, body, x0)
        s, na, npr, evals = _slice.hit_and_run_callable(density, body, x0, n_steps, thin, burn_in,
                                                        direction == "coordinate", gen, lf0)
        chain = Chain(f"hit_and_run:{direction}:slice", s, na / npr, na, npr, n_steps=n_steps, thin=thin,
                      burn_in=burn_in)
        chain.n_evals = evals
        return chain
    method = WALK_HAR_DIR if direction == "random" else WALK_HAR_COORD
    walk = WalkSpec(method=method, n_steps=n_steps, thin=thin, burn_in=burn_in)
    s, _, _, na, npr = _run(engine, density, body, walk, x0, np.zeros((n_chains, n), np.int64),
                            spawn(gen, n_chains), nthreads, progress, "hit_and_run")
    return Chain(f"hit_and_run:{direction}", s, na / np.maximum(npr, 1), na, npr, n_steps=n_steps, thin=thin,
                 burn_in=burn_in)


def billiard_walk(body, x0=None, n_steps=1000, n_chains=1, thin=1, rng=None, *, tau=None, burn_in=0,
                  continuous_time=False, threads=None, engine="auto", progress=None, rounding=False, equality=None):
    r"""The billiard walk for the uniform law on K (B. T. Polyak and E. N. Gryazina,
    "Billiard walk - a new sampling algorithm for control and optimization", 2014,
    section 3).

    From :math:`x`, draw a length :math:`L \sim \mathrm{Exp}` with mean ``tau`` and a
    uniform direction :math:`d`; follow the ray, reflecting specularly off the boundary
    (:math:`d \leftarrow d - 2(d^\top\nu)\nu`, :math:`\nu` the unit normal of the face
    hit), until the length L is used; the end point is the next state. A trajectory with
    more than 100 n reflections is discarded (the chain stays put; it counts as a
    rejected proposal). The kernel is symmetric, so the uniform law on K is stationary.
    Each segment costs O(mn) on a polytope (A d after each reflection).

    Parameters
    ----------
    body : Box, Ball, Polytope or intersect(...)
    x0, n_steps, n_chains, thin, rng, burn_in, continuous_time, threads, engine :
        as in :func:`ball_walk` (``engine="python"`` runs the NumPy twin, the same chains).
    tau : float > 0, optional
        Mean trajectory length; default the diameter bound of :meth:`~_Body.diameter`
        (of the rounded body with ``rounding``), the paper's advice.
    rounding, equality :
        as in :func:`grid_walk`.

    Returns
    -------
    Chain

    Example
    -------
    >>> from convq.sampling import Polytope, billiard_walk
    >>> tri = Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [0.0, 0.0, 1.0])
    >>> ch = billiard_walk(tri, n_steps=1000, rng=0)
    >>> ch.samples.shape
    (1, 1000, 2)
    """
    if _affine.wanted(rounding, equality):
        return _affine.affine_walk(lambda _d, b, **kw: billiard_walk(b, **kw), Uniform(), body, rounding, equality,
                                   x0, dict(n_steps=n_steps, n_chains=n_chains, thin=thin, rng=rng, tau=tau,
                                            burn_in=burn_in, continuous_time=continuous_time, threads=threads,
                                            engine=engine, progress=progress))
    density = Uniform()
    n = _check_pair(density, body)
    engine = resolve_engine(engine, True)
    tau = body.diameter() if tau is None else check_positive(tau, "tau")
    n_steps, n_chains, thin, burn_in, continuous_time, nthreads, gen, x0 = _continuous_setup(
        "billiard_walk", body, x0, n_steps, n_chains, thin, burn_in, continuous_time, threads, rng)
    walk = WalkSpec(method=WALK_BILLIARD, delta=tau, continuous_time=int(bool(continuous_time)), n_steps=n_steps,
                    thin=thin, burn_in=burn_in)
    s, _, times, na, npr = _run(engine, density, body, walk, x0, np.zeros((n_chains, n), np.int64),
                                spawn(gen, n_chains), nthreads, progress, "billiard_walk")
    return Chain("billiard", s, na / np.maximum(npr, 1), na, npr, times=times, delta=tau, n_steps=n_steps,
                 thin=thin, burn_in=burn_in, start=x0)
