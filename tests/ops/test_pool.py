"""Max pooling with argmax: loop reference, ties, padding, NaN, numba vs NumPy twin."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.ops.pool import max_pool2d, max_pool2d_backward, pool_params

from ..helpers import window_geometries
from .numba_switch import numba_path


def pool_geometries():
    return window_geometries(max_batch=2, max_channels=3, max_hw=7, max_kernel=4)


def max_pool_loop(x, kernel, stride, padding):
    """Reference: scan each window in row-major order, keep the first strict maximum.

    Padding is −∞; a real entry equal to a padded running maximum replaces it, so the
    maximum is always at an input position (only matters for all −∞ windows).
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    B, C, H, W = x.shape
    _, _, _, (Ho, Wo) = pool_params((H, W), kernel, stride, padding)
    out = np.empty((B, C, Ho, Wo), dtype=x.dtype)
    argmax = np.empty((B, C, Ho, Wo), dtype=np.int64)
    dx_positions = {}
    for b in range(B):
        for c in range(C):
            for p in range(Ho):
                for q in range(Wo):
                    best, best_k, best_real = -np.inf, None, False
                    for k in range(kh * kw):
                        h, w = p * sh - ph + k // kw, q * sw - pw + k % kw
                        real = 0 <= h < H and 0 <= w < W
                        value = x[b, c, h, w] if real else -np.inf
                        if best_k is None or value > best or (value == best and real
                                                              and not best_real):
                            best, best_k, best_real = value, k, real
                    out[b, c, p, q], argmax[b, c, p, q] = best, best_k
                    dx_positions[b, c, p, q] = (b, c, p * sh - ph + best_k // kw,
                                                q * sw - pw + best_k % kw)
    return out, argmax, dx_positions


@pytest.mark.parametrize("numba", [True, False])
@given(geometry=pool_geometries(), seed=st.integers(0, 2**32 - 1))
def test_forward_and_backward_match_loop_reference_with_ties(numba, geometry, seed):
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=shape).astype(np.float64)        # few values: many ties
    dout_shape = pool_params(shape[2:], kernel, stride, padding)[3]
    dout = rng.standard_normal((*shape[:2], *dout_shape))
    with numba_path(numba):
        out, argmax = max_pool2d(x, kernel, stride, padding)
        dx = max_pool2d_backward(dout, argmax, shape, kernel, stride, padding)
    ref_out, ref_argmax, positions = max_pool_loop(x, kernel, stride, padding)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(argmax, ref_argmax)
    ref_dx = np.zeros(shape)
    for window, position in positions.items():
        ref_dx[position] += dout[window]
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(geometry=pool_geometries(), seed=st.integers(0, 2**32 - 1))
def test_numba_kernels_match_numpy_twins(dtype, geometry, seed):
    shape, kernel, stride, padding = geometry
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=shape).astype(dtype)
    out_hw = pool_params(shape[2:], kernel, stride, padding)[3]
    dout = rng.integers(-5, 6, size=(*shape[:2], *out_hw)).astype(dtype)  # exact sums
    results = {}
    for numba in (True, False):
        with numba_path(numba):
            out, argmax = max_pool2d(x, kernel, stride, padding)
            results[numba] = (out, argmax, max_pool2d_backward(dout, argmax, shape, kernel,
                                                               stride, padding))
    for fast, slow in zip(results[True], results[False]):
        assert fast.dtype == slow.dtype
        np.testing.assert_array_equal(fast, slow)
    assert results[True][0].dtype == results[True][2].dtype == dtype


def test_tie_sends_gradient_to_first_maximum_only():
    x = np.array([[[[5.0, 5.0], [5.0, 1.0]]]])
    for numba in (True, False):
        with numba_path(numba):
            out, argmax = max_pool2d(x, 2)
            dx = max_pool2d_backward(np.array([[[[3.0]]]]), argmax, x.shape, 2)
        assert out[0, 0, 0, 0] == 5.0 and argmax[0, 0, 0, 0] == 0
        np.testing.assert_array_equal(dx[0, 0], [[3.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("numba", [True, False])
def test_padding_never_wins(numba):
    """All inputs negative: a zero padding would win, the −∞ padding does not."""
    x = -1.0 - np.arange(16.0).reshape(1, 1, 4, 4)
    with numba_path(numba):
        out, argmax = max_pool2d(x, 3, stride=2, padding=1)
        dx = max_pool2d_backward(np.ones_like(out), argmax, x.shape, 3, 2, 1)
    np.testing.assert_array_equal(out[0, 0], [[-1.0, -2.0], [-5.0, -6.0]])
    assert dx.sum() == out.size                                    # no gradient lost in padding


@pytest.mark.parametrize("numba", [True, False])
def test_nan_propagates(numba):
    x = np.array([[[[1.0, np.nan], [7.0, 3.0]]]])
    with numba_path(numba):
        out, argmax = max_pool2d(x, 2)
    assert np.isnan(out[0, 0, 0, 0]) and argmax[0, 0, 0, 0] == 1


@pytest.mark.parametrize("call, error, words", [
    (lambda: max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), ValueError, "at most half"),
    (lambda: max_pool2d(np.ones((1, 4, 4)), 2), ValueError, "x must have 4 dimensions"),
    (lambda: max_pool2d(np.ones((1, 1, 2, 2)), 3), ValueError, "larger than the padded input"),
    (lambda: max_pool2d(np.ones((1, 1, 4, 4)), 2, stride=0), ValueError, "stride must be >= 1"),
    (lambda: max_pool2d_backward(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), int),
                                 (1, 1, 4, 4), 3), ValueError, "dout and argmax must have"),
    (lambda: max_pool2d_backward(np.ones((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)),
                                 (1, 1, 4, 4), 2), TypeError, "argmax must be an integer"),
    (lambda: max_pool2d_backward(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), 4),
                                 (1, 1, 4, 4), 2), ValueError, r"argmax must hold window "
                                 r"positions in \[0, 4\) for a 2x2 window, got values from 4"),
    (lambda: max_pool2d_backward(np.ones((1, 1, 2, 2)), np.full((1, 1, 2, 2), -1),
                                 (1, 1, 4, 4), 2), ValueError, "got values from -1 to -1"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("numba", [True, False])
def test_padding_never_takes_the_gradient_even_for_minus_infinity(numba):
    # every window holds only -inf: the maximum must still be a real entry, so the
    # whole upstream gradient reaches the input (regression: it went to the padding)
    x = np.full((1, 1, 2, 2), -np.inf)
    with numba_path(numba):
        out, argmax = max_pool2d(x, 3, stride=1, padding=1)
        dx = max_pool2d_backward(np.ones_like(out), argmax, x.shape, 3, 1, 1)
    assert np.all(out == -np.inf)
    assert dx.sum() == 4.0


def test_windows_larger_than_max_window_are_refused():
    # the kernel counts window offsets in float32, exact up to 2**24 (np.zeros is lazy: cheap)
    from ttnet.ops.pool import MAX_WINDOW
    x = np.zeros((1, 1, 2, MAX_WINDOW // 2 + 1), np.float32)
    with pytest.raises(ValueError, match=r"has 16777218 entries per window; max pooling "
                                         r"supports at most 16777216"):
        max_pool2d(x, (2, MAX_WINDOW // 2 + 1), 1)
