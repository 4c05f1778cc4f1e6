"""Data-parallel quantized SGD over MPI: bytes on the wire per step and time per step.

``run(ctx)`` launches ``mpiexec -n N`` itself (N = 2 and 4) on this module; every rank runs
:func:`convq.distributed.train` on a cheap O(d) objective (f_r(x) = 1/2 ||x - c_r||^2, so
the step time is the communication step: encode, one Allgather of the fixed-length
payloads, decode all N messages and average) for Identity(float64), SimQ+ (p = 2,
gain-shape), RATQ (gain-shape) and QSGD (4 levels) at d = 10^5 and 10^6. Times are per
step, measured inside the ranks, max over ranks.

The reference ("the best NumPy way") is the same loop with Identity(float64) -- raw
float64 in the same Allgather, i.e. uncompressed -- and, as a floor, one plain MPI
Allreduce of the float64 gradient (what an uncompressed data-parallel step costs
without any encode/decode). On loopback (shared memory, GB/s) the wire is nearly free,
so the table also gives the time the Allgather needs on a 1 Gbit/s link, (N-1) x bytes x 8
/ 1e9 per rank: the bytes column is what compression buys.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

from ._harness import Row

RANKS = (2, 4)


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    for cand in (os.path.join(os.path.dirname(sys.executable), "mpiexec"), shutil.which("mpiexec")):
        if cand and os.path.exists(cand):
            return cand
    return None


def _quantizers():
    from convq.quantize import QSGD, RATQ, Identity, SimQPlus
    # (name, quantizer, gain_shape): SimQ+ and RATQ need a bound, so the gradient goes
    # through gain-shape (||g||_q as float32 + the unit-norm shape); QSGD takes any input.
    return [("Identity(float64)", Identity("float64"), False), ("SimQ+", SimQPlus(B=1.0, p=2), True),
            ("RATQ", RATQ(B=1.0), True), ("QSGD(4)", QSGD(levels=4), False)]


def _rank_main(out_path, dims, steps):
    """Runs on every rank under mpiexec; rank 0 writes the JSON results."""
    import time

    import numpy as np
    from mpi4py import MPI

    from convq.distributed import train
    from convq.objectives import Function

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    results = []
    for d, T in zip(dims, steps):
        c = np.random.default_rng(rank).standard_normal(d)
        c /= np.linalg.norm(c)
        obj = Function(lambda x: 0.5 * float((x - c) @ (x - c)), lambda x: x - c, dim=d)
        for name, q, gs in _quantizers():
            train(obj, np.zeros(d), 1, 0.1, q, comm, gain_shape=gs, rng=0)  # warm-up
            comm.Barrier()
            res = train(obj, np.zeros(d), T, 0.1, q, comm, gain_shape=gs, rng=1, record_every=T)
            s = res.summary()
            grad = float(res.time_grad.max()) / T
            results.append({"d": d, "name": name, "bytes": res.bytes_per_step, "bits": res.payload_bits_per_step,
                            "step": s["time_per_step"] - grad, "encode": s["encode_per_step"],
                            "comm": s["comm_per_step"], "decode": s["decode_per_step"]})
        # floor: one MPI Allreduce of the float64 gradient, averaged in place
        buf = np.ones(d)
        comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(T):
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            buf *= 1.0 / size
        t = comm.allreduce((time.perf_counter() - t0) / T, op=MPI.MAX)
        results.append({"d": d, "name": "Allreduce(float64)", "bytes": 8 * d, "bits": 64 * d, "step": t})
    if rank == 0:
        with open(out_path, "w") as f:
            json.dump({"size": size, "results": results}, f)


def run(ctx):
    mpiexec = _mpiexec()
    if mpiexec is None:
        return [Row("distributed", "skipped", float("nan"),
                    note='mpi4py/mpiexec not installed: pip install -e ".[mpi]"')]
    dims = (10_000, 100_000) if ctx.quick else (100_000, 1_000_000)
    steps = (10, 5) if ctx.quick else (20, 6)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    rows = []
    for n in RANKS:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bench.json")
            cmd = [mpiexec, "-n", str(n), sys.executable, "-m", "benchmarks.bench_distributed", out,
                   ",".join(map(str, dims)), ",".join(map(str, steps))]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env, cwd=root)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
            with open(out) as f:
                data = json.load(f)
        by = {(r["d"], r["name"]): r for r in data["results"]}
        for d in dims:
            ref = by[(d, "Identity(float64)")]
            ared = by[(d, "Allreduce(float64)")]
            for name, _, _ in _quantizers():
                r = by[(d, name)]
                note = (f"{r['bytes'] / ref['bytes']:.3g}x the raw bytes; encode {1e3 * r['encode']:.2f} ms, "
                        f"Allgather {1e3 * r['comm']:.2f} ms, decode+avg {1e3 * r['decode']:.2f} ms; "
                        f"Allreduce f64 {1e3 * ared['step']:.2f} ms; on a 1 Gbit/s link the Allgather alone "
                        f"needs >= {1e3 * (n - 1) * r['bytes'] * 8 / 1e9:.2f} ms")
                rows.append(Row("distributed", f"{name} d={d:.0e} N={n}", r["step"], "Identity f64 Allgather",
                                ref["step"], throughput=f"{r['bytes']} B/step/rank", note=note))
    return rows


if __name__ == "__main__":
    _rank_main(sys.argv[1], [int(v) for v in sys.argv[2].split(",")], [int(v) for v in sys.argv[3].split(",")])
