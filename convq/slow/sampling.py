r"""Slow NumPy twins of the sampling kernels (``csrc/sampling/``: the walks of
``cq_smp_walks.c``, the move probabilities and log-density of ``cq_smp_exact.c``, the
body and density steps of ``cq_smp_body.h`` and ``cq_smp_density.h``), and the NumPy walks
for a Python log-density.

The twins take exactly what the binding functions of ``_core`` take — the named specs
:class:`convq._spec.BodySpec`, :class:`~convq._spec.DensitySpec` and
:class:`~convq._spec.WalkSpec` built by ``_Body._c_body``, ``_Density._c_dens`` and the
walks, read by field name (a plain tuple is refused), with the kinds and methods read from
the constants ``_core`` exports — and return what they return:

- :func:`smp_run` is ``_core._smp_run``: the grid walk, the ball walk and hit-and-run,
  one chain after the other, each with its own generator, making the same draws in the
  same order as the kernel and evaluating :math:`\log F` and the body tests with the
  same incremental updates in the same floating-point order. The chains are therefore
  bit-identical to the kernel's (the engine behind ``engine="python"``).
- :func:`smp_grid_moves` is ``_core._smp_grid_moves`` (the grid walk's move
  probabilities, :func:`convq.sampling.transition_matrix`).
- :func:`smp_logf` is ``_core._smp_logf`` (the kernel's full :math:`\log F`).

The walks follow A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from
log-concave distributions", section 1 (the grid walk: from the centre :math:`x` propose
:math:`y = x \pm \delta e_j`, move with probability :math:`\min(1, F(y)/F(x))`) and the
ball walk at the end of the paper; hit-and-run after R. L. Smith, "Efficient Monte Carlo
procedures for generating points uniformly distributed over bounded regions" (1984).

:func:`grid_walk_callable`, :func:`ball_walk_callable` and :func:`grid_moves_callable`
are not twins: they are the only implementation for a
:class:`~convq.sampling.LogDensity`, vectorised over the chains (one call of the
callable per step on the batch of proposals, one generator for all chains).

Random draws, as the kernel makes them from a numpy ``bitgen_t`` (``core/cq_rng.h``):
``next_uint64`` is ``bit_generator.random_raw()``, ``next_double`` is
``Generator.random()``, the ziggurat normals and exponentials are
``Generator.standard_normal()`` and ``standard_exponential()``, and Lemire's bounded
integer on ``next_uint32`` is ``Generator.integers(0, n)``.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import _core

__all__ = ["smp_run", "smp_grid_moves", "smp_logf", "grid_walk_callable", "ball_walk_callable",
           "grid_moves_callable"]

_DENS_KINDS = {v for k, v in vars(_core).items() if k.startswith("SMP_DENS_")}
_WALK_METHODS = {v for k, v in vars(_core).items() if k.startswith("SMP_WALK_")}
_RESYNC = _core.SMP_RESYNC          # the caches are recomputed every _RESYNC proposals
_TWO_M31 = 1.0 / 2147483648.0        # 2^-31


# ---- the specs: the binding's checks, then plain Python lists --------------------------------

_SSIZE_MAX = 2**63 - 1


def _spec(o, arg, spec):
    """Refuse anything but a named spec (a tuple subclass with ``_fields``), as the binding does."""
    if type(o) is tuple or not isinstance(o, tuple) or not hasattr(o, "_fields"):
        raise TypeError(f"{arg}: expected a convq._spec.{spec}, got {type(o).__name__}")
    return o


def _field(o, spec, name):
    try:
        return getattr(o, name)
    except AttributeError:
        raise TypeError(f"{spec}: expected a convq._spec.{spec} with a field '{name}', "
                        f"got {type(o).__name__}") from None


def _field_int(o, spec, name):
    v = _field(o, spec, name)
    try:
        i = operator.index(v)
    except TypeError:
        raise TypeError(f"{spec}.{name}: expected an integer, got {type(v).__name__}") from None
    if not -2**63 <= i < 2**63:
        raise ValueError(f"{spec}.{name}: {i} is out of range")
    return i


def _field_float(o, spec, name):
    v = _field(o, spec, name)
    if isinstance(v, (str, bytes, bytearray)):
        raise TypeError(f"{spec}.{name}: expected a real number, got {type(v).__name__}")
    try:
        return float(v)
    except TypeError:
        raise TypeError(f"{spec}.{name}: expected a real number, got {type(v).__name__}") from None


def _opt(a, name, nd):
    if a is None:
        return None
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be a float64 array, got {type(a).__name__}")
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a float64 array, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim != nd:
        raise ValueError(f"{name} must have {nd} dimension(s), got {arr.ndim}")
    return arr


class _Dens:
    """A `DensitySpec` read by field name: (kind, n, mean, prec, prec_diag, c, power, X, XT, y)."""

    def __init__(self, t):
        S = "DensitySpec"
        _spec(t, "dens", S)
        kind, n, c, power = (_field_int(t, S, "kind"), _field_int(t, S, "n"), _field_float(t, S, "c"),
                             _field_int(t, S, "power"))
        if (n < 1 or n > _SSIZE_MAX or kind not in _DENS_KINDS
                or (kind == _core.SMP_DENS_EXPNORM and power not in (1, 2))):
            raise ValueError(f"bad DensitySpec: kind {kind} (expected 0..{len(_DENS_KINDS) - 1}), n {n} "
                             f"(expected >= 1), power {power} (EXPNORM: 1 or 2)")
        mean, prec, pd = (_opt(_field(t, S, "mean"), "mean", 1), _opt(_field(t, S, "prec"), "prec", 2),
                          _opt(_field(t, S, "prec_diag"), "prec_diag", 1))
        X, XT, y = (_opt(_field(t, S, "X"), "X", 2), _opt(_field(t, S, "XT"), "XT", 2),
                    _opt(_field(t, S, "y"), "y", 1))
        if ((mean is not None and mean.shape[0] != n) or (prec is not None and prec.shape != (n, n))
                or (pd is not None and pd.shape[0] != n) or (prec is not None and pd is None)):
            raise ValueError("DensitySpec: mean/precision shapes do not match the dimension")
        self.kind, self.n, self.c, self.power = kind, n, c, power
        self.N = 0
        if kind == _core.SMP_DENS_LOGISTIC:
            if (X is None or XT is None or y is None or X.shape[1] != n or XT.shape[0] != n
                    or XT.shape[1] != X.shape[0] or y.shape[0] != X.shape[0]):
                raise ValueError("DensitySpec: logistic data shapes do not match")
            self.N = X.shape[0]
        self.uniform = kind == _core.SMP_DENS_UNIFORM
        self.expnorm = kind == _core.SMP_DENS_EXPNORM
        self.logistic = kind == _core.SMP_DENS_LOGISTIC
        self.quad = kind in (_core.SMP_DENS_GAUSS, _core.SMP_DENS_LOGISTIC) and pd is not None
        self.mean = None if mean is None else mean.tolist()
        self.prec = None if prec is None else prec.tolist()          # rows (== columns: symmetric)
        self.pd = None if pd is None else pd.tolist()
        if self.logistic:
            self.Xr, self.XTr, self.y = X.tolist(), XT.tolist(), y.tolist()

    # The C code evaluates every expression below in this order; so must the twin.
    def full(self, x):
        """log F(x) and the caches (g, r2, z), as dens_full."""
        n = self.n
        lf = 0.0
        g = r2 = z = None
        if self.quad:
            g = [0.0] * n
            q = 0.0
            for i in range(n):
                mi = self.mean[i] if self.mean is not None else 0.0
                if self.prec is not None:
                    row = self.prec[i]
                    gi = 0.0
                    for l in range(n):
                        gi += row[l] * (x[l] - (self.mean[l] if self.mean is not None else 0.0))
                else:
                    gi = self.pd[i] * (x[i] - mi)
                g[i] = gi
                q += (x[i] - mi) * gi
            lf -= 0.5 * q
        if self.expnorm:
            r2 = 0.0
            for i in range(n):
                r2 += x[i] * x[i]
            lf -= self.c * (math.sqrt(r2) if self.power == 1 else r2)
        elif self.logistic:
            z = [0.0] * self.N
            ll = 0.0
            for r in range(self.N):
                row = self.Xr[r]
                zr = 0.0
                for l in range(n):
                    zr += row[l] * x[l]
                z[r] = zr
                ll += self.y[r] * zr - _softplus(zr)
            lf += ll
        return lf, [g, r2, z]

    def axis_delta(self, st, x, j, h):
        """log F(x + h e_j) - log F(x) from the caches, as dens_axis_delta."""
        if self.uniform:
            return 0.0
        g, r2, z = st
        dl = 0.0
        if self.quad:
            dl -= h * g[j] + 0.5 * h * h * self.pd[j]
        if self.expnorm:
            if self.power == 2:
                dl -= self.c * (2.0 * h * x[j] + h * h)
            else:
                r2n = r2 + 2.0 * h * x[j] + h * h
                if r2n < 0:
                    r2n = 0.0
                dl -= self.c * (math.sqrt(r2n) - math.sqrt(r2))
        elif self.logistic:
            col, y = self.XTr[j], self.y
            ll = 0.0
            for r in range(self.N):
                dz = h * col[r]
                ll += y[r] * dz - _softplus(z[r] + dz) + _softplus(z[r])
            dl += ll
        return dl

    def axis_commit(self, st, x, j, h):
        """Update the caches for x_j += h (before x_j changes), as dens_axis_commit."""
        g, r2, z = st
        if self.quad:
            if self.prec is not None:
                col = self.prec[j]
                for i in range(self.n):
                    g[i] += h * col[i]
            else:
                g[j] += h * self.pd[j]
        if self.expnorm:
            r2n = r2 + 2.0 * h * x[j] + h * h
            st[1] = 0.0 if r2n < 0 else r2n
        elif self.logistic:
            col = self.XTr[j]
            for r in range(self.N):
                z[r] += h * col[r]


def _softplus(z):
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


class _Body:
    """A `BodySpec` read by field name: (lo, hi, centers, radii, A, AT, b, exact_cube)."""

    def __init__(self, t, n):
        S = "BodySpec"
        _spec(t, "body", S)
        lo, hi = _opt(_field(t, S, "lo"), "lo", 1), _opt(_field(t, S, "hi"), "hi", 1)
        if (lo is None) != (hi is None) or (lo is not None and (lo.shape[0] != n or hi.shape[0] != n)):
            raise ValueError("BodySpec box bounds: expected lo and hi, two arrays of the dimension, or both None")
        cen, rad = _opt(_field(t, S, "centers"), "centers", 2), _opt(_field(t, S, "radii"), "radii", 1)
        if (cen is None) != (rad is None):
            raise ValueError("BodySpec balls: expected centers (nb, n) and radii (nb,), or both None")
        cen = np.zeros((0, n)) if cen is None else cen
        rad = np.zeros(0) if rad is None else rad
        if (cen.shape[0] > 0 and cen.shape[1] != n) or rad.shape[0] != cen.shape[0]:
            raise ValueError("BodySpec balls: expected centers (nb, n) and radii (nb,), or both None")
        A, AT, b = (_opt(_field(t, S, "A"), "A", 2), _opt(_field(t, S, "AT"), "AT", 2),
                    _opt(_field(t, S, "b"), "b", 1))
        if (A is None) != (AT is None) or (A is None) != (b is None):
            raise ValueError("BodySpec polytope: expected A (m, n), AT (n, m), b (m,), or all None")
        if A is None:
            A, AT, b = np.zeros((0, n)), np.zeros((n, 0)), np.zeros(0)
        if ((A.shape[0] > 0 and A.shape[1] != n) or AT.shape[1] != A.shape[0]
                or (A.shape[0] > 0 and AT.shape[0] != n) or b.shape[0] != A.shape[0]):
            raise ValueError("BodySpec polytope: expected A (m, n), AT (n, m), b (m,), or all None")
        exact = _field_int(t, S, "exact_cube")
        self.n = n
        self.lo = None if lo is None else lo.tolist()
        self.hi = None if hi is None else hi.tolist()
        self.centers, self.radii = cen.tolist(), rad.tolist()
        self.nb, self.m = len(self.radii), A.shape[0]
        self.A, self.AT, self.b = A.tolist(), (AT.tolist() if self.m else [[] for _ in range(n)]), b.tolist()
        self.exact = int(exact != 0)

    def ball_term(self, v, c, delta):
        if self.exact:
            a = abs(v - c) - 0.5 * delta
            return a * a if a > 0 else 0.0
        return (v - c) * (v - c)

    def init(self, x, delta):
        """The caches at x: per-ball sums bq and the slack s = b - A x (body_init)."""
        n = self.n
        bq = []
        for c in self.centers:
            acc = 0.0
            for i in range(n):
                acc += self.ball_term(x[i], c[i], delta)
            bq.append(acc)
        s = []
        for row, bk in zip(self.A, self.b):
            ax = 0.0
            for i in range(n):
                ax += row[i] * x[i]
            s.append(bk - ax)
        return bq, s

    def matvec(self, d):
        """A d, row by row in the kernel's order."""
        Ad = []
        for row in self.A:
            a = 0.0
            for i in range(self.n):
                a += row[i] * d[i]
            Ad.append(a)
        return Ad

    def move(self, x, h, Ad, s):
        """The caches after the move to x = x_old + h d, as body_move: the slack
        s_k - h (A d)_k (O(m)), the ball sums afresh."""
        bq = []
        for c in self.centers:
            acc = 0.0
            for i in range(self.n):
                acc += (x[i] - c[i]) * (x[i] - c[i])
            bq.append(acc)
        return bq, [s[k] - h * Ad[k] for k in range(self.m)]

    def grid_contains(self, x, delta):
        """(x in C, caches), as grid_contains."""
        bq, s = self.init(x, delta)
        h = 0.5 * delta
        if self.lo is not None:
            for i in range(self.n):
                if self.exact:
                    if not _box_cube_meets(x[i], h, self.lo[i], self.hi[i]):
                        return False, (bq, s)
                elif not (self.lo[i] <= x[i] <= self.hi[i]):
                    return False, (bq, s)
        for q in range(self.nb):
            r2 = self.radii[q] * self.radii[q]
            if (not bq[q] < r2) if self.exact else (not bq[q] <= r2):
                return False, (bq, s)
        for v in s:
            if not v >= 0:
                return False, (bq, s)
        return True, (bq, s)

    def axis_ok(self, bst, x, j, yj, h, delta):
        """Is x + h e_j in C (and its slack), as grid_axis_ok."""
        bq, s = bst
        if self.lo is not None:
            if self.exact:
                if not _box_cube_meets(yj, 0.5 * delta, self.lo[j], self.hi[j]):
                    return False, None
            elif not (yj >= self.lo[j] and yj <= self.hi[j]):
                return False, None
        for q in range(self.nb):
            cj = self.centers[q][j]
            v = bq[q] - self.ball_term(x[j], cj, delta) + self.ball_term(yj, cj, delta)
            r2 = self.radii[q] * self.radii[q]
            if (not v < r2) if self.exact else (not v <= r2):
                return False, None
        if self.m:
            col = self.AT[j]
            sy = [s[k] - h * col[k] for k in range(self.m)]
            return all(v >= 0 for v in sy), sy
        return True, None

    def contains(self, y):
        """Plain membership y in K (closed), as body_contains."""
        n = self.n
        if self.lo is not None:
            for i in range(n):
                if not (y[i] >= self.lo[i] and y[i] <= self.hi[i]):
                    return False
        for c, r in zip(self.centers, self.radii):
            acc = 0.0
            for i in range(n):
                acc += (y[i] - c[i]) * (y[i] - c[i])
            if not acc <= r * r:
                return False
        for row, bk in zip(self.A, self.b):
            ax = 0.0
            for i in range(n):
                ax += row[i] * y[i]
            if not ax <= bk:
                return False
        return True

    def chord(self, x, d, jcol, Ad, bq, s):
        """The chord {t : x + t d in K} = (tlo, thi); d = e_jcol when jcol >= 0."""
        n = self.n
        lo, hi = -math.inf, math.inf
        if self.lo is not None:
            rng = range(jcol, jcol + 1) if jcol >= 0 else range(n)
            for i in rng:
                di = 1.0 if jcol >= 0 else d[i]
                if di > 0:
                    a, c = (self.lo[i] - x[i]) / di, (self.hi[i] - x[i]) / di
                elif di < 0:
                    a, c = (self.hi[i] - x[i]) / di, (self.lo[i] - x[i]) / di
                else:
                    continue
                if a > lo:
                    lo = a
                if c < hi:
                    hi = c
        for q in range(self.nb):
            c = self.centers[q]
            if jcol >= 0:
                p = x[jcol] - c[jcol]
            else:
                p = 0.0
                for i in range(n):
                    p += (x[i] - c[i]) * d[i]
            disc = p * p - (bq[q] - self.radii[q] * self.radii[q])
            if disc < 0:
                disc = 0.0
            sq = math.sqrt(disc)
            if -p - sq > lo:
                lo = -p - sq
            if -p + sq < hi:
                hi = -p + sq
        for k in range(self.m):
            a = self.AT[jcol][k] if jcol >= 0 else Ad[k]
            sk = 0.0 if s[k] < 0 else s[k]
            if a > 0:
                if sk / a < hi:
                    hi = sk / a
            elif a < 0:
                if sk / a > lo:
                    lo = sk / a
        return lo, hi


def _box_cube_meets(v, h, lo, hi):
    eps = 1e-9 * h
    return (hi - (v - h)) > eps and ((v + h) - lo) > eps


# ---- draws -----------------------------------------------------------------------------------

def _accept(gen, dl):
    """cq_accept: true with probability min(1, e^dl), through the squeeze 1 + dl <= e^dl <= 1/(1 - dl)."""
    if dl >= 0:
        return True
    u = gen.random()
    if u < 1.0 + dl:
        return True
    if u * (1.0 - dl) >= 1.0:
        return False
    return u < math.exp(dl)


def _accept_bits(gen, dl, B):
    """accept_bits: the uniform (B + V) 2^-31 with its 31 leading bits B already drawn."""
    ulo, uhi = B * _TWO_M31, (B + 1) * _TWO_M31
    if uhi <= 1.0 + dl:
        return True
    if ulo * (1.0 - dl) >= 1.0:
        return False
    e = math.exp(dl)
    if uhi <= e:
        return True
    if ulo >= e:
        return False
    return (B + gen.random()) * _TWO_M31 < e


def _draw_move(bg, m, thresh):
    """draw_move: one 64-bit draw gives the lazy coin (bit 0), the leading bits of the
    Metropolis uniform (bits 1..31) and, by Lemire's method on the high 32 bits, r in [0, m)."""
    x = int(bg.random_raw())
    coin, ubits = x & 1, (x >> 1) & 0x7FFFFFFF
    prod = (x >> 32) * m
    while (prod & 0xFFFFFFFF) < thresh:
        prod = (int(bg.random_raw()) >> 32) * m
    return prod >> 32, coin, ubits


def _random_direction(gen, n):
    while True:
        d = [gen.standard_normal() for _ in range(n)]
        nrm = 0.0
        for v in d:
            nrm += v * v
        if nrm != 0.0:
            break
    nrm = 1.0 / math.sqrt(nrm)
    return [v * nrm for v in d]


# ---- the walks -------------------------------------------------------------------------------

def _grid_chain(B, D, w, k0, gen, out):
    method, delta, off, ct, lazy, n_steps, thin, burn = w
    n = B.n
    bg = gen.bit_generator
    k = list(k0)
    x = [off[i] + float(k[i]) * delta for i in range(n)]
    ok, bst = B.grid_contains(x, delta)
    if not ok:
        raise ValueError("chain: the start cube does not meet the body")
    lf, st = D.full(x)
    if not math.isfinite(lf):
        raise ValueError(f"chain: log-density at the start is {lf}")
    two_n = 2 * n
    thresh = (2 ** 32 - two_n) % two_n
    acc = prop = 0
    t = 0.0
    samples, indices, times = out
    kept, countdown, n_kept = 0, burn + thin, len(samples)
    for step in range(burn + n_steps):
        if (step & (_RESYNC - 1)) == _RESYNC - 1:
            _, bst = B.grid_contains(x, delta)
            lf, st = D.full(x)
            if not math.isfinite(lf):
                raise ValueError(f"chain: log-density became {lf}")
        if ct:
            t += gen.standard_exponential()
        r, coin, ubits = _draw_move(bg, two_n, thresh)
        if not (lazy and coin):
            j = r >> 1
            sgn = 1 if r & 1 else -1
            h = float(sgn) * delta
            yj = off[j] + float(k[j] + sgn) * delta
            prop += 1
            ok, sy = B.axis_ok(bst, x, j, yj, h, delta)
            if ok and _accept_bits(gen, D.axis_delta(st, x, j, h), ubits):
                bq = bst[0]
                for q in range(B.nb):
                    cj = B.centers[q][j]
                    bq[q] += B.ball_term(yj, cj, delta) - B.ball_term(x[j], cj, delta)
                if B.m:
                    bst = (bq, sy)
                D.axis_commit(st, x, j, h)
                x[j] = yj
                k[j] += sgn
                acc += 1
        countdown -= 1
        if countdown == 0:
            countdown = thin
            if kept < n_kept:
                samples[kept] = x
                if indices is not None:
                    indices[kept] = k
                if times is not None:
                    times[kept] = t
                kept += 1
    return acc, prop


def _continuous_chain(B, D, w, x0, gen, out):
    method, delta, _, ct, _, n_steps, thin, burn = w
    n = B.n
    x = list(x0)
    if not B.contains(x):
        raise ValueError("chain: the start point is not in the body")
    bq, s = B.init(x, 0.0)
    lf, st = D.full(x)
    if not math.isfinite(lf):
        raise ValueError(f"chain: log-density at the start is {lf}")
    acc = prop = 0
    t = 0.0
    inv_n = 1.0 / float(n)
    samples, _, times = out
    kept, n_kept = 0, len(samples)
    for step in range(burn + n_steps):
        if (step & (_RESYNC - 1)) == _RESYNC - 1:
            bq, s = B.init(x, 0.0)
            lf, st = D.full(x)
            if not math.isfinite(lf):
                raise ValueError(f"chain: log-density became {lf}")
        if ct:
            t += gen.standard_exponential()
        prop += 1
        if method == _core.SMP_WALK_HAR_COORD:
            j = int(gen.integers(0, n))
            tlo, thi = B.chord(x, None, j, None, bq, s)
            if thi > tlo and math.isfinite(tlo) and math.isfinite(thi):
                h = tlo + (thi - tlo) * gen.random()
                if _accept(gen, D.axis_delta(st, x, j, h)):
                    for q in range(B.nb):
                        cj = B.centers[q][j]
                        bq[q] += (x[j] + h - cj) * (x[j] + h - cj) - (x[j] - cj) * (x[j] - cj)
                    if B.m:
                        col = B.AT[j]
                        for kk in range(B.m):
                            s[kk] -= h * col[kk]
                    D.axis_commit(st, x, j, h)
                    x[j] += h
                    acc += 1
        else:
            d = _random_direction(gen, n)
            if method == _core.SMP_WALK_BALL:
                rad = delta * math.pow(1.0 - gen.random(), inv_n)
                y = [x[i] + rad * d[i] for i in range(n)]
                ok = B.contains(y)
            else:
                Ad = B.matvec(d)
                tlo, thi = B.chord(x, d, -1, Ad, bq, s)
                ok = thi > tlo and math.isfinite(tlo) and math.isfinite(thi)
                if ok:
                    h = tlo + (thi - tlo) * gen.random()
                    y = [x[i] + h * d[i] for i in range(n)]
            if ok:
                ly, _ = D.full(y)
                if _accept(gen, ly - lf):
                    x, lf = y, ly
                    if method == _core.SMP_WALK_HAR_DIR:
                        bq, s = B.move(x, h, Ad, s)
                    else:
                        bq, s = B.init(x, 0.0)
                    acc += 1
        if step >= burn and (step - burn + 1) % thin == 0 and kept < n_kept:
            kept = _keep(samples, times, kept, x, t)
    return acc, prop


def _keep(samples, times, kept, x, t):
    """Record the kept state x (and its time t); the next free slot."""
    samples[kept] = x
    if times is not None:
        times[kept] = t
    return kept + 1


def _first_hit(B, x, d, Ad, s):
    """first_hit of cq_smp_billiard.c: (t*, kind, idx) of the first boundary hit along x + t d."""
    n = B.n
    best, kind, idx = math.inf, -1, 0
    if B.lo is not None:
        for i in range(n):
            if d[i] > 0:
                t = (B.hi[i] - x[i]) / d[i]
            elif d[i] < 0:
                t = (B.lo[i] - x[i]) / d[i]
            else:
                continue
            if t < 0:
                t = 0.0
            if t < best:
                best, kind, idx = t, 0, i
    for q in range(B.nb):
        c = B.centers[q]
        p = qq = 0.0
        for i in range(n):
            p += (x[i] - c[i]) * d[i]
            qq += (x[i] - c[i]) * (x[i] - c[i])
        disc = p * p - (qq - B.radii[q] * B.radii[q])
        if disc < 0:
            disc = 0.0
        t = -p + math.sqrt(disc)
        if t < 0:
            t = 0.0
        if t < best:
            best, kind, idx = t, 1, q
    for k in range(B.m):
        if Ad[k] > 0:
            sk = 0.0 if s[k] < 0 else s[k]
            t = sk / Ad[k]
            if t < best:
                best, kind, idx = t, 2, k
    return best, kind, idx


def _reflect(B, x, kind, idx, d):
    """reflect of cq_smp_billiard.c: d <- d - 2 (d'nu) nu at the face (kind, idx)."""
    if kind == 0:
        d[idx] = -d[idx]
        return
    a = B.centers[idx] if kind == 1 else B.A[idx]
    v = [x[i] - a[i] for i in range(B.n)] if kind == 1 else a
    dot = nn = 0.0
    for i in range(B.n):
        dot += v[i] * d[i]
        nn += v[i] * v[i]
    if not nn > 0:
        return
    f = 2.0 * dot / nn
    for i in range(B.n):
        d[i] -= f * v[i]


def _billiard_chain(B, w, x0, gen, out):
    """cq_smp_billiard: the billiard walk (Polyak and Gryazina 2014) for the uniform law."""
    _, tau, _, ct, _, n_steps, thin, burn = w
    n, m = B.n, B.m
    x = list(x0)
    if not B.contains(x):
        raise ValueError("chain: the start point is not in the body")
    _, s = B.init(x, 0.0)
    max_refl = 100 * n
    acc = prop = 0
    t = 0.0
    samples, _, times = out
    kept, n_kept = 0, len(samples)
    for step in range(burn + n_steps):
        if (step & (_RESYNC - 1)) == _RESYNC - 1:
            _, s = B.init(x, 0.0)
        if ct:
            t += gen.standard_exponential()
        prop += 1
        L = -tau * math.log(1.0 - gen.random())
        d = _random_direction(gen, n)
        y = list(x)
        s0 = list(s)
        done = False
        for _ in range(max_refl + 1):
            Ad = B.matvec(d)
            th, kind, idx = _first_hit(B, y, d, Ad, s)
            tt = L if L < th else th
            for i in range(n):
                y[i] += tt * d[i]
            for k in range(m):
                s[k] -= tt * Ad[k]
            if L <= th:
                done = True
                break
            L -= th
            if kind == 0:
                y[idx] = B.hi[idx] if d[idx] > 0 else B.lo[idx]
            elif kind == 2:
                s[idx] = 0.0
            _reflect(B, y, kind, idx, d)
        if done and B.contains(y):
            x = y
            acc += 1
        else:
            s = s0
        if step >= burn and (step - burn + 1) % thin == 0 and kept < n_kept:
            kept = _keep(samples, times, kept, x, t)
    return acc, prop


def smp_run(body, dens, walk, x0, k0, generators, threads=None):
    """Twin of ``_core._smp_run(body, dens, walk, x0, k0, generators, threads)``: run one
    chain per generator, return ``(samples, indices|None, times|None, n_accept, n_prop)``.
    ``threads`` is accepted and ignored (the kernel's results do not depend on it)."""
    D = _Dens(dens)
    n = D.n
    B = _Body(body, n)
    S = "WalkSpec"
    _spec(walk, "walk", S)
    method, delta, ct, lazy = (_field_int(walk, S, "method"), _field_float(walk, S, "delta"),
                               _field_int(walk, S, "continuous_time"), _field_int(walk, S, "lazy"))
    ns, thin, burn = _field_int(walk, S, "n_steps"), _field_int(walk, S, "thin"), _field_int(walk, S, "burn_in")
    if (ns < 0 or ns > _SSIZE_MAX or thin < 1 or thin > _SSIZE_MAX or burn < 0 or burn > _SSIZE_MAX
            or method not in _WALK_METHODS):
        raise ValueError(f"bad WalkSpec: method {method} (expected 0..{len(_WALK_METHODS) - 1}), n_steps {ns} "
                         f"(expected >= 0), thin {thin} (expected >= 1), burn_in {burn} (expected >= 0)")
    ct, lazy = int(ct != 0), int(lazy != 0)
    grid = method == _core.SMP_WALK_GRID
    off = _opt(_field(walk, S, "offset"), "offset", 1)
    if grid and (off is None or off.shape[0] != n):
        raise ValueError("WalkSpec: the grid walk needs an offset of the dimension")
    x0 = _opt(x0, "x0", 2)
    k0 = np.asarray(k0)
    if k0.dtype.kind not in "iu" or k0.ndim != 2:
        raise TypeError("k0 must be a 2-d int64 array")
    if x0 is None or x0.shape[1] != n or k0.shape != x0.shape:
        raise ValueError("x0 and k0 must have shape (n_chains, n)")
    gens = list(generators)
    if len(gens) != x0.shape[0]:
        raise ValueError(f"need one generator per chain: {x0.shape[0]} chains, {len(gens)} generators")
    if not (delta > 0) and method not in (_core.SMP_WALK_HAR_COORD, _core.SMP_WALK_HAR_DIR):
        raise ValueError(f"delta must be > 0, got {delta}")
    if method == _core.SMP_WALK_BILLIARD and D.kind != _core.SMP_DENS_UNIFORM:
        raise ValueError(f"the billiard walk samples the uniform law only (density kind {D.kind})")
    c, n_kept = len(gens), ns // thin
    samples = np.empty((c, n_kept, n))
    indices = np.empty((c, n_kept, n), np.int64) if grid else None
    times = np.empty((c, n_kept)) if ct else None
    na, npr = np.zeros(c, np.int64), np.zeros(c, np.int64)
    w = (method, delta, None if off is None else off.tolist(), ct, lazy, ns, thin, burn)
    for ch, gen in enumerate(gens):
        out = (samples[ch], None if indices is None else indices[ch], None if times is None else times[ch])
        try:
            if method == _core.SMP_WALK_BILLIARD:
                na[ch], npr[ch] = _billiard_chain(B, w, x0[ch].tolist(), gen, out)
            elif grid:
                na[ch], npr[ch] = _grid_chain(B, D, w, k0[ch].tolist(), gen, out)
            else:
                na[ch], npr[ch] = _continuous_chain(B, D, w, x0[ch].tolist(), gen, out)
        except ValueError as exc:
            raise ValueError(str(exc).replace("chain:", f"chain {ch}:", 1)) from None
    return samples, indices, times, na, npr


def smp_grid_moves(body, dens, delta, offset, k):
    """Twin of ``_core._smp_grid_moves``: for each grid point (rows of ``k``), the
    probability (1/2n) min(1, F(y)/F(x)) of each of the 2n axis moves (0 when y is not in
    C), ``out[r, 2j + (s > 0)]``, and whether the point itself is in C."""
    D = _Dens(dens)
    n = D.n
    B = _Body(body, n)
    off = _opt(offset, "offset", 1)
    k = np.asarray(k)
    if k.dtype.kind not in "iu" or k.ndim != 2:
        raise TypeError("k must be a 2-d int64 array")
    delta = float(delta)
    if off is None or off.shape[0] != n or k.shape[1] != n or not delta > 0:
        raise ValueError("offset/k shapes do not match the dimension, or delta <= 0")
    off = off.tolist()
    out = np.empty((k.shape[0], 2 * n))
    in_grid = np.empty(k.shape[0], bool)
    inv = 1.0 / float(2 * n)
    for r, kr in enumerate(k.tolist()):
        x = [off[i] + float(kr[i]) * delta for i in range(n)]
        in_grid[r], bst = B.grid_contains(x, delta)
        _, st = D.full(x)
        for j in range(n):
            for sp, sgn in enumerate((-1, 1)):
                h = float(sgn) * delta
                yj = off[j] + float(kr[j] + sgn) * delta
                p = 0.0
                if B.axis_ok(bst, x, j, yj, h, delta)[0]:
                    dl = D.axis_delta(st, x, j, h)
                    p = (1.0 if dl >= 0 else math.exp(dl)) * inv
                out[r, 2 * j + sp] = p
    return out, in_grid


def smp_logf(dens, x):
    """Twin of ``_core._smp_logf``: the kernel's full log F at each row of ``x``."""
    D = _Dens(dens)
    x = _opt(x, "x", 2)
    if x is None or x.shape[1] != D.n:
        raise ValueError("x must have shape (rows, n)")
    return np.array([D.full(row)[0] for row in x.tolist()], dtype=float).reshape(-1)


# ---- NumPy walks for a Python log-density (no C path) ----------------------------------------

def _accept_log(gen, dl):
    u = gen.random(dl.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        return (dl >= 0) | (u < np.exp(np.minimum(dl, 0.0)))


def grid_walk_callable(density, body, delta, offset, k0, n_steps, thin, burn_in, continuous_time, lazy, gen,
                       lf0=None):
    """The grid walk for a Python log-density: all chains advance together, one call of
    the log-density per step on the (n_chains, n) batch of proposals, one generator
    (``lf0``: log F at the start centres when the caller has it already).
    Returns ``(samples, indices, times|None, n_accept, n_prop)``."""
    c, n = k0.shape
    k = k0.copy()
    x = offset + k * delta
    lf = density.logpdf(x) if lf0 is None else np.array(lf0, dtype=float)
    if not np.all(np.isfinite(lf)):
        raise ValueError("the log-density is -inf at a start point (F must be positive on C)")
    n_kept = n_steps // thin
    samples = np.empty((c, n_kept, n))
    indices = np.empty((c, n_kept, n), np.int64)
    times = np.empty((c, n_kept)) if continuous_time else None
    t = np.zeros(c)
    na = np.zeros(c, np.int64)
    npr = np.zeros(c, np.int64)
    rows = np.arange(c)
    kept = 0
    for step in range(burn_in + n_steps):
        if continuous_time:
            t += gen.exponential(size=c)
        active = gen.random(c) >= 0.5 if lazy else np.ones(c, bool)
        r = gen.integers(0, 2 * n, size=c)
        j, s = r >> 1, np.where(r & 1, 1, -1)
        yk = k.copy()
        yk[rows, j] += s
        y = offset + yk * delta
        ok = active & body._grid_contains(y, delta)
        npr += active
        ly = np.full(c, -np.inf)
        if ok.any():
            ly[ok] = density.logpdf(y[ok])
        with np.errstate(invalid="ignore"):
            acc = ok & _accept_log(gen, ly - lf) & np.isfinite(ly)
        k[acc], x[acc], lf[acc] = yk[acc], y[acc], ly[acc]
        na += acc
        if step >= burn_in and (step - burn_in + 1) % thin == 0:
            samples[:, kept], indices[:, kept] = x, k
            if times is not None:
                times[:, kept] = t
            kept += 1
    return samples, indices, times, na, npr


def ball_walk_callable(density, body, delta, x0, n_steps, thin, burn_in, continuous_time, gen, lf0=None):
    """The ball walk for a Python log-density, all chains together (one call per step;
    ``lf0``: log F at x0 when the caller has it already).
    Returns ``(samples, times|None, n_accept, n_prop)``."""
    c, n = x0.shape
    x = x0.copy()
    lf = density.logpdf(x) if lf0 is None else np.array(lf0, dtype=float)
    if not np.all(np.isfinite(lf)):
        raise ValueError("the log-density is -inf at a start point")
    n_kept = n_steps // thin
    samples = np.empty((c, n_kept, n))
    times = np.empty((c, n_kept)) if continuous_time else None
    t = np.zeros(c)
    na = np.zeros(c, np.int64)
    kept = 0
    for step in range(burn_in + n_steps):
        if continuous_time:
            t += gen.exponential(size=c)
        d = gen.standard_normal((c, n))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        y = x + delta * gen.random(c)[:, None] ** (1.0 / n) * d
        ok = body._contains(y)
        ly = np.full(c, -np.inf)
        if ok.any():
            ly[ok] = density.logpdf(y[ok])
        with np.errstate(invalid="ignore"):
            acc = ok & _accept_log(gen, ly - lf) & np.isfinite(ly)
        x[acc], lf[acc] = y[acc], ly[acc]
        na += acc
        if step >= burn_in and (step - burn_in + 1) % thin == 0:
            samples[:, kept] = x
            if times is not None:
                times[:, kept] = t
            kept += 1
    npr = np.full(c, burn_in + n_steps, np.int64)
    return samples, times, na, npr


def grid_moves_callable(density, body, delta, offset, k, logf):
    """The grid walk's move probabilities (as :func:`smp_grid_moves`) for a Python
    log-density, from its values ``logf`` at the grid points ``k``."""
    n = k.shape[1]
    probs = np.zeros((len(k), 2 * n))
    for j in range(n):
        for sp, sgn in enumerate((-1, 1)):
            yk = k.copy()
            yk[:, j] += sgn
            y = offset + yk * delta
            ok = body.grid_contains(y, delta)
            ly = np.full(len(k), -np.inf)
            if ok.any():
                ly[ok] = density.logpdf(y[ok])
            probs[:, 2 * j + sp] = np.where(ok, np.exp(np.minimum(ly - logf, 0.0)), 0.0) / (2 * n)
    return probs
