"""Linear and Conv2d: gradient checks, the loop reference, dtypes, weight(), errors."""

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.gradcheck import check_function, check_module
from ttnet.nn import Conv2d, Linear
from ttnet.nn import functional as F
from ttnet.ops import conv2d_loop

from ..helpers import window_geometries

TOL = 1e-7          # smooth layers (docs/conventions.md §8)


@st.composite
def conv_setups(draw):
    """Shapes for a small convolution: odd/even and non-square kernels, strides 1-3, padding 0-2."""
    (B, C, H, W), kernel, stride, padding = draw(
        window_geometries(max_batch=2, max_channels=3, max_hw=6, max_kernel=4, max_padding=2))
    S = draw(st.integers(1, 3))
    return dict(B=B, C=C, S=S, H=H, W=W, kernel=kernel, stride=stride, padding=padding,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**32 - 1)))


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
def test_float32_stays_float32(layer, shape):
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
    (lambda: F.conv2d_forward(np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)), np.ones(3)),
     ValueError, r"bias must have shape \(2,\)"),
    (lambda: F.conv2d_backward(np.ones((1, 2, 1, 1)), F.conv2d_forward(
        np.ones((1, 1, 3, 3)), np.ones((2, 1, 2, 2)))[1]), ValueError,
     "dout must have the shape of the forward output"),
    (lambda: F.linear_backward(np.ones((1, 2), np.float32), F.linear_forward(
        np.ones((1, 3)), np.ones((2, 3)))[1]), TypeError, "dout must have the dtype"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
