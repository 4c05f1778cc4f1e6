"""Deterministic first-order methods: gradient method, Barzilai-Borwein, Nesterov, proximal, L-BFGS, Newton.

``minimize(obj, x0, method=..., step=...)`` runs, for the built-in objectives of
:mod:`convq.objectives`, the whole iteration in C (csrc/optimize/cq_solver_*.c): one fused pass
over the data per gradient, and line-search trials that reuse the cached X x and X d,
so a backtracking trial costs O(m) instead of a pass over X. ``Function`` objectives and
runs with a ``grad_transform`` (e.g. a gradient quantizer) iterate the same algorithms
in Python (:mod:`convq.slow.optimize`; ``engine="python"`` forces it).

Methods (lecture slides "Gradient method", after L. Vandenberghe's EE236C notes: the
gradient method, backtracking line search, the Barzilai-Borwein method and its
nonmonotone globalisations):

* ``"gd"``: x+ = x - t grad f(x), step ``"fixed"`` (t), ``"armijo"`` (t := beta t from t0
  until f(x - t g) <= f(x) - alpha t ||g||^2) or ``"exact"`` (t = g'g / g'Hg on
  Quadratic / LeastSquares, a safeguarded golden-section search otherwise).
* ``"bb"``: Barzilai-Borwein steps BB1 s's/s'y or BB2 s'y/y'y clipped to [t_min, t_max],
  globalised by Raydan's max-type nonmonotone line search (Algorithm 1,
  ``nonmonotone="max"``) or Zhang-Hager's average C_k (Algorithm 2, ``"average"``).
* ``"nesterov"``: y = x_k + (k-1)/(k+2) (x_k - x_{k-1}), x_{k+1} = y - t grad f(y), with
  t = 1/L (``step="fixed"``) or backtracking.
* ``"proximal"`` / ``"fista"``: for f + l1 ||x||_1 with soft-thresholding; on a ``Lasso``
  the l1 weight is its mu.
* ``"subgradient"``: t_k = t0 / sqrt(k), returns the best iterate.
* ``"cg"``: linear CG (exact steps on quadratic models) and nonlinear CG (PR+, FR,
  Hager-Zhang) with a strong-Wolfe search (Nocedal & Wright, ch. 5).
* ``"lbfgs"``: limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed.,
  Algorithm 7.4, the two-loop recursion H_k g with H_k^0 = (s'y / y'y) I, eq. (7.20), inside
  Algorithm 7.5) with a strong-Wolfe line search (N&W Algorithms 3.5 and 3.6, cubic
  interpolation (3.59)): f(x + t d) <= f(x) + c1 t g'd and |g(x + t d)'d| <= c2 |g'd|.
  In C its first trial (t = 1) is one fused pass that also yields the next gradient;
  later trials, value and slope, reuse z = X x and X d: O(m) each.
"""
from __future__ import annotations

import logging
import math
import time
import warnings
from typing import Any, Callable, NamedTuple, Optional, Union, cast

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _projected, _scipy_compat
from ._engine import resolve_engine
from ._errors import ConvergenceWarning
from ._params import InstanceOf, Interval, Options, check, validate
from ._progress import emit, logger, progress_range, progress_scope
from ._result import Result
from ._spec import SolverSpec
from .objectives import Function, Lasso, Objective, Hinge
from ._validation import as_vector, check_finite, check_positive, is_sparse
from ._rng import as_generator
from .slow.optimize import lasso_cd as slow_lasso_cd, python_loop, svm_dcd as slow_svm_dcd

_log = logger.getChild("optimize")

__all__ = ["minimize", "lasso", "lasso_path", "box_qp", "svm_dual_cd", "hessian", "OptimizeResult", "LassoPath"]

# the C enums (csrc/optimize/cq_optimize.h), exported by the binding: never re-typed here
_METHODS = {"gd": _core.OPT_GD, "bb": _core.OPT_BB, "nesterov": _core.OPT_NESTEROV,
            "proximal": _core.OPT_PROXIMAL, "fista": _core.OPT_FISTA, "subgradient": _core.OPT_SUBGRADIENT,
            "lbfgs": _core.OPT_LBFGS, "newton-cg": _core.OPT_NEWTON_CG, "cg": _core.OPT_CG}
_CG_RULES = {"fr": _core.CG_FR, "pr+": _core.CG_PRPLUS, "hz": _core.CG_HZ}
_STEPS = {"fixed": _core.STEP_FIXED, "armijo": _core.STEP_ARMIJO, "backtracking": _core.STEP_ARMIJO,
          "exact": _core.STEP_EXACT}
_NONMONO = {None: _core.NM_NONE, "none": _core.NM_NONE, "max": _core.NM_MAX, "average": _core.NM_AVERAGE}
_STATUS = {
    _core.OPT_CONVERGED: "converged: gradient norm <= tol",
    _core.OPT_MAXITER: "maximum number of iterations reached",
    _core.OPT_CALLBACK: "stopped by the callback",
    _core.OPT_LINESEARCH: "line search failed to find an acceptable step",
    _core.OPT_FTOL: "converged: |f_k - f_{k-1}| < ftol",
}
STATUS_DIVERGED = 5   # a Python-level status: no C enum value has it
_STATUS[STATUS_DIVERGED] = "the iteration diverged: f or its gradient is not finite (is the step too large?)"
_SUCCESS = (_core.OPT_CONVERGED, _core.OPT_FTOL)
# SciPy's method names that mean the same algorithm as a convq method (matched in lower case)
_SCIPY_ALIASES = {"l-bfgs-b": "lbfgs", "l-bfgs": "lbfgs", "trust-ncg": "newton-cg"}
_MINIMIZE_METHODS = tuple(_METHODS) + ("newton",)

_POSITIVE = Interval(float, 0, math.inf, closed="neither")      # finite, > 0
_NONNEGATIVE = Interval(float, 0, math.inf, closed="left")      # finite, >= 0
_OPEN_UNIT = Interval(float, 0, 1, closed="neither")

# arguments of minimize()
_MINIMIZE_CONSTRAINTS = {
    "method": [Options(_MINIMIZE_METHODS)],
    "tol": [_NONNEGATIVE],
    "max_iter": [Interval(int, 0, None)],
    "callback": [callable, None],
    "grad_transform": [callable, None],
}

# ---- the options of each method, declared once ------------------------------------------------
# Each method lists the step rules it takes and its options as name -> (constraints, default);
# a default lives here only (t, t0, L and l1 of the first-order methods have computed defaults:
# None). Aliases name a second spelling of an option; relations are checked after the values.

_FIRST_ORDER = {
    "t": ([_POSITIVE, None], None),
    "t0": ([_POSITIVE, None], None),
    "L": ([_POSITIVE, None], None),
    "alpha": ([_OPEN_UNIT], 0.5),
    "beta": ([_OPEN_UNIT], 0.5),
    "variant": ([Options(("bb1", "bb2"))], "bb1"),
    "nonmonotone": ([Options(tuple(_NONMONO))], "max"),
    "memory": ([Interval(int, 0, 100000)], 10),
    "eta": ([Interval(float, 0, 1)], 0.85),
    "t_min": ([_POSITIVE], 1e-10),
    "t_max": ([_POSITIVE], 1e10),
    "ftol": ([_NONNEGATIVE], 0.0),
    "restart": ([InstanceOf(bool, np.bool_, name="True or False")], True),
}
_PROXIMAL = dict(_FIRST_ORDER, l1=([_NONNEGATIVE, None], None))
_FTOL = {"ftol": ([_NONNEGATIVE], 0.0)}
_WOLFE = {"c1": ([_OPEN_UNIT], 1e-4), "alpha": ([_OPEN_UNIT], None), **_FTOL}   # alpha: an alias of c1
_STEPPED = ("fixed", "armijo", "backtracking")
_T_RANGE = (("t_min", "t_max", False),)
_WOLFE_PAIR = (("c1", "c2", True),)     # the strong Wolfe conditions need 0 < c1 < c2 < 1


class _MethodSpec(NamedTuple):
    steps: tuple            # the step rules it accepts
    options: dict           # name -> (constraints, default)
    aliases: dict = {}      # alias -> option
    step_rule: str = ""     # what to say about any other step rule
    relations: tuple = ()   # (a, b, strict): a < b (strict) or a <= b must hold


_METHOD_SPECS = {
    "gd": _MethodSpec(_STEPPED + ("exact",), _FIRST_ORDER, {"t0": "t"}, relations=_T_RANGE),
    "bb": _MethodSpec(_STEPPED, dict(_FIRST_ORDER, alpha=([_OPEN_UNIT], 1e-4)), {"t0": "t"},
                      relations=_T_RANGE),
    "nesterov": _MethodSpec(_STEPPED, _FIRST_ORDER, {"t0": "t"}, relations=_T_RANGE),
    "proximal": _MethodSpec(_STEPPED, _PROXIMAL, {"t0": "t"}, relations=_T_RANGE),
    "fista": _MethodSpec(_STEPPED, _PROXIMAL, {"t0": "t"}, relations=_T_RANGE),
    "subgradient": _MethodSpec(_STEPPED, _FIRST_ORDER, {"t0": "t"}, relations=_T_RANGE),
    "lbfgs": _MethodSpec(("armijo", "backtracking"),
                         {"memory": ([Interval(int, 1, 100000)], 10), **_WOLFE, "c2": ([_OPEN_UNIT], 0.9)},
                         {"alpha": "c1"}, "method='lbfgs' uses its own strong-Wolfe line search; leave step at its "
                         "default 'armijo'", _WOLFE_PAIR),
    # c2 = 0.1 as Nocedal & Wright advise for CG
    "cg": _MethodSpec(("armijo", "backtracking", "wolfe", "exact"),
                      {"variant": ([Options(tuple(_CG_RULES))], "pr+"), **_WOLFE, "c2": ([_OPEN_UNIT], 0.1)},
                      {"alpha": "c1"}, "method='cg' takes step='exact' (exact steps: linear CG on Quadratic / "
                      "LeastSquares) or step='wolfe' (the strong-Wolfe search; the default 'armijo' means the same)",
                      _WOLFE_PAIR),
    "newton-cg": _MethodSpec(("armijo", "backtracking"), _FTOL, {}, "method='newton-cg' controls its steps by a "
                             "trust region; leave step at its default 'armijo'"),
}
_KNOWN_OPTIONS = set().union(*(spec.options for spec in _METHOD_SPECS.values()))


class OptimizeResult(Result):
    """Result of :func:`minimize`: ``x, fun, jac, grad_norm, nit, nfev, njev, ngev, success,
    status, message`` and ``trace`` (dict of equal-length arrays ``fun, grad_norm, step, time``,
    entry k describing iterate k, entry 0 the start).

    A dict whose keys are also attributes, as ``scipy.optimize.OptimizeResult``:
    ``res["x"] is res.x``, ``res.keys()``, ``"jac" in res``. ``njev`` and ``ngev`` both
    count gradient evaluations (SciPy's name and convq's)."""

    _order = ("x", "fun", "jac", "grad_norm", "nit", "nfev", "njev", "ngev", "success", "status", "message",
              "method")

    def _keys_in_order(self):
        keys = [k for k in super()._keys_in_order() if k != "trace"]
        return keys + (["trace"] if "trace" in self else [])


def _options(table, opts):
    """Check every given option against its constraint and fill in the defaults."""
    return {name: check(name, opts[name], constraints) if name in opts else default
            for name, (constraints, default) in table.items()}


def _declared_options(method, step, opts):
    """The options of ``method`` checked against its declaration (_METHOD_SPECS) and defaulted."""
    check("method", method, _MINIMIZE_CONSTRAINTS["method"])
    spec = _METHOD_SPECS[method]
    unknown = set(opts) - _KNOWN_OPTIONS
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known options are {sorted(_KNOWN_OPTIONS)}")
    extra = sorted(set(opts) - set(spec.options))
    if extra:
        users = "; ".join(f"{name} is only used by method="
                          + ", ".join(repr(m) for m, sp in _METHOD_SPECS.items() if name in sp.options)
                          for name in extra)
        raise TypeError(f"option(s) {extra} are not used by method={method!r} (it takes {sorted(spec.options)}); "
                        f"{users}")
    if step not in spec.steps:
        if spec.step_rule:
            raise ValueError(f"{spec.step_rule}, got step={step!r}")
        if step not in _STEPS:
            check("step", step, [Options(spec.steps)])
        users = ", ".join(repr(m) for m, sp in _METHOD_SPECS.items() if step in sp.steps)
        raise ValueError(f"step={step!r} is only available with method={users}, got method={method!r}")
    for alias, name in spec.aliases.items():
        if alias in opts and name in opts:
            raise TypeError(f"give either {name} or its alias {alias}, not both")
    o = _options(spec.options, opts)
    for alias, name in spec.aliases.items():
        value = o.pop(alias)
        if value is not None:
            o[name] = value
    for a, b, strict in spec.relations:
        if (o[a] >= o[b]) if strict else (o[a] > o[b]):
            raise ValueError(f"{a} must be {'smaller than' if strict else 'at most'} {b}, got {a}={o[a]}, {b}={o[b]}"
                             + (" (the strong Wolfe conditions need 0 < c1 < c2 < 1)" if a == "c1" else ""))
    return o


def _check_step_options(method, step, opts, obj, x0, rng):
    """The checked options of ``method`` as the parameters of the C solvers (and their twins)."""
    o = _declared_options(method, step, opts)
    # what the C solvers read but a method does not take: the common defaults
    common = {k: d for k, (_, d) in _FIRST_ORDER.items() if k in ("beta", "variant", "eta", "t_min", "t_max")}
    if method == "newton-cg":   # the Wolfe constants it does not use keep L-BFGS' defaults
        o = dict(_options(_METHOD_SPECS["lbfgs"].options, {}), memory=1, **o)
    if method in ("lbfgs", "newton-cg"):
        return dict(common, memory=int(o["memory"]), alpha=float(o["c1"]), c2=float(o["c2"]), ftol=float(o["ftol"]),
                    nonmonotone=_core.NM_NONE, l1=0.0, t=1.0, restart=False)
    if method == "cg":
        return dict(common, memory=0, alpha=float(o["c1"]), c2=float(o["c2"]), ftol=float(o["ftol"]),
                    nonmonotone=_core.NM_NONE, l1=0.0, t=1.0, restart=False, variant="bb1", cg_rule=o["variant"],
                    exact=step == "exact")
    for name in ("alpha", "beta", "eta", "t_min", "t_max", "ftol"):
        o[name] = float(o[name])
    o["memory"] = int(o["memory"])
    o["nonmonotone"] = _NONMONO[o["nonmonotone"]]
    o["restart"] = bool(o["restart"])
    l1 = o.pop("l1", None)
    if method in ("proximal", "fista") and l1 is None:
        l1 = obj.mu if isinstance(obj, Lasso) and obj.delta == 0 else 0.0
        l1 = check("l1", l1, [_NONNEGATIVE])
    o["l1"] = float(l1 or 0.0)
    t, L = o["t"], o.pop("L")
    needs_L = t is None and step == "fixed" and method in ("gd", "nesterov", "proximal", "fista")
    if t is not None:
        t = float(t)
    elif needs_L:
        if L is None:
            smooth = obj.smooth_part() if (isinstance(obj, Lasso) and method in ("proximal", "fista")) else obj
            L = smooth.lipschitz(rng=0) if not isinstance(obj, Function) else obj.lipschitz(rng=0, x=x0)
            check("L", L, [Interval(float, 0, None, closed="neither")])
        if not math.isfinite(L):
            raise ValueError("a fixed step needs a finite Lipschitz constant; give t= explicitly")
        t = 1.0 / float(L)
    else:
        t = 1.0
    o["t"] = t
    return o


def minimize(fun: Union[Objective, Callable[..., Any]], x0: ArrayLike, args: tuple = (), method: str = "gd",
             jac: Union[None, bool, Callable[..., Any]] = None, hessp: Optional[Callable[..., Any]] = None,
             bounds: Any = None, tol: Optional[float] = None, callback: Optional[Callable[..., Any]] = None,
             options: Optional[dict] = None, *, step: str = "armijo", max_iter: Optional[int] = None,
             verbose: Union[bool, int] = False, grad_transform: Optional[Callable[..., Any]] = None,
             engine: str = "auto", progress: Any = None, **kwargs: Any) -> OptimizeResult:
    r"""Minimise a convq objective, or a Python function as ``scipy.optimize.minimize`` does.

    Gradient method  x^{k+1} = x^k - t_k \nabla f(x^k)  with fixed, backtracking (Armijo)
    or exact steps; Barzilai-Borwein steps with Raydan's / Zhang-Hager's nonmonotone line
    searches; Nesterov's accelerated gradient; proximal gradient / FISTA for
    f + l1 ||x||_1; the subgradient method (L. Vandenberghe, EE236C lecture notes
    "Gradient method", sections "Gradient method", "Backtracking line search",
    "Barzilai-Borwein (BB) gradient method", "Globalization strategy for BB method",
    Algorithms 1 and 2); L-BFGS, nonlinear CG and Newton methods (below).

    The call takes SciPy's form ``minimize(fun, x0, args=(), method=..., jac=..., hessp=...,
    bounds=..., tol=..., callback=..., options=...)``. ``fun`` is either

    * a built-in objective of :mod:`convq.objectives`: the whole iteration runs in C (one
      fused pass over the data per gradient); ``args``, ``jac`` and ``hessp`` must be left
      out, the objective supplies them; or
    * a Python callable ``fun(x, *args) -> float``, iterated by the NumPy loops of
      :mod:`convq.slow.optimize` (the twins of the C solvers, the same algorithms step for
      step) with ``jac(x, *args)``, ``jac=True`` (``fun`` returns ``(f, g)``) or
      ``jac=None`` (or ``"2-point"``): SciPy's default forward differences, g_i =
      (f(x + h_i e_i) - f(x)) / h_i with h_i = sqrt(machine eps) max(1, |x_i|) sign(x_i),
      n + 1 calls of ``fun`` per gradient (``"3-point"``: central differences, 2n + 1). ``hessp(x, p, *args)`` gives the Hessian-vector products of
      ``"newton-cg"`` (else differences of the gradient).

    The run never raises for what happens on the way: a non-finite value or gradient
    (divergence, say a fixed step that is too large) ends it with ``success=False``,
    ``status`` 5 and ``x`` the last iterate where f was finite; a failed line search with
    status 3. Bad input (shapes, names, values of the arguments) raises ValueError or
    TypeError.

    Parameters
    ----------
    fun : convq.objectives.Objective or callable
        A built-in objective (iterated in C), a ``Function`` (iterated in Python) or
        ``fun(x, *args) -> float``.
    x0 : array_like, shape (n,)
    args : tuple
        Extra arguments of ``fun``, ``jac`` and ``hessp`` (callables only).
    method : {"gd", "bb", "nesterov", "proximal", "fista", "subgradient", "lbfgs", "cg", "newton-cg", "newton"}
        Case does not matter. SciPy's names that mean the same algorithm are accepted:
        ``"L-BFGS-B"`` (and ``"L-BFGS"``) is ``"lbfgs"``, ``"CG"`` is ``"cg"`` (nonlinear
        CG; SciPy's is Polak-Ribiere, convq's default Polak-Ribiere+), ``"Newton-CG"`` and
        ``"trust-ncg"`` are ``"newton-cg"`` (here the trust-region variant of Newton-CG).
        SciPy's ``"BFGS"`` (a dense inverse-Hessian matrix) is not the same algorithm as
        L-BFGS and is not accepted; nor are the derivative-free methods. An unknown name
        raises ValueError listing the valid ones.
        ``"cg"``: conjugate gradients (Nocedal & Wright, "Numerical Optimization", ch. 5).
        ``step="exact"`` on Quadratic / LeastSquares is linear CG (Algorithm 5.2: at most
        dim steps in exact arithmetic); otherwise nonlinear CG with a strong-Wolfe search
        (options ``c1`` = 1e-4, ``c2`` = 0.1) and ``variant`` "pr+" (Polak-Ribiere+,
        default), "fr" (Fletcher-Reeves) or "hz" (Hager & Zhang, SIAM J. Optim. 2005);
        restarts with -g on a non-descent direction and every dim iterations.
        ``"newton-cg"``: trust-region Newton with conjugate gradients on Hessian-vector
        products (TRON: Lin, Weng & Keerthi, "Trust Region Newton Method for Large-Scale
        Logistic Regression", JMLR 2008, the solver of liblinear), one fused pass over the
        data per CG iteration; option ``ftol``; for twice-differentiable objectives.
        ``"newton"``: damped Newton with the exact Hessian (:func:`hessian`), Cholesky through
        NumPy's LAPACK and Armijo backtracking from t = 1 (options ``alpha`` = 1e-4 and
        ``beta`` = 0.5); each iteration costs one Hessian, O(m dim^2), so it suits
        ill-conditioned problems of moderate dimension, where first-order methods crawl.
        ``"lbfgs"``: limited-memory BFGS, d_k = -H_k grad f(x_k) from the two-loop
        recursion over the last ``memory`` pairs s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i
        (H_k^0 = s'y / y'y I), with a strong-Wolfe line search (Nocedal & Wright,
        Numerical Optimization, 2nd ed., Algorithms 7.4, 7.5, 3.5, 3.6). Its first trial
        step is 1 (1/||g|| while no pair is stored, as in L-BFGS-B); a pair with s'y <= 0 is not
        stored. Not for Hinge (not differentiable).
    step : {"fixed", "armijo", "exact"}
        (keyword only) Step rule of "gd"; "nesterov", "proximal" and "fista" use "fixed" (t = 1/L by
        default) or "armijo" (backtracking). Ignored by "bb" and "subgradient"; "lbfgs"
        accepts only the default (its line search is the strong-Wolfe one).
    jac : callable, True or None
        The gradient of a callable ``fun`` (see above).
    hessp : callable, optional
        ``hessp(x, p, *args)``: the Hessian of a callable ``fun`` at x times p.
    bounds : scipy.optimize.Bounds or sequence of (lo, hi) pairs, optional
        Box constraints lo <= x <= hi (None or +-inf for a free side), for ``"gd"``,
        ``"bb"``, ``"lbfgs"``, ``"proximal"`` and ``"fista"``, by projection onto the box:
        projected gradient (Armijo rule along the projection arc), the spectral projected
        gradient method SPG2 (Birgin, Martinez & Raydan 2000), proximal gradient / FISTA
        with the box in the proximal map, and projected L-BFGS on the variables not held at
        a bound (Kim, Sra & Dhillon 2010; not SciPy's L-BFGS-B algorithm, the same KKT
        points); see :mod:`convq._projected`. ``x0`` is projected first; the stopping test
        uses the projected gradient ||x - P(x - grad f(x))||. These runs are NumPy loops.
    tol : float, optional
        Stop when ||grad f(x_k)|| <= tol (default 1e-6; proximal methods: the gradient
        mapping; with bounds: the projected gradient). SciPy's ``options={"gtol": ...}`` is
        the same.
    callback : callable, optional
        Called after each iteration in one of three forms, told apart by its signature:
        ``callback(intermediate_result)`` when its parameter is named
        ``intermediate_result`` (SciPy >= 1.11; an :class:`OptimizeResult` with ``x, fun,
        grad_norm, nit, step``), convq's ``callback(xk, state) -> bool`` when it takes two
        positional arguments (``state`` a dict ``k, fun, grad_norm, step``; returning True
        stops the run), else ``callback(xk)``. Raising ``StopIteration`` in any form stops
        the run with ``success=False``, ``status`` 2 and the message saying so (SciPy
        reports status 99 there).
    options : dict, optional
        The method's options (as keywords, below); SciPy's names ``maxiter`` (=
        ``max_iter``), ``disp`` (= ``verbose``), ``gtol`` (= ``tol``) and ``maxcor`` (=
        ``memory``) are understood, any other unknown name is a TypeError.
    max_iter : int
        (keyword only) the iteration cap (default 1000).
    verbose : bool or int
        Log a line every ``verbose`` iterations (True: about 10 lines per run) to the
        logger ``convq.optimize`` at level INFO (to stderr when logging is not configured).
    progress : None, bool or callable(done, total)
        Show the iterations (out of ``max_iter``) from inside the C loop: a tqdm bar, or
        ``progress(done, total)`` about 10 times a second (:mod:`convq._progress`). The
        iterates do not change.
    grad_transform : callable(g) -> array, optional
        Applied to every gradient before it is used in the step (for instance a
        quantizer); the line-search tests and BB differences use the transformed
        gradient. With it, the loop runs in Python.
    engine : {"auto", "c", "python"}
        ``"auto"`` runs the C loop for a built-in objective without ``grad_transform``
        and the NumPy twin (:mod:`convq.slow.optimize`) otherwise; ``"c"`` insists on C
        (ValueError for a ``Function`` or a ``grad_transform``); ``"python"`` runs the
        twin, which agrees with C up to rounding.
    **options
        ``t`` (or ``t0``): fixed step / initial trial step (default 1/L for fixed steps,
        1 otherwise; the subgradient step is t0/sqrt(k)); ``alpha``, ``beta``: sufficient
        decrease (default 0.5, "bb": 1e-4) and backtracking factor (0.5); ``variant``
        ("bb1" | "bb2"), ``nonmonotone`` ("max" | "average" | None), ``memory`` (M = 10),
        ``eta`` (0.85), ``t_min``/``t_max`` (1e-10, 1e10); ``l1`` (proximal methods);
        ``ftol`` (stop when |f_k - f_{k-1}| < ftol); ``L`` (Lipschitz constant);
        ``restart`` ("nesterov"/"fista": reset the momentum whenever f increases,
        O'Donoghue & Candes' function restart; default True, False gives the plain
        textbook schemes).
        "lbfgs" takes only ``memory`` (number of pairs, default 10), ``c1`` (alias
        ``alpha``; sufficient decrease, default 1e-4), ``c2`` (curvature, default 0.9;
        0 < c1 < c2 < 1) and ``ftol``; any other option is a TypeError.

    Returns
    -------
    OptimizeResult
        ``x, fun, jac`` (the gradient at x), ``grad_norm, nit, nfev, njev`` (``ngev``: the
        same), ``success, status, message, method`` and ``trace``; a dict with attribute
        access like SciPy's. Statuses: 0 converged (gradient), 4 converged (``ftol``), 1
        maximum iterations, 2 stopped by the callback, 3 line search failed, 5 diverged
        (non-finite f or gradient).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import rosen, rosen_der
    >>> from convq.optimize import minimize
    >>> res = minimize(rosen, np.zeros(5), method="L-BFGS-B", jac=rosen_der, tol=1e-8)
    >>> res.success, np.allclose(res["x"], 1.0, atol=1e-6)
    (True, True)
    >>> res = minimize(rosen, np.zeros(2), method="lbfgs", jac=rosen_der, bounds=[(None, 0.5), (None, None)])
    >>> np.round(res.x, 4)
    array([0.5 , 0.25])
    """
    method = _method_name(method)
    opts = _merged_options(options, kwargs)
    for scipy_name, mine, given in (("maxiter", "max_iter", max_iter), ("disp", "verbose", verbose or None),
                                    ("gtol", "tol", tol)):
        if scipy_name in opts:
            if given is not None:
                raise TypeError(f"give either {mine} or options[{scipy_name!r}], not both")
    max_iter = opts.pop("maxiter", 1000 if max_iter is None else max_iter)
    verbose = bool(opts.pop("disp")) if "disp" in opts else verbose
    tol = opts.pop("gtol", 1e-6 if tol is None else tol)
    if "maxcor" in opts:
        if "memory" in opts:
            raise TypeError("give either memory or options['maxcor'], not both")
        opts["memory"] = opts.pop("maxcor")
    if isinstance(fun, Objective):
        if args != () or jac is not None or hessp is not None:
            raise TypeError(f"args, jac and hessp belong to a callable fun; the objective {type(fun).__name__} "
                            f"supplies its own gradient and Hessian, got args={args!r}, jac={jac!r}, hessp={hessp!r}")
        obj = fun
        x0 = obj._x(x0, "x0").copy()
        box = _scipy_compat.parse_bounds(bounds, obj.dim)
    elif callable(fun):
        x0 = as_vector(x0 if np.ndim(x0) else [x0], "x0").copy()
        box = _scipy_compat.parse_bounds(bounds, x0.size)
        obj = _scipy_compat.CallableObjective(fun, args, jac, hessp, x0.size, None if box is None else box[1])
    else:
        raise TypeError(f"fun must be a callable fun(x, *args) or a convq.objectives objective, "
                        f"got {type(fun).__name__}")
    validate(_MINIMIZE_CONSTRAINTS, dict(tol=tol, max_iter=max_iter, callback=callback,
                                         grad_transform=grad_transform))
    tol, max_iter = float(tol), int(max_iter)
    if box is not None:
        if method not in _projected.METHODS:
            raise ValueError(f"bounds are handled by projection with method in {list(_projected.METHODS)}, "
                             f"got method={method!r}")
        if grad_transform is not None:
            raise ValueError("bounds and grad_transform cannot be combined")
        if step == "exact":
            raise ValueError("bounds take step='fixed' or 'armijo', got step='exact'")
    why_not = ("a Function objective is iterated in Python" if isinstance(obj, Function)
               else "grad_transform runs in Python" if grad_transform is not None
               else "bounds are handled in Python" if box is not None else "")
    engine = resolve_engine(engine, not why_not, why_not)
    if not isinstance(verbose, (bool, int, np.integer)) or (not isinstance(verbose, bool) and verbose < 0):
        raise TypeError(f"verbose must be a bool or a non-negative int, got {verbose!r}")
    user_cb = _scipy_compat.state_callback(callback, OptimizeResult)
    monitor = _scipy_compat.Monitor(user_cb, x0)
    # the C loop runs without a Python callback unless the user gave one: on divergence it
    # raises, and the run is repeated with the monitor to find the last finite iterate
    watch = monitor if (engine == "python" or user_cb is not None) else None
    try:
        with progress_scope(progress, "minimize"):
            res = _run(obj, x0, method, step, tol, max_iter, watch, verbose, grad_transform, engine, opts, box)
    except ValueError as exc:
        # the C loop's divergence, or a built-in objective overflowing under the NumPy loop
        if not any(why in str(exc) for why in ("the iteration diverged", "not finite at this point")):
            raise
        if watch is None:
            monitor = _scipy_compat.Monitor(None, x0)
            try:
                _run(obj, x0, method, step, tol, max_iter, monitor, False, None, engine, opts, box)
            except ValueError:
                pass
        res = _diverged_result(obj, x0, monitor, method)
    trace = res.get("trace")
    if monitor.diverged or (trace is not None and not np.isfinite(trace["fun"][0])):
        res = _diverged_result(obj, x0, monitor, method, trace)
    if user_cb is not None and user_cb.stop_iteration:
        res["message"] = "stopped: the callback raised StopIteration"
    res["jac"] = _final_gradient(obj, res["x"])
    res["njev"] = res["ngev"]
    if isinstance(obj, _scipy_compat.CallableObjective):
        res.update(nfev=obj.nfev, njev=obj.njev, ngev=obj.njev)
        if obj.hessp_fun is not None:
            res["nhev"] = obj.nhev
    return res


def _method_name(method):
    """The convq method ``method`` names (case-insensitive, SciPy's aliases resolved)."""
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    m = method.lower()
    m = _SCIPY_ALIASES.get(m, m)
    if m not in _MINIMIZE_METHODS:
        raise ValueError(f"method must be one of {list(_MINIMIZE_METHODS)} (case does not matter; SciPy's "
                         f"{sorted(set(_SCIPY_ALIASES) | {'cg', 'newton-cg'})} name the same algorithms), "
                         f"got {method!r}")
    return m


def _merged_options(options, kwargs):
    if options is None:
        return dict(kwargs)
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    both = sorted(set(options) & set(kwargs))
    if both:
        raise TypeError(f"option(s) {both} given both in options and as keywords")
    return {**options, **kwargs}


def _diverged_result(obj, x0, monitor, method, trace=None):
    """The result of a run stopped by a non-finite value: its last finite iterate, status 5.
    ``trace``: the run's own (cut after that iterate), else one built from the monitor's."""
    k, x, f, gn = monitor.last
    f0, gn0 = math.nan, math.nan
    if k == 0 or trace is None:
        try:
            f0, g0 = obj.value_and_grad(x0)
            gn0 = float(np.linalg.norm(g0))
        except ValueError:
            pass
    if k == 0:
        f, gn = f0, gn0
    if trace is not None:
        trace = {key: v[:k + 1].copy() for key, v in trace.items()}
    else:   # the C loop that raised kept none: the monitor saw every iterate after the start
        entries = [(f0, gn0, 0.0)] + monitor.trace[:k]
        trace = {key: np.array([e[i] for e in entries]) for i, key in enumerate(("fun", "grad_norm", "step"))}
        trace["time"] = np.full(k + 1, np.nan)
    return OptimizeResult(x=np.array(x, dtype=float), fun=float(f), grad_norm=float(gn), nit=int(k),
                          nfev=getattr(obj, "nfev", 0), ngev=getattr(obj, "njev", 0), success=False,
                          status=STATUS_DIVERGED, message=_STATUS[STATUS_DIVERGED], method=method, trace=trace)


def _final_gradient(obj, x):
    """The gradient at the returned x (SciPy's ``jac``): the last one computed for a callable."""
    if isinstance(obj, _scipy_compat.CallableObjective):
        return obj.last_grad(x)
    try:
        return obj.grad(x)
    except ValueError:
        return None


def _run(obj, x0, method, step, tol, max_iter, callback, verbose, grad_transform, engine, options, box):
    """The checked run of minimize: Newton, the projected loops, the C solvers or their twins."""
    if method == "newton":
        if grad_transform is not None:
            raise ValueError("method='newton' takes no grad_transform (it uses the exact Hessian)")
        return _newton(obj, x0, tol, max_iter, callback, verbose, options)
    if method in ("proximal", "fista") and isinstance(obj, Hinge):
        raise ValueError("proximal methods need a smooth part; Hinge is not smooth (use 'subgradient')")
    if method in ("lbfgs", "newton-cg", "cg") and isinstance(obj, Hinge):
        raise ValueError(f"method={method!r} needs a differentiable objective; Hinge is not (use 'subgradient')")
    if method == "newton-cg" and isinstance(obj, Lasso) and obj.delta == 0:
        raise ValueError("method='newton-cg' needs a twice-differentiable objective; smooth the Lasso first "
                         "(Lasso(...).smooth(delta))")
    opts = _check_step_options(method, step, options, obj, x0, rng=0)
    every = 0
    if verbose:
        every = max(1, max_iter // 10) if verbose is True else int(verbose)

    run_obj = obj
    if isinstance(obj, Lasso) and method in ("proximal", "fista") and obj.delta == 0 and "l1" not in options:
        run_obj = obj.smooth_part()

    state_cb = _make_callback(callback, every, max_iter)
    if box is not None:
        res = _projected.projected_loop(run_obj, x0, box[0], box[1], method, step, tol, max_iter, opts, state_cb)
    elif engine == "python":
        res = python_loop(run_obj, x0, method, step, tol, max_iter, opts, state_cb, grad_transform)
    else:
        step_rule = _STEPS.get(step, _core.STEP_ARMIJO)
        if method == "cg":  # the C solver reads only EXACT or not: every other name is strong Wolfe
            step_rule = _core.STEP_EXACT if opts["exact"] else _core.STEP_ARMIJO
        params = SolverSpec(method=_METHODS[method], step=step_rule, t=opts["t"], alpha=opts["alpha"],
                            beta=opts["beta"], bb_variant=1 if opts["variant"] == "bb1" else 2,
                            nonmonotone=opts["nonmonotone"], memory=opts["memory"], eta=opts["eta"],
                            t_min=opts["t_min"], t_max=opts["t_max"], l1=opts["l1"], tol=tol, ftol=opts["ftol"],
                            restart=int(opts["restart"]), c2=opts.get("c2", 0.9),
                            cg_rule=_CG_RULES[opts.get("cg_rule", "pr+")])
        out = _core._minimize(run_obj._c_spec, x0, params, state_cb, max_iter)
        x, f, gn, nit, nfev, ngev, status, tf, tg, tt, ttime = out
        res = dict(x=x, fun=f, grad_norm=gn, nit=nit, nfev=nfev, ngev=ngev, status=status,
                   trace=dict(fun=tf[:nit + 1].copy(), grad_norm=tg[:nit + 1].copy(),
                              step=tt[:nit + 1].copy(), time=ttime[:nit + 1].copy()))
    res["success"] = res["status"] in _SUCCESS
    res["message"] = _STATUS[res["status"]]
    if method == "lbfgs":
        res["memory"] = opts["memory"]
    res["method"] = method if method not in ("gd", "nesterov", "proximal", "fista") else f"{method}/{step}"
    if method == "cg":
        res["method"] = f"cg/{opts['cg_rule']}/{'exact' if opts['exact'] else 'wolfe'}"
    if every:
        emit(_log, logging.INFO, f"[convq.minimize] {res['message']} after {res['nit']} iterations: "
             f"f = {res['fun']:.10g}, |g| = {res['grad_norm']:.3e}")
    return OptimizeResult(**res)


# ---- Newton's method (dense Hessian, LAPACK through NumPy) -------------------------------------

def hessian(obj: Objective, x: ArrayLike) -> np.ndarray:
    """The Hessian matrix of a twice-differentiable objective at x (dim x dim).

    LeastSquares / Logistic: (1/m) X~' D X~ + (lam/m) P with X~ = [1, X] when there is an
    intercept, D = I (least squares) or diag(h_i (1 - h_i)) (logistic, h the sigmoid of the
    linear predictor), P the identity without the intercept's entry; SmoothedHinge:
    X~' D X~ + P, D = C k/delta on the rows inside the quadratic zone; Quadratic: A; a
    smoothed Lasso: A'A + (mu/delta) diag(|x_j| < delta); a Function: its ``hess``. The
    product X' D X is one BLAS call (NumPy's matmul); with a sparse X it is formed by
    scipy.sparse and returned dense."""
    from .objectives import LeastSquares, Logistic, Quadratic, SmoothedHinge, Softmax
    x = obj._x(x, "x")
    if isinstance(obj, Hinge):
        raise ValueError("method='newton' needs a twice-differentiable objective; Hinge is not differentiable "
                         "(use optimize.svm_dual_cd or 'subgradient')")
    if isinstance(obj, Quadratic):
        return obj.A.copy()
    if isinstance(obj, (LeastSquares, Logistic, SmoothedHinge)):
        lin = cast(Any, obj)  # SmoothedHinge sets its data attributes at run time
        X, m = lin.X, lin.m
        xr = x[1:] if lin.intercept else x
        z = X @ xr + (x[0] if lin.intercept else 0.0)
        if isinstance(obj, SmoothedHinge):           # C k / delta inside the quadratic zone
            v = 1.0 - (2.0 * lin.y - 1.0) * z
            dvec, pen = np.where((v > 0) & (v < lin.delta), lin.C * lin.slope / lin.delta, 0.0), 1.0
        elif isinstance(obj, Logistic):
            h = 0.5 * (1.0 + np.tanh(0.5 * z))       # the sigmoid, without overflow
            dvec, pen = h * (1.0 - h) / m, lin.lam / m
        else:
            dvec, pen = np.full(m, 1.0 / m), lin.lam / m
        if lin.sample_weight is not None:    # w_i D_i, and W = sum w in place of m
            wsc = lin.sample_weight * (m / lin.wsum if not isinstance(obj, SmoothedHinge) else 1.0)
            dvec, pen = dvec * wsc, (pen if isinstance(obj, SmoothedHinge) else lin.lam / lin.wsum)
        if is_sparse(X):
            Xs = X.multiply(np.sqrt(dvec)[:, None]).tocsr()
            Hr = (Xs.T @ Xs).toarray()
        else:
            Xs = X * np.sqrt(dvec)[:, None]
            Hr = Xs.T @ Xs  # NumPy hands A'A to BLAS syrk: half the flops of a general product
        Hr[np.diag_indices_from(Hr)] += pen
        if not lin.intercept:
            return Hr
        H = np.empty((lin.dim, lin.dim))
        H[0, 0] = dvec.sum()
        H[0, 1:] = H[1:, 0] = X.T @ dvec
        H[1:, 1:] = Hr
        return H
    if isinstance(obj, Lasso):
        if obj.delta == 0:
            raise ValueError("method='newton' needs a twice-differentiable objective; smooth the Lasso first "
                             "(Lasso(...).smooth(delta))")
        A = obj.A if obj.sample_weight is None else obj.A.multiply(np.sqrt(obj.sample_weight)[:, None]) \
            if is_sparse(obj.A) else obj.A * np.sqrt(obj.sample_weight)[:, None]
        H = A.T @ A
        H = H.toarray() if is_sparse(H) else H
        H[np.diag_indices_from(H)] += np.where(np.abs(x) < obj.delta, obj.mu / obj.delta, 0.0)
        return H
    if isinstance(obj, Softmax):     # K (p + 1) columns of C Hessian-vector products
        E = np.eye(obj.dim)
        H = np.array([obj.hessp(x, E[j]) for j in range(obj.dim)])
        return 0.5 * (H + H.T)
    if isinstance(obj, Function) and obj._hess is not None:
        H = np.asarray(obj._hess(x.copy()), dtype=float)
        if H.shape != (obj.dim, obj.dim) or not np.all(np.isfinite(H)):
            raise ValueError(f"hess(x) must return a finite ({obj.dim}, {obj.dim}) array, got shape {H.shape}")
        return 0.5 * (H + H.T)
    raise ValueError(f"method='newton' needs a twice-differentiable objective with a Hessian; "
                     f"{type(obj).__name__} has none (Hinge is not differentiable; give Function a hess)")


def _check_has_hessian(obj):
    from .objectives import LeastSquares, Logistic, Quadratic, SmoothedHinge
    if (isinstance(obj, (Quadratic, LeastSquares, Logistic, SmoothedHinge)) and not isinstance(obj, Hinge)) or \
            (isinstance(obj, Lasso) and obj.delta > 0) or \
            (isinstance(obj, Function) and obj._hess is not None):
        return
    hessian(obj, np.zeros(obj.dim))  # raises the reason


_NEWTON_OPTIONS = {"alpha": ([Interval(float, 0, 0.5, closed="neither")], 1e-4),
                   "beta": ([_OPEN_UNIT], 0.5)}


def _newton(obj, x0, tol, max_iter, callback, verbose, options):
    r"""Damped Newton: d_k solves H_k d = -g_k (Cholesky; if H_k is not positive definite,
    H_k + tau I with tau doubled from 1e-8 ||H_k||_F until it is), then Armijo backtracking
    from t = 1 (f(x + t d) <= f(x) + alpha t g'd). Quadratic convergence near a
    minimiser with a positive definite Hessian (Nocedal & Wright, "Numerical
    Optimization", 2nd ed., sections 3.3 and 3.4 (Algorithm 3.2 with a multiple of the
    identity added); Boyd & Vandenberghe, "Convex Optimization", section 9.5)."""
    unknown = set(options) - set(_NEWTON_OPTIONS)
    if unknown:
        raise TypeError(f"method='newton' takes the options {sorted(_NEWTON_OPTIONS)}, got {sorted(unknown)}")
    o = _options(_NEWTON_OPTIONS, options)
    _check_has_hessian(obj)
    every = max(1, max_iter // 10) if verbose is True else int(verbose)
    t_start = time.perf_counter()
    x = x0.copy()
    f, g = obj.value_and_grad(x)
    nfev = ngev = 1
    tr = {"fun": [f], "grad_norm": [float(np.linalg.norm(g))], "step": [0.0], "time": [0.0]}
    status, k = _core.OPT_MAXITER, 0
    if not np.isfinite(f):
        raise ValueError("the objective is not finite at x0")
    while True:
        gn = float(np.linalg.norm(g))
        if gn <= tol:
            status = _core.OPT_CONVERGED
            break
        if k >= max_iter:
            break
        H = hessian(obj, x)
        tau = 0.0
        scale = max(float(np.linalg.norm(H)), 1e-300)
        while True:
            try:
                L = np.linalg.cholesky(H if tau == 0 else H + tau * np.eye(H.shape[0]))
                break
            except np.linalg.LinAlgError:
                tau = 1e-8 * scale if tau == 0 else 2 * tau
        d = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        slope = float(g @ d)
        if not slope < 0:
            status = _core.OPT_LINESEARCH
            break
        t = 1.0
        while True:  # each trial is one fused pass (value and gradient): the accepted one is reused
            xn = x + t * d
            fn, gnew = obj.value_and_grad(xn)
            nfev += 1
            ngev += 1
            if np.isfinite(fn) and fn <= f + o["alpha"] * t * slope:
                break
            t *= o["beta"]
            if t < 1e-20:
                break
        if t < 1e-20 or not fn < f:
            # no step decreases f: at the rounding floor (alpha t g'd is below f's last bit,
            # so f(x + t d) = f(x) passes the test) a further step would change nothing
            status = _core.OPT_LINESEARCH
            break
        x, f, g = xn, fn, gnew
        k += 1
        gn = float(np.linalg.norm(g))
        for key, v in (("fun", f), ("grad_norm", gn), ("step", t), ("time", time.perf_counter() - t_start)):
            tr[key].append(v)
        if every and (k % every == 0 or k == max_iter):
            emit(_log, logging.INFO, f"[convq.minimize] iter {k:>7}  f = {f:.10g}  |g| = {gn:.3e}  t = {t:.3e}")
        if callback is not None and callback(x.copy(), dict(k=k, fun=float(f), grad_norm=gn, step=float(t))):
            status = _core.OPT_CALLBACK
            break
    return OptimizeResult(x=x, fun=float(f), grad_norm=float(np.linalg.norm(g)), nit=k, nfev=nfev, ngev=ngev,
                          success=status in _SUCCESS, status=status, message=_STATUS[status], method="newton",
                          trace={key: np.asarray(v, dtype=float) for key, v in tr.items()})


def _make_callback(callback, every, max_iter):
    if callback is None and not every:
        return None
    t0 = time.perf_counter()

    def cb(k, x, f, g, t):
        if every and (k % every == 0 or k == max_iter):
            emit(_log, logging.INFO, f"[convq.minimize] iter {k:>7}  f = {f:.10g}  |g| = {g:.3e}  t = {t:.3e}  "
                 f"({time.perf_counter() - t0:.2f} s)")
        if callback is not None:
            return bool(callback(np.array(x, copy=True), dict(k=int(k), fun=float(f), grad_norm=float(g),
                                                              step=float(t))))
        return False
    return cb


# ---- LASSO -----------------------------------------------------------------------------------

_LASSO_METHODS = ("auto", "cd", "admm", "interior-point", "ssnal", "continuation", "fista", "proximal")
_LASSO_CONSTRAINTS = {
    "method": [Options(_LASSO_METHODS)],
    "tol": [_POSITIVE, None],
    "max_iter": [Interval(int, 1, None), None],
    "mu0": [_NONNEGATIVE, None],
    "eta": [_OPEN_UNIT],
    "delta_factor": [_POSITIVE],
    "ws_start": [Interval(int, 1, None)],
    "anderson": [Interval(int, 0, 10)],
    "rho": [_POSITIVE, None],
}
# tol and max_iter when left at None, by method (their meaning differs: see the docstring)
_LASSO_DEFAULTS = {"cd": (1e-4, 10000), "admm": (1e-4, 100000), "interior-point": (1e-10, 200), "ssnal": (1e-6, 200),
                   "continuation": (1e-8, 10000), "fista": (1e-8, 10000), "proximal": (1e-8, 10000)}


class _SparseLasso:
    """The LASSO's data with a scipy.sparse A, in the CSC form the coordinate-descent kernel reads."""

    def __init__(self, A, b, mu):
        if A.ndim != 2 or A.dtype.kind not in "biuf":
            raise TypeError(f"A must be a real 2-D sparse matrix, got {A.ndim}-D of dtype {A.dtype}")
        A = A.tocsc().astype(np.float64, copy=False)
        if not A.has_canonical_format:  # sorted row indices, no duplicates (duplicates would miscount ||A_j||)
            A = A.copy()
            A.sum_duplicates()
        check_finite(A.data, "A (its stored entries)")
        self.A = A
        self.b = as_vector(b, "b", size=A.shape[0])
        self.mu = check_positive(mu, "mu", allow_zero=True)
        self.m, self.dim = A.shape

    def cd_data(self, engine):
        """The kernel's A: the CSC tuple for C, the dense transpose for the NumPy twin."""
        if engine == "c":
            return (self.A.indptr.astype(np.int64), self.A.indices.astype(np.int64), self.A.data, self.m)
        return np.ascontiguousarray(self.A.toarray().T)


_sparse = is_sparse


def lasso(A: Any, b: ArrayLike, mu: float, method: str = "auto", *, x0: Optional[ArrayLike] = None,
          tol: Optional[float] = None, max_iter: Optional[int] = None, mu0: Optional[float] = None,
          eta: float = 0.1, delta_factor: float = 1e-3, polish: bool = True, verbose: Union[bool, int] = False,
          ws_start: int = 10, anderson: int = 5, rho: Optional[float] = None,
          engine: str = "auto", threads: Optional[int] = None, progress: Any = None) -> OptimizeResult:
    r"""Solve the LASSO  min_x 1/2 ||Ax - b||^2 + mu ||x||_1.

    Methods
    -------
    ``A`` is a dense matrix, or a scipy.sparse one (any format; used as CSC, each column
    operation then costs the column's non-zeros, not m) for ``"cd"`` and ``"auto"``.

    ``"cd"`` (what ``"auto"`` picks for mu > 0): coordinate descent on working sets with
    Anderson extrapolation, stopped on the duality gap — the approach of Massias, Gramfort &
    Salmon, "Celer: a Fast Solver for the Lasso with Dual Extrapolation" (ICML 2018), with the
    extrapolation of Bertrand & Massias, "Anderson acceleration of coordinate descent"
    (AISTATS 2021); the C loop is ``csrc/optimize/cq_lasso_cd.c``. Each outer step computes
    the dual point theta = r / max(1, ||A'r||_inf / mu) (r = b - Ax), which is feasible for
    the dual problem  max <theta, b> - 1/2 ||theta||^2  s.t. ||A'theta||_inf <= mu, so the gap
    P(x) - D(theta) bounds the suboptimality P(x) - P*; the run stops when
    gap <= tol ||b||^2, scikit-learn's convention (default tol = 1e-4, its default).
    ``ws_start`` is the first working-set size, ``anderson`` the extrapolation memory K
    (0 switches it off); ``max_iter`` caps the coordinate-descent epochs (default 10000).

    ``"admm"``: the alternating direction method of multipliers on the split x = z (Boyd et
    al., "Distributed Optimization and Statistical Learning via the Alternating Direction
    Method of Multipliers", 2011, section 6.4): a ridge solve with one Cholesky factor,
    soft thresholding and the multiplier update, rho rebalanced by the residual rule of
    their section 3.4.1 (``rho`` sets the start; default the mean eigenvalue of A'A); it
    stops on the same duality gap as ``"cd"`` (``tol`` default 1e-4, ``max_iter`` 100000).

    ``"interior-point"``: the LASSO as the QP min 1/2||A(x+ - x-) - b||^2 + mu 1'(x+ + x-),
    x+, x- >= 0, solved by the primal-dual predictor-corrector of :func:`box_qp`; dense
    (2n x 2n Newton systems), for n up to a few thousand and high accuracy (``tol``, default
    1e-10, bounds the duality gap relative to the objective).

    ``"ssnal"``: the semismooth Newton augmented Lagrangian method of Li, Sun & Toh, "A highly
    efficient semismooth Newton augmented Lagrangian method for solving Lasso problems"
    (SIAM J. Optim. 28, 2018): the augmented Lagrangian method on the dual, each subproblem
    solved by semismooth Newton steps whose m x m systems I + sigma A_J A_J' involve only the
    columns J of A in the current active set (Cholesky, or the |J| x |J| Woodbury form when
    |J| < m), with their Armijo line search and inner stopping criteria (A), (B1), (B2).
    Dense, for high accuracy on sparse solutions; ``x0`` is the first multiplier. Stops when
    the duality gap (as for ``"cd"``) is at most tol ||b||^2 and the paper's relative KKT
    residual ||x - prox(x - A'(Ax - b))|| / (1 + ||x|| + ||Ax - b||) at most ``tol``
    (default 1e-6, as in its experiments); ``max_iter`` caps the augmented Lagrangian steps
    (default 200). Also returns ``kkt`` (that residual), ``n_newton`` and ``sigma``.

    ``"continuation"`` is the smoothing scheme of the lecture slides "Gradient method"
    (section "LASSO: smoothing strategy"): starting from mu_0 (default ||A'b||_inf), each
    stage minimises the Huber-smoothed f_delta (delta_t = 1e-3 mu_t) with BB steps
    (Zhang-Hager nonmonotone search), stops when |f(x_k) - f(x_{k-1})| < 10^{-4-t} or
    ||grad f_delta|| < 10^{-1-t}, and sets mu_{t+1} = max(eta mu_t, mu), eta = 0.1. The
    smoothing leaves an O(mu delta n) bias; with ``polish=True`` (default) a final FISTA run on
    the exact objective from the continuation's point removes it (``polish=False`` for the
    slides' scheme alone). ``"fista"`` / ``"proximal"``: accelerated / plain proximal
    gradient with backtracking. For these three, ``tol`` (default 1e-8) is the gradient-
    mapping tolerance of :func:`minimize` and ``max_iter`` (default 10000) its iteration cap.

    scikit-learn's ``Lasso(alpha)`` minimises 1/(2m)||Ax - b||^2 + alpha ||x||_1, the same
    problem with alpha = mu / m.

    ``engine``: "auto" or "c" runs the C loops of ``"cd"`` and of the :func:`minimize`-based
    methods, "python" their NumPy twins (:func:`convq.slow.optimize.lasso_cd` is
    bit-identical to C; with a sparse ``A`` it runs on ``A.toarray()``); ``"admm"``,
    ``"interior-point"`` and ``"ssnal"`` are NumPy/LAPACK code either way.

    ``threads``: threads of the objective's C passes for the :func:`minimize`-based methods
    (None: :func:`convq.default_threads` for the objective family); ``"cd"`` runs on one
    thread by design (each coordinate step depends on the last). ``progress`` (None, bool
    or callable(done, total)) shows the C loop's epochs or iterations
    (:mod:`convq._progress`); the result does not change.

    Returns
    -------
    OptimizeResult; for ``"cd"`` also ``gap``, ``dual``, ``n_outer``, ``ws_size`` and
    ``n_extrapolated``; for the continuation ``stages`` (list of (mu_t, nit)).
    """
    with progress_scope(progress, "lasso"):
        return _lasso(A, b, mu, method, x0, tol, max_iter, mu0, eta, delta_factor, polish, verbose, ws_start,
                      anderson, rho, engine, threads)


def _lasso(A, b, mu, method, x0, tol, max_iter, mu0, eta, delta_factor, polish, verbose, ws_start, anderson, rho,
           engine, threads):
    validate(_LASSO_CONSTRAINTS, dict(method=method, tol=tol, max_iter=max_iter, mu0=mu0, eta=eta,
                                      delta_factor=delta_factor, ws_start=ws_start, anderson=anderson, rho=rho))
    engine = resolve_engine(engine, True)
    obj: Any   # a Lasso objective, or the sparse data of method 'cd' (only "cd" reads it)
    if _sparse(A):
        if method not in ("auto", "cd"):
            raise TypeError(f"A: a sparse matrix works with method 'cd' or 'auto', got method={method!r} "
                            f"(pass A.toarray() for the others)")
        obj = _SparseLasso(A, b, mu)
        if obj.mu == 0:
            raise ValueError("mu must be > 0 with a sparse A (method 'cd'), got 0")
    else:
        obj = Lasso(A, b, mu, threads=threads)
    x = np.zeros(obj.dim) if x0 is None else as_vector(x0, "x0", size=obj.dim).copy()
    if method == "auto":
        method = "cd" if obj.mu > 0 else "fista"
    tol = float(_LASSO_DEFAULTS[method][0] if tol is None else tol)
    max_iter = int(_LASSO_DEFAULTS[method][1] if max_iter is None else max_iter)
    ws_start, anderson, eta, delta_factor = int(ws_start), int(anderson), float(eta), float(delta_factor)
    rho = None if rho is None else float(rho)
    if method == "admm":
        from ._admm import lasso_admm
        if obj.mu == 0:
            raise ValueError("method='admm' needs mu > 0 (its stopping rule is the duality gap); use 'fista' "
                             "for least squares")
        bb = float(obj.b @ obj.b)
        z, k, ok, gap, primal, dual, rho_end = lasso_admm(obj.A, obj.b, obj.mu, x, tol=tol, max_iter=max_iter,
                                                          rho=rho)
        message = (f"converged: duality gap {gap:.3g} <= tol ||b||^2 = {tol * bb:.3g}" if ok else
                   f"stopped after {k} iterations with duality gap {gap:.3g} > tol ||b||^2 = {tol * bb:.3g}")
        return OptimizeResult(x=z, fun=float(primal), grad_norm=float("nan"), nit=int(k), nfev=0, ngev=0,
                              success=bool(ok), status=_core.OPT_CONVERGED if ok else _core.OPT_MAXITER,
                              message=message, method="lasso/admm", gap=float(gap), dual=float(dual),
                              rho=float(rho_end))
    if method == "interior-point":
        n = obj.dim
        G = obj.A.T @ obj.A
        Atb = obj.A.T @ obj.b
        Q = np.block([[G, -G], [-G, G]])
        c = np.concatenate([obj.mu - Atb, obj.mu + Atb])
        r = box_qp(Q, c, np.zeros(2 * n), None, tol=tol, max_iter=max_iter)
        xs = r.x[:n] - r.x[n:]
        from ._admm import lasso_gap
        primal, dual, gap = lasso_gap(obj.A, obj.b, xs, obj.mu) if obj.mu > 0 else (obj.value(xs), np.nan, np.nan)
        return OptimizeResult(x=xs, fun=float(obj.value(xs)), grad_norm=float("nan"), nit=r.nit, nfev=0, ngev=0,
                              success=r.success, status=r.status, message=r.message, method="lasso/interior-point",
                              gap=float(gap), dual=float(dual))
    if method == "ssnal":
        from ._ssnal import lasso_ssnal
        if obj.mu == 0:
            raise ValueError("method='ssnal' needs mu > 0 (its dual point scales by 1/mu); use 'fista' for "
                             "least squares")
        bb = float(obj.b @ obj.b)
        xs, k, n_newton, ok, primal, dual, gap, eta, sigma = lasso_ssnal(obj.A, obj.b, obj.mu, x, tol=tol,
                                                                        max_iter=max_iter)
        message = (f"converged: duality gap {gap:.3g} <= tol ||b||^2 = {tol * bb:.3g}, KKT residual {eta:.3g}"
                   if ok else f"stopped after {k} iterations with duality gap {gap:.3g} (tol ||b||^2 = "
                   f"{tol * bb:.3g}) and KKT residual {eta:.3g} (tol {tol:.3g})")
        return OptimizeResult(x=xs, fun=float(obj.value(xs)), grad_norm=float("nan"), nit=int(k), nfev=0, ngev=0,
                              success=bool(ok), status=_core.OPT_CONVERGED if ok else _core.OPT_MAXITER,
                              message=message, method="lasso/ssnal", gap=float(gap), dual=float(dual),
                              kkt=float(eta), n_newton=int(n_newton), sigma=float(sigma))
    if method == "cd":
        if obj.mu == 0:
            raise ValueError("method='cd' needs mu > 0 (its dual point scales by 1/mu); use 'fista' for "
                             "least squares")
        bb = float(obj.b @ obj.b)
        t0 = time.perf_counter()
        (xs, primal, dual, gap, n_outer, n_epochs, n_extr, ws_size,
         converged) = (_core._lasso_cd if engine == "c" else slow_lasso_cd)(
            obj.cd_data(engine) if isinstance(obj, _SparseLasso) else obj.A.T, obj.b, x, obj.mu, tol * bb, 1000,
            max_iter, ws_start, anderson)
        status = _core.OPT_CONVERGED if converged else _core.OPT_MAXITER
        message = (f"converged: duality gap {gap:.3g} <= tol ||b||^2 = {tol * bb:.3g}" if converged else
                   f"stopped after {n_epochs} epochs with duality gap {gap:.3g} > tol ||b||^2 = {tol * bb:.3g}")
        if verbose:
            emit(_log, logging.INFO, f"lasso/cd: {message} ({n_outer} working sets, last of {ws_size} features, "
                 f"{time.perf_counter() - t0:.3g} s)")
        return OptimizeResult(x=xs, fun=float(primal), grad_norm=float("nan"), nit=int(n_epochs), nfev=0,
                              ngev=0, success=bool(converged), status=status, message=message, method="lasso/cd",
                              gap=float(gap), dual=float(dual), n_outer=int(n_outer), ws_size=int(ws_size),
                              n_extrapolated=int(n_extr))
    if method in ("fista", "proximal"):
        return minimize(obj, x, method=method, step="armijo", tol=tol, max_iter=max_iter, verbose=verbose,
                        engine=engine)
    mu = obj.mu
    if mu0 is None:
        mu0 = float(np.max(np.abs(obj.A.T @ obj.b)))
    mu_t = max(float(mu0), mu)
    stages, total, nfev, ngev = [], 0, 0, 0
    traces = []
    stage = 0
    while True:
        sub = (Lasso(obj.A, obj.b, mu_t, threads=threads).smooth(delta_factor * mu_t) if mu_t > 0 else
               Lasso(obj.A, obj.b, 0.0, threads=threads))
        r = minimize(sub, x, method="bb", nonmonotone="average", tol=10.0 ** (-1 - stage),
                     ftol=10.0 ** (-4 - stage), max_iter=max_iter, verbose=verbose, engine=engine)
        x = r.x
        stages.append((mu_t, r.nit))
        total += r.nit
        nfev += r.nfev
        ngev += r.ngev
        traces.append(r.trace)
        if mu_t <= mu:
            break
        mu_t = max(mu_t * eta, mu)
        stage += 1
    if polish:
        r = minimize(obj, x, method="fista", step="armijo", tol=tol, max_iter=max_iter, verbose=verbose,
                     engine=engine)
        x = r.x
        total += r.nit
        nfev += r.nfev
        ngev += r.ngev
        traces.append(r.trace)
        stages.append(("polish", r.nit))
    F = obj.value(x)
    trace = {k: np.concatenate([t[k] for t in traces]) for k in traces[0]}
    status = r.status
    return OptimizeResult(x=x, fun=float(F), grad_norm=float(r.grad_norm), nit=total, nfev=nfev, ngev=ngev,
                          success=status in _SUCCESS, status=status, message=_STATUS[status],
                          method="lasso/continuation", stages=stages, trace=trace)


class LassoPath(Result):
    """Result of :func:`lasso_path`: ``mus`` (decreasing), ``coefs`` (len(mus) x n, row i the
    solution at mus[i]), ``gaps`` (duality gaps), ``n_iter`` (coordinate-descent epochs per
    mu), ``converged`` (per mu) and ``tol``."""

    _order = ("mus", "coefs", "gaps", "n_iter", "converged", "tol")


_LASSO_PATH_CONSTRAINTS = {
    "n_mus": [Interval(int, 1, 10**6)],
    "eps": [_OPEN_UNIT],
    "tol": [_POSITIVE],
    "max_iter": [Interval(int, 1, None)],
    "ws_start": [Interval(int, 1, None)],
    "anderson": [Interval(int, 0, 10)],
}


def lasso_path(A: ArrayLike, b: ArrayLike, mus: Optional[ArrayLike] = None, *, n_mus: int = 100, eps: float = 1e-3,
               tol: float = 1e-4, max_iter: int = 10000, ws_start: int = 10, anderson: int = 5,
               engine: str = "auto", progress: Any = None) -> "LassoPath":
    r"""The LASSO solutions x(mu) of  min_x 1/2 ||Ax - b||^2 + mu ||x||_1  along a grid of mu.

    ``mus`` defaults to ``n_mus`` values spaced evenly in log scale from
    mu_max = ||A'b||_inf (where x(mu) = 0 starts) down to ``eps`` mu_max, as scikit-learn's
    ``lasso_path`` does (its alphas are mu / m). Each mu is solved by the working-set
    coordinate descent of :func:`lasso` (``method="cd"``) started from the previous
    solution (warm start), each to duality gap <= tol ||b||^2; the data are converted
    once for the whole path. ``engine``: "auto" or "c" runs the C loop, "python" its
    bit-identical NumPy twin (:func:`convq.slow.optimize.lasso_cd`). ``progress`` (None, bool
    or callable(done, total)) shows the values of mu done (:mod:`convq._progress`).
    """
    obj = Lasso(A, b, 0.0)
    n = obj.dim
    AT = np.ascontiguousarray(obj.A.T)  # the kernel's layout, converted once for the whole path
    mu_max = float(np.max(np.abs(AT @ obj.b))) if n else 0.0
    validate(_LASSO_PATH_CONSTRAINTS, dict(n_mus=n_mus, eps=eps, tol=tol, max_iter=max_iter, ws_start=ws_start,
                                           anderson=anderson))
    tol, max_iter, ws_start, anderson = float(tol), int(max_iter), int(ws_start), int(anderson)
    if mus is None:
        if not mu_max > 0:
            raise ValueError("A'b = 0: every mu > 0 gives x = 0; pass mus explicitly")
        mus = np.geomspace(mu_max, float(eps) * mu_max, int(n_mus))
    else:
        mus = as_vector(mus, "mus")
        if mus.size == 0 or not np.all(mus > 0):
            raise ValueError(f"mus must be a non-empty array of values > 0, got {mus!r}")
        mus = np.sort(mus)[::-1].copy()  # decreasing: each warm start comes from a sparser solution
    kernel = _core._lasso_cd if resolve_engine(engine, True) == "c" else slow_lasso_cd
    bb = float(obj.b @ obj.b)
    coefs = np.zeros((mus.size, n))
    gaps, n_iter, conv = np.zeros(mus.size), np.zeros(mus.size, dtype=np.int64), np.zeros(mus.size, dtype=bool)
    x = np.zeros(n)
    for i in progress_range(mus.size, progress, "lasso_path"):
        mu = mus[i]
        (x, _, _, gap, _, epochs, _, _, ok) = kernel(AT, obj.b, x, float(mu), tol * bb, 1000, max_iter, ws_start,
                                                     anderson)
        coefs[i], gaps[i], n_iter[i], conv[i] = x, gap, epochs, ok
    if not conv.all():
        warnings.warn(f"lasso_path: {int((~conv).sum())} of {mus.size} values of mu did not reach the duality gap "
                      f"tol ||b||^2 = {tol * bb:.3g} within max_iter = {max_iter} epochs", ConvergenceWarning,
                      stacklevel=2)
    return LassoPath(mus=mus, coefs=coefs, gaps=gaps, n_iter=n_iter, converged=conv, tol=tol)


# ---- box-constrained QP by a primal-dual interior-point method ---------------------------------

_BOX_QP_CONSTRAINTS = {"tol": [_POSITIVE], "max_iter": [Interval(int, 1, None)]}


def box_qp(Q: ArrayLike, c: ArrayLike, lo: Optional[ArrayLike] = None, hi: Optional[ArrayLike] = None, *,
           tol: float = 1e-10, max_iter: int = 200) -> OptimizeResult:
    r"""Solve the convex QP  min_x 1/2 x'Qx + c'x  subject to  lo <= x <= hi.

    A primal-dual interior-point method with Mehrotra's predictor-corrector (Nocedal &
    Wright, "Numerical Optimization", 2nd ed., section 16.6): each iteration solves one
    symmetric positive definite Newton system Q + Z_l S_l^{-1} + Z_u S_u^{-1} by Cholesky
    (LAPACK), so it suits dense problems up to a few thousand variables and reaches high
    accuracy in a few tens of iterations. ``lo`` / ``hi`` may hold -inf / +inf (None: no
    bound); Q must be symmetric positive semidefinite. Stops when the dual residual is below
    ``tol`` (scaled by 1 + max(|c|, |Q|)) and the duality gap s'z below ``tol`` max(1, |f|).

    Returns an :class:`OptimizeResult` with ``x``, ``fun``, ``nit``, ``success``, the bound
    multipliers ``z_lo``, ``z_hi`` (>= 0: Qx + c = z_lo - z_hi at the optimum),
    ``dual_residual`` and ``gap``.
    """
    from ._interior_point import box_qp_interior_point
    from ._validation import as_matrix
    Q = as_matrix(Q, "Q")
    n = Q.shape[0]
    if Q.shape != (n, n):
        raise ValueError(f"Q must be square, got shape {Q.shape}")
    if not np.allclose(Q, Q.T, rtol=1e-12, atol=1e-12 * max(1.0, float(np.abs(Q).max(initial=0.0)))):
        raise ValueError("Q must be symmetric")
    Q = 0.5 * (Q + Q.T)
    c = as_vector(c, "c", size=n)

    def bound(v, name, inf):
        if v is None:
            return np.full(n, inf)
        v = np.asarray(v, dtype=float) if not isinstance(v, str) else v
        if isinstance(v, str) or v.dtype.kind not in "fiu" or v.ndim > 1:
            raise TypeError(f"{name} must be a real scalar or an array of length {n}, got {v!r}")
        v = np.broadcast_to(v, (n,)).astype(float) if v.ndim == 0 else v
        if v.shape != (n,):
            raise ValueError(f"{name} must have length {n}, got shape {v.shape}")
        if np.any(np.isnan(v)) or np.any(v == -inf):
            raise ValueError(f"{name} must not hold NaN or {-inf}, got {v!r}")
        return v.copy()

    lo = bound(lo, "lo", -np.inf)
    hi = bound(hi, "hi", np.inf)
    if np.any(lo > hi):
        raise ValueError(f"need lo <= hi, got lo > hi at indices {np.flatnonzero(lo > hi)[:5].tolist()}")
    validate(_BOX_QP_CONSTRAINTS, dict(tol=tol, max_iter=max_iter))
    tol, max_iter = float(tol), int(max_iter)
    fixed = lo == hi  # a fixed variable has no interior: solve for the others
    if np.any(fixed):
        free = ~fixed
        xf = lo[fixed]
        sub = box_qp(Q[np.ix_(free, free)], c[free] + Q[np.ix_(free, fixed)] @ xf, lo[free], hi[free],
                     tol=tol, max_iter=max_iter)
        x = lo.copy()
        x[free] = sub.x
        g = Q @ x + c
        z_lo, z_hi = np.maximum(g, 0.0) * fixed, np.maximum(-g, 0.0) * fixed
        z_lo[free], z_hi[free] = sub.z_lo, sub.z_hi
        return OptimizeResult(x=x, fun=float(0.5 * x @ Q @ x + c @ x), grad_norm=float("nan"), nit=sub.nit, nfev=0,
                              ngev=0, success=sub.success, status=sub.status, message=sub.message,
                              method="box_qp/interior-point", z_lo=z_lo, z_hi=z_hi,
                              dual_residual=sub.dual_residual, gap=sub.gap)
    x, zl, zu, k, ok, rd, mu = box_qp_interior_point(Q, c, lo, hi, tol=tol, max_iter=max_iter)
    f = float(0.5 * x @ Q @ x + c @ x)
    gap = mu * max(1, int(np.isfinite(lo).sum() + np.isfinite(hi).sum()))
    status = _core.OPT_CONVERGED if ok else _core.OPT_MAXITER
    message = (f"converged: dual residual {rd:.3g}, duality gap {gap:.3g}" if ok else
               f"stopped after {k} iterations: dual residual {rd:.3g}, duality gap {gap:.3g}")
    return OptimizeResult(x=x, fun=f, grad_norm=float("nan"), nit=int(k), nfev=0, ngev=0, success=bool(ok),
                          status=status, message=message, method="box_qp/interior-point", z_lo=zl, z_hi=zu,
                          dual_residual=float(rd), gap=float(gap))


# ---- linear SVM --------------------------------------------------------------------------------

_SVM_CONSTRAINTS = {
    "C": [_POSITIVE],
    "slope": [_POSITIVE],
    "intercept": [InstanceOf(bool, np.bool_, name="True or False")],
    "tol": [_POSITIVE],
    "max_iter": [Interval(int, 1, None)],
    "loss": [Options(("hinge", "squared_hinge"))],
    "rho": [_POSITIVE, None],
}


def _svm_cost(X, y, C, slope, intercept, theta, loss):
    """The primal cost of svm_dual_cd at theta: the hinge cost of ``Hinge``, or C sum_i
    (k max(0, 1 - s_i z_i))^2 + 1/2 ||w||^2 for the squared hinge."""
    if loss == "hinge":
        return Hinge(X, y, C, slope, intercept).value(theta)
    t, w = (theta[0], theta[1:]) if intercept else (0.0, theta)
    xi = slope * np.maximum(0.0, 1.0 - (2.0 * y - 1.0) * (X @ w + t))
    return C * float(xi @ xi) + 0.5 * float(w @ w)


def svm_dual_cd(X: ArrayLike, y: ArrayLike, C: float = 1.0, slope: float = 1.0, intercept: bool = True, *,
                loss: str = "hinge", tol: float = 1e-4, max_iter: int = 100000, rho: Optional[float] = None,
                rng: Any = None, engine: str = "auto", progress: Any = None) -> OptimizeResult:
    r"""The linear SVM of Lagarde, "Machine Learning Algebra", section 4.2 (the hinge cost) by dual coordinate descent.

    Minimises J(theta) = C sum_i [y_i cost_1(z_i) + (1 - y_i) cost_0(z_i)] + 1/2 ||w||^2,
    z_i = t + w'x_i, cost_1(z) = k max(0, 1 - z), cost_0(z) = k max(0, 1 + z) (labels y in
    {0, 1}, slope k, the intercept t unpenalised). With s_i = 2 y_i - 1 and U = C k its dual is

        min_a 1/2 ||sum_i a_i s_i x_i||^2 - sum_i a_i,  0 <= a_i <= U,  sum_i a_i s_i = 0,

    and w = sum_i a_i s_i x_i. Coordinates are minimised exactly one at a time in random
    order, with shrinking — Hsieh, Chang, Lin, Keerthi & Sundararajan, "A Dual Coordinate
    Descent Method for Large-scale Linear SVM" (ICML 2008), Algorithms 1 and 3, the method
    of liblinear — and the intercept's equality constraint by the method of multipliers
    (Nocedal & Wright, "Numerical Optimization", section 17.3): its multiplier is the
    intercept t. liblinear instead penalises the intercept (a constant feature), which
    changes the problem; this one is the section 4.2 cost exactly.

    ``loss="squared_hinge"`` squares the slope-k cost: C sum_i [y_i cost_1(z_i)^2 +
    (1 - y_i) cost_0(z_i)^2] + 1/2 ||w||^2, i.e. C k^2 sum_i max(0, 1 - s_i z_i)^2 (the
    L2-loss SVM of Hsieh et al.; a smooth primal). Its dual has no upper bound (U = inf) and
    adds D/2 ||a||^2 with D = 1/(2 C k^2) (Hsieh et al., section 2), so
    a_i = 2 C k^2 max(0, 1 - s_i z_i) at the optimum; the equality tolerance is then
    tol max(1, 2 C k^2).

    Stops when the spread max - min of the projected dual gradient is at most ``tol`` and
    |sum_i a_i s_i| <= tol max(1, U) (Hsieh et al.'s rule; liblinear's default is 0.1),
    or after ``max_iter`` passes over the (shrunk) coordinates. The multiplier method's
    subproblems are solved inexactly, to a spread falling from 0.1 to ``tol`` by a factor 10
    per multiplier update, and the penalty doubles when |sum_i a_i s_i| fell by less than a
    factor 4 (Nocedal & Wright, Algorithm 17.4). ``rho`` is the initial penalty (default a
    tenth of the mean ||x_i||^2). Random order from ``rng``.
    ``engine``: "auto" or "c" runs the C loop, "python" its NumPy twin
    (:func:`convq.slow.optimize.svm_dcd`: the same draws and sums, bit-identical).
    ``progress`` (None, bool or callable(done, total)) shows the passes out of ``max_iter``
    from inside the C loop (:mod:`convq._progress`); the result does not change.

    Returns
    -------
    OptimizeResult with ``x`` = theta ([t, w] with an intercept, else w), ``fun`` = J(theta),
    ``alpha`` (the dual solution), ``pg_spread``, ``eq_violation`` and ``n_outer``.
    """
    from .objectives import _data
    X, y = _data(X, y)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must be labels in {0, 1}")
    validate(_SVM_CONSTRAINTS, dict(C=C, slope=slope, intercept=intercept, loss=loss, tol=tol, max_iter=max_iter,
                                    rho=rho))
    C, slope, tol, max_iter = float(C), float(slope), float(tol), int(max_iter)
    rho = -1.0 if rho is None else float(rho)   # -1: the kernel's default penalty
    gen = as_generator(rng)
    s = 2.0 * y - 1.0
    kind = _core.SVM_SQUARED_HINGE if loss == "squared_hinge" else _core.SVM_HINGE
    kernel = _core._svm_dcd if resolve_engine(engine, True) == "c" else slow_svm_dcd
    with progress_scope(progress, "svm_dual_cd"):
        alpha, w, t, spread, eqv, epochs, outer, converged = kernel(
            X, s, np.zeros(X.shape[0]), C, slope, kind, tol, max_iter, 1000, bool(intercept), rho, gen)
    theta = np.concatenate([[t], w]) if intercept else w
    fun = _svm_cost(X, y, C, slope, bool(intercept), theta, loss)
    status = _core.OPT_CONVERGED if converged else _core.OPT_MAXITER
    message = (f"converged: projected-gradient spread {spread:.2g} <= tol" if converged else
               f"stopped after {epochs} passes: projected-gradient spread {spread:.2g}, "
               f"|sum a_i s_i| = {eqv:.2g} (tol {tol:g})")
    return OptimizeResult(x=theta, fun=float(fun), grad_norm=float("nan"), nit=int(epochs), nfev=0, ngev=0,
                          success=bool(converged), status=status, message=message, method="svm/dual-cd",
                          alpha=alpha, pg_spread=float(spread), eq_violation=float(eqv), n_outer=int(outer))
