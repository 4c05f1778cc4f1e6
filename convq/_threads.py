"""How many threads ``threads=None`` means: the CPUs this process may really use, and the
default chosen per kernel family where more threads were measured to help.

``available_cpus()`` is the smaller of

- the CPU affinity mask (``os.sched_getaffinity(0)``: ``taskset``, ``numactl``, a batch
  scheduler's pinning), or ``os.cpu_count()`` where the platform has no affinity call, and
- the cgroup CPU quota, rounded up: cgroup v2 ``cpu.max`` (``"<quota> <period>"`` or
  ``"max <period>"``) of the process's own cgroup, its ancestors and the root, or cgroup v1
  ``cpu.cfs_quota_us / cpu.cfs_period_us`` (quota -1: none) -- what a container's
  ``--cpus=2`` sets while ``os.cpu_count()`` still reports every core of the host.

``default_threads(family)`` is what a call with ``threads=None`` runs on. The kernels split
their work into independent tasks whose results do not depend on the number of threads, so
this is only a speed choice, made from measurements (``python -m benchmarks threads``,
numbers in BENCHMARKS.md):

- ``"chains"`` (the walks, one task per chain), ``"rows"`` (batch quantization, one task per
  row block, ``rng`` streams): whole independent tasks; every available CPU.
- ``"objective"`` (the fused objective passes behind ``minimize``, ``lasso``, the linear
  models): a parallel region per pass over X, whose fork/join costs about as much as a
  pass over a few hundred thousand entries. ``default_threads("objective", work)`` is 1
  below OBJECTIVE_PARALLEL_MIN = 2^19 entries of X per pass (dense entries, or sparse
  non-zeros) and every available CPU from there: measured on an idle 2-core VM (FISTA on a
  LASSO, BENCHMARKS.md "Threads"), two threads gave 1.01-1.03x at 0.02-0.2 M
  entries, 1.15x at 1 M, 2.2x at 2 M and 1.6x at 8 M; on the same VM loaded by other jobs
  they were 0.85x at 8 M, so a busy machine is better served by ``threads=1``.
- ``"mlp"`` (minibatch halves of the MLP's back-propagation): 1 thread; two threads made the
  MLP 1.5x slower on a loaded VM and 1.04x faster on an idle one (batches of 200 rows).
- ``"codec"`` (one vector's encode / decode / quantize / decode_sum, the fixed-width codecs
  split into ranges of whole 64-bit words of the message): 1 thread below
  CODEC_PARALLEL_MIN = 2^20 coordinates, every available CPU from there (measurements at
  the constant).

An explicit ``threads=k`` is honoured as given (up to the C core's cap of 1024).
"""
from __future__ import annotations

import math
import os

__all__ = ["available_cpus", "default_threads", "check_threads", "FAMILIES"]

#: where the cgroup file systems are mounted (tests point it at a fake tree)
CGROUP_ROOT = "/sys/fs/cgroup"
#: the file naming the process's cgroups
PROC_CGROUP = "/proc/self/cgroup"

#: kernel family -> "all" (every available CPU) or a fixed default thread count (the
#: objective family's count depends on the work per pass: OBJECTIVE_PARALLEL_MIN)
FAMILIES: "dict[str, int | str]" = {"chains": "all", "rows": "all", "objective": 1, "mlp": 1, "codec": 1}

#: entries of X per objective pass from which its default is every available CPU
OBJECTIVE_PARALLEL_MIN = 1 << 19

#: coordinates of one vector from which an encode / decode / quantize / decode_sum call
#: defaults to every available CPU. Measured on the idle 2-core AVX-512 VM (wall time, median
#: of 9; TernGrad and QSGD(4) float32, encode and decode_sum of two messages; 2 threads
#: against 1): 2^18 coordinates 0.80-0.96x (starting the second thread costs about what it
#: saves), 2^20 1.29-1.51x, 2^21 1.54-1.85x, 4.93e6 1.21-1.72x. While other jobs kept the VM
#: busy (load 2-3) the same calls were 0.4-1.2x: a new thread often waits a scheduler slice
#: (~4 ms) before it runs; ``threads=1`` is the choice on a machine that is busy anyway.
CODEC_PARALLEL_MIN = 1 << 20


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _own_cgroup_paths():
    """The process's cgroup directories below CGROUP_ROOT (v2 line "0::/path", v1 "n:cpu,...:/path")."""
    text = _read(PROC_CGROUP) or ""
    v2, v1 = [], []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        rel = parts[2].lstrip("/")
        if parts[0] == "0" and parts[1] == "":
            d = os.path.join(CGROUP_ROOT, rel) if rel else CGROUP_ROOT
            while d.startswith(CGROUP_ROOT) and d != CGROUP_ROOT:   # the cgroup and its ancestors
                v2.append(d)
                d = os.path.dirname(d)
        elif "cpu" in parts[1].split(","):
            v1.extend(os.path.join(CGROUP_ROOT, ctrl, rel) for ctrl in ("cpu,cpuacct", "cpu"))
    return v2, v1


def cgroup_cpu_limit():
    """The cgroup CPU quota as a number of CPUs (rounded up), or None when there is none."""
    v2, v1 = _own_cgroup_paths()
    limits = []
    for d in v2 + [CGROUP_ROOT]:
        text = _read(os.path.join(d, "cpu.max"))
        if text:
            f = text.split()
            if len(f) == 2 and f[0] != "max":
                try:
                    q, p = int(f[0]), int(f[1])
                except ValueError:
                    continue
                if q > 0 and p > 0:
                    limits.append(q / p)
    for d in v1 + [os.path.join(CGROUP_ROOT, "cpu,cpuacct"), os.path.join(CGROUP_ROOT, "cpu")]:
        q, p = _read(os.path.join(d, "cpu.cfs_quota_us")), _read(os.path.join(d, "cpu.cfs_period_us"))
        try:
            q, p = int(q), int(p)
        except (TypeError, ValueError):
            continue
        if q > 0 and p > 0:
            limits.append(q / p)
    return max(1, math.ceil(min(limits) - 1e-9)) if limits else None


def affinity_cpus():
    """CPUs in the process's affinity mask (os.cpu_count() where there is no mask)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_cpus() -> int:
    """The number of CPUs this process can use at once: the affinity mask, capped by the
    cgroup quota (see the module docstring). At least 1."""
    n = affinity_cpus()
    lim = cgroup_cpu_limit()
    return max(1, min(n, lim) if lim is not None else n)


def default_threads(family: str, work: "int | None" = None) -> int:
    """The thread count ``threads=None`` gives a kernel of `family` (one of
    :data:`FAMILIES`): every available CPU for independent tasks, 1 where more threads
    were measured to slow the kernel down; for ``"objective"``, every available CPU once
    ``work`` (entries of X read per pass) reaches OBJECTIVE_PARALLEL_MIN. Never more than
    :func:`available_cpus`."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
    d = FAMILIES[family]
    avail = available_cpus()
    if family == "objective" and work is not None and work >= OBJECTIVE_PARALLEL_MIN:
        return avail
    if family == "codec" and work is not None and work >= CODEC_PARALLEL_MIN:
        return avail
    return avail if isinstance(d, str) else min(d, avail)


def check_threads(threads, family: str = "chains", work: "int | None" = None) -> int:
    """``threads=None`` -> :func:`default_threads` (family, work); else a positive int, as given."""
    from ._validation import check_int
    if threads is None:
        return default_threads(family, work)
    return check_int(threads, "threads", minimum=1)
