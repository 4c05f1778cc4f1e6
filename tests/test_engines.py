"""The engine switch (``engine="auto" | "c" | "python"``, resolved by convq._engine) on the
entry points that gained one: the twin runs when asked, "c" is refused with a reason where
the inputs have no C path, and a misspelt engine names the argument."""
from __future__ import annotations

import numpy as np
import pytest

import convq.quantize as Q
import convq.stochastic as S
from convq.models import MLPClassifier
from convq.optimize import lasso, lasso_path, svm_dual_cd


class _PythonOracle:
    """A stochastic oracle without a C implementation: f(x) = ||x||^2 / 2 plus noise."""
    d = 3

    def sample(self, x, rng=None):
        return np.asarray(x) + 0.1 * np.random.default_rng(rng).standard_normal(3)

    def value(self, x):
        x = np.asarray(x)
        return 0.5 * np.sum(x * x, axis=-1)


def _data():
    r = np.random.default_rng(0)
    X = r.standard_normal((40, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_sgd_runs_a_python_oracle_in_python_and_refuses_c():
    res = S.sgd(_PythonOracle(), np.ones(3), 20, 0.1, rng=0)
    assert res.engine == "python" and res.trace["fun"][-1] < 1.5
    with pytest.raises(ValueError, match="engine='c'.*C implementations"):
        S.sgd(_PythonOracle(), np.ones(3), 20, 0.1, rng=0, engine="c")


def test_mlp_engines_agree_and_quantized_training_has_no_c_loop():
    X, y = _data()
    c = MLPClassifier(hidden=(4,), epochs=3, rng=1).fit(X, y, engine="c")
    py = MLPClassifier(hidden=(4,), epochs=3, rng=1).fit(X, y, engine="python")
    np.testing.assert_allclose(py.theta_, c.theta_, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(py.predict(X), c.predict(X))
    with pytest.raises(ValueError, match="engine='c'.*gain-shape"):
        MLPClassifier(hidden=(4,), epochs=1, quantizer=Q.SimQ(B=1.0), rng=1).fit(X, y, engine="c")


@pytest.mark.parametrize("call", [
    lambda e: svm_dual_cd(*_data(), engine=e),
    lambda e: lasso(*_data(), 0.5, engine=e),
    lambda e: lasso_path(*_data(), n_mus=3, engine=e),
    lambda e: MLPClassifier(hidden=(2,), epochs=1).fit(*_data(), engine=e),
    lambda e: S.sgd(S.bernoulli_product_problem(4, 2, rng=0), np.zeros(4), 5, 0.1, engine=e),
], ids=["svm_dual_cd", "lasso", "lasso_path", "MLPClassifier.fit", "sgd"])
def test_a_misspelt_engine_names_the_argument(call):
    with pytest.raises(ValueError, match=r"engine must be one of 'auto', 'c', 'python', got 'C'"):
        call("C")


@pytest.mark.parametrize("make", [lambda: Q.SimQ(1.0), lambda: Q.SimQPlus(1.0, p=3), lambda: Q.CUQ(1.0, 8),
                                  lambda: Q.RATQ(1.0), lambda: Q.LpQuantizer(1.5, 1.0), lambda: Q.QSGD(4),
                                  lambda: Q.TernGrad(), lambda: Q.TopK(3), lambda: Q.RandK(3), lambda: Q.Identity()])
def test_quantizers_take_the_engine_switch(make):
    """encode / decode / the fast path with engine="python" run convq.slow.quantize: the same
    message and the same output bit for bit; a misspelt engine is named."""
    q = make()
    y = np.random.default_rng(1).uniform(-1, 1, 37)
    y /= np.abs(y).sum()
    a, b = q.encode(y, rng=4), q.encode(y, rng=4, engine="python")
    assert (a.payload, a.nbits, a.d) == (b.payload, b.nbits, b.d)
    np.testing.assert_array_equal(q.decode(a), q.decode(a, engine="python"))
    np.testing.assert_array_equal(q(y, rng=6), q(y, rng=6, engine="python"))
    with pytest.raises(ValueError, match="engine"):
        q.encode(y, engine="gpu")
