"""ReLU, MaxPool2d, AvgPool2d, GlobalAvgPool2d, Dropout, Flatten."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ttnet.gradcheck import check_module
from ttnet.nn import AvgPool2d, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d, ReLU
from ttnet.nn import functional as F

from ..helpers import window_geometries

TOL = 1e-7


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
    (lambda: F.dropout_forward(np.ones(3), 0.5, rng=0, training=1), TypeError,
     "training must be True or False"),
    (lambda: F.relu_backward(np.ones(3), {}), TypeError, "cache must be the dict"),
])
def test_bad_input_raises_clear_error(call, error, words):
    with pytest.raises(error, match=words):
        call()
