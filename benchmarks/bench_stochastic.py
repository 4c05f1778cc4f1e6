"""Quantized SGD steps per second: convq's C loop (csrc/stochastic/cq_sgd.c: oracle -> quantizer ->
update -> projection, with the quantizer's fast path) beside a NumPy loop doing the same
quantized SGD with the oracle's NumPy twin (:mod:`convq.slow.stochastic`, the same draws)
and vectorised NumPy versions of the quantizers.

Cases: the section-6 Bernoulli-product oracle at d = 1000 (the issue's target: >= 20x) and
d = 100, and a minibatch logistic oracle; quantizers none, SimQ (p = inf), SimQ+ (p = 2),
RATQ (p = 2). Both sides evaluate f once, at the end (record_every = T): the trace's
full-data evaluations are not part of a step."""
import math

import numpy as np
from scipy.linalg import hadamard

import convq.quantize as Q
import convq.slow.stochastic as slow_stochastic
from convq.objectives import Logistic
from convq.stochastic import LpBall, MinibatchOracle, bernoulli_product_problem, sgd

from ._harness import Row, time_pair


# ---- NumPy twins -------------------------------------------------------------------------

def np_bernoulli(prob, rng):
    """The oracle's NumPy twin (convq.slow.stochastic): the C loop's draws, one row."""
    return slow_stochastic.oracle_sample(0, prob.alpha, prob._scale, prob.delta, rng, 1)[0]


def np_simq(y, B, rng):
    c = np.cumsum(np.abs(y)) / B
    i = int(np.searchsorted(c, rng.random(), side="right"))
    out = np.zeros_like(y)
    if i < y.size:
        out[i] = B * np.sign(y[i])
    return out


def np_simqplus(y, B, p, k, rng):
    d = y.size
    Bp = B * d ** (1 / p)
    probs = np.append(np.abs(y) / Bp, max(0.0, 1 - np.abs(y).sum() / Bp))
    counts = rng.multinomial(k, probs / probs.sum())
    return counts[:d] * Bp * np.sign(y) / k


class NpRATQ:
    """RATQ with parameters (8): rotation H D / sqrt(d2), groups of s, ranges M_j, CUQ(M_j, 4)."""

    def __init__(self, B, d):
        self.B, self.d = B, d
        self.d2 = 1 << math.ceil(math.log2(d))
        par = Q.RATQ(B=B).params(d)
        self.s, self.h = int(par["ratq_s"]), int(par["ratq_h"])
        self.M = np.asarray(par["ratq_ranges"], dtype=float)[: self.h]
        self.H = hadamard(self.d2).astype(float) / math.sqrt(self.d2)
        self.L = 4

    def __call__(self, y, rng):
        D = rng.choice([-1.0, 1.0], size=self.d2)
        z = self.H @ (D * np.pad(y, (0, self.d2 - self.d)))
        g = np.pad(z, (0, (-self.d2) % self.s)).reshape(-1, self.s)
        mx = np.abs(g).max(axis=1)
        j = np.minimum(np.searchsorted(self.M, mx), self.h - 1)
        M = self.M[j][:, None]
        step = 2 * M / (self.L - 1)
        t = (g + M) / step
        lo = np.floor(t)
        q = (lo + (rng.random(t.shape) < t - lo)) * step - M
        return (D * (self.H @ q.ravel()[: self.d2]))[: self.d]


def numpy_sgd(prob_sample, x0, T, eta, quant, radius, rng):
    x = x0.copy()
    xbar = np.zeros_like(x)
    for t in range(T):
        xbar += (x - xbar) / (t + 1)
        g = prob_sample(x, rng)
        if quant is not None:
            g = quant(g, rng)
        x = x - eta * g
        n = np.linalg.norm(x)
        if n > radius:
            x *= radius / n
    return xbar


def run(ctx):
    rows = []
    T = 2000 if ctx.quick else 20000
    for d in (100, 1000):
        prob = bernoulli_product_problem(d, 2.0, rng=0)
        R = prob.domain.radius
        eta = 2 * R / math.sqrt(T)
        ratq = NpRATQ(1.0, d)
        cases = [
            ("unquantized", None, None),
            ("SimQ", Q.SimQ(B=float(d) ** 0.5), lambda y, g: np_simq(y, d ** 0.5, g)),
            ("SimQ+ (k = d)", Q.SimQPlus(B=1.0, p=2), lambda y, g: np_simqplus(y, 1.0, 2, d, g)),
            ("RATQ", Q.RATQ(B=1.0), ratq),
        ]
        for name, q, twin in cases:
            Tn = max(200, T // 10)  # the NumPy loop is timed on fewer steps (per-step time is reported)
            tc, tr = time_pair(
                lambda: sgd(prob, np.zeros(d), T, eta, quantizer=q, rng=1, record_every=T),
                lambda: numpy_sgd(lambda x, g: np_bernoulli(prob, g), np.zeros(d), Tn, eta, twin, R,
                                  np.random.default_rng(1)),
                repeats=3, min_time=0.0)
            per_c, per_n = tc / T, tr / Tn
            rows.append(Row("stochastic", f"Bernoulli oracle d={d}, {name}", per_c, "NumPy loop (per step)", per_n,
                            throughput=f"{1 / per_c / 1e3:.0f} k steps/s"))
    # A data oracle: minibatch logistic gradients.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 100))
    y = (X[:, 0] > 0).astype(float)
    obj = Logistic(X, y, lam=1.0)
    orc = MinibatchOracle(obj, batch=16, domain=LpBall(2, 5.0))
    Xb, yb = obj.X, obj.y

    def np_minibatch(x, g):
        idx = g.integers(0, Xb.shape[0], 16)
        z = Xb[idx] @ x
        return Xb[idx].T @ (1 / (1 + np.exp(-z)) - yb[idx]) / 16 + 1.0 / Xb.shape[0] * x

    for name, q, twin in [("unquantized", None, None),
                          ("SimQ+ (k = d)", Q.SimQPlus(B=orc.q_bound, p=2), lambda v, g: np_simqplus(v, orc.q_bound, 2, 100, g))]:
        Tn = max(200, T // 10)
        tc, tr = time_pair(lambda: sgd(orc, np.zeros(100), T, 0.01, quantizer=q, rng=1, record_every=T),
                           lambda: numpy_sgd(np_minibatch, np.zeros(100), Tn, 0.01, twin, 5.0, np.random.default_rng(1)),
                           repeats=3, min_time=0.0)
        rows.append(Row("stochastic", f"minibatch logistic (20000 x 100, batch 16), {name}", tc / T,
                        "NumPy loop (per step)", tr / Tn, throughput=f"{T / tc / 1e3:.0f} k steps/s"))
    return rows
