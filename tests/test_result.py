"""Every result type is a ``convq._result.Result``: a dict whose keys are attributes, with
``keys()`` and an ordered, readable repr; methods such as ``summary()`` keep working and
pickling or copying keeps the subclass."""
from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest

import convq.objectives as O
import convq.stochastic as S
from convq import convexity, optimize
from convq._result import Result
from convq.distributed import DistributedResult, train
from _distributed_problem import SelfComm




def _data():
    r = np.random.default_rng(0)
    X = r.standard_normal((30, 3))
    return X, (X[:, 0] + 0.3 * r.standard_normal(30) > 0).astype(float)


def _optimize_result():
    X, y = _data()
    return optimize.minimize(O.Logistic(X, y, 0.1), np.zeros(3), method="lbfgs", max_iter=20)


def _lasso_path():
    X, y = _data()
    return optimize.lasso_path(X, y, n_mus=4, eps=0.1)


def _sgd_result():
    prob = S.bernoulli_product_problem(6, 2, rng=0)
    return S.sgd(prob, np.zeros(6), 40, "theory", rng=1)


def _comparison():
    prob = S.bernoulli_product_problem(6, 2, rng=0)
    return S.compare(prob, [None], 20, repeats=2, rng=0)


def _convexity_report():
    return convexity.check(O.Quadratic(np.diag([1.0, 2.0]), np.zeros(2)), n=50, rng=0)


def _distributed_result():
    X, y = _data()
    obj = O.Logistic(X, y, 0.1)
    return train(obj, np.zeros(obj.dim), 10, 0.1, comm=SelfComm(), batch=5, domain=S.LpBall(2, 5.0), rng=3)


# (factory, result type, keys that must be there, a method that must still work)
CASES = [
    (_optimize_result, optimize.OptimizeResult, ("x", "fun", "nit", "success", "trace"), None),
    (_lasso_path, optimize.LassoPath, ("mus", "coefs", "gaps", "converged"), None),
    (_sgd_result, S.SGDResult, ("x", "x_last", "trace", "total_bits", "engine", "method"), None),
    (_comparison, S.Comparison, ("rows", "traces", "T", "method", "repeats"), "table"),
    (_convexity_report, convexity.ConvexityReport, ("convex", "strongly_convex_mu", "smoothness_L", "violations"),
     "summary"),
    (_distributed_result, DistributedResult, ("x", "x_last", "trace", "size", "bytes_per_step"), "summary"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[1].__name__)
def test_result_is_dict_and_attribute_accessible_with_a_readable_repr(case):
    make, cls, keys, method = case
    res = make()
    assert isinstance(res, cls) and isinstance(res, Result) and isinstance(res, dict)
    for k in keys:
        assert k in res.keys()
        v = res[k]
        assert getattr(res, k) is v
    with pytest.raises(AttributeError, match="no attribute"):
        res.not_a_key
    text = repr(res)
    lines = text.splitlines()
    assert lines[0] == f"{cls.__name__}(" and lines[-1] == ")"
    where = {k: re.search(rf"^ *{re.escape(k)}: ", text, re.MULTILINE) for k in res}
    assert all(where.values()), [k for k, m in where.items() if m is None]              # every key shown
    ordered = [where[k].start() for k in cls._order if k in res]
    assert ordered == sorted(ordered)                                                    # in the declared order
    assert len(text) < 4000                                                              # long values summarised
    if method is not None:
        assert isinstance(getattr(res, method)(), (str, dict))
    for clone in (copy.copy(res), pickle.loads(pickle.dumps(res)), res.copy()):
        assert type(clone) is cls and set(clone) == set(res)


def test_result_attribute_assignment_is_a_key():
    res = _sgd_result()
    res.note = "x"
    assert res["note"] == "x"
    del res.note
    assert "note" not in res
    with pytest.raises(AttributeError):
        del res.note


def test_convexity_report_keeps_its_positional_constructor():
    rep = convexity.ConvexityReport(True, 1.0, 2.0, None, [], {"jensen": 3})
    assert rep.convex and rep.smoothness_L == 2.0 and rep["n_tests"] == {"jensen": 3}
    assert "violations: 0 found" in repr(rep)
    with pytest.raises(TypeError, match="6 positional"):
        convexity.ConvexityReport(True, 1.0)
