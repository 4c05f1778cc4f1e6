"""The layer rules of ARCHITECTURE.md, checked on the sources and on the binding.

* Only the call helper (csrc/python/_call.c) releases the GIL: every other binding file
  runs its kernels through cqb_call / cqb_call_streams.
* No Python module re-types a C enum: no ALL-CAPS names assigned an int tuple, a range or
  a string -> int dict literal (the codes are read from the constants ``_core`` exports).
* Parameters cross as named specs (convq/_spec.py): the binding reads them by field name
  and refuses a positional plain tuple, or a spec of another type, with TypeError.
"""
from __future__ import annotations

import math
import pathlib
import re

import numpy as np
import pytest

from convq import _core
from convq import _spec
from convq import objectives as O
from convq import quantize as Q
from convq import stochastic as S

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ---- the sources ----------------------------------------------------------------------------

def test_only_the_call_helper_releases_the_gil():
    files = sorted((ROOT / "csrc" / "python").glob("*.c"))
    assert len(files) >= 8, files
    pattern = re.compile(r"Py_BEGIN_ALLOW_THREADS|Py_END_ALLOW_THREADS|PyEval_SaveThread|cqb_nogil_begin")
    offenders = [f"{f.name}:{i}: {line.strip()}" for f in files if f.name != "_call.c"
                 for i, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
    assert pattern.search((ROOT / "csrc" / "python" / "_call.c").read_text())   # the helper itself does


# an ALL-CAPS name (or several) assigned integer literals, a range, or a {"name": int, ...} dict
_ENUM_TUPLE = re.compile(r"^\s*\(?\s*_?[A-Z][A-Z0-9_]*(\s*,\s*_?[A-Z][A-Z0-9_]*)+\s*\)?\s*=\s*"
                         r"(range\(|\(?\s*-?\d+\s*,\s*-?\d+)")
_ENUM_RANGE = re.compile(r"^\s*_?[A-Z][A-Z0-9_]*\s*=\s*(range\(|\(\s*-?\d+\s*,\s*-?\d+\s*,)")
_ENUM_DICT = re.compile(r"^\s*_?[A-Z][A-Z0-9_]*\s*=\s*\{\s*[\"'][^\"']+[\"']\s*:\s*-?\d+\s*,")

# Python-only codes that mirror nothing in C: the status byte of the wire protocols of
# convq.torch and convq.distributed (a rank's first byte on the Allgather).
_PYTHON_ONLY = {("convq/torch.py", "_OK, _EBOUND, _EOTHER"),
                ("convq/distributed/_train.py", "_OK, _EBOUND, _EVALUE, _EOTHER")}


def test_no_python_module_retypes_a_c_enum():
    files = sorted((ROOT / "convq").rglob("*.py"))
    assert len(files) >= 30, files
    offenders = []
    for f in files:
        rel = f.relative_to(ROOT).as_posix()
        for i, line in enumerate(f.read_text().splitlines(), 1):
            if not (_ENUM_TUPLE.search(line) or _ENUM_RANGE.search(line) or _ENUM_DICT.search(line)):
                continue
            if any(rel == path and line.strip().startswith(names) for path, names in _PYTHON_ONLY):
                continue
            offenders.append(f"{rel}:{i}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("line", ["_NONE, _BOX, _LPBALL = 0, 1, 2", "A, B, C = range(3)", "KINDS = range(4)",
                                  '_KINDS = {"bernoulli": 0, "paninski": 1}', "(X, Y) = (1, 2)"])
def test_the_enum_scan_catches_the_patterns_it_forbids(line):
    assert _ENUM_TUPLE.search(line) or _ENUM_RANGE.search(line) or _ENUM_DICT.search(line)


@pytest.mark.parametrize("line", ["_LSQ, _LOGI = _core.OBJ_LEASTSQ, _core.OBJ_LOGISTIC", "x, y = 0, 1",
                                  "RATQ_HMAX = 64", 'counts = {"f": 0, "g": 0}'])
def test_the_enum_scan_leaves_other_assignments_alone(line):
    assert not (_ENUM_TUPLE.search(line) or _ENUM_RANGE.search(line) or _ENUM_DICT.search(line))


def test_python_reads_the_exported_codes():
    from convq.models import mlp
    from convq.slow import models as slow_models
    from convq.stochastic import problems
    assert mlp._ACTIVATIONS == {"sigmoid": _core.MLP_ACT_SIGMOID, "tanh": _core.MLP_ACT_TANH,
                                "relu": _core.MLP_ACT_RELU, "leaky_relu": _core.MLP_ACT_LEAKY_RELU}
    assert len(set(mlp._ACTIVATIONS.values())) == 4
    assert (slow_models._SIGMOID, slow_models._TANH, slow_models._RELU, slow_models._LEAKY) == \
        (_core.MLP_ACT_SIGMOID, _core.MLP_ACT_TANH, _core.MLP_ACT_RELU, _core.MLP_ACT_LEAKY_RELU)
    assert problems._KINDS == {"bernoulli": _core.ORACLE_BERNOULLI, "paninski": _core.ORACLE_PANINSKI}
    doms = {_core.DOM_NONE, _core.DOM_BOX, _core.DOM_LPBALL}
    oracles = {_core.ORACLE_BERNOULLI, _core.ORACLE_PANINSKI, _core.ORACLE_MINIBATCH, _core.ORACLE_NOISY}
    assert len(doms) == 3 and len(oracles) == 4 and _core.SGD_PROJECTED != _core.SGD_MIRROR
    assert S.LpBall(2, 1.0)._c_spec.kind == _core.DOM_LPBALL
    assert S.Box(-1, 1, d=2)._c_spec.kind == _core.DOM_BOX


# ---- the binding refuses positional tuples --------------------------------------------------

def _lsq():
    r = np.random.default_rng(0)
    return O.LeastSquares(r.standard_normal((6, 3)), r.standard_normal(6), 0.1)


def test_objective_spec_is_named_and_read_by_name():
    obj = _lsq()
    spec = obj._c_spec
    assert isinstance(spec, _spec.ObjectiveSpec)
    theta = np.array([0.1, -0.2, 0.3])
    f, g = _core._obj_value_grad(spec, theta, None, True)
    assert f == obj.value(theta) and np.array_equal(g, obj.grad(theta))
    # the fields are read by name: a spec rebuilt with keywords in another order is the same
    again = _spec.ObjectiveSpec(threads=spec.threads, c=spec.c, lam=spec.lam, intercept=spec.intercept,
                                y=spec.y, X=spec.X, kind=spec.kind)
    assert _core._obj_value_grad(again, theta, None, False)[0] == f


@pytest.mark.parametrize("call", [
    lambda s, t: _core._obj_value_grad(s, t, None, True),
    lambda s, t: _core._obj_hessp(s, t, t, None),
    lambda s, t: _core._obj_matvec(s, t),
    lambda s, t: _core._obj_hess_diag(s, t),
])
def test_objective_entry_points_refuse_plain_tuples(call):
    spec = _lsq()._c_spec
    theta = np.zeros(3)
    with pytest.raises(TypeError, match="ObjectiveSpec"):
        call(tuple(spec), theta)
    with pytest.raises(TypeError, match="ObjectiveSpec"):
        call(_spec.DomainSpec(*spec[:5]), theta)          # another spec type


def test_the_solver_spec_is_read_by_name_and_plain_tuples_are_refused():
    """minimize's options cross as a SolverSpec: a spec built with its keywords in another
    order runs the same iteration; a plain tuple (the old positional form) is a TypeError."""
    obj = _lsq()
    spec = _spec.SolverSpec(method=_core.OPT_GD, step=_core.STEP_ARMIJO, tol=1e-10)
    again = _spec.SolverSpec(tol=1e-10, step=_core.STEP_ARMIJO, method=_core.OPT_GD)
    a = _core._minimize(obj._c_spec, np.zeros(3), spec, None, 50)
    b = _core._minimize(obj._c_spec, np.zeros(3), again, None, 50)
    assert np.array_equal(a[0], b[0]) and a[3] == b[3]
    with pytest.raises(TypeError, match="SolverSpec"):
        _core._minimize(obj._c_spec, np.zeros(3), tuple(spec), None, 50)
    with pytest.raises(TypeError, match="SolverSpec.tol"):
        _core._minimize(obj._c_spec, np.zeros(3), spec._replace(tol="small"), None, 50)


def test_quantizer_entry_points_refuse_plain_tuples():
    spec = Q.SimQPlus(1.0, p=2)._spec
    assert isinstance(spec, _spec.QuantizerSpec) and _core._q_bits(spec, 8) > 0
    with pytest.raises(TypeError, match="QuantizerSpec"):
        _core._q_bits(tuple(spec), 8)


def test_domain_entry_points_refuse_plain_tuples():
    x = np.array([3.0, -4.0])
    ball = S.LpBall(2, 1.0)
    assert np.allclose(_core._project(x, ball._c_spec), [0.6, -0.8])
    for bad in (tuple(ball._c_spec), (_core.DOM_LPBALL, 2.0, 1.0, None, None)):
        with pytest.raises(TypeError, match="DomainSpec"):
            _core._project(x, bad)
        with pytest.raises(TypeError, match="DomainSpec"):
            _core._mirror_step(x * 0.1, x, 2.0, 0.1, bad)
    with pytest.raises(TypeError, match="2 arguments"):     # the old positional form
        _core._project(x, _core.DOM_LPBALL, 2.0, 1.0, None, None)


def test_oracle_entry_points_refuse_plain_tuples():
    obj = _lsq()
    orc = S.MinibatchOracle(obj, 2, domain=S.LpBall(2, 1.0))
    prob = S.bernoulli_product_problem(4, 2.0, rng=0)
    x = np.zeros(3)
    assert _core._oracle_draw(orc._c_spec, x, np.random.default_rng(0), 2).shape == (2, 3)
    assert _core._oracle_draw(prob._c_spec, np.zeros(4), np.random.default_rng(0), 2).shape == (2, 4)
    for bad in (tuple(orc._c_spec), ("minibatch", tuple(obj._c_spec), 2), tuple(prob._c_spec),
                ("sign", 0, prob.alpha, 0.5, 0.25)):
        with pytest.raises(TypeError, match="OracleSpec"):
            _core._oracle_draw(bad, np.zeros(len(prob.alpha)) if len(bad) != 3 else x,
                               np.random.default_rng(0), 1)
    # a named oracle spec whose objective is a plain tuple
    with pytest.raises(TypeError, match="ObjectiveSpec"):
        _core._oracle_draw(orc._c_spec._replace(objective=tuple(obj._c_spec)), x, np.random.default_rng(0), 1)
    with pytest.raises(ValueError, match="unknown oracle kind"):
        _core._oracle_draw(orc._c_spec._replace(kind=99), x, np.random.default_rng(0), 1)


def test_the_sgd_loop_refuses_plain_tuples():
    prob = S.bernoulli_product_problem(4, 2.0, rng=0)
    x0, steps = np.zeros(4), np.array([0.1])
    dom = prob.domain._c_spec

    def run(ospec, dspec):
        return _core._sgd_run(ospec, None, x0, steps, _core.SGD_PROJECTED, 2.0, dspec, 1, True,
                              np.random.default_rng(0), 3)

    x_last, xbar, snaps, bits = run(prob._c_spec, dom)
    assert snaps.shape == (3, 4) and np.all(np.isfinite(x_last))
    with pytest.raises(TypeError, match="DomainSpec"):
        run(prob._c_spec, tuple(dom))
    with pytest.raises(TypeError, match="OracleSpec"):
        run(tuple(prob._c_spec), dom)


def test_spec_fields_are_type_checked_by_name():
    spec = _lsq()._c_spec
    with pytest.raises(TypeError, match=r"ObjectiveSpec\.lam"):
        _core._obj_value_grad(spec._replace(lam="x"), np.zeros(3), None, False)
    with pytest.raises(TypeError, match=r"DomainSpec\.radius"):
        _core._project(np.ones(2), S.LpBall(2, 1.0)._c_spec._replace(radius=None))
    with pytest.raises(ValueError, match="unknown domain kind"):
        _core._project(np.ones(2), _spec.DomainSpec(kind=7, p=math.inf))
