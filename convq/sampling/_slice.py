r"""Hit-and-run for a Python log-density (:class:`~convq.sampling.LogDensity`): the move
along the chord is a slice-sampling update of the one-dimensional conditional law.

R. M. Neal, "Slice sampling" (Annals of Statistics 31(3), 2003), section 4: to update
:math:`t` under the density :math:`g(t) = F(x + t d)` on the chord
:math:`\{t : x + t d \in K\} = [t_-, t_+]`, draw the level
:math:`\log y = \log g(0) - E`, :math:`E \sim \mathrm{Exp}(1)`, take the whole chord as
the initial interval (it contains 0 and does not depend on where x lies on the line,
so no stepping out is needed: section 4's condition, that the interval would be found
as well from any other point of the slice in it, holds trivially), then draw :math:`t`
uniformly in the interval and shrink it towards 0 at every rejected point (section 4's
shrinkage procedure) until :math:`\log g(t) > \log y`. The update leaves the law
:math:`\propto g` on the chord invariant and is reversible, so composing it with a random
direction (or a random axis) gives a reversible kernel with stationary law
:math:`\propto F` on K, as hit-and-run (R. L. Smith, "Efficient Monte Carlo procedures
for generating points uniformly distributed over bounded regions", 1984). For a
log-concave F the slice is an interval and the expected number of shrinkage steps grows
like the logarithm of (chord length / slice width).
"""
from __future__ import annotations

import numpy as np

# After this many shrinkage steps the interval has collapsed to the float resolution of
# t = 0 (each step at least halves it in expectation); the chain then stays put.
_MAX_SHRINK = 200


def _chords(body, x, d):
    """The chord of K through each row of ``x`` along the unit rows of ``d``: arrays
    ``(t_lo, t_hi)`` with :math:`x + t d \\in K` exactly for t in [t_lo, t_hi]
    (clipped to contain 0, the current point, against rounding)."""
    k = len(x)
    lo, hi = np.full(k, -np.inf), np.full(k, np.inf)

    def cut(num, den):
        """t * den <= num for each row and column."""
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / den
        hi[:] = np.minimum(hi, np.min(np.where(den > 0, t, np.inf), axis=1))
        lo[:] = np.maximum(lo, np.max(np.where(den < 0, t, -np.inf), axis=1))

    if body._lo is not None:
        cut(body._hi - x, d)
        cut(x - body._lo, -d)
    for c, r in zip(body._centers, body._radii):
        v = x - c
        p = np.einsum("ij,ij->i", d, v)
        root = np.sqrt(np.maximum(p * p - (np.einsum("ij,ij->i", v, v) - r * r), 0.0))
        lo[:] = np.maximum(lo, -p - root)
        hi[:] = np.minimum(hi, -p + root)
    if len(body._b):
        cut((body._b - x @ body._A.T), d @ body._A.T)
    return np.minimum(lo, 0.0), np.maximum(hi, 0.0)


def hit_and_run_callable(density, body, x0, n_steps, thin, burn_in, coordinate, gen, lf0):
    """Hit-and-run with a slice-sampling move along the chord, all chains together (one
    call of the density per shrinkage round over the chains still shrinking).
    Returns ``(samples, n_accept, n_prop, n_evals)``."""
    c, n = x0.shape
    x = x0.copy()
    lf = np.array(lf0, dtype=float)
    if not np.all(np.isfinite(lf)):
        raise ValueError("hit_and_run: the log-density is -inf at a start point")
    samples = np.empty((c, n_steps // thin, n))
    na = np.zeros(c, np.int64)
    evals = np.zeros(c, np.int64)
    kept = 0
    rows = np.arange(c)
    for step in range(burn_in + n_steps):
        if coordinate:
            d = np.zeros((c, n))
            d[rows, gen.integers(0, n, c)] = 1.0
        else:
            d = gen.standard_normal((c, n))
            d /= np.linalg.norm(d, axis=1, keepdims=True)
        t_lo, t_hi = _chords(body, x, d)
        level = lf - gen.standard_exponential(c)
        t = np.zeros(c)
        lt = lf.copy()
        todo = rows
        for _ in range(_MAX_SHRINK):
            if todo.size == 0:
                break
            tt = t_lo[todo] + gen.random(todo.size) * (t_hi[todo] - t_lo[todo])
            y = x[todo] + tt[:, None] * d[todo]
            inside = body._contains(y)     # the chord ends may round just outside K
            ly = np.full(todo.size, -np.inf)
            if inside.any():
                ly[inside] = density.logpdf(y[inside])
            evals[todo[inside]] += 1
            ok = ly > level[todo]
            t[todo[ok]], lt[todo[ok]] = tt[ok], ly[ok]
            neg = ~ok & (tt < 0)
            t_lo[todo[neg]] = tt[neg]
            t_hi[todo[~ok & ~neg]] = tt[~ok & ~neg]
            todo = todo[~ok]
        moved = t != 0
        x[moved] += t[moved, None] * d[moved]
        lf = np.where(moved, lt, lf)
        na += moved
        if step >= burn_in and (step - burn_in + 1) % thin == 0:
            samples[:, kept] = x
            kept += 1
    return samples, na, np.full(c, burn_in + n_steps, np.int64), evals
