"""Numerical convexity diagnostics (D. Merkulov, "Strong convexity criteria. Optimality
conditions. Lagrange function", lecture notes, Optimization for ML, HSE University: the
first- and second-order criteria, log-concavity and the Polyak-Lojasiewicz condition; the
lecture slides "Gradient method" after L. Vandenberghe's EE236C notes: "Convex function",
"Strictly convex function", "Monotonicity of gradient", "Lipschitz continuous gradient",
"Quadratic upper bound", "Co-coercivity of gradient", "Strongly convex function",
"Quadratic lower bound").

``check`` samples points and pairs (chords) and tests these criteria on them:

* Jensen along random chords: f(th x + (1-th) y) <= th f(x) + (1-th) f(y);
* first-order: f(y) >= f(x) + g(x)'(y - x);
* monotone gradient: (g(x) - g(y))'(x - y) >= 0;
* second-order: the smallest Hessian eigenvalue >= 0 (from ``hess``, or from finite
  differences of ``grad``/``hessp`` when the dimension is small);

estimates mu (strong convexity: min of (g(x)-g(y))'(x-y)/||x-y||^2 and of the Hessian
eigenvalues), L (max of ||g(x)-g(y)||/||x-y|| and of the Hessian eigenvalues) and, given
f*, the PL constant min ||g(x)||^2 / (f(x) - f*) (Merkulov's form
||grad f||^2 >= mu (f - f*)); and checks the bounds of "quadratic bounds on convex
functions" for that L and mu (or for ``L=``/``mu=`` given by the caller):

* quadratic upper bound: f(y) <= f(x) + g(x)'(y - x) + L/2 ||y - x||^2;
* quadratic lower bound: f(y) >= f(x) + g(x)'(y - x) + mu/2 ||y - x||^2;
* co-coercivity: (g(x) - g(y))'(x - y) >= ||g(x) - g(y)||^2 / L.

A sampling check can only refute convexity: ``convex=True`` means that no violation was
found. Strict and strong convexity are decided by the rules below, at the resolution of
the second-order test (``rtol`` for analytic Hessians, 1e-5 relative for Hessians by
differences of an analytic gradient, 1e-3 when the gradient is a difference too):

* **not strongly convex** when the smallest Hessian eigenvalue reaches zero within that
  resolution (times max(1, L)): at a sampled point, or at a point found by a search that
  moves from the flattest sampled points along the eigenvector of their smallest
  eigenvalue (doubling the step while the eigenvalue falls, a parabola through three
  values, shrinking the step otherwise). It finds the singular Hessian of sum x_i^4 at a
  coordinate hyperplane, the vanishing curvature of exp(x) and of unregularised logistic
  regression far out, and a rank-deficient least squares at once; ``strongly_convex_mu``
  is then 0. Otherwise **strongly convex** with mu the smallest curvature met (the search
  drives, e.g., L2-regularised logistic regression to its regularisation constant). A
  strongly convex function whose L/mu exceeds 1/resolution is indistinguishable from one
  that is not strongly convex. A negative eigenvalue met by the search is a "hessian"
  violation like one at a sampled point.
* **not strictly convex** when f is affine on a segment: a sampled pair, or a probe
  segment through a flat sampled point along its flattest direction (at the sampling
  scale and an eighth of it), with (g(x) - g(y))'(x - y) <= rtol ||x - y|| (||g(x)|| +
  ||g(y)||) (zero up to the rounding of the gradients; for convex f this is the
  strict-monotonicity criterion). Otherwise **strictly convex** on the sample: every
  sampled pair strictly monotone, no flat probe segment.

Either is ``None`` (undecided) without second-order information (dimension above 200,
or an objective without a Hessian). With ``points=`` or ``sampler=`` the search stays in
the bounding box of the points; by default (normal points around 0) it may go anywhere.

``check_log_concave`` tests concavity of log F along sampled chords (the notes' "other
forms of convexity": log-concavity), and the samplers of :mod:`convq.sampling` run the
same test on a Python log-density at set-up, warning with
:class:`convq.NotLogConcaveWarning`. ``pl_rate`` is the linear rate of gradient descent
under the PL condition (H. Karimi, J. Nutini and M. Schmidt, "Linear Convergence of
Gradient and Proximal-Gradient Methods Under the Polyak-Lojasiewicz Condition", ECML PKDD
2016, Theorem 1).
"""
from __future__ import annotations

import warnings

import numpy as np

from ._errors import NotLogConcaveWarning
from ._result import Result
from ._rng import as_generator
from ._validation import as_float_array, check_int, check_positive, check_real
from .objectives import Function, Objective

__all__ = ["check", "check_log_concave", "pl_rate", "ConvexityReport", "LogConcavityReport",
           "NotLogConcaveWarning"]

# the criteria whose violation refutes convexity; the others check the constants L and mu
_CONVEXITY = ("jensen", "first-order", "monotone-gradient", "hessian")
_BOUNDS = ("upper-bound", "lower-bound", "co-coercivity")


def _fmt_point(x):
    return np.array2string(np.asarray(x), precision=4, threshold=6)


class _ViolationReport(Result):
    """A report with ``violations`` (``(x, y, criterion, margin)``, margin < 0) and
    ``n_tests`` (criterion -> number of tests)."""

    def _repr_value(self, key, value):
        if key == "violations":
            return f"{len(value)} found" + (f", worst margin {min(v[3] for v in value):.6g}" if value else "")
        return super()._repr_value(key, value)

    def _violation_lines(self, criteria=None):
        by = {}
        for v in self.violations:
            if criteria is None or v[2] in criteria:
                by.setdefault(v[2], []).append(v)
        lines = []
        for crit, vs in by.items():
            worst = min(vs, key=lambda v: v[3])
            lines.append(f"  {crit}: {len(vs)} violations, worst margin {worst[3]:.3g} at x = {_fmt_point(worst[0])}")
        return lines


class ConvexityReport(_ViolationReport):
    """Result of :func:`check`: ``convex``, ``strictly_convex`` and ``strongly_convex``
    (True, False or None = undecided, with the reason in ``evidence``),
    ``strongly_convex_mu``, ``smoothness_L``, ``pl_mu``, ``bounds_hold`` (no violation of
    the quadratic bounds or co-coercivity for ``tested_L`` and ``tested_mu``),
    ``violations`` (list of ``(x, y, criterion, margin)``, margin < 0), ``n_tests`` (dict
    criterion -> number of tests), ``evidence`` (dict of sentences) and ``summary()``; a
    dict with attribute access (``rep.convex == rep["convex"]``)."""

    _positional = ("convex", "strongly_convex_mu", "smoothness_L", "pl_mu", "violations", "n_tests")
    _order = ("convex", "strictly_convex", "strongly_convex", "strongly_convex_mu", "smoothness_L", "pl_mu",
              "bounds_hold", "tested_L", "tested_mu", "violations", "n_tests", "evidence")

    def __init__(self, *args, **kwargs):
        if args and not (len(args) == 1 and isinstance(args[0], dict)):  # (convex, mu, L, pl_mu, violations, n_tests)
            if len(args) != len(self._positional):
                raise TypeError(f"ConvexityReport takes {len(self._positional)} positional values, got {len(args)}")
            args = (dict(zip(self._positional, args)),)
        super().__init__(*args, **kwargs)

    def _repr_value(self, key, value):
        if key == "evidence" and isinstance(value, dict):
            return "{" + ", ".join(value) + "} (see summary())"
        return super()._repr_value(key, value)

    def summary(self) -> str:
        conv = {k: v for k, v in self.n_tests.items() if k not in _BOUNDS}
        lines = [f"convex: {'no violation found' if self.convex else 'NOT convex'} "
                 f"({sum(conv.values())} tests: " + ", ".join(f"{k} {v}" for k, v in conv.items()) + ")"]
        lines += self._violation_lines(_CONVEXITY)
        ev = self.get("evidence") or {}
        for key, word in (("strictly_convex", "strict"), ("strongly_convex", "strong")):
            if key in self:
                lines.append(f"{key.replace('_', ' ')}: {self[key]}" + (f" ({ev[word]})" if word in ev else ""))
        lines.append(f"strong convexity mu ~ {self.strongly_convex_mu:.6g}")
        lines.append(f"smoothness L ~ {self.smoothness_L:.6g}")
        if self.pl_mu is not None:
            lines.append(f"PL constant ~ {self.pl_mu:.6g}")
        if "bounds_hold" in self:
            nb = {k: v for k, v in self.n_tests.items() if k in _BOUNDS}
            lines.append(f"quadratic bounds and co-coercivity with L = {self.tested_L:.6g}, mu = {self.tested_mu:.6g}: "
                         + ("hold" if self.bounds_hold else "VIOLATED") + f" ({sum(nb.values())} tests)")
            lines += self._violation_lines(_BOUNDS)
        return "\n".join(lines)


class LogConcavityReport(_ViolationReport):
    """Result of :func:`check_log_concave`: ``log_concave`` (no violation found),
    ``violations`` (``(x, y, "log-concavity", margin)``: log F at a point of the chord
    [x, y] falls below the chord by -margin; margin -inf where F vanishes there),
    ``n_tests`` and ``n_skipped`` (chords with F = 0 at an end, which test nothing)."""

    _order = ("log_concave", "violations", "n_tests", "n_skipped")

    def summary(self) -> str:
        lines = [f"log-concave: {'no violation found' if self.log_concave else 'NOT log-concave'} "
                 f"({self.n_tests['log-concavity']} chords, {self.n_skipped} skipped where F = 0 at an end)"]
        return "\n".join(lines + self._violation_lines())


def _as_function(f, grad, hess):
    if isinstance(f, Objective):
        if grad is not None or hess is not None:
            raise TypeError("give grad/hess only with a plain callable f, not with an Objective")
        return f
    if not callable(f):
        raise TypeError(f"f must be a callable or a convq objective, got {type(f).__name__}")
    return Function(f, grad, hess)


def _check_finite_values(F, G, P):
    """f (and grad) must be finite at every test point: a NaN would make every criterion
    silently pass."""
    for what, V in (("f", F), ("grad", G)):
        if V is None:
            continue
        bad = ~np.isfinite(V.reshape(V.shape[0], -1)).all(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{what} is not finite at the test point x = {np.array2string(P[i], threshold=6)}: "
                             "sample inside the domain of f (sampler= or points=)")


def _sampling_args(rng, n, scale, rtol, max_violations):
    """The arguments that :func:`check` and :func:`check_log_concave` share, checked."""
    return (as_generator(rng), check_int(n, "n", minimum=2), check_positive(scale, "scale"),
            check_positive(rtol, "rtol"), check_int(max_violations, "max_violations", minimum=0))


def _test_points(gen, n, dim, scale, points, sampler, d_known, what="f"):
    """The (n, dim) test points from ``points``, ``sampler(rng, n)`` or ``scale`` times
    standard normal points, and where they came from."""
    if points is not None:
        P = as_float_array(points, "points", ndim=2)
        if d_known is not None and P.shape[1] != d_known:
            raise ValueError(f"points must have {d_known} columns (the dimension of {what}), got {P.shape[1]}")
        return P, "points"
    if sampler is not None:
        if not callable(sampler):
            raise TypeError(f"sampler must be callable(rng, n), got {type(sampler).__name__}")
        P = as_float_array(sampler(gen, n), "sampler output", ndim=(1, 2))
        if P.ndim == 1 and d_known in (None, 1):
            P = P[:, None]
        want = f"({n}, {d_known if d_known is not None else 'dim'})"
        if P.ndim != 2 or P.shape[0] != n or (d_known is not None and P.shape[1] != d_known):
            raise ValueError(f"sampler(rng, n) must return an array of shape {want} (n points of the dimension "
                             f"of {what}), got shape {P.shape}")
        return P, "sampler"
    if d_known is None:
        raise ValueError(f"give dim=, points= or sampler= so that {'check' if what == 'f' else 'check_log_concave'} "
                         "knows the dimension")
    return scale * gen.standard_normal((n, d_known)), "dim"


def _chords(gen, npts):
    """A partner for every point (never itself) and a chord parameter theta in [0.05, 0.95]."""
    perm = gen.permutation(npts)
    same = perm == np.arange(npts)
    perm[same] = (perm[same] + 1) % npts
    return perm, gen.uniform(0.05, 0.95, npts)


def _concavity_margins(lx, ly, lz, theta, rtol):
    """Margins lz - (theta lx + (1-theta) ly) of concavity of a function with values in
    [-inf, inf) at the ends x, y and at z = theta x + (1-theta) y of chords: NaN where an
    end value is -inf (nothing to test), -inf where only lz is. Returns (margins, tested,
    violated)."""
    tested = np.isfinite(lx) & np.isfinite(ly)
    m = np.full(lx.shape, np.nan)
    with np.errstate(invalid="ignore"):
        m[tested] = lz[tested] - (theta * lx + (1 - theta) * ly)[tested]
    m[tested & ~np.isfinite(lz)] = -np.inf
    viol = np.zeros(lx.shape, bool)
    viol[tested] = m[tested] < -rtol * (1 + np.abs(lx[tested]) + np.abs(ly[tested]))
    return m, tested, viol


def _is_flat(mono, gx, gy, dist, rtol):
    """(g(x) - g(y))'(x - y) zero up to the rounding of the gradients: f is affine on the
    segment [x, y] when f is convex (the strict-monotonicity criterion fails)."""
    gsc = np.linalg.norm(gx, axis=-1) + np.linalg.norm(gy, axis=-1)
    return (dist > 0) & (mono <= rtol * gsc * dist)


def _hessian_eigh(obj, p, d):
    """Eigenvalues and eigenvectors of the (symmetrised) Hessian at p, from d Hessian-vector
    products; ValueError when f has none there."""
    H = np.column_stack([obj.hessp(p, e) for e in np.eye(d)])
    if not np.all(np.isfinite(H)):
        raise ValueError(f"the Hessian of f is not finite at x = {np.array2string(p, threshold=6)}")
    return np.linalg.eigh(0.5 * (H + H.T))


def _search_flat_point(eig_at, starts, step, tol, budget):
    """Look for a point where the smallest Hessian eigenvalue is <= tol: from each start
    (x, lam_min, v_min), move along the current flattest direction v, doubling the step
    while the eigenvalue falls, trying the vertex of the parabola through the values at
    x - s, x, x + s, and quartering the step otherwise. ``eig_at(x)`` returns
    (lam_min, v_min) or None where the Hessian cannot be used. Returns the flattest
    (lam_min, x, v) met and the number of Hessians evaluated."""
    best, used = None, 0
    per = max(4, budget // max(1, len(starts)))
    for x, c, v in starts:
        s, mine = step, 0
        while mine < per and c > tol and s > 1e-6 * step:
            vals = []
            for t in (s, -s):
                r = eig_at(x + t * v)
                mine += 1
                vals.append(r)
                if r is not None and r[0] < c - 1e-10 * abs(c):
                    x, c, v = x + t * v, r[0], r[1]
                    s *= 2
                    break
            else:
                if vals[0] is not None and vals[1] is not None and vals[0][0] + vals[1][0] - 2 * c > 0:
                    t = s * (vals[1][0] - vals[0][0]) / (2 * (vals[0][0] + vals[1][0] - 2 * c))
                    r = eig_at(x + t * v)
                    mine += 1
                    if r is not None and r[0] < c - 1e-10 * abs(c):
                        x, c, v = x + t * v, r[0], r[1]
                        continue
                s /= 4
        used += mine
        if best is None or c < best[0]:
            best = (c, x, v)
        if c <= tol:
            break
    return best, used


def check(f, grad=None, hess=None, sampler=None, points=None, n=1000, rng=None, *, f_star=None, dim=None,
          scale=1.0, rtol=1e-8, max_violations=100, L=None, mu=None):
    """Look for violations of the convexity criteria above, decide strict and strong
    convexity by the rules above, estimate mu, L, PL and check the quadratic bounds.

    Parameters
    ----------
    f : callable or convq.objectives.Objective
    grad, hess : callable, optional
        Gradient (else central differences) and Hessian matrix of a callable f.
    sampler : callable(rng, n) -> (n, dim) array, optional
        Where to test; default: ``scale`` times standard normal points in ``dim``.
    points : array_like (n, dim), optional
        Explicit test points (instead of a sampler).
    n : int
        Number of points (and of chords).
    rng : None, int or Generator
    f_star : float, optional
        The optimal value, for the PL estimate.
    dim : int, optional
        Dimension when f is a plain callable and neither points nor sampler give it.
    rtol : float
        A criterion is violated when its margin is below -rtol * (1 + |values involved|).
    L, mu : float, optional
        The constants to check the quadratic upper bound and co-coercivity (L > 0) and the
        quadratic lower bound (mu) with; default: this check's estimates
        ``smoothness_L`` and ``strongly_convex_mu``.

    Returns
    -------
    ConvexityReport
    """
    obj = _as_function(f, grad, hess)
    gen, n, scale, rtol, max_violations = _sampling_args(rng, n, scale, rtol, max_violations)
    if f_star is not None:
        f_star = check_real(f_star, "f_star")
    L_given = None if L is None else check_positive(L, "L")
    mu_given = None if mu is None else check_real(mu, "mu")
    d_known = getattr(obj, "dim", None) or (None if dim is None else check_int(dim, "dim", minimum=1))
    P, src = _test_points(gen, n, dim, scale, points, sampler, d_known)
    if P.shape[0] < 2:
        raise ValueError(f"need at least 2 points, got {P.shape[0]}")
    npts, d = P.shape
    F = np.array([obj.value(p) for p in P], dtype=float)
    G = np.array([obj.grad(p) for p in P], dtype=float)
    _check_finite_values(F, G, P)
    perm, theta = _chords(gen, npts)
    Y, FY, GY = P[perm], F[perm], G[perm]
    violations = []
    n_tests = {}
    evidence = {}

    def add(mask, margins, crit, xs, ys):
        n_tests[crit] = n_tests.get(crit, 0) + int(mask.size)
        for i in np.flatnonzero(mask)[:max_violations]:
            violations.append((xs[i].copy(), ys[i].copy(), crit, float(margins[i])))

    # Jensen along chords
    Z = theta[:, None] * P + (1 - theta)[:, None] * Y
    FZ = np.array([obj.value(z) for z in Z], dtype=float)
    _check_finite_values(FZ, None, Z)
    jm = theta * F + (1 - theta) * FY - FZ
    scale_j = 1 + np.abs(F) + np.abs(FY)
    add(jm < -rtol * scale_j, jm, "jensen", P, Y)
    # first-order criterion f(y) >= f(x) + g(x)'(y - x)
    D = Y - P
    fo = FY - F - np.einsum("ij,ij->i", G, D)
    add(fo < -rtol * scale_j, fo, "first-order", P, Y)
    # monotone gradient
    mono = np.einsum("ij,ij->i", G - GY, P - Y)
    dist2 = np.einsum("ij,ij->i", D, D)
    gsc = np.linalg.norm(G, axis=1) + np.linalg.norm(GY, axis=1)
    add(mono < -rtol * (1 + gsc * np.sqrt(dist2)), mono, "monotone-gradient", P, Y)
    ok = dist2 > 0
    if not ok.any():
        raise ValueError(f"{src} gave no two distinct points: the estimates of mu and L need at least two")
    mu_est = float(np.min(mono[ok] / dist2[ok]))
    L_est = float(np.max(np.linalg.norm(G - GY, axis=1)[ok] / np.sqrt(dist2[ok])))
    # the gradient's rounding: analytic, or central differences of f
    rtol_g = max(rtol, 1e-6) if isinstance(obj, Function) and obj._grad is None else rtol
    flat_pairs = np.flatnonzero(_is_flat(mono, G, GY, np.sqrt(dist2), rtol_g))
    # second order: Hessians at a few points (full matrices when d is small)
    second = None
    if d <= 200 and (hess is not None or isinstance(obj, Objective)):
        second = _second_order(obj, P, d, rtol, src, add)
    if second is not None:
        mu_est = min(mu_est, second["eig_min"])
        L_est = max(L_est, second["eig_max"])
    pl = None
    if f_star is not None:
        gap = F - float(f_star)
        okp = gap > 1e-12 * (1 + abs(float(f_star)))
        pl = float(np.min(np.einsum("ij,ij->i", G, G)[okp] / gap[okp])) if okp.any() else np.nan
    if not (np.isfinite(mu_est) and np.isfinite(L_est)):  # never claim convexity from NaN estimates
        raise ValueError(f"the estimates of mu and L are not finite (mu = {mu_est}, L = {L_est}) on these {src} points")
    convex = not any(v[2] in _CONVEXITY for v in violations)
    strictly = strongly = None
    mu_rep = max(mu_est, 0.0) if convex else mu_est
    if not convex:
        strictly = strongly = False
        evidence["strict"] = evidence["strong"] = "not convex: see the violations"
    elif len(flat_pairs):
        i = flat_pairs[0]
        strictly = False
        evidence["strict"] = (f"f is affine on the sampled segment from x = {_fmt_point(P[i])} to y = "
                              f"{_fmt_point(Y[i])}: (g(x) - g(y))'(x - y) = {mono[i]:.3g}, zero up to rounding")
    if second is None:
        why = "no second-order information (dimension above 200, or no Hessian)"
        evidence.setdefault("strong", why)
        evidence.setdefault("strict", why + "; every sampled pair strictly monotone")
    elif convex:
        strongly, strictly, mu_rep = _strict_strong(obj, P, d, src, second, rtol_g, strictly, mu_rep, evidence,
                                                    add)
        convex = not any(v[2] in _CONVEXITY for v in violations)
        if not convex:  # the search met a negative Hessian eigenvalue
            strictly = strongly = False
            mu_rep = min(mu_rep, min(v[3] for v in violations if v[2] == "hessian"))
            evidence["strict"] = evidence["strong"] = ("not convex: the search for a flat point met a negative "
                                                       "Hessian eigenvalue (see the violations)")
    # the quadratic bounds and co-coercivity of "quadratic bounds on convex functions"
    L_t = L_est if L_given is None else L_given
    mu_t = mu_rep if mu_given is None else mu_given
    half = 0.5 * dist2
    add(fo - mu_t * half < -rtol * scale_j, fo - mu_t * half, "lower-bound", P, Y)
    ub = L_t * half - fo
    add(ub < -rtol * scale_j, ub, "upper-bound", P, Y)
    dg2 = np.einsum("ij,ij->i", G - GY, G - GY)
    cc = mono - dg2 / L_t if L_t > 0 else np.zeros_like(mono)
    add(cc < -rtol * (1 + gsc * np.sqrt(dist2)), cc, "co-coercivity", P, Y)
    rep = ConvexityReport(convex, mu_rep, L_est, pl, violations, n_tests)
    rep.update(strictly_convex=strictly, strongly_convex=strongly, tested_L=float(L_t), tested_mu=float(mu_t),
               bounds_hold=not any(v[2] in _BOUNDS for v in violations), evidence=evidence)
    return rep


def _second_order(obj, P, d, rtol, src, add):
    """Hessians at the first few points: the "hessian" criterion, the eigenvalue range, the
    resolution of the test and the flattest points (for the strict / strong rules)."""
    k = min(P.shape[0], 20 if d > 20 else 100)
    lam_min, vecs, eig_max = [], [], -np.inf
    for p in P[:k]:
        try:
            w, V = _hessian_eigh(obj, p, d)
        except ValueError as exc:
            if "not finite" in str(exc):
                raise
            break  # f has no Hessian
        eig_max = max(eig_max, w[-1])
        lam_min.append(w[0])
        vecs.append(V[:, 0])
    if not lam_min:
        return None
    lam_min = np.array(lam_min)
    # finite-difference Hessians carry an error of about sqrt(eps) (analytic grad)
    # or eps^(1/3) (gradient by differences too); analytic ones only rounding
    if isinstance(obj, Function) and obj._hess is None:
        rel = 1e-5 if obj._grad is not None else 1e-3
    else:
        rel = rtol
    tolh = rel * max(1.0, abs(eig_max))
    m = len(lam_min)
    add(lam_min < -tolh, lam_min, "hessian", P[:m], P[:m])
    return dict(lam_min=lam_min, vecs=vecs, eig_min=float(lam_min.min()), eig_max=float(eig_max), tol=tolh, k=m,
                budget=72 if d <= 20 else 20, n_starts=3 if d <= 20 else 1)


def _strict_strong(obj, P, d, src, second, rtol_g, strictly, mu_rep, evidence, add):
    """The strict and strong convexity rules of the module docstring, for a convex-looking f
    with Hessians."""
    tolh = second["tol"]
    if strictly is False:  # affine on a sampled segment: zero curvature along it
        evidence["strong"] = "not strictly convex: zero curvature along an affine sampled segment"
        return False, False, 0.0
    lo, hi = (P.min(axis=0), P.max(axis=0)) if src != "dim" else (None, None)
    step = float(np.median(np.linalg.norm(P - P.mean(axis=0), axis=1))) or 1.0

    def inside(x):
        return lo is None or bool(np.all((x >= lo) & (x <= hi)))

    def eig_at(x):
        if not inside(x):
            return None
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                w, V = _hessian_eigh(obj, x, d)
        except (ValueError, FloatingPointError, OverflowError, ZeroDivisionError):
            return None
        add(np.array([w[0] < -tolh]), w[:1], "hessian", x[None, :], x[None, :])
        return w[0], V[:, 0]

    order = np.argsort(second["lam_min"], kind="stable")
    starts = [(P[i].copy(), float(second["lam_min"][i]), second["vecs"][i]) for i in order[:second["n_starts"]]]
    (c, xc, vc), used = _search_flat_point(eig_at, starts, step, tolh, second["budget"])
    moved = c < min(s[1] for s in starts)
    where = (f"reached by a {used}-Hessian search from {starts[0][1]:.3g} at a sampled point" if moved else
             "at a sampled point" + (f" (a {used}-Hessian search found no flatter point)" if used else ""))
    where += f", x = {_fmt_point(xc)}"
    if c <= tolh:
        strongly, mu_rep = False, 0.0
        evidence["strong"] = (f"smallest Hessian eigenvalue {c:.3g} <= {tolh:.3g}, zero within the resolution of the "
                              f"second-order test, {where}")
    else:
        strongly = True
        mu_rep = min(mu_rep, c)
        evidence["strong"] = (f"the smallest curvature met stays above the resolution {tolh:.3g}: {c:.6g}, {where}")
    if strongly:
        strictly = True
        evidence.setdefault("strict", "strongly convex")
    else:
        # probe segments through the flattest sampled points along their flattest direction
        bases = [(p, v) for p, _, v in starts] + [(starts[0][0], vc)]
        strictly, probes = True, 0
        for p, v in bases:
            for t in (step, step / 8):
                while not (inside(p + t * v) and inside(p - t * v)) and t > 1e-3 * step:
                    t /= 2  # stay in the box of the given points
                x, y = p + t * v, p - t * v
                if not (inside(x) and inside(y)):
                    continue
                try:
                    gx, gy = obj.grad(x), obj.grad(y)
                except ValueError:
                    continue
                probes += 1
                m = float((gx - gy) @ (x - y))
                if _is_flat(m, gx, gy, 2 * t, rtol_g):
                    strictly = False
                    evidence["strict"] = (f"f is affine on the probe segment from x = {_fmt_point(x)} to y = "
                                          f"{_fmt_point(y)} (the flattest direction at a sampled point): "
                                          f"(g(x) - g(y))'(x - y) = {m:.3g}, zero up to rounding")
                    break
            if not strictly:
                break
        if strictly and probes == 0:
            strictly = None
            evidence["strict"] = ("every sampled pair is strictly monotone, but no probe segment along a flattest "
                                  "direction fits in the box of the points")
        elif strictly:
            evidence["strict"] = (f"every sampled pair is strictly monotone and no probe segment along a flattest "
                                  f"direction ({probes} segments, up to {2 * step:.3g} long) is affine")
    return strongly, strictly, mu_rep


def _as_log_density(logdensity, dim, vectorized):
    """A :mod:`convq.sampling` density, or a callable wrapped as a ``LogDensity``."""
    from .sampling.densities import LogDensity, _Density
    if isinstance(logdensity, _Density):
        return logdensity
    if not callable(logdensity):
        raise TypeError(f"logdensity must be a convq.sampling density or a callable, got {type(logdensity).__name__}")
    return LogDensity(logdensity, dim=dim, vectorized=vectorized)


def _chord_concavity(logdensity, X, Y, theta, rtol=1e-8, extra=None):
    """Evaluate log F at the chord ends X, Y and at Z = theta X + (1-theta) Y in one call
    (after the rows of ``extra``, whose values are returned first) and test concavity.
    Returns (values of extra, margins, tested, violated)."""
    Z = theta[:, None] * X + (1 - theta)[:, None] * Y
    k = 0 if extra is None else len(extra)
    parts = ([] if extra is None else [extra]) + [X, Y, Z]
    vals = logdensity.logpdf(np.vstack(parts))
    m = len(X)
    lx, ly, lz = vals[k:k + m], vals[k + m:k + 2 * m], vals[k + 2 * m:]
    return (vals[:k],) + _concavity_margins(lx, ly, lz, theta, rtol)


def check_log_concave(logdensity, points=None, sampler=None, n=200, rng=None, *, dim=None, scale=1.0, rtol=1e-8,
                      vectorized=True, max_violations=100):
    r"""Test concavity of :math:`\log F` along sampled chords:
    :math:`\log F(\theta x + (1-\theta) y) \ge \theta \log F(x) + (1-\theta)\log F(y)` (D.
    Merkulov's notes, "other forms of convexity": F is log-concave when log F is concave).
    A chord with F = 0 (log F = -inf) at an end tests nothing; F = 0 inside a chord whose
    ends have F > 0 is a violation (the support of a log-concave F is convex).

    Parameters
    ----------
    logdensity : convq.sampling density or callable
        A density of :mod:`convq.sampling` (``LogDensity``, ``Gaussian``, ...) or a
        function of a ``(k, n)`` array of points returning k values of log F
        (``vectorized=False``: of one point), as for :class:`convq.sampling.LogDensity`.
    points, sampler, n, rng, dim, scale :
        The test points, as in :func:`check` (chord ends: the points and a permutation of
        them; chord parameter uniform in [0.05, 0.95]).
    rtol : float
        Violation when log F on the chord falls below it by more than
        rtol * (1 + |log F(x)| + |log F(y)|).

    Returns
    -------
    LogConcavityReport
    """
    dens = _as_log_density(logdensity, dim, vectorized)
    gen, n, scale, rtol, max_violations = _sampling_args(rng, n, scale, rtol, max_violations)
    d_known = getattr(dens, "dim", None) or (None if dim is None else check_int(dim, "dim", minimum=1))
    P, _ = _test_points(gen, n, dim, scale, points, sampler, d_known, what="logdensity")
    perm, theta = _chords(gen, len(P))
    _, m, tested, viol = _chord_concavity(dens, P, P[perm], theta, rtol)
    violations = [(P[i].copy(), P[perm[i]].copy(), "log-concavity", float(m[i]))
                  for i in np.flatnonzero(viol)[:max_violations]]
    return LogConcavityReport(log_concave=not viol.any(), violations=violations,
                              n_tests={"log-concavity": int(tested.sum())}, n_skipped=int((~tested).sum()))


def pl_rate(mu, L, k=1, gap0=1.0, *, form="karimi"):
    r"""The linear-rate bound of gradient descent under the Polyak-Lojasiewicz condition:
    for an L-smooth f (not necessarily convex) with minimum f* satisfying
    :math:`\tfrac12\|\nabla f(x)\|^2 \ge \mu (f(x) - f^*)`, the gradient method with step
    1/L gives

    .. math:: f(x_k) - f^* \le (1 - \mu/L)^k \, (f(x_0) - f^*)

    (H. Karimi, J. Nutini and M. Schmidt, "Linear Convergence of Gradient and
    Proximal-Gradient Methods Under the Polyak-Lojasiewicz Condition", ECML PKDD 2016,
    Theorem 1: the quadratic upper bound gives f(x_{k+1}) <= f(x_k) - ||g_k||^2/(2L),
    and the PL inequality turns this into the contraction).

    Parameters
    ----------
    mu, L : float > 0
        The PL constant and the Lipschitz constant of the gradient.
    k : int >= 0
        Number of gradient steps.
    gap0 : float >= 0
        f(x_0) - f* (default 1: the factor (1 - mu/L)^k itself).
    form : {"karimi", "merkulov"}
        Which PL inequality mu belongs to: ``"karimi"``, (1/2) ||grad f||^2 >= mu (f - f*)
        as above; ``"merkulov"``, ||grad f||^2 >= mu (f - f*) as in D. Merkulov's notes and
        in :func:`check`'s ``pl_mu``, the same condition with mu twice as large, so the
        factor is 1 - mu/(2L).

    Returns
    -------
    float
        The bound (1 - mu/L)^k gap0 (with mu/2 for ``form="merkulov"``).
    """
    if not isinstance(form, str):
        raise TypeError(f"form must be 'karimi' or 'merkulov', got {type(form).__name__}")
    if form not in ("karimi", "merkulov"):
        raise ValueError(f"form must be 'karimi' or 'merkulov', got {form!r}")
    mu = check_positive(mu, "mu")
    L = check_positive(L, "L")
    k = check_int(k, "k", minimum=0)
    gap0 = check_positive(gap0, "gap0", allow_zero=True)
    m = mu if form == "karimi" else 0.5 * mu
    if m > L:
        raise ValueError(f"the PL constant mu cannot exceed L in the {form} form (it follows from the quadratic upper "
                         f"bound that mu <= {'L' if form == 'karimi' else '2 L'}), got mu={mu} and L={L}")
    return (1.0 - m / L) ** k * gap0
