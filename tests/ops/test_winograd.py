"""Winograd's F(2x2, 3x3): the transforms against their matrices, the convolution against the loop
reference, float64 gradient checks, numba kernels against NumPy twins, and the dispatch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.gradcheck import check_function, check_module
from ttnet.nn import Conv2d
from ttnet.nn import functional as F
from ttnet.ops import _numba
from ttnet.ops import winograd as W
from ttnet.ops.im2col import conv2d_loop

from .numba_switch import numba_path


@st.composite
def cases(draw, max_channels=3):
    """((B, C, H, W), S, padding, seed) with an output of at least 1x1."""
    B, C, S = draw(st.integers(1, 2)), draw(st.integers(1, max_channels)), draw(st.integers(1, 3))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    H = draw(st.integers(max(1, 3 - 2 * padding[0]), 8))
    Wd = draw(st.integers(max(1, 3 - 2 * padding[1]), 8))
    return (B, C, H, Wd), S, padding, draw(st.integers(0, 2**31))


def draw_arrays(case, dtype=np.float64):
    shape, S, padding, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal((S, shape[1], 3, 3)).astype(dtype)
    return rng, x, w, padding


# ---------------------------------------------------------------- the maths
def test_the_one_dimensional_algorithm_is_a_three_tap_correlation():
    rng = np.random.default_rng(0)
    d, g = rng.standard_normal(4), rng.standard_normal(3)
    y = W.OUTPUT_TRANSFORM @ ((W.FILTER_TRANSFORM @ g) * (W.INPUT_TRANSFORM @ d))
    np.testing.assert_allclose(y, [d[0:3] @ g, d[1:4] @ g], rtol=1e-14)


def test_the_filter_transform_is_g_g_gt_for_every_filter_and_its_adjoint():
    """U = G g Gᵀ for every channel pair, and its adjoint dg = Gᵀ dU G, one filter at a time."""
    rng = np.random.default_rng(2)
    G = W.FILTER_TRANSFORM
    g = rng.standard_normal((3, 5, 3, 3))                          # S = 3, C = 5
    du = rng.standard_normal((16, 3, 5))
    u, dg = W._filter_transform(g), W._filter_transform_backward(du)
    for s in range(3):
        for c in range(5):
            np.testing.assert_allclose(u[:, s, c].reshape(4, 4), G @ g[s, c] @ G.T, rtol=1e-13)
            np.testing.assert_allclose(dg[s, c], G.T @ du[:, s, c].reshape(4, 4) @ G, rtol=1e-13)


@pytest.mark.parametrize("numba", [True, False])
def test_transforms_compute_their_matrix_formulas(numba):
    """The additions in the kernels and twins are Bᵀ d B, Aᵀ M A and their transposes."""
    rng = np.random.default_rng(1)
    BT, AT = W.INPUT_TRANSFORM, W.OUTPUT_TRANSFORM
    x = rng.standard_normal((2, 3, 6, 4))                  # padding 1: 3 x 2 tiles of 4 x 4
    v = np.empty((4, 4, 3, 2, 3, 2))
    m = rng.standard_normal((4, 4, 5, 2, 3, 2))
    y = np.empty((2, 5, 6, 4))
    dm = np.empty_like(m)
    dx = np.empty_like(x)
    with numba_path(numba):
        from ttnet.ops._numba import choose
        choose(W._input_kernel, W._input_numpy)(x, 1, 1, v)
        choose(W._output_kernel, W._output_numpy)(m, y)
        choose(W._output_adjoint_kernel, W._output_adjoint_numpy)(y, dm)
        choose(W._input_adjoint_kernel, W._input_adjoint_numpy)(v, 1, 1, dx)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    tiles = np.stack([np.stack([padded[:, :, 2 * p:2 * p + 4, 2 * q:2 * q + 4] for q in range(2)],
                               axis=-1) for p in range(3)], axis=-2)           # b c i j p q
    np.testing.assert_allclose(v, np.einsum("ui,bcijpq,vj->uvcbpq", BT, tiles, BT), atol=1e-13)
    blocks = np.einsum("iu,uvsbpq,jv->bspiqj", AT, m, AT).reshape(2, 5, 6, 4)
    np.testing.assert_allclose(y, blocks, atol=1e-13)
    y_tiles = y.reshape(2, 5, 3, 2, 2, 2)                                       # b s p i q j
    np.testing.assert_allclose(dm, np.einsum("iu,bspiqj,jv->uvsbpq", AT, y_tiles, AT), atol=1e-13)
    d_tiles = np.einsum("ui,uvcbpq,vj->bcpqij", BT, v, BT)
    expected = np.zeros_like(padded)
    for p in range(3):
        for q in range(2):
            expected[:, :, 2 * p:2 * p + 4, 2 * q:2 * q + 4] += d_tiles[:, :, p, q]
    np.testing.assert_allclose(dx, expected[:, :, 1:-1, 1:-1], atol=1e-12)


# ---------------------------------------------------------------- the convolution
@given(cases(), st.booleans())
def test_forward_matches_the_loop_convolution(case, numba):
    _, x, w, padding = draw_arrays(case)
    with numba_path(numba):
        y = W.winograd_conv3x3_forward(x, w, padding)
    np.testing.assert_allclose(y, conv2d_loop(x, w, None, 1, padding), atol=1e-12)


@given(cases(), st.booleans())
def test_backward_passes_a_float64_gradient_check(case, numba):
    rng, x, w, padding = draw_arrays(case)
    bias = rng.standard_normal(w.shape[0])
    forward = lambda x, weight, bias: F.conv2d_forward(x, weight, bias, 1, padding,
                                                       algorithm="winograd")
    with numba_path(numba):
        report = check_function(forward, {"x": x, "weight": w, "bias": bias},
                                F.conv2d_backward, rng=rng)
    assert report.passed(), report


@given(cases(), st.booleans())
def test_gradients_equal_the_im2col_gradients(case, numba):
    rng, x, w, padding = draw_arrays(case)
    results = {}
    for algorithm in ("im2col", "winograd"):
        with numba_path(numba):
            y, cache = F.conv2d_forward(x, w, None, 1, padding, algorithm=algorithm)
            dy = np.random.default_rng(7).standard_normal(y.shape)
            results[algorithm] = (y,) + F.conv2d_backward(dy, cache)[:2]
    for a, b in zip(results["winograd"], results["im2col"]):
        np.testing.assert_allclose(a, b, atol=1e-11)


@given(cases(), st.sampled_from([np.float32, np.float64]))
def test_kernels_and_twins_agree_exactly(case, dtype):
    rng, x, w, padding = draw_arrays(case, dtype)
    results = {}
    for numba in (True, False):
        with numba_path(numba):
            y = W.winograd_conv3x3_forward(x, w, padding)
            dy = np.random.default_rng(3).standard_normal(y.shape).astype(dtype)
            results[numba] = ((y,) + W.winograd_stacks(x, w, padding)
                              + W.winograd_conv3x3_backward(dy, x, w, padding))
    for fast, slow in zip(results[True], results[False]):
        assert fast.dtype == dtype
        np.testing.assert_array_equal(fast, slow)


def test_float32_error_is_of_the_order_of_the_im2col_error():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 32, 12, 12))
    w = rng.standard_normal((16, 32, 3, 3)) / 17
    exact = conv2d_loop(x, w, None, 1, 1)
    errors = {}
    for algorithm in ("im2col", "winograd"):
        y, _ = F.conv2d_forward(x.astype(np.float32), w.astype(np.float32), None, 1, 1,
                                algorithm=algorithm)
        errors[algorithm] = np.abs(y - exact).max() / np.abs(exact).max()
    assert errors["winograd"] < 1e-5
    assert errors["winograd"] < 8 * errors["im2col"]


def test_a_nan_in_the_input_reaches_the_same_outputs_as_in_the_direct_convolution():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 7, 6))
    x[0, 1, 3, 2] = x[1, 0, 0, 5] = np.nan
    w = rng.standard_normal((3, 2, 3, 3))
    for numba in (True, False):
        with numba_path(numba):
            y = W.winograd_conv3x3_forward(x, w, 1)
        np.testing.assert_array_equal(np.isnan(y), np.isnan(conv2d_loop(x, w, None, 1, 1)))


def test_the_stacks_are_b_t_d_b_and_g_g_g_t_in_padded_views():
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((4, 3, 3, 3))
    v, u = W.winograd_stacks(x, w, 1)                          # 3 x 2 tiles per image
    assert v.shape == (16, 3, 2 * 3 * 2) and u.shape == (16, 4, 3)
    assert v.strides[0] == (v[0].size + W.STACK_PADDING) * v.itemsize
    padded = np.pad(x, ((0, 0), (0, 0), (1, 2), (1, 1)))      # one more row: 2·3 + 2 = 8
    BT, G = W.INPUT_TRANSFORM, W.FILTER_TRANSFORM
    b, c, p, q, s = 1, 2, 2, 1, 3
    tile = padded[b, c, 2 * p:2 * p + 4, 2 * q:2 * q + 4]
    np.testing.assert_allclose(v.reshape(4, 4, 3, 2, 3, 2)[:, :, c, b, p, q], BT @ tile @ BT.T,
                               atol=1e-13)
    np.testing.assert_allclose(u[:, s, c].reshape(4, 4), G @ w[s, c] @ G.T, atol=1e-13)


# ---------------------------------------------------------------- chunks of images
@pytest.mark.parametrize("B, tiles_per_image", [
    (128, 256), (128, 16), (7, 16), (5, 4096), (1, 16), (8, 16), (0, 16), (100, 1)])
def test_the_chunks_cut_the_batch_in_order_into_enough_small_pieces(B, tiles_per_image):
    chunks = W._chunks(B, tiles_per_image)
    assert [b for b0, b1 in chunks for b in range(b0, b1)] == list(range(B))
    for b0, b1 in chunks:
        assert b1 - b0 == 1 or (b1 - b0) * tiles_per_image <= W.CHUNK_TILES
    assert len(chunks) >= min(B, W.MIN_CHUNKS)        # enough to share out between threads


@pytest.mark.parametrize("chunk_tiles", [1, 12, 24, 10**6])
def test_the_chunk_size_does_not_change_the_result(monkeypatch, chunk_tiles):
    """One image per chunk, two, three (the last chunk shorter), or the whole batch."""
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((7, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    dy = rng.standard_normal((7, 4, 6, 5))                             # 3 x 3 tiles per image
    y_ref, cache = F.conv2d_forward(x, w, None, 1, 1, algorithm="im2col")
    dx_ref, dw_ref, _ = F.conv2d_backward(dy, cache)
    monkeypatch.setattr(W, "CHUNK_TILES", chunk_tiles)
    workspace = {}
    for _ in range(2):                                  # the second call reuses the buffers
        y = W.winograd_conv3x3_forward(x, w, 1, workspace=workspace)
        dx, dw = W.winograd_conv3x3_backward(dy, x, w, 1, workspace=workspace)
        np.testing.assert_allclose(y, y_ref, atol=1e-12)
        np.testing.assert_allclose(dx, dx_ref, atol=1e-12)
        np.testing.assert_allclose(dw, dw_ref, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_result_does_not_depend_on_the_thread_count_to_the_last_bit(dtype):
    """Each chunk is computed the same way whichever thread takes it, and the chunks' weight
    gradients are added in chunk order."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(13)
    x, w = rng.standard_normal((19, 8, 6, 6)).astype(dtype), rng.standard_normal((5, 8, 3, 3))
    dy = rng.standard_normal((19, 5, 6, 6)).astype(dtype)
    results = []
    for threads in (1, 2, 3):
        with threadpoolctl.threadpool_limits(threads, user_api="blas"):
            results.append((W.winograd_conv3x3_forward(x, w.astype(dtype), 1),)
                           + W.winograd_conv3x3_backward(dy, x, w.astype(dtype), 1))
    for one, other in zip(results[0], results[1]):
        np.testing.assert_array_equal(one, other)
    for one, other in zip(results[0], results[2]):
        np.testing.assert_array_equal(one, other)


def test_an_empty_batch_gives_empty_outputs_and_a_zero_weight_gradient():
    x, w = np.zeros((0, 3, 5, 5)), np.ones((2, 3, 3, 3))
    y = W.winograd_conv3x3_forward(x, w, 1)
    dx, dw = W.winograd_conv3x3_backward(np.zeros((0, 2, 5, 5)), x, w, 1)
    assert y.shape == (0, 2, 5, 5) and dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))


def test_the_conv_cache_keeps_the_input_not_a_transformed_stack():
    x, w = np.ones((2, 4, 6, 6)), np.ones((3, 4, 3, 3))
    _, cache = F.conv2d_forward(x, w, None, 1, 1, algorithm="winograd")
    assert cache["x"] is x
    assert not any(isinstance(value, np.ndarray) and value.size > x.size
                   for value in cache.values())


# ---------------------------------------------------------------- dispatch and errors
needs_numba = pytest.mark.skipif(not _numba.numba_available(),
                                 reason="'auto' runs Winograd only with the numba kernels")


@needs_numba
def test_auto_runs_winograd_for_wide_3x3_stride_1_layers_only():
    choose = F.conv_algorithm
    wide = F.WINOGRAD_MIN_CHANNELS
    with numba_path(True):
        assert choose("auto", (3, 3), (1, 1), wide) == "winograd"
        assert choose("auto", 3, 1, wide) == "winograd"             # ints read as pairs
        assert choose("auto", (3, 3), (1, 1), wide - 1) == "im2col"
        assert choose("auto", (3, 3), (2, 2), wide) == "im2col"
        assert choose("auto", (5, 5), (1, 1), wide) == "im2col"
        assert choose("im2col", (3, 3), (1, 1), wide) == "im2col"
        assert choose("winograd", (3, 3), (1, 1), 1) == "winograd"
    with numba_path(False):
        assert choose("auto", (3, 3), (1, 1), wide) == "im2col"


@needs_numba
def test_auto_runs_winograd_on_enough_tiles_only():
    choose, wide, enough = F.conv_algorithm, F.WINOGRAD_MIN_CHANNELS, F.WINOGRAD_MIN_TILES
    with numba_path(True):
        assert choose("auto", (3, 3), (1, 1), wide, tiles=enough) == "winograd"
        assert choose("auto", (3, 3), (1, 1), wide, tiles=enough - 1) == "im2col"
        assert choose("winograd", (3, 3), (1, 1), wide, tiles=1) == "winograd"   # asked for


@pytest.mark.parametrize("tiles, error, words", [(-1, ValueError, "tiles must be >= 0"),
                                                  (2.5, TypeError, "tiles must be an integer")])
def test_conv_algorithm_refuses_a_bad_tile_count(tiles, error, words):
    with pytest.raises(error, match=words):
        F.conv_algorithm("auto", (3, 3), (1, 1), 64, tiles=tiles)


@needs_numba
def test_the_cache_records_the_algorithm_that_ran():
    # a 1 x 1 image padded by 1 has one 2 x 2 output tile per image: the batch counts the tiles
    w = np.zeros((2, F.WINOGRAD_MIN_CHANNELS, 3, 3), np.float32)
    enough = np.zeros((F.WINOGRAD_MIN_TILES, F.WINOGRAD_MIN_CHANNELS, 1, 1), np.float32)
    with numba_path(True):
        assert F.conv2d_forward(enough, w, None, 1, 1)[1]["algorithm"] == "winograd"
        assert F.conv2d_forward(enough[1:], w, None, 1, 1)[1]["algorithm"] == "im2col"
        assert F.conv2d_forward(enough, w, None, 2, 1)[1]["algorithm"] == "im2col"


@pytest.mark.parametrize("numba", [True, False])
def test_conv2d_layer_by_winograd_passes_a_gradient_check(numba):
    rng = np.random.default_rng(8)
    layer = Conv2d(3, 2, 3, padding=1, dtype=np.float64, rng=rng, algorithm="winograd")
    with numba_path(numba):
        result = check_module(layer, rng.standard_normal((2, 3, 5, 4)), rng=9)
    assert result.passed(), result


def test_a_layer_reusing_its_workspace_gives_the_gradients_of_a_fresh_call():
    rng = np.random.default_rng(10)
    layer = Conv2d(4, 3, 3, padding=1, dtype=np.float64, rng=rng, algorithm="winograd")
    for _ in range(2):                      # the second cycle runs in the first one's buffers
        x = rng.standard_normal((2, 4, 6, 6))
        dy = rng.standard_normal((2, 3, 6, 6))
        y = layer.forward(x)
        dx = layer.backward(dy)
        y0, cache = F.conv2d_forward(x, layer.params["weight"], layer.params["bias"], 1, 1,
                                     algorithm="winograd")
        dx0, dw0, db0 = F.conv2d_backward(dy, cache)
        np.testing.assert_array_equal(y, y0)
        np.testing.assert_array_equal(dx, dx0)
        np.testing.assert_array_equal(layer.grads["weight"], dw0)
        np.testing.assert_array_equal(layer.grads["bias"], db0)


def test_conv2d_layer_runs_the_algorithm_it_is_given():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 16, 6, 6)).astype(np.float32)
    outputs = {}
    for algorithm in ("im2col", "winograd"):
        layer = Conv2d(16, 4, 3, padding=1, rng=0, algorithm=algorithm)
        outputs[algorithm] = layer.forward(x)
        assert layer._cache["algorithm"] == algorithm
    np.testing.assert_allclose(outputs["winograd"], outputs["im2col"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"algorithm": "fft"}, ValueError, "algorithm must be one of"),
    ({"algorithm": 3}, TypeError, "algorithm must be a string"),
    ({"algorithm": "winograd", "stride": 2}, ValueError, "3x3 kernel at stride 1"),
])
def test_bad_algorithms_are_refused(kwargs, error, match):
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((3, 2, 3, 3))
    stride = kwargs.pop("stride", 1)
    with pytest.raises(error, match=match):
        F.conv2d_forward(x, w, None, stride, 1, **kwargs)
    with pytest.raises(error, match=match):
        Conv2d(2, 3, 3, stride=stride, **kwargs)


def test_winograd_refuses_other_kernels_and_mismatched_arrays():
    x = np.zeros((1, 2, 5, 5))
    with pytest.raises(ValueError, match="3x3 kernel"):
        F.conv2d_forward(x, np.zeros((3, 2, 5, 5)), None, 1, 1, algorithm="winograd")
    with pytest.raises(ValueError, match=r"weight must have shape \(S, 2, 3, 3\)"):
        W.winograd_conv3x3_forward(x, np.zeros((3, 2, 5, 5)))
    with pytest.raises(TypeError, match="weight must have x's dtype float64"):
        W.winograd_conv3x3_forward(x, np.zeros((3, 2, 3, 3), np.float32))
    with pytest.raises(ValueError, match="at least one channel each"):
        W.winograd_conv3x3_forward(np.zeros((1, 0, 5, 5)), np.zeros((3, 0, 3, 3)))
    with pytest.raises(TypeError, match="workspace must be a dict or None"):
        W.winograd_conv3x3_forward(x, np.zeros((3, 2, 3, 3)), workspace=[])
    w = np.zeros((3, 2, 3, 3))
    y = W.winograd_conv3x3_forward(x, w, 1)
    with pytest.raises(ValueError, match=r"dy must have shape \(1, 3, 5, 5\)"):
        W.winograd_conv3x3_backward(y[:, :2], x, w, 1)
    with pytest.raises(ValueError, match=r"dy must have shape \(1, 3, 3, 3\)"):
        W.winograd_conv3x3_backward(y, x, w, 0)                  # not the forward's padding
    with pytest.raises(ValueError, match="dy must have 4 dimensions"):
        W.winograd_conv3x3_backward(y[0], x, w, 1)
    with pytest.raises(TypeError, match="dy must have x's dtype float64"):
        W.winograd_conv3x3_backward(y.astype(np.float32), x, w, 1)
    with pytest.raises(ValueError, match=r"weight must have shape \(S, 2, 3, 3\)"):
        W.winograd_conv3x3_backward(y, x, w[:, :1], 1)
    with pytest.raises(TypeError, match="workspace must be a dict or None"):
        W.winograd_conv3x3_backward(y, x, w, 1, workspace=())
    with pytest.raises(ValueError, match=r"weight must have shape \(S, 2, 3, 3\)"):
        W.winograd_stacks(x, w[:, :, :2], 1)
    with pytest.raises(ValueError, match=r"out_hw\[0\] must be >= 1"):
        W.winograd_tiles((-3, 5))


def test_tile_count_is_the_batch_times_the_tiles_of_one_output():
    assert W.winograd_tile_count(3, (5, 4)) == 3 * 3 * 2           # ⌈5/2⌉ · ⌈4/2⌉ per image
    assert W.winograd_tile_count(0, (8, 8)) == 0
    with pytest.raises(ValueError, match="batch must be >= 0"):
        W.winograd_tile_count(-1, (8, 8))
