"""``mpiexec -n N python -m convq.distributed [options]`` -- see convq/distributed/_cli.py.

An unexpected exception on one rank aborts the whole MPI job (``MPI.COMM_WORLD.Abort``)
instead of leaving the other ranks waiting in a collective."""
import sys
import traceback

from ._cli import run

if __name__ == "__main__":
    try:
        code = run()
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(1)
    sys.exit(code)
