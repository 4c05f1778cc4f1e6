"""Run the paper's experiment on a problem: quantized SGD / mirror descent with several
quantizers, suboptimality against iterations and against bits communicated, beside the
minimax rate U(T, p) of Mayekar & Tyagi, eq. (4).
"""
from __future__ import annotations

import copy
import math

import numpy as np

from .._result import Result
from .._rng import spawn
from .._params import Interval, Options, validate
from .._progress import logger, progress_scope
from .._validation import check_int, check_quantizer
from .domains import LpBall
from .methods import mirror_descent, mirror_exponent, sgd, theory_step

__all__ = ["Comparison", "compare", "BudgetComparison", "compare_budgets"]

_log = logger.getChild("stochastic")


_COMPARE_CONSTRAINTS = {
    "T": [Interval(int, 1, None)],
    "repeats": [Interval(int, 1, None)],
    "method": [Options(("sgd", "mirror")), None],
    "record_every": [Interval(int, 1, None), None],
    "progress": [bool, callable, None],
}


def _name(q):
    if q is None:
        return "unquantized"
    return repr(q)


class _TableResult(Result):
    """A result whose ``rows`` print as its :meth:`table` (on their own lines, indented)."""

    def _repr_value(self, key, value):
        if key == "rows":
            return "\n" + "\n".join("    " + line for line in self.table().splitlines())
        return super()._repr_value(key, value)

    def table(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def _table(head, lines):
    return "\n".join([head, "-" * len(head), *lines])


class Comparison(_TableResult):
    """Result of :func:`compare`: a dict with attribute access (``c.rows == c["rows"]``)
    whose repr shows the rows as :meth:`table` does.

    rows : list of dicts, one per quantizer: ``name``, ``bits_per_step``, ``total_bits``,
        ``subopt_mean``, ``subopt_ci95`` (half-width, 1.96 standard errors over repeats),
        ``factor`` (mean suboptimality / the unquantized one, if it was run), ``alpha0``,
        ``bound`` (the explicit bound of Theorem 2.3 for that alpha0), ``time``, ``finals``
        (the final suboptimality of every repeat), ``x`` (the first repeat's output) and
        ``note`` (e.g. when a baseline without alpha0 ran with the unquantized step).
    traces : dict name -> dict(iteration, bits, subopt_mean, subopt_se)
    """

    _order = ("method", "T", "repeats", "problem", "rows", "traces")

    def _repr_value(self, key, value):
        if key == "traces":
            return f"dict of {len(value)} traces ({', '.join(map(str, value))})"
        return super()._repr_value(key, value)

    def table(self) -> str:
        head = f"{'quantizer':<34} {'bits/step':>10} {'total bits':>12} {'subopt (mean +- 95%)':>24} {'x unquant.':>10} {'bound':>9} {'time':>7}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            fac = "-" if r["factor"] is None else f"{r['factor']:.2f}"
            bnd = "-" if r["bound"] is None else f"{r['bound']:.3g}"
            lines.append(f"{r['name'][:34]:<34} {r['bits_per_step']:>10} {r['total_bits']:>12.4g} "
                         f"{r['subopt_mean']:>12.4g} +- {r['subopt_ci95']:<9.2g} {fac:>10} {bnd:>9} {r['time']:>6.2f}s")
        return "\n".join(lines)

    def minimax_rate(self, t):
        """U(t, p) of eq. (4) with c1 = 1 for this problem (D = l_p diameter, B = oracle bound)."""
        from ..bounds import minimax_rate
        prob = self.problem
        D = prob.domain.diameter(prob.d, norm=prob.p)
        return np.array([minimax_rate(int(ti), prob.d, prob.p, D, prob.q_bound) for ti in np.atleast_1d(t)])

    def figure(self, path=None, title=None):
        """Suboptimality vs iteration and vs total bits (log scales), U(t, p) drawn in.
        Needs matplotlib; saves a PNG when `path` is given. Returns the Figure."""
        # No backend is forced here: saving a PNG works with any backend, and forcing Agg
        # would stop figures from showing inline in Jupyter.
        import matplotlib.pyplot as plt
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
        # Curves of different quantizers often lie on top of each other (at low noise every
        # unbiased quantizer tracks the unquantized run): give each its own line style and
        # marker so that covered curves stay visible, and draw the unquantized run last, in black.
        styles = [("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ("-", "v"), ("--", "P"), ("-.", "X"),
                  (":", "*"), ("-", "<"), ("--", ">")]
        names = sorted(self.traces, key=lambda n: n == "unquantized")
        for i, name in enumerate(names):
            tr = self.traces[name]
            y = np.maximum(tr["subopt_mean"], 1e-16)
            ls, mk = styles[i % len(styles)]
            kw = dict(ls=ls, marker=mk, markevery=max(1, len(y) // 8), ms=4, lw=1.4, label=name)
            if name == "unquantized":
                kw.update(color="k", lw=2.2, ms=5, zorder=5, alpha=0.8)
            ax1.loglog(tr["iteration"], y, **kw)
            ax2.loglog(np.maximum(tr["bits"], 1), y, **kw)
        it = next(iter(self.traces.values()))["iteration"]
        ax1.loglog(it, self.minimax_rate(it), color="0.4", ls=(0, (1, 3)), lw=1, label="U(t, p), c1 = 1")
        ax1.set_xlabel("iteration t")
        ax2.set_xlabel("bits communicated")
        for ax in (ax1, ax2):
            ax.set_ylabel("f(x_avg) - f*")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(title or f"{self.method} on {type(self.problem).__name__}, p = {self.problem.p:g}, "
                              f"d = {self.problem.d}, T = {self.T}, {self.repeats} repeats")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig


def compare(problem, quantizers, T, repeats=5, rng=None, step="theory", x0=None, method=None,
            record_every=None, progress=None) -> Comparison:
    """Quantized SGD (p >= 2) or mirror descent (p < 2) on `problem` with each quantizer.

    Parameters
    ----------
    problem : an oracle with ``sample``, ``value``, ``f_star``, ``domain``, ``p``, ``d``
        and ``q_bound`` (e.g. :func:`bernoulli_product_problem`, or a MinibatchOracle with
        a domain and f_star).
    quantizers : mapping name -> quantizer (None = unquantized), or a sequence of them.
    T : iterations;  repeats : independent runs per quantizer (seeds spawned from rng).
    step : "theory" (Theorem 2.3's step for each quantizer's alpha0), a float, or a callable.
    x0 : start (default: the origin projected onto the domain).
    method : "sgd" or "mirror" (default by p: sgd for p >= 2).
    progress : None, bool or callable(done, total)
        Show progress over all ``len(quantizers) * repeats * T`` iterations, from inside
        the C loop (a tqdm bar, or ``progress(done, total)`` about 10 times a second; see
        :mod:`convq._progress`). The results do not change.
    """
    with progress_scope(progress, "compare") as bar:
        return _compare(problem, quantizers, T, repeats, rng, step, x0, method, record_every, progress, bar)


def _compare(problem, quantizers, T, repeats, rng, step, x0, method, record_every, progress, bar):
    validate(_COMPARE_CONSTRAINTS, dict(T=T, repeats=repeats, method=method, record_every=record_every,
                                        progress=progress))
    T, repeats = int(T), int(repeats)
    if not hasattr(problem, "f_star"):
        raise ValueError("compare needs a problem with a known optimal value f_star")
    if isinstance(quantizers, dict):
        items = list(quantizers.items())
    elif isinstance(quantizers, (list, tuple)):
        items = [(_name(q), q) for q in quantizers]
    else:
        raise TypeError(f"quantizers must be a dict name -> quantizer or a list of quantizers (None for "
                        f"unquantized), got {type(quantizers).__name__}")
    if not items:
        raise ValueError("quantizers is empty: give at least one quantizer (None for unquantized)")
    for _, q in items:
        check_quantizer(q, "quantizers")
    p = problem.p
    method = method or ("sgd" if p >= 2 else "mirror")
    d = problem.d
    if x0 is None:
        x0 = problem.domain.project(np.zeros(d)) if problem.domain is not None else np.zeros(d)
    record_every = record_every or max(1, T // 100)
    seeds = spawn(rng, repeats)  # the same streams for every quantizer (common random numbers)
    rows, traces = [], {}
    r_exp = mirror_exponent(p, d) if method == "mirror" else None
    for i, (name, q) in enumerate(items):
        _log.info("compare: [%d/%d] %s: %d run(s) of T = %d", i + 1, len(items), name, repeats, T)
        finals, curves, times = [], [], []
        res = x_first = None
        note = ""
        step_q = step
        a0q = q.alpha0(d) if q is not None and hasattr(q, "alpha0") else None
        if isinstance(step, str) and step == "theory" and q is not None and a0q is None:
            # The paper defines no alpha0 for the baselines: give them the unquantized step.
            step_q = theory_step(method, problem, problem.domain, None, T, d, r_exp)
            note = "unquantized step (no alpha0)"
        for s in range(repeats):
            bar.stage(i * repeats + s, len(items) * repeats, T)
            gen = copy.deepcopy(seeds[s])
            if method == "sgd":
                res = sgd(problem, x0, T, step_q, quantizer=q, rng=gen, record_every=record_every)
            else:
                res = mirror_descent(problem, x0, T, p, step_q, quantizer=q, rng=gen, record_every=record_every)
            if x_first is None:
                x_first = res.x
            finals.append(res.trace["suboptimality"][-1])
            curves.append(res.trace["suboptimality"])
            times.append(res.time)
        finals = np.array(finals)
        curves = np.array(curves)
        a0 = float(problem.q_bound) if q is None else (None if a0q is None else float(a0q))
        bound = None
        if a0 is not None and isinstance(problem.domain, LpBall):
            if method == "sgd":
                bound = problem.domain.diameter(d, 2.0) * a0 / math.sqrt(T)
            elif problem.domain.p <= r_exp + 1e-15 or problem.domain.p == 1.0:
                bound = problem.domain.radius * a0 / math.sqrt((r_exp - 1.0) * T)
        se = finals.std(ddof=1) / math.sqrt(repeats) if repeats > 1 else float("nan")
        rows.append({"name": name, "bits_per_step": int(res.bits_per_step), "total_bits": int(res.total_bits),
                     "subopt_mean": float(finals.mean()), "subopt_ci95": float(1.96 * se), "factor": None,
                     "alpha0": a0, "bound": bound, "time": float(np.mean(times)), "finals": finals,
                     "x": x_first, "note": note})
        traces[name] = {"iteration": res.trace["iteration"], "bits": res.trace["bits"],
                        "subopt_mean": curves.mean(axis=0),
                        "subopt_se": curves.std(axis=0, ddof=1) / math.sqrt(repeats) if repeats > 1 else curves[0] * 0}
    base = next((r for r in rows if r["name"] == "unquantized"), None)
    if base is not None and base["subopt_mean"] > 0:
        for r in rows:
            r["factor"] = r["subopt_mean"] / base["subopt_mean"]
    return Comparison(rows=rows, traces=traces, problem=problem, T=T, method=method, repeats=repeats)


class BudgetComparison(_TableResult):
    """Result of :func:`compare_budgets`: the section 7 trade-off at fixed T.

    rows : list of dicts, one per budget: ``r``, ``name`` (the quantizer
        :func:`convq.quantize.for_budget` chose), ``bits_per_step`` (<= r), ``alpha0``,
        ``subopt_mean``, ``subopt_ci95``, ``lower`` (:func:`convq.bounds.tradeoff_lower`),
        ``lower_explicit`` (the larger of :func:`convq.bounds.hard_instance_lower` over the
        constructions that apply to p: the same bound with the constants of the proof),
        ``upper`` (:func:`convq.bounds.tradeoff_upper`).
    comparison : the :class:`Comparison` of the runs (traces, finals).
    """

    _order = ("T", "p", "d", "rows", "comparison")

    def _repr_value(self, key, value):
        if key == "comparison":
            return f"Comparison of {len(value.rows)} runs"
        return super()._repr_value(key, value)

    def table(self) -> str:
        return _table(f"{'r':>8} {'bits':>8} {'quantizer':<44} {'subopt (mean +- 95%)':>24} {'lower':>9} {'upper':>9}",
                      [f"{r['r']:>8} {r['bits_per_step']:>8} {r['name'][:44]:<44} {r['subopt_mean']:>12.4g} +- "
                       f"{r['subopt_ci95']:<9.2g} {r['lower']:>9.3g} {r['upper']:>9.3g}" for r in self.rows])


def _explicit_lower(bounds, T, r, d, p, D, B):
    """Section 6 with the proof's constants: Paninski-type (p >= 2) and Bernoulli-product."""
    kinds = ("paninski", "bernoulli") if p >= 2 else ("bernoulli",)
    return max(bounds.hard_instance_lower(k, T, r, d, p, D, B) for k in kinds)


def compare_budgets(problem, budgets, T, repeats=3, rng=None, c0=1.0, c1=1.0, method=None, *,
                    progress=None) -> BudgetComparison:
    """Mayekar & Tyagi, section 7: the error of quantized SGD (p >= 2) or mirror descent
    (p < 2) at fixed T as the bit budget r per gradient varies, beside the bounds on
    E0*(T, r, p).

    For every r in ``budgets`` the quantizer is :func:`convq.quantize.for_budget` (r, p, d,
    B) (SimQ+ with the largest k that fits for p >= 2, coordinate sampling composed with the
    section 5 quantizer for p in [1, 2)), run by :func:`compare` with the step of Theorem
    2.3 for its alpha0; the rows carry :func:`convq.bounds.tradeoff_lower` (section 6, with
    ``c0``) and :func:`convq.bounds.tradeoff_upper` (Theorem 2.3, with ``c1``), where D is
    the domain's l_p diameter and B the oracle's bound ``problem.q_bound``.

    Parameters
    ----------
    problem : as for :func:`compare` (e.g. :func:`bernoulli_product_problem`).
    budgets : sequence of ints >= 1, the budgets r (bits per gradient).
    T, repeats, rng, method, progress : as for :func:`compare`.
    c0, c1 : the constants of Theorem 2.2 used in the bounds (c1 >= c0 > 0).
    """
    from .. import bounds
    from ..quantize import for_budget
    validate(_COMPARE_CONSTRAINTS, dict(T=T, repeats=repeats, method=method, record_every=None, progress=progress))
    if isinstance(budgets, (str, bytes)) or not hasattr(budgets, "__iter__"):
        raise TypeError(f"budgets must be a sequence of bit budgets r, got {type(budgets).__name__}")
    budgets = [check_int(r, f"budgets[{i}]", minimum=1) for i, r in enumerate(budgets)]
    if not budgets:
        raise ValueError("budgets is empty: give at least one bit budget r")
    bounds._ratio(c0, c1)  # c1 >= c0 > 0
    p, d, B = problem.p, problem.d, float(problem.q_bound)
    D = problem.domain.diameter(d, norm=p)
    quantizers = {f"r={r}": for_budget(r, p, d, B) for r in budgets}
    comp = compare(problem, quantizers, T, repeats=repeats, rng=rng, method=method, progress=progress)
    rows = []
    for r, row in zip(budgets, comp.rows):
        rows.append({"r": r, "name": repr(quantizers[row["name"]]), "bits_per_step": row["bits_per_step"],
                     "alpha0": row["alpha0"], "subopt_mean": row["subopt_mean"], "subopt_ci95": row["subopt_ci95"],
                     "lower": bounds.tradeoff_lower(T, r, d, p, D, B, c0),
                     "lower_explicit": _explicit_lower(bounds, T, r, d, p, D, B),
                     "upper": bounds.tradeoff_upper(T, r, d, p, D, B, c1)})
    return BudgetComparison(rows=rows, comparison=comp, T=int(T), p=p, d=d)
