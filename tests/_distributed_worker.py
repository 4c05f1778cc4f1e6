"""One rank of the multi-process tests of tests/test_distributed.py.

Run as ``mpiexec -n N python tests/_distributed_worker.py OUTDIR``; every rank writes
OUTDIR/rank<r>.npz with the results of the scenarios below (the test process compares
them with independent single-process references). Not collected by pytest.
"""
import json
import os
import sys

import numpy as np
from mpi4py import MPI

from convq.distributed import DistributedError, train
from convq.objectives import Hinge, Logistic
from convq.quantize import QSGD, RATQ, SimQ, SimQPlus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _distributed_problem import (BATCH, IDENT_SEED, IDENT_STEP, IDENT_T, SIMQ_SEED, SIMQ_T,  # noqa: E402
                                  shard_rows, problem, simqplus_setup)


def main(outdir):
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    X, y, domain = problem()
    lo, hi = shard_rows(rank, size)
    out = {}

    # 1. Identity(float64): must equal single-process minibatch SGD on the union
    shard = Logistic(X[lo:hi], y[lo:hi], lam=1.0, intercept=True)
    res = train(shard, np.zeros(X.shape[1] + 1), IDENT_T, IDENT_STEP, None, comm, batch=BATCH,
                domain=domain, rng=IDENT_SEED, record_every=10)
    out.update(id_x=res.x, id_x_last=res.x_last, id_fun=res.trace["fun"], id_iter=res.trace["iteration"],
               id_bytes_per_step=res.bytes_per_step, id_sent=res.bytes_sent, id_recv=res.bytes_received,
               id_weights=res.weights, id_times=np.array([res.time_encode.max(), res.time_comm.max(),
                                                          res.time_decode.max()]))
    hshard = Hinge(X[lo:hi], y[lo:hi], C=0.01, intercept=True)
    res = train(hshard, np.zeros(X.shape[1] + 1), 60, 0.01, None, comm, batch=BATCH, rng=IDENT_SEED + 1)
    out.update(hi_x_last=res.x_last)

    # 2. SimQ+ with the bound of the union's minibatch oracle and Theorem 2.3's step
    q, step = simqplus_setup()
    res = train(shard, np.zeros(X.shape[1] + 1), SIMQ_T, step, q, comm, batch=BATCH, domain=domain,
                rng=SIMQ_SEED)
    out.update(sq_x=res.x, sq_fun=res.trace["fun"], sq_bytes_per_step=res.bytes_per_step,
               sq_bits=res.payload_bits_per_step)

    # 3. baselines (any finite input) and RATQ, short runs: the messages have the right length
    for name, qq, gs in (("qsgd", QSGD(levels=4), False), ("ratq", RATQ(B=1.0), True)):
        res = train(shard, np.zeros(X.shape[1] + 1), 50, 0.05, qq, comm, batch=BATCH, domain=domain, rng=3,
                    gain_shape=gs)
        out[f"{name}_bytes_per_step"] = res.bytes_per_step
        out[f"{name}_fun"] = res.trace["fun"][-1]

    # 4. the last rank's gradients are inadmissible for SimQ(B=1): every rank must raise
    Xbad = X[lo:hi] * (1000.0 if rank == size - 1 else 1.0)
    bad = Logistic(Xbad, y[lo:hi], lam=1.0, intercept=True)
    err = {"raised": False}
    try:
        train(bad, np.zeros(X.shape[1] + 1), 20, 0.01, SimQ(B=50.0), comm, batch=BATCH, rng=5)
    except DistributedError as e:
        err = {"raised": True, "rank": e.rank, "step": e.step, "message": str(e)}
    # the communicator is still usable (nobody is stuck inside a collective)
    err["after"] = comm.allreduce(1)
    # 5. a set-up error on one rank only (wrong x0 length) is also collective
    try:
        train(shard, np.zeros(X.shape[1] + 1 + (rank == 0)), 5, 0.01, None, comm, batch=BATCH, rng=5)
        err["setup_raised"] = False
    except (DistributedError, ValueError) as e:
        err["setup_raised"] = True
        err["setup_type"] = type(e).__name__
        err["setup_message"] = str(e)
    err["after_setup"] = comm.allreduce(1)
    np.savez(os.path.join(outdir, f"rank{rank}.npz"), **out)
    with open(os.path.join(outdir, f"rank{rank}.json"), "w") as f:
        json.dump(err, f)


if __name__ == "__main__":
    main(sys.argv[1])
