"""im2col / col2im: the definition, the adjoint identity, the loop convolution, both code paths."""

import importlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.ops import col2im, conv2d_loop, conv_output_shape, im2col, window_params
from ttnet.ops.im2col import _im2col_kernel, _im2col_numpy

from ..helpers import window_geometries
from .numba_switch import numba_path

# the module (ttnet.ops.im2col is also the name of the function it exports)
im2col_module = importlib.import_module("ttnet.ops.im2col")


def geometries():
    """A small convolution geometry: odd and even, non-square kernels, strides 1-3, paddings 0-2."""
    return window_geometries(max_batch=3, max_channels=3, max_hw=7, max_kernel=5, max_padding=2)


def im2col_by_definition(x, kernel, stride, padding):
    """cols[(c, i, j), (b, p, q)] = X̃[b, c, p·sh + i, q·sw + j], entry by entry."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    B, C, H, W = x.shape
    Ho, Wo = conv_output_shape((H, W), kernel, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.zeros((C * kh * kw, B * Ho * Wo), dtype=x.dtype)
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for b in range(B):
                    for p in range(Ho):
                        for q in range(Wo):
                            cols[(c * kh + i) * kw + j, (b * Ho + p) * Wo + q] = \
                                xp[b, c, p * sh + i, q * sw + j]
    return cols


@pytest.mark.parametrize("numba", [True, False])
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_im2col_matches_definition(numba, geometry, seed):
    shape, kernel, stride, padding = geometry
    x = np.random.default_rng(seed).standard_normal(shape)
    with numba_path(numba):
        cols = im2col(x, kernel, stride, padding)
    np.testing.assert_array_equal(cols, im2col_by_definition(x, kernel, stride, padding))


@pytest.mark.parametrize("numba", [True, False])
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_col2im_is_the_adjoint_of_im2col(numba, geometry, seed):
    """⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for random x and y."""
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    with numba_path(numba):
        cols = im2col(x, kernel, stride, padding)
        y = rng.standard_normal(cols.shape)
        back = col2im(y, shape, kernel, stride, padding)
    assert back.shape == shape
    lhs, rhs = np.vdot(cols, y), np.vdot(x, back)
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, np.abs(cols * y).sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(geometry=geometries(), seed=st.integers(0, 2**32 - 1))
def test_numba_kernels_match_numpy_twins(dtype, geometry, seed):
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    (kh, kw), (sh, sw), (ph, pw) = window_params(kernel, stride, padding)
    cols_shape = im2col(x, kernel, stride, padding).shape
    # im2col's kernel directly (im2col itself takes the twin for rows under 32 pixels)
    fast, slow = np.empty(cols_shape, dtype), np.empty(cols_shape, dtype)
    _im2col_kernel(x, kh, kw, sh, sw, ph, pw, fast)
    _im2col_numpy(x, kh, kw, sh, sw, ph, pw, slow)
    results = {True: [fast], False: [slow]}
    y = rng.standard_normal(cols_shape).astype(dtype)
    for numba in (True, False):
        with numba_path(numba):
            results[numba].append(col2im(y, shape, kernel, stride, padding))
    for fast, slow in zip(results[True], results[False]):
        assert fast.dtype == slow.dtype == dtype
        tol = 1e-5 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(fast, slow, rtol=tol, atol=tol)


def test_im2col_uses_its_kernel_only_for_wide_rows(monkeypatch):
    calls = []
    monkeypatch.setattr(im2col_module, "_im2col_kernel",
                        lambda *args: calls.append("kernel") or im2col_module._im2col_numpy(*args))
    with numba_path(True):
        im2col(np.zeros((1, 1, 8, 8)), 3, padding=1)
        assert calls == []
        im2col(np.zeros((1, 1, 32, 32)), 3, padding=1)
        assert calls == ["kernel"]


@given(geometry=geometries(), S=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_kernel_times_patch_matrix_is_the_loop_convolution(geometry, S, seed):
    (B, C, H, W), kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, C, H, W))
    weight = rng.standard_normal((S, C, *kernel))
    bias = rng.standard_normal(S)
    Ho, Wo = conv_output_shape((H, W), kernel, stride, padding)
    product = weight.reshape(S, -1) @ im2col(x, kernel, stride, padding) + bias[:, None]
    as_nchw = product.reshape(S, B, Ho, Wo).transpose(1, 0, 2, 3)
    np.testing.assert_allclose(as_nchw, conv2d_loop(x, weight, bias, stride, padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("numba", [True, False])
def test_kernel_offsets_that_only_see_padding(numba):
    """Width 2, kernel 5, stride 2, padding 2: some kernel columns never meet the image."""
    x = np.arange(8.0).reshape(1, 1, 4, 2)
    with numba_path(numba):
        cols = im2col(x, 5, stride=2, padding=2)
    np.testing.assert_array_equal(cols, im2col_by_definition(x, (5, 5), (2, 2), (2, 2)))


def test_conv2d_loop_by_hand():
    """A 1-channel 3×3 image, 2×2 kernel of ones: each output is the sum of a 2×2 block."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out = conv2d_loop(x, np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(out[0, 0], [[8.0, 12.0], [20.0, 24.0]])
    padded = conv2d_loop(x, np.ones((1, 1, 2, 2)), stride=2, padding=1)
    np.testing.assert_array_equal(padded[0, 0], [[0.0, 3.0], [9.0, 24.0]])


def test_col2im_sums_overlaps():
    """With stride 1 a centre pixel lies in kh·kw patches, so col2im of ones counts them."""
    counts = col2im(np.ones((9, 9)), (1, 1, 5, 5), 3)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 3, 2, 1], [2, 4, 6, 4, 2],
                                                 [3, 6, 9, 6, 3], [2, 4, 6, 4, 2],
                                                 [1, 2, 3, 2, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_and_out_is_used(dtype):
    x = np.ones((2, 3, 4, 4), dtype=dtype)
    out = np.empty((27, 2 * 2 * 2), dtype=dtype)
    cols = im2col(x, 3, stride=1, padding=0, out=out)
    assert cols is out and cols.dtype == dtype
    dx = np.empty(x.shape, dtype=dtype)
    assert col2im(cols, x.shape, 3, out=dx) is dx and dx.dtype == dtype


def test_window_params_accepts_ints_and_pairs():
    assert window_params(3, 2, 1) == ((3, 3), (2, 2), (1, 1))
    assert window_params((3, 1), (1, 2), (0, 1)) == ((3, 1), (1, 2), (0, 1))


@pytest.mark.parametrize("call, error, words", [
    (lambda: im2col(np.ones((3, 4, 4)), 3), ValueError, "x must have 4 dimensions"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 7), ValueError, "larger than the padded input"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), (3, 7), padding=1), ValueError, "kernel_size"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 0), ValueError, "kernel_size must be >= 1"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 3, stride=0), ValueError, "stride must be >= 1"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 3, padding=-1), ValueError, "padding must be >= 0"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 2.5), TypeError, "kernel_size must be an integer"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), (2, 2, 2)), ValueError, "kernel_size must have 2"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 3, out=np.empty((9, 3))), ValueError,
     r"out must be a C-contiguous array of shape \(9, 4\) and dtype float64"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 3, out=np.empty((4, 9)).T), ValueError,
     "not C-contiguous"),
    (lambda: im2col("image", 3), TypeError, "x must be a real numeric array"),
    (lambda: col2im(np.ones((9, 5)), (1, 1, 4, 4), 3), ValueError, "cols must have shape"),
    (lambda: col2im(np.ones((9, 4)), (1, 1, 4), 3), ValueError, "input_shape must have 4"),
    (lambda: col2im(np.ones(9), (1, 1, 4, 4), 3), ValueError, "cols must have 2 dimensions"),
    (lambda: conv2d_loop(np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))), ValueError,
     "x has 2 channels but weight"),
    (lambda: conv_output_shape((4, 4), 3, stride=(1, 0)), ValueError, "stride[1] must be >= 1"),
    (lambda: col2im(np.ones((9, 4)), (1, 1, 4, 4), 3, out=np.empty((1, 1, 4, 4), np.float32)),
     ValueError, r"out must be a C-contiguous array of shape \(1, 1, 4, 4\) and dtype float64"),
    (lambda: im2col(np.ones((1, 1, 4, 4)), 3, out=[0.0]), TypeError, "out must be a NumPy array"),
    (lambda: conv2d_loop(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), np.ones(3)), ValueError,
     "bias must have shape"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        call()
