"""The problem shared by tests/test_distributed.py and tests/_distributed_worker.py:
L2-logistic regression on the demo's built-in synthetic set (first 568 of 569 rows, so
2 and 4 ranks get equal contiguous shards), a ball domain, and the run parameters."""
import numpy as np

BATCH = 8
IDENT_T, IDENT_STEP, IDENT_SEED = 300, 0.05, 7
SIMQ_T, SIMQ_SEED = 3000, 11
M = 568


class SelfComm:
    """A one-rank stand-in for an mpi4py communicator (single-process tests, no MPI)."""

    def Get_rank(self):
        return 0

    def Get_size(self):
        return 1

    def Allgather(self, send, recv):
        recv[0] = send

    def allgather(self, obj):
        return [obj]


def problem():
    from convq.demo import _synthetic
    from convq.stochastic import LpBall
    X, y, _ = _synthetic()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X[:M], y[:M], LpBall(2.0, 4.0)


def shard_rows(rank, size):
    m = M // size
    return rank * m, (rank + 1) * m


def full_objective():
    from convq.objectives import Logistic
    X, y, _ = problem()
    return Logistic(X, y, lam=1.0, intercept=True)


def simqplus_setup():
    """SimQ+ built for the almost-sure bound of the minibatch gradient (computed from the
    union's data, valid on every shard) and Theorem 2.3's step D_2 / (alpha0 sqrt T)."""
    from convq.quantize import SimQPlus
    from convq.stochastic import MinibatchOracle, theory_step
    _, _, domain = problem()
    obj = full_objective()
    oracle = MinibatchOracle(obj, BATCH, p=2.0, domain=domain)
    q = SimQPlus(B=oracle.q_bound, p=2)
    return q, theory_step("sgd", oracle, domain, q, SIMQ_T, obj.dim)
