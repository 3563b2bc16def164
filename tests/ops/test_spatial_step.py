"""The TT-conv spatial step: loop reference, gradient check, numba vs NumPy twin, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.gradcheck import check_function
from ttnet.ops import spatial_step as SS
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


# ---------------------------------------------------------------- chunks of images, threads
@pytest.mark.parametrize("chunk_numbers", [1, 300, 10**6])
def test_the_chunk_size_does_not_change_the_result(monkeypatch, chunk_numbers):
    """One image per chunk, a few, or the whole batch (5 images, 2·3·4·4 numbers of Z₀ each)."""
    rng = np.random.default_rng(21)
    x, g0 = rng.standard_normal((5, 3, 4, 4)), rng.standard_normal((3, 3, 2))
    dz0 = rng.standard_normal((2, 3, 5, 4, 4))
    z_ref = spatial_step_loop(x, g0, 1, 1)
    monkeypatch.setattr(SS, "MIN_CHUNKS", 1)
    monkeypatch.setattr(SS, "CHUNK_NUMBERS", 10**6)                 # the whole batch in one chunk
    dx_ref, dg0_ref = spatial_step_backward(dz0, x, g0, 1, 1)
    monkeypatch.setattr(SS, "CHUNK_NUMBERS", chunk_numbers)
    np.testing.assert_allclose(spatial_step_forward(x, g0, 1, 1), z_ref, atol=1e-12)
    dx, dg0 = spatial_step_backward(dz0, x, g0, 1, 1)
    np.testing.assert_allclose(dx, dx_ref, atol=1e-12)
    np.testing.assert_allclose(dg0, dg0_ref, atol=1e-12)


@pytest.mark.parametrize("numba", [True, False])
def test_the_result_does_not_depend_on_the_thread_count_to_the_last_bit(numba):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(22)
    x = rng.standard_normal((19, 4, 6, 6)).astype(np.float32)
    g0 = rng.standard_normal((3, 3, 3)).astype(np.float32)
    dz0 = rng.standard_normal((3, 4, 19, 6, 6)).astype(np.float32)
    results = []
    with numba_path(numba):
        for threads in (1, 2):
            with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
                results.append((spatial_step_forward(x, g0, 1, 1),)
                               + spatial_step_backward(dz0, x, g0, 1, 1))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_results_can_go_into_arrays_the_caller_gives():
    rng = np.random.default_rng(23)
    x, g0 = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((3, 3, 2))
    out = np.full((2, 3, 2, 5, 5), np.nan)
    assert spatial_step_forward(x, g0, 1, 1, out=out) is out
    np.testing.assert_allclose(out, spatial_step_loop(x, g0, 1, 1), atol=1e-12)
    dz0 = rng.standard_normal(out.shape)
    dx = np.full(x.shape, np.nan)
    dx_given, dg0 = spatial_step_backward(dz0, x, g0, 1, 1, dx=dx)
    dx_new, dg0_new = spatial_step_backward(dz0, x, g0, 1, 1)
    assert dx_given is dx
    np.testing.assert_array_equal(dx, dx_new)
    np.testing.assert_array_equal(dg0, dg0_new)


@pytest.mark.parametrize("call, words", [
    (lambda x, g0, dz0: spatial_step_forward(x, g0, 1, 1, out=np.zeros((2, 3, 2, 5, 4))),
     r"out must be a C-contiguous array of shape \(2, 3, 2, 5, 5\)"),
    (lambda x, g0, dz0: spatial_step_forward(x, g0, 1, 1,
                                             out=np.zeros((2, 3, 2, 5, 5), np.float32)),
     "and dtype float64"),
    (lambda x, g0, dz0: spatial_step_forward(x, g0, 1, 1,
                                             out=np.zeros((2, 3, 2, 5, 10))[..., ::2]),
     "not C-contiguous"),
    (lambda x, g0, dz0: spatial_step_backward(dz0, x, g0, 1, 1, dx=np.zeros((2, 3, 5))),
     r"dx must be a C-contiguous array of shape \(2, 3, 5, 5\)"),
])
def test_a_bad_out_or_dx_gets_a_clear_error(call, words):
    x, g0 = np.zeros((2, 3, 5, 5)), np.zeros((3, 3, 2))
    with pytest.raises(ValueError, match=words):
        call(x, g0, np.zeros((2, 3, 2, 5, 5)))


def test_out_and_dx_must_not_overlap_the_inputs():
    x = np.zeros((1, 3, 5, 5))                    # with r₀ = 1 and one image, Z₀ has x's size
    g0 = np.zeros((3, 3, 1))
    with pytest.raises(ValueError, match="out must not overlap x or g0"):
        spatial_step_forward(x, g0, 1, 1, out=x.reshape(1, 3, 1, 5, 5))
    buffer = np.zeros(75)                         # out, with g0 lying in its last nine numbers
    with pytest.raises(ValueError, match="out must not overlap x or g0"):
        spatial_step_forward(x, buffer[-9:].reshape(3, 3, 1), 1, 1,
                             out=buffer.reshape(1, 3, 1, 5, 5))
    dz0 = np.zeros((1, 3, 1, 5, 5))
    with pytest.raises(ValueError, match="dx must not overlap dz0, x or g0"):
        spatial_step_backward(dz0, x, g0, 1, 1, dx=dz0.reshape(1, 3, 5, 5))
    with pytest.raises(ValueError, match="dx must not overlap dz0, x or g0"):
        spatial_step_backward(dz0, x, g0, 1, 1, dx=x)
