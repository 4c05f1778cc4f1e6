"""Run benchmarks: ``python -m benchmarks [names...] [--quick]``.

Without names, every ``benchmarks/bench_*.py`` runs. The bandwidth probe always runs
first, single thread and all threads, since the memory-bound rows are reported as a
fraction of it.
"""
from __future__ import annotations

import argparse
import importlib
import pathlib
import sys
import time

from ._harness import Context, format_table, machine_description, measure_bandwidth


def available() -> list[str]:
    here = pathlib.Path(__file__).resolve().parent
    return sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))


def main(argv=None) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(names)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (smoke test)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(names)}")
    from convq import _core
    threads = _core.num_threads(0)
    print(f"machine: {machine_description()}")
    nbytes = (64 if args.quick else 512) * 2**20
    bw1 = measure_bandwidth(1, nbytes)
    bwn = measure_bandwidth(threads, nbytes)
    print(f"read bandwidth (streaming sum over {nbytes // 2**20} MiB): {bw1:.2f} GB/s single thread, "
          f"{bwn:.2f} GB/s with {threads} threads")
    ctx = Context(quick=args.quick, bw1=bw1, bwN=bwn, threads=threads)
    for name in args.names or names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        t0 = time.perf_counter()
        rows = module.run(ctx)
        print(f"\n## {name}  ({time.perf_counter() - t0:.1f} s)\n")
        print(format_table(rows))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
