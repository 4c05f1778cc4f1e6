"""The RNG bridge: C draws from the caller's numpy BitGenerator."""
import numpy as np
import pytest
from scipy import stats

from convq import _core
from convq._rng import as_generator, spawn

pytestmark = pytest.mark.c_heavy


@pytest.mark.parametrize("bitgen", [np.random.PCG64, np.random.Philox, np.random.SFC64, np.random.MT19937])
def test_c_uniforms_equal_generator_random(bitgen):
    a = np.random.Generator(bitgen(7))
    b = np.random.Generator(bitgen(7))
    np.testing.assert_array_equal(_core._rng_uniform(a, 1000), b.random(1000))


def test_python_stream_continues_after_c_call():
    a = np.random.default_rng(11)
    b = np.random.default_rng(11)
    _core._rng_uniform(a, 17)
    b.random(17)
    # Same state afterwards: every method continues identically.
    assert a.bit_generator.state == b.bit_generator.state
    np.testing.assert_array_equal(a.random(5), b.random(5))
    np.testing.assert_array_equal(a.integers(0, 100, 5), b.integers(0, 100, 5))


def test_bitgenerator_accepted_directly():
    bg = np.random.PCG64(3)
    ref = np.random.Generator(np.random.PCG64(3)).random(4)
    np.testing.assert_array_equal(_core._rng_uniform(bg, 4), ref)


def test_not_a_generator_is_type_error():
    with pytest.raises(TypeError, match="Generator"):
        _core._rng_uniform(np.random.RandomState(0), 3)
    with pytest.raises(TypeError):
        _core._rng_uniform(42, 3)


def test_lock_is_released_after_call():
    g = np.random.default_rng(0)
    _core._rng_uniform(g, 3)
    assert g.bit_generator.lock.acquire(blocking=False)
    g.bit_generator.lock.release()


@pytest.mark.parametrize("bitgen", [np.random.PCG64, np.random.Philox, np.random.SFC64])
def test_c_normals_and_exponentials_equal_generator(bitgen):
    """C draws NumPy's own ziggurat samplers (libnpyrandom): the same values as
    Generator.standard_normal / standard_exponential, and the stream continues identically."""
    a = np.random.Generator(bitgen(9))
    b = np.random.Generator(bitgen(9))
    np.testing.assert_array_equal(_core._rng_normal(a, 999), b.standard_normal(999))
    np.testing.assert_array_equal(_core._rng_exponential(a, 1001), b.standard_exponential(1001))
    np.testing.assert_array_equal(a.random(7), b.random(7))


def test_normal_and_exponential_distributions():
    g = np.random.default_rng(123)
    z = _core._rng_normal(g, 200_000)
    e = _core._rng_exponential(g, 200_000)
    # KS at n = 2e5 detects a CDF error of 0.004 with power ~1; fixed seed, alpha = 1e-3.
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert stats.kstest(e, "expon").pvalue > 1e-3
    # Moments within 5 standard errors.
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    assert abs(e.mean() - 1) < 5 / np.sqrt(e.size)


@pytest.mark.parametrize("bound", [1, 2, 3, 7, 1000, 2**32 - 1, 2**32 + 5, 2**63 + 12345])
def test_bounded_integers_in_range_and_uniform(bound):
    g = np.random.default_rng(bound % 1000)
    x = _core._rng_bounded(g, bound, 60_000)
    assert x.dtype == np.uint64
    assert int(x.max()) < bound
    if bound <= 1000:
        counts = np.bincount(x.astype(np.int64), minlength=bound)
        if bound > 1:
            assert stats.chisquare(counts).pvalue > 1e-4
        else:
            assert counts[0] == x.size
    else:
        u = x.astype(np.float64) / float(bound)
        assert stats.kstest(u, "uniform").pvalue > 1e-4


def test_seeded_draws_reproducible():
    np.testing.assert_array_equal(_core._rng_normal(np.random.default_rng(5), 101),
                                  _core._rng_normal(np.random.default_rng(5), 101))


def test_streams_identical_for_any_thread_count():
    rows = {t: _core._rng_uniform_streams(spawn(9, 8), 5000, t) for t in (1, 2, 3, 8)}
    for t in (2, 3, 8):
        np.testing.assert_array_equal(rows[1], rows[t])
    # Streams are distinct (independent children), and each equals its Generator.random.
    assert len({r[:4].tobytes() for r in rows[1]}) == 8
    np.testing.assert_array_equal(rows[1][3], spawn(9, 8)[3].random(5000))


def test_same_generator_twice_rejected():
    g = np.random.default_rng(0)
    with pytest.raises(ValueError, match="twice"):
        _core._rng_uniform_streams([g, g], 3, 1)


def test_as_generator_conventions():
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    assert as_generator(5).random() == np.random.default_rng(5).random()
    assert isinstance(as_generator(None), np.random.Generator)
    with pytest.raises(ValueError, match="non-negative"):
        as_generator(-1)
    with pytest.raises(TypeError):
        as_generator(True)
    with pytest.raises(TypeError):
        as_generator("seed")
    with pytest.raises(TypeError, match="RandomState"):
        as_generator(np.random.RandomState(0))


def test_spawn_is_deterministic_and_advances_parent():
    a = [g.random() for g in spawn(3, 4)]
    b = [g.random() for g in spawn(3, 4)]
    assert a == b
    parent = np.random.default_rng(3)
    first = [g.random() for g in spawn(parent, 2)]
    second = [g.random() for g in spawn(parent, 2)]
    assert first != second
