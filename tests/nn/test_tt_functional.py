"""nn/tt_functional.py on its own: the TT layers' functions, one algorithm per function, and
their cost models (the layers' gradient checks through TTLinear / TTConv2d are in
test_tt_layers.py)."""

import math

import numpy as np
import pytest

from ttnet.nn import tt_functional
from ttnet.nn.functional import conv_algorithm
from ttnet.ops import numba_enabled, spatial_step
from ttnet.nn.tt_layers import TTConv2d, TTLinear
from ttnet.ops.winograd import winograd_tile_count

from ..ops.numba_switch import numba_path


def test_split_functions_match_the_dispatchers():
    from ttnet.nn import tt_functional as TF
    rng = np.random.default_rng(0)
    lin = TTLinear((2, 3), (3, 2), 2, dtype=np.float64, rng=0)
    x, b = rng.standard_normal((4, 6)), rng.standard_normal(6)
    for alg in ("full", "sequential"):
        y, cache = getattr(TF, f"tt_linear_{alg}_forward")(x, lin.cores, b)
        y2, cache2 = TF.tt_linear_forward(x, lin.cores, b, alg)
        assert cache["algorithm"] == alg
        np.testing.assert_array_equal(y, y2)
        for g, g2 in zip(getattr(TF, f"tt_linear_{alg}_backward")(y, cache)[1],
                         TF.tt_linear_backward(y2, cache2)[1]):
            np.testing.assert_array_equal(g, g2)
    with pytest.raises(TypeError, match="cache must be the dict returned"):
        TF.tt_linear_backward(y, {"algorithm": "other"})
    with pytest.raises(TypeError, match="cache must be the dict returned"):
        TF.tt_conv2d_backward(y, None)


# ---------------------------------------------------------------- cost models
# The TT layers' cost models (``layer.cost``) against an independent operation count.
#
# ``TTLinear.cost`` and ``TTConv2d.cost`` state the flops of one forward + backward pass of each
# algorithm as closed formulas (:func:`ttnet.nn.tt_functional.tt_linear_cost`,
# :func:`~ttnet.nn.tt_functional.tt_conv2d_cost`). Here the same quantity is counted another way:
# every product the algorithm performs is written as an einsum of the shapes it really has — for the
# core steps, the shapes recorded while the layer runs forward and backward — and counted the
# plain way: one multiply-add (2 flops) for every combination of the einsum's indices. The
# backward pass of a product ``C = A B`` is the two products ``dA = dC Bᵀ`` and ``dB = Aᵀ dC``.


def flops(spec, a, b):
    """Flops of the two-operand ``np.einsum(spec, A, B)``: 2 per index combination."""
    inputs, _ = spec.split("->")
    ia, ib = inputs.split(",")
    sizes = dict(zip(ia, a))
    for index, size in zip(ib, b):
        assert sizes.setdefault(index, size) == size, f"{spec}: index {index} disagrees"
    return 2 * math.prod(sizes.values())


def product_fwd_bwd(spec, a, b):
    """Flops of ``C = einsum(spec, A, B)`` and of its two gradients (3 products in all)."""
    inputs, out = spec.split("->")
    ia, ib = inputs.split(",")
    sizes = dict(zip(ia, a)) | dict(zip(ib, b))
    c = tuple(sizes[i] for i in out)
    return (flops(spec, a, b) + flops(f"{out},{ib}->{ia}", c, b)
            + flops(f"{ia},{out}->{ib}", a, c))


@pytest.fixture
def recorded_steps(monkeypatch):
    """The (T, G) shapes of every core step the TT layers run, forward and backward."""
    seen = {"forward": [], "backward": []}
    forward, backward = tt_functional.tt_step_forward, tt_functional.tt_step_backward

    def step_forward(T, G):
        seen["forward"].append((T.shape, G.shape))
        return forward(T, G)

    def step_backward(dout, T, G):
        seen["backward"].append((T.shape, G.shape))
        return backward(dout, T, G)

    monkeypatch.setattr(tt_functional, "tt_step_forward", step_forward)
    monkeypatch.setattr(tt_functional, "tt_step_backward", step_backward)
    return seen


def steps_flops(seen):
    """Forward and backward flops of the recorded core steps.

    A step is ``out[p, m, r1, q] = Σ_{r0, n} G[r0, m, n, r1] T[p, r0, n, q]``.
    """
    assert len(seen["forward"]) == len(seen["backward"]) > 0
    assert sorted(seen["forward"]) == sorted(seen["backward"])   # each step reversed once
    return sum(product_fwd_bwd("pRnq,Rmnr->pmrq", T, G) for T, G in seen["forward"])


def run(layer, x):
    y = layer.forward(x)
    layer.backward(np.ones_like(y))


LINEAR_CASES = [((4, 6), (3, 5), 3, 7), ((2, 3, 4), (4, 2, 3), (2, 5), 5),
                ((8, 8, 8, 16), (4, 6, 8, 8), 8, 2)]


@pytest.mark.parametrize("in_modes, out_modes, ranks, batch", LINEAR_CASES)
def test_tt_linear_sequential_cost_counts_the_core_steps_it_runs(in_modes, out_modes, ranks,
                                                                 batch, recorded_steps):
    layer = TTLinear(in_modes, out_modes, ranks, algorithm="sequential", dtype=np.float64,
                     rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((batch, math.prod(in_modes)))
    run(layer, x)
    assert len(recorded_steps["forward"]) == len(in_modes)
    assert layer.cost(x.shape)["sequential"]["flops"] == steps_flops(recorded_steps)


@pytest.mark.parametrize("in_modes, out_modes, ranks, batch", LINEAR_CASES)
def test_tt_linear_full_cost_is_the_weight_chain_and_three_dense_products(in_modes, out_modes,
                                                                        ranks, batch):
    layer = TTLinear(in_modes, out_modes, ranks, algorithm="full", rng=np.random.default_rng(0))
    M, N = math.prod(out_modes), math.prod(in_modes)
    count = product_fwd_bwd("bn,mn->bm", (batch, N), (M, N))
    left = 1                         # the chain: W_k = W_{k-1} × core k, from the left
    for k, core in enumerate(layer.cores):
        r0, m, n, r1 = core.shape
        if k:
            count += product_fwd_bwd("aR,Rmnr->amnr", (left, r0), core.shape)
        left *= m * n
    assert layer.cost((batch, N))["full"]["flops"] == count


CONV_CASES = [((2, 2), (2, 3), 2, 3, 1, 1, (2, 4, 6, 5)),
              ((4, 4, 4), (4, 4, 4), 4, 3, 1, 1, (2, 64, 8, 8)),
              ((2, 3), (3, 2), (3, 4), 3, 2, 0, (3, 6, 9, 7))]


@pytest.mark.parametrize("in_modes, out_modes, ranks, l, stride, padding, shape", CONV_CASES)
def test_tt_conv_sequential_cost_counts_the_spatial_product_and_the_core_steps(
        in_modes, out_modes, ranks, l, stride, padding, shape, recorded_steps):
    layer = TTConv2d(in_modes, out_modes, ranks, l, stride=stride, padding=padding,
                     algorithm="sequential", dtype=np.float64, rng=np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal(shape)
    y = layer.forward(x)
    layer.backward(np.ones_like(y))
    B, C = shape[:2]
    P = y.shape[2] * y.shape[3]
    r0 = layer.cores[0].shape[3]
    # every input channel convolved with the spatial core: (r_0 × l²) @ (l² × B C P)
    spatial = product_fwd_bwd("Rl,lX->RX", (r0, l * l), (l * l, B * C * P))
    assert len(recorded_steps["forward"]) == len(in_modes)
    assert layer.cost(shape)["sequential"]["flops"] == spatial + steps_flops(recorded_steps)


# the cases above run im2col; this one has 32 · 4 · 4 = 512 output tiles of 64 channels, where
# the full algorithm's convolution runs by Winograd's algorithm when numba is on
WINOGRAD_CASE = ((4, 4, 4), (4, 4, 4), 4, 3, 1, 1, (32, 64, 8, 8))


@pytest.mark.parametrize("in_modes, out_modes, ranks, l, stride, padding, shape",
                         CONV_CASES + [WINOGRAD_CASE])
def test_tt_conv_full_cost_is_the_kernel_chain_and_the_dense_convolution_that_runs(
        in_modes, out_modes, ranks, l, stride, padding, shape):
    layer = TTConv2d(in_modes, out_modes, ranks, l, stride=stride, padding=padding,
                     algorithm="full", rng=np.random.default_rng(0))
    B, C, H, W = shape
    S = math.prod(out_modes)
    Ho, Wo = (H + 2 * padding - l) // stride + 1, (W + 2 * padding - l) // stride + 1
    layer.forward(np.zeros(shape, np.float32))
    winograd = (in_modes, out_modes, ranks, l, stride, padding, shape) == WINOGRAD_CASE \
        and numba_enabled()
    assert layer._cache["conv"]["algorithm"] == ("winograd" if winograd else "im2col")
    if winograd:                                                # 16 products over the tiles
        T = B * ((Ho + 1) // 2) * ((Wo + 1) // 2)
        count = 16 * product_fwd_bwd("SK,KX->SX", (S, C), (C, T))
    else:                                                       # one im2col product
        count = product_fwd_bwd("SK,KX->SX", (S, C * l * l), (C * l * l, B * Ho * Wo))
    left = l * l                     # the chain starts from the spatial core (l², r_0)
    for core in layer.cores[1:]:
        r0, s, c, r1 = core.shape
        count += product_fwd_bwd("aR,Rscr->ascr", (left, r0), core.shape)
        left *= s * c
    assert layer.cost(shape)["full"]["flops"] == count


def test_time_model_adds_its_three_terms():
    TF = tt_functional
    seconds = TF.estimated_seconds(10**9, 4 * 10**8, 10**9)
    expected = (4e8 / TF.WIDE_FLOPS_PER_SECOND + 6e8 / TF.OTHER_FLOPS_PER_SECOND
                + 1e9 / TF.BYTES_PER_SECOND)
    assert seconds == pytest.approx(expected, rel=1e-12)
    code = (TF.WIDE_FLOPS_PER_SECOND, TF.OTHER_FLOPS_PER_SECOND, TF.BYTES_PER_SECOND)
    assert TF.estimated_seconds(10**9, 4 * 10**8, 10**9, rates=code) == seconds
    # other constants, an infinite rate dropping its term
    assert TF.estimated_seconds(10**9, 4 * 10**8, 10**9, rates=(4e8, 6e8, float("inf"))) == 2.0
    assert TF.fastest_algorithm({"a": {"seconds": 2.0}, "b": {"seconds": 1.0}}) == "b"


def test_traffic_counts_what_goes_through_memory():
    # Winograd's stacks stay in the cache, chunk by chunk: x is read twice, y, dy and dx once
    conv = TTConv2d((4, 4, 4), (4, 4, 4), 4, 3, padding=1, rng=0)
    shape = (8, 64, 16, 16)
    x_size = y_size = 8 * 64 * 16 * 16
    with numba_path(True):
        assert conv_algorithm("auto", (3, 3), (1, 1), 64,
                              tiles=winograd_tile_count(8, (16, 16))) == "winograd"
        assert conv.cost(shape)["full"]["traffic"] == (3 * x_size + 2 * y_size) * 4
    # TTLinear's full algorithm: nine passes over W (the chain's output, the de-interleaving
    # copy, two products, dW, its re-interleaving copy, the chain's reverse)
    fc = TTLinear((4, 8), (8, 4), 3, rng=0)
    assert fc.cost((5, 32))["full"]["traffic"] == 9 * 32 * 32 * 4


def test_only_the_tt_conv_steps_with_a_spatial_step_report_spatial_flops():
    conv = TTConv2d((4, 4, 4), (4, 4, 4), 4, 3, padding=1, rng=0)
    costs = conv.cost((8, 64, 16, 16))
    spatial = 2 * 8 * 64 * 16 * 16 * 9 * 4                  # 2 B C P l² r_0, one step
    assert costs["sequential"]["spatial_flops"] == 3 * spatial      # forward, two gradients
    assert costs["separable"]["spatial_flops"] == 4 * spatial       # and Z_0 again, backward
    assert costs["full"]["spatial_flops"] == 0
    linear = TTLinear((4, 8), (8, 4), 3, rng=0).cost((5, 32))
    assert all(cost["spatial_flops"] == 0 for cost in linear.values())


@pytest.mark.parametrize("args, error, words", [
    ((1.5, 0, 0), TypeError, "flops must be an integer"),
    ((-1, 0, 0), ValueError, "flops must be >= 0"),
    ((1, 0, -1), ValueError, "traffic must be >= 0"),
    ((1, 0.5, 0), TypeError, "wide_flops must be an integer"),
    ((1, 2, 0), ValueError, r"wide_flops \(2\) cannot exceed flops \(1\)"),
])
def test_time_model_refuses_bad_counts(args, error, words):
    with pytest.raises(error, match=words):
        tt_functional.estimated_seconds(*args)


@pytest.mark.parametrize("rates, error, words", [
    ((1e9, 1e9), TypeError, "rates must be three numbers"),
    ("abc", TypeError, "rates must be three numbers"),
    ((1e9, 0.0, 1e9), ValueError, "rates must be positive"),
    ((1e9, 1e9, float("nan")), ValueError, "rates must be positive"),
])
def test_time_model_refuses_bad_rates(rates, error, words):
    with pytest.raises(error, match=words):
        tt_functional.estimated_seconds(1, 0, 0, rates=rates)


@pytest.mark.parametrize("costs", [{}, [("full", 1.0)], {"full": {"flops": 1}}])
def test_fastest_algorithm_needs_a_cost_dict(costs):
    with pytest.raises(TypeError, match="costs must be the dict a \\*_cost function returns"):
        tt_functional.fastest_algorithm(costs)


@pytest.mark.parametrize("algorithm", ["full", "sequential", "separable"])
def test_every_tt_conv_algorithm_refuses_bad_input_the_same_way(algorithm):
    cores = TTConv2d((2, 3), (3, 2), 2, 3, padding=1, dtype=np.float64, rng=0).cores
    x = np.zeros((1, 6, 4, 4))
    forward = tt_functional.tt_conv2d_forward
    with pytest.raises(ValueError, match=r"cores\[0\] must have first dimension r_0 = 1"):
        forward(x, cores[1:], algorithm=algorithm)
    with pytest.raises(ValueError, match=r"x has 5 channels but the input modes \(2, 3\)"):
        forward(np.zeros((1, 5, 4, 4)), cores, algorithm=algorithm)
    with pytest.raises(TypeError, match="ttnet does not convert silently"):
        forward(x.astype(np.float32), cores, algorithm=algorithm)
    with pytest.raises(ValueError, match=r"bias must have shape \(6,\), got \(5,\)"):
        forward(x, cores, np.zeros(5), algorithm=algorithm)
    with pytest.raises(ValueError, match="algorithm must be one of 'full', 'sequential', "
                                         "'separable', got 'fft'"):
        forward(x, cores, algorithm="fft")


# ---------------------------------------------------------------- separable, chunk by chunk
def _separable_pass(layer, x, dy, workspace=None):
    y, cache = tt_functional.tt_conv2d_separable_forward(x, layer.cores, layer.params["bias"], 1, 1,
                                              workspace=workspace)
    dx, dcores, dbias = tt_functional.tt_conv2d_separable_backward(dy, cache)
    return [y, dx, dbias] + dcores


@pytest.mark.parametrize("chunk_numbers", [1, 300, 10**6])
def test_separable_chunk_size_does_not_change_the_result(monkeypatch, chunk_numbers):
    """One image per chunk, a few, or the whole batch (5 images, r_0 C P = 2·4·16 numbers of
    Z_0 each); against the full algorithm, whose dense convolution has no chunks of its own
    at this size."""
    rng = np.random.default_rng(31)
    layer = TTConv2d((2, 2), (3, 2), (2, 3), 3, padding=1, dtype=np.float64, rng=rng)
    x, dy = rng.standard_normal((5, 4, 4, 4)), rng.standard_normal((5, 6, 4, 4))
    y, cache = tt_functional.tt_conv2d_full_forward(x, layer.cores, layer.params["bias"], 1, 1)
    dx, dcores, dbias = tt_functional.tt_conv2d_full_backward(dy, cache)
    reference = [y, dx, dbias] + dcores
    monkeypatch.setattr(spatial_step, "CHUNK_NUMBERS", chunk_numbers)
    monkeypatch.setattr(spatial_step, "MIN_CHUNKS", 1)
    workspace = {}
    for _ in range(2):                                  # the second call reuses the buffers
        for got, want in zip(_separable_pass(layer, x, dy, workspace), reference):
            np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_separable_result_does_not_depend_on_the_thread_count_to_the_last_bit(dtype):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(32)
    layer = TTConv2d((2, 4), (4, 2), (3, 2), 3, padding=1, dtype=dtype, rng=rng)
    x = rng.standard_normal((19, 8, 6, 6)).astype(dtype)
    dy = rng.standard_normal((19, 8, 6, 6)).astype(dtype)
    results = []
    for threads in (1, 2):
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            results.append(_separable_pass(layer, x, dy))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


def test_separable_keeps_nothing_the_size_of_its_spatial_output():
    layer = TTConv2d((4, 4), (4, 4), 4, 3, padding=1, rng=0)
    x = np.zeros((16, 16, 8, 8), np.float32)
    _, cache = tt_functional.tt_conv2d_separable_forward(x, layer.cores, None, 1, 1)
    kept = [v for v in cache.values() if isinstance(v, np.ndarray) and v is not x]
    assert all(v.size < x.size for v in kept)                   # W (16 × 64) only
    cost = layer.cost(x.shape)["separable"]
    assert cost["bytes"] == 0
    # x twice and dx; four passes over Z_0 (r_0 C B P) and four over y (S B P), as if in memory
    assert cost["traffic"] == (3 * x.size + (4 * 4 * 16 + 4 * 16) * 16 * 8 * 8) * 4


def _separable_with_chunks(monkeypatch, layer, x, stride, chunk_numbers):
    monkeypatch.setattr(spatial_step, "MIN_CHUNKS", 1)
    monkeypatch.setattr(spatial_step, "CHUNK_NUMBERS", chunk_numbers)
    y, cache = tt_functional.tt_conv2d_separable_forward(x, layer.cores, None, stride, 1)
    dx, dcores, _ = tt_functional.tt_conv2d_separable_backward(np.ones_like(y), cache)
    return [y, dx] + dcores


@pytest.mark.parametrize("stride", [1, 2])
def test_separable_chunks_propagate_nan_and_inf(monkeypatch, stride):
    """Two images per chunk (the last chunk one), stride 1 or 2. A NaN in the input reaches
    the outputs and gradients the full algorithm's dense convolution sends it to; with an
    infinity as well (where ``∞ − ∞`` makes NaN in places that depend on the order of the
    sums), the chunked result has its NaN and ±inf where the one-chunk result has them."""
    rng = np.random.default_rng(33)
    layer = TTConv2d((2, 2), (2, 3), (2, 2), 3, stride=stride, padding=1, dtype=np.float64,
                     rng=rng)
    per_image = 2 * 4 * (6 // stride) ** 2                       # r_0 C H' W' numbers of Z_0
    x = rng.standard_normal((5, 4, 6, 6))
    x[1, 2, 3, 3] = np.nan
    with np.errstate(invalid="ignore", over="ignore"):
        chunked = _separable_with_chunks(monkeypatch, layer, x, stride, 2 * per_image)
        assert spatial_step.z0_chunks(5, per_image) == [(0, 2), (2, 4), (4, 5)]
        y_full, cache_full = tt_functional.tt_conv2d_full_forward(x, layer.cores, None, stride, 1)
        dx_full, dcores_full, _ = tt_functional.tt_conv2d_full_backward(np.ones_like(y_full),
                                                                        cache_full)
        for got, want in zip(chunked, [y_full, dx_full] + dcores_full):
            assert np.isnan(want).any() or want is dx_full
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], atol=1e-10)
        x[4, 0, 0, 5] = np.inf
        chunked = _separable_with_chunks(monkeypatch, layer, x, stride, 2 * per_image)
        whole = _separable_with_chunks(monkeypatch, layer, x, stride, 10**6)
    for got, want in zip(chunked, whole):
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert np.isinf(whole[0]).any()


def test_separable_uses_the_workspace_it_is_given_and_refuses_another_kind():
    layer = TTConv2d((2, 2), (2, 2), 2, 3, padding=1, dtype=np.float64, rng=0)
    x = np.ones((3, 4, 5, 5))
    workspace = {}
    y, cache = tt_functional.tt_conv2d_forward(x, layer.cores, None, 1, 1, "separable",
                                               workspace=workspace)
    assert any(key.startswith("separable_z") for key in workspace)
    assert cache["workspace"] is workspace
    with pytest.raises(TypeError, match="workspace must be a dict or None"):
        tt_functional.tt_conv2d_separable_forward(x, layer.cores, None, 1, 1, workspace=[])
