"""nn/layers.py: the Modules. Linear and Conv2d (gradient checks, the loop reference, dtypes,
weight(), errors); BatchNorm1d / BatchNorm2d (gradients in both modes, running statistics,
eps); ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Dropout, Flatten. A Module's gradient check
checks its function in nn/functional.py through it; the functions on their own are tested in
test_functional.py."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ttnet.gradcheck import check_module
from ttnet.nn import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten,
                      GlobalAvgPool2d, Linear, MaxPool2d, ReLU)
from ttnet.nn import functional as F
from ttnet.ops import conv2d_loop

from ..helpers import conv_setups, window_geometries

TOL = 1e-7          # smooth layers (docs/conventions.md §8)


# ---------------------------------------------------------------- Linear, Conv2d
@given(setup=conv_setups())
def test_conv2d_gradient_check(setup):
    s = setup
    conv = Conv2d(s["C"], s["S"], s["kernel"], s["stride"], s["padding"], bias=s["bias"],
                  dtype=np.float64, rng=s["seed"])
    x = np.random.default_rng(s["seed"] + 1).standard_normal((s["B"], s["C"], s["H"], s["W"]))
    result = check_module(conv, x, max_entries=60, rng=s["seed"] + 2)
    assert result.passed(TOL), str(result)
    assert {row.name for row in result.rows} == set(conv.params) | {"input"}


@given(setup=conv_setups())
def test_conv2d_forward_equals_loop_implementation(setup):
    s = setup
    conv = Conv2d(s["C"], s["S"], s["kernel"], s["stride"], s["padding"], bias=s["bias"],
                  dtype=np.float64, rng=s["seed"])
    if s["bias"]:
        conv.params["bias"][...] = np.random.default_rng(s["seed"]).standard_normal(s["S"])
    x = np.random.default_rng(s["seed"] + 1).standard_normal((s["B"], s["C"], s["H"], s["W"]))
    expected = conv2d_loop(x, conv.weight(), conv.params.get("bias"), s["stride"], s["padding"])
    np.testing.assert_allclose(conv(x), expected, rtol=1e-12, atol=1e-12)


@given(B=st.integers(1, 4), N=st.integers(1, 6), M=st.integers(1, 6), bias=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_linear_gradient_check(B, N, M, bias, seed):
    layer = Linear(N, M, bias=bias, dtype=np.float64, rng=seed)
    x = np.random.default_rng(seed + 1).standard_normal((B, N))
    result = check_module(layer, x, rng=seed + 2)
    assert result.passed(TOL), str(result)


def test_linear_computes_x_weight_transpose_plus_bias():
    layer = Linear(3, 2, dtype=np.float64, rng=0)
    layer.params["bias"][...] = [1.0, -1.0]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(x), x @ layer.weight().T + [1.0, -1.0])
    assert layer.weight().shape == (2, 3)


@pytest.mark.parametrize("make", [lambda: Linear(4, 3, rng=0), lambda: Conv2d(2, 3, 3, rng=0)])
def test_weight_returns_a_copy_of_the_parameter(make):
    layer = make()
    w = layer.weight()
    np.testing.assert_array_equal(w, layer.params["weight"])
    w += 1
    assert not np.array_equal(w, layer.params["weight"])


@pytest.mark.parametrize("layer, shape", [(Linear(5, 4, rng=0), (3, 5)),
                                          (Conv2d(2, 4, 3, padding=1, rng=0), (2, 2, 5, 5))])
def test_linear_and_conv_stay_float32(layer, shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    y = layer(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


@pytest.mark.parametrize("layer, shape", [(Linear(5, 4, rng=0), (3, 5)),
                                          (Conv2d(2, 4, 3, rng=0), (2, 2, 5, 5))])
def test_float64_input_to_float32_layer_raises(layer, shape):
    with pytest.raises(TypeError, match="x has dtype float64 but weight has dtype float32"):
        layer(np.zeros(shape))


def test_backward_writes_not_accumulates():
    layer = Linear(3, 2, rng=0, dtype=np.float64)
    x = np.ones((4, 3))
    layer(x)
    layer.backward(np.ones((4, 2)))
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.backward(np.ones((4, 2)))
    for name in first:
        np.testing.assert_array_equal(layer.grads[name], first[name])


def test_grad_arrays_keep_their_identity():
    conv = Conv2d(1, 2, 2, rng=0)
    before = {k: id(v) for k, v in conv.grads.items()}
    y = conv(np.ones((1, 1, 3, 3), np.float32))
    conv.backward(np.ones_like(y))
    assert {k: id(v) for k, v in conv.grads.items()} == before


def test_workspace_reuse_across_batch_sizes():
    """The Conv2d layer reuses scratch arrays; results must not depend on earlier calls."""
    conv = Conv2d(2, 3, 3, padding=1, dtype=np.float64, rng=0)
    rng = np.random.default_rng(1)
    for batch in (3, 1, 3):
        x = rng.standard_normal((batch, 2, 4, 5))
        y = conv(x)
        np.testing.assert_allclose(y, conv2d_loop(x, conv.weight(), conv.params["bias"], 1, 1),
                                   atol=1e-12)
        dy = rng.standard_normal(y.shape)
        dx = conv.backward(dy)
        _, cache = F.conv2d_forward(x, conv.weight(), conv.params["bias"], 1, 1)
        np.testing.assert_allclose(dx, F.conv2d_backward(dy, cache)[0], atol=1e-12)


def test_same_seed_same_layer():
    a, b = Conv2d(3, 4, 3, rng=7), Conv2d(3, 4, 3, rng=7)
    np.testing.assert_array_equal(a.weight(), b.weight())
    assert not np.array_equal(a.weight(), Conv2d(3, 4, 3, rng=8).weight())
    assert Conv2d(3, 4, 3, rng=0).n_params == 4 * 3 * 9 + 4
    assert Linear(3, 4, bias=False, rng=0).n_params == 12


@pytest.mark.parametrize("call, error, words", [
    (lambda: Linear(4, 2, rng=0)(np.ones((3, 5), np.float32)), ValueError,
     "x has 5 features but weight"),
    (lambda: Linear(4, 2, rng=0)(np.ones(4, np.float32)), ValueError, "x must have 2 dimensions"),
    (lambda: Linear(0, 2), ValueError, "in_features must be >= 1"),
    (lambda: Linear(2, 2, bias="yes"), TypeError, "bias must be True or False"),
    (lambda: Linear(2, 2, dtype=np.int32), TypeError, "dtype must be np.float32 or np.float64"),
    (lambda: Conv2d(3, 2, 3, rng=0)(np.ones((1, 4, 5, 5), np.float32)), ValueError,
     "x has 4 channels but weight"),
    (lambda: Conv2d(3, 2, 3, rng=0)(np.ones((3, 5, 5), np.float32)), ValueError,
     "x must have 4 dimensions"),
    (lambda: Conv2d(1, 2, 5, rng=0)(np.ones((1, 1, 3, 3), np.float32)), ValueError,
     "larger than the padded input"),
    (lambda: Conv2d(1, 2, 3, stride=0), ValueError, "stride must be >= 1"),
    (lambda: Conv2d(1, 2, 0), ValueError, "kernel_size must be >= 1"),
    (lambda: Conv2d(1, 2, 3, padding=-1), ValueError, "padding must be >= 0"),
    (lambda: Conv2d(1, 2, 3, rng="seed"), TypeError, "rng must be None, an int seed"),
    (lambda: Conv2d(1, 2, 3, rng=0).backward(np.ones((1, 2, 1, 1))), RuntimeError,
     "backward was called before forward"),
])
def test_bad_linear_or_conv_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ---------------------------------------------------------------- BatchNorm1d, BatchNorm2d
def make_bn_input(kind, B, C, HW, seed):
    shape = (B, C) if kind == "1d" else (B, C, *HW)
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)


def make_bn_layer(kind, C, **kwargs):
    return (BatchNorm1d if kind == "1d" else BatchNorm2d)(C, dtype=np.float64, **kwargs)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@given(B=st.integers(2, 5), C=st.integers(1, 4), HW=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       seed=st.integers(0, 2**32 - 1))
def test_batchnorm_gradient_check_training_mode(kind, B, C, HW, seed):
    # with m = 2 values per channel x̂ = ±1 whatever x is: ∂L/∂x is O(ε), round-off only
    assume((B if kind == "1d" else B * HW[0] * HW[1]) >= 3)
    bn = make_bn_layer(kind, C)
    rng = np.random.default_rng(seed)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, C)
    bn.params["beta"][...] = rng.standard_normal(C)
    result = check_module(bn, make_bn_input(kind, B, C, HW, seed + 1), max_entries=80, rng=seed + 2)
    assert result.passed(TOL), str(result)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@given(B=st.integers(1, 4), C=st.integers(1, 4), HW=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       seed=st.integers(0, 2**32 - 1))
def test_batchnorm_gradient_check_eval_mode(kind, B, C, HW, seed):
    bn = make_bn_layer(kind, C)
    rng = np.random.default_rng(seed)
    bn.running_mean[...] = rng.standard_normal(C)
    bn.running_var[...] = rng.uniform(0.2, 3, C)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, C)
    bn.eval()
    result = check_module(bn, make_bn_input(kind, B, C, HW, seed + 1), max_entries=80, rng=seed + 2)
    assert result.passed(TOL), str(result)


def test_training_output_is_normalised_per_channel():
    bn = make_bn_layer("2d", 3)
    y = bn(make_bn_input("2d", 4, 3, (5, 6), 0))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)   # var/(var+eps)


def test_running_statistics_follow_pytorch_momentum_and_unbiased_variance():
    bn = make_bn_layer("2d", 2, momentum=0.25)
    x = make_bn_input("2d", 3, 2, (2, 2), 1)
    bn(x)
    m = 3 * 2 * 2
    np.testing.assert_allclose(bn.running_mean, 0.75 * 0 + 0.25 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn.running_var,
                               0.75 * 1 + 0.25 * x.var(axis=(0, 2, 3)) * m / (m - 1))
    assert bn.buffers["running_mean"] is bn.running_mean


def test_eval_mode_uses_running_statistics_and_does_not_update_them():
    bn = make_bn_layer("1d", 2, eps=0.5)
    bn.running_mean[...] = [1.0, -1.0]
    bn.running_var[...] = [4.0, 0.5]
    bn.params["gamma"][...] = [2.0, 1.0]
    bn.params["beta"][...] = [0.0, 3.0]
    bn.eval()
    x = np.array([[3.0, 0.0], [1.0, -1.0]])
    expected = [2, 1] * (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.5]) + 0.5) + [0.0, 3.0]
    np.testing.assert_allclose(bn(x), expected)
    np.testing.assert_array_equal(bn.running_mean, [1.0, -1.0])


def test_the_eps_attribute_is_used():
    bn = make_bn_layer("1d", 1)
    bn.eval()
    x = np.array([[2.0]])
    bn.eps = 3.0                                     # running_var = 1: 2 / √(1 + 3) = 1
    np.testing.assert_allclose(bn(x), [[1.0]])


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_batchnorm_stays_float32(kind):
    bn = (BatchNorm1d if kind == "1d" else BatchNorm2d)(3)
    x = make_bn_input(kind, 4, 3, (2, 2), 0).astype(np.float32)
    y = bn(x)
    dx = bn.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == bn.running_var.dtype == np.float32
    assert all(g.dtype == np.float32 for g in bn.grads.values())


def test_batchnorm_params_and_buffers():
    bn = BatchNorm2d(5)
    assert set(bn.params) == {"gamma", "beta"} and bn.n_params == 10
    assert set(bn.buffers) == {"running_mean", "running_var"}
    np.testing.assert_array_equal(bn.params["gamma"], 1)
    np.testing.assert_array_equal(bn.running_var, 1)


@pytest.mark.parametrize("call, error, words", [
    (lambda: BatchNorm2d(3)(np.ones((2, 3, 4), np.float32)), ValueError, r"\(B, C, H, W\)"),
    (lambda: BatchNorm1d(3)(np.ones((2, 3, 4, 4), np.float32)), ValueError, r"\(B, C\)"),
    (lambda: BatchNorm2d(3)(np.ones((2, 4, 2, 2), np.float32)), ValueError,
     "gamma must have shape"),
    (lambda: BatchNorm1d(3)(np.ones((1, 3), np.float32)), ValueError,
     "more than one value per channel"),
    (lambda: BatchNorm1d(3, eps=0), ValueError, "eps must be in"),
    (lambda: BatchNorm1d(3, momentum=1.5), ValueError, "momentum must be in"),
    (lambda: BatchNorm1d(0), ValueError, "num_features must be >= 1"),
    (lambda: BatchNorm1d(2)(np.ones((3, 2))), TypeError, "x has dtype float64"),
])
def test_bad_batchnorm_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ---------------------------------------------------------------- pools, activations, Flatten
@st.composite
def pool_setups(draw):
    geometry = draw(window_geometries(max_batch=2, max_channels=3, max_hw=6, max_kernel=4))
    return (*geometry, draw(st.integers(0, 2**32 - 1)))


def distinct_values(shape, seed):
    """A random permutation of values 0.1 apart: no ties, no value within 0.05 of another."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 - 0.05 * n).reshape(shape)


@given(setup=pool_setups())
def test_maxpool_gradient_check_away_from_ties(setup):
    shape, kernel, stride, padding, seed = setup
    result = check_module(MaxPool2d(kernel, stride, padding), distinct_values(shape, seed),
                          max_entries=60, rng=seed)
    assert result.passed(TOL), str(result)


@given(setup=pool_setups())
def test_avgpool_gradient_check(setup):
    shape, kernel, stride, padding, seed = setup
    x = np.random.default_rng(seed).standard_normal(shape)
    result = check_module(AvgPool2d(kernel, stride, padding), x, max_entries=60, rng=seed + 1)
    assert result.passed(TOL), str(result)


def test_maxpool_ties_send_gradient_to_the_first_maximum():
    pool = MaxPool2d(2, stride=1)
    x = np.array([[[[1.0, 4.0, 4.0], [4.0, 4.0, 0.0]]]])
    y = pool(x)
    np.testing.assert_array_equal(y, [[[[4.0, 4.0]]]])
    dx = pool.backward(np.array([[[[1.0, 10.0]]]]))
    # window 0 = [1 4; 4 4] and window 1 = [4 4; 4 0] both pick their first 4, which is
    # x[0, 1] in each case: it receives 1 + 10, the other tied entries nothing
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 11.0, 0.0], [0.0, 0.0, 0.0]])


def test_maxpool_padding_never_wins():
    y = MaxPool2d(3, stride=1, padding=1)(-np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(y, -np.ones((1, 1, 2, 2)))


def test_avgpool_counts_padded_zeros_in_the_divisor():
    """count_include_pad=True: a corner 2×2 window with padding 1 holds one real value."""
    y = AvgPool2d(2, stride=2, padding=1)(np.full((1, 1, 2, 2), 4.0))
    np.testing.assert_array_equal(y[0, 0], [[1.0, 1.0], [1.0, 1.0]])


def test_pool_stride_defaults_to_kernel_size():
    assert MaxPool2d(3).stride == (3, 3) and AvgPool2d((2, 3)).stride == (2, 3)
    assert MaxPool2d(2)(np.zeros((1, 1, 6, 6))).shape == (1, 1, 3, 3)


@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
       seed=st.integers(0, 2**32 - 1))
def test_global_avgpool_gradient_check(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    layer = GlobalAvgPool2d()
    np.testing.assert_allclose(layer(x), x.mean(axis=(2, 3)))
    assert check_module(layer, x, rng=seed + 1).passed(TOL)


@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4)),
       seed=st.integers(0, 2**32 - 1))
def test_relu_gradient_check_away_from_zero(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.1, 2.0, size=shape)
    assert check_module(ReLU(), x, rng=seed + 1).passed(TOL)


def test_relu_values_and_subgradient_at_zero():
    relu = ReLU()
    np.testing.assert_array_equal(relu(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(relu.backward(np.array([5.0, 5.0, 5.0])), [0.0, 0.0, 5.0])
    assert np.isnan(relu(np.array([np.nan]))[0])


def test_dropout_is_inverted_and_uses_its_rng():
    x = np.ones((1000, 10), dtype=np.float32)
    drop = Dropout(0.3, rng=0)
    y = drop(x)
    assert y.dtype == np.float32
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_array_equal(drop.backward(np.full_like(x, 2.0)), 2 * y)
    np.testing.assert_array_equal(Dropout(0.3, rng=0)(x), y)       # same seed, same mask


def test_dropout_is_identity_in_eval_mode():
    drop = Dropout(0.5, rng=0).eval()
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)


def test_dropout_gradient_check_with_fixed_mask():
    """check_module replays the Dropout generator, so every evaluation sees the same mask."""
    x = np.random.default_rng(1).standard_normal((4, 5))
    assert check_module(Dropout(0.5, rng=3), x).passed(TOL)


def test_flatten_round_trip():
    flat = Flatten()
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    y = flat(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(flat.backward(y), x)


@pytest.mark.parametrize("call, error, words", [
    (lambda: MaxPool2d(2, padding=2), ValueError, "at most half of kernel_size"),
    (lambda: AvgPool2d(3, stride=0), ValueError, "stride must be >= 1"),
    (lambda: MaxPool2d(0), ValueError, "kernel_size must be >= 1"),
    (lambda: MaxPool2d(2)(np.ones((2, 4, 4))), ValueError, "x must have 4 dimensions"),
    (lambda: AvgPool2d(3)(np.ones((1, 1, 2, 2))), ValueError, "larger than the padded input"),
    (lambda: GlobalAvgPool2d()(np.ones((2, 3))), ValueError, "x must have 4 dimensions"),
    (lambda: Dropout(1.0), ValueError, r"p must be in \[0.0, 1.0\)"),
    (lambda: Dropout(0.5, rng=-1), ValueError, "rng as a seed must be >= 0"),
    (lambda: Flatten()(np.ones(3)), ValueError, "at least 2 dimension"),
    (lambda: ReLU().backward(np.ones(3)), RuntimeError, "before forward"),
])
def test_bad_pool_or_activation_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
