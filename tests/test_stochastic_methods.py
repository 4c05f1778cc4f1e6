"""Quantized SGD / mirror descent: the C loop against the Python reference loop, the
explicit bounds of Theorem 2.3, bit accounting and input validation."""
import math

import numpy as np
import pytest

from convq.stochastic import LpBall, bernoulli_product_problem, mirror_descent, paninski_problem, sgd

pytestmark = pytest.mark.c_heavy


@pytest.mark.parametrize("p", [2.0, math.inf])
@pytest.mark.parametrize("maker", [bernoulli_product_problem, paninski_problem])
def test_c_loop_equals_python_loop_sgd(p, maker):
    prob = maker(64, p, rng=1)
    a = sgd(prob, np.zeros(64), 300, "theory", rng=7, record_every=10)
    b = sgd(prob, np.zeros(64), 300, "theory", rng=7, record_every=10, engine="python")
    assert a.engine == "c" and b.engine == "python"
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.x_last, b.x_last)
    for key in a.trace:
        np.testing.assert_array_equal(a.trace[key], b.trace[key])


@pytest.mark.parametrize("p", [1.0, 1.5])
def test_c_loop_equals_python_loop_mirror(p):
    prob = bernoulli_product_problem(64, p, rng=2)
    a = mirror_descent(prob, np.zeros(64), 200, p, "theory", rng=3)
    b = mirror_descent(prob, np.zeros(64), 200, p, "theory", rng=3, engine="python")
    np.testing.assert_allclose(a.x, b.x, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(a.trace["bits"], b.trace["bits"])


def test_unquantized_bits_are_raw_float64():
    prob = bernoulli_product_problem(10, 2, rng=0)
    res = sgd(prob, np.zeros(10), 50, 0.01, rng=0, record_every=7)
    assert res.bits_per_step == 640 and res.total_bits == 50 * 640
    np.testing.assert_array_equal(res.trace["iteration"], [7, 14, 21, 28, 35, 42, 49, 50])
    np.testing.assert_array_equal(res.trace["bits"], res.trace["iteration"] * 640)


def test_sgd_meets_explicit_bound_on_average():
    """E f(xbar_T) - f* <= D_2 alpha_0 / sqrt(T) (Theorem 2.3(1) made explicit, unquantized:
    alpha_0 = B). Averaged over 20 seeds; the mean must sit below the bound by more than
    5 standard errors."""
    d, T = 256, 2000
    prob = bernoulli_product_problem(d, 2.0, rng=11)
    bound = prob.domain.diameter(d) * prob.B / math.sqrt(T)
    subs = np.array([sgd(prob, np.zeros(d), T, "theory", rng=s).trace["suboptimality"][-1] for s in range(20)])
    assert subs.mean() + 5 * subs.std(ddof=1) / math.sqrt(subs.size) < bound
    assert np.all(subs >= -1e-12)


def test_mirror_descent_meets_its_bound():
    d, T, p = 256, 2000, 1.5
    prob = bernoulli_product_problem(d, p, rng=12)
    r = 1.5
    bound = prob.domain.radius * prob.B / math.sqrt((r - 1) * T)
    subs = np.array([mirror_descent(prob, np.zeros(d), T, p, "theory", rng=s).trace["suboptimality"][-1]
                     for s in range(20)])
    assert subs.mean() + 5 * subs.std(ddof=1) / math.sqrt(subs.size) < bound


def test_bad_inputs():
    prob = bernoulli_product_problem(8, 2, rng=0)
    with pytest.raises(ValueError, match="domain"):
        sgd(prob, np.ones(8), 10, 0.1)
    with pytest.raises(ValueError, match="step"):
        sgd(prob, np.zeros(8), 10, -0.1)
    with pytest.raises(ValueError, match=r"> 0, got 0.0 at t=3"):
        sgd(prob, np.zeros(8), 5, [0.1, 0.1, 0.1, 0.0, 0.1])
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        sgd(prob, np.zeros(8), 0, 0.1)
    with pytest.raises(ValueError, match="finite"):
        sgd(prob, [0.0] * 7 + [np.nan], 10, 0.1)
    with pytest.raises(ValueError, match="x0 has length 9, but the oracle's dimension is 8"):
        sgd(prob, np.zeros(9), 10, 0.1)
    with pytest.raises(ValueError, match="theory"):
        sgd(prob, np.zeros(8), 10, "fast")
    with pytest.raises(ValueError, match="engine"):
        sgd(prob, np.zeros(8), 10, 0.1, engine="gpu")
    with pytest.raises(ValueError, match="LpBall"):
        mirror_descent(prob, np.zeros(8), 10, 1.5, 0.1, domain=LpBall(3, 1))
