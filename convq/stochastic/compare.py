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
from .._validation import check_quantizer
from .domains import LpBall
from .methods import mirror_descent, mirror_exponent, sgd, theory_step

__all__ = ["Comparison", "compare"]


_COMPARE_CONSTRAINTS = {
    "T": [Interval(int, 1, None)],
    "repeats": [Interval(int, 1, None)],
    "method": [Options(("sgd", "mirror")), None],
    "record_every": [Interval(int, 1, None), None],
    "progress": [callable, None],
}


def _name(q):
    if q is None:
        return "unquantized"
    return repr(q)


class Comparison(Result):
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
        if key == "rows":
            return "\n" + "\n".join("    " + line for line in self.table().splitlines())
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
    progress : optional callable(message) for progress lines.
    """
    validate(_COMPARE_CONSTRAINTS, dict(T=T, repeats=repeats, method=method, record_every=record_every,
                                        progress=progress))
    T, repeats = int(T), int(repeats)
    if not hasattr(problem, "f_star"):
        raise ValueError("compare needs a problem with a known optimal value f_star")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be None or a callable(message), got {type(progress).__name__}")
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
        if progress:
            progress(f"[{i + 1}/{len(items)}] {name}: {repeats} run(s) of T = {T}")
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
