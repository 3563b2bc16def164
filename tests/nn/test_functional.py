"""nn/functional.py on its own: the pure (out, cache) functions, without a Module (the Modules'
tests in test_layers.py check these functions' gradients through them)."""

import functools

import numpy as np
import pytest
from hypothesis import given

from ttnet.gradcheck import check_function
from ttnet.nn import functional as F

from ..helpers import conv_setups

TOL = 1e-7          # smooth layers (docs/conventions.md §8)


@given(setup=conv_setups())
def test_conv2d_functional_gradient_check(setup):
    s = setup
    rng = np.random.default_rng(s["seed"])
    inputs = {"x": rng.standard_normal((s["B"], s["C"], s["H"], s["W"])),
              "weight": rng.standard_normal((s["S"], s["C"], *s["kernel"])),
              "bias": rng.standard_normal(s["S"]) if s["bias"] else None}
    forward = functools.partial(F.conv2d_forward, stride=s["stride"], padding=s["padding"])
    result = check_function(forward, inputs, F.conv2d_backward, max_entries=60, rng=s["seed"] + 1)
    assert result.passed(TOL), str(result)


def _read_only(array):
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_backward_writes_dweight_into_the_given_array(dtype):
    """``dweight_out`` receives exactly the bits of the allocating path, and is returned."""
    rng = np.random.default_rng(0)
    x, weight = rng.standard_normal((7, 5)).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
    out, cache = F.linear_forward(x, weight, np.zeros(3, dtype))
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dweight, dbias = F.linear_backward(dout, cache)
    target = np.full_like(weight, np.nan)
    dx_into, dweight_into, dbias_into = F.linear_backward(dout, cache, dweight_out=target)
    assert dweight_into is target
    np.testing.assert_array_equal(target, dweight)
    np.testing.assert_array_equal(dx_into, dx)
    np.testing.assert_array_equal(dbias_into, dbias)
    np.testing.assert_allclose(dweight, dout.T @ x, rtol=1e-6)


@pytest.mark.parametrize("call, error, words", [
    (lambda: F.conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)), np.ones(3)),
     ValueError, r"bias must have shape \(2,\)"),
    (lambda: F.conv2d_backward(np.ones((1, 2, 1, 1)), F.conv2d_forward(
        np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)))[1]), ValueError,
     "dout must have the shape of the forward output"),
    (lambda: F.linear_backward(np.ones((1, 2), np.float32), F.linear_forward(
        np.ones((1, 3)), np.ones((2, 3)))[1]), TypeError, "dout must have the dtype"),
    (lambda: F.linear_backward(np.ones((1, 2)), F.linear_forward(
        np.ones((1, 3)), np.ones((2, 3)))[1], dweight_out=[[0.0] * 3] * 2), TypeError,
     r"dweight_out must be a NumPy array, got .*\(list\)"),
    (lambda: F.linear_backward(np.ones((1, 2)), F.linear_forward(
        np.ones((1, 3)), np.ones((2, 3)))[1], dweight_out=np.zeros((3, 2))), ValueError,
     r"dweight_out must be an array of shape \(2, 3\) and dtype float64"),
    (lambda: F.linear_backward(np.ones((1, 2)), F.linear_forward(
        np.ones((1, 3)), np.ones((2, 3)))[1], dweight_out=np.zeros((2, 3), np.float32)),
     ValueError, r"dweight_out must be an array of shape \(2, 3\) and dtype float64, got .*32"),
    (lambda: F.linear_backward(np.ones((1, 2)), F.linear_forward(
        np.ones((1, 3)), np.ones((2, 3)))[1], dweight_out=_read_only(np.zeros((2, 3)))),
     ValueError, "dweight_out must be writeable"),
    (lambda: F.batchnorm_forward(np.ones((3, 2)), None, np.zeros(2)), ValueError,
     "gamma is required"),
    (lambda: F.batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), training=False),
     ValueError, "running_mean is required in evaluation mode"),
    (lambda: F.batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), training="no"),
     TypeError, "training must be True or False"),
    (lambda: F.batchnorm_forward(np.ones((3, 2, 2)), np.ones(2), np.zeros(2)), ValueError,
     "x must have 2 dimensions"),
    (lambda: F.dropout_forward(np.ones(3), 0.5, rng=0, training=1), TypeError,
     "training must be True or False"),
    (lambda: F.relu_backward(np.ones(3), {}), TypeError, "cache must be the dict"),
])
def test_bad_input_to_a_function_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
