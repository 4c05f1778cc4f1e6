"""Twin table: the stochastic-optimisation kernels (csrc/stochastic/) against
:mod:`convq.slow.stochastic` -- projections, the mirror step, the oracles' draws and the
quantized SGD / mirror-descent loop.

Tolerances: the projections, the mirror step and the section-6 oracles replay the C
operations in the same order (bit-identical); the minibatch and noisy oracles take their
gradients from the objective twins (a few ulps: rtol 1e-12); the loop over those oracles
accumulates the ulps of T steps (rtol 1e-10)."""
from __future__ import annotations

import math

import numpy as np

import convq.objectives as O
import convq.quantize as Q
import convq.slow.stochastic as slow
import convq.stochastic as S
from _twin import Twin


def _domains(d):
    return [None, S.LpBall(1, 1.0), S.LpBall(2, 1.0), S.LpBall(math.inf, 0.5), S.LpBall(1.5, 0.7),
            S.LpBall(3, 2.0), S.Box(-0.3, 0.2, d=d), S.Box(np.linspace(-1, 0, d), np.linspace(0, 1, d))]


def _points(rng, d):
    yield np.zeros(d)
    yield np.full(d, 1e-300)                    # underflow-prone norms
    yield np.full(d, 1e150)                     # squares overflow: the scaled norm
    yield rng.standard_normal(d) * 1e-3         # inside every ball
    yield rng.standard_normal(d) * 10
    e = np.zeros(d)
    e[d // 2] = -5.0                            # one coordinate
    yield e
    yield np.where(np.arange(d) % 2 == 0, 3.0, -3.0)   # ties in |x|


def _projection_cases(rng):
    for d in (1, 2, 7, 33):
        for dom in _domains(d):
            for x in _points(rng, d):
                if isinstance(dom, S.LpBall) and dom.p not in (1.0, 2.0, math.inf) and d > 7:
                    continue                    # the twin's per-coordinate Newton loops are slow
                yield (dom, x)


def _mirror_cases(rng):
    for d in (1, 5, 16):
        for r, dom in [(1.5, None), (1.5, S.LpBall(1.5, 1.0)), (1.2, S.LpBall(1, 0.3)), (2.0, None),
                       (2.0, S.LpBall(2, 1.0)), (1.1, S.LpBall(1, 1.0))]:
            for scale in (0.0, 1e-3, 1.0, 10.0):
                x = rng.standard_normal(d)
                x = (S.LpBall(dom.p, dom.radius) if dom is not None else S.LpBall(r, 1.0)).project(x) * 0.9
                yield (x, rng.standard_normal(d) * scale, r, 0.1, dom)
            yield (np.zeros(d), rng.standard_normal(d), r, 1e3, dom)   # from the origin, a long step


def _mirror_bad():
    x, g = np.full(3, 0.1), np.ones(3)
    return [(x, g, 2.5, 0.1, None), (x, g, 1.0, 0.1, None), (x, g, 1.5, 0.1, S.LpBall(3, 1.0)),
            (x, g, 1.5, 0.1, S.Box(-1, 1, d=3)), (x, np.ones(4), 1.5, 0.1, None), (x, g, 1.5, -0.1, None),
            (x, g, 1.5, 0.0, None), (x, np.array([1.0, np.nan, 0.0]), 1.5, 0.1, None), (x, g, "r", 0.1, None)]


def _data():
    r = np.random.default_rng(1)
    X = r.standard_normal((40, 5))
    X[3] *= 1e2
    return X, (r.random(40) < 0.5).astype(float), r.standard_normal(40)


def _objective_oracles():
    X, yl, y = _data()
    objs = [O.Logistic(X, yl, 0.5, True), O.LeastSquares(X, y, 0.3, False), O.Hinge(X, yl, 0.7, 2.0, True),
            O.Lasso(X, y, 0.1), O.Lasso(X, y, 0.1, delta=0.05), O.Logistic(X, yl, 0.0, False)]
    out = []
    for o in objs:
        out.append(S.MinibatchOracle(o, 7, domain=S.LpBall(2, 3.0)))
        out.append(S.MinibatchOracle(o, 1, domain=S.Box(-1, 1, d=o.dim)))
        out.append(S.MinibatchOracle(o, 200, domain=S.LpBall(2, 3.0)))   # more draws than rows
        out.append(S.NoisyOracle(o, 0.1, 1e9, p=1.5))
        out.append(S.NoisyOracle(o, 0.0, 1e9))
    return out


def _sign_problems():
    return [maker(d, p, rng=d) for maker in (S.bernoulli_product_problem, S.paninski_problem)
            for d in (1, 2, 5, 64) for p in (1.0, 2.0, math.inf)] + \
           [S.bernoulli_product_problem(9, 2.0, delta=0.5, rng=0), S.paninski_problem(3, 2.0, delta=1e-9, rng=0)]


def _draw_c(oracle, x, seed, n):
    gen = np.random.default_rng(seed)
    return oracle.sample(x, rng=gen, n=n), gen.random()     # the draws, then where the stream stands


def _draw_slow(oracle, x, seed, n):
    gen = np.random.default_rng(seed)
    return slow.oracle_draw(oracle, x, gen, n), gen.random()


def _oracle_cases(rng, kinds):
    for orc in (_sign_problems() if kinds == "sign" else _objective_oracles()):
        d = orc.d
        for x in (np.zeros(d), rng.standard_normal(d) * 0.1, np.full(d, 0.5)):
            for n in (0, 1, 5):
                yield (orc, x, int(rng.integers(2**31)), n)


def _oracle_bad():
    X, yl, _ = _data()
    tight = S.NoisyOracle(O.Logistic(X, yl, 0.5, True), 0.5, 1e-3)
    orc = S.MinibatchOracle(O.Logistic(X, yl, 0.5, True), 3, domain=S.LpBall(2, 1.0))
    return [(tight, np.zeros(6), 0, 1), (orc, np.zeros(5), 0, 1), (orc, np.zeros(7), 0, 2)]


# ---- the loop: C (engine="c") against sgd_loop over the NumPy kernels ------------------------------

def _loop_c(oracle, x0, T, step, domain, quantizer, average, seed, record_every, mirror_r):
    kw = dict(domain=domain, quantizer=quantizer, rng=seed, record_every=record_every, engine="c")
    if mirror_r is None:
        res = S.sgd(oracle, x0, T, step, average=average, **kw)
    else:
        res = S.mirror_descent(oracle, x0, T, oracle.p, step, r=mirror_r, **kw)
    return res.x, res.x_last, res.trace["bits"], res.trace["fun"]


def _loop_slow(oracle, x0, T, step, domain, quantizer, average, seed, record_every, mirror_r):
    dom = domain if domain is not None else getattr(oracle, "domain", None)
    avg = average or mirror_r is not None
    x, xbar, snaps, bits = slow.sgd_loop(0 if mirror_r is None else 1, oracle, np.asarray(x0, dtype=float),
                                         np.full(T, float(step)), dom, quantizer, avg,
                                         np.random.default_rng(seed), record_every, mirror_r, kernels="numpy")
    return (xbar if avg else x), x, bits, np.asarray(oracle.value(snaps), dtype=float)


def _loop_cases(rng):
    for prob in (S.bernoulli_product_problem(16, 2.0, rng=1), S.paninski_problem(16, math.inf, rng=2),
                 S.bernoulli_product_problem(9, 2.0, domain="box", rng=3)):
        x0 = np.zeros(prob.d)
        for q in (None, Q.SimQPlus(B=1.0, p=2), Q.QSGD(levels=3), Q.TernGrad()):
            yield (prob, x0, 60, 0.05, None, q, True, 5, 7, None)
        yield (prob, x0, 1, 0.05, None, None, False, 0, 1, None)          # T = 1
        yield (prob, x0, 40, 1e6, None, None, False, 1, 40, None)        # huge steps: every step projects
    for p in (1.0, 1.5):                                                   # mirror descent
        prob = S.bernoulli_product_problem(16, p, rng=4)
        r = S.mirror_exponent(p, 16)
        yield (prob, np.zeros(16), 50, 0.05, None, None, True, 6, 10, r)
        yield (prob, np.zeros(16), 30, 0.05, None, Q.for_geometry(p, prob.B, 16), True, 7, 10, r)
    X, yl, y = _data()
    obj = O.Logistic(X, yl, 0.5, True)
    yield (S.MinibatchOracle(obj, 4, domain=S.LpBall(2, 3.0)), np.zeros(6), 50, 0.1, None, None, True, 8, 10,
           None)
    yield (S.NoisyOracle(O.LeastSquares(X, y, 0.3, False), 0.1, 1e9, domain=S.Box(-1, 1, d=5)), np.zeros(5), 40,
           1e-3, None, None, False, 9, 13, None)


def _loop_bad():
    prob = S.bernoulli_product_problem(8, 2.0, B=1.0, rng=3)
    X, yl, _ = _data()
    tight = S.NoisyOracle(O.Logistic(X, yl, 0.5, True), 0.5, 1e-3, domain=S.LpBall(2, 1.0))
    return [(prob, np.zeros(8), 10, 0.01, None, Q.RATQ(B=0.1), True, 0, 1, None),   # inadmissible gradient
            (tight, np.zeros(6), 10, 0.1, None, None, True, 0, 1, None)]             # the oracle's bound


TWINS = [
    Twin("LpBall/Box.project", lambda dom, x: dom.project(x) if dom is not None else x.copy(), slow.project,
         _projection_cases,
         lambda: [(S.LpBall(2, 1.0), np.array([np.nan, 1.0])), (S.Box(-1, 1, d=3), np.zeros(4)),
                  (S.LpBall(1, 1.0), np.zeros((2, 2))), (S.LpBall(3, 1.0), "x")]),
    # |x|^(r-1) in the twin is NumPy's vectorised power, which on AVX-512 machines is not
    # libm's pow (a few ulp apart): equal to 1e-12, not bit for bit
    Twin("mirror_step", S.mirror_step, slow.mirror_step, _mirror_cases, _mirror_bad, rtol=1e-12),
    Twin("oracle.sample (section-6 problems)", _draw_c, _draw_slow, lambda rng: _oracle_cases(rng, "sign"),
         lambda: [(S.paninski_problem(4, 2.0, rng=0), None, 0, -1)]),
    Twin("oracle.sample (minibatch, noisy)", _draw_c, _draw_slow, lambda rng: _oracle_cases(rng, "objective"),
         _oracle_bad, rtol=1e-12),
    Twin("sgd / mirror_descent loop", _loop_c, _loop_slow, _loop_cases, _loop_bad, rtol=1e-10),
]
