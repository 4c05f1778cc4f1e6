"""Slow NumPy twins of convq's C kernels (the Bottleneck ``slow/`` pattern).

Each twin computes what its C kernel computes, with the same random draws in the same
order, in plain NumPy: it is the reference the tests compare the C core with
(``tests/test_twins.py``) and the engine behind ``engine="python"`` (:mod:`convq._engine`).
Modules mirror the public ones: :mod:`convq.slow.quantize`, :mod:`convq.slow.optimize`,
:mod:`convq.slow.stochastic`, :mod:`convq.slow.models`, :mod:`convq.slow.sampling`.

:mod:`convq.slow.quantize` covers every quantizer of :mod:`convq.quantize`: ``encode``,
``decode``, ``quantize`` (the fast path), ``bits`` and ``params``, bit-identical to the C core.
"""
