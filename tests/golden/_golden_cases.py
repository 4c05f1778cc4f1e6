"""The fixed set of seeded calls whose outputs must stay bit-identical across refactors.

Each case returns a list of numpy arrays / bytes / numbers; `tests/test_golden.py` hashes
them (SHA-256 of the raw bytes, little-endian float64 / int64) and compares with
`tests/golden/golden.json`. Regenerate only on a deliberate change of results:
``python -m tests.golden._golden_cases --write``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden.json")
# The values themselves, for machines whose BLAS rounds NumPy's own dot products differently
# in the last bit (an AVX-512 OpenBLAS kernel versus the AVX2 one the digests were recorded
# with): there the test compares within 1e-9 relative instead of bit for bit.
VALUES = os.path.join(HERE, "golden_values.npz")


def _quantizers():
    from convq import quantize as Q
    return {
        "simq": Q.SimQ(1.0),
        "simqplus": Q.SimQPlus(1.0, p=2),
        "simqplus_p4": Q.SimQPlus(2.0, p=4, k=7),
        "cuq": Q.CUQ(1.0, levels=16),
        "ratq": Q.RATQ(1.0),
        "lp_3": Q.LpQuantizer(3, 1.0),
        "lp_inf": Q.LpQuantizer(np.inf, 1.0),
        "qsgd": Q.QSGD(levels=4),
        "terngrad": Q.TernGrad(),
        "scaledsign": Q.ScaledSign(),
        "topk": Q.TopK(5),
        "randk": Q.RandK(5),
        "identity": Q.Identity(),
        "identity32": Q.Identity("float32"),
    }


def case_quantize():
    out = {}
    rng = np.random.default_rng(20261202)
    for d in (1, 7, 64, 300):
        y = rng.standard_normal(d)
        for name, q in _quantizers().items():
            yy = y / max(1.0, np.abs(y).sum()) * 0.9   # inside every unit ball
            m = q.encode(yy, rng=np.random.default_rng(d))
            dec = q.decode(m)
            fast = q(yy, rng=np.random.default_rng(d))
            S = q.sample(yy, 5, rng=np.random.default_rng(7), threads=1)
            out[f"{name}/d{d}"] = [m.payload, m.nbits, dec, fast, S, q.bits(d)]
    return out


def case_coding():
    from convq import coding
    vals = [3, 0, 1, 5, 2 ** 20 - 1]
    widths = [2, 1, 1, 3, 20]
    out = {}
    payload, nbits = coding.pack_fields(vals, widths)
    out["pack"] = [payload, nbits, coding.unpack_fields(payload, nbits, widths)]
    return out


def case_optimize():
    from convq import objectives as O
    from convq import optimize
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 8))
    y = rng.standard_normal(60)
    yb = (rng.random(60) < 0.5).astype(float)
    out = {}
    ls = O.LeastSquares(X, y, lam=0.1, threads=1)
    lg = O.Logistic(X, yb, lam=0.1, threads=1)
    cfgs = [("gd", "armijo", {}), ("gd", "exact", {}), ("gd", "fixed", {}), ("gd", "fixed", {"t": 0.01}),
            ("bb", "armijo", {}), ("bb", "armijo", {"nonmonotone": "average", "variant": "bb2"}),
            ("bb", "armijo", {"nonmonotone": None}), ("nesterov", "armijo", {}), ("nesterov", "fixed", {}),
            ("lbfgs", "armijo", {}), ("subgradient", "fixed", {"t": 0.01})]
    for m, s, kw in cfgs:
        for name, obj in (("ls", ls), ("lg", lg)):
            try:
                r = optimize.minimize(obj, np.zeros(8), method=m, step=s, tol=1e-8, max_iter=200, **kw)
            except (ValueError, TypeError) as e:
                out[f"{m}/{s}/{kw}/{name}"] = [type(e).__name__, str(e)]
                continue
            out[f"{m}/{s}/{kw}/{name}"] = [r.x, r.fun, r.nit, r.nfev, r.ngev, r.trace["fun"], r.trace["grad_norm"], r.trace["step"]]
    A = rng.standard_normal((40, 20))
    b = rng.standard_normal(40)
    r = optimize.lasso(A, b, 0.1, method="continuation")
    out["lasso"] = [r.x, r.fun]
    la = O.Lasso(A, b, 0.1)
    for m in ("proximal", "fista"):
        r = optimize.minimize(la, np.zeros(20), method=m, step="armijo", tol=1e-8, max_iter=300)
        out[f"{m}/lasso"] = [r.x, r.fun, r.nit, r.trace["fun"], r.trace["step"]]
    f = O.Function(lambda x: float(np.sum((x - 1.0) ** 4) + x @ x), lambda x: 4 * (x - 1.0) ** 3 + 2 * x, dim=3)
    r = optimize.minimize(f, np.zeros(3), method="bb", tol=1e-10, max_iter=100)
    out["python/bb"] = [r.x, r.fun, r.nit, r.trace["fun"]]
    return out


def case_stochastic():
    from convq import objectives as O
    from convq import quantize as Q
    from convq import stochastic as S
    rng = np.random.default_rng(11)
    X = rng.standard_normal((100, 6)) / 3
    yb = (rng.random(100) < 0.5).astype(float)
    obj = O.Logistic(X, yb, lam=0.01, threads=1)
    orc = S.MinibatchOracle(obj, 10, p=2.0, domain=S.LpBall(2, 3.0))
    out = {}
    for name, q in [("none", None), ("simqplus", Q.SimQPlus(orc.q_bound, p=2)), ("ratq", Q.RATQ(orc.q_bound))]:
        r = S.sgd(orc, np.zeros(6), 300, 0.05, quantizer=q, rng=3)
        out[f"sgd/{name}"] = [r.x, r.x_last, r.step, r.total_bits] + [r.trace[k] for k in sorted(r.trace)]
    r = S.mirror_descent(orc, np.zeros(6), 200, 1.5, 0.05, domain=S.LpBall(1, 3.0), rng=4)
    out["md"] = [r.x, r.x_last] + [r.trace[k] for k in sorted(r.trace)]
    out["proj_l1"] = [S.LpBall(1, 1.0).project(np.array([0.3, -2.0, 0.5]))]
    return out


def case_sampling():
    from convq import sampling as sp
    out = {}
    body = sp.Box([-1, -1], [1, 1])
    dens = sp.Gaussian([0.2, -0.1])
    c = sp.grid_walk(dens, body, 0.25, n_steps=300, n_chains=2, rng=1)
    out["grid"] = [c.samples, c.indices, c.acceptance_rates]
    c = sp.ball_walk(dens, sp.Ball([0, 0], 1.0), 0.3, n_steps=300, n_chains=2, rng=2)
    out["ball"] = [c.samples, c.acceptance_rates]
    c = sp.hit_and_run(sp.Uniform(), sp.Polytope([[1, 0], [0, 1], [-1, -1]], [1, 1, 1]), n_steps=200, rng=3)
    out["har"] = [np.asarray(c.samples)]
    g = sp.exact_grid_distribution(dens, body, 0.25)
    out["exact"] = [np.asarray(a) for a in g]
    return out


def case_models():
    from convq import models
    rng = np.random.default_rng(9)
    X = rng.standard_normal((80, 4))
    y = (X[:, 0] + 0.3 * rng.standard_normal(80) > 0).astype(int)
    out = {}
    m = models.LogisticRegression(lam=0.1).fit(X, y)
    out["logistic"] = [m.coef_, m.intercept_]
    m = models.Ridge(lam=0.5).fit(X, X[:, 1] * 2.0)
    out["ridge"] = [m.coef_]
    # every parameter pinned (the recorded digest used the defaults of the time)
    m = models.MLPClassifier(hidden=(6,), activation="relu", lam=0.0, learning_rate=0.5, batch_size=32,
                             epochs=20, init="notes", rng=0, threads=1, solver="sgd", momentum=0.0,
                             tol=None).fit(X, y)
    out["mlp"] = [m.predict_proba(X)]
    # the smoothing path (the default until dual coordinate descent took its place)
    m = models.LinearSVM(C=1.0, method="bb", max_iter=2000).fit(X, y)
    out["svm"] = [m.coef_, m.intercept_]
    return out


CASES = [case_quantize, case_coding, case_optimize, case_stochastic, case_sampling, case_models]


def _digest(items):
    h = hashlib.sha256()
    for it in items:
        if isinstance(it, (bytes, bytearray)):
            h.update(b"B" + bytes(it))
        elif isinstance(it, str):
            h.update(b"S" + it.encode())
        else:
            a = np.asarray(it)
            if a.dtype.kind in "iub":
                a = a.astype("<i8")
            elif a.dtype.kind == "f":
                a = a.astype("<f8")
            h.update(repr(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def _canonical(it):
    """The item as the array `_digest` hashes (bytes and str as uint8 / unicode arrays)."""
    if isinstance(it, (bytes, bytearray)):
        return np.frombuffer(bytes(it), dtype=np.uint8)
    if isinstance(it, str):
        return np.array(it)
    a = np.asarray(it)
    if a.dtype.kind in "iub":
        return a.astype("<i8")
    if a.dtype.kind == "f":
        return a.astype("<f8")
    return a


def values(case):
    """{key:index: canonical array} for every item of every output of one case."""
    prefix = case.__name__[5:] + ":"
    return {f"{prefix}{k}:{i}": _canonical(it) for k, v in case().items() for i, it in enumerate(v)}


def compute():
    res = {}
    for case in CASES:
        for k, v in case().items():
            res[f"{case.__name__[5:]}:{k}"] = _digest(v)
    return res


if __name__ == "__main__":
    r = compute()
    if "--write" in sys.argv:
        with open(GOLDEN, "w") as f:
            json.dump(r, f, indent=1, sort_keys=True)
        print(f"wrote {len(r)} digests to {GOLDEN}")
    if "--write-values" in sys.argv:
        vals = {}
        for case in CASES:
            vals.update(values(case))
        np.savez_compressed(VALUES, **vals)
        print(f"wrote {len(vals)} values to {VALUES}")
    else:
        print(json.dumps(r, indent=1, sort_keys=True))
