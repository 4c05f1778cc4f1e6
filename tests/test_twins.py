"""The twin harness (Bottleneck's ``unit_maker`` is the model).

For every public C-backed entry point and its slow NumPy twin in :mod:`convq.slow`:
- equal results on adversarial inputs (bit-identical where the twin replays the same
  operations, else within a stated tolerance),
- the same exception type on bad input,
- inputs not modified,
- reference counts of the inputs unchanged.

The tables live beside this file, one per area (``tests/_twins_<area>.py``, each a list
``TWINS``); every table found there is run. Each entry is ``Twin(name, c, slow, cases, bad, rtol)``: ``cases`` yields
argument tuples, ``bad`` argument tuples that must raise; ``c`` and ``slow`` take the same
arguments (small lambdas adapt signatures where the public API and the twin differ).
"""
from __future__ import annotations

import importlib
import pathlib
import sys

import numpy as np
import pytest

TWINS = []
for _path in sorted(pathlib.Path(__file__).parent.glob("_twins_*.py")):
    TWINS += importlib.import_module(_path.stem).TWINS


def _same(a, b, rtol):
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, rtol)
        return
    if isinstance(a, (bytes, bytearray)):
        assert a == b
        return
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    if rtol == 0:
        np.testing.assert_array_equal(a, b)
    else:   # relative to the scale of the whole result (gradients have cancelling entries)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b), initial=0))))


def _outcome(f, args):
    try:
        return f(*args), None
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return None, type(e)


def _refs(args):
    # Arrays only: ints and short bytes are shared with other objects (cached small ints,
    # earlier results), so their counts move for reasons that have nothing to do with C.
    return [sys.getrefcount(a) if isinstance(a, np.ndarray) else None for a in args]


def _snap(args):
    # arrays are copied; everything else passed here is immutable (bytes, int, str)
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    return before, _refs(args)


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.name)
def test_c_equals_twin_on_adversarial_inputs(twin):
    rng = np.random.default_rng(2026)
    n = 0
    for args in twin.cases(rng):
        before, refs = _snap(args)
        got, e1 = _outcome(twin.c, args)
        refs_after = _refs(args)
        want, e2 = _outcome(twin.slow, args)
        assert e1 is e2, f"{twin.name}{tuple(type(a).__name__ for a in args)}: C raised {e1}, twin {e2}"
        if e1 is None:
            _same(got, want, twin.rtol)
            n += 1
        for a, b in zip(args, before):   # inputs not modified
            if isinstance(a, np.ndarray):
                np.testing.assert_array_equal(a, b)
            else:
                assert a == b
        assert refs_after == refs, f"{twin.name}: reference counts of the inputs changed"
    assert n > 0


@pytest.mark.parametrize("twin", TWINS, ids=lambda t: t.name)
def test_c_and_twin_raise_the_same_type_on_bad_input(twin):
    for args in twin.bad():
        _, e1 = _outcome(twin.c, args)
        _, e2 = _outcome(twin.slow, args)
        assert e1 is not None, f"{twin.name}{args!r} did not raise"
        assert e1 is e2, f"{twin.name}{args!r}: C raised {e1.__name__}, twin {e2 and e2.__name__}"
        assert issubclass(e1, (ValueError, TypeError)), f"{twin.name}{args!r} raised {e1.__name__}"
