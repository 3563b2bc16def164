"""ttnet/_checks.py: the shared argument checks, on their own (tests/test_bad_inputs.py checks
that every public function calls them at its boundary)."""

import numpy as np
import pytest

from ttnet._checks import (check_bool, check_choice, check_in_range, check_int,
                           check_int_sequence, check_out, describe)


def test_describe_names_arrays_by_shape_and_dtype_and_shortens_long_reprs():
    assert describe(np.zeros((2, 3), np.float32)) == "an array of shape (2, 3) and dtype float32"
    assert describe(3.5) == "3.5 (float)"
    text = describe("x" * 100)
    assert text.endswith("... (str)") and len(text) == 60 + len(" (str)")


def test_integers_refuse_bools_and_floats_and_name_the_argument():
    assert check_int(np.int64(3), "n", minimum=1) == 3 and type(check_int(np.int64(3), "n")) is int
    with pytest.raises(TypeError, match=r"n must be an integer, got True \(bool\)"):
        check_int(True, "n")
    with pytest.raises(TypeError, match=r"n must be an integer, got 2.0 \(float\)"):
        check_int(2.0, "n")
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_int(0, "n", minimum=1)
    assert check_int_sequence([1, np.int32(2)], "modes") == (1, 2)
    with pytest.raises(ValueError, match=r"modes\[1\] must be >= 1, got 0 \(in modes=\(3, 0\)\)"):
        check_int_sequence((3, 0), "modes")


@pytest.mark.parametrize("value, include_low, include_high, ok", [
    (0.0, True, False, True), (1.0, True, False, False),
    (0.0, False, True, False), (1.0, False, True, True),
])
def test_ranges_have_open_or_closed_ends(value, include_low, include_high, ok):
    if ok:
        assert check_in_range(value, "p", 0.0, 1.0, include_low=include_low,
                              include_high=include_high) == value
    else:
        left, right = "[" if include_low else "(", "]" if include_high else ")"
        with pytest.raises(ValueError, match=rf"p must be in \{left}0.0, 1.0\{right}, got"):
            check_in_range(value, "p", 0.0, 1.0, include_low=include_low,
                           include_high=include_high)


def test_flags_and_choices():
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError, match=r"flag must be True or False, got 1 \(int\)"):
        check_bool(1, "flag")
    assert check_choice("test", "split", ("train", "test")) == "test"
    with pytest.raises(ValueError, match="split must be one of 'train', 'test'; got 'valid'"):
        check_choice("valid", "split", ("train", "test"))


def test_out_arrays_must_be_writeable_arrays_of_the_exact_shape_and_dtype():
    out = np.empty((2, 3))
    assert check_out(out, "out", (2, 3), np.float64) is out
    transposed = out.T
    assert check_out(transposed, "out", (3, 2), "float64") is transposed   # any strides
    with pytest.raises(TypeError, match=r"buf must be a NumPy array, got \[0.0\] \(list\)"):
        check_out([0.0], "buf", (1,), np.float64)
    with pytest.raises(ValueError, match=r"out must be an array of shape \(3, 2\) and dtype "
                                         r"float64, got an array of shape \(2, 3\)"):
        check_out(out, "out", (3, 2), np.float64)
    with pytest.raises(ValueError, match="dtype float32, got .* float64"):
        check_out(out, "out", (2, 3), np.float32)                      # no casting
    with pytest.raises(ValueError, match=r"a C-contiguous array .* got .*, not C-contiguous"):
        check_out(out.T, "out", (3, 2), np.float64, contiguous=True)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable, got a read-only array"):
        check_out(out, "out", (2, 3), np.float64)
