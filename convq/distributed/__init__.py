"""Data-parallel quantized SGD on a real distributed engine: MPI through mpi4py.

Gradient compression exists because workers send gradients over a network (Mayekar &
Tyagi, section 1: the worker-to-server link). :func:`train` runs the quantized SGD of
their Theorem 2.3 with N MPI ranks, each holding a shard of the data:

    g_r = unbiased minibatch gradient of rank r's shard (loss part) + the union's penalty,
    x_{t+1} = Pi_K(x_t - eta_t sum_r w_r Q(g_r)),   w_r = m_r / M,

where Q(g_r) is decoded from the quantizer's REAL fixed-length payload: every rank writes
``[status byte | payload]`` into a uint8 buffer, one ``Allgather`` per step exchanges the
buffers, and every rank decodes all N messages, averages and steps (so all ranks hold the
same iterate, with no server). The status byte makes failures collective: a rank whose
gradient is inadmissible for the quantizer (a norm over its bound) sends a non-zero status
and its error text, and every rank raises :class:`DistributedError` naming it -- no hang.

Bytes sent and received per rank and the time spent on the gradient, encoding, the
Allgather and decoding are recorded in the :class:`DistributedResult`.

Command line (same options as ``python -m convq demo``)::

    mpiexec -n 4 python -m convq.distributed --T 20000 --quantizers unquantized,simqplus,qsgd

Installation: ``pip install "convq[mpi]"`` (mpi4py and MPICH from PyPI).
"""
from ._train import DistributedError, DistributedResult, train

__all__ = ["train", "DistributedResult", "DistributedError"]
