"""convq benchmarks: ``python -m benchmarks [names] [--quick]``.

Each module ``benchmarks/bench_<name>.py`` defines ``run(ctx) -> list[Row]``; it times
convq beside the best NumPy/SciPy/scikit-learn way of doing the same job, in the same
process, with interleaved repeats (median), and reports bandwidth figures for
memory-bound kernels against the bandwidth this harness measures on the machine.
"""
