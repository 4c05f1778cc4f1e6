"""The API's general rules, enforced by convq._validation and the binding layer."""
import numpy as np
import pytest

import convq
from convq import DecodeError, _core
from convq._validation import (as_float_array, as_matrix, as_vector, check_int, check_open_unit,
                               check_positive, check_threads)


def test_decode_error_is_value_error():
    assert issubclass(DecodeError, ValueError)


@pytest.mark.parametrize("bad", [[1.0, np.nan], [np.inf, 0.0], [0.0, -np.inf]])
def test_non_finite_rejected_with_position(bad):
    with pytest.raises(ValueError, match=r"y must be finite, got .* at index"):
        as_vector(bad, "y")


@pytest.mark.parametrize("bad, kind", [
    (np.array([1 + 2j, 3]), "complex"),
    (np.array([1.0, None], dtype=object), "object"),
    (np.array(["a", "b"]), "<U1"),
    ("abc", "str"),
    (b"ab", "bytes"),
])
def test_wrong_dtypes_are_type_errors(bad, kind):
    with pytest.raises(TypeError, match="real numbers"):
        as_vector(bad, "y")


def test_wrong_shapes_and_empty():
    with pytest.raises(ValueError, match=r"must be 1-dimensional, got shape \(2, 2\)"):
        as_vector(np.ones((2, 2)), "y")
    with pytest.raises(ValueError, match=r"must have shape \(3\), got \(2,\)"):
        as_vector([1.0, 2.0], "y", size=3)
    with pytest.raises(ValueError, match="must not be empty"):
        as_vector([], "y")
    with pytest.raises(ValueError, match=r"shape \(any, 4\)"):
        as_matrix(np.ones((3, 3)), "X", cols=4)
    with pytest.raises(ValueError, match="could not be converted"):
        as_vector([[1.0], [1.0, 2.0]], "y")


def test_non_contiguous_float32_and_fortran_inputs_work():
    base = np.arange(20, dtype=np.float32).reshape(4, 5)
    v = as_vector(base[:, 1], "y")
    assert v.flags.c_contiguous and v.dtype == np.float64
    np.testing.assert_array_equal(v, [1, 6, 11, 16])
    m = as_matrix(np.asfortranarray(base), "X")
    assert m.flags.c_contiguous
    np.testing.assert_array_equal(m, base)
    ints = as_vector([1, 2, 3], "y")
    assert ints.dtype == np.float64


def test_copy_is_fresh():
    x = np.ones(3)
    assert as_float_array(x, copy=True) is not x
    assert not np.shares_memory(as_float_array(x, copy=True), x)


def test_scalar_checks():
    assert check_positive(2, "t") == 2.0
    with pytest.raises(ValueError, match="t must be > 0, got 0.0"):
        check_positive(0, "t")
    with pytest.raises(ValueError, match="finite"):
        check_positive(float("nan"), "t")
    with pytest.raises(TypeError):
        check_positive("1", "t")
    with pytest.raises(ValueError, match=r"open interval \(0, 1\), got 1.0"):
        check_open_unit(1.0, "alpha")
    with pytest.raises(TypeError):
        check_int(True, "k")
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        check_int(0, "k", minimum=1)
    assert check_threads(None) == convq.available_cpus()   # None: the CPUs this process may use
    with pytest.raises(ValueError):
        check_threads(0)


def test_binding_rejects_bad_types_without_crashing():
    # The binding layer itself refuses non-numeric data even when called directly.
    with pytest.raises(TypeError):
        _core._bits_write(np.array(["x"]), np.array([3]))
    with pytest.raises(TypeError):
        _core._bits_write(np.array([1 + 1j]), np.array([3]))
    with pytest.raises(ValueError, match="dimensional"):
        _core._bits_write(np.ones((2, 2), dtype=np.int64), np.array([3, 3]))
    with pytest.raises(TypeError):
        _core._bench_read([1.0, 2.0], 1)


def test_check_int_refuses_ints_beyond_int64_with_a_value_error():
    from convq._validation import check_int
    for big in (2**63, 2**64 + 3, 10**30):
        with pytest.raises(ValueError, match="n must be <="):
            check_int(big, "n", minimum=0)
    assert check_int(2**63 - 1, "n") == 2**63 - 1
    from convq.coding import unpack_fields
    with pytest.raises(ValueError, match="nbits"):
        unpack_fields(b"\x05", 2**64 + 3, [3])
