"""Timing, bandwidth probe and table printing shared by every benchmark."""
from __future__ import annotations

import dataclasses
import os
import platform
import statistics
import time

import numpy as np

from convq import _core


@dataclasses.dataclass
class Row:
    """One line of a benchmark table.

    ``ratio`` is reference time / convq time (> 1: convq is faster). ``gbps`` is the
    achieved read rate of convq's kernel (bytes_read / time) and ``bw1``/``bwN`` its
    fraction of the single-thread / all-thread read bandwidth, for memory-bound kernels.
    """
    bench: str
    case: str
    convq_s: float
    ref_name: str = ""
    ref_s: float = float("nan")
    throughput: str = ""
    gbps: float = float("nan")
    bw1: float = float("nan")
    bwN: float = float("nan")
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ref_s / self.convq_s if self.convq_s > 0 else float("nan")


@dataclasses.dataclass
class Context:
    quick: bool
    bw1: float   # single-thread read bandwidth, GB/s
    bwN: float   # all-thread read bandwidth, GB/s
    threads: int


def time_call(fn, repeats=7, min_time=0.02):
    """Median wall time of fn() over `repeats` samples (each sample loops until it
    has run for at least `min_time` seconds, to beat timer resolution)."""
    samples = []
    for _ in range(repeats):
        samples.append(_one_sample(fn, min_time))
    return statistics.median(samples)


def _one_sample(fn, min_time):
    n = 0
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        t = time.perf_counter() - t0
        if t >= min_time:
            return t / n


def time_pair(convq_fn, ref_fn, repeats=7, min_time=0.02):
    """Interleaved timing: convq, reference, convq, reference, ... (medians)."""
    a, b = [], []
    convq_fn()
    ref_fn()  # warm-up: page faults, caches, lazy imports
    for _ in range(repeats):
        a.append(_one_sample(convq_fn, min_time))
        b.append(_one_sample(ref_fn, min_time))
    return statistics.median(a), statistics.median(b)


def measure_bandwidth(threads: int, nbytes: int = 512 * 2**20, repeats: int = 5) -> float:
    """Streaming read bandwidth in GB/s (1e9 bytes/s) with `threads` threads: a sum over
    a float64 array far larger than the caches, best of `repeats`."""
    x = np.ones(nbytes // 8)
    _core._bench_read(x, threads)
    best = min(_timed(lambda: _core._bench_read(x, threads)) for _ in range(repeats))
    return x.nbytes / best / 1e9


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bandwidth_row(ctx: Context, bench: str, case: str, convq_s: float, bytes_read: float, **kw) -> Row:
    """A Row with the bandwidth columns filled from the bytes convq's kernel reads."""
    gbps = bytes_read / convq_s / 1e9
    return Row(bench, case, convq_s, gbps=gbps, bw1=gbps / ctx.bw1, bwN=gbps / ctx.bwN, **kw)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"{cpu}, {os.cpu_count()} logical cores{mem}; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, convq C core -O3 (sanitizer build: {bool(_core.SANITIZED)})")


def _fmt_time(s: float) -> str:
    if s != s:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt(x: float, spec: str) -> str:
    return "-" if x != x else format(x, spec)


def format_table(rows: list[Row]) -> str:
    """A Markdown table (readable in a terminal and pasteable into BENCHMARKS.md)."""
    head = ["bench", "case", "convq", "reference", "ref time", "ratio", "throughput", "GB/s",
            "% bw (1 thr)", "% bw (all)", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r.bench, r.case, _fmt_time(r.convq_s), r.ref_name or "-", _fmt_time(r.ref_s),
                 _fmt(r.ratio, ".2f") + ("x" if r.ratio == r.ratio else ""), r.throughput or "-",
                 _fmt(r.gbps, ".2f"), _fmt(100 * r.bw1, ".0f"), _fmt(100 * r.bwN, ".0f"), r.note]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
