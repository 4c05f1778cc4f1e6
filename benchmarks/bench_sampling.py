"""Frieze-Kannan grid walk: proposals/s and ESS/s, convq's C kernel (one thread and all
threads) beside a vectorised NumPy implementation of the same walk over many chains; and
the uniform law on four bodies (20- and 100-cube, a skinny rotated box, a random
polytope) against hopsy, ESS/s of the worst coordinate on one core with rounding time
included on both sides (see ``hopsy_rows``).

The NumPy reference advances all chains together with the same incremental algorithm
as the C core (cached g = P (x - mean) for the Gaussian, cached slack b - A x for the
polytope): per step, one axis proposal per chain, O(1) log-density difference, O(n)
(Gaussian) or O(m) (polytope) update of the accepted chains. It is written here, not in
the library. ESS is the rank-normalised bulk ESS (Vehtari et al. 2021) of the first
coordinates (minimum over up to 10 coordinates) of 4 chains; ESS/s divides it by the
wall time of that run. The NumPy walk has the same ESS per proposal, so its ESS/s is
the ESS/s of convq divided by the proposal-rate ratio.
"""
import sys
import time
import warnings

import numpy as np

from convq import _core
from convq import sampling as S

from ._harness import Row, time_pair


# ---- NumPy references (vectorised over chains) ---------------------------------------------
# These are NOT the slow twins of convq/slow/sampling.py. The slow twins replay the C
# kernel chain by chain, draw for draw, in scalar Python (the test oracle and
# engine="python": exact, and far too slow to time against). The functions below are a
# different formulation of the same walk, the fastest one NumPy allows: all chains advance
# together, one vectorised step per proposal, with their own random stream (so their
# chains differ from convq's; only their speed and, in law, their output compare). No
# code here is shared with the slow twins, so nothing is imported from them.

def numpy_grid_walk_gaussian(P, mean, lo, hi, delta, x0, n_steps, rng):
    """Grid walk for N(mean, P^-1) restricted to a box, all chains at once."""
    c, n = x0.shape
    x = x0.copy()
    g = (x - mean) @ P
    pdiag = np.diag(P).copy()
    rows = np.arange(c)
    half = 0.5 * delta
    acc_total = 0
    for _ in range(n_steps):
        r = rng.integers(0, 2 * n, size=c)
        j = r >> 1
        h = np.where(r & 1, delta, -delta)
        yj = x[rows, j] + h
        inside = (yj - half < hi[j]) & (yj + half > lo[j])
        dl = -(h * g[rows, j] + 0.5 * h * h * pdiag[j])
        u = rng.random(c)
        acc = inside & ((dl >= 0) | (u < np.exp(np.minimum(dl, 0.0))))
        a = np.flatnonzero(acc)
        x[a, j[a]] = yj[a]
        g[a] += h[a, None] * P[j[a]]
        acc_total += a.size
    return x, acc_total


def numpy_grid_walk_polytope(A, b, delta, x0, n_steps, rng):
    """Grid walk for the uniform law on {A x <= b} (centre test), all chains at once."""
    c, n = x0.shape
    x = x0.copy()
    s = b - x @ A.T
    AT = np.ascontiguousarray(A.T)
    rows = np.arange(c)
    acc_total = 0
    for _ in range(n_steps):
        r = rng.integers(0, 2 * n, size=c)
        j = r >> 1
        h = np.where(r & 1, delta, -delta)
        s_new = s - h[:, None] * AT[j]
        acc = np.all(s_new >= 0, axis=1)
        a = np.flatnonzero(acc)
        x[a, j[a]] += h[a]
        s[a] = s_new[a]
        acc_total += a.size
    return x, acc_total


# ---- cases ---------------------------------------------------------------------------------

def _gaussian(n):
    rng = np.random.default_rng(n)
    B = rng.normal(size=(n, n)) / np.sqrt(n)
    P = np.eye(n) + 0.3 * (B @ B.T) / (1 + 0.3 * np.linalg.norm(B @ B.T, 2))
    return S.Gaussian(np.zeros(n), precision=P), S.Box(-3 * np.ones(n), 3 * np.ones(n))


def _polytope(n, m_extra):
    rng = np.random.default_rng(7)
    R = rng.normal(size=(m_extra, n))
    R /= np.linalg.norm(R, axis=1, keepdims=True)
    A = np.vstack([np.eye(n), -np.eye(n), R])
    b = np.concatenate([np.ones(2 * n), np.full(m_extra, 0.5)])
    return S.Polytope(A, b)


def _ess_per_s(density, body, delta, steps, threads):
    t0 = time.perf_counter()
    ch = S.grid_walk(density, body, delta, None, steps, n_chains=4, thin=max(1, steps // 1000), rng=2,
                     threads=threads)
    dt = time.perf_counter() - t0
    k = min(10, body.dim)
    e = float(np.min(S.ess(ch.samples[:, :, :k])))
    return e / dt, ch.acceptance_rate


# ---- uniform targets against hopsy ------------------------------------------------------------
# One chain, one core, the same body and target; ESS is convq's rank-normalised bulk ESS
# (equal to arviz's) of the worst coordinate of the samples in the ORIGINAL coordinates, for
# both libraries; time = rounding (where used) + sampling. hopsy: hopsy.round (PolyRound)
# then each of its uniform samplers (coordinate hit-and-run, hit-and-run, billiard walk),
# also without rounding on the cubes; its best row is reported. convq: its candidates below,
# the best reported.

def _hopsy_bodies():
    rng = np.random.default_rng(2024)
    out = []
    for n in (20, 100):
        out.append((f"{n}-cube", np.vstack([np.eye(n), -np.eye(n)]), np.ones(2 * n)))
    n = 20
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    half = np.ones(n)
    half[0] = 100.0
    M = np.diag(1 / half) @ Q.T
    out.append(("skinny rotated box n=20 ratio 100", np.vstack([M, -M]), np.ones(2 * n)))
    A = rng.standard_normal((100, n))
    out.append(("random polytope n=20 m=100", A, np.ones(100)))
    return out


def _worst_ess(samples):
    with warnings.catch_warnings():   # near-independent draws: ESS may exceed the draw count
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.min(S.ess(samples)))


def _convq_candidates(name, A, b, n_samples, thin):
    n = A.shape[1]
    cube = name.endswith("cube")
    body = S.Box(-np.ones(n), np.ones(n)) if cube else S.Polytope(A, b)

    def har(direction, rounding):
        def f():
            return S.hit_and_run(S.Uniform(), body, None, n_samples * thin, thin=thin, direction=direction,
                                 rounding=rounding and S.round_body(body, threads=1, rng=0), rng=1, threads=1)
        return f

    def billiard(rounding):
        def f():
            return S.billiard_walk(body, None, n_samples * max(1, thin // n), thin=max(1, thin // n),
                                   rounding=rounding and S.round_body(body, threads=1, rng=0), rng=1, threads=1)
        return f

    c = {"coordinate hit-and-run": har("coordinate", False)}
    if not cube:
        c["rounding + coordinate hit-and-run"] = har("coordinate", True)
        c["rounding + billiard"] = billiard(True)
    else:
        c["billiard"] = billiard(False)
    return c


def _hopsy_candidates(hopsy, A, b, n_samples, thin, cube):
    out = {}
    for rounded in ((False, True) if cube else (True,)):
        for prop in (hopsy.UniformCoordinateHitAndRunProposal, hopsy.UniformHitAndRunProposal,
                     hopsy.BilliardWalkProposal):
            def f(prop=prop, rounded=rounded):
                problem = hopsy.Problem(A, b)
                if rounded:
                    problem = hopsy.round(problem)
                mc = hopsy.MarkovChain(problem, prop, starting_point=hopsy.compute_chebyshev_center(problem))
                # a billiard step is a whole trajectory: thinned by thin / n, as convq's billiard rows
                th = max(1, thin // A.shape[1]) if prop is hopsy.BilliardWalkProposal else thin
                _, samples = hopsy.sample(mc, hopsy.RandomNumberGenerator(seed=1), n_samples=n_samples,
                                          thinning=th, n_procs=1)
                return samples
            out[("round + " if rounded else "") + prop.__name__.replace("Proposal", "")] = f
    return out


def _best(cands, samples_of):
    best = None
    for label, f in cands.items():
        t0 = time.perf_counter()
        out = f()
        dt = time.perf_counter() - t0
        e = _worst_ess(samples_of(out))
        print(f"  {label}: worst ESS {e:.0f} in {dt:.2f} s", file=sys.stderr, flush=True)
        if best is None or e / dt > best[1] / best[2]:
            best = (label, e, dt)
    return best


def hopsy_rows(ctx):
    """convq's best against hopsy's best, ESS/s of the worst coordinate (see above)."""
    try:
        import hopsy
    except ImportError:   # pragma: no cover - hopsy is in the bench extra only
        return []
    rows = []
    for name, A, b in _hopsy_bodies():
        n = A.shape[1]
        n_samples = 2000 if ctx.quick else 10000
        thin = n
        cb = _best(_convq_candidates(name, A, b, n_samples, thin), lambda ch: ch.samples)
        hb = _best(_hopsy_candidates(hopsy, A, b, n_samples, thin, name.endswith("cube")), lambda s: s)
        # Row wants seconds: seconds per effective sample, so ratio = convq ESS/s / hopsy ESS/s
        rows.append(Row("sampling", f"uniform on {name}: ESS/s worst coordinate, 1 core", cb[2] / cb[1],
                        f"hopsy {hopsy.__version__} ({hb[0]})", hb[2] / hb[1],
                        throughput=f"{cb[1] / cb[2]:,.0f} ESS/s (hopsy {hb[1] / hb[2]:,.0f})",
                        note=f"convq: {cb[0]}; {n_samples} draws thinned by {thin}; rounding time included; "
                             f"worst ESS convq {cb[1]:.0f} in {cb[2]:.2f} s, hopsy {hb[1]:.0f} in {hb[2]:.2f} s"))
    return rows


def run(ctx):
    print(volume_table(ctx), end="\n\n")   # its own table (no peer to time against)
    rows = hopsy_rows(ctx)
    nthreads = _core.num_threads(0)
    dims = (10, 20, 100) if ctx.quick else (10, 20, 100, 1000)
    for n in dims:
        dens, body = _gaussian(n)
        delta = 0.3
        steps_c = 500_000 if ctx.quick else 2_000_000
        chains = 2 * nthreads
        x0 = np.zeros((chains, n))

        def conv(threads):
            return lambda: S.grid_walk(dens, body, delta, x0, steps_c, n_chains=chains, thin=steps_c, rng=1,
                                       threads=threads)

        c_np = 2000
        steps_np = 20 if ctx.quick else 50
        gen = np.random.default_rng(3)
        x0_np = np.zeros((c_np, n))
        lo, hi = body.lo, body.hi

        def ref():
            numpy_grid_walk_gaussian(dens.precision, dens.mean, lo, hi, delta, x0_np, steps_np, gen)

        props_c = steps_c * chains
        props_np = steps_np * c_np
        t1, tr = time_pair(conv(1), ref, repeats=3, min_time=0.01)
        tn = min(_timeit(conv(None)) for _ in range(3))
        ratio1 = (props_c / t1) / (props_np / tr)
        ration = (props_c / tn) / (props_np / tr)
        ess_s, acc = _ess_per_s(dens, body, delta, 200_000 if ctx.quick else 1_000_000, None)
        # Row.ratio = ref_s / convq_s; express both per proposal so the ratio is the speed-up
        rows.append(Row("sampling", f"grid walk Gaussian in box n={n}, 1 thread", t1 / props_c,
                        "numpy vectorised twin", tr / props_np,
                        throughput=f"{props_c / t1 / 1e6:.1f} Mprop/s (numpy {props_np / tr / 1e6:.2f})",
                        note=f"acc={acc:.2f}; per-proposal times; {chains} chains x {steps_c} steps; "
                             f"numpy {c_np} chains"))
        rows.append(Row("sampling", f"grid walk Gaussian in box n={n}, {nthreads} threads", tn / props_c,
                        "numpy vectorised twin", tr / props_np,
                        throughput=f"{props_c / tn / 1e6:.1f} Mprop/s",
                        note=f"ESS/s (bulk, min of first coords, 4 chains) = {ess_s:,.0f}; speed-up {ration:.1f}x "
                             f"(1 thr {ratio1:.1f}x)"))
    # uniform on a 100-D polytope
    n = 100
    body = _polytope(n, 100)
    delta = 0.05
    steps_c = 200_000 if ctx.quick else 1_000_000
    chains = 2 * nthreads
    x0 = np.tile(body.start_point(), (chains, 1))

    def conv_p(threads):
        return lambda: S.grid_walk(S.Uniform(), body, delta, x0, steps_c, n_chains=chains, thin=steps_c, rng=1,
                                   threads=threads)

    c_np, steps_np = 2000, 20
    x0_np = np.tile(body.start_point(), (c_np, 1))
    gen = np.random.default_rng(4)

    def ref_p():
        numpy_grid_walk_polytope(body.A, body.b, delta, x0_np, steps_np, gen)

    props_c, props_np = steps_c * chains, steps_np * c_np
    t1, tr = time_pair(conv_p(1), ref_p, repeats=3, min_time=0.01)
    tn = min(_timeit(conv_p(None)) for _ in range(3))
    ess_s, acc = _ess_per_s(S.Uniform(), body, delta, 200_000 if ctx.quick else 1_000_000, None)
    rows.append(Row("sampling", f"grid walk uniform on polytope n={n} m={body.A.shape[0]}, 1 thread", t1 / props_c,
                    "numpy vectorised twin", tr / props_np,
                    throughput=f"{props_c / t1 / 1e6:.1f} Mprop/s (numpy {props_np / tr / 1e6:.2f})",
                    note=f"acc={acc:.2f}; O(m) slack check per proposal"))
    rows.append(Row("sampling", f"grid walk uniform on polytope n={n} m={body.A.shape[0]}, {nthreads} threads",
                    tn / props_c, "numpy vectorised twin", tr / props_np,
                    throughput=f"{props_c / tn / 1e6:.1f} Mprop/s",
                    note=f"ESS/s = {ess_s:,.0f}"))
    return rows


def _timeit(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---- volume (convq.sampling.volume): estimate and 95% interval against the exact value ----

def _volume_bodies(n):
    """(name, body, exact volume) for the cube, simplex, cross-polytope and ball of
    dimension n; the cross-polytope {x : s.x <= 1, s in {-1, 1}^n} has 2^n facets, so
    it is built only for n <= 12 (a half-space body; 2^20 rows would not fit a walk)."""
    import itertools
    import math
    out = [("cube [0,1]^n", S.Box(np.zeros(n), np.ones(n)), 1.0),
           ("simplex", S.Polytope(np.vstack([-np.eye(n), np.ones((1, n))]), np.r_[np.zeros(n), 1.0]),
            1.0 / math.factorial(n))]
    if n <= 12:
        signs = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
        out.append(("cross-polytope", S.Polytope(signs, np.ones(len(signs))), 2.0 ** n / math.factorial(n)))
    out.append(("unit ball", S.Ball(np.zeros(n), 1.0), math.pi ** (n / 2) / math.gamma(n / 2 + 1)))
    return out


def volume_table(ctx, eps=0.1):
    """Markdown table: volume(body, eps) at n = 5, 10, 20 (5, 10 with --quick) with its
    95% interval, whether it covers the exact value (up to float rounding: a lone ball is
    its own inscribed ball, so its volume is exact with no phase), the sampling cost
    (hit-and-run steps over all chains) and the time."""
    lines = [f"volume(body, eps={eps}, level=0.95, rng=0): multiphase Monte Carlo on hit-and-run, 32 chains",
             "", "| body | n | exact | estimate / exact | 95% CI / exact | covers | phases | steps | time (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n in ((5, 10) if ctx.quick else (5, 10, 20)):
        for name, body, exact in _volume_bodies(n):
            t0 = time.perf_counter()
            res = S.volume(body, eps=eps, rng=0)
            dt = time.perf_counter() - t0
            lo, hi = res.ci[0] / exact, res.ci[1] / exact
            covers = "yes" if lo <= 1.0 + 1e-12 and hi >= 1.0 - 1e-12 else "NO"
            lines.append(f"| {name} | {n} | {exact:.4g} | {res.volume / exact:.4f} | [{lo:.4f}, {hi:.4f}] | "
                         f"{covers} | {res.n_phases} | {res.n_steps:,} | {dt:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":   # python -m benchmarks.bench_sampling [--quick]: the volume table alone
    import sys

    from ._harness import Context
    print(volume_table(Context(quick="--quick" in sys.argv, bw1=0.0, bwN=0.0, threads=_core.num_threads(0))))
