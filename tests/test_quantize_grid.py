"""The all-reduce mode's shared-grid rounding in C (csrc/quantize/cq_q_grid.c), the kernels
behind convq.torch's hook with mode="allreduce" on CPU buckets: equal to their NumPy twins
bit for bit, unbiased, and strict about their arguments."""
import numpy as np
import pytest

from convq import DecodeError, _core
from convq.slow import quantize as slow


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("d,b,s,norm,width", [(1, 1, 1, "inf", 1), (63, 512, 4, "2", 1), (1000, 7, 4, "2", 4),
                                               (1029, 512, 1, "inf", 8), (4096, 64, 127, "2", 1)])
def test_grid_round_and_decode_equal_their_twins(dtype, d, b, s, norm, width):
    y = np.random.default_rng(d).standard_normal(d).astype(dtype)
    y[::5] = 0.0
    scale = _core._q_grid_norms(y, b, norm == "inf") * 1.25     # another rank's larger norms: the max
    key = 0xC0FFEE ^ d
    ints = _core._q_grid_round(y, b, scale, s, key, width)
    twin = slow.grid_round(y, b, scale, s, key, width)
    assert ints.dtype == twin.dtype and np.array_equal(ints, twin)
    assert np.all(np.abs(ints) <= s) and np.all(ints[y == 0] == 0)
    for n in (1, 3):
        total = (ints.astype(np.int64) * n).astype(ints.dtype) if n * s <= np.iinfo(ints.dtype).max else None
        if total is None:
            continue
        out = np.full(d, np.nan, dtype=dtype)
        _core._q_grid_decode(total, b, scale, s, n, out)
        np.testing.assert_array_equal(out, slow.grid_decode(total, b, scale, s, n, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inf_norm", [False, True])
def test_bucket_norms_equal_their_twin_and_numpy(dtype, inf_norm):
    y = np.random.default_rng(1).standard_normal(1030).astype(dtype)
    for b in (1, 3, 100, 512, 2000):
        got = _core._q_grid_norms(y, b, inf_norm)
        assert got.dtype == np.float64 and got.shape == (-(-1030 // b),)
        assert got.tobytes() == slow.grid_norms(y, b, inf_norm).tobytes()
        ref = [np.abs(y[j:j + b]).max() if inf_norm else np.linalg.norm(y[j:j + b].astype(np.float64))
               for j in range(0, 1030, b)]
        np.testing.assert_allclose(got, ref, rtol=0 if inf_norm else 1e-12)


def test_bucket_norms_rescale_and_flag_non_finite_buckets():
    """Squares that overflow or underflow are rescaled (the norm stays a bound on every
    |y_i| of its bucket); a bucket with a NaN or Inf has norm NaN, the others are kept."""
    y = np.array([3e200, 4e200, 0.0, 1e-170, -1e-170, 0.0, 1.0, np.nan, 2.0, np.inf, 5.0, 0.0])
    for inf_norm in (False, True):
        got = _core._q_grid_norms(y, 3, inf_norm)
        assert got.tobytes() == slow.grid_norms(y, 3, inf_norm).tobytes()
        assert np.isnan(got[2]) and np.isnan(got[3])
        if inf_norm:
            np.testing.assert_array_equal(got[:2], [4e200, 1e-170])
        else:
            np.testing.assert_allclose(got[:2], [5e200, np.sqrt(2) * 1e-170], rtol=1e-15)
    assert _core._q_grid_norms(np.zeros(0), 4, False).shape == (0,)
    with pytest.raises(ValueError, match="b must be >= 1"):
        _core._q_grid_norms(y, 0, False)
    with pytest.raises((TypeError, ValueError), match="y"):
        _core._q_grid_norms(np.ones((2, 2)), 2, False)


def test_grid_round_is_unbiased():
    """E[scale ints / s] = y: 4000 independent keys, every coordinate's mean within 4.5
    standard errors (the largest |z| over 64 coordinates: a false alarm has probability
    < 64 * 7e-6 for a fixed seed set, and the seeds are fixed), and the aggregate z of the
    sum within 4."""
    d, s, n = 64, 3, 4000
    y = np.linspace(-1.0, 1.0, d)
    scale = np.array([1.0])
    draws = np.array([_core._q_grid_round(y, d, scale, s, k, 1) for k in range(n)], dtype=np.float64) / s
    mean, se = draws.mean(axis=0), draws.std(axis=0, ddof=1) / np.sqrt(n)
    on_grid = se < 1e-12                                 # s|y_i| an integer (up to rounding): exact
    z = (mean - y)[~on_grid] / se[~on_grid]
    assert np.max(np.abs(z)) < 4.5
    np.testing.assert_allclose(mean[on_grid], y[on_grid], rtol=1e-12)
    tot = draws.sum(axis=1)
    assert abs(tot.mean() - y.sum()) / (tot.std(ddof=1) / np.sqrt(n)) < 4.0


def test_grid_arguments_are_checked():
    y = np.ones(10)
    sc = np.array([1.0, 1.0])
    with pytest.raises(ValueError, match="width"):
        _core._q_grid_round(y, 5, sc, 4, 1, 2)
    with pytest.raises(ValueError, match="one entry per bucket"):
        _core._q_grid_round(y, 4, sc, 4, 1, 1)
    with pytest.raises(ValueError, match="s = 200"):
        _core._q_grid_round(y, 5, sc, 200, 1, 1)
    with pytest.raises(ValueError, match="finite"):
        _core._q_grid_round(y, 5, np.array([1.0, np.nan]), 4, 1, 1)
    with pytest.raises(ValueError, match="NaN or Inf"):
        _core._q_grid_round(np.array([1.0, np.inf, 0, 0, 0, 0, 0, 0, 0, 0]), 5, sc, 4, 1, 1)
    with pytest.raises(TypeError, match="ints"):
        _core._q_grid_decode(np.ones(10, np.int16), 5, sc, 4, 1, np.zeros(10))
    with pytest.raises(TypeError, match="out"):
        _core._q_grid_decode(np.ones(10, np.int8), 5, sc, 4, 1, np.zeros(9))
    with pytest.raises(DecodeError, match="exceeds N s = 8"):
        _core._q_grid_decode(np.full(10, 9, np.int8), 5, sc, 4, 2, np.zeros(10))
