"""BatchNorm1d / BatchNorm2d: gradients in both modes, running statistics, eps, errors."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ttnet.gradcheck import check_module
from ttnet.nn import BatchNorm1d, BatchNorm2d
from ttnet.nn import functional as F

TOL = 1e-7


def make_input(kind, B, C, HW, seed):
    shape = (B, C) if kind == "1d" else (B, C, *HW)
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)


def make_layer(kind, C, **kwargs):
    return (BatchNorm1d if kind == "1d" else BatchNorm2d)(C, dtype=np.float64, **kwargs)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@given(B=st.integers(2, 5), C=st.integers(1, 4), HW=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       seed=st.integers(0, 2**32 - 1))
def test_gradient_check_training_mode(kind, B, C, HW, seed):
    # with m = 2 values per channel x̂ = ±1 whatever x is: ∂L/∂x is O(ε), round-off only
    assume((B if kind == "1d" else B * HW[0] * HW[1]) >= 3)
    bn = make_layer(kind, C)
    rng = np.random.default_rng(seed)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, C)
    bn.params["beta"][...] = rng.standard_normal(C)
    result = check_module(bn, make_input(kind, B, C, HW, seed + 1), max_entries=80, rng=seed + 2)
    assert result.passed(TOL), str(result)


@pytest.mark.parametrize("kind", ["1d", "2d"])
@given(B=st.integers(1, 4), C=st.integers(1, 4), HW=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       seed=st.integers(0, 2**32 - 1))
def test_gradient_check_eval_mode(kind, B, C, HW, seed):
    bn = make_layer(kind, C)
    rng = np.random.default_rng(seed)
    bn.running_mean[...] = rng.standard_normal(C)
    bn.running_var[...] = rng.uniform(0.2, 3, C)
    bn.params["gamma"][...] = rng.uniform(0.5, 2, C)
    bn.eval()
    result = check_module(bn, make_input(kind, B, C, HW, seed + 1), max_entries=80, rng=seed + 2)
    assert result.passed(TOL), str(result)


def test_training_output_is_normalised_per_channel():
    bn = make_layer("2d", 3)
    y = bn(make_input("2d", 4, 3, (5, 6), 0))
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-4)   # var/(var+eps)


def test_running_statistics_follow_pytorch_momentum_and_unbiased_variance():
    bn = make_layer("2d", 2, momentum=0.25)
    x = make_input("2d", 3, 2, (2, 2), 1)
    bn(x)
    m = 3 * 2 * 2
    np.testing.assert_allclose(bn.running_mean, 0.75 * 0 + 0.25 * x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(bn.running_var,
                               0.75 * 1 + 0.25 * x.var(axis=(0, 2, 3)) * m / (m - 1))
    assert bn.buffers["running_mean"] is bn.running_mean


def test_eval_mode_uses_running_statistics_and_does_not_update_them():
    bn = make_layer("1d", 2, eps=0.5)
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
    bn = make_layer("1d", 1)
    bn.eval()
    x = np.array([[2.0]])
    bn.eps = 3.0                                     # running_var = 1: 2 / √(1 + 3) = 1
    np.testing.assert_allclose(bn(x), [[1.0]])


@pytest.mark.parametrize("kind", ["1d", "2d"])
def test_float32_stays_float32(kind):
    bn = (BatchNorm1d if kind == "1d" else BatchNorm2d)(3)
    x = make_input(kind, 4, 3, (2, 2), 0).astype(np.float32)
    y = bn(x)
    dx = bn.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == bn.running_var.dtype == np.float32
    assert all(g.dtype == np.float32 for g in bn.grads.values())


def test_params_and_buffers():
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
    (lambda: F.batchnorm_forward(np.ones((3, 2)), None, np.zeros(2)), ValueError,
     "gamma is required"),
    (lambda: F.batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), training=False),
     ValueError, "running_mean is required in evaluation mode"),
    (lambda: F.batchnorm_forward(np.ones((3, 2)), np.ones(2), np.zeros(2), training="no"),
     TypeError, "training must be True or False"),
    (lambda: F.batchnorm_forward(np.ones((3, 2, 2)), np.ones(2), np.zeros(2)), ValueError,
     "x must have 2 dimensions"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
