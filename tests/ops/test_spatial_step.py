"""The TT-conv spatial step: loop reference, gradient check, numba vs NumPy twin, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.gradcheck import check_function
from ttnet.ops.im2col import conv2d_loop
from ttnet.ops.spatial_step import spatial_step_backward, spatial_step_forward

from ..helpers import window_geometries
from .numba_switch import numba_path


def spatial_step_loop(x, g0, stride, padding):
    """Reference: each channel convolved alone with each filter by the loop convolution."""
    B, C = x.shape[:2]
    return np.stack([np.stack([conv2d_loop(x[:, c:c + 1], g0[None, None, :, :, r], None,
                                           stride, padding)[:, 0] for c in range(C)])
                     for r in range(g0.shape[2])])


@st.composite
def cases(draw):
    shape, kernel, stride, padding = draw(window_geometries(
        max_batch=2, max_channels=3, max_hw=7, max_kernel=3, max_padding=2))
    return shape, kernel, stride, padding, draw(st.integers(1, 3)), draw(st.integers(0, 2**31))


@given(cases(), st.booleans())
def test_forward_matches_the_loop_convolution_per_channel(case, numba):
    shape, kernel, stride, padding, r0, seed = case
    rng = np.random.default_rng(seed)
    x, g0 = rng.standard_normal(shape), rng.standard_normal(kernel + (r0,))
    with numba_path(numba):
        z0 = spatial_step_forward(x, g0, stride, padding)
    np.testing.assert_allclose(z0, spatial_step_loop(x, g0, stride, padding), atol=1e-12)


@given(cases())
def test_kernel_and_twin_agree_forward_and_backward(case):
    shape, kernel, stride, padding, r0, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    g0 = rng.standard_normal(kernel + (r0,)).astype(np.float32)
    results = {}
    for numba in (True, False):
        with numba_path(numba):
            z0 = spatial_step_forward(x, g0, stride, padding)
            dz0 = np.random.default_rng(seed + 1).standard_normal(z0.shape).astype(np.float32)
            results[numba] = (z0,) + spatial_step_backward(dz0, x, g0, stride, padding)
    for fast, slow in zip(results[True], results[False]):
        assert fast.dtype == np.float32
        np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)


@given(cases(), st.booleans())
def test_backward_passes_a_float64_gradient_check(case, numba):
    shape, kernel, stride, padding, r0, seed = case
    rng = np.random.default_rng(seed)

    def forward(x, g0):
        return spatial_step_forward(x, g0, stride, padding), (x, g0)

    def backward(dz0, cache):
        return spatial_step_backward(dz0, *cache, stride, padding)

    with numba_path(numba):
        result = check_function(forward, {"x": rng.standard_normal(shape),
                                          "g0": rng.standard_normal(kernel + (r0,))},
                                backward, max_entries=30)
    assert result.passed(), result


@pytest.mark.parametrize("hw, padding", [(hw, padding) for hw in [(1, 1), (2, 5), (5, 2), (7, 9)]
                                          for padding in (0, 1, 2) if min(hw) + 2 * padding >= 3])
def test_three_by_three_fast_path_matches_the_loop_and_the_twin(hw, padding):
    # 3x3 at unit stride takes the kernels' nine-term sums; down to a single output pixel
    rng = np.random.default_rng(sum(hw) + padding)
    x, g0 = rng.standard_normal((2, 3) + hw), rng.standard_normal((3, 3, 4))
    results = {}
    for numba in (True, False):
        with numba_path(numba):
            z0 = spatial_step_forward(x, g0, 1, padding)
            dz0 = np.random.default_rng(1).standard_normal(z0.shape)
            results[numba] = (z0,) + spatial_step_backward(dz0, x, g0, 1, padding)
    np.testing.assert_allclose(results[True][0], spatial_step_loop(x, g0, 1, padding), atol=1e-12)
    for fast, slow in zip(results[True], results[False]):
        np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
    with numba_path(True):                            # the fast path's own gradient check
        result = check_function(lambda x, g0: (spatial_step_forward(x, g0, 1, padding), (x, g0)),
                                {"x": x, "g0": g0},
                                lambda dz0, cache: spatial_step_backward(dz0, *cache, 1, padding),
                                max_entries=30)
    assert result.passed(), result


def test_layout_is_bond_channel_batch_pixels():
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float64).reshape(2, 3, 4, 4)
    g0 = np.zeros((1, 1, 2))
    g0[0, 0] = (1.0, -2.0)                    # 1x1 filters: Z0[r, c, b] = g0[r] * x[b, c]
    z0 = spatial_step_forward(x, g0)
    assert z0.shape == (2, 3, 2, 4, 4)
    np.testing.assert_array_equal(z0[1, 2, 0], -2.0 * x[0, 2])


def test_dtype_is_kept_and_float32_agrees_with_float64():
    rng = np.random.default_rng(0)
    x, g0 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((3, 3, 2))
    z64 = spatial_step_forward(x, g0, 1, 1)
    z32 = spatial_step_forward(x.astype(np.float32), g0.astype(np.float32), 1, 1)
    assert z32.dtype == np.float32
    np.testing.assert_allclose(z32, z64, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("call, error, words", [
    (lambda: spatial_step_forward(np.zeros((2, 3, 4)), np.zeros((3, 3, 1))), ValueError, "x"),
    (lambda: spatial_step_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 3))), ValueError, "g0"),
    (lambda: spatial_step_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 3, 1), np.float32)),
     TypeError, "g0 must have x's dtype"),
    (lambda: spatial_step_forward(np.zeros((1, 2, 2, 2)), np.zeros((3, 3, 1))), ValueError,
     "larger than the padded input"),
    (lambda: spatial_step_forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 3, 1)), stride=0),
     ValueError, "stride"),
    (lambda: spatial_step_backward(np.zeros((1, 2, 1, 3, 3)), np.zeros((1, 2, 4, 4)),
                                   np.zeros((3, 3, 1))), ValueError, "dz0 must have shape"),
])
def test_bad_input_gets_a_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
