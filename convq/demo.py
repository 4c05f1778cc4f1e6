"""``python -m convq demo``: the main job.

L2-regularised logistic regression (the cross-entropy cost of Lagarde, "Machine Learning Algebra",
section 2.3, + lam/(2m)||theta_r||^2)
trained by quantized stochastic optimisation (Mayekar & Tyagi, Theorem 2.3): projected SGD
for p >= 2, mirror descent for p < 2, on minibatch gradients whose almost-sure l_q bound B
is computed from the data, with unquantized gradients and with SimQ, SimQ+, RATQ, the l_p
composite of Theorem 3.1 and two baselines (QSGD, TernGrad). Prints a table (bits per
step, total bits, final suboptimality, accuracy, time) and writes a PNG when matplotlib is
installed. Data: the breast-cancer set shipped with scikit-learn when it is installed, else
a built-in synthetic set (no network either way).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

DEFAULT_QUANTIZERS = ("unquantized", "simq", "simqplus", "ratq", "lp", "qsgd", "terngrad")
ALL_QUANTIZERS = DEFAULT_QUANTIZERS + ("scaledsign", "randk", "topk")


def add_job_arguments(p, *, T=50000, repeats=3, batch_help="minibatch size of the gradient oracle",
                      out="convq-demo-output"):
    """The options the demo shares with ``python -m convq.distributed`` (each command keeps
    its own defaults for T, repeats and the output folder)."""
    p.add_argument("--dataset", choices=("auto", "breast_cancer", "synthetic"), default="auto",
                   help="data set: breast_cancer (needs scikit-learn), synthetic (built in), or auto "
                        "(breast_cancer if scikit-learn is installed) [default: auto]")
    p.add_argument("--p", type=float, default=2.0,
                   help="geometry exponent p in [1, inf] (oracle bound in the dual l_q norm; "
                        "SGD for p >= 2, mirror descent for p < 2) [default: 2]")
    p.add_argument("--T", type=int, default=T, help=f"iterations per run [default: {T}]")
    p.add_argument("--batch", type=int, default=8, help=f"{batch_help} [default: 8]")
    p.add_argument("--lam", type=float, default=1.0, help="L2 penalty lam of the logistic cost [default: 1.0]")
    p.add_argument("--quantizers", default=",".join(DEFAULT_QUANTIZERS),
                   help=f"comma-separated list from {', '.join(ALL_QUANTIZERS)} "
                        f"[default: {','.join(DEFAULT_QUANTIZERS)}]; 'unquantized' sends raw float64")
    p.add_argument("--repeats", type=int, default=repeats, help=f"independent runs per quantizer [default: {repeats}]")
    p.add_argument("--step", default="theory",
                   help="step size: 'theory' (Theorem 2.3's D/(alpha0 sqrt T) for each quantizer) or a number "
                        "[default: theory]")
    p.add_argument("--seed", type=int, default=0, help="random seed [default: 0]")
    p.add_argument("--out", default=out, help=f"output folder for the PNG [default: {out}]")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG even if matplotlib is installed")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar on stderr (tqdm if installed, else a periodic log line)")
    return p


def check_job_arguments(args):
    """Validate the shared options; returns the list of quantizer names."""
    if not (args.p >= 1):
        raise SystemExit(f"--p must be in [1, inf], got {args.p}")
    for flag, v in (("--T", args.T), ("--batch", args.batch), ("--repeats", args.repeats)):
        if v < 1:
            raise SystemExit(f"{flag} must be >= 1, got {v}")
    return [n.strip().lower() for n in args.quantizers.split(",") if n.strip()]


def _parser():
    p = argparse.ArgumentParser(prog="python -m convq demo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    return add_job_arguments(p)


def _synthetic(seed=2026):
    """569 x 30 two-class data with correlated features (fixed seed): the breast-cancer shape."""
    rng = np.random.default_rng(seed)
    m, n = 569, 30
    C = 0.6 * np.ones((n, n)) + 0.4 * np.eye(n)
    Z = rng.standard_normal((m, n)) @ np.linalg.cholesky(C).T
    w = rng.standard_normal(n) / math.sqrt(n)
    y = (Z @ w + 0.5 * rng.standard_normal(m) > 0).astype(float)
    return Z, y, "synthetic (569 x 30, built in)"


def load_data(name):
    if name in ("auto", "breast_cancer"):
        try:
            from sklearn.datasets import load_breast_cancer
        except ImportError:
            if name == "breast_cancer":
                raise SystemExit("--dataset breast_cancer needs scikit-learn: pip install scikit-learn") from None
            return _synthetic()
        X, y = load_breast_cancer(return_X_y=True)
        return X, y.astype(float), "breast cancer (569 x 30, scikit-learn)"
    return _synthetic()


def _to_norm(B_q, q, r, d):
    """A bound in the l_r norm from a bound in the l_q norm: ||g||_r <= d^max(0, 1/r - 1/q) ||g||_q."""
    inv = (lambda t: 0.0 if math.isinf(t) else 1.0 / t)
    return B_q * float(d) ** max(0.0, inv(r) - inv(q))


def make_quantizers(names, p, B, d):
    """The quantizer for each name, built for oracle outputs with ||g||_q <= B."""
    from . import quantize as Q
    from ._lp import conjugate
    q = conjugate(p)
    made = {}
    for name in names:
        if name == "unquantized":
            made[name] = None
        elif name == "simq":
            made[name] = Q.SimQ(B=_to_norm(B, q, 1.0, d))
        elif name == "simqplus":
            pp = max(p, 2.0)
            made[name] = Q.SimQPlus(B=_to_norm(B, q, pp / (pp - 1.0) if not math.isinf(pp) else 1.0, d), p=pp)
        elif name == "ratq":
            made[name] = Q.RATQ(B=_to_norm(B, q, 2.0, d))
        elif name == "lp":
            made[name] = Q.for_geometry(p, B, d)
        elif name == "qsgd":
            made[name] = Q.QSGD(levels=4)
        elif name == "terngrad":
            made[name] = Q.TernGrad()
        elif name == "scaledsign":
            made[name] = Q.ScaledSign()
        elif name == "randk":
            made[name] = Q.RandK(max(1, d // 4))
        elif name == "topk":
            made[name] = Q.TopK(max(1, d // 4))
        else:
            raise SystemExit(f"unknown quantizer {name!r}; choose from {', '.join(ALL_QUANTIZERS)}")
    return made


def merge_identical(made, d):
    """One entry per distinct quantizer: the l_p composite of Theorem 3.1 *is* SimQ+ at
    p in [2, inf) and SimQ at p = inf, so running it twice would draw two identical curves on
    top of each other; such entries are joined under one name ("simqplus = lp")."""
    entries, where = [], {}
    for name, q in made.items():
        # identical = the same resolved parameters in dimension d (the C core's own record)
        key = "unquantized" if q is None else (type(q).__name__, repr(sorted(q.params(d).items())))
        if key in where:
            entries[where[key]][0] += f" = {name}"
        else:
            where[key] = len(entries)
            entries.append([name, q])
    return dict((name, q) for name, q in entries)


def run(argv=None) -> int:
    args = _parser().parse_args(argv)
    t_start = time.perf_counter()
    from .objectives import Logistic
    from .optimize import minimize
    from .stochastic import LpBall, MinibatchOracle, compare

    names = check_job_arguments(args)
    X, y, label = load_data(args.dataset)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    obj = Logistic(X, y, lam=args.lam, intercept=True)
    d = obj.dim
    print(f"convq demo: L2-logistic regression on {label}, lam = {args.lam:g}, d = {d}")
    star = minimize(obj, np.zeros(d), method="bb", tol=1e-12, max_iter=20000)
    R = 2.0 * max(float(np.linalg.norm(star.x, ord=args.p)), 1e-3)
    domain = LpBall(args.p, R)
    oracle = MinibatchOracle(obj, args.batch, p=args.p, domain=domain, f_star=star.fun)
    method = "SGD (projected)" if args.p >= 2 else "mirror descent"
    print(f"  f* = {star.fun:.6f} ({star.nit} BB iterations); domain {domain!r}; oracle: minibatch of "
          f"{args.batch}, computed bound ||g||_q <= B = {oracle.q_bound:.3f}")
    print(f"  {method}, T = {args.T}, {args.repeats} repeat(s), step = {args.step}, seed = {args.seed}")
    quantizers = merge_identical(make_quantizers(names, args.p, oracle.q_bound, d), d)
    names = list(quantizers)
    step = args.step if args.step == "theory" else float(args.step)
    cmp = compare(oracle, quantizers, args.T, repeats=args.repeats, rng=args.seed, step=step,
                  progress=not args.no_progress)

    def accuracy(theta):
        z = theta[0] + X @ theta[1:]
        return float(np.mean((z >= 0) == (y == 1)))

    print()
    head = f"{'quantizer':<14} {'bits/step':>10} {'total bits':>12} {'f(x) - f*':>11} {'+- 95%':>9} {'accuracy':>9} {'time':>8}"
    print(head)
    print("-" * len(head))
    for name, row in zip(names, cmp.rows):
        ci = "-" if math.isnan(row["subopt_ci95"]) else f"{row['subopt_ci95']:.2g}"
        print(f"{name:<14} {row['bits_per_step']:>10} {row['total_bits']:>12.4g} {row['subopt_mean']:>11.3e} "
              f"{ci:>9} {accuracy(row['x']):>9.3f} {row['time']:>7.2f}s")
    print(f"\n(accuracy of the unregularised decision rule (predict 1 iff h >= 1/2) on the training data; full-batch optimum: "
          f"{accuracy(star.x):.3f})")
    if not args.no_plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
        else:
            os.makedirs(args.out, exist_ok=True)
            path = os.path.join(args.out, "convq-demo.png")
            fig = cmp.figure(path=path, title=f"L2-logistic regression on {label}: {method}, p = {args.p:g}")
            import matplotlib.pyplot as plt
            plt.close(fig)
            print(f"wrote {path}")
    print(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(run())
