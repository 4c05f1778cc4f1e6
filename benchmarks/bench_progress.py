"""The cost of ``progress=`` (issue 13: at most 2 % slower), and the thread defaults.

Progress rows: each workload with a display against the same call with ``progress=None``
(the reference; ratio = reference / with-progress time, so 0.98 means 2 % slower). Two
displays: ``progress=True`` (a tqdm bar, its output sent to /dev/null) and a no-op
callable (the cost of the C poll's reporting alone). Workloads: a long walk
(hit_and_run, 2 chains), quantized-free SGD, and an MLP fit (through
:func:`convq.show_progress`, the estimator's display).

Thread rows: one call per kernel family of :mod:`convq._threads`, run with 1 thread
(reference) and with every available CPU (convq column): a ratio above 1 means the extra
threads help (the default for that family is then every CPU), below 1 that they slow the
kernel down (the default is then 1 thread).
"""
from __future__ import annotations

import contextlib
import os
import sys

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


def _workloads(quick):
    from convq import show_progress
    from convq.models import MLPClassifier
    from convq.sampling import Box, Gaussian, hit_and_run
    from convq.stochastic import bernoulli_product_problem, sgd

    n_walk, T = (20_000, 100_000) if quick else (400_000, 2_000_000)
    dens, body = Gaussian(np.zeros(5), np.eye(5)), Box(-np.ones(5), np.ones(5))
    prob = bernoulli_product_problem(50, 2.0, rng=0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    epochs = 3 if quick else 30

    def walk(p):
        return hit_and_run(dens, body, n_steps=n_walk, n_chains=2, rng=0, threads=1, progress=p)

    def sgd_run(p):
        return sgd(prob, np.zeros(50), T, "theory", rng=1, record_every=T, progress=p)

    def fit(p):
        m = MLPClassifier(hidden=(32,), epochs=epochs, rng=0)
        if p is None:
            return m.fit(X, y)
        with show_progress(p, "fit"):
            return m.fit(X, y)
    return [(f"hit_and_run n=5, 2 x {n_walk} steps", walk), (f"sgd d=50, T={T}", sgd_run),
            (f"MLPClassifier fit 2000x20, {epochs} epochs", fit)]


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
    rows = []
    reps = 3 if ctx.quick else 7
    noop = lambda done, total: None  # noqa: E731
    with _quiet_stderr():
        for case, fn in _workloads(ctx.quick):
            for label, p in (("progress=True (tqdm)", True), ("progress=callable (no-op)", noop)):
                shown, plain = time_pair(lambda: fn(p), lambda: fn(None), repeats=reps, min_time=0.0)
                rows.append(Row("progress", f"{case}, {label}", shown, "progress=None", plain,
                                note="ratio >= 0.98: at most 2% slower"))
    return rows + _thread_rows(ctx)
