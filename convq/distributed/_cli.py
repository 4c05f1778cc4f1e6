"""``mpiexec -n N python -m convq.distributed``: the demo's job on N MPI ranks.

L2-regularised logistic regression (the demo's problem and options), the rows split into N
contiguous shards, one per rank; every quantizer runs through :func:`convq.distributed.train`
with its real payloads exchanged by one MPI Allgather per step. Rank 0 prints a table:
payload bits and bytes on the wire per step and rank, total bytes sent per rank, final
suboptimality, training accuracy, time per step and the part of it spent communicating;
and writes a PNG (suboptimality against bytes sent) when matplotlib is installed.
"""
from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from ..demo import add_job_arguments, check_job_arguments, load_data, make_quantizers


def _parser():
    p = argparse.ArgumentParser(prog="mpiexec -n N python -m convq.distributed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    return add_job_arguments(p, T=5000, repeats=1, batch_help="minibatch size per rank",
                             out="convq-distributed-output")


def run(argv=None) -> int:
    args = _parser().parse_args(argv)
    from mpi4py import MPI

    from ..objectives import Logistic
    from ..optimize import minimize
    from ..quantize import Identity
    from ..stochastic import LpBall, MinibatchOracle, mirror_exponent, theory_step
    from . import train

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    say = (lambda *a, **k: print(*a, **k, flush=True)) if rank == 0 else (lambda *a, **k: None)
    names = check_job_arguments(args)
    t_start = time.perf_counter()
    X, y, label = load_data(args.dataset)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if X.shape[0] < size:
        raise SystemExit(f"{X.shape[0]} rows cannot be split over {size} ranks")
    bounds = np.linspace(0, X.shape[0], size + 1).astype(int)
    lo, hi = bounds[rank], bounds[rank + 1]
    obj = Logistic(X, y, lam=args.lam, intercept=True)
    shard = Logistic(X[lo:hi], y[lo:hi], lam=args.lam, intercept=True)
    d = obj.dim
    star = minimize(obj, np.zeros(d), method="bb", tol=1e-12, max_iter=20000)
    R = 2.0 * max(float(np.linalg.norm(star.x, ord=args.p)), 1e-3)
    domain = LpBall(args.p, R)
    # the union's minibatch bound is valid on every shard (max over more rows, same penalty)
    oracle = MinibatchOracle(obj, args.batch, p=args.p, domain=domain, f_star=star.fun)
    mirror = args.p < 2
    r_exp = mirror_exponent(args.p, d) if mirror else None
    method = "mirror" if mirror else "sgd"
    say(f"convq distributed: L2-logistic regression on {label}, lam = {args.lam:g}, d = {d}, "
        f"{size} ranks (shards of {np.diff(bounds).min()}-{np.diff(bounds).max()} rows)")
    say(f"  f* = {star.fun:.6f}; domain {domain!r}; {'mirror descent' if mirror else 'projected SGD'}, "
        f"T = {args.T}, minibatch {args.batch} per rank, bound ||g||_q <= B = {oracle.q_bound:.3f}, "
        f"step = {args.step}, seed = {args.seed}")
    quantizers = make_quantizers(names, args.p, oracle.q_bound, d)

    def accuracy(theta):
        return float(np.mean(((theta[0] + X @ theta[1:]) >= 0) == (y == 1)))

    rows, curves = [], {}
    for name in names:
        q = quantizers[name]
        if args.step == "theory":
            a0 = q.alpha0(d) if q is not None else None
            step = theory_step(method, oracle, domain, q if a0 is not None else None, args.T, d, r_exp)
        else:
            step = float(args.step)
        q = q if q is not None else Identity("float64")
        subs, accs, res = [], [], None
        for rep in range(args.repeats):
            res = train(shard, np.zeros(d), args.T, step, q, comm, batch=args.batch, domain=domain, method=method,
                        r=r_exp, rng=args.seed + 1000 * rep, progress=not args.no_progress)
            subs.append(obj.value(res.x) - star.fun)
            accs.append(accuracy(res.x))
        s = res.summary()
        rows.append((name, res.payload_bits_per_step, res.bytes_per_step, int(res.bytes_sent.max()),
                     float(np.mean(subs)), float(np.std(subs, ddof=1)) * 1.96 / math.sqrt(len(subs))
                     if len(subs) > 1 else float("nan"), float(np.mean(accs)), s["time_per_step"],
                     s["comm_per_step"]))
        curves[name] = (res.trace["bytes"], res.trace["fun"] - star.fun)
        say(f"  {name}: done")
    say()
    head = (f"{'quantizer':<12} {'bits/step':>10} {'bytes/step':>10} {'bytes sent':>11} {'f(x) - f*':>10} "
            f"{'+- 95%':>8} {'accuracy':>8} {'ms/step':>8} {'comm ms':>8}")
    say(head)
    say("-" * len(head))
    for name, bits, bps, tot, sub, ci, acc, tps, cps in rows:
        ci_s = "-" if math.isnan(ci) else f"{ci:.2g}"
        say(f"{name:<12} {bits:>10} {bps:>10} {tot:>11.4g} {sub:>10.3e} {ci_s:>8} {acc:>8.3f} {1e3 * tps:>8.3f} "
            f"{1e3 * cps:>8.3f}")
    say(f"\n(bytes per rank and step on the wire: a status byte + the payload; each rank receives the other "
        f"{size - 1} ranks' messages; times are the max over ranks)")
    if rank == 0 and not args.no_plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            say("matplotlib is not installed: no plot (pip install matplotlib)")
        else:
            os.makedirs(args.out, exist_ok=True)
            fig, ax = plt.subplots(figsize=(6.4, 4.2))
            for name, (b, sub) in curves.items():
                ax.loglog(np.maximum(b, 1), np.maximum(sub, 1e-12), label=name)
            ax.set_xlabel("bytes sent per rank")
            ax.set_ylabel("f(x) - f*")
            ax.set_title(f"{label}: {size} ranks, p = {args.p:g}")
            ax.legend()
            path = os.path.join(args.out, "convq-distributed.png")
            fig.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(fig)
            say(f"wrote {path}")
    say(f"done in {time.perf_counter() - t_start:.1f} s")
    return 0
