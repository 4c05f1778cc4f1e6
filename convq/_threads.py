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
  models) and ``"mlp"`` (minibatch halves of the MLP's back-propagation): a parallel region
  per gradient, a few microseconds to milliseconds of work each; measured on 2 cores, two
  threads made the LASSO 1.5-2.3x and the MLP 1.5x slower (the fork/join per pass costs more
  than it saves), so the default is 1 thread; pass ``threads=`` explicitly for very large
  data on many idle cores.

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

#: kernel family -> "all" (every available CPU) or a fixed default thread count
FAMILIES: "dict[str, int | str]" = {"chains": "all", "rows": "all", "objective": 1, "mlp": 1}


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


def default_threads(family: str) -> int:
    """The thread count ``threads=None`` gives a kernel of `family` (one of
    :data:`FAMILIES`): every available CPU for independent tasks, 1 where more threads
    were measured to slow the kernel down. Never more than :func:`available_cpus`."""
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
    d = FAMILIES[family]
    avail = available_cpus()
    return avail if isinstance(d, str) else min(d, avail)


def check_threads(threads, family: str = "chains") -> int:
    """``threads=None`` -> :func:`default_threads` (family); else a positive int, as given."""
    from ._validation import check_int
    if threads is None:
        return default_threads(family)
    return check_int(threads, "threads", minimum=1)
