"""One MPI rank of ``python -m benchmarks wire``'s ``distributed.train`` part (started by
bench_wire.py with ``mpiexec`` inside the benchmark's own network namespaces; not a benchmark
module itself).

Workload: L2-regularised logistic regression on a sparse synthetic data set, d features, one
shard of m rows per rank (fixed seeds), full-batch gradients, T steps of SGD with the fixed step
step_scale / L. Rows: a plain mpi4py loop that ``Allreduce``s the float64 gradient (what a user would
write without convq), and ``convq.distributed.train`` with every quantizer (one ``Allgather``
of fixed-length messages per step). Per row: the time per step and its split (gradient,
encode, communication, decode: ``DistributedResult``'s counters), the bytes this rank's
interface sent per step (kernel counter, TCP/IP included) and the objective after T steps.
Rank 0 writes the results as JSON.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np


def _tx_bytes(ifname):
    with open(f"/sys/class/net/{ifname}/statistics/tx_bytes") as f:
        return int(f.read())


def _shard(rank, d, m, nnz_row, seed):
    """A rank's rows: nnz_row random features per row with unit-norm rows, labels from a
    planted sparse model (seeded by rank, so the shards differ)."""
    import scipy.sparse as sp
    rs = np.random.default_rng([seed, 7])
    w = np.zeros(d)
    support = rs.choice(d, size=min(d, 1000), replace=False)
    w[support] = rs.standard_normal(support.size) * 3.0
    r = np.random.default_rng([seed, rank])
    cols = np.sort(r.integers(0, d, size=(m, nnz_row)), axis=1).ravel()
    vals = r.standard_normal(m * nnz_row) / np.sqrt(nnz_row)
    X = sp.csr_matrix((vals, cols, np.arange(0, m * nnz_row + 1, nnz_row)), shape=(m, d))
    X.sum_duplicates()
    z = X @ w
    y = (r.random(m) < 1.0 / (1.0 + np.exp(-z))).astype(float)
    return X, y


def _rows():
    from convq.feedback import ErrorFeedback
    from convq.quantize import QSGD, RATQ, Identity, ScaledSign, SimQPlus, TernGrad, TopK
    # (name, quantizer factory of d, gain_shape)
    return [
        ("convq Identity float64", lambda d: Identity("float64"), False),
        ("convq Identity float32", lambda d: Identity("float32"), False),
        ("convq SimQ+ (p=2)", lambda d: SimQPlus(1.0, p=2), True),
        ("convq RATQ", lambda d: RATQ(1.0), True),
        ("convq QSGD(4), bucket 512", lambda d: QSGD(4), False),
        ("convq TernGrad", lambda d: TernGrad(), False),
        ("convq TopK(1%) + EF", lambda d: ErrorFeedback(TopK(max(1, d // 100))), False),
        ("convq ScaledSign + EF", lambda d: ErrorFeedback(ScaledSign()), False),
    ]


def main(cfg):
    from mpi4py import MPI

    import convq.distributed as cd
    from convq.objectives import Logistic

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    d, m, T, lam = cfg["d"], cfg["m"], cfg["T"], cfg["lam"]
    X, y = _shard(rank, d, m, cfg["nnz_row"], cfg["seed"])
    obj = Logistic(X, y, lam=lam, threads=1)
    # a fixed step of step_scale / L, L the largest of the shards' smoothness constants
    step = cfg["step_scale"] / comm.allreduce(obj.lipschitz(rng=0), op=MPI.MAX)
    x0 = np.zeros(d)
    w_r = m / (m * size)  # equal shards
    ifname = cfg["ifname"]
    out = []

    def loss(x):  # F(x) = sum_r w_r f_r(x): the objective on the union of the shards
        return comm.allreduce(w_r * obj.value(x))

    # the peer: a plain mpi4py loop, Allreduce of the weighted float64 gradient
    comm.Barrier()
    tx0 = _tx_bytes(ifname)
    x = x0.copy()
    g_sum = np.empty(d)
    t_grad = t_comm = 0.0
    t_start = time.perf_counter()
    for _ in range(T):
        t0 = time.perf_counter()
        g = obj.grad(x) * w_r
        t1 = time.perf_counter()
        comm.Allreduce(g, g_sum, op=MPI.SUM)
        t2 = time.perf_counter()
        x -= step * g_sum
        t_grad += t1 - t0
        t_comm += t2 - t1
    wall = comm.allreduce(time.perf_counter() - t_start, op=MPI.MAX)
    tx = _tx_bytes(ifname) - tx0
    out.append(dict(name="mpi4py Allreduce float64 (no convq)", step_s=wall / T, grad_s=t_grad / T, encode_s=0.0,
                    comm_s=t_comm / T, decode_s=0.0, tx_bytes=tx / T, loss=loss(x), convq=False))

    for name, make_q, gain_shape in _rows():
        comm.Barrier()
        tx0 = _tx_bytes(ifname)
        t_start = time.perf_counter()
        res = cd.train(obj, x0, T, step, make_q(d), comm=comm, gain_shape=gain_shape, average=False, rng=1)
        wall = comm.allreduce(time.perf_counter() - t_start, op=MPI.MAX)
        tx = _tx_bytes(ifname) - tx0
        out.append(dict(name=name, step_s=wall / T, grad_s=float(res.time_grad[rank]) / T,
                        encode_s=float(res.time_encode[rank]) / T, comm_s=float(res.time_comm[rank]) / T,
                        decode_s=float(res.time_decode[rank]) / T, tx_bytes=tx / T, loss=loss(res.x),
                        convq=True))
    loss0 = loss(x0)  # collective: every rank takes part
    if rank == 0:
        with open(cfg["out"], "w") as f:
            json.dump({"rows": out, "d": d, "m": m, "T": T, "size": size, "loss0": loss0}, f)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
