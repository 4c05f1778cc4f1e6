"""The cost of ``progress=`` (issue 13: at most 2 % slower), and the thread defaults.

Progress rows: each workload with a display against the same call with ``progress=None``
(the reference). The two run interleaved, ``repeats`` pairs (>= 7; the order inside a pair
alternates, so that a drift of the machine's speed favours neither), and a row's ratio is
the median over the pairs of reference time / with-progress time (0.98 means 2 % slower;
the note gives the lowest and highest pair, the same median for the process's CPU time and
the ratio of the fastest runs, both less disturbed by other processes on the machine; 11 pairs of a long run, 41 of a
short one, 7 with --quick). Two displays: ``progress=True`` (what a user
sees: a tqdm bar, its output sent to /dev/null, which appears once the call has run for
0.5 s) and a no-op callable (the cost of the C poll's reporting alone). Workloads: a walk
(hit_and_run, 2 chains), SGD and an MLP fit (through :func:`convq.show_progress`, the
estimator's display), each in a long form (0.5 s or more without --quick: the runs that
need a bar, and get one) and a short form (tens of milliseconds to 0.15 s: no bar, the
cost a short call pays for asking).

Thread rows: one call per kernel family of :mod:`convq._threads`, run with 1 thread
(reference) and with every available CPU (convq column): a ratio above 1 means the extra
threads help (the default for that family is then every CPU), below 1 that they slow the
kernel down (the default is then 1 thread).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import statistics
import sys
import time

import numpy as np

from ._harness import Row, time_pair


@contextlib.contextmanager
def _quiet_stderr():
    with open(os.devnull, "w") as devnull:
        old, sys.stderr = sys.stderr, devnull
        try:
            yield
        finally:
            sys.stderr = old


@dataclasses.dataclass
class _PairedRow(Row):
    """A Row whose ratio is the median of the per-pair ratios (not the ratio of medians)."""
    paired: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.paired


def _seconds(fn):
    """(wall time, CPU time of this process) of fn()."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _paired(shown_fn, plain_fn, repeats):
    """Interleaved pairs: (median shown wall time, median plain wall time, median of the
    pairs' plain/shown wall-time ratios, lowest and highest of them, median of the pairs'
    CPU-time ratios, ratio of the fastest runs). The CPU time of this process is what the
    display itself costs, and it moves less when other processes share the cores; the wall
    time is what a user waits; the fastest runs are the least disturbed ones."""
    shown_fn()
    plain_fn()   # warm-up: page faults, caches, lazy imports
    shown, plain = [], []
    for k in range(repeats):
        if k % 2:
            b = _seconds(plain_fn)
            a = _seconds(shown_fn)
        else:
            a = _seconds(shown_fn)
            b = _seconds(plain_fn)
        shown.append(a)
        plain.append(b)
    ratios = [b[0] / a[0] for a, b in zip(shown, plain)]
    cpu = statistics.median(b[1] / a[1] for a, b in zip(shown, plain))
    fastest = min(b[0] for b in plain) / min(a[0] for a in shown)
    return (statistics.median(a[0] for a in shown), statistics.median(b[0] for b in plain), statistics.median(ratios),
            min(ratios), max(ratios), cpu, fastest)


def _workloads(quick):
    from convq import show_progress
    from convq.models import MLPClassifier
    from convq.sampling import Box, Gaussian, hit_and_run
    from convq.stochastic import bernoulli_product_problem, sgd

    scale = 5 if quick else 1
    dens, body = Gaussian(np.zeros(5), np.eye(5)), Box(-np.ones(5), np.ones(5))
    prob = bernoulli_product_problem(50, 2.0, rng=0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)

    def walk(n):
        return lambda p: hit_and_run(dens, body, n_steps=n, n_chains=2, rng=0, threads=1, progress=p)

    def sgd_run(T):
        return lambda p: sgd(prob, np.zeros(50), T, "theory", rng=1, record_every=T, progress=p)

    def fit(epochs):
        def run(p):
            m = MLPClassifier(hidden=(32,), epochs=epochs, tol=None, rng=0)
            if p is None:
                return m.fit(X, y)
            with show_progress(p, "fit"):
                return m.fit(X, y)
        return run
    out = []
    # (length, walk steps, SGD steps, MLP epochs, pairs): more pairs where a run is cheap
    for length, n_walk, T, epochs, reps in (("long", 2_000_000, 2_000_000, 600, 11),
                                            ("short", 400_000, 200_000, 30, 41)):
        n_walk, T, epochs, reps = n_walk // scale, T // scale, max(1, epochs // scale), 7 if quick else reps
        out += [(f"{length}: hit_and_run n=5, 2 x {n_walk} steps", walk(n_walk), reps),
                (f"{length}: sgd d=50, T={T}", sgd_run(T), reps),
                (f"{length}: MLPClassifier fit 2000x20, {epochs} epochs", fit(epochs), reps)]
    return out


def _thread_rows(ctx):
    from convq import available_cpus
    from convq.models import MLPClassifier
    from convq.optimize import lasso
    from convq.quantize import SimQPlus
    from convq.sampling import Box, Gaussian, hit_and_run

    n = available_cpus()
    rng = np.random.default_rng(1)
    A = rng.standard_normal((500, 1000) if ctx.quick else (2000, 4000))
    b = A[:, :20] @ rng.standard_normal(20) + 0.1 * rng.standard_normal(A.shape[0])
    X = rng.standard_normal((2000, 20))
    y = (X[:, 0] > 0).astype(int)
    Yq = rng.standard_normal((4096, 1024))
    Yq /= 2 * np.linalg.norm(Yq, axis=1, keepdims=True)
    reps = 2 if ctx.quick else 5
    rows = []
    for case, fn in (("lasso fista (objective passes)", lambda t: lasso(A, b, 0.1 * np.abs(A.T @ b).max(), "fista",
                                                                      max_iter=200, threads=t)),
                     ("MLPClassifier fit (mlp)", lambda t: MLPClassifier(hidden=(64,), epochs=2 if ctx.quick else 10,
                                                                        rng=0, threads=t).fit(X, y)),
                     ("hit_and_run, 4 chains (chains)", lambda t: hit_and_run(
                         Gaussian(np.zeros(5), np.eye(5)), Box(-np.ones(5), np.ones(5)),
                         n_steps=20_000 if ctx.quick else 200_000, n_chains=4, rng=0, threads=t)),
                     ("SimQPlus.quantize_batch 4096 x 1024 (rows)", lambda t: SimQPlus(1.0, p=2).quantize_batch(
                         Yq, rng=0, threads=t))):
        many, one = time_pair(lambda: fn(n), lambda: fn(1), repeats=reps, min_time=0.0)
        rows.append(Row("threads", f"{case}: {n} threads vs 1", many, "1 thread", one,
                        note="> 1: threads help"))
    return rows


def run(ctx):
    import warnings
    rows = []
    noop = lambda done, total: None  # noqa: E731
    with _quiet_stderr(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case, fn, reps in _workloads(ctx.quick):
            for label, p in (("progress=True (tqdm)", True), ("progress=callable (no-op)", noop)):
                shown, plain, ratio, lo, hi, cpu, fastest = _paired(lambda: fn(p), lambda: fn(None), reps)
                rows.append(_PairedRow("progress", f"{case}, {label}", shown, "progress=None", plain, paired=ratio,
                                       note=f"median of {reps} pairs (range {lo:.2f}-{hi:.2f}); CPU time {cpu:.3f}x; "
                                            f"fastest runs {fastest:.3f}x; >= 0.98: at most 2% slower"))
    return rows + _thread_rows(ctx)
