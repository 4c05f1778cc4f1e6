"""Numerical convexity diagnostics (D. Merkulov, "Strong convexity criteria. Optimality
conditions. Lagrange function", lecture notes, Optimization for ML, HSE University: the
first- and second-order criteria and the Polyak-Lojasiewicz condition; the lecture slides
"Gradient method" after L. Vandenberghe's EE236C notes: "Convex function", "Monotonicity of
gradient", "Lipschitz continuous gradient", "Strongly convex function").

``check`` samples points and tests these criteria on them:

* Jensen along random chords: f(th x + (1-th) y) <= th f(x) + (1-th) f(y);
* first-order: f(y) >= f(x) + g(x)'(y - x);
* monotone gradient: (g(x) - g(y))'(x - y) >= 0;
* second-order: the smallest Hessian eigenvalue >= 0 (from ``hess``, or from finite
  differences of ``grad``/``hessp`` when the dimension is small);

and estimates mu (strong convexity: min of (g(x)-g(y))'(x-y)/||x-y||^2 and of the
Hessian eigenvalues), L (max of ||g(x)-g(y)||/||x-y|| and of the Hessian eigenvalues) and,
given f*, the PL constant min ||g(x)||^2 / (f(x) - f*) (Merkulov's form
||grad f||^2 >= mu (f - f*)). A sampling check can only refute convexity: ``convex=True``
means no violation was found.
"""
from __future__ import annotations

import numpy as np

from ._result import Result
from ._rng import as_generator
from ._validation import as_float_array, check_int, check_positive, check_real
from .objectives import Function, Objective

__all__ = ["check", "ConvexityReport"]


class ConvexityReport(Result):
    """Result of :func:`check`: ``convex``, ``strongly_convex_mu``, ``smoothness_L``,
    ``pl_mu``, ``violations`` (list of ``(x, y, criterion, margin)``, margin < 0),
    ``n_tests`` (dict criterion -> number of tests) and ``summary()``; a dict with
    attribute access (``rep.convex == rep["convex"]``)."""

    _order = ("convex", "strongly_convex_mu", "smoothness_L", "pl_mu", "violations", "n_tests")

    def __init__(self, *args, **kwargs):
        if args and not (len(args) == 1 and isinstance(args[0], dict)):  # (convex, mu, L, pl_mu, violations, n_tests)
            if len(args) != len(self._order):
                raise TypeError(f"ConvexityReport takes {len(self._order)} positional values, got {len(args)}")
            args = (dict(zip(self._order, args)),)
        super().__init__(*args, **kwargs)

    def _repr_value(self, key, value):
        if key == "violations":
            return f"{len(value)} found" + (f", worst margin {min(v[3] for v in value):.6g}" if value else "")
        return super()._repr_value(key, value)

    def summary(self) -> str:
        lines = [f"convex: {'no violation found' if self.convex else 'NOT convex'} "
                 f"({sum(self.n_tests.values())} tests: "
                 + ", ".join(f"{k} {v}" for k, v in self.n_tests.items()) + ")"]
        if self.violations:
            by = {}
            for v in self.violations:
                by.setdefault(v[2], []).append(v)
            for crit, vs in by.items():
                worst = min(vs, key=lambda v: v[3])
                lines.append(f"  {crit}: {len(vs)} violations, worst margin {worst[3]:.3g} at x = "
                             f"{np.array2string(np.asarray(worst[0]), precision=4, threshold=6)}")
        lines.append(f"strong convexity mu ~ {self.strongly_convex_mu:.6g}")
        lines.append(f"smoothness L ~ {self.smoothness_L:.6g}")
        if self.pl_mu is not None:
            lines.append(f"PL constant ~ {self.pl_mu:.6g}")
        return "\n".join(lines)


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


def check(f, grad=None, hess=None, sampler=None, points=None, n=1000, rng=None, *, f_star=None, dim=None,
          scale=1.0, rtol=1e-8, max_violations=100):
    """Look for violations of the convexity criteria above and estimate mu, L, PL.

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

    Returns
    -------
    ConvexityReport
    """
    obj = _as_function(f, grad, hess)
    gen = as_generator(rng)
    n = check_int(n, "n", minimum=2)
    scale = check_positive(scale, "scale")
    rtol = check_positive(rtol, "rtol")
    max_violations = check_int(max_violations, "max_violations", minimum=0)
    if f_star is not None:
        f_star = check_real(f_star, "f_star")
    d_known = getattr(obj, "dim", None) or (None if dim is None else check_int(dim, "dim", minimum=1))
    if points is not None:
        P = as_float_array(points, "points", ndim=2)
        src = "points"
        if d_known is not None and P.shape[1] != d_known:
            raise ValueError(f"points must have {d_known} columns (the dimension of f), got {P.shape[1]}")
    elif sampler is not None:
        if not callable(sampler):
            raise TypeError(f"sampler must be callable(rng, n), got {type(sampler).__name__}")
        P = as_float_array(sampler(gen, n), "sampler output", ndim=(1, 2))
        src = "sampler"
        if P.ndim == 1 and d_known in (None, 1):
            P = P[:, None]
        want = f"({n}, {d_known if d_known is not None else 'dim'})"
        if P.ndim != 2 or P.shape[0] != n or (d_known is not None and P.shape[1] != d_known):
            raise ValueError(f"sampler(rng, n) must return an array of shape {want} (n points of the dimension "
                             f"of f), got shape {P.shape}")
    else:
        if d_known is None:
            raise ValueError("give dim=, points= or sampler= so that check knows the dimension")
        P = scale * gen.standard_normal((n, d_known))
        src = "dim"
    if P.shape[0] < 2:
        raise ValueError(f"need at least 2 points, got {P.shape[0]}")
    npts, d = P.shape
    F = np.array([obj.value(p) for p in P], dtype=float)
    G = np.array([obj.grad(p) for p in P], dtype=float)
    _check_finite_values(F, G, P)
    perm = gen.permutation(npts)
    same = perm == np.arange(npts)
    perm[same] = (perm[same] + 1) % npts
    Y, FY, GY = P[perm], F[perm], G[perm]
    theta = gen.uniform(0.05, 0.95, npts)
    violations = []
    n_tests = {}

    def add(mask, margins, crit, xs, ys):
        n_tests[crit] = int(mask.size)
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
    mu = float(np.min(mono[ok] / dist2[ok])) if ok.any() else np.nan
    L = float(np.max(np.linalg.norm(G - GY, axis=1)[ok] / np.sqrt(dist2[ok]))) if ok.any() else np.nan
    # second order: Hessians at a few points (full matrices when d is small)
    if d <= 200 and (hess is not None or isinstance(obj, Objective)):
        k = min(npts, 20 if d > 20 else 100)
        eig_min, eig_max = np.inf, -np.inf
        bad = []
        for p in P[:k]:
            try:
                H = np.column_stack([obj.hessp(p, e) for e in np.eye(d)])
            except ValueError:
                break
            if not np.all(np.isfinite(H)):
                raise ValueError(f"the Hessian of f is not finite at x = {np.array2string(p, threshold=6)}")
            H = 0.5 * (H + H.T)
            w = np.linalg.eigvalsh(H)
            eig_min, eig_max = min(eig_min, w[0]), max(eig_max, w[-1])
            bad.append(w[0])
        if bad:
            bad = np.array(bad)
            # finite-difference Hessians carry an error of about sqrt(eps) (analytic grad)
            # or eps^(1/3) (gradient by differences too); analytic ones only rounding
            if isinstance(obj, Function) and obj._hess is None:
                rel = 1e-5 if obj._grad is not None else 1e-3
            else:
                rel = rtol
            tolh = rel * max(1.0, abs(eig_max))
            add(bad < -tolh, bad, "hessian", P[:len(bad)], P[:len(bad)])
            mu = min(mu, float(eig_min))
            L = max(L, float(eig_max))
    pl = None
    if f_star is not None:
        gap = F - float(f_star)
        okp = gap > 1e-12 * (1 + abs(float(f_star)))
        pl = float(np.min(np.einsum("ij,ij->i", G, G)[okp] / gap[okp])) if okp.any() else np.nan
    if not (np.isfinite(mu) and np.isfinite(L)):  # never claim convexity from NaN estimates
        raise ValueError(f"the estimates of mu and L are not finite (mu = {mu}, L = {L}) on these {src} points")
    convex = len(violations) == 0
    return ConvexityReport(convex, max(mu, 0.0) if convex else mu, L, pl, violations, n_tests)
